/* Bridge networks: the default one ("bridge", on the interface --bridge
 * names, berth0 unless told otherwise) and those `network create` makes
 * (br-<id12>).  Each has a host bridge with the gateway address, an
 * address pool that survives restarts (ipam.c), and per running container
 * a veth pair whose inner end becomes eth0, eth1... in the container's
 * network namespace.  The nftables side is firewall.c, published ports
 * ports.c, names resolver.c.
 *
 * Runs in the daemon's process on its loop: every step is a synchronous
 * netlink request of well under a millisecond.  The container side is
 * configured through a netlink socket opened inside the container's
 * namespace (nl_open), never by running anything there.
 *
 * A user network is kept in DATA_ROOT/network/networks/ID.json; its pool
 * in DATA_ROOT/network/IFNAME.json.  A container's networks are in its
 * record (netcfg), and while it runs its endpoints too, so a daemon that
 * restarts finds each veth and address again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "ipam.h"
#include "netlink.h"
#include "util.h"

#define NETWORKS_DIR "networks"

static bool ifname_valid(const char *s);

void net_builtin_id(const char *name, char out[65]) {
        uint64_t h = 1469598103934665603ull;
        for (const char *p = name; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        uint64_t h2 = h;
        for (int i = 0; i < 4; i++) {
                h2 = (h2 ^ (uint64_t) i) * 1099511628211ull +
                     0x9e3779b97f4a7c15ull;
                snprintf(out + 16 * i, 17, "%016llx",
                         (unsigned long long) (h2 ^ h));
        }
}

static struct network *network_free(struct network *n) {
        if (!n)
                return NULL;
        ipam_free(n->pool);
        free(n->name);
        free(n->ifname);
        free(n->created);
        json_decref(n->labels);
        json_decref(n->options);
        free(n);
        return NULL;
}

struct network *net_find(struct daemon *d, const char *ref) {
        if (!ref || !*ref)
                return NULL;
        if (!strcmp(ref, "default"))
                ref = "bridge";
        for (struct network *n = d->networks; n; n = n->next)
                if (!strcmp(n->name, ref))
                        return n;
        for (struct network *n = d->networks; n; n = n->next)
                if (!strcmp(n->id, ref))
                        return n;
        struct network *found = NULL;
        size_t rl = strlen(ref);
        for (struct network *n = d->networks; n; n = n->next)
                if (!strncmp(n->id, ref, rl)) {
                        if (found)
                                return NULL; /* ambiguous */
                        found = n;
                }
        return found;
}

bool net_has_dns(const struct network *n) {
        return !n->is_default;
}

static int write_sysctl(const char *path, struct berr *err) {
        int r = write_file_at(AT_FDCWD, path, "1", 0);
        return r < 0 ? berr_set(err, r, "write '%s'", path) : 0;
}

/* Every subnet in use: the host's routes and addresses, and every
 * network's of ours (the default one's may not be routed yet). */
static int subnets_in_use(struct daemon *d, struct ipv4_net **ret,
                          size_t *ret_n) {
        struct ipv4_net *used = NULL;
        size_t n = 0;
        int r = ipam_host_networks(&used, &n);
        if (r < 0)
                return r;
        for (struct network *o = d->networks; o; o = o->next) {
                if (!o->pool)
                        continue;
                struct ipv4_net *nv = realloc(used, (n + 1) * sizeof(*nv));
                if (!nv) {
                        free(used);
                        return -ENOMEM;
                }
                used = nv;
                used[n++] = *ipam_subnet(o->pool);
        }
        *ret = used;
        *ret_n = n;
        return 0;
}

/* The default network's pool: the one on disk, or --bip, or the first of
 * docker's pools that nothing on the host uses. */
static int default_pool(struct daemon *d, struct network *n, struct berr *err) {
        struct ipv4_net subnet = {0};
        uint32_t gw = 0;
        if (d->bip) {
                int r = ipv4_net_parse(d->bip, &subnet, &gw, err);
                if (r < 0)
                        return r;
                if (gw == subnet.addr)
                        gw = subnet.addr + 1;
                return ipam_open(d->net_dirfd, n->ifname, &subnet, gw, &n->pool,
                                 err);
        }
        struct berr e2 = {0};
        if (ipam_open(d->net_dirfd, n->ifname, NULL, 0, &n->pool, &e2) >= 0)
                return 0;
        struct ipv4_net *used = NULL;
        size_t nu = 0;
        int r = subnets_in_use(d, &used, &nu);
        if (r >= 0)
                r = ipam_pick_subnet(used, nu, &subnet, err);
        free(used);
        if (r >= 0)
                r = ipam_open(d->net_dirfd, n->ifname, &subnet, subnet.addr + 1,
                              &n->pool, err);
        return r;
}

int net_up(struct daemon *d, struct network *n, struct berr *err) {
        if (n->up)
                return 0;
        int r = 0;
        if (!d->nl)
                r = nl_open(-1, &d->nl, err);
        if (r >= 0 && !n->pool)
                r = n->is_default ? default_pool(d, n, err)
                                  : ipam_open(d->net_dirfd, n->ifname,
                                              n->gateway ? &n->subnet : NULL,
                                              n->gateway, &n->pool, err);
        bool created = false;
        if (r >= 0 && nl_link_index(d->nl, n->ifname) == -ENODEV) {
                r = nl_bridge_create(d->nl, n->ifname, err);
                created = r >= 0;
                if (r >= 0)
                        r = nl_addr_add(d->nl, n->ifname, ipam_gateway(n->pool),
                                        ipam_subnet(n->pool)->prefix, err);
        }
        if (r >= 0)
                r = nl_link_set_up(d->nl, n->ifname, err);
        if (r >= 0 && d->nft && !n->internal) {
                /* Let packets from 127.0.0.1 (to published ports) be
                 * routed to the bridge; only this bridge's setting. */
                _cleanup_free_ char *p = str_printf(
                        "/proc/sys/net/ipv4/conf/%s/route_localnet", n->ifname);
                r = p ? write_sysctl(p, err) : -ENOMEM;
        }
        if (r >= 0 && d->ip_forward && !n->internal)
                r = write_sysctl("/proc/sys/net/ipv4/ip_forward", err);
        if (r >= 0) {
                n->up = true;
                r = fw_sync(d, err);
                if (r < 0)
                        n->up = false;
        }
        if (r < 0) {
                struct berr e2 = {0};
                if (created)
                        nl_link_delete(d->nl, n->ifname, &e2);
                return berr_prefix(err, r, "set up network '%s' (bridge %s)",
                                   n->name, n->ifname);
        }
        return 0;
}

