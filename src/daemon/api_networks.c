/* /networks/... of the Docker Engine API over network.c: the default
 * bridge, user bridge networks, and the host and none pseudo-networks. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "ipam.h"
#include "util.h"

/* The "Containers" of a network: its running containers' endpoints. */
static json_t *members(struct daemon *d, const struct network *n,
                       const char *pseudo) {
        json_t *out = json_object();
        for (struct container *c = d->containers; c; c = c->next) {
                if (pseudo) {
                        const char *nm = json_string_value(
                                json_object_get(c->hostcfg, "NetworkMode"));
                        if (nm && !strcmp(nm, pseudo) &&
                            (c->status == CTR_RUNNING ||
                             c->status == CTR_PAUSED))
                                json_object_set_new(
                                        out, c->id,
                                        json_pack("{s:s, s:s, s:s, s:s, s:s}",
                                                  "Name", c->name, "EndpointID",
                                                  "", "MacAddress", "",
                                                  "IPv4Address", "",
                                                  "IPv6Address", ""));
                        continue;
                }
                for (struct endpoint *e = c->eps; e; e = e->next) {
                        if (e->net != n)
                                continue;
                        char ip[16], sub[20], gw[16], v4[24], mac[18];
                        int prefix;
                        ipv4_format(e->ip, ip);
                        net_mac_format(e, mac);
                        net_ipam_config(n, sub, gw, &prefix);
                        snprintf(v4, sizeof(v4), "%s/%d", ip, prefix);
                        json_object_set_new(
                                out, c->id,
                                json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
                                          c->name, "EndpointID", e->id,
                                          "MacAddress", mac, "IPv4Address", v4,
                                          "IPv6Address", ""));
                }
        }
        return out;
}

static json_t *network_json(struct daemon *d, struct network *n,
                            const char *pseudo, bool containers) {
        char pid[65];
        const char *name = n ? n->name : pseudo;
        const char *id = n ? n->id : pid;
        if (!n)
                net_builtin_id(pseudo, pid);
        json_t *cfg = json_array();
        if (n) {
                /* The default bridge is set up on first use: inspect is
                 * one. */
                struct berr e = {0};
                if (!n->up)
                        net_up(d, n, &e);
                char sub[20], gw[16];
                int prefix;
                net_ipam_config(n, sub, gw, &prefix);
                if (*sub)
                        json_array_append_new(cfg,
                                              json_pack("{s:s, s:s}", "Subnet",
                                                        sub, "Gateway", gw));
        }
        const char *driver = n                         ? "bridge"
                             : !strcmp(pseudo, "none") ? "null"
                                                       : "host";
        return json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:{s:s, s:n, s:o},"
                " s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, s:o}",
                "Name", name, "Id", id, "Created",
                n ? n->created : "0001-01-01T00:00:00Z", "Scope", "local",
                "Driver", driver, "EnableIPv4", true, "EnableIPv6", false,
                "IPAM", "Driver", "default", "Options", "Config", cfg,
                "Internal", n && n->internal, "Attachable", n && n->attachable,
                "Ingress", false, "ConfigFrom", "Network", "", "ConfigOnly",
                false, "Containers",
                containers ? members(d, n, pseudo) : json_object(), "Options",
                n ? json_incref(n->options) : json_object(), "Labels",
                n ? json_incref(n->labels) : json_object());
}

/* ---- filters: name, id, driver, label, type, dangling ---- */

/* A filter's values come as {"v":true} or ["v"]. */
static size_t json_size_any(json_t *f) {
        return json_is_object(f) ? json_object_size(f) : json_array_size(f);
}

static bool any_of(json_t *f, bool (*match)(const char *v, void *ud),
                   void *ud) {
        const char *k;
        json_t *v;
        size_t i;
        if (json_is_object(f)) {
                json_object_foreach(f, k, v) if (match(k, ud)) return true;
        } else {
                json_array_foreach(f, i, v) if (json_string_value(v) &&
                                                match(json_string_value(v),
                                                      ud)) return true;
        }
        return false;
}

static bool m_substr(const char *v, void *ud) {
        return strstr(json_string_value(json_object_get(ud, "Name")), v);
}

static bool m_id(const char *v, void *ud) {
        return !strncmp(json_string_value(json_object_get(ud, "Id")), v,
                        strlen(v));
}

static bool m_driver(const char *v, void *ud) {
        return !strcmp(json_string_value(json_object_get(ud, "Driver")), v);
}

