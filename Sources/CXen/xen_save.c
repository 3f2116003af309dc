#include "xen_save.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <libxl.h>

#include "xen_internal.h"

/// What the callbacks need: libxenguest passes one `void *data` to each.
struct save_context {
    livemig_xen *xen;
    uint32_t domid;
    livemig_xen_precopy_fn precopy;
    livemig_xen_suspended_fn suspended;
    void *context;
    int suspend_failed;
};

/// xc_domain_save's suspend callback: returns 1 once suspended, 0 on failure (xg_sr_save.c's
/// suspend_domain treats anything but 1 as an error).
static int suspend_callback(void *data) {
    struct save_context *save = data;
    if (libxl_domain_suspend_only(save->xen->ctx, save->domid, NULL) != 0) {
        save->suspend_failed = 1;
        return 0;
    }
    if (save->suspended) save->suspended(save->context);
    return 1;
}

static int precopy_callback(struct precopy_stats stats, void *data) {
    struct save_context *save = data;
    return save->precopy(stats.iteration, stats.total_written, stats.dirty_count, save->context);
}

int livemig_xen_save(livemig_xen *xen, uint32_t domid, int fd, int live,
                     livemig_xen_precopy_fn precopy, livemig_xen_suspended_fn suspended, void *context,
                     char *message, size_t message_length) {
    struct save_context save = { xen, domid, precopy, suspended, context, 0 };
    struct save_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.suspend = suspend_callback;
    callbacks.precopy_policy = precopy ? precopy_callback : NULL;
    callbacks.data = &save;
    int rc = xc_domain_save(xen->xch, fd, domid, live ? XCFLAGS_LIVE : 0, &callbacks, XC_STREAM_PLAIN, -1);
    if (rc != 0) {
        int saved_errno = errno;
        livemig_xen_say(message, message_length, "domain %u: %s%s", domid,
                        save.suspend_failed ? "the domain did not suspend" : "xc_domain_save failed: ",
                        save.suspend_failed ? "" : strerror(saved_errno));
        return -1;
    }
    return 0;
}

int livemig_xen_resume(livemig_xen *xen, uint32_t domid, char *message, size_t message_length) {
    if (libxl_domain_resume(xen->ctx, domid, 1, NULL) != 0) {
        livemig_xen_say(message, message_length, "domain %u: could not be resumed (libxl_domain_resume)", domid);
        return -1;
    }
    return 0;
}

int livemig_xen_is_suspended(livemig_xen *xen, uint32_t domid) {
    libxl_dominfo info;
    libxl_dominfo_init(&info);
    if (libxl_domain_info(xen->ctx, &info, domid) != 0) return -1;
    int suspended = info.shutdown && info.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND;
    libxl_dominfo_dispose(&info);
    return suspended;
}

int livemig_xen_destroy(livemig_xen *xen, uint32_t domid, char *message, size_t message_length) {
    if (libxl_domain_destroy(xen->ctx, domid, NULL) != 0) {
        livemig_xen_say(message, message_length, "domain %u: could not be destroyed", domid);
        return -1;
    }
    return 0;
}

char *livemig_xen_domain_config_json(livemig_xen *xen, uint32_t domid, char *message, size_t message_length) {
    libxl_domain_config config;
    libxl_domain_config_init(&config);
    if (libxl_retrieve_domain_configuration(xen->ctx, domid, &config, NULL) != 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot read its configuration", domid);
        libxl_domain_config_dispose(&config);
        return NULL;
    }
    char *json = libxl_domain_config_to_json(xen->ctx, &config);
    libxl_domain_config_dispose(&config);
    if (!json) livemig_xen_say(message, message_length, "domain %u: cannot write its configuration as JSON", domid);
    return json;
}

int64_t livemig_socket_bytes_sent(int fd) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    return (int64_t)info.tcpi_bytes_sent;
}
