/* Layer unpacking, confined to the layer's root (SECURITY.md section 4).
 *
 * Every entry's parent directory is opened with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from the root fd, so "..", absolute names and
 * symlinks planted by earlier entries all resolve inside the root.  The
 * entry itself is created relative to that parent fd with O_NOFOLLOW /
 * AT_SYMLINK_NOFOLLOW calls; hard-link targets are resolved the same way.
 * Docker whiteouts become overlayfs whiteouts. */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "util.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static int open_in_root(int rootfd, const char *path, int flags) {
        if (!*path)
                return fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Clean an entry name: no leading "/" or "./", no "." components; any
 * ".." component rejects the entry. */
static int clean_name(const char *in, char *out, size_t size) {
        size_t n = 0;
        const char *s = in;
        while (*s) {
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                size_t l = strcspn(s, "/");
                if (l == 1 && s[0] == '.') {
                        s += l;
                        continue;
                }
                if (l == 2 && s[0] == '.' && s[1] == '.')
                        return -EINVAL;
                if (n + l + 2 > size)
                        return -ENAMETOOLONG;
                if (n)
                        out[n++] = '/';
                memcpy(out + n, s, l);
                n += l;
                s += l;
        }
        out[n] = '\0';
        return (int) n;
}

/* Open (creating as needed) the directory `dir` inside the root. */
static int open_parent(int rootfd, const char *dir) {
        int fd = open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY);
        if (fd != -ENOENT)
                return fd;
        /* Create missing components one by one, each resolved in-root. */
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", dir);
        for (char *p = buf;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char save = *p;
                *p = '\0';
                _cleanup_close_ int f =
                        open_in_root(rootfd, buf, O_RDONLY | O_DIRECTORY);
                if (f == -ENOENT) {
                        char *slash = strrchr(buf, '/');
                        _cleanup_close_ int par = open_in_root(
                                rootfd, slash ? (*slash = '\0', buf) : "",
                                O_RDONLY | O_DIRECTORY);
                        if (slash)
                                *slash = '/';
                        if (par < 0)
                                return par;
                        const char *base = slash ? slash + 1 : buf;
                        if (mkdirat(par, base, 0755) < 0 && errno != EEXIST)
                                return -errno;
                } else if (f < 0)
                        return f;
                *p = save;
                if (!save)
                        break;
        }
        return open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY);
}

static int remove_existing(int parent, const char *base, bool keep_dir) {
        struct stat st;
        if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                if (keep_dir)
                        return 1;
                return rm_rf_at(parent, base);
        }
        return unlinkat(parent, base, 0) < 0 ? -errno : 0;
}

static void set_meta(int parent, const char *base, struct archive_entry *e,
                     bool is_link) {
        uid_t uid = (uid_t) archive_entry_uid(e);
        gid_t gid = (gid_t) archive_entry_gid(e);
        /* Failures leave root ownership or default modes: never a way
         * out of the root, so the entry is kept. */
        if (fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
        }
        if (!is_link &&
            fchmodat(parent, base, archive_entry_mode(e) & 07777, 0) < 0) {
        }
        struct timespec ts[2] = {
                {.tv_sec = archive_entry_atime(e),
                 .tv_nsec = archive_entry_atime_nsec(e)},
                {.tv_sec = archive_entry_mtime(e),
                 .tv_nsec = archive_entry_mtime_nsec(e)},
        };
        if (!archive_entry_atime_is_set(e))
                ts[0] = ts[1];
        utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW);
}

static void set_xattrs(int fd, struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) ==
               ARCHIVE_OK) {
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        /* Unsupported namespaces are skipped, as docker
                         * does. */
                }
        }
}

static int write_data(struct archive *a, int fd) {
        const void *buf;
        size_t size;
        la_int64_t off;
        for (;;) {
                int r = archive_read_data_block(a, &buf, &size, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK)
                        return -EIO;
                if (pwrite(fd, buf, size, off) != (ssize_t) size)
                        return -errno;
        }
}

