/* Starting berth-worker processes (src/worker/main.c has the protocol). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "util.h"

static json_t *strv_json(char *const *v) {
        json_t *a = json_array();
        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

int worker_spawn(struct daemon *d, json_t *params, int in_fd, int out_fd,
                 pid_t *ret_pid, struct berr *err) {
        _cleanup_free_ char *root = str_printf("%s/image", d->data_root);
        if (!params || !root) {
                json_decref(params);
                return -ENOMEM;
        }
        json_object_set_new(params, "image_root", json_string(root));
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
