/* The build executor: a Dockerfile and its context into an image, step
 * by step as docker's classic builder does - each instruction an image
 * on top of the one before (config-only instructions a new config, RUN
 * a container berthd runs, COPY/ADD/WORKDIR a layer written on an
 * overlay here), each step's image remembered under a key of what it
 * depends on, so an unchanged step is found again (the cache).
 *
 * Runs in berth-worker, as root: build_execute unshares the mount
 * namespace first, so the overlays it mounts vanish with the process. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct berr;
struct image_store;

struct build_opts {
        const char *context;    /* the extracted context directory */
        const char *dockerfile; /* in the context; NULL: "Dockerfile" */
        char **tags;            /* references to tag the result with */
        char **build_args;      /* NAME=VALUE */
        char **labels;          /* KEY=VALUE, added to the final image */
        const char *target;     /* stage name, or NULL */
        const char *network;    /* RUN containers' NetworkMode; NULL: default */
        const char *platform;
        const char *socket; /* berthd's API socket (RUN steps) */
        bool no_cache, pull, quiet;
};

struct build_hooks {
        /* A message for the client ({"stream": ..}, {"aux": ..});
         * ownership passes. */
        void (*emit)(json_t *msg, void *ud);
        /* Bring image `ref` into the store (FROM, COPY --from). */
        int (*pull)(const char *ref, const char *platform, void *ud,
                    struct berr *err);
        void *ud;
        const volatile int *cancel;
        /* Set when a RUN step failed: its exit status (docker's
         * errorDetail code, the CLI's exit status). */
        int run_status;
};

int build_execute(struct image_store *s, const struct build_opts *o,
                  struct build_hooks *h, char **ret_id, struct berr *err);

/* Unpack a build context (a tar, plain or compressed) from `fd` into the
 * existing directory `dir`: no entry may leave it (absolute paths and
 * '..' are refused, symlinks are created as they are, never followed). */
int build_context_extract(int fd, const char *dir, struct berr *err);
