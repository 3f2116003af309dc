// CXen: one open connection to the local Xen host (libxenctrl + libxenlight), for listing
// domains and observing their dirty pages. The migration itself is in xen_save.h.
#ifndef LIVEMIG_XEN_HOST_H
#define LIVEMIG_XEN_HOST_H

#include <stddef.h>
#include <stdint.h>

/// Opaque: an xc_interface, a libxl_ctx and their quiet logger.
typedef struct livemig_xen livemig_xen;

/// Opens the local Xen host. Checks `/dev/xen/privcmd` first, so that a machine that is not a
/// Xen host gets one line saying so. Returns NULL and writes a one-line reason on failure.
livemig_xen *livemig_xen_open(char *message, size_t message_length);
void livemig_xen_close(livemig_xen *xen);

/// One domain as `xl list` shows it.
typedef struct livemig_xen_domain {
    uint32_t domid;
    char name[128];
    uint64_t current_memory_kib;
    uint64_t max_memory_kib;
    uint32_t vcpus_online;
    uint64_t cpu_time_ns;
    /// 'r' running, 'b' blocked, 'p' paused, 's' shutdown, 'c' crashed, 'd' dying, as xl prints
    /// them (six characters, '-' where a flag is clear), NUL-terminated.
    char state[7];
    /// libxl_domain_type: 1 HVM, 2 PV, 3 PVH.
    int type;
} livemig_xen_domain;

/// Fills up to `capacity` domains; returns how many there are (may exceed `capacity`), or -1
/// with a reason.
int livemig_xen_list(livemig_xen *xen, livemig_xen_domain *domains, int capacity, char *message, size_t message_length);

/// The domain id of `name`, or -1 with a reason.
int64_t livemig_xen_domid(livemig_xen *xen, const char *name, char *message, size_t message_length);

/// The number of guest pages a dirty bitmap of `domid` covers (highest gpfn + 1), or -1.
int64_t livemig_xen_guest_pages(livemig_xen *xen, uint32_t domid, char *message, size_t message_length);

/// Log-dirty mode (XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY / OFF). Returns 0, or -1 with a reason.
int livemig_xen_logdirty(livemig_xen *xen, uint32_t domid, int enable, char *message, size_t message_length);

/// Reads and clears the dirty bitmap (XEN_DOMCTL_SHADOW_OP_CLEAN) into `words` (bit i of word
/// i / 64 = guest page i), covering `pages` pages. Returns 0, or -1 with a reason.
int livemig_xen_read_and_clear_dirty(livemig_xen *xen, uint32_t domid, uint64_t *words, uint64_t pages,
                                     char *message, size_t message_length);

#endif
