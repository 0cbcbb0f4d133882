/* HTTP to one registry (libcurl): the scheme choice (HTTPS, plain HTTP
 * only where allowed), TLS trust from certs.d, Basic and Bearer-token
 * auth with a token cache, redirects with a limit.  A client may be used
 * from several threads at once.  Private to src/registry/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berr;
struct registry_config;
struct registry_auth;
struct reg_client;

/* How a registry may be spoken to: verified HTTPS only (the default),
 * HTTPS or - if it does not speak TLS - plain HTTP (loopback), or also
 * unverified TLS (listed in insecure-registries, as docker does). */
enum reg_trust {
        REG_TRUST_TLS,
        REG_TRUST_LOOPBACK,
        REG_TRUST_INSECURE,
        REG_TRUST_MAX,
        REG_TRUST_INVALID = -1,
};
enum reg_trust reg_trust_of(const char *domain,
                            const struct registry_config *cfg);

/* `domain` is "host[:port]" ("docker.io" means registry-1.docker.io). */
int reg_client_new(const char *domain, const struct registry_config *cfg,
                   const struct registry_auth *auth, struct reg_client **ret,
                   struct berr *err);
struct reg_client *reg_client_free(struct reg_client *c);
const char *reg_client_domain(const struct reg_client *c);

/* Streamed response bodies (2xx only): return false to abort. */
typedef bool (*reg_sink_fn)(const void *buf, size_t len, void *ud);

struct reg_request {
        const char *method; /* GET, HEAD, PUT, POST, PATCH, DELETE */
        const char *url;    /* "/v2/..." on the registry, or absolute */
        /* Token scopes the request needs, e.g. "repository:x/y:pull";
         * NULL-terminated; NULL for none. */
        const char *const *scopes;
        const char *accept;
        const char *content_type;
        const void *body; /* in memory ... */
        size_t body_len;
        int body_fd; /* ... or from a file (when >= 0, with body_size) */
        off_t body_off;
        int64_t body_size;
        int64_t range_start; /* > 0: ask for bytes from here (Range) */
        size_t max_body;     /* buffered body bound (0: 64 KiB) */
        reg_sink_fn sink;    /* 2xx body goes here instead of a buffer */
        void *sink_ud;
        const volatile int *cancel; /* non-zero aborts the transfer */
        /* Upload progress (bytes sent of this request's body), about
         * every 100 ms; may be NULL. */
        void (*on_upload)(int64_t sent, void *ud);
        void *upload_ud;
};

struct reg_response {
        long status;
        char *body; /* buffered body (also error bodies), NUL-terminated */
        size_t len;
        char *content_type;
        char *digest;           /* Docker-Content-Digest */
        char *location;         /* Location (made absolute) */
        int64_t content_length; /* -1 when not sent */
        bool transfer_failed;   /* connection broke (may be resumed) */
};
void reg_response_done(struct reg_response *r);

/* One request, with the auth dance (a 401 is answered once with the
 * challenge's credentials, then retried).  Fails (negative errno and a
 * message naming the registry) only for transport errors; an HTTP error
 * status is returned in ret->status for the caller to word. */
int reg_do(struct reg_client *c, const struct reg_request *rq,
           struct reg_response *ret, struct berr *err);

/* The registry's error document ({"errors":[{"code","message"}]}) as
 * "message" text, or the status line when there is none.  Caller frees. */
char *reg_error_text(const struct reg_response *r);
