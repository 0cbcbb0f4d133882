/* Distribution documents: image manifests, indexes (manifest lists) and
 * image configs as registries serve them, parsed strictly.  Pure functions
 * over bytes (no I/O), so each has a fuzz target.  Private to
 * src/registry/ (and its tests). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct berr;

#define MT_DOCKER_MANIFEST                                                     \
        "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                         \
        "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED                                               \
        "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LAYER  "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN                                                      \
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_LAYER      "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* What the Accept header of a manifest request lists. */
#define MANIFEST_ACCEPT                                                        \
        MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST                  \
                     ", " MT_DOCKER_MANIFEST

/* Manifests and configs larger than this are refused before they are
 * read whole (containerd uses the same 4 MiB bound). */
#define DOC_MAX_BYTES (4u << 20)

enum doc_kind {
        DOC_MANIFEST,
        DOC_INDEX,
        DOC_KIND_MAX,
        DOC_KIND_INVALID = -1,
};

struct descriptor {
        char *media_type;
        char *digest; /* "sha256:<64 hex>" */
        int64_t size;
        bool foreign; /* a non-distributable layer (has urls) */
        /* Index entries: the platform. */
        char *os;
        char *arch;
        char *variant;
};

struct document {
        enum doc_kind kind;
        char *media_type; /* the effective one */
        struct descriptor config;
        struct descriptor *layers;
        size_t n_layers;
        struct descriptor *manifests;
        size_t n_manifests;
};

/* True for "sha256:" followed by 64 lowercase hex digits. */
bool digest_valid(const char *d);

/* Parse a manifest or index.  `content_type` is the response's
 * Content-Type (may be NULL).  Ambiguous documents (CVE-2021-41190: both
 * "manifests" and "layers"/"config", or a mediaType field that disagrees
 * with the Content-Type or with the fields present) and schema 1 manifests
 * are refused with a message saying why. */
int document_parse(const char *text, size_t len, const char *content_type,
                   struct document **ret, struct berr *err);
struct document *document_free(struct document *d);

/* Index: the entry for os/arch[/variant] (variant may be NULL: the best
 * match, "v8" for arm64 and "v7" for arm preferred as containerd does).
 * -ENOENT with docker's message when none matches. */
int document_select(const struct document *idx, const char *os,
                    const char *arch, const char *variant, size_t *ret_index,
                    struct berr *err);

/* Split "os/arch[/variant]" (docker's --platform); arch aliases
 * normalized (x86_64 -> amd64, aarch64 -> arm64).  Strings are freed by
 * the caller. */
int platform_parse(const char *s, char **ret_os, char **ret_arch,
                   char **ret_variant, struct berr *err);
/* This host's platform. */
void platform_host(const char **ret_os, const char **ret_arch,
                   const char **ret_variant);

/* An image config: checks it is an object with rootfs.type "layers" and
 * as many diff_ids (each a valid digest) as the manifest has layers.
 * Writes a NULL-terminated copy of the diff_ids. */
int config_parse(const char *text, size_t len, size_t n_layers,
                 char ***ret_diff_ids, struct berr *err);

/* A WWW-Authenticate challenge: scheme ("basic"/"bearer", lowercased)
 * and the realm, service and scope parameters (any may be NULL). */
struct challenge {
        char *scheme;
        char *realm;
        char *service;
        char *scope;
        char *error;
};
int challenge_parse(const char *header, struct challenge *ret);
void challenge_done(struct challenge *c);

/* A registry reference split up: "docker.io/library/busybox:latest" ->
 * domain "docker.io", path "library/busybox", tag "latest", digest NULL.
 * Input is reference_normalize's output. */
struct ref_parts {
        char *domain;
        char *path;
        char *tag;
        char *digest;
};
int ref_split(const char *full, struct ref_parts *ret, struct berr *err);
void ref_parts_done(struct ref_parts *p);
