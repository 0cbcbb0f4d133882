#include "state.h"

#include "cgroup.h"
#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const status_names[_STATUS_MAX] = {
        [STATUS_CREATING] = "creating", [STATUS_CREATED] = "created",
        [STATUS_RUNNING] = "running",   [STATUS_PAUSED] = "paused",
        [STATUS_STOPPED] = "stopped",
};

const char *container_status_name(enum container_status s) {
        return s >= 0 && s < _STATUS_MAX ? status_names[s] : "unknown";
}

int state_check_id(const char *id, struct berr *err) {
        size_t n = id ? strlen(id) : 0;
        if (n == 0)
                return berr_setx(err, EINVAL, "container id must not be empty");
        if (n > 1024)
                return berr_setx(err, EINVAL,
                                 "container id is longer than 1024 bytes");
        if (!strcmp(id, ".") || !strcmp(id, ".."))
                return berr_setx(err, EINVAL, "invalid container id '%s'", id);
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') ||
                          (i > 0 &&
                           (c == '_' || c == '.' || c == '+' || c == '-'));
                if (!ok)
                        return berr_setx(err, EINVAL,
                                         "invalid container id '%s': only "
                                         "letters, digits and _.+- are "
                                         "allowed",
                                         id);
        }
        return 0;
}

int state_open_root(const char *root, bool create, struct berr *err) {
        if (create) {
                int r = mkdir_p(root, 0700);
                if (r < 0)
                        return berr_set(err, r, "create state root '%s'", root);
        }
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno, "open state root '%s'", root);
        return fd;
}

int state_dir_create(int rootfd, const char *id, struct berr *err) {
        if (mkdirat(rootfd, id, 0700) < 0) {
                if (errno == EEXIST)
                        return berr_setx(err, EEXIST,
                                         "container '%s' already exists", id);
                return berr_set(err, errno, "create state directory of '%s'",
                                id);
        }
        int fd = openat(rootfd, id,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno, "open state directory of '%s'", id);
        return fd;
}

int state_dir_open(int rootfd, const char *id, struct berr *err) {
        int fd = openat(rootfd, id,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return berr_setx(err, ENOENT,
                                         "container '%s' does not exist", id);
                return berr_set(err, errno, "open state of container '%s'", id);
        }
        return fd;
}

int state_dir_remove(int rootfd, const char *id) {
        return rm_rf_at(rootfd, id);
}

static int set_str(json_t *o, const char *k, const char *v) {
        return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

/* "key=value" strings -> a JSON object. */
static json_t *annotations_json(char **kv) {
        json_t *ann = json_object();
        for (size_t i = 0; kv && kv[i]; i++) {
                const char *eq = strchr(kv[i], '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k = strndup(kv[i], (size_t) (eq - kv[i]));
                if (k)
                        json_object_set_new(ann, k, json_string(eq + 1));
        }
        return ann;
}

int state_save(int dirfd, const struct container_state *st, struct berr *err) {
        json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        set_str(o, "id", st->id);
        set_str(o, "bundle", st->bundle);
        set_str(o, "rootfs", st->rootfs);
        set_str(o, "cgroupPath", st->cgroup_path);
        set_str(o, "created", st->created);
        set_str(o, "owner", st->owner);
        json_object_set_new(o, "systemdCgroup",
                            json_boolean(st->systemd_cgroup));
        json_object_set_new(o, "pid", json_integer(st->pid));
        json_object_set_new(o, "pidStartTime",
                            json_integer((json_int_t) st->pid_start_time));
        json_object_set_new(o, "creatorPid", json_integer(st->creator_pid));
        json_object_set_new(o, "creatorStartTime",
                            json_integer((json_int_t) st->creator_start_time));
        json_t *ann = annotations_json(st->annotations);
        json_object_set_new(o, "annotations", ann);
        _cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        int r = write_file_atomic_at(dirfd, "state.json", text, strlen(text),
                                     0600, 0);
        if (r < 0)
                return berr_set(err, r, "write state of container '%s'",
                                st->id);
        return 0;
}

static char *dup_str(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? strdup(s) : NULL;
}

int state_load(int dirfd, const char *id, struct container_state **ret,
               struct berr *err) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "state.json", 1 << 20, &text, NULL);
        if (r == -ENOENT)
                return berr_setx(err, ENOENT,
                                 "container '%s' is still being created or "
                                 "its state was lost",
                                 id);
        if (r < 0)
                return berr_set(err, r, "read state of container '%s'", id);
        json_error_t je;
        json_t *o = json_loads(text, 0, &je);
        if (!o || !json_is_object(o)) {
                json_decref(o);
                return berr_setx(err, EINVAL,
                                 "state of container '%s' is corrupt", id);
        }
        struct container_state *st = calloc(1, sizeof(*st));
        if (!st) {
                json_decref(o);
                return -ENOMEM;
        }
        st->id = dup_str(o, "id");
        st->bundle = dup_str(o, "bundle");
        st->rootfs = dup_str(o, "rootfs");
        st->cgroup_path = dup_str(o, "cgroupPath");
        st->created = dup_str(o, "created");
        st->owner = dup_str(o, "owner");
        st->systemd_cgroup = json_is_true(json_object_get(o, "systemdCgroup"));
        st->pid = (pid_t) json_integer_value(json_object_get(o, "pid"));
        st->creator_pid =
                (pid_t) json_integer_value(json_object_get(o, "creatorPid"));
        st->creator_start_time = (uint64_t) json_integer_value(
                json_object_get(o, "creatorStartTime"));
        st->pid_start_time = (uint64_t) json_integer_value(
                json_object_get(o, "pidStartTime"));
        json_t *ann = json_object_get(o, "annotations");
        const char *k;
        json_t *v;
        json_object_foreach(ann, k, v) {
                _cleanup_free_ char *kv =
                        str_printf("%s=%s", k, json_string_value(v) ?: "");
                if (kv)
                        strv_push(&st->annotations, kv);
        }
        json_decref(o);
        if (!st->id) {
                container_state_free(st);
                return berr_setx(err, EINVAL,
                                 "state of container '%s' is corrupt", id);
        }
        *ret = st;
        return 0;
}

