/* What builds add to the store: images made on top of another (a new
 * layer from a directory in overlayfs' upper form, or only a new config),
 * their Parent links, and the build cache (a step's key -> the image it
 * made).
 *
 * A layer directory is written as an OCI layer tar (whiteouts become
 * ".wh." entries) into tmp/ while hashed - that is its diff_id - and then
 * goes through store_commit_layer like an imported one, so a built layer
 * is stored exactly as a pulled one would be: unpacked in layers/CHAIN,
 * its tar in blobs/ for save and push. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "image.h"
#include "store_internal.h"
#include "util.h"

#define OVL_OPAQUE "trusted.overlay.opaque"

struct tar_out {
        int fd;
        struct digest *d;
        int64_t size;
        int err; /* errno of a failed write */
};

static la_ssize_t tar_write(struct archive *a, void *ud, const void *buf,
                            size_t n) {
        (void) a;
        struct tar_out *o = ud;
        if (write_all(o->fd, buf, n) < 0) {
                o->err = errno;
                return -1;
        }
        digest_update(o->d, buf, n);
        o->size += (int64_t) n;
        return (la_ssize_t) n;
}

struct link_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct walk {
        struct archive *a;
        char *const *skip_empty;
        struct link_seen *links;
        size_t n_links;
        size_t entries;
        struct berr *err;
};

/* The names in a directory, sorted (so a layer's tar is reproducible). */
static int sorted_names(int dfd, char ***ret) {
        int fd = dup(dfd);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        rewinddir(dir);
        char **v = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(dir))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (strv_push(&v, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(dir);
        if (r < 0) {
                strv_free(v);
                return r;
        }
        strv_sort(v);
        *ret = v;
        return (int) n;
}

static bool listed(const struct walk *w, const char *rel) {
        for (size_t i = 0; w->skip_empty && w->skip_empty[i]; i++)
                if (!strcmp(w->skip_empty[i], rel))
                        return true;
        return false;
}

/* A listed path that is an empty file, or a directory holding only
 * such paths (etc/ with nothing but the hosts mount point in it). */
static bool skipped(const struct walk *w, const char *rel, int dfd,
                    const char *name, const struct stat *st) {
        if (!listed(w, rel))
                return false;
        if (S_ISREG(st->st_mode))
                return st->st_size == 0;
        if (!S_ISDIR(st->st_mode))
                return false;
        _cleanup_close_ int fd = openat(
                dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char **names = NULL;
        int n = fd >= 0 ? sorted_names(fd, &names) : -1;
        bool all = n >= 0;
        for (int i = 0; all && i < n; i++) {
                _cleanup_free_ char *sub = str_printf("%s/%s", rel, names[i]);
                struct stat cst;
                all = sub &&
                      fstatat(fd, names[i], &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
                      skipped(w, sub, fd, names[i], &cst);
        }
        strv_free(names);
        return all;
}

/* Extended attributes worth keeping (file capabilities, user.*), never
 * overlayfs' own. */
static void add_xattrs(struct archive_entry *e, int fd) {
        char list[4096];
        ssize_t n = flistxattr(fd, list, sizeof(list));
        for (ssize_t off = 0; n > 0 && off < n;
             off += (ssize_t) strlen(list + off) + 1) {
                const char *k = list + off;
                if (strncmp(k, "user.", 5) != 0 &&
                    strcmp(k, "security.capability") != 0)
                        continue;
                char val[4096];
                ssize_t vn = fgetxattr(fd, k, val, sizeof(val));
                if (vn >= 0)
                        archive_entry_xattr_add_entry(e, k, val, (size_t) vn);
        }
}

static int write_header(struct walk *w, struct archive_entry *e,
                        const char *rel) {
        if (archive_write_header(w->a, e) != ARCHIVE_OK)
                return berr_setx(w->err, EIO, "layer tar: entry '%s': %s", rel,
                                 archive_error_string(w->a));
        w->entries++;
        return 0;
}

static int add_marker(struct walk *w, const char *dir, const char *name,
                      const struct stat *st) {
        _cleanup_free_ char *rel =
                *dir ? str_printf("%s/%s", dir, name) : strdup(name);
        if (!rel)
                return -ENOMEM;
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, rel);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        int r = write_header(w, e, rel);
        archive_entry_free(e);
        return r;
}

static int copy_data(struct walk *w, int fd, const char *rel) {
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                if (archive_write_data(w->a, buf, (size_t) n) != n)
                        return berr_setx(w->err, EIO, "layer tar: '%s': %s",
                                         rel, archive_error_string(w->a));
        }
        return n < 0 ? berr_set(w->err, errno, "read '%s'", rel) : 0;
}

static int walk_dir(struct walk *w, int dfd, const char *dir);

static int walk_entry(struct walk *w, int dfd, const char *dir,
                      const char *name) {
        _cleanup_free_ char *rel =
                *dir ? str_printf("%s/%s", dir, name) : strdup(name);
        if (!rel)
                return -ENOMEM;
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return berr_set(w->err, errno, "stat '%s'", rel);
        if (skipped(w, rel, dfd, name, &st))
                return 0;
        /* overlayfs' whiteout: a 0:0 character device. */
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                _cleanup_free_ char *wh = str_printf(".wh.%s", name);
                return wh ? add_marker(w, dir, wh, &st) : -ENOMEM;
        }
        _cleanup_close_ int fd = -1;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berr_set(w->err, errno, "open '%s'", rel);
        }
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_copy_stat(e, &st);
        archive_entry_set_pathname(e, rel);
        archive_entry_set_uname(e, "");
        archive_entry_set_gname(e, "");
        bool data = false;
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        archive_entry_free(e);
                        return berr_set(w->err, errno, "read link '%s'", rel);
                }
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
                archive_entry_set_size(e, 0);
        } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < w->n_links; i++) {
                        if (w->links[i].dev == st.st_dev &&
                            w->links[i].ino == st.st_ino) {
                                archive_entry_set_hardlink(e, w->links[i].path);
                                archive_entry_set_size(e, 0);
                                goto header;
                        }
                }
                struct link_seen *nl =
                        realloc(w->links, (w->n_links + 1) * sizeof(*w->links));
                if (!nl) {
                        archive_entry_free(e);
                        return -ENOMEM;
                }
                w->links = nl;
                w->links[w->n_links++] =
                        (struct link_seen){st.st_dev, st.st_ino, strdup(rel)};
                data = true;
        } else if (S_ISREG(st.st_mode)) {
                data = true;
        } else if (!S_ISDIR(st.st_mode)) {
                archive_entry_set_size(e, 0);
        }
        if (fd >= 0)
                add_xattrs(e, fd);
