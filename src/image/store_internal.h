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
};

/* The store's flock: every mutation holds it. */
int store_lock(struct image_store *s);
void store_unlock(struct image_store *s);

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
int store_commit_layer(struct image_store *s, const char *chain,
                       const char *diffid, int tarfd, const char *tarpath,
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
