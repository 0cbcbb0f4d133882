/* The OCI runtime configuration (config.json, runtime-spec v1.2) as plain C
 * data.  spec_parse() checks types and values of every field it knows and
 * names the offending field in its error ("linux.namespaces[2].type:
 * unknown namespace 'foo'").  Everything below is owned by struct spec and
 * freed by spec_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berr;

enum spec_ns {
        SPEC_NS_PID,
        SPEC_NS_NET,
        SPEC_NS_MNT,
        SPEC_NS_IPC,
        SPEC_NS_UTS,
        SPEC_NS_USER,
        SPEC_NS_CGROUP,
        SPEC_NS_TIME,
        _SPEC_NS_MAX,
        _SPEC_NS_INVALID = -1,
};

struct spec_namespace {
        enum spec_ns type;
        char *path; /* NULL: create a new one */
};

struct spec_idmap {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

struct spec_rlimit {
        int resource; /* RLIMIT_* */
        char *name;   /* as written, e.g. "RLIMIT_NOFILE" */
        uint64_t soft;
        uint64_t hard;
};

/* Capability sets as bitmasks of CAP_* numbers. */
struct spec_caps {
        uint64_t bounding;
        uint64_t effective;
        uint64_t inheritable;
        uint64_t permitted;
        uint64_t ambient;
};

struct spec_user {
        uint32_t uid;
        uint32_t gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char *username; /* Windows-only in the spec; kept for errors */
};

struct spec_process {
        bool terminal;
        bool has_console_size;
        unsigned console_height;
        unsigned console_width;
        struct spec_user user;
        char **args;
        char *command_line;
        char **env;
        char *cwd;
        bool has_caps;
        struct spec_caps caps;
        struct spec_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile;
        char *selinux_label;
        bool has_io_priority;
        int io_priority_class; /* IOPRIO_CLASS_* */
        int io_priority_level;
        bool has_scheduler;
        int sched_policy;
        int sched_nice;
        int sched_priority;
        uint64_t sched_flags;
        uint64_t sched_runtime, sched_deadline, sched_period;
        char **exec_cpu_affinity_initial; /* reserved */
};

enum spec_propagation {
        SPEC_PROP_NONE = 0,
        SPEC_PROP_PRIVATE,
        SPEC_PROP_RPRIVATE,
        SPEC_PROP_SHARED,
        SPEC_PROP_RSHARED,
        SPEC_PROP_SLAVE,
        SPEC_PROP_RSLAVE,
        SPEC_PROP_UNBINDABLE,
        SPEC_PROP_RUNBINDABLE,
        _SPEC_PROP_MAX,
};

struct spec_mount {
        char *destination;
        char *type;   /* may be NULL: "bind" implied by options */
        char *source; /* may be NULL */
        char **options;
        /* Derived from options by spec_parse: */
        unsigned long flags;       /* MS_* to set */
        unsigned long clear_flags; /* MS_* explicitly cleared ("rw", "suid") */
        uint64_t attr_set;         /* MOUNT_ATTR_* for recursive variants */
        uint64_t attr_clr;
        enum spec_propagation propagation;
        bool bind;      /* "bind" or "rbind" option, or type "bind" */
        bool recursive; /* "rbind" */
        bool idmap;     /* "idmap" / "ridmap" */
        bool tmpcopyup; /* crun/runc extension, ignored */
        char *data;     /* remaining options joined by ',' (fs data) */
        struct spec_idmap *uid_mappings;
        size_t n_uid_mappings;
        struct spec_idmap *gid_mappings;
        size_t n_gid_mappings;
};

enum spec_hook_kind {
        SPEC_HOOK_PRESTART,
        SPEC_HOOK_CREATE_RUNTIME,
        SPEC_HOOK_CREATE_CONTAINER,
        SPEC_HOOK_START_CONTAINER,
        SPEC_HOOK_POSTSTART,
        SPEC_HOOK_POSTSTOP,
        _SPEC_HOOK_MAX,
};

struct spec_hook {
        char *path;
        char **args;
        char **env;
        bool has_timeout;
        int timeout; /* seconds, > 0 */
};

struct spec_device {
        char type; /* 'c', 'b', 'u', 'p' */
        char *path;
        int64_t major;
        int64_t minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid;
        uint32_t uid;
        bool has_gid;
        uint32_t gid;
};

/* Device cgroup rule.  major/minor -1 means wildcard. */
struct spec_dev_rule {
        bool allow;
        char type; /* 'a', 'c', 'b' */
        int64_t major;
        int64_t minor;
        char access[4]; /* subset of "rwm", NUL-terminated */
};

struct spec_weight_device {
        int64_t major;
        int64_t minor;
        bool has_weight;
        uint16_t weight;
        bool has_leaf_weight;
        uint16_t leaf_weight;
};

struct spec_throttle_device {
        int64_t major;
        int64_t minor;
        uint64_t rate;
};

struct spec_hugepage_limit {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
};

struct spec_kv {
        char *key;
        char *value;
};

/* Optional integers carry a has_ flag; absent means "leave unchanged". */
struct spec_resources {
        /* memory */
        bool has_memory_limit;
        int64_t memory_limit; /* -1: unlimited */
        bool has_memory_reservation;
        int64_t memory_reservation;
        bool has_memory_swap;
        int64_t memory_swap; /* memory+swap, -1 unlimited */
        bool has_memory_kernel;
        int64_t memory_kernel;
        bool has_memory_kernel_tcp;
        int64_t memory_kernel_tcp;
        bool has_memory_swappiness;
        uint64_t memory_swappiness;
        bool has_disable_oom_killer;
        bool disable_oom_killer;
        bool has_use_hierarchy;
        bool use_hierarchy;
        bool check_before_update;
        /* cpu */
        bool has_cpu_shares;
        uint64_t cpu_shares;
        bool has_cpu_quota;
        int64_t cpu_quota; /* -1: unlimited */
        bool has_cpu_burst;
        uint64_t cpu_burst;
        bool has_cpu_period;
        uint64_t cpu_period;
        bool has_cpu_realtime_runtime;
        int64_t cpu_realtime_runtime;
        bool has_cpu_realtime_period;
        uint64_t cpu_realtime_period;
        char *cpu_cpus;
        char *cpu_mems;
        bool has_cpu_idle;
        int64_t cpu_idle;
        /* pids */
        bool has_pids_limit;
        int64_t pids_limit; /* -1 or 0: unlimited (0 is "max" in runc) */
        /* blockIO */
        bool has_blkio_weight;
        uint16_t blkio_weight;
        bool has_blkio_leaf_weight;
        uint16_t blkio_leaf_weight;
        struct spec_weight_device *blkio_weight_device;
        size_t n_blkio_weight_device;
        struct spec_throttle_device *blkio_throttle[4]; /* read_bps,
                                                  write_bps, read_iops,
                                                  write_iops */
        size_t n_blkio_throttle[4];
        /* hugepages */
        struct spec_hugepage_limit *hugepage_limits;
        size_t n_hugepage_limits;
        /* devices */
        struct spec_dev_rule *devices;
        size_t n_devices;
        bool has_devices;
        /* network (v1 net_cls / net_prio) */
        bool has_net_class_id;
        uint32_t net_class_id;
        struct spec_kv *net_priorities; /* value: decimal priority */
        size_t n_net_priorities;
        /* rdma and cgroup v2 "unified" raw key/values */
        struct spec_kv *unified;
        size_t n_unified;
};

enum spec_seccomp_action {
        SPEC_SECCOMP_KILL, /* == KILL_THREAD */
        SPEC_SECCOMP_KILL_PROCESS,
        SPEC_SECCOMP_KILL_THREAD,
        SPEC_SECCOMP_TRAP,
        SPEC_SECCOMP_ERRNO,
        SPEC_SECCOMP_TRACE,
        SPEC_SECCOMP_ALLOW,
        SPEC_SECCOMP_LOG,
        SPEC_SECCOMP_NOTIFY,
        _SPEC_SECCOMP_ACTION_MAX,
        _SPEC_SECCOMP_ACTION_INVALID = -1,
};

enum spec_seccomp_op {
        SPEC_SECCOMP_OP_NE,
        SPEC_SECCOMP_OP_LT,
        SPEC_SECCOMP_OP_LE,
        SPEC_SECCOMP_OP_EQ,
        SPEC_SECCOMP_OP_GE,
        SPEC_SECCOMP_OP_GT,
        SPEC_SECCOMP_OP_MASKED_EQ,
        _SPEC_SECCOMP_OP_MAX,
        _SPEC_SECCOMP_OP_INVALID = -1,
};

struct spec_seccomp_arg {
        unsigned index;
        uint64_t value;
        uint64_t value_two;
        enum spec_seccomp_op op;
};

struct spec_seccomp_syscall {
        char **names;
        enum spec_seccomp_action action;
        bool has_errno_ret;
        uint32_t errno_ret;
        struct spec_seccomp_arg *args;
        size_t n_args;
};

struct spec_seccomp {
        enum spec_seccomp_action default_action;
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        char **architectures; /* "SCMP_ARCH_X86_64", ... */
        char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ... */
        char *listener_path;
        char *listener_metadata;
        struct spec_seccomp_syscall *syscalls;
        size_t n_syscalls;
};

struct spec_linux {
        struct spec_namespace *namespaces;
        size_t n_namespaces;
        struct spec_idmap *uid_mappings;
        size_t n_uid_mappings;
        struct spec_idmap *gid_mappings;
        size_t n_gid_mappings;
        struct spec_device *devices;
        size_t n_devices;
        char *cgroups_path;
        struct spec_resources *resources; /* NULL when absent */
        struct spec_kv *sysctl;
        size_t n_sysctl;
        struct spec_seccomp *seccomp; /* NULL when absent */
        enum spec_propagation rootfs_propagation;
        char **masked_paths;
        char **readonly_paths;
        char *mount_label;
        bool has_personality;
        unsigned long personality; /* PER_LINUX / PER_LINUX32 */
        bool has_time_offsets;
        int64_t boottime_secs;
        uint32_t boottime_nanosecs;
        int64_t monotonic_secs;
        uint32_t monotonic_nanosecs;
        bool has_intel_rdt;
};

struct spec {
        char *oci_version;
        char *root_path; /* as written; resolved against the bundle later */
        bool root_readonly;
        char *hostname;
        char *domainname;
        struct spec_mount *mounts;
        size_t n_mounts;
        struct spec_process *process; /* NULL allowed for create only */
        struct spec_hook *hooks[_SPEC_HOOK_MAX];
        size_t n_hooks[_SPEC_HOOK_MAX];
        struct spec_kv *annotations;
        size_t n_annotations;
        struct spec_linux linux_;
};

/* Parse config.json text.  On failure fills err with "FIELD: reason". */
int spec_parse(const char *json, size_t len, struct spec **ret,
               struct berr *err);
int spec_load_file(const char *path, struct spec **ret, struct berr *err);
void spec_free(struct spec *s);

/* Parse a process.json document (used by `exec --process`). */
int spec_process_parse(const char *json, size_t len, struct spec_process **ret,
                       struct berr *err);
void spec_process_free(struct spec_process *p);

/* Parse a linux.resources document (used by `update --resources`). */
int spec_resources_parse(const char *json, size_t len,
                         struct spec_resources **ret, struct berr *err);
void spec_resources_free(struct spec_resources *r);

/* Lookups shared by the parser and the `features` command. */
const char *spec_ns_name(enum spec_ns ns);
enum spec_ns spec_ns_from_name(const char *name);
int spec_ns_clone_flag(enum spec_ns ns);
int spec_cap_from_name(const char *name); /* "CAP_SYS_ADMIN" -> 21 */
const char *spec_cap_name(int cap);
int spec_cap_last(void);
int spec_rlimit_from_name(const char *name);
const char *spec_seccomp_action_name(enum spec_seccomp_action a);
const char *spec_seccomp_op_name(enum spec_seccomp_op op);
/* The names of every mount option spec_parse understands (NULL-terminated). */
extern const char *const spec_mount_option_names[];

/* Find the namespace entry of a type, or NULL. */
const struct spec_namespace *spec_find_ns(const struct spec *s,
                                          enum spec_ns type);
