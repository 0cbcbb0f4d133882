/* Routing and the system endpoints: /_ping, /version, /info, /events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "cleanup.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "util.h"

static void ping(struct http_req *r) {
        /* HEAD and GET alike; MHD sends no body for HEAD. */
        http_reply(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

static json_t *version_json(void) {
        struct utsname u;
        uname(&u);
        const char *arch = strcmp(u.machine, "x86_64") == 0    ? "amd64"
                           : strcmp(u.machine, "aarch64") == 0 ? "arm64"
                                                               : u.machine;
        return json_pack(
                "{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s}}], s:s, s:s, s:s, s:s,"
                " s:s, s:s, s:s, s:s, s:s}",
                "Platform", "Name", "berth", "Components", "Name", "Engine",
                "Version", BERTH_VERSION, "Details", "ApiVersion",
                API_VERSION_MAX, "GitCommit", BERTH_COMMIT, "Version",
                BERTH_VERSION, "ApiVersion", API_VERSION_MAX, "MinAPIVersion",
                API_VERSION_MIN, "GitCommit", BERTH_COMMIT, "GoVersion",
                "none (C)", "Os", "linux", "Arch", arch, "KernelVersion",
                u.release, "BuildTime", "");
}

/* docker's name for the filesystem under the data root ("extfs" covers
 * ext2/3/4, which share a magic). */
#ifndef ZFS_SUPER_MAGIC
#define ZFS_SUPER_MAGIC 0x2fc12fc1
#endif

static const char *backing_fs(const char *path) {
        static const struct {
                unsigned long magic;
                const char *name;
        } names[] = {
                {EXT4_SUPER_MAGIC, "extfs"},
                {XFS_SUPER_MAGIC, "xfs"},
                {BTRFS_SUPER_MAGIC, "btrfs"},
                {TMPFS_MAGIC, "tmpfs"},
                {OVERLAYFS_SUPER_MAGIC, "overlayfs"},
                {F2FS_SUPER_MAGIC, "f2fs"},
                {ZFS_SUPER_MAGIC, "zfs"},
                {NFS_SUPER_MAGIC, "nfs"},
        };
        struct statfs sf;
        if (statfs(path, &sf) < 0)
                return "<unknown>";
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if ((unsigned long) sf.f_type == names[i].magic)
                        return names[i].name;
        return "<unknown>";
}

static void info(struct daemon *d, struct http_req *r) {
        struct utsname u;
        uname(&u);
        int n = 0, running = 0, paused = 0, stopped = 0;
        for (struct container *c = d->containers; c; c = c->next) {
                n++;
                if (c->status == CTR_RUNNING)
                        running++;
                else if (c->status == CTR_PAUSED)
                        paused++;
                else
                        stopped++;
        }
        struct sysinfo si;
        sysinfo(&si);
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        char *imgs = NULL;
        int nimages = 0;
        struct berr e = {0};
        if (image_list_json(d->images, false, NULL, NULL, NULL, &imgs, &e) >=
            0) {
                json_t *l = json_loads(imgs, 0, NULL);
                nimages = (int) json_array_size(l);
                json_decref(l);
        }
        free(imgs);
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
        const char *logdrv =
                json_string_value(json_object_get(d->log_config, "Type"));
        json_t *j = json_pack(
                "{s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:[[s,s]], s:b, s:b,"
                " s:b, s:b, s:b, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s,"
                " s:i, s:I, s:s, s:s, s:s, s:s, s:[], s:{s:s}, s:s,"
                " s:s, s:[s,s], s:{s:{s:s}, s:{s:s}}}",
                "ID", "berth", "Containers", n, "ContainersRunning", running,
                "ContainersPaused", paused, "ContainersStopped", stopped,
                "Images", nimages, "Driver", "overlay2", "DriverStatus",
                "Backing Filesystem", backing_fs(d->data_root), "MemoryLimit",
                true, "SwapLimit", true, "CpuCfsPeriod", true, "CpuCfsQuota",
                true,
                /* v2 cannot switch the OOM killer off (docker says so too) */
                "OomKillDisable", !v2, "LoggingDriver",
                logdrv ? logdrv : "json-file", "CgroupDriver", "cgroupfs",
                "NEventsListener", 0, "KernelVersion", u.release,
                "OperatingSystem", "Linux", "OSType", "linux", "Architecture",
                u.machine, "IndexServerAddress", "https://index.docker.io/v1/",
                "NCPU", (int) sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
                (json_int_t) si.totalram * si.mem_unit, "DockerRootDir",
                d->data_root, "Name", host, "ServerVersion", BERTH_VERSION,
                "DefaultRuntime", "berth", "Warnings", "Swarm",
                "LocalNodeState", "inactive", "CgroupVersion", v2 ? "2" : "1",
                "InitBinary", "berth-init", "SecurityOptions",
                "name=seccomp,profile=builtin", "name=no-new-privileges",
                "Runtimes", "berth", "path", "berth-runtime", "runc", "path",
                "berth-runtime");
        /* What `docker info` shows as "Insecure Registries". */
        json_t *cidrs = json_pack("[s]", "127.0.0.0/8");
        json_t *index = json_object();
        for (char *const *p = d->registry.insecure; p && *p; p++) {
                if (strchr(*p, '/'))
                        json_array_append_new(cidrs, json_string(*p));
                else
                        json_object_set_new(index, *p,
                                            json_pack("{s:s, s:[], s:b, s:b}",
                                                      "Name", *p, "Mirrors",
                                                      "Secure", false,
                                                      "Official", false));
        }
        json_object_set_new(index, "docker.io",
                            json_pack("{s:s, s:[], s:b, s:b}", "Name",
                                      "docker.io", "Mirrors", "Secure", true,
                                      "Official", true));
        json_object_set_new(j, "RegistryConfig",
                            json_pack("{s:o, s:o, s:[]}",
                                      "InsecureRegistryCIDRs", cidrs,
                                      "IndexConfigs", index, "Mirrors"));
        http_reply_json(r, 200, j);
}

bool api_wants_file(const char *method, const char *path) {
        return strcmp(method, "POST") == 0 &&
               (strcmp(path, "/images/load") == 0 ||
                strcmp(path, "/images/create") == 0 ||
                strcmp(path, "/build") == 0);
}

void api_dispatch(struct http_req *r, void *ud) {
        struct daemon *d = ud;
        const char *p = http_path(r);
        const char *m = http_method(r);
        if (strcmp(p, "/_ping") == 0) {
                ping(r);
        } else if (strcmp(p, "/version") == 0 && strcmp(m, "GET") == 0) {
                http_reply_json(r, 200, version_json());
        } else if (strcmp(p, "/info") == 0 && strcmp(m, "GET") == 0) {
                info(d, r);
        } else if (strcmp(p, "/events") == 0 && strcmp(m, "GET") == 0) {
                events_handle(d, r);
        } else if (str_startswith(p, "/containers/") ||
                   strcmp(p, "/containers") == 0) {
                api_containers(d, r, p + strlen("/containers"));
        } else if (str_startswith(p, "/exec/")) {
                api_exec(d, r, p + strlen("/exec"));
        } else if (strcmp(p, "/build") == 0 && strcmp(m, "POST") == 0) {
                api_build(d, r);
        } else if (strcmp(p, "/auth") == 0 && strcmp(m, "POST") == 0) {
                api_auth(d, r);
        } else if (str_startswith(p, "/images/") || strcmp(p, "/images") == 0) {
                api_images(d, r, p + strlen("/images"));
        } else if (str_startswith(p, "/volumes/") ||
                   strcmp(p, "/volumes") == 0) {
                api_volumes(d, r, p + strlen("/volumes"));
        } else if (str_startswith(p, "/networks/") ||
                   strcmp(p, "/networks") == 0) {
                api_networks(d, r, p + strlen("/networks"));
        } else {
                http_reply_error(r, 404, "page not found");
        }
}
