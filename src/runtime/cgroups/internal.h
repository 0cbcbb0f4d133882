/* Private to src/runtime/cgroups: the host's cgroup layout and the layout
 * of struct cgroup, shared by cgroup.c (detection, creation, the
 * operations common to every mode), v1.c and v2.c (limits, freezing).
 * Only these files and tests/unit/test-cgroup.c include it.
 *
 * Everything here follows the project's error convention: negative errno,
 * and a message in the optional struct berr that names the file and the
 * value ("write '512' to '/sys/fs/cgroup/memory/berth/x/memory.limit_in_bytes':
 * Device or resource busy (...)"). */
#pragma once

#include "cgroup.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berr;
struct spec_kv;
struct spec_resources;

#define CG_MOUNT_ROOT "/sys/fs/cgroup"

/* Controllers, v1 and v2 names in one list ("io" exists only on v2,
 * "blkio", "devices", "freezer", "net_*", "cpuacct", "perf_event" only
 * on v1). */
enum cg_ctrl {
        CG_CTRL_CPU,
        CG_CTRL_CPUACCT,
        CG_CTRL_CPUSET,
        CG_CTRL_MEMORY,
        CG_CTRL_DEVICES,
        CG_CTRL_FREEZER,
        CG_CTRL_NET_CLS,
        CG_CTRL_NET_PRIO,
        CG_CTRL_BLKIO,
        CG_CTRL_PERF_EVENT,
        CG_CTRL_HUGETLB,
        CG_CTRL_PIDS,
        CG_CTRL_RDMA,
        CG_CTRL_MISC,
        CG_CTRL_IO,
        _CG_CTRL_MAX,
        _CG_CTRL_INVALID = -1,
};

#define CG_CTRL_BIT(c) (UINT32_C(1) << (c))

const char *cg_ctrl_name(enum cg_ctrl c);
/* Look a controller up by the first `len` bytes of `s`. */
enum cg_ctrl cg_ctrl_from_name(const char *s, size_t len);
/* Parse a space-separated controller list (cgroup.controllers); unknown
 * names are skipped. */
uint32_t cg_ctrl_parse_list(const char *s);

#define CG_HIER_MAX 16

struct cg_hierarchy {
        char *mount;    /* mount point, "/sys/fs/cgroup/cpu,cpuacct" */
        char *name;     /* entry below /sys/fs/cgroup ("cpu,cpuacct",
                           "systemd", "unified"; "" on a pure v2 host) */
        uint32_t ctrls; /* v1: CG_CTRL_BIT()s mounted here; v2: 0 */
        bool v2;        /* the cgroup2 hierarchy */
        bool named;     /* v1 "name=systemd" (no controllers) */
        int rootfd;     /* O_PATH fd of the mount, -1 until first use */
};

/* What the host mounts.  Loaded once per process (cg_layout_get) and kept
 * for the life of the process: the mounts don't change under a runtime
 * invocation, and re-reading mountinfo for every call would cost more
 * than the cgroup work itself. */
struct cg_layout {
        enum cgroup_mode mode;
        size_t n;
        struct cg_hierarchy h[CG_HIER_MAX];
        int ctrl_hier[_CG_CTRL_MAX]; /* v1 controller -> index in h, -1 */
        int unified;                 /* index of the cgroup2 hierarchy, -1 */
        int systemd;                 /* index of name=systemd, -1 */
        bool v2_ctrls_loaded;
        uint32_t v2_ctrls; /* the unified root's cgroup.controllers */
};

/* Fill *ret from the text of /proc/self/mountinfo.  -ENOMEDIUM when no
 * cgroup hierarchy is mounted.  Exposed for the unit tests, which feed it
 * layouts of other hosts (co-mounted "cpu,cpuacct", pure v2). */
int cg_layout_parse_mountinfo(const char *text, struct cg_layout *ret);
/* Free what cg_layout_parse_mountinfo allocated and close root fds. */
void cg_layout_done(struct cg_layout *l);
/* The cached layout of this host. */
int cg_layout_get(struct cg_layout **ret, struct berr *err);
/* The root directory of hierarchy h (opened on first use, then cached). */
int cg_root_fd(struct cg_layout *l, size_t h);
/* The controllers listed in the unified root's cgroup.controllers. */
int cg_v2_root_ctrls(struct cg_layout *l, uint32_t *ret);

#define CG_FD_UNKNOWN INT_MIN

struct cgroup {
        char *path;                        /* as given, for cgroup_path() */
        char *rel;                         /* normalized, "berth/ID" */
        size_t ncomp;                      /* components in rel */
        struct cg_layout *layout;          /* the process-wide cache */
        int fd[CG_HIER_MAX];               /* leaf directory per hierarchy:
                                              CG_FD_UNKNOWN before first use,
                                              -errno if it cannot be opened */
        size_t first_created[CG_HIER_MAX]; /* first component that this
                                              process made (ncomp: none) */
        bool fresh; /* every directory made by cgroup_create just now, so
                       every limit is still the kernel default and the
                       write order needs no reads */
};

