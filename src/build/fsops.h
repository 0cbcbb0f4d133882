/* What COPY, ADD and WORKDIR do to files: inside a root directory (the
 * build context, a stage's rootfs, the mounted rootfs a step writes),
 * every path is resolved with openat2(RESOLVE_IN_ROOT), so no symlink -
 * in the context or in the image - leads outside its root; symlinks are
 * copied as symlinks, never followed.  Runs in the build worker's own
 * mount namespace. */
#pragma once

#include <stdbool.h>

struct berr;
struct digest;

struct fs_copy_opts {
        int uid, gid; /* owner of what is copied; -1: keep the source's */
        int mode;     /* --chmod, or -1: keep */
};

/* mkdir -p of `path` (absolute or relative, inside root); directories
 * made are 0755 and owned by uid:gid. */
int fs_mkdir_p(int rootfd, const char *path, int uid, int gid,
               struct berr *err);

/* Copy `src` (relative to srcroot; a directory's content, or one file or
 * symlink) to `dest` (in dstroot).  A file goes to dest/NAME when
 * `into_dir` or when dest is a directory, else it becomes dest.
 * `what` names the source in errors ("COPY failed: ..."). */
int fs_copy(int srcroot, const char *src, int dstroot, const char *dest,
            bool into_dir, const struct fs_copy_opts *o, struct berr *err);

/* ADD's extraction: when `src` (in srcroot) is a tar archive (plain,
 * gzip, bzip2 or xz), unpack it into the directory `dest` and return 1;
 * 0 when it is no archive (then it is copied). */
int fs_extract(int srcroot, const char *src, int dstroot, const char *dest,
               struct berr *err);

/* The sources a pattern names (relative to root, sorted): itself when it
 * has no wildcards, else what matches ('*', '?', [..] per component). */
int fs_glob(int rootfd, const char *pattern, char ***ret, struct berr *err);

/* Feed `src`'s names, types, modes, sizes, contents and link targets
 * (and owners when `owners`) into `d`: the cache's view of a source. */
int fs_hash(int rootfd, const char *src, bool owners, struct digest *d,
            struct berr *err);

/* --chown's USER[:GROUP] with names looked up in the rootfs' /etc/passwd
 * and /etc/group; a user alone gives its uid as gid too (docker). */
int fs_lookup_owner(int rootfd, const char *spec, int *ret_uid, int *ret_gid,
                    struct berr *err);

/* Whether `path` exists in root (following symlinks inside it) and is a
 * directory. */
bool fs_is_dir(int rootfd, const char *path);
