// CXen: libxenctrl / libxenguest / libxenlight from Debian's libxen-dev, as livemig uses them.
//
// Why a shim: the Xen headers are large C APIs with macros and callbacks that Swift imports
// poorly, and opening libxc on a machine that is not a Xen host prints a stack of libxc
// messages to stderr. The wrappers below are prefixed `livemig_xen_` and say why they exist.
#ifndef LIVEMIG_CXEN_H
#define LIVEMIG_CXEN_H

#include <stddef.h>
#include <stdint.h>

/// The facts `livemig` needs to know about the local Xen host.
typedef struct livemig_xen_host_info {
    int major;          ///< hypervisor major version
    int minor;          ///< hypervisor minor version
    uint64_t total_pages;
    uint64_t free_pages;
} livemig_xen_host_info;

/// Probes the local machine for a usable Xen host: checks `/dev/xen/privcmd` first (so that a
/// non-Xen machine gets one clear line instead of libxc's log), then opens libxenctrl quietly
/// and asks for the version and physical memory. Returns 0 and fills `info` on success;
/// otherwise returns -1 and writes a one-line reason into `message`.
int livemig_xen_probe(livemig_xen_host_info *info, char *message, size_t message_length);

/// The libxenguest / libxenlight ABI this binary was built against, e.g. "libxl 4.17".
const char *livemig_xen_build_version(void);

#include "xen_host.h"
#include "xen_save.h"
#include "xen_restore.h"

#endif
