#include "init.h"

#include "caps.h"
#include "cleanup.h"
#include "error.h"
#include "hooks.h"
#include "rootfs.h"
#include "seccomp_filter.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#endif

/* Look `path` (absolute in the container) up inside the container's root:
 * RESOLVE_IN_ROOT keeps "..", absolute symlinks and the like inside it,
 * RESOLVE_NO_MAGICLINKS refuses /proc/self/fd/N-style links, which are the
 * one way a path can name something outside a root (CVE-2024-21626).
 * Returns 0 and the verdict of the candidate: 1 runnable, or a negative
 * errno saying why not. */
static int exe_check(int rootfd, const char *path) {
        _cleanup_close_ int fd = rootfs_open_in_root(rootfd, path, O_PATH);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        /* faccessat2 on the descriptor: the check sees exactly the inode
         * we resolved, with the credentials the program will run with. */
        if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) <
            0)
                return -errno;
        return 1;
}

static int exe_error(int r, const char *name, struct berr *err) {
        if (r == -ELOOP || r == -EXDEV)
                return berr_setx(err, EPERM,
                                 "exec: \"%s\": refused: the path leaves the "
                                 "container or goes through a magic link "
                                 "(such as /proc/self/fd/N)",
                                 name);
        if (r == -EISDIR)
                return berr_setx(err, EACCES, "exec: \"%s\": is a directory",
                                 name);
        return berr_set(err, r, "exec: \"%s\"", name);
}

/* `dir`/`name` as an absolute path in the container; a relative `dir`
 * (or "" in PATH, meaning ".") is taken from the working directory. */
static int exe_candidate(const char *cwd, const char *dir, const char *name,
                         char *buf, size_t size) {
        int n;
        if (dir[0] == '/')
                n = snprintf(buf, size, "%s/%s", dir, name);
        else
                n = snprintf(buf, size, "%s/%s%s%s", cwd, dir, *dir ? "/" : "",
                             name);
        return n > 0 && (size_t) n < size ? 0 : -ENAMETOOLONG;
}

int process_find_exe(int rootfd, const struct spec_process *p, char **ret,
                     struct berr *err) {
        const char *name = p->args && p->args[0] ? p->args[0] : NULL;
        if (!name || !*name)
                return berr_setx(err, EINVAL, "process.args must not be empty");
        const char *cwd = p->cwd ? p->cwd : "/";
        char full[PATH_MAX];
        if (strchr(name, '/')) {
                int r = 0;
                if (name[0] == '/') {
                        if (strlen(name) >= sizeof(full))
                                r = -ENAMETOOLONG;
                        else
                                snprintf(full, sizeof(full), "%s", name);
                } else
                        r = exe_candidate(cwd, "", name, full, sizeof(full));
                if (r >= 0)
                        r = exe_check(rootfd, full);
                if (r < 0)
                        return exe_error(r, name, err);
                *ret = strdup(full);
                return *ret ? 0 : -ENOMEM;
        }
        const char *path = strv_env_get(p->env, "PATH");
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                       "/sbin:/bin";
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        int saw_eacces = 0, saw_escape = 0;
        /* strsep, not strtok: an empty PATH entry means the cwd */
        char *rest = copy;
        for (char *dir; (dir = strsep(&rest, ":"));) {
                if (exe_candidate(cwd, dir, name, full, sizeof(full)) < 0)
                        continue;
                int r = exe_check(rootfd, full);
                if (r == -EACCES || r == -EPERM)
                        saw_eacces = 1;
                if (r == -ELOOP || r == -EXDEV)
                        saw_escape = 1;
                if (r < 0)
                        continue;
                *ret = strdup(full);
                return *ret ? 0 : -ENOMEM;
        }
        if (saw_eacces)
                return berr_setx(err, EACCES, "exec: \"%s\": permission denied",
                                 name);
        if (saw_escape)
                return berr_setx(err, ENOENT,
                                 "exec: \"%s\": executable file not found in "
                                 "$PATH (entries through magic links such as "
                                 "/proc/self/fd/N were skipped)",
                                 name);
        return berr_setx(err, ENOENT,
                         "exec: \"%s\": executable file not found in $PATH",
                         name);
}

