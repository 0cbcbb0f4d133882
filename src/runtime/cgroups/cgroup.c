/* Control groups: host layout detection, path handling, and the
 * operations that are the same on every kind of host (create, open, enter,
 * list, kill, destroy).  Limits and freezing live in v1.c and v2.c.
 *
 * All of this runs in the runtime process, in the host's namespaces, as
 * root.  The one safety rule: berth writes to, moves processes into and
 * removes only directories it made itself.  Directories that already
 * exist on the way to a group (the hierarchy roots, a parent another tool
 * made) are only read (cpuset values to copy, cgroup.procs to check that a
 * reused leaf is empty). */
#include "internal.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* Upper bound for waiting on the kernel to release a group's tasks
 * (rmdir returns EBUSY until exiting tasks are gone). */
#define CG_DESTROY_WAIT_US 1000000

static const char *const ctrl_names[_CG_CTRL_MAX] = {
        [CG_CTRL_CPU] = "cpu",         [CG_CTRL_CPUACCT] = "cpuacct",
        [CG_CTRL_CPUSET] = "cpuset",   [CG_CTRL_MEMORY] = "memory",
        [CG_CTRL_DEVICES] = "devices", [CG_CTRL_FREEZER] = "freezer",
        [CG_CTRL_NET_CLS] = "net_cls", [CG_CTRL_NET_PRIO] = "net_prio",
        [CG_CTRL_BLKIO] = "blkio",     [CG_CTRL_PERF_EVENT] = "perf_event",
        [CG_CTRL_HUGETLB] = "hugetlb", [CG_CTRL_PIDS] = "pids",
        [CG_CTRL_RDMA] = "rdma",       [CG_CTRL_MISC] = "misc",
        [CG_CTRL_IO] = "io",
};

const char *cg_ctrl_name(enum cg_ctrl c) {
        if (c < 0 || c >= _CG_CTRL_MAX)
                return NULL;
        return ctrl_names[c];
}

enum cg_ctrl cg_ctrl_from_name(const char *s, size_t len) {
        for (int c = 0; c < _CG_CTRL_MAX; c++)
                if (strlen(ctrl_names[c]) == len &&
                    memcmp(ctrl_names[c], s, len) == 0)
                        return (enum cg_ctrl) c;
        return _CG_CTRL_INVALID;
}

uint32_t cg_ctrl_parse_list(const char *s) {
        uint32_t mask = 0;
        while (s && *s) {
                s += strspn(s, " \t\n");
                size_t len = strcspn(s, " \t\n");
                if (len == 0)
                        break;
                enum cg_ctrl c = cg_ctrl_from_name(s, len);
                if (c != _CG_CTRL_INVALID)
                        mask |= CG_CTRL_BIT(c);
                s += len;
        }
        return mask;
}

const char *cgroup_mode_name(enum cgroup_mode mode) {
        switch (mode) {
        case CGROUP_MODE_V1:
                return "v1";
        case CGROUP_MODE_HYBRID:
                return "hybrid";
        case CGROUP_MODE_V2:
                return "v2";
        default:
                return NULL;
        }
}

uint64_t cg_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void cg_sleep_us(uint64_t us) {
        struct timespec ts = {.tv_sec = (time_t) (us / 1000000),
                              .tv_nsec = (long) (us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- host layout ---------------------------------------------------- */

static void layout_init(struct cg_layout *l) {
        memset(l, 0, sizeof(*l));
        l->mode = _CGROUP_MODE_INVALID;
        l->unified = -1;
        l->systemd = -1;
        for (size_t i = 0; i < _CG_CTRL_MAX; i++)
                l->ctrl_hier[i] = -1;
        for (size_t i = 0; i < CG_HIER_MAX; i++)
                l->h[i].rootfd = -1;
}

void cg_layout_done(struct cg_layout *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->h[i].mount);
                free(l->h[i].name);
                if (l->h[i].rootfd >= 0)
                        close(l->h[i].rootfd);
        }
        layout_init(l);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;
        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
                    p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char) (((p[1] - '0') << 6) |
                                       ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 4;
                } else
                        *w++ = *p++;
        }
        *w = '\0';
}

static bool under_cgroup_root(const char *mp) {
        return str_startswith(mp, CG_MOUNT_ROOT "/") ||
               strcmp(mp, CG_MOUNT_ROOT) == 0;
}

/* The mount's entry name below /sys/fs/cgroup ("cpu,cpuacct"). */
static char *mount_name(const char *mp) {
        if (str_startswith(mp, CG_MOUNT_ROOT "/"))
                return strdup(mp + strlen(CG_MOUNT_ROOT "/"));
        if (strcmp(mp, CG_MOUNT_ROOT) == 0)
                return strdup("");
        const char *slash = strrchr(mp, '/');
        return strdup(slash ? slash + 1 : mp);
}

struct mi_entry {
        char *mount; /* points into the parser's copy of the text */
        uint32_t ctrls;
        bool named;
};

static int layout_add(struct cg_layout *l, const char *mp, uint32_t ctrls,
                      bool v2, bool named) {
        if (l->n >= CG_HIER_MAX)
                return -E2BIG;
        struct cg_hierarchy *h = &l->h[l->n];
        h->mount = strdup(mp);
        h->name = mount_name(mp);
        if (!h->mount || !h->name) {
                free(h->mount);
                free(h->name);
                h->mount = h->name = NULL;
                return -ENOMEM;
        }
        h->ctrls = ctrls;
        h->v2 = v2;
        h->named = named;
        h->rootfd = -1;
        int idx = (int) l->n++;
        for (int c = 0; c < _CG_CTRL_MAX; c++)
                if (ctrls & CG_CTRL_BIT(c))
                        l->ctrl_hier[c] = idx;
        if (v2)
                l->unified = idx;
        if (named)
                l->systemd = idx;
        return 0;
}

