/* The build executor's pieces (exec.c: output, variables, commits, the
 * stages; step_copy.c: COPY, ADD, WORKDIR; step_run.c: RUN;
 * step_config.c: the instructions that only change the config;
 * context.c: unpacking the context).  Private to src/build/. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct berr;
struct build_hooks;
struct build_opts;
struct build_plan;
struct df_instr;
struct dockerfile;
struct engine;
struct image_store;

#define DEFAULT_PATH                                                           \
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern const char *const bx_proxy_args[10];
extern char *const bx_mount_points[];

struct stage_run {
        char *id;    /* the current image; NULL while a scratch stage has
                      * made none */
        json_t *cfg; /* its config object */
        char **args; /* ARGs declared in the stage: NAME=VALUE or NAME */
        bool cmd_set;
};

struct bx {
        struct image_store *s;
        const struct build_opts *o;
        struct build_hooks *h;
        struct dockerfile *df;
        struct build_plan *plan;
        struct engine *eng;
        char *tmp;   /* the build's private directory */
        char *empty; /* tmp/empty: the layer of a layerless image */
        int ctxfd;   /* the context */
        char **stage_ids;
        char **used_args; /* build args some ARG consumed */
        size_t step, steps;
        char esc;
        bool unshared; /* in a mount namespace of its own */
        struct berr *err;
};

typedef int (*rootfs_fn)(struct bx *b, int rootfd, void *ud);

/* Output (nothing with -q). */
void bx_emit(struct bx *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void bx_emit_raw(struct bx *b, const char *data, size_t len);
const char *bx_short_id(const char *id, char buf[13]);

/* NAME / NAME=VALUE vectors, Env arrays, moby's history text. */
bool bx_kv_has(char *const *v, const char *name);
int bx_kv_set(char ***v, const char *name, const char *value);
const char *bx_env_get(json_t *env, const char *name);
void bx_env_set(json_t *cfg, const char *name, const char *value);
char *bx_go_quote_array(json_t *a);
char *bx_join_array(json_t *a, const char *sep);
json_t *bx_shell_of(struct stage_run *st);
json_t *bx_obj_field(json_t *cfg, const char *k);
char *bx_nop_comment(struct stage_run *st, const char *text, bool two);

/* Variables: ENV, then the stage's ARGs. */
int bx_expand(struct bx *b, struct stage_run *st, const char *word, char **ret);
char **bx_args_in_effect(struct bx *b, struct stage_run *st, bool history);

/* The cache and commits. */
void bx_cache_key(const char *parent, const char *what, char out[65]);
int bx_adopt(struct bx *b, struct stage_run *st, const char *id);
bool bx_cache_hit(struct bx *b, struct stage_run *st, const char *key);
int bx_commit(struct bx *b, struct stage_run *st, const char *key,
              const char *created_by, int upper_fd, char *const *skip);
/* A config-only step; takes `created_by` (NULL: -ENOMEM). */
int bx_config_step(struct bx *b, struct stage_run *st, char *created_by);

/* Mounts in the worker's own namespace. */
int bx_private_mounts(struct bx *b);
int bx_mount_image(struct bx *b, const char *id, const char *where,
                   int *ret_fd);
int bx_on_rootfs(struct bx *b, struct stage_run *st, const char *key,
                 const char *created_by, rootfs_fn fn, void *ud);

/* The steps. */
int bx_workdir_step(struct bx *b, struct stage_run *st,
                    const struct df_instr *in);
int bx_copy_step(struct bx *b, struct stage_run *st, const struct df_instr *in,
                 size_t stage_index);
int bx_run_step(struct bx *b, struct stage_run *st, const struct df_instr *in);
int bx_config_instr(struct bx *b, struct stage_run *st,
                    const struct df_instr *in);
