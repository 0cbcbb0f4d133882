/* Control groups for containers on cgroup v2, v1 and hybrid hosts.
 *
 * A struct cgroup names one container's group in every hierarchy that the
 * host uses: on v2 one directory below the unified mount; on v1 one
 * directory per controller (and, on hybrid hosts, one in the unified
 * hierarchy too).  All paths are relative to the hierarchy roots.  berth
 * only ever creates, writes and removes directories it created itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berr;
struct spec_resources;
struct cgroup;

enum cgroup_mode {
        CGROUP_MODE_V1,     /* only v1 controllers */
        CGROUP_MODE_HYBRID, /* v1 controllers + cgroup2 at unified/ */
        CGROUP_MODE_V2,     /* unified only */
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -1,
};

/* Which layout the host mounts at /sys/fs/cgroup (cached after first call). */
int cgroup_detect_mode(enum cgroup_mode *ret);
const char *cgroup_mode_name(enum cgroup_mode mode);

/* Make `path` (e.g. "/berth/ID") in every hierarchy, creating parents as
 * needed.  Fails with -EEXIST if the leaf already exists and has processes
 * in it.  With `systemd` true the path is systemd's "slice:prefix:name"
 * form: fails with a clear error when systemd is not running.  On failure
 * everything this call created is removed again. */
int cgroup_create(const char *path, bool systemd, struct cgroup **ret,
                  struct berr *err);

/* Refer to an existing group (for state, kill, pause, update, delete). */
int cgroup_open(const char *path, struct cgroup **ret, struct berr *err);

void cgroup_free(struct cgroup *cg);

/* Write every limit present in `r`.  Fields whose has_ flag is false are
 * left alone, so the same call serves create and `update`.  A limit the
 * host cannot enforce (missing controller or file) is an error naming the
 * field, except where the spec lets a runtime ignore it. */
int cgroup_apply(struct cgroup *cg, const struct spec_resources *r,
                 struct berr *err);

/* Move a process into the group in every hierarchy. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct berr *err);

/* Pids in the group (v2: cgroup.procs; v1: the pids or freezer hierarchy).
 * Caller frees *ret. */
int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n);

/* Freeze or thaw; and whether it is frozen now. */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr *err);
int cgroup_is_frozen(struct cgroup *cg, bool *ret);

/* Send a signal to every process in the group (freezing first so that
 * nothing forks in between, then thawing). */
int cgroup_kill_all(struct cgroup *cg, int sig);

/* Remove the group's directories (leaf only; parents berth created are
 * removed when empty).  Retries briefly while the kernel still holds
 * exiting tasks.  Returns 0 if already gone. */
int cgroup_destroy(struct cgroup *cg, struct berr *err);

/* Number of OOM kills recorded for the group (memory.events oom_kill on
 * v2, memory.oom_control oom_kill on v1). */
int cgroup_oom_kills(struct cgroup *cg, uint64_t *ret);

/* For mounting cgroupfs into a container without a cgroup namespace:
 * the host directory of the group in each hierarchy.  Fills *ret with a
 * NULL-terminated vector of "NAME\tHOSTDIR" entries, where NAME is the
 * mount name below /sys/fs/cgroup ("memory", "cpu,cpuacct", "unified",
 * or "" for a pure v2 host).  Caller frees with strv_free. */
int cgroup_mount_sources(struct cgroup *cg, char ***ret);

/* The group's path as given (e.g. "/berth/ID"). */
const char *cgroup_path(const struct cgroup *cg);
