/* berth-probe: a static program that, copied into a container's rootfs,
 * reports what the container sees as one JSON object: ids, groups,
 * capabilities, hostname, cwd, mounts, cgroup limits, open fds, rlimits,
 * seccomp mode and no_new_privs.  Only libc; no project headers.
 *
 * It also plays the attacker for tests/security: hand-built Ethernet
 * frames (UDP over IPv4, ARP) sent through an AF_PACKET socket with any
 * source and destination (what CAP_NET_RAW, a default capability,
 * allows), and a UDP listener that logs what reaches it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
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

/* "aa:bb:cc:dd:ee:ff" into 6 bytes; "-" is the interface's own. */
static int mac_arg(const char *s, const unsigned char *own,
                   unsigned char out[6]) {
        unsigned int b[6];
        if (!strcmp(s, "-")) {
                memcpy(out, own, 6);
                return 0;
        }
        if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
                   &b[5]) != 6)
                return -1;
        for (int i = 0; i < 6; i++)
                out[i] = (unsigned char) b[i];
        return 0;
}

/* A dotted IPv4 address (network order); "-" is the interface's own. */
static int ip_arg(const char *s, uint32_t own, uint32_t *out) {
        struct in_addr a;
        if (!strcmp(s, "-")) {
                *out = own;
                return 0;
        }
        if (inet_pton(AF_INET, s, &a) != 1)
                return -1;
        *out = a.s_addr;
        return 0;
}

