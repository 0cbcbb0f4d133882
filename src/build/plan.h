/* The stages of a Dockerfile and which of them a build needs: FROM
 * lines (with the ARGs declared before the first FROM expanded in them,
 * --build-arg overriding their defaults), stage names and indexes,
 * what each stage builds on (an image, scratch or an earlier stage) and
 * takes files from (COPY --from), and - for --target - only the stages
 * the target depends on.  No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct berr;
struct dockerfile;

struct build_stage {
        size_t index;
        char *name;     /* lowercased AS name, or NULL */
        char *base;     /* FROM's image, expanded; "scratch" */
        int base_stage; /* the stage FROM names, or -1 */
        char *platform; /* FROM --platform, expanded, or NULL */
        size_t first;   /* its instructions: df->instrs[first..last) */
        size_t last;    /* (first is the one after FROM) */
        bool needed;    /* the target depends on it */
};

struct build_plan {
        struct build_stage *stages;
        size_t n;
        size_t target; /* the stage that becomes the image */
        /* ARGs before the first FROM: NAME=VALUE (with --build-arg
         * applied), for stages that declare them again. */
        char **global_args;
};

/* `build_args`: NAME=VALUE strings (NULL-terminated, may be NULL);
 * `target`: a stage name, or NULL for the last stage. */
int build_plan_make(const struct dockerfile *df, char *const *build_args,
                    const char *target, struct build_plan **ret,
                    struct berr *err);
struct build_plan *build_plan_free(struct build_plan *p);
/* The stage `ref` names (a name, or an index in decimal) among the
 * stages before `before`; -1 when it is none (an image then). */
int build_plan_stage(const struct build_plan *p, const char *ref,
                     size_t before);

/* The value of NAME in a vector of NAME=VALUE strings, or NULL. */
const char *build_kv_get(char *const *v, const char *name);
