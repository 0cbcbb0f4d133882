/* registry_pull: manifest (and index) resolution, then every missing
 * layer downloading and unpacking at once.
 *
 * Per layer, two threads overlap the work: the downloader hashes the
 * compressed bytes, keeps them in a blob tmpfile and passes them over a
 * socketpair to the unpacker, which decompresses (ISA-L / zstd), hashes
 * the tar (diff_id) and writes the files.  Nothing is committed until
 * every digest, size and diff_id matched.  This runs in a worker process
 * of the daemon: threads are fine here, nothing in it clones. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "document.h"
#include "error.h"
#include "image.h"
#include "pull_internal.h"
#include "registry.h"
#include "tasks.h"
#include "transport.h"
#include "util.h"

#define RESUME_ATTEMPTS 5

struct pull;

struct layer_job {
        struct pull *p;
        size_t index;
        const struct descriptor *desc;
        const char *diff_id; /* what the config says */
        const char *chain_id;
        char short_id[13];
        bool present;
        /* results */
        int blob_fd;
        struct image_ingest *ingest;
        int lock_fd;
        int rc;
        struct berr err;
        /* download state */
        struct digest *dg;
        int64_t received;
        int sock; /* to the unpacker */
        bool unpacker_gone;
        int64_t last_report;
        uint64_t last_report_ms;
};

struct pull {
        struct image_store *s;
        const struct registry_config *cfg;
        struct reg_client *c;
        struct ref_parts ref;
        char *repo; /* domain/path */
        const char *scopes[2];
        registry_progress_fn fn;
        void *ud;
        pthread_mutex_t progress_mu;
        struct reg_slots slots;
        volatile int abort;
        const volatile int *cancel;
        char **chain; /* the layers' chain ids */
};

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void pull_progress(registry_progress_fn fn, void *ud, pthread_mutex_t *mu,
                   const char *id, const char *status, int64_t cur,
                   int64_t total) {
        if (!fn)
                return;
        if (mu)
                pthread_mutex_lock(mu);
        fn(id, status, cur, total, ud);
        if (mu)
                pthread_mutex_unlock(mu);
}

static void progress(struct pull *p, const char *id, const char *status,
                     int64_t cur, int64_t total) {
        pull_progress(p->fn, p->ud, &p->progress_mu, id, status, cur, total);
}

static bool cancelled(const struct pull *p) {
        return p->abort || (p->cancel && *p->cancel);
}

/* ---- documents ---- */

struct buffer_sink {
        char *data;
        size_t len, cap;
};

