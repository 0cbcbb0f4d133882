/* COPY/ADD/WORKDIR file work inside roots (fsops.h).  The worker runs
 * as root in its own mount namespace; every lookup below is
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against the root's fd
 * and every final component is created or replaced with O_NOFOLLOW / *at
 * calls, so neither the context nor the image can redirect a write
 * outside the rootfs being built. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fsops.h"
#include "ignore.h"
#include "util.h"

static int open_in(int rootfd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        int fd = (int) syscall(SYS_openat2, rootfd, *path ? path : ".", &how,
                               sizeof(how));
        return fd < 0 ? -errno : fd;
}

bool fs_is_dir(int rootfd, const char *path) {
        _cleanup_close_ int fd = open_in(rootfd, path, O_RDONLY | O_DIRECTORY);
        return fd >= 0;
}

/* Split "a/b/c" into the parent's fd (resolved in root) and "c". */
static int open_parent(int rootfd, const char *path, char **ret_name) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = '\0';
        char *slash = strrchr(p, '/');
        const char *name = slash ? slash + 1 : p;
        if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
                return -EINVAL;
        char *dup = strdup(name);
        if (!dup)
                return -ENOMEM;
        if (slash)
                *slash = '\0';
        int fd = open_in(rootfd, slash ? p : ".", O_RDONLY | O_DIRECTORY);
        if (fd < 0) {
                free(dup);
                return fd;
        }
        *ret_name = dup;
        return fd;
}

/* `path` cleaned lexically, in a new string; *ret_rel points past its
 * leading '/'s (relative to a root). */
static char *clean_rel(const char *path, char **ret_rel) {
        char *p = strdup(path);
        if (!p)
                return NULL;
        ignore_clean_path(p);
        char *rel = p;
        while (*rel == '/')
                rel++;
        *ret_rel = rel;
        return p;
}

int fs_mkdir_p(int rootfd, const char *path, int uid, int gid,
               struct berr *err) {
        char *rel;
        _cleanup_free_ char *p = clean_rel(path, &rel);
        if (!p)
                return -ENOMEM;
        if (!*rel || !strcmp(rel, "."))
                return 0;
        for (char *s = rel;; s++) {
                if (*s != '/' && *s)
                        continue;
                char saved = *s;
                *s = '\0';
                _cleanup_close_ int fd =
                        open_in(rootfd, rel, O_RDONLY | O_DIRECTORY);
                if (fd == -ENOENT) {
                        char *name = NULL;
                        _cleanup_close_ int pfd =
                                open_parent(rootfd, rel, &name);
                        if (pfd < 0)
                                return berr_set(err, pfd, "create '/%s'", rel);
                        int r = mkdirat(pfd, name, 0755) < 0 ? -errno : 0;
                        if (r >= 0 && uid >= 0)
                                r = fchownat(pfd, name, (uid_t) uid,
                                             (gid_t) gid,
                                             AT_SYMLINK_NOFOLLOW) < 0
                                            ? -errno
                                            : 0;
                        free(name);
                        if (r < 0)
                                return berr_set(err, r, "create '/%s'", rel);
                } else if (fd < 0) {
                        return berr_set(err, fd, "create '/%s'", rel);
                }
                *s = saved;
                if (!saved)
                        break;
        }
        return 0;
}

/* Make room for a new entry `name` in `dfd`: what is there goes, unless
 * both are directories (then *ret_keep). */
static int clear_slot(int dfd, const char *name, bool want_dir,
                      bool *ret_keep) {
        struct stat st;
        *ret_keep = false;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                if (want_dir) {
                        *ret_keep = true;
                        return 0;
                }
                return rm_rf_at(dfd, name);
        }
        return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

static int copy_data(int in, int out) {
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno != EXDEV && errno != EINVAL && errno != ENOSYS)
                        return -errno;
                break;
        }
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write_all(out, buf, (size_t) n) < 0)
                        return -errno;
        return n < 0 ? -errno : 0;
}