/* ---- user networks on disk ---- */

static int network_save(struct daemon *d, struct network *n) {
        char sub[20], gw[16];
        int prefix;
        net_ipam_config(n, sub, gw, &prefix);
        json_t *j =
                json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:O, s:O,"
                          " s:s, s:s}",
                          "Id", n->id, "Name", n->name, "Created", n->created,
                          "Bridge", n->ifname, "Internal", n->internal,
                          "Attachable", n->attachable, "Labels", n->labels,
                          "Options", n->options, "Subnet", sub, "Gateway", gw);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        _cleanup_free_ char *rel = str_printf(NETWORKS_DIR "/%s.json", n->id);
        if (!text || !rel)
                return -ENOMEM;
        return write_file_atomic_at(d->net_dirfd, rel, text, strlen(text), 0600,
                                    WRITE_SYNC);
}

static struct network *network_load(struct daemon *d, const char *file) {
        _cleanup_free_ char *rel = str_printf(NETWORKS_DIR "/%s", file);
        _cleanup_free_ char *text = NULL;
        if (!rel || read_file_at(d->net_dirfd, rel, 1 << 20, &text, NULL) < 0)
                return NULL;
        json_t *j = json_loads(text, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "Id"));
        const char *name = json_string_value(json_object_get(j, "Name"));
        const char *br = json_string_value(json_object_get(j, "Bridge"));
        struct network *n = calloc(1, sizeof(*n));
        if (!n || !id || strlen(id) != 64 || !name || !br ||
            !ifname_valid(br)) {
                fprintf(stderr,
                        "berthd: ignoring the unreadable network "
                        "record '%s'\n",
                        file);
                json_decref(j);
                free(n);
                return NULL;
        }
        memcpy(n->id, id, 65);
        n->name = strdup(name);
        n->ifname = strdup(br);
        n->created = strdup(json_string_value(json_object_get(j, "Created"))
                                    ?: "0001-01-01T00:00:00Z");
        n->internal = json_is_true(json_object_get(j, "Internal"));
        n->attachable = json_is_true(json_object_get(j, "Attachable"));
        /* Kept here too: a lost pool file is made again from them. */
        struct berr e = {0};
        const char *sub = json_string_value(json_object_get(j, "Subnet"));
        const char *gw = json_string_value(json_object_get(j, "Gateway"));
        if (!sub || ipv4_net_parse(sub, &n->subnet, NULL, &e) < 0 || !gw ||
            ipv4_parse(gw, &n->gateway) < 0)
                n->gateway = 0;
        json_t *l = json_object_get(j, "Labels");
        json_t *o = json_object_get(j, "Options");
        n->labels = json_is_object(l) ? json_incref(l) : json_object();
        n->options = json_is_object(o) ? json_incref(o) : json_object();
        json_decref(j);
        if (!n->name || !n->ifname || !n->created)
                return network_free(n);
        return n;
}

static void network_link(struct daemon *d, struct network *n) {
        struct network **p = &d->networks;
        while (*p)
                p = &(*p)->next;
        *p = n;
}

int net_init(struct daemon *d, struct berr *err) {
        d->nft_table = !d->bridge_name || !strcmp(d->bridge_name, "berth0")
                               ? strdup("berth")
                               : str_printf("berth_%s", d->bridge_name);
        if (!d->nft_table)
                return -ENOMEM;
        if (mkdirat(d->net_dirfd, NETWORKS_DIR, 0700) < 0 && errno != EEXIST)
                return berr_set(err, errno, "create '%s'", NETWORKS_DIR);
        if (d->bridge_name) {
                struct network *n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                net_builtin_id("bridge", n->id);
                n->name = strdup("bridge");
                n->ifname = strdup(d->bridge_name);
                n->created = now_rfc3339();
                n->is_default = true;
                n->labels = json_object();
                n->options = json_pack(
                        "{s:s, s:s, s:s, s:s}",
                        "com.docker.network.bridge.default_bridge", "true",
                        "com.docker.network.bridge.enable_icc", "true",
                        "com.docker.network.bridge.enable_ip_masquerade",
                        "true", "com.docker.network.bridge.name",
                        d->bridge_name);
                if (!n->name || !n->ifname || !n->created) {
                        network_free(n);
                        return -ENOMEM;
                }
                network_link(d, n);
        }
        int dfd = openat(d->net_dirfd, NETWORKS_DIR,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!dir) {
                if (dfd >= 0)
                        close(dfd);
                return berr_set(err, errno, "open '%s'", NETWORKS_DIR);
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                size_t l = strlen(de->d_name);
                if (l != 64 + 5 || strcmp(de->d_name + 64, ".json"))
                        continue;
                struct network *n = network_load(d, de->d_name);
                if (n)
                        network_link(d, n);
        }
        closedir(dir);
        /* User networks' bridges exist as long as the networks do (the
         * default one's appears with its first container). */
        for (struct network *n = d->networks; n; n = n->next) {
                struct berr e = {0};
                if (!n->is_default && net_up(d, n, &e) < 0)
                        fprintf(stderr, "berthd: %s\n", e.msg);
        }
        return 0;
}

void net_free(struct daemon *d) {
        while (d->networks) {
                struct network *n = d->networks;
                d->networks = n->next;
                network_free(n);
        }
        d->nl = nl_close(d->nl);
        free(d->nft_table);
        d->nft_table = NULL;
}

void net_ipam_config(const struct network *n, char subnet[20], char gw[16],
                     int *ret_prefix) {
        subnet[0] = gw[0] = '\0';
        *ret_prefix = 0;
        if (!n->pool)
                return;
        ipv4_net_format(ipam_subnet(n->pool), subnet);
        ipv4_format(ipam_gateway(n->pool), gw);
        *ret_prefix = ipam_subnet(n->pool)->prefix;
}

bool net_in_use(struct daemon *d, const struct network *n) {
        for (struct container *c = d->containers; c; c = c->next)
                for (struct endpoint *e = c->eps; e; e = e->next)
                        if (e->net == n)
                                return true;
        return false;
}

