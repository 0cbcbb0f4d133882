/* The container manager: records (crash-safe JSON files), the overlay
 * rootfs, berth-shim processes, exits, restart policies, and
 * re-adoption of running containers when berthd starts.
 *
 * Runs in berthd's loop thread, in the host's namespaces.  berthd never
 * enters a container: the shim does the clone (through the runtime
 * library) and everything inside. */
#include <ctype.h>
#include <dirent.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "error.h"
#include "image.h"
#include "loop.h"
#include "names.h"
#include "protocol.h"
#include "specgen.h"
#include "util.h"

struct waiter {
        enum { WAIT_NEXT_EXIT, WAIT_NOT_RUNNING, WAIT_REMOVED } kind;
        ctr_done_fn fn;
        void *ud;
        struct waiter *next;
};

struct attach_req {
        int fd;
        bool in, out, err, mux;
        struct attach_req *next;
};

static const char *const status_names[CTR_STATUS_MAX] = {
        [CTR_CREATED] = "created", [CTR_RUNNING] = "running",
        [CTR_PAUSED] = "paused",   [CTR_RESTARTING] = "restarting",
        [CTR_EXITED] = "exited",   [CTR_REMOVING] = "removing",
        [CTR_DEAD] = "dead",
};

const char *ctr_status_name(enum ctr_status s) {
        return s < CTR_STATUS_MAX ? status_names[s] : "unknown";
}

static enum ctr_status status_parse(const char *s) {
        for (int i = 0; i < CTR_STATUS_MAX; i++)
                if (s && strcmp(status_names[i], s) == 0)
                        return (enum ctr_status) i;
        return CTR_DEAD;
}

static void ctr_free(struct container *c) {
        if (!c)
                return;
        free(c->name);
        json_decref(c->create);
        json_decref(c->config);
        json_decref(c->hostcfg);
        json_decref(c->mounts);
        json_decref(c->args);
        free(c->image_id);
        free(c->image_ref);
        free(c->created);
        free(c->path);
        free(c->started_at);
        free(c->finished_at);
        free(c->error);
        json_decref(c->netcfg);
        json_decref(c->eps_saved);
        free(c);
}

static void set_str(char **dst, const char *v) {
        free(*dst);
        *dst = v ? strdup(v) : NULL;
}

char *ctr_log_path(struct daemon *d, const struct container *c) {
        return str_printf("%s/containers/%s/%s-json.log", d->data_root, c->id,
                          c->id);
}

static char *ctr_dir(struct daemon *d, const struct container *c,
                     const char *sub) {
        return sub ? str_printf("%s/containers/%s/%s", d->data_root, c->id, sub)
                   : str_printf("%s/containers/%s", d->data_root, c->id);
}

static char *shim_dir(struct daemon *d, const struct container *c) {
        return str_printf("%s/shims/%s", d->exec_root, c->id);
}

/* ---- lookup ---- */

struct container *ctr_by_id(struct daemon *d, const char *id) {
        for (struct container *c = d->containers; c; c = c->next)
                if (strcmp(c->id, id) == 0)
                        return c;
        return NULL;
}

struct container *ctr_find(struct daemon *d, const char *ref,
                           struct berr *err) {
        if (!ref || !*ref) {
                berr_setx(err, ENOENT, "No such container: %s", ref ? ref : "");
                return NULL;
        }
        const char *name = ref[0] == '/' ? ref + 1 : ref;
        for (struct container *c = d->containers; c; c = c->next)
                if (strcmp(c->id, ref) == 0 || strcmp(c->name, name) == 0)
                        return c;
        struct container *found = NULL;
        size_t n = strlen(ref);
        for (struct container *c = d->containers; c; c = c->next)
                if (strncmp(c->id, ref, n) == 0) {
                        if (found) {
                                berr_setx(err, EINVAL,
                                          "multiple IDs found with provided "
                                          "prefix: %s",
                                          ref);
                                return NULL;
                        }
                        found = c;
                }
        if (!found)
                berr_setx(err, ENOENT, "No such container: %s", ref);
        return found;
}

int ctr_name_valid(const char *name) {
        /* moby: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
        const char *p = name[0] == '/' ? name + 1 : name;
        size_t n = strlen(p);
        if (n < 2 || n > 128 || !isalnum((unsigned char) p[0]))
                return 0;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) p[i]) && !strchr("_.-", p[i]))
                        return 0;
        return 1;
}

static struct container *by_name(struct daemon *d, const char *name) {
        for (struct container *c = d->containers; c; c = c->next)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

int ctr_image_users(const char *image_id, char **ret_container, void *ud) {
        struct daemon *d = ud;
        int n = 0;
        for (struct container *c = d->containers; c; c = c->next)
                if (c->image_id && strcmp(c->image_id, image_id) == 0) {
                        if (n == 0 && ret_container)
                                *ret_container = strdup(c->id);
                        n++;
                }
        return n;
}

bool ctr_uses_volume(struct daemon *d, const char *name) {
        for (struct container *c = d->containers; c; c = c->next) {
                size_t i;
                json_t *m;
                json_array_foreach(c->mounts, i, m) {
                        const char *n =
                                json_string_value(json_object_get(m, "Name"));
                        if (n && strcmp(n, name) == 0)
                                return true;
                }
        }
        return false;
}

/* ---- persistence ---- */

int ctr_save(struct daemon *d, struct container *c) {
        json_t *j = json_pack(
                "{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:s, s:s, s:s?, s:O,"
                " s:{s:s, s:i, s:i, s:b, s:s?, s:s?, s:s?},"
                " s:i, s:b, s:b, s:O, s:o}",
                "Id", c->id, "Name", c->name, "Created", c->created, "Create",
                c->create, "Config", c->config, "HostConfig", c->hostcfg,
                "Mounts", c->mounts ? c->mounts : json_null(), "Image",
                c->image_id, "ImageRef", c->image_ref, "Path", c->path, "Args",
                c->args ? c->args : json_null(), "State", "Status",
                ctr_status_name(c->status), "Pid", (int) c->pid, "ExitCode",
                c->exit_code, "OOMKilled", c->oom_killed, "StartedAt",
                c->started_at, "FinishedAt", c->finished_at, "Error", c->error,
                "RestartCount", c->restart_count, "ManualStop", c->manual_stop,
                "HasStarted", c->has_started, "Networks",
                c->netcfg ? c->netcfg : json_null(), "Endpoints",
                net_endpoints_json(c));
        if (!j)
                return -ENOMEM;
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        _cleanup_free_ char *rel = str_printf("%s/container.json", c->id);
        if (!rel)
                return -ENOMEM;
        return write_file_atomic_at(d->ctr_dirfd, rel, text, strlen(text), 0600,
                                    WRITE_SYNC);
}

static int ctr_load_one(struct daemon *d, const char *id,
                        struct container **ret) {
        _cleanup_free_ char *rel = str_printf("%s/container.json", id);
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (!rel)
                return -ENOMEM;
        int r = read_file_at(d->ctr_dirfd, rel, 64 << 20, &text, &len);
        if (r < 0)
                return r;
        json_t *j = json_loadb(text, len, 0, NULL);
        if (!j)
                return -EBADMSG;
        struct container *c = calloc(1, sizeof(*c));
        if (!c) {
                json_decref(j);
                return -ENOMEM;
        }
        c->shim_wait_fd = -1;
        c->daemon = d;
        snprintf(c->id, sizeof(c->id), "%s", id);
        c->name =
                strdup(json_string_value(json_object_get(j, "Name")) ?: c->id);
        c->create = json_incref(json_object_get(j, "Create"));
        c->config = json_incref(json_object_get(j, "Config"));
        c->hostcfg = json_incref(json_object_get(j, "HostConfig"));
        c->mounts = json_incref(json_object_get(j, "Mounts"));
        if (!c->mounts || !json_is_array(c->mounts)) {
                json_decref(c->mounts);
                c->mounts = json_array();
        }
        c->args = json_incref(json_object_get(j, "Args"));
        set_str(&c->image_id, json_string_value(json_object_get(j, "Image")));
        set_str(&c->image_ref,
                json_string_value(json_object_get(j, "ImageRef")));
        set_str(&c->created, json_string_value(json_object_get(j, "Created")));
        set_str(&c->path, json_string_value(json_object_get(j, "Path")));
        json_t *st = json_object_get(j, "State");
        c->status =
                status_parse(json_string_value(json_object_get(st, "Status")));
        c->pid = (pid_t) json_integer_value(json_object_get(st, "Pid"));
        c->exit_code =
                (int) json_integer_value(json_object_get(st, "ExitCode"));
        c->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
        set_str(&c->started_at,
                json_string_value(json_object_get(st, "StartedAt")));
        set_str(&c->finished_at,
                json_string_value(json_object_get(st, "FinishedAt")));
        set_str(&c->error, json_string_value(json_object_get(st, "Error")));
        c->restart_count =
                (int) json_integer_value(json_object_get(j, "RestartCount"));
        c->manual_stop = json_is_true(json_object_get(j, "ManualStop"));
        c->has_started = json_is_true(json_object_get(j, "HasStarted"));
        json_t *nets = json_object_get(j, "Networks");
        c->netcfg = json_is_object(nets) ? json_incref(nets) : NULL;
        c->eps_saved = json_incref(json_object_get(j, "Endpoints"));
        json_decref(j);
        if (!c->name || !c->create || !c->config || !c->hostcfg) {
                ctr_free(c);
                return -EBADMSG;
        }
        /* A record from before networks were kept: from NetworkMode. */
        struct berr e = {0};
        if (!c->netcfg && net_container_config(d, c, &e) < 0)
                c->netcfg = json_object();
        *ret = c;
        return 0;
}

int ctr_load_all(struct daemon *d) {
        int fd = openat(d->ctr_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (strlen(de->d_name) != 64)
                        continue;
                struct container *c = NULL;
                int r = ctr_load_one(d, de->d_name, &c);
                if (r < 0) {
                        /* A create that died before its first record, or a
                         * record we cannot read: keep it for inspection,
                         * but do not serve it. */
                        fprintf(stderr,
                                "berthd: skip container '%s': record "
                                "unreadable: %s\n",
                                de->d_name, strerror(-r));
                        continue;
                }
                c->next = d->containers;
                d->containers = c;
        }
        closedir(dir);
        return 0;
}

/* ---- rootfs ---- */

static int mount_rootfs(struct daemon *d, struct container *c,
                        struct berr *err) {
        if (c->rootfs_mounted)
                return 0;
        _cleanup_strv_free_ char **layers = NULL;
        int r = image_layer_dirs(d->images, c->image_id, &layers, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *upper = ctr_dir(d, c, "upper");
        _cleanup_free_ char *work = ctr_dir(d, c, "work");
        _cleanup_free_ char *rootfs = ctr_dir(d, c, "rootfs");
        _cleanup_free_ char *empty = ctr_dir(d, c, "empty");
        if (!upper || !work || !rootfs || !empty)
                return -ENOMEM;
        char *dirs[] = {upper, work, rootfs, empty};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
                        return berr_set(err, errno, "create '%s'", dirs[i]);
        }
        /* Already mounted (berthd restarted while the container ran)? */
        struct stat a, b;
        _cleanup_free_ char *parent = ctr_dir(d, c, NULL);
        if (parent && stat(rootfs, &a) == 0 && stat(parent, &b) == 0 &&
            a.st_dev != b.st_dev) {
                c->rootfs_mounted = true;
                return 0;
        }
        r = image_mount_overlay(layers, empty, upper, work, rootfs, err);
        if (r < 0)
                return berr_prefix(err, r, "container '%s'", c->id);
        c->rootfs_mounted = true;
        return 0;
}

static void umount_rootfs(struct daemon *d, struct container *c) {
        _cleanup_free_ char *rootfs = ctr_dir(d, c, "rootfs");
        if (!rootfs)
                return;
        if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL &&
            errno != ENOENT)
                fprintf(stderr, "berthd: unmount '%s': %s\n", rootfs,
                        strerror(errno));
        c->rootfs_mounted = false;
}

