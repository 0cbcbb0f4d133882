/* The archive formats: `docker save` / OCI layout archives in (load) and
 * out (save), and rootfs tarballs in (import).  Everything here reads or
 * writes whole archives, so it runs in berth-worker processes only; the
 * daemon itself never maps libarchive. */
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

/* What a load archive may hold beside its layers (manifests, configs). */
#define ARCHIVE_META_SLACK (64LL << 20)

/* Decompress `fd` (any of libarchive's filters, or none) into a new file
 * under tmp/ while hashing: the layer's diff_id.  Writes its relative path
 * and returns an fd of it (at offset 0). */
static int spool_uncompressed(struct image_store *s, int fd, char diffid[72],
                              char **ret_path, int64_t *ret_size,
                              struct berr *err) {
        _cleanup_free_ char *path = store_tmp_name("layer");
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int out = openat(
                s->rootfd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
                return berr_set(err, errno, "create '%s'", path);
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        struct archive_entry *e;
        int r = 0;
        struct digest *d = digest_new();
        int64_t total = 0;
        if (!d || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                r = berr_setx(err, EINVAL, "read layer: %s",
                              archive_error_string(a) ?: "empty");
                goto fail;
        }
        char buf[1 << 16];
        la_ssize_t n;
        int64_t counted = 0;
        while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
                /* Bounded before it reaches the disk: a few KB of gzip
                 * may hold gigabytes of zeros. */
                r = store_account(s, &counted, n, err);
                if (r < 0)
                        goto fail;
                digest_update(d, buf, (size_t) n);
                if (write_all(out, buf, (size_t) n) < 0) {
                        r = berr_set(err, errno, "write '%s'", path);
                        goto fail;
                }
                total += n;
        }
        if (n < 0) {
                r = berr_setx(err, EIO, "read layer: %s",
                              archive_error_string(a));
                goto fail;
        }
        archive_read_free(a);
        digest_final(d, diffid);
        if (fsync(out) < 0 || lseek(out, 0, SEEK_SET) < 0)
                return berr_set(err, errno, "write '%s'", path);
        *ret_path = TAKE_PTR(path);
        *ret_size = total;
        return TAKE_FD(out);
fail:
        if (d) {
                char dummy[72];
                digest_final(d, dummy);
        }
        archive_read_free(a);
        unlinkat(s->rootfd, path, 0);
        return r;
}

