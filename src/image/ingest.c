/* What registry pulls and pushes add to the store (see image.h): layers
 * unpacked from a stream while they download, compressed blobs kept for
 * later pushes, and the commit that makes a pulled image visible.
 *
 * Nothing here is visible before image_commit_pull: layers unpack into
 * tmp/ directories, blobs are O_TMPFILE files (a crash leaves nothing),
 * and the commit renames and links them in under the store's lock. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

#define IO_CHUNK      (256u << 10)
#define MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

struct image_ingest {
        char *tmp; /* tmp/unpack-X, holding diff/ */
        char diff_id[72];
        int64_t size;
        enum decomp_kind kind;
};

/* libarchive's view of the stream: bytes from fd, decompressed and
 * hashed on the way. */
struct source {
        struct image_store *s;
        int fd;
        struct decomp *dc;
        enum decomp_kind kind;
        bool sniffed, eof;
        unsigned char *in;
        size_t in_len;
        const unsigned char *in_pos;
        unsigned char *out;
        struct digest *dg;
        int64_t total;
        int err;           /* errno of a read failure */
        int64_t counted;   /* for max-layer-size / max-image-size */
        struct berr bound; /* set when a bound was crossed */
        bool corrupt;      /* the decompressor refused the data */
        bool truncated;    /* the stream ended inside a member/frame */
};

static int fill(struct source *src) {
        if (src->in_len || src->eof)
                return 0;
        for (;;) {
                ssize_t n = read(src->fd, src->in, IO_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        src->err = errno;
                        return -errno;
                }
                if (n == 0)
                        src->eof = true;
                src->in_pos = src->in;
                src->in_len = (size_t) n;
                return 0;
        }
}

/* Next decompressed chunk: > 0 bytes in src->out, 0 at the end, < 0 on
 * error (recorded in src). */
static long next_chunk_raw(struct source *src);

static long next_chunk(struct source *src) {
        long n = next_chunk_raw(src);
        /* Counted as it comes out of the decompressor, before any of it
         * is written: a small blob may inflate to gigabytes. */
        if (n > 0 && store_account(src->s, &src->counted, n, &src->bound) < 0) {
                src->err = EFBIG;
                return -1;
        }
        return n;
}

static long next_chunk_raw(struct source *src) {
        for (;;) {
                if (fill(src) < 0)
                        return -1;
                if (!src->sniffed) {
                        /* The first read may be short: the magic needs 4
                         * bytes (or the whole stream). */
                        while (src->in_len < 4 && !src->eof) {
                                ssize_t n = read(src->fd, src->in + src->in_len,
                                                 IO_CHUNK - src->in_len);
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n < 0) {
                                        src->err = errno;
                                        return -1;
                                }
                                if (n == 0)
                                        src->eof = true;
                                src->in_len += (size_t) n;
                        }
                        src->kind = decomp_sniff(src->in, src->in_len);
                        if (decomp_new(src->kind, &src->dc) < 0) {
                                src->err = ENOMEM;
                                return -1;
                        }
                        src->sniffed = true;
                }
                if (!src->in_len && src->eof) {
                        if (!decomp_at_end(src->dc) && src->total > 0)
                                src->truncated = true;
                        /* Flush what the decompressor still holds. */
                        long n = decomp_run(src->dc, &src->in_pos, &src->in_len,
                                            src->out, IO_CHUNK);
                        if (n > 0) {
                                digest_update(src->dg, src->out, (size_t) n);
                                src->total += n;
                                return n;
                        }
                        if (src->truncated && src->kind != DECOMP_NONE)
                                return -1;
                        return 0;
                }
                long n = decomp_run(src->dc, &src->in_pos, &src->in_len,
                                    src->out, IO_CHUNK);
                if (n < 0) {
                        src->corrupt = true;
                        return -1;
                }
                if (n > 0) {
                        digest_update(src->dg, src->out, (size_t) n);
                        src->total += n;
                        return n;
                }
        }
}

