// CXen: saving a running Xen domain with libxenguest's xc_domain_save, the pre-copy decisions
// answered by the caller (livemig's engine core), the suspend done the way libxl does it.
#ifndef LIVEMIG_XEN_SAVE_H
#define LIVEMIG_XEN_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include "xen_host.h"

/// libxenguest's `precopy_policy` question (struct precopy_stats); returns XGS_POLICY_ABORT (-1),
/// XGS_POLICY_CONTINUE_PRECOPY (0) or XGS_POLICY_STOP_AND_COPY (1).
typedef int (*livemig_xen_precopy_fn)(unsigned int iteration, unsigned long total_written, long dirty_count, void *context);
/// Told once the domain is suspended for the final copy (for the downtime).
typedef void (*livemig_xen_suspended_fn)(void *context);

/// Writes the libxc part of the stream (xc_domain_save: image header, domain header, pages,
/// vCPU and platform state, END) to `fd`. `live`: pre-copy with log-dirty mode, asking
/// `precopy` after each pass; otherwise the domain is suspended first. The suspend is
/// libxl_domain_suspend_only (xenstore control/shutdown "suspend", then waiting for the
/// domain to stop with reason suspend). Returns 0, or -1 with a reason; after a failure the
/// domain may be suspended: resume it with `livemig_xen_resume`.
int livemig_xen_save(livemig_xen *xen, uint32_t domid, int fd, int live,
                     livemig_xen_precopy_fn precopy, livemig_xen_suspended_fn suspended, void *context,
                     char *message, size_t message_length);

/// Resumes a domain left suspended by a failed save, in place (libxl_domain_resume with
/// suspend_cancel: the guest's suspend hypercall returns "cancelled"). Returns 0 or -1.
int livemig_xen_resume(livemig_xen *xen, uint32_t domid, char *message, size_t message_length);

/// Whether the domain is suspended (shut down with reason suspend) right now: 1, 0, or -1.
int livemig_xen_is_suspended(livemig_xen *xen, uint32_t domid);

/// Destroys a domain (libxl_domain_destroy: devices, xenstore, memory). Returns 0 or -1.
int livemig_xen_destroy(livemig_xen *xen, uint32_t domid, char *message, size_t message_length);

/// The domain's configuration as libxl keeps it (libxl_retrieve_domain_configuration), as
/// libxl JSON (what xl sends ahead of the stream). Returns a malloc'd string, or NULL.
char *livemig_xen_domain_config_json(livemig_xen *xen, uint32_t domid, char *message, size_t message_length);

/// Bytes a TCP socket has sent so far (TCP_INFO's tcpi_bytes_sent), or -1 for other fds:
/// how much of the stream libxc wrote, without passing it through a copy.
int64_t livemig_socket_bytes_sent(int fd);

#endif