int fetch_document(struct reg_client *c, const char *const *scopes,
                   const char *path, const char *ref_text,
                   const char *want_digest, int64_t want_size,
                   const volatile int *cancel, struct fetched_doc *ret,
                   struct berr *err) {
        _cleanup_free_ char *url =
                str_printf("/v2/%s/manifests/%s", path,
                           want_digest ? want_digest : ret->tag);
        if (!url)
                return -ENOMEM;
        struct reg_request rq = {
                .method = "GET",
                .url = url,
                .scopes = scopes,
                .accept = MANIFEST_ACCEPT,
                .body_fd = -1,
                .max_body = DOC_MAX_BYTES,
                .cancel = cancel,
        };
        struct reg_response resp = {0};
        int r = reg_do(c, &rq, &resp, err);
        if (r < 0) {
                reg_response_done(&resp);
                return r;
        }
        if (resp.status == 404) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, ENOENT, "manifest for %s not found: %s",
                              ref_text, why ? why : "manifest unknown");
        } else if (resp.status == 401 || resp.status == 403) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                _cleanup_free_ char *repo =
                        str_printf("%s/%s", reg_client_domain(c), path);
                r = berr_setx(err, EACCES,
                              "pull access denied for %s, repository does "
                              "not exist or may require 'docker login': %s",
                              repo ? repo : path, why ? why : "denied");
        } else if (resp.status != 200) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, EPROTO,
                              "fetch manifest for %s: registry answered "
                              "HTTP %ld: %s",
                              ref_text, resp.status, why ? why : "");
        }
        if (r < 0) {
                reg_response_done(&resp);
                return r;
        }
        char got[72];
        digest_buf(resp.body ? resp.body : "", resp.len, got);
        if (want_digest && strcmp(got, want_digest) != 0)
                r = berr_setx(err, EBADMSG,
                              "manifest for %s has digest %s, not the %s "
                              "asked for",
                              ref_text, got, want_digest);
        else if (want_size >= 0 && (int64_t) resp.len != want_size)
                r = berr_setx(err, EBADMSG,
                              "manifest %s is %zu bytes, the index says "
                              "%lld",
                              want_digest ? want_digest : ref_text, resp.len,
                              (long long) want_size);
        else if (!want_digest && resp.digest && digest_valid(resp.digest) &&
                 strcmp(resp.digest, got) != 0)
                r = berr_setx(err, EBADMSG,
                              "manifest for %s has digest %s but the "
                              "registry says %s",
                              ref_text, got, resp.digest);
        if (r >= 0)
                r = document_parse(resp.body ? resp.body : "", resp.len,
                                   resp.content_type, &ret->doc, err);
        if (r < 0) {
                if (err)
                        berr_prefix(err, r, "%s", ref_text);
                reg_response_done(&resp);
                return r;
        }
        ret->text = resp.body ? resp.body : strdup("");
        resp.body = NULL;
        ret->len = resp.len;
        memcpy(ret->digest, got, sizeof(got));
        reg_response_done(&resp);
        return 0;
}

void fetched_doc_done(struct fetched_doc *d) {
        free(d->text);
        document_free(d->doc);
        d->text = NULL;
        d->doc = NULL;
}

static bool buffer_put(const void *buf, size_t len, void *ud) {
        struct buffer_sink *b = ud;
        if (b->len + len > b->cap)
                return false;
        memcpy(b->data + b->len, buf, len);
        b->len += len;
        return true;
}

/* A small blob (the config) read whole and verified. */
static int fetch_small_blob(struct pull *p, const struct descriptor *d,
                            char **ret, size_t *ret_len, struct berr *err) {
        if (d->size > (int64_t) DOC_MAX_BYTES)
                return berr_setx(err, EFBIG,
                                 "image config %s is %lld bytes, more than "
                                 "the %u allowed",
                                 d->digest, (long long) d->size, DOC_MAX_BYTES);
        _cleanup_free_ char *url =
                str_printf("/v2/%s/blobs/%s", p->ref.path, d->digest);
        struct buffer_sink b = {.cap = (size_t) d->size + 1};
        b.data = malloc(b.cap + 1);
        if (!url || !b.data) {
                free(b.data);
                return -ENOMEM;
        }
        struct reg_request rq = {.method = "GET",
                                 .url = url,
                                 .scopes = p->scopes,
                                 .body_fd = -1,
                                 .sink = buffer_put,
                                 .sink_ud = &b,
                                 .cancel = p->cancel};
        struct reg_response resp = {0};
        int r = reg_do(p->c, &rq, &resp, err);
        if (r == -EIO && b.len > (size_t) d->size)
                r = berr_setx(err, EBADMSG,
                              "image config %s: the registry sent more than "
                              "its size %lld",
                              d->digest, (long long) d->size);
        if (r >= 0 && resp.status != 200) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, resp.status == 404 ? ENOENT : EPROTO,
                              "fetch image config %s: HTTP %ld: %s", d->digest,
                              resp.status, why ? why : "");
        }
        reg_response_done(&resp);
        if (r >= 0 && (int64_t) b.len != d->size)
                r = berr_setx(err, EBADMSG,
                              "image config %s is %zu bytes, the manifest "
                              "says %lld",
                              d->digest, b.len, (long long) d->size);
        if (r >= 0) {
                char got[72];
                digest_buf(b.data, b.len, got);
                if (strcmp(got, d->digest) != 0)
                        r = berr_setx(err, EBADMSG,
                                      "image config has digest %s, the "
                                      "manifest says %s",
                                      got, d->digest);
        }
        if (r < 0) {
                free(b.data);
                return r;
        }
        b.data[b.len] = '\0';
        *ret = b.data;
        *ret_len = b.len;
        return 0;
}

