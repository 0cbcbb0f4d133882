/* IPv4 addresses and subnets (see ipv4.h). */
#include "ipv4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

uint32_t ipv4_mask(int prefix) {
        return prefix <= 0    ? 0
               : prefix >= 32 ? 0xffffffffu
                              : ~0u << (32 - prefix);
}

int ipv4_parse(const char *s, uint32_t *ret) {
        struct in_addr a;
        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

int ipv4_net_parse(const char *s, struct ipv4_net *ret, uint32_t *ret_host,
                   struct berr *err) {
        const char *slash = s ? strchr(s, '/') : NULL;
        if (!slash || slash - s > 15)
                return berr_setx(err, EINVAL,
                                 "invalid subnet \"%s\": expected "
                                 "a.b.c.d/prefix",
                                 s ? s : "");
        char ip[16];
        memcpy(ip, s, (size_t) (slash - s));
        ip[slash - s] = '\0';
        uint32_t a;
        int prefix;
        if (ipv4_parse(ip, &a) < 0 || parse_int(slash + 1, &prefix) < 0 ||
            prefix < 0 || prefix > 32)
                return berr_setx(err, EINVAL,
                                 "invalid subnet \"%s\": expected "
                                 "a.b.c.d/prefix",
                                 s);
        uint32_t net = a & ipv4_mask(prefix);
        if (net != a && !ret_host)
                return berr_setx(err, EINVAL,
                                 "invalid subnet \"%s\": host bits are set "
                                 "(the network is %u.%u.%u.%u/%d)",
                                 s, net >> 24, net >> 16 & 255, net >> 8 & 255,
                                 net & 255, prefix);
        ret->addr = net;
        ret->prefix = prefix;
        if (ret_host)
                *ret_host = a;
        return 0;
}

void ipv4_format(uint32_t a, char buf[16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
                 a & 255);
}

void ipv4_net_format(const struct ipv4_net *n, char buf[20]) {
        char ip[16];
        ipv4_format(n->addr, ip);
        snprintf(buf, 20, "%s/%d", ip, n->prefix);
}

bool ipv4_net_contains(const struct ipv4_net *n, uint32_t addr) {
        return (addr & ipv4_mask(n->prefix)) == n->addr;
}

bool ipv4_net_overlaps(const struct ipv4_net *a, const struct ipv4_net *b) {
        int p = a->prefix < b->prefix ? a->prefix : b->prefix;
        return (a->addr & ipv4_mask(p)) == (b->addr & ipv4_mask(p));
}