header:;
        int r = write_header(w, e, rel);
        archive_entry_free(e);
        if (r < 0)
                return r;
        if (data)
                return copy_data(w, fd, rel);
        if (!S_ISDIR(st.st_mode))
                return 0;
        char v[2];
        if (fgetxattr(fd, OVL_OPAQUE, v, sizeof(v)) == 1 && v[0] == 'y') {
                r = add_marker(w, rel, ".wh..wh..opq", &st);
                if (r < 0)
                        return r;
        }
        return walk_dir(w, fd, rel);
}

static int walk_dir(struct walk *w, int dfd, const char *dir) {
        char **names = NULL;
        int n = sorted_names(dfd, &names);
        if (n < 0)
                return berr_set(w->err, n, "read directory '%s'",
                                *dir ? dir : "/");
        int r = 0;
        for (int i = 0; r >= 0 && i < n; i++)
                r = walk_entry(w, dfd, dir, names[i]);
        strv_free(names);
        return r;
}

/* The layer tar of `upper_fd` into tmp/ (relative path in *ret_path, an
 * fd at offset 0 returned); *ret_entries tells an empty diff. */
static int write_layer_tar(struct image_store *s, int upper_fd,
                           char *const *skip_empty, char diffid[72],
                           char **ret_path, int64_t *ret_size,
                           size_t *ret_entries, struct berr *err) {
        _cleanup_free_ char *path = store_tmp_name("layer");
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = openat(
                s->rootfd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return berr_set(err, errno, "create '%s'", path);
        struct tar_out o = {.fd = fd, .d = digest_new()};
        struct archive *a = archive_write_new();
        struct walk w = {.a = a, .skip_empty = skip_empty, .err = err};
        int r = 0;
        if (!o.d || !a) {
                r = -ENOMEM;
                goto out;
        }
        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open2(a, &o, NULL, tar_write, NULL, NULL) !=
            ARCHIVE_OK) {
                r = berr_setx(err, EIO, "layer tar: %s",
                              archive_error_string(a));
                goto out;
        }
        r = walk_dir(&w, upper_fd, "");
        if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
                r = berr_setx(err, o.err ? o.err : EIO, "layer tar: %s",
                              archive_error_string(a));
out:
        if (a)
                archive_write_free(a);
        for (size_t i = 0; i < w.n_links; i++)
                free(w.links[i].path);
        free(w.links);
        char dig[72];
        if (o.d)
                digest_final(o.d, dig);
        if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = berr_set(err, errno, "rewind '%s'", path);
        if (r < 0) {
                unlinkat(s->rootfd, path, 0);
                return r;
        }
        memcpy(diffid, dig, 72);
        *ret_size = o.size;
        *ret_entries = w.entries;
        *ret_path = TAKE_PTR(path);
        return TAKE_FD(fd);
}