/* An interface name we create and write into nftables rules and file
 * names: what the kernel takes literally (no '%', '/', quotes). */
static bool ifname_valid(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 15 ||
            !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
                      *p == '-'))
                        return false;
        return true;
}

static bool name_valid(const char *s) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') ||
                      (p != s && (*p == '_' || *p == '.' || *p == '-'))))
                        return false;
        return true;
}

/* IPAM.Config of a create body: at most one IPv4 subnet with an
 * optional gateway inside it. */
static int create_subnet(struct daemon *d, json_t *body, struct ipv4_net *sub,
                         uint32_t *gw, struct berr *err) {
        json_t *ipam = json_object_get(body, "IPAM");
        const char *drv = json_string_value(json_object_get(ipam, "Driver"));
        if (drv && *drv && strcmp(drv, "default"))
                return berr_setx(err, ENOENT, "plugin \"%s\" not found", drv);
        json_t *cfgs = json_object_get(ipam, "Config");
        if (json_array_size(cfgs) > 1)
                return berr_setx(err, ENOTSUP,
                                 "more than one IPAM configuration is not "
                                 "supported yet");
        json_t *cfg = json_array_get(cfgs, 0);
        const char *s = json_string_value(json_object_get(cfg, "Subnet"));
        const char *g = json_string_value(json_object_get(cfg, "Gateway"));
        const char *range = json_string_value(json_object_get(cfg, "IPRange"));
        json_t *aux = json_object_get(cfg, "AuxiliaryAddresses");
        if ((range && *range) || json_object_size(aux))
                return berr_setx(err, ENOTSUP,
                                 "--ip-range and --aux-address are not "
                                 "supported yet");
        if (g && *g && !(s && *s))
                return berr_setx(err, EINVAL,
                                 "invalid pool request: a gateway needs a "
                                 "subnet");
        struct ipv4_net *used = NULL;
        size_t nu = 0;
        int r = subnets_in_use(d, &used, &nu);
        if (r < 0)
                return r;
        if (s && *s) {
                r = ipv4_net_parse(s, sub, NULL, err);
                if (r < 0) {
                        free(used);
                        return berr_prefix(err, r, "invalid subnet %s", s);
                }
                if (sub->prefix > 30) {
                        free(used);
                        return berr_setx(err, EINVAL,
                                         "invalid subnet %s: it has no room "
                                         "for a gateway and a container",
                                         s);
                }
                for (struct network *o = d->networks; o; o = o->next)
                        if (o->pool &&
                            ipv4_net_overlaps(ipam_subnet(o->pool), sub)) {
                                free(used);
                                return berr_setx(err, EPERM,
                                                 "invalid pool request: Pool "
                                                 "overlaps with other one on "
                                                 "this address space (%s of "
                                                 "network %s)",
                                                 s, o->name);
                        }
                *gw = sub->addr + 1;
                if (g && *g) {
                        uint32_t bcast = sub->addr |
                                         (sub->prefix ? ~0u >> sub->prefix : 0);
                        if (ipv4_parse(g, gw) < 0 ||
                            !ipv4_net_contains(sub, *gw) || *gw == sub->addr ||
                            *gw == bcast) {
                                free(used);
                                return berr_setx(err, EINVAL,
                                                 "invalid gateway %s: not a "
                                                 "host address in subnet %s",
                                                 g, s);
                        }
                }
        } else {
                r = ipam_pick_subnet(used, nu, sub, err);
                *gw = sub->addr + 1;
        }
        free(used);
        return r;
}

