/* Unit tests for src/runtime/spec.c: the OCI config.json parser.
 *
 * Documents are written with single quotes for readability; json() turns
 * them into double quotes before parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY      0x00000001
#define MOUNT_ATTR_NOSUID      0x00000002
#define MOUNT_ATTR_NODEV       0x00000004
#define MOUNT_ATTR_NOEXEC      0x00000008
#define MOUNT_ATTR__ATIME      0x00000070
#define MOUNT_ATTR_NOATIME     0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME  0x00000080
#endif

static void spec_freep(struct spec **s) {
        spec_free(*s);
}

/* 'x' -> "x"; the caller frees. */
static char *json(const char *s) {
        char *d = strdup(s);
        assert_non_null(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

#define BASE "'ociVersion': '1.2.0', 'root': {'path': 'rootfs'}"

static struct spec *parse_ok(const char *doc) {
        _cleanup_free_ char *text = json(doc);
        struct berr err = {0};
        struct spec *s = NULL;
        int r = spec_parse(text, strlen(text), &s, &err);
        if (r < 0)
                fail_msg("parse failed: %s\n%s", err.msg, text);
        assert_non_null(s);
        return s;
}

/* Whether parsing fails with EINVAL and exactly this message; prints the
 * difference when not. */
static bool check_err(const char *doc, const char *msg) {
        _cleanup_free_ char *text = json(doc);
        struct berr err = {0};
        struct spec *s = NULL;
        int r = spec_parse(text, strlen(text), &s, &err);
        if (r == -EINVAL && strcmp(err.msg, msg) == 0 && !s)
                return true;
        print_error("document:\n  %s\nexpected -EINVAL '%s'\n     got %d "
                    "'%s'\n",
                    text, msg, r, err.msg);
        spec_free(s);
        return false;
}

static void parse_err(const char *doc, const char *msg) {
        assert_true(check_err(doc, msg));
}

static void test_minimal(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_ok("{" BASE "}");
        assert_string_equal(s->oci_version, "1.2.0");
        assert_string_equal(s->root_path, "rootfs");
        assert_false(s->root_readonly);
        assert_null(s->process);
        assert_null(s->hostname);
        assert_int_equal(s->n_mounts, 0);
        assert_null(s->linux_.resources);
        assert_null(s->linux_.seccomp);
        assert_null(spec_find_ns(s, SPEC_NS_PID));
        for (int k = 0; k < _SPEC_HOOK_MAX; k++)
                assert_int_equal(s->n_hooks[k], 0);
}

static const char full_config[] =
        "{'ociVersion': '1.2.0',"
        " 'root': {'path': '/bundle/rootfs', 'readonly': true},"
        " 'hostname': 'box', 'domainname': 'example.org',"
        " 'process': {"
        "   'terminal': true, 'consoleSize': {'height': 25, 'width': 80},"
        "   'user': {'uid': 1000, 'gid': 100, 'umask': 18,"
        "            'additionalGids': [5, 4294967295], 'username': 'u'},"
        "   'args': ['sh', '-c', 'echo hi'], 'commandLine': 'sh -c x',"
        "   'env': ['PATH=/bin', 'EMPTY='], 'cwd': '/work',"
        "   'capabilities': {'bounding': ['CAP_CHOWN', 'CAP_SYS_ADMIN'],"
        "       'effective': ['CAP_KILL'], 'inheritable': [],"
        "       'permitted': ['CAP_CHECKPOINT_RESTORE'],"
        "       'ambient': ['CAP_NET_RAW']},"
        "   'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1024,"
        "                'hard': 4096},"
        "               {'type': 'RLIMIT_RTTIME', 'soft': 1, 'hard': 2}],"
        "   'noNewPrivileges': true, 'oomScoreAdj': -500,"
        "   'apparmorProfile': 'prof', 'selinuxLabel': 'lbl',"
        "   'ioPriority': {'class': 'IOPRIO_CLASS_BE', 'priority': 4},"
        "   'scheduler': {'policy': 'SCHED_DEADLINE', 'nice': -5,"
        "       'priority': 3, 'flags': ['SCHED_FLAG_RESET_ON_FORK',"
        "       'SCHED_FLAG_RECLAIM'], 'runtime': 10, 'deadline': 20,"
        "       'period': 30}},"
        " 'mounts': [{'destination': '/proc', 'type': 'proc',"
        "             'source': 'proc'},"
        "            {'destination': '/data', 'source': '/srv',"
        "             'options': ['rbind', 'ro', 'rprivate'],"
        "             'uidMappings': [{'containerID': 0, 'hostID': 1000,"
        "                              'size': 1}],"
        "             'gidMappings': [{'containerID': 0, 'hostID': 1000,"
        "                              'size': 1}]}],"
        " 'hooks': {'prestart': [{'path': '/bin/a'}],"
        "    'createRuntime': [{'path': '/bin/b', 'args': ['b', '1'],"
        "                       'env': ['X=1'], 'timeout': 5}],"
        "    'createContainer': [{'path': '/bin/c'}],"
        "    'startContainer': [{'path': '/bin/d'}],"
        "    'poststart': [{'path': '/bin/e'}, {'path': '/bin/f'}],"
        "    'poststop': [{'path': '/bin/g'}]},"
        " 'annotations': {'org.example.key': 'value', 'b': ''},"
        " 'linux': {"
        "   'namespaces': [{'type': 'pid'}, {'type': 'network',"
        "       'path': '/proc/1/ns/net'}, {'type': 'mount'},"
        "       {'type': 'ipc'}, {'type': 'uts'}, {'type': 'user'},"
        "       {'type': 'cgroup'}, {'type': 'time'}],"
        "   'uidMappings': [{'containerID': 0, 'hostID': 100000,"
        "                    'size': 65536}],"
        "   'gidMappings': [{'containerID': 0, 'hostID': 200000,"
        "                    'size': 1000},"
        "                   {'containerID': 1000, 'hostID': 1000,"
        "                    'size': 1}],"
        "   'devices': [{'type': 'c', 'path': '/dev/fuse', 'major': 10,"
        "       'minor': 229, 'fileMode': 438, 'uid': 0, 'gid': 5},"
        "       {'type': 'p', 'path': '/dev/fifo'}],"
        "   'cgroupsPath': '/berth/box',"
        "   'resources': {'pids': {'limit': 100}},"
        "   'sysctl': {'net.ipv4.ip_forward': '1'},"
        "   'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO',"
        "       'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]},"
        "   'rootfsPropagation': 'rslave',"
        "   'maskedPaths': ['/proc/kcore'],"
        "   'readonlyPaths': ['/proc/sys', '/proc/bus'],"
        "   'mountLabel': 'system_u:object_r:x',"
        "   'personality': {'domain': 'LINUX32',"
        "                   'flags': ['ADDR_NO_RANDOMIZE']},"
        "   'timeOffsets': {'boottime': {'secs': -5, 'nanosecs': 7},"
        "                   'monotonic': {'secs': 100, 'nanosecs': 999999999}},"
        "   'intelRdt': {'closID': 'x'}},"
        " 'unknownTopLevel': {'ignored': [1, 2, 3]}}";

static void test_full_config(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_ok(full_config);
        assert_string_equal(s->root_path, "/bundle/rootfs");
        assert_true(s->root_readonly);
        assert_string_equal(s->hostname, "box");
        assert_string_equal(s->domainname, "example.org");

        const struct spec_process *p = s->process;
        assert_non_null(p);
        assert_true(p->terminal);
        assert_true(p->has_console_size);
        assert_int_equal(p->console_height, 25);
        assert_int_equal(p->console_width, 80);
        assert_int_equal(p->user.uid, 1000);
        assert_int_equal(p->user.gid, 100);
        assert_true(p->user.has_umask);
        assert_int_equal(p->user.umask, 022);
        assert_int_equal(p->user.n_additional_gids, 2);
        assert_int_equal(p->user.additional_gids[0], 5);
        assert_true(p->user.additional_gids[1] == UINT32_MAX);
        assert_string_equal(p->user.username, "u");
        assert_int_equal(strv_length(p->args), 3);
        assert_string_equal(p->args[2], "echo hi");
        assert_string_equal(p->command_line, "sh -c x");
        assert_string_equal(p->env[1], "EMPTY=");
        assert_string_equal(p->cwd, "/work");
        assert_true(p->has_caps);
        assert_true(p->caps.bounding ==
                    ((UINT64_C(1) << 0) | (UINT64_C(1) << 21)));
        assert_true(p->caps.effective == UINT64_C(1) << 5);
        assert_true(p->caps.inheritable == 0);
        assert_true(p->caps.permitted == UINT64_C(1) << 40);
        assert_true(p->caps.ambient == UINT64_C(1) << 13);
        assert_int_equal(p->n_rlimits, 2);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_string_equal(p->rlimits[0].name, "RLIMIT_NOFILE");
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_int_equal(p->rlimits[0].hard, 4096);
        assert_int_equal(p->rlimits[1].resource, RLIMIT_RTTIME);
        assert_true(p->no_new_privileges);
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -500);
        assert_string_equal(p->apparmor_profile, "prof");
        assert_string_equal(p->selinux_label, "lbl");
        assert_true(p->has_io_priority);
        assert_int_equal(p->io_priority_class, 2);
        assert_int_equal(p->io_priority_level, 4);
        assert_true(p->has_scheduler);
        assert_int_equal(p->sched_policy, 6);
        assert_int_equal(p->sched_nice, -5);
        assert_int_equal(p->sched_priority, 3);
        assert_int_equal(p->sched_flags, 0x3);
        assert_int_equal(p->sched_runtime, 10);
        assert_int_equal(p->sched_deadline, 20);
        assert_int_equal(p->sched_period, 30);

        assert_int_equal(s->n_mounts, 2);
        assert_string_equal(s->mounts[0].destination, "/proc");
        assert_string_equal(s->mounts[0].type, "proc");
        assert_string_equal(s->mounts[0].source, "proc");
        assert_false(s->mounts[0].bind);
        assert_null(s->mounts[0].data);
        const struct spec_mount *m = &s->mounts[1];
        assert_null(m->type);
        assert_true(m->bind);
        assert_true(m->recursive);
        assert_true(m->flags & MS_RDONLY);
        assert_int_equal(m->propagation, SPEC_PROP_RPRIVATE);
        assert_true(m->idmap); /* implied by the mappings */
        assert_int_equal(m->n_uid_mappings, 1);
        assert_int_equal(m->uid_mappings[0].host_id, 1000);
        assert_int_equal(m->n_gid_mappings, 1);

        assert_int_equal(s->n_hooks[SPEC_HOOK_PRESTART], 1);
        assert_string_equal(s->hooks[SPEC_HOOK_PRESTART][0].path, "/bin/a");
        assert_false(s->hooks[SPEC_HOOK_PRESTART][0].has_timeout);
        const struct spec_hook *h = &s->hooks[SPEC_HOOK_CREATE_RUNTIME][0];
        assert_string_equal(h->args[1], "1");
        assert_string_equal(h->env[0], "X=1");
        assert_true(h->has_timeout);
        assert_int_equal(h->timeout, 5);
        assert_int_equal(s->n_hooks[SPEC_HOOK_CREATE_CONTAINER], 1);
        assert_int_equal(s->n_hooks[SPEC_HOOK_START_CONTAINER], 1);
        assert_int_equal(s->n_hooks[SPEC_HOOK_POSTSTART], 2);
        assert_string_equal(s->hooks[SPEC_HOOK_POSTSTART][1].path, "/bin/f");
        assert_int_equal(s->n_hooks[SPEC_HOOK_POSTSTOP], 1);

        assert_int_equal(s->n_annotations, 2);
        assert_string_equal(s->annotations[0].key, "org.example.key");
        assert_string_equal(s->annotations[0].value, "value");
        assert_string_equal(s->annotations[1].value, "");

        const struct spec_linux *l = &s->linux_;
        assert_int_equal(l->n_namespaces, 8);
        for (int t = 0; t < _SPEC_NS_MAX; t++)
                assert_non_null(spec_find_ns(s, (enum spec_ns) t));
        assert_null(spec_find_ns(s, SPEC_NS_PID)->path);
        assert_string_equal(spec_find_ns(s, SPEC_NS_NET)->path,
                            "/proc/1/ns/net");
        assert_int_equal(l->n_uid_mappings, 1);
        assert_int_equal(l->uid_mappings[0].host_id, 100000);
        assert_int_equal(l->uid_mappings[0].size, 65536);
        assert_int_equal(l->n_gid_mappings, 2);
        assert_int_equal(l->gid_mappings[1].container_id, 1000);
        assert_int_equal(l->n_devices, 2);
        assert_int_equal(l->devices[0].type, 'c');
        assert_string_equal(l->devices[0].path, "/dev/fuse");
        assert_int_equal(l->devices[0].major, 10);
        assert_int_equal(l->devices[0].minor, 229);
        assert_true(l->devices[0].has_file_mode);
        assert_int_equal(l->devices[0].file_mode, 0666);
        assert_true(l->devices[0].has_uid);
        assert_true(l->devices[0].has_gid);
        assert_int_equal(l->devices[0].gid, 5);
        assert_int_equal(l->devices[1].type, 'p');
        assert_false(l->devices[1].has_file_mode);
        assert_string_equal(l->cgroups_path, "/berth/box");
        assert_non_null(l->resources);
        assert_true(l->resources->has_pids_limit);
        assert_int_equal(l->resources->pids_limit, 100);
        assert_int_equal(l->n_sysctl, 1);
        assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
        assert_string_equal(l->sysctl[0].value, "1");
        assert_non_null(l->seccomp);
        assert_int_equal(l->seccomp->default_action, SPEC_SECCOMP_ERRNO);
        assert_int_equal(l->rootfs_propagation, SPEC_PROP_RSLAVE);
        assert_string_equal(l->masked_paths[0], "/proc/kcore");
        assert_int_equal(strv_length(l->readonly_paths), 2);
        assert_string_equal(l->mount_label, "system_u:object_r:x");
        assert_true(l->has_personality);
        assert_true(l->personality == (PER_LINUX32 | ADDR_NO_RANDOMIZE));
        assert_true(l->has_time_offsets);
        assert_int_equal(l->boottime_secs, -5);
        assert_int_equal(l->boottime_nanosecs, 7);
        assert_int_equal(l->monotonic_secs, 100);
        assert_int_equal(l->monotonic_nanosecs, 999999999);
        assert_true(l->has_intel_rdt);
}

static struct spec *parse_mount(const char *mount) {
        char doc[2048];
        snprintf(doc, sizeof(doc), "{" BASE ", 'mounts': [%s]}", mount);
        return parse_ok(doc);
}

static void test_mount_flags(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_mount(
                "{'destination': '/a', 'type': 'tmpfs', 'source': 'tmpfs',"
                " 'options': ['nosuid', 'nodev', 'noexec', 'ro', 'sync',"
                " 'dirsync', 'remount', 'mand', 'noatime', 'nodiratime',"
                " 'strictatime', 'relatime', 'nosymfollow', 'lazytime',"
                " 'iversion', 'silent', 'mode=755', 'size=65536k', '',"
                " 'defaults', 'tmpcopyup', 'shared']}");
        const struct spec_mount *m = &s->mounts[0];
        unsigned long want = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY |
                             MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT |
                             MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME |
                             MS_STRICTATIME | MS_RELATIME | MS_NOSYMFOLLOW |
                             MS_LAZYTIME | MS_I_VERSION | MS_SILENT;
        assert_true(m->flags == want);
        assert_true(m->clear_flags == 0);
        assert_string_equal(m->data, "mode=755,size=65536k");
        assert_true(m->tmpcopyup);
        assert_false(m->bind);
        assert_int_equal(m->propagation, SPEC_PROP_SHARED);
        assert_int_equal(strv_length(m->options), 22);
}

static void test_mount_clear_flags(void **state) {
        /* Later options win; clearing records the flag in clear_flags. */
        _cleanup_(spec_freep) struct spec *s = parse_mount(
                "{'destination': '/a', 'type': 'bind', 'source': '/x',"
                " 'options': ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev',"
                " 'noexec', 'exec', 'sync', 'async', 'mand', 'nomand',"
                " 'noatime', 'atime', 'nodiratime', 'diratime',"
                " 'relatime', 'norelatime', 'strictatime', 'nostrictatime',"
                " 'symfollow', 'loud', 'nolazytime', 'noiversion',"
                " 'private', 'runbindable']}");
        const struct spec_mount *m = &s->mounts[0];
        assert_true(m->bind); /* from the type */
        assert_false(m->recursive);
        assert_true((m->flags & ~(unsigned long) MS_BIND) == 0);
        unsigned long cleared = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                MS_SYNCHRONOUS | MS_MANDLOCK | MS_NOATIME |
                                MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |
                                MS_NOSYMFOLLOW | MS_SILENT | MS_LAZYTIME |
                                MS_I_VERSION;
        assert_true(m->clear_flags == cleared);
        assert_int_equal(m->propagation, SPEC_PROP_RUNBINDABLE);
        assert_null(m->data);
        spec_free(TAKE_PTR(s));

        s = parse_mount("{'destination': '/a', 'options': ['rw', 'ro']}");
        assert_true(s->mounts[0].flags == MS_RDONLY);
        assert_true(s->mounts[0].clear_flags == 0);
}

static void test_mount_recursive_attrs(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_mount(
                "{'destination': '/a', 'source': '/x', 'options': ['rbind',"
                " 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnodiratime',"
                " 'rnoatime', 'ridmap']}");
        const struct spec_mount *m = &s->mounts[0];
        assert_true(m->bind);
        assert_true(m->recursive);
        assert_true(m->idmap);
        assert_true(m->attr_set ==
                    (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                     MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
                     MOUNT_ATTR_NOATIME));
        /* Changing the atime mode needs the whole field cleared. */
        assert_true(m->attr_clr == MOUNT_ATTR__ATIME);
        assert_null(m->data);
        spec_free(TAKE_PTR(s));

        s = parse_mount("{'destination': '/a', 'source': '/x', 'options':"
                        " ['bind', 'rro', 'rrw', 'rsuid', 'rdev', 'rexec',"
                        " 'rdiratime', 'rnoatime', 'rstrictatime', 'idmap']}");
        m = &s->mounts[0];
        assert_true(m->bind);
        assert_false(m->recursive);
        assert_true(m->idmap);
        assert_true(m->attr_set == MOUNT_ATTR_STRICTATIME);
        assert_true(m->attr_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                    MOUNT_ATTR_NODIRATIME | MOUNT_ATTR__ATIME));
        spec_free(TAKE_PTR(s));

        /* ratime undoes rnoatime (back to relatime, set = 0). */
        s = parse_mount("{'destination': '/a', 'options': ['rnoatime',"
                        " 'ratime']}");
        assert_true(s->mounts[0].attr_set == 0);
        assert_true(s->mounts[0].attr_clr == MOUNT_ATTR__ATIME);
}

