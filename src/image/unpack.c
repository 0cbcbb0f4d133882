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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
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

/* Which of a layer's xattrs are written.  trusted.* never: the layer
 * becomes an overlayfs lower dir, where trusted.overlay.* are the
 * filesystem's own metadata - a forged trusted.overlay.redirect makes a
 * directory show another one's contents (anywhere in the merged tree),
 * .opaque hides the layers below, .metacopy/.origin point at other
 * inodes - and nothing else of trusted.* has a meaning a container could
 * use (reading it needs CAP_SYS_ADMIN in the init namespace).  The only
 * overlay marker a layer may carry is its opaque whiteout entry
 * (.wh..wh..opq), which unpack_entry turns into trusted.overlay.opaque
 * itself.  security.* other than security.capability is dropped too:
 * SELinux/SMACK labels (security.selinux, security.SMACK64*) and IMA/EVM
 * signatures are the host's policy to set, not an image's.
 * Kept: security.capability (file capabilities, e.g. ping's
 * cap_net_raw), user.*, and POSIX ACLs (system.posix_acl_*), which grant
 * nothing the image's own root could not grant inside the container. */
bool layer_xattr_allowed(const char *name) {
        if (!strncmp(name, "user.", 5))
                return true;
        return !strcmp(name, "security.capability") ||
               !strcmp(name, "system.posix_acl_access") ||
               !strcmp(name, "system.posix_acl_default");
}

static void set_xattrs(int fd, struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) ==
               ARCHIVE_OK) {
                if (!name || !layer_xattr_allowed(name))
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        /* Unsupported namespaces are skipped, as docker
                         * does. */
                }
        }
}

/* Where a regular file's bytes come from: the archive (read in place),
 * or a buffer a parallel unpack worker got them in. */
struct data_src {
        struct archive *a;
        const unsigned char *buf;
        size_t len;
};

