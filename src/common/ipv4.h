/* IPv4 addresses and subnets as berth's networks and registry trust
 * rules spell them.  Addresses are uint32_t in host byte order.  Pure
 * string and bit work, no I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct berr;

struct ipv4_net {
        uint32_t addr; /* the network address (host bits clear) */
        int prefix;    /* 0..32 */
};

/* "a.b.c.d" -> address. */
int ipv4_parse(const char *s, uint32_t *ret);
/* "a.b.c.d/n" -> network; host bits set are refused unless ret_host is
 * given (then the address as written goes there: --bip 172.17.0.1/16). */
int ipv4_net_parse(const char *s, struct ipv4_net *ret, uint32_t *ret_host,
                   struct berr *err);
void ipv4_format(uint32_t addr, char buf[16]);
/* "a.b.c.d/n" */
void ipv4_net_format(const struct ipv4_net *n, char buf[20]);
bool ipv4_net_contains(const struct ipv4_net *n, uint32_t addr);
bool ipv4_net_overlaps(const struct ipv4_net *a, const struct ipv4_net *b);
/* The netmask of a prefix (0..32). */
uint32_t ipv4_mask(int prefix);
