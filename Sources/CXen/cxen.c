#include "cxen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>
#include <libxl.h>

#define LIVEMIG_PRIVCMD_PATH "/dev/xen/privcmd"

int livemig_xen_probe(livemig_xen_host_info *info, char *message, size_t message_length) {
    if (access(LIVEMIG_PRIVCMD_PATH, R_OK | W_OK) != 0) {
        snprintf(message, message_length,
                 "this machine is not a Xen host: %s is missing (%s)",
                 LIVEMIG_PRIVCMD_PATH, strerror(errno));
        return -1;
    }
    // A logger that drops everything below errors keeps libxc from flooding stderr.
    xentoollog_logger_stdiostream *logger =
        xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    xc_interface *xch = xc_interface_open((xentoollog_logger *)logger, NULL, 0);
    if (xch == NULL) {
        snprintf(message, message_length,
                 "cannot open libxenctrl on %s: %s", LIVEMIG_PRIVCMD_PATH, strerror(errno));
        if (logger) xtl_logger_destroy((xentoollog_logger *)logger);
        return -1;
    }
    int version = xc_version(xch, XENVER_version, NULL);
    xc_physinfo_t physinfo;
    memset(&physinfo, 0, sizeof physinfo);
    int rc = xc_physinfo(xch, &physinfo);
    xc_interface_close(xch);
    if (logger) xtl_logger_destroy((xentoollog_logger *)logger);
    if (version < 0 || rc != 0) {
        snprintf(message, message_length, "the Xen hypervisor did not answer version/physinfo");
        return -1;
    }
    info->major = version >> 16;
    info->minor = version & 0xffff;
    info->total_pages = physinfo.total_pages;
    info->free_pages = physinfo.free_pages;
    return 0;
}

const char *livemig_xen_build_version(void) {
    // LIBXL_HAVE_* macros only grow; the save/restore precopy_policy callback arrived in 4.11.
#ifdef XGS_POLICY_CONTINUE_PRECOPY
    return "libxl/libxenguest with precopy_policy callback (Xen >= 4.11)";
#else
    return "libxl/libxenguest without precopy_policy callback";
#endif
}
