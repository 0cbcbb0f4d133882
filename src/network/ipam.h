/* IPv4 address management for berth's networks: subnets, the choice of a
 * subnet no route on the host overlaps, and per-network allocations that
 * persist across daemon restarts and never hand one address out twice.
 * Addresses are uint32_t in host byte order.  No I/O but the pool file.
 * (IPv6 pools will sit beside these with the same interface.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipv4.h"

struct berr;

/* The first of docker's default pools (172.17.0.0/16 ... 172.31.0.0/16,
 * then 192.168.0.0/20 ... 192.168.240.0/20) that overlaps none of
 * `used`; -ENOSPC when all do. */
int ipam_pick_subnet(const struct ipv4_net *used, size_t n_used,
                     struct ipv4_net *ret, struct berr *err);

/* The networks routed or assigned on this host now (from /proc/net/route
 * and the interfaces' addresses), for ipam_pick_subnet.  Caller frees. */
int ipam_host_networks(struct ipv4_net **ret, size_t *ret_n);

/* One network's pool, kept in DIR/NAME.json:
 * {"subnet":"172.17.0.0/16","gateway":"172.17.0.1","last":"...",
 *  "allocated":{"172.17.0.2":"<owner>"}}. */
struct ipam;

/* Open (or create, with `subnet` and `gateway`) the pool.  An existing
 * pool keeps its own subnet; -EEXIST with a message when it differs from
 * a subnet asked for. */
int ipam_open(int dirfd, const char *name, const struct ipv4_net *subnet,
              uint32_t gateway, struct ipam **ret, struct berr *err);
struct ipam *ipam_free(struct ipam *p);
const struct ipv4_net *ipam_subnet(const struct ipam *p);
uint32_t ipam_gateway(const struct ipam *p);

/* Allocate an address for `owner`: `want` (0: any - the next free one
 * after the last handed out, so a released address is not reused at
 * once).  The pool file is rewritten before this returns.  -EADDRINUSE
 * when `want` is taken (the message names its owner), -ENOSPC when the
 * subnet is full. */
int ipam_allocate(struct ipam *p, const char *owner, uint32_t want,
                  uint32_t *ret, struct berr *err);
/* Release every address of `owner` (0 when it had none). */
int ipam_release(struct ipam *p, const char *owner, struct berr *err);
/* The address `owner` holds (the first, if several): -ENOENT if none. */
int ipam_address_of(const struct ipam *p, const char *owner, uint32_t *ret);
/* Every owner holding an address (a NULL-terminated copy). */
int ipam_owners(const struct ipam *p, char ***ret);
/* The owner of `addr`, or NULL. */
const char *ipam_owner(const struct ipam *p, uint32_t addr);
