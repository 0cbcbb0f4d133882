/* IPv4 address management (see ipam.h). */
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "util.h"

int ipam_pick_subnet(const struct ipv4_net *used, size_t n_used,
                     struct ipv4_net *ret, struct berr *err) {
        struct ipv4_net cands[15 + 16];
        size_t n = 0;
        for (uint32_t b = 17; b <= 31; b++)
                cands[n++] = (struct ipv4_net){172u << 24 | b << 16, 16};
        for (uint32_t c = 0; c < 256; c += 16)
                cands[n++] =
                        (struct ipv4_net){192u << 24 | 168u << 16 | c << 8, 20};
        for (size_t i = 0; i < n; i++) {
                bool free_ = true;
                for (size_t k = 0; free_ && k < n_used; k++)
                        /* A default route (/0) overlaps everything and is
                         * no reason to avoid a subnet. */
                        free_ = used[k].prefix == 0 ||
                                !ipv4_net_overlaps(&cands[i], &used[k]);
                if (free_) {
                        *ret = cands[i];
                        return 0;
                }
        }
        return berr_setx(err, ENOSPC,
                         "no free subnet among the default pools (172.17-31."
                         "0.0/16, 192.168.0-240.0/20): set one with --subnet");
}

static int push_net(struct ipv4_net **v, size_t *n, uint32_t addr, int prefix) {
        struct ipv4_net *nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (!nv)
                return -ENOMEM;
        nv[(*n)++] = (struct ipv4_net){addr & ipv4_mask(prefix), prefix};
        *v = nv;
        return 0;
}

int ipam_host_networks(struct ipv4_net **ret, size_t *ret_n) {
        struct ipv4_net *v = NULL;
        size_t n = 0;
        int r = 0;
        FILE *f = fopen("/proc/net/route", "re");
        char line[512];
        if (f && fgets(line, sizeof(line), f)) { /* header */
                while (r >= 0 && fgets(line, sizeof(line), f)) {
                        char ifn[64];
                        unsigned dst, gw, flags, mask;
                        if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifn,
                                   &dst, &gw, &flags, &mask) != 5)
                                continue;
                        uint32_t m = ntohl(mask);
                        int prefix = __builtin_popcount(m);
                        r = push_net(&v, &n, ntohl(dst), prefix);
                }
        }
        if (f)
                fclose(f);
        struct ifaddrs *ifa = NULL;
        if (r >= 0 && getifaddrs(&ifa) == 0) {
                for (struct ifaddrs *i = ifa; r >= 0 && i; i = i->ifa_next) {
                        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
                            !i->ifa_netmask)
                                continue;
                        uint32_t a = ntohl(((struct sockaddr_in *) i->ifa_addr)
                                                   ->sin_addr.s_addr);
                        uint32_t m =
                                ntohl(((struct sockaddr_in *) i->ifa_netmask)
                                              ->sin_addr.s_addr);
                        r = push_net(&v, &n, a, __builtin_popcount(m));
                }
                freeifaddrs(ifa);
        }
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- pools ---- */

struct ipam {
        int dirfd;
        char *file;
        struct ipv4_net subnet;
        uint32_t gateway;
        uint32_t last;
        json_t *allocated; /* "a.b.c.d" -> owner */
};

/* `flags`: WRITE_SYNC for a new pool.  Allocations are not synced: after
 * a host crash no container runs, and the daemon releases every address
 * whose owner does not (so a lost update costs nothing); after a daemon
 * crash the page cache has it.  (Measured: 4 fsyncs, ~1 ms, per run.) */
static int pool_save(struct ipam *p, int flags, struct berr *err) {
        char s[20], g[16], l[16];
        ipv4_net_format(&p->subnet, s);
        ipv4_format(p->gateway, g);
        ipv4_format(p->last, l);
        json_t *j = json_pack("{s:s, s:s, s:s, s:O}", "subnet", s, "gateway", g,
                              "last", l, "allocated", p->allocated);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        if (!text)
                return -ENOMEM;
        int r = write_file_atomic_at(p->dirfd, p->file, text, strlen(text),
                                     0600, flags);
        free(text);
        return r < 0 ? berr_set(err, r, "save address pool '%s'", p->file) : 0;
}

struct ipam *ipam_free(struct ipam *p) {
        if (!p)
                return NULL;
        free(p->file);
        json_decref(p->allocated);
        free(p);
        return NULL;
}

