/* Container lifecycle in the runtime process (the host side).  The
 * container's own first process is in init.c. */
#include "container.h"

#include "cgroup.h"
#include "cleanup.h"
#include "error.h"
#include "hooks.h"
#include "init.h"
#include "rootfs.h"
#include "seccomp_filter.h"
#include "spec.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Everything `create` made, so that a failure can undo all of it. */
struct creation {
        struct spec *spec;
        struct seccomp_prog *seccomp;
        struct cgroup *cg;
        int rootfd;
        int dirfd;
        int listen_fd;
        int console_fd;
        int sync_fd;
        int ns_fds[_SPEC_NS_MAX];
        pid_t pid;
        char *bundle;
        char *rootfs;
        char *cgroup_path;
        char **cgroup_sources;
        int *mount_fds;
        size_t spec_n_mounts;
        char created[48]; /* RFC 3339, set by the first save_state */
        const char *id;
        bool dir_made;
};

static void creation_init(struct creation *c) {
        memset(c, 0, sizeof(*c));
        c->rootfd = c->dirfd = c->listen_fd = c->console_fd = c->sync_fd = -1;
        for (int i = 0; i < _SPEC_NS_MAX; i++)
                c->ns_fds[i] = -1;
}

static void creation_release(struct creation *c) {
        spec_free(c->spec);
        seccomp_prog_free(c->seccomp);
        cgroup_free(c->cg);
        for (int i = 0; i < _SPEC_NS_MAX; i++)
                if (c->ns_fds[i] >= 0)
                        close(c->ns_fds[i]);
        if (c->listen_fd >= 0)
                close(c->listen_fd);
        if (c->console_fd >= 0)
                close(c->console_fd);
        if (c->sync_fd >= 0)
                close(c->sync_fd);
        if (c->dirfd >= 0)
                close(c->dirfd);
        if (c->rootfd >= 0)
                close(c->rootfd);
        free(c->bundle);
        free(c->rootfs);
        free(c->cgroup_path);
        strv_free(c->cgroup_sources);
        if (c->mount_fds) {
                for (size_t i = 0; i < c->spec_n_mounts; i++)
                        if (c->mount_fds[i] >= 0)
                                close(c->mount_fds[i]);
                free(c->mount_fds);
        }
}

/* Undo a failed create: the process, its cgroups, its state. */
static void creation_abort(struct creation *c) {
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (c->cg)
                cgroup_destroy(c->cg, NULL);
        if (c->dir_made && c->rootfd >= 0)
                state_dir_remove(c->rootfd, c->id);
}

static bool have_cap(int cap) {
        struct __attribute__((packed)) {
                uint32_t version;
                int pid;
        } hdr = {0x20080522, 0};
        struct {
                uint32_t effective, permitted, inheritable;
        } data[2] = {0};
        if (syscall(SYS_capget, &hdr, data) < 0)
                return false;
        return data[cap / 32].effective & (1U << (cap % 32));
}

static int validate(struct creation *c, const struct create_opts *o,
                    bool allow_internal_tty, struct berr *err) {
        const struct spec *s = c->spec;
        if (!s->process)
                return berr_setx(err, EINVAL,
                                 "process: missing (a container needs a "
                                 "process to run)");
        if (!s->process->args || !s->process->args[0])
                return berr_setx(err, EINVAL,
                                 "process.args: must not be empty");
        if (!spec_find_ns(s, SPEC_NS_MNT))
                return berr_setx(err, EINVAL,
                                 "linux.namespaces: a mount namespace is "
                                 "required");
        if ((s->hostname || s->domainname) && !spec_find_ns(s, SPEC_NS_UTS))
                return berr_setx(err, EINVAL,
                                 "hostname: setting a hostname needs a uts "
                                 "namespace");
        const struct spec_namespace *user = spec_find_ns(s, SPEC_NS_USER);
        if (user && !user->path &&
            (!s->linux_.n_uid_mappings || !s->linux_.n_gid_mappings))
                return berr_setx(err, EINVAL,
                                 "linux.uidMappings: a new user namespace "
                                 "needs uid and gid mappings");
        if (!user && (s->linux_.n_uid_mappings || s->linux_.n_gid_mappings))
                return berr_setx(err, EINVAL,
                                 "linux.uidMappings: mappings given without "
                                 "a user namespace");
        if (user && user->path && spec_find_ns(s, SPEC_NS_PID) &&
            !spec_find_ns(s, SPEC_NS_PID)->path)
                return berr_setx(err, EOPNOTSUPP,
                                 "linux.namespaces: joining a user namespace "
                                 "by path together with a new pid namespace "
                                 "is not supported yet");
        if (s->process->terminal && !o->console_socket && !allow_internal_tty)
                return berr_setx(err, EINVAL,
                                 "process.terminal: a terminal was requested "
                                 "but no --console-socket was given");
        if (s->process->apparmor_profile && *s->process->apparmor_profile &&
            access("/sys/kernel/security/apparmor", F_OK) < 0)
                return berr_setx(err, EOPNOTSUPP,
                                 "process.apparmorProfile: '%s' requested "
                                 "but AppArmor is not enabled on this host",
                                 s->process->apparmor_profile);
        if (s->process->selinux_label && *s->process->selinux_label &&
            access("/sys/fs/selinux/enforce", F_OK) < 0)
                return berr_setx(err, EOPNOTSUPP,
                                 "process.selinuxLabel: '%s' requested but "
                                 "SELinux is not enabled on this host",
                                 s->process->selinux_label);
        if (s->linux_.has_intel_rdt)
                return berr_setx(err, EOPNOTSUPP,
                                 "linux.intelRdt: not supported on this host");
        /* Raising a hard limit needs CAP_SYS_RESOURCE; say so now instead
         * of failing inside the container. */
        if (!have_cap(CAP_SYS_RESOURCE)) {
                for (size_t i = 0; i < s->process->n_rlimits; i++) {
                        const struct spec_rlimit *rl = &s->process->rlimits[i];
                        struct rlimit cur;
                        if (getrlimit(rl->resource, &cur) < 0)
                                continue;
                        if (rl->hard > cur.rlim_max)
                                return berr_setx(
                                        err, EPERM,
                                        "process.rlimits: %s hard limit %llu "
                                        "is above this host's limit %llu, "
                                        "and raising it needs "
                                        "CAP_SYS_RESOURCE, which the runtime "
                                        "does not have",
                                        rl->name, (unsigned long long) rl->hard,
                                        (unsigned long long) cur.rlim_max);
                }
        }
        for (size_t i = 0; i < s->process->n_rlimits; i++)
                if (s->process->rlimits[i].soft > s->process->rlimits[i].hard)
                        return berr_setx(err, EINVAL,
                                         "process.rlimits: %s soft limit is "
                                         "above its hard limit",
                                         s->process->rlimits[i].name);
        return 0;
}