static void test_mount_option_names(void **state) {
        /* Every advertised option is understood: none lands in data. */
        size_t n = 0;
        for (; spec_mount_option_names[n]; n++) {
                char doc[256];
                snprintf(doc, sizeof(doc),
                         "{'destination': '/a', 'options': ['%s']}",
                         spec_mount_option_names[n]);
                struct spec *s = parse_mount(doc);
                if (s->mounts[0].data)
                        fail_msg("option '%s' went to data",
                                 spec_mount_option_names[n]);
                spec_free(s);
                for (size_t j = 0; j < n; j++)
                        assert_string_not_equal(spec_mount_option_names[j],
                                                spec_mount_option_names[n]);
        }
        const char *required[] = {
                "ro",
                "rw",
                "suid",
                "nosuid",
                "dev",
                "nodev",
                "exec",
                "noexec",
                "sync",
                "async",
                "dirsync",
                "remount",
                "mand",
                "nomand",
                "atime",
                "noatime",
                "diratime",
                "nodiratime",
                "relatime",
                "norelatime",
                "strictatime",
                "nostrictatime",
                "bind",
                "rbind",
                "private",
                "rprivate",
                "shared",
                "rshared",
                "slave",
                "rslave",
                "unbindable",
                "runbindable",
                "idmap",
                "ridmap",
                "tmpcopyup",
                "rro",
                "rrw",
                "rnosuid",
                "rsuid",
                "rnodev",
                "rdev",
                "rnoexec",
                "rexec",
                "rnoatime",
                "ratime",
                "rnodiratime",
                "rdiratime",
                "rrelatime",
                "rnorelatime",
                "rstrictatime",
                "rnostrictatime",
                "rnosymfollow",
                "rsymfollow",
        };
        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                bool found = false;
                for (size_t j = 0; j < n; j++)
                        found |= !strcmp(required[i],
                                         spec_mount_option_names[j]);
                if (!found)
                        fail_msg("'%s' missing from spec_mount_option_names",
                                 required[i]);
        }
}