/* ---- create ---- */

static json_t *jget(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);
        return json_is_null(v) ? NULL : v;
}

/* Merge the image's config into the container's (moby's merge()):
 * what the user gave wins; Env merges by key; an Entrypoint given by the
 * user drops the image's Cmd. */
static json_t *merge_config(json_t *body, json_t *img) {
        static const char *const fields[] = {
                "Hostname",        "Domainname",   "User",
                "AttachStdin",     "AttachStdout", "AttachStderr",
                "ExposedPorts",    "Tty",          "OpenStdin",
                "StdinOnce",       "Env",          "Cmd",
                "Healthcheck",     "ArgsEscaped",  "Image",
                "Volumes",         "WorkingDir",   "Entrypoint",
                "NetworkDisabled", "MacAddress",   "OnBuild",
                "Labels",          "StopSignal",   "StopTimeout",
                "Shell",
        };
        json_t *cfg = json_object();
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *v = json_object_get(body, fields[i]);
                if (v)
                        json_object_set(cfg, fields[i], v);
        }
        bool user_ep = jget(body, "Entrypoint") != NULL;
        json_t *cmd = jget(body, "Cmd");
        if (!cmd || json_array_size(cmd) == 0) {
                if (!user_ep && jget(img, "Cmd"))
                        json_object_set(cfg, "Cmd",
                                        json_object_get(img, "Cmd"));
        }
        if (!user_ep && jget(img, "Entrypoint"))
                json_object_set(cfg, "Entrypoint",
                                json_object_get(img, "Entrypoint"));
        const char *copy[] = {"WorkingDir", "User",        "StopSignal",
                              "Shell",      "Healthcheck", "OnBuild"};
        for (size_t i = 0; i < ELEMENTSOF(copy); i++) {
                json_t *v = jget(cfg, copy[i]);
                bool empty =
                        !v || (json_is_string(v) && !*json_string_value(v));
                if (empty && jget(img, copy[i]))
                        json_object_set(cfg, copy[i],
                                        json_object_get(img, copy[i]));
        }
        /* Env: image first, then the user's, replacing by key. */
        json_t *env = json_array();
        json_t *lists[2] = {jget(img, "Env"), jget(body, "Env")};
        for (int l = 0; l < 2; l++) {
                size_t i;
                json_t *e;
                json_array_foreach(lists[l], i, e) {
                        const char *s = json_string_value(e);
                        if (!s)
                                continue;
                        size_t k = strcspn(s, "=");
                        size_t j;
                        json_t *old;
                        bool replaced = false;
                        json_array_foreach(env, j, old) {
                                const char *o = json_string_value(old);
                                if (strncmp(o, s, k) == 0 &&
                                    (o[k] == '=' || o[k] == '\0')) {
                                        json_array_set(env, j, e);
                                        replaced = true;
                                        break;
                                }
                        }
                        if (!replaced)
                                json_array_append(env, e);
                }
        }
        json_object_set_new(cfg, "Env", env);
        /* Maps: union, the user's entries win. */
        const char *maps[] = {"Labels", "ExposedPorts", "Volumes"};
        for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
                json_t *m = json_object();
                if (json_is_object(jget(img, maps[i])))
                        json_object_update(m, jget(img, maps[i]));
                if (json_is_object(jget(body, maps[i])))
                        json_object_update(m, jget(body, maps[i]));
                json_object_set_new(cfg, maps[i], m);
        }
        return cfg;
}

/* The log driver is the daemon's unless the container names one, and
 * the daemon's log-opts fill in what the container's own --log-opt left
 * out when the drivers are the same (docker's rule). */
static void log_config_merge(const struct daemon *d, json_t *hc) {
        json_t *lc = json_object_get(hc, "LogConfig");
        const char *dtype =
                json_string_value(json_object_get(d->log_config, "Type"));
        const char *lt = json_string_value(json_object_get(lc, "Type"));
        if (!lt || !*lt)
                lt = dtype ? dtype : "json-file";
        json_t *cfg = json_object_get(lc, "Config");
        cfg = json_is_object(cfg) ? json_copy(cfg) : json_object();
        if (dtype && strcmp(lt, dtype) == 0) {
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(d->log_config, "Config"), k,
                                    v) {
                        if (!json_object_get(cfg, k))
                                json_object_set(cfg, k, v);
                }
        }
        json_object_set_new(hc, "LogConfig",
                            json_pack("{s:s, s:o}", "Type", lt, "Config", cfg));
}

static json_t *hostcfg_defaults(const struct daemon *d, json_t *body) {
        json_t *hc = json_object_get(body, "HostConfig");
        hc = json_is_object(hc) ? json_deep_copy(hc) : json_object();
        log_config_merge(d, hc);
        const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
        if (!nm || !*nm)
                json_object_set_new(hc, "NetworkMode", json_string("default"));
        json_t *rp = json_object_get(hc, "RestartPolicy");
        if (!json_is_object(rp) ||
            !json_string_value(json_object_get(rp, "Name")) ||
            !*json_string_value(json_object_get(rp, "Name")))
                json_object_set_new(hc, "RestartPolicy",
                                    json_pack("{s:s, s:i}", "Name", "no",
                                              "MaximumRetryCount", 0));
        return hc;
}

