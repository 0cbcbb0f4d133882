/* cgroup v1 limits (pure v1 hosts and the v1 half of hybrid hosts), the
 * v1 freezer, and cpuset set-up of new groups.
 *
 * Runs in the runtime process in the host's namespaces.  Every write goes
 * to a file of the container's own leaf group (or, for cpuset and
 * clone_children, to a directory cgroup_create has just made); the only
 * thing read from a foreign group is the parent's cpuset.cpus/mems.
 *
 * Values of 0 for memory, swap, reservation, CPU shares, quota and period
 * mean "not set", as in runc: container engines write 0 for "no limit"
 * and the kernel would take 0 literally (an immediate OOM kill for a
 * memory limit of 0). */
#include "internal.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The hierarchy of a v1 controller that a field needs, or an error naming
 * the field. */
static int v1_hier(struct cgroup *cg, enum cg_ctrl c, const char *field,
                   struct berr *err) {
        int h = cg->layout->ctrl_hier[c];
        if (h < 0)
                return berr_setx(err, EOPNOTSUPP,
                                 "%s: the '%s' cgroup controller is not "
                                 "mounted on this host",
                                 field, cg_ctrl_name(c));
        int fd = cg_dirfd(cg, (size_t) h);
        if (fd < 0) {
                _cleanup_free_ char *path =
                        cg_path_at(cg, (size_t) h, cg->ncomp, NULL);
                return berr_set(err, fd, "%s: open cgroup '%s'", field,
                                path ? path : cg->path);
        }
        return h;
}

static int write_i64(struct cgroup *cg, int h, const char *file, int64_t v,
                     struct berr *err) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return cg_write(cg, (size_t) h, file, buf, err);
}

static int write_u64(struct cgroup *cg, int h, const char *file, uint64_t v,
                     struct berr *err) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cg_write(cg, (size_t) h, file, buf, err);
}

/* ---- memory --------------------------------------------------------- */

static int v1_set_swap(struct cgroup *cg, int h, int64_t sw, bool lim,
                       int64_t mem, struct berr *err) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, sw);
        int r = cg_write_quiet(cg, (size_t) h, "memory.memsw.limit_in_bytes",
                               buf);
        if (r == -ENOENT) {
                /* No swap accounting (swapaccount=0, or no swap support):
                 * "no more swap than memory" and "unlimited" need no
                 * file; anything else cannot be enforced. */
                if (sw == -1 || (lim && sw == mem))
                        return 0;
                _cleanup_free_ char *path =
                        cg_path_at(cg, (size_t) h, cg->ncomp,
                                   "memory.memsw.limit_in_bytes");
                return berr_setx(err, EOPNOTSUPP,
                                 "linux.resources.memory.swap: cannot limit "
                                 "memory+swap to %s: '%s' does not exist "
                                 "because swap accounting is off (boot "
                                 "with swapaccount=1, or set swap equal "
                                 "to the memory limit)",
                                 buf, path ? path : "memsw");
        }
        if (r < 0)
                return cg_write_error(cg, (size_t) h, cg->ncomp,
                                      "memory.memsw.limit_in_bytes", buf, r,
                                      err);
        return 0;
}

