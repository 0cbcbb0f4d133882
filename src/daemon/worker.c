/* Starting berth-worker processes (src/worker/main.c has the protocol). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "loop.h"
#include "util.h"

static json_t *strv_json(char *const *v) {
        json_t *a = json_array();
        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* ---- the job starter (berth-worker --serve) ---- */

static void zygote_gone(pid_t pid, int status, void *ud) {
        struct daemon *d = ud;
        (void) status;
        if (d->worker_zygote_pid == pid) {
                if (d->worker_zygote_fd >= 0)
                        close(d->worker_zygote_fd);
                d->worker_zygote_fd = -1;
                d->worker_zygote_pid = 0;
        }
}

static int zygote_start(struct daemon *d) {
        struct stat st;
        if (stat(d->worker_binary, &st) < 0)
                return -errno;
        d->worker_zygote_ino = st.st_ino;
        d->worker_zygote_mtime = st.st_mtim.tv_sec;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                if (dup2(sv[1], 0) < 0)
                        _exit(EBADF);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                execl(d->worker_binary, "berth-worker", "--serve",
                      (char *) NULL);
                _exit(ENOEXEC);
        }
        close(sv[1]);
        d->worker_zygote_fd = sv[0];
        d->worker_zygote_pid = pid;
        if (loop_watch_child(d->loop, pid, zygote_gone, d) < 0) {
                kill(pid, SIGKILL);
                close(sv[0]);
                d->worker_zygote_fd = -1;
                d->worker_zygote_pid = 0;
                return -EIO;
        }
        return 0;
}

/* A job through the starter: its pid, or < 0 (then the caller forks). */
static pid_t zygote_job(struct daemon *d, int mfd, int in_fd, int out_fd) {
        /* A new berth-worker installed since the starter began: the next
         * jobs run the new one. */
        struct stat st;
        if (d->worker_zygote_fd >= 0 &&
            (stat(d->worker_binary, &st) < 0 ||
             st.st_ino != d->worker_zygote_ino ||
             st.st_mtim.tv_sec != d->worker_zygote_mtime)) {
                kill(d->worker_zygote_pid, SIGTERM);
                close(d->worker_zygote_fd);
                d->worker_zygote_fd = -1;
        }
        if (d->worker_zygote_fd < 0 && zygote_start(d) < 0)
                return -1;
        int fds[3] = {mfd, out_fd, in_fd};
        size_t n = in_fd >= 0 ? 3 : 2;
        char byte = 'J';
        struct iovec iov = {&byte, 1};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(3 * sizeof(int))];
        } u;
        memset(&u, 0, sizeof(u));
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = u.buf,
                            .msg_controllen = CMSG_SPACE(n * sizeof(int))};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
        int reply = -1;
        struct pollfd p = {d->worker_zygote_fd, POLLIN, 0};
        if (sendmsg(d->worker_zygote_fd, &mh, MSG_NOSIGNAL) != 1 ||
            poll(&p, 1, 2000) != 1 ||
            recv(d->worker_zygote_fd, &reply, sizeof(reply), 0) !=
                    (ssize_t) sizeof(reply) ||
            reply <= 0) {
                /* A starter that does not answer is replaced. */
                kill(d->worker_zygote_pid, SIGKILL);
                close(d->worker_zygote_fd);
                d->worker_zygote_fd = -1;
                return -1;
        }
        return reply;
}

int worker_spawn(struct daemon *d, json_t *params, int in_fd, int out_fd,
                 pid_t *ret_pid, struct berr *err) {
        _cleanup_free_ char *root = str_printf("%s/image", d->data_root);
        if (!params || !root) {
                json_decref(params);
                return -ENOMEM;
        }
        json_object_set_new(params, "image_root", json_string(root));
        json_object_set_new(params, "limits",
                            json_pack("{s:I, s:I}", "max_layer_size",
                                      (json_int_t) d->max_layer_size,
                                      "max_image_size",
                                      (json_int_t) d->max_image_size));
        json_object_set_new(
                params, "registry",
                json_pack("{s:s?, s:o, s:o, s:i}", "certs_dir",
                          d->registry.certs_dir, "insecure",
                          strv_json(d->registry.insecure),
                          "allow_nondistributable",
                          strv_json(d->registry.allow_nondistributable),
                          "max_concurrent", d->registry.max_concurrent));
        char *text = json_dumps(params, JSON_COMPACT);
        json_decref(params);
        if (!text)
                return -ENOMEM;
        /* The parameters (credentials among them) go through a sealed-off
         * memory file, not argv, where every user could read them. */
        int mfd = memfd_create("berth-job", MFD_CLOEXEC);
        int r = mfd < 0 ? -errno : write_all(mfd, text, strlen(text));
        free(text);
        if (r >= 0 && lseek(mfd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r < 0) {
                if (mfd >= 0)
                        close(mfd);
                return berr_set(err, r, "pass a job to berth-worker");
        }
        /* Through the starter when it works: no exec, no dynamic
         * linking per job. */
        pid_t zp = zygote_job(d, mfd, in_fd, out_fd);
        if (zp > 0) {
                close(mfd);
                *ret_pid = zp;
                return 0;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = berr_set(err, errno, "fork berth-worker");
                close(mfd);
                return r;
        }
        if (pid == 0) {
                /* Everything else the daemon holds is close-on-exec. */
                if (dup2(mfd, 0) < 0 || dup2(out_fd, 1) < 0 ||
                    (in_fd >= 0 && dup2(in_fd, 3) < 0))
                        _exit(EBADF);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                execl(d->worker_binary, "berth-worker", (char *) NULL);
                _exit(ENOEXEC);
        }
        close(mfd);
        *ret_pid = pid;
        return 0;
}
