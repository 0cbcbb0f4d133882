/* The embedded DNS server, as docker's: containers on a user network
 * find each other by container name, short id and --network-alias
 * through a server at 127.0.0.11:53 inside their own namespace, and other
 * names are asked of the upstream servers.
 *
 * The server is a UDP socket the daemon creates inside the container's
 * network namespace (netns_socket) and serves from its loop: nothing runs
 * in the container, and a container that floods it only costs the daemon
 * reads of a non-blocking socket.  Forwarded queries go out from the
 * host's namespace, each on a socket of its own connected to the
 * upstream (a fresh source port and id, so an off-path answer cannot be
 * injected), which is why upstreams on the host's loopback (systemd-
 * resolved, dnsmasq) work for containers as well.
 *
 * Also here: the container's /etc/resolv.conf, which names 127.0.0.11
 * exactly when this server answers for it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "dns.h"
#include "error.h"
#include "ipam.h"
#include "loop.h"
#include "netlink.h"
#include "util.h"

#define DNS_ADDR            0x7f00000b /* 127.0.0.11 */
#define MAX_UPSTREAMS       3
#define UPSTREAM_TIMEOUT_MS 2000
#define MAX_PENDING         512 /* forwarded queries in flight, daemon-wide */
#define MAX_PENDING_ONE     64  /* ... and of one container */
#define TTL                 600
#define BUF                 4096

struct pending;
struct tcp_client;

struct resolver {
        struct daemon *d;
        struct container *c;
        int fd;
        bool forward; /* some network of the container has a way out */
        struct sockaddr_storage up[MAX_UPSTREAMS];
        socklen_t up_len[MAX_UPSTREAMS];
        size_t n_up;
        struct pending *pending;
        unsigned int n_pending;
        int tcp_fd; /* listening on 127.0.0.11:53 in the namespace */
        struct tcp_client *tcp;
        unsigned int n_tcp;
};

/* A query asked of an upstream server for a container. */
struct pending {
        struct resolver *rv;
        int fd; /* connected to up[tried] */
        size_t tried;
        uint16_t client_id, our_id;
        struct sockaddr_in client;
        uint8_t *query;
        size_t len;
        struct loop_timer *timer;
        struct pending *next;
};

/* ---- resolv.conf ---- */

/* A nameserver address as resolv.conf and --dns write it: IPv4, or IPv6
 * (with a %scope for link-local ones), port 53. */
static bool server_addr(const char *s, struct sockaddr_storage *ret,
                        socklen_t *ret_len) {
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                                 .ai_socktype = SOCK_DGRAM};
        struct addrinfo *ai = NULL;
        if (!s || getaddrinfo(s, "53", &hints, &ai) != 0 || !ai)
                return false;
        bool ok = ai->ai_addrlen <= sizeof(*ret) &&
                  (ai->ai_family == AF_INET || ai->ai_family == AF_INET6);
        if (ok) {
                memcpy(ret, ai->ai_addr, ai->ai_addrlen);
                *ret_len = ai->ai_addrlen;
        }
        freeaddrinfo(ai);
        return ok;
}

static bool sa_loopback(const struct sockaddr_storage *sa) {
        if (sa->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)
                                      ->sin_addr.s_addr) >>
                        24) == 127;
        return IN6_IS_ADDR_LOOPBACK(
                &((const struct sockaddr_in6 *) sa)->sin6_addr);
}

static bool sa_is_dns_addr(const struct sockaddr_storage *sa) {
        return sa->ss_family == AF_INET &&
               ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) ==
                       DNS_ADDR;
}

/* The nameserver lines of `text`. */
static size_t nameservers_of(const char *text, struct sockaddr_storage *out,
                             socklen_t *out_len, size_t max) {
        size_t n = 0;
        _cleanup_free_ char *copy = strdup(text ?: "");
        for (char *save = NULL,
                  *line = copy ? strtok_r(copy, "\n", &save) : NULL;
             line && n < max; line = strtok_r(NULL, "\n", &save)) {
                if (!str_startswith(line, "nameserver"))
                        continue;
                char *a = line + 10;
                a += strspn(a, " \t");
                a[strcspn(a, " \t#")] = '\0';
                if (server_addr(a, &out[n], &out_len[n]))
                        n++;
        }
        return n;
}

/* The upstream servers a container's queries go to: --dns, or the host's
 * resolv.conf's (loopback ones too: they are asked from the host's
 * namespace). */
