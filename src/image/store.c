/* The image store.  Layout under the root:
 *   blobs/sha256/HEX        configs, and each layer's uncompressed tar (by
 *                           diff_id: what `save` writes back unchanged)
 *   layers/CHAINHEX/diff    the unpacked layer (overlay lower dir)
 *   layers/CHAINHEX/layer.json  {diff_id, size}
 *   images/HEX.json         one per image: {"Id", "Created"}
 *   repositories.json       {"docker.io/library/x:tag": "sha256:..."}
 *   tmp/                    work in progress; emptied at open
 *   lock                    flock'ed by every mutation
 * Everything is committed by rename (after fsync), so a crash leaves either
 * the old or the new state. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "decomp.h"
#include "digest.h"
#include "error.h"
#include "image.h"
#include "store_internal.h"
#include "unpack.h"
#include "util.h"

int store_lock(struct image_store *s) {
        /* The daemon's loop never waits for a lock: its callers retry
         * from the loop (writers hold the lock for moments only). */
        int how = LOCK_EX | (s->nonblocking ? LOCK_NB : 0);
        while (flock(s->lockfd, how) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

void image_store_set_nonblocking(struct image_store *s, bool nonblocking) {
        s->nonblocking = nonblocking;
}

void image_store_set_limits(struct image_store *s, int64_t max_layer,
                            int64_t max_image) {
        s->max_layer = max_layer > 0 ? max_layer : IMAGE_MAX_LAYER_DEFAULT;
        s->max_image = max_image > 0 ? max_image : IMAGE_MAX_IMAGE_DEFAULT;
}

static void format_bound(char *buf, size_t n, int64_t v) {
        char h[32];
        human_size_si(h, sizeof(h), (double) v, 3);
        snprintf(buf, n, "%lld bytes, %s", (long long) v, h);
}

int store_account(struct image_store *s, int64_t *layer_total, int64_t n,
                  struct berr *err) {
        char b[64];
        *layer_total += n;
        if (*layer_total > s->max_layer) {
                format_bound(b, sizeof(b), s->max_layer);
                return berr_setx(err, EFBIG,
                                 "layer unpacks to more than max-layer-size "
                                 "(%s): refused",
                                 b);
        }
        int64_t used = __atomic_add_fetch(&s->image_used, n, __ATOMIC_RELAXED);
        if (used > s->max_image) {
                format_bound(b, sizeof(b), s->max_image);
                return berr_setx(err, EFBIG,
                                 "image unpacks to more than max-image-size "
                                 "(%s): refused",
                                 b);
        }
        return 0;
}

int image_budget_begin(struct image_store *s, char *const *diff_ids,
                       struct berr *err) {
        __atomic_store_n(&s->image_used, 0, __ATOMIC_RELAXED);
        json_t *diffs = json_array();
        for (size_t i = 0; diff_ids && diff_ids[i]; i++)
                json_array_append_new(diffs, json_string(diff_ids[i]));
        json_t *chain = store_chain_ids(diffs);
        int64_t have = 0;
        size_t i;
        json_t *c;
        json_array_foreach(chain, i,
                           c) if (store_layer_exists(s, json_string_value(c)))
                have += store_layer_size(s, json_string_value(c));
        json_decref(chain);
        json_decref(diffs);
        int64_t none = 0;
        return store_account(s, &none, have, err);
}

void store_unlock(struct image_store *s) {
        flock(s->lockfd, LOCK_UN);
        /* Workers remove the garbage now, outside the lock; the daemon
         * takes it (image_store_take_trash) and removes it elsewhere. */
        if (!s->nonblocking)
                store_empty_trash(s);
}

/* Layers unpack into directories under tmp/.  Marked as the top of a
 * directory hierarchy (chattr +T), ext4's Orlov allocator spreads each new
 * layer over a fresh block group instead of packing it next to the layers
 * deleted before it, where finding free inodes means skipping thousands of
 * recently freed ones (a quadratic cost when layers are pulled and removed
 * repeatedly).  Other filesystems ignore the flag or refuse it: harmless. */
static void mark_topdir(int rootfd, const char *name) {
        _cleanup_close_ int fd =
                openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int flags = 0;
        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return;
        if (!(flags & FS_TOPDIR_FL)) {
                flags |= FS_TOPDIR_FL;
                (void) ioctl(fd, FS_IOC_SETFLAGS, &flags);
        }
}

static int store_open(const char *root, bool cleanup, struct image_store **ret,
                      struct berr *err) {
        int r = mkdir_p(root, 0700);
        if (r < 0 && r != -EEXIST)
                return berr_set(err, r, "create '%s'", root);
        struct image_store *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        image_store_set_limits(s, 0, 0);
        s->root = strdup(root);
        s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!s->root || s->rootfd < 0) {
                r = berr_set(err, errno, "open '%s'", root);
                image_store_free(s);
                return r;
        }
        const char *dirs[] = {"blobs",  "blobs/sha256", "layers",
                              "images", "diffs",        "tmp"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdirat(s->rootfd, dirs[i], 0700) < 0 && errno != EEXIST) {
                        r = berr_set(err, errno, "create '%s/%s'", root,
                                     dirs[i]);
                        image_store_free(s);
                        return r;
                }
        s->lockfd =
                openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lockfd < 0) {
                r = berr_set(err, errno, "open '%s/lock'", root);
                image_store_free(s);
                return r;
        }
        /* Leftovers of work a crash interrupted (only the owner cleans:
         * workers attached to the store have work of their own there). */
        if (cleanup && flock(s->lockfd, LOCK_EX | LOCK_NB) == 0) {
                rm_rf_at(s->rootfd, "tmp");
                mkdirat(s->rootfd, "tmp", 0700);
                flock(s->lockfd, LOCK_UN);
        }
        mark_topdir(s->rootfd, "tmp");
        *ret = s;
        return 0;
}