int ipam_open(int dirfd, const char *name, const struct ipv4_net *subnet,
              uint32_t gateway, struct ipam **ret, struct berr *err) {
        struct ipam *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->dirfd = dirfd;
        p->file = str_printf("%s.json", name);
        if (!p->file) {
                ipam_free(p);
                return -ENOMEM;
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file_at(dirfd, p->file, 16 << 20, &text, &len);
        if (r == -ENOENT) {
                if (!subnet) {
                        ipam_free(p);
                        return berr_setx(err, ENOENT,
                                         "no address pool for network %s",
                                         name);
                }
                p->subnet = *subnet;
                p->gateway = gateway;
                p->last = gateway;
                p->allocated = json_object();
                r = pool_save(p, WRITE_SYNC, err);
        } else if (r >= 0) {
                json_t *j = json_loadb(text, len, 0, NULL);
                const char *s = json_string_value(json_object_get(j, "subnet"));
                const char *g =
                        json_string_value(json_object_get(j, "gateway"));
                const char *l = json_string_value(json_object_get(j, "last"));
                json_t *a = json_object_get(j, "allocated");
                if (!s || ipv4_net_parse(s, &p->subnet, NULL, err) < 0 ||
                    ipv4_parse(g, &p->gateway) < 0 || !json_is_object(a))
                        r = berr_setx(err, EINVAL,
                                      "address pool '%s' is damaged", p->file);
                else {
                        p->allocated = json_incref(a);
                        if (ipv4_parse(l, &p->last) < 0)
                                p->last = p->gateway;
                }
                json_decref(j);
                if (r >= 0 && subnet &&
                    (subnet->addr != p->subnet.addr ||
                     subnet->prefix != p->subnet.prefix)) {
                        char want[20], have[20];
                        ipv4_net_format(subnet, want);
                        ipv4_net_format(&p->subnet, have);
                        r = berr_setx(err, EEXIST,
                                      "network %s already uses subnet %s, "
                                      "not %s",
                                      name, have, want);
                }
        } else
                r = berr_set(err, r, "read address pool '%s'", p->file);
        if (r < 0) {
                ipam_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

const struct ipv4_net *ipam_subnet(const struct ipam *p) {
        return &p->subnet;
}

uint32_t ipam_gateway(const struct ipam *p) {
        return p->gateway;
}

const char *ipam_owner(const struct ipam *p, uint32_t addr) {
        char a[16];
        ipv4_format(addr, a);
        return json_string_value(json_object_get(p->allocated, a));
}

/* Usable: inside the subnet, not the network or broadcast address (for
 * prefixes below /31), not the gateway. */
static bool usable(const struct ipam *p, uint32_t a) {
        if (!ipv4_net_contains(&p->subnet, a) || a == p->gateway)
                return false;
        if (p->subnet.prefix < 31) {
                uint32_t bcast = p->subnet.addr | ~ipv4_mask(p->subnet.prefix);
                if (a == p->subnet.addr || a == bcast)
                        return false;
        }
        return true;
}

int ipam_allocate(struct ipam *p, const char *owner, uint32_t want,
                  uint32_t *ret, struct berr *err) {
        char a[16], s[20];
        ipv4_net_format(&p->subnet, s);
        if (want) {
                ipv4_format(want, a);
                if (!usable(p, want))
                        return berr_setx(err, EINVAL,
                                         "address %s is not usable in subnet "
                                         "%s",
                                         a, s);
                const char *o = ipam_owner(p, want);
                if (o)
                        return berr_setx(err, EADDRINUSE,
                                         "address %s is already in use by "
                                         "%.12s",
                                         a, o);
        } else {
                uint64_t size = 1ull << (32 - p->subnet.prefix);
                uint32_t cand = p->last;
                bool found = false;
                for (uint64_t i = 0; i < size && !found; i++) {
                        cand = p->subnet.addr | ((cand - p->subnet.addr + 1) &
                                                 (uint32_t) (size - 1));
                        found = usable(p, cand) && !ipam_owner(p, cand);
                }
                if (!found)
                        return berr_setx(err, ENOSPC,
                                         "no free address left in subnet %s",
                                         s);
                want = cand;
                ipv4_format(want, a);
        }
        json_object_set_new(p->allocated, a, json_string(owner));
        uint32_t old_last = p->last;
        p->last = want;
        int r = pool_save(p, 0, err);
        if (r < 0) {
                json_object_del(p->allocated, a);
                p->last = old_last;
                return r;
        }
        *ret = want;
        return 0;
}

int ipam_release(struct ipam *p, const char *owner, struct berr *err) {
        const char *k;
        json_t *v;
        void *tmp;
        int n = 0;
        json_object_foreach_safe(p->allocated, tmp, k, v) {
                if (!strcmp(json_string_value(v) ?: "", owner)) {
                        json_object_del(p->allocated, k);
                        n++;
                }
        }
        if (n == 0)
                return 0;
        int r = pool_save(p, 0, err);
        return r < 0 ? r : n;
}

int ipam_address_of(const struct ipam *p, const char *owner, uint32_t *ret) {
        const char *k;
        json_t *v;
        json_object_foreach(p->allocated, k, v) {
                if (!strcmp(json_string_value(v) ?: "", owner))
                        return ipv4_parse(k, ret);
        }
        return -ENOENT;
}

int ipam_owners(const struct ipam *p, char ***ret) {
        char **v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        const char *k;
        json_t *val;
        json_object_foreach(p->allocated, k, val) {
                const char *o = json_string_value(val);
                if (o && !strv_contains(v, o) && strv_push(&v, o) < 0) {
                        strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}