static int write_data(const struct data_src *src, int fd) {
        if (!src->a) {
                size_t off = 0;
                while (off < src->len) {
                        ssize_t n = write(fd, src->buf + off, src->len - off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        off += (size_t) n;
                }
                return 0;
        }
        struct archive *a = src->a;
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

static int unpack_entry(const struct data_src *src, struct archive_entry *e,
                        int rootfd, struct berr *err) {
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
                set_meta(parent, base, e, false);
                {
                        _cleanup_close_ int d =
                                openat(parent, base,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                               O_CLOEXEC);
                        if (d >= 0)
                                set_xattrs(d, e);
                }
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
                r = write_data(src, fd);
                if (r < 0)
                        return berr_set(err, r, "write '%.200s'", raw);
                /* chown before chmod: chown clears set-id bits; and
                 * before the xattrs: it clears security.capability too
                 * (as moby orders it). */
                set_meta(parent, base, e, false);
                set_xattrs(fd, e);
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

static int unpack_archive_max(struct archive *a, int rootfd, int64_t max_bytes,
                              struct berr *err);

/* ---- parallel unpacking ----
 *
 * Creating thousands of files is where unpacking spends its time (inode
 * allocation in the kernel), so regular files are handed to worker
 * threads while the reading thread goes on.  The result must be exactly
 * what the sequential order gives: an entry that could interact with a
 * file still queued (the same path, a path under it, a directory it lives
 * in, a hard link to it, a whiteout of it) first waits until every queued
 * file is written.  Each entry, queued or not, goes through unpack_entry
 * and so through the same root-confined resolution. */

#define POOL_THREADS   2
#define POOL_MAX_FILE  (8u << 20)  /* larger files are written inline */
#define POOL_MAX_BYTES (64u << 20) /* bytes waiting in the queue */

struct strset {
        char **slots;
        size_t cap, n;
};

static uint64_t str_hash(const char *s) {
        uint64_t h = 1469598103934665603ull;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ull;
        return h;
}

static bool strset_has(const struct strset *set, const char *s) {
        if (!set->cap)
                return false;
        for (size_t i = str_hash(s) & (set->cap - 1);;
             i = (i + 1) & (set->cap - 1)) {
                if (!set->slots[i])
                        return false;
                if (!strcmp(set->slots[i], s))
                        return true;
        }
}

static int strset_add(struct strset *set, const char *s) {
        if (strset_has(set, s))
                return 0;
        if ((set->n + 1) * 2 > set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 1024;
                char **slots = calloc(cap, sizeof(char *));
                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < set->cap; i++) {
                        if (!set->slots[i])
                                continue;
                        size_t j = str_hash(set->slots[i]) & (cap - 1);
                        while (slots[j])
                                j = (j + 1) & (cap - 1);
                        slots[j] = set->slots[i];
                }
                free(set->slots);
                set->slots = slots;
                set->cap = cap;
        }
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        size_t i = str_hash(s) & (set->cap - 1);
        while (set->slots[i])
                i = (i + 1) & (set->cap - 1);
        set->slots[i] = c;
        set->n++;
        return 0;
}

static void strset_clear(struct strset *set) {
        for (size_t i = 0; i < set->cap; i++)
                free(set->slots[i]);
        free(set->slots);
        memset(set, 0, sizeof(*set));
}

struct unpack_job {
        struct archive_entry *e;
        unsigned char *data;
        size_t len;
        struct unpack_job *next;
};

struct pool {
        pthread_mutex_t mu;
        pthread_cond_t work; /* a job was queued, or stop */
        pthread_cond_t idle; /* a job finished */
        struct unpack_job *head, *tail;
        size_t queued_bytes;
        int busy; /* jobs taken and not finished */
        bool stop;
        int rootfd;
        int rc;
        struct berr err;
        struct strset files; /* paths of queued files */
        struct strset dirs;  /* directories they live in */
};

static void job_free(struct unpack_job *j) {
        archive_entry_free(j->e);
        free(j->data);
        free(j);
}

static void *pool_main(void *ud) {
        struct pool *p = ud;
        pthread_mutex_lock(&p->mu);
        for (;;) {
                while (!p->head && !p->stop)
                        pthread_cond_wait(&p->work, &p->mu);
                if (!p->head)
                        break;
                struct unpack_job *j = p->head;
                p->head = j->next;
                if (!p->head)
                        p->tail = NULL;
                p->busy++;
                bool failed = p->rc < 0;
                pthread_mutex_unlock(&p->mu);
                struct berr e = {0};
                int r = 0;
                if (!failed) {
                        struct data_src src = {.buf = j->data, .len = j->len};
                        r = unpack_entry(&src, j->e, p->rootfd, &e);
                }
                pthread_mutex_lock(&p->mu);
                if (r < 0 && p->rc >= 0) {
                        p->rc = r;
                        p->err = e;
                }
                p->queued_bytes -= j->len;
                p->busy--;
                pthread_cond_broadcast(&p->idle);
                pthread_mutex_unlock(&p->mu);
                job_free(j);
                pthread_mutex_lock(&p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        return NULL;
}

/* Wait until every queued file is written; forget them. */
static void pool_drain(struct pool *p) {
        pthread_mutex_lock(&p->mu);
        while (p->head || p->busy)
                pthread_cond_wait(&p->idle, &p->mu);
        pthread_mutex_unlock(&p->mu);
        strset_clear(&p->files);
        strset_clear(&p->dirs);
}

/* Could `name` (cleaned) interact with a queued file? */
static bool pool_conflicts(struct pool *p, const char *name) {
        if (strset_has(&p->files, name) || strset_has(&p->dirs, name))
                return true;
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", name);
        for (char *s = strrchr(buf, '/'); s; s = strrchr(buf, '/')) {
                *s = '\0';
                if (strset_has(&p->files, buf))
                        return true;
        }
        return false;
}

static int pool_note(struct pool *p, const char *name) {
        int r = strset_add(&p->files, name);
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", name);
        for (char *s = strrchr(buf, '/'); r >= 0 && s; s = strrchr(buf, '/')) {
                *s = '\0';
                if (strset_has(&p->dirs, buf))
                        break; /* and so are its parents */
                r = strset_add(&p->dirs, buf);
        }
        return r;
}

static int pool_queue(struct pool *p, struct archive *a,
                      struct archive_entry *e, size_t size, struct berr *err) {
        struct unpack_job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->e = archive_entry_clone(e);
        j->data = size ? malloc(size) : NULL;
        j->len = size;
        if (!j->e || (size && !j->data)) {
                job_free(j);
                return -ENOMEM;
        }
        size_t got = 0;
        while (got < size) {
                la_ssize_t n = archive_read_data(a, j->data + got, size - got);
                if (n <= 0) {
                        job_free(j);
                        return berr_setx(err, EIO, "read layer: %s",
                                         n < 0 ? archive_error_string(a)
                                               : "file data ends early");
                }
                got += (size_t) n;
        }
        pthread_mutex_lock(&p->mu);
        while (p->queued_bytes > POOL_MAX_BYTES && p->rc >= 0)
                pthread_cond_wait(&p->idle, &p->mu);
        if (p->tail)
                p->tail->next = j;
        else
                p->head = j;
        p->tail = j;
        p->queued_bytes += size;
        pthread_cond_signal(&p->work);
        pthread_mutex_unlock(&p->mu);
        return 0;
}

static int unpack_one(struct pool *p, int rootfd, struct archive *a,
                      struct archive_entry *e, struct berr *err) {
        const char *raw = archive_entry_pathname(e);
        char name[4096];
        int n = raw ? clean_name(raw, name, sizeof(name)) : -EINVAL;
        struct data_src src = {.a = a};
        if (n <= 0 || !p)
                return unpack_entry(&src, e, rootfd, err);
        const char *hl = archive_entry_hardlink(e);
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        bool conflict = pool_conflicts(p, name);
        if (!conflict && hl) {
                char tname[4096];
                conflict = clean_name(hl, tname, sizeof(tname)) <= 0 ||
                           pool_conflicts(p, tname);
        }
        if (!conflict && !strncmp(base, WH_PREFIX, 4)) {
                /* The whiteout's target, and the directory an opaque
                 * marker applies to. */
                char t[4096];
                size_t dl = (size_t) (base - name);
                snprintf(t, sizeof(t), "%.*s%s", (int) dl, name,
                         strcmp(base, WH_OPAQUE) ? base + 4 : "");
                if (dl && !strcmp(base, WH_OPAQUE))
                        t[dl - 1] = '\0';
                conflict = *t ? pool_conflicts(p, t) : true;
        }
        if (conflict)
                pool_drain(p);
        pthread_mutex_lock(&p->mu);
        int failed = p->rc;
        pthread_mutex_unlock(&p->mu);
        if (failed < 0)
                return failed;
        la_int64_t size = archive_entry_size(e);
        if (!hl && archive_entry_filetype(e) == AE_IFREG &&
            strncmp(base, WH_PREFIX, 4) != 0 && size >= 0 &&
            size <= (la_int64_t) POOL_MAX_FILE &&
            archive_entry_sparse_count(e) == 0) {
                int r = pool_note(p, name);
                return r < 0 ? r : pool_queue(p, a, e, (size_t) size, err);
        }
        return unpack_entry(&src, e, p->rootfd, err);
}

int layer_unpack_archive(struct archive *a, int rootfd, struct berr *err) {
        return unpack_archive_max(a, rootfd, 0, err);
}

static int unpack_archive_max(struct archive *a, int rootfd, int64_t max_bytes,
                              struct berr *err) {
        struct pool p = {.rootfd = rootfd};
        int64_t bytes = 0;
        pthread_mutex_init(&p.mu, NULL);
        pthread_cond_init(&p.work, NULL);
        pthread_cond_init(&p.idle, NULL);
        pthread_t th[POOL_THREADS];
        size_t started = 0;
        for (; started < POOL_THREADS; started++)
                if (pthread_create(&th[started], NULL, pool_main, &p) != 0)
                        break;
        /* Without workers the same code runs sequentially. */
        struct pool *pp = started ? &p : NULL;
        int r = 0;
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
                        r = berr_setx(err, EINVAL, "read layer: %s",
                                      archive_error_string(a));
                        break;
                }
                /* Regular files' declared sizes: what their data may
                 * take on disk at most. */
                la_int64_t sz = archive_entry_size(e);
                if (archive_entry_filetype(e) == AE_IFREG && sz > 0)
                        bytes += sz;
                if (max_bytes > 0 && bytes > max_bytes) {
                        r = berr_setx(err, EFBIG,
                                      "the archive's files hold more than "
                                      "%lld bytes",
                                      (long long) max_bytes);
                        break;
                }
                r = unpack_one(pp, rootfd, a, e, err);
                if (r < 0)
                        break;
        }
        if (pp)
                pool_drain(pp);
        pthread_mutex_lock(&p.mu);
        p.stop = true;
        pthread_cond_broadcast(&p.work);
        pthread_mutex_unlock(&p.mu);
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        for (struct unpack_job *j = p.head, *next; j; j = next) {
                next = j->next;
                job_free(j);
        }
        strset_clear(&p.files);
        strset_clear(&p.dirs);
        if (r >= 0 && p.rc < 0) {
                r = p.rc;
                if (err)
                        *err = p.err;
        }
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.work);
        pthread_cond_destroy(&p.idle);
        return r;
}

int layer_unpack(int fd, int rootfd, struct berr *err) {
        return layer_unpack_max(fd, rootfd, 0, err);
}

int layer_unpack_max(int fd, int rootfd, int64_t max_bytes, struct berr *err) {
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
                r = unpack_archive_max(a, rootfd, max_bytes, err);
        archive_read_free(a);
        return r;
}