static void now_rfc3339(char *buf, size_t n) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        format_rfc3339(buf, n, ts.tv_sec, ts.tv_nsec);
}

static json_t *new_config_doc(void) {
        struct utsname u;
        uname(&u);
        const char *arch = !strcmp(u.machine, "x86_64")    ? "amd64"
                           : !strcmp(u.machine, "aarch64") ? "arm64"
                                                           : u.machine;
        return json_pack("{s:s, s:s, s:{s:s, s:[]}, s:[]}", "architecture",
                         arch, "os", "linux", "rootfs", "type", "layers",
                         "diff_ids", "history");
}

int image_commit_child(struct image_store *s, const struct image_child *c,
                       char **ret_id, struct berr *err) {
        json_t *cfg = c->config ? json_loads(c->config, 0, NULL) : NULL;
        if (c->config && !json_is_object(cfg)) {
                json_decref(cfg);
                return berr_setx(err, EINVAL, "image config is not an object");
        }
        json_t *doc = NULL;
        if (c->parent) {
                doc = store_config_load(s, c->parent);
                if (!doc) {
                        json_decref(cfg);
                        return berr_setx(err, ENOENT, "No such image: %s",
                                         c->parent);
                }
        } else {
                doc = new_config_doc();
        }
        json_object_del(doc, "container");
        json_object_del(doc, "container_config");
        json_object_set_new(doc, "config", cfg ? cfg : json_object());
        json_t *rootfs = json_object_get(doc, "rootfs");
        json_t *diffs = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(diffs)) {
                diffs = json_array();
                json_object_set_new(rootfs, "diff_ids", diffs);
        }
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *tarpath = NULL;
        _cleanup_free_ char *prepared = NULL;
        char diffid[72];
        int64_t size = 0;
        bool empty = true;
        int r = 0;
        /* The layer is written and unpacked in tmp/ first; the store's
         * lock is held only for the commit. */
        if (c->upper_fd >= 0) {
                size_t entries = 0;
                _cleanup_close_ int tfd =
                        write_layer_tar(s, c->upper_fd, c->skip_empty, diffid,
                                        &tarpath, &size, &entries, err);
                if (tfd < 0) {
                        json_decref(doc);
                        return tfd;
                }
                empty = entries == 0;
                if (!empty)
                        r = store_prepare_layer(s, tfd, diffid, &prepared, err);
        }
        if (r >= 0) {
                r = store_lock(s);
                if (r < 0)
                        berr_set(err, r, "lock the image store");
        }
        if (r < 0) {
                if (tarpath)
                        unlinkat(s->rootfd, tarpath, 0);
                if (prepared)
                        rm_rf_at(s->rootfd, prepared);
                json_decref(doc);
                return r;
        }
        if (!empty) {
                json_array_append_new(diffs, json_string(diffid));
                json_t *chain = store_chain_ids(diffs);
                const char *top = json_string_value(
                        json_array_get(chain, json_array_size(chain) - 1));
                r = top ? store_commit_layer(s, top, diffid, prepared, tarpath,
                                             size, err)
                        : -ENOMEM;
                json_decref(chain);
        }
        if (tarpath)
                unlinkat(s->rootfd, tarpath, 0);
        if (prepared)
                rm_rf_at(s->rootfd, prepared);
        if (r < 0)
                goto out;
        char now[64];
        now_rfc3339(now, sizeof(now));
        json_object_set_new(doc, "created", json_string(now));
        json_t *hist = json_object_get(doc, "history");
        if (!json_is_array(hist)) {
                hist = json_array();
                json_object_set_new(doc, "history", hist);
        }
        json_t *h = json_pack("{s:s, s:s}", "created", now, "created_by",
                              c->created_by ? c->created_by : "");
        if (c->comment && *c->comment)
                json_object_set_new(h, "comment", json_string(c->comment));
        if (empty)
                json_object_set_new(h, "empty_layer", json_true());
        json_array_append_new(hist, h);
        text = json_dumps(doc, JSON_COMPACT);
        char id[72];
        r = text ? store_write_blob(s, text, id, err) : -ENOMEM;
        if (r >= 0)
                r = store_write_image_record(s, id, err);
        if (r >= 0 && c->parent) {
                json_t *rec = store_image_record(s, id);
                json_object_set_new(rec, "Parent", json_string(c->parent));
                _cleanup_free_ char *p =
                        str_printf("images/%s.json", store_hex(id));
                r = p ? store_save_json(s->rootfd, p, rec) : -ENOMEM;
                json_decref(rec);
                if (r < 0)
                        berr_set(err, r, "store image %s", id);
        }
        if (r >= 0) {
                *ret_id = strdup(id);
                if (!*ret_id)
                        r = -ENOMEM;
        }
