/* The container's filesystem view, built inside its new mount namespace.
 *
 * Every function here runs in the container's init process, after it has
 * entered its own mount namespace and before it executes the user
 * program.  Paths inside the rootfs are resolved with openat2
 * (RESOLVE_IN_ROOT) and mounts are made through the opened descriptor, so
 * a symlink planted in the image cannot redirect a mount onto the host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct berr;
struct spec;

struct rootfs_ctx {
        const struct spec *spec;
        const char *rootfs;    /* absolute host path of the rootfs */
        char **cgroup_sources; /* from cgroup_mount_sources(), may be NULL */
        const int *mount_fds;  /* per spec mount: a detached idmapped mount
                                  made by the runtime, or -1 */
        bool in_userns;        /* mknod impossible: bind host devices */
        bool new_netns;        /* sysfs can be mounted fresh */
        bool cgroupns;         /* in a cgroup namespace rooted at the
                                  container's group: cgroupfs can be
                                  mounted directly */
};

/* Before pivot_root: propagation, the rootfs bind, spec mounts, /dev. */
int rootfs_prepare(const struct rootfs_ctx *c, struct berr *err);

/* Switch the root (pivot_root, or MS_MOVE+chroot with no_pivot). */
int rootfs_pivot(const char *rootfs, bool no_pivot, struct berr *err);

/* After pivot_root: sysctls, masked and read-only paths, read-only root,
 * final propagation. */
int rootfs_finalize(const struct rootfs_ctx *c, struct berr *err);

/* In the runtime process (host namespaces): for every mount with the
 * "idmap"/"ridmap" option, clone its source into a detached mount and
 * apply its id mapping (the mount's own, or the container's user namespace
 * mappings).  *ret gets one fd per spec mount (-1 where not idmapped); the
 * init attaches them with move_mount.  Caller closes the fds and frees. */
int rootfs_make_idmapped_mounts(const struct spec *s, int **ret,
                                struct berr *err);

struct spec_idmap;
/* Write /proc/PID/{uid,gid}_map (`file`) from spec mappings. */
int rootfs_write_id_map(pid_t pid, const char *file, const struct spec_idmap *m,
                        size_t n);

/* Open PATH inside the root at rootfd without escaping it (openat2
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).  Exposed for tests. */
int rootfs_open_in_root(int rootfd, const char *path, int flags);

/* Make every missing component of PATH below rootfd (directories, and the
 * last one as a file when `file` is true); returns an O_PATH fd of it. */
int rootfs_mkdir_in_root(int rootfd, const char *path, bool file,
                         struct berr *err);
