/* config.json -> struct spec.  Every accessor takes the JSON path of the
 * value it reads so errors name the field: "process.rlimits[1].type:
 * unknown rlimit 'RLIMIT_FOO'". */
#include "spec.h"

#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define SPEC_MAX_SIZE (16 << 20)
#define SPEC_MAX_DEPTH 64

static const char *const ns_names[_SPEC_NS_MAX] = {
        [SPEC_NS_PID] = "pid",       [SPEC_NS_NET] = "network",
        [SPEC_NS_MNT] = "mount",     [SPEC_NS_IPC] = "ipc",
        [SPEC_NS_UTS] = "uts",       [SPEC_NS_USER] = "user",
        [SPEC_NS_CGROUP] = "cgroup", [SPEC_NS_TIME] = "time",
};

static const int ns_flags[_SPEC_NS_MAX] = {
        [SPEC_NS_PID] = CLONE_NEWPID,       [SPEC_NS_NET] = CLONE_NEWNET,
        [SPEC_NS_MNT] = CLONE_NEWNS,        [SPEC_NS_IPC] = CLONE_NEWIPC,
        [SPEC_NS_UTS] = CLONE_NEWUTS,       [SPEC_NS_USER] = CLONE_NEWUSER,
        [SPEC_NS_CGROUP] = CLONE_NEWCGROUP, [SPEC_NS_TIME] = CLONE_NEWTIME,
};

const char *spec_ns_name(enum spec_ns ns) {
        return ns >= 0 && ns < _SPEC_NS_MAX ? ns_names[ns] : NULL;
}

enum spec_ns spec_ns_from_name(const char *name) {
        for (int i = 0; i < _SPEC_NS_MAX; i++)
                if (!strcmp(ns_names[i], name))
                        return (enum spec_ns) i;
        return _SPEC_NS_INVALID;
}

int spec_ns_clone_flag(enum spec_ns ns) {
        return ns >= 0 && ns < _SPEC_NS_MAX ? ns_flags[ns] : 0;
}

static const char *const cap_names[] = {
        "CAP_CHOWN",           "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
        "CAP_FSETID",          "CAP_KILL",
        "CAP_SETGID",          "CAP_SETUID",
        "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",       "CAP_NET_RAW",
        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
        "CAP_LEASE",           "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",
        "CAP_SYSLOG",          "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",
        "CAP_PERFMON",         "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name) {
        const char *n = name;
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (!strcasecmp(cap_names[i], n) ||
                    (strncasecmp(n, "CAP_", 4) &&
                     !strcasecmp(cap_names[i] + 4, n)))
                        return (int) i;
        return -EINVAL;
}

const char *spec_cap_name(int cap) {
        return cap >= 0 && (size_t) cap < ELEMENTSOF(cap_names)
                       ? cap_names[cap]
                       : NULL;
}

int spec_cap_last(void) {
        return (int) ELEMENTSOF(cap_names) - 1;
}

static const struct {
        const char *name;
        int res;
} rlimits[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int spec_rlimit_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(rlimits); i++)
                if (!strcmp(rlimits[i].name, name))
                        return rlimits[i].res;
        return -EINVAL;
}