static int v1_memory(struct cgroup *cg, const struct spec_resources *r,
                     struct berr *err) {
        bool lim = r->has_memory_limit && r->memory_limit != 0;
        bool swap = r->has_memory_swap && r->memory_swap != 0;
        bool resv = r->has_memory_reservation && r->memory_reservation != 0;
        bool ktcp = r->has_memory_kernel_tcp && r->memory_kernel_tcp != 0;
        /* On a group made just now the OOM killer is enabled already. */
        bool oom = r->has_disable_oom_killer &&
                   (r->disable_oom_killer || !cg->fresh);
        /* Hierarchical accounting is always on in current kernels; only
         * asking to turn it off needs a write (which they refuse). */
        bool hier = r->has_use_hierarchy && !r->use_hierarchy;
        /* memory.kmem.limit_in_bytes (linux.resources.memory.kernel) is
         * deprecated by the spec and gone from current kernels: ignored,
         * as runc and crun do. */
        if (!lim && !swap && !resv && !ktcp && !oom && !hier &&
            !r->has_memory_swappiness)
                return 0;
        int h = v1_hier(cg, CG_CTRL_MEMORY, "linux.resources.memory", err);
        if (h < 0)
                return h;

        int64_t mem = r->memory_limit, sw = r->memory_swap;
        if (lim && mem < -1)
                return berr_setx(
                        err, EINVAL,
                        "linux.resources.memory.limit: invalid value %" PRId64,
                        mem);
        if (swap && sw < -1)
                return berr_setx(
                        err, EINVAL,
                        "linux.resources.memory.swap: invalid value %" PRId64,
                        sw);
        /* "Unlimited memory" without a swap value means unlimited swap
         * too, or the old memsw limit would still cap the group. */
        if (lim && mem == -1 && !swap) {
                swap = true;
                sw = -1;
        }
        if (lim && swap && mem != -1 && sw != -1 && sw < mem)
                return berr_setx(err, EINVAL,
                                 "linux.resources.memory.swap (%" PRId64
                                 ") must not be below "
                                 "linux.resources.memory.limit (%" PRId64
                                 "): it counts memory plus swap",
                                 sw, mem);
        int q;
        if (lim || swap) {
                /* The kernel keeps memory <= memory+swap at every step:
                 * when raising, write memsw first; when lowering, the
                 * memory limit first (runc's order).  A new group is
                 * unlimited, so memory goes first without a read. */
                bool swap_first = false;
                if (lim && swap) {
                        if (sw == -1)
                                swap_first = true;
                        else if (!cg->fresh) {
                                _cleanup_free_ char *cur = NULL;
                                uint64_t cv;
                                q = cg_read(cg, (size_t) h,
                                            "memory.limit_in_bytes", &cur, err);
                                if (q < 0)
                                        return q;
                                if (parse_u64(cur, &cv) == 0)
                                        swap_first = cv < (uint64_t) sw;
                        }
                }
                if (swap_first) {
                        q = v1_set_swap(cg, h, sw, lim, mem, err);
                        if (q < 0)
                                return q;
                }
                if (lim) {
                        q = write_i64(cg, h, "memory.limit_in_bytes", mem, err);
                        if (q < 0)
                                return q;
                }
                if (swap && !swap_first) {
                        q = v1_set_swap(cg, h, sw, lim, mem, err);
                        if (q < 0)
                                return q;
                }
        }
        if (resv) {
                q = write_i64(cg, h, "memory.soft_limit_in_bytes",
                              r->memory_reservation, err);
                if (q < 0)
                        return q;
        }
        if (ktcp) {
                q = write_i64(cg, h, "memory.kmem.tcp.limit_in_bytes",
                              r->memory_kernel_tcp, err);
                if (q < 0)
                        return q;
        }
        if (r->has_memory_swappiness) {
                if (r->memory_swappiness > 100)
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.memory.swappiness: %" PRIu64
                                " is not in 0..100",
                                r->memory_swappiness);
                q = write_u64(cg, h, "memory.swappiness", r->memory_swappiness,
                              err);
                if (q < 0)
                        return q;
        }
        if (oom) {
                q = cg_write(cg, (size_t) h, "memory.oom_control",
                             r->disable_oom_killer ? "1" : "0", err);
                if (q < 0)
                        return q;
        }
        if (hier) {
                q = cg_write(cg, (size_t) h, "memory.use_hierarchy", "0", err);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- cpu, cpuset, pids ---------------------------------------------- */

static int v1_cpu(struct cgroup *cg, const struct spec_resources *r,
                  struct berr *err) {
        bool shares = r->has_cpu_shares && r->cpu_shares != 0;
        bool quota = r->has_cpu_quota && r->cpu_quota != 0;
        bool period = r->has_cpu_period && r->cpu_period != 0;
        if (!shares && !quota && !period && !r->has_cpu_burst &&
            !r->has_cpu_realtime_runtime && !r->has_cpu_realtime_period &&
            !r->has_cpu_idle)
                return 0;
        int h = v1_hier(cg, CG_CTRL_CPU, "linux.resources.cpu", err);
        if (h < 0)
                return h;
        int q;
        if (shares) {
                q = write_u64(cg, h, "cpu.shares", r->cpu_shares, err);
                if (q < 0)
                        return q;
        }
        bool period_pending = false;
        if (period) {
                char buf[24];
                snprintf(buf, sizeof(buf), "%" PRIu64, r->cpu_period);
                q = cg_write_quiet(cg, (size_t) h, "cpu.cfs_period_us", buf);
                /* A shorter period can be refused (EINVAL) while the old
                 * quota/new period exceeds the parent's bandwidth: set the
                 * quota first, then retry the period. */
                if (q == -EINVAL && quota)
                        period_pending = true;
                else if (q < 0)
                        return cg_write_error(cg, (size_t) h, cg->ncomp,
                                              "cpu.cfs_period_us", buf, q, err);
        }
        if (quota) {
                if (r->cpu_quota < -1)
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.cpu.quota: invalid value "
                                "%" PRId64,
                                r->cpu_quota);
                q = write_i64(cg, h, "cpu.cfs_quota_us", r->cpu_quota, err);
                if (q < 0)
                        return q;
                if (period_pending) {
                        q = write_u64(cg, h, "cpu.cfs_period_us", r->cpu_period,
                                      err);
                        if (q < 0)
                                return q;
                }
        }
        if (r->has_cpu_burst) {
                q = write_u64(cg, h, "cpu.cfs_burst_us", r->cpu_burst, err);
                if (q < 0)
                        return q;
        }
        /* Period before runtime, so the runtime fits the new period. */
        if (r->has_cpu_realtime_period) {
                q = write_u64(cg, h, "cpu.rt_period_us", r->cpu_realtime_period,
                              err);
                if (q < 0)
                        return q;
        }
        if (r->has_cpu_realtime_runtime) {
                q = write_i64(cg, h, "cpu.rt_runtime_us",
                              r->cpu_realtime_runtime, err);
                if (q < 0)
                        return q;
        }
        if (r->has_cpu_idle) {
                q = write_i64(cg, h, "cpu.idle", r->cpu_idle, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int v1_cpuset(struct cgroup *cg, const struct spec_resources *r,
                     struct berr *err) {
        bool cpus = r->cpu_cpus && *r->cpu_cpus;
        bool mems = r->cpu_mems && *r->cpu_mems;
        if (!cpus && !mems)
                return 0;
        int h = v1_hier(cg, CG_CTRL_CPUSET,
                        cpus ? "linux.resources.cpu.cpus"
                             : "linux.resources.cpu.mems",
                        err);
        if (h < 0)
                return h;
        int q = 0;
        if (cpus)
                q = cg_write(cg, (size_t) h, "cpuset.cpus", r->cpu_cpus, err);
        if (q == 0 && mems)
                q = cg_write(cg, (size_t) h, "cpuset.mems", r->cpu_mems, err);
        return q;
}

static int v1_pids(struct cgroup *cg, const struct spec_resources *r,
                   struct berr *err) {
        if (!r->has_pids_limit)
                return 0;
        int h = v1_hier(cg, CG_CTRL_PIDS, "linux.resources.pids.limit", err);
        if (h < 0)
                return h;
        if (r->pids_limit <= 0)
                return cg_write(cg, (size_t) h, "pids.max", "max", err);
        return write_i64(cg, h, "pids.max", r->pids_limit, err);
}

/* ---- blkio ---------------------------------------------------------- */

/* Proportional weights live in blkio.* under CFQ (kernels before 5.0) and
 * in blkio.bfq.* under BFQ: write whichever this kernel has. */
static int v1_weight_write(struct cgroup *cg, int h, const char *cfq,
                           const char *bfq, const char *value,
                           const char *field, struct berr *err) {
        int q = cg_write_quiet(cg, (size_t) h, bfq, value);
        if (q == -ENOENT) {
                q = cg_write_quiet(cg, (size_t) h, cfq, value);
                if (q == -ENOENT) {
                        _cleanup_free_ char *path =
                                cg_path_at(cg, (size_t) h, cg->ncomp, NULL);
                        return berr_setx(err, EOPNOTSUPP,
                                         "%s: neither '%s' nor '%s' exists in "
                                         "'%s' (no proportional-weight I/O "
                                         "scheduler such as BFQ is active)",
                                         field, cfq, bfq,
                                         path ? path : cg->path);
                }
                if (q < 0)
                        return cg_write_error(cg, (size_t) h, cg->ncomp, cfq,
                                              value, q, err);
                return 0;
        }
        if (q < 0)
                return cg_write_error(cg, (size_t) h, cg->ncomp, bfq, value, q,
                                      err);
        return 0;
}

static bool dev_ok(int64_t major, int64_t minor) {
        return major >= 0 && minor >= 0 && major <= UINT32_MAX &&
               minor <= UINT32_MAX;
}

static int v1_blkio(struct cgroup *cg, const struct spec_resources *r,
                    struct berr *err) {
        static const char *const throttle_files[4] = {
                "blkio.throttle.read_bps_device",
                "blkio.throttle.write_bps_device",
                "blkio.throttle.read_iops_device",
                "blkio.throttle.write_iops_device",
        };
        bool weight = r->has_blkio_weight && r->blkio_weight != 0;
        bool leaf = r->has_blkio_leaf_weight && r->blkio_leaf_weight != 0;
        size_t nthrottle = 0;
        for (size_t t = 0; t < 4; t++)
                nthrottle += r->n_blkio_throttle[t];
        if (!weight && !leaf && !r->n_blkio_weight_device && !nthrottle)
                return 0;
        int h = v1_hier(cg, CG_CTRL_BLKIO, "linux.resources.blockIO", err);
        if (h < 0)
                return h;
        char buf[64];
        int q;
        if (weight) {
                snprintf(buf, sizeof(buf), "%u", (unsigned) r->blkio_weight);
                q = v1_weight_write(cg, h, "blkio.weight", "blkio.bfq.weight",
                                    buf, "linux.resources.blockIO.weight", err);
                if (q < 0)
                        return q;
        }
        if (leaf) {
                /* CFQ only; no BFQ equivalent. */
                snprintf(buf, sizeof(buf), "%u",
                         (unsigned) r->blkio_leaf_weight);
                q = cg_write(cg, (size_t) h, "blkio.leaf_weight", buf, err);
                if (q < 0)
                        return q;
        }
        for (size_t i = 0; i < r->n_blkio_weight_device; i++) {
                const struct spec_weight_device *d = &r->blkio_weight_device[i];
                if (!dev_ok(d->major, d->minor))
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.blockIO.weightDevice[%zu]: "
                                "invalid device %" PRId64 ":%" PRId64,
                                i, d->major, d->minor);
                if (d->has_weight) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u",
                                 d->major, d->minor, (unsigned) d->weight);
                        q = v1_weight_write(
                                cg, h, "blkio.weight_device",
                                "blkio.bfq.weight_device", buf,
                                "linux.resources.blockIO.weightDevice", err);
                        if (q < 0)
                                return q;
                }
                if (d->has_leaf_weight) {
                        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u",
                                 d->major, d->minor, (unsigned) d->leaf_weight);
                        q = cg_write(cg, (size_t) h, "blkio.leaf_weight_device",
                                     buf, err);
                        if (q < 0)
                                return q;
                }
        }
        for (size_t t = 0; t < 4; t++)
                for (size_t i = 0; i < r->n_blkio_throttle[t]; i++) {
                        const struct spec_throttle_device *d =
                                &r->blkio_throttle[t][i];
                        if (!dev_ok(d->major, d->minor))
                                return berr_setx(err, EINVAL,
                                                 "%s: invalid device "
                                                 "%" PRId64 ":%" PRId64,
                                                 throttle_files[t], d->major,
                                                 d->minor);
                        snprintf(buf, sizeof(buf),
                                 "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                                 d->minor, d->rate);
                        q = cg_write(cg, (size_t) h, throttle_files[t], buf,
                                     err);
                        if (q < 0)
                                return q;
                }
        return 0;
}

