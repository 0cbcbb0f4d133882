/* `exec`: start another process inside a running container. */
#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "init.h"
#include "seccomp_filter.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int load_running(const struct runtime_opts *o, const char *id,
                        int *ret_dirfd, struct container_state **ret_st,
                        struct spec **ret_spec, struct berr *err) {
        int r = state_check_id(id, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = state_open_root(o->root, false, err);
        if (rootfd < 0) {
                berr_clear(err);
                return berr_setx(err, ENOENT, "container '%s' does not exist",
                                 id);
        }
        _cleanup_close_ int dirfd = state_dir_open(rootfd, id, err);
        if (dirfd < 0)
                return dirfd;
        struct container_state *st = NULL;
        r = state_load(dirfd, id, &st, err);
        if (r < 0)
                return r;
        enum container_status s = state_status(dirfd, st);
        if (s != STATUS_RUNNING && s != STATUS_CREATED) {
                r = berr_setx(err, EINVAL,
                              "cannot exec in container '%s': it is %s", id,
                              container_status_name(s));
                container_state_free(st);
                return r;
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        r = read_file_at(dirfd, "config.json", 16 << 20, &text, &len);
        if (r >= 0)
                r = spec_parse(text, len, ret_spec, err);
        else
                berr_set(err, r, "read saved config of '%s'", id);
        if (r < 0) {
                container_state_free(st);
                return r;
        }
        *ret_st = st;
        *ret_dirfd = TAKE_FD(dirfd);
        return 0;
}

int container_exec_defaults(const struct runtime_opts *o, const char *id,
                            struct spec_process **ret, struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        struct spec *s = NULL;
        int r = load_running(o, id, &dirfd, &st, &s, err);
        if (r < 0)
                return r;
        container_state_free(st);
        *ret = s->process;
        s->process = NULL;
        spec_free(s);
        if (!*ret)
                return berr_setx(err, EINVAL,
                                 "container '%s' has no process to copy "
                                 "defaults from",
                                 id);
        return 0;
}

static int exec_child(const struct spec *s, struct spec_process *p, int pidfd,
                      int sync_fd, int console_fd, unsigned preserve_fds,
                      const struct seccomp_prog *prog) {
        struct berr err = {0};
        /* We are a fork of the shim or of `berth-runtime exec`, with every
         * descriptor they hold: state directories, cgroup handles, the
         * shim's sockets.  Marking them close-on-exec is not enough — the
         * program and cwd look-ups below would reach them through
         * /proc/self/fd/N (CVE-2024-21626).  Close all but the sync and
         * console sockets and the pidfd (an anonymous inode: nothing to
         * walk through, and closed right after setns) before joining
         * anything. */
        int keep[3] = {sync_fd, console_fd, pidfd};
        close_fds_except(3 + (int) preserve_fds, keep, ELEMENTSOF(keep));
        enum sync_type t;
        int r = sync_recv(sync_fd, &t, NULL, NULL);
        if (r < 0 || t != SYNC_GO)
                _exit(1);
        /* Join every namespace the container has except pid (joined by
         * our parent before the fork, so we were born in it).  Entering
         * the mount namespace also moves our root to the container's. */
        int flags = 0;
        for (size_t i = 0; i < s->linux_.n_namespaces; i++)
                if (s->linux_.namespaces[i].type != SPEC_NS_PID)
                        flags |= spec_ns_clone_flag(
                                s->linux_.namespaces[i].type);
        if (flags && setns(pidfd, flags) < 0) {
                berr_set(&err, errno, "join the container's namespaces");
                goto fail;
        }
        close(pidfd);
        if (console_fd >= 0) {
                r = terminal_setup(
                        console_fd, p->has_console_size ? p->console_height : 0,
                        p->has_console_size ? p->console_width : 0, &err);
                if (r < 0)
                        goto fail;
                close(console_fd);
        } else if (setsid() < 0 && errno != EPERM) {
                berr_set(&err, errno, "setsid");
                goto fail;
        }
        struct process_plan plan = {.p = p, .seccomp = prog};
        r = process_prepare(&plan, &err);
        if (r < 0)
                goto fail;
        process_close_fds(preserve_fds);
        r = process_finish(&plan, &err);
        if (r < 0)
                goto fail;
        execve(plan.exe, p->args, p->env ? p->env : (char *[]){NULL});
        berr_set(&err, errno, "exec '%s'", plan.exe);
fail:
        sync_send_error(sync_fd, err.code ? err.code : EIO, &err);
        _exit(127);
}

static int connect_console(const char *path, struct berr *err) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "create console socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return berr_set(err, e, "connect to console socket '%s'", path);
        }
        return fd;
}

