/* berth's nftables table (d->nft_table: "berth", or "berth_BRIDGE" for a
 * daemon on another default bridge), written whole from the state of
 * every network and published port in one atomic batch, so the table
 * never holds a rule for something that is gone, and never half of a
 * change.  The host's and other engines' tables are never touched.
 *
 * Per network N on bridge BR with subnet S:
 *   - masquerade what S sends out of any other interface (not for
 *     internal networks: they have no way out);
 *   - masquerade what reaches BR from 127.0.0.0/8 (published ports asked
 *     on the loopback address) and what S sends to a published port that
 *     lands on BR again (hairpin: the ports are in hairpin mode, for hosts
 *     with br_netfilter), so that replies come back through the host;
 *   - forward: a connection to a published port may cross networks; BR to
 *     BR is allowed; BR to another of our bridges is dropped (isolation);
 *     internal networks neither send nor receive through the host; from
 *     outside only replies enter BR.
 * Published ports are DNAT rules in the "ports" chain, jumped to for
 * every packet addressed to a local address (from outside, prerouting;
 * from the host itself, output).
 *
 * The host's loopback (SECURITY.md §11): our bridges have route_localnet
 * (so that a published port asked on 127.0.0.1 by the host can be DNATed
 * out of the bridge, and its replies un-NATed back to 127.0.0.1), which
 * also lets a container send a frame to the gateway's MAC addressed to
 * 127.0.0.1 and reach whatever the host binds to its loopback; and DNAT
 * runs before the routing decision that would call 127.0.0.1 from a LAN
 * interface a martian, so a neighbour on the LAN reaches ports published
 * on 127.0.0.1.  The "raw" chain (before conntrack and NAT) drops every
 * packet to or from 127.0.0.0/8 that did not come in on lo: what the
 * kernel does itself without route_localnet.  Replies to the host's own
 * 127.0.0.1 connections come back to the gateway's address (they were
 * masqueraded), so they pass.
 *
 * Spoofing between containers (§14): the table "bridge" of the same name
 * sees every frame a container sends into one of our bridges (to another
 * container or to the host) and drops those whose Ethernet or ARP source
 * is not the MAC we gave the endpoint, whose IPv4 or ARP sender address
 * is not its address, whose IPv6 source is neither "::" nor its EUI-64
 * link-local address, IPv6 router advertisements and redirects, and
 * other ether types (VLAN tags would hide an IP header from the checks).
 * Containers given NET_ADMIN (or --privileged) may configure their own
 * addresses, so they are not checked; nor endpoints restored from a
 * record older than the MACs we set. */
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "daemon.h"
#include "error.h"
#include "ipam.h"

static int nft_apply(const char *cmds, struct berr *err) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        nft_ctx_buffer_error(ctx);
        int r = nft_run_cmd_from_buffer(ctx, cmds);
        if (r != 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);
                r = berr_setx(err, EIO, "nftables: %s",
                              e && *e ? e : "request refused");
        }
        nft_ctx_free(ctx);
        return r;
}

static void write_ports(struct daemon *d, FILE *f) {
        for (struct container *c = d->containers; c; c = c->next) {
                uint32_t target = ports_target(c);
                if (!target)
                        continue;
                char cip[16];
                ipv4_format(target, cip);
                for (size_t i = 0; i < c->n_ports; i++) {
                        const struct port_map *m = &c->ports[i];
                        char hip[16] = "";
                        if (m->host_ip)
                                ipv4_format(m->host_ip, hip);
                        fprintf(f, "    %s%s%s%s dport %u dnat to %s:%u\n",
                                m->host_ip ? "ip daddr " : "", hip,
                                m->host_ip ? " " : "", m->udp ? "udp" : "tcp",
                                m->host_port, cip, m->ctr_port);
                }
        }
}

/* May the container change its own addresses: --privileged, or
 * NET_ADMIN added (and not dropped again: build_caps' rules)? */
