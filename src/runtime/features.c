#include "runtime_features.h"

#include "caps.h"
#include "hooks.h"
#include "seccomp_filter.h"
#include "spec.h"

#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

static json_t *strarr(const char *const *v) {
        json_t *a = json_array();
        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

char *runtime_features_json(void) {
        json_t *o = json_object();
        json_object_set_new(o, "ociVersionMin", json_string("1.0.0"));
        json_object_set_new(o, "ociVersionMax", json_string("1.2.0"));
        json_t *hooks = json_array();
        for (int k = 0; k < _SPEC_HOOK_MAX; k++)
                json_array_append_new(hooks, json_string(hooks_kind_name(k)));
        json_object_set_new(o, "hooks", hooks);
        json_object_set_new(o, "mountOptions", strarr(spec_mount_option_names));

        json_t *lx = json_object();
        json_t *ns = json_array();
        for (int n = 0; n < _SPEC_NS_MAX; n++)
                json_array_append_new(ns, json_string(spec_ns_name(n)));
        json_object_set_new(lx, "namespaces", ns);
        json_t *caps = json_array();
        for (int c = 0; c <= spec_cap_last(); c++)
                if (spec_cap_name(c))
                        json_array_append_new(caps,
                                              json_string(spec_cap_name(c)));
        json_object_set_new(lx, "capabilities", caps);
        json_object_set_new(lx, "cgroup",
                            json_pack("{s:b,s:b,s:b,s:b,s:b}", "v1", 1, "v2", 1,
                                      "systemd", 0, "systemdUser", 0, "rdma",
                                      0));
        json_t *sc = json_object();
        json_object_set_new(sc, "enabled", json_true());
        json_object_set_new(sc, "actions", strarr(seccomp_known_actions));
        json_object_set_new(sc, "operators", strarr(seccomp_known_operators));
        json_object_set_new(sc, "archs", strarr(seccomp_known_archs));
        json_object_set_new(sc, "knownFlags", strarr(seccomp_known_flags));
        json_object_set_new(sc, "supportedFlags", strarr(seccomp_known_flags));
        json_object_set_new(lx, "seccomp", sc);
        json_object_set_new(
                lx, "apparmor",
                json_pack("{s:b}", "enabled",
                          access("/sys/kernel/security/apparmor", F_OK) == 0));
        json_object_set_new(
                lx, "selinux",
                json_pack("{s:b}", "enabled",
                          access("/sys/fs/selinux/enforce", F_OK) == 0));
        json_object_set_new(lx, "intelRdt", json_pack("{s:b}", "enabled", 0));
        json_object_set_new(lx, "mountExtensions",
                            json_pack("{s:{s:b}}", "idmap", "enabled", 1));
        json_object_set_new(o, "linux", lx);

        const struct scmp_version *v = seccomp_version();
        char ver[32];
        snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
        json_object_set_new(o, "annotations",
                            json_pack("{s:s,s:s}",
                                      "io.github.seccomp.libseccomp.version",
                                      ver, "org.berth.runtime.cgroup-modes",
                                      "v1,hybrid,v2"));
        char *s = json_dumps(o, JSON_INDENT(4));
        json_decref(o);
        return s;
}

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL",
                                           "CAP_NET_BIND_SERVICE", NULL};
static const char *const masked[] = {"/proc/acpi",
                                     "/proc/asound",
                                     "/proc/kcore",
                                     "/proc/keys",
                                     "/proc/latency_stats",
                                     "/proc/timer_list",
                                     "/proc/timer_stats",
                                     "/proc/sched_debug",
                                     "/sys/firmware",
                                     "/proc/scsi",
                                     "/sys/devices/virtual/powercap",
                                     NULL};
static const char *const readonly[] = {"/proc/bus",           "/proc/fs",
                                       "/proc/irq",           "/proc/sys",
                                       "/proc/sysrq-trigger", NULL};