int image_store_open(const char *root, struct image_store **ret,
                     struct berr *err) {
        return store_open(root, true, ret, err);
}

int image_store_attach(const char *root, struct image_store **ret,
                       struct berr *err) {
        return store_open(root, false, ret, err);
}

struct image_store *image_store_free(struct image_store *s) {
        if (!s)
                return NULL;
        if (s->rootfd >= 0)
                close(s->rootfd);
        if (s->lockfd > 0)
                close(s->lockfd);
        free(s->trash);
        free(s->root);
        free(s);
        return NULL;
}

const char *store_hex(const char *id) {
        return str_startswith(id, "sha256:") ? id + 7 : id;
}

json_t *store_load_json(int dirfd, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (read_file_at(dirfd, path, 64 << 20, &text, &len) < 0)
                return NULL;
        return json_loadb(text, len, 0, NULL);
}

int store_save_json(int dirfd, const char *path, json_t *j) {
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        return write_file_atomic_at(dirfd, path, text, strlen(text), 0600,
                                    WRITE_SYNC);
}

json_t *store_repos_load(struct image_store *s) {
        json_t *j = store_load_json(s->rootfd, "repositories.json");
        return json_is_object(j) ? j : (json_decref(j), json_object());
}

bool store_image_exists(struct image_store *s, const char *hex) {
        _cleanup_free_ char *p = str_printf("images/%s.json", hex);
        return p && faccessat(s->rootfd, p, F_OK, 0) == 0;
}

json_t *store_config_load(struct image_store *s, const char *id) {
        _cleanup_free_ char *p = str_printf("blobs/sha256/%s", store_hex(id));
        return p ? store_load_json(s->rootfd, p) : NULL;
}

/* chain[i] = diff[0] for i == 0, else sha256(chain[i-1] + " " + diff[i]) */
json_t *store_chain_ids(json_t *diff_ids) {
        json_t *out = json_array();
        char prev[72] = "";
        size_t i;
        json_t *d;
        json_array_foreach(diff_ids, i, d) {
                const char *s = json_string_value(d);
                if (!s)
                        continue;
                char cur[72];
                if (i == 0)
                        snprintf(cur, sizeof(cur), "%s", s);
                else {
                        _cleanup_free_ char *in = str_printf("%s %s", prev, s);
                        digest_buf(in, in ? strlen(in) : 0, cur);
                }
                json_array_append_new(out, json_string(cur));
                memcpy(prev, cur, sizeof(prev));
        }
        return out;
}

