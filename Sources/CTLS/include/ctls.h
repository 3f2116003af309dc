// CTLS: the system's OpenSSL (3.0, Debian libssl3) as livemig's mutual-TLS transport uses it.
//
// Why OpenSSL through a shim and not swift-nio-ssl: the executor moves a migration stream with
// blocking sockets on dedicated threads and reads page data straight into guest memory
// (Sources/MigrationExecutor/BlockingSocket.swift); an SSL object over a plain file descriptor
// fits that as it is, while swift-nio-ssl needs an event loop and brings swift-nio's build.
//
// Why a shim and not a bare module map: much of libssl's API is function-like macros
// (SSL_CTX_set_min_proto_version, SSL_set_mode, SSL_CTX_set_session_cache_mode) that Swift
// cannot call, errors come from a thread-local queue that must be read and cleared at the right
// moment, and the socket BIO writes with write(2), which raises SIGPIPE on a closed peer. This
// header includes no OpenSSL header: Swift sees opaque pointers and livemig's own result codes.
// Each wrapper is prefixed `ctls_` and says why it exists.
#ifndef LIVEMIG_CTLS_H
#define LIVEMIG_CTLS_H

#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;
struct ssl_st;

/// What an OpenSSL call came to, classified once here so that Swift never reads
/// SSL_get_error's codes or the error queue itself.
typedef enum {
    CTLS_OK = 0,
    /// The socket would block for reading (non-blocking socket) or a receive timeout elapsed.
    CTLS_WANT_READ = 1,
    /// The socket would block for writing (non-blocking socket) or a send timeout elapsed.
    CTLS_WANT_WRITE = 2,
    /// The peer ended the TLS session properly (close_notify).
    CTLS_CLOSED = 3,
    /// The connection ended without close_notify (the peer died or the link was cut).
    CTLS_EOF = 4,
    /// A system call failed: `system_error` holds errno.
    CTLS_SYSTEM_ERROR = 5,
    /// TLS failed: `reason` and `message` say why.
    CTLS_PROTOCOL_ERROR = 6,
} ctls_status;

/// The reasons livemig explains in its own words; everything else is CTLS_REASON_OTHER with
/// OpenSSL's message.
typedef enum {
    CTLS_REASON_NONE = 0,
    CTLS_REASON_OTHER = 1,
    /// This side checked the peer's certificate and it failed (`verify_result` says how).
    CTLS_REASON_PEER_CERTIFICATE_REJECTED = 2,
    /// As above, because the chain does not lead to this side's CA (another CA signed it, or
    /// it is self-signed).
    CTLS_REASON_PEER_CERTIFICATE_UNKNOWN_ISSUER = 9,
    /// The peer sent no certificate although this side requires one.
    CTLS_REASON_PEER_SENT_NO_CERTIFICATE = 3,
    /// The peer's alert: it does not know the CA that signed this side's certificate.
    CTLS_REASON_PEER_UNKNOWN_CA = 4,
    /// The peer's alert: it requires a certificate and this side sent none.
    CTLS_REASON_PEER_REQUIRES_CERTIFICATE = 5,
    /// The peer's alert: it rejected this side's certificate (bad, expired, unknown, denied).
    CTLS_REASON_PEER_REJECTED_CERTIFICATE = 6,
    /// The bytes that came are not TLS records (a plain peer).
    CTLS_REASON_NOT_TLS = 7,
    /// The peer does not speak TLS 1.3.
    CTLS_REASON_PROTOCOL_VERSION = 8,
} ctls_reason;

/// The outcome of one call: `status`, and for errors the details. `message` is always
/// NUL-terminated (empty when there is nothing to say).
typedef struct {
    ctls_status status;
    ctls_reason reason;
    int system_error;
    /// X509_V_OK (0) or the X509 verification error this side found in the peer's chain.
    long verify_result;
    char message[256];
} ctls_outcome;

// ---------------------------------------------------------------- contexts (ctls_context.c)

/// A context for TLS 1.3 and later only, both sides verifying the other's certificate
/// (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), no session cache and no session
/// tickets (every connection does a full handshake with both certificates). Exists because
/// those settings are macros Swift cannot call. NULL on failure, with the reason in `error`.
struct ssl_ctx_st *ctls_context_new(char *error, size_t error_size);

/// 1 when the CPU has AES instructions (x86 CPUID; other architectures are assumed to). Without
/// them `ctls_context_new` offers ChaCha20-Poly1305 first.
int ctls_cpu_has_aes(void);

