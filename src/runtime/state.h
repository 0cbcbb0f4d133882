/* A container's record in the runtime's state directory (--root).
 *
 * ROOT/ID/ is 0700 and holds state.json (written atomically), config.json
 * (the spec as it was at create, used by exec and delete's hooks) and,
 * while the container is created but not started, exec.sock on which the
 * waiting init accepts the start signal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct berr;

enum container_status {
        STATUS_CREATING,
        STATUS_CREATED,
        STATUS_RUNNING,
        STATUS_PAUSED,
        STATUS_STOPPED,
        _STATUS_MAX,
};

struct container_state {
        char *id;
        char *bundle;
        char *rootfs;
        char *cgroup_path;
        char *created; /* RFC 3339 */
        char *owner;
        bool systemd_cgroup;
        pid_t pid;
        uint64_t pid_start_time;
        /* The `create` (or `run`) process while the init does not exist
         * yet or is being set up: alive means "creating", dead with no
         * init means a create that was killed ("stopped"). */
        pid_t creator_pid;
        uint64_t creator_start_time;
        char **annotations; /* "key=value" */
};

const char *container_status_name(enum container_status s);

/* Valid container ids: [A-Za-z0-9][A-Za-z0-9_.+-]{0,1023} (runc's rule:
 * no path separators, no "." or ".."). */
int state_check_id(const char *id, struct berr *err);

/* Open (and with create, make) the root directory; returns an fd. */
int state_open_root(const char *root, bool create, struct berr *err);

/* Make ROOT/ID exclusively: -EEXIST when a container has that id.
 * Returns an O_PATH-less directory fd. */
int state_dir_create(int rootfd, const char *id, struct berr *err);
int state_dir_open(int rootfd, const char *id, struct berr *err);
int state_dir_remove(int rootfd, const char *id);

int state_save(int dirfd, const struct container_state *st, struct berr *err);
int state_load(int dirfd, const char *id, struct container_state **ret,
               struct berr *err);
void container_state_free(struct container_state *st);

/* The status now, judged from the live process, exec.sock and freezer. */
enum container_status state_status(int dirfd, const struct container_state *st);

/* The state JSON the runtime spec defines (for `state` and hooks). */
char *state_to_json(const struct container_state *st,
                    enum container_status status, bool pretty);
