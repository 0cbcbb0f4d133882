#include "hooks.h"

#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[_SPEC_HOOK_MAX] = {
        [SPEC_HOOK_PRESTART] = "prestart",
        [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
        [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
        [SPEC_HOOK_START_CONTAINER] = "startContainer",
        [SPEC_HOOK_POSTSTART] = "poststart",
        [SPEC_HOOK_POSTSTOP] = "poststop",
};

const char *hooks_kind_name(enum spec_hook_kind kind) {
        return kind < _SPEC_HOOK_MAX ? kind_names[kind] : "unknown";
}

static int64_t now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int run_one(const struct spec_hook *h, const char *kind,
                   const char *state_json, struct berr *err) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return berr_set(err, errno, "%s hook '%s': create pipe", kind,
                                h->path);
        pid_t pid = fork();
        if (pid < 0) {
                close(in[0]);
                close(in[1]);
                return berr_set(err, errno, "%s hook '%s': fork", kind,
                                h->path);
        }
        if (pid == 0) {
                /* Child: the hook gets the state on stdin and nothing else
                 * of ours; stdout/stderr stay the runtime's. */
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(127);
                close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                char *empty_env[] = {NULL};
                char *default_args[] = {h->path, NULL};
                execve(h->path, h->args ? h->args : default_args,
                       h->env ? h->env : empty_env);
                _exit(127);
        }
        close(in[0]);
        _cleanup_close_ int wfd = in[1];
        /* The state is small (< pipe buffer); a hook that does not read
         * its stdin must not block us, hence non-blocking. */
        fcntl(wfd, F_SETFL, O_NONBLOCK);
        if (state_json)
                (void) !write(wfd, state_json, strlen(state_json));
        close(TAKE_FD(wfd));

        int status = 0;
        if (h->has_timeout) {
                _cleanup_close_ int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
                int64_t deadline = now_ms() + (int64_t) h->timeout * 1000;
                for (;;) {
                        pid_t w = waitpid(pid, &status, WNOHANG);
                        if (w == pid)
                                break;
                        int64_t left = deadline - now_ms();
                        if (left <= 0) {
                                kill(pid, SIGKILL);
                                waitpid(pid, &status, 0);
                                return berr_setx(err, ETIMEDOUT,
                                                 "%s hook '%s' timed out "
                                                 "after %d s",
                                                 kind, h->path, h->timeout);
                        }
                        if (pfd >= 0) {
                                struct pollfd p = {.fd = pfd, .events = POLLIN};
                                poll(&p, 1, (int) (left > 100 ? 100 : left));
                        } else
                                usleep(10000);
                }
        } else {
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR)
                                return berr_set(err, errno,
                                                "%s hook '%s': wait", kind,
                                                h->path);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 &&
            access(h->path, X_OK) < 0)
                return berr_set(err, errno, "%s hook '%s' cannot be executed",
                                kind, h->path);
        if (WIFEXITED(status))
                return berr_setx(err, EIO, "%s hook '%s' exited with status %d",
                                 kind, h->path, WEXITSTATUS(status));
        return berr_setx(err, EIO, "%s hook '%s' was killed by signal %d", kind,
                         h->path, WTERMSIG(status));
}

size_t hooks_run_each(const struct spec *s, enum spec_hook_kind kind,
                      const char *state_json, hooks_failed_fn failed,
                      void *ud) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_hooks[kind]; i++) {
                struct berr e = {0};
                int r = run_one(&s->hooks[kind][i], kind_names[kind],
                                state_json, &e);
                if (r < 0) {
                        n++;
                        if (failed)
                                failed(&e, r, ud);
                }
        }
        return n;
}

int hooks_run(const struct spec *s, enum spec_hook_kind kind,
              const char *state_json, struct berr *err) {
        for (size_t i = 0; i < s->n_hooks[kind]; i++) {
                int r = run_one(&s->hooks[kind][i], kind_names[kind],
                                state_json, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