int net_create(struct daemon *d, json_t *body, struct network **ret,
               struct berr *err) {
        const char *name = json_string_value(json_object_get(body, "Name"));
        if (!name || !*name)
                return berr_setx(err, EINVAL, "network name is required");
        if (!name_valid(name))
                return berr_setx(err, EINVAL,
                                 "invalid network name \"%s\": only "
                                 "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                 name);
        if (net_find(d, name) && !strcmp(net_find(d, name)->name, name))
                return berr_setx(err, EEXIST,
                                 "network with name %s already exists", name);
        if (!strcmp(name, "host") || !strcmp(name, "none") ||
            !strcmp(name, "bridge") || !strcmp(name, "default"))
                return berr_setx(err, EPERM,
                                 "%s is a pre-defined network and cannot be "
                                 "created",
                                 name);
        const char *drv = json_string_value(json_object_get(body, "Driver"));
        if (drv && *drv && strcmp(drv, "bridge"))
                return berr_setx(err, ENOENT, "plugin \"%s\" not found", drv);
        if (json_is_true(json_object_get(body, "EnableIPv6")))
                return berr_setx(err, ENOTSUP,
                                 "IPv6 networks are not supported yet");
        if (json_is_true(json_object_get(body, "ConfigOnly")) ||
            json_string_value(json_object_get(
                    json_object_get(body, "ConfigFrom"), "Network")))
                return berr_setx(err, ENOTSUP,
                                 "config-only networks are not supported");
        if (!d->nl) {
                int r = nl_open(-1, &d->nl, err);
                if (r < 0)
                        return r;
        }
        /* Like docker0, the default bridge exists before any other, so a
         * user network never takes the subnet it would have had. */
        struct network *def = net_find(d, "bridge");
        if (def && def->is_default && !def->up) {
                struct berr e2 = {0};
                net_up(d, def, &e2);
        }
        struct network *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        do
                random_hex(n->id, 32);
        while (net_find(d, n->id) || n->id[0] == '0');
        json_t *opts = json_object_get(body, "Options");
        json_t *labels = json_object_get(body, "Labels");
        n->options =
                json_is_object(opts) ? json_deep_copy(opts) : json_object();
        n->labels =
                json_is_object(labels) ? json_deep_copy(labels) : json_object();
        n->name = strdup(name);
        n->created = now_rfc3339();
        n->internal = json_is_true(json_object_get(body, "Internal"));
        n->attachable = json_is_true(json_object_get(body, "Attachable"));
        const char *br = json_string_value(
                json_object_get(n->options, "com.docker.network.bridge.name"));
        n->ifname = br && *br ? strdup(br) : str_printf("br-%.12s", n->id);
        if (!n->options || !n->labels || !n->name || !n->created ||
            !n->ifname) {
                network_free(n);
                return -ENOMEM;
        }
        int r = 0;
        if (!ifname_valid(n->ifname))
                r = berr_setx(err, EINVAL,
                              "invalid bridge name '%s': 1 to 15 of "
                              "[a-zA-Z0-9_.-], starting with a letter or "
                              "digit",
                              n->ifname);
        for (struct network *o = d->networks; r >= 0 && o; o = o->next)
                if (!strcmp(o->ifname, n->ifname))
                        r = berr_setx(err, EEXIST,
                                      "bridge %s is already used by network "
                                      "%s",
                                      n->ifname, o->name);
        if (r >= 0 && nl_link_index(d->nl, n->ifname) > 0)
                r = berr_setx(err, EEXIST,
                              "an interface named %s already exists on the "
                              "host",
                              n->ifname);
        struct ipv4_net sub;
        uint32_t gw;
        if (r >= 0)
                r = create_subnet(d, body, &sub, &gw, err);
        _cleanup_free_ char *pool = str_printf("%s.json", n->ifname);
        if (r >= 0 && !pool)
                r = -ENOMEM;
        if (r >= 0) {
                /* A pool file left by an earlier network on the same
                 * interface name must not lend this one its addresses. */
                unlinkat(d->net_dirfd, pool, 0);
                r = ipam_open(d->net_dirfd, n->ifname, &sub, gw, &n->pool, err);
        }
        if (r >= 0) {
                network_link(d, n);
                r = net_up(d, n, err);
                if (r >= 0)
                        r = network_save(d, n);
                if (r < 0) {
                        /* Nothing of it stays: no bridge, no pool, no
                         * record, no rule. */
                        struct network **p = &d->networks;
                        while (*p != n)
                                p = &(*p)->next;
                        *p = n->next;
                        struct berr e2 = {0};
                        if (n->up && nl_link_index(d->nl, n->ifname) > 0)
                                nl_link_delete(d->nl, n->ifname, &e2);
                        fw_sync(d, &e2);
                }
        }
        if (r < 0) {
                if (n->pool && pool)
                        unlinkat(d->net_dirfd, pool, 0);
                network_free(n);
                return berr_prefix(err, r, "create network %s", name);
        }
        event_emit(d, "network", "create", n->id,
                   json_pack("{s:s, s:s}", "name", n->name, "type", "bridge"));
        *ret = n;
        return 0;
}

int net_remove(struct daemon *d, struct network *n, struct berr *err) {
        if (n->is_default)
                return berr_setx(err, EPERM,
                                 "%s is a pre-defined network and cannot be "
                                 "removed",
                                 n->name);
        for (struct container *c = d->containers; c; c = c->next)
                for (struct endpoint *e = c->eps; e; e = e->next)
                        if (e->net == n)
                                return berr_setx(
                                        err, EPERM,
                                        "error while removing network: "
                                        "network %s has active endpoints "
                                        "(name:\"%s\" id:\"%.12s\")",
                                        n->name, c->name, c->id);
        struct berr e2 = {0};
        if (d->nl && nl_link_index(d->nl, n->ifname) > 0 &&
            nl_link_delete(d->nl, n->ifname, &e2) < 0)
                return berr_setx(err, EIO,
                                 "error while removing network %s: %s", n->name,
                                 e2.msg);
        _cleanup_free_ char *rel = str_printf(NETWORKS_DIR "/%s.json", n->id);
        _cleanup_free_ char *pool = str_printf("%s.json", n->ifname);
        if (rel)
                unlinkat(d->net_dirfd, rel, 0);
        if (pool)
                unlinkat(d->net_dirfd, pool, 0);
        struct network **p = &d->networks;
        while (*p != n)
                p = &(*p)->next;
        *p = n->next;
        berr_clear(&e2);
        fw_sync(d, &e2);
        event_emit(d, "network", "destroy", n->id,
                   json_pack("{s:s, s:s}", "name", n->name, "type", "bridge"));
        network_free(n);
        return 0;
}

/* ---- a container's networks ---- */

struct network *net_of_mode(struct daemon *d, const char *nm) {
        if (!nm || !strcmp(nm, "none") || !strcmp(nm, "host") ||
            str_startswith(nm, "container:"))
                return NULL;
        return net_find(d, nm);
}

static bool mode_is_private(const char *nm) {
        return nm && (!strcmp(nm, "none") || !strcmp(nm, "host") ||
                      str_startswith(nm, "container:"));
}

/* An EndpointConfig as we keep it: NetworkID, Aliases, IPAMConfig. */
static int endpoint_config(struct network *n, json_t *in, json_t **ret,
                           struct berr *err) {
        json_t *aliases = json_object_get(in, "Aliases");
        json_t *ipam = json_object_get(in, "IPAMConfig");
        const char *want =
                json_string_value(json_object_get(ipam, "IPv4Address"));
        const char *want6 =
                json_string_value(json_object_get(ipam, "IPv6Address"));
        if (want6 && *want6)
                return berr_setx(err, ENOTSUP,
                                 "IPv6 addresses are not supported yet");
        if (n->is_default && want && *want)
                return berr_setx(err, EINVAL,
                                 "user specified IP address is supported on "
                                 "user defined networks only");
        if (n->is_default && json_array_size(aliases))
                return berr_setx(err, EINVAL,
                                 "network-scoped alias is supported only for "
                                 "containers in user defined networks");
        if (want && *want) {
                uint32_t a;
                if (ipv4_parse(want, &a) < 0)
                        return berr_setx(err, EINVAL,
                                         "invalid IPv4 address: %s", want);
                if (n->pool && !ipv4_net_contains(ipam_subnet(n->pool), a)) {
                        char sub[20];
                        ipv4_net_format(ipam_subnet(n->pool), sub);
                        return berr_setx(err, EINVAL,
                                         "invalid endpoint settings: "
                                         "address %s is not in network %s's "
                                         "subnet %s",
                                         want, n->name, sub);
                }
        }
        json_t *al = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(aliases, i,
                           v) if (json_string_value(v) && *json_string_value(v))
                json_array_append(al, v);
        json_t *out =
                json_pack("{s:s, s:o}", "NetworkID", n->id, "Aliases", al);
        if (out && want && *want)
                json_object_set_new(out, "IPAMConfig",
                                    json_pack("{s:s}", "IPv4Address", want));
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

int net_container_config(struct daemon *d, struct container *c,
                         struct berr *err) {
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        json_t *cfg = json_object();
        if (!cfg)
                return -ENOMEM;
        json_t *eps =
                json_object_get(json_object_get(c->create, "NetworkingConfig"),
                                "EndpointsConfig");
        struct network *first = NULL;
        int r = 0;
        if (!mode_is_private(nm)) {
                first = net_find(d, nm);
                /* A daemon without a bridge (--bridge none) runs default
                 * containers with a loopback interface only, as docker. */
                if (!first && strcmp(nm, "default") && strcmp(nm, "bridge"))
                        r = berr_setx(err, ENOENT, "network %s not found", nm);
        }
        if (first) {
                json_t *in = json_object_get(eps, nm);
                if (!in)
                        in = json_object_get(eps, first->name);
                if (!in)
                        in = json_object_get(eps, "default");
                json_t *ep = NULL;
                r = endpoint_config(first, in, &ep, err);
                if (r >= 0)
                        json_object_set_new(cfg, first->name, ep);
        }
        /* Further networks (API 1.44+ allows several at create). */
        const char *k;
        json_t *v;
        json_object_foreach(eps, k, v) {
                if (r < 0 || !strcmp(k, "default") || !strcmp(k, nm) ||
                    (first && !strcmp(k, first->name)))
                        continue;
                if (mode_is_private(nm)) {
                        r = berr_setx(err, EINVAL,
                                      "container sharing network namespace "
                                      "with another container or host cannot "
                                      "be connected to any other network");
                        break;
                }
                struct network *n = net_find(d, k);
                if (!n) {
                        r = berr_setx(err, ENOENT, "network %s not found", k);
                        break;
                }
                json_t *ep = NULL;
                r = endpoint_config(n, v, &ep, err);
                if (r >= 0 && json_object_get(cfg, n->name))
                        json_decref(ep);
                else if (r >= 0)
                        json_object_set_new(cfg, n->name, ep);
        }
        if (r < 0) {
                json_decref(cfg);
                return r;
        }
        json_decref(c->netcfg);
        c->netcfg = cfg;
        return 0;
}

/* The network an entry of netcfg refers to: by id (it may have been
 * renamed... or removed and made again under its name: then it is
 * another network, as docker sees it). */
static struct network *cfg_network(struct daemon *d, const char *name,
                                   json_t *ep) {
        const char *id = json_string_value(json_object_get(ep, "NetworkID"));
        struct network *n = id ? net_find(d, id) : NULL;
        if (n && !strcmp(n->id, id))
                return n;
        return id ? NULL : net_find(d, name);
}

static struct endpoint *endpoint_of(struct container *c,
                                    const struct network *n) {
        for (struct endpoint *e = c->eps; e; e = e->next)
                if (e->net == n)
                        return e;
        return NULL;
}

/* /etc/hosts names the container by each of its addresses, as docker's
 * does.  Rewritten in place: the file is bind-mounted into the
 * container, and a rename would leave the mount on the old inode. */
static void hosts_refresh(struct daemon *d, struct container *c) {
        _cleanup_close_ int dfd =
                openat(d->ctr_dirfd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *old = NULL, *hn = NULL;
        if (dfd < 0 || read_file_at(dfd, "hosts", 1 << 20, &old, NULL) < 0 ||
            read_file_at(dfd, "hostname", 4096, &hn, NULL) < 0)
                return;
        hn[strcspn(hn, "\n")] = '\0';
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        if (!f)
                return;
        /* Drop the entries an earlier start wrote. */
        for (char *save = NULL, *line = strtok_r(old, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                const char *tab = strrchr(line, '\t');
                if (tab && !strcmp(tab + 1, hn) &&
                    strncmp(line, "127.", 4) != 0)
                        continue;
                fprintf(f, "%s\n", line);
        }
        for (struct endpoint *e = c->eps; e; e = e->next) {
                char ip[16];
                ipv4_format(e->ip, ip);
                fprintf(f, "%s\t%s\n", ip, hn);
        }
        fclose(f);
        if (buf)
                write_file_at(dfd, "hosts", buf, O_TRUNC);
        free(buf);
}

/* The lowest interface number the container does not use. */
static unsigned int next_if_index(const struct container *c) {
        for (unsigned int i = 0;; i++) {
                char name[16];
                snprintf(name, sizeof(name), "eth%u", i);
                bool used = false;
                for (const struct endpoint *e = c->eps; e; e = e->next)
                        used |= !strcmp(e->ifname, name);
                if (!used)
                        return i;
        }
}

/* Leave `e`.  `unlink`: delete the host's end of the pair now.  When the
 * container's namespace is going away with its last process, the kernel
 * removes the pair itself, from a work queue that batches such
 * deletions: doing it here costs ~12 ms of the daemon's loop per
 * container (the kernel waits for an RCU grace period), which was
 * nearly all that the bridge added to `run --rm` (56 -> 31 ms). */
static void endpoint_delete(struct daemon *d, struct container *c,
                            struct endpoint *e, bool unlink) {
        struct berr err = {0};
        if (unlink && d->nl && nl_link_index(d->nl, e->host_if) > 0)
                nl_link_delete(d->nl, e->host_if, &err);
        berr_clear(&err);
        if (e->net->pool)
                ipam_release(e->net->pool, c->id, &err);
        free(e);
}

/* Does the namespace of `c` outlive it: another running container joined
 * it (--network container:C)? */
static bool netns_shared(struct daemon *d, const struct container *c) {
        for (struct container *o = d->containers; o; o = o->next) {
                const char *nm = json_string_value(
                        json_object_get(o->hostcfg, "NetworkMode"));
                if (o == c || !str_startswith(nm, "container:") ||
                    (o->status != CTR_RUNNING && o->status != CTR_PAUSED))
                        continue;
                struct berr e = {0};
                if (ctr_find(d, nm + 10, &e) == c)
                        return true;
        }
        return false;
}

/* A container reaching its own published port through the host: with
 * br_netfilter the packet is bridged back out of the port it came in by. */
static int hairpin(const char *port, struct berr *err) {
        char p[80];
        snprintf(p, sizeof(p), "/sys/class/net/%s/brport/hairpin_mode", port);
        return write_sysctl(p, err);
}

static bool has_gateway(const struct container *c) {
        for (const struct endpoint *e = c->eps; e; e = e->next)
                if (e->gateway)
                        return true;
        return false;
}

/* Join `n`: an address, a veth pair whose inner end is renamed ethN in
 * the container's namespace `nsfd` (configured through `in`, a netlink
 * socket there), the default route if the container has none yet. */
static int endpoint_add(struct daemon *d, struct container *c,
                        struct network *n, json_t *cfg, int nsfd, struct nl *in,
                        struct berr *err) {
        int r = net_up(d, n, err);
        if (r < 0)
                return r;
        const char *want = json_string_value(json_object_get(
                json_object_get(cfg, "IPAMConfig"), "IPv4Address"));
        uint32_t addr = 0, want_addr = 0;
        if (want && ipv4_parse(want, &want_addr) < 0)
                return berr_setx(err, EINVAL, "invalid IPv4 address: %s", want);
        /* An address left from a start the daemon did not see end. */
        if (ipam_address_of(n->pool, c->id, &addr) >= 0 && want_addr &&
            addr != want_addr) {
                ipam_release(n->pool, c->id, err);
                addr = 0;
        }
        if (!addr) {
                r = ipam_allocate(n->pool, c->id, want_addr, &addr, err);
                if (r < 0)
                        return berr_prefix(err, r,
                                           "allocate an address on network "
                                           "%s",
                                           n->name);
        }
        struct endpoint *e = calloc(1, sizeof(*e));
        if (!e) {
                ipam_release(n->pool, c->id, err);
                return -ENOMEM;
        }
        e->net = n;
        e->ip = addr;
        /* docker's: locally administered 02:42, then the address; unique
         * on the bridge as the address is.  The bridge table drops
         * frames from this port claiming any other. */
        e->mac[0] = 0x02;
        e->mac[1] = 0x42;
        for (int i = 0; i < 4; i++)
                e->mac[2 + i] = (uint8_t) (addr >> (24 - 8 * i));
        e->has_mac = true;
        unsigned int idx = next_if_index(c);
        char peer[16];
        snprintf(e->ifname, sizeof(e->ifname), "eth%u", idx);
        snprintf(e->host_if, sizeof(e->host_if), "vb%.10s%x", c->id, idx);
        snprintf(peer, sizeof(peer), "vp%.10s%x", c->id, idx);
        random_hex(e->id, 32);
        /* A host end left from an earlier start of this container (for a
         * daemon that crashed in between). */
        struct berr e2 = {0};
        if (nl_link_index(d->nl, e->host_if) > 0)
                nl_link_delete(d->nl, e->host_if, &e2);
        r = nl_veth_create(d->nl, e->host_if, peer, nsfd, e->mac, err);
        if (r >= 0)
                r = nl_link_set_master(d->nl, e->host_if, n->ifname, err);
        if (r >= 0)
                r = hairpin(e->host_if, err);
        if (r >= 0)
                r = nl_link_set_up(d->nl, e->host_if, err);
        if (r >= 0)
                r = nl_link_rename(in, peer, e->ifname, err);
        if (r >= 0)
                r = nl_addr_add(in, e->ifname, addr,
                                ipam_subnet(n->pool)->prefix, err);
        struct endpoint **p = &c->eps;
        while (*p)
                p = &(*p)->next;
        *p = e;
        /* A running container (connect) gets the port's rules before its
         * end is up: it could send with any source meanwhile.  A starting
         * one's program waits; net_attach writes them once. */
        if (r >= 0 && (c->status == CTR_RUNNING || c->status == CTR_PAUSED))
                r = fw_sync(d, err);
        if (r >= 0)
                r = nl_link_set_up(in, e->ifname, err);
        /* An internal network has no way out: no default route. */
        if (r >= 0 && !n->internal && !has_gateway(c)) {
                r = nl_route_add_default(in, ipam_gateway(n->pool), err);
                e->gateway = r >= 0;
        }
        if (r < 0) {
                *p = NULL;
                endpoint_delete(d, c, e, true);
                return berr_prefix(err, r, "connect container %.12s to %s",
                                   c->id, n->name);
        }
        return 0;
}

static int open_netns(const struct container *c, struct berr *err) {
        char nspath[64];
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int) c->pid);
        int fd = open(nspath, O_RDONLY | O_CLOEXEC);
        return fd >= 0 ? fd : berr_set(err, errno, "open '%s'", nspath);
}

/* Published ports, the rules that forward them, and the rules that hold
 * the container's endpoints to their own addresses (without which their
 * bridge ports send nothing). */
static int ports_apply(struct daemon *d, struct container *c,
                       struct berr *err) {
        int r = 0;
        if (!c->n_ports && ports_target(c))
                r = ports_publish(d, c, err);
        if (r >= 0)
                r = fw_sync(d, err);
        return r;
}

int net_attach(struct daemon *d, struct container *c, struct berr *err) {
        if (c->pid <= 0 || !json_object_size(c->netcfg))
                return 0;
        _cleanup_close_ int nsfd = open_netns(c, err);
        if (nsfd < 0)
                return nsfd;
        struct nl *in = NULL;
        int r = 0;
        if (!d->nl)
                r = nl_open(-1, &d->nl, err);
        if (r >= 0)
                r = nl_open(nsfd, &in, err);
        /* lo first: the DNS server binds 127.0.0.11 on it. */
        if (r >= 0)
                r = nl_link_set_up(in, "lo", err);
        const char *k;
        json_t *v;
        json_object_foreach(c->netcfg, k, v) {
                if (r < 0)
                        break;
                struct network *n = cfg_network(d, k, v);
                if (!n)
                        r = berr_setx(err, ENOENT, "network %s not found", k);
                else
                        r = endpoint_add(d, c, n, v, nsfd, in, err);
        }
        nl_close(in);
        if (r >= 0)
                r = ports_apply(d, c, err);
        if (r >= 0)
                r = resolver_start(d, c, nsfd, err);
        if (r < 0) {
                net_detach(d, c);
                return r;
        }
        hosts_refresh(d, c);
        return 0;
}

void net_detach(struct daemon *d, struct container *c) {
        /* First: its socket would keep the namespace alive. */
        resolver_stop(d, c);
        /* A container that still has processes (a start that failed
         * half-way) or shares its namespace keeps its veth pair until we
         * delete it; otherwise the namespace takes it along. */
        bool unlink = c->pid > 0 && kill(c->pid, 0) == 0;
        unlink |= netns_shared(d, c);
        /* Without a pid namespace of its own, init's end does not end the
         * container's other processes. */
        const char *pm =
                json_string_value(json_object_get(c->hostcfg, "PidMode"));
        unlink |= pm && !strcmp(pm, "host");
        while (c->eps) {
                struct endpoint *e = c->eps;
                c->eps = e->next;
                endpoint_delete(d, c, e, unlink);
        }
        bool had_rules = c->n_ports > 0 || unlink;
        ports_release(c);
        struct berr e = {0};
        /* A veth pair the namespace takes along takes its name too; one
         * still there must lose its port's rules now. */
        if (had_rules)
                fw_sync(d, &e);
}

void net_mac_format(const struct endpoint *e, char out[18]) {
        const uint8_t *m = e->mac;
        if (!e->has_mac)
                *out = 0;
        else
                snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                         m[2], m[3], m[4], m[5]);
}

static bool mac_parse(const char *s, uint8_t mac[6]) {
        unsigned int b[6];
        char end;
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
                         &b[3], &b[4], &b[5], &end) != 6)
                return false;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) b[i];
        return true;
}