static uint16_t csum(const void *p, size_t n, uint32_t sum) {
        const unsigned char *b = p;
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (b[i] << 8 | b[i + 1]);
        if (n & 1)
                sum += (uint32_t) b[n - 1] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* Send one frame on IFACE through a packet socket: the kernel adds
 * nothing, so every header field is the caller's. */
static int send_frame(const char *ifname, const unsigned char *frame,
                      size_t len) {
        int s = socket(AF_PACKET, SOCK_RAW, 0);
        struct sockaddr_ll sa = {.sll_family = AF_PACKET,
                                 .sll_ifindex = (int) if_nametoindex(ifname),
                                 .sll_halen = 6};
        memcpy(sa.sll_addr, frame, 6);
        if (s < 0 || !sa.sll_ifindex ||
            sendto(s, frame, len, 0, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                printf("error %s\n", strerrorname_np(errno));
                return 1;
        }
        close(s);
        printf("sent\n");
        return 0;
}

/* IFACE's MAC and IPv4 address. */
static int iface_own(const char *ifname, unsigned char mac[6], uint32_t *ip) {
        struct ifreq ifr = {0};
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
                return -1;
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
        *ip = 0;
        if (ioctl(s, SIOCGIFADDR, &ifr) == 0)
                *ip = ((struct sockaddr_in *) &ifr.ifr_addr)->sin_addr.s_addr;
        close(s);
        return 0;
}

/* udp-frame IFACE DSTMAC SRCMAC SRCIP DSTIP DPORT TEXT */
static int udp_frame(char **a) {
        unsigned char own[6], f[1514] = {0};
        uint32_t own_ip, src, dst;
        size_t tl = strlen(a[6]);
        if (tl > 1400 || iface_own(a[0], own, &own_ip) < 0 ||
            mac_arg(a[1], own, f) < 0 || mac_arg(a[2], own, f + 6) < 0 ||
            ip_arg(a[3], own_ip, &src) < 0 || ip_arg(a[4], own_ip, &dst) < 0) {
                printf("error bad arguments or interface\n");
                return 2;
        }
        f[12] = 0x08; /* IPv4 */
        unsigned char *ip = f + 14, *udp = ip + 20;
        uint16_t ulen = (uint16_t) (8 + tl), iplen = (uint16_t) (20 + ulen);
        ip[0] = 0x45;
        ip[2] = (unsigned char) (iplen >> 8);
        ip[3] = (unsigned char) iplen;
        ip[6] = 0x40; /* DF */
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        memcpy(ip + 12, &src, 4);
        memcpy(ip + 16, &dst, 4);
        uint16_t c = csum(ip, 20, 0);
        ip[10] = (unsigned char) (c >> 8);
        ip[11] = (unsigned char) c;
        uint16_t dport = (uint16_t) atoi(a[5]);
        udp[0] = 0x9c; /* source port 40000 */
        udp[1] = 0x40;
        udp[2] = (unsigned char) (dport >> 8);
        udp[3] = (unsigned char) dport;
        udp[4] = (unsigned char) (ulen >> 8);
        udp[5] = (unsigned char) ulen;
        memcpy(udp + 8, a[6], tl);
        /* The checksum over the pseudo-header (addresses, protocol,
         * length) and the datagram. */
        uint32_t ps = 0;
        for (int i = 12; i < 20; i += 2)
                ps += (uint32_t) (ip[i] << 8 | ip[i + 1]);
        ps += IPPROTO_UDP + ulen;
        c = csum(udp, ulen, ps);
        if (!c)
                c = 0xffff;
        udp[6] = (unsigned char) (c >> 8);
        udp[7] = (unsigned char) c;
        return send_frame(a[0], f, 14 + (size_t) iplen);
}

/* arp-frame IFACE DSTMAC SRCMAC request|reply SENDERIP TARGETIP: the
 * sender hardware address is SRCMAC; a reply's target one is DSTMAC. */
static int arp_frame(char **a) {
        unsigned char own[6], f[60] = {0};
        uint32_t own_ip, spa, tpa;
        bool reply = !strcmp(a[3], "reply");
        if (iface_own(a[0], own, &own_ip) < 0 || mac_arg(a[1], own, f) < 0 ||
            mac_arg(a[2], own, f + 6) < 0 || ip_arg(a[4], own_ip, &spa) < 0 ||
            ip_arg(a[5], own_ip, &tpa) < 0 ||
            (!reply && strcmp(a[3], "request"))) {
                printf("error bad arguments or interface\n");
                return 2;
        }
        f[12] = 0x08;
        f[13] = 0x06; /* ARP */
        unsigned char *p = f + 14;
        p[1] = 1;    /* Ethernet */
        p[2] = 0x08; /* IPv4 */
        p[4] = 6;
        p[5] = 4;
        p[7] = reply ? 2 : 1;
        memcpy(p + 8, f + 6, 6);
        memcpy(p + 14, &spa, 4);
        if (reply)
                memcpy(p + 18, f, 6);
        memcpy(p + 24, &tpa, 4);
        return send_frame(a[0], f, sizeof(f));
}

/* udp-log PORT: one line "SOURCE-IP TEXT" per datagram, flushed, and the
 * datagram echoed back. */
static int udp_log(const char *port) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) atoi(port))};
        if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                printf("error %s\n", strerrorname_np(errno));
                return 1;
        }
        printf("listening\n");
        fflush(stdout);
        for (;;) {
                char buf[2048], from_s[INET_ADDRSTRLEN];
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, 0,
                                     (struct sockaddr *) &from, &fl);
                if (n < 0)
                        continue;
                buf[n] = 0;
                inet_ntop(AF_INET, &from.sin_addr, from_s, sizeof(from_s));
                printf("%s %s\n", from_s, buf);
                fflush(stdout);
                sendto(s, buf, (size_t) n, 0, (struct sockaddr *) &from, fl);
        }
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
        if (!strcmp(argv[1], "udp-frame") && argc > 8)
                return udp_frame(argv + 2);
        if (!strcmp(argv[1], "arp-frame") && argc > 7)
                return arp_frame(argv + 2);
        if (!strcmp(argv[1], "udp-log") && argc > 2)
                return udp_log(argv[2]);
        fprintf(stderr,
                "usage: berth-probe [report|cat FILE|write FILE TEXT|"
                "exit N|udp-echo PORT|udp-log PORT|\n"
                "  udp-frame IFACE DSTMAC SRCMAC SRCIP DSTIP DPORT TEXT|\n"
                "  arp-frame IFACE DSTMAC SRCMAC request|reply SENDERIP "
                "TARGETIP]  (- = the interface's own)\n");
        return 2;
}
