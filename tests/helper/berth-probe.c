/* berth-probe: a static program that, copied into a container's rootfs,
 * reports what the container sees as one JSON object: ids, groups,
 * capabilities, hostname, cwd, mounts, cgroup limits, open fds, rlimits,
 * seccomp mode and no_new_privs.  Only libc; no project headers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static void json_str(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static char *slurp(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        static char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        return strdup(buf);
}

/* "Name:\tvalue" from /proc/self/status */
static void status_field(const char *status, const char *name, char *out,
                         size_t size) {
        out[0] = '\0';
        const char *p = strstr(status, name);
        if (!p)
                return;
        p += strlen(name);
        while (*p == ':' || *p == '\t' || *p == ' ')
                p++;
        size_t i = 0;
        while (p[i] && p[i] != '\n' && i + 1 < size) {
                out[i] = p[i];
                i++;
        }
        out[i] = '\0';
}

static void report(void) {
        char *status = slurp("/proc/self/status");
        struct utsname u;
        uname(&u);
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
                snprintf(cwd, sizeof(cwd), "(error %d)", errno);
        printf("{\"uid\":%u,\"gid\":%u,\"euid\":%u,\"egid\":%u,\"pid\":%d,"
               "\"ppid\":%d,",
               getuid(), getgid(), geteuid(), getegid(), getpid(), getppid());
        gid_t groups[256];
        int ng = getgroups(256, groups);
        printf("\"groups\":[");
        for (int i = 0; i < ng; i++)
                printf("%s%u", i ? "," : "", groups[i]);
        printf("],\"hostname\":");
        json_str(u.nodename);
        printf(",\"domainname\":");
        json_str(u.domainname);
        printf(",\"cwd\":");
        json_str(cwd);
        mode_t m = umask(0);
        umask(m);
        printf(",\"umask\":\"%04o\"", m);
        static const char *const caps[] = {"CapInh", "CapPrm", "CapEff",
                                           "CapBnd", "CapAmb", "NoNewPrivs",
                                           "Seccomp"};
        char v[128];
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
                status_field(status ? status : "", caps[i], v, sizeof(v));
                printf(",\"%s\":", caps[i]);
                json_str(v);
        }
        printf(",\"rlimits\":{");
        static const struct {
                const char *n;
                int r;
        } rl[] = {{"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC},
                  {"CORE", RLIMIT_CORE},     {"STACK", RLIMIT_STACK},
                  {"AS", RLIMIT_AS},         {"MEMLOCK", RLIMIT_MEMLOCK}};
        for (size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
                struct rlimit r;
                getrlimit(rl[i].r, &r);
                printf("%s\"%s\":[%lld,%lld]", i ? "," : "", rl[i].n,
                       r.rlim_cur == RLIM_INFINITY ? -1LL
                                                   : (long long) r.rlim_cur,
                       r.rlim_max == RLIM_INFINITY ? -1LL
                                                   : (long long) r.rlim_max);
        }
        printf("},\"fds\":{");
        DIR *d = opendir("/proc/self/fd");
        int first = 1;
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.' ||
                            atoi(de->d_name) == dirfd(d))
                                continue;
                        char p[300], t[PATH_MAX];
                        snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
                        ssize_t n = readlink(p, t, sizeof(t) - 1);
                        t[n > 0 ? n : 0] = '\0';
                        printf("%s\"%s\":", first ? "" : ",", de->d_name);
                        json_str(t);
                        first = 0;
                }
                closedir(d);
        }
        printf("},\"cgroup\":{");
        static const char *const cg[] = {
                "/sys/fs/cgroup/memory.max",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/pids.max",
                "/sys/fs/cgroup/pids/pids.max",
                "/sys/fs/cgroup/cpu.max",
                "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                "/sys/fs/cgroup/cpu/cpu.cfs_period_us"};
        first = 1;
        for (size_t i = 0; i < sizeof(cg) / sizeof(cg[0]); i++) {
                char *c = slurp(cg[i]);
                if (!c)
                        continue;
                printf("%s", first ? "" : ",");
                json_str(cg[i]);
                putchar(':');
                json_str(c);
                free(c);
                first = 0;
        }
        printf("},\"mounts\":[");
        FILE *mi = fopen("/proc/self/mountinfo", "re");
        first = 1;
        char line[4096];
        while (mi && fgets(line, sizeof(line), mi)) {
                /* id parent maj:min root mountpoint options ... - type src */
                char root[1024], mp[1024], opts[512], type[64];
                char *dash = strstr(line, " - ");
                if (!dash ||
                    sscanf(line, "%*s %*s %*s %1023s %1023s %511s", root, mp,
                           opts) != 3 ||
                    sscanf(dash + 3, "%63s", type) != 1)
                        continue;
                printf("%s{\"target\":", first ? "" : ",");
                json_str(mp);
                printf(",\"type\":");
                json_str(type);
                printf(",\"options\":");
                json_str(opts);
                printf("}");
                first = 0;
        }
        if (mi)
                fclose(mi);
        printf("]}\n");
        free(status);
}

int main(int argc, char **argv) {
        if (argc < 2 || !strcmp(argv[1], "report")) {
                report();
                return 0;
        }
        if (!strcmp(argv[1], "cat") && argc > 2) {
                char *c = slurp(argv[2]);
                if (!c) {
                        printf("error %s\n", strerrorname_np(errno));
                        return 1;
                }
                printf("%s\n", c);
                return 0;
        }
        if (!strcmp(argv[1], "write") && argc > 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0) {
                        printf("error %s\n", strerrorname_np(errno));
                        return 1;
                }
                printf("ok\n");
                return 0;
        }
        if (!strcmp(argv[1], "exit") && argc > 2)
                return atoi(argv[2]);
        if (!strcmp(argv[1], "udp-echo") && argc > 2) {
                /* Answer every datagram on PORT with itself. */
                int s = socket(AF_INET, SOCK_DGRAM, 0);
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons(atoi(argv[2]))};
                if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        printf("error %s\n", strerrorname_np(errno));
                        return 1;
                }
                for (;;) {
                        char buf[2048];
                        struct sockaddr_in from;
                        socklen_t fl = sizeof(from);
                        ssize_t n = recvfrom(s, buf, sizeof(buf), 0,
                                             (struct sockaddr *) &from, &fl);
                        if (n >= 0)
                                sendto(s, buf, (size_t) n, 0,
                                       (struct sockaddr *) &from, fl);
                }
        }
        fprintf(stderr, "usage: berth-probe [report|cat FILE|write FILE TEXT|"
                        "exit N|udp-echo PORT]\n");
        return 2;
}
