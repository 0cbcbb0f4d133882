/* Image references the way docker's CLI reads them (the grammar of
 * github.com/distribution/reference): "busybox" is
 * docker.io/library/busybox, "127.0.0.1:5000/x:1" names a registry on
 * loopback, "x@sha256:..." pins a digest.  Pure string work, no I/O; the
 * messages are docker's own words, because scripts match on them. */
#pragma once

#include "error.h"

#define REFERENCE_DEFAULT_DOMAIN "docker.io"
/* The key docker keeps Docker Hub's credentials under in config.json. */
#define REFERENCE_INDEX_SERVER "https://index.docker.io/v1/"

struct reference {
        char *domain; /* "docker.io", "localhost:5000"; NULL for none */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL when none was given */
        char *digest; /* "sha256:<hex>" or NULL */
};

/* ParseNormalizedNamed: a familiar name made fully qualified.  On failure
 * returns -EINVAL with docker's message in err ("invalid reference
 * format: repository name (library/UPPER) must be lowercase"); *ret is
 * written only on success. */
int reference_parse_normalized(const char *s, struct reference *ret,
                               struct berr *err);

/* ParseAnyReference: 0 when s is an image ID (64 hex digits) or a bare
 * digest, which name no repository (*ret untouched); 1 with *ret filled
 * for a name; < 0 as reference_parse_normalized. */
int reference_parse_any(const char *s, struct reference *ret, struct berr *err);

void reference_done(struct reference *r);
static inline void reference_donep(struct reference *r) {
        reference_done(r);
}

/* TagNameOnly: adds the tag "latest" when neither tag nor digest is set.
 * -ENOMEM or 0. */
int reference_tag_name_only(struct reference *r);
static inline int reference_is_name_only(const struct reference *r) {
        return !r->tag && !r->digest;
}

/* New strings (NULL on ENOMEM): Name() "docker.io/library/busybox",
 * String() "docker.io/library/busybox:latest", FamiliarName() "busybox",
 * FamiliarString() "busybox:latest". */
char *reference_name(const struct reference *r);
char *reference_string(const struct reference *r);
char *reference_familiar_name(const struct reference *r);
char *reference_familiar_string(const struct reference *r);

/* The config.json key of a registry: Docker Hub's is the index server
 * URL, any other registry's is its host[:port]. */
const char *reference_auth_key(const char *domain);