static bool m_label(const char *v, void *ud) {
        const char *eq = strchr(v, '=');
        _cleanup_free_ char *key =
                eq ? strndup(v, (size_t) (eq - v)) : strdup(v);
        const char *have = key ? json_string_value(json_object_get(
                                         json_object_get(ud, "Labels"), key))
                               : NULL;
        return have && (!eq || !strcmp(have, eq + 1));
}

struct type_ctx {
        bool builtin;
};

static bool m_type(const char *v, void *ud) {
        struct type_ctx *t = ud;
        return !strcmp(v, t->builtin ? "builtin" : "custom");
}

static bool m_bool(const char *v, void *ud) {
        bool want = !strcmp(v, "true") || !strcmp(v, "1");
        return want == *(bool *) ud;
}

static bool all_labels(json_t *f, json_t *net) {
        const char *k;
        json_t *v;
        size_t i;
        if (json_is_object(f)) {
                json_object_foreach(f, k, v) if (!m_label(k, net)) return false;
        } else {
                json_array_foreach(f, i, v) if (!json_string_value(v) ||
                                                !m_label(json_string_value(v),
                                                         net)) return false;
        }
        return true;
}

static int filters_check(json_t *filters, struct berr *err) {
        static const char *const known[] = {"name",  "id",    "driver",
                                            "label", "type",  "dangling",
                                            "scope", "until", NULL};
        const char *k;
        json_t *v;
        json_object_foreach(filters, k, v) {
                bool ok = false;
                for (size_t i = 0; known[i]; i++)
                        ok |= !strcmp(known[i], k);
                if (!ok)
                        return berr_setx(err, EINVAL, "invalid filter '%s'", k);
        }
        return 0;
}

static bool filter_ok(struct daemon *d, json_t *filters, json_t *net,
                      struct network *n) {
        json_t *f;
        if ((f = json_object_get(filters, "name")) && json_size_any(f) &&
            !any_of(f, m_substr, net))
                return false;
        if ((f = json_object_get(filters, "id")) && json_size_any(f) &&
            !any_of(f, m_id, net))
                return false;
        if ((f = json_object_get(filters, "driver")) && json_size_any(f) &&
            !any_of(f, m_driver, net))
                return false;
        if ((f = json_object_get(filters, "label")) && !all_labels(f, net))
                return false;
        struct type_ctx t = {.builtin = !n || n->is_default};
        if ((f = json_object_get(filters, "type")) && json_size_any(f) &&
            !any_of(f, m_type, &t))
                return false;
        bool dangling = n && !n->is_default && !net_in_use(d, n);
        if ((f = json_object_get(filters, "dangling")) && json_size_any(f) &&
            !any_of(f, m_bool, &dangling))
                return false;
        return true;
}

static json_t *net_list(struct daemon *d, json_t *filters, bool containers) {
        json_t *out = json_array();
        for (struct network *n = d->networks; n; n = n->next) {
                json_t *j = network_json(d, n, NULL, containers);
                if (filter_ok(d, filters, j, n))
                        json_array_append_new(out, j);
                else
                        json_decref(j);
        }
        static const char *const pseudo[] = {"host", "none"};
        for (size_t i = 0; i < 2; i++) {
                json_t *j = network_json(d, NULL, pseudo[i], containers);
                if (filter_ok(d, filters, j, NULL))
                        json_array_append_new(out, j);
                else
                        json_decref(j);
        }
        return out;
}

static const char *pseudo_of(const char *ref) {
        char id[65];
        for (const char *p = "host"; p; p = strcmp(p, "host") ? NULL : "none") {
                net_builtin_id(p, id);
                if (!strcmp(ref, p) ||
                    (strlen(ref) >= 1 && !strncmp(id, ref, strlen(ref))))
                        return p;
        }
        return NULL;
}

static void reply_berr(struct http_req *r, int code, struct berr *e) {
        http_reply_errno(r, code, berr_message(e, code));
}

static struct container *body_container(struct daemon *d, struct http_req *r,
                                        json_t *body) {
        const char *ref = json_string_value(json_object_get(body, "Container"));
        struct berr e = {0};
        struct container *c = ctr_find(d, ref ? ref : "", &e);
        if (!c)
                http_reply_error(r, 404, "No such container: %s",
                                 ref ? ref : "");
        return c;
}

