/* berth-init: the process `--init` puts at pid 1 of a container
 * (mounted at /dev/init, run as `/dev/init -- CMD ARGS...`).
 *
 * A program written as a service usually does not expect to be pid 1: the
 * kernel gives pid 1 no default signal actions (SIGTERM is ignored unless
 * handled) and makes it the parent of every orphan.  berth-init runs CMD as
 * its child, passes every signal it can catch on to it, reaps orphans, and
 * exits with CMD's status (128+N when a signal N killed it).
 *
 * Static and free of allocation: the container's image may have no libc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int st) {
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        return 1;
}

static void on_signal(int sig) {
        (void) sig;
}

int main(int argc, char **argv) {
        int first = 1;
        if (first < argc && strcmp(argv[first], "--") == 0)
                first++;
        if (first >= argc) {
                fprintf(stderr, "usage: berth-init [--] PROGRAM [ARGS...]\n");
                return 2;
        }
        /* The kernel drops signals to a pid namespace's init that has no
         * handler for them, blocked or not: give every catchable signal a
         * handler, keep them blocked, and take them with sigwaitinfo. */
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        struct sigaction sa = {.sa_handler = on_signal};
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        sigaction(s, &sa, NULL);
        pid_t child = fork();
        if (child < 0) {
                fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
                return 1;
        }
        if (child == 0) {
                struct sigaction dfl = {.sa_handler = SIG_DFL};
                for (int s = 1; s < NSIG; s++)
                        if (s != SIGKILL && s != SIGSTOP)
                                sigaction(s, &dfl, NULL);
                sigprocmask(SIG_SETMASK, &old, NULL);
                execvp(argv[first], argv + first);
                int e = errno;
                fprintf(stderr, "berth-init: exec '%s': %s\n", argv[first],
                        strerror(e));
                _exit(e == ENOENT ? 127 : 126);
        }
        /* Not pid 1 (e.g. --pid host): still reap what we inherit. */
        if (getpid() != 1)
                prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        kill(child, sig);
                        continue;
                }
                for (;;) {
                        int st;
                        pid_t p = waitpid(-1, &st, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p == child)
                                return status_code(st);
                }
        }
}
