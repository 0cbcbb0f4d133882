/* Named volumes of the "local" driver: DATA_ROOT/volumes/NAME/_data, with
 * NAME/volume.json holding labels, options and the creation time.
 * Options type/device/o (tmpfs, bind) are mounted at first use like
 * docker's local driver does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "util.h"

static bool volume_name_valid(const char *n) {
        /* moby: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
        size_t len = strlen(n);
        if (len < 2 || len > 255)
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = n[i];
                bool ok = (ch >= 'a' && ch <= 'z') ||
                          (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') ||
                          (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
                if (!ok)
                        return false;
        }
        return true;
}

static json_t *volume_load(struct daemon *d, const char *name) {
        _cleanup_free_ char *rel = str_printf("%s/volume.json", name);
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (!rel || read_file_at(d->vol_dirfd, rel, 1 << 20, &text, &len) < 0)
                return NULL;
        return json_loadb(text, len, 0, NULL);
}

static json_t *volume_json(struct daemon *d, const char *name) {
        json_t *v = volume_load(d, name);
        if (!v)
                return NULL;
        _cleanup_free_ char *mp =
                str_printf("%s/volumes/%s/_data", d->data_root, name);
        /* A record may lack any of these: `o` takes a reference, so
         * what the record has is increfed and what it lacks made anew. */
        json_t *at = json_object_get(v, "CreatedAt");
        json_t *labels = json_object_get(v, "Labels");
        json_t *opts = json_object_get(v, "Options");
        json_t *out = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "Name", name, "Driver",
                "local", "Mountpoint", mp ? mp : "", "CreatedAt",
                at ? json_incref(at) : json_string(""), "Labels",
                labels ? json_incref(labels) : json_object(), "Scope", "local",
                "Options", opts ? json_incref(opts) : json_object());
        json_decref(v);
        return out;
}

/* Mount a volume that has driver options (type=tmpfs, o=size=..) on its
 * _data dir, unless already mounted. */
static int volume_mount_opts(const char *path, json_t *opts, struct berr *err) {
        const char *type = json_string_value(json_object_get(opts, "type"));
        const char *dev = json_string_value(json_object_get(opts, "device"));
        const char *o = json_string_value(json_object_get(opts, "o"));
        if (!type || !*type)
                return 0;
        struct stat a, b;
        _cleanup_free_ char *parent = str_printf("%s/..", path);
        if (parent && stat(path, &a) == 0 && stat(parent, &b) == 0 &&
            a.st_dev != b.st_dev)
                return 0;
        unsigned long flags = 0;
        if (strcmp(type, "none") == 0 && o && strstr(o, "bind"))
                flags = MS_BIND;
        if (mount(dev && *dev ? dev : type, path, flags & MS_BIND ? NULL : type,
                  flags, o) < 0)
                return berr_set(err, errno,
                                "mount volume options type=%s o=%s on '%s'",
                                type, o ? o : "", path);
        return 0;
}