void ctls_context_free(struct ssl_ctx_st *context);

/// Trusts the CA certificates in the PEM file `path` (and only those: the system's store is
/// never loaded). 1 on success; 0 with OpenSSL's reason in `error` (ERR_error_string_n).
int ctls_context_load_ca_file(struct ssl_ctx_st *context, const char *path, char *error, size_t error_size);

/// This host's certificate (PEM; intermediates may follow it in the file). 1 or 0 with `error`.
int ctls_context_load_certificate_file(struct ssl_ctx_st *context, const char *path, char *error, size_t error_size);

/// This host's private key (PEM, unencrypted), checked against the certificate loaded before.
/// 1 or 0 with `error` (a key that does not belong to the certificate is an error here, not at
/// the first handshake).
int ctls_context_load_private_key_file(struct ssl_ctx_st *context, const char *path, char *error, size_t error_size);

/// Checks that the loaded certificate is valid now (notBefore <= now <= notAfter): an expired
/// host certificate is then named at start-up instead of failing every handshake later.
/// 1 or 0 with `error`.
int ctls_context_check_certificate_dates(struct ssl_ctx_st *context, char *error, size_t error_size);

// ---------------------------------------------------------------- sessions (ctls_session.c)

/// A TLS session over the connected socket `fd` (not owned: closing it stays the caller's),
/// as client (`is_server` 0) or server. Its I/O goes through a BIO that sends with
/// MSG_NOSIGNAL (see ctls_bio.c). NULL on failure, with the reason in `error`.
struct ssl_st *ctls_session_new(struct ssl_ctx_st *context, int fd, int is_server, char *error, size_t error_size);

/// Frees the session without a word to the peer (ctls_shutdown sends close_notify).
void ctls_session_free(struct ssl_st *session);

/// One step of the handshake (SSL_do_handshake), classified. On a non-blocking socket,
/// CTLS_WANT_READ / CTLS_WANT_WRITE ask to wait for the socket and call again.
void ctls_handshake(struct ssl_st *session, ctls_outcome *outcome);

/// Reads up to `size` bytes of application data (SSL_read_ex). `*done` gets the count on CTLS_OK.
void ctls_read(struct ssl_st *session, void *buffer, size_t size, size_t *done, ctls_outcome *outcome);

/// Writes `size` bytes (SSL_write_ex; all of them on CTLS_OK). After CTLS_WANT_READ/WRITE,
/// call again with the same bytes (the buffer may move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
void ctls_write(struct ssl_st *session, const void *buffer, size_t size, size_t *done, ctls_outcome *outcome);

/// Sends close_notify (SSL_shutdown, one step; never waits for the peer's). CTLS_OK once sent.
void ctls_shutdown(struct ssl_st *session, ctls_outcome *outcome);

/// The negotiated suite's standard name (e.g. "TLS_AES_256_GCM_SHA384"), or "" before the
/// handshake. A function because OpenSSL's accessor is a macro.
const char *ctls_session_suite(struct ssl_st *session);

// ---------------------------------------------------------------- the peer (ctls_peer.c)

/// The subject common name of the peer's certificate, NUL-terminated in `buffer`. Returns its
/// length, or -1 when there is no certificate, no CN, a CN with an embedded NUL, or no room.
/// Exists because the name is reached through several ASN.1 accessors.
int ctls_peer_common_name(struct ssl_st *session, char *buffer, size_t size);

/// The DNS names of the peer certificate's subjectAltName, each NUL-terminated, one after the
/// other in `buffer` (names with an embedded NUL are skipped). Returns the bytes used, or -1
/// when there is no certificate or no room. Exists for the same reason as the CN accessor.
int ctls_peer_dns_names(struct ssl_st *session, char *buffer, size_t size);

/// 1 when the peer's certificate is for `host` (a DNS name, matched with X509_check_host's
/// rules, or an IPv4/IPv6 address, matched against IP subjectAltNames), 0 when not, -1 when
/// there is no certificate. Exists so that livemig decides after the handshake, in its own
/// words, instead of through SSL_set1_host's opaque failure.
int ctls_peer_matches_host(struct ssl_st *session, const char *host);

/// OpenSSL's text for an X509 verification result (X509_verify_cert_error_string).
const char *ctls_verify_result_text(long verify_result);

#endif
