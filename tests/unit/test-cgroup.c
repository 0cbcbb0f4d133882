/* Unit tests for src/runtime/cgroups against the real kernel.
 *
 * Run as root.  The checks of file contents are written for this project's
 * hybrid build machines (v1 controllers at /sys/fs/cgroup/<ctrl>, cgroup2
 * at /sys/fs/cgroup/unified) and skip on other layouts; the mountinfo
 * parser tests run anywhere.
 *
 * Every group lives below "/berth-test-<pid>/" in each hierarchy.  The
 * teardown kills the test's children and removes that tree in every
 * hierarchy even when an assertion failed half-way, and it touches no
 * other group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup.h"
#include "cgroups/internal.h"
#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROOT       "/sys/fs/cgroup"
#define MAX_CHILDREN 4

struct fx {
        char path[128]; /* "/berth-test-PID/tN" */
        struct cgroup *cg;
        pid_t child[MAX_CHILDREN];
        int go[MAX_CHILDREN]; /* write end of the child's start pipe */
        size_t nchild;
};

static char test_base[64];
static unsigned test_counter;

/* ---- helpers -------------------------------------------------------- */

static char *slurp(const char *path) {
        char *text = NULL;
        size_t len = 0;
        if (read_file_at(AT_FDCWD, path, 1 << 20, &text, &len) < 0)
                return NULL;
        while (len > 0 && text[len - 1] == '\n')
                text[--len] = '\0';
        return text;
}

/* Content of FILE of the test's group in hierarchy HIER ("memory"). */
static char *group_file(const struct fx *f, const char *hier,
                        const char *file) {
        _cleanup_free_ char *p =
                str_printf(CGROOT "/%s%s/%s", hier, f->path, file);
        assert_non_null(p);
        return slurp(p);
}

static bool group_dir_exists(const char *hier, const char *rel) {
        _cleanup_free_ char *p = str_printf(CGROOT "/%s%s", hier, rel);
        struct stat st;
        return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void assert_group_file(const struct fx *f, const char *hier,
                              const char *file, const char *want) {
        _cleanup_free_ char *got = group_file(f, hier, file);
        if (!got)
                fail_msg("cannot read %s/%s", hier, file);
        if (strcmp(got, want) != 0)
                fail_msg("%s/%s: got '%s', want '%s'", hier, file, got, want);
}

/* A child that waits for a byte on a pipe, then runs `body`. */
enum child_kind {
        CHILD_SLEEP,
        CHILD_HOG,
};

static pid_t spawn(struct fx *f, enum child_kind kind) {
        assert_true(f->nchild < MAX_CHILDREN);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                char c;
                if (read(p[0], &c, 1) != 1)
                        _exit(3);
                if (kind == CHILD_HOG) {
                        /* Touch 512 MiB, a page at a time. */
                        for (int i = 0; i < 512; i++) {
                                char *m = malloc(1 << 20);
                                if (!m)
                                        _exit(4);
                                memset(m, i, 1 << 20);
                        }
                        _exit(0);
                }
                for (;;)
                        pause();
        }
        close(p[0]);
        f->child[f->nchild] = pid;
        f->go[f->nchild] = p[1];
        f->nchild++;
        return pid;
}

static void release(struct fx *f, pid_t pid) {
        for (size_t i = 0; i < f->nchild; i++)
                if (f->child[i] == pid && f->go[i] >= 0) {
                        assert_int_equal(write(f->go[i], "x", 1), 1);
                        close(f->go[i]);
                        f->go[i] = -1;
                }
}

/* Wait for the child and forget it; returns the wait status. */
static int reap(struct fx *f, pid_t pid) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        for (size_t i = 0; i < f->nchild; i++)
                if (f->child[i] == pid)
                        f->child[i] = 0;
        return status;
}

/* rmdir a cgroup tree (directories only), retrying while tasks exit. */
static void rm_cgroup_tree(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub =
                        str_printf("%s/%s", path, de->d_name);
                if (sub)
                        rm_cgroup_tree(sub);
        }
        closedir(d);
        for (int i = 0; i < 100; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return;
                if (errno != EBUSY)
                        return;
                usleep(10000);
        }
}

