#include "xen_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xentoollog.h>
#include <libxl.h>
#include <libxl_utils.h>

#include "xen_internal.h"

#define LIVEMIG_PRIVCMD "/dev/xen/privcmd"

void livemig_xen_say(char *message, size_t length, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, length, format, arguments);
    va_end(arguments);
}

livemig_xen *livemig_xen_open(char *message, size_t message_length) {
    if (access(LIVEMIG_PRIVCMD, R_OK | W_OK) != 0) {
        livemig_xen_say(message, message_length, "this machine is not a Xen host: %s is missing (%s)", LIVEMIG_PRIVCMD, strerror(errno));
        return NULL;
    }
    livemig_xen *xen = calloc(1, sizeof *xen);
    if (!xen) {
        livemig_xen_say(message, message_length, "out of memory");
        return NULL;
    }
    // Errors only: libxc and libxl otherwise log every step to stderr.
    xen->logger = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    xen->xch = xc_interface_open((xentoollog_logger *)xen->logger, NULL, 0);
    if (!xen->xch) {
        livemig_xen_say(message, message_length, "cannot open libxenctrl on %s: %s", LIVEMIG_PRIVCMD, strerror(errno));
        livemig_xen_close(xen);
        return NULL;
    }
    if (libxl_ctx_alloc(&xen->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)xen->logger) != 0) {
        livemig_xen_say(message, message_length, "cannot open libxenlight (is xenstored running?)");
        livemig_xen_close(xen);
        return NULL;
    }
    return xen;
}

void livemig_xen_close(livemig_xen *xen) {
    if (!xen) return;
    if (xen->ctx) libxl_ctx_free(xen->ctx);
    if (xen->xch) xc_interface_close(xen->xch);
    if (xen->logger) xtl_logger_destroy((xentoollog_logger *)xen->logger);
    free(xen);
}

/// xl's six state letters (tools/xl/xl_list.c prints r b p s c d the same way).
static void state_letters(const libxl_dominfo *info, char state[7]) {
    state[0] = info->running ? 'r' : '-';
    state[1] = info->blocked ? 'b' : '-';
    state[2] = info->paused ? 'p' : '-';
    state[3] = info->shutdown && info->shutdown_reason != LIBXL_SHUTDOWN_REASON_CRASH ? 's' : '-';
    state[4] = info->shutdown && info->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ? 'c' : '-';
    state[5] = info->dying ? 'd' : '-';
    state[6] = 0;
}

int livemig_xen_list(livemig_xen *xen, livemig_xen_domain *domains, int capacity, char *message, size_t message_length) {
    int count = 0;
    libxl_dominfo *infos = libxl_list_domain(xen->ctx, &count);
    if (!infos) {
        livemig_xen_say(message, message_length, "cannot list the domains (libxl_list_domain failed)");
        return -1;
    }
    for (int index = 0; index < count && index < capacity; index++) {
        livemig_xen_domain *domain = &domains[index];
        memset(domain, 0, sizeof *domain);
        domain->domid = infos[index].domid;
        char *name = libxl_domid_to_name(xen->ctx, infos[index].domid);
        snprintf(domain->name, sizeof domain->name, "%s", name ? name : "(unnamed)");
        free(name);
        domain->current_memory_kib = infos[index].current_memkb;
        domain->max_memory_kib = infos[index].max_memkb;
        domain->vcpus_online = infos[index].vcpu_online;
        domain->cpu_time_ns = infos[index].cpu_time;
        domain->type = infos[index].domain_type;
        state_letters(&infos[index], domain->state);
    }
    libxl_dominfo_list_free(infos, count);
    return count;
}

int64_t livemig_xen_domid(livemig_xen *xen, const char *name, char *message, size_t message_length) {
    uint32_t domid = 0;
    if (libxl_name_to_domid(xen->ctx, name, &domid) != 0) {
        livemig_xen_say(message, message_length, "no domain named '%s' on this Xen host", name);
        return -1;
    }
    return domid;
}

int64_t livemig_xen_guest_pages(livemig_xen *xen, uint32_t domid, char *message, size_t message_length) {
    xen_pfn_t highest = 0;
    if (xc_domain_maximum_gpfn(xen->xch, domid, &highest) < 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot read its highest guest frame: %s", domid, strerror(errno));
        return -1;
    }
    return (int64_t)highest + 1;
}

int livemig_xen_logdirty(livemig_xen *xen, uint32_t domid, int enable, char *message, size_t message_length) {
    unsigned int op = enable ? XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY : XEN_DOMCTL_SHADOW_OP_OFF;
    if (xc_shadow_control(xen->xch, domid, op, NULL, 0) < 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot turn log-dirty mode %s: %s", domid, enable ? "on" : "off", strerror(errno));
        return -1;
    }
    return 0;
}

int livemig_xen_read_and_clear_dirty(livemig_xen *xen, uint32_t domid, uint64_t *words, uint64_t pages,
                                     char *message, size_t message_length) {
    size_t bytes = ((pages + 63) / 64) * 8;
    size_t buffer_pages = bytes == 0 ? 1 : (bytes + XC_PAGE_SIZE - 1) / XC_PAGE_SIZE;
    DECLARE_HYPERCALL_BUFFER(unsigned long, bitmap);
    bitmap = xc_hypercall_buffer_alloc_pages(xen->xch, bitmap, buffer_pages);
    if (!bitmap) {
        livemig_xen_say(message, message_length, "domain %u: cannot allocate a %zu-byte dirty bitmap", domid, bytes);
        return -1;
    }
    memset(bitmap, 0, bytes);
    long long rc = xc_logdirty_control(xen->xch, domid, XEN_DOMCTL_SHADOW_OP_CLEAN, HYPERCALL_BUFFER(bitmap), pages, 0, NULL);
    if (rc < 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot read the dirty bitmap: %s", domid, strerror(errno));
        xc_hypercall_buffer_free_pages(xen->xch, bitmap, buffer_pages);
        return -1;
    }
    memcpy(words, bitmap, bytes);
    xc_hypercall_buffer_free_pages(xen->xch, bitmap, buffer_pages);
    return 0;
}