static void test_huge_integers(void **state) {
        /* Go writes RLIM_INFINITY as 2^64-1, beyond what jansson keeps in
         * a json_int_t. */
        _cleanup_(spec_freep) struct spec *s = parse_ok(
                "{" BASE ", 'process': {'cwd': '/', 'rlimits': [{'type':"
                " 'RLIMIT_CORE', 'soft': 18446744073709551615, 'hard':"
                " 18446744073709551615}, {'type': 'RLIMIT_AS', 'soft':"
                " 9223372036854775808, 'hard': 9223372036854775807}]},"
                " 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
                " 'syscalls': [{'names': ['x'], 'action': 'SCMP_ACT_ERRNO',"
                " 'args': [{'index': 5, 'value': 18446744073709551615,"
                " 'valueTwo': 18446744073709551614, 'op':"
                " 'SCMP_CMP_MASKED_EQ'}]}]}}}");
        assert_true(s->process->rlimits[0].soft == UINT64_MAX);
        assert_true(s->process->rlimits[0].hard == UINT64_MAX);
        assert_true(s->process->rlimits[1].soft == UINT64_C(1) << 63);
        assert_true(s->process->rlimits[1].hard == (uint64_t) INT64_MAX);
        const struct spec_seccomp_arg *a =
                &s->linux_.seccomp->syscalls[0].args[0];
        assert_int_equal(a->index, 5);
        assert_true(a->value == UINT64_MAX);
        assert_true(a->value_two == UINT64_MAX - 1);
        assert_int_equal(a->op, SPEC_SECCOMP_OP_MASKED_EQ);

        /* Too big for uint64, or for a signed field: errors naming it. */
        _cleanup_free_ char *over = json(
                "{" BASE ", 'process': {'cwd': '/', 'rlimits': [{'type':"
                " 'RLIMIT_CORE', 'soft': 18446744073709551616, 'hard': 1}]}}");
        struct berr err = {0};
        struct spec *bad = NULL;
        assert_int_equal(spec_parse(over, strlen(over), &bad, &err), -EINVAL);
        assert_true(str_startswith(err.msg, "config.json: not valid JSON"));
        assert_non_null(strstr(err.msg, "too big integer"));
        parse_err("{" BASE ", 'linux': {'resources': {'memory': {'limit':"
                  " 9223372036854775808}}}}",
                  "linux.resources.memory.limit: must be between -1 and "
                  "9223372036854775807, got 9223372036854775808");
        parse_err("{" BASE ", 'hostname': 18446744073709551615}",
                  "hostname: expected a string");
}