static void owner_of(const struct fs_copy_opts *o, const struct stat *st,
                     uid_t *u, gid_t *g) {
        *u = o->uid >= 0 ? (uid_t) o->uid : st->st_uid;
        *g = o->gid >= 0 ? (gid_t) o->gid : st->st_gid;
}

static int copy_tree(int sfd, int dfd, const struct fs_copy_opts *o,
                     const char *what, struct berr *err);

/* One entry `sname` of directory sfd to `dname` in dfd. */
static int copy_entry(int sfd, const char *sname, const struct stat *st,
                      int dfd, const char *dname, const struct fs_copy_opts *o,
                      const char *what, struct berr *err) {
        uid_t u;
        gid_t g;
        owner_of(o, st, &u, &g);
        mode_t mode = o->mode >= 0 ? (mode_t) o->mode : st->st_mode & 07777;
        bool keep = false;
        int r = clear_slot(dfd, dname, S_ISDIR(st->st_mode), &keep);
        if (r < 0)
                return berr_set(err, r, "%s: replace '%s'", what, dname);
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (S_ISREG(st->st_mode)) {
                _cleanup_close_ int in =
                        openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (in < 0)
                        return berr_set(err, errno, "%s: open '%s'", what,
                                        sname);
                _cleanup_close_ int out = openat(dfd, dname,
                                                 O_WRONLY | O_CREAT | O_EXCL |
                                                         O_NOFOLLOW | O_CLOEXEC,
                                                 0600);
                if (out < 0)
                        return berr_set(err, errno, "%s: create '%s'", what,
                                        dname);
                r = copy_data(in, out);
                if (r >= 0 && fchown(out, u, g) < 0)
                        r = -errno;
                /* After chown, which clears set-id bits. */
                if (r >= 0 && fchmod(out, mode) < 0)
                        r = -errno;
                if (r >= 0 && futimens(out, ts) < 0)
                        r = -errno;
                return r < 0 ? berr_set(err, r, "%s: copy '%s'", what, sname)
                             : 0;
        }
        if (S_ISLNK(st->st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(sfd, sname, target, sizeof(target) - 1);
                if (n < 0)
                        return berr_set(err, errno, "%s: read link '%s'", what,
                                        sname);
                target[n] = '\0';
                if (symlinkat(target, dfd, dname) < 0 ||
                    fchownat(dfd, dname, u, g, AT_SYMLINK_NOFOLLOW) < 0)
                        return berr_set(err, errno, "%s: symlink '%s'", what,
                                        dname);
                utimensat(dfd, dname, ts, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        if (S_ISDIR(st->st_mode)) {
                if (!keep && mkdirat(dfd, dname, 0700) < 0)
                        return berr_set(err, errno, "%s: create '%s'", what,
                                        dname);
                _cleanup_close_ int in =
                        openat(sfd, sname,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int out =
                        openat(dfd, dname,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (in < 0 || out < 0)
                        return berr_set(err, errno, "%s: open '%s'", what,
                                        sname);
                r = copy_tree(in, out, o, what, err);
                if (r < 0)
                        return r;
                if (fchown(out, u, g) < 0 || fchmod(out, mode) < 0 ||
                    futimens(out, ts) < 0)
                        return berr_set(err, errno, "%s: set '%s'", what,
                                        dname);
                return 0;
        }
        if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
                return 0; /* a whiteout in a stage's layer */
        if (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode) ||
            S_ISBLK(st->st_mode)) {
                if (mknodat(dfd, dname, st->st_mode & (S_IFMT | 07777),
                            st->st_rdev) < 0 ||
                    fchownat(dfd, dname, u, g, AT_SYMLINK_NOFOLLOW) < 0)
                        return berr_set(err, errno, "%s: create '%s'", what,
                                        dname);
                return 0;
        }
        return 0; /* sockets are not copied */
}

static int copy_tree(int sfd, int dfd, const struct fs_copy_opts *o,
                     const char *what, struct berr *err) {
        int fd = dup(sfd);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                if (fd >= 0)
                        close(fd);
                return berr_set(err, errno, "%s: read a directory", what);
        }
        rewinddir(dir);
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(dir))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = berr_set(err, errno, "%s: stat '%s'", what,
                                     de->d_name);
                        break;
                }
                r = copy_entry(sfd, de->d_name, &st, dfd, de->d_name, o, what,
                               err);
        }
        closedir(dir);
        return r;
}