static int validate_hostcfg(json_t *hc, struct berr *err) {
        json_t *rp = json_object_get(hc, "RestartPolicy");
        const char *n = json_string_value(json_object_get(rp, "Name"));
        if (n && strcmp(n, "no") && strcmp(n, "always") &&
            strcmp(n, "unless-stopped") && strcmp(n, "on-failure"))
                return berr_setx(err, EINVAL, "invalid restart policy '%s'", n);
        if (n && strcmp(n, "on-failure") && strcmp(n, "no") &&
            json_integer_value(json_object_get(rp, "MaximumRetryCount")) > 0)
                return berr_setx(err, EINVAL,
                                 "invalid restart policy: maximum retry "
                                 "count can only be used with 'on-failure'");
        if (json_integer_value(json_object_get(rp, "MaximumRetryCount")) < 0)
                return berr_setx(err, EINVAL,
                                 "invalid restart policy: maximum retry "
                                 "count cannot be negative");
        if (json_is_true(json_object_get(hc, "AutoRemove")) && n &&
            strcmp(n, "no"))
                return berr_setx(err, EINVAL,
                                 "can't create 'AutoRemove' container with "
                                 "restart policy");
        return 0;
}

/* /etc files the container gets, written once at create. */
static int write_etc_files(struct daemon *d, struct container *c,
                           const char *hostname, struct berr *err) {
        int dfd =
                openat(d->ctr_dirfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berr_set(err, errno, "open container dir");
        _cleanup_close_ int dirfd = dfd;
        _cleanup_free_ char *hn = str_printf("%s\n", hostname);
        if (!hn)
                return -ENOMEM;
        int r = write_file_atomic_at(dirfd, "hostname", hn, strlen(hn), 0644,
                                     0);
        if (r < 0)
                return berr_set(err, r, "write hostname file");

        char *hosts = NULL;
        size_t hlen = 0;
        FILE *f = open_memstream(&hosts, &hlen);
        if (!f)
                return -ENOMEM;
        fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                   "ip6-loopback\nfe00::0\tip6-localnet\nff00::0\t"
                   "ip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\t"
                   "ip6-allrouters\n");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(c->hostcfg, "ExtraHosts"), i, e) {
                const char *s = json_string_value(e);
                const char *sep = s ? strrchr(s, ':') : NULL;
                /* host:ip, where ip may be IPv6 (contains ':'): split at
                 * the first ':' */
                sep = s ? strchr(s, ':') : NULL;
                if (!sep) {
                        fclose(f);
                        free(hosts);
                        return berr_setx(err, EINVAL,
                                         "invalid argument \"%s\" for "
                                         "\"--add-host\" flag: bad format",
                                         s ? s : "");
                }
                const char *addr = sep + 1;
                char gw[16];
                if (!strcmp(addr, "host-gateway")) {
                        /* The host, as containers reach it: the default
                         * bridge's gateway address. */
                        struct network *n = net_find(d, "bridge");
                        char sub[20];
                        int prefix;
                        struct berr e2 = {0};
                        if (!n || net_up(d, n, &e2) < 0) {
                                fclose(f);
                                free(hosts);
                                return berr_setx(err, EINVAL,
                                                 "--add-host %s: no default "
                                                 "bridge to take the "
                                                 "host-gateway address from",
                                                 s);
                        }
                        net_ipam_config(n, sub, gw, &prefix);
                        addr = gw;
                }
                fprintf(f, "%s\t%.*s\n", addr, (int) (sep - s), s);
        }
        fclose(f);
        r = write_file_atomic_at(dirfd, "hosts", hosts, hlen, 0644, 0);
        free(hosts);
        if (r < 0)
                return berr_set(err, r, "write hosts file");

        return resolver_write_conf(d, c, dirfd, err);
}

struct vol_ctx {
        struct daemon *d;
        const char *rootfs;
        json_t *anon; /* names of anonymous volumes made */
        bool nocopy;
};

static int copy_tree(int src, int dst);