static void on_prune(struct daemon *d, struct http_req *r, json_t *filters) {
        json_t *gone = json_array();
        int64_t until = -1;
        json_t *u = json_object_get(filters, "until");
        const char *us = json_is_object(u)
                                 ? json_object_iter_key(json_object_iter(u))
                                 : json_string_value(json_array_get(u, 0));
        if (us) {
                until = rfc3339_to_unix(us);
                if (until < 0) {
                        uint64_t v;
                        if (parse_u64(us, &v) < 0) {
                                http_reply_error(r, 400,
                                                 "invalid filter 'until=%s'",
                                                 us);
                                json_decref(gone);
                                return;
                        }
                        until = (int64_t) v;
                }
        }
        for (struct network *n = d->networks, *next; n; n = next) {
                next = n->next;
                if (n->is_default || net_in_use(d, n))
                        continue;
                json_t *j = network_json(d, n, NULL, false);
                bool ok = all_labels(json_object_get(filters, "label"), j) &&
                          (until < 0 || rfc3339_to_unix(n->created) < until);
                json_decref(j);
                struct berr e = {0};
                _cleanup_free_ char *name = strdup(n->name);
                if (ok && name && net_remove(d, n, &e) >= 0)
                        json_array_append_new(gone, json_string(name));
        }
        http_reply_json(r, 200, json_pack("{s:o}", "NetworksDeleted", gone));
}

void api_networks(struct daemon *d, struct http_req *r, const char *rest) {
        const char *m = http_method(r);
        const char *ref = rest[0] == '/' ? rest + 1 : rest;
        struct berr e = {0};
        json_t *filters = NULL;
        const char *fs = http_query(r, "filters");
        if (fs && *fs) {
                filters = json_loads(fs, 0, NULL);
                if (!json_is_object(filters) ||
                    filters_check(filters, &e) < 0) {
                        http_reply_error(r, 400, "%s",
                                         e.msg[0] ? e.msg : "invalid filters");
                        json_decref(filters);
                        return;
                }
        }
        _cleanup_free_ char *id = strdup(ref);
        char *action = id ? strchr(id, '/') : NULL;
        if (action)
                *action++ = '\0';
        if (!*rest && !strcmp(m, "GET")) {
                http_reply_json(r, 200, net_list(d, filters, false));
        } else if (!strcmp(ref, "create") && !strcmp(m, "POST")) {
                json_t *body = http_body_json(r, false);
                struct network *n = NULL;
                int rr = body ? net_create(d, body, &n, &e) : 0;
                if (body && rr < 0)
                        reply_berr(r, rr, &e);
                else if (body)
                        http_reply_json(r, 201,
                                        json_pack("{s:s, s:s}", "Id", n->id,
                                                  "Warning", ""));
                json_decref(body);
        } else if (!strcmp(ref, "prune") && !strcmp(m, "POST")) {
                on_prune(d, r, filters);
        } else if (action && !strcmp(m, "POST") &&
                   (!strcmp(action, "connect") ||
                    !strcmp(action, "disconnect"))) {
                struct network *n = net_find(d, id);
                json_t *body = http_body_json(r, false);
                struct container *c = NULL;
                if (!body) {
                        /* answered */
                } else if (!n && pseudo_of(id)) {
                        http_reply_error(r, 403,
                                         "container cannot be %s %s network",
                                         !strcmp(action, "connect")
                                                 ? "connected to"
                                                 : "disconnected from",
                                         pseudo_of(id));
                } else if (!n) {
                        http_reply_error(r, 404, "network %s not found", id);
                } else if ((c = body_container(d, r, body))) {
                        int rr =
                                !strcmp(action, "connect")
                                        ? net_connect(d, c, n,
                                                      json_object_get(
                                                              body,
                                                              "EndpointConfig"),
                                                      &e)
                                        : net_disconnect(
                                                  d, c, n,
                                                  json_is_true(json_object_get(
                                                          body, "Force")),
                                                  &e);
                        if (rr < 0)
                                reply_berr(r, rr, &e);
                        else
                                http_reply(r, 200, "text/plain", "", 0);
                }
                json_decref(body);
        } else if (*ref && !action && !strcmp(m, "DELETE")) {
                struct network *n = net_find(d, ref);
                int rr = n ? net_remove(d, n, &e) : 0;
                if (!n && pseudo_of(ref))
                        http_reply_error(r, 403,
                                         "%s is a pre-defined network and "
                                         "cannot be removed",
                                         pseudo_of(ref));
                else if (!n)
                        http_reply_error(r, 404, "network %s not found", ref);
                else if (rr < 0)
                        reply_berr(r, rr, &e);
                else
                        http_reply_status(r, 204);
        } else if (*ref && !action && !strcmp(m, "GET")) {
                struct network *n = net_find(d, ref);
                const char *p = n ? NULL : pseudo_of(ref);
                if (n || p)
                        http_reply_json(r, 200, network_json(d, n, p, true));
                else
                        http_reply_error(r, 404, "network %s not found", ref);
        } else {
                http_reply_error(r, 404, "page not found");
        }
        json_decref(filters);
}