static void test_null_is_absent(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_ok(
                "{" BASE ", 'hostname': null, 'mounts': null, 'process':"
                " {'cwd': '/', 'args': null, 'user': {'uid': 0, 'gid': 0,"
                " 'additionalGids': null}}, 'hooks': {'prestart': null},"
                " 'linux': {'seccomp': null, 'resources': {'devices': null}}}");
        assert_null(s->hostname);
        assert_int_equal(s->n_mounts, 0);
        assert_null(s->process->args);
        assert_null(s->linux_.seccomp);
        assert_false(s->linux_.resources->has_devices);
        parse_err("{" BASE ", 'process': {'cwd': null}}",
                  "process.cwd: missing");
}

static void test_resources(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_ok(
                "{" BASE ", 'linux': {'resources': {"
                " 'memory': {'limit': 536870912, 'reservation': -1,"
                "   'swap': 1073741824, 'kernel': 1, 'kernelTCP': 2,"
                "   'swappiness': 60, 'disableOOMKiller': true,"
                "   'useHierarchy': false, 'checkBeforeUpdate': true},"
                " 'cpu': {'shares': 1024, 'quota': -1, 'burst': 5,"
                "   'period': 100000, 'realtimeRuntime': 950000,"
                "   'realtimePeriod': 1000000, 'cpus': '0-3', 'mems': '0',"
                "   'idle': 1},"
                " 'pids': {'limit': -1},"
                " 'blockIO': {'weight': 500, 'leafWeight': 300,"
                "   'weightDevice': [{'major': 8, 'minor': 0, 'weight': 200},"
                "                    {'major': 8, 'minor': 16,"
                "                     'leafWeight': 10}],"
                "   'throttleReadBpsDevice': [{'major': 8, 'minor': 0,"
                "                              'rate': 1048576}],"
                "   'throttleWriteBpsDevice': [{'major': 8, 'minor': 0,"
                "                               'rate': 2}],"
                "   'throttleReadIOPSDevice': [{'major': 8, 'minor': 0,"
                "                               'rate': 3}],"
                "   'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0,"
                "                                'rate': 4},"
                "                               {'major': 8, 'minor': 1,"
                "                                'rate': 5}]},"
                " 'hugepageLimits': [{'pageSize': '2MB', 'limit': 209715200}],"
                " 'devices': [{'allow': false, 'access': 'rwm'},"
                "   {'allow': true, 'type': 'c', 'major': 1, 'minor': 3,"
                "    'access': 'mwr'},"
                "   {'allow': true, 'type': 'b', 'major': 8, 'access': 'r'},"
                "   {'allow': true, 'type': 'a'}],"
                " 'network': {'classID': 1048577, 'priorities':"
                "   [{'name': 'eth0', 'priority': 500}]},"
                " 'unified': {'memory.high': '1G', 'io.weight': 'default 10'},"
                " 'rdma': {'mlx4_0': {'hcaHandles': 2, 'hcaObjects': 2000},"
                "          'mlx5_1': {'hcaHandles': 3}}}}}");
        const struct spec_resources *r = s->linux_.resources;
        assert_true(r->has_memory_limit);
        assert_int_equal(r->memory_limit, 536870912);
        assert_true(r->has_memory_reservation);
        assert_int_equal(r->memory_reservation, -1);
        assert_int_equal(r->memory_swap, 1073741824);
        assert_true(r->has_memory_kernel && r->has_memory_kernel_tcp);
        assert_int_equal(r->memory_kernel_tcp, 2);
        assert_true(r->has_memory_swappiness);
        assert_int_equal(r->memory_swappiness, 60);
        assert_true(r->has_disable_oom_killer && r->disable_oom_killer);
        assert_true(r->has_use_hierarchy);
        assert_false(r->use_hierarchy);
        assert_true(r->check_before_update);
        assert_int_equal(r->cpu_shares, 1024);
        assert_true(r->has_cpu_quota);
        assert_int_equal(r->cpu_quota, -1);
        assert_int_equal(r->cpu_burst, 5);
        assert_int_equal(r->cpu_period, 100000);
        assert_int_equal(r->cpu_realtime_runtime, 950000);
        assert_int_equal(r->cpu_realtime_period, 1000000);
        assert_string_equal(r->cpu_cpus, "0-3");
        assert_string_equal(r->cpu_mems, "0");
        assert_true(r->has_cpu_idle);
        assert_int_equal(r->cpu_idle, 1);
        assert_true(r->has_pids_limit);
        assert_int_equal(r->pids_limit, -1);
        assert_int_equal(r->blkio_weight, 500);
        assert_int_equal(r->blkio_leaf_weight, 300);
        assert_int_equal(r->n_blkio_weight_device, 2);
        assert_true(r->blkio_weight_device[0].has_weight);
        assert_false(r->blkio_weight_device[0].has_leaf_weight);
        assert_int_equal(r->blkio_weight_device[0].weight, 200);
        assert_int_equal(r->blkio_weight_device[1].minor, 16);
        assert_true(r->blkio_weight_device[1].has_leaf_weight);
        for (int i = 0; i < 4; i++)
                assert_int_equal(r->blkio_throttle[i][0].rate,
                                 i == 0 ? 1048576 : i + 1);
        assert_int_equal(r->n_blkio_throttle[3], 2);
        assert_int_equal(r->n_hugepage_limits, 1);
        assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
        assert_int_equal(r->hugepage_limits[0].limit, 209715200);
        assert_true(r->has_devices);
        assert_int_equal(r->n_devices, 4);
        assert_false(r->devices[0].allow);
        assert_int_equal(r->devices[0].type, 'a');
        assert_int_equal(r->devices[0].major, -1);
        assert_int_equal(r->devices[0].minor, -1);
        assert_string_equal(r->devices[0].access, "rwm");
        assert_string_equal(r->devices[1].access, "rwm"); /* normalised */
        assert_int_equal(r->devices[1].major, 1);
        assert_int_equal(r->devices[2].major, 8);
        assert_int_equal(r->devices[2].minor, -1);
        assert_string_equal(r->devices[2].access, "r");
        assert_string_equal(r->devices[3].access, "rwm");
        assert_true(r->has_net_class_id);
        assert_int_equal(r->net_class_id, 1048577);
        assert_int_equal(r->n_net_priorities, 1);
        assert_string_equal(r->net_priorities[0].key, "eth0");
        assert_string_equal(r->net_priorities[0].value, "500");
        assert_int_equal(r->n_unified, 4);
        assert_string_equal(r->unified[0].key, "memory.high");
        assert_string_equal(r->unified[1].value, "default 10");
        assert_string_equal(r->unified[2].key, "rdma.max");
        assert_string_equal(r->unified[2].value,
                            "mlx4_0 hca_handle=2 hca_object=2000");
        assert_string_equal(r->unified[3].value, "mlx5_1 hca_handle=3");
}

