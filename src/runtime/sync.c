#include "sync.h"

#include "error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct sync_hdr {
        uint32_t type;
        int32_t code;
};

int sync_send(int fd, enum sync_type type, int code, const void *data,
              size_t len) {
        struct sync_hdr h = {.type = (uint32_t) type, .code = code};
        struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)},
                               {.iov_base = (void *) data, .iov_len = len}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = data ? 2 : 1};
        for (;;) {
                ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int sync_recv(int fd, enum sync_type *ret_type, int *ret_code,
              char **ret_data) {
        char *buf = malloc(sizeof(struct sync_hdr) + SYNC_PAYLOAD_MAX + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n;
        do
                n = recv(fd, buf, sizeof(struct sync_hdr) + SYNC_PAYLOAD_MAX,
                         0);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                int e = errno;
                free(buf);
                return -e;
        }
        if ((size_t) n < sizeof(struct sync_hdr)) {
                free(buf);
                return -ECONNRESET;
        }
        struct sync_hdr h;
        memcpy(&h, buf, sizeof(h));
        size_t len = (size_t) n - sizeof(h);
        *ret_type = (enum sync_type) h.type;
        if (ret_code)
                *ret_code = h.code;
        if (ret_data) {
                memmove(buf, buf + sizeof(h), len);
                buf[len] = '\0';
                *ret_data = buf;
        } else
                free(buf);
        return 0;
}

int sync_send_error(int fd, int code, const struct berr *err) {
        const char *m = berr_message(err, code);
        return sync_send(fd, SYNC_ERROR, code < 0 ? -code : code, m, strlen(m));
}
