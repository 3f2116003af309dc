// Sessions: the handshake and the I/O of one connection, every result classified into
// ctls_outcome so that Swift reads neither SSL_get_error nor the error queue.
#include "ctls_internal.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

SSL *ctls_session_new(SSL_CTX *context, int fd, int is_server, char *error, size_t error_size) {
    ERR_clear_error();
    SSL *session = SSL_new(context);
    if (session == NULL) {
        ctls_take_error(error, error_size, "SSL_new failed");
        return NULL;
    }
    BIO *bio = ctls_socket_bio_new(fd);
    if (bio == NULL) {
        ctls_take_error(error, error_size, "cannot make a socket BIO");
        SSL_free(session);
        return NULL;
    }
    SSL_set_bio(session, bio, bio);
    if (is_server) {
        SSL_set_accept_state(session);
    } else {
        SSL_set_connect_state(session);
    }
    return session;
}

void ctls_session_free(SSL *session) {
    SSL_free(session);
}

/// Our reason for an OpenSSL (ERR_LIB_SSL) reason code.
static ctls_reason reason_for(int code) {
    switch (code) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return CTLS_REASON_PEER_CERTIFICATE_REJECTED;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return CTLS_REASON_PEER_SENT_NO_CERTIFICATE;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return CTLS_REASON_PEER_UNKNOWN_CA;
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return CTLS_REASON_PEER_REQUIRES_CERTIFICATE;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return CTLS_REASON_PEER_REJECTED_CERTIFICATE;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
        return CTLS_REASON_NOT_TLS;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return CTLS_REASON_PROTOCOL_VERSION;
    default:
        return CTLS_REASON_OTHER;
    }
}

/// Verification results that mean "this chain does not lead to our CA".
static int is_unknown_issuer(long verify_result) {
    switch (verify_result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return 1;
    default:
        return 0;
    }
}

void ctls_classify(SSL *session, int succeeded, int saved_errno, ctls_outcome *outcome) {
    outcome->status = CTLS_OK;
    outcome->reason = CTLS_REASON_NONE;
    outcome->system_error = 0;
    outcome->verify_result = X509_V_OK;
    outcome->message[0] = '\0';
    if (succeeded) {
        return;
    }
    switch (SSL_get_error(session, 0)) {
    case SSL_ERROR_WANT_READ:
        outcome->status = CTLS_WANT_READ;
        break;
    case SSL_ERROR_WANT_WRITE:
        outcome->status = CTLS_WANT_WRITE;
        break;
    case SSL_ERROR_ZERO_RETURN:
        outcome->status = CTLS_CLOSED;
        break;
    case SSL_ERROR_SYSCALL:
        if (saved_errno == 0) {
            outcome->status = CTLS_EOF;
        } else {
            outcome->status = CTLS_SYSTEM_ERROR;
            outcome->system_error = saved_errno;
            snprintf(outcome->message, sizeof outcome->message, "%s", strerror(saved_errno));
        }
        break;
    case SSL_ERROR_SSL: {
        unsigned long code = ERR_peek_error();
        if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            outcome->status = CTLS_EOF;
            break;
        }
        outcome->status = CTLS_PROTOCOL_ERROR;
        outcome->reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? reason_for(ERR_GET_REASON(code)) : CTLS_REASON_OTHER;
        if (outcome->reason == CTLS_REASON_PEER_CERTIFICATE_REJECTED) {
            outcome->verify_result = SSL_get_verify_result(session);
            if (is_unknown_issuer(outcome->verify_result)) {
                outcome->reason = CTLS_REASON_PEER_CERTIFICATE_UNKNOWN_ISSUER;
            }
        }
        ctls_take_error(outcome->message, sizeof outcome->message, "TLS protocol error");
        break;
    }
    default:
        outcome->status = CTLS_PROTOCOL_ERROR;
        outcome->reason = CTLS_REASON_OTHER;
        ctls_take_error(outcome->message, sizeof outcome->message, "unexpected SSL_get_error result");
        break;
    }
    ERR_clear_error();
}

void ctls_handshake(SSL *session, ctls_outcome *outcome) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_do_handshake(session);
    int saved_errno = errno;
    ctls_classify(session, result == 1, saved_errno, outcome);
}

void ctls_read(SSL *session, void *buffer, size_t size, size_t *done, ctls_outcome *outcome) {
    ERR_clear_error();
    errno = 0;
    *done = 0;
    int result = SSL_read_ex(session, buffer, size, done);
    int saved_errno = errno;
    ctls_classify(session, result == 1, saved_errno, outcome);
}

void ctls_write(SSL *session, const void *buffer, size_t size, size_t *done, ctls_outcome *outcome) {
    ERR_clear_error();
    errno = 0;
    *done = 0;
    int result = SSL_write_ex(session, buffer, size, done);
    int saved_errno = errno;
    ctls_classify(session, result == 1, saved_errno, outcome);
}

void ctls_shutdown(SSL *session, ctls_outcome *outcome) {
    ERR_clear_error();
    if (!SSL_is_init_finished(session)) {
        // No session to close: nothing is sent (OpenSSL would fail "shutdown while in init").
        ctls_classify(session, 1, 0, outcome);
        return;
    }
    errno = 0;
    // 0: our close_notify is sent and the peer's has not come (we do not wait for it); 1: both.
    int result = SSL_shutdown(session);
    int saved_errno = errno;
    ctls_classify(session, result >= 0, saved_errno, outcome);
}

const char *ctls_session_suite(SSL *session) {
    const SSL_CIPHER *cipher = SSL_get_current_cipher(session);
    const char *name = cipher == NULL ? NULL : SSL_CIPHER_standard_name(cipher);
    return name == NULL ? "" : name;
}
