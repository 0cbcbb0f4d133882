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
 * from the host itself, output). */
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>

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

int fw_sync(struct daemon *d, struct berr *err) {
        if (!d->nft || !d->nft_table)
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
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        int r = nft_apply(buf, err);
        free(buf);
        return r;
}