static int resolver_upstreams(struct daemon *d, const struct container *c,
                              struct sockaddr_storage *ret, socklen_t *ret_len,
                              size_t max) {
        json_t *dns = json_object_get(c->hostcfg, "Dns");
        size_t n = 0, i;
        json_t *e;
        json_array_foreach(dns, i, e) {
                if (n < max &&
                    server_addr(json_string_value(e), &ret[n], &ret_len[n]))
                        n++;
        }
        if (json_array_size(dns))
                return (int) n;
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, d->resolv_conf, 1 << 20, &text, NULL) < 0)
                return 0;
        return (int) nameservers_of(text, ret, ret_len, max);
}

static bool is_loopback(const char *a) {
        return str_startswith(a, "127.") || !strcmp(a, "::1");
}

/* Does the container get the embedded server?  On a user network always;
 * on the default bridge when the servers it would be given are on the
 * host's loopback: --dns 127.0.0.1, or (without --dns) the host's
 * resolv.conf has no other. */
static bool wants_embedded(struct daemon *d, struct container *c,
                           const char *hostrc) {
        bool on_net = false;
        const char *k;
        json_t *v;
        json_object_foreach(c->netcfg, k, v) {
                struct network *n = net_find(d, k);
                if (n && net_has_dns(n))
                        return true;
                on_net |= n != NULL;
        }
        if (!on_net)
                return false;
        /* --dns on the host's loopback is as unreachable from here. */
        json_t *dns = json_object_get(c->hostcfg, "Dns");
        size_t i;
        json_t *e;
        json_array_foreach(
                dns, i, e) if (json_string_value(e) &&
                               is_loopback(json_string_value(e))) return true;
        if (json_array_size(dns))
                return false;
        struct sockaddr_storage ns[MAX_UPSTREAMS];
        socklen_t nl[MAX_UPSTREAMS];
        size_t n = nameservers_of(hostrc, ns, nl, MAX_UPSTREAMS);
        for (size_t j = 0; j < n; j++)
                if (!sa_loopback(&ns[j]))
                        return false;
        return n > 0;
}

static int write_conf(struct daemon *d, struct container *c, int dirfd,
                      bool in_place, struct berr *err) {
        char *rc = NULL;
        size_t rlen = 0;
        FILE *f = open_memstream(&rc, &rlen);
        if (!f)
                return -ENOMEM;
        json_t *dns = json_object_get(c->hostcfg, "Dns");
        json_t *search = json_object_get(c->hostcfg, "DnsSearch");
        json_t *opts = json_object_get(c->hostcfg, "DnsOptions");
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        bool host_net = nm && !strcmp(nm, "host");
        _cleanup_free_ char *hostrc = NULL;
        if (read_file_at(AT_FDCWD, d->resolv_conf, 1 << 20, &hostrc, NULL) < 0)
                hostrc = strdup("");
        bool embedded = !host_net && wants_embedded(d, c, hostrc);
        if (embedded)
                fprintf(f, "# berth's DNS server: containers on this "
                           "container's networks by name,\n# other names "
                           "from the upstream servers\nnameserver "
                           "127.0.0.11\n");
        bool ndots = false;
        _cleanup_free_ char *copy = strdup(hostrc ?: "");
        for (char *save = NULL,
                  *line = copy ? strtok_r(copy, "\n", &save) : NULL;
             line; line = strtok_r(NULL, "\n", &save)) {
                if (str_startswith(line, "nameserver")) {
                        const char *a = line + 10;
                        a += strspn(a, " \t");
                        /* Loopback resolvers cannot be reached from a
                         * namespace of its own. */
                        if (embedded || json_array_size(dns) ||
                            (!host_net && is_loopback(a)))
                                continue;
                } else if ((str_startswith(line, "search") &&
                            json_array_size(search)) ||
                           (str_startswith(line, "options") &&
                            json_array_size(opts)))
                        continue;
                if (str_startswith(line, "options") && strstr(line, "ndots"))
                        ndots = true;
                fprintf(f, "%s\n", line);
        }
        size_t i;
        json_t *e;
        if (!embedded)
                json_array_foreach(dns, i, e) fprintf(
                        f, "nameserver %s\n", json_string_value(e) ?: "");
        if (json_array_size(search)) {
                fprintf(f, "search");
                json_array_foreach(search, i, e)
                        fprintf(f, " %s", json_string_value(e) ?: "");
                fprintf(f, "\n");
        }
        if (json_array_size(opts)) {
                fprintf(f, "options");
                json_array_foreach(opts, i, e) {
                        const char *o = json_string_value(e) ?: "";
                        ndots |= str_startswith(o, "ndots");
                        fprintf(f, " %s", o);
                }
                fprintf(f, "\n");
        }
        /* As docker's: container names are single labels, asked as they
         * are before any search domain is tried. */
        if (embedded && !ndots)
                fprintf(f, "options ndots:0\n");
        if (fclose(f) != 0) {
                free(rc);
                return -ENOMEM;
        }
        int r;
        if (in_place) {
                /* It is bind-mounted into the running container: the same
                 * inode must get the new text. */
                r = write_file_at(dirfd, "resolv.conf", rc, O_TRUNC);
        } else {
                r = write_file_atomic_at(dirfd, "resolv.conf", rc, rlen, 0644,
                                         0);
        }
        free(rc);
        return r < 0 ? berr_set(err, r, "write resolv.conf") : 0;
}