int cg_layout_parse_mountinfo(const char *text, struct cg_layout *ret) {
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        struct mi_entry v1[CG_HIER_MAX];
        size_t nv1 = 0;
        char *unified = NULL;

        char *lsave = NULL;
        for (char *line = strtok_r(copy, "\n", &lsave); line;
             line = strtok_r(NULL, "\n", &lsave)) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] -
                 * FSTYPE SOURCE SUPEROPTS */
                char *f[64];
                size_t nf = 0;
                char *fsave = NULL;
                for (char *t = strtok_r(line, " ", &fsave); t && nf < 64;
                     t = strtok_r(NULL, " ", &fsave))
                        f[nf++] = t;
                size_t dash = 6;
                while (dash < nf && strcmp(f[dash], "-") != 0)
                        dash++;
                if (dash + 3 >= nf)
                        continue;
                const char *fstype = f[dash + 1];
                char *mp = f[4];
                char *superopts = f[dash + 3];
                if (strcmp(fstype, "cgroup2") == 0) {
                        unescape_octal(mp);
                        /* Several mounts of the same hierarchy (bind mounts
                         * elsewhere): the one at /sys/fs/cgroup wins. */
                        if (!unified || (!under_cgroup_root(unified) &&
                                         under_cgroup_root(mp)))
                                unified = mp;
                        continue;
                }
                if (strcmp(fstype, "cgroup") != 0)
                        continue;
                unescape_octal(mp);
                uint32_t ctrls = 0;
                bool named = false, other_name = false;
                char *osave = NULL;
                for (char *o = strtok_r(superopts, ",", &osave); o;
                     o = strtok_r(NULL, ",", &osave)) {
                        if (strcmp(o, "name=systemd") == 0)
                                named = true;
                        else if (str_startswith(o, "name="))
                                other_name = true;
                        else {
                                enum cg_ctrl c =
                                        cg_ctrl_from_name(o, strlen(o));
                                /* "io" and unknown options ("rw",
                                 * "clone_children", "xattr") are not v1
                                 * controllers. */
                                if (c != _CG_CTRL_INVALID && c != CG_CTRL_IO)
                                        ctrls |= CG_CTRL_BIT(c);
                        }
                }
                /* Named hierarchies other than systemd's belong to other
                 * tools; berth has no use for them. */
                if (ctrls == 0 && (!named || other_name))
                        continue;
                if (ctrls)
                        named = false;
                size_t i;
                for (i = 0; i < nv1; i++)
                        if (v1[i].ctrls == ctrls && v1[i].named == named)
                                break;
                if (i < nv1) {
                        if (!under_cgroup_root(v1[i].mount) &&
                            under_cgroup_root(mp))
                                v1[i].mount = mp;
                        continue;
                }
                if (nv1 >= CG_HIER_MAX - 1)
                        continue;
                v1[nv1++] = (struct mi_entry){
                        .mount = mp, .ctrls = ctrls, .named = named};
        }

        struct cg_layout l;
        layout_init(&l);
        int r = 0;
        /* Controller hierarchies first, then name=systemd, then unified:
         * the order in which cgroup_enter moves a process. */
        for (size_t i = 0; i < nv1 && r == 0; i++)
                if (!v1[i].named)
                        r = layout_add(&l, v1[i].mount, v1[i].ctrls, false,
                                       false);
        for (size_t i = 0; i < nv1 && r == 0; i++)
                if (v1[i].named)
                        r = layout_add(&l, v1[i].mount, 0, false, true);
        if (r == 0 && unified)
                r = layout_add(&l, unified, 0, true, false);
        if (r < 0) {
                cg_layout_done(&l);
                return r;
        }
        if (l.n == 0)
                return -ENOMEDIUM;
        bool have_v1 = l.n > (unified ? 1u : 0u);
        if (have_v1)
                l.mode = unified ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
        else {
                l.mode = CGROUP_MODE_V2;
                /* A pure v2 host has one hierarchy with no name (see
                 * cgroup_mount_sources). */
                l.h[0].name[0] = '\0';
        }
        *ret = l;
        return 0;
}

static struct cg_layout layout_cache;
static bool layout_cached;

int cg_layout_get(struct cg_layout **ret, struct berr *err) {
        if (layout_cached) {
                *ret = &layout_cache;
                return 0;
        }
        struct cg_layout l;
        layout_init(&l);
        struct statfs fs;
        int r;
        if (statfs(CG_MOUNT_ROOT, &fs) == 0 &&
            (uint64_t) fs.f_type == (uint64_t) CGROUP2_SUPER_MAGIC) {
                /* Pure v2: nothing else to look for. */
                r = layout_add(&l, CG_MOUNT_ROOT, 0, true, false);
                if (r < 0) {
                        cg_layout_done(&l);
                        return r;
                }
                l.mode = CGROUP_MODE_V2;
        } else {
                /* A tmpfs at /sys/fs/cgroup holds v1 hierarchies (and on
                 * hybrid hosts cgroup2 at unified/); mountinfo says which
                 * controllers each one carries, including co-mounts such
                 * as "cpu,cpuacct".  Anything else (no tmpfs, unusual
                 * mount points) is also decided by mountinfo. */
                _cleanup_free_ char *mi = NULL;
                r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20,
                                 &mi, NULL);
                if (r < 0)
                        return berr_set(err, r, "read '/proc/self/mountinfo'");
                r = cg_layout_parse_mountinfo(mi, &l);
                if (r == -ENOMEDIUM)
                        return berr_setx(err, r,
                                         "no cgroup hierarchy is mounted "
                                         "(looked for cgroup and cgroup2 "
                                         "mounts in /proc/self/mountinfo)");
                if (r < 0)
                        return berr_set(err, r, "parse '/proc/self/mountinfo'");
        }
        layout_cache = l;
        layout_cached = true;
        *ret = &layout_cache;
        return 0;
}

