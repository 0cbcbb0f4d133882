/* Docker container definition + image config -> OCI config.json.
 * Runs in berthd (host namespaces, root).  The only files it reads from a
 * container's rootfs are /etc/passwd and /etc/group, opened with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) so a hostile image can
 * not point them at host files. */
#include "specgen.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "error.h"
#include "util.h"

static const char *const default_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
};

const char *const specgen_all_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};
const size_t specgen_n_all_caps = ELEMENTSOF(specgen_all_caps);

static const char *const masked_paths[] = {
        "/proc/asound",      "/proc/acpi",
        "/proc/interrupts",  "/proc/kcore",
        "/proc/keys",        "/proc/latency_stats",
        "/proc/timer_list",  "/proc/timer_stats",
        "/proc/sched_debug", "/proc/scsi",
        "/sys/firmware",     "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
        "/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
        "/proc/sysrq-trigger",
};

static json_t *jget(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);
        return json_is_null(v) ? NULL : v;
}

static const char *jstr(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static int cap_known_kernel(void) {
        _cleanup_free_ char *t = NULL;
        size_t len;
        int last = 40;
        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &t,
                         &len) >= 0)
                last = atoi(t);
        return last;
}

/* "net_admin", "CAP_NET_ADMIN", "Net_Admin" -> "CAP_NET_ADMIN"; NULL when
 * unknown. */
