/* Messages between the runtime process and the container's init over a
 * SOCK_SEQPACKET socketpair (one message per packet, so no framing). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct berr;

enum sync_type {
        SYNC_GO = 1,     /* runtime -> init: cgroups joined, id maps written;
                            payload: state JSON for hooks */
        SYNC_HOOKS,      /* init -> runtime: namespaces and mounts ready */
        SYNC_HOOKS_DONE, /* runtime -> init: prestart/createRuntime ran */
        SYNC_READY,      /* init -> runtime: waiting for start */
        SYNC_ERROR,      /* either way: payload is the message */
        SYNC_START,      /* start -> init over exec.sock */
        SYNC_SECCOMP,    /* init -> runtime: next packet carries the seccomp
                            notify listener fd */
};

#define SYNC_PAYLOAD_MAX (256 * 1024)

int sync_send(int fd, enum sync_type type, int code, const void *data,
              size_t len);
/* Receives one message; *ret_data (NUL-terminated) is malloc'd when
 * ret_data is non-NULL.  -ECONNRESET when the peer is gone. */
int sync_recv(int fd, enum sync_type *ret_type, int *ret_code, char **ret_data);
/* Send SYNC_ERROR carrying err's message. */
int sync_send_error(int fd, int code, const struct berr *err);