static void test_seccomp(void **state) {
        _cleanup_(spec_freep) struct spec *s = parse_ok(
                "{" BASE ", 'linux': {'seccomp': {"
                " 'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
                " 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],"
                " 'flags': ['SECCOMP_FILTER_FLAG_LOG'],"
                " 'listenerPath': '/run/seccomp.sock',"
                " 'listenerMetadata': 'meta',"
                " 'syscalls': ["
                "  {'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},"
                "  {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',"
                "   'args': [{'index': 0, 'value': 0, 'op': 'SCMP_CMP_EQ'},"
                "            {'index': 1, 'value': 8, 'valueTwo': 9,"
                "             'op': 'SCMP_CMP_NE'}]},"
                "  {'names': ['mkdir'], 'action': 'SCMP_ACT_ERRNO',"
                "   'errnoRet': 38},"
                "  {'names': ['a'], 'action': 'SCMP_ACT_KILL'},"
                "  {'names': ['b'], 'action': 'SCMP_ACT_KILL_PROCESS'},"
                "  {'names': ['c'], 'action': 'SCMP_ACT_KILL_THREAD'},"
                "  {'names': ['d'], 'action': 'SCMP_ACT_TRAP'},"
                "  {'names': ['e'], 'action': 'SCMP_ACT_TRACE'},"
                "  {'names': ['f'], 'action': 'SCMP_ACT_LOG'},"
                "  {'names': ['g'], 'action': 'SCMP_ACT_NOTIFY'}]}}}");
        const struct spec_seccomp *sc = s->linux_.seccomp;
        assert_int_equal(sc->default_action, SPEC_SECCOMP_ERRNO);
        assert_true(sc->has_default_errno_ret);
        assert_int_equal(sc->default_errno_ret, 1);
        assert_int_equal(strv_length(sc->architectures), 2);
        assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
        assert_string_equal(sc->listener_path, "/run/seccomp.sock");
        assert_string_equal(sc->listener_metadata, "meta");
        assert_int_equal(sc->n_syscalls, 10);
        assert_string_equal(sc->syscalls[0].names[1], "write");
        assert_int_equal(sc->syscalls[0].action, SPEC_SECCOMP_ALLOW);
        assert_false(sc->syscalls[0].has_errno_ret);
        assert_int_equal(sc->syscalls[1].n_args, 2);
        assert_int_equal(sc->syscalls[1].args[1].index, 1);
        assert_int_equal(sc->syscalls[1].args[1].value, 8);
        assert_int_equal(sc->syscalls[1].args[1].value_two, 9);
        assert_int_equal(sc->syscalls[1].args[1].op, SPEC_SECCOMP_OP_NE);
        assert_true(sc->syscalls[2].has_errno_ret);
        assert_int_equal(sc->syscalls[2].errno_ret, 38);
        static const enum spec_seccomp_action want[] = {
                SPEC_SECCOMP_KILL,        SPEC_SECCOMP_KILL_PROCESS,
                SPEC_SECCOMP_KILL_THREAD, SPEC_SECCOMP_TRAP,
                SPEC_SECCOMP_TRACE,       SPEC_SECCOMP_LOG,
                SPEC_SECCOMP_NOTIFY,
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_int_equal(sc->syscalls[3 + i].action, want[i]);
}

struct err_case {
        const char *doc;
        const char *msg;
};

/* Each case is a complete document and the exact error it must give. */
static const struct err_case err_cases[] = {
        /* top level */
        {"{'root': {'path': 'r'}}", "ociVersion: missing"},
        {"{'ociVersion': 1, 'root': {'path': 'r'}}",
         "ociVersion: expected a string"},
        {"{'ociVersion': '', 'root': {'path': 'r'}}",
         "ociVersion: must not be empty"},
        {"{'ociVersion': '1.2.0'}", "root: missing"},
        {"{'ociVersion': '1.2.0', 'root': 'rootfs'}",
         "root: expected an object"},
        {"{'ociVersion': '1.2.0', 'root': {}}", "root.path: missing"},
        {"{'ociVersion': '1.2.0', 'root': {'path': ''}}",
         "root.path: must not be empty"},
        {"{'ociVersion': '1.2.0', 'root': {'path': 'r', 'readonly': 'yes'}}",
         "root.readonly: expected a boolean"},
        {"{" BASE ", 'hostname': ['a']}", "hostname: expected a string"},
        {"{" BASE ", 'annotations': {'a': 1}}",
         "annotations.a: expected a string"},
        {"{" BASE ", 'annotations': []}",
         "annotations: expected an object of strings"},
        {"{" BASE ", 'annotations': {'': 'x'}}",
         "annotations: keys must not be empty"},
        /* mounts */
        {"{" BASE ", 'mounts': {}}", "mounts: expected an array"},
        {"{" BASE ", 'mounts': ['/proc']}", "mounts[0]: expected an object"},
        {"{" BASE ", 'mounts': [{'destination': '/a'}, {'type': 'proc'}]}",
         "mounts[1].destination: missing"},
        {"{" BASE ", 'mounts': [{'destination': 'proc'}]}",
         "mounts[0].destination: must be an absolute path, got 'proc'"},
        {"{" BASE ", 'mounts': [{'destination': '/a', 'options': 'ro'}]}",
         "mounts[0].options: expected an array of strings"},
        {"{" BASE ", 'mounts': [{'destination': '/a', 'options': ['ro', 1]}]}",
         "mounts[0].options[1]: expected a string"},
        {"{" BASE ", 'mounts': [{'destination': '/a', 'uidMappings':"
         " [{'containerID': 0, 'hostID': 1}]}]}",
         "mounts[0].uidMappings[0].size: missing"},
        /* process */
        {"{" BASE ", 'process': []}", "process: expected an object"},
        {"{" BASE ", 'process': {}}", "process.cwd: missing"},
        {"{" BASE ", 'process': {'cwd': 'tmp'}}",
         "process.cwd: must be an absolute path, got 'tmp'"},
        {"{" BASE ", 'process': {'cwd': '/', 'args': 'sh'}}",
         "process.args: expected an array of strings"},
        {"{" BASE ", 'process': {'cwd': '/', 'args': ['sh', null]}}",
         "process.args[1]: expected a string"},
        {"{" BASE ", 'process': {'cwd': '/', 'env': ['A=1', 'B']}}",
         "process.env[1]: expected NAME=VALUE, got 'B'"},
        {"{" BASE ", 'process': {'cwd': '/', 'env': ['=x']}}",
         "process.env[0]: expected NAME=VALUE, got '=x'"},
        {"{" BASE ", 'process': {'cwd': '/', 'terminal': 1}}",
         "process.terminal: expected a boolean"},
        {"{" BASE ", 'process': {'cwd': '/', 'consoleSize': {'height': 1}}}",
         "process.consoleSize.width: missing"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': -1, 'gid': 0}}}",
         "process.user.uid: must be between 0 and 4294967295, got -1"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': 4294967296,"
         " 'gid': 0}}}",
         "process.user.uid: must be between 0 and 4294967295, got "
         "4294967296"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': 1.5, 'gid': 0}}}",
         "process.user.uid: expected an integer"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': '0', 'gid': 0}}}",
         "process.user.uid: expected an integer"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': 0}}}",
         "process.user.gid: missing"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': 0, 'gid': 0,"
         " 'umask': 512}}}",
         "process.user.umask: must be between 0 and 511, got 512"},
        {"{" BASE ", 'process': {'cwd': '/', 'user': {'uid': 0, 'gid': 0,"
         " 'additionalGids': [1, -2]}}}",
         "process.user.additionalGids[1]: must be between 0 and 4294967295, "
         "got -2"},
        {"{" BASE ", 'process': {'cwd': '/', 'capabilities': {'bounding':"
         " ['CAP_CHOWN', 'CAP_FOO']}}}",
         "process.capabilities.bounding[1]: unknown capability 'CAP_FOO'"},
        {"{" BASE ", 'process': {'cwd': '/', 'capabilities': {'ambient':"
         " 'CAP_CHOWN'}}}",
         "process.capabilities.ambient: expected an array of strings"},
        {"{" BASE ", 'process': {'cwd': '/', 'rlimits': [{'type':"
         " 'RLIMIT_FOO', 'soft': 1, 'hard': 1}]}}",
         "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"},
        {"{" BASE ", 'process': {'cwd': '/', 'rlimits': [{'type':"
         " 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}, {'type': 'RLIMIT_NOFILE',"
         " 'soft': 2, 'hard': 2}]}}",
         "process.rlimits[1].type: duplicate rlimit 'RLIMIT_NOFILE'"},
        {"{" BASE ", 'process': {'cwd': '/', 'rlimits': [{'type':"
         " 'RLIMIT_NOFILE', 'soft': 1}]}}",
         "process.rlimits[0].hard: missing"},
        {"{" BASE ", 'process': {'cwd': '/', 'oomScoreAdj': 1001}}",
         "process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
        {"{" BASE ", 'process': {'cwd': '/', 'ioPriority': {'class':"
         " 'IOPRIO_CLASS_FOO', 'priority': 0}}}",
         "process.ioPriority.class: unknown I/O priority class "
         "'IOPRIO_CLASS_FOO'"},
        {"{" BASE ", 'process': {'cwd': '/', 'ioPriority': {'class':"
         " 'IOPRIO_CLASS_RT', 'priority': 8}}}",
         "process.ioPriority.priority: must be between 0 and 7, got 8"},
        {"{" BASE ", 'process': {'cwd': '/', 'scheduler': {'policy':"
         " 'SCHED_X'}}}",
         "process.scheduler.policy: unknown scheduler policy 'SCHED_X'"},
        {"{" BASE ", 'process': {'cwd': '/', 'scheduler': {'nice': 1}}}",
         "process.scheduler.policy: missing"},
        {"{" BASE ", 'process': {'cwd': '/', 'scheduler': {'policy':"
         " 'SCHED_OTHER', 'flags': ['SCHED_FLAG_X']}}}",
         "process.scheduler.flags[0]: unknown scheduler flag 'SCHED_FLAG_X'"},
        {"{" BASE ", 'process': {'cwd': '/', 'scheduler': {'policy':"
         " 'SCHED_OTHER', 'nice': 20}}}",
         "process.scheduler.nice: must be between -20 and 19, got 20"},
        /* hooks */
        {"{" BASE ", 'hooks': {'prestart': [{'args': ['x']}]}}",
         "hooks.prestart[0].path: missing"},
        {"{" BASE ", 'hooks': {'poststop': [{'path': 'bin/x'}]}}",
         "hooks.poststop[0].path: must be an absolute path, got 'bin/x'"},
        {"{" BASE ", 'hooks': {'createRuntime': [{'path': '/x',"
         " 'timeout': 0}]}}",
         "hooks.createRuntime[0].timeout: must be between 1 and 2147483647, "
         "got 0"},
        {"{" BASE ", 'hooks': {'startContainer': {'path': '/x'}}}",
         "hooks.startContainer: expected an array"},
        /* linux */
        {"{" BASE ", 'linux': []}", "linux: expected an object"},
        {"{" BASE ", 'linux': {'namespaces': [{'type': 'pid'}, {'type':"
         " 'mount'}, {'type': 'foo'}]}}",
         "linux.namespaces[2].type: unknown namespace type 'foo'"},
        {"{" BASE ", 'linux': {'namespaces': [{'type': 'pid'}, {'type':"
         " 'pid'}]}}",
         "linux.namespaces[1].type: duplicate namespace type 'pid'"},
        {"{" BASE ", 'linux': {'namespaces': [{}]}}",
         "linux.namespaces[0].type: missing"},
        {"{" BASE ", 'linux': {'namespaces': [{'type': 'net'}]}}",
         "linux.namespaces[0].type: unknown namespace type 'net'"},
        {"{" BASE ", 'linux': {'namespaces': [{'type': 'uts', 'path':"
         " 'ns/uts'}]}}",
         "linux.namespaces[0].path: must be an absolute path, got 'ns/uts'"},
        {"{" BASE ", 'linux': {'uidMappings': [{'containerID': 0,"
         " 'hostID': 0, 'size': 0}]}}",
         "linux.uidMappings[0].size: must be greater than 0"},
        {"{" BASE ", 'linux': {'gidMappings': [{'containerID': 0,"
         " 'hostID': -1, 'size': 1}]}}",
         "linux.gidMappings[0].hostID: must be between 0 and 4294967295, got "
         "-1"},
        {"{" BASE ", 'linux': {'devices': [{'type': 'x', 'path': '/dev/x'}]}}",
         "linux.devices[0].type: unknown device type 'x' (expected c, b, u or "
         "p)"},
        {"{" BASE ", 'linux': {'devices': [{'type': 'c', 'path': 'dev/x',"
         " 'major': 1, 'minor': 1}]}}",
         "linux.devices[0].path: must be an absolute path, got 'dev/x'"},
        {"{" BASE ", 'linux': {'devices': [{'type': 'b', 'path': '/dev/x',"
         " 'major': 1}]}}",
         "linux.devices[0].minor: missing"},
        {"{" BASE ", 'linux': {'devices': [{'type': 'u', 'path': '/dev/x'}]}}",
         "linux.devices[0].major: missing"},
        {"{" BASE ", 'linux': {'sysctl': {'a': true}}}",
         "linux.sysctl.a: expected a string"},
        {"{" BASE ", 'linux': {'rootfsPropagation': 'weird'}}",
         "linux.rootfsPropagation: unknown propagation 'weird'"},
        {"{" BASE ", 'linux': {'maskedPaths': ['/a', 'b']}}",
         "linux.maskedPaths[1]: must be an absolute path, got 'b'"},
        {"{" BASE ", 'linux': {'readonlyPaths': 'x'}}",
         "linux.readonlyPaths: expected an array of strings"},
        {"{" BASE ", 'linux': {'personality': {'domain': 'LINUX64'}}}",
         "linux.personality.domain: unknown personality domain 'LINUX64'"},
        {"{" BASE ", 'linux': {'personality': {'flags': []}}}",
         "linux.personality.domain: missing"},
        {"{" BASE ", 'linux': {'timeOffsets': {'realtime': {'secs': 1}}}}",
         "linux.timeOffsets.realtime: unknown clock (expected boottime or "
         "monotonic)"},
        {"{" BASE ", 'linux': {'timeOffsets': {'boottime': {'nanosecs':"
         " 1000000000}}}}",
         "linux.timeOffsets.boottime.nanosecs: must be between 0 and "
         "999999999, got 1000000000"},
        {"{" BASE ", 'linux': {'intelRdt': true}}",
         "linux.intelRdt: expected an object"},
        /* linux.resources */
        {"{" BASE ", 'linux': {'resources': {'memory': {'limit': -2}}}}",
         "linux.resources.memory.limit: must be between -1 and "
         "9223372036854775807, got -2"},
        {"{" BASE ", 'linux': {'resources': {'memory': {'swappiness': 101}}}}",
         "linux.resources.memory.swappiness: must be between 0 and 100, got "
         "101"},
        {"{" BASE ", 'linux': {'resources': {'memory': {'disableOOMKiller':"
         " 1}}}}",
         "linux.resources.memory.disableOOMKiller: expected a boolean"},
        {"{" BASE ", 'linux': {'resources': {'cpu': {'shares': '1024'}}}}",
         "linux.resources.cpu.shares: expected an integer"},
        {"{" BASE ", 'linux': {'resources': {'cpu': {'cpus': 3}}}}",
         "linux.resources.cpu.cpus: expected a string"},
        {"{" BASE ", 'linux': {'resources': {'pids': {}}}}",
         "linux.resources.pids.limit: missing"},
        {"{" BASE ", 'linux': {'resources': {'blockIO': {'weight': 65536}}}}",
         "linux.resources.blockIO.weight: must be between 0 and 65535, got "
         "65536"},
        {"{" BASE ", 'linux': {'resources': {'blockIO':"
         " {'throttleReadBpsDevice': [{'major': 8, 'minor': 0}]}}}}",
         "linux.resources.blockIO.throttleReadBpsDevice[0].rate: missing"},
        {"{" BASE ", 'linux': {'resources': {'hugepageLimits': [{'limit':"
         " 1}]}}}",
         "linux.resources.hugepageLimits[0].pageSize: missing"},
        {"{" BASE ", 'linux': {'resources': {'devices': [{'access': 'r'}]}}}",
         "linux.resources.devices[0].allow: missing"},
        {"{" BASE ", 'linux': {'resources': {'devices': [{'allow': true,"
         " 'access': 'rx'}]}}}",
         "linux.resources.devices[0].access: 'rx' may only contain r, w and "
         "m"},
        {"{" BASE ", 'linux': {'resources': {'devices': [{'allow': true,"
         " 'type': 'p'}]}}}",
         "linux.resources.devices[0].type: unknown device type 'p' (expected "
         "a, c or b)"},
        {"{" BASE ", 'linux': {'resources': {'devices': [{'allow': true,"
         " 'major': -2}]}}}",
         "linux.resources.devices[0].major: must be between -1 and "
         "4294967295, got -2"},
        {"{" BASE ", 'linux': {'resources': {'network': {'priorities':"
         " [{'name': 'eth0'}]}}}}",
         "linux.resources.network.priorities[0].priority: missing"},
        {"{" BASE ", 'linux': {'resources': {'unified': {'cpu.max': 5}}}}",
         "linux.resources.unified.cpu.max: expected a string"},
        {"{" BASE ", 'linux': {'resources': {'rdma': {'mlx': {'hcaHandles':"
         " -1}}}}}",
         "linux.resources.rdma.mlx.hcaHandles: must be between 0 and "
         "4294967295, got -1"},
        /* linux.seccomp */
        {"{" BASE ", 'linux': {'seccomp': {}}}",
         "linux.seccomp.defaultAction: missing"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_NOPE'}}}",
         "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_NOPE'"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'names': [], 'action': 'SCMP_ACT_ERRNO'}]}}}",
         "linux.seccomp.syscalls[0].names: must not be empty"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'action': 'SCMP_ACT_ERRNO'}]}}}",
         "linux.seccomp.syscalls[0].names: missing"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'names': ['x'], 'action': 'SCMP_ACT_ERRNO', 'args':"
         " [{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, "
         "got 6"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'names': ['x'], 'action': 'SCMP_ACT_ERRNO', 'args':"
         " [{'index': 0, 'value': 1, 'op': 'SCMP_CMP_XX'}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].op: unknown operator "
         "'SCMP_CMP_XX'"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'names': ['x'], 'action': 'SCMP_ACT_ERRNO', 'args':"
         " [{'index': 0, 'op': 'SCMP_CMP_EQ'}]}]}}}",
         "linux.seccomp.syscalls[0].args[0].value: missing"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'syscalls': [{'names': ['x'], 'action': 'SCMP_ACT_ERRNO',"
         " 'errnoRet': -1}]}}}",
         "linux.seccomp.syscalls[0].errnoRet: must be between 0 and "
         "4294967295, got -1"},
        {"{" BASE ", 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',"
         " 'listenerPath': 'sock'}}}",
         "linux.seccomp.listenerPath: must be an absolute path, got 'sock'"},
};