/* Remove /berth-test-PID in every hierarchy (pure v2 too). */
static void sweep(void) {
        DIR *d = opendir(CGROOT);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *p = str_printf(
                                CGROOT "/%s%s", de->d_name, test_base);
                        if (p)
                                rm_cgroup_tree(p);
                }
                closedir(d);
        }
        _cleanup_free_ char *p = str_printf(CGROOT "%s", test_base);
        if (p)
                rm_cgroup_tree(p);
}

static bool is_hybrid(void) {
        enum cgroup_mode m;
        return cgroup_detect_mode(&m) == 0 && m == CGROUP_MODE_HYBRID;
}

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        for (size_t i = 0; i < MAX_CHILDREN; i++)
                f->go[i] = -1;
        snprintf(f->path, sizeof(f->path), "%s/t%u", test_base, ++test_counter);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        /* Thaw first: a task frozen by the v1 freezer does not die of
         * SIGKILL until thawed, and waitpid would hang. */
        if (f->cg)
                (void) cgroup_freeze(f->cg, false, NULL);
        for (size_t i = 0; i < f->nchild; i++) {
                if (f->go[i] >= 0)
                        close(f->go[i]);
                if (f->child[i] > 0) {
                        kill(f->child[i], SIGKILL);
                        while (waitpid(f->child[i], NULL, 0) < 0 &&
                               errno == EINTR)
                                ;
                }
        }
        if (f->cg) {
                (void) cgroup_destroy(f->cg, NULL);
                cgroup_free(f->cg);
        }
        sweep();
        free(f);
        return 0;
}

/* Create the fixture's group, skipping where the checks don't apply. */
static void make_group(struct fx *f) {
        if (geteuid() != 0)
                skip();
        if (!is_hybrid())
                skip();
        struct berr err = {0};
        int r = cgroup_create(f->path, false, &f->cg, &err);
        if (r < 0)
                fail_msg("cgroup_create: %s", berr_message(&err, r));
}

static void apply_ok(struct fx *f, const struct spec_resources *res) {
        struct berr err = {0};
        int r = cgroup_apply(f->cg, res, &err);
        if (r < 0)
                fail_msg("cgroup_apply: %s", berr_message(&err, r));
}

static void enter_ok(struct fx *f, pid_t pid) {
        struct berr err = {0};
        int r = cgroup_enter(f->cg, pid, &err);
        if (r < 0)
                fail_msg("cgroup_enter: %s", berr_message(&err, r));
}

/* ---- layout --------------------------------------------------------- */

static void test_detect_mode(void **state) {
        if (access(CGROOT "/unified/cgroup.controllers", F_OK) < 0 ||
            access(CGROOT "/memory/memory.stat", F_OK) < 0)
                skip(); /* not one of this project's hybrid machines */
        enum cgroup_mode m;
        assert_int_equal(cgroup_detect_mode(&m), 0);
        assert_int_equal(m, CGROUP_MODE_HYBRID);
        assert_string_equal(cgroup_mode_name(m), "hybrid");
        /* Cached: same answer. */
        enum cgroup_mode again;
        assert_int_equal(cgroup_detect_mode(&again), 0);
        assert_int_equal(again, m);
}

