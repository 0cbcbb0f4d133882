/* Shared by pull.c and push.c.  Private to src/registry/. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct berr;
struct document;
struct reg_client;

/* A manifest or index as fetched: exact bytes, digest, parsed form. */
struct fetched_doc {
        const char *tag; /* asked for when no digest is */
        char *text;
        size_t len;
        char digest[72];
        struct document *doc;
};

/* GET /v2/PATH/manifests/(want_digest|ret->tag), verified against the
 * digest (and size when >= 0) asked for or the one the registry states,
 * and parsed.  Errors are worded as docker words them ("manifest for X
 * not found", "pull access denied for X"). */
int fetch_document(struct reg_client *c, const char *const *scopes,
                   const char *path, const char *ref_text,
                   const char *want_digest, int64_t want_size,
                   const volatile int *cancel, struct fetched_doc *ret,
                   struct berr *err);
void fetched_doc_done(struct fetched_doc *d);

/* Call the progress callback under `mu` (may be NULL). */
void pull_progress(registry_progress_fn fn, void *ud, pthread_mutex_t *mu,
                   const char *id, const char *status, int64_t cur,
                   int64_t total);
