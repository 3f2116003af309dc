// What the CTLS source files share; not part of the module's interface.
#ifndef LIVEMIG_CTLS_INTERNAL_H
#define LIVEMIG_CTLS_INTERNAL_H

#include "ctls.h"
#include <openssl/bio.h>
#include <openssl/ssl.h>

/// Copies the first error of OpenSSL's (thread-local) queue into `error` with
/// ERR_error_string_n, or `fallback` when the queue is empty, and clears the queue.
void ctls_take_error(char *error, size_t error_size, const char *fallback);

/// A BIO over the socket `fd` (not owned) that sends with MSG_NOSIGNAL (ctls_bio.c).
BIO *ctls_socket_bio_new(int fd);

/// Classifies what an SSL_*_ex call on `session` returned (`succeeded`), with `saved_errno`
/// read right after the call, into `outcome`; clears the error queue.
void ctls_classify(SSL *session, int succeeded, int saved_errno, ctls_outcome *outcome);

#endif