static void test_parse_mountinfo_v1_comounted(void **state) {
        const char *mi =
                "22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                "25 22 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
                "26 25 0:24 / /sys/fs/cgroup/systemd rw shared:9 - cgroup "
                "cgroup rw,xattr,name=systemd\n"
                "29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - "
                "cgroup cgroup rw,cpu,cpuacct\n"
                "30 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup "
                "rw,memory\n"
                "31 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup "
                "cgroup rw,net_cls,net_prio\n"
                "32 25 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup "
                "rw,cpuset,clone_children\n"
                "33 25 0:31 / /run/elsewhere/memory rw - cgroup cgroup "
                "rw,memory\n"
                "34 25 0:32 / /sys/fs/cgroup/foo rw - cgroup cgroup "
                "rw,name=foo\n";
        struct cg_layout l;
        assert_int_equal(cg_layout_parse_mountinfo(mi, &l), 0);
        assert_int_equal(l.mode, CGROUP_MODE_V1);
        assert_int_equal(l.unified, -1);
        assert_int_equal(l.n, 5); /* 4 controller hierarchies + systemd */
        int cpu = l.ctrl_hier[CG_CTRL_CPU];
        assert_true(cpu >= 0);
        assert_int_equal(l.ctrl_hier[CG_CTRL_CPUACCT], cpu);
        assert_string_equal(l.h[cpu].name, "cpu,cpuacct");
        assert_string_equal(l.h[cpu].mount, "/sys/fs/cgroup/cpu,cpuacct");
        int mem = l.ctrl_hier[CG_CTRL_MEMORY];
        assert_string_equal(l.h[mem].mount, "/sys/fs/cgroup/memory");
        assert_int_equal(l.ctrl_hier[CG_CTRL_NET_PRIO],
                         l.ctrl_hier[CG_CTRL_NET_CLS]);
        assert_int_equal(l.ctrl_hier[CG_CTRL_BLKIO], -1);
        assert_true(l.systemd >= 0);
        assert_string_equal(l.h[l.systemd].name, "systemd");
        assert_true(l.h[l.systemd].named);
        /* systemd comes after the controller hierarchies. */
        assert_int_equal(l.systemd, 4);
        cg_layout_done(&l);
}

static void test_parse_mountinfo_v2_and_hybrid(void **state) {
        struct cg_layout l;
        const char *v2 = "30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 "
                         "cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        assert_int_equal(cg_layout_parse_mountinfo(v2, &l), 0);
        assert_int_equal(l.mode, CGROUP_MODE_V2);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.unified, 0);
        assert_string_equal(l.h[0].name, "");
        cg_layout_done(&l);

        const char *hy =
                "40 30 0:37 / /mnt/bind\\040here rw - cgroup2 cgroup2 rw\n"
                "41 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 "
                "rw\n"
                "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup "
                "rw,memory\n";
        assert_int_equal(cg_layout_parse_mountinfo(hy, &l), 0);
        assert_int_equal(l.mode, CGROUP_MODE_HYBRID);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.h[l.unified].mount, "/sys/fs/cgroup/unified");
        assert_string_equal(l.h[l.unified].name, "unified");
        cg_layout_done(&l);

        assert_int_equal(cg_layout_parse_mountinfo("1 0 0:1 / / rw - ext4 "
                                                   "/dev/sda rw\n",
                                                   &l),
                         -ENOMEDIUM);
}

/* ---- creation and paths --------------------------------------------- */

static void test_bad_paths_and_systemd(void **state) {
        if (geteuid() != 0)
                skip();
        struct cgroup *cg = NULL;
        struct berr err = {0};
        assert_int_equal(cgroup_create("/berth/../escape", false, &cg, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "/berth/../escape"));
        assert_null(cg);
        berr_clear(&err);
        assert_int_equal(cgroup_create("/", false, &cg, &err), -EINVAL);
        berr_clear(&err);
        assert_int_equal(cgroup_create("system.slice:berth:x", true, &cg, &err),
                         -EOPNOTSUPP);
        if (access("/run/systemd/system", F_OK) < 0)
                assert_string_equal(err.msg,
                                    "systemd cgroup driver requested but "
                                    "systemd is not running on this host");
        berr_clear(&err);
        assert_int_equal(cgroup_open("/berth-test-no-such-group/x", &cg, &err),
                         -ENOENT);
        assert_non_null(strstr(err.msg, "/berth-test-no-such-group/x"));
}

