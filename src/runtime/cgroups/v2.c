/* cgroup v2 limits (pure v2 hosts, and hugetlb and `unified` keys on
 * hybrid hosts), controller delegation to new inner nodes, the v2 freezer
 * and cgroup.kill.
 *
 * Runs in the runtime process in the host's namespaces.  Writes go to the
 * container's own leaf, or to cgroup.subtree_control of an inner node that
 * cgroup_create has just made (never a pre-existing parent: enabling
 * controllers there changes every sibling group).
 *
 * Conversions from the v1-shaped spec follow runc so that a config means
 * the same thing under either runtime. */
#include "internal.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_num(struct cgroup *cg, size_t h, const char *file, int64_t v,
                     struct berr *err) {
        char buf[24];
        if (v < 0)
                snprintf(buf, sizeof(buf), "max");
        else
                snprintf(buf, sizeof(buf), "%" PRId64, v);
        return cg_write(cg, h, file, buf, err);
}

bool cg_hugetlb_size_valid(const char *s) {
        if (!s)
                return false;
        size_t d = strspn(s, "0123456789");
        return d > 0 && d < 16 && strchr("KMG", s[d]) && s[d] != '\0' &&
               s[d + 1] == 'B' && s[d + 2] == '\0';
}

int cg_v2_enable_subtree(struct cgroup *cg, size_t h, size_t depth, int fd,
                         struct berr *err) {
        _cleanup_free_ char *avail = NULL;
        int q = read_file_at(fd, "cgroup.controllers", 4096, &avail, NULL);
        if (q < 0) {
                _cleanup_free_ char *path =
                        cg_path_at(cg, h, depth, "cgroup.controllers");
                return berr_set(err, q, "read '%s'", path ? path : "");
        }
        /* "cpu io memory" -> "+cpu +io +memory" */
        char buf[512];
        size_t o = 0;
        for (const char *p = avail; *p;) {
                p += strspn(p, " \n");
                size_t len = strcspn(p, " \n");
                if (!len)
                        break;
                if (o + len + 2 >= sizeof(buf))
                        return -E2BIG;
                if (o)
                        buf[o++] = ' ';
                buf[o++] = '+';
                memcpy(buf + o, p, len);
                o += len;
                p += len;
        }
        if (!o)
                return 0; /* nothing delegated to us (hybrid unified) */
        buf[o] = '\0';
        q = write_file_at(fd, "cgroup.subtree_control", buf, 0);
        if (q < 0)
                return cg_write_error(cg, h, depth, "cgroup.subtree_control",
                                      buf, q, err);
        return 0;
}

void cg_v2_delegate_path(int fd) {
        /* The controllers a container's limits and docker's stats use. */
        static const enum cg_ctrl wanted[] = {CG_CTRL_CPU,  CG_CTRL_CPUSET,
                                              CG_CTRL_IO,   CG_CTRL_MEMORY,
                                              CG_CTRL_PIDS, CG_CTRL_HUGETLB};
        _cleanup_free_ char *avail = NULL, *on = NULL;
        if (read_file_at(fd, "cgroup.controllers", 4096, &avail, NULL) < 0 ||
            read_file_at(fd, "cgroup.subtree_control", 4096, &on, NULL) < 0)
                return;
        uint32_t have = cg_ctrl_parse_list(avail),
                 done = cg_ctrl_parse_list(on);
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                uint32_t bit = CG_CTRL_BIT(wanted[i]);
                if (!(have & bit) || (done & bit))
                        continue;
                /* One write per controller: one the kernel refuses here
                 * (a parent with processes of its own, realtime tasks for
                 * cpu) must not keep the others off.  A limit that then
                 * cannot be set fails later, naming this file. */
                char buf[32];
                snprintf(buf, sizeof(buf), "+%s", cg_ctrl_name(wanted[i]));
                (void) write_file_at(fd, "cgroup.subtree_control", buf, 0);
        }
}

/* ---- memory --------------------------------------------------------- */

/* memory.max as a number, -1 for "max". */
static int read_max(struct cgroup *cg, size_t h, const char *file, int64_t *ret,
                    struct berr *err) {
        _cleanup_free_ char *text = NULL;
        int q = cg_read(cg, h, file, &text, err);
        if (q < 0)
                return q;
        if (strcmp(text, "max") == 0) {
                *ret = -1;
                return 0;
        }
        return parse_i64(text, ret);
}