static void test_errors(void **state) {
        size_t failed = 0;
        for (size_t i = 0; i < ELEMENTSOF(err_cases); i++)
                failed += !check_err(err_cases[i].doc, err_cases[i].msg);
        assert_int_equal(failed, 0);
}

static void test_json_errors(void **state) {
        struct berr err = {0};
        struct spec *s = NULL;
        const char *bad = "{\n  \"ociVersion\": \"1.2.0\",\n    x\n}";
        assert_int_equal(spec_parse(bad, strlen(bad), &s, &err), -EINVAL);
        assert_true(str_startswith(err.msg, "config.json: not valid JSON at "
                                            "line 3 column 5: "));
        assert_null(s);

        berr_clear(&err);
        const char *dup = "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"},"
                          " \"ociVersion\": \"2\"}";
        assert_int_equal(spec_parse(dup, strlen(dup), &s, &err), -EINVAL);
        assert_true(str_startswith(err.msg, "config.json: not valid JSON"));
        assert_non_null(strstr(err.msg, "duplicate object key"));

        berr_clear(&err);
        assert_int_equal(spec_parse("[]", 2, &s, &err), -EINVAL);
        assert_string_equal(err.msg, "config.json: expected an object");

        berr_clear(&err);
        assert_int_equal(spec_parse("", 0, &s, &err), -EINVAL);
        assert_true(str_startswith(err.msg, "config.json: not valid JSON"));

        berr_clear(&err);
        assert_int_equal(spec_parse(NULL, 0, &s, &err), -EINVAL);

        /* A NUL byte inside a string is refused, not truncated. */
        berr_clear(&err);
        const char *nul = "{\"ociVersion\": \"1\", \"root\": {\"path\": "
                          "\"r\\u0000x\"}}";
        assert_int_equal(spec_parse(nul, strlen(nul), &s, &err), -EINVAL);
        assert_string_equal(err.msg, "root.path: must not contain NUL bytes");

        /* Trailing garbage. */
        berr_clear(&err);
        const char *trail = "{\"ociVersion\": \"1\", \"root\": {\"path\": "
                            "\"r\"}} x";
        assert_int_equal(spec_parse(trail, strlen(trail), &s, &err), -EINVAL);

        /* The length is honoured: no reading past it. */
        berr_clear(&err);
        const char *ok = "{\"ociVersion\": \"1\", \"root\": {\"path\": "
                         "\"r\"}}garbage";
        assert_int_equal(spec_parse(ok, strlen(ok) - 7, &s, &err), 0);
        spec_free(s);
        s = NULL;

        /* No error object: still fails cleanly. */
        assert_int_equal(spec_parse("{}", 2, &s, NULL), -EINVAL);
        assert_null(s);
}