static void test_create_memory_limit(void **state) {
        struct fx *f = *state;
        make_group(f);
        /* The group exists in every hierarchy, v1, systemd and unified. */
        const char *hiers[] = {"cpu",     "cpuacct", "cpuset", "memory",
                               "devices", "freezer", "blkio",  "pids",
                               "systemd", "unified"};
        for (size_t i = 0; i < ELEMENTSOF(hiers); i++)
                if (!group_dir_exists(hiers[i], f->path))
                        fail_msg("no group in '%s'", hiers[i]);
        assert_string_equal(cgroup_path(f->cg), f->path);

        struct spec_resources res = {0};
        res.has_memory_limit = true;
        res.memory_limit = 64 << 20;
        res.has_memory_reservation = true;
        res.memory_reservation = 32 << 20;
        res.has_memory_swappiness = true;
        res.memory_swappiness = 10;
        apply_ok(f, &res);
        assert_group_file(f, "memory", "memory.limit_in_bytes", "67108864");
        assert_group_file(f, "memory", "memory.soft_limit_in_bytes",
                          "33554432");
        assert_group_file(f, "memory", "memory.swappiness", "10");
}

static void test_memory_swap_order(void **state) {
        struct fx *f = *state;
        make_group(f);
        if (!group_dir_exists("memory", f->path) ||
            access(CGROOT "/memory/memory.memsw.limit_in_bytes", F_OK) < 0)
                skip();
        struct spec_resources res = {0};
        res.has_memory_limit = res.has_memory_swap = true;
        res.memory_limit = 64 << 20;
        res.memory_swap = 128 << 20;
        apply_ok(f, &res);
        assert_group_file(f, "memory", "memory.memsw.limit_in_bytes",
                          "134217728");
        /* Lowering both: memory first. */
        res.memory_limit = 32 << 20;
        res.memory_swap = 48 << 20;
        apply_ok(f, &res);
        assert_group_file(f, "memory", "memory.limit_in_bytes", "33554432");
        assert_group_file(f, "memory", "memory.memsw.limit_in_bytes",
                          "50331648");
        /* Raising both above the old memsw: memsw first. */
        res.memory_limit = 256 << 20;
        res.memory_swap = 512 << 20;
        apply_ok(f, &res);
        assert_group_file(f, "memory", "memory.limit_in_bytes", "268435456");
        assert_group_file(f, "memory", "memory.memsw.limit_in_bytes",
                          "536870912");
        /* Unlimited memory without a swap value lifts memsw too. */
        struct spec_resources unl = {0};
        unl.has_memory_limit = true;
        unl.memory_limit = -1;
        apply_ok(f, &unl);
        assert_group_file(f, "memory", "memory.memsw.limit_in_bytes",
                          "9223372036854771712");
        /* swap < memory is refused before anything is written. */
        struct berr err = {0};
        res.memory_limit = 64 << 20;
        res.memory_swap = 32 << 20;
        assert_int_equal(cgroup_apply(f->cg, &res, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "memory.swap"));
}

static void test_pids_limit(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct spec_resources res = {0};
        res.has_pids_limit = true;
        res.pids_limit = 10;
        apply_ok(f, &res);
        assert_group_file(f, "pids", "pids.max", "10");
        res.pids_limit = -1;
        apply_ok(f, &res);
        assert_group_file(f, "pids", "pids.max", "max");
        res.pids_limit = 0;
        apply_ok(f, &res);
        assert_group_file(f, "pids", "pids.max", "max");
}

static void test_cpu_limits(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct spec_resources res = {0};
        res.has_cpu_shares = true;
        res.cpu_shares = 512;
        res.has_cpu_quota = true;
        res.cpu_quota = 50000;
        res.has_cpu_period = true;
        res.cpu_period = 100000;
        apply_ok(f, &res);
        assert_group_file(f, "cpu", "cpu.shares", "512");
        assert_group_file(f, "cpu", "cpu.cfs_quota_us", "50000");
        assert_group_file(f, "cpu", "cpu.cfs_period_us", "100000");
        /* A shorter period with a matching quota (period refused first,
         * then retried after the quota). */
        res.cpu_quota = 5000;
        res.cpu_period = 10000;
        apply_ok(f, &res);
        assert_group_file(f, "cpu", "cpu.cfs_quota_us", "5000");
        assert_group_file(f, "cpu", "cpu.cfs_period_us", "10000");
        /* Unlimited. */
        struct spec_resources unl = {0};
        unl.has_cpu_quota = true;
        unl.cpu_quota = -1;
        apply_ok(f, &unl);
        assert_group_file(f, "cpu", "cpu.cfs_quota_us", "-1");
}