int cgroup_detect_mode(enum cgroup_mode *ret) {
        struct cg_layout *l;
        int r = cg_layout_get(&l, NULL);
        if (r < 0)
                return r;
        *ret = l->mode;
        return 0;
}

int cg_root_fd(struct cg_layout *l, size_t h) {
        if (l->h[h].rootfd >= 0)
                return l->h[h].rootfd;
        int fd = open(l->h[h].mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        l->h[h].rootfd = fd;
        return fd;
}

int cg_v2_root_ctrls(struct cg_layout *l, uint32_t *ret) {
        if (l->unified < 0) {
                *ret = 0;
                return 0;
        }
        if (!l->v2_ctrls_loaded) {
                int fd = cg_root_fd(l, (size_t) l->unified);
                if (fd < 0)
                        return fd;
                _cleanup_free_ char *text = NULL;
                int r = read_file_at(fd, "cgroup.controllers", 4096, &text,
                                     NULL);
                if (r < 0)
                        return r;
                l->v2_ctrls = cg_ctrl_parse_list(text);
                l->v2_ctrls_loaded = true;
        }
        *ret = l->v2_ctrls;
        return 0;
}

/* ---- paths and files ------------------------------------------------ */

/* "/berth//ID/" -> "berth/ID".  Refuses "." and ".." (a group must stay
 * below the hierarchy root), control characters (they would corrupt
 * /proc/PID/cgroup), and the root itself. */
static int path_normalize(const char *path, char **ret, size_t *ret_n) {
        size_t len = strlen(path);
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        _cleanup_free_ char *out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0, n = 0;
        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchrnul(p, '/');
                size_t l = (size_t) (e - p);
                if ((l == 1 && p[0] == '.') ||
                    (l == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                if (l > NAME_MAX)
                        return -ENAMETOOLONG;
                for (size_t i = 0; i < l; i++)
                        if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
                                return -EINVAL;
                if (o)
                        out[o++] = '/';
                memcpy(out + o, p, l);
                o += l;
                n++;
                p = e;
        }
        if (n == 0)
                return -EINVAL;
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}

/* Bytes of rel taken by its first `depth` components. */
static size_t comp_end(const char *rel, size_t depth) {
        const char *p = rel;
        for (size_t i = 0; i < depth; i++) {
                p = strchrnul(p, '/');
                if (i + 1 < depth && *p)
                        p++;
        }
        return (size_t) (p - rel);
}

char *cg_path_at(const struct cgroup *cg, size_t h, size_t depth,
                 const char *file) {
        size_t n = comp_end(cg->rel, depth);
        return str_printf("%s%s%.*s%s%s", cg->layout->h[h].mount, n ? "/" : "",
                          (int) n, cg->rel, file ? "/" : "", file ? file : "");
}

int cg_dirfd(struct cgroup *cg, size_t h) {
        if (cg->fd[h] != CG_FD_UNKNOWN)
                return cg->fd[h];
        int root = cg_root_fd(cg->layout, h);
        if (root < 0)
                return root; /* not cached: a later call may succeed */
        int fd = openat(root, cg->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cg->fd[h] = fd < 0 ? -errno : fd;
        return cg->fd[h];
}

/* Why a write failed, for the cases the kernel's errno leaves unclear. */
static const char *write_hint(bool v2, const char *file, int code) {
        if (strcmp(file, "cgroup.procs") == 0) {
                switch (code) {
                case ENOSPC:
                        return "the group's cpuset.cpus or cpuset.mems is "
                               "empty";
                case EOPNOTSUPP:
                case EBUSY:
                        return "cgroup v2 lets processes join only groups "
                               "without enabled child controllers";
                case ESRCH:
                        return "the process has exited";
                default:
                        return NULL;
                }
        }
        if (code == ENOENT) {
                if (str_startswith(file, "hugetlb."))
                        return "this huge page size is not supported here, "
                               "or the hugetlb controller is not enabled for "
                               "this group";
                return v2 ? "the controller is not enabled for this group "
                            "(see cgroup.subtree_control of its parents) or "
                            "the kernel lacks this file"
                          : "the kernel lacks this file";
        }
        if (strcmp(file, "cgroup.subtree_control") == 0)
                return code == EBUSY ? "the group has processes in it" : NULL;
        if (str_startswith(file, "memory.")) {
                if (code == EBUSY)
                        return "the group already uses more memory than the "
                               "new limit and the kernel could not reclaim "
                               "it";
                if (code == EINVAL && strstr(file, "limit_in_bytes"))
                        return "the memory limit must not exceed the "
                               "memory+swap limit";
                return NULL;
        }
        if (str_startswith(file, "cpuset.") &&
            (code == EINVAL || code == ERANGE))
                return "the CPUs or memory nodes must exist and be a subset "
                       "of the parent group's";
        if ((strcmp(file, "cpu.cfs_quota_us") == 0 ||
             strcmp(file, "cpu.max") == 0) &&
            code == EINVAL)
                return "the quota must be at least 1000 us and fit within "
                       "the parent group's quota";
        if (strcmp(file, "cpu.cfs_period_us") == 0 && code == EINVAL)
                return "the period must be between 1000 us and 1 s";
        if (str_startswith(file, "cpu.rt_") &&
            (code == EINVAL || code == EBUSY))
                return "the parent group has no real-time budget to hand "
                       "out (see its cpu.rt_runtime_us)";
        if (str_startswith(file, "devices.") && code == EPERM)
                return "the parent group does not allow this device";
        if ((str_startswith(file, "blkio.") || str_startswith(file, "io.")) &&
            (code == ENODEV || code == EINVAL))
                return "no such block device, or its I/O scheduler does not "
                       "support this setting";
        return NULL;
}

/* On v2 a controller file is missing when some ancestor does not delegate
 * the controller.  Name the first such cgroup.subtree_control (error path
 * only, so the reads cost nothing on success).  Returns NULL when every
 * ancestor delegates it or the file is not a controller's. */
static char *v2_missing_hint(const struct cgroup *cg, size_t h, size_t depth,
                             const char *file) {
        const char *dot = strchr(file, '.');
        if (!dot)
                return NULL;
        enum cg_ctrl c = cg_ctrl_from_name(file, (size_t) (dot - file));
        if (c == _CG_CTRL_INVALID)
                return NULL;
        int root = cg->layout->h[h].rootfd;
        if (root < 0)
                return NULL;
        for (size_t d = 0; d < depth; d++) {
                size_t n = comp_end(cg->rel, d);
                _cleanup_free_ char *rel =
                        n ? str_printf("%.*s/cgroup.subtree_control", (int) n,
                                       cg->rel)
                          : strdup("cgroup.subtree_control");
                _cleanup_free_ char *text = NULL;
                if (!rel || read_file_at(root, rel, 4096, &text, NULL) < 0)
                        return NULL;
                if (cg_ctrl_parse_list(text) & CG_CTRL_BIT(c))
                        continue;
                _cleanup_free_ char *at =
                        cg_path_at(cg, h, d, "cgroup.subtree_control");
                return str_printf("controller '%s' is not enabled in '%s'%s",
                                  cg_ctrl_name(c), at ? at : "",
                                  d <= cg->first_created[h]
                                          ? " and the kernel refused to "
                                            "enable it there (processes "
                                            "in that group itself?)"
                                          : "");
        }
        return NULL;
}

int cg_write_error(const struct cgroup *cg, size_t h, size_t depth,
                   const char *file, const char *value, int code,
                   struct berr *err) {
        code = code < 0 ? -code : code;
        _cleanup_free_ char *path = cg_path_at(cg, h, depth, file);
        _cleanup_free_ char *why = NULL;
        if (code == ENOENT && cg->layout->h[h].v2)
                why = v2_missing_hint(cg, h, depth, file);
        const char *hint =
                why ? why : write_hint(cg->layout->h[h].v2, file, code);
        return berr_setx(err, code, "write '%s' to '%s': %s%s%s%s", value,
                         path ? path : file, strerror(code), hint ? " (" : "",
                         hint ? hint : "", hint ? ")" : "");
}

int cg_write_quiet(struct cgroup *cg, size_t h, const char *file,
                   const char *value) {
        int fd = cg_dirfd(cg, h);
        if (fd < 0)
                return fd;
        return write_file_at(fd, file, value, 0);
}

int cg_write(struct cgroup *cg, size_t h, const char *file, const char *value,
             struct berr *err) {
        int r = cg_write_quiet(cg, h, file, value);
        if (r < 0)
                return cg_write_error(cg, h, cg->ncomp, file, value, r, err);
        return 0;
}

int cg_read(struct cgroup *cg, size_t h, const char *file, char **ret,
            struct berr *err) {
        int fd = cg_dirfd(cg, h);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = fd < 0 ? fd : read_file_at(fd, file, 1 << 20, &text, &len);
        if (r < 0) {
                _cleanup_free_ char *path = cg_path_at(cg, h, cg->ncomp, file);
                return berr_set(err, r, "read '%s'", path ? path : file);
        }
        while (len > 0 && text[len - 1] == '\n')
                text[--len] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}

int cg_keyed_get(const char *text, const char *key, uint64_t *ret) {
        size_t kl = strlen(key);
        for (const char *p = text; p && *p;) {
                const char *nl = strchrnul(p, '\n');
                if ((size_t) (nl - p) > kl && strncmp(p, key, kl) == 0 &&
                    p[kl] == ' ') {
                        char num[32];
                        size_t n = (size_t) (nl - p) - kl - 1;
                        if (n == 0 || n >= sizeof(num))
                                return -EINVAL;
                        memcpy(num, p + kl + 1, n);
                        num[n] = '\0';
                        return parse_u64(num, ret);
                }
                p = *nl ? nl + 1 : nl;
        }
        return -ENODATA;
}

int cg_unified_key_check(const char *key, uint32_t allowed, bool hybrid,
                         struct berr *err) {
        if (!key || !*key || strchr(key, '/') || strstr(key, "..") ||
            key[0] == '.')
                return berr_setx(err, EINVAL,
                                 "linux.resources.unified: key '%s' is not "
                                 "a cgroup file name",
                                 key ? key : "");
        const char *dot = strchr(key, '.');
        if (!dot || !dot[1])
                return berr_setx(err, EINVAL,
                                 "linux.resources.unified: key '%s' is not "
                                 "a controller file (CONTROLLER.NAME)",
                                 key);
        size_t len = (size_t) (dot - key);
        if (len == 6 && memcmp(key, "cgroup", 6) == 0)
                return berr_setx(err, EPERM,
                                 "linux.resources.unified: key '%s': core "
                                 "cgroup.* files cannot be set from a "
                                 "container spec",
                                 key);
        enum cg_ctrl c = cg_ctrl_from_name(key, len);
        if (c == _CG_CTRL_INVALID)
                return berr_setx(err, EINVAL,
                                 "linux.resources.unified: key '%s': unknown "
                                 "cgroup v2 controller '%.*s'",
                                 key, (int) len, key);
        if (!(allowed & CG_CTRL_BIT(c)))
                return berr_setx(err, EOPNOTSUPP,
                                 "linux.resources.unified: key '%s': "
                                 "controller '%s' is not available in the "
                                 "cgroup v2 hierarchy%s",
                                 key, cg_ctrl_name(c),
                                 hybrid ? " of this hybrid host (it is "
                                          "either a v1 controller here or "
                                          "not compiled in)"
                                        : "");
        return 0;
}

/* ---- struct cgroup -------------------------------------------------- */

static int cg_new(const char *path, struct cgroup **ret, struct berr *err) {
        struct cg_layout *l;
        int r = cg_layout_get(&l, err);
        if (r < 0)
                return r;
        _cleanup_(cgroup_freep) struct cgroup *cg = calloc(1, sizeof(*cg));
        if (!cg)
                return -ENOMEM;
        for (size_t h = 0; h < CG_HIER_MAX; h++)
                cg->fd[h] = CG_FD_UNKNOWN;
        cg->layout = l;
        cg->path = strdup(path ? path : "");
        if (!cg->path)
                return -ENOMEM;
        r = path_normalize(cg->path, &cg->rel, &cg->ncomp);
        if (r < 0)
                return berr_set(err, r, "invalid cgroup path '%s'", cg->path);
        for (size_t h = 0; h < CG_HIER_MAX; h++)
                cg->first_created[h] = cg->ncomp;
        *ret = TAKE_PTR(cg);
        return 0;
}

void cgroup_free(struct cgroup *cg) {
        if (!cg)
                return;
        for (size_t h = 0; h < CG_HIER_MAX; h++)
                if (cg->fd[h] >= 0)
                        close(cg->fd[h]);
        free(cg->path);
        free(cg->rel);
        free(cg);
}

const char *cgroup_path(const struct cgroup *cg) {
        return cg->path;
}

/* A leaf that exists already may be reused (a failed earlier attempt
 * left it behind) only if nothing runs in it. */
static int check_unused(struct cgroup *cg, size_t h, int fd, struct berr *err) {
        _cleanup_free_ char *procs = NULL;
        int r = read_file_at(fd, "cgroup.procs", 1 << 20, &procs, NULL);
        _cleanup_free_ char *path = cg_path_at(cg, h, cg->ncomp, NULL);
        if (r < 0)
                return berr_set(err, r, "read '%s/cgroup.procs'",
                                path ? path : cg->path);
        if (procs[strspn(procs, " \n")] != '\0')
                return berr_setx(err, EEXIST,
                                 "cgroup '%s' already exists and has "
                                 "processes in it",
                                 path ? path : cg->path);
        return 0;
}

/* Remove what this process made in hierarchy h, deepest first. */
static void rollback_hier(struct cgroup *cg, size_t h) {
        if (cg->first_created[h] >= cg->ncomp)
                return;
        if (cg->fd[h] >= 0)
                close(cg->fd[h]);
        cg->fd[h] = CG_FD_UNKNOWN;
        int root = cg_root_fd(cg->layout, h);
        if (root < 0)
                return;
        char buf[PATH_MAX];
        for (size_t d = cg->ncomp; d > cg->first_created[h]; d--) {
                size_t n = comp_end(cg->rel, d);
                memcpy(buf, cg->rel, n);
                buf[n] = '\0';
                (void) unlinkat(root, buf, AT_REMOVEDIR);
        }
        cg->first_created[h] = cg->ncomp;
}

/* Make the path in hierarchy h.  Without `exclusive` (the parents lock
 * held shared) this may only make the leaf: a missing parent returns
 * -EAGAIN, and the caller retries with the lock held exclusively. */
static int create_in(struct cgroup *cg, size_t h, bool exclusive,
                     struct berr *err) {
        const struct cg_hierarchy *hi = &cg->layout->h[h];
        int root = cg_root_fd(cg->layout, h);
        if (root < 0)
                return berr_set(err, root, "open cgroup hierarchy '%s'",
                                hi->mount);
        bool cpuset = !hi->v2 && (hi->ctrls & CG_CTRL_BIT(CG_CTRL_CPUSET));
        /* Only a pure v2 host: on a hybrid one the unified hierarchy holds
         * no controller berth's limits need from its ancestors. */
        bool delegate = hi->v2 && cg->layout->mode == CGROUP_MODE_V2;
        _cleanup_close_ int cur = -1;
        int parent = root;
        if (delegate)
                cg_v2_delegate_path(root);
        const char *p = cg->rel;
        for (size_t i = 0; i < cg->ncomp; i++) {
                const char *e = strchrnul(p, '/');
                char name[NAME_MAX + 1];
                memcpy(name, p, (size_t) (e - p));
                name[e - p] = '\0';
                p = *e ? e + 1 : e;
                bool leaf = i + 1 == cg->ncomp, made = false;
                int r;

                if (mkdirat(parent, name, 0755) == 0) {
                        if (!leaf && !exclusive) {
                                (void) unlinkat(parent, name, AT_REMOVEDIR);
                                return -EAGAIN;
                        }
                        made = true;
                        if (cg->first_created[h] == cg->ncomp)
                                cg->first_created[h] = i;
                } else if (errno != EEXIST) {
                        r = -errno;
                        _cleanup_free_ char *path =
                                cg_path_at(cg, h, i + 1, NULL);
                        return berr_set(err, r, "create cgroup '%s'",
                                        path ? path : name);
                }
                int fd = openat(parent, name,
                                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        r = -errno;
                        _cleanup_free_ char *path =
                                cg_path_at(cg, h, i + 1, NULL);
                        return berr_set(err, r, "open cgroup '%s'",
                                        path ? path : name);
                }
                r = 0;
                if (made && cpuset)
                        r = cg_v1_cpuset_init(cg, h, i + 1, parent, fd, leaf,
                                              err);
                else if (made && hi->v2 && !leaf)
                        r = cg_v2_enable_subtree(cg, h, i + 1, fd, err);
                else if (!made && leaf)
                        r = check_unused(cg, h, fd, err);
                else if (!made && delegate)
                        cg_v2_delegate_path(fd);
                if (cur >= 0)
                        close(cur);
                cur = fd;
                parent = cur;
                if (r < 0)
                        return r;
        }
        cg->fd[h] = TAKE_FD(cur);
        return 0;
}

static int systemd_driver(const char *path, struct berr *err) {
        if (access("/run/systemd/system", F_OK) < 0)
                return berr_setx(err, EOPNOTSUPP,
                                 "systemd cgroup driver requested but "
                                 "systemd is not running on this host");
        return berr_setx(err, EOPNOTSUPP,
                         "cgroup '%s': the systemd cgroup driver is not "
                         "implemented yet; use the cgroupfs driver",
                         path ? path : "");
}

/* Parents such as "/berth" are shared by every container, and two berth
 * processes may race: one makes the parent and is still copying cpuset
 * values into it or enabling v2 controllers in it while the other already
 * makes its leaf below (which then lacks CPUs or controllers); or one
 * removes the empty parent just before the other makes its leaf in it.
 * So berth processes take an advisory flock on the first hierarchy's
 * root directory: shared while making a leaf in existing parents,
 * exclusive while making or removing parents.  The lock changes nothing
 * in the cgroup and no other tool looks at it.  Returns the descriptor
 * holding the lock. */
static int parents_lock(struct cg_layout *l, int op) {
        int fd = open(l->h[0].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (flock(fd, op) < 0) {
                if (errno == EINTR)
                        continue;
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int cgroup_create(const char *path, bool systemd, struct cgroup **ret,
                  struct berr *err) {
        if (systemd)
                return systemd_driver(path, err);
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        int r = cg_new(path, &cg, err);
        if (r < 0)
                return r;
        struct cg_layout *l = cg->layout;
        /* A leaf right below the roots has no parent to share. */
        bool exclusive = cg->ncomp == 1;
        for (;;) {
                _cleanup_close_ int lock = -1;
                if (cg->ncomp > 1) {
                        lock = parents_lock(l, exclusive ? LOCK_EX : LOCK_SH);
                        if (lock < 0)
                                return berr_set(err, lock, "lock '%s'",
                                                l->h[0].mount);
                }
                bool fresh = true;
                r = 0;
                for (size_t h = 0; h < l->n && r == 0; h++) {
                        r = create_in(cg, h, exclusive, err);
                        if (r < 0) {
                                for (size_t k = 0; k <= h; k++)
                                        rollback_hier(cg, k);
                        } else if (cg->first_created[h] >= cg->ncomp)
                                fresh = false;
                }
                if (r == -EAGAIN && !exclusive) {
                        exclusive = true; /* a parent is missing */
                        continue;
                }
                if (r < 0)
                        return r;
                cg->fresh = fresh;
                *ret = TAKE_PTR(cg);
                return 0;
        }
}

int cgroup_open(const char *path, struct cgroup **ret, struct berr *err) {
        _cleanup_(cgroup_freep) struct cgroup *cg = NULL;
        int r = cg_new(path, &cg, err);
        if (r < 0)
                return r;
        /* One directory proves the group exists; the others are opened
         * when an operation needs them (`state` only reads the freezer). */
        r = -ENOENT;
        for (size_t h = 0; h < cg->layout->n; h++) {
                int fd = cg_dirfd(cg, h);
                if (fd >= 0) {
                        *ret = TAKE_PTR(cg);
                        return 0;
                }
                if (fd != -ENOENT && r == -ENOENT)
                        r = fd;
        }
        return berr_set(err, r, "open cgroup '%s'", path);
}

int cgroup_apply(struct cgroup *cg, const struct spec_resources *r,
                 struct berr *err) {
        if (!r)
                return 0;
        struct cg_layout *l = cg->layout;
        int q = l->mode == CGROUP_MODE_V2
                        ? cg_v2_apply(cg, (size_t) l->unified, r, err)
                        : cg_v1_apply(cg, r, err);
        /* Limits are no longer the kernel defaults: a later apply on the
         * same object must read before choosing a write order. */
        cg->fresh = false;
        return q;
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct berr *err) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        size_t joined = 0;
        for (size_t h = 0; h < cg->layout->n; h++) {
                int fd = cg_dirfd(cg, h);
                if (fd == -ENOENT)
                        continue; /* hierarchy mounted after creation */
                if (fd < 0) {
                        _cleanup_free_ char *path =
                                cg_path_at(cg, h, cg->ncomp, NULL);
                        return berr_set(err, fd, "open cgroup '%s'",
                                        path ? path : cg->path);
                }
                int r = cg_write(cg, h, "cgroup.procs", buf, err);
                if (r < 0)
                        return r;
                joined++;
        }
        if (!joined)
                return berr_setx(err, ENOENT,
                                 "cgroup '%s' does not exist in any "
                                 "hierarchy",
                                 cg->path);
        return 0;
}

/* ---- listing and signalling ----------------------------------------- */

struct pidvec {
        pid_t *v;
        size_t n, cap;
};

static int pidvec_push(struct pidvec *pv, pid_t p) {
        if (pv->n == pv->cap) {
                size_t cap = pv->cap ? pv->cap * 2 : 16;
                pid_t *nv = realloc(pv->v, cap * sizeof(pid_t));
                if (!nv)
                        return -ENOMEM;
                pv->v = nv;
                pv->cap = cap;
        }
        pv->v[pv->n++] = p;
        return 0;
}

/* cgroup.procs of the group and of every group below it (a container
 * with a cgroup namespace may make its own). */
static int collect_pids(int dirfd, struct pidvec *pv, unsigned depth) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "cgroup.procs", 64 << 20, &text, NULL);
        if (r == -ENOENT || r == -ENODEV)
                return 0; /* removed while we looked */
        if (r < 0)
                return r;
        for (char *p = text; *p;) {
                char *nl = strchrnul(p, '\n');
                bool last = !*nl;
                *nl = '\0';
                int pid;
                if (*p && parse_int(p, &pid) == 0 && pid > 0) {
                        r = pidvec_push(pv, pid);
                        if (r < 0)
                                return r;
                }
                if (last)
                        break;
                p = nl + 1;
        }
        if (depth >= 32)
                return 0;
        int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        struct dirent *de;
        r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                int c = openat(dirfd, de->d_name,
                               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (c < 0)
                        continue;
                r = collect_pids(c, pv, depth + 1);
                close(c);
        }
        closedir(d);
        return r;
}

/* The hierarchy whose cgroup.procs lists the group's processes. */
static int pids_hier(struct cgroup *cg) {
        struct cg_layout *l = cg->layout;
        if (l->mode == CGROUP_MODE_V2)
                return l->unified;
        int pref[] = {l->ctrl_hier[CG_CTRL_PIDS],
                      l->ctrl_hier[CG_CTRL_FREEZER]};
        for (size_t i = 0; i < ELEMENTSOF(pref); i++)
                if (pref[i] >= 0 && cg_dirfd(cg, (size_t) pref[i]) >= 0)
                        return pref[i];
        for (size_t h = 0; h < l->n; h++)
                if (cg_dirfd(cg, h) >= 0)
                        return (int) h;
        return -ENOENT;
}

int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n) {
        int h = pids_hier(cg);
        if (h < 0)
                return h;
        int fd = cg_dirfd(cg, (size_t) h);
        if (fd < 0)
                return fd;
        struct pidvec pv = {0};
        int r = collect_pids(fd, &pv, 0);
        if (r < 0) {
                free(pv.v);
                return r;
        }
        *ret = pv.v;
        *ret_n = pv.n;
        return 0;
}

/* v1 freezer if mounted, else the unified hierarchy's cgroup.freeze
 * (which also works on hybrid hosts: it is a core file, no controller). */
static int freezer_hier(struct cgroup *cg, bool *v2) {
        struct cg_layout *l = cg->layout;
        if (l->mode != CGROUP_MODE_V2 && l->ctrl_hier[CG_CTRL_FREEZER] >= 0) {
                *v2 = false;
                return l->ctrl_hier[CG_CTRL_FREEZER];
        }
        if (l->unified >= 0) {
                *v2 = true;
                return l->unified;
        }
        return -EOPNOTSUPP;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr *err) {
        bool v2;
        int h = freezer_hier(cg, &v2);
        if (h < 0)
                return berr_setx(err, -h,
                                 "%s cgroup '%s': no freezer cgroup "
                                 "controller is mounted",
                                 frozen ? "freeze" : "thaw", cg->path);
        return v2 ? cg_v2_freeze(cg, (size_t) h, frozen, err)
                  : cg_v1_freeze(cg, (size_t) h, frozen, err);
}

int cgroup_is_frozen(struct cgroup *cg, bool *ret) {
        bool v2;
        int h = freezer_hier(cg, &v2);
        if (h < 0)
                return h;
        return v2 ? cg_v2_is_frozen(cg, (size_t) h, ret)
                  : cg_v1_is_frozen(cg, (size_t) h, ret);
}

int cgroup_kill_all(struct cgroup *cg, int sig) {
        struct cg_layout *l = cg->layout;
        bool killed = false;
        /* cgroup.kill kills the whole subtree atomically, so nothing can
         * fork past it.  On hybrid hosts every process berth starts is
         * in the unified group too (cgroup_enter), so it works there as
         * well; the sweep below catches anything that joined only the v1
         * groups. */
        if (sig == SIGKILL && l->unified >= 0 &&
            cg_dirfd(cg, (size_t) l->unified) >= 0 &&
            cg_v2_kill(cg, (size_t) l->unified) == 0) {
                if (l->mode == CGROUP_MODE_V2)
                        return 0;
                killed = true;
        }
        /* Freeze so that nothing forks between listing and signalling.
         * A group paused by the user stays paused, unless it is being
         * killed: v1 frozen tasks die only once thawed. */
        bool was_frozen = false, froze = false;
        bool have_freezer = cgroup_is_frozen(cg, &was_frozen) >= 0;
        if (have_freezer && !was_frozen && !killed)
                froze = cgroup_freeze(cg, true, NULL) >= 0;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = cgroup_pids(cg, &pids, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH && r == 0)
                        r = -errno;
        if (froze || (was_frozen && sig == SIGKILL))
                (void) cgroup_freeze(cg, false, NULL);
        return r == -ENOENT ? 0 : r;
}

/* ---- removal -------------------------------------------------------- */

/* Directories below the leaf are groups the container made inside its
 * own group: they are ours to remove too. */
static void remove_children(int root, const char *rel, unsigned depth) {
        if (depth > 32)
                return;
        int fd = openat(root, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub = str_printf("%s/%s", rel, de->d_name);
                if (!sub)
                        break;
                remove_children(root, sub, depth + 1);
                (void) unlinkat(root, sub, AT_REMOVEDIR);
        }
        closedir(d);
}

static int rmdir_group(int root, const char *rel, uint64_t deadline) {
        uint64_t delay = 1000;
        for (;;) {
                if (unlinkat(root, rel, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                int r = -errno;
                if (r != -EBUSY && r != -ENOTEMPTY)
                        return r;
                remove_children(root, rel, 0);
                if (unlinkat(root, rel, AT_REMOVEDIR) == 0 || errno == ENOENT)
                        return 0;
                uint64_t now = cg_now_us();
                if (now >= deadline)
                        return -EBUSY;
                cg_sleep_us(delay < deadline - now ? delay : deadline - now);
                if (delay < 50000)
                        delay *= 2;
        }
}

/* Ancestors that destroy may remove when empty: those this process made,
 * and berth's own parents ("berth", "berth-..."), which berth made in an
 * earlier process.  Directories of other names are left alone even when
 * empty: they may belong to systemd or another manager. */
static bool is_berth_name(const char *name, size_t len) {
        return (len == 5 && memcmp(name, "berth", 5) == 0) ||
               (len > 6 && memcmp(name, "berth-", 6) == 0);
}

static void remove_parents(struct cgroup *cg, size_t h, int root) {
        char buf[PATH_MAX];
        for (size_t d = cg->ncomp - 1; d > 0; d--) {
                size_t start = comp_end(cg->rel, d - 1);
                if (start)
                        start++;
                size_t end = comp_end(cg->rel, d);
                /* The shared top-level "berth" group stays, like Docker's
                 * "docker": creating and removing it around every
                 * container would cost two cgroupfs mkdir/rmdir per
                 * hierarchy per run. */
                if (d == 1 && end - start == 5 &&
                    memcmp(cg->rel + start, "berth", 5) == 0)
                        return;
                if (d - 1 < cg->first_created[h] &&
                    !is_berth_name(cg->rel + start, end - start))
                        return;
                memcpy(buf, cg->rel, end);
                buf[end] = '\0';
                /* EBUSY/ENOTEMPTY: another container still uses it. */
                if (unlinkat(root, buf, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return;
        }
}

int cgroup_destroy(struct cgroup *cg, struct berr *err) {
        uint64_t deadline = cg_now_us() + CG_DESTROY_WAIT_US;
        int ret = 0;
        _cleanup_close_ int lock = -1;
        for (size_t h = 0; h < cg->layout->n; h++) {
                int root = cg_root_fd(cg->layout, h);
                if (root < 0) {
                        if (ret == 0)
                                ret = berr_set(err, root,
                                               "open cgroup hierarchy '%s'",
                                               cg->layout->h[h].mount);
                        continue;
                }
                if (cg->fd[h] >= 0)
                        close(cg->fd[h]);
                cg->fd[h] = -ENOENT;
                int r = rmdir_group(root, cg->rel, deadline);
                if (r < 0) {
                        if (ret == 0) {
                                _cleanup_free_ char *path =
                                        cg_path_at(cg, h, cg->ncomp, NULL);
                                ret = berr_set(err, r, "remove cgroup '%s'%s",
                                               path ? path : cg->path,
                                               r == -EBUSY ? " (processes are "
                                                             "still in it)"
                                                           : "");
                        }
                        cg->fd[h] = CG_FD_UNKNOWN;
                        continue;
                }
                if (cg->ncomp > 1 && lock == -1)
                        lock = parents_lock(cg->layout, LOCK_EX);
                /* Without the lock, leave the empty parents: harmless. */
                if (lock >= 0)
                        remove_parents(cg, h, root);
                cg->first_created[h] = cg->ncomp;
        }
        return ret;
}

/* ---- accounting and mounts ------------------------------------------ */

int cgroup_oom_kills(struct cgroup *cg, uint64_t *ret) {
        struct cg_layout *l = cg->layout;
        int h = l->ctrl_hier[CG_CTRL_MEMORY];
        if (l->mode != CGROUP_MODE_V2 && h >= 0)
                return cg_v1_oom_kills(cg, (size_t) h, ret);
        uint32_t ctrls = 0;
        if (l->unified >= 0 && cg_v2_root_ctrls(l, &ctrls) == 0 &&
            (ctrls & CG_CTRL_BIT(CG_CTRL_MEMORY)))
                return cg_v2_oom_kills(cg, (size_t) l->unified, ret);
        return -EOPNOTSUPP;
}

int cgroup_mount_sources(struct cgroup *cg, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        for (size_t h = 0; h < cg->layout->n; h++) {
                int fd = cg_dirfd(cg, h);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                const struct cg_hierarchy *hi = &cg->layout->h[h];
                _cleanup_free_ char *e =
                        str_printf("%s\t%s/%s", hi->name, hi->mount, cg->rel);
                if (!e)
                        return -ENOMEM;
                int r = strv_push(&v, e);
                if (r < 0)
                        return r;
        }
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}
