// A socket BIO of livemig's own. Why: OpenSSL's BIO_s_socket writes with write(2), so a peer
// that closed its end raises SIGPIPE and kills the process unless every program using the
// executor ignores the signal; the plain path sends with MSG_NOSIGNAL, and so does this BIO.
// It also remembers end-of-file for BIO_eof, so that OpenSSL reports a connection that ended
// without close_notify as such.
#include "ctls_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
    int fd;
    int reached_eof;
} socket_state;

static int socket_bio_write(BIO *bio, const char *buffer, int size) {
    socket_state *state = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t sent;
    do {
        sent = send(state->fd, buffer, (size_t)size, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_write(bio);
    }
    return (int)sent;
}

static int socket_bio_read(BIO *bio, char *buffer, int size) {
    socket_state *state = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t received;
    do {
        received = recv(state->fd, buffer, (size_t)size, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_read(bio);
    }
    if (received == 0 && size > 0) {
        state->reached_eof = 1;
    }
    return (int)received;
}

static int socket_bio_puts(BIO *bio, const char *text) {
    return socket_bio_write(bio, text, (int)strlen(text));
}

static long socket_bio_ctrl(BIO *bio, int command, long number, void *pointer) {
    socket_state *state = BIO_get_data(bio);
    (void)number;
    switch (command) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return state->reached_eof;
    case BIO_C_GET_FD:
        if (pointer != NULL) {
            *(int *)pointer = state->fd;
        }
        return state->fd;
    default:
        return 0;
    }
}

static int socket_bio_create(BIO *bio) {
    BIO_set_data(bio, NULL);
    BIO_set_init(bio, 0);
    return 1;
}

static int socket_bio_destroy(BIO *bio) {
    free(BIO_get_data(bio));
    BIO_set_data(bio, NULL);
    return 1;
}

static BIO_METHOD *socket_method;
static pthread_once_t socket_method_once = PTHREAD_ONCE_INIT;

static void make_socket_method(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                      "livemig socket");
    if (method == NULL) {
        return;
    }
    BIO_meth_set_write(method, socket_bio_write);
    BIO_meth_set_read(method, socket_bio_read);
    BIO_meth_set_puts(method, socket_bio_puts);
    BIO_meth_set_ctrl(method, socket_bio_ctrl);
    BIO_meth_set_create(method, socket_bio_create);
    BIO_meth_set_destroy(method, socket_bio_destroy);
    socket_method = method;
}

BIO *ctls_socket_bio_new(int fd) {
    pthread_once(&socket_method_once, make_socket_method);
    if (socket_method == NULL) {
        return NULL;
    }
    socket_state *state = calloc(1, sizeof *state);
    if (state == NULL) {
        return NULL;
    }
    BIO *bio = BIO_new(socket_method);
    if (bio == NULL) {
        free(state);
        return NULL;
    }
    state->fd = fd;
    BIO_set_data(bio, state);
    BIO_set_init(bio, 1);
    return bio;
}
