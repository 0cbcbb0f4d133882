/* berth's OCI runtime as a library: the lifecycle operations behind
 * `berth-runtime create/start/run/state/kill/delete/exec/...`.
 *
 * Each call is self-contained: it reads the container's record from the
 * state root, acts, and reports failure through struct berr.  No call
 * prints or exits.  The calling process must be single-threaded (clone). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct berr;
struct spec_process;
struct spec_resources;

struct runtime_opts {
        const char *root; /* state root, e.g. /run/berth-runtime */
        bool systemd_cgroup;
};

struct create_opts {
        const char *id;
        const char *bundle;         /* default: cwd */
        const char *pid_file;       /* optional */
        const char *console_socket; /* required when process.terminal */
        unsigned preserve_fds;      /* fds 3..3+n-1 pass into the container */
        bool no_pivot;
        bool no_new_keyring;
};

int container_create(const struct runtime_opts *o, const struct create_opts *c,
                     struct berr *err);

/* Release a created container's process to exec the user program; runs
 * poststart hooks.  Fails if it is not in the created state. */
int container_start(const struct runtime_opts *o, const char *id,
                    struct berr *err);

/* create + start.  With `detach` false, waits for the container to exit,
 * forwards signals, proxies a terminal when no console socket was given,
 * deletes the container and stores its exit status (0..255, 128+signal)
 * in *ret_status. */
int container_run(const struct runtime_opts *o, const struct create_opts *c,
                  bool detach, int *ret_status, struct berr *err);

/* The runtime-spec state document; caller frees. */
int container_state_json(const struct runtime_opts *o, const char *id,
                         char **ret, struct berr *err);

/* `list`: one entry per container. */
struct container_info {
        char *id;
        pid_t pid;
        char *status;
        char *bundle;
        char *created;
        char *owner;
};
int container_list(const struct runtime_opts *o, struct container_info **ret,
                   size_t *ret_n, struct berr *err);
void container_info_free(struct container_info *v, size_t n);

int container_kill(const struct runtime_opts *o, const char *id, int sig,
                   bool all, struct berr *err);
int container_delete(const struct runtime_opts *o, const char *id, bool force,
                     struct berr *err);
int container_pause(const struct runtime_opts *o, const char *id, bool pause,
                    struct berr *err);
int container_update(const struct runtime_opts *o, const char *id,
                     const struct spec_resources *r, struct berr *err);
int container_pids(const struct runtime_opts *o, const char *id, pid_t **ret,
                   size_t *ret_n, struct berr *err);

struct exec_opts {
        const char *console_socket;
        const char *pid_file;
        bool detach;
        unsigned preserve_fds;
        bool tty_given; /* --tty on the command line */
        bool tty;
};

/* Run `p` in the running container `id`.  Without detach, waits and
 * stores its exit status. */
int container_exec(const struct runtime_opts *o, const char *id,
                   struct spec_process *p, const struct exec_opts *e,
                   int *ret_status, struct berr *err);

/* Load the process defaults for `exec ARGS...` from the container's
 * stored config (env, cwd, user, capabilities, rlimits, ...). */
int container_exec_defaults(const struct runtime_opts *o, const char *id,
                            struct spec_process **ret, struct berr *err);
