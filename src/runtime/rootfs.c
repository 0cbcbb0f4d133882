#include "rootfs.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <signal.h>
#include <sched.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct mount_attr_s {
        uint64_t attr_set;
        uint64_t attr_clr;
        uint64_t propagation;
        uint64_t userns_fd;
};

static int sys_openat2(int dirfd, const char *path, int flags,
                       uint64_t resolve) {
        struct open_how how = {.flags = (uint64_t) flags | O_CLOEXEC,
                               .resolve = resolve};
        int fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

int rootfs_open_in_root(int rootfd, const char *path, int flags) {
        return sys_openat2(rootfd, path, flags,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

static void fdpath(char buf[static 32], int fd) {
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int rootfs_mkdir_in_root(int rootfd, const char *path, bool file,
                         struct berr *err) {
        int fd = rootfs_open_in_root(rootfd, path, O_PATH);
        if (fd >= 0)
                return fd;
        if (fd != -ENOENT)
                return berr_set(err, fd, "open '%s' in the rootfs", path);
        /* Walk from the root, creating what is missing.  Each step opens
         * the next component relative to the previous one, still confined
         * to the root, so a symlink component resolves inside the rootfs
         * and never outside it. */
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        char *save = NULL;
        char *part = strtok_r(copy, "/", &save);
        char built[PATH_MAX] = "";
        while (part) {
                char *next = strtok_r(NULL, "/", &save);
                bool last = next == NULL;
                size_t bl = strlen(built);
                snprintf(built + bl, sizeof(built) - bl, "/%s", part);
                int nfd = rootfs_open_in_root(rootfd, built, O_PATH);
                if (nfd == -ENOENT) {
                        int r;
                        if (last && file) {
                                r = openat(cur, part,
                                           O_CREAT | O_EXCL | O_WRONLY |
                                                   O_NOFOLLOW | O_CLOEXEC,
                                           0644);
                                if (r >= 0)
                                        close(r);
                        } else
                                r = mkdirat(cur, part, 0755);
                        if (r < 0 && errno != EEXIST)
                                return berr_set(err, errno,
                                                "create '%s' in the rootfs",
                                                built);
                        nfd = rootfs_open_in_root(rootfd, built, O_PATH);
                }
                if (nfd < 0)
                        return berr_set(err, nfd, "open '%s' in the rootfs",
                                        built);
                close(cur);
                cur = nfd;
                part = next;
        }
        return TAKE_FD(cur);
}

/* Mount flags we can see on an existing mount, to keep the ones a user
 * namespace may not clear (they are locked when the mount was made by a
 * more privileged namespace). */
static unsigned long locked_flags(int fd) {
        struct statvfs sv;
        if (fstatvfs(fd, &sv) < 0)
                return 0;
        unsigned long f = 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY)
                f |= MS_RDONLY;
        return f;
}

static const unsigned long prop_flags[_SPEC_PROP_MAX] = {
        [SPEC_PROP_NONE] = 0,
        [SPEC_PROP_PRIVATE] = MS_PRIVATE,
        [SPEC_PROP_RPRIVATE] = MS_PRIVATE | MS_REC,
        [SPEC_PROP_SHARED] = MS_SHARED,
        [SPEC_PROP_RSHARED] = MS_SHARED | MS_REC,
        [SPEC_PROP_SLAVE] = MS_SLAVE,
        [SPEC_PROP_RSLAVE] = MS_SLAVE | MS_REC,
        [SPEC_PROP_UNBINDABLE] = MS_UNBINDABLE,
        [SPEC_PROP_RUNBINDABLE] = MS_UNBINDABLE | MS_REC,
};

static int check_not_symlink(int rootfd, const char *dest, struct berr *err) {
        int fd = sys_openat2(rootfd, dest, O_PATH | O_NOFOLLOW,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return berr_set(err, fd, "open mount target '%s'", dest);
        struct stat st;
        int r = fstat(fd, &st);
        close(fd);
        if (r < 0)
                return berr_set(err, errno, "stat mount target '%s'", dest);
        if (S_ISLNK(st.st_mode))
                return berr_setx(err, ELOOP,
                                 "mount target '%s' is a symlink in the "
                                 "rootfs; refusing to mount a special "
                                 "filesystem through it",
                                 dest);
        if (!S_ISDIR(st.st_mode))
                return berr_setx(err, ENOTDIR,
                                 "mount target '%s' is not a directory", dest);
        return 0;
}

static int mount_cgroup(const struct rootfs_ctx *c, int rootfd,
                        const struct spec_mount *m, int target,
                        struct berr *err) {
        char tp[32];
        fdpath(tp, target);
        unsigned long flags =
                (m->flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        bool ro = m->flags & MS_RDONLY;
        char **src = c->cgroup_sources;
        /* Pure v2 host: one entry with an empty name. */
        if (src && src[0] && src[0][0] == '\t' && !src[1]) {
                if (mount("cgroup2", tp, "cgroup2",
                          flags | (ro ? MS_RDONLY : 0), NULL) == 0)
                        return 0;
                /* Without a cgroup namespace, bind the group instead. */
                if (mount(src[0] + 1, tp, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return berr_set(err, errno, "bind cgroup '%s' on '%s'",
                                        src[0] + 1, m->destination);
                _cleanup_close_ int again =
                        rootfs_open_in_root(rootfd, m->destination, O_PATH);
                if (again < 0)
                        return berr_set(err, again, "reopen '%s'",
                                        m->destination);
                fdpath(tp, again);
                if (mount(NULL, tp, NULL,
                          MS_REMOUNT | MS_BIND | flags | (ro ? MS_RDONLY : 0),
                          NULL) < 0)
                        return berr_set(err, errno, "remount cgroup '%s'",
                                        m->destination);
                return 0;
        }
        /* v1/hybrid: a tmpfs with one bind mount per hierarchy, each of
         * them the container's own group (as runc does). */
        if (mount("tmpfs", tp, "tmpfs", flags, "mode=755") < 0)
                return berr_set(err, errno, "mount tmpfs for cgroups on '%s'",
                                m->destination);
        _cleanup_close_ int base = rootfs_open_in_root(rootfd, m->destination,
                                                       O_PATH | O_DIRECTORY);
        if (base < 0)
                return berr_set(err, base, "reopen '%s'", m->destination);
        for (size_t i = 0; src && src[i]; i++) {
                char *tab = strchr(src[i], '\t');
                if (!tab)
                        continue;
                _cleanup_free_ char *name =
                        strndup(src[i], (size_t) (tab - src[i]));
                if (!name)
                        return -ENOMEM;
                const char *host = tab + 1;
                _cleanup_free_ char *dest =
                        str_printf("%s/%s", m->destination, name);
                if (!dest)
                        return -ENOMEM;
                _cleanup_close_ int t =
                        rootfs_mkdir_in_root(rootfd, dest, false, err);
                if (t < 0)
                        return t;
                char tp2[32];
                fdpath(tp2, t);
                /* In our own cgroup namespace a fresh cgroupfs mount shows
                 * the container's group as its root: one mount instead of
                 * a bind plus a read-only remount. */
                bool mounted = false;
                if (c->cgroupns) {
                        bool v2 = !strcmp(name, "unified");
                        const char *opts = v2 ? NULL
                                           : !strcmp(name, "systemd")
                                                   ? "none,name=systemd"
                                                   : name;
                        mounted =
                                mount("cgroup", tp2, v2 ? "cgroup2" : "cgroup",
                                      flags | (ro ? MS_RDONLY : 0), opts) == 0;
                }
                if (!mounted) {
                        if (mount(host, tp2, NULL, MS_BIND | MS_REC, NULL) < 0)
                                return berr_set(err, errno,
                                                "bind cgroup '%s' on '%s'",
                                                host, dest);
                        _cleanup_close_ int again =
                                rootfs_open_in_root(rootfd, dest, O_PATH);
                        if (again < 0)
                                return berr_set(err, again, "reopen '%s'",
                                                dest);
                        fdpath(tp2, again);
                        if (mount(NULL, tp2, NULL,
                                  MS_REMOUNT | MS_BIND | flags |
                                          (ro ? MS_RDONLY : 0),
                                  NULL) < 0)
                                return berr_set(err, errno,
                                                "remount cgroup '%s'", dest);
                }
                /* Co-mounted controllers ("cpu,cpuacct") get the usual
                 * per-controller symlinks. */
                if (strchr(name, ',')) {
                        char *save = NULL;
                        for (char *p = strtok_r(name, ",", &save); p;
                             p = strtok_r(NULL, ",", &save)) {
                                char target_name[256];
                                snprintf(target_name, sizeof(target_name),
                                         "%.*s", (int) (tab - src[i]), src[i]);
                                (void) symlinkat(target_name, base, p);
                        }
                }
        }
        if (ro) {
                char bp[32];
                fdpath(bp, base);
                _cleanup_close_ int again =
                        rootfs_open_in_root(rootfd, m->destination, O_PATH);
                if (again >= 0) {
                        fdpath(bp, again);
                        if (mount(NULL, bp, NULL,
                                  MS_REMOUNT | MS_RDONLY | flags, NULL) < 0)
                                return berr_set(err, errno,
                                                "remount '%s' read-only",
                                                m->destination);
                }
        }
        return 0;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

int rootfs_write_id_map(pid_t pid, const char *file, const struct spec_idmap *m,
                        size_t n) {
        char buf[4096];
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n",
                                 m[i].container_id, m[i].host_id, m[i].size);
                if (w < 0 || (size_t) w >= sizeof(buf) - off)
                        return -E2BIG;
                off += (size_t) w;
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        return write_file_at(AT_FDCWD, path, buf, 0);
}

/* A user namespace carrying the given mappings, held only by the returned
 * fd: a child enters it and waits, we write its maps, open its
 * /proc/PID/ns/user, then end the child. */
static int userns_with_maps(const struct spec_idmap *u, size_t nu,
                            const struct spec_idmap *g, size_t ng) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL,
                                    NULL, NULL, NULL);
        if (pid < 0) {
                int e = errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return -e;
        }
        if (pid == 0) {
                char ch;
                close(pipefd[1]);
                (void) !read(pipefd[0], &ch, 1);
                _exit(0);
        }
        close(pipefd[0]);
        int r = rootfs_write_id_map(pid, "uid_map", u, nu);
        if (r >= 0)
                r = rootfs_write_id_map(pid, "gid_map", g, ng);
        int fd = -1;
        if (r >= 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
        }
        close(pipefd[1]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r < 0 ? r : fd;
}

/* Why an idmapped mount of `fd` may fail: which filesystem it is on and
 * the kernel that taught that filesystem idmapped mounts. */
static void idmap_support_hint(int fd, char *buf, size_t size) {
        static const struct {
                unsigned long magic;
                const char *name, *since;
        } known[] = {
                {EXT4_SUPER_MAGIC, "ext4", "5.12"},
                {XFS_SUPER_MAGIC, "xfs", "5.12"},
                {MSDOS_SUPER_MAGIC, "fat", "5.12"},
                {BTRFS_SUPER_MAGIC, "btrfs", "5.15"},
                {F2FS_SUPER_MAGIC, "f2fs", "5.18"},
                {OVERLAYFS_SUPER_MAGIC, "overlayfs", "5.19"},
                {TMPFS_MAGIC, "tmpfs", "6.3"},
                {CEPH_SUPER_MAGIC, "cephfs", "6.7"},
        };
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0) {
                snprintf(buf, size,
                         "the filesystem may not support idmapped mounts");
                return;
        }
        for (size_t k = 0; k < ELEMENTSOF(known); k++)
                if ((unsigned long) sf.f_type == known[k].magic) {
                        snprintf(buf, size,
                                 "it is on %s, which supports idmapped "
                                 "mounts since Linux %s",
                                 known[k].name, known[k].since);
                        return;
                }
        snprintf(buf, size,
                 "its filesystem (type 0x%lx) does not support idmapped "
                 "mounts on this kernel",
                 (unsigned long) sf.f_type);
}

int rootfs_make_idmapped_mounts(const struct spec *s, int **ret,
                                struct berr *err) {
        *ret = NULL;
        bool any = false;
        for (size_t i = 0; i < s->n_mounts; i++)
                any |= s->mounts[i].idmap;
        if (!any)
                return 0;
        int *fds = malloc(s->n_mounts * sizeof(int));
        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_mounts; i++)
                fds[i] = -1;
        int r = 0;
        for (size_t i = 0; i < s->n_mounts && r >= 0; i++) {
                const struct spec_mount *m = &s->mounts[i];
                if (!m->idmap)
                        continue;
                const struct spec_idmap *u = m->uid_mappings,
                                        *g = m->gid_mappings;
                size_t nu = m->n_uid_mappings, ng = m->n_gid_mappings;
                if (!nu) {
                        u = s->linux_.uid_mappings;
                        nu = s->linux_.n_uid_mappings;
                }
                if (!ng) {
                        g = s->linux_.gid_mappings;
                        ng = s->linux_.n_gid_mappings;
                }
                if (!nu || !ng || !m->source) {
                        r = berr_setx(err, EINVAL,
                                      "mounts[%zu]: an idmapped mount of "
                                      "'%s' needs a source and uid/gid "
                                      "mappings (its own or the container's)",
                                      i, m->destination);
                        break;
                }
                int ns = userns_with_maps(u, nu, g, ng);
                if (ns < 0) {
                        r = berr_set(err, ns,
                                     "mounts[%zu]: create user namespace for "
                                     "the idmapped mount of '%s'",
                                     i, m->source);
                        break;
                }
                int tree = (int) syscall(
                        SYS_open_tree, AT_FDCWD, m->source,
                        OPEN_TREE_CLONE | O_CLOEXEC |
                                (m->recursive ? AT_RECURSIVE : 0));
                if (tree < 0) {
                        r = berr_set(err, errno, "mounts[%zu]: clone '%s'", i,
                                     m->source);
                        close(ns);
                        break;
                }
                struct mount_attr_s a = {.attr_set = MOUNT_ATTR_IDMAP,
                                         .userns_fd = (uint64_t) ns};
                if (syscall(SYS_mount_setattr, tree, "",
                            AT_EMPTY_PATH | (m->recursive ? AT_RECURSIVE : 0),
                            &a, sizeof(a)) < 0) {
                        int e = errno;
                        char why[160];
                        idmap_support_hint(tree, why, sizeof(why));
                        r = berr_set(err, e, "mounts[%zu]: id-map '%s' (%s)", i,
                                     m->source, why);
                        close(tree);
                        close(ns);
                        break;
                }
                close(ns);
                fds[i] = tree;
        }
        if (r < 0) {
                for (size_t i = 0; i < s->n_mounts; i++)
                        if (fds[i] >= 0)
                                close(fds[i]);
                free(fds);
                return r;
        }
        *ret = fds;
        return 0;
}

static int mount_one(const struct rootfs_ctx *c, int rootfd, size_t index,
                     const struct spec_mount *m, struct berr *err) {
        const char *type = m->type;
        bool is_bind = m->bind || (type && !strcmp(type, "bind"));
        if (!is_bind && type &&
            (!strcmp(type, "proc") || !strcmp(type, "sysfs"))) {
                int r = check_not_symlink(rootfd, m->destination, err);
                if (r < 0)
                        return r;
        }
        bool src_is_file = false;
        if (is_bind) {
                struct stat st;
                if (!m->source || stat(m->source, &st) < 0)
                        return berr_set(err, m->source ? errno : EINVAL,
                                        "bind mount source '%s' for '%s'",
                                        m->source ? m->source : "",
                                        m->destination);
                src_is_file = !S_ISDIR(st.st_mode);
        }
        _cleanup_close_ int target =
                rootfs_mkdir_in_root(rootfd, m->destination, src_is_file, err);
        if (target < 0)
                return target;
        char tp[32];
        fdpath(tp, target);

        if (type && !strcmp(type, "cgroup") && !is_bind)
                return mount_cgroup(c, rootfd, m, target, err);

        int premade = c->mount_fds ? c->mount_fds[index] : -1;
        if (premade >= 0) {
                /* Attach the idmapped tree the runtime prepared. */
                if (syscall(SYS_move_mount, premade, "", target, "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
                    0)
                        return berr_set(err, errno,
                                        "attach idmapped mount of '%s' on "
                                        "'%s'",
                                        m->source, m->destination);
                is_bind = true;
        }
        if (is_bind) {
                unsigned long bflags = MS_BIND | (m->recursive ? MS_REC : 0);
                if (premade < 0 && mount(m->source, tp, NULL, bflags, NULL) < 0)
                        return berr_set(err, errno, "bind mount '%s' on '%s'",
                                        m->source, m->destination);
                _cleanup_close_ int again =
                        rootfs_open_in_root(rootfd, m->destination, O_PATH);
                if (again < 0)
                        return berr_set(err, again, "reopen '%s'",
                                        m->destination);
                fdpath(tp, again);
                unsigned long extra =
                        m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
                if (extra) {
                        unsigned long keep =
                                c->in_userns ? locked_flags(again) : 0;
                        keep &= ~m->clear_flags;
                        if (mount(NULL, tp, NULL,
                                  MS_REMOUNT | MS_BIND | extra | keep,
                                  NULL) < 0)
                                return berr_set(err, errno,
                                                "remount '%s' with its "
                                                "options",
                                                m->destination);
                }
                if (m->attr_set || m->attr_clr) {
                        struct mount_attr_s a = {.attr_set = m->attr_set,
                                                 .attr_clr = m->attr_clr};
                        if (syscall(SYS_mount_setattr, again, "",
                                    AT_EMPTY_PATH | AT_RECURSIVE, &a,
                                    sizeof(a)) < 0)
                                return berr_set(err, errno,
                                                "set recursive attributes on "
                                                "'%s'",
                                                m->destination);
                }
                if (m->propagation != SPEC_PROP_NONE &&
                    mount(NULL, tp, NULL, prop_flags[m->propagation], NULL) < 0)
                        return berr_set(err, errno, "set propagation of '%s'",
                                        m->destination);
                return 0;
        }

        unsigned long flags = m->flags & ~MS_REMOUNT;
        const char *src = m->source ? m->source : (type ? type : "none");
        if (mount(src, tp, type, flags, m->data) < 0) {
                int e = errno;
                /* sysfs can't be mounted without owning the network
                 * namespace; fall back to a read-only bind of the host's
                 * (what runc does for --net=host in a user namespace). */
                if (type && !strcmp(type, "sysfs") &&
                    (e == EPERM || e == EBUSY)) {
                        if (mount("/sys", tp, NULL, MS_BIND | MS_REC, NULL) ==
                            0)
                                return 0;
                }
                return berr_set(err, e, "mount '%s' (type %s) on '%s'", src,
                                type ? type : "none", m->destination);
        }
        if (m->propagation != SPEC_PROP_NONE) {
                _cleanup_close_ int again =
                        rootfs_open_in_root(rootfd, m->destination, O_PATH);
                if (again >= 0) {
                        fdpath(tp, again);
                        if (mount(NULL, tp, NULL, prop_flags[m->propagation],
                                  NULL) < 0)
                                return berr_set(err, errno,
                                                "set propagation of '%s'",
                                                m->destination);
                }
        }
        return 0;
}

struct default_dev {
        const char *path;
        unsigned major, minor;
};

static const struct default_dev default_devs[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static int make_device(const struct rootfs_ctx *c, int rootfd, const char *path,
                       char type, unsigned major, unsigned minor, mode_t mode,
                       uid_t uid, gid_t gid, struct berr *err) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return berr_setx(err, EINVAL, "invalid device path '%s'", path);
        *slash = '\0';
        const char *name = slash + 1;
        _cleanup_close_ int dfd =
                rootfs_mkdir_in_root(rootfd, *dir ? dir : "/", false, err);
        if (dfd < 0)
                return dfd;
        /* O_PATH dir fd can't be used with mknodat; reopen as directory. */
        char dp[32];
        fdpath(dp, dfd);
        _cleanup_close_ int dir_fd =
                open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return berr_set(err, errno, "open '%s'", dir);
        (void) unlinkat(dir_fd, name, 0);
        if (!c->in_userns && type != 'p') {
                mode_t kind = type == 'b' ? S_IFBLK : S_IFCHR;
                if (mknodat(dir_fd, name, kind | (mode & 07777),
                            makedev(major, minor)) < 0)
                        return berr_set(err, errno, "create device '%s'", path);
        } else if (type == 'p') {
                if (mkfifoat(dir_fd, name, mode & 07777) < 0)
                        return berr_set(err, errno, "create fifo '%s'", path);
        } else {
                /* In a user namespace mknod is refused: bind the host's
                 * node onto an empty file instead. */
                int f = openat(dir_fd, name,
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
                                       O_CLOEXEC,
                               0644);
                if (f < 0)
                        return berr_set(err, errno, "create '%s'", path);
                char fp[32];
                fdpath(fp, f);
                int r = mount(path, fp, NULL, MS_BIND, NULL);
                int e = errno;
                close(f);
                if (r < 0)
                        return berr_set(err, e, "bind host device '%s'", path);
                return 0;
        }
        if (fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return berr_set(err, errno, "chown device '%s'", path);
        if (fchmodat(dir_fd, name, mode & 07777, 0) < 0)
                return berr_set(err, errno, "chmod device '%s'", path);
        return 0;
}

static bool spec_has_device(const struct spec *s, const char *path) {
        for (size_t i = 0; i < s->linux_.n_devices; i++)
                if (!strcmp(s->linux_.devices[i].path, path))
                        return true;
        return false;
}

static bool dev_is_mounted(const struct spec *s) {
        for (size_t i = 0; i < s->n_mounts; i++)
                if (!strcmp(s->mounts[i].destination, "/dev") &&
                    !s->mounts[i].bind)
                        return true;
        return false;
}

static int setup_dev(const struct rootfs_ctx *c, int rootfd, struct berr *err) {
        const struct spec *s = c->spec;
        bool own_dev = dev_is_mounted(s);
        int r;
        if (own_dev) {
                for (size_t i = 0; i < ELEMENTSOF(default_devs); i++) {
                        if (spec_has_device(s, default_devs[i].path))
                                continue;
                        r = make_device(c, rootfd, default_devs[i].path, 'c',
                                        default_devs[i].major,
                                        default_devs[i].minor, 0666, 0, 0, err);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < s->linux_.n_devices; i++) {
                const struct spec_device *d = &s->linux_.devices[i];
                r = make_device(
                        c, rootfd, d->path, d->type == 'u' ? 'c' : d->type,
                        (unsigned) d->major, (unsigned) d->minor,
                        d->has_file_mode ? d->file_mode : 0666,
                        d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, err);
                if (r < 0)
                        return r;
        }
        if (!own_dev)
                return 0;
        static const char *const links[][2] = {
                {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                {"pts/ptmx", "ptmx"},
        };
        _cleanup_close_ int dpath =
                rootfs_open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
        if (dpath < 0)
                return berr_set(err, dpath, "open '/dev' in the rootfs");
        char dp[32];
        fdpath(dp, dpath);
        _cleanup_close_ int dfd = open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berr_set(err, errno, "open '/dev'");
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                if (symlinkat(links[i][0], dfd, links[i][1]) < 0 &&
                    errno != EEXIST)
                        return berr_set(err, errno, "create '/dev/%s'",
                                        links[i][1]);
        }
        return 0;
}

int rootfs_prepare(const struct rootfs_ctx *c, struct berr *err) {
        const struct spec *s = c->spec;
        /* Our copy of the host's mount tree must not propagate anything
         * back: make it a slave (default) or private before touching it. */
        unsigned long prop = MS_SLAVE | MS_REC;
        if (s->linux_.rootfs_propagation == SPEC_PROP_PRIVATE ||
            s->linux_.rootfs_propagation == SPEC_PROP_RPRIVATE)
                prop = MS_PRIVATE | MS_REC;
        if (mount(NULL, "/", NULL, prop, NULL) < 0)
                return berr_set(err, errno, "make '/' a slave mount");
        /* pivot_root needs the new root to be a mount point. */
        if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return berr_set(err, errno, "bind rootfs '%s' onto itself",
                                c->rootfs);
        _cleanup_close_ int rootfd =
                open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berr_set(err, errno, "open rootfs '%s'", c->rootfs);
        for (size_t i = 0; i < s->n_mounts; i++) {
                int r = mount_one(c, rootfd, i, &s->mounts[i], err);
                if (r < 0)
                        return r;
        }
        return setup_dev(c, rootfd, err);
}

int rootfs_pivot(const char *rootfs, bool no_pivot, struct berr *err) {
        if (chdir(rootfs) < 0)
                return berr_set(err, errno, "chdir to rootfs '%s'", rootfs);
        if (no_pivot) {
                if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                        return berr_set(err, errno, "move rootfs '%s' to '/'",
                                        rootfs);
                if (chroot(".") < 0)
                        return berr_set(err, errno, "chroot to '%s'", rootfs);
                if (chdir("/") < 0)
                        return berr_set(err, errno, "chdir to '/'");
                return 0;
        }
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching "." then drops the old root without needing a
         * directory for it inside the container. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return berr_set(err, errno, "pivot_root to '%s'", rootfs);
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return berr_set(err, errno, "make the old root a slave");
        if (umount2(".", MNT_DETACH) < 0)
                return berr_set(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return berr_set(err, errno, "chdir to '/'");
        return 0;
}

static int write_sysctls(const struct spec *s, struct berr *err) {
        if (s->linux_.n_sysctl == 0)
                return 0;
        _cleanup_close_ int procsys = open(
                "/proc/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (procsys < 0)
                return berr_set(err, errno, "open '/proc/sys' for sysctls");
        struct statfs sf;
        if (fstatfs(procsys, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return berr_setx(err, EINVAL,
                                 "'/proc/sys' in the container is not procfs");
        for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
                const char *key = s->linux_.sysctl[i].key;
                char rel[PATH_MAX];
                size_t n = strlen(key);
                if (n == 0 || n >= sizeof(rel) || strstr(key, "..") ||
                    key[0] == '/' || key[0] == '.')
                        return berr_setx(err, EINVAL,
                                         "linux.sysctl: invalid key '%s'", key);
                for (size_t j = 0; j <= n; j++)
                        rel[j] = key[j] == '.' ? '/' : key[j];
                int fd = sys_openat2(procsys, rel, O_WRONLY,
                                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                             RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        return berr_set(err, fd, "linux.sysctl: open '%s'",
                                        key);
                const char *v = s->linux_.sysctl[i].value;
                ssize_t w = write(fd, v, strlen(v));
                int e = errno;
                close(fd);
                if (w < 0)
                        return berr_set(err, e,
                                        "linux.sysctl: write '%s' to '%s'", v,
                                        key);
        }
        return 0;
}

/* The container's /dev/null, verified to be the real character device
 * 1:3 (a container sharing /dev could have replaced it with a symlink or
 * a file to redirect our bind mount). */
static int open_dev_null(struct berr *err) {
        int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno, "open '/dev/null' for masking");
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
            st.st_rdev != makedev(1, 3)) {
                close(fd);
                return berr_setx(err, EPERM,
                                 "'/dev/null' in the container is not the "
                                 "null device; refusing to mask with it");
        }
        return fd;
}

static int mask_paths(const struct spec *s, struct berr *err) {
        if (!s->linux_.masked_paths || !s->linux_.masked_paths[0])
                return 0;
        _cleanup_close_ int null = -1;
        for (char **p = s->linux_.masked_paths; *p; p++) {
                int fd = sys_openat2(AT_FDCWD, *p, O_PATH | O_NOFOLLOW,
                                     RESOLVE_NO_MAGICLINKS);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return berr_set(err, fd, "mask '%s'", *p);
                _cleanup_close_ int target = fd;
                struct stat st;
                if (fstat(target, &st) < 0)
                        return berr_set(err, errno, "mask '%s'", *p);
                char tp[32];
                fdpath(tp, target);
                if (S_ISDIR(st.st_mode)) {
                        if (mount("tmpfs", tp, "tmpfs", MS_RDONLY, "size=0k") <
                            0)
                                return berr_set(err, errno, "mask '%s'", *p);
                        continue;
                }
                if (null < 0) {
                        null = open_dev_null(err);
                        if (null < 0)
                                return null;
                }
                char np[32];
                fdpath(np, null);
                if (mount(np, tp, NULL, MS_BIND, NULL) < 0)
                        return berr_set(err, errno, "mask '%s'", *p);
        }
        return 0;
}

static int readonly_paths(const struct spec *s, struct berr *err) {
        for (char **p = s->linux_.readonly_paths; p && *p; p++) {
                int fd = sys_openat2(AT_FDCWD, *p, O_PATH | O_NOFOLLOW,
                                     RESOLVE_NO_MAGICLINKS);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return berr_set(err, fd, "make '%s' read-only", *p);
                char tp[32];
                fdpath(tp, fd);
                int r = mount(tp, tp, NULL, MS_BIND | MS_REC, NULL);
                int e = errno;
                close(fd);
                if (r < 0)
                        return berr_set(err, e, "make '%s' read-only", *p);
                fd = sys_openat2(AT_FDCWD, *p, O_PATH | O_NOFOLLOW,
                                 RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        return berr_set(err, fd, "make '%s' read-only", *p);
                fdpath(tp, fd);
                r = mount(NULL, tp, NULL,
                          MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                                  MS_NODEV | MS_NOEXEC,
                          NULL);
                e = errno;
                close(fd);
                if (r < 0)
                        return berr_set(err, e, "make '%s' read-only", *p);
        }
        return 0;
}

int rootfs_finalize(const struct rootfs_ctx *c, struct berr *err) {
        const struct spec *s = c->spec;
        int r = write_sysctls(s, err);
        if (r < 0)
                return r;
        r = mask_paths(s, err);
        if (r < 0)
                return r;
        r = readonly_paths(s, err);
        if (r < 0)
                return r;
        if (s->root_readonly) {
                _cleanup_close_ int root = open("/", O_PATH | O_CLOEXEC);
                unsigned long keep = root >= 0 ? locked_flags(root) : 0;
                if (mount(NULL, "/", NULL,
                          MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
                        return berr_set(err, errno, "remount '/' read-only");
        }
        enum spec_propagation p = s->linux_.rootfs_propagation;
        if (p != SPEC_PROP_NONE &&
            mount(NULL, "/", NULL, prop_flags[p], NULL) < 0)
                return berr_set(err, errno, "set rootfs propagation");
        return 0;
}