static la_ssize_t source_read(struct archive *a, void *ud, const void **buf) {
        struct source *src = ud;
        long n = next_chunk(src);
        if (n < 0) {
                archive_set_error(a, EIO, "%s",
                                  src->bound.code  ? src->bound.msg
                                  : src->corrupt   ? "corrupt compressed data"
                                  : src->truncated ? "unexpected end of data"
                                                   : strerror(src->err));
                return -1;
        }
        *buf = src->out;
        return n;
}

int image_ingest_layer(struct image_store *s, int fd, struct image_ingest **ret,
                       struct berr *err) {
        struct image_ingest *in = calloc(1, sizeof(*in));
        struct source src = {.s = s, .fd = fd};
        src.in = malloc(IO_CHUNK);
        src.out = malloc(IO_CHUNK);
        src.dg = digest_new();
        struct archive *a = archive_read_new();
        int dfd = -1;
        int r = 0;
        if (!in || !src.in || !src.out || !src.dg || !a) {
                r = -ENOMEM;
                goto out;
        }
        r = store_mkdtemp(s, "unpack", &in->tmp, &dfd, err);
        if (r < 0)
                goto out;
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        if (archive_read_open(a, &src, NULL, source_read, NULL) != ARCHIVE_OK) {
                r = berr_setx(err, EINVAL, "read layer: %s",
                              archive_error_string(a) ?: "not a tar archive");
                goto out;
        }
        r = layer_unpack_archive(a, dfd, err);
        if (r < 0 && src.bound.code) {
                /* The bound's own words, not libarchive's read error. */
                if (err)
                        *err = src.bound;
                r = -src.bound.code;
        }
        if (r < 0)
                goto out;
        /* The diff_id covers the whole uncompressed stream, including
         * what follows the tar's end marker. */
        long n;
        while ((n = next_chunk(&src)) > 0)
                ;
        if (n < 0 && src.bound.code) {
                if (err)
                        *err = src.bound;
                r = -src.bound.code;
                goto out;
        }
        if (n < 0) {
                r = berr_setx(err, EIO, "read layer: %s",
                              src.corrupt     ? "corrupt compressed data"
                              : src.truncated ? "unexpected end of data"
                                              : strerror(src.err));
                goto out;
        }
        in->size = src.total;
        in->kind = src.kind;
out:
        if (a)
                archive_read_free(a);
        if (dfd >= 0)
                close(dfd);
        if (src.dg) {
                char d[72];
                digest_final(src.dg, d);
                if (in)
                        memcpy(in->diff_id, d, sizeof(d));
        }
        decomp_free(src.dc);
        free(src.in);
        free(src.out);
        if (r < 0) {
                image_ingest_discard(s, in);
                return r;
        }
        *ret = in;
        return 0;
}

const char *image_ingest_diff_id(const struct image_ingest *in) {
        return in->diff_id;
}

int64_t image_ingest_size(const struct image_ingest *in) {
        return in->size;
}

struct image_ingest *image_ingest_discard(struct image_store *s,
                                          struct image_ingest *in) {
        if (!in)
                return NULL;
        if (in->tmp)
                rm_rf_at(s->rootfd, in->tmp);
        free(in->tmp);
        free(in);
        return NULL;
}

int image_blob_tmpfile(struct image_store *s, struct berr *err) {
        int fd = open_tmpfile_at(s->rootfd, "tmp");
        if (fd < 0)
                return berr_set(err, fd, "create a temporary file in '%s/tmp'",
                                s->root);
        return fd;
}