void process_reset_signals(void) {
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        for (int sig = 1; sig < NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                if (sigaction(sig, &dfl, NULL) == 0)
                        continue;
                /* libc keeps a few real-time signals for itself (32, 33
                 * with glibc) and refuses them; what we inherited for them
                 * must not reach the container either. */
                struct {
                        void (*handler)(int);
                        unsigned long flags;
                        void (*restorer)(void);
                        uint64_t mask;
                } k = {SIG_DFL, 0, NULL, 0};
                syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

void process_close_fds(unsigned preserve_fds) {
        for (unsigned i = 0; i < preserve_fds; i++) {
                int fl = fcntl(3 + (int) i, F_GETFD);
                if (fl >= 0)
                        fcntl(3 + (int) i, F_SETFD, fl & ~FD_CLOEXEC);
        }
        /* CVE-2024-21626: no descriptor of ours may survive into the
         * container's program. */
        if (syscall(SYS_close_range, 3 + preserve_fds, ~0U,
                    CLOSE_RANGE_CLOEXEC) < 0) {
                for (int fd = 3 + (int) preserve_fds; fd < 65536; fd++) {
                        int fl = fcntl(fd, F_GETFD);
                        if (fl >= 0)
                                fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
                }
        }
}

static int set_rlimits(const struct spec_process *p, struct berr *err) {
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = {.rlim_cur = p->rlimits[i].soft,
                                    .rlim_max = p->rlimits[i].hard};
                if (setrlimit(p->rlimits[i].resource, &rl) < 0)
                        return berr_set(err, errno,
                                        "process.rlimits: set %s to %llu/%llu",
                                        p->rlimits[i].name,
                                        (unsigned long long) rl.rlim_cur,
                                        (unsigned long long) rl.rlim_max);
        }
        return 0;
}

static int set_user(const struct spec_process *p, struct berr *err) {
        const struct spec_user *u = &p->user;
        gid_t groups[NGROUPS_MAX];
        size_t n = u->n_additional_gids < NGROUPS_MAX ? u->n_additional_gids
                                                      : NGROUPS_MAX;
        for (size_t i = 0; i < n; i++)
                groups[i] = u->additional_gids[i];
        if (setgroups(n, n ? groups : NULL) < 0 && !(errno == EPERM && n == 0))
                return berr_set(err, errno,
                                "process.user.additionalGids: "
                                "setgroups");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return berr_set(err, errno, "process.user.gid: setgid %u",
                                u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return berr_set(err, errno, "process.user.uid: setuid %u",
                                u->uid);
        return 0;
}

static int cwd_error(int r, const char *cwd, struct berr *err) {
        if (r == -ELOOP || r == -EXDEV)
                return berr_setx(err, EPERM,
                                 "process.cwd: '%s' is refused: it leaves the "
                                 "container or goes through a magic link "
                                 "(such as /proc/self/fd/N)",
                                 cwd);
        if (r == -ENOTDIR)
                return berr_setx(err, ENOTDIR,
                                 "process.cwd: '%s' is not a directory", cwd);
        return berr_set(err, r, "process.cwd: '%s'", cwd);
}

static int cwd_check_or_create(int rootfd, const char *cwd, struct berr *err) {
        int fd = rootfs_open_in_root(rootfd, cwd, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        if (fd != -ENOENT)
                return cwd_error(fd, cwd, err);
        struct berr e = {0};
        fd = rootfs_mkdir_in_root(rootfd, cwd, false, &e);
        if (fd < 0)
                return berr_setx(err, -fd, "process.cwd: create '%s': %s", cwd,
                                 e.msg[0] ? e.msg : strerror(-fd));
        close(fd);
        return 0;
}

int process_prepare(struct process_plan *plan, struct berr *err) {
        const struct spec_process *p = plan->p;
        int r = set_rlimits(p, err);
        if (r < 0)
                return r;
        if (p->has_oom_score_adj) {
                char v[16];
                snprintf(v, sizeof(v), "%d", p->oom_score_adj);
                r = write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", v, 0);
                if (r < 0)
                        return berr_set(err, r,
                                        "process.oomScoreAdj: write %d to "
                                        "'/proc/self/oom_score_adj'",
                                        p->oom_score_adj);
        }
        if (p->has_io_priority) {
                int prio = (p->io_priority_class << 13) | p->io_priority_level;
                if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) < 0)
                        return berr_set(err, errno, "process.ioPriority");
        }
        if (p->has_scheduler) {
                struct {
                        uint32_t size;
                        uint32_t policy;
                        uint64_t flags;
                        int32_t nice;
                        uint32_t priority;
                        uint64_t runtime, deadline, period;
                } attr = {.size = 48,
                          .policy = (uint32_t) p->sched_policy,
                          .flags = p->sched_flags,
                          .nice = p->sched_nice,
                          .priority = (uint32_t) p->sched_priority,
                          .runtime = p->sched_runtime,
                          .deadline = p->sched_deadline,
                          .period = p->sched_period};
                if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
                        return berr_set(err, errno, "process.scheduler");
        }
        uint64_t bounding = p->has_caps ? p->caps.bounding : 0;
        uint64_t effective = p->has_caps ? p->caps.effective : 0;
        /* Loading a seccomp filter without no_new_privs needs
         * CAP_SYS_ADMIN; keep it until the filter is in (process_finish),
         * so the filter only has to allow capset and execve after it. */
        plan->keep_admin = plan->seccomp && !plan->seccomp_done &&
                           !p->no_new_privileges &&
                           !(effective & (UINT64_C(1) << CAP_SYS_ADMIN));
        r = caps_apply_bounding(bounding, err);
        if (r < 0)
                return r;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return berr_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
        /* Everything below resolves paths from the container's config or
         * image.  We are inside the container's root already and hold no
         * descriptor of the host (the caller closed them), and every
         * look-up still goes through RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
         * from our root, so neither a leaked descriptor nor a symlink can
         * take it outside. */
        _cleanup_close_ int rootfd =
                open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berr_set(err, errno, "open the container's root");
        const char *cwd = p->cwd ? p->cwd : "/";
        /* Like runc, a missing working directory is made (as root, before
         * the user switch) — but only after the path was checked, and
         * only inside the root. */
        r = cwd_check_or_create(rootfd, cwd, err);
        if (r < 0)
                return r;
        r = set_user(p, err);
        if (r < 0)
                return r;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return berr_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
        struct spec_caps c = {0};
        if (p->has_caps)
                c = p->caps;
        c.ambient = 0;
        if (plan->keep_admin) {
                c.effective |= UINT64_C(1) << CAP_SYS_ADMIN;
                c.permitted |= UINT64_C(1) << CAP_SYS_ADMIN;
        }
        r = caps_apply(&c, err);
        if (r < 0)
                return r;
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return berr_set(err, errno, "process.noNewPrivileges");
        if (p->user.has_umask)
                umask((mode_t) p->user.umask);
        /* Opened again with the user's credentials, so a directory the
         * user may not enter is refused as chdir would refuse it. */
        _cleanup_close_ int cwdfd =
                rootfs_open_in_root(rootfd, cwd, O_PATH | O_DIRECTORY);
        if (cwdfd < 0)
                return cwd_error(cwdfd, cwd, err);
        if (fchdir(cwdfd) < 0)
                return berr_set(err, errno, "process.cwd: chdir to '%s'", cwd);
        /* CVE-2024-21626: a cwd reached through a leaked host fd would lie
         * outside our root; getcwd then reports it as unreachable. */
        char buf[PATH_MAX];
        if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
                return berr_setx(err, EPERM,
                                 "process.cwd: '%s' is outside the container",
                                 cwd);
        return process_find_exe(rootfd, p, &plan->exe, err);
}

int process_finish(const struct process_plan *plan, struct berr *err) {
        const struct spec_process *p = plan->p;
        if (plan->seccomp && !plan->seccomp_done) {
                int r = seccomp_install(plan->seccomp, err);
                if (r < 0)
                        return r;
        }
        if (plan->keep_admin || (p->has_caps && p->caps.ambient)) {
                struct spec_caps c = {0};
                if (p->has_caps)
                        c = p->caps;
                int r = caps_apply(&c, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static __attribute__((noreturn)) void fail(int fd, int r,
                                           const struct berr *err) {
        sync_send_error(fd, r, err);
        _exit(1);
}

static int join_namespaces(const struct init_args *a, struct berr *err) {
        /* The user namespace first: the others are owned by it. */
        static const enum spec_ns order[] = {
                SPEC_NS_USER, SPEC_NS_MNT,    SPEC_NS_NET,  SPEC_NS_IPC,
                SPEC_NS_UTS,  SPEC_NS_CGROUP, SPEC_NS_TIME,
        };
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                enum spec_ns t = order[i];
                if (a->ns_fds[t] < 0 || t == SPEC_NS_PID)
                        continue;
                if (setns(a->ns_fds[t], spec_ns_clone_flag(t)) < 0)
                        return berr_set(err, errno, "join %s namespace",
                                        spec_ns_name(t));
                close(a->ns_fds[t]);
        }
        return 0;
}

/* Close every descriptor except the ones init still needs, before it
 * changes directory into the container: a host directory fd left open
 * here is what CVE-2024-21626 used. */
static void close_all_but(const struct init_args *a) {
        int keep[2] = {a->sync_fd, a->exec_listen_fd};
        close_fds_except(3 + (int) a->preserve_fds, keep, ELEMENTSOF(keep));
}

/* The first thing init does: drop every descriptor it inherited from the
 * runtime (state directory, cgroup handles, the bundle) but the ones the
 * steps before the user program need — the sync and console sockets, the
 * listening exec.sock, the namespaces to join and the premade mounts.  No
 * host directory is open from here on while a path from the config or
 * the image is resolved. */
static int close_inherited(const struct init_args *a) {
        size_t n_mounts = a->mount_fds ? a->spec->n_mounts : 0;
        size_t k = 0;
        _cleanup_free_ int *keep =
                malloc((3 + _SPEC_NS_MAX + n_mounts) * sizeof(int));
        if (!keep)
                return -ENOMEM;
        keep[k++] = a->sync_fd;
        keep[k++] = a->exec_listen_fd;
        keep[k++] = a->console_fd;
        for (size_t i = 0; i < _SPEC_NS_MAX; i++)
                keep[k++] = a->ns_fds[i];
        for (size_t i = 0; i < n_mounts; i++)
                keep[k++] = a->mount_fds[i];
        close_fds_except(3 + (int) a->preserve_fds, keep, k);
        return 0;
}

void container_init(const struct init_args *a) {
        const struct spec *s = a->spec;
        struct berr err = {0};
        int fd = a->sync_fd;
        int r;

        /* Wait until the runtime has put us in our cgroups and written our
         * id maps. */
        enum sync_type t;
        _cleanup_free_ char *state_json = NULL;
        r = sync_recv(fd, &t, NULL, &state_json);
        if (r < 0 || t != SYNC_GO)
                _exit(1);
        if (close_inherited(a) < 0)
                fail(fd, -ENOMEM,
                     (berr_setx(&err, ENOMEM, "close inherited descriptors"),
                      &err));

        if (a->new_userns) {
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        fail(fd, errno,
                             (berr_set(&err, errno,
                                       "become root in the user namespace"),
                              &err));
        }
        r = join_namespaces(a, &err);
        if (r < 0)
                fail(fd, r, &err);
        if (a->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
                fail(fd, errno,
                     (berr_set(&err, errno, "create cgroup namespace"), &err));
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                fail(fd, errno,
                     (berr_set(&err, errno, "hostname: set '%s'", s->hostname),
                      &err));
        if (s->domainname &&
            setdomainname(s->domainname, strlen(s->domainname)) < 0)
                fail(fd, errno,
                     (berr_set(&err, errno, "domainname: set '%s'",
                               s->domainname),
                      &err));

        struct rootfs_ctx rc = {.spec = s,
                                .rootfs = a->rootfs,
                                .cgroup_sources = a->cgroup_sources,
                                .mount_fds = a->mount_fds,
                                .in_userns = a->new_userns ||
                                             a->ns_fds[SPEC_NS_USER] >= 0,
                                .new_netns = a->new_netns,
                                .cgroupns = a->new_cgroupns};
        r = rootfs_prepare(&rc, &err);
        if (r < 0)
                fail(fd, r, &err);

        if (s->n_hooks[SPEC_HOOK_PRESTART] ||
            s->n_hooks[SPEC_HOOK_CREATE_RUNTIME]) {
                r = sync_send(fd, SYNC_HOOKS, 0, NULL, 0);
                if (r < 0)
                        _exit(1);
                int code = 0;
                _cleanup_free_ char *msg = NULL;
                r = sync_recv(fd, &t, &code, &msg);
                if (r < 0 || t != SYNC_HOOKS_DONE)
                        _exit(1);
        }
        /* createContainer hooks run in our namespaces but before
         * pivot_root, so their paths resolve in the runtime's filesystem. */
        r = hooks_run(s, SPEC_HOOK_CREATE_CONTAINER, state_json, &err);
        if (r < 0)
                fail(fd, r, &err);

        r = rootfs_pivot(a->rootfs, a->no_pivot, &err);
        if (r < 0)
                fail(fd, r, &err);
        r = rootfs_finalize(&rc, &err);
        if (r < 0)
                fail(fd, r, &err);

        if (!a->no_new_keyring) {
                char name[128];
                snprintf(name, sizeof(name), "_ses.%.100s", a->id);
                if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) <
                            0 &&
                    errno != ENOSYS && errno != EPERM && errno != EACCES &&
                    errno != EDQUOT)
                        fail(fd, errno,
                             (berr_set(&err, errno, "join session keyring"),
                              &err));
        }

        const struct spec_process *p = s->process;
        if (a->console_fd >= 0) {
                r = terminal_setup(a->console_fd,
                                   p->has_console_size ? p->console_height : 0,
                                   p->has_console_size ? p->console_width : 0,
                                   &err);
                if (r < 0)
                        fail(fd, r, &err);
                close(a->console_fd);
        }
        if (s->linux_.has_personality && personality(s->linux_.personality) < 0)
                fail(fd, errno,
                     (berr_set(&err, errno, "linux.personality"), &err));

        close_all_but(a);
        struct process_plan plan = {.p = p, .seccomp = a->seccomp};
        if (a->seccomp && seccomp_uses_notify(a->seccomp)) {
                /* The listener fd must reach listenerPath in the host, which
                 * only the runtime process can still see: load the filter
                 * now (it must allow what init does from here on) and hand
                 * the fd over. */
                int lfd = seccomp_install(a->seccomp, &err);
                if (lfd < 0)
                        fail(fd, lfd, &err);
                if (sync_send(fd, SYNC_SECCOMP, 0, NULL, 0) < 0 ||
                    fd_send(fd, lfd, "fd", 2) < 0)
                        _exit(1);
                close(lfd);
                plan.seccomp_done = true;
        }
        r = process_prepare(&plan, &err);
        if (r < 0)
                fail(fd, r, &err);
        process_close_fds(a->preserve_fds);

        /* The runtime that created us exits as soon as it reads READY; we
         * must outlive it, so the parent-death signal goes first. */
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        r = sync_send(fd, SYNC_READY, 0, NULL, 0);
        if (r < 0)
                _exit(1);
        int conn = fd;
        if (!a->auto_start) {
                close(fd);
                /* Created: block until `start` connects to exec.sock. */
                do
                        conn = accept4(a->exec_listen_fd, NULL, NULL,
                                       SOCK_CLOEXEC);
                while (conn < 0 && errno == EINTR);
                if (conn < 0)
                        _exit(1);
                close(a->exec_listen_fd);
                _cleanup_free_ char *msg = NULL;
                r = sync_recv(conn, &t, NULL, &msg);
                if (r < 0 || t != SYNC_START)
                        _exit(1);
        }

        r = hooks_run(s, SPEC_HOOK_START_CONTAINER, state_json, &err);
        if (r < 0)
                fail(conn, r, &err);
        r = process_finish(&plan, &err);
        if (r < 0)
                fail(conn, r, &err);
        execve(plan.exe, p->args, p->env ? p->env : (char *[]){NULL});
        r = -errno;
        berr_set(&err, r, "exec '%s'", plan.exe);
        fail(conn, r, &err);
}