int image_resolve(struct image_store *s, const char *ref, char **ret_id,
                  struct berr *err) {
        if (!ref || !*ref)
                return berr_setx(err, ENOENT, "No such image: %s", "");
        const char *h = store_hex(ref);
        if (strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64 &&
            store_image_exists(s, h)) {
                *ret_id = str_printf("sha256:%s", h);
                return *ret_id ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *full = NULL;
        struct berr e2 = {0};
        if (reference_normalize(ref, &full, &e2) >= 0) {
                json_t *repos = store_repos_load(s);
                const char *id =
                        json_string_value(json_object_get(repos, full));
                if (id && store_image_exists(s, store_hex(id))) {
                        *ret_id = strdup(id);
                        json_decref(repos);
                        return *ret_id ? 0 : -ENOMEM;
                }
                json_decref(repos);
        }
        /* A unique prefix of an id. */
        size_t n = strlen(h);
        if (n >= 1 && n < 64 && strspn(h, "0123456789abcdef") == n) {
                int fd = openat(s->rootfd, "images",
                                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
                char found[65] = "";
                int count = 0;
                struct dirent *de;
                while (dir && (de = readdir(dir)))
                        if (strncmp(de->d_name, h, n) == 0 &&
                            strlen(de->d_name) == 69) {
                                snprintf(found, sizeof(found), "%.64s",
                                         de->d_name);
                                count++;
                        }
                if (dir)
                        closedir(dir);
                else if (fd >= 0)
                        close(fd);
                if (count == 1) {
                        *ret_id = str_printf("sha256:%s", found);
                        return *ret_id ? 0 : -ENOMEM;
                }
        }
        return berr_setx(err, ENOENT, "No such image: %s", ref);
}

int image_config_json(struct image_store *s, const char *id, char **ret_json,
                      struct berr *err) {
        json_t *c = store_config_load(s, id);
        if (!c)
                return berr_setx(err, ENOENT, "No such image: %s", id);
        json_t *cfg = json_object_get(c, "config");
        *ret_json = json_dumps(json_is_object(cfg) ? cfg : json_object(),
                               JSON_COMPACT);
        json_decref(c);
        return *ret_json ? 0 : -ENOMEM;
}

int image_layer_dirs(struct image_store *s, const char *id, char ***ret_dirs,
                     struct berr *err) {
        json_t *c = store_config_load(s, id);
        if (!c)
                return berr_setx(err, ENOENT, "No such image: %s", id);
        json_t *chain = store_chain_ids(
                json_object_get(json_object_get(c, "rootfs"), "diff_ids"));
        json_decref(c);
        char **v = calloc(json_array_size(chain) + 1, sizeof(char *));
        if (!v) {
                json_decref(chain);
                return -ENOMEM;
        }
        size_t n = json_array_size(chain);
        for (size_t i = 0; i < n; i++) {
                const char *cid =
                        json_string_value(json_array_get(chain, n - 1 - i));
                v[i] = str_printf("%s/layers/%s/diff", s->root, store_hex(cid));
        }
        json_decref(chain);
        *ret_dirs = v;
        return 0;
}

json_t *store_tags_of(struct image_store *s, const char *id, json_t *repos) {
        json_t *tags = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(repos, k, v) {
                if (strcmp(json_string_value(v) ?: "", id) != 0 ||
                    strchr(k, '@'))
                        continue;
                char *f = reference_familiar(k);
                json_array_append_new(tags, json_string(f ? f : k));
                free(f);
        }
        (void) s;
        return tags;
}

int64_t store_layer_size(struct image_store *s, const char *chain) {
        _cleanup_free_ char *p =
                str_printf("layers/%s/layer.json", store_hex(chain));
        json_t *j = p ? store_load_json(s->rootfd, p) : NULL;
        int64_t n = (int64_t) json_integer_value(json_object_get(j, "size"));
        json_decref(j);
        return n;
}

static int64_t image_size(struct image_store *s, json_t *cfg) {
        json_t *chain = store_chain_ids(
                json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"));
        int64_t total = 0;
        size_t i;
        json_t *c;
        json_array_foreach(chain, i, c) total +=
                store_layer_size(s, json_string_value(c));
        json_decref(chain);
        return total;
}

static int64_t created_unix(json_t *cfg) {
        const char *c = json_string_value(json_object_get(cfg, "created"));
        struct tm tm = {0};
        if (!c || !strptime(c, "%Y-%m-%dT%H:%M:%S", &tm))
                return 0;
        return (int64_t) timegm(&tm);
}

/* {parent id: number of images naming it as Parent}. */
static json_t *children_map(struct image_store *s) {
        json_t *m = json_object();
        int fd =
                openat(s->rootfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                if (strlen(de->d_name) != 69)
                        continue;
                char hex[65];
                snprintf(hex, sizeof(hex), "%.64s", de->d_name);
                json_t *rec = store_image_record(s, hex);
                const char *p =
                        json_string_value(json_object_get(rec, "Parent"));
                if (p)
                        json_object_set_new(
                                m, p,
                                json_integer(json_integer_value(
                                                     json_object_get(m, p)) +
                                             1));
                json_decref(rec);
        }
        if (dir)
                closedir(dir);
        else if (fd >= 0)
                close(fd);
        return m;
}

int image_inspect_json(struct image_store *s, const char *id, char **ret_json,
                       struct berr *err) {
        json_t *c = store_config_load(s, id);
        if (!c)
                return berr_setx(err, ENOENT, "No such image: %s", id);
        json_t *repos = store_repos_load(s);
        json_t *tags = store_tags_of(s, id, repos);
        json_decref(repos);
        json_t *chain = store_chain_ids(
                json_object_get(json_object_get(c, "rootfs"), "diff_ids"));
        char *lower = NULL;
        size_t llen = 0;
        FILE *f = open_memstream(&lower, &llen);
        size_t n = json_array_size(chain);
        for (size_t i = 0; f && i < n; i++)
                fprintf(f, "%s%s/layers/%s/diff", i ? ":" : "", s->root,
                        store_hex(json_string_value(
                                json_array_get(chain, n - 1 - i))));
        if (f)
                fclose(f);
        json_decref(chain);
        int64_t size = image_size(s, c);
        json_t *cfg = json_object_get(c, "config");
        _cleanup_free_ char *parent = store_parent_of(s, id);
        json_t *out = json_pack(
                "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:O,"
                " s:s, s:s, s:I, s:I, s:{s:s, s:{s:s}}, s:{s:s, s:O},"
                " s:{s:s}}",
                "Id", id, "RepoTags", tags, "RepoDigests",
                store_repo_digests(s, id), "Parent", parent ? parent : "",
                "Comment", "", "Created",
                json_string_value(json_object_get(c, "created")) ?: "",
                "Container", "", "ContainerConfig",
                json_is_object(cfg) ? cfg : json_object(), "DockerVersion", "",
                "Author", json_string_value(json_object_get(c, "author")) ?: "",
                "Config", json_is_object(cfg) ? cfg : json_null(),
                "Architecture",
                json_string_value(json_object_get(c, "architecture")) ?: "",
                "Os", json_string_value(json_object_get(c, "os")) ?: "", "Size",
                (json_int_t) size, "VirtualSize", (json_int_t) size,
                "GraphDriver", "Name", "overlay2", "Data", "LowerDir",
                lower ? lower : "", "RootFS", "Type", "layers", "Layers",
                json_object_get(json_object_get(c, "rootfs"), "diff_ids")
                        ?: json_array(),
                "Metadata", "LastTagTime", "0001-01-01T00:00:00Z");
        free(lower);
        json_decref(c);
        *ret_json = out ? json_dumps(out, JSON_COMPACT) : NULL;
        json_decref(out);
        return *ret_json ? 0 : -ENOMEM;
}

static json_t *filter_list(json_t *filters, const char *key) {
        json_t *f = json_object_get(filters, key);
        if (!f)
                return NULL;
        json_t *l = json_array();
        const char *k;
        json_t *v;
        size_t i;
        if (json_is_object(f))
                json_object_foreach(f, k, v)
                        json_array_append_new(l, json_string(k));
        else
                json_array_foreach(f, i, v) json_array_append(l, v);
        return l;
}

static bool glob_match(const char *pat, const char *s) {
        /* '*' matches within a path component, as docker's reference
         * filter does with path.Match. */
        if (!*pat)
                return !*s;
        if (*pat == '*') {
                for (;; s++) {
                        if (glob_match(pat + 1, s))
                                return true;
                        if (!*s || *s == '/')
                                return false;
                }
        }
        return *s && (*pat == *s) && glob_match(pat + 1, s + 1);
}

int image_list_json(struct image_store *s, bool all, const char *filters_json,
                    image_users_fn users, void *ud, char **ret_json,
                    struct berr *err) {
        json_t *filters = filters_json && *filters_json
                                  ? json_loads(filters_json, 0, NULL)
                                  : json_object();
        if (!json_is_object(filters)) {
                json_decref(filters);
                return berr_setx(err, EINVAL, "invalid filter '%s'",
                                 filters_json);
        }
        json_t *fd_ = filter_list(filters, "dangling");
        json_t *fref = filter_list(filters, "reference");
        json_t *flabel = filter_list(filters, "label");
        json_t *repos = store_repos_load(s);
        json_t *children = children_map(s);
        json_t *out = json_array();
        int fd =
                openat(s->rootfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                if (strlen(de->d_name) != 69)
                        continue;
                char id[72];
                snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
                json_t *c = store_config_load(s, id);
                if (!c)
                        continue;
                json_t *tags = store_tags_of(s, id, repos);
                /* Untagged images with children are a build's
                 * intermediate steps: shown with -a only, never
                 * dangling (docker's rule). */
                bool intermediate = json_array_size(tags) == 0 &&
                                    json_object_get(children, id);
                bool ok = all || !intermediate;
                if (ok && fd_ && json_array_size(fd_)) {
                        const char *want =
                                json_string_value(json_array_get(fd_, 0));
                        bool dangling =
                                json_array_size(tags) == 0 && !intermediate;
                        ok = dangling == (want && !strcmp(want, "true"));
                }
                if (ok && fref && json_array_size(fref)) {
                        ok = false;
                        size_t i, j;
                        json_t *p, *t;
                        json_array_foreach(fref, i, p)
                                json_array_foreach(tags, j, t) {
                                const char *pat = json_string_value(p);
                                const char *tag = json_string_value(t);
                                _cleanup_free_ char *repo = strdup(tag);
                                char *colon = repo ? strrchr(repo, ':') : NULL;
                                if (colon)
                                        *colon = '\0';
                                if (glob_match(pat, tag) ||
                                    (repo && glob_match(pat, repo)))
                                        ok = true;
                        }
                }
                json_t *cfg = json_object_get(c, "config");
                json_t *labels = json_object_get(cfg, "Labels");
                if (ok && flabel) {
                        size_t i;
                        json_t *l;
                        json_array_foreach(flabel, i, l) {
                                const char *want = json_string_value(l);
                                const char *eq = strchr(want, '=');
                                _cleanup_free_ char *k =
                                        eq ? strndup(want, (size_t) (eq - want))
                                           : strdup(want);
                                const char *have = json_string_value(
                                        json_object_get(labels, k));
                                if (!have || (eq && strcmp(have, eq + 1)))
                                        ok = false;
                        }
                }
                if (!ok) {
                        json_decref(tags);
                        json_decref(c);
                        continue;
                }
                int64_t size = image_size(s, c);
                int nusers = users ? users(id, NULL, ud) : -1;
                _cleanup_free_ char *parent = store_parent_of(s, id);
                json_array_append_new(
                        out,
                        json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I,"
                                  " s:O, s:i}",
                                  "Id", id, "ParentId", parent ? parent : "",
                                  "RepoTags", tags, "RepoDigests",
                                  store_repo_digests(s, id), "Created",
                                  (json_int_t) created_unix(c), "Size",
                                  (json_int_t) size, "SharedSize",
                                  (json_int_t) -1, "VirtualSize",
                                  (json_int_t) size, "Labels",
                                  json_is_object(labels) ? labels : json_null(),
                                  "Containers", nusers));
                json_decref(c);
        }
        if (dir)
                closedir(dir);
        else if (fd >= 0)
                close(fd);
        json_decref(repos);
        json_decref(children);
        json_decref(fd_);
        json_decref(fref);
        json_decref(flabel);
        json_decref(filters);
        *ret_json = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        return *ret_json ? 0 : -ENOMEM;
}

int image_history_json(struct image_store *s, const char *id, char **ret_json,
                       struct berr *err) {
        json_t *c = store_config_load(s, id);
        if (!c)
                return berr_setx(err, ENOENT, "No such image: %s", id);
        json_t *hist = json_object_get(c, "history");
        json_t *chain = store_chain_ids(
                json_object_get(json_object_get(c, "rootfs"), "diff_ids"));
        json_t *repos = store_repos_load(s);
        json_t *out = json_array();
        size_t n = json_array_size(hist);
        /* Which layer each non-empty history entry made. */
        size_t layer = 0;
        json_t *sizes = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *h = json_array_get(hist, i);
                int64_t sz = 0;
                if (!json_is_true(json_object_get(h, "empty_layer")) &&
                    layer < json_array_size(chain))
                        sz = store_layer_size(
                                s, json_string_value(
                                           json_array_get(chain, layer++)));
                json_array_append_new(sizes, json_integer(sz));
        }
        for (size_t k = n; k > 0; k--) {
                json_t *h = json_array_get(hist, k - 1);
                struct tm tm = {0};
                const char *cr =
                        json_string_value(json_object_get(h, "created"));
                int64_t t = cr && strptime(cr, "%Y-%m-%dT%H:%M:%S", &tm)
                                    ? (int64_t) timegm(&tm)
                                    : 0;
                json_array_append_new(
                        out,
                        json_pack(
                                "{s:s, s:I, s:s, s:o, s:O, s:s}", "Id",
                                k == n ? id : "<missing>", "Created",
                                (json_int_t) t, "CreatedBy",
                                json_string_value(
                                        json_object_get(h, "created_by"))
                                        ?: "",
                                "Tags",
                                k == n ? store_tags_of(s, id, repos)
                                       : json_null(),
                                "Size", json_array_get(sizes, k - 1), "Comment",
                                json_string_value(json_object_get(h, "comment"))
                                        ?: ""));
        }
        json_decref(sizes);
        json_decref(repos);
        json_decref(chain);
        json_decref(c);
        *ret_json = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        return *ret_json ? 0 : -ENOMEM;
}

int store_tag_locked(struct image_store *s, const char *id, const char *new_ref,
                     struct berr *err) {
        _cleanup_free_ char *full = NULL;
        int r = reference_normalize(new_ref, &full, err);
        if (r < 0)
                return r;
        json_t *repos = store_repos_load(s);
        /* Already so (a rebuild from the cache): nothing to write. */
        if (!strcmp(json_string_value(json_object_get(repos, full)) ?: "",
                    id)) {
                json_decref(repos);
                return 0;
        }
        json_object_set_new(repos, full, json_string(id));
        r = store_save_json(s->rootfd, "repositories.json", repos);
        json_decref(repos);
        return r < 0 ? berr_set(err, r, "save tags") : 0;
}

int image_tag(struct image_store *s, const char *src, const char *new_ref,
              struct berr *err) {
        _cleanup_free_ char *id = NULL;
        int r = image_resolve(s, src, &id, err);
        if (r < 0)
                return r;
        r = store_lock(s);
        if (r < 0)
                return r;
        r = store_tag_locked(s, id, new_ref, err);
        store_unlock(s);
        return r;
}

/* Move areas[a]/NAME into this store's trash dir (a rename: the lock is
 * held for moments even when a layer of gigabytes goes); removed in
 * place when no trash dir can be made. */
static void trash_entry(struct image_store *s, const char *area, int afd,
                        const char *name) {
        if (!s->trash) {
                char *t = store_tmp_name("gc");
                if (t && mkdirat(s->rootfd, t, 0700) == 0)
                        s->trash = t;
                else
                        free(t);
        }
        _cleanup_free_ char *dst =
                s->trash ? str_printf("%s/%s-%s", s->trash, area, name) : NULL;
        if (dst) {
                for (char *p = dst + strlen(s->trash) + 1; *p; p++)
                        if (*p == '/')
                                *p = '_';
                if (renameat(afd, name, s->rootfd, dst) == 0)
                        return;
        }
        rm_rf_at(afd, name);
}

void store_empty_trash(struct image_store *s) {
        _cleanup_free_ char *t = image_store_take_trash(s);
        if (t)
                rm_rf_at(s->rootfd, t);
}

char *image_store_take_trash(struct image_store *s) {
        return TAKE_PTR(s->trash);
}

int image_store_remove_trash(struct image_store *s, const char *trash) {
        if (!str_startswith(trash, "tmp/gc-") || strchr(trash + 4, '/'))
                return -EINVAL;
        return rm_rf_at(s->rootfd, trash);
}

/* Remove layers and blobs no image refers to.  Called with the lock; the
 * garbage goes to the trash (store_empty_trash or image_store_take_trash
 * after unlocking). */
void store_gc_locked(struct image_store *s) {
        json_t *keep = json_object();
        int fd =
                openat(s->rootfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
                if (strlen(de->d_name) != 69)
                        continue;
                char hex[65];
                snprintf(hex, sizeof(hex), "%.64s", de->d_name);
                json_object_set_new(keep, hex, json_true());
                json_t *c = store_config_load(s, hex);
                json_t *diffs = json_object_get(json_object_get(c, "rootfs"),
                                                "diff_ids");
                json_t *chain = store_chain_ids(diffs);
                size_t i;
                json_t *v;
                json_array_foreach(diffs, i, v) {
                        const char *dh = store_hex(json_string_value(v) ?: "");
                        json_object_set_new(keep, dh, json_true());
                        /* The compressed blob a pull brought, and its
                         * record in diffs/. */
                        _cleanup_free_ char *dp =
                                str_printf("diffs/%s.json", dh);
                        json_t *dj = dp ? store_load_json(s->rootfd, dp) : NULL;
                        const char *cd = json_string_value(
                                json_object_get(dj, "digest"));
                        if (cd)
                                json_object_set_new(keep, store_hex(cd),
                                                    json_true());
                        _cleanup_free_ char *dn = str_printf("%s.json", dh);
                        if (dj && dn)
                                json_object_set_new(keep, dn, json_true());
                        json_decref(dj);
                }
                json_t *rec = store_image_record(s, hex);
                json_t *ms = json_object_get(rec, "Manifests");
                const char *mk;
                json_t *mv;
                json_object_foreach(ms, mk, mv)
                        json_object_set_new(keep, store_hex(mk), json_true());
                json_decref(rec);
                json_array_foreach(chain, i, v) json_object_set_new(
                        keep, store_hex(json_string_value(v)), json_true());
                json_decref(chain);
                json_decref(c);
        }
        if (dir)
                closedir(dir);
        else if (fd >= 0)
                close(fd);
        const char *areas[] = {"layers", "blobs/sha256", "diffs"};
        for (size_t a = 0; a < ELEMENTSOF(areas); a++) {
                int afd = openat(s->rootfd, areas[a],
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *ad = afd >= 0 ? fdopendir(afd) : NULL;
                while (ad && (de = readdir(ad))) {
                        if (de->d_name[0] == '.' ||
                            json_object_get(keep, de->d_name))
                                continue;
                        trash_entry(s, areas[a], dirfd(ad), de->d_name);
                }
                if (ad)
                        closedir(ad);
                else if (afd >= 0)
                        close(afd);
        }
        json_decref(keep);
}

int image_remove(struct image_store *s, const char *ref, bool force,
                 image_users_fn users, void *ud, char **ret_json,
                 struct berr *err) {
        _cleanup_free_ char *id = NULL;
        int r = image_resolve(s, ref, &id, err);
        if (r < 0)
                return r;
        r = store_lock(s);
        if (r < 0)
                return r;
        json_t *repos = store_repos_load(s);
        json_t *out = json_array();
        _cleanup_free_ char *full = NULL;
        struct berr e2 = {0};
        bool by_name =
                reference_normalize(ref, &full, &e2) >= 0 &&
                json_object_get(repos, full) &&
                !strcmp(json_string_value(json_object_get(repos, full)), id);
        json_t *tags = store_tags_of(s, id, repos);
        size_t ntags = json_array_size(tags);
        json_decref(tags);
        char *user = NULL;
        int nusers = users ? users(id, &user, ud) : 0;
        char id12[13];
        snprintf(id12, sizeof(id12), "%.12s", store_hex(id));
        if (by_name) {
                if (nusers > 0 && ntags == 1 && !force) {
                        r = berr_setx(err, EBUSY,
                                      "conflict: unable to remove repository "
                                      "reference \"%s\" (must force) - "
                                      "container %.12s is using its "
                                      "referenced image %s",
                                      ref, user ? user : "", id12);
                        goto out;
                }
                char *f = reference_familiar(full);
                json_array_append_new(
                        out, json_pack("{s:s}", "Untagged", f ? f : full));
                free(f);
                json_object_del(repos, full);
                /* What still names the image: tags, and digest references
                 * only while a tag of the same repository is left. */
                ntags = 0;
                const char *k;
                json_t *v;
                json_object_foreach(
                        repos, k,
                        v) if (!strcmp(json_string_value(v) ?: "", id) &&
                               !strchr(k, '@')) ntags++;
                if (ntags == 0) {
                        void *tmp;
                        json_object_foreach_safe(repos, tmp, k, v) {
                                if (strcmp(json_string_value(v) ?: "", id))
                                        continue;
                                char *fk = reference_familiar(k);
                                json_array_append_new(
                                        out, json_pack("{s:s}", "Untagged",
                                                       fk ? fk : k));
                                free(fk);
                                json_object_del(repos, k);
                        }
                }
        } else {
                if (ntags > 1 && !force) {
                        r = berr_setx(err, EBUSY,
                                      "conflict: unable to delete %s (must "
                                      "be forced) - image is referenced in "
                                      "multiple repositories",
                                      id12);
                        goto out;
                }
                if (nusers > 0 && !force) {
                        r = berr_setx(err, EBUSY,
                                      "conflict: unable to delete %s (must "
                                      "be forced) - image is being used by "
                                      "container %.12s",
                                      id12, user ? user : "");
                        goto out;
                }
                json_t *ch = children_map(s);
                bool has_children = json_object_get(ch, id) != NULL;
                json_decref(ch);
                if (has_children && ntags == 0) {
                        r = berr_setx(err, EBUSY,
                                      "conflict: unable to delete %s (cannot "
                                      "be forced) - image has dependent "
                                      "child images",
                                      id12);
                        goto out;
                }
                const char *k;
                json_t *v;
                void *tmp;
                json_object_foreach_safe(repos, tmp, k, v) {
                        if (strcmp(json_string_value(v) ?: "", id) != 0)
                                continue;
                        char *f = reference_familiar(k);
                        json_array_append_new(
                                out, json_pack("{s:s}", "Untagged", f ? f : k));
                        free(f);
                        json_object_del(repos, k);
                }
                ntags = 0;
        }
        r = store_save_json(s->rootfd, "repositories.json", repos);
        if (r < 0) {
                r = berr_set(err, r, "save tags");
                goto out;
        }
        json_t *children = children_map(s);
        if (ntags == 0 && nusers == 0 && !json_object_get(children, id)) {
                /* The image, then the untagged parents (a build's steps)
                 * nothing else needs any more. */
                char *cur = strdup(id);
                while (cur) {
                        char *parent = store_parent_of(s, cur);
                        _cleanup_free_ char *p =
                                str_printf("images/%s.json", store_hex(cur));
                        if (p)
                                unlinkat(s->rootfd, p, 0);
                        json_array_append_new(
                                out, json_pack("{s:s}", "Deleted", cur));
                        free(cur);
                        cur = NULL;
                        if (!parent)
                                break;
                        json_t *pt = store_tags_of(s, parent, repos);
                        json_int_t left = json_integer_value(json_object_get(
                                                  children, parent)) -
                                          1;
                        json_object_set_new(children, parent,
                                            json_integer(left));
                        if (json_array_size(pt) == 0 && left <= 0 &&
                            (!users || users(parent, NULL, ud) == 0))
                                cur = parent;
                        else
                                free(parent);
                        json_decref(pt);
                }
                store_gc_locked(s);
        }
        json_decref(children);
        *ret_json = json_dumps(out, JSON_COMPACT);
out:
        free(user);
        json_decref(out);
        json_decref(repos);
        store_unlock(s);
        return r;
}

/* ---- adding content ---- */

char *store_tmp_name(const char *prefix) {
        /* Unique across the processes and threads that share the store
         * (pull workers are forked: rand() would repeat in each). */
        unsigned long long v = 0;
        if (getrandom(&v, sizeof(v), 0) != (ssize_t) sizeof(v))
                v = (unsigned long long) time(NULL) ^
                    (unsigned long long) getpid() << 16 ^
                    (unsigned long long) (uintptr_t) &v;
        return str_printf("tmp/%s-%016llx", prefix, v);
}

int store_commit_layer_dir(struct image_store *s, const char *tmp,
                           const char *chain, const char *diffid, int64_t size,
                           struct berr *err) {
        _cleanup_free_ char *lpath = str_printf("layers/%s", store_hex(chain));
        _cleanup_free_ char *mp = str_printf("%s/layer.json", tmp);
        if (!lpath || !mp)
                return -ENOMEM;
        json_t *meta = json_pack("{s:s, s:s, s:I}", "diff_id", diffid,
                                 "chain_id", chain, "size", (json_int_t) size);
        int r = meta ? store_save_json(s->rootfd, mp, meta) : -ENOMEM;
        json_decref(meta);
        if (r < 0)
                return berr_set(err, r, "write '%s'", mp);
        if (renameat(s->rootfd, tmp, s->rootfd, lpath) < 0 &&
            errno != ENOTEMPTY && errno != EEXIST)
                return berr_set(err, errno, "commit layer %s", chain);
        return 0;
}

bool store_layer_exists(struct image_store *s, const char *chain) {
        _cleanup_free_ char *p =
                str_printf("layers/%s/layer.json", store_hex(chain));
        return p && faccessat(s->rootfd, p, F_OK, 0) == 0;
}

int store_mkdtemp(struct image_store *s, const char *prefix, char **ret_tmp,
                  int *ret_diff_fd, struct berr *err) {
        _cleanup_free_ char *tmp = store_tmp_name(prefix);
        _cleanup_free_ char *diff = tmp ? str_printf("%s/diff", tmp) : NULL;
        if (!tmp || !diff)
                return -ENOMEM;
        if (mkdirat(s->rootfd, tmp, 0700) < 0)
                return berr_set(err, errno, "create '%s'", tmp);
        if (mkdirat(s->rootfd, diff, 0755) < 0) {
                int r = berr_set(err, errno, "create '%s'", diff);
                rm_rf_at(s->rootfd, tmp);
                return r;
        }
        int dfd = openat(s->rootfd, diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int r = berr_set(err, errno, "open '%s'", diff);
                rm_rf_at(s->rootfd, tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        *ret_diff_fd = dfd;
        return 0;
}

int store_write_blob(struct image_store *s, const char *text, char id[72],
                     struct berr *err) {
        digest_buf(text, strlen(text), id);
        _cleanup_free_ char *p = str_printf("blobs/sha256/%s", store_hex(id));
        if (!p)
                return -ENOMEM;
        int r = write_file_atomic_at(s->rootfd, p, text, strlen(text), 0600,
                                     WRITE_SYNC);
        return r < 0 ? berr_set(err, r, "store blob %s", id) : 0;
}

int store_write_image_record(struct image_store *s, const char *id,
                             struct berr *err) {
        _cleanup_free_ char *p = str_printf("images/%s.json", store_hex(id));
        if (!p)
                return -ENOMEM;
        /* Keep what an earlier pull recorded (RepoDigests). */
        json_t *rec = store_load_json(s->rootfd, p);
        if (!json_is_object(rec)) {
                json_decref(rec);
                rec = json_object();
        }
        json_object_set_new(rec, "Id", json_string(id));
        int r = store_save_json(s->rootfd, p, rec);
        json_decref(rec);
        return r < 0 ? berr_set(err, r, "store image %s", id) : 0;
}

json_t *store_image_record(struct image_store *s, const char *id) {
        _cleanup_free_ char *p = str_printf("images/%s.json", store_hex(id));
        json_t *rec = p ? store_load_json(s->rootfd, p) : NULL;
        if (!json_is_object(rec)) {
                json_decref(rec);
                rec = json_object();
        }
        return rec;
}

/* RepoDigests of an image, in docker's familiar form. */
json_t *store_repo_digests(struct image_store *s, const char *id) {
        json_t *rec = store_image_record(s, id);
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(rec, "RepoDigests"), i, v) {
                const char *full = json_string_value(v);
                if (!full)
                        continue;
                char *f = reference_familiar(full);
                json_array_append_new(out, json_string(f ? f : full));
                free(f);
        }
        json_decref(rec);
        return out;
}

/* ---- load ---- */

/* ---- save ---- */