/* ---- layers ---- */

struct unpack_arg {
        struct image_store *s;
        int fd;
        struct image_ingest *ingest;
        int rc;
        struct berr err;
};

static void *unpack_main(void *ud) {
        struct unpack_arg *a = ud;
        a->rc = image_ingest_layer(a->s, a->fd, &a->ingest, &a->err);
        /* Whatever the downloader still sends is refused from now on. */
        shutdown(a->fd, SHUT_RD);
        return NULL;
}

static bool layer_sink(const void *buf, size_t len, void *ud) {
        struct layer_job *j = ud;
        const unsigned char *b = buf;
        if (cancelled(j->p)) {
                /* Another layer failed (its error is the one to show) or
                 * the pull was cancelled. */
                j->rc = -ECANCELED;
                return false;
        }
        if (j->received + (int64_t) len > j->desc->size) {
                j->rc = berr_setx(&j->err, EBADMSG,
                                  "layer %s: the registry sent more than "
                                  "its size %lld",
                                  j->desc->digest, (long long) j->desc->size);
                return false;
        }
        digest_update(j->dg, b, len);
        if (write_all(j->blob_fd, b, len) < 0) {
                j->rc = berr_set(&j->err, errno, "write blob %s",
                                 j->desc->digest);
                return false;
        }
        /* Once the unpacker has stopped, keep downloading and hashing:
         * a digest mismatch is the better explanation of a failure. */
        size_t off = 0;
        while (!j->unpacker_gone && off < len) {
                ssize_t n = send(j->sock, b + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        j->unpacker_gone = true;
                        break;
                }
                off += (size_t) n;
        }
        j->received += (int64_t) len;
        uint64_t t = now_ms();
        if (j->received == j->desc->size || t - j->last_report_ms >= 100) {
                j->last_report_ms = t;
                progress(j->p, j->short_id, "Downloading", j->received,
                         j->desc->size);
        }
        return true;
}