json_t *net_endpoints_json(const struct container *c) {
        json_t *a = json_array();
        for (const struct endpoint *e = c->eps; e; e = e->next) {
                char ip[16], mac[18];
                ipv4_format(e->ip, ip);
                net_mac_format(e, mac);
                json_array_append_new(
                        a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
                                     "NetworkID", e->net->id, "IP", ip, "If",
                                     e->ifname, "HostIf", e->host_if, "Id",
                                     e->id, "Gateway", e->gateway, "Mac", mac));
        }
        return a;
}

void net_restore(struct daemon *d, struct container *c) {
        size_t i;
        json_t *v;
        json_array_foreach(c->eps_saved, i, v) {
                struct berr e = {0};
                const char *id =
                        json_string_value(json_object_get(v, "NetworkID"));
                struct network *n = id ? net_find(d, id) : NULL;
                uint32_t addr, held;
                const char *ip = json_string_value(json_object_get(v, "IP"));
                const char *ifn = json_string_value(json_object_get(v, "If"));
                const char *hif =
                        json_string_value(json_object_get(v, "HostIf"));
                if (!n || net_up(d, n, &e) < 0 || !ip ||
                    ipv4_parse(ip, &addr) < 0 || !ifn || strlen(ifn) > 15 ||
                    !hif || strlen(hif) > 15 ||
                    ipam_address_of(n->pool, c->id, &held) < 0 || held != addr)
                        continue;
                struct endpoint *ep = calloc(1, sizeof(*ep));
                if (!ep)
                        break;
                ep->net = n;
                ep->ip = addr;
                snprintf(ep->ifname, sizeof(ep->ifname), "%s", ifn);
                snprintf(ep->host_if, sizeof(ep->host_if), "%s", hif);
                snprintf(ep->id, sizeof(ep->id), "%s",
                         json_string_value(json_object_get(v, "Id")) ?: "");
                ep->gateway = json_is_true(json_object_get(v, "Gateway"));
                /* Records from before the MAC was kept: the container's
                 * end has a random one, so its port stays unchecked. */
                ep->has_mac = mac_parse(
                        json_string_value(json_object_get(v, "Mac")), ep->mac);
                struct endpoint **p = &c->eps;
                while (*p)
                        p = &(*p)->next;
                *p = ep;
        }
        json_decref(c->eps_saved);
        c->eps_saved = NULL;
        if (!c->eps)
                return;
        /* The old daemon's sockets held the published ports: hold them
         * again, put the rules back; and serve the names again. */
        struct berr e = {0};
        if (ports_apply(d, c, &e) < 0)
                fprintf(stderr,
                        "berthd: container %.12s: %s (its ports stay "
                        "unpublished)\n",
                        c->id, e.msg);
        berr_clear(&e);
        int nsfd = open_netns(c, &e);
        if (nsfd >= 0 && resolver_start(d, c, nsfd, &e) < 0)
                fprintf(stderr, "berthd: container %.12s: %s\n", c->id, e.msg);
        if (nsfd >= 0)
                close(nsfd);
}

