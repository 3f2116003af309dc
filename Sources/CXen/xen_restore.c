#include "xen_restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>

#include "xen_internal.h"

int64_t livemig_xen_restore(livemig_xen *xen, const char *config_json, const char *name, int fd,
                            char *message, size_t message_length) {
    libxl_domain_config config;
    libxl_domain_config_init(&config);
    if (libxl_domain_config_from_json(xen->ctx, &config, config_json) != 0) {
        livemig_xen_say(message, message_length, "the domain configuration from the source is not valid libxl JSON");
        libxl_domain_config_dispose(&config);
        return -1;
    }
    free(config.c_info.name);
    config.c_info.name = strdup(name);
    config.c_info.domid = INVALID_DOMID;  // a fresh id here, as xl does without -D
    libxl_domain_restore_params params;
    libxl_domain_restore_params_init(&params);
    params.checkpointed_stream = 0;        // LIBXL_CHECKPOINTED_STREAM_NONE
    params.stream_version = 2;             // init leaves 1, which means a legacy stream
    // libxl reads with blocking I/O (it clears O_NONBLOCK itself too).
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    uint32_t domid = INVALID_DOMID;
    int rc = libxl_domain_create_restore(xen->ctx, &config, &domid, fd, -1, &params, NULL, NULL);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&config);
    if (rc != 0) {
        livemig_xen_say(message, message_length, "libxl could not restore the domain from the stream (libxl error %d)", rc);
        return -1;
    }
    return domid;
}

int livemig_xen_rename(livemig_xen *xen, uint32_t domid, const char *old_name, const char *new_name,
                       char *message, size_t message_length) {
    if (libxl_domain_rename(xen->ctx, domid, old_name, new_name) != 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot rename it to '%s'", domid, new_name);
        return -1;
    }
    return 0;
}

int livemig_xen_unpause(livemig_xen *xen, uint32_t domid, char *message, size_t message_length) {
    if (libxl_domain_unpause(xen->ctx, domid, NULL) != 0) {
        livemig_xen_say(message, message_length, "domain %u: cannot unpause it", domid);
        return -1;
    }
    return 0;
}

char *livemig_xen_config_name(livemig_xen *xen, const char *config_json) {
    libxl_domain_config config;
    libxl_domain_config_init(&config);
    char *name = NULL;
    if (libxl_domain_config_from_json(xen->ctx, &config, config_json) == 0 && config.c_info.name) {
        name = strdup(config.c_info.name);
    }
    libxl_domain_config_dispose(&config);
    return name;
}
