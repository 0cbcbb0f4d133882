/* berth's local image store: a content-addressable blob store, image
 * records and tags, layers unpacked once into shared snapshots, and the
 * archive formats (docker save, OCI layout, rootfs tarballs).
 *
 * All state lives on disk under the store's root; every call reads what it
 * needs from there, and mutations take the store's lock file, so several
 * processes (berthd and the child processes it runs long work in) can use
 * one store at once.  Calls never print, never exit and never fork.
 *
 * Ids are "sha256:<64 hex>" (the digest of the image's config blob).
 * References are parsed as docker parses them ("busybox" is
 * "docker.io/library/busybox:latest"); the JSON produced shows them in
 * docker's familiar form ("busybox:latest", "localhost:5000/x:1"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct berr;
struct image_store;

/* Open the store at `root` (e.g. /var/lib/berth/image), creating it and
 * removing what interrupted work left in tmp/: for the store's owner (the
 * daemon), once. */
int image_store_open(const char *root, struct image_store **ret,
                     struct berr *err);
/* The same for a worker process beside the owner: tmp/ is left alone. */
int image_store_attach(const char *root, struct image_store **ret,
                       struct berr *err);
struct image_store *image_store_free(struct image_store *s);

/* The daemon's store: mutations (image_tag, image_remove) never wait for
 * the store's lock but fail with -EWOULDBLOCK ("the image store is busy")
 * while another process commits; the caller retries later.  Garbage that
 * image_remove frees is not removed in the call either: it is moved to a
 * trash directory that image_store_take_trash hands over (a relative
 * path, NULL when none), for image_store_remove_trash in another process
 * (removing gigabytes takes seconds).  A crash leaves it in tmp/, which
 * the next image_store_open empties. */
void image_store_set_nonblocking(struct image_store *s, bool nonblocking);
char *image_store_take_trash(struct image_store *s);
int image_store_remove_trash(struct image_store *s, const char *trash);

/* Bounds on what bringing in an image writes (SECURITY.md section 5, a
 * decompression bomb): the uncompressed size of one layer and of all of
 * an image's layers together.  Loads, imports and pulls that cross one
 * fail with -EFBIG and a message naming the bound (max-layer-size,
 * max-image-size), leaving nothing.  0 = the default. */
#define IMAGE_MAX_LAYER_DEFAULT (16LL << 30)
#define IMAGE_MAX_IMAGE_DEFAULT (64LL << 30)
void image_store_set_limits(struct image_store *s, int64_t max_layer,
                            int64_t max_image);
/* Start counting an image being brought in (a pull, a load's image):
 * its layers already present count, those unpacked next are added. */
int image_budget_begin(struct image_store *s, char *const *diff_ids,
                       struct berr *err);

/* Find an image by reference (name[:tag], name@sha256:..., name:tag@digest),
 * full id ("sha256:<hex>" or "<hex>") or unique id prefix (>= 4 hex
 * digits, like docker's short ids).  -ENOENT with "No such image: REF". */
int image_resolve(struct image_store *s, const char *ref, char **ret_id,
                  struct berr *err);

/* The image config's "config" object (Cmd, Entrypoint, Env, WorkingDir,
 * User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, ...) as
 * JSON text; "{}" when the image has none. */
int image_config_json(struct image_store *s, const char *id, char **ret_json,
                      struct berr *err);

/* Docker's ImageInspect object (GET /images/{name}/json). */
int image_inspect_json(struct image_store *s, const char *id, char **ret_json,
                       struct berr *err);

/* Callback: how many containers use image `id` (for "Containers" fields
 * and removal checks); may be NULL (then 0).  When ret_container is not
 * NULL, store a strdup'ed id of one such container there (if any). */
typedef int (*image_users_fn)(const char *id, char **ret_container, void *ud);

/* GET /images/json: the ImageSummary array.  `filters_json` is docker's
 * filters parameter (both the map and the list form): dangling, label,
 * reference, before, since; may be NULL. */
int image_list_json(struct image_store *s, bool all, const char *filters_json,
                    image_users_fn users, void *ud, char **ret_json,
                    struct berr *err);

/* GET /images/{name}/history: docker's history array. */
int image_history_json(struct image_store *s, const char *id, char **ret_json,
                       struct berr *err);

/* Absolute paths of the unpacked layer directories of image `id`, the
 * topmost first (the order of overlayfs' lowerdir=).  An image without
 * layers gives an empty vector.  Caller frees with strv_free. */
int image_layer_dirs(struct image_store *s, const char *id, char ***ret_dirs,
                     struct berr *err);