void net_reconcile(struct daemon *d) {
        for (struct network *n = d->networks; n; n = n->next) {
                /* The default bridge only when it was ever used. */
                _cleanup_free_ char *file = str_printf("%s.json", n->ifname);
                struct berr e = {0};
                if (!file || faccessat(d->net_dirfd, file, F_OK, 0) < 0 ||
                    net_up(d, n, &e) < 0)
                        continue;
                char **owners = NULL;
                if (ipam_owners(n->pool, &owners) < 0)
                        continue;
                for (size_t i = 0; owners[i]; i++) {
                        struct container *c = ctr_by_id(d, owners[i]);
                        if (c && endpoint_of(c, n))
                                continue;
                        /* Held by a container that is gone or stopped (a
                         * crash between its exit and our bookkeeping):
                         * give it back. */
                        berr_clear(&e);
                        ipam_release(n->pool, owners[i], &e);
                }
                strv_free(owners);
        }
}

/* ---- connect / disconnect ---- */

int net_connect(struct daemon *d, struct container *c, struct network *n,
                json_t *epcfg, struct berr *err) {
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        if (mode_is_private(nm))
                return berr_setx(err, EINVAL,
                                 "container sharing network namespace with "
                                 "another container or host cannot be "
                                 "connected to any other network");
        if (json_object_get(c->netcfg, n->name))
                return berr_setx(err, EPERM,
                                 "endpoint with name %s already exists in "
                                 "network %s",
                                 c->name, n->name);
        json_t *ep = NULL;
        int r = endpoint_config(n, epcfg, &ep, err);
        if (r < 0)
                return r;
        bool running = c->status == CTR_RUNNING || c->status == CTR_PAUSED;
        if (running && c->pid > 0) {
                _cleanup_close_ int nsfd = open_netns(c, err);
                struct nl *in = NULL;
                r = nsfd;
                if (r >= 0 && !d->nl)
                        r = nl_open(-1, &d->nl, err);
                if (r >= 0)
                        r = nl_open(nsfd, &in, err);
                if (r >= 0)
                        r = endpoint_add(d, c, n, ep, nsfd, in, err);
                nl_close(in);
                if (r < 0) {
                        json_decref(ep);
                        return r;
                }
                json_object_set_new(c->netcfg, n->name, ep);
                /* A container with no way in before gets its ports now;
                 * one joining a user network gets its names (resolv.conf
                 * rewritten in place, the server started). */
                struct berr e2 = {0};
                if (ports_apply(d, c, &e2) < 0)
                        fprintf(stderr, "berthd: container %.12s: %s\n", c->id,
                                e2.msg);
                berr_clear(&e2);
                if (resolver_update(d, c, nsfd, &e2) < 0)
                        fprintf(stderr, "berthd: container %.12s: %s\n", c->id,
                                e2.msg);
                hosts_refresh(d, c);
        } else {
                json_object_set_new(c->netcfg, n->name, ep);
        }
        ctr_save(d, c);
        event_emit(d, "network", "connect", n->id,
                   json_pack("{s:s, s:s, s:s}", "container", c->id, "name",
                             n->name, "type", "bridge"));
        return 0;
}

