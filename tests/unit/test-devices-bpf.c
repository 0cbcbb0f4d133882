/* The cgroup v2 device filter (BPF_PROG_TYPE_CGROUP_DEVICE), proved on a
 * real cgroup2 group: a child moved into it may open what the rules allow
 * and gets EPERM for the rest.  Uses a group of its own in the unified
 * hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified) and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/internal.h"
#include "error.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static char group[256];

static const char *unified_root(void) {
        static const char *const cands[] = {"/sys/fs/cgroup/unified",
                                            "/sys/fs/cgroup"};
        for (size_t i = 0; i < 2; i++) {
                struct statfs sf;
                if (statfs(cands[i], &sf) == 0 &&
                    sf.f_type == CGROUP2_SUPER_MAGIC)
                        return cands[i];
        }
        return NULL;
}

static int setup(void **state) {
        const char *root = unified_root();
        if (!root)
                return -1;
        snprintf(group, sizeof(group), "%s/berth-test-bpf-%d", root,
                 (int) getpid());
        return mkdir(group, 0755);
}

static int teardown(void **state) {
        rmdir(group);
        return 0;
}

/* Child: join the group, then try each device; exit code is a bitmask of
 * the opens that were refused with EPERM. */
static int probe(void) {
        pid_t pid = fork();
        if (pid == 0) {
                char procs[300];
                snprintf(procs, sizeof(procs), "%s/cgroup.procs", group);
                FILE *f = fopen(procs, "we");
                if (!f || fprintf(f, "%d", (int) getpid()) < 0 || fclose(f))
                        _exit(100);
                int bits = 0;
                const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full"};
                for (int i = 0; i < 3; i++) {
                        int fd = open(devs[i], O_RDONLY);
                        if (fd < 0 && errno == EPERM)
                                bits |= 1 << i;
                        if (fd >= 0)
                                close(fd);
                }
                _exit(bits);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_rules_are_enforced(void **state) {
        int fd = open(group, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
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
                 .major = 1,
                 .minor = 5,
                 .access = "r"},
        };
        struct berr err = {0};
        int r = cg_bpf_devices_attach(fd, rules, 3, &err);
        if (r == -EPERM || r == -ENOSYS) {
                close(fd);
                skip();
        }
        assert_int_equal(r, 0);
        /* null allowed, zero allowed for read, full denied */
        assert_int_equal(probe(), 1 << 2);
        /* Replacing the rules: now zero is denied too, full allowed. */
        struct spec_dev_rule rules2[] = {
                {.allow = false,
                 .type = 'a',
                 .major = -1,
                 .minor = -1,
                 .access = "rwm"},
                {.allow = true,
                 .type = 'c',
                 .major = 1,
                 .minor = -1,
                 .access = "rwm"},
                {.allow = false,
                 .type = 'c',
                 .major = 1,
                 .minor = 5,
                 .access = "rwm"},
        };
        assert_int_equal(cg_bpf_devices_attach(fd, rules2, 3, &err), 0);
        assert_int_equal(probe(), 1 << 1);
        close(fd);
}

static void test_program_shape(void **state) {
        struct spec_dev_rule rules[] = {
                {.allow = true,
                 .type = 'a',
                 .major = -1,
                 .minor = -1,
                 .access = "rwm"},
        };
        struct bpf_insn *p = NULL;
        size_t n = 0;
        assert_int_equal(cg_bpf_devices_build(rules, 1, &p, &n), 0);
        /* prologue (6) + match-all block (2); nothing after it */
        assert_int_equal(n, 8);
        assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
        free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_program_shape),
                cmocka_unit_test_setup_teardown(test_rules_are_enforced, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
