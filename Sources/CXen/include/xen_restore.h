// CXen: receiving a Xen domain from a libxl stream (what `xl migrate-receive` does), and the
// naming and unpausing around xl's migration handshake.
#ifndef LIVEMIG_XEN_RESTORE_H
#define LIVEMIG_XEN_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "xen_host.h"

/// Creates a domain from `config_json` (libxl_domain_config JSON, as xl sends it) named
/// `name`, and restores it from the libxl v2 stream on `fd` (libxl_domain_create_restore with
/// stream_version 2: the libxl header, LIBXC_CONTEXT, libxc's stream, END). The domain is left
/// paused. Returns its id, or -1 with a reason (libxl destroys a half-built domain).
int64_t livemig_xen_restore(livemig_xen *xen, const char *config_json, const char *name, int fd,
                            char *message, size_t message_length);

/// Renames a domain (libxl_domain_rename); `old_name` may be NULL. Returns 0 or -1.
int livemig_xen_rename(livemig_xen *xen, uint32_t domid, const char *old_name, const char *new_name,
                       char *message, size_t message_length);

/// Unpauses a domain (libxl_domain_unpause). Returns 0 or -1.
int livemig_xen_unpause(livemig_xen *xen, uint32_t domid, char *message, size_t message_length);

/// The `c_info.name` in a libxl_domain_config JSON, malloc'd, or NULL if it has none.
char *livemig_xen_config_name(livemig_xen *xen, const char *config_json);

#endif
