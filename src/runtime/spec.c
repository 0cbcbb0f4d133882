/* Parser for the OCI runtime configuration (config.json, runtime-spec v1.2)
 * into the plain C structures of spec.h.
 *
 * How it reads: a pre-scan bounds the nesting depth and protects integers
 * jansson cannot hold; jansson turns the text into a tree (rejecting
 * duplicate keys); the parse_* functions walk that tree and copy every
 * known field into struct spec, checking JSON types, ranges and the spec's
 * rules as they go.  Unknown keys are ignored, as the spec asks of
 * runtimes, and JSON null counts as an absent field (Go encoders write
 * null for nil slices, e.g. seccomp "names": null never appears in a valid
 * profile but "args": null does).
 *
 * Every error is EINVAL (EFBIG for oversized input, ENOMEM when out of
 * memory) and names the field: struct ctx carries the path of the value
 * being read ("linux.namespaces[2].type").
 *
 * Ownership: parsed data is written straight into the zeroed result,
 * arrays before their elements, so that after any error the partial
 * result is released by the ordinary spec_free(). */
#include "spec.h"

#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MOUNT_ATTR_NOEXEC
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x00000070
#endif
#ifndef MOUNT_ATTR_RELATIME
#define MOUNT_ATTR_RELATIME 0x00000000
#endif
#ifndef MOUNT_ATTR_NOATIME
#define MOUNT_ATTR_NOATIME 0x00000010
#endif
#ifndef MOUNT_ATTR_STRICTATIME
#define MOUNT_ATTR_STRICTATIME 0x00000020
#endif
#ifndef MOUNT_ATTR_NODIRATIME
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* Documents above this size are refused before parsing. */
#define SPEC_MAX_SIZE ((size_t) 16 << 20)
/* Deepest nesting of objects and arrays accepted.  config.json needs
 * about 7 levels; the cap keeps recursion in jansson and in a caller's
 * json_dumps small whatever the input. */
#define SPEC_MAX_DEPTH 64

/* ---- lookup tables ---------------------------------------------------- */

static const char *const ns_names[_SPEC_NS_MAX] = {
        [SPEC_NS_PID] = "pid",       [SPEC_NS_NET] = "network",
        [SPEC_NS_MNT] = "mount",     [SPEC_NS_IPC] = "ipc",
        [SPEC_NS_UTS] = "uts",       [SPEC_NS_USER] = "user",
        [SPEC_NS_CGROUP] = "cgroup", [SPEC_NS_TIME] = "time",
};

static const int ns_clone_flags[_SPEC_NS_MAX] = {
        [SPEC_NS_PID] = CLONE_NEWPID,       [SPEC_NS_NET] = CLONE_NEWNET,
        [SPEC_NS_MNT] = CLONE_NEWNS,        [SPEC_NS_IPC] = CLONE_NEWIPC,
        [SPEC_NS_UTS] = CLONE_NEWUTS,       [SPEC_NS_USER] = CLONE_NEWUSER,
        [SPEC_NS_CGROUP] = CLONE_NEWCGROUP, [SPEC_NS_TIME] = CLONE_NEWTIME,
};

const char *spec_ns_name(enum spec_ns ns) {
        if ((int) ns < 0 || ns >= _SPEC_NS_MAX)
                return NULL;
        return ns_names[ns];
}

enum spec_ns spec_ns_from_name(const char *name) {
        for (int i = 0; name && i < _SPEC_NS_MAX; i++)
                if (strcmp(ns_names[i], name) == 0)
                        return (enum spec_ns) i;
        return _SPEC_NS_INVALID;
}

/* 0 for an invalid type, so that a caller OR-ing flags never sets junk. */
int spec_ns_clone_flag(enum spec_ns ns) {
        if ((int) ns < 0 || ns >= _SPEC_NS_MAX)
                return 0;
        return ns_clone_flags[ns];
}

/* Numbers as in linux/capability.h, written out so that older kernel
 * headers do not shrink the table. */
