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

/* Open the store at `root` (e.g. /var/lib/berth/image), creating it. */
int image_store_open(const char *root, struct image_store **ret,
                     struct berr *err);
struct image_store *image_store_free(struct image_store *s);

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
 * archive (plain or compressed tar) from `fd` until EOF.  Verifies every
 * digest, unpacks new layers, then creates records and tags; on failure
 * leaves no new image, tag, blob or snapshot.  *ret_msgs gets docker's
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
