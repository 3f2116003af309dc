// The peer's certificate, as livemig's name checks (allow-list, expected host) need it.
#include "ctls_internal.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

int ctls_peer_common_name(SSL *session, char *buffer, size_t size) {
    X509 *certificate = SSL_get0_peer_certificate(session);
    if (certificate == NULL) {
        return -1;
    }
    X509_NAME *subject = X509_get_subject_name(certificate);
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) {
        return -1;
    }
    unsigned char *text = NULL;
    int length = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length < 0) {
        return -1;
    }
    int result = -1;
    if ((size_t)length < size && memchr(text, '\0', (size_t)length) == NULL) {
        memcpy(buffer, text, (size_t)length);
        buffer[length] = '\0';
        result = length;
    }
    OPENSSL_free(text);
    return result;
}

int ctls_peer_dns_names(SSL *session, char *buffer, size_t size) {
    X509 *certificate = SSL_get0_peer_certificate(session);
    if (certificate == NULL) {
        return -1;
    }
    GENERAL_NAMES *names = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    size_t used = 0;
    int result = 0;
    for (int index = 0; names != NULL && index < sk_GENERAL_NAME_num(names); index++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
        if (name->type != GEN_DNS) {
            continue;
        }
        const unsigned char *text = ASN1_STRING_get0_data(name->d.dNSName);
        size_t length = (size_t)ASN1_STRING_length(name->d.dNSName);
        if (memchr(text, '\0', length) != NULL) {
            continue;
        }
        if (used + length + 1 > size) {
            result = -1;
            break;
        }
        memcpy(buffer + used, text, length);
        buffer[used + length] = '\0';
        used += length + 1;
    }
    GENERAL_NAMES_free(names);
    return result < 0 ? -1 : (int)used;
}

int ctls_peer_matches_host(SSL *session, const char *host) {
    X509 *certificate = SSL_get0_peer_certificate(session);
    if (certificate == NULL) {
        return -1;
    }
    // -2: `host` is not an IP address literal, so it is a DNS name.
    int address = X509_check_ip_asc(certificate, host, 0);
    if (address != -2) {
        return address == 1 ? 1 : 0;
    }
    return X509_check_host(certificate, host, strlen(host), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1 ? 1 : 0;
}

const char *ctls_verify_result_text(long verify_result) {
    return X509_verify_cert_error_string(verify_result);
}