static const char *const cap_names[] = {
        [0] = "CAP_CHOWN",
        [1] = "CAP_DAC_OVERRIDE",
        [2] = "CAP_DAC_READ_SEARCH",
        [3] = "CAP_FOWNER",
        [4] = "CAP_FSETID",
        [5] = "CAP_KILL",
        [6] = "CAP_SETGID",
        [7] = "CAP_SETUID",
        [8] = "CAP_SETPCAP",
        [9] = "CAP_LINUX_IMMUTABLE",
        [10] = "CAP_NET_BIND_SERVICE",
        [11] = "CAP_NET_BROADCAST",
        [12] = "CAP_NET_ADMIN",
        [13] = "CAP_NET_RAW",
        [14] = "CAP_IPC_LOCK",
        [15] = "CAP_IPC_OWNER",
        [16] = "CAP_SYS_MODULE",
        [17] = "CAP_SYS_RAWIO",
        [18] = "CAP_SYS_CHROOT",
        [19] = "CAP_SYS_PTRACE",
        [20] = "CAP_SYS_PACCT",
        [21] = "CAP_SYS_ADMIN",
        [22] = "CAP_SYS_BOOT",
        [23] = "CAP_SYS_NICE",
        [24] = "CAP_SYS_RESOURCE",
        [25] = "CAP_SYS_TIME",
        [26] = "CAP_SYS_TTY_CONFIG",
        [27] = "CAP_MKNOD",
        [28] = "CAP_LEASE",
        [29] = "CAP_AUDIT_WRITE",
        [30] = "CAP_AUDIT_CONTROL",
        [31] = "CAP_SETFCAP",
        [32] = "CAP_MAC_OVERRIDE",
        [33] = "CAP_MAC_ADMIN",
        [34] = "CAP_SYSLOG",
        [35] = "CAP_WAKE_ALARM",
        [36] = "CAP_BLOCK_SUSPEND",
        [37] = "CAP_AUDIT_READ",
        [38] = "CAP_PERFMON",
        [39] = "CAP_BPF",
        [40] = "CAP_CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(cap_names); i++)
                if (strcmp(cap_names[i], name) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *spec_cap_name(int cap) {
        if (cap < 0 || (size_t) cap >= ELEMENTSOF(cap_names))
                return NULL;
        return cap_names[cap];
}

int spec_cap_last(void) {
        return (int) ELEMENTSOF(cap_names) - 1;
}

struct name_value {
        const char *name;
        int value;
};

static const struct name_value rlimit_names[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

/* The value of `name` in a table, or -EINVAL. */
static int lookup(const struct name_value *t, size_t n, const char *name) {
        for (size_t i = 0; name && i < n; i++)
                if (strcmp(t[i].name, name) == 0)
                        return t[i].value;
        return -EINVAL;
}

int spec_rlimit_from_name(const char *name) {
        return lookup(rlimit_names, ELEMENTSOF(rlimit_names), name);
}

static const char *const seccomp_action_names[_SPEC_SECCOMP_ACTION_MAX] = {
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
        if ((int) a < 0 || a >= _SPEC_SECCOMP_ACTION_MAX)
                return NULL;
        return seccomp_action_names[a];
}

static enum spec_seccomp_action seccomp_action_from_name(const char *name) {
        for (int i = 0; i < _SPEC_SECCOMP_ACTION_MAX; i++)
                if (strcmp(seccomp_action_names[i], name) == 0)
                        return (enum spec_seccomp_action) i;
        return _SPEC_SECCOMP_ACTION_INVALID;
}

static const char *const seccomp_op_names[_SPEC_SECCOMP_OP_MAX] = {
        [SPEC_SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [SPEC_SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [SPEC_SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [SPEC_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [SPEC_SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [SPEC_SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [SPEC_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *spec_seccomp_op_name(enum spec_seccomp_op op) {
        if ((int) op < 0 || op >= _SPEC_SECCOMP_OP_MAX)
                return NULL;
        return seccomp_op_names[op];
}

static enum spec_seccomp_op seccomp_op_from_name(const char *name) {
        for (int i = 0; i < _SPEC_SECCOMP_OP_MAX; i++)
                if (strcmp(seccomp_op_names[i], name) == 0)
                        return (enum spec_seccomp_op) i;
        return _SPEC_SECCOMP_OP_INVALID;
}

static const char *const propagation_names[_SPEC_PROP_MAX] = {
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

static const struct name_value ioprio_class_names[] = {
        {"IOPRIO_CLASS_RT", 1},
        {"IOPRIO_CLASS_BE", 2},
        {"IOPRIO_CLASS_IDLE", 3},
};

/* Policies and flags of sched_setattr(2), as in linux/sched.h. */
static const struct name_value sched_policy_names[] = {
        {"SCHED_OTHER", 0},    {"SCHED_FIFO", 1}, {"SCHED_RR", 2},
        {"SCHED_BATCH", 3},    {"SCHED_ISO", 4},  {"SCHED_IDLE", 5},
        {"SCHED_DEADLINE", 6},
};

static const struct name_value sched_flag_names[] = {
        {"SCHED_FLAG_RESET_ON_FORK", 0x01},
        {"SCHED_FLAG_RECLAIM", 0x02},
        {"SCHED_FLAG_DL_OVERRUN", 0x04},
        {"SCHED_FLAG_KEEP_POLICY", 0x08},
        {"SCHED_FLAG_KEEP_PARAMS", 0x10},
        {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static const struct name_value personality_domains[] = {
        {"LINUX", PER_LINUX},
        {"LINUX32", PER_LINUX32},
};

/* The spec defines no personality flags yet; accept the kernel's. */
static const struct name_value personality_flags[] = {
        {"UNAME26", UNAME26},
        {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE},
        {"FDPIC_FUNCPTRS", FDPIC_FUNCPTRS},
        {"MMAP_PAGE_ZERO", MMAP_PAGE_ZERO},
        {"ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT},
        {"READ_IMPLIES_EXEC", READ_IMPLIES_EXEC},
        {"ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT},
        {"SHORT_INODE", SHORT_INODE},
        {"WHOLE_SECONDS", WHOLE_SECONDS},
        {"STICKY_TIMEOUTS", STICKY_TIMEOUTS},
        {"ADDR_LIMIT_3GB", ADDR_LIMIT_3GB},
};

static const char *const hook_names[_SPEC_HOOK_MAX] = {
        [SPEC_HOOK_PRESTART] = "prestart",
        [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
        [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
        [SPEC_HOOK_START_CONTAINER] = "startContainer",
        [SPEC_HOOK_POSTSTART] = "poststart",
        [SPEC_HOOK_POSTSTOP] = "poststop",
};

/* Mount options.  One list feeds both the parser's table and the public
 * spec_mount_option_names, so the features document cannot drift from
 * what the parser does.  Later options override earlier ones ("ro,rw" is
 * read-write). */
enum opt_kind {
        OPT_NOOP,
        OPT_FLAG_SET,  /* MS_* to set */
        OPT_FLAG_CLR,  /* MS_* to clear */
        OPT_ATTR_SET,  /* MOUNT_ATTR_* to set recursively */
        OPT_ATTR_CLR,  /* MOUNT_ATTR_* to clear recursively */
        OPT_ATIME_SET, /* one of the MOUNT_ATTR__ATIME values */
        OPT_ATIME_CLR,
        OPT_PROP,
        OPT_BIND,
        OPT_RBIND,
        OPT_IDMAP,
        OPT_TMPCOPYUP,
};

#define MOUNT_OPTIONS(X)                                                       \
        X("defaults", OPT_NOOP, 0)                                             \
        X("ro", OPT_FLAG_SET, MS_RDONLY)                                       \
        X("rw", OPT_FLAG_CLR, MS_RDONLY)                                       \
        X("suid", OPT_FLAG_CLR, MS_NOSUID)                                     \
        X("nosuid", OPT_FLAG_SET, MS_NOSUID)                                   \
        X("dev", OPT_FLAG_CLR, MS_NODEV)                                       \
        X("nodev", OPT_FLAG_SET, MS_NODEV)                                     \
        X("exec", OPT_FLAG_CLR, MS_NOEXEC)                                     \
        X("noexec", OPT_FLAG_SET, MS_NOEXEC)                                   \
        X("sync", OPT_FLAG_SET, MS_SYNCHRONOUS)                                \
        X("async", OPT_FLAG_CLR, MS_SYNCHRONOUS)                               \
        X("dirsync", OPT_FLAG_SET, MS_DIRSYNC)                                 \
        X("remount", OPT_FLAG_SET, MS_REMOUNT)                                 \
        X("mand", OPT_FLAG_SET, MS_MANDLOCK)                                   \
        X("nomand", OPT_FLAG_CLR, MS_MANDLOCK)                                 \
        X("atime", OPT_FLAG_CLR, MS_NOATIME)                                   \
        X("noatime", OPT_FLAG_SET, MS_NOATIME)                                 \
        X("diratime", OPT_FLAG_CLR, MS_NODIRATIME)                             \
        X("nodiratime", OPT_FLAG_SET, MS_NODIRATIME)                           \
        X("relatime", OPT_FLAG_SET, MS_RELATIME)                               \
        X("norelatime", OPT_FLAG_CLR, MS_RELATIME)                             \
        X("strictatime", OPT_FLAG_SET, MS_STRICTATIME)                         \
        X("nostrictatime", OPT_FLAG_CLR, MS_STRICTATIME)                       \
        X("lazytime", OPT_FLAG_SET, MS_LAZYTIME)                               \
        X("nolazytime", OPT_FLAG_CLR, MS_LAZYTIME)                             \
        X("iversion", OPT_FLAG_SET, MS_I_VERSION)                              \
        X("noiversion", OPT_FLAG_CLR, MS_I_VERSION)                            \
        X("silent", OPT_FLAG_SET, MS_SILENT)                                   \
        X("loud", OPT_FLAG_CLR, MS_SILENT)                                     \
        X("symfollow", OPT_FLAG_CLR, MS_NOSYMFOLLOW)                           \
        X("nosymfollow", OPT_FLAG_SET, MS_NOSYMFOLLOW)                         \
        X("bind", OPT_BIND, 0)                                                 \
        X("rbind", OPT_RBIND, 0)                                               \
        X("private", OPT_PROP, SPEC_PROP_PRIVATE)                              \
        X("rprivate", OPT_PROP, SPEC_PROP_RPRIVATE)                            \
        X("shared", OPT_PROP, SPEC_PROP_SHARED)                                \
        X("rshared", OPT_PROP, SPEC_PROP_RSHARED)                              \
        X("slave", OPT_PROP, SPEC_PROP_SLAVE)                                  \
        X("rslave", OPT_PROP, SPEC_PROP_RSLAVE)                                \
        X("unbindable", OPT_PROP, SPEC_PROP_UNBINDABLE)                        \
        X("runbindable", OPT_PROP, SPEC_PROP_RUNBINDABLE)                      \
        X("idmap", OPT_IDMAP, 0)                                               \
        X("ridmap", OPT_IDMAP, 1)                                              \
        X("tmpcopyup", OPT_TMPCOPYUP, 0)                                       \
        X("rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY)                              \
        X("rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY)                              \
        X("rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID)                          \
        X("rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID)                            \
        X("rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV)                            \
        X("rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV)                              \
        X("rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC)                          \
        X("rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC)                            \
        X("rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME)                  \
        X("rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME)                    \
        X("rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW)                \
        X("rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW)                  \
        X("rnoatime", OPT_ATIME_SET, MOUNT_ATTR_NOATIME)                       \
        X("ratime", OPT_ATIME_CLR, MOUNT_ATTR_NOATIME)                         \
        X("rrelatime", OPT_ATIME_SET, MOUNT_ATTR_RELATIME)                     \
        X("rnorelatime", OPT_ATIME_CLR, MOUNT_ATTR_RELATIME)                   \
        X("rstrictatime", OPT_ATIME_SET, MOUNT_ATTR_STRICTATIME)               \
        X("rnostrictatime", OPT_ATIME_CLR, MOUNT_ATTR_STRICTATIME)

struct mount_option {
        const char *name;
        enum opt_kind kind;
        uint64_t value;
};

#define OPT_ENTRY(n, k, v) {n, k, v},
static const struct mount_option mount_options[] = {MOUNT_OPTIONS(OPT_ENTRY)};
#undef OPT_ENTRY

#define OPT_NAME(n, k, v) n,
const char *const spec_mount_option_names[] = {MOUNT_OPTIONS(OPT_NAME) NULL};
#undef OPT_NAME

const struct spec_namespace *spec_find_ns(const struct spec *s,
                                          enum spec_ns type) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->linux_.n_namespaces; i++)
                if (s->linux_.namespaces[i].type == type)
                        return &s->linux_.namespaces[i];
        return NULL;
}

/* ---- freeing ---------------------------------------------------------- */

static void kv_free(struct spec_kv *kv, size_t n) {
        for (size_t i = 0; kv && i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
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
        for (size_t i = 0; p->rlimits && i < p->n_rlimits; i++)
                free(p->rlimits[i].name);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        strv_free(p->exec_cpu_affinity_initial);
        free(p);
}

void spec_resources_free(struct spec_resources *r) {
        if (!r)
                return;
        free(r->cpu_cpus);
        free(r->cpu_mems);
        free(r->blkio_weight_device);
        for (size_t i = 0; i < ELEMENTSOF(r->blkio_throttle); i++)
                free(r->blkio_throttle[i]);
        for (size_t i = 0; r->hugepage_limits && i < r->n_hugepage_limits; i++)
                free(r->hugepage_limits[i].page_size);
        free(r->hugepage_limits);
        free(r->devices);
        kv_free(r->net_priorities, r->n_net_priorities);
        kv_free(r->unified, r->n_unified);
        free(r);
}

static void seccomp_free(struct spec_seccomp *sc) {
        if (!sc)
                return;
        strv_free(sc->architectures);
        strv_free(sc->flags);
        free(sc->listener_path);
        free(sc->listener_metadata);
        for (size_t i = 0; sc->syscalls && i < sc->n_syscalls; i++) {
                strv_free(sc->syscalls[i].names);
                free(sc->syscalls[i].args);
        }
        free(sc->syscalls);
        free(sc);
}

void spec_free(struct spec *s) {
        if (!s)
                return;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        for (size_t i = 0; s->mounts && i < s->n_mounts; i++) {
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
        for (size_t k = 0; k < _SPEC_HOOK_MAX; k++) {
                for (size_t i = 0; s->hooks[k] && i < s->n_hooks[k]; i++) {
                        free(s->hooks[k][i].path);
                        strv_free(s->hooks[k][i].args);
                        strv_free(s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        kv_free(s->annotations, s->n_annotations);

        struct spec_linux *l = &s->linux_;
        for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        for (size_t i = 0; l->devices && i < l->n_devices; i++)
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

static void spec_freep(struct spec **s) {
        spec_free(*s);
}

static void spec_process_freep(struct spec_process **p) {
        spec_process_free(*p);
}

static void spec_resources_freep(struct spec_resources **r) {
        spec_resources_free(*r);
}

/* ---- the field path and errors ---------------------------------------- */

struct ctx {
        struct berr *err;
        const char *doc; /* names the document in errors about its root */
        size_t len;
        char path[512]; /* "linux.namespaces[2].type"; truncated if long */
};

static const char *where(const struct ctx *c) {
        return c->len ? c->path : c->doc;
}

static void set_len(struct ctx *c, size_t old) {
        /* snprintf truncates at the buffer's end; re-measure. */
        c->len = old + strlen(c->path + old);
}

static size_t push_key(struct ctx *c, const char *key) {
        size_t old = c->len;
        snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "",
                 key);
        set_len(c, old);
        return old;
}

static size_t push_index(struct ctx *c, size_t i) {
        size_t old = c->len;
        snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
        set_len(c, old);
        return old;
}

static void pop(struct ctx *c, size_t old) {
        c->len = old;
        c->path[old] = '\0';
}

static int vfail(struct ctx *c, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static int vfail(struct ctx *c, const char *fmt, va_list ap) {
        char reason[BERR_MSG_MAX];
        vsnprintf(reason, sizeof(reason), fmt, ap);
        return berr_setx(c->err, EINVAL, "%s: %.*s", where(c),
                         (int) (BERR_MSG_MAX / 2), reason);
}

/* "PATH: reason"; returns -EINVAL. */
static int fail(struct ctx *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(c, fmt, ap);
        va_end(ap);
        return r;
}

/* "PATH.key: reason"; returns -EINVAL. */
static int fail_key(struct ctx *c, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail_key(struct ctx *c, const char *key, const char *fmt, ...) {
        size_t old = push_key(c, key);
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(c, fmt, ap);
        va_end(ap);
        pop(c, old);
        return r;
}

static int oom(struct ctx *c) {
        return berr_set(c->err, ENOMEM, "%s", where(c));
}

/* ---- pre-scan: depth limit and integers above INT64_MAX --------------- */

/* jansson stores integers as long long and rejects larger ones ("too big
 * integer"), but uint64 fields legitimately carry them: Go writes
 * RLIM_INFINITY as 18446744073709551615 in rlimits.  The pre-scan
 * rewrites each such literal into the string "\u0000U<digits>", which no
 * accepted string can equal (strings with NUL bytes are refused, and
 * jansson refuses NUL in keys), and want_u64() reads it back.  Only plain
 * digit tokens in (INT64_MAX, UINT64_MAX] are rewritten, so an invalid
 * document stays invalid; a rewrite only shifts the column jansson
 * reports for a later error on the same line. */
#define HUGE_PREFIX "\"\\u0000U"
#define HUGE_EXTRA  (sizeof(HUGE_PREFIX) - 1 + 1)

static bool is_number_char(char ch) {
        return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' ||
               ch == '.' || ch == 'e' || ch == 'E';
}

static bool is_huge_token(const char *t, size_t n) {
        if (n < 19 || n > 20 || t[0] == '0')
                return false;
        char buf[24];
        for (size_t i = 0; i < n; i++) {
                if (t[i] < '0' || t[i] > '9')
                        return false;
                buf[i] = t[i];
        }
        buf[n] = '\0';
        uint64_t v;
        return parse_u64(buf, &v) == 0 && v > (uint64_t) INT64_MAX;
}

/* Walks the text once.  Fails when nesting exceeds SPEC_MAX_DEPTH.  With
 * out == NULL only counts the huge integers into *ret_huge; otherwise
 * writes the rewritten text (at most len + *ret_huge * HUGE_EXTRA bytes)
 * and its length. */
static int prescan(struct ctx *c, const char *s, size_t len, char *out,
                   size_t *ret_huge, size_t *ret_len) {
        size_t depth = 0, line = 1, n_huge = 0, o = 0;
        size_t i = 0;
        while (i < len) {
                char ch = s[i];
                size_t j = i + 1;
                if (ch == '"') {
                        while (j < len && s[j] != '"') {
                                if (s[j] == '\\' && j + 1 < len)
                                        j++;
                                else if (s[j] == '\n')
                                        line++;
                                j++;
                        }
                        if (j < len)
                                j++;
                } else if (ch == '{' || ch == '[') {
                        if (++depth > SPEC_MAX_DEPTH)
                                return berr_setx(c->err, EINVAL,
                                                 "%s: nested deeper than %d "
                                                 "levels at line %zu",
                                                 c->doc, SPEC_MAX_DEPTH, line);
                } else if (ch == '}' || ch == ']') {
                        if (depth > 0)
                                depth--;
                } else if (ch == '\n') {
                        line++;
                } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
                        while (j < len && is_number_char(s[j]))
                                j++;
                        if (is_huge_token(s + i, j - i)) {
                                n_huge++;
                                if (out) {
                                        memcpy(out + o, HUGE_PREFIX,
                                               sizeof(HUGE_PREFIX) - 1);
                                        o += sizeof(HUGE_PREFIX) - 1;
                                        memcpy(out + o, s + i, j - i);
                                        o += j - i;
                                        out[o++] = '"';
                                }
                                i = j;
                                continue;
                        }
                }
                if (out) {
                        memcpy(out + o, s + i, j - i);
                        o += j - i;
                }
                i = j;
        }
        *ret_huge = n_huge;
        if (ret_len)
                *ret_len = o;
        return 0;
}

/* Parse text into a JSON object: size and depth limits, duplicate keys
 * refused, huge integers protected. */
static int load_json(struct ctx *c, const char *text, size_t len,
                     json_t **ret) {
        if (!text) {
                text = "";
                len = 0;
        }
        if (len > SPEC_MAX_SIZE)
                return berr_setx(c->err, EFBIG,
                                 "%s: document of %zu bytes is larger than "
                                 "the 16 MiB limit",
                                 c->doc, len);
        size_t n_huge = 0;
        int r = prescan(c, text, len, NULL, &n_huge, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *copy = NULL;
        if (n_huge > 0) {
                copy = malloc(len + n_huge * HUGE_EXTRA + 1);
                if (!copy)
                        return berr_set(c->err, ENOMEM, "%s", c->doc);
                r = prescan(c, text, len, copy, &n_huge, &len);
                if (r < 0)
                        return r;
                text = copy;
        }
        json_error_t e;
        json_t *j = json_loadb(text, len,
                               JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
        if (!j) {
                if (json_error_code(&e) == json_error_out_of_memory)
                        return berr_set(c->err, ENOMEM, "%s", c->doc);
                if (e.line < 0)
                        return berr_setx(c->err, EINVAL,
                                         "%s: not valid JSON: %s", c->doc,
                                         e.text);
                return berr_setx(c->err, EINVAL,
                                 "%s: not valid JSON at line %d column %d: "
                                 "%s",
                                 c->doc, e.line, e.column, e.text);
        }
        if (!json_is_object(j)) {
                json_decref(j);
                return berr_setx(c->err, EINVAL, "%s: expected an object",
                                 c->doc);
        }
        *ret = j;
        return 0;
}

/* ---- typed values ----------------------------------------------------- */

/* Member `key` of object `o`; NULL when absent or null. */
static json_t *member(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_null(v) ? NULL : v;
}

static bool is_huge(json_t *v, uint64_t *ret) {
        if (!json_is_string(v) || json_string_length(v) < 3)
                return false;
        const char *s = json_string_value(v);
        return s[0] == '\0' && s[1] == 'U' && parse_u64(s + 2, ret) == 0;
}

/* A string value, borrowed from the tree. */
static int want_str(struct ctx *c, json_t *v, const char **ret) {
        uint64_t dummy;
        if (!json_is_string(v) || is_huge(v, &dummy))
                return fail(c, "expected a string");
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return fail(c, "must not contain NUL bytes");
        *ret = s;
        return 0;
}

static int want_string(struct ctx *c, json_t *v, char **ret) {
        const char *s;
        int r = want_str(c, v, &s);
        if (r < 0)
                return r;
        char *d = strdup(s);
        if (!d)
                return oom(c);
        free(*ret);
        *ret = d;
        return 0;
}

static int want_u64(struct ctx *c, json_t *v, uint64_t max, uint64_t *ret) {
        uint64_t u;
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);
                if (i < 0)
                        return fail(c,
                                    "must be between 0 and %" PRIu64
                                    ", got %lld",
                                    max, (long long) i);
                u = (uint64_t) i;
        } else if (!is_huge(v, &u)) {
                return fail(c, "expected an integer");
        }
        if (u > max)
                return fail(c,
                            "must be between 0 and %" PRIu64 ", got %" PRIu64,
                            max, u);
        *ret = u;
        return 0;
}

static int want_i64(struct ctx *c, json_t *v, int64_t min, int64_t max,
                    int64_t *ret) {
        uint64_t u;
        if (is_huge(v, &u))
                return fail(c,
                            "must be between %" PRId64 " and %" PRId64
                            ", got %" PRIu64,
                            min, max, u);
        if (!json_is_integer(v))
                return fail(c, "expected an integer");
        int64_t i = json_integer_value(v);
        if (i < min || i > max)
                return fail(c,
                            "must be between %" PRId64 " and %" PRId64
                            ", got %" PRId64,
                            min, max, i);
        *ret = i;
        return 0;
}

static int want_bool(struct ctx *c, json_t *v, bool *ret) {
        if (!json_is_boolean(v))
                return fail(c, "expected a boolean");
        *ret = json_is_true(v);
        return 0;
}

static int want_strv(struct ctx *c, json_t *v, char ***ret) {
        if (!json_is_array(v))
                return fail(c, "expected an array of strings");
        size_t n = json_array_size(v);
        char **l = calloc(n + 1, sizeof(char *));
        if (!l)
                return oom(c);
        strv_free(*ret);
        *ret = l;
        for (size_t i = 0; i < n; i++) {
                size_t old = push_index(c, i);
                int r = want_string(c, json_array_get(v, i), &l[i]);
                pop(c, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- members by key ----------------------------------------------------
 *
 * Each get_* reads member `key` of object `o`.  Returns 1 and writes *ret
 * when present, 0 when absent (ret untouched), or an error: a wrong type
 * or value, or "KEY: missing" when `required` and absent. */

#define REQUIRED true
#define OPTIONAL false

static int missing(struct ctx *c, const char *key, bool required) {
        return required ? fail_key(c, key, "missing") : 0;
}

static int get_string(struct ctx *c, json_t *o, const char *key, bool required,
                      char **ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_string(c, v, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

/* Like get_string but borrowed from the tree. */
static int get_str(struct ctx *c, json_t *o, const char *key, bool required,
                   const char **ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_str(c, v, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

static int get_bool(struct ctx *c, json_t *o, const char *key, bool required,
                    bool *ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_bool(c, v, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

static int get_u64(struct ctx *c, json_t *o, const char *key, bool required,
                   uint64_t max, uint64_t *ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_u64(c, v, max, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

static int get_u32(struct ctx *c, json_t *o, const char *key, bool required,
                   uint32_t max, uint32_t *ret) {
        uint64_t v;
        int r = get_u64(c, o, key, required, max, &v);
        if (r > 0)
                *ret = (uint32_t) v;
        return r;
}

static int get_u16(struct ctx *c, json_t *o, const char *key, bool required,
                   uint16_t *ret) {
        uint64_t v;
        int r = get_u64(c, o, key, required, UINT16_MAX, &v);
        if (r > 0)
                *ret = (uint16_t) v;
        return r;
}

static int get_i64(struct ctx *c, json_t *o, const char *key, bool required,
                   int64_t min, int64_t max, int64_t *ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_i64(c, v, min, max, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

static int get_int(struct ctx *c, json_t *o, const char *key, bool required,
                   int min, int max, int *ret) {
        int64_t v;
        int r = get_i64(c, o, key, required, min, max, &v);
        if (r > 0)
                *ret = (int) v;
        return r;
}

static int get_strv(struct ctx *c, json_t *o, const char *key, bool required,
                    char ***ret) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = want_strv(c, v, ret);
        pop(c, old);
        return r < 0 ? r : 1;
}

/* A string that names one entry of a table; *ret gets its value. */
static int get_named(struct ctx *c, json_t *o, const char *key, bool required,
                     const struct name_value *t, size_t n, const char *what,
                     int *ret) {
        const char *s;
        int r = get_str(c, o, key, required, &s);
        if (r <= 0)
                return r;
        int v = lookup(t, n, s);
        if (v < 0)
                return fail_key(c, key, "unknown %s '%s'", what, s);
        *ret = v;
        return 1;
}

/* An array of names from a table, OR-ed into *ret. */
static int get_flag_names(struct ctx *c, json_t *o, const char *key,
                          const struct name_value *t, size_t n,
                          const char *what, uint64_t *ret) {
        json_t *v = member(o, key);
        if (!v)
                return 0;
        size_t old = push_key(c, key);
        int r = 0;
        uint64_t bits = 0;
        if (!json_is_array(v))
                r = fail(c, "expected an array of strings");
        for (size_t i = 0; r >= 0 && i < json_array_size(v); i++) {
                size_t o2 = push_index(c, i);
                const char *s;
                r = want_str(c, json_array_get(v, i), &s);
                if (r >= 0) {
                        int f = lookup(t, n, s);
                        if (f < 0)
                                r = fail(c, "unknown %s '%s'", what, s);
                        else
                                bits |= (uint64_t) f;
                }
                pop(c, o2);
        }
        pop(c, old);
        if (r < 0)
                return r;
        *ret = bits;
        return 1;
}

typedef int (*object_fn)(struct ctx *c, json_t *v, void *data);

/* An object member: fn runs with "key" on the path. */
static int get_object(struct ctx *c, json_t *o, const char *key, bool required,
                      object_fn fn, void *data) {
        json_t *v = member(o, key);
        if (!v)
                return missing(c, key, required);
        size_t old = push_key(c, key);
        int r = json_is_object(v) ? fn(c, v, data)
                                  : fail(c, "expected an object");
        pop(c, old);
        return r < 0 ? r : 1;
}

typedef int (*elem_fn)(struct ctx *c, json_t *v, void *elem, size_t index,
                       void *data);

/* An array of objects parsed into a new array of n elements of `size`
 * bytes each; `arrp` is the address of the owner's pointer (any element
 * type), `ret_n` its count.  Both are set before the elements are parsed
 * so a failure leaves the partial array to the owner's destructor. */
static int get_array_of(struct ctx *c, json_t *o, const char *key, size_t size,
                        void *arrp, size_t *ret_n, elem_fn fn, void *data) {
        json_t *v = member(o, key);
        if (!v)
                return 0;
        size_t old = push_key(c, key);
        int r = 0;
        if (!json_is_array(v)) {
                r = fail(c, "expected an array");
                goto out;
        }
        size_t n = json_array_size(v);
        if (n > 0) {
                char *arr = calloc(n, size);
                if (!arr) {
                        r = oom(c);
                        goto out;
                }
                memcpy(arrp, &arr, sizeof(arr));
                *ret_n = n;
                for (size_t i = 0; i < n; i++) {
                        size_t o2 = push_index(c, i);
                        json_t *e = json_array_get(v, i);
                        r = json_is_object(e)
                                    ? fn(c, e, arr + i * size, i, data)
                                    : fail(c, "expected an object");
                        pop(c, o2);
                        if (r < 0)
                                goto out;
                }
        }
out:
        pop(c, old);
        return r < 0 ? r : 1;
}

#define GET_ARRAY_OF(c, o, key, arr, n, fn, data)                              \
        get_array_of(c, o, key, sizeof(*(arr)), &(arr), &(n), fn, data)

/* A string->string object, in document order. */
static int get_map(struct ctx *c, json_t *o, const char *key,
                   struct spec_kv **ret, size_t *ret_n) {
        json_t *v = member(o, key);
        if (!v)
                return 0;
        size_t old = push_key(c, key);
        int r = 0;
        if (!json_is_object(v)) {
                r = fail(c, "expected an object of strings");
                goto out;
        }
        size_t n = json_object_size(v);
        if (n > 0) {
                struct spec_kv *kv = calloc(n, sizeof(*kv));
                if (!kv) {
                        r = oom(c);
                        goto out;
                }
                *ret = kv;
                *ret_n = n;
                const char *k;
                json_t *val;
                size_t i = 0;
                json_object_foreach(v, k, val) {
                        if (!*k) {
                                r = fail(c, "keys must not be empty");
                                goto out;
                        }
                        size_t o2 = push_key(c, k);
                        kv[i].key = strdup(k);
                        r = kv[i].key ? want_string(c, val, &kv[i].value)
                                      : oom(c);
                        pop(c, o2);
                        if (r < 0)
                                goto out;
                        i++;
                }
        }
out:
        pop(c, old);
        return r < 0 ? r : 1;
}

static int check_absolute(struct ctx *c, const char *key, const char *p) {
        if (p[0] != '/')
                return fail_key(c, key, "must be an absolute path, got '%s'",
                                p);
        return 0;
}

/* An optional string that, when given, must be an absolute path. */
static int get_abs_path(struct ctx *c, json_t *o, const char *key,
                        bool required, char **ret) {
        int r = get_string(c, o, key, required, ret);
        if (r > 0 && check_absolute(c, key, *ret) < 0)
                return -EINVAL;
        return r;
}

static int get_abs_paths(struct ctx *c, json_t *o, const char *key,
                         char ***ret) {
        int r = get_strv(c, o, key, OPTIONAL, ret);
        if (r <= 0)
                return r;
        size_t old = push_key(c, key);
        for (size_t i = 0; (*ret)[i] && r >= 0; i++) {
                size_t o2 = push_index(c, i);
                if ((*ret)[i][0] != '/')
                        r = fail(c, "must be an absolute path, got '%s'",
                                 (*ret)[i]);
                pop(c, o2);
        }
        pop(c, old);
        return r;
}

/* ---- shared pieces ---------------------------------------------------- */

static int idmap_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                      void *data) {
        struct spec_idmap *m = elem;
        int r = get_u32(c, v, "containerID", REQUIRED, UINT32_MAX,
                        &m->container_id);
        if (r >= 0)
                r = get_u32(c, v, "hostID", REQUIRED, UINT32_MAX, &m->host_id);
        if (r >= 0)
                r = get_u32(c, v, "size", REQUIRED, UINT32_MAX, &m->size);
        if (r >= 0 && m->size == 0)
                r = fail_key(c, "size", "must be greater than 0");
        return r;
}

/* ---- mounts ----------------------------------------------------------- */

static void apply_mount_option(struct spec_mount *m,
                               const struct mount_option *o) {
        switch (o->kind) {
        case OPT_NOOP:
                break;
        case OPT_FLAG_SET:
                m->flags |= o->value;
                m->clear_flags &= ~o->value;
                break;
        case OPT_FLAG_CLR:
                m->flags &= ~o->value;
                m->clear_flags |= o->value;
                break;
        case OPT_ATTR_SET:
                m->attr_set |= o->value;
                m->attr_clr &= ~o->value;
                break;
        case OPT_ATTR_CLR:
                m->attr_clr |= o->value;
                m->attr_set &= ~o->value;
                break;
        case OPT_ATIME_SET:
                /* mount_setattr(2) takes one atime mode and wants the whole
                 * MOUNT_ATTR__ATIME field cleared to change it. */
                m->attr_set = (m->attr_set & ~(uint64_t) MOUNT_ATTR__ATIME) |
                              o->value;
                m->attr_clr |= MOUNT_ATTR__ATIME;
                break;
        case OPT_ATIME_CLR:
                /* Undo that mode (back to the default, relatime) if it is
                 * the one selected; leave another mode alone. */
                if ((m->attr_set & MOUNT_ATTR__ATIME) == o->value)
                        m->attr_set &= ~(uint64_t) MOUNT_ATTR__ATIME;
                m->attr_clr |= MOUNT_ATTR__ATIME;
                break;
        case OPT_PROP:
                m->propagation = (enum spec_propagation) o->value;
                break;
        case OPT_RBIND:
                m->recursive = true;
                m->flags |= MS_REC;
                m->bind = true;
                m->flags |= MS_BIND;
                break;
        case OPT_BIND:
                m->bind = true;
                m->flags |= MS_BIND;
                break;
        case OPT_IDMAP:
                m->idmap = true;
                break;
        case OPT_TMPCOPYUP:
                m->tmpcopyup = true;
                break;
        }
}

static const struct mount_option *find_mount_option(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(mount_options); i++)
                if (strcmp(mount_options[i].name, name) == 0)
                        return &mount_options[i];
        return NULL;
}

/* Derive flags from m->options; the rest becomes filesystem data. */
static int derive_mount_options(struct ctx *c, struct spec_mount *m) {
        size_t data_len = 0;
        for (size_t i = 0; m->options && m->options[i]; i++) {
                const struct mount_option *o = find_mount_option(m->options[i]);
                if (o)
                        apply_mount_option(m, o);
                else if (m->options[i][0])
                        data_len += strlen(m->options[i]) + 1;
        }
        if (data_len == 0)
                return 0;
        /* One allocation: options lists can be long. */
        char *d = malloc(data_len);
        if (!d)
                return oom(c);
        size_t o = 0;
        for (size_t i = 0; m->options[i]; i++) {
                if (!m->options[i][0] || find_mount_option(m->options[i]))
                        continue;
                size_t n = strlen(m->options[i]);
                if (o)
                        d[o++] = ',';
                memcpy(d + o, m->options[i], n);
                o += n;
        }
        d[o] = '\0';
        m->data = d;
        return 0;
}

static int mount_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                      void *data) {
        struct spec_mount *m = elem;
        int r = get_abs_path(c, v, "destination", REQUIRED, &m->destination);
        if (r >= 0)
                r = get_string(c, v, "type", OPTIONAL, &m->type);
        if (r >= 0)
                r = get_string(c, v, "source", OPTIONAL, &m->source);
        if (r >= 0)
                r = get_strv(c, v, "options", OPTIONAL, &m->options);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "uidMappings", m->uid_mappings,
                                 m->n_uid_mappings, idmap_elem, NULL);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "gidMappings", m->gid_mappings,
                                 m->n_gid_mappings, idmap_elem, NULL);
        if (r < 0)
                return r;
        size_t old = push_key(c, "options");
        r = derive_mount_options(c, m);
        pop(c, old);
        if (r < 0)
                return r;
        if (m->type && strcmp(m->type, "bind") == 0) {
                m->bind = true;
                m->flags |= MS_BIND;
        }
        /* runtime-spec: mappings without "idmap"/"ridmap" mean "idmap". */
        if (m->n_uid_mappings || m->n_gid_mappings)
                m->idmap = true;
        return 0;
}

/* ---- process ---------------------------------------------------------- */

static int console_size_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_process *p = data;
        uint32_t h = 0, w = 0;
        int r = get_u32(c, v, "height", REQUIRED, UINT16_MAX, &h);
        if (r >= 0)
                r = get_u32(c, v, "width", REQUIRED, UINT16_MAX, &w);
        if (r < 0)
                return r;
        p->has_console_size = true;
        p->console_height = h;
        p->console_width = w;
        return 0;
}

static int user_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_user *u = data;
        int r = get_u32(c, v, "uid", REQUIRED, UINT32_MAX, &u->uid);
        if (r >= 0)
                r = get_u32(c, v, "gid", REQUIRED, UINT32_MAX, &u->gid);
        if (r >= 0)
                r = get_u32(c, v, "umask", OPTIONAL, 0777, &u->umask);
        if (r < 0)
                return r;
        u->has_umask = r > 0;
        r = get_string(c, v, "username", OPTIONAL, &u->username);
        if (r < 0)
                return r;

        json_t *a = member(v, "additionalGids");
        if (!a)
                return 0;
        size_t old = push_key(c, "additionalGids");
        r = 0;
        if (!json_is_array(a))
                r = fail(c, "expected an array of integers");
        size_t n = json_array_size(a);
        if (r >= 0 && n > 0) {
                u->additional_gids = calloc(n, sizeof(uint32_t));
                if (!u->additional_gids)
                        r = oom(c);
                else
                        u->n_additional_gids = n;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t o2 = push_index(c, i);
                uint64_t g;
                r = want_u64(c, json_array_get(a, i), UINT32_MAX, &g);
                if (r >= 0)
                        u->additional_gids[i] = (uint32_t) g;
                pop(c, o2);
        }
        pop(c, old);
        return r;
}

/* A capability set: array of CAP_* names -> bitmask. */
static int get_capset(struct ctx *c, json_t *o, const char *key,
                      uint64_t *ret) {
        json_t *v = member(o, key);
        if (!v)
                return 0;
        size_t old = push_key(c, key);
        int r = 0;
        uint64_t mask = 0;
        if (!json_is_array(v))
                r = fail(c, "expected an array of strings");
        for (size_t i = 0; r >= 0 && i < json_array_size(v); i++) {
                size_t o2 = push_index(c, i);
                const char *name;
                r = want_str(c, json_array_get(v, i), &name);
                if (r >= 0) {
                        int cap = spec_cap_from_name(name);
                        if (cap < 0)
                                r = fail(c, "unknown capability '%s'", name);
                        else
                                mask |= UINT64_C(1) << cap;
                }
                pop(c, o2);
        }
        pop(c, old);
        if (r >= 0)
                *ret = mask;
        return r;
}

static int caps_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_caps *caps = data;
        int r = get_capset(c, v, "bounding", &caps->bounding);
        if (r >= 0)
                r = get_capset(c, v, "effective", &caps->effective);
        if (r >= 0)
                r = get_capset(c, v, "inheritable", &caps->inheritable);
        if (r >= 0)
                r = get_capset(c, v, "permitted", &caps->permitted);
        if (r >= 0)
                r = get_capset(c, v, "ambient", &caps->ambient);
        return r;
}

static int rlimit_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                       void *data) {
        struct spec_process *p = data;
        struct spec_rlimit *rl = elem;
        int r = get_string(c, v, "type", REQUIRED, &rl->name);
        if (r < 0)
                return r;
        rl->resource = spec_rlimit_from_name(rl->name);
        if (rl->resource < 0)
                return fail_key(c, "type", "unknown rlimit '%s'", rl->name);
        for (size_t i = 0; i < index; i++)
                if (p->rlimits[i].resource == rl->resource)
                        return fail_key(c, "type", "duplicate rlimit '%s'",
                                        rl->name);
        r = get_u64(c, v, "soft", REQUIRED, UINT64_MAX, &rl->soft);
        if (r >= 0)
                r = get_u64(c, v, "hard", REQUIRED, UINT64_MAX, &rl->hard);
        return r;
}

static int io_priority_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_process *p = data;
        int r = get_named(c, v, "class", REQUIRED, ioprio_class_names,
                          ELEMENTSOF(ioprio_class_names), "I/O priority class",
                          &p->io_priority_class);
        if (r >= 0)
                r = get_int(c, v, "priority", REQUIRED, 0, 7,
                            &p->io_priority_level);
        if (r >= 0)
                p->has_io_priority = true;
        return r;
}

static int scheduler_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_process *p = data;
        int r = get_named(c, v, "policy", REQUIRED, sched_policy_names,
                          ELEMENTSOF(sched_policy_names), "scheduler policy",
                          &p->sched_policy);
        if (r >= 0)
                r = get_int(c, v, "nice", OPTIONAL, -20, 19, &p->sched_nice);
        if (r >= 0)
                r = get_int(c, v, "priority", OPTIONAL, 0, INT32_MAX,
                            &p->sched_priority);
        if (r >= 0)
                r = get_flag_names(c, v, "flags", sched_flag_names,
                                   ELEMENTSOF(sched_flag_names),
                                   "scheduler flag", &p->sched_flags);
        if (r >= 0)
                r = get_u64(c, v, "runtime", OPTIONAL, UINT64_MAX,
                            &p->sched_runtime);
        if (r >= 0)
                r = get_u64(c, v, "deadline", OPTIONAL, UINT64_MAX,
                            &p->sched_deadline);
        if (r >= 0)
                r = get_u64(c, v, "period", OPTIONAL, UINT64_MAX,
                            &p->sched_period);
        if (r >= 0)
                p->has_scheduler = true;
        return r;
}

static int check_env(struct ctx *c, char **env) {
        int r = 0;
        size_t old = push_key(c, "env");
        for (size_t i = 0; env && env[i] && r >= 0; i++) {
                const char *eq = strchr(env[i], '=');
                if (!eq || eq == env[i]) {
                        size_t o2 = push_index(c, i);
                        r = fail(c, "expected NAME=VALUE, got '%s'", env[i]);
                        pop(c, o2);
                }
        }
        pop(c, old);
        return r;
}

/* The body of "process" (also a whole process.json). */
static int process_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_process *p = data;
        int r = get_bool(c, v, "terminal", OPTIONAL, &p->terminal);
        if (r >= 0)
                r = get_object(c, v, "consoleSize", OPTIONAL, console_size_obj,
                               p);
        if (r >= 0)
                r = get_object(c, v, "user", OPTIONAL, user_obj, &p->user);
        if (r >= 0)
                r = get_strv(c, v, "args", OPTIONAL, &p->args);
        if (r >= 0)
                r = get_string(c, v, "commandLine", OPTIONAL, &p->command_line);
        if (r >= 0)
                r = get_strv(c, v, "env", OPTIONAL, &p->env);
        if (r >= 0)
                r = check_env(c, p->env);
        if (r >= 0)
                r = get_abs_path(c, v, "cwd", REQUIRED, &p->cwd);
        if (r >= 0)
                r = get_object(c, v, "capabilities", OPTIONAL, caps_obj,
                               &p->caps);
        if (r < 0)
                return r;
        p->has_caps = r > 0;
        r = GET_ARRAY_OF(c, v, "rlimits", p->rlimits, p->n_rlimits, rlimit_elem,
                         p);
        if (r >= 0)
                r = get_bool(c, v, "noNewPrivileges", OPTIONAL,
                             &p->no_new_privileges);
        if (r >= 0)
                r = get_int(c, v, "oomScoreAdj", OPTIONAL, -1000, 1000,
                            &p->oom_score_adj);
        if (r < 0)
                return r;
        p->has_oom_score_adj = r > 0;
        r = get_string(c, v, "apparmorProfile", OPTIONAL, &p->apparmor_profile);
        if (r >= 0)
                r = get_string(c, v, "selinuxLabel", OPTIONAL,
                               &p->selinux_label);
        if (r >= 0)
                r = get_object(c, v, "ioPriority", OPTIONAL, io_priority_obj,
                               p);
        if (r >= 0)
                r = get_object(c, v, "scheduler", OPTIONAL, scheduler_obj, p);
        return r < 0 ? r : 0;
}

static int process_member(struct ctx *c, json_t *v, void *data) {
        struct spec_process **ret = data;
        *ret = calloc(1, sizeof(**ret));
        if (!*ret)
                return oom(c);
        return process_obj(c, v, *ret);
}

/* ---- hooks ------------------------------------------------------------ */

static int hook_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                     void *data) {
        struct spec_hook *h = elem;
        int r = get_abs_path(c, v, "path", REQUIRED, &h->path);
        if (r >= 0)
                r = get_strv(c, v, "args", OPTIONAL, &h->args);
        if (r >= 0)
                r = get_strv(c, v, "env", OPTIONAL, &h->env);
        if (r >= 0)
                r = get_int(c, v, "timeout", OPTIONAL, 1, INT_MAX, &h->timeout);
        if (r < 0)
                return r;
        h->has_timeout = r > 0;
        return 0;
}

static int hooks_obj(struct ctx *c, json_t *v, void *data) {
        struct spec *s = data;
        for (size_t k = 0; k < _SPEC_HOOK_MAX; k++) {
                int r = GET_ARRAY_OF(c, v, hook_names[k], s->hooks[k],
                                     s->n_hooks[k], hook_elem, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- linux: namespaces, devices, misc --------------------------------- */

static int namespace_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                          void *data) {
        struct spec_linux *l = data;
        struct spec_namespace *ns = elem;
        const char *type;
        int r = get_str(c, v, "type", REQUIRED, &type);
        if (r < 0)
                return r;
        ns->type = spec_ns_from_name(type);
        if (ns->type == _SPEC_NS_INVALID)
                return fail_key(c, "type", "unknown namespace type '%s'", type);
        for (size_t i = 0; i < index; i++)
                if (l->namespaces[i].type == ns->type)
                        return fail_key(c, "type",
                                        "duplicate namespace type '%s'", type);
        r = get_string(c, v, "path", OPTIONAL, &ns->path);
        if (r <= 0)
                return r;
        /* Go writes "" for "no path": a new namespace. */
        if (!ns->path[0]) {
                free(ns->path);
                ns->path = NULL;
                return 0;
        }
        return check_absolute(c, "path", ns->path);
}

static int device_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                       void *data) {
        struct spec_device *d = elem;
        const char *type;
        int r = get_str(c, v, "type", REQUIRED, &type);
        if (r < 0)
                return r;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return fail_key(c, "type",
                                "unknown device type '%s' (expected c, b, u "
                                "or p)",
                                type);
        d->type = type[0];
        r = get_abs_path(c, v, "path", REQUIRED, &d->path);
        if (r < 0)
                return r;
        bool need_numbers = d->type != 'p';
        r = get_i64(c, v, "major", need_numbers, 0, UINT32_MAX, &d->major);
        if (r >= 0)
                r = get_i64(c, v, "minor", need_numbers, 0, UINT32_MAX,
                            &d->minor);
        if (r >= 0)
                r = get_u32(c, v, "fileMode", OPTIONAL, UINT32_MAX,
                            &d->file_mode);
        if (r < 0)
                return r;
        d->has_file_mode = r > 0;
        r = get_u32(c, v, "uid", OPTIONAL, UINT32_MAX, &d->uid);
        if (r < 0)
                return r;
        d->has_uid = r > 0;
        r = get_u32(c, v, "gid", OPTIONAL, UINT32_MAX, &d->gid);
        if (r < 0)
                return r;
        d->has_gid = r > 0;
        return 0;
}

/* ---- linux.resources -------------------------------------------------- */

static int memory_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_i64(c, v, "limit", OPTIONAL, -1, INT64_MAX,
                        &res->memory_limit);
        if (r < 0)
                return r;
        res->has_memory_limit = r > 0;
        r = get_i64(c, v, "reservation", OPTIONAL, -1, INT64_MAX,
                    &res->memory_reservation);
        if (r < 0)
                return r;
        res->has_memory_reservation = r > 0;
        r = get_i64(c, v, "swap", OPTIONAL, -1, INT64_MAX, &res->memory_swap);
        if (r < 0)
                return r;
        res->has_memory_swap = r > 0;
        r = get_i64(c, v, "kernel", OPTIONAL, -1, INT64_MAX,
                    &res->memory_kernel);
        if (r < 0)
                return r;
        res->has_memory_kernel = r > 0;
        r = get_i64(c, v, "kernelTCP", OPTIONAL, -1, INT64_MAX,
                    &res->memory_kernel_tcp);
        if (r < 0)
                return r;
        res->has_memory_kernel_tcp = r > 0;
        r = get_u64(c, v, "swappiness", OPTIONAL, 100, &res->memory_swappiness);
        if (r < 0)
                return r;
        res->has_memory_swappiness = r > 0;
        r = get_bool(c, v, "disableOOMKiller", OPTIONAL,
                     &res->disable_oom_killer);
        if (r < 0)
                return r;
        res->has_disable_oom_killer = r > 0;
        r = get_bool(c, v, "useHierarchy", OPTIONAL, &res->use_hierarchy);
        if (r < 0)
                return r;
        res->has_use_hierarchy = r > 0;
        r = get_bool(c, v, "checkBeforeUpdate", OPTIONAL,
                     &res->check_before_update);
        return r < 0 ? r : 0;
}

static int cpu_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_u64(c, v, "shares", OPTIONAL, UINT64_MAX, &res->cpu_shares);
        if (r < 0)
                return r;
        res->has_cpu_shares = r > 0;
        r = get_i64(c, v, "quota", OPTIONAL, -1, INT64_MAX, &res->cpu_quota);
        if (r < 0)
                return r;
        res->has_cpu_quota = r > 0;
        r = get_u64(c, v, "burst", OPTIONAL, UINT64_MAX, &res->cpu_burst);
        if (r < 0)
                return r;
        res->has_cpu_burst = r > 0;
        r = get_u64(c, v, "period", OPTIONAL, UINT64_MAX, &res->cpu_period);
        if (r < 0)
                return r;
        res->has_cpu_period = r > 0;
        r = get_i64(c, v, "realtimeRuntime", OPTIONAL, -1, INT64_MAX,
                    &res->cpu_realtime_runtime);
        if (r < 0)
                return r;
        res->has_cpu_realtime_runtime = r > 0;
        r = get_u64(c, v, "realtimePeriod", OPTIONAL, UINT64_MAX,
                    &res->cpu_realtime_period);
        if (r < 0)
                return r;
        res->has_cpu_realtime_period = r > 0;
        r = get_string(c, v, "cpus", OPTIONAL, &res->cpu_cpus);
        if (r >= 0)
                r = get_string(c, v, "mems", OPTIONAL, &res->cpu_mems);
        if (r >= 0)
                r = get_i64(c, v, "idle", OPTIONAL, INT64_MIN, INT64_MAX,
                            &res->cpu_idle);
        if (r < 0)
                return r;
        res->has_cpu_idle = r > 0;
        return 0;
}

static int pids_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_i64(c, v, "limit", REQUIRED, -1, INT64_MAX,
                        &res->pids_limit);
        if (r < 0)
                return r;
        res->has_pids_limit = true;
        return 0;
}

static int weight_device_elem(struct ctx *c, json_t *v, void *elem,
                              size_t index, void *data) {
        struct spec_weight_device *d = elem;
        int r = get_i64(c, v, "major", REQUIRED, 0, UINT32_MAX, &d->major);
        if (r >= 0)
                r = get_i64(c, v, "minor", REQUIRED, 0, UINT32_MAX, &d->minor);
        if (r >= 0)
                r = get_u16(c, v, "weight", OPTIONAL, &d->weight);
        if (r < 0)
                return r;
        d->has_weight = r > 0;
        r = get_u16(c, v, "leafWeight", OPTIONAL, &d->leaf_weight);
        if (r < 0)
                return r;
        d->has_leaf_weight = r > 0;
        return 0;
}

static int throttle_device_elem(struct ctx *c, json_t *v, void *elem,
                                size_t index, void *data) {
        struct spec_throttle_device *d = elem;
        int r = get_i64(c, v, "major", REQUIRED, 0, UINT32_MAX, &d->major);
        if (r >= 0)
                r = get_i64(c, v, "minor", REQUIRED, 0, UINT32_MAX, &d->minor);
        if (r >= 0)
                r = get_u64(c, v, "rate", REQUIRED, UINT64_MAX, &d->rate);
        return r;
}

static const char *const throttle_names[4] = {
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
};

static int block_io_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_u16(c, v, "weight", OPTIONAL, &res->blkio_weight);
        if (r < 0)
                return r;
        res->has_blkio_weight = r > 0;
        r = get_u16(c, v, "leafWeight", OPTIONAL, &res->blkio_leaf_weight);
        if (r < 0)
                return r;
        res->has_blkio_leaf_weight = r > 0;
        r = GET_ARRAY_OF(c, v, "weightDevice", res->blkio_weight_device,
                         res->n_blkio_weight_device, weight_device_elem, NULL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(throttle_names); i++)
                r = GET_ARRAY_OF(
                        c, v, throttle_names[i], res->blkio_throttle[i],
                        res->n_blkio_throttle[i], throttle_device_elem, NULL);
        return r < 0 ? r : 0;
}

static int hugepage_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                         void *data) {
        struct spec_hugepage_limit *h = elem;
        int r = get_string(c, v, "pageSize", REQUIRED, &h->page_size);
        if (r >= 0 && !h->page_size[0])
                r = fail_key(c, "pageSize", "must not be empty");
        if (r >= 0)
                r = get_u64(c, v, "limit", REQUIRED, UINT64_MAX, &h->limit);
        return r;
}

static int dev_rule_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                         void *data) {
        struct spec_dev_rule *d = elem;
        int r = get_bool(c, v, "allow", REQUIRED, &d->allow);
        if (r < 0)
                return r;
        const char *type = "";
        r = get_str(c, v, "type", OPTIONAL, &type);
        if (r < 0)
                return r;
        if (!type[0])
                d->type = 'a';
        else if (strlen(type) == 1 && strchr("acb", type[0]))
                d->type = type[0];
        else
                return fail_key(c, "type",
                                "unknown device type '%s' (expected a, c or "
                                "b)",
                                type);
        d->major = d->minor = -1;
        r = get_i64(c, v, "major", OPTIONAL, -1, UINT32_MAX, &d->major);
        if (r >= 0)
                r = get_i64(c, v, "minor", OPTIONAL, -1, UINT32_MAX, &d->minor);
        if (r < 0)
                return r;
        const char *access = "";
        r = get_str(c, v, "access", OPTIONAL, &access);
        if (r < 0)
                return r;
        /* Absent (or "", which Go omits) means everything, as in runc. */
        if (!access[0])
                access = "rwm";
        bool rd = false, wr = false, mk = false;
        for (const char *a = access; *a; a++) {
                if (*a == 'r')
                        rd = true;
                else if (*a == 'w')
                        wr = true;
                else if (*a == 'm')
                        mk = true;
                else
                        return fail_key(c, "access",
                                        "'%s' may only contain r, w and m",
                                        access);
        }
        size_t n = 0;
        if (rd)
                d->access[n++] = 'r';
        if (wr)
                d->access[n++] = 'w';
        if (mk)
                d->access[n++] = 'm';
        d->access[n] = '\0';
        return 0;
}

static int net_priority_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                             void *data) {
        struct spec_kv *kv = elem;
        uint32_t prio = 0;
        int r = get_string(c, v, "name", REQUIRED, &kv->key);
        if (r >= 0)
                r = get_u32(c, v, "priority", REQUIRED, UINT32_MAX, &prio);
        if (r < 0)
                return r;
        kv->value = str_printf("%" PRIu32, prio);
        return kv->value ? 0 : oom(c);
}

static int network_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_u32(c, v, "classID", OPTIONAL, UINT32_MAX,
                        &res->net_class_id);
        if (r < 0)
                return r;
        res->has_net_class_id = r > 0;
        r = GET_ARRAY_OF(c, v, "priorities", res->net_priorities,
                         res->n_net_priorities, net_priority_elem, NULL);
        return r < 0 ? r : 0;
}

/* linux.resources.rdma: {"mlx4_0": {"hcaHandles": 3, "hcaObjects": 10}}
 * becomes one unified entry per device, "rdma.max" = "mlx4_0
 * hca_handle=3 hca_object=10", the line cgroup v2 takes. */
static int rdma_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        size_t n = json_object_size(v);
        if (n == 0)
                return 0;
        struct spec_kv *kv =
                realloc(res->unified, (res->n_unified + n) * sizeof(*kv));
        if (!kv)
                return oom(c);
        res->unified = kv;
        const char *dev;
        json_t *limits;
        json_object_foreach(v, dev, limits) {
                size_t old = push_key(c, dev);
                uint32_t handles = 0, objects = 0;
                int r = 0, has_h = 0, has_o = 0;
                if (!*dev)
                        r = fail(c, "device names must not be empty");
                else if (!json_is_object(limits))
                        r = fail(c, "expected an object");
                if (r >= 0)
                        r = has_h = get_u32(c, limits, "hcaHandles", OPTIONAL,
                                            UINT32_MAX, &handles);
                if (r >= 0)
                        r = has_o = get_u32(c, limits, "hcaObjects", OPTIONAL,
                                            UINT32_MAX, &objects);
                if (r >= 0 && (has_h || has_o)) {
                        char h[32] = "", o[32] = "";
                        if (has_h)
                                snprintf(h, sizeof(h), " hca_handle=%" PRIu32,
                                         handles);
                        if (has_o)
                                snprintf(o, sizeof(o), " hca_object=%" PRIu32,
                                         objects);
                        struct spec_kv *e = &res->unified[res->n_unified];
                        e->key = strdup("rdma.max");
                        e->value = str_printf("%s%s%s", dev, h, o);
                        /* Counted first so a half-made entry is freed. */
                        res->n_unified++;
                        if (!e->key || !e->value)
                                r = oom(c);
                }
                pop(c, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The body of linux.resources (also a whole resources.json). */
static int resources_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_resources *res = data;
        int r = get_object(c, v, "memory", OPTIONAL, memory_obj, res);
        if (r >= 0)
                r = get_object(c, v, "cpu", OPTIONAL, cpu_obj, res);
        if (r >= 0)
                r = get_object(c, v, "pids", OPTIONAL, pids_obj, res);
        if (r >= 0)
                r = get_object(c, v, "blockIO", OPTIONAL, block_io_obj, res);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "hugepageLimits", res->hugepage_limits,
                                 res->n_hugepage_limits, hugepage_elem, NULL);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "devices", res->devices, res->n_devices,
                                 dev_rule_elem, NULL);
        if (r < 0)
                return r;
        res->has_devices = r > 0;
        r = get_object(c, v, "network", OPTIONAL, network_obj, res);
        if (r >= 0)
                r = get_map(c, v, "unified", &res->unified, &res->n_unified);
        if (r >= 0)
                r = get_object(c, v, "rdma", OPTIONAL, rdma_obj, res);
        return r < 0 ? r : 0;
}

static int resources_member(struct ctx *c, json_t *v, void *data) {
        struct spec_resources **ret = data;
        *ret = calloc(1, sizeof(**ret));
        if (!*ret)
                return oom(c);
        return resources_obj(c, v, *ret);
}

/* ---- linux.seccomp ---------------------------------------------------- */

static int get_seccomp_action(struct ctx *c, json_t *v, const char *key,
                              enum spec_seccomp_action *ret) {
        const char *name;
        int r = get_str(c, v, key, REQUIRED, &name);
        if (r < 0)
                return r;
        *ret = seccomp_action_from_name(name);
        if (*ret == _SPEC_SECCOMP_ACTION_INVALID)
                return fail_key(c, key, "unknown action '%s'", name);
        return 0;
}

static int seccomp_arg_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                            void *data) {
        struct spec_seccomp_arg *a = elem;
        uint32_t i = 0;
        /* Syscalls have at most 6 arguments. */
        int r = get_u32(c, v, "index", REQUIRED, 5, &i);
        if (r < 0)
                return r;
        a->index = i;
        r = get_u64(c, v, "value", REQUIRED, UINT64_MAX, &a->value);
        if (r >= 0)
                r = get_u64(c, v, "valueTwo", OPTIONAL, UINT64_MAX,
                            &a->value_two);
        if (r < 0)
                return r;
        const char *op;
        r = get_str(c, v, "op", REQUIRED, &op);
        if (r < 0)
                return r;
        a->op = seccomp_op_from_name(op);
        if (a->op == _SPEC_SECCOMP_OP_INVALID)
                return fail_key(c, "op", "unknown operator '%s'", op);
        return 0;
}

static int syscall_elem(struct ctx *c, json_t *v, void *elem, size_t index,
                        void *data) {
        struct spec_seccomp_syscall *sc = elem;
        int r = get_strv(c, v, "names", REQUIRED, &sc->names);
        if (r < 0)
                return r;
        if (!sc->names[0])
                return fail_key(c, "names", "must not be empty");
        r = get_seccomp_action(c, v, "action", &sc->action);
        if (r >= 0)
                r = get_u32(c, v, "errnoRet", OPTIONAL, UINT32_MAX,
                            &sc->errno_ret);
        if (r < 0)
                return r;
        sc->has_errno_ret = r > 0;
        r = GET_ARRAY_OF(c, v, "args", sc->args, sc->n_args, seccomp_arg_elem,
                         NULL);
        return r < 0 ? r : 0;
}

static int seccomp_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_seccomp *sc = data;
        int r = get_seccomp_action(c, v, "defaultAction", &sc->default_action);
        if (r >= 0)
                r = get_u32(c, v, "defaultErrnoRet", OPTIONAL, UINT32_MAX,
                            &sc->default_errno_ret);
        if (r < 0)
                return r;
        sc->has_default_errno_ret = r > 0;
        r = get_strv(c, v, "architectures", OPTIONAL, &sc->architectures);
        if (r >= 0)
                r = get_strv(c, v, "flags", OPTIONAL, &sc->flags);
        if (r >= 0)
                r = get_abs_path(c, v, "listenerPath", OPTIONAL,
                                 &sc->listener_path);
        if (r >= 0)
                r = get_string(c, v, "listenerMetadata", OPTIONAL,
                               &sc->listener_metadata);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "syscalls", sc->syscalls, sc->n_syscalls,
                                 syscall_elem, NULL);
        return r < 0 ? r : 0;
}

static int seccomp_member(struct ctx *c, json_t *v, void *data) {
        struct spec_seccomp **ret = data;
        *ret = calloc(1, sizeof(**ret));
        if (!*ret)
                return oom(c);
        return seccomp_obj(c, v, *ret);
}

/* ---- linux: the rest -------------------------------------------------- */

static int personality_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_linux *l = data;
        int domain;
        uint64_t flags = 0;
        int r = get_named(c, v, "domain", REQUIRED, personality_domains,
                          ELEMENTSOF(personality_domains), "personality domain",
                          &domain);
        if (r >= 0)
                r = get_flag_names(c, v, "flags", personality_flags,
                                   ELEMENTSOF(personality_flags),
                                   "personality flag", &flags);
        if (r < 0)
                return r;
        l->has_personality = true;
        l->personality = (unsigned long) domain | (unsigned long) flags;
        return 0;
}

struct time_offset {
        int64_t *secs;
        uint32_t *nanosecs;
};

static int time_offset_obj(struct ctx *c, json_t *v, void *data) {
        struct time_offset *t = data;
        int r = get_i64(c, v, "secs", OPTIONAL, INT64_MIN, INT64_MAX, t->secs);
        if (r >= 0)
                r = get_u32(c, v, "nanosecs", OPTIONAL, 999999999, t->nanosecs);
        return r;
}

static int time_offsets_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_linux *l = data;
        const char *clock;
        json_t *val;
        json_object_foreach(v, clock, val) {
                struct time_offset t;
                if (strcmp(clock, "boottime") == 0)
                        t = (struct time_offset){&l->boottime_secs,
                                                 &l->boottime_nanosecs};
                else if (strcmp(clock, "monotonic") == 0)
                        t = (struct time_offset){&l->monotonic_secs,
                                                 &l->monotonic_nanosecs};
                else
                        return fail_key(c, clock,
                                        "unknown clock (expected boottime or "
                                        "monotonic)");
                int r = get_object(c, v, clock, OPTIONAL, time_offset_obj, &t);
                if (r < 0)
                        return r;
        }
        l->has_time_offsets = true;
        return 0;
}

static int intel_rdt_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_linux *l = data;
        l->has_intel_rdt = true;
        return 0;
}

static int linux_obj(struct ctx *c, json_t *v, void *data) {
        struct spec_linux *l = data;
        int r = GET_ARRAY_OF(c, v, "namespaces", l->namespaces, l->n_namespaces,
                             namespace_elem, l);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "uidMappings", l->uid_mappings,
                                 l->n_uid_mappings, idmap_elem, NULL);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "gidMappings", l->gid_mappings,
                                 l->n_gid_mappings, idmap_elem, NULL);
        if (r >= 0)
                r = GET_ARRAY_OF(c, v, "devices", l->devices, l->n_devices,
                                 device_elem, NULL);
        if (r >= 0)
                r = get_string(c, v, "cgroupsPath", OPTIONAL, &l->cgroups_path);
        if (r >= 0)
                r = get_object(c, v, "resources", OPTIONAL, resources_member,
                               &l->resources);
        if (r >= 0)
                r = get_map(c, v, "sysctl", &l->sysctl, &l->n_sysctl);
        if (r >= 0)
                r = get_object(c, v, "seccomp", OPTIONAL, seccomp_member,
                               &l->seccomp);
        if (r < 0)
                return r;

        const char *prop;
        r = get_str(c, v, "rootfsPropagation", OPTIONAL, &prop);
        if (r < 0)
                return r;
        if (r > 0) {
                int p = 0;
                while (p < _SPEC_PROP_MAX && strcmp(propagation_names[p], prop))
                        p++;
                if (p == _SPEC_PROP_MAX)
                        return fail_key(c, "rootfsPropagation",
                                        "unknown propagation '%s'", prop);
                l->rootfs_propagation = (enum spec_propagation) p;
        }

        r = get_abs_paths(c, v, "maskedPaths", &l->masked_paths);
        if (r >= 0)
                r = get_abs_paths(c, v, "readonlyPaths", &l->readonly_paths);
        if (r >= 0)
                r = get_string(c, v, "mountLabel", OPTIONAL, &l->mount_label);
        if (r >= 0)
                r = get_object(c, v, "personality", OPTIONAL, personality_obj,
                               l);
        if (r >= 0)
                r = get_object(c, v, "timeOffsets", OPTIONAL, time_offsets_obj,
                               l);
        if (r >= 0)
                r = get_object(c, v, "intelRdt", OPTIONAL, intel_rdt_obj, l);
        return r < 0 ? r : 0;
}

/* ---- the document ----------------------------------------------------- */

static int root_obj(struct ctx *c, json_t *v, void *data) {
        struct spec *s = data;
        int r = get_string(c, v, "path", REQUIRED, &s->root_path);
        if (r >= 0 && !s->root_path[0])
                r = fail_key(c, "path", "must not be empty");
        if (r >= 0)
                r = get_bool(c, v, "readonly", OPTIONAL, &s->root_readonly);
        return r < 0 ? r : 0;
}

static int spec_obj(struct ctx *c, json_t *doc, struct spec *s) {
        int r = get_string(c, doc, "ociVersion", REQUIRED, &s->oci_version);
        if (r >= 0 && !s->oci_version[0])
                r = fail_key(c, "ociVersion", "must not be empty");
        if (r >= 0)
                r = get_object(c, doc, "root", REQUIRED, root_obj, s);
        if (r >= 0)
                r = get_string(c, doc, "hostname", OPTIONAL, &s->hostname);
        if (r >= 0)
                r = get_string(c, doc, "domainname", OPTIONAL, &s->domainname);
        if (r >= 0)
                r = GET_ARRAY_OF(c, doc, "mounts", s->mounts, s->n_mounts,
                                 mount_elem, NULL);
        if (r >= 0)
                r = get_object(c, doc, "process", OPTIONAL, process_member,
                               &s->process);
        if (r >= 0)
                r = get_object(c, doc, "hooks", OPTIONAL, hooks_obj, s);
        if (r >= 0)
                r = get_map(c, doc, "annotations", &s->annotations,
                            &s->n_annotations);
        if (r >= 0)
                r = get_object(c, doc, "linux", OPTIONAL, linux_obj,
                               &s->linux_);
        return r < 0 ? r : 0;
}

int spec_parse(const char *json, size_t len, struct spec **ret,
               struct berr *err) {
        struct ctx c = {.err = err, .doc = "config.json"};
        _cleanup_(json_decrefp) json_t *doc = NULL;
        int r = load_json(&c, json, len, &doc);
        if (r < 0)
                return r;
        _cleanup_(spec_freep) struct spec *s = calloc(1, sizeof(*s));
        if (!s)
                return oom(&c);
        r = spec_obj(&c, doc, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int spec_load_file(const char *path, struct spec **ret, struct berr *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return berr_set(err, errno, "open config '%s'", path);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_fd_all(fd, SPEC_MAX_SIZE, &text, &len);
        if (r == -EFBIG)
                return berr_setx(err, EFBIG,
                                 "config '%s': larger than the 16 MiB limit",
                                 path);
        if (r < 0)
                return berr_set(err, r, "read config '%s'", path);
        return spec_parse(text, len, ret, err);
}

int spec_process_parse(const char *json, size_t len, struct spec_process **ret,
                       struct berr *err) {
        struct ctx c = {.err = err, .doc = "process.json"};
        _cleanup_(json_decrefp) json_t *doc = NULL;
        int r = load_json(&c, json, len, &doc);
        if (r < 0)
                return r;
        _cleanup_(spec_process_freep) struct spec_process *p =
                calloc(1, sizeof(*p));
        if (!p)
                return oom(&c);
        push_key(&c, "process");
        r = process_obj(&c, doc, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int spec_resources_parse(const char *json, size_t len,
                         struct spec_resources **ret, struct berr *err) {
        struct ctx c = {.err = err, .doc = "resources.json"};
        _cleanup_(json_decrefp) json_t *doc = NULL;
        int r = load_json(&c, json, len, &doc);
        if (r < 0)
                return r;
        _cleanup_(spec_resources_freep) struct spec_resources *res =
                calloc(1, sizeof(*res));
        if (!res)
                return oom(&c);
        push_key(&c, "linux.resources");
        r = resources_obj(&c, doc, res);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(res);
        return 0;
}