int volume_get_or_create(struct daemon *d, const char *name, json_t *labels,
                         json_t *opts, bool *ret_created, char **ret_path,
                         struct berr *err) {
        if (!volume_name_valid(name))
                return berr_setx(err, EINVAL,
                                 "\"%s\" includes invalid characters for a "
                                 "local volume name, only "
                                 "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
                                 "If you intended to pass a host directory, "
                                 "use absolute path",
                                 name);
        _cleanup_free_ char *path =
                str_printf("%s/volumes/%s/_data", d->data_root, name);
        if (!path)
                return -ENOMEM;
        json_t *v = volume_load(d, name);
        bool created = false;
        if (!v) {
                /* Build it under a temporary name and rename it into
                 * place, so a crash never leaves a half-made volume. */
                char tmp[96];
                char rnd[17];
                random_hex(rnd, 8);
                snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
                if (mkdirat(d->vol_dirfd, tmp, 0700) < 0)
                        return berr_set(err, errno, "create volume '%s'", name);
                _cleanup_free_ char *data = str_printf("%s/_data", tmp);
                _cleanup_free_ char *meta = str_printf("%s/volume.json", tmp);
                _cleanup_free_ char *created_at = now_rfc3339();
                /* "o" takes the reference each value comes with. */
                json_t *rec = json_pack(
                        "{s:s, s:s, s:o, s:o}", "Name", name, "CreatedAt",
                        created_at ? created_at : "", "Labels",
                        json_is_object(labels) ? json_incref(labels)
                                               : json_object(),
                        "Options",
                        json_is_object(opts) ? json_incref(opts)
                                             : json_object());
                _cleanup_free_ char *text = json_dumps(rec, JSON_COMPACT);
                json_decref(rec);
                int r = (!data || !meta || !text) ? -ENOMEM : 0;
                if (r >= 0 && mkdirat(d->vol_dirfd, data, 0755) < 0)
                        r = -errno;
                if (r >= 0)
                        r = write_file_atomic_at(d->vol_dirfd, meta, text,
                                                 strlen(text), 0600,
                                                 WRITE_SYNC);
                if (r >= 0 &&
                    renameat(d->vol_dirfd, tmp, d->vol_dirfd, name) < 0)
                        r = -errno;
                if (r < 0) {
                        rm_rf_at(d->vol_dirfd, tmp);
                        if (r == -EEXIST || r == -ENOTEMPTY)
                                return volume_get_or_create(d, name, labels,
                                                            opts, ret_created,
                                                            ret_path, err);
                        return berr_set(err, r, "create volume '%s'", name);
                }
                created = true;
                event_emit(d, "volume", "create", name,
                           json_pack("{s:s}", "driver", "local"));
                v = volume_load(d, name);
        }
        int r = volume_mount_opts(path, json_object_get(v, "Options"), err);
        json_decref(v);
        if (r < 0)
                return r;
        if (ret_created)
                *ret_created = created;
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

int volume_remove(struct daemon *d, const char *name, bool force,
                  struct berr *err) {
        json_t *v = volume_load(d, name);
        if (!v) {
                if (force)
                        return 0;
                return berr_setx(err, ENOENT, "get %s: no such volume", name);
        }
        json_decref(v);
        if (ctr_uses_volume(d, name)) {
                return berr_setx(err, EBUSY, "remove %s: volume is in use",
                                 name);
        }
        _cleanup_free_ char *path =
                str_printf("%s/volumes/%s/_data", d->data_root, name);
        if (path)
                umount2(path, MNT_DETACH);
        int r = rm_rf_at(d->vol_dirfd, name);
        if (r < 0 && r != -ENOENT)
                return berr_set(err, r, "remove volume %s", name);
        event_emit(d, "volume", "destroy", name,
                   json_pack("{s:s}", "driver", "local"));
        return 0;
}

static bool vol_filter_ok(struct daemon *d, json_t *filters, json_t *vol) {
        const char *name = json_string_value(json_object_get(vol, "Name"));
        json_t *f;
        const char *k;
        json_t *val;
        size_t i;
        /* Normalise each filter to a list of strings. */
        const char *keys[] = {"name", "dangling", "label", "driver"};
        for (size_t ki = 0; ki < 4; ki++) {
                f = json_object_get(filters, keys[ki]);
                if (!f)
                        continue;
                json_t *list = json_array();
                if (json_is_object(f))
                        json_object_foreach(f, k, val)
                                json_array_append_new(list, json_string(k));
                else
                        json_array_foreach(f, i, val)
                                json_array_append(list, val);
                bool ok = json_array_size(list) == 0;
                bool all = true;
                json_array_foreach(list, i, val) {
                        const char *s = json_string_value(val);
                        if (!s)
                                continue;
                        bool m = false;
                        if (ki == 0)
                                m = strstr(name, s) != NULL;
                        else if (ki == 1) {
                                bool dangling = !ctr_uses_volume(d, name);
                                bool want = strcmp(s, "true") == 0 ||
                                            strcmp(s, "1") == 0;
                                m = dangling == want;
                        } else if (ki == 2) {
                                const char *eq = strchr(s, '=');
                                _cleanup_free_ char *key =
                                        eq ? strndup(s, (size_t) (eq - s))
                                           : strdup(s);
                                const char *have =
                                        json_string_value(json_object_get(
                                                json_object_get(vol, "Labels"),
                                                key));
                                m = have && (!eq || strcmp(have, eq + 1) == 0);
                                if (!m)
                                        all = false;
                                continue;
                        } else
                                m = strcmp(s, "local") == 0;
                        if (m)
                                ok = true;
                }
                json_decref(list);
                if (ki == 2)
                        ok = all;
                if (!ok)
                        return false;
        }
        return true;
}

static json_t *volume_list(struct daemon *d, json_t *filters) {
        json_t *out = json_array();
        int fd = openat(d->vol_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                if (fd >= 0)
                        close(fd);
                return out;
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                json_t *v = volume_json(d, de->d_name);
                if (!v)
                        continue;
                if (filters && !vol_filter_ok(d, filters, v)) {
                        json_decref(v);
                        continue;
                }
                json_array_append_new(out, v);
        }
        closedir(dir);
        return out;
}

void api_volumes(struct daemon *d, struct http_req *r, const char *rest) {
        const char *m = http_method(r);
        struct berr err = {0};
        json_t *filters = NULL;
        const char *fs = http_query(r, "filters");
        if (fs && *fs) {
                filters = json_loads(fs, 0, NULL);
                if (!json_is_object(filters)) {
                        json_decref(filters);
                        http_reply_error(r, 400, "invalid filter '%s'", fs);
                        return;
                }
        }
        if (!*rest && strcmp(m, "GET") == 0) {
                json_t *list = volume_list(d, filters);
                http_reply_json(
                        r, 200,
                        json_pack("{s:o, s:[]}", "Volumes", list, "Warnings"));
        } else if (strcmp(rest, "/create") == 0 && strcmp(m, "POST") == 0) {
                json_t *body = http_body_json(r, true);
                if (!body)
                        goto out;
                const char *name =
                        json_string_value(json_object_get(body, "Name"));
                const char *driver =
                        json_string_value(json_object_get(body, "Driver"));
                char gen[65];
                if (!name || !*name) {
                        random_hex(gen, 32);
                        name = gen;
                }
                if (driver && *driver && strcmp(driver, "local") != 0) {
                        http_reply_error(r, 404,
                                         "error looking up volume plugin "
                                         "%s: plugin \"%s\" not found",
                                         driver, driver);
                        json_decref(body);
                        goto out;
                }
                int rr = volume_get_or_create(
                        d, name, json_object_get(body, "Labels"),
                        json_object_get(body, "DriverOpts"), NULL, NULL, &err);
                if (rr < 0)
                        http_reply_errno(r, rr, err.msg);
                else
                        http_reply_json(r, 201, volume_json(d, name));
                json_decref(body);
        } else if (strcmp(rest, "/prune") == 0 && strcmp(m, "POST") == 0) {
                json_t *list = volume_list(d, filters);
                json_t *deleted = json_array();
                size_t i;
                json_t *v;
                json_array_foreach(list, i, v) {
                        const char *n =
                                json_string_value(json_object_get(v, "Name"));
                        /* Like docker 23+: only anonymous volumes unless
                         * all=true. */
                        bool anon = strlen(n) == 64 &&
                                    strspn(n, "0123456789abcdef") == 64;
                        if (!anon && !http_query_bool(r, "all", false) &&
                            !(filters && json_object_get(filters, "all")))
                                continue;
                        struct berr e = {0};
                        if (!ctr_uses_volume(d, n) &&
                            volume_remove(d, n, false, &e) == 0)
                                json_array_append_new(deleted, json_string(n));
                }
                json_decref(list);
                http_reply_json(r, 200,
                                json_pack("{s:o, s:i}", "VolumesDeleted",
                                          deleted, "SpaceReclaimed", 0));
        } else if (rest[0] == '/' && strchr(rest + 1, '/') == NULL) {
                const char *name = rest + 1;
                if (strcmp(m, "GET") == 0) {
                        json_t *v = volume_json(d, name);
                        if (!v)
                                http_reply_error(
                                        r, 404, "get %s: no such volume", name);
                        else
                                http_reply_json(r, 200, v);
                } else if (strcmp(m, "DELETE") == 0) {
                        int rr = volume_remove(
                                d, name, http_query_bool(r, "force", false),
                                &err);
                        if (rr < 0)
                                http_reply_errno(r, rr, err.msg);
                        else
                                http_reply_status(r, 204);
                } else
                        http_reply_error(r, 405, "method %s not allowed", m);
        } else
                http_reply_error(r, 404, "page not found");
out:
        json_decref(filters);
}