/* POST /images/{name}/tag: point `repo[:tag]` at what `src` resolves to. */
int image_tag(struct image_store *s, const char *src, const char *new_ref,
              struct berr *err);

/* DELETE /images/{name}: untag a reference, and delete the image (its
 * record, and blobs and layer snapshots nothing else uses) when no tag is
 * left.  Deleting by id with several tags needs `force`.  An image in use
 * by a container is refused with -EBUSY and docker's message ("conflict:
 * unable to delete <id12> (must be forced) - image is being used by
 * stopped container <id12>") unless `force` (then only untagged).
 * Writes docker's answer array ([{"Untagged":..},{"Deleted":..}]). */
int image_remove(struct image_store *s, const char *ref, bool force,
                 image_users_fn users, void *ud, char **ret_json,
                 struct berr *err);

/* POST /images/load: read a `docker save` archive or an OCI image layout
 * archive (plain or compressed tar) from `fd` until EOF.  Per image,
 * verifies every digest and unpacks new layers in tmp/ (bounded by
 * max-layer-size / max-image-size), then, under the store's lock,
 * commits layers, records and tags; an image that fails leaves no
 * image, tag, blob or snapshot of its own (images committed before it
 * in the same archive stay, as docker's do).  *ret_msgs gets docker's
 * lines ("Loaded image: busybox:latest", "Loaded image ID: sha256:...").
 * Free with strv_free. */
int image_load(struct image_store *s, int fd, char ***ret_msgs,
               struct berr *err);

/* GET /images/get?names=..: write a `docker save` archive (which also is a
 * valid OCI image layout: index.json, oci-layout, blobs/sha256/..) of the
 * given references or ids to `fd`.  Tags are kept in manifest.json's
 * RepoTags and repositories. */
int image_save(struct image_store *s, char *const *refs, int fd,
               struct berr *err);

/* POST /images/create?fromSrc=-: a rootfs tarball (plain, gzip, zstd, xz
 * or bzip2) from `fd` becomes a one-layer image.  `ref` may be NULL (an
 * untagged image).  `config_json` may be NULL or a JSON object of config
 * fields to set (Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts,
 * Volumes, Labels, StopSignal) - the daemon turns --change lines into it.
 * `comment` goes into the history.  Writes the new id. */
int image_import(struct image_store *s, int fd, const char *ref,
                 const char *config_json, const char *comment, char **ret_id,
                 struct berr *err);

/* Reference parsing as docker does it.  reference_normalize gives the
 * full form "docker.io/library/busybox:latest" (a digest reference keeps
 * "@sha256:..." and has no default tag); -EINVAL with a message naming
 * the reference for an invalid one ("invalid reference format",
 * "repository name must be lowercase").  reference_familiar gives the
 * short form ("busybox:latest"). */
int reference_normalize(const char *in, char **ret, struct berr *err);
char *reference_familiar(const char *full);

/* ---- what registry pulls and pushes add (src/registry/) ----
 * These may be called from several threads of one process at once (each
 * with its own objects); the store's lock serializes the commits. */

/* A layer unpacked from a stream, waiting for its commit. */
struct image_ingest;

/* Unpack a layer blob read from `fd` until EOF (gzip, zstd or
 * uncompressed, recognized by its magic) into a new temporary directory,
 * computing its diff_id on the way.  Every path stays confined to the
 * layer's directory.  On failure nothing is left. */
int image_ingest_layer(struct image_store *s, int fd, struct image_ingest **ret,
                       struct berr *err);
const char *image_ingest_diff_id(const struct image_ingest *in);
int64_t image_ingest_size(const struct image_ingest *in);
/* Remove an ingest that will not be committed.  Returns NULL. */
struct image_ingest *image_ingest_discard(struct image_store *s,
                                          struct image_ingest *in);

/* An anonymous file in the store's tmp/ (O_TMPFILE) for a blob being
 * downloaded; it disappears unless committed. */
int image_blob_tmpfile(struct image_store *s, struct berr *err);

/* An exclusive lock (an fd to close) on bringing in the layer directory
 * `chain_id`, so concurrent pulls download each layer once; -EWOULDBLOCK
 * when !wait and it is held, -EINTR when a signal interrupted the wait. */
int image_layer_lock(struct image_store *s, const char *chain_id, bool wait);
/* The chain ids (layer directory names) of a diff_ids vector. */
int image_chain_ids(char *const *diff_ids, char ***ret);

/* Whether every layer of a diff_ids vector is present; ret_have (may be
 * NULL) gets one flag per layer. */
bool image_has_layers(struct image_store *s, char *const *diff_ids,
                      bool *ret_have);