/* ---- hugetlb -------------------------------------------------------- */

static int v1_hugetlb(struct cgroup *cg, const struct spec_resources *r,
                      struct berr *err) {
        if (!r->n_hugepage_limits)
                return 0;
        struct cg_layout *l = cg->layout;
        /* Hybrid hosts may carry hugetlb in the unified hierarchy only
         * (as this project's build machines do). */
        if (l->ctrl_hier[CG_CTRL_HUGETLB] < 0 && l->unified >= 0)
                return cg_v2_hugetlb(cg, (size_t) l->unified, r, err);
        int h = v1_hier(cg, CG_CTRL_HUGETLB, "linux.resources.hugepageLimits",
                        err);
        if (h < 0)
                return h;
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct spec_hugepage_limit *hl = &r->hugepage_limits[i];
                if (!cg_hugetlb_size_valid(hl->page_size))
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.hugepageLimits[%zu]: invalid "
                                "page size '%s'",
                                i, hl->page_size ? hl->page_size : "");
                char file[64];
                snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes",
                         hl->page_size);
                int q = write_u64(cg, h, file, hl->limit, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- devices -------------------------------------------------------- */

static void dev_num(char *buf, size_t n, int64_t v) {
        if (v < 0)
                snprintf(buf, n, "*");
        else
                snprintf(buf, n, "%" PRId64, v);
}

/* devices.allow and devices.deny take one rule per write(2); a spec
 * carries a dozen rules, so each file is opened once and written many
 * times. */
struct dev_files {
        struct cgroup *cg;
        int h;
        int fd[2]; /* deny, allow */
};

static void dev_files_close(struct dev_files *df) {
        for (size_t i = 0; i < 2; i++)
                if (df->fd[i] >= 0)
                        close(df->fd[i]);
}

static int dev_emit(struct dev_files *df, bool allow, const char *rule,
                    struct berr *err) {
        const char *file = allow ? "devices.allow" : "devices.deny";
        int *fd = &df->fd[allow];
        int q = 0;
        if (*fd < 0) {
                int dir = cg_dirfd(df->cg, (size_t) df->h);
                *fd = dir < 0 ? dir : openat(dir, file, O_WRONLY | O_CLOEXEC);
                if (*fd < 0)
                        q = dir < 0 ? dir : -errno;
        }
        if (q == 0) {
                size_t len = strlen(rule);
                ssize_t n = write(*fd, rule, len);
                q = n < 0 ? -errno : (size_t) n != len ? -EIO : 0;
        }
        if (q < 0)
                return cg_write_error(df->cg, (size_t) df->h, df->cg->ncomp,
                                      file, rule, q, err);
        return 0;
}

static int dev_rule(struct dev_files *df, bool allow, char type, int64_t major,
                    int64_t minor, const char *access, struct berr *err) {
        char ma[24], mi[24], rule[80];
        dev_num(ma, sizeof(ma), major);
        dev_num(mi, sizeof(mi), minor);
        snprintf(rule, sizeof(rule), "%c %s:%s %s", type, ma, mi, access);
        return dev_emit(df, allow, rule, err);
}

static int v1_devices(struct cgroup *cg, const struct spec_resources *r,
                      struct berr *err) {
        if (!r->has_devices)
                return 0;
        int h = v1_hier(cg, CG_CTRL_DEVICES, "linux.resources.devices", err);
        if (h < 0)
                return h;
        _cleanup_(dev_files_close) struct dev_files df = {
                .cg = cg, .h = h, .fd = {-1, -1}};
        /* Start from "nothing allowed", then replay the rules in order:
         * the spec's rules are a list where later entries win. */
        int q = dev_emit(&df, false, "a", err);
        if (q < 0)
                return q;
        for (size_t i = 0; i < r->n_devices; i++) {
                const struct spec_dev_rule *d = &r->devices[i];
                const char *acc = d->access[0] ? d->access : "rwm";
                if (strspn(acc, "rwm") != strlen(acc))
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.devices[%zu]: invalid "
                                "access '%s'",
                                i, acc);
                bool all_access = strchr(acc, 'r') && strchr(acc, 'w') &&
                                  strchr(acc, 'm');
                bool wild = d->major < 0 && d->minor < 0;
                if (d->type == 'a') {
                        /* The kernel reads "a" as "every device, every
                         * access" whatever follows it.  Anything narrower
                         * is spelled as a char and a block rule. */
                        if (wild && all_access) {
                                if (i == 0 && !d->allow)
                                        continue; /* written above */
                                q = dev_emit(&df, d->allow, "a", err);
                        } else {
                                q = dev_rule(&df, d->allow, 'c', d->major,
                                             d->minor, acc, err);
                                if (q == 0)
                                        q = dev_rule(&df, d->allow, 'b',
                                                     d->major, d->minor, acc,
                                                     err);
                        }
                } else if (d->type == 'c' || d->type == 'b')
                        q = dev_rule(&df, d->allow, d->type, d->major, d->minor,
                                     acc, err);
                else
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.devices[%zu]: invalid type "
                                "'%c'",
                                i, d->type ? d->type : '?');
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- network -------------------------------------------------------- */

/* net_cls/net_prio are applied where mounted and skipped otherwise: most
 * hosts (this project's included) don't mount them, and what they feed
 * (tc classes, priority maps) is set up outside the runtime. */
static int v1_network(struct cgroup *cg, const struct spec_resources *r,
                      struct berr *err) {
        struct cg_layout *l = cg->layout;
        int q;
        if (r->has_net_class_id && l->ctrl_hier[CG_CTRL_NET_CLS] >= 0) {
                int h = v1_hier(cg, CG_CTRL_NET_CLS,
                                "linux.resources.network.classID", err);
                if (h < 0)
                        return h;
                q = write_u64(cg, h, "net_cls.classid", r->net_class_id, err);
                if (q < 0)
                        return q;
        }
        if (r->n_net_priorities && l->ctrl_hier[CG_CTRL_NET_PRIO] >= 0) {
                int h = v1_hier(cg, CG_CTRL_NET_PRIO,
                                "linux.resources.network.priorities", err);
                if (h < 0)
                        return h;
                for (size_t i = 0; i < r->n_net_priorities; i++) {
                        const struct spec_kv *kv = &r->net_priorities[i];
                        if (!kv->key || !*kv->key ||
                            strpbrk(kv->key, " \t\n/") || !kv->value)
                                return berr_setx(err, EINVAL,
                                                 "linux.resources.network."
                                                 "priorities[%zu]"
                                                 ": invalid interface name",
                                                 i);
                        _cleanup_free_ char *v =
                                str_printf("%s %s", kv->key, kv->value);
                        if (!v)
                                return -ENOMEM;
                        q = cg_write(cg, (size_t) h, "net_prio.ifpriomap", v,
                                     err);
                        if (q < 0)
                                return q;
                }
        }
        return 0;
}

int cg_v1_apply(struct cgroup *cg, const struct spec_resources *r,
                struct berr *err) {
        int q = v1_memory(cg, r, err);
        if (q == 0)
                q = v1_cpu(cg, r, err);
        if (q == 0)
                q = v1_cpuset(cg, r, err);
        if (q == 0)
                q = v1_pids(cg, r, err);
        if (q == 0)
                q = v1_blkio(cg, r, err);
        if (q == 0)
                q = v1_hugetlb(cg, r, err);
        if (q == 0)
                q = v1_devices(cg, r, err);
        if (q == 0)
                q = v1_network(cg, r, err);
        if (q == 0 && r->n_unified) {
                struct cg_layout *l = cg->layout;
                if (l->unified < 0)
                        return berr_setx(
                                err, EOPNOTSUPP,
                                "linux.resources.unified: key '%s' needs "
                                "cgroup v2, and this host mounts "
                                "only cgroup v1",
                                r->unified[0].key ? r->unified[0].key : "");
                /* Hybrid: only controllers present in the unified
                 * hierarchy (cg_v2_unified checks each key). */
                q = cg_v2_unified(cg, (size_t) l->unified, r->unified,
                                  r->n_unified, err);
        }
        return q;
}

/* ---- cpuset set-up -------------------------------------------------- */

static bool blank(const char *s) {
        return s[strspn(s, " \n")] == '\0';
}

int cg_v1_cpuset_init(struct cgroup *cg, size_t h, size_t depth, int parentfd,
                      int fd, bool leaf, struct berr *err) {
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        _cleanup_free_ char *cur = NULL;
        int q = read_file_at(fd, "cpuset.cpus", 4096, &cur, NULL);
        if (q < 0) {
                _cleanup_free_ char *path =
                        cg_path_at(cg, h, depth, "cpuset.cpus");
                return berr_set(err, q, "read '%s'", path ? path : "cpuset");
        }
        /* Non-empty: the parent has clone_children set and the kernel
         * copied both values already. */
        if (blank(cur)) {
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *v = NULL;
                        size_t len = 0;
                        q = read_file_at(parentfd, files[i], 4096, &v, &len);
                        if (q < 0) {
                                _cleanup_free_ char *path =
                                        cg_path_at(cg, h, depth - 1, files[i]);
                                return berr_set(err, q, "read '%s'",
                                                path ? path : files[i]);
                        }
                        while (len > 0 && v[len - 1] == '\n')
                                v[--len] = '\0';
                        q = write_file_at(fd, files[i], v, 0);
                        if (q < 0)
                                return cg_write_error(cg, h, depth, files[i], v,
                                                      q, err);
                }
        }
        /* Our own inner node: let the kernel copy the values into the
         * groups made below it (one read per container instead of two
         * reads and two writes). */
        if (!leaf) {
                q = write_file_at(fd, "cgroup.clone_children", "1", 0);
                if (q < 0)
                        return cg_write_error(cg, h, depth,
                                              "cgroup.clone_children", "1", q,
                                              err);
        }
        return 0;
}

