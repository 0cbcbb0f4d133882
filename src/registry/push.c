/* registry_push and registry_list_tags.
 *
 * Layers go first, several at once: a blob the registry has is skipped
 * (HEAD), one another repository of the same registry has is mounted
 * (POST ?mount=&from=), others are uploaded — in one PUT, or in PATCH
 * chunks when large.  The config follows, the manifest last, so a
 * registry never holds a manifest whose blobs are missing. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Blobs above this go up in PATCH chunks of this size. */
#define CHUNK_BYTES (32ll << 20)

struct push;

struct push_job {
        struct push *p;
        const char *digest;
        const char *media_type;
        int64_t size;
        char *const *sources;
        const char *mem; /* in-memory blob (the config, not shown) */
        char short_id[13];
        int rc;
        struct berr err;
};

struct push {
        struct image_store *s;
        struct reg_client *c;
        struct ref_parts ref;
        char *repo;
        char *scope;
        const char *scopes[3];
        registry_progress_fn fn;
        void *ud;
        pthread_mutex_t progress_mu;
        struct reg_slots slots;
        volatile int abort;
        const volatile int *cancel;
};

static void progress(struct push *p, const char *id, const char *status,
                     int64_t cur, int64_t total) {
        pull_progress(p->fn, p->ud, &p->progress_mu, id, status, cur, total);
}

/* A layer's progress; the config's is not shown (as docker). */
static void job_progress(struct push_job *j, const char *status, int64_t cur,
                         int64_t total) {
        if (!j->mem)
                progress(j->p, j->short_id, status, cur, total);
}

static int http_fail(struct berr *err, const struct reg_response *resp,
                     const char *what, const char *obj) {
        _cleanup_free_ char *why = reg_error_text(resp);
        int code = resp->status == 401 || resp->status == 403 ? EACCES
                   : resp->status == 404                      ? ENOENT
                                                              : EPROTO;
        if (code == EACCES)
                return berr_setx(err, code,
                                 "%s %s: denied: requested access to the "
                                 "resource is denied (%s)",
                                 what, obj, why ? why : "unauthorized");
        return berr_setx(err, code, "%s %s: HTTP %ld: %s", what, obj,
                         resp->status, why ? why : "");
}

/* "?digest=" appended to an upload Location that may have a query. */
static char *with_param(const char *loc, const char *param) {
        return str_printf("%s%c%s", loc, strchr(loc, '?') ? '&' : '?', param);
}

static int blob_exists(struct push *p, const char *digest, bool *ret,
                       struct berr *err) {
        _cleanup_free_ char *url =
                str_printf("/v2/%s/blobs/%s", p->ref.path, digest);
        if (!url)
                return -ENOMEM;
        struct reg_request rq = {.method = "HEAD",
                                 .url = url,
                                 .scopes = p->scopes,
                                 .body_fd = -1,
                                 .cancel = p->cancel};
        struct reg_response resp = {0};
        int r = reg_do(p->c, &rq, &resp, err);
        if (r >= 0)
                *ret = resp.status == 200;
        if (r >= 0 && resp.status != 200 && resp.status != 404 &&
            resp.status != 401 && resp.status != 403)
                r = http_fail(err, &resp, "check blob", digest);
        reg_response_done(&resp);
        return r;
}

struct upload_progress {
        struct push_job *j;
        int64_t base, size;
};

static void on_upload(int64_t sent, void *ud) {
        struct upload_progress *u = ud;
        job_progress(u->j, "Pushing", u->base + sent, u->size);
}