static void test_depth_limit(void **state) {
        char doc[512];
        struct berr err = {0};
        struct spec *s = NULL;
        /* 64 levels in all are fine (the document is level 1). */
        size_t n = (size_t) snprintf(doc, sizeof(doc),
                                     "{\"ociVersion\": \"1\", \"root\": "
                                     "{\"path\": \"r\"}, \"x\": ");
        for (int i = 0; i < 63; i++)
                doc[n++] = '[';
        for (int i = 0; i < 63; i++)
                doc[n++] = ']';
        doc[n++] = '}';
        assert_int_equal(spec_parse(doc, n, &s, &err), 0);
        spec_free(TAKE_PTR(s));

        n = (size_t) snprintf(doc, sizeof(doc), "{\"x\": ");
        for (int i = 0; i < 64; i++)
                doc[n++] = '[';
        for (int i = 0; i < 64; i++)
                doc[n++] = ']';
        doc[n++] = '}';
        assert_int_equal(spec_parse(doc, n, &s, &err), -EINVAL);
        assert_string_equal(err.msg,
                            "config.json: nested deeper than 64 levels at line "
                            "1");
        assert_null(s);

        /* Brackets inside strings do not count. */
        berr_clear(&err);
        n = (size_t) snprintf(doc, sizeof(doc),
                              "{\"ociVersion\": \"1\", \"root\": {\"path\": "
                              "\"r\"}, \"hostname\": \"");
        for (int i = 0; i < 100; i++)
                doc[n++] = '[';
        n += (size_t) snprintf(doc + n, sizeof(doc) - n, "\\\"{\"}");
        assert_int_equal(spec_parse(doc, n, &s, &err), 0);
        assert_int_equal(strlen(s->hostname), 102);
        spec_free(s);
}