int store_prepare_layer(struct image_store *s, int tarfd, const char *diffid,
                        char **ret_tmp, struct berr *err) {
        _cleanup_free_ char *tmp = NULL;
        int dfd = -1;
        int r = store_mkdtemp(s, "unpack", &tmp, &dfd, err);
        if (r < 0)
                return r;
        r = layer_unpack(tarfd, dfd, err);
        /* Durable before it is visible (and before the lock is taken:
         * syncfs may take long on a busy disk). */
        if (r >= 0 && syncfs(dfd) < 0)
                r = berr_set(err, errno, "sync layer %s", diffid);
        close(dfd);
        if (r < 0) {
                rm_rf_at(s->rootfd, tmp);
                return berr_prefix(err, r, "unpack layer %s", diffid);
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int store_commit_layer(struct image_store *s, const char *chain,
                       const char *diffid, const char *tmp, const char *tarpath,
                       int64_t size, struct berr *err) {
        _cleanup_free_ char *bpath =
                str_printf("blobs/sha256/%s", store_hex(diffid));
        if (!bpath)
                return -ENOMEM;
        if (faccessat(s->rootfd, bpath, F_OK, 0) < 0 &&
            renameat(s->rootfd, tarpath, s->rootfd, bpath) < 0)
                return berr_set(err, errno, "store layer blob %s", diffid);
        unlinkat(s->rootfd, tarpath, 0);
        if (store_layer_exists(s, chain))
                return 0;
        if (!tmp)
                return berr_setx(err, EAGAIN,
                                 "layer %s was removed while the image was "
                                 "being added; try again",
                                 diffid);
        int r = store_commit_layer_dir(s, tmp, chain, diffid, size, err);
        return r < 0 ? berr_prefix(err, r, "unpack layer %s", diffid) : 0;
}

static void now_rfc(char *buf, size_t n) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        format_rfc3339(buf, n, ts.tv_sec, ts.tv_nsec);
}

int image_import(struct image_store *s, int fd, const char *ref,
                 const char *config_json, const char *comment, char **ret_id,
                 struct berr *err) {
        _cleanup_free_ char *full = NULL;
        if (ref && *ref) {
                int r = reference_normalize(ref, &full, err);
                if (r < 0)
                        return r;
        }
        char diffid[72];
        char *tarpath = NULL;
        int64_t size = 0;
        char *none[] = {NULL};
        int r = image_budget_begin(s, none, err);
        if (r < 0)
                return r;
        /* Spooled and unpacked in tmp/ without the lock; only the
         * commit below holds it. */
        int tarfd = spool_uncompressed(s, fd, diffid, &tarpath, &size, err);
        if (tarfd < 0)
                return tarfd;
        _cleanup_free_ char *prepared = NULL;
        r = store_prepare_layer(s, tarfd, diffid, &prepared, err);
        close(tarfd);
        if (r >= 0) {
                r = store_lock(s);
                if (r < 0)
                        berr_set(err, r, "lock the image store");
        }
        if (r < 0) {
                unlinkat(s->rootfd, tarpath, 0);
                free(tarpath);
                if (prepared)
                        rm_rf_at(s->rootfd, prepared);
                return r;
        }
        r = store_commit_layer(s, diffid, diffid, prepared, tarpath, size, err);
        unlinkat(s->rootfd, tarpath, 0);
        free(tarpath);
        rm_rf_at(s->rootfd, prepared);
        if (r < 0) {
                store_gc_locked(s);
                store_unlock(s);
                return r;
        }
        char now[64];
        now_rfc(now, sizeof(now));
        json_t *cfg = config_json ? json_loads(config_json, 0, NULL) : NULL;
        if (!json_is_object(cfg)) {
                json_decref(cfg);
                cfg = json_object();
        }
        struct utsname u;
        uname(&u);
        const char *arch = !strcmp(u.machine, "x86_64")    ? "amd64"
                           : !strcmp(u.machine, "aarch64") ? "arm64"
                                                           : u.machine;
        json_t *doc = json_pack(
                "{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}",
                "architecture", arch, "os", "linux", "created", now, "config",
                cfg, "rootfs", "type", "layers", "diff_ids", diffid, "history",
                "created", now, "comment",
                comment && *comment ? comment : "Imported from -");
        _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        char id[72];
        r = text ? store_write_blob(s, text, id, err) : -ENOMEM;
        if (r >= 0)
                r = store_write_image_record(s, id, err);
        if (r >= 0 && full)
                r = store_tag_locked(s, id, full, err);
        if (r < 0)
                store_gc_locked(s);
        store_unlock(s);
        if (r >= 0) {
                *ret_id = strdup(id);
                if (!*ret_id)
                        r = -ENOMEM;
        }
        return r;
}

static int open_member(int dirfd, const char *name) {
        /* Archive member paths resolve inside the extracted dir only. */
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static json_t *member_json(int dirfd, const char *name) {
        _cleanup_close_ int fd = open_member(dirfd, name);
        if (fd < 0)
                return NULL;
        char *text = NULL;
        size_t len;
        if (read_fd_all(fd, 64 << 20, &text, &len) < 0)
                return NULL;
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        free(text);
        return j;
}

/* One image: config member + layer members, all verified. */
/* A layer of a loaded image, prepared in tmp/ before the commit. */
struct loaded_layer {
        char *tarpath;  /* the spooled uncompressed tar */
        char *prepared; /* its unpacked tmp dir; NULL if it was present */
        int64_t size;
};

static void loaded_layers_free(struct image_store *s, struct loaded_layer *l,
                               size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                if (l[i].tarpath)
                        unlinkat(s->rootfd, l[i].tarpath, 0);
                if (l[i].prepared)
                        rm_rf_at(s->rootfd, l[i].prepared);
                free(l[i].tarpath);
                free(l[i].prepared);
        }
        free(l);
}

/* Spool, verify and unpack the image's layers into tmp/ (no lock). */
static int load_layers(struct image_store *s, int dirfd, const char *id,
                       json_t *layers, json_t *diffs, json_t *chain,
                       struct loaded_layer *out, struct berr *err) {
        char **dv = NULL;
        size_t i;
        json_t *l;
        json_array_foreach(diffs, i, l)
                strv_push(&dv, json_string_value(l) ?: "");
        int r = image_budget_begin(s, dv, err);
        strv_free(dv);
        if (r < 0)
                return berr_prefix(err, r, "image %s", id);
        json_array_foreach(layers, i, l) {
                const char *lname = json_string_value(l);
                const char *want = json_string_value(json_array_get(diffs, i));
                const char *cid = json_string_value(json_array_get(chain, i));
                _cleanup_close_ int lfd =
                        lname ? open_member(dirfd, lname) : -EINVAL;
                if (lfd < 0)
                        return berr_set(err, lfd, "archive: open layer '%s'",
                                        lname ? lname : "?");
                char diffid[72];
                _cleanup_close_ int tfd = spool_uncompressed(
                        s, lfd, diffid, &out[i].tarpath, &out[i].size, err);
                if (tfd < 0)
                        return berr_prefix(err, tfd, "archive: layer '%s'",
                                           lname);
                if (!want || strcmp(diffid, want) != 0)
                        return berr_setx(err, EINVAL,
                                         "archive: layer '%s' has diff_id "
                                         "%s, the config says %s",
                                         lname, diffid, want ? want : "none");
                if (cid && store_layer_exists(s, cid))
                        continue;
                r = store_prepare_layer(s, tfd, diffid, &out[i].prepared, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One image: config member + layer members, all verified and unpacked
 * before the store's lock is taken for the commit. */
static int load_one(struct image_store *s, int dirfd, const char *config_name,
                    json_t *layers, json_t *tags, char ***msgs,
                    struct berr *err) {
        _cleanup_close_ int cfd = open_member(dirfd, config_name);
        if (cfd < 0)
                return berr_set(err, cfd, "archive: open '%s'", config_name);
        char *text = NULL;
        size_t len;
        int r = read_fd_all(cfd, 16 << 20, &text, &len);
        if (r < 0)
                return berr_set(err, r, "archive: read '%s'", config_name);
        _cleanup_free_ char *ctext = text;
        char id[72];
        digest_buf(ctext, len, id);
        /* The member's name carries its digest: check it. */
        const char *base = strrchr(config_name, '/');
        base = base ? base + 1 : config_name;
        if (strncmp(base, store_hex(id), 64) != 0 && strlen(base) >= 64)
                return berr_setx(err, EINVAL,
                                 "archive: config '%s' does not match its "
                                 "digest (%s)",
                                 config_name, id);
        json_t *cfg = json_loadb(ctext, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *diffs =
                json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        if (!json_is_array(diffs) ||
            json_array_size(diffs) != json_array_size(layers)) {
                json_decref(cfg);
                return berr_setx(err, EINVAL,
                                 "archive: image %s has %zu layers but its "
                                 "config lists %zu diff_ids",
                                 id, json_array_size(layers),
                                 json_array_size(diffs));
        }
        json_t *chain = store_chain_ids(diffs);
        size_t n = json_array_size(layers);
        struct loaded_layer *ll = calloc(n ? n : 1, sizeof(*ll));
        r = ll ? load_layers(s, dirfd, id, layers, diffs, chain, ll, err)
               : -ENOMEM;
        if (r >= 0) {
                r = store_lock(s);
                if (r < 0)
                        berr_set(err, r, "lock the image store");
        }
        if (r < 0) {
                loaded_layers_free(s, ll, n);
                json_decref(chain);
                json_decref(cfg);
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = store_commit_layer(
                        s, json_string_value(json_array_get(chain, i)),
                        json_string_value(json_array_get(diffs, i)),
                        ll[i].prepared, ll[i].tarpath, ll[i].size, err);
        json_decref(chain);
        json_decref(cfg);
        char id2[72];
        if (r >= 0)
                r = store_write_blob(s, ctext, id2, err);
        if (r >= 0)
                r = store_write_image_record(s, id, err);
        bool tagged = false;
        size_t i;
        json_t *l;
        json_array_foreach(tags, i, l) {
                const char *t = json_string_value(l);
                if (!t || r < 0)
                        continue;
                r = store_tag_locked(s, id, t, err);
                _cleanup_free_ char *full = NULL;
                struct berr e2 = {0};
                if (r >= 0 && reference_normalize(t, &full, &e2) >= 0) {
                        char *f = reference_familiar(full);
                        _cleanup_free_ char *m =
                                str_printf("Loaded image: %s", f ? f : t);
                        free(f);
                        if (m)
                                strv_push(msgs, m);
                        tagged = true;
                }
        }
        if (r >= 0 && !tagged) {
                _cleanup_free_ char *m = str_printf("Loaded image ID: %s", id);
                if (m)
                        strv_push(msgs, m);
        }
        if (r < 0)
                store_gc_locked(s);
        store_unlock(s);
        loaded_layers_free(s, ll, n);
        return r;
}

int image_load(struct image_store *s, int fd, char ***ret_msgs,
               struct berr *err) {
        int r = 0;
        _cleanup_free_ char *tmp = store_tmp_name("load");
        char **msgs = NULL;
        int dirfd = -1;
        if (!tmp || mkdirat(s->rootfd, tmp, 0700) < 0) {
                r = berr_set(err, errno, "create a work directory");
                goto out;
        }
        dirfd = openat(s->rootfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = berr_set(err, errno, "open the work directory");
                goto out;
        }
        /* The archive's members, confined to the work dir like a layer,
         * and bounded: they are the image's layers (and a few small
         * documents). */
        r = layer_unpack_max(fd, dirfd, s->max_image + ARCHIVE_META_SLACK, err);
        if (r == -EFBIG) {
                char b[32];
                human_size_si(b, sizeof(b), (double) s->max_image, 3);
                berr_clear(err);
                r = berr_setx(err, EFBIG,
                              "the archive holds more than max-image-size "
                              "(%lld bytes, %s): refused",
                              (long long) s->max_image, b);
                goto out;
        }
        if (r < 0) {
                berr_prefix(err, r, "read the archive");
                goto out;
        }
        json_t *manifest = member_json(dirfd, "manifest.json");
        if (json_is_array(manifest)) {
                size_t i;
                json_t *m;
                json_array_foreach(manifest, i, m) {
                        const char *cfg =
                                json_string_value(json_object_get(m, "Config"));
                        if (!cfg) {
                                r = berr_setx(err, EINVAL,
                                              "archive: manifest.json entry "
                                              "%zu has no Config",
                                              i);
                                break;
                        }
                        r = load_one(
                                s, dirfd, cfg, json_object_get(m, "Layers"),
                                json_object_get(m, "RepoTags"), &msgs, err);
                        if (r < 0)
                                break;
                }
                json_decref(manifest);
                goto out;
        }
        json_decref(manifest);
        /* An OCI image layout: index.json -> manifests -> config, layers. */
        json_t *index = member_json(dirfd, "index.json");
        if (!json_is_object(index)) {
                json_decref(index);
                r = berr_setx(err, EINVAL,
                              "archive has neither manifest.json (docker "
                              "save) nor index.json (OCI layout)");
                goto out;
        }
        size_t i;
        json_t *desc;
        json_array_foreach(json_object_get(index, "manifests"), i, desc) {
                const char *dg =
                        json_string_value(json_object_get(desc, "digest"));
                const char *mt =
                        json_string_value(json_object_get(desc, "mediaType"));
                if (!dg || !str_startswith(dg, "sha256:") ||
                    (mt && strstr(mt, "index"))) {
                        r = berr_setx(err, EINVAL,
                                      "archive: index.json entry %zu is not "
                                      "an image manifest",
                                      i);
                        break;
                }
                _cleanup_free_ char *mpath =
                        str_printf("blobs/sha256/%s", store_hex(dg));
                json_t *man = mpath ? member_json(dirfd, mpath) : NULL;
                const char *cdg = json_string_value(json_object_get(
                        json_object_get(man, "config"), "digest"));
                if (!cdg) {
                        json_decref(man);
                        r = berr_setx(err, EINVAL,
                                      "archive: manifest %s has no config", dg);
                        break;
                }
                json_t *layers = json_array();
                size_t k;
                json_t *ld;
                json_array_foreach(json_object_get(man, "layers"), k, ld) {
                        const char *d = json_string_value(
                                json_object_get(ld, "digest"));
                        _cleanup_free_ char *lp = str_printf(
                                "blobs/sha256/%s", d ? store_hex(d) : "");
                        json_array_append_new(layers, json_string(lp ?: ""));
                }
                json_t *tags = json_array();
                json_t *ann = json_object_get(desc, "annotations");
                const char *name = json_string_value(
                        json_object_get(ann, "io.containerd.image.name"));
                const char *refname = json_string_value(json_object_get(
                        ann, "org.opencontainers.image.ref.name"));
                if (name)
                        json_array_append_new(tags, json_string(name));
                else if (refname && strchr(refname, ':'))
                        json_array_append_new(tags, json_string(refname));
                _cleanup_free_ char *cpath =
                        str_printf("blobs/sha256/%s", store_hex(cdg));
                r = load_one(s, dirfd, cpath, layers, tags, &msgs, err);
                json_decref(layers);
                json_decref(tags);
                json_decref(man);
                if (r < 0)
                        break;
        }
        json_decref(index);
out:
        if (dirfd >= 0)
                close(dirfd);
        if (tmp)
                rm_rf_at(s->rootfd, tmp);
        if (r < 0)
                strv_free(msgs);
        else
                *ret_msgs = msgs ? msgs : calloc(1, sizeof(char *));
        return r;
}

static int add_member(struct archive *a, const char *name, const void *data,
                      size_t len) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, (la_int64_t) len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(a, e);
        if (r == ARCHIVE_OK && len)
                r = archive_write_data(a, data, len) == (la_ssize_t) len
                            ? ARCHIVE_OK
                            : ARCHIVE_FATAL;
        archive_entry_free(e);
        return r == ARCHIVE_OK ? 0 : -EIO;
}

static int add_dir(struct archive *a, const char *name) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        int r = archive_write_header(a, e);
        archive_entry_free(e);
        return r == ARCHIVE_OK ? 0 : -EIO;
}

static int add_file_member(struct archive *a, int dirfd, const char *path,
                           const char *name) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, st.st_size);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
        archive_entry_free(e);
        char buf[1 << 16];
        ssize_t n;
        while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                if (archive_write_data(a, buf, (size_t) n) != n)
                        r = -EIO;
        return r;
}

/* A layer tar for `save`: the uncompressed blob when the layer came from
 * load or import, else the compressed blob a pull stored, decompressed on
 * the way (its size is known from the unpack). */
static int add_layer_member(struct image_store *s, struct archive *a,
                            const char *diff_id, const char *chain,
                            const char *name) {
        _cleanup_free_ char *bp =
                str_printf("blobs/sha256/%s", store_hex(diff_id));
        if (!bp)
                return -ENOMEM;
        if (faccessat(s->rootfd, bp, F_OK, 0) == 0)
                return add_file_member(a, s->rootfd, bp, name);
        _cleanup_free_ char *dp =
                str_printf("diffs/%s.json", store_hex(diff_id));
        json_t *dj = dp ? store_load_json(s->rootfd, dp) : NULL;
        const char *cd = json_string_value(json_object_get(dj, "digest"));
        _cleanup_free_ char *cp =
                cd ? str_printf("blobs/sha256/%s", store_hex(cd)) : NULL;
        json_decref(dj);
        int64_t size = store_layer_size(s, chain);
        _cleanup_close_ int fd =
                cp ? openat(s->rootfd, cp, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0 || size < 0)
                return -ENOENT;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, size);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
        archive_entry_free(e);
        struct decomp *dc = NULL;
        unsigned char *in = malloc(1 << 16), *out = malloc(1 << 18);
        size_t in_len = 0;
        int64_t written = 0;
        if (r == 0 && (!in || !out))
                r = -ENOMEM;
        while (r == 0) {
                ssize_t n = read(fd, in, 1 << 16);
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (!dc && decomp_new(decomp_sniff(in, (size_t) n), &dc) < 0) {
                        r = -ENOMEM;
                        break;
                }
                in_len = (size_t) n;
                const unsigned char *p = in;
                long got;
                do {
                        got = decomp_run(dc, &p, &in_len, out, 1 << 18);
                        if (got < 0) {
                                r = -EIO;
                                break;
                        }
                        if (written + got > size) {
                                r = -EIO;
                                break;
                        }
                        if (got &&
                            archive_write_data(a, out, (size_t) got) != got) {
                                r = -EIO;
                                break;
                        }
                        written += got;
                } while (r == 0 && (got > 0 || in_len > 0));
                if (n == 0)
                        break;
        }
        decomp_free(dc);
        free(in);
        free(out);
        return r == 0 && written != size ? -EIO : r;
}

int image_save(struct image_store *s, char *const *refs, int fd,
               struct berr *err) {
        struct archive *a = archive_write_new();
        if (!a)
                return -ENOMEM;
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
                archive_write_free(a);
                return berr_setx(err, EIO, "write the archive");
        }
        json_t *manifest = json_array();
        json_t *repositories = json_object();
        json_t *done = json_object();
        json_t *repos = store_repos_load(s);
        int r = 0;
        for (size_t i = 0; refs && refs[i] && r >= 0; i++) {
                _cleanup_free_ char *id = NULL;
                r = image_resolve(s, refs[i], &id, err);
                if (r < 0)
                        break;
                json_t *cfg = store_config_load(s, id);
                json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"),
                                                "diff_ids");
                json_t *layers = json_array();
                json_t *chain = store_chain_ids(diffs);
                size_t k;
                json_t *d;
                json_array_foreach(diffs, k, d) {
                        const char *hx = store_hex(json_string_value(d) ?: "");
                        _cleanup_free_ char *dir = strdup(hx);
                        _cleanup_free_ char *lt =
                                str_printf("%s/layer.tar", hx);
                        json_array_append_new(layers, json_string(lt ?: ""));
                        if (json_object_get(done, hx))
                                continue;
                        json_object_set_new(done, hx, json_true());
                        if (add_dir(a, dir) < 0 ||
                            add_layer_member(
                                    s, a, json_string_value(d) ?: "",
                                    json_string_value(json_array_get(chain, k))
                                            ?: "",
                                    lt ?: "") < 0) {
                                r = berr_setx(err, EIO,
                                              "write layer %s of %s to the "
                                              "archive",
                                              hx, refs[i]);
                                break;
                        }
                }
                _cleanup_free_ char *cname =
                        str_printf("%s.json", store_hex(id));
                _cleanup_free_ char *ctext = NULL;
                size_t clen = 0;
                _cleanup_free_ char *cpath =
                        str_printf("blobs/sha256/%s", store_hex(id));
                if (r >= 0 && cpath &&
                    read_file_at(s->rootfd, cpath, 16 << 20, &ctext, &clen) >=
                            0 &&
                    !json_object_get(done, cname))
                        r = add_member(a, cname, ctext, clen);
                json_object_set_new(done, cname ? cname : "", json_true());
                /* Tags: the one asked for, or all of the image's when an id
                 * was given. */
                json_t *tags = json_array();
                _cleanup_free_ char *full = NULL;
                struct berr e2 = {0};
                if (reference_normalize(refs[i], &full, &e2) >= 0 &&
                    json_object_get(repos, full)) {
                        char *f = reference_familiar(full);
                        json_array_append_new(tags, json_string(f ? f : full));
                        free(f);
                } else {
                        json_decref(tags);
                        tags = store_tags_of(s, id, repos);
                }
                size_t ti;
                json_t *tv;
                json_array_foreach(tags, ti, tv) {
                        const char *t = json_string_value(tv);
                        const char *colon = strrchr(t, ':');
                        _cleanup_free_ char *repo =
                                colon ? strndup(t, (size_t) (colon - t))
                                      : strdup(t);
                        json_t *ro = json_object_get(repositories, repo);
                        if (!ro) {
                                ro = json_object();
                                json_object_set_new(repositories, repo, ro);
                        }
                        size_t nd = json_array_size(diffs);
                        json_object_set_new(
                                ro, colon ? colon + 1 : "latest",
                                json_string(store_hex(
                                        json_string_value(json_array_get(
                                                diffs, nd ? nd - 1 : 0))
                                                ?: "")));
                }
                json_array_append_new(manifest,
                                      json_pack("{s:s, s:o, s:o}", "Config",
                                                cname ? cname : "", "RepoTags",
                                                tags, "Layers", layers));
                json_decref(cfg);
        }
        if (r >= 0) {
                _cleanup_free_ char *mt = json_dumps(manifest, JSON_COMPACT);
                _cleanup_free_ char *rt =
                        json_dumps(repositories, JSON_COMPACT);
                if (!mt || !rt ||
                    add_member(a, "manifest.json", mt, strlen(mt)) < 0 ||
                    add_member(a, "repositories", rt, strlen(rt)) < 0)
                        r = berr_setx(err, EIO, "write the archive index");
        }
        if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
                r = berr_setx(err, EIO, "finish the archive: %s",
                              archive_error_string(a));
        archive_write_free(a);
        json_decref(manifest);
        json_decref(repositories);
        json_decref(done);
        json_decref(repos);
        return r;
}