static bool ctr_net_admin(const struct container *c) {
        if (json_is_true(json_object_get(c->hostcfg, "Privileged")))
                return true;
        bool add = false, drop = false, drop_all = false;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(c->hostcfg, "CapAdd"), i, v) {
                const char *n = json_string_value(v) ?: "";
                if (!strncasecmp(n, "CAP_", 4))
                        n += 4;
                add |= !strcasecmp(n, "ALL") || !strcasecmp(n, "NET_ADMIN");
        }
        json_array_foreach(json_object_get(c->hostcfg, "CapDrop"), i, v) {
                const char *n = json_string_value(v) ?: "";
                if (!strncasecmp(n, "CAP_", 4))
                        n += 4;
                drop |= !strcasecmp(n, "NET_ADMIN");
                drop_all |= !strcasecmp(n, "ALL");
        }
        return add && (!drop || drop_all);
}

/* The elements line of a set of the checked endpoints, keyed by the
 * host end's name ("IFNAME" or "IFNAME . VALUE"); nothing when there are
 * none (an empty set is declared without one). */
enum ep_elem { EP_NAME, EP_MAC, EP_IP4, EP_IP6 };

static void write_elements(struct daemon *d, FILE *f, enum ep_elem what) {
        bool any = false;
        for (struct container *c = d->containers; c; c = c->next) {
                if (ctr_net_admin(c))
                        continue;
                for (const struct endpoint *e = c->eps; e; e = e->next) {
                        if (!e->has_mac)
                                continue;
                        const uint8_t *m = e->mac;
                        char ip[16];
                        ipv4_format(e->ip, ip);
                        fprintf(f, "%s\"%s\"",
                                any ? ",\n      " : "    elements = { ",
                                e->host_if);
                        any = true;
                        if (what == EP_MAC)
                                fprintf(f, " . %02x:%02x:%02x:%02x:%02x:%02x",
                                        m[0], m[1], m[2], m[3], m[4], m[5]);
                        else if (what == EP_IP4)
                                fprintf(f, " . %s", ip);
                        /* DAD probes come from "::"; the kernel makes
                         * the link-local address from the MAC (EUI-64). */
                        else if (what == EP_IP6)
                                fprintf(f,
                                        " . ::, \"%s\" . "
                                        "fe80::%02x%02x:%02xff:fe%02x:"
                                        "%02x%02x",
                                        e->host_if, m[0] ^ 2, m[1], m[2], m[3],
                                        m[4], m[5]);
                }
        }
        if (any)
                fprintf(f, " }\n");
}

/* The bridge-family table: see the top of this file.  Frames from a
 * port that is not a checked endpoint pass (this kernel may lack the
 * bridge "meta ibrname" match, so the ports of other engines' bridges
 * cannot be told apart from new ones of ours); a new endpoint's rules
 * are therefore written before its container can send (net_attach: the
 * program has not started; connect: before the interface is up). */
static void write_bridge_table(struct daemon *d, FILE *f) {
        fprintf(f,
                "table bridge %1$s {}\ndelete table bridge %1$s\n"
                "table bridge %1$s {\n",
                d->nft_table);
        static const char *const sets[] = {
                [EP_NAME] = "ports {\n    type ifname\n",
                [EP_MAC] = "macs {\n    type ifname . ether_addr\n",
                [EP_IP4] = "addr4 {\n    type ifname . ipv4_addr\n",
                [EP_IP6] = "addr6 {\n    type ifname . ipv6_addr\n",
        };
        for (int k = EP_NAME; k <= EP_IP6; k++) {
                fprintf(f, "  set %s", sets[k]);
                write_elements(d, f, (enum ep_elem) k);
                fprintf(f, "  }\n");
        }
        fprintf(f,
                "  chain prerouting {\n"
                "    type filter hook prerouting priority -300; policy "
                "accept;\n"
                "    iifname != @ports accept\n"
                "    iifname . ether saddr != @macs drop\n"
                "    ether type arp iifname . arp saddr ether != @macs drop\n"
                "    ether type arp iifname . arp saddr ip != @addr4 drop\n"
                "    ether type ip iifname . ip saddr != @addr4 drop\n"
                "    ether type ip6 iifname . ip6 saddr != @addr6 drop\n"
                "    icmpv6 type { nd-router-advert, nd-redirect } drop\n"
                "    ether type { ip, arp, ip6 } accept\n"
                "    drop\n"
                "  }\n}\n");
}