static int upload_blob(struct push_job *j) {
        struct push *p = j->p;
        struct berr *err = &j->err;
        int fd = -1;
        int64_t size = j->size;
        if (!j->mem) {
                fd = image_blob_open(p->s, j->digest, &size, err);
                if (fd < 0)
                        return fd;
        }
        _cleanup_close_ int bfd = fd;
        _cleanup_free_ char *loc = NULL, *dp = NULL, *put = NULL;
        const char *from = NULL;
        for (size_t i = 0; j->sources && j->sources[i]; i++) {
                size_t dl = strlen(p->ref.domain);
                if (!strncmp(j->sources[i], p->ref.domain, dl) &&
                    j->sources[i][dl] == '/' &&
                    strcmp(j->sources[i] + dl + 1, p->ref.path) != 0) {
                        from = j->sources[i] + dl + 1;
                        break;
                }
        }
        _cleanup_free_ char *from_scope =
                from ? str_printf("repository:%s:pull", from) : NULL;
        const char *scopes[3] = {p->scope, from_scope, NULL};
        _cleanup_free_ char *url = NULL;
        if (from) {
                _cleanup_free_ char *ef = strdup(from);
                url = str_printf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
                                 p->ref.path, j->digest, ef ? ef : "");
        } else
                url = str_printf("/v2/%s/blobs/uploads/", p->ref.path);
        if (!url)
                return -ENOMEM;
        struct reg_request rq = {.method = "POST",
                                 .url = url,
                                 .scopes = scopes,
                                 .body_fd = -1,
                                 .cancel = p->cancel};
        struct reg_response resp = {0};
        int r = reg_do(p->c, &rq, &resp, err);
        if (r < 0)
                goto out;
        if (from && resp.status == 201) {
                _cleanup_free_ char *m = str_printf("Mounted from %s", from);
                job_progress(j, m ? m : "Mounted", -1, -1);
                goto out;
        }
        if (resp.status != 202 || !resp.location) {
                r = http_fail(err, &resp, "start the upload of", j->digest);
                goto out;
        }
        loc = strdup(resp.location);
        if (!loc) {
                r = -ENOMEM;
                goto out;
        }
        job_progress(j, "Pushing", 0, size);
        off_t off = 0;
        struct upload_progress up = {.j = j, .size = size};
        if (!j->mem && size > CHUNK_BYTES) {
                /* Chunked: PATCH each piece to the latest Location. */
                while (off < size) {
                        int64_t n = size - off < CHUNK_BYTES ? size - off
                                                             : CHUNK_BYTES;
                        struct reg_request pr = {
                                .method = "PATCH",
                                .url = loc,
                                .scopes = scopes,
                                .content_type = "application/octet-stream",
                                .body_fd = bfd,
                                .body_off = off,
                                .body_size = n,
                                .cancel = p->cancel,
                                .on_upload = on_upload,
                                .upload_ud = &up,
                        };
                        up.base = off;
                        r = reg_do(p->c, &pr, &resp, err);
                        if (r < 0)
                                goto out;
                        if (resp.status != 202 || !resp.location) {
                                r = http_fail(err, &resp, "upload a chunk of",
                                              j->digest);
                                goto out;
                        }
                        free(loc);
                        loc = strdup(resp.location);
                        if (!loc) {
                                r = -ENOMEM;
                                goto out;
                        }
                        off += n;
                        job_progress(j, "Pushing", off, size);
                }
        }
        dp = str_printf("digest=%s", j->digest);
        put = dp ? with_param(loc, dp) : NULL;
        if (!put) {
                r = -ENOMEM;
                goto out;
        }
        struct reg_request pq = {
                .method = "PUT",
                .url = put,
                .scopes = scopes,
                .content_type = "application/octet-stream",
                .body = j->mem,
                .body_len = j->mem ? (size_t) size : 0,
                .body_fd = j->mem || off >= size ? -1 : bfd,
                .body_off = off,
                .body_size = size - off,
                .cancel = p->cancel,
                .on_upload = on_upload,
                .upload_ud = &up,
        };
        up.base = off;
        r = reg_do(p->c, &pq, &resp, err);
        if (r >= 0 && resp.status != 201)
                r = http_fail(err, &resp, "upload", j->digest);
        if (r >= 0)
                job_progress(j, "Pushed", -1, -1);
out:
        reg_response_done(&resp);
        return r;
}

static void *push_main(void *ud) {
        struct push_job *j = ud;
        struct push *p = j->p;
        reg_slots_take(&p->slots);
        bool have = false;
        if (p->abort || (p->cancel && *p->cancel))
                j->rc = -ECANCELED;
        else
                j->rc = blob_exists(p, j->digest, &have, &j->err);
        if (j->rc >= 0 && have)
                job_progress(j, "Layer already exists", -1, -1);
        else if (j->rc >= 0 && !have)
                j->rc = upload_blob(j);
        reg_slots_give(&p->slots);
        if (j->rc < 0)
                p->abort = 1;
        return NULL;
}

/* The manifest to push: the one recorded for the image when its layers
 * are the ones being pushed (so a pulled image keeps its digest), else a
 * new one (docker's schema 2, or OCI when a layer is OCI-typed). */
