/* rtnetlink through libmnl: the links, addresses and routes a container
 * network needs (a bridge, veth pairs, an address and a default route in
 * the container's namespace).  Synchronous request/ack calls, no threads.
 *
 * A handle belongs to one network namespace, the one it was opened in:
 * nl_open(-1) is the caller's, nl_open(fd) the namespace `fd` refers to
 * (the socket is created there; the caller's own namespace is restored
 * before nl_open returns). */
#pragma once

#include <stdint.h>

struct berr;
struct nl;

int nl_open(int netns_fd, struct nl **ret, struct berr *err);
/* socket(domain, type | SOCK_CLOEXEC, protocol) created in the network
 * namespace `netns_fd` (-1: the caller's); the fd, or a negative errno. */
int netns_socket(int netns_fd, int domain, int type, int protocol,
                 struct berr *err);
struct nl *nl_close(struct nl *n);

/* The interface index of `name`, -ENODEV when there is none. */
int nl_link_index(struct nl *n, const char *name);
int nl_bridge_create(struct nl *n, const char *name, struct berr *err);
/* A veth pair: `name` here, `peer` created directly in the namespace
 * `peer_netns_fd` (-1: here too), with the hardware address `peer_mac`
 * (6 bytes; NULL: one the kernel picks at random). */
int nl_veth_create(struct nl *n, const char *name, const char *peer,
                   int peer_netns_fd, const uint8_t *peer_mac,
                   struct berr *err);
int nl_link_delete(struct nl *n, const char *name, struct berr *err);
int nl_link_set_up(struct nl *n, const char *name, struct berr *err);
/* Enslave `name` to the bridge `master`. */
int nl_link_set_master(struct nl *n, const char *name, const char *master,
                       struct berr *err);
int nl_link_rename(struct nl *n, const char *name, const char *new_name,
                   struct berr *err);
/* addr/prefix on `name` (host byte order). */
int nl_addr_add(struct nl *n, const char *name, uint32_t addr, int prefix,
                struct berr *err);
/* A default route via `gateway`. */
int nl_route_add_default(struct nl *n, uint32_t gateway, struct berr *err);
