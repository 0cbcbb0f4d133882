/* The image store's internals, shared by store.c (local images, archives)
 * and registry.c (what pulls and pushes add).  Private to src/image/. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct berr;

struct image_store {
        char *root;
        int rootfd;
        int lockfd;
        /* The daemon's store: store_lock never waits (-EWOULDBLOCK). */
        bool nonblocking;
        /* Bounds on what unpacking writes (image_store_set_limits). */
        int64_t max_layer, max_image;
        /* Bytes the image being brought in unpacks to so far (its
         * present layers included); updated by several unpack threads. */
        int64_t image_used;
        /* tmp/gc-X: what store_gc_locked moved out, to be removed
         * after the lock is released. */
        char *trash;
};

/* The store's flock: every mutation holds it, for short moments only
 * (renames and small records; unpacking happens before, in tmp/).  In a
 * nonblocking store -EWOULDBLOCK when another process holds it. */
int store_lock(struct image_store *s);
void store_unlock(struct image_store *s);

/* Count `n` more unpacked bytes of one layer (`*layer_total` its running
 * total) against max-layer-size and max-image-size.  -EFBIG with a
 * message naming the bound once either is crossed. */
int store_account(struct image_store *s, int64_t *layer_total, int64_t n,
                  struct berr *err);
/* Remove what store_gc_locked moved into the trash (after unlocking). */
void store_empty_trash(struct image_store *s);
/* Unpack the uncompressed layer tar `tarfd` into a new tmp/unpack-X and
 * make it durable; needs no lock.  Writes the tmp dir's relative path. */
int store_prepare_layer(struct image_store *s, int tarfd, const char *diffid,
                        char **ret_tmp, struct berr *err);

/* "sha256:HEX" -> "HEX" (anything else unchanged). */
const char *store_hex(const char *id);
json_t *store_load_json(int dirfd, const char *path);
/* Atomic and durable (fsync, rename). */
int store_save_json(int dirfd, const char *path, json_t *j);
json_t *store_repos_load(struct image_store *s);
bool store_image_exists(struct image_store *s, const char *hex);
json_t *store_config_load(struct image_store *s, const char *id);
/* The chain ids of a diff_ids array (the layer directories' names). */
json_t *store_chain_ids(json_t *diff_ids);
/* images/HEX.json ({"Id", "RepoDigests", "Manifests"}); {} if none. */
json_t *store_image_record(struct image_store *s, const char *id);
json_t *store_repo_digests(struct image_store *s, const char *id);
/* Familiar tags ("busybox:latest") naming image `id`. */
json_t *store_tags_of(struct image_store *s, const char *id, json_t *repos);
/* A layer directory's uncompressed size (layer.json), 0 if unknown. */
int64_t store_layer_size(struct image_store *s, const char *chain);

/* With the lock held. */
int store_tag_locked(struct image_store *s, const char *id, const char *new_ref,
                     struct berr *err);
/* Remove layers, blobs and diff records no image refers to. */
void store_gc_locked(struct image_store *s);
int store_write_blob(struct image_store *s, const char *text, char id[72],
                     struct berr *err);
/* Create or update images/HEX.json, keeping recorded fields. */
int store_write_image_record(struct image_store *s, const char *id,
                             struct berr *err);
/* Under the lock: the spooled tar `tarpath` becomes blobs/sha256/DIFF
 * and the prepared dir `tmp` (NULL when the layer was present when the
 * work began) layers/CHAIN.  -EAGAIN when neither the prepared dir nor
 * the layer exists any more (removed meanwhile). */
int store_commit_layer(struct image_store *s, const char *chain,
                       const char *diffid, const char *tmp, const char *tarpath,
                       int64_t size, struct berr *err);

/* "tmp/PREFIX-RANDOM", relative to the root. */
char *store_tmp_name(const char *prefix);
/* A new tmp/PREFIX-X/ with an empty diff/ in it: the path and an fd of
 * diff/.  Needs no lock (names are unique). */
int store_mkdtemp(struct image_store *s, const char *prefix, char **ret_tmp,
                  int *ret_diff_fd, struct berr *err);
bool store_layer_exists(struct image_store *s, const char *chain);
/* Write layer.json into the unpacked `tmp` dir and rename it to
 * layers/CHAIN (an existing one wins).  With the lock held. */
int store_commit_layer_dir(struct image_store *s, const char *tmp,
                           const char *chain, const char *diffid, int64_t size,
                           struct berr *err);

/* The Parent an image's record names, if that image still exists. */
char *store_parent_of(struct image_store *s, const char *id);
