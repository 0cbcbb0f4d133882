/* The default bridge network: a host bridge (berth0 unless --bridge says
 * otherwise) with a subnet no host route overlaps, an address pool that
 * survives restarts, masquerading for traffic leaving the bridge, and per
 * container a veth pair whose inner end becomes eth0 in the container's
 * network namespace.
 *
 * Runs in the daemon's process on its loop: every step is a synchronous
 * netlink or nftables request of well under a millisecond.  The container
 * side is configured through a netlink socket opened inside the
 * container's namespace (nl_open), never by running anything there. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "ipam.h"
#include "netlink.h"
#include "util.h"

struct bridge_net {
        struct ipam *pool;
        struct nl *nl;
        char *table; /* our nftables table */
};

bool net_uses_bridge(struct daemon *d, const struct container *c) {
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        return d->bridge_name && nm &&
               (!strcmp(nm, "default") || !strcmp(nm, "bridge"));
}

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

/* One atomic batch: our table is created (or emptied) and filled, so the
 * host's and other engines' rules are never touched. */
static int nft_setup(const char *table, const char *bridge,
                     const struct ipv4_net *subnet, struct berr *err) {
        char sub[20];
        ipv4_net_format(subnet, sub);
        _cleanup_free_ char *cmds = str_printf(
                "table ip %1$s {}\n"
                "flush table ip %1$s\n"
                "table ip %1$s {\n"
                "  chain postrouting {\n"
                "    type nat hook postrouting priority srcnat; policy "
                "accept;\n"
                "    ip saddr %3$s oifname != \"%2$s\" masquerade\n"
                /* Published ports reached from 127.0.0.1 leave with that
                 * source: the container must answer to the gateway. */
                "    ip saddr 127.0.0.0/8 oifname \"%2$s\" masquerade\n"
                "  }\n"
                "  chain ports {\n"
                "  }\n"
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
                "accept;\n"
                "    iifname \"%2$s\" accept\n"
                "    oifname \"%2$s\" ct state related,established accept\n"
                "  }\n"
                "}\n",
                table, bridge, sub);
        return cmds ? nft_apply(cmds, err) : -ENOMEM;
}

/* The bridge and everything around it, once per daemon. */
static int bridge_ready(struct daemon *d, struct berr *err) {
        if (d->bridge)
                return 0;
        struct bridge_net *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        int r = nl_open(-1, &b->nl, err);
        struct ipv4_net subnet = {0};
        uint32_t gw = 0;
        if (r >= 0 && d->bip) {
                r = ipv4_net_parse(d->bip, &subnet, &gw, err);
                if (r >= 0 && gw == subnet.addr)
                        gw = subnet.addr + 1;
        }
        if (r >= 0) {
                /* An existing pool keeps its subnet across restarts. */
                struct berr e2 = {0};
                if (d->bip)
                        r = ipam_open(d->net_dirfd, d->bridge_name, &subnet, gw,
                                      &b->pool, err);
                else if (ipam_open(d->net_dirfd, d->bridge_name, NULL, 0,
                                   &b->pool, &e2) < 0) {
                        struct ipv4_net *used = NULL;
                        size_t n = 0;
                        r = ipam_host_networks(&used, &n);
                        if (r >= 0)
                                r = ipam_pick_subnet(used, n, &subnet, err);
                        free(used);
                        if (r >= 0)
                                r = ipam_open(d->net_dirfd, d->bridge_name,
                                              &subnet, subnet.addr + 1,
                                              &b->pool, err);
                }
        }
        if (r >= 0 && nl_link_index(b->nl, d->bridge_name) == -ENODEV) {
                const struct ipv4_net *s = ipam_subnet(b->pool);
                r = nl_bridge_create(b->nl, d->bridge_name, err);
                if (r >= 0)
                        r = nl_addr_add(b->nl, d->bridge_name,
                                        ipam_gateway(b->pool), s->prefix, err);
        }
        if (r >= 0)
                r = nl_link_set_up(b->nl, d->bridge_name, err);
        if (r >= 0 && d->nft) {
                /* Let packets from 127.0.0.1 (to published ports) be
                 * routed to the bridge; only this bridge's setting. */
                _cleanup_free_ char *p =
                        str_printf("/proc/sys/net/ipv4/conf/%s/route_localnet",
                                   d->bridge_name);
                int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;
                if (fd < 0 || write(fd, "1", 1) != 1)
                        r = berr_set(err, errno, "write '%s'", p ? p : "");
                if (fd >= 0)
                        close(fd);
        }
        if (r >= 0 && d->nft) {
                b->table = !strcmp(d->bridge_name, "berth0")
                                   ? strdup("berth")
                                   : str_printf("berth_%s", d->bridge_name);
                r = b->table ? nft_setup(b->table, d->bridge_name,
                                         ipam_subnet(b->pool), err)
                             : -ENOMEM;
        }
        if (r >= 0 && d->ip_forward) {
                int fd = open("/proc/sys/net/ipv4/ip_forward",
                              O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "1", 1) != 1)
                        r = berr_set(err, errno, "enable IP forwarding");
                if (fd >= 0)
                        close(fd);
        }
        if (r < 0) {
                berr_prefix(err, r, "set up bridge network '%s'",
                            d->bridge_name);
                ipam_free(b->pool);
                nl_close(b->nl);
                free(b->table);
                free(b);
                return r;
        }
        d->bridge = b;
        return 0;
}