int image_layer_lock(struct image_store *s, const char *chain_id, bool wait) {
        _cleanup_free_ char *p = str_printf("locks/%s", store_hex(chain_id));
        if (!p)
                return -ENOMEM;
        if (mkdirat(s->rootfd, "locks", 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(s->rootfd, p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                /* EINTR goes back to the caller: a signal may mean the
                 * pull was cancelled. */
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int image_chain_ids(char *const *diff_ids, char ***ret) {
        json_t *diffs = json_array();
        for (size_t i = 0; diff_ids && diff_ids[i]; i++)
                json_array_append_new(diffs, json_string(diff_ids[i]));
        json_t *chain = store_chain_ids(diffs);
        char **v = calloc(json_array_size(chain) + 1, sizeof(char *));
        int r = v ? 0 : -ENOMEM;
        for (size_t i = 0; v && i < json_array_size(chain); i++)
                if (!(v[i] = strdup(
                              json_string_value(json_array_get(chain, i))))) {
                        r = -ENOMEM;
                        break;
                }
        json_decref(chain);
        json_decref(diffs);
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

bool image_has_layers(struct image_store *s, char *const *diff_ids,
                      bool *ret_have) {
        json_t *diffs = json_array();
        for (size_t i = 0; diff_ids && diff_ids[i]; i++)
                json_array_append_new(diffs, json_string(diff_ids[i]));
        json_t *chain = store_chain_ids(diffs);
        bool all = true;
        for (size_t i = 0; i < json_array_size(chain); i++) {
                bool have = store_layer_exists(
                        s, json_string_value(json_array_get(chain, i)));
                if (ret_have)
                        ret_have[i] = have;
                all = all && have;
        }
        json_decref(chain);
        json_decref(diffs);
        return all;
}

/* Copy the anonymous file `fd` to `dst` in the store: written under a
 * temporary name, synced, renamed into place. */
static int copy_blob_in(struct image_store *s, int fd, const char *dst) {
        _cleanup_free_ char *tmp = str_printf("%s.copy", dst);
        if (!tmp)
                return -ENOMEM;
        _cleanup_close_ int out = openat(
                s->rootfd, tmp,
                O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return -errno;
        off_t off = 0;
        for (;;) {
                ssize_t n = copy_file_range(fd, &off, out, NULL, 1 << 20, 0);
                if (n == 0)
                        break;
                if (n < 0) {
                        int r = -errno;
                        unlinkat(s->rootfd, tmp, 0);
                        return r;
                }
        }
        if (fsync(out) < 0 || renameat(s->rootfd, tmp, s->rootfd, dst) < 0) {
                int r = -errno;
                unlinkat(s->rootfd, tmp, 0);
                return r;
        }
        return 0;
}

/* Link an O_TMPFILE blob in as blobs/sha256/HEX (an existing one wins). */
static int link_blob(struct image_store *s, int fd, const char *digest,
                     struct berr *err) {
        _cleanup_free_ char *dst =
                str_printf("blobs/sha256/%s", store_hex(digest));
        char src[64];
        if (!dst)
                return -ENOMEM;
        if (faccessat(s->rootfd, dst, F_OK, 0) == 0)
                return 0;
        if (fdatasync(fd) < 0)
                return berr_set(err, errno, "sync blob %s", digest);
        snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, src, s->rootfd, dst, AT_SYMLINK_FOLLOW) == 0 ||
            errno == EEXIST)
                return 0;
        /* Not an O_TMPFILE file (the store's filesystem lacks them, see
         * open_tmpfile_at): it has no name to link; copy it in instead. */
        if (errno != ENOENT)
                return berr_set(err, errno, "store blob %s", digest);
        int r = copy_blob_in(s, fd, dst);
        if (r < 0)
                return berr_set(err, r, "store blob %s", digest);
        return 0;
}

static int write_raw_blob(struct image_store *s, const char *digest,
                          const char *text, size_t len, struct berr *err) {
        _cleanup_free_ char *p =
                str_printf("blobs/sha256/%s", store_hex(digest));
        if (!p)
                return -ENOMEM;
        if (faccessat(s->rootfd, p, F_OK, 0) == 0)
                return 0;
        int r = write_file_atomic_at(s->rootfd, p, text, len, 0600, WRITE_SYNC);
        return r < 0 ? berr_set(err, r, "store blob %s", digest) : 0;
}

/* diffs/DIFFHEX.json: the compressed blob a layer came as, and where it
 * is known to exist (for cross-repository mounts when pushing). */
static int record_diff(struct image_store *s, const char *diff_id,
                       const char *digest, const char *media_type, int64_t size,
                       const char *source, struct berr *err) {
        _cleanup_free_ char *p =
                str_printf("diffs/%s.json", store_hex(diff_id));
        if (!p)
                return -ENOMEM;
        json_t *j = store_load_json(s->rootfd, p);
        if (!json_is_object(j) ||
            strcmp(json_string_value(json_object_get(j, "digest")) ?: "",
                   digest) != 0) {
                json_decref(j);
                j = json_pack("{s:s, s:s, s:I, s:[]}", "digest", digest,
                              "mediaType", media_type, "size",
                              (json_int_t) size, "sources");
        }
        json_t *src = json_object_get(j, "sources");
        bool have = false;
        size_t i;
        json_t *v;
        json_array_foreach(src, i, v) have =
                have || !strcmp(json_string_value(v) ?: "", source ?: "");
        if (source && !have)
                json_array_append_new(src, json_string(source));
        int r = store_save_json(s->rootfd, p, j);
        json_decref(j);
        return r < 0 ? berr_set(err, r, "write '%s'", p) : 0;
}

static void record_add(json_t *rec, const char *key, const char *value) {
        json_t *a = json_object_get(rec, key);
        if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(rec, key, a);
        }
        size_t i;
        json_t *v;
        json_array_foreach(
                a, i, v) if (!strcmp(json_string_value(v) ?: "", value)) return;
        json_array_append_new(a, json_string(value));
}

static int record_image(struct image_store *s, const char *id,
                        const char *repo_digest, const char *const *manifests,
                        const char *const *types, struct berr *err) {
        _cleanup_free_ char *p = str_printf("images/%s.json", store_hex(id));
        if (!p)
                return -ENOMEM;
        json_t *rec = store_image_record(s, id);
        json_object_set_new(rec, "Id", json_string(id));
        if (repo_digest) {
                /* One digest per repository, like docker: a newer pull of
                 * the same repository replaces it. */
                json_t *a = json_object_get(rec, "RepoDigests");
                const char *at = strchr(repo_digest, '@');
                size_t rl = at ? (size_t) (at - repo_digest) : 0;
                for (size_t i = json_array_size(a); i-- > 0;) {
                        const char *old =
                                json_string_value(json_array_get(a, i));
                        if (old && at && !strncmp(old, repo_digest, rl) &&
                            old[rl] == '@' && strcmp(old, repo_digest))
                                json_array_remove(a, i);
                }
                record_add(rec, "RepoDigests", repo_digest);
        }
        json_t *ms = json_object_get(rec, "Manifests");
        if (!json_is_object(ms)) {
                ms = json_object();
                json_object_set_new(rec, "Manifests", ms);
        }
        for (size_t i = 0; manifests && manifests[i]; i++)
                json_object_set_new(ms, manifests[i], json_string(types[i]));
        int r = store_save_json(s->rootfd, p, rec);
        json_decref(rec);
        return r < 0 ? berr_set(err, r, "store image %s", id) : 0;
}

int image_commit_pull(struct image_store *s, const struct image_pull *p,
                      char **ret_id, bool *ret_new, struct berr *err) {
        char id[72];
        digest_buf(p->config, p->config_len, id);
        /* The unpacked layers durable before they are visible - and
         * before the lock is taken (syncfs may take long).  syncfs covers
         * the whole filesystem: once is enough. */
        for (size_t i = 0; i < p->n_layers; i++) {
                if (!p->layers[i].ingest)
                        continue;
                _cleanup_close_ int dfd =
                        openat(s->rootfd, p->layers[i].ingest->tmp,
                               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || syncfs(dfd) < 0)
                        return berr_set(err, errno, "sync layer %s",
                                        p->layers[i].diff_id);
                break;
        }
        int r = store_lock(s);
        if (r < 0)
                return berr_set(err, r, "lock the image store");
        bool existed = store_image_exists(s, store_hex(id));
        bool up_to_date = existed;
        if (p->ref) {
                /* docker's "Image is up to date": the tag already named
                 * this image. */
                _cleanup_free_ char *full = NULL;
                struct berr e2 = {0};
                json_t *repos = store_repos_load(s);
                up_to_date =
                        existed &&
                        reference_normalize(p->ref, &full, &e2) >= 0 &&
                        !strcmp(json_string_value(json_object_get(repos, full))
                                        ?: "",
                                id);
                json_decref(repos);
        }
        json_t *diffs = json_array();
        for (size_t i = 0; i < p->n_layers; i++)
                json_array_append_new(diffs, json_string(p->layers[i].diff_id));
        json_t *chain = store_chain_ids(diffs);
        for (size_t i = 0; i < p->n_layers && r >= 0; i++) {
                const struct image_pull_layer *l = &p->layers[i];
                const char *cid = json_string_value(json_array_get(chain, i));
                if (l->blob_fd >= 0)
                        r = link_blob(s, l->blob_fd, l->digest, err);
                if (r >= 0 && l->ingest && !store_layer_exists(s, cid))
                        r = store_commit_layer_dir(s, l->ingest->tmp, cid,
                                                   l->diff_id, l->ingest->size,
                                                   err);
                else if (r >= 0 && !l->ingest && !store_layer_exists(s, cid))
                        r = berr_setx(err, EAGAIN,
                                      "layer %s was removed while the pull "
                                      "ran; pull again",
                                      l->diff_id);
                if (r >= 0 && l->digest && (l->blob_fd >= 0 || l->ingest))
                        r = record_diff(s, l->diff_id, l->digest, l->media_type,
                                        l->size, p->repo, err);
                else if (r >= 0 && l->digest) {
                        /* Already had it: remember this source for
                         * mounts if the blob is the same. */
                        _cleanup_free_ char *dp = str_printf(
                                "diffs/%s.json", store_hex(l->diff_id));
                        json_t *dj = dp ? store_load_json(s->rootfd, dp) : NULL;
                        if (!strcmp(json_string_value(
                                            json_object_get(dj, "digest"))
                                            ?: "",
                                    l->digest))
                                r = record_diff(s, l->diff_id, l->digest,
                                                l->media_type, l->size, p->repo,
                                                err);
                        json_decref(dj);
                }
        }
        json_decref(chain);
        json_decref(diffs);
        if (r >= 0)
                r = write_raw_blob(s, id, p->config, p->config_len, err);
        const char *mds[3] = {NULL, NULL, NULL};
        const char *mts[3] = {NULL, NULL, NULL};
        size_t nm = 0;
        if (r >= 0 && p->manifest) {
                r = write_raw_blob(s, p->manifest_digest, p->manifest,
                                   p->manifest_len, err);
                mds[nm] = p->manifest_digest;
                mts[nm++] = p->manifest_type;
        }
        if (r >= 0 && p->index) {
                r = write_raw_blob(s, p->index_digest, p->index, p->index_len,
                                   err);
                mds[nm] = p->index_digest;
                mts[nm++] = p->index_type;
        }
        _cleanup_free_ char *repo_digest =
                p->repo && p->top_digest
                        ? str_printf("%s@%s", p->repo, p->top_digest)
                        : NULL;
        if (r >= 0)
                r = record_image(s, id, repo_digest, mds, mts, err);
        if (r >= 0 && p->ref)
                r = store_tag_locked(s, id, p->ref, err);
        if (r >= 0 && repo_digest) {
                /* So "repo@sha256:..." resolves. */
                json_t *repos = store_repos_load(s);
                const char *old =
                        json_string_value(json_object_get(repos, repo_digest));
                if (!old || strcmp(old, id) != 0) {
                        json_object_set_new(repos, repo_digest,
                                            json_string(id));
                        r = store_save_json(s->rootfd, "repositories.json",
                                            repos);
                        if (r < 0)
                                berr_set(err, r, "save tags");
                }
                json_decref(repos);
        }
        if (r < 0)
                store_gc_locked(s);
        store_unlock(s);
        if (r < 0)
                return r;
        *ret_id = strdup(id);
        if (!*ret_id)
                return -ENOMEM;
        if (ret_new)
                *ret_new = !up_to_date;
        return 0;
}

/* ---- pushes ---- */

void image_push_layers_free(struct image_push_layer *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].diff_id);
                free(l[i].digest);
                free(l[i].media_type);
                strv_free(l[i].sources);
        }
        free(l);
}