int fw_sync(struct daemon *d, struct berr *err) {
        if (!d->nft || !d->nft_table || d->fw_hold)
                return 0;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        const char *t = d->nft_table;
        /* Deleted and made again in the same transaction: rules and
         * set elements alike are exactly what is written here. */
        fprintf(f, "table ip %1$s {}\ndelete table ip %1$s\ntable ip %1$s {\n",
                t);
        size_t nbr = 0;
        for (struct network *n = d->networks; n; n = n->next)
                nbr += n->up;
        if (nbr) {
                fprintf(f,
                        "  set bridges {\n    type ifname\n    elements = {");
                const char *sep = " ";
                for (struct network *n = d->networks; n; n = n->next)
                        if (n->up) {
                                fprintf(f, "%s\"%s\"", sep, n->ifname);
                                sep = ", ";
                        }
                fprintf(f, " }\n  }\n");
        }
        fprintf(f, "  chain raw {\n"
                   "    type filter hook prerouting priority raw; policy "
                   "accept;\n"
                   "    iifname != \"lo\" ip daddr 127.0.0.0/8 drop\n"
                   "    iifname != \"lo\" ip saddr 127.0.0.0/8 drop\n"
                   "  }\n");
        fprintf(f, "  chain postrouting {\n"
                   "    type nat hook postrouting priority srcnat; policy "
                   "accept;\n");
        for (struct network *n = d->networks; n; n = n->next) {
                if (!n->up)
                        continue;
                char sub[20];
                ipv4_net_format(ipam_subnet(n->pool), sub);
                if (!n->internal)
                        fprintf(f,
                                "    ip saddr %s oifname != \"%s\" "
                                "masquerade\n",
                                sub, n->ifname);
                /* Matched on the source, not the input interface: with
                 * br_netfilter the hook sees no input interface here. */
                fprintf(f,
                        "    oifname \"%1$s\" ip saddr 127.0.0.0/8 "
                        "masquerade\n"
                        "    oifname \"%1$s\" ip saddr %2$s ct status dnat "
                        "masquerade\n",
                        n->ifname, sub);
        }
        fprintf(f, "  }\n  chain ports {\n");
        write_ports(d, f);
        fprintf(f, "  }\n"
                   "  chain prerouting {\n"
                   "    type nat hook prerouting priority dstnat; policy "
                   "accept;\n"
                   "    fib daddr type local jump ports\n"
                   "  }\n"
                   "  chain output {\n"
                   "    type nat hook output priority -100; policy accept;\n"
                   "    fib daddr type local jump ports\n"
                   "  }\n"
                   "  chain forward {\n"
                   "    type filter hook forward priority filter; policy "
                   "accept;\n");
        /* Internal networks first: not even a published port (reached
         * through their own gateway address) is a way out. */
        for (struct network *n = d->networks; n; n = n->next)
                if (n->up && n->internal)
                        fprintf(f,
                                "    iifname \"%1$s\" oifname != \"%1$s\" "
                                "drop\n"
                                "    oifname \"%1$s\" iifname != \"%1$s\" "
                                "drop\n",
                                n->ifname);
        if (nbr)
                fprintf(f, "    ct status dnat accept\n");
        for (struct network *n = d->networks; n; n = n->next) {
                if (!n->up)
                        continue;
                const char *b = n->ifname;
                fprintf(f, "    iifname \"%1$s\" oifname \"%1$s\" accept\n", b);
                if (n->internal) {
                        fprintf(f,
                                "    iifname \"%1$s\" drop\n"
                                "    oifname \"%1$s\" drop\n",
                                b);
                        continue;
                }
                fprintf(f,
                        "    iifname \"%1$s\" oifname @bridges drop\n"
                        "    iifname \"%1$s\" accept\n"
                        "    oifname \"%1$s\" ct state related,established "
                        "accept\n"
                        "    oifname \"%1$s\" drop\n",
                        b);
        }
        fprintf(f, "  }\n}\n");
        write_bridge_table(d, f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        int r = nft_apply(buf, err);
        free(buf);
        return r;
}