static int build_manifest(struct push *p, const char *id, const char *config,
                          size_t config_len, const struct image_push_layer *l,
                          size_t n, char **ret, size_t *ret_len,
                          char **ret_type) {
        char *text = NULL, *type = NULL;
        size_t len = 0;
        if (image_recorded_manifest(p->s, id, &text, &len, &type) >= 0) {
                struct document *d = NULL;
                struct berr e = {0};
                bool same = document_parse(text, len, type, &d, &e) >= 0 &&
                            d->kind == DOC_MANIFEST && d->n_layers == n &&
                            !strcmp(d->config.digest, id);
                for (size_t i = 0; same && i < n; i++)
                        same = !strcmp(d->layers[i].digest, l[i].digest);
                document_free(d);
                if (same) {
                        *ret = text;
                        *ret_len = len;
                        *ret_type = type;
                        return 0;
                }
                free(text);
                free(type);
        }
        bool oci = false;
        for (size_t i = 0; i < n; i++)
                oci = oci ||
                      str_startswith(l[i].media_type, "application/vnd.oci.");
        json_t *layers = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(layers,
                                      json_pack("{s:s, s:I, s:s}", "mediaType",
                                                l[i].media_type, "size",
                                                (json_int_t) l[i].size,
                                                "digest", l[i].digest));
        json_t *m = json_pack(
                "{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2,
                "mediaType", oci ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST,
                "config", "mediaType", oci ? MT_OCI_CONFIG : MT_DOCKER_CONFIG,
                "size", (json_int_t) config_len, "digest", id, "layers",
                layers);
        *ret = m ? json_dumps(m, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(m);
        if (!*ret)
                return -ENOMEM;
        *ret_len = strlen(*ret);
        *ret_type = strdup(oci ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST);
        return *ret_type ? 0 : -ENOMEM;
}

int registry_push(struct image_store *s, const struct registry_config *cfg,
                  const char *ref, const struct registry_auth *auth,
                  registry_progress_fn fn, void *ud, const volatile int *cancel,
                  char **ret_digest, int64_t *ret_size, struct berr *err) {
        _cleanup_free_ char *full = NULL, *id = NULL, *config = NULL;
        _cleanup_free_ char *manifest = NULL, *mtype = NULL;
        size_t config_len = 0, mlen = 0;
        int r = reference_normalize(ref, &full, err);
        if (r < 0)
                return r;
        struct push p = {.s = s, .fn = fn, .ud = ud, .cancel = cancel};
        pthread_mutex_init(&p.progress_mu, NULL);
        reg_slots_init(&p.slots, cfg && cfg->max_concurrent > 0
                                         ? cfg->max_concurrent
                                         : 5);
        struct image_push_layer *layers = NULL;
        size_t n = 0;
        struct push_job *jobs = NULL;
        r = ref_split(full, &p.ref, err);
        if (r < 0)
                goto out;
        if (p.ref.digest) {
                r = berr_setx(err, EINVAL,
                              "cannot push a digest reference (%s): push a "
                              "tag",
                              ref);
                goto out;
        }
        p.repo = str_printf("%s/%s", p.ref.domain, p.ref.path);
        p.scope = str_printf("repository:%s:pull,push", p.ref.path);
        if (!p.repo || !p.scope) {
                r = -ENOMEM;
                goto out;
        }
        p.scopes[0] = p.scope;
        r = image_resolve(s, full, &id, err);
        if (r < 0)
                goto out;
        r = image_config_raw(s, id, &config, &config_len, err);
        if (r < 0)
                goto out;
        {
                _cleanup_free_ char *line = str_printf(
                        "The push refers to repository [%s]", p.repo);
                progress(&p, NULL, line ? line : "", -1, -1);
        }
        r = image_push_layers(s, id, &layers, &n, err);
        if (r < 0)
                goto out;
        r = reg_client_new(p.ref.domain, cfg, auth, &p.c, err);
        if (r < 0)
                goto out;
        jobs = calloc(n + 1, sizeof(*jobs));
        if (!jobs) {
                r = -ENOMEM;
                goto out;
        }
        /* docker lists the top layer first. */
        for (size_t k = n; k-- > 0;) {
                struct push_job *j = &jobs[k];
                j->p = &p;
                j->digest = layers[k].digest;
                j->media_type = layers[k].media_type;
                j->size = layers[k].size;
                j->sources = layers[k].sources;
                snprintf(j->short_id, sizeof(j->short_id), "%.12s",
                         layers[k].diff_id + 7);
                progress(&p, j->short_id, "Preparing", -1, -1);
        }
        {
                /* Top layer first, as docker lists them. */
                struct reg_task *t = calloc(n ? n : 1, sizeof(*t));
                if (!t) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t k = 0; k < n; k++)
                        t[k] = (struct reg_task){.fn = push_main,
                                                 .arg = &jobs[n - 1 - k],
                                                 .run = true,
                                                 .rc = &jobs[n - 1 - k].rc,
                                                 .err = &jobs[n - 1 - k].err};
                r = reg_run_tasks(t, n, &p.abort, err);
                free(t);
        }
        if (r < 0)
                goto out;
        /* The config, then the manifest. */
        struct push_job cj = {.p = &p,
                              .digest = id,
                              .size = (int64_t) config_len,
                              .mem = config};
        snprintf(cj.short_id, sizeof(cj.short_id), "%.12s", id + 7);
        push_main(&cj);
        if (cj.rc < 0) {
                r = cj.rc;
                if (err)
                        *err = cj.err;
                goto out;
        }
        r = build_manifest(&p, id, config, config_len, layers, n, &manifest,
                           &mlen, &mtype);
        if (r < 0)
                goto out;
        {
                _cleanup_free_ char *url =
                        str_printf("/v2/%s/manifests/%s", p.ref.path,
                                   p.ref.tag ? p.ref.tag : "latest");
                struct reg_request rq = {.method = "PUT",
                                         .url = url,
                                         .scopes = p.scopes,
                                         .content_type = mtype,
                                         .body = manifest,
                                         .body_len = mlen,
                                         .body_fd = -1,
                                         .cancel = cancel};
                struct reg_response resp = {0};
                r = url ? reg_do(p.c, &rq, &resp, err) : -ENOMEM;
                if (r >= 0 && resp.status != 201 && resp.status != 200)
                        r = http_fail(err, &resp, "push the manifest of", full);
                reg_response_done(&resp);
                if (r < 0)
                        goto out;
        }
        char digest[72];
        digest_buf(manifest, mlen, digest);
        r = image_record_push(s, id, p.repo, digest, manifest, mlen, mtype,
                              layers, n, err);
        if (r < 0)
                goto out;
        *ret_digest = strdup(digest);
        *ret_size = (int64_t) mlen;
        if (!*ret_digest)
                r = -ENOMEM;
out:
        free(jobs);
        image_push_layers_free(layers, n);
        reg_client_free(p.c);
        ref_parts_done(&p.ref);
        free(p.repo);
        free(p.scope);
        pthread_mutex_destroy(&p.progress_mu);
        reg_slots_destroy(&p.slots);
        return r;
}