static int unpack_entry(struct archive *a, struct archive_entry *e, int rootfd,
                        struct berr *err) {
        const char *raw = archive_entry_pathname(e);
        char name[4096];
        if (!raw)
                return berr_setx(err, EINVAL, "layer entry without a name");
        int n = clean_name(raw, name, sizeof(name));
        if (n < 0)
                return berr_setx(err, EINVAL,
                                 "layer entry '%.200s': name escapes the "
                                 "layer or is too long",
                                 raw);
        if (n == 0)
                return 0; /* "." or "/" */
        char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        if (slash)
                *slash = '\0';
        const char *dir = slash ? name : "";
        _cleanup_close_ int parent = open_parent(rootfd, dir);
        if (parent < 0)
                return berr_set(err, parent,
                                "layer entry '%.200s': open its "
                                "directory",
                                raw);
        if (strcmp(base, WH_OPAQUE) == 0) {
                if (fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return berr_set(err, errno,
                                        "layer entry '%.200s': mark opaque",
                                        raw);
                return 0;
        }
        if (strncmp(base, WH_PREFIX, 4) == 0) {
                const char *target = base + 4;
                if (!*target || strncmp(target, WH_PREFIX, 4) == 0 ||
                    !strcmp(target, ".") || !strcmp(target, ".."))
                        return berr_setx(err, EINVAL,
                                         "layer entry '%.200s': invalid "
                                         "whiteout",
                                         raw);
                int r = remove_existing(parent, target, false);
                if (r < 0)
                        return berr_set(err, r, "whiteout '%.200s'", raw);
                if (mknodat(parent, target, S_IFCHR | 0, makedev(0, 0)) < 0)
                        return berr_set(err, errno, "whiteout '%.200s'", raw);
                return 0;
        }
        const char *hl = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        if (hl) {
                char tname[4096];
                if (clean_name(hl, tname, sizeof(tname)) <= 0)
                        return berr_setx(err, EINVAL,
                                         "hard link '%.200s' -> '%.200s': "
                                         "target escapes the layer",
                                         raw, hl);
                /* The target itself is not followed if it is a symlink:
                 * the link is to the symlink, inside the root. */
                _cleanup_close_ int t =
                        open_in_root(rootfd, tname, O_PATH | O_NOFOLLOW);
                if (t < 0)
                        return berr_set(err, t,
                                        "hard link '%.200s' -> '%.200s'", raw,
                                        hl);
                int r = remove_existing(parent, base, false);
                if (r < 0)
                        return berr_set(err, r, "replace '%.200s'", raw);
                if (linkat(t, "", parent, base, AT_EMPTY_PATH) < 0)
                        return berr_set(err, errno,
                                        "hard link '%.200s' -> '%.200s'", raw,
                                        hl);
                return 0;
        }
        int r;
        switch (type) {
        case AE_IFDIR:
                r = remove_existing(parent, base, true);
                if (r < 0)
                        return berr_set(err, r, "replace '%.200s'", raw);
                if (r == 0 && mkdirat(parent, base, 0755) < 0)
                        return berr_set(err, errno, "mkdir '%.200s'", raw);
                {
                        _cleanup_close_ int d =
                                openat(parent, base,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                               O_CLOEXEC);
                        if (d >= 0)
                                set_xattrs(d, e);
                }
                set_meta(parent, base, e, false);
                return 0;
        case AE_IFREG: {
                r = remove_existing(parent, base, false);
                if (r < 0)
                        return berr_set(err, r, "replace '%.200s'", raw);
                _cleanup_close_ int fd = openat(parent, base,
                                                O_WRONLY | O_CREAT | O_EXCL |
                                                        O_NOFOLLOW | O_CLOEXEC,
                                                0600);
                if (fd < 0)
                        return berr_set(err, errno, "create '%.200s'", raw);
                r = write_data(a, fd);
                if (r < 0)
                        return berr_set(err, r, "write '%.200s'", raw);
                set_xattrs(fd, e);
                /* chown before chmod: chown clears set-id bits. */
                set_meta(parent, base, e, false);
                return 0;
        }
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                r = remove_existing(parent, base, false);
                if (r < 0)
                        return berr_set(err, r, "replace '%.200s'", raw);
                if (symlinkat(target ? target : "", parent, base) < 0)
                        return berr_set(err, errno, "symlink '%.200s'", raw);
                set_meta(parent, base, e, true);
                return 0;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                r = remove_existing(parent, base, false);
                if (r < 0)
                        return berr_set(err, r, "replace '%.200s'", raw);
                if (mknodat(parent, base,
                            type | (archive_entry_mode(e) & 07777),
                            archive_entry_rdev(e)) < 0)
                        return berr_set(err, errno, "mknod '%.200s'", raw);
                set_meta(parent, base, e, false);
                return 0;
        default:
                /* Sockets and unknown types are skipped. */
                return 0;
        }
}

int layer_unpack_archive(struct archive *a, int rootfd, struct berr *err) {
        struct archive_entry *e;
        for (;;) {
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        return 0;
                if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
                        return berr_setx(err, EINVAL, "read layer: %s",
                                         archive_error_string(a));
                int r = unpack_entry(a, e, rootfd, err);
                if (r < 0)
                        return r;
        }
}

int layer_unpack(int fd, int rootfd, struct berr *err) {
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        int r;
        if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
                r = berr_setx(err, EINVAL, "read layer: %s",
                              archive_error_string(a));
        else
                r = layer_unpack_archive(a, rootfd, err);
        archive_read_free(a);
        return r;
}