struct image_pull_layer {
        const char *diff_id;
        const char *digest; /* the compressed blob's */
        const char *media_type;
        int64_t size;
        int blob_fd;                 /* the blob (tmpfile), or -1 */
        struct image_ingest *ingest; /* unpacked, or NULL if present */
};

struct image_pull {
        const char *ref;        /* tag reference to set, or NULL */
        const char *repo;       /* "domain/path" */
        const char *top_digest; /* what RepoDigests records */
        const char *config;
        size_t config_len;
        const char *manifest; /* the platform manifest, exact bytes */
        size_t manifest_len;
        const char *manifest_digest;
        const char *manifest_type;
        const char *index; /* the index it was chosen from, or NULL */
        size_t index_len;
        const char *index_digest;
        const char *index_type;
        const struct image_pull_layer *layers;
        size_t n_layers;
};

/* Make a pulled image visible: blobs, layers, records, tags, in one step
 * under the store's lock.  Ingests and blob fds stay the caller's (free
 * them after).  *ret_new is false when the tag already named this
 * image. */
int image_commit_pull(struct image_store *s, const struct image_pull *p,
                      char **ret_id, bool *ret_new, struct berr *err);

/* A layer as it is pushed: its compressed blob (the one it was pulled
 * as, or a gzip made now for layers that came from load or import) and
 * the repositories ("domain/path") known to have it. */
struct image_push_layer {
        char *diff_id;
        char *digest;
        char *media_type;
        int64_t size;
        char **sources;
};
int image_push_layers(struct image_store *s, const char *id,
                      struct image_push_layer **ret, size_t *ret_n,
                      struct berr *err);
void image_push_layers_free(struct image_push_layer *l, size_t n);
/* A stored blob for reading, and its size. */
int image_blob_open(struct image_store *s, const char *digest,
                    int64_t *ret_size, struct berr *err);
/* The image config's exact bytes (its digest is the image id). */
int image_config_raw(struct image_store *s, const char *id, char **ret,
                     size_t *ret_len, struct berr *err);
/* A platform manifest recorded when the image was pulled or pushed
 * (-ENOENT when none). */
int image_recorded_manifest(struct image_store *s, const char *id,
                            char **ret_text, size_t *ret_len, char **ret_type);
/* After a push: the manifest blob, RepoDigests and the layers' sources. */
int image_record_push(struct image_store *s, const char *id, const char *repo,
                      const char *digest, const char *manifest, size_t len,
                      const char *type, const struct image_push_layer *layers,
                      size_t n, struct berr *err);

/* ---- what builds add (src/build/) ---- */

/* A new image on top of `parent` (an id; NULL: none, FROM scratch): its
 * config document is the parent's with `config` (the "config" object as
 * JSON text; NULL: empty) in its place, and a history entry for
 * `created_by`.  When `upper_fd` >= 0 that directory, in overlayfs' upper
 * form (whiteouts as 0:0 character devices, opaque directories marked by
 * trusted.overlay.opaque), becomes a new layer - unless it holds nothing,
 * then the history entry says empty_layer, as docker's does.  Paths in
 * `skip_empty` (relative, NULL-terminated, may be NULL) are left out when
 * they are an empty file or directory: mount points a runtime made.  The
 * new image records `parent` as its Parent.  Nothing is left on failure. */
struct image_child {
        const char *parent;
        const char *config;
        const char *created_by;
        const char *comment;
        int upper_fd;
        char *const *skip_empty;
};
int image_commit_child(struct image_store *s, const struct image_child *c,
                       char **ret_id, struct berr *err);

/* The build cache: `key` (64 hex digits, a digest of what a step
 * depends on) -> the image the step made.  get gives -ENOENT when there
 * is none or its image is gone. */
int image_cache_get(struct image_store *s, const char *key, char **ret_id);
int image_cache_put(struct image_store *s, const char *key, const char *id,
                    struct berr *err);

/* A new private directory under the store's tmp/ (removed with what a
 * crash left when the owner next opens the store); absolute path. */
int image_tmpdir(struct image_store *s, const char *prefix, char **ret_path,
                 struct berr *err);

/* Mount an overlay of layer directories `lowers` (topmost first, as
 * image_layer_dirs gives them) at `target`, writable through `upper`
 * and `work`, or read-only when upper is NULL.  `empty` is an empty
 * directory standing in for the layers an image without any lacks. */
int image_mount_overlay(char *const *lowers, const char *empty,
                        const char *upper, const char *work, const char *target,
                        struct berr *err);
/* Mount overlays the way kernels before 6.8 must (one mount(2) option
 * string) even where "lowerdir+" works: for tests of that path. */
void image_overlay_force_legacy(bool on);