static int download_layer(struct layer_job *j) {
        struct pull *p = j->p;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return berr_set(&j->err, errno, "socketpair");
        j->sock = sv[0];
        struct unpack_arg ua = {.s = p->s, .fd = sv[1]};
        pthread_t ut;
        if (pthread_create(&ut, NULL, unpack_main, &ua) != 0) {
                close(sv[0]);
                close(sv[1]);
                return berr_setx(&j->err, EAGAIN, "start an unpack thread");
        }
        j->dg = digest_new();
        _cleanup_free_ char *url =
                str_printf("/v2/%s/blobs/%s", p->ref.path, j->desc->digest);
        int r = j->dg && url ? 0 : -ENOMEM;
        for (int attempt = 0; r >= 0; attempt++) {
                struct reg_request rq = {.method = "GET",
                                         .url = url,
                                         .scopes = p->scopes,
                                         .body_fd = -1,
                                         .range_start = j->received,
                                         .sink = layer_sink,
                                         .sink_ud = j,
                                         .cancel = p->cancel};
                struct reg_response resp = {0};
                struct berr e = {0};
                j->rc = 0;
                int64_t before = j->received;
                r = reg_do(p->c, &rq, &resp, &e);
                if (j->rc < 0)
                        r = j->rc;
                (void) before;
                if (r >= 0 && resp.status == 416 && j->received > 0) {
                        r = berr_setx(&j->err, EBADMSG,
                                      "layer %s: the registry has only %lld "
                                      "of the %lld bytes the manifest says "
                                      "(size mismatch)",
                                      j->desc->digest, (long long) j->received,
                                      (long long) j->desc->size);
                        reg_response_done(&resp);
                        break;
                }
                if (r >= 0 && resp.status != 200 && resp.status != 206) {
                        _cleanup_free_ char *why = reg_error_text(&resp);
                        r = berr_setx(&j->err,
                                      resp.status == 404   ? ENOENT
                                      : resp.status == 401 ? EACCES
                                                           : EPROTO,
                                      "fetch layer %s: HTTP %ld: %s",
                                      j->desc->digest, resp.status,
                                      why ? why : "");
                }
                bool broke = resp.transfer_failed && r < 0 && j->rc == 0 &&
                             !cancelled(p);
                reg_response_done(&resp);
                if (r >= 0 && j->received < j->desc->size) {
                        /* The body ended early without an error from the
                         * transport (a lying Content-Length is caught by
                         * curl; this is a short 200). */
                        broke = true;
                        r = berr_setx(&e, EBADMSG,
                                      "layer %s: got %lld of %lld bytes "
                                      "(truncated)",
                                      j->desc->digest, (long long) j->received,
                                      (long long) j->desc->size);
                }
                if (r >= 0)
                        break;
                if (broke && attempt + 1 < RESUME_ATTEMPTS) {
                        /* Back off, then ask for the rest (Range). */
                        struct timespec ts = {0, (250L << attempt) * 1000000L};
                        nanosleep(&ts, NULL);
                        progress(p, j->short_id, "Retrying", j->received,
                                 j->desc->size);
                        r = 0;
                        continue;
                }
                if (j->err.code == 0 && r != -EPIPE)
                        berr_setx(&j->err, -r, "%s",
                                  e.msg[0] ? e.msg : strerror(-r));
                break;
        }
        /* End of stream for the unpacker. */
        shutdown(sv[0], SHUT_WR);
        pthread_join(ut, NULL);
        close(sv[0]);
        close(sv[1]);
        char got[72] = "";
        if (j->dg)
                digest_final(j->dg, got);
        j->dg = NULL;
        if (r < 0) {
                image_ingest_discard(p->s, ua.ingest);
                return r;
        }
        progress(p, j->short_id, "Verifying Checksum", -1, -1);
        if (strcmp(got, j->desc->digest) != 0) {
                image_ingest_discard(p->s, ua.ingest);
                return berr_setx(&j->err, EBADMSG,
                                 "filesystem layer verification failed for "
                                 "digest %s: got %s",
                                 j->desc->digest, got);
        }
        if (ua.rc < 0) {
                j->err = ua.err;
                return berr_prefix(&j->err, ua.rc, "layer %s", j->desc->digest);
        }
        progress(p, j->short_id, "Download complete", -1, -1);
        if (strcmp(image_ingest_diff_id(ua.ingest), j->diff_id) != 0) {
                const char *have = image_ingest_diff_id(ua.ingest);
                int rr = berr_setx(&j->err, EBADMSG,
                                   "layer %s unpacks to diff_id %s, the "
                                   "image config says %s",
                                   j->desc->digest, have, j->diff_id);
                image_ingest_discard(p->s, ua.ingest);
                return rr;
        }
        j->ingest = ua.ingest;
        progress(p, j->short_id, "Extracting", j->desc->size, j->desc->size);
        progress(p, j->short_id, "Pull complete", -1, -1);
        return 0;
}

static void *layer_main(void *ud) {
        struct layer_job *j = ud;
        struct pull *p = j->p;
        reg_slots_take(&p->slots);
        if (!cancelled(p)) {
                j->blob_fd = image_blob_tmpfile(p->s, &j->err);
                j->rc = j->blob_fd < 0 ? j->blob_fd : download_layer(j);
        } else
                j->rc = -ECANCELED;
        reg_slots_give(&p->slots);
        if (j->rc < 0)
                p->abort = 1;
        return NULL;
}