int container_exec(const struct runtime_opts *o, const char *id,
                   struct spec_process *p, const struct exec_opts *e,
                   int *ret_status, struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        struct spec *s = NULL;
        struct seccomp_prog *prog = NULL;
        struct cgroup *cg = NULL;
        int console = -1, sp[2] = {-1, -1}, tty_pair[2] = {-1, -1};
        int pidfd = -1;
        int r = load_running(o, id, &dirfd, &st, &s, err);
        if (r < 0)
                return r;
        if (e->tty_given)
                p->terminal = e->tty;
        bool own_tty = p->terminal && !e->console_socket && !e->detach;
        if (p->terminal && !e->console_socket && e->detach) {
                r = berr_setx(err, EINVAL,
                              "--tty with --detach needs a --console-socket");
                goto out;
        }
        if (!p->cwd)
                p->cwd = strdup("/");
        if (s->linux_.seccomp) {
                r = seccomp_compile(s->linux_.seccomp, &prog, err);
                if (r < 0)
                        goto out;
        }
        if (p->terminal) {
                if (own_tty) {
                        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                       tty_pair) < 0) {
                                r = berr_set(err, errno, "create socket pair");
                                goto out;
                        }
                        console = tty_pair[1];
                } else {
                        console = connect_console(e->console_socket, err);
                        if (console < 0) {
                                r = console;
                                goto out;
                        }
                }
        }
        r = cgroup_open(st->cgroup_path, &cg, err);
        if (r < 0)
                goto out;
        pidfd = (int) syscall(SYS_pidfd_open, st->pid, 0);
        if (pidfd < 0) {
                r = berr_set(err, errno, "open container process %d", st->pid);
                goto out;
        }
        uint64_t t;
        if (proc_start_time(st->pid, &t) < 0 || t != st->pid_start_time) {
                r = berr_setx(err, ESRCH, "container '%s' is not running", id);
                goto out;
        }
        /* Children we fork from now on are born in the container's pid
         * namespace; we ourselves stay where we are. */
        const struct spec_namespace *pidns = spec_find_ns(s, SPEC_NS_PID);
        if (pidns && setns(pidfd, CLONE_NEWPID) < 0) {
                r = berr_set(err, errno, "join pid namespace of '%s'", id);
                goto out;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = berr_set(err, errno, "create sync socket");
                goto out;
        }
        sigset_t all, old;
        sigfillset(&all);
        if (!e->detach)
                sigprocmask(SIG_BLOCK, &all, &old);
        pid_t pid = fork();
        if (pid < 0) {
                r = berr_set(err, errno, "fork");
                goto out;
        }
        if (pid == 0) {
                process_reset_signals();
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                close(sp[0]);
                exec_child(s, p, pidfd, sp[1], console, e->preserve_fds, prog);
        }
        close(sp[1]);
        sp[1] = -1;
        if (console >= 0) {
                close(console);
                console = -1;
                tty_pair[1] = -1;
        }
        r = cgroup_enter(cg, pid, err);
        if (r >= 0)
                r = sync_send(sp[0], SYNC_GO, 0, NULL, 0);
        if (r >= 0) {
                enum sync_type ty;
                int code = 0;
                _cleanup_free_ char *msg = NULL;
                int q = sync_recv(sp[0], &ty, &code, &msg);
                if (q >= 0 && ty == SYNC_ERROR)
                        r = berr_setx(err, code ? code : EIO, "%s", msg);
        }
        if (r < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                if (!e->detach)
                        sigprocmask(SIG_SETMASK, &old, NULL);
                goto out;
        }
        if (e->pid_file) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", (int) pid);
                _cleanup_close_ int fd =
                        open(e->pid_file,
                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write_all(fd, buf, (size_t) n) < 0)
                        berr_set(err, errno, "write pid file '%s'",
                                 e->pid_file);
        }
        int master = -1;
        if (own_tty) {
                fd_recv(tty_pair[0], &master, NULL, 0);
        }
        if (e->detach) {
                if (ret_status)
                        *ret_status = 0;
                r = 0;
                goto out;
        }
        int status = 0;
        terminal_wait_child(pid, master, &all, &status);
        if (master >= 0)
                close(master);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (ret_status)
                *ret_status = status;
        r = 0;
out:
        if (sp[0] >= 0)
                close(sp[0]);
        if (sp[1] >= 0)
                close(sp[1]);
        if (console >= 0)
                close(console);
        if (tty_pair[0] >= 0)
                close(tty_pair[0]);
        if (pidfd >= 0)
                close(pidfd);
        cgroup_free(cg);
        seccomp_prog_free(prog);
        spec_free(s);
        container_state_free(st);
        return r;
}