static const char *base_name(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

int fs_copy(int srcroot, const char *src, int dstroot, const char *dest,
            bool into_dir, const struct fs_copy_opts *o, struct berr *err) {
        bool whole = !*src || !strcmp(src, ".");
        char *sname = NULL;
        _cleanup_close_ int sfd =
                whole ? open_in(srcroot, ".", O_RDONLY | O_DIRECTORY)
                      : open_parent(srcroot, src, &sname);
        _cleanup_free_ char *sname_ = sname;
        if (sfd < 0)
                return berr_set(err, sfd,
                                "COPY failed: file not found in build context "
                                "or excluded by .dockerignore: stat %s",
                                src);
        struct stat st;
        if (fstatat(sfd, whole ? "." : sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return berr_set(err, errno,
                                "COPY failed: file not found in build context "
                                "or excluded by .dockerignore: stat %s",
                                src);
        uid_t u;
        gid_t g;
        owner_of(o, &st, &u, &g);
        int cu = o->uid >= 0 ? o->uid : 0, cg = o->gid >= 0 ? o->gid : 0;
        if (S_ISDIR(st.st_mode)) {
                /* A directory's content goes into dest. */
                int r = fs_mkdir_p(dstroot, dest, cu, cg, err);
                if (r < 0)
                        return r;
                _cleanup_close_ int in =
                        whole ? dup(sfd)
                              : openat(sfd, sname,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                               O_CLOEXEC);
                _cleanup_close_ int out =
                        open_in(dstroot, dest, O_RDONLY | O_DIRECTORY);
                if (in < 0 || out < 0)
                        return berr_set(err, out < 0 ? out : -errno,
                                        "COPY: open '%s'", dest);
                return copy_tree(in, out, o, "COPY", err);
        }
        _cleanup_free_ char *target = NULL;
        if (into_dir || fs_is_dir(dstroot, dest)) {
                int r = fs_mkdir_p(dstroot, dest, cu, cg, err);
                if (r < 0)
                        return r;
                target = str_printf("%s/%s", dest, base_name(src));
        } else {
                target = strdup(dest);
                char *slash = target ? strrchr(target, '/') : NULL;
                if (slash && slash != target) {
                        *slash = '\0';
                        int r = fs_mkdir_p(dstroot, target, cu, cg, err);
                        *slash = '/';
                        if (r < 0)
                                return r;
                }
        }
        if (!target)
                return -ENOMEM;
        char *dname = NULL;
        _cleanup_close_ int dfd = open_parent(dstroot, target, &dname);
        _cleanup_free_ char *dname_ = dname;
        if (dfd < 0)
                return berr_set(err, dfd, "COPY: open the parent of '%s'",
                                target);
        return copy_entry(sfd, sname, &st, dfd, dname, o, "COPY", err);
}

/* ---- ADD's archives ---- */

static int extract_entry(struct archive *a, struct archive_entry *e,
                         int dstroot, const char *dest, struct berr *err) {
        char *rel;
        _cleanup_free_ char *p =
                clean_rel(archive_entry_pathname(e) ?: "", &rel);
        if (!p)
                return -ENOMEM;
        if (!strcmp(rel, "..") || str_startswith(rel, "../"))
                return berr_setx(err, EPERM,
                                 "ADD: archive entry '%s' leaves its "
                                 "destination",
                                 archive_entry_pathname(e));
        if (!*rel || !strcmp(rel, "."))
                return 0;
        _cleanup_free_ char *full = str_printf("%s/%s", dest, rel);
        if (!full)
                return -ENOMEM;
        mode_t type = archive_entry_filetype(e);
        uid_t u = (uid_t) archive_entry_uid(e);
        gid_t g = (gid_t) archive_entry_gid(e);
        mode_t mode = archive_entry_perm(e);
        if (type == AE_IFDIR) {
                int r = fs_mkdir_p(dstroot, full, 0, 0, err);
                if (r < 0)
                        return r;
                _cleanup_close_ int fd =
                        open_in(dstroot, full, O_RDONLY | O_DIRECTORY);
                if (fd < 0 || fchown(fd, u, g) < 0 || fchmod(fd, mode) < 0)
                        return berr_set(err, fd < 0 ? fd : -errno,
                                        "ADD: set '%s'", full);
                return 0;
        }
        char *slash = strrchr(full, '/');
        *slash = '\0';
        int r = fs_mkdir_p(dstroot, full, 0, 0, err);
        *slash = '/';
        if (r < 0)
                return r;
        char *name = NULL;
        _cleanup_close_ int dfd = open_parent(dstroot, full, &name);
        _cleanup_free_ char *name_ = name;
        if (dfd < 0)
                return berr_set(err, dfd, "ADD: open the parent of '%s'", full);
        bool keep;
        r = clear_slot(dfd, name, false, &keep);
        if (r < 0)
                return berr_set(err, r, "ADD: replace '%s'", full);
        const char *hl = archive_entry_hardlink(e);
        if (hl) {
                _cleanup_free_ char *hp = strdup(hl);
                if (!hp)
                        return -ENOMEM;
                ignore_clean_path(hp);
                _cleanup_free_ char *hfull = str_printf("%s/%s", dest, hp);
                _cleanup_close_ int src =
                        hfull ? open_in(dstroot, hfull, O_PATH | O_NOFOLLOW)
                              : -ENOMEM;
                if (src < 0 || linkat(src, "", dfd, name, AT_EMPTY_PATH) < 0)
                        return berr_set(err, src < 0 ? src : -errno,
                                        "ADD: hard link '%s'", full);
                return 0;
        }
        if (type == AE_IFLNK) {
                if (symlinkat(archive_entry_symlink(e) ?: "", dfd, name) < 0 ||
                    fchownat(dfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
                        return berr_set(err, errno, "ADD: symlink '%s'", full);
                return 0;
        }
        if (type != AE_IFREG)
                return 0; /* devices and fifos are not extracted */
        _cleanup_close_ int out = openat(
                dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
        if (out < 0)
                return berr_set(err, errno, "ADD: create '%s'", full);
        const void *buf;
        size_t len;
        la_int64_t off;
        int ar;
        while ((ar = archive_read_data_block(a, &buf, &len, &off)) ==
               ARCHIVE_OK) {
                if (pwrite(out, buf, len, off) != (ssize_t) len)
                        return berr_set(err, errno, "ADD: write '%s'", full);
        }
        if (ar != ARCHIVE_EOF)
                return berr_setx(err, EIO, "ADD: read '%s': %s", full,
                                 archive_error_string(a));
        if (ftruncate(out, archive_entry_size(e)) < 0 ||
            fchown(out, u, g) < 0 || fchmod(out, mode) < 0)
                return berr_set(err, errno, "ADD: set '%s'", full);
        struct timespec ts[2] = {
                {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        futimens(out, ts);
        return 0;
}

int fs_extract(int srcroot, const char *src, int dstroot, const char *dest,
               struct berr *err) {
        _cleanup_close_ int fd = open_in(srcroot, src, O_RDONLY | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_filter_xz(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        struct archive_entry *e;
        if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                archive_read_free(a);
                return 0;
        }
        int r = fs_mkdir_p(dstroot, dest, 0, 0, err);
        int ar = ARCHIVE_OK;
        while (r >= 0) {
                r = extract_entry(a, e, dstroot, dest, err);
                if (r < 0)
                        break;
                ar = archive_read_next_header(a, &e);
                if (ar != ARCHIVE_OK)
                        break;
        }
        if (r >= 0 && ar != ARCHIVE_EOF)
                r = berr_setx(err, EIO, "ADD: read archive '%s': %s", src,
                              archive_error_string(a));
        archive_read_free(a);
        return r < 0 ? r : 1;
}

/* ---- globs ---- */

static bool has_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

int fs_glob(int rootfd, const char *pattern, char ***ret, struct berr *err) {
        char **cur = NULL;
        if (!has_glob(pattern)) {
                if (strv_push(&cur, pattern) < 0)
                        return -ENOMEM;
                *ret = cur;
                return 0;
        }
        _cleanup_free_ char *pat = strdup(pattern);
        if (!pat || strv_push(&cur, "") < 0) {
                strv_free(cur);
                return -ENOMEM;
        }
        char *save = NULL;
        for (char *comp = strtok_r(pat, "/", &save); comp;
             comp = strtok_r(NULL, "/", &save)) {
                char **next = NULL;
                for (size_t i = 0; cur[i]; i++) {
                        const char *base = cur[i];
                        if (!has_glob(comp)) {
                                _cleanup_free_ char *p =
                                        *base ? str_printf("%s/%s", base, comp)
                                              : strdup(comp);
                                if (!p || strv_push(&next, p) < 0)
                                        goto oom;
                                continue;
                        }
                        int dfd = open_in(rootfd, *base ? base : ".",
                                          O_RDONLY | O_DIRECTORY);
                        DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
                        if (!dir) {
                                if (dfd >= 0)
                                        close(dfd);
                                continue;
                        }
                        struct dirent *de;
                        while ((de = readdir(dir))) {
                                if (!strcmp(de->d_name, ".") ||
                                    !strcmp(de->d_name, "..") ||
                                    !ignore_glob(comp, de->d_name))
                                        continue;
                                _cleanup_free_ char *p =
                                        *base ? str_printf("%s/%s", base,
                                                           de->d_name)
                                              : strdup(de->d_name);
                                if (!p || strv_push(&next, p) < 0) {
                                        closedir(dir);
                                        goto oom;
                                }
                        }
                        closedir(dir);
                }
                strv_free(cur);
                cur = next;
                if (!cur) {
                        *ret = NULL;
                        return 0;
                }
                continue;
        oom:
                strv_free(next);
                strv_free(cur);
                return berr_setx(err, ENOMEM, "expand '%s'", pattern);
        }
        strv_sort(cur);
        *ret = cur;
        return 0;
}

/* ---- the cache's view of a source ---- */

static int hash_at(int dfd, const char *name, const char *rel, bool owners,
                   struct digest *d, struct berr *err) {
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return berr_set(err, errno,
                                "COPY failed: file not found in build context "
                                "or excluded by .dockerignore: stat %s",
                                rel);
        char meta[256];
        int n = snprintf(meta, sizeof(meta), "%s%c%o %lld %u %u%c", rel, 0,
                         st.st_mode, (long long) st.st_size,
                         owners ? st.st_uid : 0, owners ? st.st_gid : 0, 0);
        digest_update(d, meta, (size_t) n);
        digest_update(d, rel, strlen(rel));
        if (S_ISLNK(st.st_mode)) {
                char t[4096];
                ssize_t k = readlinkat(dfd, name, t, sizeof(t));
                if (k > 0)
                        digest_update(d, t, (size_t) k);
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd =
                        openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berr_set(err, errno, "COPY: open '%s'", rel);
                char buf[1 << 16];
                ssize_t k;
                while ((k = read(fd, buf, sizeof(buf))) > 0)
                        digest_update(d, buf, (size_t) k);
                return k < 0 ? berr_set(err, errno, "COPY: read '%s'", rel) : 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        _cleanup_close_ int fd = openat(
                dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int fd2 = fd >= 0 ? dup(fd) : -1;
        DIR *dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
        if (!dir) {
                if (fd2 >= 0)
                        close(fd2);
                return berr_set(err, errno, "COPY: read '%s'", rel);
        }
        char **names = NULL;
        struct dirent *de;
        size_t cnt = 0;
        while ((de = readdir(dir))) {
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                        if (strv_push(&names, de->d_name) < 0)
                                break;
                        cnt++;
                }
        }
        closedir(dir);
        strv_sort(names);
        int r = 0;
        for (size_t i = 0; r >= 0 && i < cnt; i++) {
                _cleanup_free_ char *sub = str_printf("%s/%s", rel, names[i]);
                r = sub ? hash_at(fd, names[i], sub, owners, d, err) : -ENOMEM;
        }
        strv_free(names);
        return r;
}

int fs_hash(int rootfd, const char *src, bool owners, struct digest *d,
            struct berr *err) {
        if (!*src || !strcmp(src, "."))
                return hash_at(rootfd, ".", ".", owners, d, err);
        char *name = NULL;
        _cleanup_close_ int pfd = open_parent(rootfd, src, &name);
        _cleanup_free_ char *name_ = name;
        if (pfd < 0)
                return berr_set(err, pfd,
                                "COPY failed: file not found in build context "
                                "or excluded by .dockerignore: stat %s",
                                src);
        return hash_at(pfd, name, src, owners, d, err);
}

/* ---- --chown ---- */

/* Field 3 (uid/gid) of the line whose first field is `name`, in the
 * rootfs' `file`. */
static int lookup_id(int rootfd, const char *file, const char *name, int *ret) {
        _cleanup_close_ int fd = open_in(rootfd, file, O_RDONLY);
        if (fd < 0)
                return -ENOENT;
        _cleanup_free_ char *text = NULL;
        if (read_fd_all(fd, 4 << 20, &text, NULL) < 0)
                return -EIO;
        size_t nl = strlen(name);
        for (char *line = text; line && *line;) {
                char *end = strchr(line, '\n');
                if (end)
                        *end = '\0';
                if (!strncmp(line, name, nl) && line[nl] == ':') {
                        char *f = strchr(line + nl + 1, ':');
                        int v;
                        if (f) {
                                char *e2 = strchr(f + 1, ':');
                                if (e2)
                                        *e2 = '\0';
                                if (parse_int(f + 1, &v) >= 0) {
                                        *ret = v;
                                        return 0;
                                }
                        }
                }
                line = end ? end + 1 : NULL;
        }
        return -ENOENT;
}

int fs_lookup_owner(int rootfd, const char *spec, int *ret_uid, int *ret_gid,
                    struct berr *err) {
        _cleanup_free_ char *s = strdup(spec);
        if (!s)
                return -ENOMEM;
        char *colon = strchr(s, ':');
        if (colon)
                *colon++ = '\0';
        int uid, gid;
        if (parse_int(s, &uid) < 0 || uid < 0) {
                if (lookup_id(rootfd, "etc/passwd", s, &uid) < 0)
                        return berr_setx(err, ENOENT,
                                         "unable to convert uid/gid chown "
                                         "string to host mapping: can't find "
                                         "uid for user %s: no such user: %s",
                                         s, s);
        }
        gid = uid;
        if (colon && *colon && (parse_int(colon, &gid) < 0 || gid < 0)) {
                if (lookup_id(rootfd, "etc/group", colon, &gid) < 0)
                        return berr_setx(err, ENOENT,
                                         "unable to convert uid/gid chown "
                                         "string to host mapping: can't find "
                                         "gid for group %s: no such group: %s",
                                         colon, colon);
        }
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}
