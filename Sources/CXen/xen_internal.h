// CXen internals shared by the .c files (not part of the Swift module).
#ifndef LIVEMIG_XEN_INTERNAL_H
#define LIVEMIG_XEN_INTERNAL_H

#include <stddef.h>
#include <xenctrl.h>
#include <xentoollog.h>
#include <libxl.h>

struct livemig_xen {
    xentoollog_logger_stdiostream *logger;
    xc_interface *xch;
    libxl_ctx *ctx;
};

/// printf into a caller's message buffer.
void livemig_xen_say(char *message, size_t length, const char *format, ...) __attribute__((format(printf, 3, 4)));

#endif