int resolver_write_conf(struct daemon *d, struct container *c, int dirfd,
                        struct berr *err) {
        return write_conf(d, c, dirfd, false, err);
}

/* ---- names ---- */

static bool has_alias(const struct container *o, const struct network *n,
                      const char *name) {
        json_t *ep = json_object_get(o->netcfg, n->name);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(ep, "Aliases"), i, a) {
                const char *s = json_string_value(a);
                if (s && !strcasecmp(s, name))
                        return true;
        }
        return false;
}

static bool names_container(const struct container *o, const struct network *n,
                            const char *name) {
        return !strcasecmp(o->name, name) ||
               (strlen(name) == 12 && !strncmp(o->id, name, 12)) ||
               has_alias(o, n, name);
}

/* The addresses `name` has for `asker`: the containers on its user
 * networks that the name (or name.NETWORK) names.  Returns how many. */
static size_t lookup(struct daemon *d, const struct container *asker,
                     const char *name, uint32_t *out, size_t max) {
        size_t n = 0;
        for (const struct endpoint *ea = asker->eps; ea; ea = ea->next) {
                const struct network *net = ea->net;
                if (!net_has_dns(net))
                        continue;
                char bare[256];
                snprintf(bare, sizeof(bare), "%s", name);
                size_t bl = strlen(bare), nl = strlen(net->name);
                if (bl > nl + 1 && bare[bl - nl - 1] == '.' &&
                    !strcasecmp(bare + bl - nl, net->name))
                        bare[bl - nl - 1] = '\0';
                for (struct container *o = d->containers; o; o = o->next)
                        for (const struct endpoint *e = o->eps; e;
                             e = e->next) {
                                if (e->net != net ||
                                    !names_container(o, net, bare))
                                        continue;
                                bool dup = false;
                                for (size_t i = 0; i < n; i++)
                                        dup |= out[i] == e->ip;
                                if (!dup && n < max)
                                        out[n++] = e->ip;
                        }
        }
        return n;
}

/* "NAME.NETWORK" for an address on one of `asker`'s user networks. */
static bool reverse(struct daemon *d, const struct container *asker,
                    uint32_t addr, char *out, size_t len) {
        for (const struct endpoint *ea = asker->eps; ea; ea = ea->next) {
                if (!net_has_dns(ea->net))
                        continue;
                for (struct container *o = d->containers; o; o = o->next)
                        for (const struct endpoint *e = o->eps; e; e = e->next)
                                if (e->net == ea->net && e->ip == addr) {
                                        snprintf(out, len, "%s.%s", o->name,
                                                 ea->net->name);
                                        return true;
                                }
        }
        return false;
}

/* ---- forwarding ---- */

static void reply(struct resolver *rv, const struct sockaddr_in *to,
                  const void *msg, size_t len) {
        /* Best effort, as UDP is: a client that went away loses it. */
        (void) !sendto(rv->fd, msg, len, MSG_DONTWAIT,
                       (const struct sockaddr *) to, sizeof(*to));
}

static void reply_error(struct resolver *rv, const struct sockaddr_in *to,
                        uint16_t id, uint16_t flags, int rcode) {
        uint8_t b[12];
        dns_build_error(id, flags, rcode, b);
        reply(rv, to, b, sizeof(b));
}