static char *cap_normalize(const char *in) {
        char buf[64];
        const char *s = strncasecmp(in, "CAP_", 4) == 0 ? in + 4 : in;
        int n = snprintf(buf, sizeof(buf), "CAP_%s", s);
        if (n < 0 || (size_t) n >= sizeof(buf))
                return NULL;
        for (char *p = buf; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        for (size_t i = 0; i < specgen_n_all_caps; i++)
                if (strcmp(specgen_all_caps[i], buf) == 0)
                        return strdup(buf);
        return NULL;
}

static int build_caps(json_t *hc, char ***ret, struct berr *err) {
        _cleanup_strv_free_ char **caps = NULL;
        int last = cap_known_kernel();
        bool priv = json_is_true(json_object_get(hc, "Privileged"));
        json_t *add = jget(hc, "CapAdd");
        json_t *drop = jget(hc, "CapDrop");
        bool add_all = false, drop_all = false;
        size_t i;
        json_t *v;
        json_array_foreach(
                add, i, v) if (!strcasecmp(json_string_value(v) ?: "", "ALL"))
                add_all = true;
        json_array_foreach(
                drop, i, v) if (!strcasecmp(json_string_value(v) ?: "", "ALL"))
                drop_all = true;
        if (priv || add_all) {
                for (size_t k = 0; k < specgen_n_all_caps && (int) k <= last;
                     k++)
                        if (strv_push(&caps, specgen_all_caps[k]) < 0)
                                return -ENOMEM;
        } else if (!drop_all) {
                for (size_t k = 0; k < ELEMENTSOF(default_caps); k++)
                        if (strv_push(&caps, default_caps[k]) < 0)
                                return -ENOMEM;
        }
        json_array_foreach(add, i, v) {
                const char *s = json_string_value(v);
                if (!s || !strcasecmp(s, "ALL"))
                        continue;
                _cleanup_free_ char *c = cap_normalize(s);
                if (!c)
                        return berr_setx(err, EINVAL, "invalid capability: %s",
                                         s);
                if (!strv_contains(caps, c) && strv_push(&caps, c) < 0)
                        return -ENOMEM;
        }
        if (!priv && !drop_all) {
                json_array_foreach(drop, i, v) {
                        const char *s = json_string_value(v);
                        if (!s)
                                continue;
                        _cleanup_free_ char *c = cap_normalize(s);
                        if (!c)
                                return berr_setx(err, EINVAL,
                                                 "invalid capability: %s", s);
                        for (size_t k = 0; caps && caps[k]; k++)
                                if (strcmp(caps[k], c) == 0) {
                                        free(caps[k]);
                                        for (size_t m = k; caps[m]; m++)
                                                caps[m] = caps[m + 1];
                                        break;
                                }
                }
        }
        if (!caps) {
                caps = calloc(1, sizeof(char *));
                if (!caps)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(caps);
        return 0;
}

/* ---- users ---- */

static int open_in_root(const char *rootfs, const char *path) {
        _cleanup_close_ int root =
                open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, root, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static char *read_in_root(const char *rootfs, const char *path) {
        _cleanup_close_ int fd = open_in_root(rootfs, path);
        if (fd < 0)
                return NULL;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        char *text = NULL;
        size_t len;
        if (read_fd_all(fd, 4 << 20, &text, &len) < 0)
                return NULL;
        return text;
}

static int parse_id(const char *s, uint32_t *ret) {
        /* No wrap-around to root: CVE-2024-40635. */
        uint64_t v;
        if (!*s || strspn(s, "0123456789") != strlen(s) ||
            parse_u64(s, &v) < 0 || v > 0xfffffffeULL)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

/* passwd/group line field lookup: returns the n-th ':' field of the line
 * whose first field (or id field `idf`) equals key. */
static bool find_entry(const char *text, const char *key, int idf,
                       char fields[7][256]) {
        if (!text)
                return false;
        const char *line = text;
        while (*line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                int f = 0;
                size_t fl = 0;
                memset(fields, 0, 7 * 256);
                for (size_t i = 0; i < len && f < 7; i++) {
                        if (line[i] == ':') {
                                f++;
                                fl = 0;
                                continue;
                        }
                        if (fl < 255)
                                fields[f][fl++] = line[i];
                }
                if (f >= 2 && (strcmp(fields[0], key) == 0 ||
                               (idf >= 0 && strcmp(fields[idf], key) == 0)))
                        return true;
                line = end ? end + 1 : line + len;
        }
        return false;
}

static int resolve_user(const char *rootfs, const char *user, json_t **ret,
                        struct berr *err) {
        uint32_t uid = 0, gid = 0;
        _cleanup_free_ char *copy = strdup(user ? user : "");
        if (!copy)
                return -ENOMEM;
        char *grp = strchr(copy, ':');
        if (grp)
                *grp++ = '\0';
        _cleanup_free_ char *passwd = read_in_root(rootfs, "/etc/passwd");
        _cleanup_free_ char *group = read_in_root(rootfs, "/etc/group");
        char f[7][256];
        const char *uname = NULL;
        char uname_buf[256] = "";
        if (!*copy) {
                uid = 0;
                gid = 0;
                if (find_entry(passwd, "0", 2, f))
                        snprintf(uname_buf, sizeof(uname_buf), "%s", f[0]);
        } else if (parse_id(copy, &uid) == 0) {
                gid = uid == 0 ? 0 : uid;
                if (find_entry(passwd, copy, 2, f)) {
                        parse_id(f[3], &gid);
                        snprintf(uname_buf, sizeof(uname_buf), "%s", f[0]);
                } else if (!grp)
                        gid = 0;
        } else if (strspn(copy, "-0123456789") == strlen(copy)) {
                return berr_setx(err, EINVAL, "invalid user '%s'", user);
        } else {
                if (!find_entry(passwd, copy, -1, f))
                        return berr_setx(err, EINVAL,
                                         "unable to find user %s: no "
                                         "matching entries in passwd file",
                                         copy);
                if (parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
                        return berr_setx(err, EINVAL,
                                         "invalid uid/gid for user %s in "
                                         "passwd file",
                                         copy);
                snprintf(uname_buf, sizeof(uname_buf), "%s", f[0]);
        }
        uname = uname_buf[0] ? uname_buf : NULL;
        if (grp && *grp) {
                if (parse_id(grp, &gid) < 0) {
                        if (strspn(grp, "-0123456789") == strlen(grp))
                                return berr_setx(err, EINVAL,
                                                 "invalid group '%s'", grp);
                        if (!find_entry(group, grp, -1, f) ||
                            parse_id(f[2], &gid) < 0)
                                return berr_setx(err, EINVAL,
                                                 "unable to find group %s: "
                                                 "no matching entries in "
                                                 "group file",
                                                 grp);
                }
        }
        json_t *u = json_pack("{s:I, s:I}", "uid", (json_int_t) uid, "gid",
                              (json_int_t) gid);
        /* Supplementary groups: every group that lists the user. */
        json_t *extra = json_array();
        if (uname && group) {
                const char *line = group;
                while (*line) {
                        const char *end = strchr(line, '\n');
                        size_t len = end ? (size_t) (end - line) : strlen(line);
                        _cleanup_free_ char *l = strndup(line, len);
                        char *fields[4] = {0};
                        char *sp = l;
                        for (int k = 0; k < 4 && sp; k++)
                                fields[k] = strsep(&sp, ":");
                        if (fields[3]) {
                                char *m, *s2 = fields[3];
                                while ((m = strsep(&s2, ","))) {
                                        uint32_t g;
                                        if (strcmp(m, uname) == 0 &&
                                            parse_id(fields[2], &g) == 0 &&
                                            g != gid)
                                                json_array_append_new(
                                                        extra, json_integer(g));
                                }
                        }
                        line = end ? end + 1 : line + len;
                }
        }
        if (json_array_size(extra))
                json_object_set_new(u, "additionalGids", extra);
        else
                json_decref(extra);
        *ret = u;
        return 0;
}

/* ---- mounts ---- */

struct mounts {
        json_t *list;  /* OCI mounts */
        json_t *dests; /* seen destinations */
        struct specgen_output *out;
};

static char *clean_path(const char *p) {
        /* Collapse "//", "/./" and trailing '/'; refuse "..". */
        if (!p || p[0] != '/')
                return NULL;
        char *out = malloc(strlen(p) + 2);
        if (!out)
                return NULL;
        size_t n = 0;
        const char *s = p;
        while (*s) {
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                size_t l = strcspn(s, "/");
                if (l == 1 && s[0] == '.') {
                        s += l;
                        continue;
                }
                if (l == 2 && s[0] == '.' && s[1] == '.') {
                        free(out);
                        return NULL;
                }
                out[n++] = '/';
                memcpy(out + n, s, l);
                n += l;
                s += l;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return out;
}

static int add_info(struct mounts *m, const char *type, const char *name,
                    const char *src, const char *dst, const char *mode,
                    bool rw) {
        struct specgen_output *o = m->out;
        struct specgen_mount_info *nv =
                realloc(o->mounts, sizeof(*nv) * (size_t) (o->n_mounts + 1));
        if (!nv)
                return -ENOMEM;
        o->mounts = nv;
        struct specgen_mount_info *i = &o->mounts[o->n_mounts++];
        *i = (struct specgen_mount_info){.type = strdup(type),
                                         .name = name ? strdup(name) : NULL,
                                         .source = strdup(src ? src : ""),
                                         .destination = strdup(dst),
                                         .mode = strdup(mode ? mode : ""),
                                         .rw = rw};
        return 0;
}

static int check_dest(struct mounts *m, const char *dst, struct berr *err) {
        size_t i;
        json_t *v;
        json_array_foreach(
                m->dests, i,
                v) if (strcmp(json_string_value(v), dst) ==
                       0) return berr_setx(err, EINVAL,
                                           "Duplicate mount point: %s", dst);
        json_array_append_new(m->dests, json_string(dst));
        return 0;
}

static int add_bind(struct mounts *m, const char *src, const char *dst, bool ro,
                    const char *prop, struct berr *err) {
        int r = check_dest(m, dst, err);
        if (r < 0)
                return r;
        json_t *opts = json_pack("[s, s]", "rbind", prop ? prop : "rprivate");
        if (ro)
                json_array_append_new(opts, json_string("ro"));
        json_array_append_new(m->list,
                              json_pack("{s:s, s:s, s:s, s:o}", "destination",
                                        dst, "type", "bind", "source", src,
                                        "options", opts));
        return 0;
}

static int volume_mount(const struct specgen_input *in, struct mounts *m,
                        const char *name, const char *dst, bool ro,
                        const char *mode, struct berr *err) {
        if (!in->volume)
                return berr_setx(err, ENOTSUP, "volumes are not available");
        char *path = NULL, *vname = NULL;
        int r = in->volume(in->volume_ud, name, dst, &path, &vname, err);
        if (r < 0)
                return r;
        r = add_bind(m, path, dst, ro, NULL, err);
        if (r >= 0)
                r = add_info(m, "volume", vname ? vname : name, path, dst, mode,
                             !ro);
        free(path);
        free(vname);
        return r;
}

static int parse_binds(const struct specgen_input *in, json_t *hc,
                       struct mounts *m, struct berr *err) {
        size_t i;
        json_t *v;
        json_array_foreach(jget(hc, "Binds"), i, v) {
                const char *spec = json_string_value(v);
                if (!spec)
                        continue;
                _cleanup_free_ char *copy = strdup(spec);
                if (!copy)
                        return -ENOMEM;
                char *parts[3] = {0};
                int n = 0;
                char *sp = copy;
                while (sp && n < 3)
                        parts[n++] = strsep(&sp, ":");
                if (n < 2 || sp)
                        return berr_setx(err, EINVAL,
                                         "invalid volume specification: '%s'",
                                         spec);
                const char *src = parts[0], *dst = parts[1];
                const char *mode = n == 3 ? parts[2] : "";
                bool ro = false;
                const char *prop = NULL;
                _cleanup_free_ char *mc = strdup(mode);
                char *ms = mc;
                char *tok;
                while (ms && (tok = strsep(&ms, ","))) {
                        if (!*tok || !strcmp(tok, "rw") || !strcmp(tok, "z") ||
                            !strcmp(tok, "Z") || !strcmp(tok, "nocopy"))
                                continue;
                        if (!strcmp(tok, "ro"))
                                ro = true;
                        else if (!strcmp(tok, "shared") ||
                                 !strcmp(tok, "rshared") ||
                                 !strcmp(tok, "slave") ||
                                 !strcmp(tok, "rslave") ||
                                 !strcmp(tok, "private") ||
                                 !strcmp(tok, "rprivate"))
                                prop = tok;
                        else
                                return berr_setx(err, EINVAL,
                                                 "invalid mode: %s", mode);
                }
                _cleanup_free_ char *cdst = clean_path(dst);
                if (!cdst || !strcmp(cdst, "/"))
                        return berr_setx(err, EINVAL,
                                         "invalid volume specification: "
                                         "'%s': invalid mount config: mount "
                                         "path must be absolute",
                                         spec);
                int r;
                if (src[0] == '/') {
                        _cleanup_free_ char *csrc = clean_path(src);
                        if (!csrc)
                                return berr_setx(err, EINVAL,
                                                 "invalid bind source '%s'",
                                                 src);
                        /* docker creates a missing host directory for -v */
                        struct stat st;
                        if (stat(csrc, &st) < 0 && mkdir_p(csrc, 0755) < 0)
                                return berr_set(err, errno,
                                                "create bind source '%s'",
                                                csrc);
                        r = add_bind(m, csrc, cdst, ro, prop, err);
                        if (r >= 0)
                                r = add_info(m, "bind", NULL, csrc, cdst, mode,
                                             !ro);
                } else
                        r = volume_mount(in, m, src, cdst, ro, mode, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_mounts(const struct specgen_input *in, json_t *hc,
                        struct mounts *m, struct berr *err) {
        size_t i;
        json_t *v;
        json_array_foreach(jget(hc, "Mounts"), i, v) {
                const char *type = jstr(v, "Type");
                const char *src = jstr(v, "Source");
                const char *target = jstr(v, "Target");
                bool ro = json_is_true(json_object_get(v, "ReadOnly"));
                _cleanup_free_ char *dst = clean_path(target);
                if (!dst)
                        return berr_setx(err, EINVAL,
                                         "invalid mount config for type "
                                         "\"%s\": invalid mount path: '%s' "
                                         "mount path must be absolute",
                                         type, target);
                int r;
                if (!strcmp(type, "bind")) {
                        struct stat st;
                        if (src[0] != '/' || stat(src, &st) < 0)
                                return berr_setx(err, EINVAL,
                                                 "invalid mount config for "
                                                 "type \"bind\": bind source "
                                                 "path does not exist: %s",
                                                 src);
                        const char *prop =
                                jstr(json_object_get(v, "BindOptions"),
                                     "Propagation");
                        r = add_bind(m, src, dst, ro, *prop ? prop : NULL, err);
                        if (r >= 0)
                                r = add_info(m, "bind", NULL, src, dst, "",
                                             !ro);
                } else if (!strcmp(type, "volume")) {
                        r = volume_mount(in, m, *src ? src : NULL, dst, ro, "",
                                         err);
                } else if (!strcmp(type, "tmpfs")) {
                        r = check_dest(m, dst, err);
                        if (r < 0)
                                return r;
                        json_t *to = json_object_get(v, "TmpfsOptions");
                        json_t *opts = json_pack("[s, s, s]", "nosuid", "nodev",
                                                 "noexec");
                        json_int_t sz = json_integer_value(
                                json_object_get(to, "SizeBytes"));
                        json_int_t mode =
                                json_integer_value(json_object_get(to, "Mode"));
                        char b[64];
                        if (sz > 0) {
                                snprintf(b, sizeof(b), "size=%lld",
                                         (long long) sz);
                                json_array_append_new(opts, json_string(b));
                        }
                        if (mode > 0) {
                                snprintf(b, sizeof(b), "mode=%llo",
                                         (long long) mode);
                                json_array_append_new(opts, json_string(b));
                        }
                        if (ro)
                                json_array_append_new(opts, json_string("ro"));
                        json_array_append_new(
                                m->list,
                                json_pack("{s:s, s:s, s:s, s:o}", "destination",
                                          dst, "type", "tmpfs", "source",
                                          "tmpfs", "options", opts));
                        r = add_info(m, "tmpfs", NULL, "", dst, "", !ro);
                } else
                        return berr_setx(err, EINVAL,
                                         "invalid mount config: mount type "
                                         "unknown: \"%s\"",
                                         type);
                if (r < 0)
                        return r;
        }
        const char *k;
        json_object_foreach(jget(hc, "Tmpfs"), k, v) {
                _cleanup_free_ char *dst = clean_path(k);
                if (!dst)
                        return berr_setx(err, EINVAL,
                                         "invalid tmpfs mount path '%s'", k);
                int r = check_dest(m, dst, err);
                if (r < 0)
                        return r;
                json_t *opts =
                        json_pack("[s, s, s]", "nosuid", "nodev", "noexec");
                _cleanup_free_ char *o = strdup(json_string_value(v) ?: "");
                char *sp = o, *tok;
                while (sp && (tok = strsep(&sp, ",")))
                        if (*tok)
                                json_array_append_new(opts, json_string(tok));
                json_array_append_new(
                        m->list, json_pack("{s:s, s:s, s:s, s:o}",
                                           "destination", dst, "type", "tmpfs",
                                           "source", "tmpfs", "options", opts));
                r = add_info(m, "tmpfs", NULL, "", dst, "", true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int image_volumes(const struct specgen_input *in, json_t *body,
                         json_t *img, struct mounts *m, struct berr *err) {
        json_t *lists[2] = {jget(img, "Volumes"), jget(body, "Volumes")};
        for (int l = 0; l < 2; l++) {
                const char *k;
                json_t *v;
                json_object_foreach(lists[l], k, v) {
                        _cleanup_free_ char *dst = clean_path(k);
                        if (!dst || !strcmp(dst, "/"))
                                return berr_setx(err, EINVAL,
                                                 "invalid volume path '%s'", k);
                        bool taken = false;
                        size_t i;
                        json_t *d;
                        json_array_foreach(m->dests, i,
                                           d) if (!strcmp(json_string_value(d),
                                                          dst)) taken = true;
                        if (taken)
                                continue;
                        int r = volume_mount(in, m, NULL, dst, false, "", err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- resources ---- */

static json_t *resources(json_t *hc, struct berr *err, int *ret) {
        json_t *res = json_object();
        json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
        json_int_t swap = json_integer_value(json_object_get(hc, "MemorySwap"));
        json_int_t resv =
                json_integer_value(json_object_get(hc, "MemoryReservation"));
        *ret = 0;
        if (mem < 0 || (mem > 0 && mem < 6 * 1024 * 1024)) {
                *ret = berr_setx(err, EINVAL,
                                 "Minimum memory limit allowed is 6MB");
                return res;
        }
        if (mem || swap || resv) {
                json_t *m = json_object();
                if (mem > 0)
                        json_object_set_new(m, "limit", json_integer(mem));
                if (swap > 0 && mem > 0 && swap < mem) {
                        *ret = berr_setx(err, EINVAL,
                                         "Minimum memoryswap limit should be "
                                         "larger than memory limit, see "
                                         "usage");
                        json_decref(m);
                        return res;
                }
                if (swap > 0)
                        json_object_set_new(m, "swap", json_integer(swap));
                else if (swap == -1)
                        json_object_set_new(m, "swap", json_integer(-1));
                else if (mem > 0)
                        json_object_set_new(m, "swap", json_integer(mem * 2));
                if (resv > 0)
                        json_object_set_new(m, "reservation",
                                            json_integer(resv));
                if (json_is_true(json_object_get(hc, "OomKillDisable")))
                        json_object_set_new(m, "disableOOMKiller", json_true());
                json_object_set_new(res, "memory", m);
        }
        json_int_t nano = json_integer_value(json_object_get(hc, "NanoCpus"));
        json_int_t shares =
                json_integer_value(json_object_get(hc, "CpuShares"));
        json_int_t quota = json_integer_value(json_object_get(hc, "CpuQuota"));
        json_int_t period =
                json_integer_value(json_object_get(hc, "CpuPeriod"));
        const char *cpus = jstr(hc, "CpusetCpus");
        const char *mems = jstr(hc, "CpusetMems");
        if (nano && (quota || period)) {
                *ret = berr_setx(err, EINVAL,
                                 "Conflicting options: Nano CPUs and CPU "
                                 "Period cannot both be set");
                return res;
        }
        if (nano < 0) {
                *ret = berr_setx(err, EINVAL, "Range of CPUs is invalid");
                return res;
        }
        if (nano || shares || quota || period || *cpus || *mems) {
                json_t *c = json_object();
                if (nano) {
                        json_object_set_new(c, "period", json_integer(100000));
                        json_object_set_new(c, "quota",
                                            json_integer(nano / 10000));
                }
                if (quota)
                        json_object_set_new(c, "quota", json_integer(quota));
                if (period)
                        json_object_set_new(c, "period", json_integer(period));
                if (shares)
                        json_object_set_new(c, "shares", json_integer(shares));
                if (*cpus)
                        json_object_set_new(c, "cpus", json_string(cpus));
                if (*mems)
                        json_object_set_new(c, "mems", json_string(mems));
                json_object_set_new(res, "cpu", c);
        }
        json_t *pl = json_object_get(hc, "PidsLimit");
        if (json_integer_value(pl) > 0)
                json_object_set_new(
                        res, "pids",
                        json_pack("{s:I}", "limit", json_integer_value(pl)));
        json_int_t bw = json_integer_value(json_object_get(hc, "BlkioWeight"));
        if (bw > 0)
                json_object_set_new(res, "blockIO",
                                    json_pack("{s:I}", "weight", bw));
        /* Devices: docker's default allow list. */
        json_t *dev = json_array();
        json_array_append_new(
                dev, json_pack("{s:b, s:s}", "allow", false, "access", "rwm"));
        static const struct {
                const char *type;
                int major, minor;
                const char *access;
        } allow[] = {
                {"c", -1, -1, "m"},    {"b", -1, -1, "m"},
                {"c", 1, 3, "rwm"},    {"c", 1, 5, "rwm"},
                {"c", 1, 7, "rwm"},    {"c", 1, 8, "rwm"},
                {"c", 1, 9, "rwm"},    {"c", 5, 0, "rwm"},
                {"c", 5, 1, "rwm"},    {"c", 5, 2, "rwm"},
                {"c", 136, -1, "rwm"}, {"c", 10, 200, "rwm"},
        };
        for (size_t i = 0; i < ELEMENTSOF(allow); i++) {
                json_t *d = json_pack("{s:b, s:s, s:s}", "allow", true, "type",
                                      allow[i].type, "access", allow[i].access);
                if (allow[i].major >= 0)
                        json_object_set_new(d, "major",
                                            json_integer(allow[i].major));
                if (allow[i].minor >= 0)
                        json_object_set_new(d, "minor",
                                            json_integer(allow[i].minor));
                json_array_append_new(dev, d);
        }
        json_object_set_new(res, "devices", dev);
        return res;
}

static int rlimits(json_t *hc, json_t **ret, struct berr *err) {
        static const struct {
                const char *name;
                const char *oci;
        } map[] = {
                {"core", "RLIMIT_CORE"},
                {"cpu", "RLIMIT_CPU"},
                {"data", "RLIMIT_DATA"},
                {"fsize", "RLIMIT_FSIZE"},
                {"locks", "RLIMIT_LOCKS"},
                {"memlock", "RLIMIT_MEMLOCK"},
                {"msgqueue", "RLIMIT_MSGQUEUE"},
                {"nice", "RLIMIT_NICE"},
                {"nofile", "RLIMIT_NOFILE"},
                {"nproc", "RLIMIT_NPROC"},
                {"rss", "RLIMIT_RSS"},
                {"rtprio", "RLIMIT_RTPRIO"},
                {"rttime", "RLIMIT_RTTIME"},
                {"sigpending", "RLIMIT_SIGPENDING"},
                {"stack", "RLIMIT_STACK"},
                {"as", "RLIMIT_AS"},
        };
        json_t *out = json_array();
        size_t i;
        json_t *u;
        json_array_foreach(jget(hc, "Ulimits"), i, u) {
                const char *name = jstr(u, "Name");
                const char *oci = NULL;
                for (size_t k = 0; k < ELEMENTSOF(map); k++)
                        if (!strcmp(map[k].name, name))
                                oci = map[k].oci;
                if (!oci) {
                        json_decref(out);
                        return berr_setx(err, EINVAL, "invalid ulimit type: %s",
                                         name);
                }
                json_int_t soft =
                        json_integer_value(json_object_get(u, "Soft"));
                json_int_t hard =
                        json_integer_value(json_object_get(u, "Hard"));
                if (soft > hard) {
                        json_decref(out);
                        return berr_setx(err, EINVAL,
                                         "ulimit soft limit must be less "
                                         "than or equal to hard limit: %lld "
                                         "> %lld",
                                         (long long) soft, (long long) hard);
                }
                json_array_append_new(out,
                                      json_pack("{s:s, s:I, s:I}", "type", oci,
                                                "soft", soft, "hard", hard));
        }
        *ret = out;
        return 0;
}

/* ---- seccomp ---- */

static bool caps_has(char *const *caps, const char *c) {
        return strv_contains(caps, c);
}

static const char *host_scmp_arch(void) {
#if defined(__x86_64__)
        return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
        return "SCMP_ARCH_AARCH64";
#else
        return "SCMP_ARCH_NATIVE";
#endif
}

int seccomp_profile_to_oci(const char *profile_json, char *const *caps,
                           char **ret_json, struct berr *err) {
        json_error_t je;
        json_t *p = json_loads(profile_json, 0, &je);
        if (!json_is_object(p)) {
                json_decref(p);
                return berr_setx(err, EINVAL,
                                 "decoding seccomp profile failed: %s",
                                 je.text);
        }
        json_t *out = json_object();
        const char *da = jstr(p, "defaultAction");
        if (!*da) {
                json_decref(p);
                json_decref(out);
                return berr_setx(err, EINVAL,
                                 "seccomp profile has no defaultAction");
        }
        json_object_set_new(out, "defaultAction", json_string(da));
        if (json_object_get(p, "defaultErrnoRet"))
                json_object_set(out, "defaultErrnoRet",
                                json_object_get(p, "defaultErrnoRet"));
        /* Architectures: the host's and its sub-architectures from the
         * profile's archMap, else the "architectures" list as given. */
        json_t *arches = json_array();
        const char *host = host_scmp_arch();
        size_t i;
        json_t *v;
        json_array_foreach(jget(p, "archMap"), i, v) {
                if (strcmp(jstr(v, "architecture"), host) != 0)
                        continue;
                json_array_append_new(arches, json_string(host));
                size_t k;
                json_t *s;
                json_array_foreach(jget(v, "subArchitectures"), k, s)
                        json_array_append(arches, s);
        }
        if (json_array_size(arches) == 0 && jget(p, "architectures"))
                json_array_extend(arches, json_object_get(p, "architectures"));
        json_object_set_new(out, "architectures", arches);
        json_t *rules = json_array();
        json_array_foreach(jget(p, "syscalls"), i, v) {
                json_t *inc = json_object_get(v, "includes");
                json_t *exc = json_object_get(v, "excludes");
                bool ok = true;
                size_t k;
                json_t *c;
                json_array_foreach(
                        json_object_get(inc, "caps"), k,
                        c) if (!caps_has(caps, json_string_value(c) ?: "")) ok =
                        false;
                json_array_foreach(json_object_get(inc, "arches"), k, c) {
                        const char *a = json_string_value(c) ?: "";
                        bool m = (!strcmp(a, "amd64") &&
                                  !strcmp(host, "SCMP_ARCH_X86_64")) ||
                                 (!strcmp(a, "arm64") &&
                                  !strcmp(host, "SCMP_ARCH_AARCH64"));
                        if (!m && k == json_array_size(
                                               json_object_get(inc, "arches")) -
                                                  1) {
                                bool any = false;
                                size_t q;
                                json_t *x;
                                json_array_foreach(
                                        json_object_get(inc, "arches"), q, x) {
                                        const char *xa =
                                                json_string_value(x) ?: "";
                                        if ((!strcmp(xa, "amd64") &&
                                             !strcmp(host,
                                                     "SCMP_ARCH_X86_64")) ||
                                            (!strcmp(xa, "arm64") &&
                                             !strcmp(host,
                                                     "SCMP_ARCH_AARCH64")))
                                                any = true;
                                }
                                if (!any)
                                        ok = false;
                        }
                }
                json_array_foreach(
                        json_object_get(exc, "caps"), k,
                        c) if (caps_has(caps, json_string_value(c) ?: "")) ok =
                        false;
                if (!ok)
                        continue;
                json_t *names = json_object_get(v, "names");
                if (!json_array_size(names) &&
                    json_is_string(json_object_get(v, "name")))
                        names = json_pack("[O]", json_object_get(v, "name"));
                else
                        json_incref(names);
                json_t *rule = json_pack("{s:o, s:s}", "names",
                                         names ? names : json_array(), "action",
                                         jstr(v, "action"));
                if (json_object_get(v, "errnoRet"))
                        json_object_set(rule, "errnoRet",
                                        json_object_get(v, "errnoRet"));
                if (json_array_size(json_object_get(v, "args")))
                        json_object_set(rule, "args",
                                        json_object_get(v, "args"));
                json_array_append_new(rules, rule);
        }
        json_object_set_new(out, "syscalls", rules);
        json_decref(p);
        *ret_json = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        return *ret_json ? 0 : -ENOMEM;
}

/* ---- the spec ---- */

static json_t *default_mounts(json_t *hc, bool priv) {
        json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
        char shmopt[64];
        snprintf(shmopt, sizeof(shmopt), "size=%lldk",
                 (long long) (shm > 0 ? shm / 1024 : 65536));
        return json_pack(
                "[{s:s, s:s, s:s, s:[s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s,s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s]},"
                " {s:s, s:s, s:s, s:[s,s,s,s,s]}]",
                "destination", "/proc", "type", "proc", "source", "proc",
                "options", "nosuid", "noexec", "nodev", "destination", "/dev",
                "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
                "strictatime", "mode=755", "size=65536k", "destination",
                "/dev/pts", "type", "devpts", "source", "devpts", "options",
                "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                "gid=5", "destination", "/sys", "type", "sysfs", "source",
                "sysfs", "options", "nosuid", "noexec", "nodev",
                priv ? "rw" : "ro", "destination", "/sys/fs/cgroup", "type",
                "cgroup", "source", "cgroup", "options", "nosuid", "noexec",
                "nodev", priv ? "rw" : "ro", "destination", "/dev/mqueue",
                "type", "mqueue", "source", "mqueue", "options", "nosuid",
                "noexec", "nodev", "destination", "/dev/shm", "type", "tmpfs",
                "source", "shm", "options", "nosuid", "noexec", "nodev",
                "mode=1777", shmopt);
}

static bool is_cgroup2_host(void) {
        struct statfs sf;
        return statfs("/sys/fs/cgroup", &sf) == 0 &&
               sf.f_type == 0x63677270; /* CGROUP2_SUPER_MAGIC */
}

int specgen_build(const struct specgen_input *in, struct specgen_output *out,
                  struct berr *err) {
        *out = (struct specgen_output){0};
        json_error_t je;
        json_t *body = json_loads(in->create_json, 0, &je);
        if (!json_is_object(body)) {
                json_decref(body);
                return berr_setx(err, EINVAL, "invalid container config: %s",
                                 je.text);
        }
        json_t *img = in->image_config_json
                              ? json_loads(in->image_config_json, 0, NULL)
                              : NULL;
        if (!json_is_object(img)) {
                json_decref(img);
                img = json_object();
        }
        json_t *hc = json_object_get(body, "HostConfig");
        if (!json_is_object(hc))
                hc = NULL;
        int r = 0;
        json_t *spec = NULL;
        _cleanup_strv_free_ char **caps = NULL;
        _cleanup_free_ char *cwd = NULL;
        _cleanup_free_ char *cgpath = NULL;
        struct mounts m = {.list = NULL, .dests = json_array(), .out = out};
        bool priv = json_is_true(json_object_get(hc, "Privileged"));
        bool tty = json_is_true(json_object_get(body, "Tty"));

        /* args: Entrypoint + Cmd */
        json_t *ep = jget(body, "Entrypoint");
        json_t *cmd = jget(body, "Cmd");
        bool user_ep = ep != NULL;
        if (!ep)
                ep = jget(img, "Entrypoint");
        if ((!cmd || json_array_size(cmd) == 0) && !user_ep)
                cmd = jget(img, "Cmd");
        json_t *args = json_array();
        if (json_is_array(ep))
                json_array_extend(args, ep);
        else if (json_is_string(ep) && *json_string_value(ep))
                json_array_append(args, ep);
        if (json_is_array(cmd))
                json_array_extend(args, cmd);
        if (json_array_size(args) == 0) {
                json_decref(args);
                r = berr_setx(err, EINVAL,
                              "no command specified: the image has no "
                              "Cmd or Entrypoint and none was given");
                goto out;
        }
        if (json_is_true(json_object_get(hc, "Init"))) {
                if (!in->init_path) {
                        json_decref(args);
                        r = berr_setx(err, EINVAL, "--init: no init binary");
                        goto out;
                }
                json_t *a2 = json_pack("[s, s]", "/dev/init", "--");
                json_array_extend(a2, args);
                json_decref(args);
                args = a2;
        }

        /* env */
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
                        if (k == 0) {
                                json_decref(args);
                                json_decref(env);
                                r = berr_setx(err, EINVAL,
                                              "invalid environment variable: "
                                              "%s",
                                              s);
                                goto out;
                        }
                        bool rep = false;
                        size_t j;
                        json_t *o;
                        json_array_foreach(env, j, o) {
                                const char *os = json_string_value(o);
                                if (!strncmp(os, s, k) && os[k] == '=') {
                                        json_array_set(env, j, e);
                                        rep = true;
                                        break;
                                }
                        }
                        if (!rep && s[k] == '=')
                                json_array_append(env, e);
                }
        }
        bool has_path = false, has_term = false, has_host = false;
        size_t ei;
        json_t *ev;
        json_array_foreach(env, ei, ev) {
                const char *s = json_string_value(ev);
                has_path |= str_startswith(s, "PATH=");
                has_term |= str_startswith(s, "TERM=");
                has_host |= str_startswith(s, "HOSTNAME=");
        }
        const char *hostname = jstr(body, "Hostname");
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%.12s", in->id);
        if (!*hostname)
                hostname = short_id;
        if (!has_path)
                json_array_insert_new(
                        env, 0,
                        json_string("PATH=/usr/local/sbin:/usr/local/bin:"
                                    "/usr/sbin:/usr/bin:/sbin:/bin"));
        if (!has_host) {
                _cleanup_free_ char *h = str_printf("HOSTNAME=%s", hostname);
                json_array_insert_new(env, 1, json_string(h ? h : ""));
        }
        if (tty && !has_term)
                json_array_append_new(env, json_string("TERM=xterm"));

        /* cwd */
        const char *wd = jstr(body, "WorkingDir");
        if (!*wd)
                wd = jstr(img, "WorkingDir");
        if (!*wd)
                wd = "/";
        cwd = clean_path(wd);
        if (!cwd) {
                json_decref(args);
                json_decref(env);
                r = berr_setx(err, EINVAL,
                              "the working directory '%s' is invalid, it "
                              "needs to be an absolute path",
                              wd);
                goto out;
        }

        /* user */
        const char *user = jstr(body, "User");
        if (!*user)
                user = jstr(img, "User");
        json_t *juser = NULL;
        r = resolve_user(in->rootfs, user, &juser, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                goto out;
        }

        r = build_caps(hc, &caps, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                json_decref(juser);
                goto out;
        }
        json_t *capl = json_array();
        for (size_t i = 0; caps[i]; i++)
                json_array_append_new(capl, json_string(caps[i]));

        bool nnp = false;
        bool seccomp_off = priv;
        bool sys_unconfined = priv;
        size_t i;
        json_t *so;
        json_array_foreach(jget(hc, "SecurityOpt"), i, so) {
                const char *s = json_string_value(so) ?: "";
                if (!strcmp(s, "no-new-privileges") ||
                    !strcmp(s, "no-new-privileges:true") ||
                    !strcmp(s, "no-new-privileges=true"))
                        nnp = true;
                else if (!strcmp(s, "seccomp=unconfined") ||
                         !strcmp(s, "seccomp:unconfined"))
                        seccomp_off = true;
                else if (!strcmp(s, "systempaths=unconfined"))
                        sys_unconfined = true;
                else if (str_startswith(s, "seccomp") ||
                         str_startswith(s, "label") ||
                         str_startswith(s, "apparmor") ||
                         str_startswith(s, "no-new-privileges"))
                        continue;
                else {
                        r = berr_setx(err, EINVAL,
                                      "invalid --security-opt: \"%s\"", s);
                        json_decref(args);
                        json_decref(env);
                        json_decref(juser);
                        json_decref(capl);
                        goto out;
                }
        }
        json_t *rl = NULL;
        r = rlimits(hc, &rl, err);
        if (r < 0) {
                json_decref(args);
                json_decref(env);
                json_decref(juser);
                json_decref(capl);
                goto out;
        }
        json_t *process = json_pack(
                "{s:b, s:o, s:o, s:o, s:s, s:{s:O, s:O, s:O, s:[], s:[]},"
                " s:b, s:o}",
                "terminal", tty, "user", juser, "args", args, "env", env, "cwd",
                cwd, "capabilities", "bounding", capl, "effective", capl,
                "permitted", capl, "inheritable", "ambient", "noNewPrivileges",
                nnp, "rlimits", rl);
        json_decref(capl);
        json_t *cs = json_object_get(hc, "ConsoleSize");
        if (tty && json_integer_value(json_array_get(cs, 0)) > 0)
                json_object_set_new(process, "consoleSize",
                                    json_pack("{s:O, s:O}", "height",
                                              json_array_get(cs, 0), "width",
                                              json_array_get(cs, 1)));
        json_t *oom = json_object_get(hc, "OomScoreAdj");
        if (json_integer_value(oom))
                json_object_set(process, "oomScoreAdj", oom);

        /* mounts */
        m.list = default_mounts(hc, priv);
        for (size_t k = 0; k < json_array_size(m.list); k++)
                json_array_append_new(
                        m.dests, json_string(jstr(json_array_get(m.list, k),
                                                  "destination")));
        const char *nm = jstr(hc, "NetworkMode");
        bool host_net = !strcmp(nm, "host");
        const char *etc[3][2] = {{"/etc/resolv.conf", in->resolv_path},
                                 {"/etc/hostname", in->hostname_path},
                                 {"/etc/hosts", in->hosts_path}};
        for (int k = 0; k < 3; k++)
                if (etc[k][1]) {
                        json_array_append_new(
                                m.list,
                                json_pack("{s:s, s:s, s:s, s:[s,s]}",
                                          "destination", etc[k][0], "type",
                                          "bind", "source", etc[k][1],
                                          "options", "rbind", "rprivate"));
                        json_array_append_new(m.dests, json_string(etc[k][0]));
                }
        if (json_is_true(json_object_get(hc, "Init")))
                json_array_append_new(
                        m.list, json_pack("{s:s, s:s, s:s, s:[s,s,s]}",
                                          "destination", "/dev/init", "type",
                                          "bind", "source", in->init_path,
                                          "options", "bind", "ro", "nosuid"));
        r = parse_binds(in, hc, &m, err);
        if (r >= 0)
                r = parse_mounts(in, hc, &m, err);
        if (r >= 0)
                r = image_volumes(in, body, img, &m, err);
        if (r < 0) {
                json_decref(process);
                goto out;
        }

        /* linux */
        json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "type", "mount",
                               "type", "pid", "type", "ipc", "type", "uts");
        if (!strcmp(jstr(hc, "PidMode"), "host"))
                json_array_remove(ns, 1);
        if (!host_net) {
                json_t *n = json_pack("{s:s}", "type", "network");
                if (in->netns_path)
                        json_object_set_new(n, "path",
                                            json_string(in->netns_path));
                json_array_append_new(ns, n);
        }
        if (is_cgroup2_host())
                json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
        json_t *res = resources(hc, err, &r);
        if (r < 0) {
                json_decref(process);
                json_decref(ns);
                json_decref(res);
                goto out;
        }
        cgpath = str_printf("%s/%s",
                            in->cgroup_parent ? in->cgroup_parent : "/berth",
                            in->id);
        json_t *linux_ = json_pack("{s:s, s:o, s:o}", "cgroupsPath",
                                   cgpath ? cgpath : "", "namespaces", ns,
                                   "resources", res);
        if (!sys_unconfined) {
                json_t *mp = json_array(), *rp = json_array();
                for (size_t k = 0; k < ELEMENTSOF(masked_paths); k++)
                        json_array_append_new(mp, json_string(masked_paths[k]));
                for (size_t k = 0; k < ELEMENTSOF(readonly_paths); k++)
                        json_array_append_new(rp,
                                              json_string(readonly_paths[k]));
                json_object_set_new(linux_, "maskedPaths", mp);
                json_object_set_new(linux_, "readonlyPaths", rp);
        }
        if (!seccomp_off) {
                _cleanup_free_ char *sc = NULL;
                r = seccomp_profile_to_oci(in->seccomp_profile_json
                                                   ? in->seccomp_profile_json
                                                   : seccomp_default_profile(),
                                           caps, &sc, err);
                if (r < 0) {
                        json_decref(process);
                        json_decref(linux_);
                        goto out;
                }
                json_object_set_new(linux_, "seccomp", json_loads(sc, 0, NULL));
        }
        json_t *sysctl = json_object();
        const char *sk;
        json_t *sv;
        json_object_foreach(jget(hc, "Sysctls"), sk, sv) {
                bool ok = str_startswith(sk, "kernel.msg") ||
                          str_startswith(sk, "kernel.shm") ||
                          !strcmp(sk, "kernel.sem") ||
                          str_startswith(sk, "fs.mqueue.") ||
                          (str_startswith(sk, "net.") && !host_net);
                if (!ok) {
                        json_decref(sysctl);
                        json_decref(process);
                        json_decref(linux_);
                        r = berr_setx(err, EINVAL,
                                      "sysctl '%s' is not allowed: it is not "
                                      "namespaced or the container uses the "
                                      "host's namespace",
                                      sk);
                        goto out;
                }
                json_object_set(sysctl, sk, sv);
        }
        json_object_set_new(linux_, "sysctl", sysctl);

        spec = json_pack(
                "{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion",
                "1.2.0", "process", process, "root", "path", in->rootfs,
                "readonly", json_is_true(json_object_get(hc, "ReadonlyRootfs")),
                "hostname", hostname, "mounts", m.list, "linux", linux_);
        m.list = NULL;
        if (*jstr(body, "Domainname"))
                json_object_set_new(spec, "domainname",
                                    json_string(jstr(body, "Domainname")));
        out->spec_json = json_dumps(spec, JSON_INDENT(1));
        if (!out->spec_json)
                r = -ENOMEM;
out:
        json_decref(spec);
        json_decref(m.list);
        json_decref(m.dests);
        json_decref(body);
        json_decref(img);
        if (r < 0)
                specgen_output_free(out);
        return r;
}

void specgen_output_free(struct specgen_output *out) {
        if (!out)
                return;
        free(out->spec_json);
        for (int i = 0; i < out->n_mounts; i++) {
                free(out->mounts[i].type);
                free(out->mounts[i].name);
                free(out->mounts[i].source);
                free(out->mounts[i].destination);
                free(out->mounts[i].mode);
        }
        free(out->mounts);
        *out = (struct specgen_output){0};
}