static const char *const action_names[_SPEC_SECCOMP_ACTION_MAX] = {
        [SPEC_SECCOMP_KILL] = "SCMP_ACT_KILL",
        [SPEC_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [SPEC_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [SPEC_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
        [SPEC_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
        [SPEC_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
        [SPEC_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
        [SPEC_SECCOMP_LOG] = "SCMP_ACT_LOG",
        [SPEC_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

const char *spec_seccomp_action_name(enum spec_seccomp_action a) {
        return a >= 0 && a < _SPEC_SECCOMP_ACTION_MAX ? action_names[a] : NULL;
}

static const char *const op_names[_SPEC_SECCOMP_OP_MAX] = {
        [SPEC_SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [SPEC_SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [SPEC_SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [SPEC_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [SPEC_SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [SPEC_SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [SPEC_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *spec_seccomp_op_name(enum spec_seccomp_op op) {
        return op >= 0 && op < _SPEC_SECCOMP_OP_MAX ? op_names[op] : NULL;
}

const struct spec_namespace *spec_find_ns(const struct spec *s,
                                          enum spec_ns type) {
        for (size_t i = 0; i < s->linux_.n_namespaces; i++)
                if (s->linux_.namespaces[i].type == type)
                        return &s->linux_.namespaces[i];
        return NULL;
}

/* ---- mount options ---- */

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

struct mount_opt {
        const char *name;
        bool clear; /* clears the flag instead of setting it */
        unsigned long flag;
};

static const struct mount_opt mount_flag_opts[] = {
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"suid", true, MS_NOSUID},
        {"nosuid", false, MS_NOSUID},
        {"dev", true, MS_NODEV},
        {"nodev", false, MS_NODEV},
        {"exec", true, MS_NOEXEC},
        {"noexec", false, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"remount", false, MS_REMOUNT},
        {"mand", false, MS_MANDLOCK},
        {"nomand", true, MS_MANDLOCK},
        {"atime", true, MS_NOATIME},
        {"noatime", false, MS_NOATIME},
        {"diratime", true, MS_NODIRATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"silent", false, MS_SILENT},
        {"loud", true, MS_SILENT},
};

static const struct {
        const char *name;
        bool clear;
        uint64_t attr;
} mount_attr_opts[] = {
        {"rro", false, MOUNT_ATTR_RDONLY},
        {"rrw", true, MOUNT_ATTR_RDONLY},
        {"rnosuid", false, MOUNT_ATTR_NOSUID},
        {"rsuid", true, MOUNT_ATTR_NOSUID},
        {"rnodev", false, MOUNT_ATTR_NODEV},
        {"rdev", true, MOUNT_ATTR_NODEV},
        {"rnoexec", false, MOUNT_ATTR_NOEXEC},
        {"rexec", true, MOUNT_ATTR_NOEXEC},
        {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
        {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
        {"rrelatime", false, MOUNT_ATTR_RELATIME},
        {"rnorelatime", true, MOUNT_ATTR_RELATIME},
        {"rnoatime", false, MOUNT_ATTR_NOATIME},
        {"ratime", true, MOUNT_ATTR_NOATIME},
        {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
        {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
        {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
        {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

static const char *const prop_names[_SPEC_PROP_MAX] = {
        [SPEC_PROP_NONE] = "",
        [SPEC_PROP_PRIVATE] = "private",
        [SPEC_PROP_RPRIVATE] = "rprivate",
        [SPEC_PROP_SHARED] = "shared",
        [SPEC_PROP_RSHARED] = "rshared",
        [SPEC_PROP_SLAVE] = "slave",
        [SPEC_PROP_RSLAVE] = "rslave",
        [SPEC_PROP_UNBINDABLE] = "unbindable",
        [SPEC_PROP_RUNBINDABLE] = "runbindable",
};

const char *const spec_mount_option_names[] = {
        "async",     "atime",       "bind",         "defaults",  "dev",
        "diratime",  "dirsync",     "exec",         "idmap",     "mand",
        "noatime",   "nodev",       "nodiratime",   "noexec",    "nomand",
        "norelatime", "nostrictatime", "nosuid",    "nosymfollow", "private",
        "ratime",    "rbind",       "rdev",         "rdiratime", "relatime",
        "remount",   "rexec",       "ridmap",       "rnoatime",  "rnodev",
        "rnodiratime", "rnoexec",   "rnorelatime",  "rnostrictatime",
        "rnosuid",   "rnosymfollow", "ro",          "rprivate",  "rrelatime",
        "rro",       "rrw",         "rshared",      "rslave",    "rstrictatime",
        "rsuid",     "rsymfollow",  "runbindable",  "rw",        "shared",
        "slave",     "strictatime", "suid",         "sync",      "tmpcopyup",
        "unbindable", NULL,
};

static int parse_mount_options(struct spec_mount *m) {
        size_t datalen = 0;
        _cleanup_free_ char *data = NULL;
        for (size_t i = 0; m->options && m->options[i]; i++) {
                const char *o = m->options[i];
                bool done = false;
                for (size_t j = 0; j < ELEMENTSOF(mount_flag_opts) && !done; j++)
                        if (!strcmp(o, mount_flag_opts[j].name)) {
                                if (mount_flag_opts[j].clear) {
                                        m->flags &= ~mount_flag_opts[j].flag;
                                        m->clear_flags |= mount_flag_opts[j].flag;
                                } else {
                                        m->flags |= mount_flag_opts[j].flag;
                                        m->clear_flags &= ~mount_flag_opts[j].flag;
                                }
                                done = true;
                        }
                for (size_t j = 0; j < ELEMENTSOF(mount_attr_opts) && !done; j++)
                        if (!strcmp(o, mount_attr_opts[j].name)) {
                                if (mount_attr_opts[j].clear)
                                        m->attr_clr |= mount_attr_opts[j].attr;
                                else
                                        m->attr_set |= mount_attr_opts[j].attr;
                                done = true;
                        }
                for (int j = 1; j < _SPEC_PROP_MAX && !done; j++)
                        if (!strcmp(o, prop_names[j])) {
                                m->propagation = (enum spec_propagation) j;
                                done = true;
                        }
                if (done)
                        continue;
                if (!strcmp(o, "bind")) {
                        m->bind = true;
                } else if (!strcmp(o, "rbind")) {
                        m->bind = m->recursive = true;
                } else if (!strcmp(o, "idmap")) {
                        m->idmap = true;
                } else if (!strcmp(o, "ridmap")) {
                        m->idmap = m->recursive = true;
                } else if (!strcmp(o, "tmpcopyup")) {
                        m->tmpcopyup = true;
                } else if (!strcmp(o, "defaults") || !strcmp(o, "nosymfollow")) {
                        /* defaults: nothing to set; nosymfollow needs the
                         * recursive attr form on old kernels */
                        if (!strcmp(o, "nosymfollow"))
                                m->flags |= 256 /* MS_NOSYMFOLLOW */;
                } else {
                        size_t ol = strlen(o);
                        char *nd = realloc(data, datalen + ol + 2);
                        if (!nd)
                                return -ENOMEM;
                        data = nd;
                        if (datalen)
                                data[datalen++] = ',';
                        memcpy(data + datalen, o, ol + 1);
                        datalen += ol;
                }
        }
        if (m->type && !strcmp(m->type, "bind"))
                m->bind = true;
        m->data = TAKE_PTR(data);
        return 0;
}

/* ---- typed accessors ---- */

struct ctx {
        struct berr *err;
};

static int fail(struct ctx *c, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const char *path, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return berr_setx(c->err, EINVAL, "%s: %s", path, msg);
}

static const char *jtype(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int get_str(struct ctx *c, const json_t *o, const char *k,
                   const char *path, bool required, char **ret) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v)) {
                if (required)
                        return fail(c, path, "missing");
                return 0;
        }
        if (!json_is_string(v))
                return fail(c, path, "expected a string, got %s", jtype(v));
        char *s = strdup(json_string_value(v));
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 1;
}

static int get_bool(struct ctx *c, const json_t *o, const char *k,
                    const char *path, bool *ret) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return fail(c, path, "expected a boolean, got %s", jtype(v));
        *ret = json_is_true(v);
        return 1;
}

/* Integers: jansson keeps them as long long; uint64 values above INT64_MAX
 * arrive as reals and are refused (none of the fields needs them except
 * seccomp args, handled separately). */
static int get_i64(struct ctx *c, const json_t *o, const char *k,
                   const char *path, int64_t min, int64_t max, bool *has,
                   int64_t *ret) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return fail(c, path, "expected an integer, got %s", jtype(v));
        json_int_t n = json_integer_value(v);
        if (n < min || n > max)
                return fail(c, path, "%lld is out of range", (long long) n);
        *ret = n;
        if (has)
                *has = true;
        return 1;
}

static int get_u64(struct ctx *c, const json_t *o, const char *k,
                   const char *path, bool *has, uint64_t *ret) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v))
                return 0;
        if (json_is_real(v)) {
                double d = json_real_value(v);
                if (d >= 0 && d <= 18446744073709551615.0 &&
                    d == (double) (uint64_t) d) {
                        *ret = (uint64_t) d;
                        if (has)
                                *has = true;
                        return 1;
                }
        }
        if (!json_is_integer(v))
                return fail(c, path, "expected an integer, got %s", jtype(v));
        json_int_t n = json_integer_value(v);
        if (n < 0)
                return fail(c, path, "%lld is out of range", (long long) n);
        *ret = (uint64_t) n;
        if (has)
                *has = true;
        return 1;
}

static int get_u32(struct ctx *c, const json_t *o, const char *k,
                   const char *path, bool *has, uint32_t *ret) {
        int64_t v;
        int r = get_i64(c, o, k, path, 0, UINT32_MAX, has, &v);
        if (r > 0)
                *ret = (uint32_t) v;
        return r;
}

static int get_strv(struct ctx *c, const json_t *o, const char *k,
                    const char *path, char ***ret) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return fail(c, path, "expected an array of strings, got %s",
                            jtype(v));
        char **out = calloc(json_array_size(v) + 1, sizeof(char *));
        if (!out)
                return -ENOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
                if (!json_is_string(e)) {
                        strv_free(out);
                        return fail(c, path,
                                    "element %zu: expected a string, got %s",
                                    i, jtype(e));
                }
                out[i] = strdup(json_string_value(e));
                if (!out[i]) {
                        strv_free(out);
                        return -ENOMEM;
                }
        }
        strv_free(*ret);
        *ret = out;
        return 1;
}

static int get_obj(struct ctx *c, const json_t *o, const char *k,
                   const char *path, json_t **ret) {
        json_t *v = json_object_get(o, k);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return fail(c, path, "expected an object, got %s", jtype(v));
        *ret = v;
        return 1;
}

static int get_arr(struct ctx *c, const json_t *o, const char *k,
                   const char *path, json_t **ret) {
        json_t *v = json_object_get(o, k);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return fail(c, path, "expected an array, got %s", jtype(v));
        *ret = v;
        return 1;
}

#define TRY(x)                                                                 \
        do {                                                                   \
                int _r = (x);                                                  \
                if (_r < 0)                                                    \
                        return _r;                                             \
        } while (0)

static int parse_kv_map(struct ctx *c, const json_t *o, const char *k,
                        const char *path, struct spec_kv **ret, size_t *ret_n) {
        json_t *m;
        TRY(get_obj(c, o, k, path, &m));
        if (!m)
                return 0;
        size_t n = json_object_size(m);
        struct spec_kv *v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        *ret = v;
        const char *key;
        json_t *val;
        size_t i = 0;
        json_object_foreach(m, key, val) {
                if (!json_is_string(val))
                        return fail(c, path, "value of '%s' must be a string",
                                    key);
                v[i].key = strdup(key);
                v[i].value = strdup(json_string_value(val));
                i++;
                *ret_n = i;
                if (!v[i - 1].key || !v[i - 1].value)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_idmaps(struct ctx *c, const json_t *o, const char *k,
                        const char *path, struct spec_idmap **ret,
                        size_t *ret_n) {
        json_t *a;
        TRY(get_arr(c, o, k, path, &a));
        if (!a)
                return 0;
        size_t n = json_array_size(a);
        *ret = calloc(n ? n : 1, sizeof(**ret));
        if (!*ret)
                return -ENOMEM;
        *ret_n = n;
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                char p[128];
                if (!json_is_object(e)) {
                        snprintf(p, sizeof(p), "%s[%zu]", path, i);
                        return fail(c, p, "expected an object");
                }
                bool h1 = false, h2 = false, h3 = false;
                snprintf(p, sizeof(p), "%s[%zu].containerID", path, i);
                TRY(get_u32(c, e, "containerID", p, &h1, &(*ret)[i].container_id));
                snprintf(p, sizeof(p), "%s[%zu].hostID", path, i);
                TRY(get_u32(c, e, "hostID", p, &h2, &(*ret)[i].host_id));
                snprintf(p, sizeof(p), "%s[%zu].size", path, i);
                TRY(get_u32(c, e, "size", p, &h3, &(*ret)[i].size));
                if (!h1 || !h2 || !h3 || !(*ret)[i].size) {
                        snprintf(p, sizeof(p), "%s[%zu]", path, i);
                        return fail(c, p,
                                    "containerID, hostID and a non-zero "
                                    "size are required");
                }
        }
        return 0;
}

static uint64_t caps_mask(struct ctx *c, const json_t *o, const char *k,
                          const char *path, int *r) {
        json_t *a = json_object_get(o, k);
        uint64_t mask = 0;
        *r = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a)) {
                *r = fail(c, path, "expected an array of capability names");
                return 0;
        }
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                if (!json_is_string(e)) {
                        *r = fail(c, path, "element %zu is not a string", i);
                        return 0;
                }
                int cap = spec_cap_from_name(json_string_value(e));
                if (cap < 0) {
                        *r = fail(c, path, "unknown capability '%s'",
                                  json_string_value(e));
                        return 0;
                }
                mask |= UINT64_C(1) << cap;
        }
        return mask;
}

static int check_abs(struct ctx *c, const char *path, const char *v) {
        if (v && v[0] != '/')
                return fail(c, path, "must be an absolute path, got '%s'", v);
        return 0;
}

static int parse_process(struct ctx *c, const json_t *o,
                         struct spec_process *p) {
        TRY(get_bool(c, o, "terminal", "process.terminal", &p->terminal));
        json_t *cs;
        TRY(get_obj(c, o, "consoleSize", "process.consoleSize", &cs));
        if (cs) {
                uint32_t h = 0, w = 0;
                TRY(get_u32(c, cs, "height", "process.consoleSize.height", NULL,
                            &h));
                TRY(get_u32(c, cs, "width", "process.consoleSize.width", NULL,
                            &w));
                p->has_console_size = true;
                p->console_height = h;
                p->console_width = w;
        }
        json_t *u;
        TRY(get_obj(c, o, "user", "process.user", &u));
        if (u) {
                TRY(get_u32(c, u, "uid", "process.user.uid", NULL, &p->user.uid));
                TRY(get_u32(c, u, "gid", "process.user.gid", NULL, &p->user.gid));
                TRY(get_u32(c, u, "umask", "process.user.umask",
                            &p->user.has_umask, &p->user.umask));
                TRY(get_str(c, u, "username", "process.user.username", false,
                            &p->user.username));
                json_t *g;
                TRY(get_arr(c, u, "additionalGids",
                            "process.user.additionalGids", &g));
                if (g) {
                        size_t n = json_array_size(g);
                        p->user.additional_gids =
                                calloc(n ? n : 1, sizeof(uint32_t));
                        if (!p->user.additional_gids)
                                return -ENOMEM;
                        size_t i;
                        json_t *e;
                        json_array_foreach(g, i, e) {
                                if (!json_is_integer(e) ||
                                    json_integer_value(e) < 0 ||
                                    json_integer_value(e) > UINT32_MAX)
                                        return fail(c,
                                                    "process.user."
                                                    "additionalGids",
                                                    "element %zu is not a "
                                                    "valid gid",
                                                    i);
                                p->user.additional_gids[i] =
                                        (uint32_t) json_integer_value(e);
                        }
                        p->user.n_additional_gids = n;
                }
        }
        TRY(get_strv(c, o, "args", "process.args", &p->args));
        TRY(get_str(c, o, "commandLine", "process.commandLine", false,
                    &p->command_line));
        TRY(get_strv(c, o, "env", "process.env", &p->env));
        TRY(get_str(c, o, "cwd", "process.cwd", true, &p->cwd));
        TRY(check_abs(c, "process.cwd", p->cwd));
        json_t *caps;
        TRY(get_obj(c, o, "capabilities", "process.capabilities", &caps));
        if (caps) {
                int r;
                p->has_caps = true;
                p->caps.bounding = caps_mask(c, caps, "bounding",
                                             "process.capabilities.bounding", &r);
                TRY(r);
                p->caps.effective = caps_mask(
                        c, caps, "effective", "process.capabilities.effective",
                        &r);
                TRY(r);
                p->caps.inheritable = caps_mask(
                        c, caps, "inheritable",
                        "process.capabilities.inheritable", &r);
                TRY(r);
                p->caps.permitted = caps_mask(
                        c, caps, "permitted", "process.capabilities.permitted",
                        &r);
                TRY(r);
                p->caps.ambient = caps_mask(c, caps, "ambient",
                                            "process.capabilities.ambient", &r);
                TRY(r);
        }
        json_t *rl;
        TRY(get_arr(c, o, "rlimits", "process.rlimits", &rl));
        if (rl) {
                size_t n = json_array_size(rl);
                p->rlimits = calloc(n ? n : 1, sizeof(*p->rlimits));
                if (!p->rlimits)
                        return -ENOMEM;
                size_t i;
                json_t *e;
                json_array_foreach(rl, i, e) {
                        char path[64];
                        snprintf(path, sizeof(path), "process.rlimits[%zu]", i);
                        if (!json_is_object(e))
                                return fail(c, path, "expected an object");
                        struct spec_rlimit *r = &p->rlimits[i];
                        p->n_rlimits = i + 1;
                        char tp[80];
                        snprintf(tp, sizeof(tp), "%s.type", path);
                        TRY(get_str(c, e, "type", tp, true, &r->name));
                        r->resource = spec_rlimit_from_name(r->name);
                        if (r->resource < 0)
                                return fail(c, tp, "unknown rlimit '%s'",
                                            r->name);
                        for (size_t j = 0; j < i; j++)
                                if (p->rlimits[j].resource == r->resource)
                                        return fail(c, tp,
                                                    "rlimit '%s' given twice",
                                                    r->name);
                        bool hs = false, hh = false;
                        snprintf(tp, sizeof(tp), "%s.soft", path);
                        TRY(get_u64(c, e, "soft", tp, &hs, &r->soft));
                        snprintf(tp, sizeof(tp), "%s.hard", path);
                        TRY(get_u64(c, e, "hard", tp, &hh, &r->hard));
                        if (!hs || !hh)
                                return fail(c, path,
                                            "soft and hard are required");
                }
        }
        TRY(get_bool(c, o, "noNewPrivileges", "process.noNewPrivileges",
                     &p->no_new_privileges));
        int64_t adj = 0;
        TRY(get_i64(c, o, "oomScoreAdj", "process.oomScoreAdj", -1000, 1000,
                    &p->has_oom_score_adj, &adj));
        p->oom_score_adj = (int) adj;
        TRY(get_str(c, o, "apparmorProfile", "process.apparmorProfile", false,
                    &p->apparmor_profile));
        TRY(get_str(c, o, "selinuxLabel", "process.selinuxLabel", false,
                    &p->selinux_label));
        json_t *io;
        TRY(get_obj(c, o, "ioPriority", "process.ioPriority", &io));
        if (io) {
                _cleanup_free_ char *cls = NULL;
                TRY(get_str(c, io, "class", "process.ioPriority.class", true,
                            &cls));
                static const char *const classes[] = {
                        "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT",
                        "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
                p->io_priority_class = -1;
                for (int i = 0; i < 4; i++)
                        if (!strcmp(cls, classes[i]))
                                p->io_priority_class = i;
                if (p->io_priority_class < 0)
                        return fail(c, "process.ioPriority.class",
                                    "unknown class '%s'", cls);
                int64_t lvl = 0;
                TRY(get_i64(c, io, "priority", "process.ioPriority.priority",
                            0, 7, NULL, &lvl));
                p->io_priority_level = (int) lvl;
                p->has_io_priority = true;
        }
        json_t *sch;
        TRY(get_obj(c, o, "scheduler", "process.scheduler", &sch));
        if (sch) {
                _cleanup_free_ char *pol = NULL;
                TRY(get_str(c, sch, "policy", "process.scheduler.policy", true,
                            &pol));
                static const char *const pols[] = {
                        "SCHED_OTHER", "SCHED_FIFO",  "SCHED_RR",
                        "SCHED_BATCH", "SCHED_ISO",   "SCHED_IDLE",
                        "SCHED_DEADLINE"};
                p->sched_policy = -1;
                for (int i = 0; i < 7; i++)
                        if (!strcmp(pol, pols[i]))
                                p->sched_policy = i;
                if (p->sched_policy < 0)
                        return fail(c, "process.scheduler.policy",
                                    "unknown policy '%s'", pol);
                int64_t v = 0;
                TRY(get_i64(c, sch, "nice", "process.scheduler.nice", -20, 19,
                            NULL, &v));
                p->sched_nice = (int) v;
                v = 0;
                TRY(get_i64(c, sch, "priority", "process.scheduler.priority",
                            0, 99, NULL, &v));
                p->sched_priority = (int) v;
                TRY(get_u64(c, sch, "runtime", "process.scheduler.runtime",
                            NULL, &p->sched_runtime));
                TRY(get_u64(c, sch, "deadline", "process.scheduler.deadline",
                            NULL, &p->sched_deadline));
                TRY(get_u64(c, sch, "period", "process.scheduler.period", NULL,
                            &p->sched_period));
                p->has_scheduler = true;
        }
        return 0;
}

static int parse_dev_rules(struct ctx *c, const json_t *a, const char *path,
                           struct spec_resources *r) {
        size_t n = json_array_size(a);
        r->devices = calloc(n ? n : 1, sizeof(*r->devices));
        if (!r->devices)
                return -ENOMEM;
        r->has_devices = true;
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                char p[96];
                snprintf(p, sizeof(p), "%s[%zu]", path, i);
                if (!json_is_object(e))
                        return fail(c, p, "expected an object");
                struct spec_dev_rule *d = &r->devices[i];
                r->n_devices = i + 1;
                json_t *allow = json_object_get(e, "allow");
                if (!json_is_boolean(allow))
                        return fail(c, p, "'allow' (a boolean) is required");
                d->allow = json_is_true(allow);
                _cleanup_free_ char *type = NULL, *access = NULL;
                char tp[120];
                snprintf(tp, sizeof(tp), "%s.type", p);
                TRY(get_str(c, e, "type", tp, false, &type));
                d->type = type ? type[0] : 'a';
                if (type && (strlen(type) != 1 || !strchr("abc", type[0])))
                        return fail(c, tp, "must be 'a', 'b' or 'c', got '%s'",
                                    type);
                d->major = d->minor = -1;
                snprintf(tp, sizeof(tp), "%s.major", p);
                TRY(get_i64(c, e, "major", tp, -1, UINT32_MAX, NULL, &d->major));
                snprintf(tp, sizeof(tp), "%s.minor", p);
                TRY(get_i64(c, e, "minor", tp, -1, UINT32_MAX, NULL, &d->minor));
                snprintf(tp, sizeof(tp), "%s.access", p);
                TRY(get_str(c, e, "access", tp, false, &access));
                const char *acc = access ? access : "rwm";
                if (strlen(acc) > 3 || strspn(acc, "rwm") != strlen(acc))
                        return fail(c, tp, "only r, w and m are allowed, got '%s'",
                                    acc);
                snprintf(d->access, sizeof(d->access), "%s", acc);
        }
        return 0;
}

static int parse_resources(struct ctx *c, const json_t *o, const char *base,
                           struct spec_resources *r) {
        char p[128];
        json_t *mem;
        snprintf(p, sizeof(p), "%s.memory", base);
        TRY(get_obj(c, o, "memory", p, &mem));
        if (mem) {
                static const struct {
                        const char *k;
                        size_t has, val;
                } f[] = {
                        {"limit", offsetof(struct spec_resources, has_memory_limit),
                         offsetof(struct spec_resources, memory_limit)},
                        {"reservation",
                         offsetof(struct spec_resources, has_memory_reservation),
                         offsetof(struct spec_resources, memory_reservation)},
                        {"swap", offsetof(struct spec_resources, has_memory_swap),
                         offsetof(struct spec_resources, memory_swap)},
                        {"kernel", offsetof(struct spec_resources, has_memory_kernel),
                         offsetof(struct spec_resources, memory_kernel)},
                        {"kernelTCP",
                         offsetof(struct spec_resources, has_memory_kernel_tcp),
                         offsetof(struct spec_resources, memory_kernel_tcp)},
                };
                for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                        char fp[160];
                        snprintf(fp, sizeof(fp), "%s.memory.%s", base, f[i].k);
                        TRY(get_i64(c, mem, f[i].k, fp, -1, INT64_MAX,
                                    (bool *) ((char *) r + f[i].has),
                                    (int64_t *) ((char *) r + f[i].val)));
                }
                char fp[160];
                snprintf(fp, sizeof(fp), "%s.memory.swappiness", base);
                TRY(get_u64(c, mem, "swappiness", fp, &r->has_memory_swappiness,
                            &r->memory_swappiness));
                if (r->has_memory_swappiness && r->memory_swappiness > 100)
                        return fail(c, fp, "must be between 0 and 100");
                snprintf(fp, sizeof(fp), "%s.memory.disableOOMKiller", base);
                r->has_disable_oom_killer =
                        get_bool(c, mem, "disableOOMKiller", fp,
                                 &r->disable_oom_killer) > 0;
                snprintf(fp, sizeof(fp), "%s.memory.useHierarchy", base);
                r->has_use_hierarchy = get_bool(c, mem, "useHierarchy", fp,
                                                &r->use_hierarchy) > 0;
                snprintf(fp, sizeof(fp), "%s.memory.checkBeforeUpdate", base);
                TRY(get_bool(c, mem, "checkBeforeUpdate", fp,
                             &r->check_before_update));
                if (c->err && c->err->msg[0])
                        return -EINVAL;
        }
        json_t *cpu;
        snprintf(p, sizeof(p), "%s.cpu", base);
        TRY(get_obj(c, o, "cpu", p, &cpu));
        if (cpu) {
                char fp[160];
#define CPU_U64(key, has, val)                                                 \
        snprintf(fp, sizeof(fp), "%s.cpu.%s", base, key);                      \
        TRY(get_u64(c, cpu, key, fp, &r->has, &r->val))
#define CPU_I64(key, has, val)                                                 \
        snprintf(fp, sizeof(fp), "%s.cpu.%s", base, key);                      \
        TRY(get_i64(c, cpu, key, fp, INT64_MIN, INT64_MAX, &r->has, &r->val))
                CPU_U64("shares", has_cpu_shares, cpu_shares);
                CPU_I64("quota", has_cpu_quota, cpu_quota);
                CPU_U64("burst", has_cpu_burst, cpu_burst);
                CPU_U64("period", has_cpu_period, cpu_period);
                CPU_I64("realtimeRuntime", has_cpu_realtime_runtime,
                        cpu_realtime_runtime);
                CPU_U64("realtimePeriod", has_cpu_realtime_period,
                        cpu_realtime_period);
                CPU_I64("idle", has_cpu_idle, cpu_idle);
#undef CPU_U64
#undef CPU_I64
                snprintf(fp, sizeof(fp), "%s.cpu.cpus", base);
                TRY(get_str(c, cpu, "cpus", fp, false, &r->cpu_cpus));
                snprintf(fp, sizeof(fp), "%s.cpu.mems", base);
                TRY(get_str(c, cpu, "mems", fp, false, &r->cpu_mems));
        }
        json_t *pids;
        snprintf(p, sizeof(p), "%s.pids", base);
        TRY(get_obj(c, o, "pids", p, &pids));
        if (pids) {
                char fp[160];
                snprintf(fp, sizeof(fp), "%s.pids.limit", base);
                TRY(get_i64(c, pids, "limit", fp, INT64_MIN, INT64_MAX,
                            &r->has_pids_limit, &r->pids_limit));
        }
        json_t *blk;
        snprintf(p, sizeof(p), "%s.blockIO", base);
        TRY(get_obj(c, o, "blockIO", p, &blk));
        if (blk) {
                char fp[160];
                int64_t w = 0;
                snprintf(fp, sizeof(fp), "%s.blockIO.weight", base);
                TRY(get_i64(c, blk, "weight", fp, 0, 1000, &r->has_blkio_weight,
                            &w));
                r->blkio_weight = (uint16_t) w;
                snprintf(fp, sizeof(fp), "%s.blockIO.leafWeight", base);
                TRY(get_i64(c, blk, "leafWeight", fp, 0, 1000,
                            &r->has_blkio_leaf_weight, &w));
                r->blkio_leaf_weight = (uint16_t) w;
                json_t *wd;
                snprintf(fp, sizeof(fp), "%s.blockIO.weightDevice", base);
                TRY(get_arr(c, blk, "weightDevice", fp, &wd));
                if (wd) {
                        size_t n = json_array_size(wd);
                        r->blkio_weight_device =
                                calloc(n ? n : 1, sizeof(*r->blkio_weight_device));
                        if (!r->blkio_weight_device)
                                return -ENOMEM;
                        size_t i;
                        json_t *e;
                        json_array_foreach(wd, i, e) {
                                struct spec_weight_device *d =
                                        &r->blkio_weight_device[i];
                                r->n_blkio_weight_device = i + 1;
                                char ep[200];
                                snprintf(ep, sizeof(ep), "%s[%zu]", fp, i);
                                if (!json_is_object(e))
                                        return fail(c, ep, "expected an object");
                                TRY(get_i64(c, e, "major", ep, 0, UINT32_MAX,
                                            NULL, &d->major));
                                TRY(get_i64(c, e, "minor", ep, 0, UINT32_MAX,
                                            NULL, &d->minor));
                                TRY(get_i64(c, e, "weight", ep, 0, 1000,
                                            &d->has_weight, &w));
                                d->weight = (uint16_t) w;
                                TRY(get_i64(c, e, "leafWeight", ep, 0, 1000,
                                            &d->has_leaf_weight, &w));
                                d->leaf_weight = (uint16_t) w;
                        }
                }
                static const char *const thr[4] = {
                        "throttleReadBpsDevice", "throttleWriteBpsDevice",
                        "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
                for (int t = 0; t < 4; t++) {
                        json_t *a;
                        snprintf(fp, sizeof(fp), "%s.blockIO.%s", base, thr[t]);
                        TRY(get_arr(c, blk, thr[t], fp, &a));
                        if (!a)
                                continue;
                        size_t n = json_array_size(a);
                        r->blkio_throttle[t] =
                                calloc(n ? n : 1, sizeof(*r->blkio_throttle[t]));
                        if (!r->blkio_throttle[t])
                                return -ENOMEM;
                        size_t i;
                        json_t *e;
                        json_array_foreach(a, i, e) {
                                struct spec_throttle_device *d =
                                        &r->blkio_throttle[t][i];
                                r->n_blkio_throttle[t] = i + 1;
                                char ep[200];
                                snprintf(ep, sizeof(ep), "%s[%zu]", fp, i);
                                if (!json_is_object(e))
                                        return fail(c, ep, "expected an object");
                                TRY(get_i64(c, e, "major", ep, 0, UINT32_MAX,
                                            NULL, &d->major));
                                TRY(get_i64(c, e, "minor", ep, 0, UINT32_MAX,
                                            NULL, &d->minor));
                                TRY(get_u64(c, e, "rate", ep, NULL, &d->rate));
                        }
                }
        }
        json_t *hp;
        snprintf(p, sizeof(p), "%s.hugepageLimits", base);
        TRY(get_arr(c, o, "hugepageLimits", p, &hp));
        if (hp) {
                size_t n = json_array_size(hp);
                r->hugepage_limits = calloc(n ? n : 1, sizeof(*r->hugepage_limits));
                if (!r->hugepage_limits)
                        return -ENOMEM;
                size_t i;
                json_t *e;
                json_array_foreach(hp, i, e) {
                        char ep[160];
                        snprintf(ep, sizeof(ep), "%s[%zu]", p, i);
                        if (!json_is_object(e))
                                return fail(c, ep, "expected an object");
                        r->n_hugepage_limits = i + 1;
                        TRY(get_str(c, e, "pageSize", ep, true,
                                    &r->hugepage_limits[i].page_size));
                        TRY(get_u64(c, e, "limit", ep, NULL,
                                    &r->hugepage_limits[i].limit));
                }
        }
        json_t *dev;
        snprintf(p, sizeof(p), "%s.devices", base);
        TRY(get_arr(c, o, "devices", p, &dev));
        if (dev)
                TRY(parse_dev_rules(c, dev, p, r));
        json_t *net;
        snprintf(p, sizeof(p), "%s.network", base);
        TRY(get_obj(c, o, "network", p, &net));
        if (net) {
                char fp[160];
                snprintf(fp, sizeof(fp), "%s.network.classID", base);
                TRY(get_u32(c, net, "classID", fp, &r->has_net_class_id,
                            &r->net_class_id));
                json_t *pr;
                snprintf(fp, sizeof(fp), "%s.network.priorities", base);
                TRY(get_arr(c, net, "priorities", fp, &pr));
                if (pr) {
                        size_t n = json_array_size(pr);
                        r->net_priorities =
                                calloc(n ? n : 1, sizeof(*r->net_priorities));
                        if (!r->net_priorities)
                                return -ENOMEM;
                        size_t i;
                        json_t *e;
                        json_array_foreach(pr, i, e) {
                                char ep[200];
                                snprintf(ep, sizeof(ep), "%s[%zu]", fp, i);
                                if (!json_is_object(e))
                                        return fail(c, ep, "expected an object");
                                r->n_net_priorities = i + 1;
                                TRY(get_str(c, e, "name", ep, true,
                                            &r->net_priorities[i].key));
                                uint32_t prio = 0;
                                TRY(get_u32(c, e, "priority", ep, NULL, &prio));
                                r->net_priorities[i].value =
                                        str_printf("%u", prio);
                                if (!r->net_priorities[i].value)
                                        return -ENOMEM;
                        }
                }
        }
        snprintf(p, sizeof(p), "%s.unified", base);
        TRY(parse_kv_map(c, o, "unified", p, &r->unified, &r->n_unified));
        return 0;
}

static enum spec_seccomp_action action_from(const char *s) {
        for (int i = 0; i < _SPEC_SECCOMP_ACTION_MAX; i++)
                if (!strcmp(action_names[i], s))
                        return (enum spec_seccomp_action) i;
        return _SPEC_SECCOMP_ACTION_INVALID;
}

static int parse_seccomp(struct ctx *c, const json_t *o, struct spec_seccomp *s) {
        _cleanup_free_ char *def = NULL;
        TRY(get_str(c, o, "defaultAction", "linux.seccomp.defaultAction", true,
                    &def));
        s->default_action = action_from(def);
        if (s->default_action == _SPEC_SECCOMP_ACTION_INVALID)
                return fail(c, "linux.seccomp.defaultAction",
                            "unknown action '%s'", def);
        TRY(get_u32(c, o, "defaultErrnoRet", "linux.seccomp.defaultErrnoRet",
                    &s->has_default_errno_ret, &s->default_errno_ret));
        TRY(get_strv(c, o, "architectures", "linux.seccomp.architectures",
                     &s->architectures));
        TRY(get_strv(c, o, "flags", "linux.seccomp.flags", &s->flags));
        TRY(get_str(c, o, "listenerPath", "linux.seccomp.listenerPath", false,
                    &s->listener_path));
        TRY(get_str(c, o, "listenerMetadata", "linux.seccomp.listenerMetadata",
                    false, &s->listener_metadata));
        json_t *sys;
        TRY(get_arr(c, o, "syscalls", "linux.seccomp.syscalls", &sys));
        if (!sys)
                return 0;
        size_t n = json_array_size(sys);
        s->syscalls = calloc(n ? n : 1, sizeof(*s->syscalls));
        if (!s->syscalls)
                return -ENOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(sys, i, e) {
                char p[96];
                snprintf(p, sizeof(p), "linux.seccomp.syscalls[%zu]", i);
                if (!json_is_object(e))
                        return fail(c, p, "expected an object");
                struct spec_seccomp_syscall *sc = &s->syscalls[i];
                s->n_syscalls = i + 1;
                char fp[128];
                snprintf(fp, sizeof(fp), "%s.names", p);
                TRY(get_strv(c, e, "names", fp, &sc->names));
                if (!sc->names || !sc->names[0])
                        return fail(c, fp, "at least one name is required");
                _cleanup_free_ char *act = NULL;
                snprintf(fp, sizeof(fp), "%s.action", p);
                TRY(get_str(c, e, "action", fp, true, &act));
                sc->action = action_from(act);
                if (sc->action == _SPEC_SECCOMP_ACTION_INVALID)
                        return fail(c, fp, "unknown action '%s'", act);
                snprintf(fp, sizeof(fp), "%s.errnoRet", p);
                TRY(get_u32(c, e, "errnoRet", fp, &sc->has_errno_ret,
                            &sc->errno_ret));
                json_t *args;
                snprintf(fp, sizeof(fp), "%s.args", p);
                TRY(get_arr(c, e, "args", fp, &args));
                if (!args)
                        continue;
                size_t na = json_array_size(args);
                if (na > 6)
                        return fail(c, fp, "at most 6 argument conditions");
                sc->args = calloc(na ? na : 1, sizeof(*sc->args));
                if (!sc->args)
                        return -ENOMEM;
                size_t j;
                json_t *a;
                json_array_foreach(args, j, a) {
                        char ap[160];
                        snprintf(ap, sizeof(ap), "%s.args[%zu]", p, j);
                        if (!json_is_object(a))
                                return fail(c, ap, "expected an object");
                        struct spec_seccomp_arg *sa = &sc->args[j];
                        sc->n_args = j + 1;
                        int64_t idx = 0;
                        bool has_idx = false;
                        TRY(get_i64(c, a, "index", ap, 0, 5, &has_idx, &idx));
                        if (!has_idx)
                                return fail(c, ap, "index is required");
                        sa->index = (unsigned) idx;
                        TRY(get_u64(c, a, "value", ap, NULL, &sa->value));
                        TRY(get_u64(c, a, "valueTwo", ap, NULL, &sa->value_two));
                        _cleanup_free_ char *op = NULL;
                        TRY(get_str(c, a, "op", ap, true, &op));
                        sa->op = _SPEC_SECCOMP_OP_INVALID;
                        for (int k = 0; k < _SPEC_SECCOMP_OP_MAX; k++)
                                if (!strcmp(op_names[k], op))
                                        sa->op = (enum spec_seccomp_op) k;
                        if (sa->op == _SPEC_SECCOMP_OP_INVALID)
                                return fail(c, ap, "unknown operator '%s'", op);
                }
        }
        return 0;
}

static int parse_mounts(struct ctx *c, const json_t *root, struct spec *s) {
        json_t *a;
        TRY(get_arr(c, root, "mounts", "mounts", &a));
        if (!a)
                return 0;
        size_t n = json_array_size(a);
        s->mounts = calloc(n ? n : 1, sizeof(*s->mounts));
        if (!s->mounts)
                return -ENOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                char p[64], fp[96];
                snprintf(p, sizeof(p), "mounts[%zu]", i);
                if (!json_is_object(e))
                        return fail(c, p, "expected an object");
                struct spec_mount *m = &s->mounts[i];
                s->n_mounts = i + 1;
                snprintf(fp, sizeof(fp), "%s.destination", p);
                TRY(get_str(c, e, "destination", fp, true, &m->destination));
                TRY(check_abs(c, fp, m->destination));
                snprintf(fp, sizeof(fp), "%s.type", p);
                TRY(get_str(c, e, "type", fp, false, &m->type));
                snprintf(fp, sizeof(fp), "%s.source", p);
                TRY(get_str(c, e, "source", fp, false, &m->source));
                snprintf(fp, sizeof(fp), "%s.options", p);
                TRY(get_strv(c, e, "options", fp, &m->options));
                snprintf(fp, sizeof(fp), "%s.uidMappings", p);
                TRY(parse_idmaps(c, e, "uidMappings", fp, &m->uid_mappings,
                                 &m->n_uid_mappings));
                snprintf(fp, sizeof(fp), "%s.gidMappings", p);
                TRY(parse_idmaps(c, e, "gidMappings", fp, &m->gid_mappings,
                                 &m->n_gid_mappings));
                TRY(parse_mount_options(m));
                if (m->bind && m->source && m->source[0] != '/')
                        return fail(c, p,
                                    "bind mount source must be an absolute "
                                    "path, got '%s'",
                                    m->source);
        }
        return 0;
}

static int parse_hooks(struct ctx *c, const json_t *root, struct spec *s) {
        static const char *const keys[_SPEC_HOOK_MAX] = {
                [SPEC_HOOK_PRESTART] = "prestart",
                [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
                [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
                [SPEC_HOOK_START_CONTAINER] = "startContainer",
                [SPEC_HOOK_POSTSTART] = "poststart",
                [SPEC_HOOK_POSTSTOP] = "poststop",
        };
        json_t *h;
        TRY(get_obj(c, root, "hooks", "hooks", &h));
        if (!h)
                return 0;
        for (int k = 0; k < _SPEC_HOOK_MAX; k++) {
                char p[64];
                snprintf(p, sizeof(p), "hooks.%s", keys[k]);
                json_t *a;
                TRY(get_arr(c, h, keys[k], p, &a));
                if (!a)
                        continue;
                size_t n = json_array_size(a);
                s->hooks[k] = calloc(n ? n : 1, sizeof(struct spec_hook));
                if (!s->hooks[k])
                        return -ENOMEM;
                size_t i;
                json_t *e;
                json_array_foreach(a, i, e) {
                        char ep[96], fp[128];
                        snprintf(ep, sizeof(ep), "%s[%zu]", p, i);
                        if (!json_is_object(e))
                                return fail(c, ep, "expected an object");
                        struct spec_hook *hk = &s->hooks[k][i];
                        s->n_hooks[k] = i + 1;
                        snprintf(fp, sizeof(fp), "%s.path", ep);
                        TRY(get_str(c, e, "path", fp, true, &hk->path));
                        TRY(check_abs(c, fp, hk->path));
                        snprintf(fp, sizeof(fp), "%s.args", ep);
                        TRY(get_strv(c, e, "args", fp, &hk->args));
                        snprintf(fp, sizeof(fp), "%s.env", ep);
                        TRY(get_strv(c, e, "env", fp, &hk->env));
                        int64_t t = 0;
                        snprintf(fp, sizeof(fp), "%s.timeout", ep);
                        TRY(get_i64(c, e, "timeout", fp, 1, INT32_MAX,
                                    &hk->has_timeout, &t));
                        hk->timeout = (int) t;
                }
        }
        return 0;
}

static int parse_linux(struct ctx *c, const json_t *lx, struct spec *s) {
        struct spec_linux *l = &s->linux_;
        json_t *a;
        TRY(get_arr(c, lx, "namespaces", "linux.namespaces", &a));
        if (a) {
                size_t n = json_array_size(a);
                l->namespaces = calloc(n ? n : 1, sizeof(*l->namespaces));
                if (!l->namespaces)
                        return -ENOMEM;
                size_t i;
                json_t *e;
                json_array_foreach(a, i, e) {
                        char p[64], fp[96];
                        snprintf(p, sizeof(p), "linux.namespaces[%zu]", i);
                        if (!json_is_object(e))
                                return fail(c, p, "expected an object");
                        _cleanup_free_ char *type = NULL;
                        snprintf(fp, sizeof(fp), "%s.type", p);
                        TRY(get_str(c, e, "type", fp, true, &type));
                        enum spec_ns t = spec_ns_from_name(type);
                        if (t == _SPEC_NS_INVALID)
                                return fail(c, fp,
                                            "unknown namespace type '%s'",
                                            type);
                        for (size_t j = 0; j < i; j++)
                                if (l->namespaces[j].type == t)
                                        return fail(c, fp,
                                                    "namespace '%s' given "
                                                    "twice",
                                                    type);
                        l->namespaces[i].type = t;
                        l->n_namespaces = i + 1;
                        snprintf(fp, sizeof(fp), "%s.path", p);
                        TRY(get_str(c, e, "path", fp, false,
                                    &l->namespaces[i].path));
                        if (l->namespaces[i].path && !*l->namespaces[i].path) {
                                free(l->namespaces[i].path);
                                l->namespaces[i].path = NULL;
                        }
                        TRY(check_abs(c, fp, l->namespaces[i].path));
                }
        }
        TRY(parse_idmaps(c, lx, "uidMappings", "linux.uidMappings",
                         &l->uid_mappings, &l->n_uid_mappings));
        TRY(parse_idmaps(c, lx, "gidMappings", "linux.gidMappings",
                         &l->gid_mappings, &l->n_gid_mappings));
        TRY(get_arr(c, lx, "devices", "linux.devices", &a));
        if (a) {
                size_t n = json_array_size(a);
                l->devices = calloc(n ? n : 1, sizeof(*l->devices));
                if (!l->devices)
                        return -ENOMEM;
                size_t i;
                json_t *e;
                json_array_foreach(a, i, e) {
                        char p[64], fp[96];
                        snprintf(p, sizeof(p), "linux.devices[%zu]", i);
                        if (!json_is_object(e))
                                return fail(c, p, "expected an object");
                        struct spec_device *d = &l->devices[i];
                        l->n_devices = i + 1;
                        _cleanup_free_ char *type = NULL;
                        snprintf(fp, sizeof(fp), "%s.type", p);
                        TRY(get_str(c, e, "type", fp, true, &type));
                        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                                return fail(c, fp,
                                            "must be c, b, u or p, got '%s'",
                                            type);
                        d->type = type[0];
                        snprintf(fp, sizeof(fp), "%s.path", p);
                        TRY(get_str(c, e, "path", fp, true, &d->path));
                        TRY(check_abs(c, fp, d->path));
                        bool hm = false, hn = false;
                        snprintf(fp, sizeof(fp), "%s.major", p);
                        TRY(get_i64(c, e, "major", fp, 0, UINT32_MAX, &hm,
                                    &d->major));
                        snprintf(fp, sizeof(fp), "%s.minor", p);
                        TRY(get_i64(c, e, "minor", fp, 0, UINT32_MAX, &hn,
                                    &d->minor));
                        if (d->type != 'p' && (!hm || !hn))
                                return fail(c, p,
                                            "major and minor are required");
                        snprintf(fp, sizeof(fp), "%s.fileMode", p);
                        TRY(get_u32(c, e, "fileMode", fp, &d->has_file_mode,
                                    &d->file_mode));
                        snprintf(fp, sizeof(fp), "%s.uid", p);
                        TRY(get_u32(c, e, "uid", fp, &d->has_uid, &d->uid));
                        snprintf(fp, sizeof(fp), "%s.gid", p);
                        TRY(get_u32(c, e, "gid", fp, &d->has_gid, &d->gid));
                }
        }
        TRY(get_str(c, lx, "cgroupsPath", "linux.cgroupsPath", false,
                    &l->cgroups_path));
        json_t *res;
        TRY(get_obj(c, lx, "resources", "linux.resources", &res));
        if (res) {
                l->resources = calloc(1, sizeof(*l->resources));
                if (!l->resources)
                        return -ENOMEM;
                TRY(parse_resources(c, res, "linux.resources", l->resources));
        }
        TRY(parse_kv_map(c, lx, "sysctl", "linux.sysctl", &l->sysctl,
                         &l->n_sysctl));
        json_t *sc;
        TRY(get_obj(c, lx, "seccomp", "linux.seccomp", &sc));
        if (sc) {
                l->seccomp = calloc(1, sizeof(*l->seccomp));
                if (!l->seccomp)
                        return -ENOMEM;
                TRY(parse_seccomp(c, sc, l->seccomp));
        }
        _cleanup_free_ char *prop = NULL;
        TRY(get_str(c, lx, "rootfsPropagation", "linux.rootfsPropagation",
                    false, &prop));
        if (prop && *prop) {
                l->rootfs_propagation = _SPEC_PROP_MAX;
                for (int i = 1; i < _SPEC_PROP_MAX; i++)
                        if (!strcmp(prop_names[i], prop))
                                l->rootfs_propagation = (enum spec_propagation) i;
                if (l->rootfs_propagation == _SPEC_PROP_MAX)
                        return fail(c, "linux.rootfsPropagation",
                                    "unknown propagation '%s'", prop);
        }
        TRY(get_strv(c, lx, "maskedPaths", "linux.maskedPaths",
                     &l->masked_paths));
        TRY(get_strv(c, lx, "readonlyPaths", "linux.readonlyPaths",
                     &l->readonly_paths));
        for (char **p = l->masked_paths; p && *p; p++)
                TRY(check_abs(c, "linux.maskedPaths", *p));
        for (char **p = l->readonly_paths; p && *p; p++)
                TRY(check_abs(c, "linux.readonlyPaths", *p));
        TRY(get_str(c, lx, "mountLabel", "linux.mountLabel", false,
                    &l->mount_label));
        json_t *pers;
        TRY(get_obj(c, lx, "personality", "linux.personality", &pers));
        if (pers) {
                _cleanup_free_ char *dom = NULL;
                TRY(get_str(c, pers, "domain", "linux.personality.domain", true,
                            &dom));
                if (!strcmp(dom, "LINUX"))
                        l->personality = PER_LINUX;
                else if (!strcmp(dom, "LINUX32"))
                        l->personality = PER_LINUX32;
                else
                        return fail(c, "linux.personality.domain",
                                    "unknown domain '%s'", dom);
                l->has_personality = true;
        }
        json_t *to;
        TRY(get_obj(c, lx, "timeOffsets", "linux.timeOffsets", &to));
        if (to) {
                json_t *b, *m;
                TRY(get_obj(c, to, "boottime", "linux.timeOffsets.boottime", &b));
                TRY(get_obj(c, to, "monotonic", "linux.timeOffsets.monotonic",
                            &m));
                if (b) {
                        TRY(get_i64(c, b, "secs", "linux.timeOffsets.boottime.secs",
                                    INT64_MIN, INT64_MAX, NULL,
                                    &l->boottime_secs));
                        TRY(get_u32(c, b, "nanosecs",
                                    "linux.timeOffsets.boottime.nanosecs", NULL,
                                    &l->boottime_nanosecs));
                }
                if (m) {
                        TRY(get_i64(c, m, "secs",
                                    "linux.timeOffsets.monotonic.secs",
                                    INT64_MIN, INT64_MAX, NULL,
                                    &l->monotonic_secs));
                        TRY(get_u32(c, m, "nanosecs",
                                    "linux.timeOffsets.monotonic.nanosecs",
                                    NULL, &l->monotonic_nanosecs));
                }
                l->has_time_offsets = true;
        }
        l->has_intel_rdt = json_object_get(lx, "intelRdt") != NULL &&
                           !json_is_null(json_object_get(lx, "intelRdt"));
        return 0;
}

static int depth_ok(const json_t *v, int depth) {
        if (depth > SPEC_MAX_DEPTH)
                return 0;
        if (json_is_object(v)) {
                const char *k;
                json_t *e;
                json_object_foreach((json_t *) v, k, e) if (!depth_ok(e, depth + 1)) return 0;
        } else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) if (!depth_ok(e, depth + 1)) return 0;
        }
        return 1;
}

static int load_json(const char *text, size_t len, const char *what,
                     json_t **ret, struct berr *err) {
        if (len > SPEC_MAX_SIZE)
                return berr_setx(err, EFBIG, "%s: larger than %d bytes", what,
                                 SPEC_MAX_SIZE);
        /* Refuse absurd nesting before jansson recurses into it. */
        size_t depth = 0;
        bool in_str = false;
        for (size_t i = 0; i < len; i++) {
                char ch = text[i];
                if (in_str) {
                        if (ch == '\\')
                                i++;
                        else if (ch == '"')
                                in_str = false;
                } else if (ch == '"')
                        in_str = true;
                else if (ch == '{' || ch == '[') {
                        if (++depth > SPEC_MAX_DEPTH)
                                return berr_setx(err, EINVAL,
                                                 "%s: nested deeper than %d "
                                                 "levels",
                                                 what, SPEC_MAX_DEPTH);
                } else if ((ch == '}' || ch == ']') && depth)
                        depth--;
        }
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return berr_setx(err, EINVAL,
                                 "%s: not valid JSON at line %d column %d: %s",
                                 what, je.line, je.column, je.text);
        if (!json_is_object(root) || !depth_ok(root, 0)) {
                json_decref(root);
                return berr_setx(err, EINVAL, "%s: expected a JSON object",
                                 what);
        }
        *ret = root;
        return 0;
}

int spec_parse(const char *text, size_t len, struct spec **ret,
               struct berr *err) {
        json_t *root = NULL;
        int r = load_json(text, len, "config.json", &root, err);
        if (r < 0)
                return r;
        struct ctx c = {.err = err};
        struct spec *s = calloc(1, sizeof(*s));
        if (!s) {
                json_decref(root);
                return -ENOMEM;
        }
        r = get_str(&c, root, "ociVersion", "ociVersion", true, &s->oci_version);
        json_t *o = NULL;
        if (r >= 0)
                r = get_obj(&c, root, "root", "root", &o);
        if (r >= 0 && !o)
                r = fail(&c, "root", "missing");
        if (r >= 0)
                r = get_str(&c, o, "path", "root.path", true, &s->root_path);
        if (r >= 0)
                r = get_bool(&c, o, "readonly", "root.readonly",
                             &s->root_readonly);
        if (r >= 0)
                r = get_str(&c, root, "hostname", "hostname", false,
                            &s->hostname);
        if (r >= 0)
                r = get_str(&c, root, "domainname", "domainname", false,
                            &s->domainname);
        if (r >= 0)
                r = parse_mounts(&c, root, s);
        if (r >= 0)
                r = get_obj(&c, root, "process", "process", &o);
        if (r >= 0 && o) {
                s->process = calloc(1, sizeof(*s->process));
                r = s->process ? parse_process(&c, o, s->process) : -ENOMEM;
        }
        if (r >= 0)
                r = parse_hooks(&c, root, s);
        if (r >= 0)
                r = parse_kv_map(&c, root, "annotations", "annotations",
                                 &s->annotations, &s->n_annotations);
        if (r >= 0)
                r = get_obj(&c, root, "linux", "linux", &o);
        if (r >= 0 && o)
                r = parse_linux(&c, o, s);
        json_decref(root);
        if (r < 0) {
                spec_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int spec_load_file(const char *path, struct spec **ret, struct berr *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file_at(AT_FDCWD, path, SPEC_MAX_SIZE, &text, &len);
        if (r < 0)
                return berr_set(err, r, "open config '%s'", path);
        return spec_parse(text, len, ret, err);
}

int spec_process_parse(const char *text, size_t len, struct spec_process **ret,
                       struct berr *err) {
        json_t *root = NULL;
        int r = load_json(text, len, "process.json", &root, err);
        if (r < 0)
                return r;
        struct ctx c = {.err = err};
        struct spec_process *p = calloc(1, sizeof(*p));
        if (!p) {
                json_decref(root);
                return -ENOMEM;
        }
        r = parse_process(&c, root, p);
        json_decref(root);
        if (r < 0) {
                spec_process_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int spec_resources_parse(const char *text, size_t len,
                         struct spec_resources **ret, struct berr *err) {
        json_t *root = NULL;
        int r = load_json(text, len, "resources", &root, err);
        if (r < 0)
                return r;
        struct ctx c = {.err = err};
        struct spec_resources *res = calloc(1, sizeof(*res));
        if (!res) {
                json_decref(root);
                return -ENOMEM;
        }
        r = parse_resources(&c, root, "resources", res);
        json_decref(root);
        if (r < 0) {
                spec_resources_free(res);
                return r;
        }
        *ret = res;
        return 0;
}

void spec_process_free(struct spec_process *p) {
        if (!p)
                return;
        free(p->user.additional_gids);
        free(p->user.username);
        strv_free(p->args);
        free(p->command_line);
        strv_free(p->env);
        free(p->cwd);
        for (size_t i = 0; i < p->n_rlimits; i++)
                free(p->rlimits[i].name);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        strv_free(p->exec_cpu_affinity_initial);
        free(p);
}

static void kv_free(struct spec_kv *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].key);
                free(v[i].value);
        }
        free(v);
}

void spec_resources_free(struct spec_resources *r) {
        if (!r)
                return;
        free(r->cpu_cpus);
        free(r->cpu_mems);
        free(r->blkio_weight_device);
        for (int i = 0; i < 4; i++)
                free(r->blkio_throttle[i]);
        for (size_t i = 0; i < r->n_hugepage_limits; i++)
                free(r->hugepage_limits[i].page_size);
        free(r->hugepage_limits);
        free(r->devices);
        kv_free(r->net_priorities, r->n_net_priorities);
        kv_free(r->unified, r->n_unified);
        free(r);
}

static void seccomp_free(struct spec_seccomp *s) {
        if (!s)
                return;
        strv_free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        free(s->listener_metadata);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                strv_free(s->syscalls[i].names);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s);
}

void spec_free(struct spec *s) {
        if (!s)
                return;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct spec_mount *m = &s->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(s->mounts);
        spec_process_free(s->process);
        for (int k = 0; k < _SPEC_HOOK_MAX; k++) {
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        free(s->hooks[k][i].path);
                        strv_free(s->hooks[k][i].args);
                        strv_free(s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        kv_free(s->annotations, s->n_annotations);
        struct spec_linux *l = &s->linux_;
        for (size_t i = 0; i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        spec_resources_free(l->resources);
        kv_free(l->sysctl, l->n_sysctl);
        seccomp_free(l->seccomp);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free(l->mount_label);
        free(s);
}