static void pending_free(struct pending *p) {
        struct resolver *rv = p->rv;
        struct pending **pp = &rv->pending;
        while (*pp && *pp != p)
                pp = &(*pp)->next;
        if (*pp)
                *pp = p->next;
        if (p->timer)
                loop_cancel_timer(rv->d->loop, p->timer);
        if (p->fd >= 0) {
                loop_del_fd(rv->d->loop, p->fd);
                close(p->fd);
        }
        rv->d->dns_pending--;
        rv->n_pending--;
        free(p->query);
        free(p);
}

static void on_upstream(int fd, uint32_t events, void *ud);
static void on_timeout(void *ud);

/* Ask up[p->tried]; false when no upstream could be asked. */
static bool pending_send(struct pending *p) {
        struct resolver *rv = p->rv;
        while (p->tried < rv->n_up) {
                if (p->fd >= 0) {
                        loop_del_fd(rv->d->loop, p->fd);
                        close(p->fd);
                }
                const struct sockaddr_storage *sa = &rv->up[p->tried];
                p->fd = socket(sa->ss_family,
                               SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                char id[2];
                random_bytes(id, sizeof(id));
                p->our_id = (uint16_t) ((uint8_t) id[0] << 8 | (uint8_t) id[1]);
                p->query[0] = (uint8_t) (p->our_id >> 8);
                p->query[1] = (uint8_t) p->our_id;
                if (p->fd >= 0 &&
                    connect(p->fd, (const struct sockaddr *) sa,
                            rv->up_len[p->tried]) == 0 &&
                    send(p->fd, p->query, p->len, 0) == (ssize_t) p->len &&
                    loop_add_fd(rv->d->loop, p->fd, EPOLLIN, on_upstream, p) >=
                            0) {
                        p->timer =
                                loop_add_timer(rv->d->loop, UPSTREAM_TIMEOUT_MS,
                                               on_timeout, p);
                        return true;
                }
                if (p->fd >= 0)
                        close(p->fd);
                p->fd = -1;
                p->tried++;
        }
        return false;
}

static void pending_fail(struct pending *p) {
        reply_error(p->rv, &p->client, p->client_id,
                    (uint16_t) (p->query[2] << 8 | p->query[3]),
                    DNS_RCODE_SERVFAIL);
        pending_free(p);
}

static void on_timeout(void *ud) {
        struct pending *p = ud;
        p->timer = NULL;
        p->tried++;
        if (!pending_send(p))
                pending_fail(p);
}

static void on_upstream(int fd, uint32_t events, void *ud) {
        (void) events;
        struct pending *p = ud;
        /* As large as a UDP answer can be (EDNS): relayed whole.  The
         * daemon is single-threaded, so one buffer serves all. */
        static uint8_t buf[65536];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 12 || (buf[0] << 8 | buf[1]) != p->our_id || !(buf[2] & 0x80)) {
                /* Refused (ICMP) or not an answer to us: the next one. */
                if (n < 0) {
                        if (p->timer)
                                loop_cancel_timer(p->rv->d->loop, p->timer);
                        p->timer = NULL;
                        p->tried++;
                        if (!pending_send(p))
                                pending_fail(p);
                }
                return;
        }
        buf[0] = (uint8_t) (p->client_id >> 8);
        buf[1] = (uint8_t) p->client_id;
        reply(p->rv, &p->client, buf, (size_t) n);
        pending_free(p);
}

static void forward(struct resolver *rv, const struct sockaddr_in *client,
                    const uint8_t *msg, size_t len,
                    const struct dns_question *q) {
        /* One container flooding names that resolve slowly cannot take
         * every slot (nor the daemon's descriptors). */
        if (rv->d->dns_pending >= MAX_PENDING ||
            rv->n_pending >= MAX_PENDING_ONE) {
                reply_error(rv, client, q->id, q->flags, DNS_RCODE_SERVFAIL);
                return;
        }
        struct pending *p = calloc(1, sizeof(*p));
        uint8_t *copy = malloc(len);
        if (!p || !copy) {
                free(p);
                free(copy);
                reply_error(rv, client, q->id, q->flags, DNS_RCODE_SERVFAIL);
                return;
        }
        memcpy(copy, msg, len);
        *p = (struct pending){.rv = rv,
                              .fd = -1,
                              .client_id = q->id,
                              .client = *client,
                              .query = copy,
                              .len = len,
                              .next = rv->pending};
        rv->pending = p;
        rv->d->dns_pending++;
        rv->n_pending++;
        if (!pending_send(p))
                pending_fail(p);
}