/* The endpoint with the default route left: the next network with a way
 * out gets it, as docker does. */
static void regateway(struct daemon *d, struct container *c) {
        if (has_gateway(c) || c->pid <= 0)
                return;
        for (struct endpoint *e = c->eps; e; e = e->next) {
                if (e->net->internal)
                        continue;
                struct berr err = {0};
                int nsfd = open_netns(c, &err);
                struct nl *in = NULL;
                if (nsfd >= 0 && nl_open(nsfd, &in, &err) >= 0 &&
                    nl_route_add_default(in, ipam_gateway(e->net->pool),
                                         &err) >= 0)
                        e->gateway = true;
                nl_close(in);
                if (nsfd >= 0)
                        close(nsfd);
                return;
        }
}

int net_disconnect(struct daemon *d, struct container *c, struct network *n,
                   bool force, struct berr *err) {
        (void) force;
        const char *key = NULL, *k;
        json_t *v;
        json_object_foreach(c->netcfg, k, v) if (cfg_network(d, k, v) == n)
                key = k;
        if (!key)
                return berr_setx(err, EINVAL,
                                 "container %s is not connected to network "
                                 "%s",
                                 c->name, n->name);
        struct endpoint *e = endpoint_of(c, n);
        if (e) {
                struct endpoint **p = &c->eps;
                while (*p != e)
                        p = &(*p)->next;
                *p = e->next;
                endpoint_delete(d, c, e, true);
                regateway(d, c);
                /* The published ports follow the address they forward to;
                 * the endpoint's port loses its rules. */
                if (c->n_ports && !ports_target(c))
                        ports_release(c);
                struct berr e2 = {0};
                fw_sync(d, &e2);
                hosts_refresh(d, c);
        }
        json_object_del(c->netcfg, key);
        if (c->dns) {
                struct berr e2 = {0};
                resolver_update(d, c, -1, &e2);
        }
        ctr_save(d, c);
        event_emit(d, "network", "disconnect", n->id,
                   json_pack("{s:s, s:s, s:s}", "container", c->id, "name",
                             n->name, "type", "bridge"));
        return 0;
}