/* gzip blobs/sha256/DIFF (an uncompressed layer tar from load or import)
 * into a new blob with ISA-L, and record it in diffs/. */
static int compress_layer(struct image_store *s, const char *diff_id,
                          struct image_push_layer *out, struct berr *err) {
        _cleanup_free_ char *src =
                str_printf("blobs/sha256/%s", store_hex(diff_id));
        if (!src)
                return -ENOMEM;
        _cleanup_close_ int in = openat(s->rootfd, src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return berr_set(err, errno,
                                "layer %s: neither a compressed nor an "
                                "uncompressed blob is stored",
                                diff_id);
        _cleanup_close_ int tmp = image_blob_tmpfile(s, err);
        if (tmp < 0)
                return tmp;
        struct isal_zstream z;
        isal_deflate_init(&z);
        z.level = 1;
        z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
        z.level_buf = malloc(z.level_buf_size);
        z.gzip_flag = IGZIP_GZIP;
        unsigned char *ib = malloc(IO_CHUNK), *ob = malloc(IO_CHUNK);
        struct digest *dg = digest_new();
        int r = z.level_buf && ib && ob && dg ? 0 : -ENOMEM;
        int64_t total = 0;
        while (r >= 0 && z.internal_state.state != ZSTATE_END) {
                ssize_t n = read(in, ib, IO_CHUNK);
                if (n < 0) {
                        r = berr_set(err, errno, "read '%s'", src);
                        break;
                }
                z.next_in = ib;
                z.avail_in = (uint32_t) n;
                z.end_of_stream = n == 0;
                do {
                        z.next_out = ob;
                        z.avail_out = IO_CHUNK;
                        if (isal_deflate(&z) != COMP_OK) {
                                r = berr_setx(err, EIO, "compress layer %s",
                                              diff_id);
                                break;
                        }
                        size_t got = IO_CHUNK - z.avail_out;
                        digest_update(dg, ob, got);
                        if (write_all(tmp, ob, got) < 0) {
                                r = berr_set(err, errno,
                                             "write compressed layer %s",
                                             diff_id);
                                break;
                        }
                        total += (int64_t) got;
                } while (z.avail_out == 0 ||
                         (z.end_of_stream &&
                          z.internal_state.state != ZSTATE_END));
        }
        char digest[72] = "";
        if (dg)
                digest_final(dg, digest);
        free(z.level_buf);
        free(ib);
        free(ob);
        if (r < 0)
                return r;
        r = store_lock(s);
        if (r < 0)
                return r;
        r = link_blob(s, tmp, digest, err);
        if (r >= 0)
                r = record_diff(s, diff_id, digest, MT_LAYER_GZIP, total, NULL,
                                err);
        store_unlock(s);
        if (r < 0)
                return r;
        out->digest = strdup(digest);
        out->media_type = strdup(MT_LAYER_GZIP);
        out->size = total;
        return out->digest && out->media_type ? 0 : -ENOMEM;
}

int image_push_layers(struct image_store *s, const char *id,
                      struct image_push_layer **ret, size_t *ret_n,
                      struct berr *err) {
        json_t *c = store_config_load(s, id);
        if (!c)
                return berr_setx(err, ENOENT, "No such image: %s", id);
        json_t *diffs =
                json_object_get(json_object_get(c, "rootfs"), "diff_ids");
        size_t n = json_array_size(diffs);
        struct image_push_layer *l = calloc(n ? n : 1, sizeof(*l));
        int r = l ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *d = json_string_value(json_array_get(diffs, i));
                l[i].diff_id = strdup(d ? d : "");
                _cleanup_free_ char *p =
                        str_printf("diffs/%s.json", store_hex(d ? d : ""));
                json_t *dj = p ? store_load_json(s->rootfd, p) : NULL;
                const char *dg =
                        json_string_value(json_object_get(dj, "digest"));
                _cleanup_free_ char *bp =
                        dg ? str_printf("blobs/sha256/%s", store_hex(dg))
                           : NULL;
                if (dg && bp && faccessat(s->rootfd, bp, F_OK, 0) == 0) {
                        l[i].digest = strdup(dg);
                        l[i].media_type =
                                strdup(json_string_value(
                                               json_object_get(dj, "mediaType"))
                                               ?: MT_LAYER_GZIP);
                        l[i].size = (int64_t) json_integer_value(
                                json_object_get(dj, "size"));
                        size_t k;
                        json_t *v;
                        json_array_foreach(json_object_get(dj, "sources"), k,
                                           v) if (json_string_value(v))
                                strv_push(&l[i].sources, json_string_value(v));
                } else
                        r = compress_layer(s, l[i].diff_id, &l[i], err);
                json_decref(dj);
        }
        json_decref(c);
        if (r < 0) {
                image_push_layers_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int image_blob_open(struct image_store *s, const char *digest,
                    int64_t *ret_size, struct berr *err) {
        _cleanup_free_ char *p =
                str_printf("blobs/sha256/%s", store_hex(digest));
        if (!p)
                return -ENOMEM;
        int fd = openat(s->rootfd, p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno, "open blob %s", digest);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = berr_set(err, errno, "stat blob %s", digest);
                close(fd);
                return r;
        }
        if (ret_size)
                *ret_size = st.st_size;
        return fd;
}

int image_config_raw(struct image_store *s, const char *id, char **ret,
                     size_t *ret_len, struct berr *err) {
        _cleanup_free_ char *p = str_printf("blobs/sha256/%s", store_hex(id));
        if (!p)
                return -ENOMEM;
        int r = read_file_at(s->rootfd, p, 64 << 20, ret, ret_len);
        return r < 0 ? berr_set(err, r, "read the config of image %s", id) : 0;
}

int image_recorded_manifest(struct image_store *s, const char *id,
                            char **ret_text, size_t *ret_len, char **ret_type) {
        json_t *rec = store_image_record(s, id);
        json_t *ms = json_object_get(rec, "Manifests");
        const char *k;
        json_t *v;
        int r = -ENOENT;
        json_object_foreach(ms, k, v) {
                const char *t = json_string_value(v);
                if (!t || strstr(t, "list") || strstr(t, "index"))
                        continue;
                _cleanup_free_ char *p =
                        str_printf("blobs/sha256/%s", store_hex(k));
                char *text = NULL;
                size_t len = 0;
                if (!p || read_file_at(s->rootfd, p, 4 << 20, &text, &len) < 0)
                        continue;
                *ret_text = text;
                *ret_len = len;
                *ret_type = strdup(t);
                r = *ret_type ? 0 : -ENOMEM;
                break;
        }
        json_decref(rec);
        return r;
}

int image_record_push(struct image_store *s, const char *id, const char *repo,
                      const char *digest, const char *manifest, size_t len,
                      const char *type, const struct image_push_layer *layers,
                      size_t n, struct berr *err) {
        int r = store_lock(s);
        if (r < 0)
                return r;
        r = write_raw_blob(s, digest, manifest, len, err);
        _cleanup_free_ char *rd = str_printf("%s@%s", repo, digest);
        const char *mds[2] = {digest, NULL};
        const char *mts[2] = {type, NULL};
        if (r >= 0)
                r = rd ? record_image(s, id, rd, mds, mts, err) : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = record_diff(s, layers[i].diff_id, layers[i].digest,
                                layers[i].media_type, layers[i].size, repo,
                                err);
        store_unlock(s);
        return r;
}