/* ---- the server ---- */

enum { ANS_DROP, ANS_REPLY, ANS_FORWARD };

/* What a query gets: a reply built here (in out[cap], *ret_len long), a
 * forward to the upstreams, or nothing (a response sent to us). */
static int decide(struct resolver *rv, const uint8_t *msg, size_t len,
                  struct dns_question *q, uint8_t *out, size_t cap,
                  size_t *ret_len) {
        int r = dns_parse_query(msg, len, q);
        if (r == -EPROTO && (q->flags & 0x8000))
                return ANS_DROP; /* a response: never answer those */
        if (r < 0) {
                if (len < 12)
                        return ANS_DROP;
                dns_build_error(q->id, q->flags,
                                r == -EPROTO ? DNS_RCODE_NOTIMP
                                             : DNS_RCODE_FORMERR,
                                out);
                *ret_len = 12;
                return ANS_REPLY;
        }
        uint32_t addrs[32];
        size_t n = q->qclass == DNS_CLASS_IN
                           ? lookup(rv->d, rv->c, q->name, addrs, 32)
                           : 0;
        uint32_t addr;
        char ptr[300];
        if (n) {
                /* A name of ours: A records; for other types an empty
                 * answer (the name exists, without such records). */
                bool a = q->qtype == DNS_TYPE_A || q->qtype == 255;
                r = dns_build_reply(q, msg, DNS_RCODE_NOERROR, addrs, a ? n : 0,
                                    NULL, TTL, out, cap);
                /* More than fit: as many as do. */
                while (r == -ENOSPC && a && n > 1)
                        r = dns_build_reply(q, msg, DNS_RCODE_NOERROR, addrs,
                                            --n, NULL, TTL, out, cap);
        } else if (q->qtype == DNS_TYPE_PTR &&
                   dns_ptr_addr(q->name, &addr) >= 0 &&
                   reverse(rv->d, rv->c, addr, ptr, sizeof(ptr))) {
                r = dns_build_reply(q, msg, DNS_RCODE_NOERROR, NULL, 0, ptr,
                                    TTL, out, cap);
        } else if (!rv->forward || !rv->n_up) {
                dns_build_error(q->id, q->flags, DNS_RCODE_REFUSED, out);
                r = 12;
        } else {
                return ANS_FORWARD;
        }
        if (r < 0) {
                dns_build_error(q->id, q->flags, DNS_RCODE_SERVFAIL, out);
                r = 12;
        }
        *ret_len = (size_t) r;
        return ANS_REPLY;
}

static void answer(struct resolver *rv, const struct sockaddr_in *client,
                   const uint8_t *msg, size_t len) {
        struct dns_question q;
        uint8_t out[DNS_UDP_MAX];
        size_t ol = 0;
        switch (decide(rv, msg, len, &q, out, sizeof(out), &ol)) {
        case ANS_REPLY:
                reply(rv, client, out, ol);
                break;
        case ANS_FORWARD:
                forward(rv, client, msg, len, &q);
                break;
        default:
                break;
        }
}

static void on_query(int fd, uint32_t events, void *ud) {
        (void) events;
        struct resolver *rv = ud;
        /* A bounded batch per wakeup: a flooding container cannot keep
         * the loop from everything else. */
        for (int i = 0; i < 64; i++) {
                uint8_t buf[BUF];
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
                                     (struct sockaddr *) &from, &fl);
                if (n < 0)
                        return;
                if (fl == sizeof(from) && from.sin_family == AF_INET)
                        answer(rv, &from, buf, (size_t) n);
        }
}

/* ---- TCP: what a client retries when a UDP answer was truncated ----
 *
 * Each connection carries length-prefixed messages, answered in order;
 * while one is forwarded (over TCP, from the host's namespace, on a
 * connection of its own) the client is not read. */

#define MAX_TCP_CLIENTS 16
#define TCP_MSG_MAX     65535

struct tcp_client {
        struct resolver *rv;
        int fd;
        uint8_t in[2 + TCP_MSG_MAX];
        size_t have;
        /* The forward in flight, if any. */
        int up_fd;
        size_t tried;
        bool sent;
        uint16_t client_id, our_id;
        uint8_t *query; /* length-prefixed */
        size_t qlen;
        uint8_t *ans; /* length-prefixed answer being read */
        size_t ans_have;
        struct loop_timer *timer;
        struct tcp_client *next;
};