int registry_list_tags(const struct registry_config *cfg, const char *repo,
                       const struct registry_auth *auth, char ***ret_tags,
                       struct berr *err) {
        _cleanup_free_ char *withtag = str_printf("%s:x", repo);
        struct ref_parts rp;
        int r = withtag ? ref_split(withtag, &rp, err) : -ENOMEM;
        if (r < 0)
                return r;
        _cleanup_free_ char *scope = str_printf("repository:%s:pull", rp.path);
        _cleanup_free_ char *url =
                str_printf("/v2/%s/tags/list?n=10000", rp.path);
        const char *scopes[2] = {scope, NULL};
        struct reg_client *c = NULL;
        r = scope && url ? reg_client_new(rp.domain, cfg, auth, &c, err)
                         : -ENOMEM;
        struct reg_response resp = {0};
        if (r >= 0) {
                struct reg_request rq = {.method = "GET",
                                         .url = url,
                                         .scopes = scopes,
                                         .body_fd = -1,
                                         .max_body = DOC_MAX_BYTES};
                r = reg_do(c, &rq, &resp, err);
        }
        if (r >= 0 && resp.status != 200)
                r = http_fail(err, &resp, "list the tags of", repo);
        if (r >= 0) {
                json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0,
                                       NULL);
                char **tags = NULL;
                size_t i;
                json_t *t;
                json_array_foreach(json_object_get(j, "tags"), i,
                                   t) if (json_string_value(t))
                        strv_push(&tags, json_string_value(t));
                json_decref(j);
                *ret_tags = tags;
        }
        reg_response_done(&resp);
        reg_client_free(c);
        ref_parts_done(&rp);
        return r;
}