out:
        if (r < 0)
                store_gc_locked(s);
        store_unlock(s);
        json_decref(doc);
        return r;
}

char *store_parent_of(struct image_store *s, const char *id) {
        json_t *rec = store_image_record(s, id);
        const char *p = json_string_value(json_object_get(rec, "Parent"));
        char *out = p && store_image_exists(s, store_hex(p)) ? strdup(p) : NULL;
        json_decref(rec);
        return out;
}

/* ---- the build cache: cache/KEY holds the id a step made ---- */

static bool key_ok(const char *key) {
        size_t n = strlen(key);
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", key[i]))
                        return false;
        return true;
}

int image_cache_get(struct image_store *s, const char *key, char **ret_id) {
        if (!key_ok(key))
                return -EINVAL;
        _cleanup_free_ char *p = str_printf("cache/%s", key);
        char *text = NULL;
        if (!p || read_file_at(s->rootfd, p, 128, &text, NULL) < 0)
                return -ENOENT;
        text[strcspn(text, "\n")] = '\0';
        if (!str_startswith(text, "sha256:") ||
            !store_image_exists(s, store_hex(text))) {
                free(text);
                return -ENOENT;
        }
        *ret_id = text;
        return 0;
}

int image_cache_put(struct image_store *s, const char *key, const char *id,
                    struct berr *err) {
        if (!key_ok(key))
                return berr_setx(err, EINVAL, "invalid cache key '%s'", key);
        if (mkdirat(s->rootfd, "cache", 0700) < 0 && errno != EEXIST)
                return berr_set(err, errno, "create the build cache");
        _cleanup_free_ char *p = str_printf("cache/%s", key);
        /* Not synced: a cache entry lost in a crash is a step rebuilt. */
        int r = p ? write_file_atomic_at(s->rootfd, p, id, strlen(id), 0600, 0)
                  : -ENOMEM;
        return r < 0 ? berr_set(err, r, "write build cache entry") : 0;
}

int image_tmpdir(struct image_store *s, const char *prefix, char **ret_path,
                 struct berr *err) {
        _cleanup_free_ char *rel = store_tmp_name(prefix);
        if (!rel)
                return -ENOMEM;
        if (mkdirat(s->rootfd, rel, 0700) < 0)
                return berr_set(err, errno, "create '%s/%s'", s->root, rel);
        char *abs = str_printf("%s/%s", s->root, rel);
        if (!abs) {
                rm_rf_at(s->rootfd, rel);
                return -ENOMEM;
        }
        *ret_path = abs;
        return 0;
}