static int write_id_map(pid_t pid, const char *file, const struct spec_idmap *m,
                        size_t n, struct berr *err) {
        int r = rootfs_write_id_map(pid, file, m, n);
        if (r < 0)
                return berr_set(err, r, "write '/proc/%d/%s'", (int) pid, file);
        return 0;
}

static int bind_exec_sock(struct creation *c, struct berr *err) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "create exec socket");
        c->listen_fd = fd;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        /* Through /proc/self/fd so that long state roots still fit. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/exec.sock",
                 c->dirfd);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return berr_set(err, errno, "bind exec socket of '%s'", c->id);
        if (listen(fd, 4) < 0)
                return berr_set(err, errno, "listen on exec socket of '%s'",
                                c->id);
        return 0;
}

static int connect_unix(const char *path, struct berr *err, const char *what) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "create %s", what);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path)) {
                close(fd);
                return berr_setx(err, ENAMETOOLONG, "%s path '%s' is too long",
                                 what, path);
        }
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return berr_set(err, e, "connect to %s '%s'", what, path);
        }
        return fd;
}

static char *make_state_json(struct creation *c, enum container_status st) {
        struct container_state cs = {
                .id = (char *) c->id, .bundle = c->bundle, .pid = c->pid};
        _cleanup_strv_free_ char **ann = NULL;
        for (size_t i = 0; i < c->spec->n_annotations; i++) {
                _cleanup_free_ char *kv =
                        str_printf("%s=%s", c->spec->annotations[i].key,
                                   c->spec->annotations[i].value);
                if (kv)
                        strv_push(&ann, kv);
        }
        cs.annotations = ann;
        return state_to_json(&cs, st, false);
}

/* The host user's name for `state`'s owner field.  Read from /etc/passwd
 * by hand: the static binary must not load NSS modules. */
static void owner_name(uid_t uid, char *buf, size_t size) {
        snprintf(buf, size, "%u", (unsigned) uid);
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        if (!f)
                return;
        char line[1024];
        while (fgets(line, sizeof(line), f)) {
                char *name = line, *c1 = strchr(line, ':');
                if (!c1)
                        continue;
                char *c2 = strchr(c1 + 1, ':');
                if (!c2)
                        continue;
                uint32_t u;
                char *c3 = strchr(c2 + 1, ':');
                if (!c3)
                        continue;
                *c3 = '\0';
                if (parse_u32(c2 + 1, &u) == 0 && u == uid) {
                        *c1 = '\0';
                        snprintf(buf, size, "%.*s", (int) size - 1, name);
                        return;
                }
        }
}

static int write_pid_file(const char *path, pid_t pid, struct berr *err) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int) pid);
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        const char *name = path;
        int dfd = AT_FDCWD;
        _cleanup_close_ int owned = -1;
        if (slash) {
                *slash = '\0';
                name = slash + 1;
                owned = open(*dir ? dir : "/",
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (owned < 0)
                        return berr_set(err, errno,
                                        "open pid file directory "
                                        "'%s'",
                                        *dir ? dir : "/");
                dfd = owned;
        }
        int r = write_file_atomic_at(dfd, name, buf, (size_t) n, 0644, 0);
        if (r < 0)
                return berr_set(err, r, "write pid file '%s'", path);
        return 0;
}

/* Hand the seccomp notify fd to the agent at linux.seccomp.listenerPath
 * with the container process state, as the runtime spec describes. */
static int send_seccomp_listener(struct creation *c, int lfd,
                                 const char *state_json, struct berr *err) {
        const struct spec_seccomp *sc = c->spec->linux_.seccomp;
        if (!sc->listener_path)
                return berr_setx(err, EINVAL,
                                 "linux.seccomp.listenerPath: required when "
                                 "SCMP_ACT_NOTIFY is used");
        _cleanup_close_ int sock =
                connect_unix(sc->listener_path, err, "seccomp listener");
        if (sock < 0)
                return sock;
        json_error_t je;
        json_t *st = json_loads(state_json, 0, &je);
        json_t *msg =
                json_pack("{s:s,s:[s],s:i,s:s,s:o}", "ociVersion", "1.2.0",
                          "fds", "seccompFd", "pid", (int) c->pid, "metadata",
                          sc->listener_metadata ? sc->listener_metadata : "",
                          "state", st ? st : json_object());
        _cleanup_free_ char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);
        if (!text)
                return -ENOMEM;
        int r = fd_send(sock, lfd, text, strlen(text));
        if (r < 0)
                return berr_set(err, r, "send seccomp fd to '%s'",
                                sc->listener_path);
        return 0;
}