/* ---- inspect ---- */

json_t *net_settings_json(struct daemon *d, struct container *c) {
        json_t *nets = json_object();
        char ip[16] = "", gw[16] = "", eid[65] = "", mac[18] = "";
        int prefix = 0;
        const char *k;
        json_t *v;
        json_object_foreach(c->netcfg, k, v) {
                struct network *n = cfg_network(d, k, v);
                struct endpoint *e = n ? endpoint_of(c, n) : NULL;
                char eip[16] = "", egw[16] = "", sub[20], emac[18] = "";
                int ep = 0;
                if (e) {
                        ipv4_format(e->ip, eip);
                        net_ipam_config(n, sub, egw, &ep);
                        net_mac_format(e, emac);
                }
                json_t *dns = json_null();
                if (n && net_has_dns(n)) {
                        dns = json_array();
                        json_array_append_new(dns, json_string(c->name));
                        json_array_append_new(dns, json_stringn(c->id, 12));
                        size_t i;
                        json_t *a;
                        json_array_foreach(json_object_get(v, "Aliases"), i, a)
                                json_array_append(dns, a);
                }
                json_t *aliases = json_object_get(v, "Aliases");
                json_object_set_new(
                        nets, k,
                        json_pack("{s:O, s:n, s:O, s:s, s:n, s:i, s:s, s:s,"
                                  " s:s, s:s, s:i, s:s, s:s, s:i, s:o}",
                                  "IPAMConfig",
                                  json_object_get(v, "IPAMConfig")
                                          ?: json_null(),
                                  "Links", "Aliases",
                                  json_array_size(aliases) ? aliases
                                                           : json_null(),
                                  "MacAddress", emac, "DriverOpts",
                                  "GwPriority", 0, "NetworkID", n ? n->id : "",
                                  "EndpointID", e ? e->id : "", "Gateway", egw,
                                  "IPAddress", eip, "IPPrefixLen", ep,
                                  "IPv6Gateway", "", "GlobalIPv6Address", "",
                                  "GlobalIPv6PrefixLen", 0, "DNSNames", dns));
                /* The top-level fields are the default bridge's only. */
                if (e && n->is_default) {
                        memcpy(ip, eip, sizeof(ip));
                        memcpy(gw, egw, sizeof(gw));
                        memcpy(eid, e->id, sizeof(eid));
                        memcpy(mac, emac, sizeof(mac));
                        prefix = ep;
                }
        }
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        if (nm && (!strcmp(nm, "host") || !strcmp(nm, "none"))) {
                char id[65];
                net_builtin_id(nm, id);
                json_object_set_new(
                        nets, nm,
                        json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:s,"
                                  " s:i, s:s, s:s, s:i, s:n}",
                                  "IPAMConfig", "Links", "Aliases",
                                  "MacAddress", "", "NetworkID", id,
                                  "EndpointID", "", "Gateway", "", "IPAddress",
                                  "", "IPPrefixLen", 0, "IPv6Gateway", "",
                                  "GlobalIPv6Address", "",
                                  "GlobalIPv6PrefixLen", 0, "DNSNames"));
        }
        return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:i, s:s,"
                         " s:o}",
                         "Bridge", "", "SandboxID", "", "SandboxKey", "",
                         "HairpinMode", false, "EndpointID", eid, "Gateway", gw,
                         "IPAddress", ip, "IPPrefixLen", prefix, "MacAddress",
                         mac, "Networks", nets);
}