static void test_cpuset(void **state) {
        struct fx *f = *state;
        make_group(f);
        /* A new group got the parent's CPUs and nodes, so tasks can
         * join it. */
        _cleanup_free_ char *root_cpus = slurp(CGROOT "/cpuset/cpuset.cpus");
        _cleanup_free_ char *root_mems = slurp(CGROOT "/cpuset/cpuset.mems");
        assert_non_null(root_cpus);
        assert_group_file(f, "cpuset", "cpuset.cpus", root_cpus);
        assert_group_file(f, "cpuset", "cpuset.mems", root_mems);
        struct spec_resources res = {0};
        res.cpu_cpus = (char *) "0";
        res.cpu_mems = (char *) "0";
        apply_ok(f, &res);
        assert_group_file(f, "cpuset", "cpuset.cpus", "0");
        assert_group_file(f, "cpuset", "cpuset.mems", "0");
}

static void test_devices(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct spec_dev_rule rules[] = {
                {.allow = false,
                 .type = 'a',
                 .major = -1,
                 .minor = -1,
                 .access = "rwm"},
                {.allow = true,
                 .type = 'c',
                 .major = 1,
                 .minor = 3,
                 .access = "rwm"},
                {.allow = true,
                 .type = 'c',
                 .major = 136,
                 .minor = -1,
                 .access = "rw"},
        };
        struct spec_resources res = {0};
        res.has_devices = true;
        res.devices = rules;
        res.n_devices = ELEMENTSOF(rules);
        apply_ok(f, &res);
        _cleanup_free_ char *list = group_file(f, "devices", "devices.list");
        assert_non_null(list);
        assert_non_null(strstr(list, "c 1:3 rwm"));
        assert_non_null(strstr(list, "c 136:* rw"));
        assert_null(strstr(list, "a *:*"));
}

/* ---- processes ------------------------------------------------------ */

static void test_enter_and_pids(void **state) {
        struct fx *f = *state;
        make_group(f);
        pid_t pid = spawn(f, CHILD_SLEEP);
        enter_ok(f, pid);

        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
        _cleanup_free_ char *cg = slurp(p);
        assert_non_null(cg);
        const char *want[] = {
                ":memory:", ":pids:", ":cpuset:", ":name=systemd:", "0::"};
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                _cleanup_free_ char *line =
                        str_printf("%s%s\n", want[i], f->path);
                _cleanup_free_ char *text = str_printf("%s\n", cg);
                if (!strstr(text, line))
                        fail_msg("%s not in:\n%s", line, cg);
        }

        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(cgroup_pids(f->cg, &pids, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], pid);

        /* A leaf with a process in it cannot be created again. */
        struct cgroup *again = NULL;
        struct berr err = {0};
        assert_int_equal(cgroup_create(f->path, false, &again, &err), -EEXIST);
        assert_null(again);
        assert_non_null(strstr(err.msg, f->path));
        /* ...and that failure removed nothing. */
        assert_true(group_dir_exists("memory", f->path));

        /* cgroup_open sees the same group. */
        struct cgroup *o = NULL;
        assert_int_equal(cgroup_open(f->path, &o, NULL), 0);
        _cleanup_free_ pid_t *pids2 = NULL;
        assert_int_equal(cgroup_pids(o, &pids2, &n), 0);
        assert_int_equal(n, 1);
        cgroup_free(o);
}

static void test_mount_sources(void **state) {
        struct fx *f = *state;
        make_group(f);
        _cleanup_strv_free_ char **v = NULL;
        assert_int_equal(cgroup_mount_sources(f->cg, &v), 0);
        _cleanup_free_ char *mem =
                str_printf("memory\t" CGROOT "/memory%s", f->path);
        _cleanup_free_ char *uni =
                str_printf("unified\t" CGROOT "/unified%s", f->path);
        _cleanup_free_ char *sd =
                str_printf("systemd\t" CGROOT "/systemd%s", f->path);
        assert_true(strv_contains(v, mem));
        assert_true(strv_contains(v, uni));
        assert_true(strv_contains(v, sd));
}