static void veth_names(const struct container *c, char host[16],
                       char peer[16]) {
        snprintf(host, 16, "vb%.10s", c->id);
        snprintf(peer, 16, "vp%.10s", c->id);
}

/* ---- published ports ---- */

static void ports_close(struct container *c) {
        for (size_t i = 0; i < c->n_ports; i++)
                if (c->ports[i].sock >= 0)
                        close(c->ports[i].sock);
        free(c->ports);
        c->ports = NULL;
        c->n_ports = 0;
}

/* Who else holds host port `port`? */
static struct container *port_holder(struct daemon *d, uint32_t ip,
                                     uint16_t port, bool udp) {
        for (struct container *o = d->containers; o; o = o->next)
                for (size_t i = 0; i < o->n_ports; i++) {
                        const struct port_map *m = &o->ports[i];
                        if (m->host_port == port && m->udp == udp &&
                            (!m->host_ip || !ip || m->host_ip == ip))
                                return o;
                }
        return NULL;
}

/* Hold the host port with a bound socket (TCP: bound, not listening),
 * so that no other program - and no other container - can take it. */
static int reserve(struct daemon *d, struct container *c, struct port_map *m,
                   struct berr *err) {
        char ip[16] = "0.0.0.0";
        if (m->host_ip)
                ipv4_format(m->host_ip, ip);
        struct container *o = port_holder(d, m->host_ip, m->host_port, m->udp);
        if (m->host_port && o && o != c)
                return berr_setx(err, EADDRINUSE,
                                 "driver failed programming external "
                                 "connectivity on endpoint %s: Bind for "
                                 "%s:%u failed: port is already allocated "
                                 "(by container %s)",
                                 c->name, ip, m->host_port, o->name);
        int s = socket(AF_INET,
                       (m->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (s < 0)
                return berr_set(err, errno, "socket");
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(m->host_port),
                                 .sin_addr.s_addr = htonl(m->host_ip)};
        if (bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = berr_setx(err, errno,
                                  "driver failed programming external "
                                  "connectivity on endpoint %s: Bind for "
                                  "%s:%u failed: %s",
                                  c->name, ip, m->host_port,
                                  errno == EADDRINUSE
                                          ? "port is already allocated"
                                          : strerror(errno));
                close(s);
                return r;
        }
        socklen_t sl = sizeof(sa);
        if (!m->host_port && getsockname(s, (struct sockaddr *) &sa, &sl) == 0)
                m->host_port = ntohs(sa.sin_port);
        m->sock = s;
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        uint32_t v;
        if (!s || parse_u32(s, &v) < 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* HostConfig.PortBindings {"80/tcp":[{"HostIp","HostPort"}]} -> maps. */
static int ports_from_bindings(struct daemon *d, struct container *c,
                               json_t *pb, struct berr *err) {
        const char *k;
        json_t *v;
        int r = 0;
        json_object_foreach(pb, k, v) {
                _cleanup_free_ char *key = strdup(k);
                if (!key)
                        return -ENOMEM;
                char *slash = strchr(key, '/');
                const char *proto = slash ? slash + 1 : "tcp";
                if (slash)
                        *slash = '\0';
                uint16_t cport;
                if (parse_port(key, &cport) < 0 || !cport ||
                    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
                        return berr_setx(err, EINVAL,
                                         "invalid port specification: \"%s\""
                                         " (ranges and %s are not supported "
                                         "yet)",
                                         k, proto);
                size_t i;
                json_t *b;
                json_array_foreach(v, i, b) {
                        const char *hip =
                                json_string_value(json_object_get(b, "HostIp"));
                        const char *hp = json_string_value(
                                json_object_get(b, "HostPort"));
                        struct port_map m = {.ctr_port = cport,
                                             .udp = !strcmp(proto, "udp"),
                                             .sock = -1};
                        if (hip && *hip && strcmp(hip, "0.0.0.0") &&
                            ipv4_parse(hip, &m.host_ip) < 0)
                                return berr_setx(err, EINVAL,
                                                 "invalid host IP \"%s\" for "
                                                 "port %s (IPv6 is not "
                                                 "supported yet)",
                                                 hip, k);
                        if (hp && *hp && parse_port(hp, &m.host_port) < 0)
                                return berr_setx(err, EINVAL,
                                                 "invalid host port \"%s\" "
                                                 "for port %s",
                                                 hp, k);
                        struct port_map *nv = realloc(
                                c->ports, (c->n_ports + 1) * sizeof(*nv));
                        if (!nv)
                                return -ENOMEM;
                        c->ports = nv;
                        r = reserve(d, c, &m, err);
                        if (r < 0)
                                return r;
                        c->ports[c->n_ports++] = m;
                }
        }
        return r;
}

static int ports_from_config(struct daemon *d, struct container *c,
                             struct berr *err) {
        json_t *pb = json_object_get(c->hostcfg, "PortBindings");
        /* -P: every exposed port without a binding gets a random host
         * port (a copy: the recorded configuration stays as given). */
        json_t *all = NULL;
        if (json_is_true(json_object_get(c->hostcfg, "PublishAllPorts"))) {
                all = json_is_object(pb) ? json_deep_copy(pb) : json_object();
                const char *ek;
                json_t *ev;
                json_object_foreach(
                        json_object_get(c->config, "ExposedPorts"), ek,
                        ev) if (!json_array_size(json_object_get(all, ek)))
                        json_object_set_new(all, ek,
                                            json_pack("[{s:s, s:s}]", "HostIp",
                                                      "", "HostPort", ""));
                pb = all;
        }
        int r = ports_from_bindings(d, c, pb, err);
        json_decref(all);
        return r;
}

/* The "ports" chain from every running container's maps, replaced in
 * one batch. */
static int ports_sync(struct daemon *d, struct berr *err) {
        if (!d->nft || !d->bridge || !d->bridge->table)
                return 0;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "flush chain ip %s ports\n", d->bridge->table);
        for (struct container *c = d->containers; c; c = c->next) {
                if (!c->ip)
                        continue;
                char cip[16];
                ipv4_format(c->ip, cip);
                for (size_t i = 0; i < c->n_ports; i++) {
                        const struct port_map *m = &c->ports[i];
                        char hip[16];
                        ipv4_format(m->host_ip, hip);
                        fprintf(f,
                                "add rule ip %s ports %s%s%s %s dport %u "
                                "dnat to %s:%u\n",
                                d->bridge->table, m->host_ip ? "ip daddr " : "",
                                m->host_ip ? hip : "", m->host_ip ? "" : "",
                                m->udp ? "udp" : "tcp", m->host_port, cip,
                                m->ctr_port);
                }
        }
        fclose(f);
        int r = buf ? nft_apply(buf, err) : -ENOMEM;
        free(buf);
        return r;
}

json_t *net_ports_json(const struct container *c) {
        json_t *out = json_object();
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct port_map *m = &c->ports[i];
                char key[24], hip[16], hp[8];
                snprintf(key, sizeof(key), "%u/%s", m->ctr_port,
                         m->udp ? "udp" : "tcp");
                ipv4_format(m->host_ip, hip);
                snprintf(hp, sizeof(hp), "%u", m->host_port);
                json_t *a = json_object_get(out, key);
                if (!a) {
                        a = json_array();
                        json_object_set_new(out, key, a);
                }
                json_array_append_new(a, json_pack("{s:s, s:s}", "HostIp", hip,
                                                   "HostPort", hp));
        }
        return out;
}

/* /etc/hosts names the container by its address, as docker's does. */
static void hosts_entry(struct daemon *d, struct container *c, uint32_t addr) {
        _cleanup_close_ int dfd =
                openat(d->ctr_dirfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *old = NULL, *hn = NULL;
        size_t len = 0, hl = 0;
        if (dfd < 0 || read_file_at(dfd, "hosts", 1 << 20, &old, &len) < 0 ||
            read_file_at(dfd, "hostname", 4096, &hn, &hl) < 0)
                return;
        hn[strcspn(hn, "\n")] = '\0';
        char ip[16];
        ipv4_format(addr, ip);
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        if (!f)
                return;
        /* Drop the entry an earlier start wrote. */
        for (char *save = NULL, *line = strtok_r(old, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                const char *tab = strrchr(line, '\t');
                if (tab && !strcmp(tab + 1, hn) &&
                    strncmp(line, "127.", 4) != 0)
                        continue;
                fprintf(f, "%s\n", line);
        }
        fprintf(f, "%s\t%s\n", ip, hn);
        fclose(f);
        /* In place: the file is already bind-mounted into the container,
         * and a rename would leave the mount on the old inode. */
        int fd = openat(dfd, "hosts", O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
                write_all(fd, buf, blen);
                close(fd);
        }
        free(buf);
}

int net_attach(struct daemon *d, struct container *c, struct berr *err) {
        if (!net_uses_bridge(d, c) || c->pid <= 0)
                return 0;
        int r = bridge_ready(d, err);
        if (r < 0)
                return r;
        struct bridge_net *b = d->bridge;
        uint32_t addr = 0;
        r = ipam_address_of(b->pool, c->id, &addr);
        if (r < 0)
                r = ipam_allocate(b->pool, c->id, 0, &addr, err);
        if (r < 0)
                return berr_prefix(err, r, "allocate an address on %s",
                                   d->bridge_name);
        char nspath[64], host[16], peer[16];
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int) c->pid);
        veth_names(c, host, peer);
        _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return berr_set(err, errno, "open '%s'", nspath);
        /* A host end left from an earlier start of this container (its
         * peer died with that namespace, which removes both ends; this is
         * for a daemon that crashed in between). */
        struct berr e2 = {0};
        if (nl_link_index(b->nl, host) > 0)
                nl_link_delete(b->nl, host, &e2);
        r = nl_veth_create(b->nl, host, peer, nsfd, err);
        if (r >= 0)
                r = nl_link_set_master(b->nl, host, d->bridge_name, err);
        if (r >= 0)
                r = nl_link_set_up(b->nl, host, err);
        struct nl *in = NULL;
        if (r >= 0)
                r = nl_open(nsfd, &in, err);
        if (r >= 0)
                r = nl_link_rename(in, peer, "eth0", err);
        if (r >= 0)
                r = nl_addr_add(in, "eth0", addr, ipam_subnet(b->pool)->prefix,
                                err);
        if (r >= 0)
                r = nl_link_set_up(in, "eth0", err);
        if (r >= 0)
                r = nl_route_add_default(in, ipam_gateway(b->pool), err);
        nl_close(in);
        if (r < 0) {
                nl_link_delete(b->nl, host, &e2);
                struct berr e3 = {0};
                ipam_release(b->pool, c->id, &e3);
                return berr_prefix(err, r, "connect container %.12s to %s",
                                   c->id, d->bridge_name);
        }
        c->ip = addr;
        hosts_entry(d, c, addr);
        r = ports_from_config(d, c, err);
        if (r >= 0)
                r = ports_sync(d, err);
        if (r < 0) {
                ports_close(c);
                c->ip = 0;
                struct berr e3 = {0};
                ipam_release(b->pool, c->id, &e3);
                ports_sync(d, &e3);
                return r;
        }
        return 0;
}

void net_restore(struct daemon *d, struct container *c) {
        struct berr e = {0};
        if (!net_uses_bridge(d, c) || bridge_ready(d, &e) < 0)
                return;
        uint32_t addr;
        if (ipam_address_of(d->bridge->pool, c->id, &addr) < 0)
                return;
        c->ip = addr;
        /* The old daemon's sockets held the published ports: hold them
         * again, and put the rules back (bridge_ready emptied the table). */
        if (ports_from_config(d, c, &e) < 0)
                fprintf(stderr,
                        "berthd: container %.12s: %s (its ports stay "
                        "unpublished)\n",
                        c->id, e.msg);
        berr_clear(&e);
        ports_sync(d, &e);
}

void net_reconcile(struct daemon *d) {
        /* Only when the network was ever used: no bridge otherwise. */
        _cleanup_free_ char *file =
                d->bridge_name ? str_printf("%s.json", d->bridge_name) : NULL;
        struct berr e = {0};
        if (!file || faccessat(d->net_dirfd, file, F_OK, 0) < 0 ||
            bridge_ready(d, &e) < 0)
                return;
        char **owners = NULL;
        if (ipam_owners(d->bridge->pool, &owners) < 0)
                return;
        for (size_t i = 0; owners[i]; i++) {
                struct container *c = ctr_by_id(d, owners[i]);
                if (c && (c->status == CTR_RUNNING || c->status == CTR_PAUSED))
                        continue;
                /* Held by a container that is gone or stopped (a crash
                 * between its exit and our bookkeeping): give it back. */
                berr_clear(&e);
                ipam_release(d->bridge->pool, owners[i], &e);
        }
        strv_free(owners);
}

void net_detach(struct daemon *d, struct container *c) {
        /* The address goes back to the pool, the host end of the veth
         * pair away. */
        if (!d->bridge && c->ip == 0 && c->n_ports == 0)
                return;
        struct berr e = {0};
        if (d->bridge) {
                /* The kernel removes the pair when the namespace goes, but
                 * later, from a work queue: remove the host end now, so
                 * that nothing of the container is left once rm returns
                 * (measured: deferring it gains nothing). */
                char host[16], peer[16];
                veth_names(c, host, peer);
                if (nl_link_index(d->bridge->nl, host) > 0)
                        nl_link_delete(d->bridge->nl, host, &e);
                berr_clear(&e);
                ipam_release(d->bridge->pool, c->id, &e);
        }
        bool had_ports = c->n_ports > 0;
        ports_close(c);
        c->ip = 0;
        berr_clear(&e);
        if (had_ports)
                ports_sync(d, &e);
}

json_t *net_endpoint(struct daemon *d, const struct container *c) {
        char ip[16] = "", gw[16] = "";
        int prefix = 0;
        if (c->ip && d->bridge) {
                ipv4_format(c->ip, ip);
                ipv4_format(ipam_gateway(d->bridge->pool), gw);
                prefix = ipam_subnet(d->bridge->pool)->prefix;
        }
        return json_pack("{s:s, s:s, s:i}", "IPAddress", ip, "Gateway", gw,
                         "IPPrefixLen", prefix);
}

void net_free(struct daemon *d) {
        if (!d->bridge)
                return;
        ipam_free(d->bridge->pool);
        nl_close(d->bridge->nl);
        free(d->bridge->table);
        free(d->bridge);
        d->bridge = NULL;
}

int net_bridge_config(struct daemon *d, char subnet[20], char gateway[16],
                      int *ret_prefix) {
        struct berr e = {0};
        if (!d->bridge_name || bridge_ready(d, &e) < 0)
                return -ENODEV;
        ipv4_net_format(ipam_subnet(d->bridge->pool), subnet);
        ipv4_format(ipam_gateway(d->bridge->pool), gateway);
        *ret_prefix = ipam_subnet(d->bridge->pool)->prefix;
        return 0;
}
