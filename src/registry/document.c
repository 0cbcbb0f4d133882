/* Distribution documents (see document.h).  Everything here treats its
 * input as hostile: sizes are bounded, types are checked before use, and
 * a document that could be read two ways is refused rather than guessed. */
#include "document.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "error.h"
#include "reference.h"
#include "util.h"

bool digest_valid(const char *d) {
        if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
                return false;
        for (const char *p = d + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static void descriptor_done(struct descriptor *d) {
        free(d->media_type);
        free(d->digest);
        free(d->os);
        free(d->arch);
        free(d->variant);
        memset(d, 0, sizeof(*d));
}

struct document *document_free(struct document *d) {
        if (!d)
                return NULL;
        free(d->media_type);
        descriptor_done(&d->config);
        for (size_t i = 0; i < d->n_layers; i++)
                descriptor_done(&d->layers[i]);
        for (size_t i = 0; i < d->n_manifests; i++)
                descriptor_done(&d->manifests[i]);
        free(d->layers);
        free(d->manifests);
        free(d);
        return NULL;
}

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

/* The media type part of a Content-Type ("type; charset=..."). */
static char *content_type_base(const char *ct) {
        if (!ct)
                return NULL;
        while (*ct == ' ')
                ct++;
        size_t n = strcspn(ct, "; ");
        char *s = strndup(ct, n);
        for (char *p = s; p && *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return s;
}

static bool is_manifest_type(const char *t) {
        return t &&
               (!strcmp(t, MT_DOCKER_MANIFEST) || !strcmp(t, MT_OCI_MANIFEST));
}

static bool is_index_type(const char *t) {
        return t && (!strcmp(t, MT_DOCKER_LIST) || !strcmp(t, MT_OCI_INDEX));
}

static bool is_schema1_type(const char *t) {
        return t && (!strcmp(t, MT_DOCKER_SCHEMA1) ||
                     !strcmp(t, MT_DOCKER_SCHEMA1_SIGNED) ||
                     !strcmp(t, "application/json"));
}

static bool is_foreign_type(const char *t) {
        return t && (!strcmp(t, MT_DOCKER_FOREIGN) ||
                     str_startswith(t, "application/vnd.oci.image.layer."
                                       "nondistributable."));
}

static bool is_layer_type(const char *t) {
        return t &&
               (!strcmp(t, MT_DOCKER_LAYER) ||
                !strcmp(t, "application/vnd.docker.image.rootfs.diff."
                           "tar") ||
                !strcmp(t, MT_OCI_LAYER) || !strcmp(t, MT_OCI_LAYER_GZIP) ||
                !strcmp(t, MT_OCI_LAYER_ZSTD) || is_foreign_type(t));
}

static int descriptor_parse(json_t *j, const char *what, size_t i,
                            struct descriptor *ret, struct berr *err) {
        if (!json_is_object(j))
                return berr_setx(err, EINVAL, "%s %zu is not an object", what,
                                 i);
        json_t *mt = json_object_get(j, "mediaType");
        json_t *dg = json_object_get(j, "digest");
        json_t *sz = json_object_get(j, "size");
        if (!json_is_string(mt) || !*json_string_value(mt))
                return berr_setx(err, EINVAL, "%s %zu has no mediaType", what,
                                 i);
        if (!json_is_string(dg) || !digest_valid(json_string_value(dg)))
                return berr_setx(
                        err, EINVAL, "%s %zu has an invalid digest %s", what, i,
                        json_is_string(dg) ? json_string_value(dg) : "(none)");
        if (!json_is_integer(sz) || json_integer_value(sz) < 0)
                return berr_setx(err, EINVAL, "%s %zu has an invalid size",
                                 what, i);
        ret->media_type = strdup(json_string_value(mt));
        ret->digest = strdup(json_string_value(dg));
        ret->size = (int64_t) json_integer_value(sz);
        json_t *urls = json_object_get(j, "urls");
        ret->foreign = is_foreign_type(ret->media_type) ||
                       (json_is_array(urls) && json_array_size(urls) > 0);
        json_t *pl = json_object_get(j, "platform");
        if (json_is_object(pl)) {
                ret->os = dup_or_null(
                        json_string_value(json_object_get(pl, "os")));
                ret->arch = dup_or_null(
                        json_string_value(json_object_get(pl, "architecture")));
                ret->variant = dup_or_null(
                        json_string_value(json_object_get(pl, "variant")));
        }
        if (!ret->media_type || !ret->digest)
                return -ENOMEM;
        return 0;
}

/* Which kind the document is, from its own mediaType, the Content-Type
 * and the fields it has; all three must agree where present. */
static int document_kind(json_t *doc, const char *ct, enum doc_kind *ret,
                         char **ret_type, struct berr *err) {
        const char *field =
                json_string_value(json_object_get(doc, "mediaType"));
        bool has_manifests = json_object_get(doc, "manifests") != NULL;
        bool has_layers = json_object_get(doc, "layers") != NULL ||
                          json_object_get(doc, "config") != NULL;
        json_t *sv = json_object_get(doc, "schemaVersion");
        if (json_integer_value(sv) == 1 || is_schema1_type(field) ||
            json_object_get(doc, "fsLayers"))
                return berr_setx(err, EPROTONOSUPPORT,
                                 "schema 1 manifests are not supported (the "
                                 "image must be pushed again with a current "
                                 "client)");
        if (json_integer_value(sv) != 2)
                return berr_setx(err, EINVAL,
                                 "unsupported schemaVersion in manifest");
        if (has_manifests && has_layers)
                return berr_setx(err, EINVAL,
                                 "ambiguous document: it has both "
                                 "\"manifests\" and \"layers\"/\"config\"");
        if (field && !is_manifest_type(field) && !is_index_type(field))
                return berr_setx(err, EINVAL,
                                 "unsupported manifest media type %s", field);
        _cleanup_free_ char *base = content_type_base(ct);
        bool ct_known = is_manifest_type(base) || is_index_type(base);
        if (field && ct_known && strcmp(field, base) != 0)
                return berr_setx(err, EINVAL,
                                 "manifest media type %s does not match the "
                                 "Content-Type %s the registry sent",
                                 field, base);
        const char *type = field ? field : ct_known ? base : NULL;
        if (!type)
                type = has_manifests ? MT_OCI_INDEX : MT_OCI_MANIFEST;
        if (is_index_type(type)) {
                if (has_layers)
                        return berr_setx(err, EINVAL,
                                         "ambiguous document: an index with "
                                         "\"layers\"/\"config\"");
                if (!json_is_array(json_object_get(doc, "manifests")))
                        return berr_setx(err, EINVAL,
                                         "index has no manifests array");
                *ret = DOC_INDEX;
        } else {
                if (has_manifests)
                        return berr_setx(err, EINVAL,
                                         "ambiguous document: a manifest with "
                                         "\"manifests\"");
                *ret = DOC_MANIFEST;
        }
        *ret_type = strdup(type);
        return *ret_type ? 0 : -ENOMEM;
}

int document_parse(const char *text, size_t len, const char *content_type,
                   struct document **ret, struct berr *err) {
        if (len > DOC_MAX_BYTES)
                return berr_setx(err, EFBIG,
                                 "manifest is %zu bytes, more than the %u "
                                 "allowed",
                                 len, DOC_MAX_BYTES);
        json_error_t je;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return berr_setx(err, EINVAL,
                                 "manifest is not a JSON object: %s", je.text);
        }
        struct document *d = calloc(1, sizeof(*d));
        int r = d ? document_kind(doc, content_type, &d->kind, &d->media_type,
                                  err)
                  : -ENOMEM;
        if (r < 0)
                goto out;
        if (d->kind == DOC_INDEX) {
                json_t *ms = json_object_get(doc, "manifests");
                size_t n = json_array_size(ms);
                if (n == 0) {
                        r = berr_setx(err, EINVAL, "index lists no manifests");
                        goto out;
                }
                d->manifests = calloc(n, sizeof(*d->manifests));
                if (!d->manifests) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        r = descriptor_parse(json_array_get(ms, i),
                                             "manifest entry", i,
                                             &d->manifests[i], err);
                        d->n_manifests = i + 1;
                        if (r < 0)
                                goto out;
                }
        } else {
                r = descriptor_parse(json_object_get(doc, "config"), "config",
                                     0, &d->config, err);
                if (r < 0)
                        goto out;
                json_t *ls = json_object_get(doc, "layers");
                if (!json_is_array(ls)) {
                        r = berr_setx(err, EINVAL,
                                      "manifest has no layers array");
                        goto out;
                }
                size_t n = json_array_size(ls);
                d->layers = n ? calloc(n, sizeof(*d->layers)) : NULL;
                if (n && !d->layers) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        r = descriptor_parse(json_array_get(ls, i), "layer", i,
                                             &d->layers[i], err);
                        d->n_layers = i + 1;
                        if (r < 0)
                                goto out;
                        if (!is_layer_type(d->layers[i].media_type)) {
                                r = berr_setx(err, EINVAL,
                                              "layer %zu has unsupported "
                                              "media type %s",
                                              i, d->layers[i].media_type);
                                goto out;
                        }
                }
        }
out:
        json_decref(doc);
        if (r < 0) {
                document_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

static const char *norm_arch(const char *a) {
        if (!a)
                return NULL;
        if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64"))
                return "amd64";
        if (!strcmp(a, "aarch64"))
                return "arm64";
        if (!strcmp(a, "armhf") || !strcmp(a, "armel"))
                return "arm";
        if (!strcmp(a, "i386") || !strcmp(a, "i686"))
                return "386";
        return a;
}

void platform_host(const char **ret_os, const char **ret_arch,
                   const char **ret_variant) {
        static char arch[65];
        struct utsname u;
        if (!arch[0] && uname(&u) == 0)
                snprintf(arch, sizeof(arch), "%s", norm_arch(u.machine));
        *ret_os = "linux";
        *ret_arch = arch[0] ? arch : "amd64";
        *ret_variant = !strcmp(*ret_arch, "arm64") ? "v8" : NULL;
}

int platform_parse(const char *s, char **ret_os, char **ret_arch,
                   char **ret_variant, struct berr *err) {
        _cleanup_free_ char *copy = strdup(s ? s : "");
        if (!copy)
                return -ENOMEM;
        for (char *p = copy; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        char *parts[4] = {0};
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(copy, "/", &save); t;
             t = strtok_r(NULL, "/", &save)) {
                if (n == 3)
                        return berr_setx(err, EINVAL,
                                         "invalid platform \"%s\": expected "
                                         "os/arch[/variant]",
                                         s);
                parts[n++] = t;
        }
        if (n == 0)
                return berr_setx(err, EINVAL,
                                 "invalid platform \"%s\": expected "
                                 "os/arch[/variant]",
                                 s ? s : "");
        const char *os = parts[0], *arch = n > 1 ? parts[1] : NULL;
        if (n == 1) {
                /* "amd64" alone is an architecture on linux. */
                if (strcmp(os, "linux") != 0 && strcmp(os, "windows") != 0) {
                        arch = os;
                        os = "linux";
                }
        }
        if (!arch) {
                const char *ho, *ha, *hv;
                platform_host(&ho, &ha, &hv);
                arch = ha;
        }
        *ret_os = strdup(os);
        *ret_arch = strdup(norm_arch(arch));
        *ret_variant = n > 2 ? strdup(parts[2]) : NULL;
        if (!*ret_os || !*ret_arch || (n > 2 && !*ret_variant)) {
                free(*ret_os);
                free(*ret_arch);
                free(*ret_variant);
                return -ENOMEM;
        }
        return 0;
}

int document_select(const struct document *idx, const char *os,
                    const char *arch, const char *variant, size_t *ret_index,
                    struct berr *err) {
        const char *prefer = variant                  ? variant
                             : !strcmp(arch, "arm64") ? "v8"
                             : !strcmp(arch, "arm")   ? "v7"
                                                      : NULL;
        ssize_t best = -1;
        int best_score = -1;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct descriptor *m = &idx->manifests[i];
                if (!m->os || !m->arch || strcmp(m->os, os) != 0 ||
                    strcmp(norm_arch(m->arch), arch) != 0)
                        continue;
                if (!is_manifest_type(m->media_type))
                        continue;
                int score;
                if (variant)
                        score = m->variant && !strcmp(m->variant, variant) ? 2
                                : !m->variant && prefer && !strcmp(prefer, "v8")
                                        ? 1
                                        : -1;
                else if (!m->variant || (prefer && !strcmp(m->variant, prefer)))
                        score = 2;
                else
                        score = 1;
                if (score > best_score) {
                        best_score = score;
                        best = (ssize_t) i;
                }
        }
        if (best < 0)
                return berr_setx(err, ENOENT,
                                 "no matching manifest for %s/%s%s%s in the "
                                 "manifest list entries",
                                 os, arch, variant ? "/" : "",
                                 variant ? variant : "");
        *ret_index = (size_t) best;
        return 0;
}

int config_parse(const char *text, size_t len, size_t n_layers,
                 char ***ret_diff_ids, struct berr *err) {
        if (len > DOC_MAX_BYTES)
                return berr_setx(err, EFBIG,
                                 "image config is %zu bytes, more than the "
                                 "%u allowed",
                                 len, DOC_MAX_BYTES);
        json_t *c = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        int r = 0;
        json_t *rootfs = json_object_get(c, "rootfs");
        json_t *diffs = json_object_get(rootfs, "diff_ids");
        if (!json_is_object(c)) {
                r = berr_setx(err, EINVAL, "image config is not a JSON object");
                goto out;
        }
        if (!json_is_array(diffs) ||
            strcmp(json_string_value(json_object_get(rootfs, "type")) ?: "",
                   "layers") != 0) {
                r = berr_setx(err, EINVAL,
                              "image config has no rootfs of type layers");
                goto out;
        }
        if (json_array_size(diffs) != n_layers) {
                r = berr_setx(err, EINVAL,
                              "image config lists %zu diff_ids but the "
                              "manifest has %zu layers",
                              json_array_size(diffs), n_layers);
                goto out;
        }
        json_t *cfg = json_object_get(c, "config");
        if (cfg && !json_is_object(cfg) && !json_is_null(cfg)) {
                r = berr_setx(err, EINVAL,
                              "image config's \"config\" is not an object");
                goto out;
        }
        char **v = calloc(n_layers + 1, sizeof(char *));
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_layers; i++) {
                const char *d = json_string_value(json_array_get(diffs, i));
                if (!digest_valid(d)) {
                        strv_free(v);
                        r = berr_setx(err, EINVAL,
                                      "image config has an invalid diff_id "
                                      "%zu",
                                      i);
                        goto out;
                }
                v[i] = strdup(d);
                if (!v[i]) {
                        strv_free(v);
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret_diff_ids = v;
out:
        json_decref(c);
        return r;
}

void challenge_done(struct challenge *c) {
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        memset(c, 0, sizeof(*c));
}

/* RFC 7235: scheme, then comma-separated name=value pairs where values
 * are tokens or quoted strings with backslash escapes. */
int challenge_parse(const char *h, struct challenge *ret) {
        memset(ret, 0, sizeof(*ret));
        if (!h)
                return -EINVAL;
        while (*h == ' ' || *h == '\t')
                h++;
        size_t sl = strcspn(h, " \t");
        if (sl == 0 || sl > 32)
                return -EINVAL;
        ret->scheme = strndup(h, sl);
        if (!ret->scheme)
                return -ENOMEM;
        for (char *p = ret->scheme; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        const char *p = h + sl;
        while (*p) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        break;
                size_t nl = strcspn(p, "= \t,");
                if (nl == 0 || p[nl] != '=') {
                        /* A token68 or garbage: skip to the next comma. */
                        p += strcspn(p, ",");
                        continue;
                }
                _cleanup_free_ char *name = strndup(p, nl);
                if (!name) {
                        challenge_done(ret);
                        return -ENOMEM;
                }
                for (char *q = name; *q; q++)
                        *q = (char) tolower((unsigned char) *q);
                p += nl + 1;
                char *val;
                if (*p == '"') {
                        p++;
                        size_t cap = strlen(p) + 1, n = 0;
                        val = malloc(cap);
                        if (!val) {
                                challenge_done(ret);
                                return -ENOMEM;
                        }
                        while (*p && *p != '"') {
                                if (*p == '\\' && p[1])
                                        p++;
                                val[n++] = *p++;
                        }
                        val[n] = '\0';
                        if (*p == '"')
                                p++;
                } else {
                        size_t vl = strcspn(p, ", \t");
                        val = strndup(p, vl);
                        if (!val) {
                                challenge_done(ret);
                                return -ENOMEM;
                        }
                        p += vl;
                }
                char **slot = !strcmp(name, "realm")     ? &ret->realm
                              : !strcmp(name, "service") ? &ret->service
                              : !strcmp(name, "scope")   ? &ret->scope
                              : !strcmp(name, "error")   ? &ret->error
                                                         : NULL;
                if (slot && !*slot)
                        *slot = val;
                else
                        free(val);
        }
        return 0;
}

void ref_parts_done(struct ref_parts *p) {
        free(p->domain);
        free(p->path);
        free(p->tag);
        free(p->digest);
        memset(p, 0, sizeof(*p));
}

int ref_split(const char *full, struct ref_parts *ret, struct berr *err) {
        memset(ret, 0, sizeof(*ret));
        struct reference r;
        int rr = reference_parse_normalized(full, &r, err);
        if (rr < 0)
                return rr;
        if (r.digest && !digest_valid(r.digest)) {
                rr = berr_setx(err, EINVAL,
                               "invalid digest in reference \"%s\" (only "
                               "sha256 is supported)",
                               full);
                reference_done(&r);
                return rr;
        }
        ret->domain = r.domain ? r.domain : strdup(REFERENCE_DEFAULT_DOMAIN);
        ret->path = r.path;
        ret->tag = r.tag;
        ret->digest = r.digest;
        if (!ret->domain || !ret->path) {
                ref_parts_done(ret);
                return -ENOMEM;
        }
        return 0;
}
