/* /networks/... of the Docker Engine API: the networks berth has today
 * (the default bridge, host, none), over network.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "http.h"
#include "util.h"

/* A stable id per network name (docker's are random; ours must not
 * change across restarts since nothing else is stored for them). */
static void network_id(const char *name, char out[65]) {
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

static json_t *network_json(struct daemon *d, const char *name,
                            const char *driver, bool containers) {
        char id[65];
        network_id(name, id);
        json_t *cfg = json_array();
        json_t *opts = json_object();
        char sub[20], gw[16];
        int prefix = 0;
        bool bridge = !strcmp(driver, "bridge") &&
                      net_bridge_config(d, sub, gw, &prefix) >= 0;
        if (bridge) {
                json_array_append_new(cfg, json_pack("{s:s, s:s}", "Subnet",
                                                     sub, "Gateway", gw));
                json_object_set_new(opts, "com.docker.network.bridge.name",
                                    json_string(d->bridge_name));
                json_object_set_new(opts,
                                    "com.docker.network.bridge.default_bridge",
                                    json_string("true"));
        }
        json_t *ctrs = json_object();
        for (struct container *c = d->containers; containers && c;
             c = c->next) {
                const char *nm = json_string_value(
                        json_object_get(c->hostcfg, "NetworkMode"));
                bool here = !strcmp(driver, "bridge")
                                    ? c->ip != 0
                                    : nm && !strcmp(nm, name) &&
                                              (c->status == CTR_RUNNING ||
                                               c->status == CTR_PAUSED);
                if (!here)
                        continue;
                char ip[16] = "", v4[24] = "";
                if (c->ip && bridge) {
                        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", c->ip >> 24,
                                 c->ip >> 16 & 255, c->ip >> 8 & 255,
                                 c->ip & 255);
                        snprintf(v4, sizeof(v4), "%s/%d", ip, prefix);
                }
                json_object_set_new(ctrs, c->id,
                                    json_pack("{s:s, s:s, s:s, s:s, s:s}",
                                              "Name", c->name, "EndpointID", "",
                                              "MacAddress", "", "IPv4Address",
                                              v4, "IPv6Address", ""));
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o},"
                         " s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, s:{}}",
                         "Name", name, "Id", id, "Created",
                         "0001-01-01T00:00:00Z", "Scope", "local", "Driver",
                         driver, "EnableIPv6", false, "IPAM", "Driver",
                         "default", "Options", "Config", cfg, "Internal", false,
                         "Attachable", false, "Ingress", false, "ConfigFrom",
                         "Network", "", "ConfigOnly", false, "Containers", ctrs,
                         "Options", opts, "Labels");
}

static void networks_each(struct daemon *d, json_t *out, bool containers) {
        char sub[20], gw[16];
        int prefix;
        if (net_bridge_config(d, sub, gw, &prefix) >= 0)
                json_array_append_new(
                        out, network_json(d, "bridge", "bridge", containers));
        json_array_append_new(out, network_json(d, "host", "host", containers));
        json_array_append_new(out, network_json(d, "none", "null", containers));
}

static json_t *net_list_json(struct daemon *d) {
        json_t *out = json_array();
        networks_each(d, out, false);
        return out;
}

static json_t *net_inspect_json(struct daemon *d, const char *ref) {
        json_t *all = json_array();
        networks_each(d, all, true);
        json_t *found = NULL;
        size_t i;
        json_t *n;
        size_t rl = strlen(ref);
        json_array_foreach(all, i, n) {
                const char *name =
                        json_string_value(json_object_get(n, "Name"));
                const char *id = json_string_value(json_object_get(n, "Id"));
                if (!strcmp(name, ref) ||
                    (rl >= 1 && id && !strncmp(id, ref, rl))) {
                        found = json_incref(n);
                        break;
                }
        }
        json_decref(all);
        return found;
}

void api_networks(struct daemon *d, struct http_req *r, const char *rest) {
        const char *m = http_method(r);
        const char *ref = rest[0] == '/' ? rest + 1 : rest;
        if (!*rest && !strcmp(m, "GET")) {
                /* User networks come next (issue 5). */
                http_reply_json(r, 200, net_list_json(d));
        } else if (!strcmp(ref, "create") && !strcmp(m, "POST")) {
                http_reply_error(r, 501,
                                 "user-defined networks are not supported "
                                 "yet: use the default bridge, host, none or "
                                 "container:NAME");
        } else if (*ref && !strcmp(m, "DELETE")) {
                json_t *n = net_inspect_json(d, ref);
                if (n)
                        http_reply_error(
                                r, 403,
                                "%s is a pre-defined network and "
                                "cannot be removed",
                                json_string_value(json_object_get(n, "Name")));
                else
                        http_reply_error(r, 404, "network %s not found", ref);
                json_decref(n);
        } else if (*ref && !strcmp(m, "GET")) {
                json_t *n = net_inspect_json(d, ref);
                if (n)
                        http_reply_json(r, 200, n);
                else
                        http_reply_error(r, 404, "network %s not found", ref);
        } else {
                http_reply_error(r, 404, "page not found");
        }
}
