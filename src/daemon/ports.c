/* Published ports: HostConfig.PortBindings (and -P's random ports) held
 * by sockets the daemon binds, so that no other program and no other
 * container can take a host port a container publishes.  The forwarding
 * rules are firewall.c's, written from these maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "ipam.h"
#include "util.h"

uint32_t ports_target(const struct container *c) {
        /* The first network with a way in: an internal network's
         * containers publish nothing (as docker). */
        for (const struct endpoint *e = c->eps; e; e = e->next)
                if (!e->net->internal)
                        return e->ip;
        return 0;
}

void ports_release(struct container *c) {
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

/* Hold host port `port` (0: any) for `m` with a bound socket (TCP:
 * bound, not listening). */
static int reserve_one(struct daemon *d, struct container *c,
                       struct port_map *m, uint16_t port, struct berr *err) {
        char ip[16] = "0.0.0.0";
        if (m->host_ip)
                ipv4_format(m->host_ip, ip);
        struct container *o = port_holder(d, m->host_ip, port, m->udp);
        if (port && o && o != c)
                return berr_setx(err, EADDRINUSE,
                                 "driver failed programming external "
                                 "connectivity on endpoint %s: Bind for "
                                 "%s:%u failed: port is already allocated "
                                 "(by container %s)",
                                 c->name, ip, port, o->name);
        int s = socket(AF_INET,
                       (m->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (s < 0)
                return berr_set(err, errno, "socket");
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(m->host_ip)};
        if (bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = berr_setx(err, errno,
                                  "driver failed programming external "
                                  "connectivity on endpoint %s: Bind for "
                                  "%s:%u failed: %s",
                                  c->name, ip, port,
                                  errno == EADDRINUSE
                                          ? "port is already allocated"
                                          : strerror(errno));
                close(s);
                return r;
        }
        socklen_t sl = sizeof(sa);
        if (getsockname(s, (struct sockaddr *) &sa, &sl) < 0) {
                close(s);
                return berr_set(err, errno, "getsockname");
        }
        m->host_port = ntohs(sa.sin_port);
        m->sock = s;
        return 0;
}

/* The first free port of lo..hi (docker's HostPort "8000-8010"). */
static int reserve(struct daemon *d, struct container *c, struct port_map *m,
                   uint16_t lo, uint16_t hi, struct berr *err) {
        int r = 0;
        for (uint32_t p = lo; p <= hi; p++) {
                berr_clear(err);
                r = reserve_one(d, c, m, (uint16_t) p, err);
                if (r >= 0 || r != -EADDRINUSE || !lo)
                        return r;
        }
        if (lo != hi) {
                berr_clear(err); /* the range's message, not the last port's */
                return berr_setx(err, EADDRINUSE,
                                 "driver failed programming external "
                                 "connectivity on endpoint %s: all ports "
                                 "from %u to %u are already allocated",
                                 c->name, lo, hi);
        }
        return r;
}

static int parse_port(const char *s, uint16_t *ret) {
        uint32_t v;
        if (!s || parse_u32(s, &v) < 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* "8080" or "8000-8010" (or "": any). */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi) {
        *lo = *hi = 0;
        if (!s || !*s)
                return 0;
        const char *dash = strchr(s, '-');
        if (!dash)
                return parse_port(s, lo) < 0 ? -EINVAL : (*hi = *lo, 0);
        _cleanup_free_ char *a = strndup(s, (size_t) (dash - s));
        if (!a || parse_port(a, lo) < 0 || parse_port(dash + 1, hi) < 0 ||
            !*lo || *hi < *lo)
                return -EINVAL;
        return 0;
}

static int push_map(struct container *c, const struct port_map *m) {
        struct port_map *nv = realloc(c->ports, (c->n_ports + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        c->ports = nv;
        c->ports[c->n_ports++] = *m;
        return 0;
}

/* {"80/tcp":[{"HostIp","HostPort"}]} -> maps, each host port held. */
static int ports_from_bindings(struct daemon *d, struct container *c,
                               json_t *pb, struct berr *err) {
        const char *k;
        json_t *v;
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
                                         "%s",
                                         k,
                                         strcmp(proto, "sctp")
                                                 ? ""
                                                 : " (sctp is not supported "
                                                   "yet)");
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
                        uint16_t lo, hi;
                        if (parse_range(hp, &lo, &hi) < 0)
                                return berr_setx(err, EINVAL,
                                                 "invalid host port \"%s\" "
                                                 "for port %s",
                                                 hp, k);
                        int r = reserve(d, c, &m, lo, hi, err);
                        if (r >= 0)
                                r = push_map(c, &m);
                        if (r < 0) {
                                if (m.sock >= 0)
                                        close(m.sock);
                                return r;
                        }
                }
        }
        return 0;
}

int ports_publish(struct daemon *d, struct container *c, struct berr *err) {
        json_t *pb = json_object_get(c->hostcfg, "PortBindings");
        /* -P: every exposed port without a binding gets a random host
         * port (a copy: the recorded configuration stays as given). */
        json_t *all = NULL;
        if (json_is_true(json_object_get(c->hostcfg, "PublishAllPorts"))) {
                all = json_is_object(pb) ? json_deep_copy(pb) : json_object();
                const char *ek;
                json_t *ev;
                json_object_foreach(json_object_get(c->config, "ExposedPorts"),
                                    ek, ev) {
                        if (!json_array_size(json_object_get(all, ek)))
                                json_object_set_new(all, ek,
                                                    json_pack("[{s:s, s:s}]",
                                                              "HostIp", "",
                                                              "HostPort", ""));
                }
                pb = all;
        }
        int r = ports_from_bindings(d, c, pb, err);
        json_decref(all);
        if (r < 0)
                ports_release(c);
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
