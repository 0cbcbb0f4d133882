/* network create/ls/inspect/rm/connect/disconnect/prune, with docker's
 * flags and output. */
#include "cli.h"

#include "cleanup.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int net_create(int argc, char **argv) {
        const char *driver = NULL, *subnet = NULL, *gateway = NULL;
        const char *ip_range = NULL;
        bool internal = false, attachable = false, ipv6 = false;
        char **labels = NULL, **opts_ = NULL;
        struct opt o[] = {
                {"driver", 'd', OPT_STR, &driver,
                 "Driver to manage the Network (default \"bridge\")"},
                {"subnet", 0, OPT_STR, &subnet,
                 "Subnet in CIDR format that represents a network segment"},
                {"gateway", 0, OPT_STR, &gateway,
                 "IPv4 Gateway for the master subnet"},
                {"ip-range", 0, OPT_STR, &ip_range,
                 "Allocate container ip from a sub-range"},
                {"internal", 0, OPT_BOOL, &internal,
                 "Restrict external access to the network"},
                {"attachable", 0, OPT_BOOL, &attachable,
                 "Enable manual container attachment"},
                {"ipv6", 0, OPT_BOOL, &ipv6, "Enable IPv6 networking"},
                {"label", 0, OPT_LIST, &labels, "Set metadata on a network"},
                {"opt", 'o', OPT_LIST, &opts_, "Set driver specific options"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"network create",
                                "[OPTIONS] NETWORK",
                                "Create a network",
                                1,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        json_t *cfg = json_array();
        if (subnet || gateway || ip_range) {
                json_t *c = json_object();
                if (subnet)
                        json_object_set_new(c, "Subnet", json_string(subnet));
                if (gateway)
                        json_object_set_new(c, "Gateway", json_string(gateway));
                if (ip_range)
                        json_object_set_new(c, "IPRange",
                                            json_string(ip_range));
                json_array_append_new(cfg, c);
        }
        json_t *body = json_pack(
                "{s:s, s:s, s:s, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:b,"
                " s:b, s:o, s:o}",
                "Name", args[0], "Driver", driver ? driver : "bridge", "Scope",
                "", "IPAM", "Driver", "default", "Options", "Config", cfg,
                "Internal", internal, "Attachable", attachable, "Ingress",
                false, "ConfigOnly", false, "EnableIPv6", ipv6, "Options",
                kv_object(opts_), "Labels", kv_object(labels));
        free(args);
        json_t *j =
                api_request_json("POST", API_PREFIX "/networks/create", body);
        if (!j)
                return 1;
        printf("%s\n", json_string_value(json_object_get(j, "Id")));
        json_decref(j);
        return 0;
}

static int net_ls(int argc, char **argv) {
        bool quiet = false, no_trunc = false;
        const char *format = NULL;
        char **filters = NULL;
        struct opt o[] = {
                {"quiet", 'q', OPT_BOOL, &quiet, "Only display network IDs"},
                {"no-trunc", 0, OPT_BOOL, &no_trunc,
                 "Do not truncate the output"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {"filter", 'f', OPT_LIST, &filters,
                 "Provide filter values (e.g. \"driver=bridge\")"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "network ls", "[OPTIONS]", "List networks", 0, 0, false, 1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        _cleanup_free_ char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        _cleanup_free_ char *p = str_printf(API_PREFIX "/networks%s%s",
                                            f ? "?filters=" : "", f ? f : "");
        json_t *j = p ? api_get_json(p) : NULL;
        if (!j)
                return 1;
        /* The rows docker's formatter offers: ID (short unless
         * --no-trunc), Name, Driver, Scope, IPv6, Internal, Labels,
         * CreatedAt. */
        json_t *rows = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
                const char *id = json_string_value(json_object_get(v, "Id"));
                _cleanup_free_ char *labs = NULL;
                size_t ll = 0;
                FILE *lf = open_memstream(&labs, &ll);
                const char *k;
                json_t *lv;
                const char *sep = "";
                json_object_foreach(json_object_get(v, "Labels"), k, lv) {
                        fprintf(lf, "%s%s=%s", sep, k,
                                json_string_value(lv) ?: "");
                        sep = ",";
                }
                fclose(lf);
                json_array_append_new(
                        rows,
                        json_pack("{s:s%, s:O, s:O, s:O, s:s, s:s, s:s, s:O}",
                                  "ID", id ? id : "",
                                  no_trunc || !id ? (id ? strlen(id) : 0)
                                                  : (size_t) 12,
                                  "Name", json_object_get(v, "Name"), "Driver",
                                  json_object_get(v, "Driver"), "Scope",
                                  json_object_get(v, "Scope"), "IPv6",
                                  json_is_true(json_object_get(v, "EnableIPv6"))
                                          ? "true"
                                          : "false",
                                  "Internal",
                                  json_is_true(json_object_get(v, "Internal"))
                                          ? "true"
                                          : "false",
                                  "Labels", labs ? labs : "", "CreatedAt",
                                  json_object_get(v, "Created")));
        }
        json_decref(j);
        int rc = 0;
        if (quiet && !format) {
                json_array_foreach(rows, i, v) printf(
                        "%s\n", json_string_value(json_object_get(v, "ID")));
        } else {
                json_t *h =
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                  "ID", "NETWORK ID", "Name", "NAME", "Driver",
                                  "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6",
                                  "Internal", "INTERNAL", "Labels", "LABELS",
                                  "CreatedAt", "CREATED AT");
                rc = format_rows(format ? format
                                        : "table {{.ID}}\t{{.Name}}\t"
                                          "{{.Driver}}\t{{.Scope}}",
                                 rows, h);
                json_decref(h);
        }
        json_decref(rows);
        return rc;
}

static int net_inspect(int argc, char **argv) {
        return inspect_typed("network", argc, argv);
}

static int net_rm(int argc, char **argv) {
        bool force = false;
        struct opt o[] = {{"force", 'f', OPT_BOOL, &force,
                           "Do not error if the network does not exist"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"network rm",
                                "NETWORK [NETWORK...]",
                                "Remove one or more networks",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int rc = api_delete_each("networks", NULL, args, n, force);
        free(args);
        return rc;
}

/* POST /networks/NET/ACTION with `body` (stolen); the exit status. */
static int post_endpoint(const char *net, const char *action, json_t *body) {
        _cleanup_free_ char *e = url_escape(net);
        _cleanup_free_ char *p =
                e ? str_printf(API_PREFIX "/networks/%s/%s", e, action) : NULL;
        if (!p) {
                json_decref(body);
                return 1;
        }
        return api_simple("POST", p, body) ? 0 : 1;
}

static int net_connect(int argc, char **argv) {
        char **aliases = NULL;
        const char *ip = NULL;
        struct opt o[] = {{"alias", 0, OPT_LIST, &aliases,
                           "Add network-scoped alias for the container"},
                          {"ip", 0, OPT_STR, &ip,
                           "IPv4 address (e.g., "
                           "\"172.30.100.104\")"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"network connect",
                                "[OPTIONS] NETWORK CONTAINER",
                                "Connect a container to a network",
                                2,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        json_t *al = json_array();
        for (size_t i = 0; aliases && aliases[i]; i++)
                json_array_append_new(al, json_string(aliases[i]));
        json_t *ep = json_pack("{s:o}", "Aliases", al);
        if (ip)
                json_object_set_new(ep, "IPAMConfig",
                                    json_pack("{s:s}", "IPv4Address", ip));
        int rc = post_endpoint(args[0], "connect",
                               json_pack("{s:s, s:o}", "Container", args[1],
                                         "EndpointConfig", ep));
        free(args);
        return rc;
}

static int net_disconnect(int argc, char **argv) {
        bool force = false;
        struct opt o[] = {{"force", 'f', OPT_BOOL, &force,
                           "Force the container to disconnect from a "
                           "network"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"network disconnect",
                                "[OPTIONS] NETWORK CONTAINER",
                                "Disconnect a container from a network",
                                2,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int rc = post_endpoint(
                args[0], "disconnect",
                json_pack("{s:s, s:b}", "Container", args[1], "Force", force));
        free(args);
        return rc;
}

static int net_prune(int argc, char **argv) {
        bool force = false;
        char **filters = NULL;
        struct opt o[] = {
                {"force", 'f', OPT_BOOL, &force,
                 "Do not prompt for confirmation"},
                {"filter", 0, OPT_LIST, &filters,
                 "Provide filter values (e.g. \"until=<timestamp>\")"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"network prune",
                                "[OPTIONS]",
                                "Remove all unused networks",
                                0,
                                0,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        if (!force && !confirm("WARNING! This will remove all custom networks "
                               "not used by at least one container.\nAre you "
                               "sure you want to continue?"))
                return 0;
        _cleanup_free_ char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        _cleanup_free_ char *p = str_printf(API_PREFIX "/networks/prune%s%s",
                                            f ? "?filters=" : "", f ? f : "");
        json_t *j = p ? api_request_json("POST", p, NULL) : NULL;
        if (!j)
                return 1;
        json_t *d = json_object_get(j, "NetworksDeleted");
        if (json_array_size(d)) {
                printf("Deleted Networks:\n");
                size_t i;
                json_t *v;
                json_array_foreach(d, i, v)
                        printf("%s\n", json_string_value(v));
                printf("\n");
        }
        json_decref(j);
        return 0;
}

int cmd_network(int argc, char **argv) {
        static const struct subcmd subs[] = {
                {"connect", net_connect, "Connect a container to a network"},
                {"create", net_create, "Create a network"},
                {"disconnect", net_disconnect,
                 "Disconnect a container from a network"},
                {"inspect", net_inspect,
                 "Display detailed information on one or more networks"},
                {"ls", net_ls, "List networks"},
                {"list", net_ls, "List networks"},
                {"prune", net_prune, "Remove all unused networks"},
                {"rm", net_rm, "Remove one or more networks"},
                {"remove", net_rm, "Remove one or more networks"},
                {NULL, NULL, NULL}};
        return run_subcommand("network", subs, argc, argv);
}