static json_t *mnt(const char *dest, const char *type, const char *src,
                   const char *const *opts) {
        return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type,
                         "source", src, "options", strarr(opts));
}

char *runtime_default_spec_json(int rootless) {
        json_t *caps = strarr(default_caps);
        json_t *process = json_pack(
                "{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:O,s:O,s:O},s:[{s:s,s:"
                "i,"
                "s:i}],s:b}",
                "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
                "/bin",
                "TERM=xterm", "cwd", "/", "capabilities", "bounding", caps,
                "effective", caps, "permitted", caps, "rlimits", "type",
                "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges",
                1);
        json_decref(caps);
        json_t *mounts = json_array();
        json_array_append_new(mounts, mnt("/proc", "proc", "proc", NULL));
        json_array_append_new(
                mounts, mnt("/dev", "tmpfs", "tmpfs",
                            (const char *[]){"nosuid", "strictatime",
                                             "mode=755", "size=65536k", NULL}));
        json_array_append_new(
                mounts,
                mnt("/dev/pts", "devpts", "devpts",
                    rootless ? (const char *[]){"nosuid", "noexec",
                                                "newinstance", "ptmxmode=0666",
                                                "mode=0620", NULL}
                             : (const char *[]){"nosuid", "noexec",
                                                "newinstance", "ptmxmode=0666",
                                                "mode=0620", "gid=5", NULL}));
        json_array_append_new(
                mounts,
                mnt("/dev/shm", "tmpfs", "shm",
                    (const char *[]){"nosuid", "noexec", "nodev", "mode=1777",
                                     "size=65536k", NULL}));
        json_array_append_new(mounts, mnt("/dev/mqueue", "mqueue", "mqueue",
                                          (const char *[]){"nosuid", "noexec",
                                                           "nodev", NULL}));
        if (rootless)
                json_array_append_new(
                        mounts,
                        mnt("/sys", "none", "/sys",
                            (const char *[]){"rbind", "nosuid", "noexec",
                                             "nodev", "ro", NULL}));
        else
                json_array_append_new(
                        mounts, mnt("/sys", "sysfs", "sysfs",
                                    (const char *[]){"nosuid", "noexec",
                                                     "nodev", "ro", NULL}));
        json_array_append_new(mounts,
                              mnt("/sys/fs/cgroup", "cgroup", "cgroup",
                                  (const char *[]){"nosuid", "noexec", "nodev",
                                                   "relatime", "ro", NULL}));

        json_t *nss = json_array();
        const char *nslist[] = {"pid",   "network", "ipc", "uts",
                                "mount", "cgroup",  NULL};
        for (int i = 0; nslist[i]; i++)
                json_array_append_new(nss,
                                      json_pack("{s:s}", "type", nslist[i]));
        json_t *lx = json_object();
        if (rootless) {
                json_array_append_new(nss, json_pack("{s:s}", "type", "user"));
                json_object_set_new(lx, "uidMappings",
                                    json_pack("[{s:i,s:i,s:i}]", "containerID",
                                              0, "hostID", (int) getuid(),
                                              "size", 1));
                json_object_set_new(lx, "gidMappings",
                                    json_pack("[{s:i,s:i,s:i}]", "containerID",
                                              0, "hostID", (int) getgid(),
                                              "size", 1));
        } else {
                json_object_set_new(lx, "resources",
                                    json_pack("{s:[{s:b,s:s}]}", "devices",
                                              "allow", 0, "access", "rwm"));
        }
        json_object_set_new(lx, "namespaces", nss);
        json_object_set_new(lx, "maskedPaths", strarr(masked));
        json_object_set_new(lx, "readonlyPaths", strarr(readonly));

        json_t *o = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion",
                              "1.2.0", "process", process, "root", "path",
                              "rootfs", "readonly", 1, "hostname", "berth",
                              "mounts", mounts, "linux", lx);
        char *s = json_dumps(o, JSON_INDENT(8));
        json_decref(o);
        return s;
}