/* The device rules the spec asks for, followed by the devices every
 * container gets (as runc does): the standard character devices, ptys,
 * mknod of anything (the node is useless without an allow rule), and each
 * of linux.devices, which would otherwise be created but unusable. */
static int apply_resources(struct cgroup *cg, const struct spec *s,
                           struct berr *err) {
        const struct spec_resources *res = s->linux_.resources;
        if (!res->has_devices)
                return cgroup_apply(cg, res, err);
        static const struct spec_dev_rule defaults[] = {
                {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"},
                {true, 'c', 1, 3, "rwm"},    {true, 'c', 1, 5, "rwm"},
                {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"},
                {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"},
                {true, 'c', 5, 1, "rwm"},    {true, 'c', 5, 2, "rwm"},
                {true, 'c', 136, -1, "rwm"},
        };
        size_t n = res->n_devices + ELEMENTSOF(defaults) + s->linux_.n_devices;
        _cleanup_free_ struct spec_dev_rule *rules = calloc(n, sizeof(*rules));
        if (!rules)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < res->n_devices; i++)
                rules[k++] = res->devices[i];
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                rules[k++] = defaults[i];
        for (size_t i = 0; i < s->linux_.n_devices; i++) {
                const struct spec_device *d = &s->linux_.devices[i];
                if (d->type != 'c' && d->type != 'b' && d->type != 'u')
                        continue;
                rules[k++] = (struct spec_dev_rule){
                        .allow = true,
                        .type = d->type == 'b' ? 'b' : 'c',
                        .major = d->major,
                        .minor = d->minor,
                        .access = "rwm"};
        }
        struct spec_resources copy = *res;
        copy.devices = rules;
        copy.n_devices = k;
        return cgroup_apply(cg, &copy, err);
}

static int prepare(const struct runtime_opts *o, const struct create_opts *co,
                   struct creation *c, bool internal_tty, struct berr *err) {
        int r = state_check_id(co->id, err);
        if (r < 0)
                return r;
        c->id = co->id;
        c->bundle = realpath(co->bundle ? co->bundle : ".", NULL);
        if (!c->bundle)
                return berr_set(err, errno, "bundle '%s'",
                                co->bundle ? co->bundle : ".");
        _cleanup_free_ char *cfg = str_printf("%s/config.json", c->bundle);
        if (!cfg)
                return -ENOMEM;
        r = spec_load_file(cfg, &c->spec, err);
        if (r < 0)
                return r;
        r = validate(c, co, internal_tty, err);
        if (r < 0)
                return r;
        const char *root = c->spec->root_path;
        _cleanup_free_ char *joined =
                root[0] == '/' ? strdup(root)
                               : str_printf("%s/%s", c->bundle, root);
        if (!joined)
                return -ENOMEM;
        c->rootfs = realpath(joined, NULL);
        if (!c->rootfs)
                return berr_set(err, errno, "root.path '%s'", joined);
        struct stat st;
        if (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
                return berr_setx(err, ENOTDIR,
                                 "root.path '%s' is not a directory",
                                 c->rootfs);
        for (size_t i = 0; i < c->spec->linux_.n_namespaces; i++) {
                const struct spec_namespace *ns =
                        &c->spec->linux_.namespaces[i];
                if (!ns->path)
                        continue;
                int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return berr_set(err, errno,
                                        "linux.namespaces: open %s namespace "
                                        "'%s'",
                                        spec_ns_name(ns->type), ns->path);
                c->ns_fds[ns->type] = fd;
        }
        r = rootfs_make_idmapped_mounts(c->spec, &c->mount_fds, err);
        if (r < 0)
                return r;
        c->spec_n_mounts = c->spec->n_mounts;
        if (c->spec->linux_.seccomp) {
                r = seccomp_compile(c->spec->linux_.seccomp, &c->seccomp, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* auto_start: `run`, where the init goes on to exec right after READY
 * instead of waiting on exec.sock for `start`. */
/* Write state.json: pid 0 while creating, then the init's pid. */
static int save_state(const struct runtime_opts *o, struct creation *c,
                      pid_t pid, struct berr *err) {
        const struct spec *s = c->spec;
        struct container_state st = {.id = (char *) c->id,
                                     .bundle = c->bundle,
                                     .rootfs = c->rootfs,
                                     .cgroup_path = c->cgroup_path,
                                     .systemd_cgroup = o->systemd_cgroup,
                                     .pid = pid,
                                     .creator_pid = getpid()};
        if (!c->created[0]) {
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                format_rfc3339(c->created, sizeof(c->created), now.tv_sec,
                               now.tv_nsec);
        }
        st.created = c->created;
        char owner[64];
        owner_name(getuid(), owner, sizeof(owner));
        st.owner = owner;
        _cleanup_strv_free_ char **ann = NULL;
        for (size_t i = 0; i < s->n_annotations; i++) {
                _cleanup_free_ char *kv =
                        str_printf("%s=%s", s->annotations[i].key,
                                   s->annotations[i].value);
                if (kv)
                        strv_push(&ann, kv);
        }
        st.annotations = ann;
        int r = proc_start_time(getpid(), &st.creator_start_time);
        if (r >= 0 && pid > 0)
                r = proc_start_time(pid, &st.pid_start_time);
        if (r < 0)
                return berr_set(err, r, "read start time of pid %d",
                                pid > 0 ? pid : getpid());
        return state_save(c->dirfd, &st, err);
}

static int spawn(const struct runtime_opts *o, const struct create_opts *co,
                 struct creation *c, int console_fd, bool auto_start,
                 struct berr *err) {
        struct spec *s = c->spec;
        int r;
        c->rootfd = state_open_root(o->root, true, err);
        if (c->rootfd < 0)
                return c->rootfd;
        c->dirfd = state_dir_create(c->rootfd, c->id, err);
        if (c->dirfd < 0)
                return c->dirfd;
        c->dir_made = true;

        /* Keep the spec the container was made with: exec and delete's
         * poststop hooks use it after the bundle may have changed. */
        _cleanup_free_ char *cfgtext = NULL;
        size_t cfglen = 0;
        _cleanup_free_ char *cfg = str_printf("%s/config.json", c->bundle);
        if (!cfg)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, cfg, 16 << 20, &cfgtext, &cfglen);
        if (r < 0)
                return berr_set(err, r, "read '%s'", cfg);
        r = write_file_atomic_at(c->dirfd, "config.json", cfgtext, cfglen, 0600,
                                 0);
        if (r < 0)
                return berr_set(err, r, "save config of '%s'", c->id);

        c->cgroup_path = s->linux_.cgroups_path && *s->linux_.cgroups_path
                                 ? strdup(s->linux_.cgroups_path)
                                 : str_printf("/berth/%s", c->id);
        if (!c->cgroup_path)
                return -ENOMEM;
        /* A first record, before anything else exists: `state` says
         * "creating" while we work, and if we are killed half-way, `delete`
         * finds the cgroups to remove. */
        r = save_state(o, c, 0, err);
        if (r < 0)
                return r;
        r = cgroup_create(c->cgroup_path, o->systemd_cgroup, &c->cg, err);
        if (r < 0)
                return r;
        if (s->linux_.resources) {
                r = apply_resources(c->cg, s, err);
                if (r < 0)
                        return r;
        }
        r = cgroup_mount_sources(c->cg, &c->cgroup_sources);
        if (r < 0)
                return berr_set(err, r, "list cgroup mounts of '%s'", c->id);

        if (!auto_start) {
                r = bind_exec_sock(c, err);
                if (r < 0)
                        return r;
        }
        if (s->process->terminal) {
                if (console_fd >= 0)
                        c->console_fd = console_fd;
                else {
                        c->console_fd = connect_unix(co->console_socket, err,
                                                     "console socket");
                        if (c->console_fd < 0)
                                return c->console_fd;
                }
        }

        int flags = 0;
        bool new_cgroupns = false, new_userns = false, new_netns = false,
             new_timens = false;
        for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
                const struct spec_namespace *ns = &s->linux_.namespaces[i];
                if (ns->path)
                        continue;
                switch (ns->type) {
                case SPEC_NS_CGROUP:
                        new_cgroupns = true;
                        break;
                case SPEC_NS_TIME:
                        new_timens = true;
                        break;
                default:
                        flags |= spec_ns_clone_flag(ns->type);
                        if (ns->type == SPEC_NS_USER)
                                new_userns = true;
                        if (ns->type == SPEC_NS_NET)
                                new_netns = true;
                        break;
                }
        }
        /* A joined pid namespace applies to our children only, so the
         * runtime itself can enter it before cloning. */
        if (c->ns_fds[SPEC_NS_PID] >= 0) {
                if (setns(c->ns_fds[SPEC_NS_PID], CLONE_NEWPID) < 0)
                        return berr_set(err, errno, "join pid namespace");
                close(c->ns_fds[SPEC_NS_PID]);
                c->ns_fds[SPEC_NS_PID] = -1;
        }
        if (new_timens) {
                if (unshare(CLONE_NEWTIME) < 0)
                        return berr_set(err, errno, "create time namespace");
                if (s->linux_.has_time_offsets) {
                        char buf[128];
                        snprintf(buf, sizeof(buf),
                                 "monotonic %lld %u\nboottime %lld %u\n",
                                 (long long) s->linux_.monotonic_secs,
                                 s->linux_.monotonic_nanosecs,
                                 (long long) s->linux_.boottime_secs,
                                 s->linux_.boottime_nanosecs);
                        r = write_file_at(AT_FDCWD, "/proc/self/timens_offsets",
                                          buf, 0);
                        if (r < 0)
                                return berr_set(err, r, "linux.timeOffsets");
                }
        }

        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return berr_set(err, errno, "create sync socket");
        c->sync_fd = sp[0];

        pid_t pid = (pid_t) syscall(SYS_clone, (unsigned long) flags | SIGCHLD,
                                    NULL, NULL, NULL, NULL);
        if (pid < 0) {
                int e = errno;
                close(sp[1]);
                return berr_set(err, e, "clone container process");
        }
        if (pid == 0) {
                close(sp[0]);
                /* Not dumpable while we run runtime code in the container's
                 * namespaces: its processes can't ptrace us or open our
                 * /proc entries (CVE-2019-5736 and kin). */
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                process_reset_signals();
                struct init_args a = {
                        .spec = s,
                        .id = c->id,
                        .rootfs = c->rootfs,
                        .sync_fd = sp[1],
                        .exec_listen_fd = c->listen_fd,
                        .auto_start = auto_start,
                        .console_fd = c->console_fd,
                        .new_userns = new_userns,
                        .new_cgroupns = new_cgroupns,
                        .new_netns = new_netns,
                        .no_pivot = co->no_pivot,
                        .no_new_keyring = co->no_new_keyring,
                        .preserve_fds = co->preserve_fds,
                        .cgroup_sources = c->cgroup_sources,
                        .mount_fds = c->mount_fds,
                        .seccomp = c->seccomp,
                };
                memcpy(a.ns_fds, c->ns_fds, sizeof(a.ns_fds));
                container_init(&a);
        }
        close(sp[1]);
        c->pid = pid;

        r = cgroup_enter(c->cg, pid, err);
        if (r < 0)
                return r;
        if (new_userns) {
                r = write_id_map(pid, "uid_map", s->linux_.uid_mappings,
                                 s->linux_.n_uid_mappings, err);
                if (r < 0)
                        return r;
                r = write_id_map(pid, "gid_map", s->linux_.gid_mappings,
                                 s->linux_.n_gid_mappings, err);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *sj = make_state_json(c, STATUS_CREATING);
        if (!sj)
                return -ENOMEM;
        r = sync_send(c->sync_fd, SYNC_GO, 0, sj, strlen(sj));
        if (r < 0)
                return berr_set(err, r, "start container process");

        for (;;) {
                enum sync_type t;
                int code = 0;
                _cleanup_free_ char *data = NULL;
                r = sync_recv(c->sync_fd, &t, &code, &data);
                if (r < 0 || (t == SYNC_ERROR)) {
                        if (r < 0) {
                                int status = 0;
                                waitpid(pid, &status, 0);
                                c->pid = 0;
                                return berr_setx(err, ECHILD,
                                                 "container process exited "
                                                 "during setup (status %d)",
                                                 status);
                        }
                        return berr_setx(err, code ? code : EIO, "%s", data);
                }
                if (t == SYNC_READY)
                        break;
                if (t == SYNC_SECCOMP) {
                        int lfd = -1;
                        r = fd_recv(c->sync_fd, &lfd, NULL, 0);
                        if (r < 0 || lfd < 0)
                                return berr_set(err, r < 0 ? r : EBADF,
                                                "receive seccomp listener");
                        r = send_seccomp_listener(c, lfd, sj, err);
                        close(lfd);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (t == SYNC_HOOKS) {
                        /* prestart hooks see the container as "created",
                         * as crun shows it to them (the namespaces exist,
                         * the process has not started). */
                        _cleanup_free_ char *created =
                                s->n_hooks[SPEC_HOOK_PRESTART]
                                        ? make_state_json(c, STATUS_CREATED)
                                        : NULL;
                        r = hooks_run(s, SPEC_HOOK_PRESTART,
                                      created ? created : sj, err);
                        if (r >= 0)
                                r = hooks_run(s, SPEC_HOOK_CREATE_RUNTIME, sj,
                                              err);
                        if (r < 0)
                                return r;
                        r = sync_send(c->sync_fd, SYNC_HOOKS_DONE, 0, NULL, 0);
                        if (r < 0)
                                return berr_set(err, r, "sync with container");
                }
        }

        r = save_state(o, c, pid, err);
        if (r < 0)
                return r;
        if (co->pid_file) {
                r = write_pid_file(co->pid_file, pid, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int container_create(const struct runtime_opts *o, const struct create_opts *co,
                     struct berr *err) {
        struct creation c;
        creation_init(&c);
        int r = prepare(o, co, &c, false, err);
        if (r >= 0)
                r = spawn(o, co, &c, -1, false, err);
        if (r < 0)
                creation_abort(&c);
        creation_release(&c);
        return r;
}

/* Connect to a created container's exec.sock and release it.  Returns 0
 * once the container's program has been executed. */
static int release_init(int dirfd, const char *id, struct berr *err) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "create socket");
        _cleanup_close_ int sock = fd;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/exec.sock",
                 dirfd);
        if (connect(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return berr_set(err, errno, "start container '%s'", id);
        /* From here on the container counts as started. */
        (void) unlinkat(dirfd, "exec.sock", 0);
        int r = sync_send(sock, SYNC_START, 0, NULL, 0);
        if (r < 0)
                return berr_set(err, r, "start container '%s'", id);
        enum sync_type t;
        int code = 0;
        _cleanup_free_ char *msg = NULL;
        r = sync_recv(sock, &t, &code, &msg);
        if (r == -ECONNRESET)
                return 0; /* closed on exec: the program is running */
        if (r < 0)
                return berr_set(err, r, "start container '%s'", id);
        if (t == SYNC_ERROR)
                return berr_setx(err, code ? code : EIO, "%s", msg);
        return 0;
}

/* `run`: after READY the init runs startContainer hooks and execs; the
 * sync socket closes on exec, or carries the reason it failed. */
static int wait_exec(int sync_fd, const char *id, struct berr *err) {
        enum sync_type t;
        int code = 0;
        _cleanup_free_ char *msg = NULL;
        int r = sync_recv(sync_fd, &t, &code, &msg);
        if (r == -ECONNRESET)
                return 0;
        if (r < 0)
                return berr_set(err, r, "start container '%s'", id);
        if (t == SYNC_ERROR)
                return berr_setx(err, code ? code : EIO, "%s", msg);
        return 0;
}

static int load(const struct runtime_opts *o, const char *id, int *ret_rootfd,
                int *ret_dirfd, struct container_state **ret_st,
                struct berr *err) {
        int r = state_check_id(id, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = state_open_root(o->root, false, err);
        if (rootfd < 0) {
                if (rootfd == -ENOENT) {
                        berr_clear(err);
                        return berr_setx(err, ENOENT,
                                         "container '%s' does not exist", id);
                }
                return rootfd;
        }
        _cleanup_close_ int dirfd = state_dir_open(rootfd, id, err);
        if (dirfd < 0)
                return dirfd;
        r = state_load(dirfd, id, ret_st, err);
        if (r < 0)
                return r;
        if (ret_rootfd)
                *ret_rootfd = TAKE_FD(rootfd);
        *ret_dirfd = TAKE_FD(dirfd);
        return 0;
}

static int load_spec(int dirfd, struct spec **ret, struct berr *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file_at(dirfd, "config.json", 16 << 20, &text, &len);
        if (r < 0)
                return berr_set(err, r, "read saved config");
        return spec_parse(text, len, ret, err);
}

/* poststart and poststop hooks: the runtime spec makes their failures
 * warnings, printed here because the container's fate is already set. */
static void warn_hook_failed(const struct berr *e, int code, void *ud) {
        (void) ud;
        fprintf(stderr, "berth-runtime: warning: %s\n", berr_message(e, code));
}

static void run_warning_hooks(int dirfd, const struct spec *known,
                              const struct container_state *st,
                              enum spec_hook_kind kind,
                              enum container_status status) {
        struct spec *loaded = NULL;
        const struct spec *s = known;
        if (!s) {
                if (load_spec(dirfd, &loaded, NULL) < 0)
                        return;
                s = loaded;
        }
        if (s->n_hooks[kind]) {
                _cleanup_free_ char *sj = state_to_json(st, status, false);
                hooks_run_each(s, kind, sj, warn_hook_failed, NULL);
        }
        spec_free(loaded);
}

static void run_poststart(int dirfd, const struct spec *known,
                          const struct container_state *st) {
        run_warning_hooks(dirfd, known, st, SPEC_HOOK_POSTSTART,
                          STATUS_RUNNING);
}

int container_start(const struct runtime_opts *o, const char *id,
                    struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        int r = load(o, id, NULL, &dirfd, &st, err);
        if (r < 0)
                return r;
        enum container_status s = state_status(dirfd, st);
        if (s != STATUS_CREATED) {
                r = berr_setx(err, EINVAL,
                              "cannot start container '%s': it is %s, not "
                              "created",
                              id, container_status_name(s));
                container_state_free(st);
                return r;
        }
        r = release_init(dirfd, id, err);
        if (r >= 0)
                run_poststart(dirfd, NULL, st);
        container_state_free(st);
        return r;
}

static int wait_pid_exit(pid_t pid, uint64_t start_time, int timeout_ms) {
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return errno == ESRCH ? 0 : -errno;
        uint64_t t;
        if (proc_start_time(pid, &t) < 0 || t != start_time) {
                close(pfd);
                return 0;
        }
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        close(pfd);
        return n > 0 ? 0 : -ETIMEDOUT;
}

/* `known`: the container's spec when the caller has it parsed already. */
static int do_delete(int rootfd, int dirfd, const struct spec *known,
                     struct container_state *st, struct berr *err) {
        struct cgroup *cg = NULL;
        int r = 0;
        if (st->cgroup_path && cgroup_open(st->cgroup_path, &cg, NULL) >= 0) {
                cgroup_kill_all(cg, SIGKILL);
        }
        if (st->pid <= 0 && st->creator_pid > 0) {
                /* Still creating (or killed while at it): stop the creator;
                 * its half-made init dies with it (parent-death signal). */
                uint64_t t;
                if (proc_start_time(st->creator_pid, &t) == 0 &&
                    t == st->creator_start_time &&
                    st->creator_pid != getpid()) {
                        int pfd = (int) syscall(SYS_pidfd_open, st->creator_pid,
                                                0);
                        if (pfd >= 0) {
                                syscall(SYS_pidfd_send_signal, pfd, SIGKILL,
                                        NULL, 0);
                                close(pfd);
                        }
                        wait_pid_exit(st->creator_pid, st->creator_start_time,
                                      5000);
                }
        }
        if (st->pid > 0) {
                uint64_t t;
                if (proc_start_time(st->pid, &t) == 0 &&
                    t == st->pid_start_time) {
                        int pfd = (int) syscall(SYS_pidfd_open, st->pid, 0);
                        if (pfd >= 0) {
                                syscall(SYS_pidfd_send_signal, pfd, SIGKILL,
                                        NULL, 0);
                                close(pfd);
                        }
                        wait_pid_exit(st->pid, st->pid_start_time, 5000);
                }
        }
        if (cg) {
                r = cgroup_destroy(cg, err);
                cgroup_free(cg);
                if (r < 0)
                        return r;
        }
        run_warning_hooks(dirfd, known, st, SPEC_HOOK_POSTSTOP, STATUS_STOPPED);
        r = state_dir_remove(rootfd, st->id);
        if (r < 0)
                return berr_set(err, r, "remove state of '%s'", st->id);
        return 0;
}

/* A state directory without a usable state.json: the remains of a create
 * that was killed before it finished.  Its processes and cgroups are found
 * through the saved config's cgroupsPath (or the default path). */
static int remove_leftovers(const struct runtime_opts *o, const char *id,
                            struct berr *err) {
        _cleanup_close_ int rootfd =
                open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return errno == ENOENT
                               ? 0
                               : berr_set(err, errno, "open state root '%s'",
                                          o->root);
        _cleanup_close_ int dirfd = openat(
                rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return errno == ENOENT
                               ? 0
                               : berr_set(err, errno, "open state of '%s'", id);
        struct spec *s = NULL;
        _cleanup_free_ char *path = NULL;
        if (load_spec(dirfd, &s, NULL) >= 0 && s->linux_.cgroups_path &&
            *s->linux_.cgroups_path)
                path = strdup(s->linux_.cgroups_path);
        else
                path = str_printf("/berth/%s", id);
        spec_free(s);
        struct cgroup *cg = NULL;
        if (path && cgroup_open(path, &cg, NULL) >= 0) {
                cgroup_kill_all(cg, SIGKILL);
                cgroup_destroy(cg, NULL);
                cgroup_free(cg);
        }
        int r = state_dir_remove(rootfd, id);
        if (r < 0)
                return berr_set(err, r, "remove state of '%s'", id);
        return 0;
}

int container_delete(const struct runtime_opts *o, const char *id, bool force,
                     struct berr *err) {
        _cleanup_close_ int rootfd = -1, dirfd = -1;
        struct container_state *st = NULL;
        int r = load(o, id, &rootfd, &dirfd, &st, err);
        if (r < 0 && force && (r == -ENOENT || r == -EINVAL) &&
            state_check_id(id, NULL) >= 0) {
                /* --force on a missing container is not an error (runc);
                 * on one whose create was killed half-way it removes what
                 * that create left. */
                berr_clear(err);
                return remove_leftovers(o, id, err);
        }
        if (r < 0)
                return r;
        enum container_status s = state_status(dirfd, st);
        if (!force && s != STATUS_STOPPED && s != STATUS_CREATED) {
                r = berr_setx(err, EBUSY,
                              "cannot delete container '%s' that is not "
                              "stopped: %s",
                              id, container_status_name(s));
                container_state_free(st);
                return r;
        }
        r = do_delete(rootfd, dirfd, NULL, st, err);
        container_state_free(st);
        return r;
}

int container_run(const struct runtime_opts *o, const struct create_opts *co,
                  bool detach, int *ret_status, struct berr *err) {
        struct creation c;
        creation_init(&c);
        int r = prepare(o, co, &c, !detach, err);
        if (r < 0) {
                creation_release(&c);
                return r;
        }
        /* A foreground terminal without a console socket: we hold the
         * master ourselves and copy it to our stdio. */
        int sp[2] = {-1, -1};
        bool own_tty = c.spec->process->terminal && !co->console_socket;
        if (own_tty &&
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                r = berr_set(err, errno, "create console socket pair");
                creation_release(&c);
                return r;
        }
        /* Signals arriving while we set up are forwarded later, not lost. */
        sigset_t all, old;
        sigfillset(&all);
        sigdelset(&all, SIGSEGV);
        sigdelset(&all, SIGBUS);
        sigdelset(&all, SIGILL);
        sigdelset(&all, SIGFPE);
        if (!detach)
                sigprocmask(SIG_BLOCK, &all, &old);
        r = spawn(o, co, &c, own_tty ? sp[1] : -1, true, err);
        if (own_tty && c.console_fd != sp[1])
                close(sp[1]);
        if (r >= 0)
                r = wait_exec(c.sync_fd, co->id, err);
        if (r < 0) {
                creation_abort(&c);
                creation_release(&c);
                if (own_tty)
                        close(sp[0]);
                if (!detach)
                        sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        if (c.spec->n_hooks[SPEC_HOOK_POSTSTART]) {
                struct container_state *st = NULL;
                if (state_load(c.dirfd, co->id, &st, NULL) >= 0) {
                        run_poststart(c.dirfd, c.spec, st);
                        container_state_free(st);
                }
        }
        int master = -1;
        if (own_tty) {
                /* The container's init sent the pty master during setup. */
                fd_recv(sp[0], &master, NULL, 0);
                close(sp[0]);
        }
        if (detach) {
                if (master >= 0)
                        close(master);
                creation_release(&c);
                if (ret_status)
                        *ret_status = 0;
                return 0;
        }

        int status = 0;
        terminal_wait_child(c.pid, master, &all, &status);
        if (master >= 0)
                close(master);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (ret_status)
                *ret_status = status;
        /* The init is gone; remove what is left (other processes of the
         * container, cgroups, state). */
        struct container_state *fin = NULL;
        r = state_load(c.dirfd, co->id, &fin, err);
        if (r >= 0) {
                r = do_delete(c.rootfd, c.dirfd, c.spec, fin, err);
                container_state_free(fin);
        }
        c.pid = 0;
        creation_release(&c);
        return r;
}

int container_state_json(const struct runtime_opts *o, const char *id,
                         char **ret, struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        int r = load(o, id, NULL, &dirfd, &st, err);
        if (r < 0)
                return r;
        *ret = state_to_json(st, state_status(dirfd, st), true);
        container_state_free(st);
        return *ret ? 0 : -ENOMEM;
}

void container_info_free(struct container_info *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].id);
                free(v[i].status);
                free(v[i].bundle);
                free(v[i].created);
                free(v[i].owner);
        }
        free(v);
}

int container_list(const struct runtime_opts *o, struct container_info **ret,
                   size_t *ret_n, struct berr *err) {
        *ret = NULL;
        *ret_n = 0;
        int rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return errno == ENOENT
                               ? 0
                               : berr_set(err, errno, "open state root '%s'",
                                          o->root);
        DIR *d = fdopendir(rootfd);
        if (!d) {
                close(rootfd);
                return -errno;
        }
        struct container_info *v = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                int dfd =
                        openat(dirfd(d), de->d_name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                struct container_state *st = NULL;
                if (state_load(dfd, de->d_name, &st, NULL) < 0) {
                        close(dfd);
                        continue;
                }
                enum container_status s = state_status(dfd, st);
                close(dfd);
                struct container_info *nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        container_state_free(st);
                        break;
                }
                v = nv;
                v[n].id = strdup(st->id);
                v[n].pid = s == STATUS_STOPPED ? 0 : st->pid;
                v[n].status = strdup(container_status_name(s));
                v[n].bundle = strdup(st->bundle ? st->bundle : "");
                v[n].created = strdup(st->created ? st->created : "");
                v[n].owner = strdup(st->owner ? st->owner : "");
                n++;
                container_state_free(st);
        }
        closedir(d);
        *ret = v;
        *ret_n = n;
        return 0;
}

int container_kill(const struct runtime_opts *o, const char *id, int sig,
                   bool all, struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        int r = load(o, id, NULL, &dirfd, &st, err);
        if (r < 0)
                return r;
        enum container_status s = state_status(dirfd, st);
        if (s == STATUS_STOPPED && !all) {
                r = berr_setx(err, ESRCH, "container '%s' is not running", id);
                container_state_free(st);
                return r;
        }
        if (all && st->cgroup_path) {
                struct cgroup *cg = NULL;
                r = cgroup_open(st->cgroup_path, &cg, err);
                if (r >= 0) {
                        r = cgroup_kill_all(cg, sig);
                        if (r < 0)
                                berr_set(err, r, "signal processes of '%s'",
                                         id);
                        cgroup_free(cg);
                }
                container_state_free(st);
                return r;
        }
        /* A pidfd pins the process we checked, so a recycled pid can't
         * receive the signal. */
        int pfd = (int) syscall(SYS_pidfd_open, st->pid, 0);
        if (pfd < 0) {
                r = berr_set(err, errno, "signal container '%s'", id);
                container_state_free(st);
                return r;
        }
        uint64_t t;
        if (proc_start_time(st->pid, &t) < 0 || t != st->pid_start_time)
                r = berr_setx(err, ESRCH, "container '%s' is not running", id);
        else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
                r = berr_set(err, errno, "signal %d to container '%s'", sig,
                             id);
        close(pfd);
        container_state_free(st);
        return r;
}

/* What pause, resume, update and ps do once the container's cgroup is
 * open. */
struct cg_op {
        enum { CG_OP_PAUSE, CG_OP_RESUME, CG_OP_UPDATE, CG_OP_PIDS } kind;
        const struct spec_resources *res;
        pid_t **ret_pids;
        size_t *ret_n;
};

static int check_status(const char *id, enum container_status s,
                        const struct cg_op *op, struct berr *err) {
        switch (op->kind) {
        case CG_OP_PAUSE:
                if (s != STATUS_RUNNING && s != STATUS_CREATED)
                        return berr_setx(err, EINVAL,
                                         "cannot pause container '%s': it "
                                         "is %s",
                                         id, container_status_name(s));
                break;
        case CG_OP_RESUME:
                if (s != STATUS_PAUSED)
                        return berr_setx(err, EINVAL,
                                         "cannot resume container '%s': it "
                                         "is %s, not paused",
                                         id, container_status_name(s));
                break;
        case CG_OP_UPDATE:
                if (s == STATUS_STOPPED)
                        return berr_setx(err, EINVAL,
                                         "cannot update container '%s': it "
                                         "is stopped",
                                         id);
                break;
        case CG_OP_PIDS:
                break;
        }
        return 0;
}

static int on_cgroup(const struct runtime_opts *o, const char *id,
                     const struct cg_op *op, struct berr *err) {
        _cleanup_close_ int dirfd = -1;
        struct container_state *st = NULL;
        int r = load(o, id, NULL, &dirfd, &st, err);
        if (r < 0)
                return r;
        r = check_status(id, state_status(dirfd, st), op, err);
        struct cgroup *cg = NULL;
        if (r >= 0)
                r = cgroup_open(st->cgroup_path, &cg, err);
        if (r >= 0) {
                switch (op->kind) {
                case CG_OP_PAUSE:
                case CG_OP_RESUME:
                        r = cgroup_freeze(cg, op->kind == CG_OP_PAUSE, err);
                        break;
                case CG_OP_UPDATE:
                        r = cgroup_apply(cg, op->res, err);
                        break;
                case CG_OP_PIDS:
                        r = cgroup_pids(cg, op->ret_pids, op->ret_n);
                        if (r < 0)
                                berr_set(err, r, "list processes of '%s'", id);
                        break;
                }
        }
        cgroup_free(cg);
        container_state_free(st);
        return r;
}

int container_pause(const struct runtime_opts *o, const char *id, bool pause,
                    struct berr *err) {
        struct cg_op op = {.kind = pause ? CG_OP_PAUSE : CG_OP_RESUME};
        return on_cgroup(o, id, &op, err);
}

int container_update(const struct runtime_opts *o, const char *id,
                     const struct spec_resources *res, struct berr *err) {
        struct cg_op op = {.kind = CG_OP_UPDATE, .res = res};
        return on_cgroup(o, id, &op, err);
}

int container_pids(const struct runtime_opts *o, const char *id, pid_t **ret,
                   size_t *ret_n, struct berr *err) {
        struct cg_op op = {.kind = CG_OP_PIDS, .ret_pids = ret, .ret_n = ret_n};
        return on_cgroup(o, id, &op, err);
}