static void test_freeze_thaw(void **state) {
        struct fx *f = *state;
        make_group(f);
        pid_t pid = spawn(f, CHILD_SLEEP);
        enter_ok(f, pid);
        release(f, pid);

        struct berr err = {0};
        bool frozen = true;
        assert_int_equal(cgroup_is_frozen(f->cg, &frozen), 0);
        assert_false(frozen);
        int r = cgroup_freeze(f->cg, true, &err);
        if (r < 0)
                fail_msg("freeze: %s", berr_message(&err, r));
        assert_int_equal(cgroup_is_frozen(f->cg, &frozen), 0);
        assert_true(frozen);
        assert_group_file(f, "freezer", "freezer.state", "FROZEN");

        r = cgroup_freeze(f->cg, false, &err);
        if (r < 0)
                fail_msg("thaw: %s", berr_message(&err, r));
        assert_int_equal(cgroup_is_frozen(f->cg, &frozen), 0);
        assert_false(frozen);
        assert_group_file(f, "freezer", "freezer.state", "THAWED");
}

static void test_kill_all(void **state) {
        struct fx *f = *state;
        make_group(f);
        pid_t a = spawn(f, CHILD_SLEEP);
        pid_t b = spawn(f, CHILD_SLEEP);
        enter_ok(f, a);
        enter_ok(f, b);
        release(f, a);
        release(f, b);

        assert_int_equal(cgroup_kill_all(f->cg, SIGTERM), 0);
        int st = reap(f, a);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGTERM);
        st = reap(f, b);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGTERM);
        /* The freeze around the signal was undone. */
        bool frozen = true;
        assert_int_equal(cgroup_is_frozen(f->cg, &frozen), 0);
        assert_false(frozen);

        pid_t c = spawn(f, CHILD_SLEEP);
        enter_ok(f, c);
        release(f, c);
        assert_int_equal(cgroup_kill_all(f->cg, SIGKILL), 0);
        st = reap(f, c);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_kill_paused(void **state) {
        struct fx *f = *state;
        make_group(f);
        pid_t a = spawn(f, CHILD_SLEEP);
        enter_ok(f, a);
        release(f, a);
        assert_int_equal(cgroup_freeze(f->cg, true, NULL), 0);
        /* SIGKILL of a paused container must thaw it so tasks can die. */
        assert_int_equal(cgroup_kill_all(f->cg, SIGKILL), 0);
        int st = reap(f, a);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_destroy(void **state) {
        struct fx *f = *state;
        make_group(f);
        pid_t pid = spawn(f, CHILD_SLEEP);
        enter_ok(f, pid);
        release(f, pid);
        /* A nested group, as a container with its own cgroupns makes. */
        _cleanup_free_ char *nested =
                str_printf(CGROOT "/memory%s/inner", f->path);
        assert_int_equal(mkdir(nested, 0755), 0);

        kill(pid, SIGKILL);
        /* destroy waits for the exiting task itself (EBUSY retries). */
        struct berr err = {0};
        int r = cgroup_destroy(f->cg, &err);
        if (r < 0)
                fail_msg("destroy: %s", berr_message(&err, r));
        reap(f, pid);
        const char *hiers[] = {"cpu",     "cpuacct", "cpuset", "memory",
                               "devices", "freezer", "blkio",  "pids",
                               "systemd", "unified"};
        for (size_t i = 0; i < ELEMENTSOF(hiers); i++) {
                if (group_dir_exists(hiers[i], f->path))
                        fail_msg("group left in '%s'", hiers[i]);
                /* The parent berth made for it went too (it was empty). */
                if (group_dir_exists(hiers[i], test_base))
                        fail_msg("parent left in '%s'", hiers[i]);
        }
        /* Destroying again is fine. */
        assert_int_equal(cgroup_destroy(f->cg, NULL), 0);
}

static void test_destroy_keeps_shared_parent(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct fx other = {0};
        snprintf(other.path, sizeof(other.path), "%s/sibling", test_base);
        assert_int_equal(cgroup_create(other.path, false, &other.cg, NULL), 0);
        /* Opened by path, as `berth delete` does in a new process. */
        struct cgroup *o = NULL;
        assert_int_equal(cgroup_open(f->path, &o, NULL), 0);
        assert_int_equal(cgroup_destroy(o, NULL), 0);
        cgroup_free(o);
        assert_false(group_dir_exists("memory", f->path));
        assert_true(group_dir_exists("memory", other.path));
        assert_int_equal(cgroup_destroy(other.cg, NULL), 0);
        cgroup_free(other.cg);
        assert_false(group_dir_exists("memory", test_base));
}

/* ---- errors --------------------------------------------------------- */

static void test_errors_name_file(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct berr err = {0};
        struct spec_resources res = {0};
        res.cpu_cpus = (char *) "999";
        int r = cgroup_apply(f->cg, &res, &err);
        assert_true(r < 0); /* ERANGE on current kernels, EINVAL before */
        assert_int_equal(err.code, -r);
        _cleanup_free_ char *want = str_printf("write '999' to '" CGROOT
                                               "/cpuset%s/cpuset.cpus': %s (",
                                               f->path, strerror(-r));
        if (!str_startswith(err.msg, want))
                fail_msg("message: %s", err.msg);

        berr_clear(&err);
        struct spec_resources q = {0};
        q.has_cpu_quota = true;
        q.cpu_quota = 10; /* below the kernel's 1 ms minimum */
        assert_int_equal(cgroup_apply(f->cg, &q, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'10'"));
        assert_non_null(strstr(err.msg, "cpu.cfs_quota_us"));
        assert_non_null(strstr(err.msg, f->path));
        print_message("example: %s\n", err.msg);

        /* unified keys: a v1 controller on this hybrid host, a path, a
         * core file. */
        struct spec_kv kv = {.key = (char *) "memory.high",
                             .value = (char *) "1G"};
        struct spec_resources u = {0};
        u.unified = &kv;
        u.n_unified = 1;
        berr_clear(&err);
        assert_int_equal(cgroup_apply(f->cg, &u, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "'memory.high'"));
        kv.key = (char *) "../memory.max";
        berr_clear(&err);
        assert_int_equal(cgroup_apply(f->cg, &u, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'../memory.max'"));
        kv.key = (char *) "cgroup.procs";
        berr_clear(&err);
        assert_int_equal(cgroup_apply(f->cg, &u, &err), -EPERM);
        assert_non_null(strstr(err.msg, "cgroup.procs"));
}

static void test_oom_kill(void **state) {
        struct fx *f = *state;
        make_group(f);
        struct spec_resources res = {0};
        res.has_memory_limit = true;
        res.memory_limit = 32 << 20;
        /* memory+swap equal to memory: no swapping around the limit
         * (ignored where swap accounting is off). */
        res.has_memory_swap = true;
        res.memory_swap = 32 << 20;
        apply_ok(f, &res);
        uint64_t kills = 99;
        assert_int_equal(cgroup_oom_kills(f->cg, &kills), 0);
        assert_int_equal(kills, 0);

        pid_t pid = spawn(f, CHILD_HOG);
        enter_ok(f, pid);
        release(f, pid);
        int st = reap(f, pid);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
                fail_msg("memory hog was not OOM-killed (status 0x%x)", st);
        assert_int_equal(cgroup_oom_kills(f->cg, &kills), 0);
        assert_true(kills >= 1);
}

int main(void) {
        snprintf(test_base, sizeof(test_base), "/berth-test-%d",
                 (int) getpid());
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detect_mode),
                cmocka_unit_test(test_parse_mountinfo_v1_comounted),
                cmocka_unit_test(test_parse_mountinfo_v2_and_hybrid),
                cmocka_unit_test(test_bad_paths_and_systemd),
                cmocka_unit_test_setup_teardown(test_create_memory_limit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_memory_swap_order, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pids_limit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_cpu_limits, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_cpuset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enter_and_pids, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_mount_sources, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_freeze_thaw, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kill_all, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_paused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_destroy_keeps_shared_parent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_name_file, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_oom_kill, setup, teardown),
        };
        int failed = cmocka_run_group_tests(tests, NULL, NULL);
        sweep();
        return failed;
}