static inline void cgroup_freep(struct cgroup **p) {
        cgroup_free(*p);
}

/* The group's directory in hierarchy h, opened on first use: a
 * descriptor, or -ENOENT when the group does not exist there. */
int cg_dirfd(struct cgroup *cg, size_t h);
/* "MOUNT/first depth components of rel[/FILE]" for messages; NULL on
 * ENOMEM.  depth == cg->ncomp is the leaf. */
char *cg_path_at(const struct cgroup *cg, size_t h, size_t depth,
                 const char *file);

/* Write `value` to FILE of the group in hierarchy h with one write(2).
 * cg_write_quiet only returns -errno; cg_write also fills err with the
 * file's full path, the value and a hint. */
int cg_write_quiet(struct cgroup *cg, size_t h, const char *file,
                   const char *value);
int cg_write(struct cgroup *cg, size_t h, const char *file, const char *value,
             struct berr *err);
/* Fill err for a failed write of `value` to the file at `depth`. */
int cg_write_error(const struct cgroup *cg, size_t h, size_t depth,
                   const char *file, const char *value, int code,
                   struct berr *err);
/* Read FILE of the group (trailing newline removed); caller frees. */
int cg_read(struct cgroup *cg, size_t h, const char *file, char **ret,
            struct berr *err);
/* Find "KEY VALUE" in a flat-keyed file's text (memory.events,
 * cgroup.events, memory.oom_control).  -ENODATA if the key is absent. */
int cg_keyed_get(const char *text, const char *key, uint64_t *ret);

/* Monotonic microseconds, and a short sleep. */
uint64_t cg_now_us(void);
void cg_sleep_us(uint64_t us);

/* Check a key of linux.resources.unified: a file name of a controller in
 * `allowed` ("memory.high"), never a path, never a core cgroup.* file. */
int cg_unified_key_check(const char *key, uint32_t allowed, bool hybrid,
                         struct berr *err);

/* v1.c */
int cg_v1_apply(struct cgroup *cg, const struct spec_resources *r,
                struct berr *err);
/* A new cpuset group has no CPUs and memory nodes, and no task can join
 * it until it has: copy them from the parent unless clone_children did
 * (and set clone_children on parents we create). */
int cg_v1_cpuset_init(struct cgroup *cg, size_t h, size_t depth, int parentfd,
                      int fd, bool leaf, struct berr *err);
int cg_v1_freeze(struct cgroup *cg, size_t h, bool frozen, struct berr *err);
int cg_v1_is_frozen(struct cgroup *cg, size_t h, bool *ret);
int cg_v1_oom_kills(struct cgroup *cg, size_t h, uint64_t *ret);

/* v2.c */
struct bpf_insn;
struct spec_dev_rule;
/* cgroup v2 device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program
 * (devices_bpf.c): build it, or build, load and attach it to the group
 * directory `cgfd`, replacing programs attached earlier. */
int cg_bpf_devices_build(const struct spec_dev_rule *rules, size_t n,
                         struct bpf_insn **ret, size_t *ret_n);
int cg_bpf_devices_attach(int cgfd, const struct spec_dev_rule *rules, size_t n,
                          struct berr *err);

int cg_v2_apply(struct cgroup *cg, size_t h, const struct spec_resources *r,
                struct berr *err);
/* Enable every controller available to the new inner node at `fd` (its
 * cgroup.controllers) in its cgroup.subtree_control.  Only called on
 * directories this process just made. */
/* On a pure v2 host, a parent the container's group goes below but that
 * berth did not make (the root, a --cgroup-parent): enable there the
 * controllers berth's limits need and the parent has but does not pass
 * down — as runc and crun do, and as systemd does at the root of its
 * hosts.  Nothing is written when they are on already; failures are left
 * for the limit writes to report. */
void cg_v2_delegate_path(int fd);
int cg_v2_enable_subtree(struct cgroup *cg, size_t h, size_t depth, int fd,
                         struct berr *err);
int cg_v2_hugetlb(struct cgroup *cg, size_t h, const struct spec_resources *r,
                  struct berr *err);
int cg_v2_unified(struct cgroup *cg, size_t h, const struct spec_kv *kv,
                  size_t n, struct berr *err);
int cg_v2_freeze(struct cgroup *cg, size_t h, bool frozen, struct berr *err);
int cg_v2_is_frozen(struct cgroup *cg, size_t h, bool *ret);
int cg_v2_oom_kills(struct cgroup *cg, size_t h, uint64_t *ret);
/* cgroup.kill (Linux 5.14+): -ENOENT when the kernel lacks it. */
int cg_v2_kill(struct cgroup *cg, size_t h);
/* A huge page size as the spec writes it ("2MB", "1GB"). */
bool cg_hugetlb_size_valid(const char *s);