static int copy_entry(int src, int dst, const char *name,
                      const struct stat *st) {
        int r = 0;
        if (S_ISDIR(st->st_mode)) {
                if (mkdirat(dst, name, st->st_mode & 07777) < 0 &&
                    errno != EEXIST)
                        return -errno;
                _cleanup_close_ int s =
                        openat(src, name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int t =
                        openat(dst, name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || t < 0)
                        return -errno;
                r = copy_tree(s, t);
                if (fchown(t, st->st_uid, st->st_gid) < 0 && r == 0)
                        r = -errno;
                fchmod(t, st->st_mode & 07777);
        } else if (S_ISREG(st->st_mode)) {
                _cleanup_close_ int s =
                        openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int t = openat(dst, name,
                                               O_WRONLY | O_CREAT | O_EXCL |
                                                       O_NOFOLLOW | O_CLOEXEC,
                                               st->st_mode & 07777);
                if (s < 0 || t < 0)
                        return -errno;
                char buf[65536];
                ssize_t n;
                while ((n = read(s, buf, sizeof(buf))) > 0)
                        if (write_all(t, buf, (size_t) n) < 0)
                                return -EIO;
                if (fchown(t, st->st_uid, st->st_gid) < 0)
                        r = -errno;
                fchmod(t, st->st_mode & 07777);
        } else if (S_ISLNK(st->st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (symlinkat(target, dst, name) < 0)
                        return -errno;
                if (fchownat(dst, name, st->st_uid, st->st_gid,
                             AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
        }
        return r;
}

/* Copy a directory's content (files, dirs, symlinks, owners, modes)
 * without ever following a symlink: src is inside a container's rootfs. */
static int copy_tree(int src, int dst) {
        int fd = dup(src);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(dir))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                int q = copy_entry(src, dst, de->d_name, &st);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(dir);
        return r;
}

static int on_volume(void *ud, const char *name, const char *container_path,
                     char **ret_path, char **ret_name, struct berr *err) {
        struct vol_ctx *v = ud;
        char gen[65];
        if (!name) {
                random_hex(gen, 32);
                name = gen;
        }
        bool created = false;
        char *path = NULL;
        int r = volume_get_or_create(v->d, name, NULL, NULL, &created, &path,
                                     err);
        if (r < 0)
                return r;
        if (name == gen)
                json_array_append_new(v->anon, json_string(gen));
        /* A new volume is seeded with what the image has at its mount
         * point (docker's copy-up).  The source is resolved inside the
         * rootfs: nothing of the image can point the copy at the host. */
        if (created && v->rootfs && container_path) {
                _cleanup_close_ int root =
                        open(v->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct open_how how = {
                        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                int src = root < 0 ? -1
                                   : (int) syscall(SYS_openat2, root,
                                                   container_path, &how,
                                                   sizeof(how));
                if (src >= 0) {
                        _cleanup_close_ int s = src;
                        _cleanup_close_ int dst =
                                open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (dst >= 0)
                                copy_tree(s, dst);
                }
        }
        *ret_path = path;
        if (ret_name)
                *ret_name = strdup(name);
        return 0;
}

/* Run specgen and write the bundle's config.json. */
static int build_bundle(struct daemon *d, struct container *c,
                        struct berr *err) {
        _cleanup_free_ char *rootfs = ctr_dir(d, c, "rootfs");
        _cleanup_free_ char *hn = ctr_dir(d, c, "hostname");
        _cleanup_free_ char *hosts = ctr_dir(d, c, "hosts");
        _cleanup_free_ char *rc = ctr_dir(d, c, "resolv.conf");
        _cleanup_free_ char *bundle = ctr_dir(d, c, "bundle");
        _cleanup_free_ char *imgcfg = NULL;
        _cleanup_free_ char *create = json_dumps(c->create, JSON_COMPACT);
        _cleanup_free_ char *seccomp = NULL;
        _cleanup_free_ char *netns = NULL;
        if (!rootfs || !hn || !hosts || !rc || !bundle || !create)
                return -ENOMEM;
        int r = image_config_json(d->images, c->image_id, &imgcfg, err);
        if (r < 0)
                return r;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(c->hostcfg, "SecurityOpt"), i, e) {
                const char *s = json_string_value(e);
                if (!s || !str_startswith(s, "seccomp"))
                        continue;
                const char *v = s + 7;
                if (*v != '=' && *v != ':')
                        continue;
                v++;
                if (strcmp(v, "unconfined") == 0)
                        continue;
                if (strcmp(v, "builtin") == 0)
                        continue;
                /* docker's CLI reads the profile's file and sends its
                 * content, as moby's daemon expects; the daemon never opens
                 * a host path an API client names (it would read any file
                 * of the host for whoever holds the socket). */
                while (*v == ' ' || *v == '\t' || *v == '\n')
                        v++;
                if (v[0] != '{')
                        return berr_setx(err, EINVAL,
                                         "invalid --security-opt seccomp: "
                                         "the value must be the profile's "
                                         "JSON, \"unconfined\" or "
                                         "\"builtin\" (the daemon reads no "
                                         "profile file; the docker CLI sends "
                                         "the file's content)");
                free(seccomp);
                seccomp = strdup(v);
                if (!seccomp)
                        return -ENOMEM;
        }
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        if (str_startswith(nm, "container:")) {
                struct container *o = ctr_find(d, nm + 10, err);
                if (!o)
                        return -ENOENT;
                if (o == c)
                        return berr_setx(err, EINVAL,
                                         "cannot join own network");
                /* The namespace is the one it has when this one starts
                 * (join_netns); its names files are shared, as docker's. */
                free(hosts);
                free(rc);
                hosts = ctr_dir(d, o, "hosts");
                rc = ctr_dir(d, o, "resolv.conf");
                if (!hosts || !rc)
                        return -ENOMEM;
        }
        struct vol_ctx vc = {.d = d, .rootfs = rootfs, .anon = json_array()};
        struct specgen_input in = {
                .id = c->id,
                .create_json = create,
                .image_config_json = imgcfg,
                .rootfs = rootfs,
                .hostname_path = hn,
                .hosts_path = hosts,
                .resolv_path = rc,
                .cgroup_parent = "/berth",
                .netns_path = netns,
                .init_path = d->init_binary,
                .seccomp_profile_json = seccomp,
                .volume = on_volume,
                .volume_ud = &vc,
        };
        struct specgen_output out = {0};
        r = specgen_build(&in, &out, err);
        if (r < 0) {
                json_decref(vc.anon);
                return r;
        }
        json_t *mounts = json_array();
        for (int k = 0; k < out.n_mounts; k++) {
                struct specgen_mount_info *m = &out.mounts[k];
                bool anon = false;
                size_t j;
                json_t *a;
                json_array_foreach(vc.anon, j,
                                   a) if (m->name &&
                                          strcmp(json_string_value(a),
                                                 m->name) == 0) anon = true;
                json_t *mj =
                        json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type",
                                  m->type, "Source", m->source ?: "",
                                  "Destination", m->destination, "Mode",
                                  m->mode ?: "", "RW", m->rw, "Propagation",
                                  strcmp(m->type, "bind") ? "" : "rprivate");
                if (m->name) {
                        json_object_set_new(mj, "Name", json_string(m->name));
                        json_object_set_new(mj, "Driver", json_string("local"));
                }
                if (anon)
                        json_object_set_new(mj, "Anonymous", json_true());
                json_array_append_new(mounts, mj);
        }
        json_decref(vc.anon);
        json_decref(c->mounts);
        c->mounts = mounts;

        /* Path/Args for inspect, from the spec's process.args. */
        json_t *spec = json_loads(out.spec_json, 0, NULL);
        json_t *args =
                json_object_get(json_object_get(spec, "process"), "args");
        if (json_array_size(args) > 0) {
                set_str(&c->path, json_string_value(json_array_get(args, 0)));
                json_decref(c->args);
                c->args = json_array();
                for (size_t k = 1; k < json_array_size(args); k++)
                        json_array_append(c->args, json_array_get(args, k));
        }
        json_decref(spec);

        if (mkdir(bundle, 0700) < 0 && errno != EEXIST) {
                specgen_output_free(&out);
                return berr_set(err, errno, "create '%s'", bundle);
        }
        _cleanup_free_ char *cfgpath = str_printf("%s/config.json", bundle);
        r = cfgpath ? write_file_atomic_at(AT_FDCWD, cfgpath, out.spec_json,
                                           strlen(out.spec_json), 0600, 0)
                    : -ENOMEM;
        specgen_output_free(&out);
        if (r < 0)
                return berr_set(err, r, "write '%s'", cfgpath);
        return 0;
}

static void ctr_unlink(struct daemon *d, struct container *c) {
        for (struct container **p = &d->containers; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        return;
                }
}

/* The Engine API's shapes for the fields whose type docker checks while
 * decoding (a wrong type is a 400 before anything is made).  Cmd and
 * Entrypoint may also be one string, as in moby's strslice. */
static bool strv_or_null(json_t *v, bool one_string_ok) {
        if (!v || json_is_null(v) || (one_string_ok && json_is_string(v)))
                return true;
        if (!json_is_array(v))
                return false;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
        return true;
}

static int check_body_types(json_t *body, struct berr *err) {
        if (!json_is_object(body))
                return berr_setx(err, EINVAL,
                                 "invalid container config: not an object");
        static const char *const slices[] = {"Cmd", "Entrypoint"};
        static const char *const lists[] = {"Env", "Shell", "OnBuild"};
        static const char *const strs[] = {"Image",      "User",
                                           "WorkingDir", "Hostname",
                                           "Domainname", "StopSignal"};
        for (size_t i = 0; i < ELEMENTSOF(slices); i++)
                if (!strv_or_null(json_object_get(body, slices[i]), true))
                        goto bad;
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (!strv_or_null(json_object_get(body, lists[i]), false))
                        goto bad;
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                json_t *v = json_object_get(body, strs[i]);
                if (v && !json_is_null(v) && !json_is_string(v))
                        goto bad;
        }
        json_t *l = json_object_get(body, "Labels");
        if (l && !json_is_null(l) && !json_is_object(l))
                goto bad;
        json_t *hc = json_object_get(body, "HostConfig");
        if (hc && !json_is_null(hc) && !json_is_object(hc))
                goto bad;
        static const char *const hlists[] = {
                "Binds",      "CapAdd", "CapDrop",  "SecurityOpt",
                "ExtraHosts", "Dns",    "DnsSearch"};
        for (size_t i = 0; hc && i < ELEMENTSOF(hlists); i++)
                if (!strv_or_null(json_object_get(hc, hlists[i]), false))
                        goto bad;
        return 0;
bad:
        return berr_setx(err, EINVAL,
                         "invalid JSON: a field of the container config has "
                         "the wrong type");
}

int ctr_create(struct daemon *d, const char *name, json_t *body,
               struct container **ret, struct berr *err) {
        if (name && *name) {
                if (!ctr_name_valid(name))
                        return berr_setx(err, EINVAL,
                                         "Invalid container name (%s), only "
                                         "[a-zA-Z0-9][a-zA-Z0-9_.-] are "
                                         "allowed",
                                         name);
                if (name[0] == '/')
                        name++;
                struct container *o = by_name(d, name);
                if (o)
                        return berr_setx(err, EEXIST,
                                         "Conflict. The container name "
                                         "\"/%s\" is already in use by "
                                         "container \"%s\". You have to "
                                         "remove (or rename) that container "
                                         "to be able to reuse that name.",
                                         name, o->id);
        }
        int r = check_body_types(body, err);
        if (r < 0)
                return r;
        const char *image = json_string_value(json_object_get(body, "Image"));
        if (!image || !*image)
                return berr_setx(err, EINVAL,
                                 "No image was specified in the request");
        _cleanup_free_ char *image_id = NULL;
        r = image_resolve(d->images, image, &image_id, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *imgcfg_text = NULL;
        r = image_config_json(d->images, image_id, &imgcfg_text, err);
        if (r < 0)
                return r;
        json_t *imgcfg = json_loads(imgcfg_text, 0, NULL);

        struct container *c = calloc(1, sizeof(*c));
        if (!c) {
                json_decref(imgcfg);
                return -ENOMEM;
        }
        c->shim_wait_fd = -1;
        c->daemon = d;
        random_hex(c->id, 32);
        char namebuf[128];
        if (name && *name)
                c->name = strdup(name);
        else {
                do
                        names_random(namebuf, sizeof(namebuf));
                while (by_name(d, namebuf));
                c->name = strdup(namebuf);
        }
        c->create = json_incref(body);
        c->config = merge_config(body, imgcfg);
        json_decref(imgcfg);
        json_object_set_new(c->config, "Image", json_string(image));
        c->hostcfg = hostcfg_defaults(d, body);
        c->mounts = json_array();
        c->image_id = TAKE_PTR(image_id);
        c->image_ref = strdup(image);
        c->created = now_rfc3339();
        c->status = CTR_CREATED;
        const char *hostname =
                json_string_value(json_object_get(body, "Hostname"));
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%.12s", c->id);
        if (!hostname || !*hostname) {
                hostname = short_id;
                json_object_set_new(c->config, "Hostname",
                                    json_string(short_id));
        }
        if (!c->name || !c->config || !c->hostcfg || !c->created) {
                ctr_free(c);
                return -ENOMEM;
        }
        r = validate_hostcfg(c->hostcfg, err);
        if (r >= 0)
                r = net_container_config(d, c, err);
        if (r < 0) {
                ctr_free(c);
                return r;
        }
        if (mkdirat(d->ctr_dirfd, c->id, 0700) < 0) {
                r = berr_set(err, errno,
                             "create the directory of container "
                             "'%s'",
                             c->id);
                ctr_free(c);
                return r;
        }
        r = write_etc_files(d, c, hostname, err);
        if (r >= 0)
                r = mount_rootfs(d, c, err);
        if (r >= 0)
                r = build_bundle(d, c, err);
        if (r >= 0)
                r = ctr_save(d, c);
        umount_rootfs(d, c);
        if (r < 0) {
                /* Leave nothing behind: no directory, no anonymous
                 * volume, no record. */
                if (!err || !err->msg[0])
                        berr_set(err, r, "create container");
                size_t i;
                json_t *m;
                json_array_foreach(
                        c->mounts, i,
                        m) if (json_is_true(json_object_get(m, "Anonymous")))
                        volume_remove(
                                d,
                                json_string_value(json_object_get(m, "Name")),
                                true, NULL);
                rm_rf_at(d->ctr_dirfd, c->id);
                ctr_free(c);
                return r;
        }
        c->next = d->containers;
        d->containers = c;
        event_emit(d, "container", "create", c->id, NULL);
        *ret = c;
        return 0;
}

/* ---- the shim ---- */

static int shim_connect(struct daemon *d, struct container *c,
                        struct berr *err) {
        /* Through a directory fd: the state dir's path may be longer than
         * sun_path allows. */
        _cleanup_close_ int dfd =
                openat(d->shims_dirfd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berr_set(err, errno,
                                "connect to the shim of container "
                                "'%.12s'",
                                c->id);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd,
                 SHIM_SOCKET_FILE);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berr_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return berr_set(err, r,
                                "connect to the shim of container "
                                "'%.12s'",
                                c->id);
        }
        struct timeval tv = {.tv_sec = 30};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        return fd;
}

static int shim_send(int fd, json_t *req, int pass_fd) {
        json_object_set_new(req, "v", json_integer(SHIM_PROTOCOL_VERSION));
        _cleanup_free_ char *text = json_dumps(req, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        if (pass_fd >= 0)
                return fd_send(fd, pass_fd, text, strlen(text));
        ssize_t n = send(fd, text, strlen(text), MSG_NOSIGNAL);
        return n < 0 ? -errno : 0;
}

static int shim_recv(int fd, json_t **ret, struct berr *err) {
        _cleanup_free_ char *buf = malloc(SHIM_MSG_MAX);
        if (!buf)
                return -ENOMEM;
        ssize_t n = recv(fd, buf, SHIM_MSG_MAX - 1, 0);
        if (n < 0)
                return berr_set(err, errno, "read the shim's answer");
        if (n == 0)
                return berr_setx(err, ECONNRESET,
                                 "the shim closed the "
                                 "connection");
        json_t *j = json_loadb(buf, (size_t) n, 0, NULL);
        if (!j)
                return berr_setx(err, EBADMSG, "bad answer from the shim");
        if (!json_is_true(json_object_get(j, "ok"))) {
                int code =
                        (int) json_integer_value(json_object_get(j, "errno"));
                const char *m = json_string_value(json_object_get(j, "error"));
                berr_setx(err, code ? code : EIO, "%s", m ? m : "shim error");
                json_decref(j);
                return -(code ? code : EIO);
        }
        *ret = j;
        return 0;
}

int ctr_shim_call(struct daemon *d, struct container *c, json_t *req, int fd,
                  json_t **ret, struct berr *err) {
        _cleanup_close_ int s = shim_connect(d, c, err);
        if (s < 0) {
                json_decref(req);
                return s;
        }
        int r = shim_send(s, req, fd);
        json_decref(req);
        if (r < 0)
                return berr_set(err, r, "send to the shim of '%.12s'", c->id);
        json_t *ans = NULL;
        r = shim_recv(s, &ans, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = ans;
        else
                json_decref(ans);
        return 0;
}

static void on_shim_wait(int fd, uint32_t events, void *ud);

static int watch_exit(struct daemon *d, struct container *c, struct berr *err) {
        int s = shim_connect(d, c, err);
        if (s < 0)
                return s;
        json_t *req = json_pack("{s:s}", "op", "wait");
        int r = shim_send(s, req, -1);
        json_decref(req);
        if (r < 0) {
                close(s);
                return berr_set(err, r, "ask the shim to wait");
        }
        r = loop_add_fd(d->loop, s, EPOLLIN, on_shim_wait, c);
        if (r < 0) {
                close(s);
                return r;
        }
        c->shim_wait_fd = s;
        return 0;
}

static int spawn_shim(struct daemon *d, struct container *c, struct berr *err) {
        _cleanup_free_ char *dir = shim_dir(d, c);
        _cleanup_free_ char *bundle = ctr_dir(d, c, "bundle");
        _cleanup_free_ char *log = ctr_log_path(d, c);
        if (!dir || !bundle || !log)
                return -ENOMEM;
        rm_rf_at(d->shims_dirfd, c->id);
        if (mkdirat(d->shims_dirfd, c->id, 0700) < 0)
                return berr_set(err, errno, "create '%s'", dir);
        json_t *lc = json_object_get(json_object_get(c->hostcfg, "LogConfig"),
                                     "Config");
        uint64_t max_size, max_file;
        int r = logs_opts_parse(lc, &max_size, &max_file, err);
        if (r < 0)
                return r;
        const char *ltype = json_string_value(json_object_get(
                json_object_get(c->hostcfg, "LogConfig"), "Type"));
        bool nolog = ltype && strcmp(ltype, "none") == 0;
        json_t *cs = json_object_get(c->hostcfg, "ConsoleSize");
        json_t *cfg = json_pack(
                "{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:b, s:[I,I]}",
                "version", SHIM_PROTOCOL_VERSION, "id", c->id, "bundle", bundle,
                "runtime_root", d->runtime_root, "log_path", nolog ? "" : log,
                "log_max_size", (json_int_t) max_size, "log_max_file",
                (json_int_t) max_file, "tty",
                json_is_true(json_object_get(c->config, "Tty")), "stdin",
                json_is_true(json_object_get(c->config, "OpenStdin")),
                "stdin_once",
                json_is_true(json_object_get(c->config, "StdinOnce")),
                "console_size",
                (json_int_t) json_integer_value(json_array_get(cs, 0)),
                (json_int_t) json_integer_value(json_array_get(cs, 1)));
        _cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        if (!text)
                return -ENOMEM;
        _cleanup_free_ char *rel = str_printf("%s/%s", c->id, SHIM_CONFIG_FILE);
        r = write_file_atomic_at(d->shims_dirfd, rel, text, strlen(text), 0600,
                                 0);
        if (r < 0)
                return berr_set(err, r, "write '%s/%s'", dir, SHIM_CONFIG_FILE);

        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return berr_set(err, errno, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return berr_set(err, r, "fork the shim");
        }
        if (pid == 0) {
                /* Child of berthd: becomes the shim (which double-forks
                 * away from us).  Only async-signal-safe calls here. */
                if (p[1] == SHIM_READY_FD) {
                        fcntl(p[1], F_SETFD, 0);
                } else if (dup2(p[1], SHIM_READY_FD) < 0)
                        _exit(127);
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                char *argv[] = {(char *) "berth-shim", dir, NULL};
                execv(d->shim_binary, argv);
                _exit(127);
        }
        close(p[1]);
        /* The shim answers once the container exists (its init waits for
         * `start`): about as long as a runtime `create`. */
        char buf[4096];
        size_t got = 0;
        for (;;) {
                struct pollfd pfd = {.fd = p[0], .events = POLLIN};
                int n = poll(&pfd, 1, 60000);
                if (n <= 0)
                        break;
                ssize_t k = read(p[0], buf + got, sizeof(buf) - 1 - got);
                if (k <= 0)
                        break;
                got += (size_t) k;
                if (got >= sizeof(buf) - 1 || memchr(buf, '\n', got))
                        break;
        }
        close(p[0]);
        buf[got] = '\0';
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        json_t *ans =
                got ? json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
        if (!ans) {
                rm_rf_at(d->shims_dirfd, c->id);
                return berr_setx(err, EIO,
                                 "berth-shim '%s' for container '%.12s' "
                                 "failed to start (exit status %d)",
                                 d->shim_binary, c->id,
                                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        }
        const char *emsg = json_string_value(json_object_get(ans, "error"));
        if (emsg) {
                int code =
                        (int) json_integer_value(json_object_get(ans, "errno"));
                berr_setx(err, code ? code : EIO, "%s", emsg);
                json_decref(ans);
                rm_rf_at(d->shims_dirfd, c->id);
                return -(code ? code : EIO);
        }
        c->pid = (pid_t) json_integer_value(json_object_get(ans, "pid"));
        json_decref(ans);
        return 0;
}

static void free_attaches(struct container *c) {
        for (struct attach_req *a = c->attaches, *n; a; a = n) {
                n = a->next;
                close(a->fd);
                free(a);
        }
        c->attaches = NULL;
}

void ctr_pass_attach(struct daemon *d, struct container *c, int fd, bool in,
                     bool out, bool err_, bool mux) {
        if (c->status != CTR_RUNNING) {
                struct attach_req *a = calloc(1, sizeof(*a));
                if (!a) {
                        close(fd);
                        return;
                }
                *a = (struct attach_req){.fd = fd,
                                         .in = in,
                                         .out = out,
                                         .err = err_,
                                         .mux = mux,
                                         .next = c->attaches};
                c->attaches = a;
                return;
        }
        json_t *req =
                json_pack("{s:s, s:b, s:b, s:b, s:b}", "op", "attach", "stdin",
                          in, "stdout", out, "stderr", err_, "mux", mux);
        struct berr e = {0};
        ctr_shim_call(d, c, req, fd, NULL, &e);
        close(fd);
}

static void send_pending_attaches(struct daemon *d, struct container *c) {
        struct attach_req *list = c->attaches;
        c->attaches = NULL;
        for (struct attach_req *a = list, *n; a; a = n) {
                n = a->next;
                json_t *req =
                        json_pack("{s:s, s:b, s:b, s:b, s:b}", "op", "attach",
                                  "stdin", a->in, "stdout", a->out, "stderr",
                                  a->err, "mux", a->mux);
                struct berr e = {0};
                ctr_shim_call(d, c, req, a->fd, NULL, &e);
                close(a->fd);
                free(a);
        }
}

/* docker's exit codes for a program that could not be started. */
static int start_error_code(const char *msg) {
        if (strstr(msg, "executable file not found") ||
            strstr(msg, "no such file or directory") ||
            strstr(msg, "No such file or directory"))
                return 127;
        if (strstr(msg, "permission denied") ||
            strstr(msg, "Permission denied") || strstr(msg, "is a directory"))
                return 126;
        return 128;
}

/* SIGKILL every process of a container that must not go on starting. */
static void kill_all(struct daemon *d, struct container *c) {
        struct berr e = {0};
        ctr_shim_call(d, c,
                      json_pack("{s:s, s:i, s:b}", "op", "kill", "signal",
                                SIGKILL, "all", true),
                      -1, NULL, &e);
}

/* --network container:X: the bundle joins X's namespace as it is now (X
 * may have restarted since this container was made, with another pid). */
static int join_netns(struct daemon *d, struct container *c, struct berr *err) {
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        if (!str_startswith(nm, "container:"))
                return 0;
        struct container *o = ctr_find(d, nm + 10, err);
        if (!o)
                return -ENOENT;
        if (o->status != CTR_RUNNING || o->pid <= 0)
                return berr_setx(err, EINVAL,
                                 "cannot join network of a non running "
                                 "container: %s",
                                 nm + 10);
        _cleanup_free_ char *rel = str_printf("%s/bundle/config.json", c->id);
        _cleanup_free_ char *text = NULL;
        int r = rel ? read_file_at(d->ctr_dirfd, rel, 16 << 20, &text, NULL)
                    : -ENOMEM;
        if (r < 0)
                return berr_set(err, r, "read the bundle of container %s",
                                c->id);
        json_t *spec = json_loads(text, 0, NULL);
        json_t *nss =
                json_object_get(json_object_get(spec, "linux"), "namespaces");
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) o->pid);
        size_t i;
        json_t *ns;
        bool set = false;
        json_array_foreach(nss, i, ns) {
                const char *t = json_string_value(json_object_get(ns, "type"));
                if (t && !strcmp(t, "network")) {
                        json_object_set_new(ns, "path", json_string(path));
                        set = true;
                }
        }
        if (!set && json_is_array(nss))
                json_array_append_new(nss, json_pack("{s:s, s:s}", "type",
                                                     "network", "path", path));
        _cleanup_free_ char *out =
                json_is_array(nss) ? json_dumps(spec, JSON_COMPACT) : NULL;
        json_decref(spec);
        if (!out)
                return berr_setx(err, EINVAL,
                                 "the bundle of container %s has no "
                                 "namespaces",
                                 c->id);
        r = write_file_atomic_at(d->ctr_dirfd, rel, out, strlen(out), 0600, 0);
        return r < 0 ? berr_set(err, r, "write the bundle of container %s",
                                c->id)
                     : 0;
}

int ctr_start(struct daemon *d, struct container *c, struct berr *err) {
        if (c->status == CTR_RUNNING || c->status == CTR_PAUSED)
                return -EALREADY;
        if (c->status == CTR_REMOVING || c->status == CTR_DEAD)
                return berr_setx(err, EINVAL,
                                 "container %s is marked for removal and "
                                 "cannot be started",
                                 c->id);
        if (c->restart_timer) {
                loop_cancel_timer(d->loop, c->restart_timer);
                c->restart_timer = NULL;
        }
        int r = join_netns(d, c, err);
        if (r < 0)
                return r;
        r = mount_rootfs(d, c, err);
        if (r < 0)
                return r;
        r = spawn_shim(d, c, err);
        if (r < 0)
                goto fail;
        /* The namespace exists, the program has not run yet. */
        r = net_attach(d, c, err);
        if (r < 0) {
                kill_all(d, c);
                goto fail;
        }
        send_pending_attaches(d, c);
        r = ctr_shim_call(d, c, json_pack("{s:s}", "op", "start"), -1, NULL,
                          err);
        if (r < 0) {
                /* The program could not be executed: like docker, the
                 * container stays "created" with the error recorded.  The
                 * shim sees its init exit and goes away by itself. */
                c->exit_code = start_error_code(err ? err->msg : "");
                set_str(&c->error, err ? err->msg : "start failed");
                kill_all(d, c);
                goto fail;
        }
        r = watch_exit(d, c, err);
        if (r < 0)
                goto fail;
        c->status = CTR_RUNNING;
        c->has_started = true;
        c->manual_stop = false;
        c->oom_killed = false;
        set_str(&c->error, NULL);
        free(c->started_at);
        c->started_at = now_rfc3339();
        ctr_save(d, c);
        event_emit(d, "container", "start", c->id, NULL);
        return 0;
fail:
        free_attaches(c);
        umount_rootfs(d, c);
        net_detach(d, c);
        c->pid = 0;
        ctr_save(d, c);
        return r;
}

/* ---- exits, waiters, restart ---- */

void ctr_add_waiter(struct daemon *d, struct container *c,
                    const char *condition, ctr_done_fn fn, void *ud) {
        struct waiter *w = calloc(1, sizeof(*w));
        if (!w) {
                fn(d, c, ud);
                return;
        }
        w->kind = WAIT_NOT_RUNNING;
        if (condition && strcmp(condition, "next-exit") == 0)
                w->kind = WAIT_NEXT_EXIT;
        else if (condition && strcmp(condition, "removed") == 0)
                w->kind = WAIT_REMOVED;
        w->fn = fn;
        w->ud = ud;
        if (w->kind == WAIT_NOT_RUNNING && c->status != CTR_RUNNING &&
            c->status != CTR_PAUSED && c->status != CTR_RESTARTING) {
                free(w);
                fn(d, c, ud);
                return;
        }
        w->next = c->waiters;
        c->waiters = w;
}

static void fire_waiters(struct daemon *d, struct container *c, bool removed) {
        struct waiter **p = &c->waiters;
        struct waiter *fire = NULL;
        while (*p) {
                struct waiter *w = *p;
                if (removed || w->kind != WAIT_REMOVED) {
                        *p = w->next;
                        w->next = fire;
                        fire = w;
                } else
                        p = &w->next;
        }
        while (fire) {
                struct waiter *w = fire;
                fire = w->next;
                w->fn(d, c, w->ud);
                free(w);
        }
}

static void restart_fire(void *ud);

struct restart_ctx {
        struct daemon *d;
        char id[65];
};

static bool wants_restart(struct container *c) {
        if (c->manual_stop ||
            json_is_true(json_object_get(c->hostcfg, "AutoRemove")))
                return false;
        json_t *rp = json_object_get(c->hostcfg, "RestartPolicy");
        const char *n = json_string_value(json_object_get(rp, "Name"));
        if (!n)
                return false;
        if (!strcmp(n, "always") || !strcmp(n, "unless-stopped"))
                return true;
        if (!strcmp(n, "on-failure")) {
                int max = (int) json_integer_value(
                        json_object_get(rp, "MaximumRetryCount"));
                return c->exit_code != 0 &&
                       (max <= 0 || c->restart_count < max);
        }
        return false;
}

static void schedule_restart(struct daemon *d, struct container *c) {
        /* Back-off: 100 ms doubling to 1 min; a container that ran for
         * 10 s or more starts again from 100 ms. */
        int64_t ran = rfc3339_to_unix(c->finished_at) -
                      rfc3339_to_unix(c->started_at);
        if (ran >= 10 || c->restart_delay_ms == 0)
                c->restart_delay_ms = 100;
        else if (c->restart_delay_ms < 60000)
                c->restart_delay_ms *= 2;
        struct restart_ctx *rc = calloc(1, sizeof(*rc));
        if (!rc)
                return;
        rc->d = d;
        memcpy(rc->id, c->id, sizeof(rc->id));
        c->status = CTR_RESTARTING;
        c->restart_timer =
                loop_add_timer(d->loop, c->restart_delay_ms, restart_fire, rc);
        ctr_save(d, c);
}

static void restart_fire(void *ud) {
        struct restart_ctx *rc = ud;
        struct container *c = ctr_by_id(rc->d, rc->id);
        struct daemon *d = rc->d;
        free(rc);
        if (!c || c->status != CTR_RESTARTING)
                return;
        c->restart_timer = NULL;
        c->status = CTR_EXITED;
        c->restart_count++;
        struct berr e = {0};
        if (ctr_start(d, c, &e) < 0) {
                fprintf(stderr, "berthd: restart container '%.12s': %s\n",
                        c->id, e.msg);
                if (wants_restart(c))
                        schedule_restart(d, c);
        }
}

struct exec_inst *exec_inst_free(struct exec_inst *x) {
        if (!x)
                return NULL;
        json_decref(x->body);
        free(x);
        return NULL;
}

void exec_drop(struct daemon *d, struct container *c, size_t keep) {
        size_t seen = 0;
        for (struct exec_inst **p = &d->execs; *p;) {
                struct exec_inst *x = *p;
                if (x->ctr != c || (keep && (++seen <= keep || x->running))) {
                        p = &x->next;
                        continue;
                }
                /* What the shim wrote when the process ended goes too (the
                 * whole shim directory does when the container goes). */
                if (keep) {
                        _cleanup_free_ char *rel =
                                str_printf("%s/exec-%s.json", c->id, x->id);
                        if (rel)
                                unlinkat(d->shims_dirfd, rel, 0);
                }
                *p = x->next;
                exec_inst_free(x);
        }
}

void ctr_free_all(struct daemon *d) {
        /* Exec records are freed through their containers: one that
         * belongs to none is a record nothing would ever have freed,
         * which is reported, and left for a leak checker to list. */
        for (struct container *c = d->containers; c; c = c->next)
                exec_drop(d, c, 0);
        size_t orphans = 0;
        for (struct exec_inst *x = d->execs; x; x = x->next)
                orphans++;
        if (orphans)
                fprintf(stderr,
                        "berthd: %zu exec records belong to no container\n",
                        orphans);
        d->execs = NULL;
        while (d->containers) {
                struct container *c = d->containers;
                d->containers = c->next;
                /* Only the daemon's own descriptors close here: the DNS
                 * server's sockets and the held host ports, which the
                 * exit would close anyway; veths, addresses and files
                 * stay for the next daemon (ctr_restore_running). */
                resolver_stop(d, c);
                ports_release(c);
                while (c->eps) {
                        struct endpoint *e = c->eps;
                        c->eps = e->next;
                        free(e);
                }
                free_attaches(c);
                for (struct waiter *w = c->waiters, *n; w; w = n) {
                        n = w->next;
                        free(w);
                }
                if (c->shim_wait_fd >= 0)
                        close(c->shim_wait_fd);
                ctr_free(c);
        }
}

static void read_exec_exits(struct daemon *d, struct container *c) {
        for (struct exec_inst *x = d->execs; x; x = x->next) {
                if (x->ctr != c || !x->running)
                        continue;
                _cleanup_free_ char *rel =
                        str_printf("%s/exec-%s.json", c->id, x->id);
                _cleanup_free_ char *text = NULL;
                size_t len;
                if (rel &&
                    read_file_at(d->shims_dirfd, rel, 4096, &text, &len) >= 0) {
                        json_t *j = json_loadb(text, len, 0, NULL);
                        x->exit_code = (int) json_integer_value(
                                json_object_get(j, "exit_code"));
                        json_decref(j);
                } else
                        x->exit_code = 137; /* killed with the container */
                x->running = false;
        }
}

void ctr_on_exit_record(struct daemon *d, struct container *c, int code,
                        bool oom, const char *finished_at) {
        if (c->shim_wait_fd >= 0) {
                loop_del_fd(d->loop, c->shim_wait_fd);
                close(c->shim_wait_fd);
                c->shim_wait_fd = -1;
        }
        if (c->kill_timer) {
                loop_cancel_timer(d->loop, c->kill_timer);
                c->kill_timer = NULL;
        }
        read_exec_exits(d, c);
        c->status = CTR_EXITED;
        c->pid = 0;
        c->exit_code = code;
        c->oom_killed = oom;
        free(c->finished_at);
        c->finished_at = finished_at ? strdup(finished_at) : now_rfc3339();
        umount_rootfs(d, c);
        net_detach(d, c);
        rm_rf_at(d->shims_dirfd, c->id);
        /* A --rm container's record goes in a moment: no need to sync
         * it first (a daemon that dies in between finds the shim gone
         * and ends it the same way). */
        bool autoremove =
                json_is_true(json_object_get(c->hostcfg, "AutoRemove"));
        if (!autoremove)
                ctr_save(d, c);
        if (oom)
                event_emit(d, "container", "oom", c->id, NULL);
        char codebuf[16];
        snprintf(codebuf, sizeof(codebuf), "%d", code);
        event_emit(d, "container", "die", c->id,
                   json_pack("{s:s}", "exitCode", codebuf));
        logs_container_exited(d, c);
        fire_waiters(d, c, false);
        if (autoremove) {
                struct berr e = {0};
                ctr_remove(d, c, true, &e);
                return;
        }
        if (wants_restart(c))
                schedule_restart(d, c);
}

static void on_shim_wait(int fd, uint32_t events, void *ud) {
        struct container *c = ud;
        struct daemon *d = c->daemon;
        (void) events;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        int code = 255;
        bool oom = false;
        _cleanup_free_ char *fin = NULL;
        json_t *j = n > 0 ? json_loadb(buf, (size_t) n, 0, NULL) : NULL;
        if (j && json_is_true(json_object_get(j, "ok"))) {
                code = (int) json_integer_value(
                        json_object_get(j, "exit_code"));
                oom = json_is_true(json_object_get(j, "oom_killed"));
                const char *f =
                        json_string_value(json_object_get(j, "finished_at"));
                fin = f ? strdup(f) : NULL;
        } else {
                /* The shim went away without answering: its exit file
                 * may still tell. */
                _cleanup_free_ char *rel =
                        str_printf("%s/%s", c->id, SHIM_EXIT_FILE);
                _cleanup_free_ char *text = NULL;
                size_t len;
                if (rel && read_file_at(d->shims_dirfd, rel, 65536, &text,
                                        &len) >= 0) {
                        json_t *e = json_loadb(text, len, 0, NULL);
                        code = (int) json_integer_value(
                                json_object_get(e, "exit_code"));
                        oom = json_is_true(json_object_get(e, "oom_killed"));
                        const char *f = json_string_value(
                                json_object_get(e, "finished_at"));
                        fin = f ? strdup(f) : NULL;
                        json_decref(e);
                } else
                        set_str(&c->error, "berth-shim exited unexpectedly");
        }
        json_decref(j);
        ctr_on_exit_record(d, c, code, oom, fin);
}

/* ---- stop, kill, remove ---- */

int ctr_kill(struct daemon *d, struct container *c, int sig, struct berr *err) {
        if (c->status != CTR_RUNNING && c->status != CTR_PAUSED)
                return berr_setx(err, EBUSY, "Container %s is not running",
                                 c->id);
        return ctr_shim_call(d, c,
                             json_pack("{s:s, s:i, s:b}", "op", "kill",
                                       "signal", sig, "all", false),
                             -1, NULL, err);
}

struct kill_ctx {
        struct daemon *d;
        char id[65];
};

static void kill_timeout(void *ud) {
        struct kill_ctx *k = ud;
        struct container *c = ctr_by_id(k->d, k->id);
        struct daemon *d = k->d;
        free(k);
        if (!c)
                return;
        c->kill_timer = NULL;
        if (c->status == CTR_RUNNING || c->status == CTR_PAUSED) {
                struct berr e = {0};
                ctr_shim_call(d, c,
                              json_pack("{s:s, s:i, s:b}", "op", "kill",
                                        "signal", SIGKILL, "all", true),
                              -1, NULL, &e);
        }
}

int ctr_stop(struct daemon *d, struct container *c, int sig, int timeout,
             ctr_done_fn done, void *ud, struct berr *err) {
        if (c->status == CTR_RESTARTING) {
                loop_cancel_timer(d->loop, c->restart_timer);
                c->restart_timer = NULL;
                c->status = CTR_EXITED;
                c->manual_stop = true;
                ctr_save(d, c);
        }
        if (c->status != CTR_RUNNING && c->status != CTR_PAUSED) {
                if (done)
                        done(d, c, ud);
                return -EALREADY;
        }
        c->manual_stop = true;
        if (sig <= 0) {
                const char *ss = json_string_value(
                        json_object_get(c->config, "StopSignal"));
                sig = ss && *ss ? signal_parse(ss) : SIGTERM;
                if (sig <= 0)
                        sig = SIGTERM;
        }
        if (timeout < 0) {
                json_t *t = json_object_get(c->config, "StopTimeout");
                timeout = json_is_integer(t) ? (int) json_integer_value(t) : 10;
        }
        if (done)
                ctr_add_waiter(d, c, "next-exit", done, ud);
        int r = ctr_shim_call(d, c,
                              json_pack("{s:s, s:i, s:b}", "op", "kill",
                                        "signal", timeout == 0 ? SIGKILL : sig,
                                        "all", false),
                              -1, NULL, err);
        if (r < 0 && r != -ESRCH)
                fprintf(stderr, "berthd: stop '%.12s': %s\n", c->id,
                        err ? err->msg : "");
        struct kill_ctx *k = calloc(1, sizeof(*k));
        if (k) {
                k->d = d;
                memcpy(k->id, c->id, sizeof(k->id));
                if (c->kill_timer)
                        loop_cancel_timer(d->loop, c->kill_timer);
                c->kill_timer = loop_add_timer(
                        d->loop, (uint64_t) (timeout < 0 ? 0 : timeout) * 1000,
                        kill_timeout, k);
        }
        return 0;
}

/* Kill and wait for the shim's exit answer right here: `rm -f` and
 * daemon shutdown paths need the container gone before they go on. */
static int kill_and_reap(struct daemon *d, struct container *c,
                         struct berr *err) {
        c->manual_stop = true;
        struct berr e = {0};
        ctr_shim_call(d, c,
                      json_pack("{s:s, s:i, s:b}", "op", "kill", "signal",
                                SIGKILL, "all", true),
                      -1, NULL, &e);
        if (c->shim_wait_fd >= 0) {
                struct pollfd p = {.fd = c->shim_wait_fd, .events = POLLIN};
                if (poll(&p, 1, 15000) > 0) {
                        on_shim_wait(c->shim_wait_fd, POLLIN, c);
                        return 0;
                }
        }
        if (c->status == CTR_RUNNING || c->status == CTR_PAUSED) {
                /* No answer: remove what the runtime has and record it. */
                struct runtime_opts ro = {.root = d->runtime_root};
                container_delete(&ro, c->id, true, err);
                ctr_on_exit_record(d, c, 137, false, NULL);
        }
        return 0;
}

int ctr_remove(struct daemon *d, struct container *c, bool volumes,
               struct berr *err) {
        if (c->status == CTR_RUNNING || c->status == CTR_PAUSED)
                return berr_setx(err, EBUSY,
                                 "You cannot remove a running container %s. "
                                 "Stop the container before attempting "
                                 "removal or force remove",
                                 c->id);
        if (c->status == CTR_REMOVING)
                return berr_setx(err, EBUSY,
                                 "removal of container %s is already in "
                                 "progress",
                                 c->id);
        if (c->restart_timer) {
                loop_cancel_timer(d->loop, c->restart_timer);
                c->restart_timer = NULL;
        }
        c->status = CTR_REMOVING;
        umount_rootfs(d, c);
        free_attaches(c);
        rm_rf_at(d->shims_dirfd, c->id);
        net_detach(d, c);
        int r = rm_rf_at(d->ctr_dirfd, c->id);
        if (r < 0 && r != -ENOENT) {
                c->status = CTR_DEAD;
                return berr_set(err, r, "remove the files of container %s",
                                c->id);
        }
        ctr_unlink(d, c);
        if (volumes) {
                size_t i;
                json_t *m;
                json_array_foreach(c->mounts, i, m) {
                        if (!json_is_true(json_object_get(m, "Anonymous")))
                                continue;
                        const char *n =
                                json_string_value(json_object_get(m, "Name"));
                        if (n && !ctr_uses_volume(d, n))
                                volume_remove(d, n, false, NULL);
                }
        }
        exec_drop(d, c, 0);
        event_emit(d, "container", "destroy", c->id, NULL);
        fire_waiters(d, c, true);
        ctr_free(c);
        return 0;
}

int ctr_force_remove(struct daemon *d, struct container *c, bool volumes,
                     struct berr *err) {
        if (c->status == CTR_RUNNING || c->status == CTR_PAUSED) {
                bool autorm =
                        json_is_true(json_object_get(c->hostcfg, "AutoRemove"));
                /* Auto-remove would free c inside the exit path. */
                json_object_set_new(c->hostcfg, "AutoRemove", json_false());
                kill_and_reap(d, c, err);
                if (autorm)
                        json_object_set_new(c->hostcfg, "AutoRemove",
                                            json_true());
        }
        return ctr_remove(d, c, volumes, err);
}

int ctr_rename(struct daemon *d, struct container *c, const char *name,
               struct berr *err) {
        if (!ctr_name_valid(name))
                return berr_setx(err, EINVAL,
                                 "Invalid container name (%s), only "
                                 "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                 name);
        if (name[0] == '/')
                name++;
        if (strcmp(c->name, name) == 0)
                return berr_setx(err, EINVAL,
                                 "Renaming a container with the same name "
                                 "as its current name");
        struct container *o = by_name(d, name);
        if (o)
                return berr_setx(err, EEXIST,
                                 "Conflict. The container name \"/%s\" is "
                                 "already in use by container \"%s\". You "
                                 "have to remove (or rename) that container "
                                 "to be able to reuse that name.",
                                 name, o->id);
        char *n = strdup(name);
        if (!n)
                return -ENOMEM;
        char *old = c->name;
        c->name = n;
        int r = ctr_save(d, c);
        if (r < 0) {
                c->name = old;
                free(n);
                return berr_set(err, r, "save container %s", c->id);
        }
        free(old);
        event_emit(d, "container", "rename", c->id, NULL);
        return 0;
}

/* ---- daemon start: re-adopt ---- */

void ctr_restore_running(struct daemon *d) {
        for (struct container *c = d->containers, *next; c; c = next) {
                next = c->next;
                if (c->status == CTR_REMOVING) {
                        struct berr e = {0};
                        c->status = CTR_EXITED;
                        ctr_remove(d, c, false, &e);
                        continue;
                }
                if (c->status == CTR_RUNNING || c->status == CTR_PAUSED) {
                        struct berr e = {0};
                        if (watch_exit(d, c, &e) == 0) {
                                c->rootfs_mounted = true;
                                net_restore(d, c);
                                continue;
                        }
                        /* No shim answers: it ended (exit.json tells how)
                         * or was killed. */
                        char id[65];
                        memcpy(id, c->id, sizeof(id));
                        c->shim_wait_fd = -1;
                        /* May remove c (--rm). */
                        on_shim_wait(-1, 0, c);
                        if (!ctr_by_id(d, id))
                                continue;
                        struct runtime_opts ro = {.root = d->runtime_root};
                        struct berr e2 = {0};
                        container_delete(&ro, id, true, &e2);
                        continue;
                }
                if (c->status == CTR_RESTARTING)
                        c->status = CTR_EXITED;
        }
        /* Then the policies that start containers with the daemon: once
         * every running one holds its ports again and can be joined. */
        for (struct container *c = d->containers, *next; c; c = next) {
                next = c->next;
                json_t *rp = json_object_get(c->hostcfg, "RestartPolicy");
                const char *n = json_string_value(json_object_get(rp, "Name"));
                if (c->status == CTR_EXITED && c->has_started && n &&
                    (!strcmp(n, "always") ||
                     (!strcmp(n, "unless-stopped") && !c->manual_stop))) {
                        struct berr e = {0};
                        if (ctr_start(d, c, &e) < 0)
                                fprintf(stderr, "berthd: restart '%.12s': %s\n",
                                        c->id, e.msg);
                }
        }
}