/* ---- sharing downloads between pulls ---- */

static struct layer_job *sort_jobs;

static int by_chain(const void *a, const void *b) {
        const size_t *x = a, *y = b;
        return strcmp(sort_jobs[*x].chain_id, sort_jobs[*y].chain_id);
}

/* Lock every missing layer (by chain id, the name of its directory) in
 * one global order, so pulls that share layers cannot deadlock.  A pull
 * that finds a layer locked waits for the other to finish and then uses
 * what it committed: each layer is downloaded once. */
static int lock_layers(struct pull *p, struct layer_job *jobs, size_t n,
                       char **diff_ids, struct berr *err) {
        char **chain = NULL;
        int r = image_chain_ids(diff_ids, &chain);
        if (r < 0)
                return r;
        size_t *order = calloc(n ? n : 1, sizeof(size_t));
        size_t m = 0;
        if (!order) {
                strv_free(chain);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                jobs[i].chain_id = chain[i];
                if (!jobs[i].present)
                        order[m++] = i;
        }
        /* qsort has no context argument; this runs on one thread before
         * any layer thread starts. */
        sort_jobs = jobs;
        qsort(order, m, sizeof(size_t), by_chain);
        bool waited = false;
        for (size_t k = 0; k < m && r >= 0; k++) {
                struct layer_job *j = &jobs[order[k]];
                int fd = image_layer_lock(p->s, j->chain_id, false);
                if (fd == -EWOULDBLOCK) {
                        progress(p, j->short_id, "Waiting", -1, -1);
                        waited = true;
                        do
                                fd = image_layer_lock(p->s, j->chain_id, true);
                        while (fd == -EINTR && !cancelled(p));
                }
                if (fd < 0)
                        r = cancelled(p) ? berr_setx(err, ECANCELED,
                                                     "pull cancelled")
                                         : berr_set(err, fd, "lock layer %s",
                                                    j->diff_id);
                else
                        j->lock_fd = fd;
        }
        if (r >= 0 && waited) {
                /* What the other pull brought is ours now. */
                bool *have = calloc(n ? n : 1, sizeof(bool));
                if (have) {
                        image_has_layers(p->s, diff_ids, have);
                        for (size_t i = 0; i < n; i++)
                                if (have[i] && !jobs[i].present) {
                                        jobs[i].present = true;
                                        progress(p, jobs[i].short_id,
                                                 "Already exists", -1, -1);
                                }
                }
                free(have);
        }
        free(order);
        /* The chain id strings stay with the jobs until the pull ends. */
        p->chain = chain;
        return r;
}

/* ---- the whole pull ---- */

static int check_platform(const char *config, size_t len, const char *os,
                          const char *arch, const char *ref, struct berr *err) {
        json_t *c = json_loadb(config, len, 0, NULL);
        const char *cos = json_string_value(json_object_get(c, "os"));
        const char *carch =
                json_string_value(json_object_get(c, "architecture"));
        int r = 0;
        if (cos && carch && (strcmp(cos, os) || strcmp(carch, arch)))
                r = berr_setx(err, ENOENT,
                              "image with reference %s was found but does "
                              "not match the specified platform: wanted "
                              "%s/%s, actual: %s/%s",
                              ref, os, arch, cos, carch);
        json_decref(c);
        return r;
}

static bool foreign_allowed(const struct registry_config *cfg,
                            const char *domain) {
        for (size_t i = 0; cfg && cfg->allow_nondistributable &&
                           cfg->allow_nondistributable[i];
             i++)
                if (!strcmp(cfg->allow_nondistributable[i], domain))
                        return true;
        return false;
}