/* ---- freezer -------------------------------------------------------- */

#define FREEZE_TIMEOUT_US 2000000

static int read_state(int fd, char *buf, size_t size) {
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        while (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        return 0;
}

int cg_v1_freeze(struct cgroup *cg, size_t h, bool frozen, struct berr *err) {
        const char *want = frozen ? "FROZEN" : "THAWED";
        int q = cg_write(cg, h, "freezer.state", want, err);
        if (q < 0)
                return q;
        int dfd = cg_dirfd(cg, h);
        if (dfd < 0)
                return dfd;
        _cleanup_close_ int fd =
                openat(dfd, "freezer.state", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* FREEZING until every task has stopped.  Tasks that fork a lot
         * can keep it there: re-request FROZEN on each round, and every
         * 50 rounds thaw briefly so stragglers reach a freezable point
         * (runc's approach). */
        uint64_t start = cg_now_us(), delay = 10;
        char state[32] = "";
        for (unsigned i = 0;; i++) {
                q = read_state(fd, state, sizeof(state));
                if (q < 0)
                        break;
                if (strcmp(state, want) == 0)
                        return 0;
                if (cg_now_us() - start > FREEZE_TIMEOUT_US)
                        break;
                if (frozen && i % 50 == 49) {
                        (void) cg_write_quiet(cg, h, "freezer.state", "THAWED");
                        cg_sleep_us(10000);
                } else {
                        cg_sleep_us(delay);
                        if (delay < 10000)
                                delay *= 2;
                }
                if (frozen)
                        (void) cg_write_quiet(cg, h, "freezer.state", want);
        }
        /* Don't leave the group half-frozen. */
        if (frozen)
                (void) cg_write_quiet(cg, h, "freezer.state", "THAWED");
        _cleanup_free_ char *path =
                cg_path_at(cg, h, cg->ncomp, "freezer.state");
        if (q < 0)
                return berr_set(err, q, "read '%s'", path ? path : "freezer");
        return berr_setx(err, EBUSY,
                         "%s cgroup '%s': '%s' stayed '%s' for %d s",
                         frozen ? "freeze" : "thaw", cg->path,
                         path ? path : "freezer.state", state,
                         FREEZE_TIMEOUT_US / 1000000);
}

int cg_v1_is_frozen(struct cgroup *cg, size_t h, bool *ret) {
        _cleanup_free_ char *state = NULL;
        int q = cg_read(cg, h, "freezer.state", &state, NULL);
        if (q < 0)
                return q;
        *ret = strcmp(state, "FROZEN") == 0;
        return 0;
}

int cg_v1_oom_kills(struct cgroup *cg, size_t h, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int q = cg_read(cg, h, "memory.oom_control", &text, NULL);
        if (q < 0)
                return q;
        /* "oom_kill" appeared in Linux 4.13. */
        q = cg_keyed_get(text, "oom_kill", ret);
        return q == -ENODATA ? -EOPNOTSUPP : q;
}