static int v2_memory(struct cgroup *cg, size_t h,
                     const struct spec_resources *r, struct berr *err) {
        bool lim = r->has_memory_limit && r->memory_limit != 0;
        bool swap = r->has_memory_swap && r->memory_swap != 0;
        bool resv = r->has_memory_reservation && r->memory_reservation != 0;
        /* Ignored on v2, as runc does: kernel and kernelTCP (no such
         * limits), swappiness (no per-group knob), disableOOMKiller (v2
         * cannot switch the OOM killer off; memory.oom.group, which makes
         * it kill the whole group, is a different policy and can be set
         * through `unified`). */
        if (!lim && !swap && !resv)
                return 0;
        int64_t mem = r->memory_limit, sw = r->memory_swap;
        if ((lim && mem < -1) || (swap && sw < -1))
                return berr_setx(err, EINVAL, "%s: invalid value %" PRId64,
                                 lim && mem < -1
                                         ? "linux.resources.memory.limit"
                                         : "linux.resources.memory.swap",
                                 lim && mem < -1 ? mem : sw);
        int q;
        if (r->check_before_update && lim && mem > 0 && !cg->fresh) {
                _cleanup_free_ char *cur = NULL;
                uint64_t used;
                q = cg_read(cg, h, "memory.current", &cur, err);
                if (q < 0)
                        return q;
                if (parse_u64(cur, &used) == 0 && used > (uint64_t) mem)
                        return berr_setx(
                                err, EBUSY,
                                "linux.resources.memory.limit: cgroup '%s' "
                                "uses %" PRIu64 " bytes, more than "
                                "the new limit %" PRId64 " (checkBeforeUpdate)",
                                cg->path, used, mem);
        }
        /* The spec's swap is memory+swap (v1 memsw); v2 limits swap
         * alone: memory.swap.max = swap - memory. */
        if (swap || (lim && mem == -1)) {
                int64_t v;
                int64_t m = mem;
                if (swap && !lim && sw != -1) {
                        q = read_max(cg, h, "memory.max", &m, err);
                        if (q < 0)
                                return q;
                }
                if (!swap || sw == -1)
                        v = -1;
                else if (m <= 0)
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.memory.swap: a memory+swap "
                                "limit needs a memory limit");
                else if (sw < m)
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.memory.swap (%" PRId64
                                ") must not be below "
                                "linux.resources.memory.limit (%" PRId64
                                "): it counts memory plus swap",
                                sw, m);
                else
                        v = sw - m;
                char buf[24];
                if (v < 0)
                        snprintf(buf, sizeof(buf), "max");
                else
                        snprintf(buf, sizeof(buf), "%" PRId64, v);
                q = cg_write_quiet(cg, h, "memory.swap.max", buf);
                /* Without swap accounting the file is absent: "no swap"
                 * and "unlimited" are then true anyway. */
                if (q == -ENOENT && v <= 0)
                        q = 0;
                if (q < 0)
                        return cg_write_error(cg, h, cg->ncomp,
                                              "memory.swap.max", buf, q, err);
        }
        if (lim) {
                q = write_num(cg, h, "memory.max", mem, err);
                if (q < 0)
                        return q;
        }
        if (resv) {
                q = write_num(cg, h, "memory.low", r->memory_reservation, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- cpu, cpuset, pids ---------------------------------------------- */

static int v2_cpu(struct cgroup *cg, size_t h, const struct spec_resources *r,
                  struct berr *err) {
        bool shares = r->has_cpu_shares && r->cpu_shares != 0;
        bool quota = r->has_cpu_quota && r->cpu_quota != 0;
        bool period = r->has_cpu_period && r->cpu_period != 0;
        if (r->has_cpu_realtime_runtime || r->has_cpu_realtime_period)
                return berr_setx(
                        err, EOPNOTSUPP,
                        "%s: real-time CPU bandwidth is not "
                        "available with cgroup v2",
                        r->has_cpu_realtime_runtime
                                ? "linux.resources.cpu.realtimeRuntime"
                                : "linux.resources.cpu.realtimePeriod");
        int q;
        char buf[64];
        if (shares) {
                /* runc's mapping of shares [2, 262144] onto weight
                 * [1, 10000]. */
                uint64_t s = r->cpu_shares;
                if (s < 2)
                        s = 2;
                if (s > 262144)
                        s = 262144;
                uint64_t w = 1 + ((s - 2) * 9999) / 262142;
                snprintf(buf, sizeof(buf), "%" PRIu64, w);
                q = cg_write(cg, h, "cpu.weight", buf, err);
                if (q < 0)
                        return q;
        }
        if (quota && r->cpu_quota < -1)
                return berr_setx(
                        err, EINVAL,
                        "linux.resources.cpu.quota: invalid value %" PRId64,
                        r->cpu_quota);
        if (quota || period) {
                /* "QUOTA PERIOD"; the kernel keeps the period when only
                 * the quota is written.  Changing only the period must
                 * restate the current quota. */
                char qs[24] = "max";
                if (quota && r->cpu_quota > 0)
                        snprintf(qs, sizeof(qs), "%" PRId64, r->cpu_quota);
                else if (!quota && !cg->fresh) {
                        _cleanup_free_ char *cur = NULL;
                        q = cg_read(cg, h, "cpu.max", &cur, err);
                        if (q < 0)
                                return q;
                        size_t n = strcspn(cur, " ");
                        if (n > 0 && n < sizeof(qs)) {
                                memcpy(qs, cur, n);
                                qs[n] = '\0';
                        }
                }
                if (period)
                        snprintf(buf, sizeof(buf), "%s %" PRIu64, qs,
                                 r->cpu_period);
                else
                        snprintf(buf, sizeof(buf), "%s", qs);
                q = cg_write(cg, h, "cpu.max", buf, err);
                if (q < 0)
                        return q;
        }
        if (r->has_cpu_burst) {
                snprintf(buf, sizeof(buf), "%" PRIu64, r->cpu_burst);
                q = cg_write(cg, h, "cpu.max.burst", buf, err);
                if (q < 0)
                        return q;
        }
        if (r->has_cpu_idle) {
                snprintf(buf, sizeof(buf), "%" PRId64, r->cpu_idle);
                q = cg_write(cg, h, "cpu.idle", buf, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int v2_cpuset_pids(struct cgroup *cg, size_t h,
                          const struct spec_resources *r, struct berr *err) {
        int q;
        if (r->cpu_cpus && *r->cpu_cpus) {
                q = cg_write(cg, h, "cpuset.cpus", r->cpu_cpus, err);
                if (q < 0)
                        return q;
        }
        if (r->cpu_mems && *r->cpu_mems) {
                q = cg_write(cg, h, "cpuset.mems", r->cpu_mems, err);
                if (q < 0)
                        return q;
        }
        if (r->has_pids_limit) {
                q = write_num(cg, h, "pids.max",
                              r->pids_limit <= 0 ? -1 : r->pids_limit, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- io ------------------------------------------------------------- */

/* blkio weight [10, 1000] -> io.weight [1, 10000] (runc's formula). */
static uint64_t io_weight(uint16_t w) {
        uint64_t v = w < 10 ? 10 : w > 1000 ? 1000 : w;
        return 1 + (v - 10) * 9999 / 990;
}

static int v2_io(struct cgroup *cg, size_t h, const struct spec_resources *r,
                 struct berr *err) {
        static const char *const keys[4] = {"rbps", "wbps", "riops", "wiops"};
        char buf[96];
        int q;
        /* blockIO.leafWeight has no v2 equivalent: ignored, as runc. */
        if (r->has_blkio_weight && r->blkio_weight != 0) {
                /* BFQ's io.bfq.weight takes the blkio range as is. */
                snprintf(buf, sizeof(buf), "%u", (unsigned) r->blkio_weight);
                q = cg_write_quiet(cg, h, "io.bfq.weight", buf);
                if (q == -ENOENT) {
                        snprintf(buf, sizeof(buf), "default %" PRIu64,
                                 io_weight(r->blkio_weight));
                        q = cg_write(cg, h, "io.weight", buf, err);
                } else if (q < 0)
                        q = cg_write_error(cg, h, cg->ncomp, "io.bfq.weight",
                                           buf, q, err);
                if (q < 0)
                        return q;
        }
        for (size_t i = 0; i < r->n_blkio_weight_device; i++) {
                const struct spec_weight_device *d = &r->blkio_weight_device[i];
                if (!d->has_weight)
                        continue;
                if (d->major < 0 || d->minor < 0)
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.blockIO.weightDevice[%zu]: "
                                "invalid device",
                                i);
                snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u",
                         d->major, d->minor, (unsigned) d->weight);
                q = cg_write_quiet(cg, h, "io.bfq.weight", buf);
                if (q == -ENOENT) {
                        snprintf(buf, sizeof(buf),
                                 "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                                 d->minor, io_weight(d->weight));
                        q = cg_write(cg, h, "io.weight", buf, err);
                } else if (q < 0)
                        q = cg_write_error(cg, h, cg->ncomp, "io.bfq.weight",
                                           buf, q, err);
                if (q < 0)
                        return q;
        }
        for (size_t t = 0; t < 4; t++)
                for (size_t i = 0; i < r->n_blkio_throttle[t]; i++) {
                        const struct spec_throttle_device *d =
                                &r->blkio_throttle[t][i];
                        if (d->major < 0 || d->minor < 0)
                                return berr_setx(
                                        err, EINVAL,
                                        "linux.resources.blockIO: invalid "
                                        "throttle device");
                        if (d->rate == 0)
                                snprintf(buf, sizeof(buf),
                                         "%" PRId64 ":%" PRId64 " %s=max",
                                         d->major, d->minor, keys[t]);
                        else
                                snprintf(buf, sizeof(buf),
                                         "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
                                         d->major, d->minor, keys[t], d->rate);
                        q = cg_write(cg, h, "io.max", buf, err);
                        if (q < 0)
                                return q;
                }
        return 0;
}

/* ---- hugetlb and unified -------------------------------------------- */

int cg_v2_hugetlb(struct cgroup *cg, size_t h, const struct spec_resources *r,
                  struct berr *err) {
        if (!r->n_hugepage_limits)
                return 0;
        uint32_t ctrls = 0;
        int q = cg_v2_root_ctrls(cg->layout, &ctrls);
        if (q < 0)
                return berr_set(err, q, "read '%s/cgroup.controllers'",
                                cg->layout->h[h].mount);
        if (!(ctrls & CG_CTRL_BIT(CG_CTRL_HUGETLB)))
                return berr_setx(
                        err, EOPNOTSUPP,
                        "linux.resources.hugepageLimits: the 'hugetlb' cgroup "
                        "controller is not available on this host");
        for (size_t i = 0; i < r->n_hugepage_limits; i++) {
                const struct spec_hugepage_limit *hl = &r->hugepage_limits[i];
                if (!cg_hugetlb_size_valid(hl->page_size))
                        return berr_setx(
                                err, EINVAL,
                                "linux.resources.hugepageLimits[%zu]: invalid "
                                "page size '%s'",
                                i, hl->page_size ? hl->page_size : "");
                char file[64], val[24];
                snprintf(file, sizeof(file), "hugetlb.%s.max", hl->page_size);
                snprintf(val, sizeof(val), "%" PRIu64, hl->limit);
                q = cg_write(cg, h, file, val, err);
                if (q < 0)
                        return q;
        }
        return 0;
}

int cg_v2_unified(struct cgroup *cg, size_t h, const struct spec_kv *kv,
                  size_t n, struct berr *err) {
        uint32_t ctrls = 0;
        int q = cg_v2_root_ctrls(cg->layout, &ctrls);
        if (q < 0)
                return berr_set(err, q, "read '%s/cgroup.controllers'",
                                cg->layout->h[h].mount);
        bool hybrid = cg->layout->mode != CGROUP_MODE_V2;
        /* Check every key before writing any, so a bad key leaves the
         * group unchanged. */
        for (size_t i = 0; i < n; i++) {
                q = cg_unified_key_check(kv[i].key, ctrls, hybrid, err);
                if (q < 0)
                        return q;
        }
        for (size_t i = 0; i < n; i++) {
                q = cg_write(cg, h, kv[i].key, kv[i].value ? kv[i].value : "",
                             err);
                if (q < 0)
                        return q;
        }
        return 0;
}

int cg_v2_apply(struct cgroup *cg, size_t h, const struct spec_resources *r,
                struct berr *err) {
        int q = v2_memory(cg, h, r, err);
        if (q == 0)
                q = v2_cpu(cg, h, r, err);
        if (q == 0)
                q = v2_cpuset_pids(cg, h, r, err);
        if (q == 0)
                q = v2_io(cg, h, r, err);
        if (q == 0)
                q = cg_v2_hugetlb(cg, h, r, err);
        /* Devices: cgroup v2 has no devices.* files; an eBPF program
         * built from the rules does their work (devices_bpf.c).  On hybrid
         * hosts the v1 devices controller already enforces them. */
        if (q == 0 && r->has_devices && cg->layout->mode == CGROUP_MODE_V2) {
                int fd = cg_dirfd(cg, h);
                q = fd < 0 ? berr_set(err, fd, "open cgroup of '%s'", cg->path)
                           : cg_bpf_devices_attach(fd, r->devices, r->n_devices,
                                                   err);
                if (q > 0)
                        q = 0;
        }
        /* net_cls/net_prio do not exist on v2: ignored, as runc. */
        if (q == 0 && r->n_unified)
                q = cg_v2_unified(cg, h, r->unified, r->n_unified, err);
        return q;
}

/* ---- freezer, kill, events ------------------------------------------ */

#define FREEZE_TIMEOUT_MS 2000

int cg_v2_freeze(struct cgroup *cg, size_t h, bool frozen, struct berr *err) {
        int q = cg_write_quiet(cg, h, "cgroup.freeze", frozen ? "1" : "0");
        if (q == -ENOENT)
                return berr_setx(err, EOPNOTSUPP,
                                 "%s cgroup '%s': this kernel has no "
                                 "cgroup.freeze (Linux 5.2 or later needed)",
                                 frozen ? "freeze" : "thaw", cg->path);
        if (q < 0)
                return cg_write_error(cg, h, cg->ncomp, "cgroup.freeze",
                                      frozen ? "1" : "0", q, err);
        /* Wait for cgroup.events to say "frozen 1" (or 0): the kernel
         * signals a change of the file with POLLPRI. */
        int dfd = cg_dirfd(cg, h);
        if (dfd < 0)
                return dfd;
        _cleanup_close_ int fd =
                openat(dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        uint64_t deadline = cg_now_us() + FREEZE_TIMEOUT_MS * 1000ULL;
        for (;;) {
                char buf[256];
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return -errno;
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                if (n < 0)
                        return -errno;
                buf[n] = '\0';
                uint64_t v;
                if (cg_keyed_get(buf, "frozen", &v) == 0 && (v != 0) == frozen)
                        return 0;
                uint64_t now = cg_now_us();
                if (now >= deadline)
                        break;
                struct pollfd p = {.fd = fd, .events = POLLPRI};
                int left = (int) ((deadline - now + 999) / 1000);
                if (poll(&p, 1, left < 10 ? left : 10) < 0 && errno != EINTR)
                        return -errno;
        }
        if (frozen)
                (void) cg_write_quiet(cg, h, "cgroup.freeze", "0");
        _cleanup_free_ char *path =
                cg_path_at(cg, h, cg->ncomp, "cgroup.events");
        return berr_setx(err, EBUSY,
                         "%s cgroup '%s': '%s' did not report frozen %d "
                         "within %d ms",
                         frozen ? "freeze" : "thaw", cg->path,
                         path ? path : "cgroup.events", frozen ? 1 : 0,
                         FREEZE_TIMEOUT_MS);
}

int cg_v2_is_frozen(struct cgroup *cg, size_t h, bool *ret) {
        _cleanup_free_ char *text = NULL;
        int q = cg_read(cg, h, "cgroup.events", &text, NULL);
        if (q < 0)
                return q;
        uint64_t v;
        q = cg_keyed_get(text, "frozen", &v);
        if (q < 0)
                return q == -ENODATA ? -EOPNOTSUPP : q;
        *ret = v != 0;
        return 0;
}

int cg_v2_oom_kills(struct cgroup *cg, size_t h, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int q = cg_read(cg, h, "memory.events", &text, NULL);
        if (q < 0)
                return q;
        q = cg_keyed_get(text, "oom_kill", ret);
        return q == -ENODATA ? -EOPNOTSUPP : q;
}

int cg_v2_kill(struct cgroup *cg, size_t h) {
        return cg_write_quiet(cg, h, "cgroup.kill", "1");
}