static void tcp_up_close(struct tcp_client *t) {
        struct loop *l = t->rv->d->loop;
        if (t->timer)
                loop_cancel_timer(l, t->timer);
        t->timer = NULL;
        if (t->up_fd >= 0) {
                loop_del_fd(l, t->up_fd);
                close(t->up_fd);
        }
        t->up_fd = -1;
        t->sent = false;
        free(t->ans);
        t->ans = NULL;
        t->ans_have = 0;
}

static void tcp_close(struct tcp_client *t) {
        struct resolver *rv = t->rv;
        tcp_up_close(t);
        free(t->query);
        struct tcp_client **pp = &rv->tcp;
        while (*pp && *pp != t)
                pp = &(*pp)->next;
        if (*pp)
                *pp = t->next;
        rv->n_tcp--;
        loop_del_fd(rv->d->loop, t->fd);
        close(t->fd);
        free(t);
}

/* One message to the client; false when the connection failed (the
 * replies are small and the client's socket buffer large: a short write
 * means a client not reading, which is dropped). */
static bool tcp_send(struct tcp_client *t, const uint8_t *msg, size_t len) {
        uint8_t hdr[2] = {(uint8_t) (len >> 8), (uint8_t) len};
        struct iovec iov[2] = {{hdr, 2}, {(void *) msg, len}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        return sendmsg(t->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) ==
               (ssize_t) (len + 2);
}

static void tcp_process(struct tcp_client *t);
static void on_tcp_up(int fd, uint32_t events, void *ud);
static void on_tcp_timeout(void *ud);

/* Connect to up[t->tried] (and the next ones); false when none could. */
static bool tcp_forward_next(struct tcp_client *t) {
        struct resolver *rv = t->rv;
        for (; t->tried < rv->n_up; t->tried++) {
                tcp_up_close(t);
                const struct sockaddr_storage *sa = &rv->up[t->tried];
                t->up_fd =
                        socket(sa->ss_family,
                               SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (t->up_fd < 0)
                        continue;
                int r = connect(t->up_fd, (const struct sockaddr *) sa,
                                rv->up_len[t->tried]);
                if ((r == 0 || errno == EINPROGRESS) &&
                    loop_add_fd(rv->d->loop, t->up_fd, EPOLLOUT, on_tcp_up,
                                t) >= 0) {
                        t->timer =
                                loop_add_timer(rv->d->loop, UPSTREAM_TIMEOUT_MS,
                                               on_tcp_timeout, t);
                        return true;
                }
        }
        tcp_up_close(t);
        return false;
}

/* The forward ended: the answer (or SERVFAIL) goes back, and the next
 * message of the client is read. */
static void tcp_forward_done(struct tcp_client *t, const uint8_t *ans,
                             size_t len) {
        uint8_t err[12];
        if (!ans) {
                dns_build_error(t->client_id,
                                (uint16_t) (t->query[4] << 8 | t->query[5]),
                                DNS_RCODE_SERVFAIL, err);
                ans = err;
                len = sizeof(err);
        }
        bool ok = tcp_send(t, ans, len);
        tcp_up_close(t);
        free(t->query);
        t->query = NULL;
        if (!ok) {
                tcp_close(t);
                return;
        }
        loop_mod_fd(t->rv->d->loop, t->fd, EPOLLIN);
        tcp_process(t);
}

static void on_tcp_timeout(void *ud) {
        struct tcp_client *t = ud;
        t->timer = NULL;
        t->tried++;
        if (!tcp_forward_next(t))
                tcp_forward_done(t, NULL, 0);
}

static void on_tcp_up(int fd, uint32_t events, void *ud) {
        struct tcp_client *t = ud;
        if (!t->sent) {
                int e = 0;
                socklen_t el = sizeof(e);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e ||
                    (events & (EPOLLERR | EPOLLHUP)) ||
                    send(fd, t->query, t->qlen, MSG_NOSIGNAL) !=
                            (ssize_t) t->qlen) {
                        t->tried++;
                        if (!tcp_forward_next(t))
                                tcp_forward_done(t, NULL, 0);
                        return;
                }
                t->sent = true;
                loop_mod_fd(t->rv->d->loop, fd, EPOLLIN);
                return;
        }
        if (!t->ans && !(t->ans = malloc(2 + TCP_MSG_MAX))) {
                tcp_forward_done(t, NULL, 0);
                return;
        }
        ssize_t n = recv(fd, t->ans + t->ans_have,
                         2 + TCP_MSG_MAX - t->ans_have, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                t->tried++;
                if (!tcp_forward_next(t))
                        tcp_forward_done(t, NULL, 0);
                return;
        }
        t->ans_have += (size_t) n;
        if (t->ans_have < 2)
                return;
        size_t len = (size_t) (t->ans[0] << 8 | t->ans[1]);
        if (t->ans_have < 2 + len)
                return;
        uint8_t *m = t->ans + 2;
        if (len < 12 || (m[0] << 8 | m[1]) != t->our_id || !(m[2] & 0x80)) {
                tcp_forward_done(t, NULL, 0);
                return;
        }
        m[0] = (uint8_t) (t->client_id >> 8);
        m[1] = (uint8_t) t->client_id;
        tcp_forward_done(t, m, len);
}

/* Answer the complete messages buffered, until one must be forwarded. */
static void tcp_process(struct tcp_client *t) {
        while (t->have >= 2 && !t->query) {
                size_t len = (size_t) (t->in[0] << 8 | t->in[1]);
                if (t->have < 2 + len)
                        return;
                struct dns_question q;
                static uint8_t out[TCP_MSG_MAX];
                size_t ol = 0;
                int what = decide(t->rv, t->in + 2, len, &q, out, sizeof(out),
                                  &ol);
                if (what == ANS_FORWARD) {
                        t->query = malloc(len + 2);
                        if (!t->query) {
                                tcp_close(t);
                                return;
                        }
                        memcpy(t->query, t->in, len + 2);
                        t->qlen = len + 2;
                        t->client_id = q.id;
                        random_bytes(&t->our_id, sizeof(t->our_id));
                        t->query[2] = (uint8_t) (t->our_id >> 8);
                        t->query[3] = (uint8_t) t->our_id;
                        t->tried = 0;
                        /* Not read while the forward is out. */
                        loop_mod_fd(t->rv->d->loop, t->fd, 0);
                }
                memmove(t->in, t->in + 2 + len, t->have - 2 - len);
                t->have -= 2 + len;
                if (what == ANS_REPLY && !tcp_send(t, out, ol)) {
                        tcp_close(t);
                        return;
                }
                if (what == ANS_FORWARD && !tcp_forward_next(t)) {
                        tcp_forward_done(t, NULL, 0);
                        return;
                }
        }
}

static void on_tcp_client(int fd, uint32_t events, void *ud) {
        struct tcp_client *t = ud;
        if (events & (EPOLLHUP | EPOLLERR)) {
                tcp_close(t); /* its forward too */
                return;
        }
        if (t->query)
                return;
        ssize_t n = recv(fd, t->in + t->have, sizeof(t->in) - t->have,
                         MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                tcp_close(t);
                return;
        }
        t->have += (size_t) n;
        tcp_process(t);
}

static void on_tcp_accept(int fd, uint32_t events, void *ud) {
        (void) events;
        struct resolver *rv = ud;
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
                return;
        /* A container holding connections open only loses its oldest. */
        if (rv->n_tcp >= MAX_TCP_CLIENTS) {
                struct tcp_client *old = rv->tcp;
                while (old && old->next)
                        old = old->next;
                if (old)
                        tcp_close(old);
        }
        struct tcp_client *t = calloc(1, sizeof(*t));
        if (!t) {
                close(c);
                return;
        }
        t->rv = rv;
        t->fd = c;
        t->up_fd = -1;
        if (loop_add_fd(rv->d->loop, c, EPOLLIN, on_tcp_client, t) < 0) {
                close(c);
                free(t);
                return;
        }
        t->next = rv->tcp;
        rv->tcp = t;
        rv->n_tcp++;
}

static bool names_embedded(struct daemon *d, const struct container *c) {
        _cleanup_close_ int dfd =
                openat(d->ctr_dirfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        if (dfd < 0 ||
            read_file_at(dfd, "resolv.conf", 1 << 20, &text, NULL) < 0)
                return false;
        struct sockaddr_storage ns[MAX_UPSTREAMS];
        socklen_t nl[MAX_UPSTREAMS];
        size_t n = nameservers_of(text, ns, nl, MAX_UPSTREAMS);
        for (size_t i = 0; i < n; i++)
                if (sa_is_dns_addr(&ns[i]))
                        return true;
        return false;
}

int resolver_start(struct daemon *d, struct container *c, int netns_fd,
                   struct berr *err) {
        if (c->dns || !c->eps || !names_embedded(d, c))
                return 0;
        struct resolver *rv = calloc(1, sizeof(*rv));
        if (!rv)
                return -ENOMEM;
        rv->d = d;
        rv->c = c;
        int n = resolver_upstreams(d, c, rv->up, rv->up_len, MAX_UPSTREAMS);
        rv->n_up = n > 0 ? (size_t) n : 0;
        for (const struct endpoint *e = c->eps; e; e = e->next)
                rv->forward |= !e->net->internal;
        /* Created in the container's namespace: it is that namespace's
         * 127.0.0.11 the container asks.  IP_FREEBIND: lo's addresses
         * appear only once it is up, which the caller just did. */
        rv->fd = netns_socket(netns_fd, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0,
                              err);
        int r = rv->fd;
        if (r >= 0) {
                int one = 1;
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons(53),
                                         .sin_addr.s_addr = htonl(DNS_ADDR)};
                setsockopt(rv->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
                if (bind(rv->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        r = berr_set(err, errno, "bind 127.0.0.11:53");
        }
        bool udp_watched = false;
        if (r >= 0) {
                r = loop_add_fd(d->loop, rv->fd, EPOLLIN, on_query, rv);
                udp_watched = r >= 0;
        }
        rv->tcp_fd = -1;
        if (r >= 0) {
                rv->tcp_fd = netns_socket(netns_fd, AF_INET,
                                          SOCK_STREAM | SOCK_NONBLOCK, 0, err);
                r = rv->tcp_fd;
        }
        if (r >= 0) {
                int one = 1;
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons(53),
                                         .sin_addr.s_addr = htonl(DNS_ADDR)};
                setsockopt(rv->tcp_fd, IPPROTO_IP, IP_FREEBIND, &one,
                           sizeof(one));
                setsockopt(rv->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one,
                           sizeof(one));
                if (bind(rv->tcp_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    listen(rv->tcp_fd, 16) < 0)
                        r = berr_set(err, errno, "listen on 127.0.0.11:53");
        }
        if (r >= 0)
                r = loop_add_fd(d->loop, rv->tcp_fd, EPOLLIN, on_tcp_accept,
                                rv);
        if (r < 0) {
                if (udp_watched)
                        loop_del_fd(d->loop, rv->fd);
                if (rv->fd >= 0)
                        close(rv->fd);
                if (rv->tcp_fd >= 0)
                        close(rv->tcp_fd);
                free(rv);
                return berr_prefix(err, r,
                                   "start the DNS server of container %.12s",
                                   c->id);
        }
        c->dns = rv;
        return 0;
}

void resolver_stop(struct daemon *d, struct container *c) {
        struct resolver *rv = c->dns;
        if (!rv)
                return;
        while (rv->pending)
                pending_free(rv->pending);
        while (rv->tcp)
                tcp_close(rv->tcp);
        loop_del_fd(d->loop, rv->fd);
        close(rv->fd);
        loop_del_fd(d->loop, rv->tcp_fd);
        close(rv->tcp_fd);
        free(rv);
        c->dns = NULL;
}

int resolver_update(struct daemon *d, struct container *c, int netns_fd,
                    struct berr *err) {
        if (c->dns) {
                c->dns->forward = false;
                for (const struct endpoint *e = c->eps; e; e = e->next)
                        c->dns->forward |= !e->net->internal;
                return 0;
        }
        if (netns_fd < 0 || names_embedded(d, c))
                return 0;
        _cleanup_close_ int dfd =
                openat(d->ctr_dirfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berr_set(err, errno, "open container dir");
        _cleanup_free_ char *hostrc = NULL;
        if (read_file_at(AT_FDCWD, d->resolv_conf, 1 << 20, &hostrc, NULL) < 0)
                hostrc = strdup("");
        if (!wants_embedded(d, c, hostrc))
                return 0;
        int r = write_conf(d, c, dfd, true, err);
        return r < 0 ? r : resolver_start(d, c, netns_fd, err);
}