void container_state_free(struct container_state *st) {
        if (!st)
                return;
        free(st->id);
        free(st->bundle);
        free(st->rootfs);
        free(st->cgroup_path);
        free(st->created);
        free(st->owner);
        strv_free(st->annotations);
        free(st);
}

/* Alive means: the pid exists, is the process we started (same start time)
 * and has not exited (a zombie has exited, its parent just hasn't reaped
 * it yet). */
static bool proc_alive(pid_t pid, uint64_t start_time) {
        if (pid <= 0)
                return false;
        uint64_t t;
        if (proc_start_time(pid, &t) < 0 || t != start_time)
                return false;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *buf = NULL;
        if (read_file_at(AT_FDCWD, path, 4096, &buf, NULL) < 0)
                return false;
        const char *p = strrchr(buf, ')');
        if (p && (p[2] == 'Z' || p[2] == 'X'))
                return false;
        return true;
}

enum container_status state_status(int dirfd,
                                   const struct container_state *st) {
        if (st->pid <= 0)
                return proc_alive(st->creator_pid, st->creator_start_time)
                               ? STATUS_CREATING
                               : STATUS_STOPPED;
        if (!proc_alive(st->pid, st->pid_start_time))
                return STATUS_STOPPED;
        if (faccessat(dirfd, "exec.sock", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return STATUS_CREATED;
        if (st->cgroup_path) {
                struct cgroup *cg = NULL;
                bool frozen = false;
                if (cgroup_open(st->cgroup_path, &cg, NULL) >= 0) {
                        if (cgroup_is_frozen(cg, &frozen) < 0)
                                frozen = false;
                        cgroup_free(cg);
                }
                if (frozen)
                        return STATUS_PAUSED;
        }
        return STATUS_RUNNING;
}

char *state_to_json(const struct container_state *st,
                    enum container_status status, bool pretty) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "ociVersion", json_string("1.2.0"));
        json_object_set_new(o, "id", json_string(st->id));
        json_object_set_new(
                o, "pid", json_integer(status == STATUS_STOPPED ? 0 : st->pid));
        json_object_set_new(o, "status",
                            json_string(container_status_name(status)));
        set_str(o, "bundle", st->bundle);
        set_str(o, "rootfs", st->rootfs);
        set_str(o, "created", st->created);
        set_str(o, "owner", st->owner ? st->owner : "");
        json_t *ann = annotations_json(st->annotations);
        if (json_object_size(ann) > 0)
                json_object_set_new(o, "annotations", ann);
        else
                json_decref(ann);
        char *s = json_dumps(o, pretty ? JSON_INDENT(2) : JSON_COMPACT);
        json_decref(o);
        return s;
}
