// Contexts: one SSL_CTX per TLS configuration, shared by every connection made with it.
#include "ctls_internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

void ctls_take_error(char *error, size_t error_size, const char *fallback) {
    unsigned long code = ERR_get_error();
    if (error_size > 0) {
        if (code != 0) {
            ERR_error_string_n(code, error, error_size);
        } else {
            snprintf(error, error_size, "%s", fallback);
        }
    }
    ERR_clear_error();
}

// TLS 1.3 suites with ChaCha20-Poly1305 first: for a CPU without AES instructions, where
// software AES-GCM is several times slower than ChaCha20 (the Xen lab's emulated qemu64 CPU:
// a migration through TLS took 37 s against 3 s plain). OpenSSL reorders its TLS 1.2 lists this
// way by itself (ssl_ciph.c) but not the TLS 1.3 suites; a client's order decides.
static const char *const chacha_first_suites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

int ctls_cpu_has_aes(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") ? 1 : 0;
#else
    return 1;
#endif
}

SSL_CTX *ctls_context_new(char *error, size_t error_size) {
    ERR_clear_error();
    SSL_CTX *context = SSL_CTX_new(TLS_method());
    if (context == NULL) {
        ctls_take_error(error, error_size, "SSL_CTX_new failed");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) != 1) {
        ctls_take_error(error, error_size, "this OpenSSL cannot require TLS 1.3");
        SSL_CTX_free(context);
        return NULL;
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    // Every connection authenticates both certificates afresh: nothing to resume from.
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(context, 0);
    SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(context, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
    if (!ctls_cpu_has_aes() && SSL_CTX_set_ciphersuites(context, chacha_first_suites) != 1) {
        ctls_take_error(error, error_size, "cannot order the TLS 1.3 suites");
        SSL_CTX_free(context);
        return NULL;
    }
    return context;
}

void ctls_context_free(SSL_CTX *context) {
    SSL_CTX_free(context);
}

int ctls_context_load_ca_file(SSL_CTX *context, const char *path, char *error, size_t error_size) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(context, path, NULL) != 1) {
        ctls_take_error(error, error_size, "no CA certificate could be read");
        return 0;
    }
    return 1;
}

int ctls_context_load_certificate_file(SSL_CTX *context, const char *path, char *error, size_t error_size) {
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(context, path) != 1) {
        ctls_take_error(error, error_size, "no certificate could be read");
        return 0;
    }
    return 1;
}

int ctls_context_load_private_key_file(SSL_CTX *context, const char *path, char *error, size_t error_size) {
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey_file(context, path, SSL_FILETYPE_PEM) != 1) {
        ctls_take_error(error, error_size, "no private key could be read");
        return 0;
    }
    if (SSL_CTX_check_private_key(context) != 1) {
        ctls_take_error(error, error_size, "the private key does not belong to the certificate");
        return 0;
    }
    return 1;
}

/// `time` as OpenSSL prints it ("Jan  1 00:00:00 2030 GMT") into `buffer`.
static void print_time(const ASN1_TIME *time, char *buffer, size_t size) {
    buffer[0] = '\0';
    BIO *memory = BIO_new(BIO_s_mem());
    if (memory == NULL) {
        return;
    }
    if (ASN1_TIME_print(memory, time) == 1) {
        int length = BIO_read(memory, buffer, (int)size - 1);
        buffer[length > 0 ? length : 0] = '\0';
    }
    BIO_free(memory);
}

int ctls_context_check_certificate_dates(SSL_CTX *context, char *error, size_t error_size) {
    X509 *certificate = SSL_CTX_get0_certificate(context);
    if (certificate == NULL) {
        snprintf(error, error_size, "no certificate is loaded");
        return 0;
    }
    char when[64];
    if (X509_cmp_current_time(X509_get0_notBefore(certificate)) >= 0) {
        print_time(X509_get0_notBefore(certificate), when, sizeof when);
        snprintf(error, error_size, "the certificate is not valid before %s", when);
        return 0;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(certificate)) <= 0) {
        print_time(X509_get0_notAfter(certificate), when, sizeof when);
        snprintf(error, error_size, "the certificate expired on %s", when);
        return 0;
    }
    return 1;
}