int registry_pull(struct image_store *s, const struct registry_config *cfg,
                  const char *ref, const char *platform,
                  const struct registry_auth *auth, registry_progress_fn fn,
                  void *ud, const volatile int *cancel, char **ret_id,
                  bool *ret_new, struct berr *err) {
        _cleanup_free_ char *full = NULL;
        int r = reference_normalize(ref, &full, err);
        if (r < 0)
                return r;
        struct pull p = {
                .s = s, .cfg = cfg, .fn = fn, .ud = ud, .cancel = cancel};
        pthread_mutex_init(&p.progress_mu, NULL);
        reg_slots_init(&p.slots, cfg && cfg->max_concurrent > 0
                                         ? cfg->max_concurrent
                                         : 3);
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        _cleanup_free_ char *scope = NULL;
        struct fetched_doc top = {0}, man = {0};
        char *config = NULL;
        size_t config_len = 0;
        char **diff_ids = NULL;
        struct layer_job *jobs = NULL;
        size_t n = 0;
        _cleanup_free_ char *familiar = NULL;
        r = ref_split(full, &p.ref, err);
        if (r < 0)
                goto out;
        p.repo = str_printf("%s/%s", p.ref.domain, p.ref.path);
        scope = str_printf("repository:%s:pull", p.ref.path);
        familiar = reference_familiar(full);
        if (!p.repo || !scope || !familiar) {
                r = -ENOMEM;
                goto out;
        }
        p.scopes[0] = scope;
        if (platform && *platform)
                r = platform_parse(platform, &os, &arch, &variant, err);
        else {
                const char *ho, *ha, *hv;
                platform_host(&ho, &ha, &hv);
                os = strdup(ho);
                arch = strdup(ha);
                variant = hv ? strdup(hv) : NULL;
                if (!os || !arch)
                        r = -ENOMEM;
        }
        if (r < 0)
                goto out;
        r = reg_client_new(p.ref.domain, cfg, auth, &p.c, err);
        if (r < 0)
                goto out;
        top.tag = p.ref.tag ? p.ref.tag : "latest";
        r = fetch_document(p.c, p.scopes, p.ref.path, familiar, p.ref.digest,
                           -1, cancel, &top, err);
        if (r < 0)
                goto out;
        struct fetched_doc *m = &top;
        if (top.doc->kind == DOC_INDEX) {
                size_t pick;
                r = document_select(top.doc, os, arch,
                                    platform && *platform ? variant : NULL,
                                    &pick, err);
                if (r < 0)
                        goto out;
                const struct descriptor *d = &top.doc->manifests[pick];
                man.tag = top.tag;
                r = fetch_document(p.c, p.scopes, p.ref.path, familiar,
                                   d->digest, d->size, cancel, &man, err);
                if (r < 0)
                        goto out;
                if (man.doc->kind != DOC_MANIFEST) {
                        r = berr_setx(err, EINVAL,
                                      "%s: expected an image manifest at %s "
                                      "but got an index (nested indexes "
                                      "are not supported)",
                                      familiar, d->digest);
                        goto out;
                }
                m = &man;
        }
        {
                _cleanup_free_ char *pf =
                        str_printf("Pulling from %s", p.ref.path);
                progress(&p, p.ref.digest ? p.ref.digest : top.tag,
                         pf ? pf : "Pulling", -1, -1);
        }
        for (size_t i = 0; i < m->doc->n_layers; i++)
                if (m->doc->layers[i].foreign &&
                    !foreign_allowed(cfg, p.ref.domain)) {
                        r = berr_setx(err, EPERM,
                                      "%s: layer %s is non-distributable "
                                      "(foreign); allow it with "
                                      "allow-nondistributable-artifacts",
                                      familiar, m->doc->layers[i].digest);
                        goto out;
                }
        r = fetch_small_blob(&p, &m->doc->config, &config, &config_len, err);
        if (r < 0)
                goto out;
        r = config_parse(config, config_len, m->doc->n_layers, &diff_ids, err);
        if (r < 0) {
                berr_prefix(err, r, "%s", familiar);
                goto out;
        }
        if (platform && *platform && top.doc->kind != DOC_INDEX) {
                r = check_platform(config, config_len, os, arch, familiar, err);
                if (r < 0)
                        goto out;
        }
        n = m->doc->n_layers;
        jobs = calloc(n ? n : 1, sizeof(*jobs));
        bool *have = calloc(n ? n : 1, sizeof(bool));
        if (!jobs || !have) {
                free(have);
                r = -ENOMEM;
                goto out;
        }
        image_has_layers(s, diff_ids, have);
        /* max-image-size: the layers present count, those unpacked
         * below add to it as they inflate. */
        r = image_budget_begin(s, diff_ids, err);
        if (r < 0) {
                free(have);
                berr_prefix(err, r, "%s", familiar);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct layer_job *j = &jobs[i];
                j->p = &p;
                j->index = i;
                j->desc = &m->doc->layers[i];
                j->diff_id = diff_ids[i];
                j->blob_fd = -1;
                j->lock_fd = -1;
                j->sock = -1;
                j->present = have[i];
                snprintf(j->short_id, sizeof(j->short_id), "%.12s",
                         j->desc->digest + 7);
                progress(&p, j->short_id,
                         j->present ? "Already exists" : "Pulling fs layer", -1,
                         -1);
        }
        r = lock_layers(&p, jobs, n, diff_ids, err);
        free(have);
        if (r < 0)
                goto out;
        {
                struct reg_task *t = calloc(n ? n : 1, sizeof(*t));
                if (!t) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++)
                        t[i] = (struct reg_task){.fn = layer_main,
                                                 .arg = &jobs[i],
                                                 .run = !jobs[i].present,
                                                 .rc = &jobs[i].rc,
                                                 .err = &jobs[i].err};
                r = reg_run_tasks(t, n, &p.abort, err);
                free(t);
        }
        if (r >= 0 && cancel && *cancel)
                r = berr_setx(err, ECANCELED, "pull of %s cancelled", familiar);
        if (r < 0)
                goto out;
        {
                struct image_pull_layer *pl = calloc(n ? n : 1, sizeof(*pl));
                if (!pl) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        pl[i].diff_id = diff_ids[i];
                        pl[i].digest = jobs[i].desc->digest;
                        pl[i].media_type = jobs[i].desc->media_type;
                        pl[i].size = jobs[i].desc->size;
                        pl[i].blob_fd = jobs[i].blob_fd;
                        pl[i].ingest = jobs[i].ingest;
                }
                struct image_pull ip = {
                        .ref = p.ref.digest ? NULL : full,
                        .repo = p.repo,
                        .top_digest = top.digest,
                        .config = config,
                        .config_len = config_len,
                        .manifest = m->text,
                        .manifest_len = m->len,
                        .manifest_digest = m->digest,
                        .manifest_type = m->doc->media_type,
                        .index = m == &man ? top.text : NULL,
                        .index_len = top.len,
                        .index_digest = top.digest,
                        .index_type = top.doc->media_type,
                        .layers = pl,
                        .n_layers = n,
                };
                r = image_commit_pull(s, &ip, ret_id, ret_new, err);
                free(pl);
        }
        if (r >= 0) {
                _cleanup_free_ char *dl = str_printf("Digest: %s", top.digest);
                progress(&p, NULL, dl ? dl : "Digest:", -1, -1);
        }
out:
        for (size_t i = 0; jobs && i < n; i++) {
                image_ingest_discard(s, jobs[i].ingest);
                if (jobs[i].blob_fd >= 0)
                        close(jobs[i].blob_fd);
                if (jobs[i].lock_fd >= 0)
                        close(jobs[i].lock_fd);
        }
        free(jobs);
        strv_free(p.chain);
        strv_free(diff_ids);
        free(config);
        fetched_doc_done(&top);
        fetched_doc_done(&man);
        reg_client_free(p.c);
        ref_parts_done(&p.ref);
        free(p.repo);
        pthread_mutex_destroy(&p.progress_mu);
        reg_slots_destroy(&p.slots);
        return r;
}
