/* The distribution client: pull, push and login against registries that
 * speak the OCI distribution spec (docker's registry API v2).
 *
 * Calls block and may start threads (layers download and unpack in
 * parallel), so they run in a worker process of the daemon, never in a
 * process that clones containers.  They never print; progress goes to a
 * callback in docker's terms (a layer's short id, a status, bytes). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct berr;
struct image_store;

struct registry_config {
        /* Per-registry TLS material: DIR/HOST:PORT/{ca.crt,*.crt,
         * client.cert,client.key} (docker's certs.d layout). */
        const char *certs_dir;
        /* Registries ("host:port", "host" or a CIDR like 10.0.0.0/8)
         * that may be spoken to over plain HTTP; loopback always may. */
        char *const *insecure;
        /* Registries from which non-distributable (foreign) layers may be
         * fetched; others refuse such images. */
        char *const *allow_nondistributable;
        int max_concurrent; /* parallel layer transfers (0: 3) */
};

/* Credentials as docker sends them in X-Registry-Auth. */
struct registry_auth {
        const char *username;
        const char *password;
        const char *identity_token; /* OAuth refresh token */
        const char *registry_token; /* a bearer token to use as is */
};

/* Progress callback: called from any thread, one call at a time.
 * `id` is a layer's 12-hex short id or a tag ("latest"), or NULL for
 * lines without an id; current/total are bytes (-1 when unknown). */
typedef void (*registry_progress_fn)(const char *id, const char *status,
                                     int64_t current, int64_t total, void *ud);

/* Pull `ref` (as the user wrote it) for `platform` ("os/arch[/variant]",
 * NULL: the host's) into the store.  Every byte is verified against its
 * digest and size before anything is committed; on failure nothing new is
 * left in the store.  Writes the image id and whether anything new was
 * stored (docker's "Downloaded newer image" vs "Image is up to date"). */
int registry_pull(struct image_store *s, const struct registry_config *cfg,
                  const char *ref, const char *platform,
                  const struct registry_auth *auth, registry_progress_fn fn,
                  void *ud, const volatile int *cancel, char **ret_id,
                  bool *ret_new, struct berr *err);

/* The tags of a repository ("host/path"), for pull --all-tags. */
int registry_list_tags(const struct registry_config *cfg, const char *repo,
                       const struct registry_auth *auth, char ***ret_tags,
                       struct berr *err);

/* Push local image `ref` (a tagged reference) to its registry: blobs the
 * registry has are skipped, blobs in another repository of the same
 * registry are mounted, the manifest goes last.  Writes the manifest's
 * digest and size. */
int registry_push(struct image_store *s, const struct registry_config *cfg,
                  const char *ref, const struct registry_auth *auth,
                  registry_progress_fn fn, void *ud, const volatile int *cancel,
                  char **ret_digest, int64_t *ret_size, struct berr *err);

/* Check credentials against `server` (a registry host, or docker's
 * "https://index.docker.io/v1/"): -EACCES with the registry's words when
 * they are refused.  Writes an identity token when the registry issued
 * one (else NULL). */
int registry_login(const struct registry_config *cfg, const char *server,
                   const struct registry_auth *auth, char **ret_token,
                   struct berr *err);

/* Call once in the process before any other registry call (before any
 * thread starts). */
int registry_global_init(void);