static void test_size_limit(void **state) {
        size_t len = ((size_t) 16 << 20) + 1;
        _cleanup_free_ char *big = malloc(len);
        assert_non_null(big);
        memset(big, ' ', len);
        big[0] = '{';
        big[len - 1] = '}';
        struct berr err = {0};
        struct spec *s = NULL;
        assert_int_equal(spec_parse(big, len, &s, &err), -EFBIG);
        assert_true(str_startswith(err.msg, "config.json: document of"));
        assert_null(s);

        /* Exactly 16 MiB is parsed (and fails only on content). */
        berr_clear(&err);
        assert_int_equal(spec_parse(big, len - 1, &s, &err), -EINVAL);
        assert_true(str_startswith(err.msg, "config.json: not valid JSON"));
}

static void test_process_parse(void **state) {
        _cleanup_free_ char *text =
                json("{'args': ['ls', '-l'], 'cwd': '/tmp', 'env': ['A=b'],"
                     " 'user': {'uid': 5, 'gid': 6}, 'terminal': false,"
                     " 'capabilities': {'bounding': ['CAP_SYS_ADMIN']}}");
        struct berr err = {0};
        struct spec_process *p = NULL;
        assert_int_equal(spec_process_parse(text, strlen(text), &p, &err), 0);
        assert_string_equal(p->args[1], "-l");
        assert_string_equal(p->cwd, "/tmp");
        assert_int_equal(p->user.uid, 5);
        assert_true(p->has_caps);
        assert_true(p->caps.bounding == UINT64_C(1) << 21);
        spec_process_free(p);

        _cleanup_free_ char *bad = json("{'args': ['ls'], 'cwd': 'x'}");
        p = NULL;
        assert_int_equal(spec_process_parse(bad, strlen(bad), &p, &err),
                         -EINVAL);
        assert_string_equal(err.msg,
                            "process.cwd: must be an absolute path, got 'x'");
        assert_null(p);

        berr_clear(&err);
        assert_int_equal(spec_process_parse("[1]", 3, &p, &err), -EINVAL);
        assert_string_equal(err.msg, "process.json: expected an object");
}

static void test_resources_parse(void **state) {
        _cleanup_free_ char *text =
                json("{'memory': {'limit': 1048576}, 'cpu': {'quota': 50000,"
                     " 'period': 100000}, 'pids': {'limit': 10}}");
        struct berr err = {0};
        struct spec_resources *r = NULL;
        assert_int_equal(spec_resources_parse(text, strlen(text), &r, &err), 0);
        assert_true(r->has_memory_limit);
        assert_int_equal(r->memory_limit, 1048576);
        assert_false(r->has_memory_swap);
        assert_int_equal(r->cpu_quota, 50000);
        assert_int_equal(r->pids_limit, 10);
        assert_false(r->has_devices);
        spec_resources_free(r);

        _cleanup_free_ char *bad = json("{'memory': {'limit': 'lots'}}");
        r = NULL;
        assert_int_equal(spec_resources_parse(bad, strlen(bad), &r, &err),
                         -EINVAL);
        assert_string_equal(
                err.msg, "linux.resources.memory.limit: expected an integer");
        assert_null(r);
}

static void test_load_file(void **state) {
        char dir[] = "/tmp/berth-test-spec.XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = str_printf("%s/config.json", dir);
        struct berr err = {0};
        struct spec *s = NULL;
        assert_int_equal(spec_load_file(path, &s, &err), -ENOENT);
        _cleanup_free_ char *want =
                str_printf("open config '%s': No such file or directory", path);
        assert_string_equal(err.msg, want);

        _cleanup_free_ char *text = json("{" BASE ", 'hostname': 'h'}");
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, text, strlen(text)), 0);
        close(fd);
        berr_clear(&err);
        assert_int_equal(spec_load_file(path, &s, &err), 0);
        assert_string_equal(s->hostname, "h");
        spec_free(s);

        /* Over the size limit: named by path, nothing parsed. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, ((off_t) 16 << 20) + 1), 0);
        close(fd);
        s = NULL;
        assert_int_equal(spec_load_file(path, &s, &err), -EFBIG);
        assert_non_null(strstr(err.msg, path));
        assert_null(s);

        unlink(path);
        rmdir(dir);
}

static void test_lookups(void **state) {
        static const char *const ns[] = {"pid", "network", "mount",  "ipc",
                                         "uts", "user",    "cgroup", "time"};
        static const int flags[] = {
                CLONE_NEWPID, CLONE_NEWNET,  CLONE_NEWNS,     CLONE_NEWIPC,
                CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80};
        for (int i = 0; i < _SPEC_NS_MAX; i++) {
                assert_string_equal(spec_ns_name((enum spec_ns) i), ns[i]);
                assert_int_equal(spec_ns_from_name(ns[i]), i);
                assert_int_equal(spec_ns_clone_flag((enum spec_ns) i),
                                 flags[i]);
        }
        assert_int_equal(spec_ns_from_name("net"), _SPEC_NS_INVALID);
        assert_null(spec_ns_name(_SPEC_NS_MAX));
        assert_null(spec_ns_name(_SPEC_NS_INVALID));
        assert_int_equal(spec_ns_clone_flag(_SPEC_NS_INVALID), 0);

        assert_int_equal(spec_cap_last(), 40);
        assert_int_equal(spec_cap_from_name("CAP_CHOWN"), 0);
        assert_int_equal(spec_cap_from_name("CAP_SYS_ADMIN"), 21);
        assert_int_equal(spec_cap_from_name("CAP_AUDIT_READ"), 37);
        assert_int_equal(spec_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
        assert_true(spec_cap_from_name("CAP_NOPE") < 0);
        for (int c = 0; c <= spec_cap_last(); c++)
                assert_int_equal(spec_cap_from_name(spec_cap_name(c)), c);
        assert_null(spec_cap_name(41));
        assert_null(spec_cap_name(-1));

        static const struct {
                const char *name;
                int res;
        } rl[] = {
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
        for (size_t i = 0; i < ELEMENTSOF(rl); i++)
                assert_int_equal(spec_rlimit_from_name(rl[i].name), rl[i].res);
        assert_true(spec_rlimit_from_name("RLIMIT_X") < 0);

        static const char *const actions[] = {
                "SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
                "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
                "SCMP_ACT_NOTIFY",
        };
        for (int i = 0; i < _SPEC_SECCOMP_ACTION_MAX; i++)
                assert_string_equal(
                        spec_seccomp_action_name((enum spec_seccomp_action) i),
                        actions[i]);
        assert_null(spec_seccomp_action_name(_SPEC_SECCOMP_ACTION_INVALID));
        static const char *const ops[] = {
                "SCMP_CMP_NE",        "SCMP_CMP_LT", "SCMP_CMP_LE",
                "SCMP_CMP_EQ",        "SCMP_CMP_GE", "SCMP_CMP_GT",
                "SCMP_CMP_MASKED_EQ",
        };
        for (int i = 0; i < _SPEC_SECCOMP_OP_MAX; i++)
                assert_string_equal(
                        spec_seccomp_op_name((enum spec_seccomp_op) i), ops[i]);
        assert_null(spec_seccomp_op_name(_SPEC_SECCOMP_OP_MAX));
}

static void test_free_null(void **state) {
        spec_free(NULL);
        spec_process_free(NULL);
        spec_resources_free(NULL);
        assert_null(spec_find_ns(NULL, SPEC_NS_PID));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal),
                cmocka_unit_test(test_full_config),
                cmocka_unit_test(test_mount_flags),
                cmocka_unit_test(test_mount_clear_flags),
                cmocka_unit_test(test_mount_recursive_attrs),
                cmocka_unit_test(test_mount_option_names),
                cmocka_unit_test(test_huge_integers),
                cmocka_unit_test(test_null_is_absent),
                cmocka_unit_test(test_resources),
                cmocka_unit_test(test_seccomp),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_json_errors),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_process_parse),
                cmocka_unit_test(test_resources_parse),
                cmocka_unit_test(test_load_file),
                cmocka_unit_test(test_lookups),
                cmocka_unit_test(test_free_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
