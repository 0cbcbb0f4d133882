/* Container commands that do not attach: ps, logs, stop, kill, restart,
 * rm, wait, inspect, rename, top, stats, port, pause, unpause. */
#include "cli.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- ps ---- */

static char *ports_text(json_t *ports) {
        char *out = strdup("");
        size_t i;
        json_t *p;
        json_array_foreach(ports, i, p) {
                const char *ip = json_string_value(json_object_get(p, "IP"));
                json_int_t priv =
                        json_integer_value(json_object_get(p, "PrivatePort"));
                json_int_t pub =
                        json_integer_value(json_object_get(p, "PublicPort"));
                const char *type =
                        json_string_value(json_object_get(p, "Type"));
                char *one = pub ? str_printf("%s:%lld->%lld/%s",
                                             ip && *ip ? ip : "0.0.0.0",
                                             (long long) pub, (long long) priv,
                                             type ? type : "tcp")
                                : str_printf("%lld/%s", (long long) priv,
                                             type ? type : "tcp");
                char *n = str_printf("%s%s%s", out, *out ? ", " : "", one);
                free(one);
                free(out);
                out = n;
        }
        return out;
}

static char *labels_text(json_t *labels) {
        char *out = strdup("");
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) {
                char *n = str_printf("%s%s%s=%s", out, *out ? "," : "", k,
                                     json_string_value(v));
                free(out);
                out = n;
        }
        return out;
}

static json_t *ps_row(json_t *c, bool no_trunc) {
        const char *id = json_string_value(json_object_get(c, "Id"));
        char sid[13];
        snprintf(sid, sizeof(sid), "%.12s", id ? id : "");
        json_t *names = json_object_get(c, "Names");
        char *nm = strdup("");
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
                const char *s = json_string_value(n);
                if (s && *s == '/')
                        s++;
                char *x = str_printf("%s%s%s", nm, *nm ? "," : "", s);
                free(nm);
                nm = x;
        }
        const char *cmd = json_string_value(json_object_get(c, "Command"));
        char *cut = no_trunc ? strdup(cmd ? cmd : "") : ellipsis(cmd ?: "", 20);
        char *qcmd = str_printf("\"%s\"", cut);
        free(cut);
        json_int_t created = json_integer_value(json_object_get(c, "Created"));
        char since[64], at[64];
        ago(since, sizeof(since), created);
        time_t t = (time_t) created;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        char *ports = ports_text(json_object_get(c, "Ports"));
        char *labels = labels_text(json_object_get(c, "Labels"));
        json_t *mounts = json_object_get(c, "Mounts");
        char *mt = strdup("");
        json_array_foreach(mounts, i, n) {
                const char *s = json_string_value(json_object_get(n, "Name"));
                if (!s)
                        s = json_string_value(json_object_get(n, "Source"));
                char *x = str_printf("%s%s%s", mt, *mt ? "," : "", s ? s : "");
                free(mt);
                mt = x;
        }
        json_t *nets = json_object_get(json_object_get(c, "NetworkSettings"),
                                       "Networks");
        char *nt = strdup("");
        const char *k;
        json_object_foreach(nets, k, n) {
                char *x = str_printf("%s%s%s", nt, *nt ? "," : "", k);
                free(nt);
                nt = x;
        }
        json_t *row = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                " s:s}",
                "ID", no_trunc ? id : sid, "Image",
                json_string_value(json_object_get(c, "Image")) ?: "", "Command",
                qcmd, "CreatedAt", at, "RunningFor", since, "Ports", ports,
                "Status", json_string_value(json_object_get(c, "Status")) ?: "",
                "Size", "", "Names", nm, "Labels", labels, "Mounts", mt,
                "Networks", nt, "State",
                json_string_value(json_object_get(c, "State")) ?: "");
        free(nm);
        free(qcmd);
        free(ports);
        free(labels);
        free(mt);
        free(nt);
        return row;
}

static json_t *ps_headers(void) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                         " s:s, s:s, s:s}",
                         "ID", "CONTAINER ID", "Image", "IMAGE", "Command",
                         "COMMAND", "CreatedAt", "CREATED AT", "RunningFor",
                         "CREATED", "Ports", "PORTS", "Status", "STATUS",
                         "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS",
                         "Mounts", "MOUNTS", "Networks", "NETWORKS", "State",
                         "STATE");
}

int cmd_ps(int argc, char **argv) {
        bool all = false, quiet = false, latest = false, no_trunc = false,
             size = false;
        long last = -1;
        const char *format = NULL;
        char **filters = NULL;
        struct opt o[] = {
                {"all", 'a', OPT_BOOL, &all,
                 "Show all containers (default shows just running)"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Only display container IDs"},
                {"last", 'n', OPT_INT, &last,
                 "Show n last created containers (includes all states)"},
                {"latest", 'l', OPT_BOOL, &latest,
                 "Show the latest created container (includes all states)"},
                {"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
                {"size", 's', OPT_BOOL, &size, "Display total file sizes"},
                {"filter", 'f', OPT_LIST, &filters,
                 "Filter output based on conditions provided"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "ps", "[OPTIONS]", "List containers", 0, 0, false, 1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        if (latest)
                last = 1;
        char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        char *path =
                str_printf(API_PREFIX "/containers/json?all=%d%s%s%s%ld",
                           all || last > 0, f ? "&filters=" : "", f ? f : "",
                           last > 0 ? "&limit=" : "", last > 0 ? last : 0L);
        if (last <= 0) {
                /* drop the stray "0" */
                size_t l = strlen(path);
                if (path[l - 1] == '0' && path[l - 2] != '=')
                        path[l - 1] = '\0';
        }
        free(f);
        json_t *list = api_get_json(path);
        free(path);
        if (!json_is_array(list)) {
                json_decref(list);
                return 1;
        }
        json_t *rows = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
                json_array_append_new(rows, ps_row(c, no_trunc));
        json_decref(list);
        int rc;
        if (quiet && !format) {
                json_array_foreach(rows, i, c) printf(
                        "%s\n", json_string_value(json_object_get(c, "ID")));
                rc = 0;
        } else {
                json_t *h = ps_headers();
                rc = format_rows(format ? format
                                        : "table {{.ID}}\t{{.Image}}\t"
                                          "{{.Command}}\t{{.RunningFor}}\t"
                                          "{{.Status}}\t{{.Ports}}\t"
                                          "{{.Names}}",
                                 rows, h);
                json_decref(h);
        }
        json_decref(rows);
        return rc;
}

/* ---- logs ---- */

struct logs_ctx {
        bool mux;
        struct demux dm;
};

static bool logs_chunk(const char *p, size_t n, void *ud) {
        struct logs_ctx *x = ud;
        if (x->mux)
                demux_feed(&x->dm, p, n);
        else
                write_all(1, p, n);
        return true;
}

int cmd_logs(int argc, char **argv) {
        bool follow = false, ts = false, details = false;
        const char *tail = NULL, *since = NULL, *until = NULL;
        struct opt o[] = {
                {"follow", 'f', OPT_BOOL, &follow, "Follow log output"},
                {"timestamps", 't', OPT_BOOL, &ts, "Show timestamps"},
                {"tail", 'n', OPT_STR, &tail,
                 "Number of lines to show from the end of the logs"},
                {"since", 0, OPT_STR, &since,
                 "Show logs since timestamp or relative (e.g. 42m)"},
                {"until", 0, OPT_STR, &until,
                 "Show logs before a timestamp or relative (e.g. 42m)"},
                {"details", 0, OPT_BOOL, &details,
                 "Show extra details provided to logs"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"logs",
                                "[OPTIONS] CONTAINER",
                                "Fetch the logs of a container",
                                1,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *ip = str_printf(API_PREFIX "/containers/%s/json", args[0]);
        json_t *c = api_get_json(ip);
        free(ip);
        if (!c) {
                free(args);
                return 1;
        }
        struct logs_ctx x = {.mux = !json_is_true(json_object_get(
                                     json_object_get(c, "Config"), "Tty"))};
        json_decref(c);
        char *es = since ? url_escape(since) : NULL;
        char *eu = until ? url_escape(until) : NULL;
        char *et = tail ? url_escape(tail) : NULL;
        char *path = str_printf(
                API_PREFIX "/containers/%s/logs?stdout=1&stderr=1&follow=%d&"
                           "timestamps=%d&tail=%s&since=%s&until=%s",
                args[0], follow, ts, et ? et : "all", es ? es : "",
                eu ? eu : "");
        free(es);
        free(eu);
        free(et);
        free(args);
        struct api_reply err;
        long st = api_stream("GET", path, NULL, logs_chunk, &x, &err);
        free(path);
        if (st < 0)
                return 1;
        if (st >= 300) {
                api_print_error(&err);
                api_reply_free(&err);
                return 1;
        }
        api_reply_free(&err);
        return 0;
}

/* ---- simple per-container actions ---- */

/* METHOD /containers/NAME`suffix` for each container; prints the name on
 * success. */
static int each(char **args, int n, const char *method, const char *suffix) {
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char *e = url_escape(args[i]);
                char *full = str_printf(API_PREFIX "/containers/%s%s", e,
                                        suffix ? suffix : "");
                free(e);
                struct api_reply r;
                if (api_call(method, full, NULL, NULL, 0, &r) < 0) {
                        free(full);
                        return 1;
                }
                free(full);
                if (r.status >= 300) {
                        api_print_error(&r);
                        rc = 1;
                } else
                        printf("%s\n", args[i]);
                api_reply_free(&r);
        }
        return rc;
}

static int stop_like(int argc, char **argv, const char *name,
                     const char *summary, const char *op) {
        const char *timeout = NULL, *sig = NULL;
        struct opt o[] = {{"time", 't', OPT_STR, &timeout,
                           "Seconds to wait before killing the container"},
                          {"timeout", 0, OPT_STR, &timeout,
                           "Seconds to wait before killing the container"},
                          {"signal", 's', OPT_STR, &sig,
                           "Signal to send to the container"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {name,    "[OPTIONS] CONTAINER [CONTAINER...]",
                                summary, 1,
                                -1,      false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *q = str_printf("?%s%s%s%s", timeout ? "t=" : "",
                             timeout ? timeout : "", timeout && sig ? "&" : "",
                             sig ? "signal=" : "");
        char *q2 = str_printf("%s%s", q, sig ? sig : "");
        free(q);
        char *suffix = str_printf("/%s%s", op, q2);
        int rc = each(args, n, "POST", suffix);
        free(suffix);
        free(q2);
        free(args);
        return rc;
}

int cmd_stop(int argc, char **argv) {
        return stop_like(argc, argv, "stop",
                         "Stop one or more running "
                         "containers",
                         "stop");
}

int cmd_restart(int argc, char **argv) {
        return stop_like(argc, argv, "restart",
                         "Restart one or more containers", "restart");
}

int cmd_kill(int argc, char **argv) {
        const char *sig = NULL;
        struct opt o[] = {{"signal", 's', OPT_STR, &sig,
                           "Signal to send to the container"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"kill",
                                "[OPTIONS] CONTAINER [CONTAINER...]",
                                "Kill one or more running containers",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *es = sig ? url_escape(sig) : NULL;
        char *q = es ? str_printf("/kill?signal=%s", es) : strdup("/kill");
        int rc = each(args, n, "POST", q);
        free(es);
        free(q);
        free(args);
        return rc;
}

int cmd_rm(int argc, char **argv) {
        bool force = false, vols = false, link = false;
        struct opt o[] = {
                {"force", 'f', OPT_BOOL, &force,
                 "Force the removal of a running container (uses SIGKILL)"},
                {"volumes", 'v', OPT_BOOL, &vols,
                 "Remove anonymous volumes associated with the container"},
                {"link", 'l', OPT_BOOL, &link, "Remove the specified link"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"rm",
                                "[OPTIONS] CONTAINER [CONTAINER...]",
                                "Remove one or more containers",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *q = str_printf("?force=%d&v=%d", force, vols);
        int rc = each(args, n, "DELETE", q);
        free(q);
        free(args);
        return rc;
}

static int pause_like(int argc, char **argv, const char *name,
                      const char *summary) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                name, "CONTAINER [CONTAINER...]", summary, 1, -1, false, 1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *suffix = str_printf("/%s", name);
        int rc = each(args, n, "POST", suffix);
        free(suffix);
        free(args);
        return rc;
}

int cmd_pause(int argc, char **argv) {
        return pause_like(argc, argv, "pause",
                          "Pause all processes within one or more "
                          "containers");
}

int cmd_unpause(int argc, char **argv) {
        return pause_like(argc, argv, "unpause",
                          "Unpause all processes within one or more "
                          "containers");
}

int cmd_wait(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"wait",
                                "CONTAINER [CONTAINER...]",
                                "Block until one or more containers stop, "
                                "then print their exit codes",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char *p = str_printf(API_PREFIX "/containers/%s/wait", args[i]);
                int fd = api_send_raw("POST", p, NULL);
                free(p);
                if (fd < 0) {
                        rc = 1;
                        break;
                }
                long st = 0;
                char *body = NULL;
                if (api_read_raw(fd, &st, &body) < 0) {
                        close(fd);
                        rc = 1;
                        continue;
                }
                close(fd);
                json_t *j = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
                if (st >= 300) {
                        const char *m = json_string_value(
                                json_object_get(j, "message"));
                        fprintf(stderr, "Error response from daemon: %s\n",
                                m ? m : body);
                        rc = 1;
                } else
                        printf("%lld\n",
                               (long long) json_integer_value(
                                       json_object_get(j, "StatusCode")));
                json_decref(j);
                free(body);
        }
        free(args);
        return rc;
}

/* ---- inspect ---- */

int cmd_inspect(int argc, char **argv) {
        const char *format = NULL, *type = NULL;
        bool size = false;
        struct opt o[] = {{"format", 'f', OPT_STR, &format,
                           "Format output using a custom template"},
                          {"type", 0, OPT_STR, &type,
                           "Only inspect objects of the given type"},
                          {"size", 's', OPT_BOOL, &size,
                           "Display total file sizes if the type is container"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"inspect",
                                "[OPTIONS] NAME|ID [NAME|ID...]",
                                "Return low-level information on berth "
                                "objects",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        if (type && strcmp(type, "container") && strcmp(type, "image") &&
            strcmp(type, "network") && strcmp(type, "volume")) {
                fprintf(stderr, "\"%s\" is not a valid value for --type\n",
                        type);
                free(args);
                return 1;
        }
        json_t *all = json_array();
        int rc = 0;
        for (int i = 0; i < n; i++) {
                const char *kinds[] = {"container", "image", "network",
                                       "volume"};
                const char *pre[] = {"containers", "images", "networks",
                                     "volumes"};
                const char *post[] = {"/json", "/json", "", ""};
                json_t *found = NULL;
                for (int k = 0; k < 4 && !found; k++) {
                        if (type && strcmp(type, kinds[k]))
                                continue;
                        char *e = url_escape(args[i]);
                        char *p = str_printf(API_PREFIX "/%s/%s%s", pre[k], e,
                                             post[k]);
                        free(e);
                        struct api_reply r;
                        if (api_call("GET", p, NULL, NULL, 0, &r) < 0) {
                                free(p);
                                json_decref(all);
                                free(args);
                                return 1;
                        }
                        free(p);
                        if (r.status < 300)
                                found = api_reply_json(&r);
                        api_reply_free(&r);
                }
                if (!found) {
                        fprintf(stderr, "Error: No such %s: %s\n",
                                type ? type : "object", args[i]);
                        rc = 1;
                        continue;
                }
                json_array_append_new(all, found);
        }
        free(args);
        if (format) {
                int r = format_rows(format, all, NULL);
                if (r)
                        rc = r;
        } else {
                char *t = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
                printf("%s\n", t ? t : "[]");
                free(t);
        }
        json_decref(all);
        return rc;
}

int inspect_typed(const char *type, int argc, char **argv) {
        char **nargv = calloc((size_t) argc + 3, sizeof(char *));
        if (!nargv)
                return 1;
        nargv[0] = argv[0];
        nargv[1] = (char *) "--type";
        nargv[2] = (char *) type;
        for (int i = 1; i < argc; i++)
                nargv[i + 2] = argv[i];
        int rc = cmd_inspect(argc + 2, nargv);
        free(nargv);
        return rc;
}

int cmd_rename(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"rename",
                                "CONTAINER NEW_NAME",
                                "Rename a container",
                                2,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *e = url_escape(args[1]);
        char *p = str_printf(API_PREFIX "/containers/%s/rename?name=%s",
                             args[0], e);
        free(e);
        bool ok = api_simple("POST", p, NULL);
        free(p);
        free(args);
        return ok ? 0 : 1;
}

int cmd_top(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"top",
                                "CONTAINER [ps OPTIONS]",
                                "Display the running processes of a "
                                "container",
                                1,
                                -1,
                                true,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *psargs = strdup("");
        for (int i = 1; i < n; i++) {
                char *x =
                        str_printf("%s%s%s", psargs, i > 1 ? " " : "", args[i]);
                free(psargs);
                psargs = x;
        }
        char *e = url_escape(psargs);
        char *p = str_printf(API_PREFIX "/containers/%s/top%s%s", args[0],
                             *psargs ? "?ps_args=" : "", *psargs ? e : "");
        free(e);
        free(psargs);
        free(args);
        json_t *j = api_get_json(p);
        free(p);
        if (!j)
                return 1;
        struct table *t = table_new();
        json_t *titles = json_object_get(j, "Titles");
        size_t nt = json_array_size(titles);
        char **cells = calloc(nt + 1, sizeof(char *));
        for (size_t i = 0; i < nt; i++)
                cells[i] =
                        (char *) json_string_value(json_array_get(titles, i));
        table_add(t, cells, nt);
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(j, "Processes"), i, row) {
                for (size_t k = 0; k < nt; k++)
                        cells[k] = (char *) json_string_value(
                                json_array_get(row, k));
                table_add(t, cells, nt);
        }
        free(cells);
        table_print(t);
        json_decref(j);
        return 0;
}

/* docker stats shows memory in binary units: "1.5MiB". */
static void binary_size(char *buf, size_t size, double v) {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while (v >= 1024 && i < 4) {
                v /= 1024;
                i++;
        }
        snprintf(buf, size, "%.4g%s", v, units[i]);
}

static json_t *stats_row(json_t *s) {
        json_t *cpu = json_object_get(s, "cpu_stats");
        json_t *pre = json_object_get(s, "precpu_stats");
        double cd = (double) json_integer_value(json_object_get(
                            json_object_get(cpu, "cpu_usage"), "total_usage")) -
                    (double) json_integer_value(json_object_get(
                            json_object_get(pre, "cpu_usage"), "total_usage"));
        double sd = (double) json_integer_value(
                            json_object_get(cpu, "system_cpu_usage")) -
                    (double) json_integer_value(
                            json_object_get(pre, "system_cpu_usage"));
        double ncpu = (double) json_integer_value(
                json_object_get(cpu, "online_cpus"));
        double pct = sd > 0 && cd > 0 ? cd / sd * (ncpu ? ncpu : 1) * 100 : 0;
        json_t *mem = json_object_get(s, "memory_stats");
        double used =
                (double) json_integer_value(json_object_get(mem, "usage"));
        double lim = (double) json_integer_value(json_object_get(mem, "limit"));
        char u[32], l[32], c[32], m[32], mu[80], pids[32];
        binary_size(u, sizeof(u), used);
        binary_size(l, sizeof(l), lim);
        snprintf(mu, sizeof(mu), "%s / %s", u, l);
        snprintf(c, sizeof(c), "%.2f%%", pct);
        snprintf(m, sizeof(m), "%.2f%%", lim > 0 ? used / lim * 100 : 0);
        snprintf(pids, sizeof(pids), "%lld",
                 (long long) json_integer_value(json_object_get(
                         json_object_get(s, "pids_stats"), "current")));
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *id = json_string_value(json_object_get(s, "id"));
        char sid[13];
        snprintf(sid, sizeof(sid), "%.12s", id ? id : "");
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "Container", sid, "ID", sid, "Name",
                         name && *name == '/' ? name + 1 : (name ? name : ""),
                         "CPUPerc", c, "MemUsage", mu, "MemPerc", m, "NetIO",
                         "0B / 0B", "BlockIO", "0B / 0B", "PIDs", pids);
}

int cmd_stats(int argc, char **argv) {
        bool no_stream = false, all = false;
        const char *format = NULL;
        struct opt o[] = {
                {"no-stream", 0, OPT_BOOL, &no_stream,
                 "Disable streaming stats and only pull the first result"},
                {"all", 'a', OPT_BOOL, &all,
                 "Show all containers (default shows just running)"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"stats",
                                "[OPTIONS] [CONTAINER...]",
                                "Display a live stream of container(s) "
                                "resource usage statistics",
                                0,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char **ids = NULL;
        if (n == 0) {
                json_t *list = api_get_json(API_PREFIX "/containers/json");
                size_t i;
                json_t *c;
                json_array_foreach(list, i, c) strv_push(
                        &ids, json_string_value(json_object_get(c, "Id")));
                json_decref(list);
        } else
                for (int i = 0; i < n; i++)
                        strv_push(&ids, args[i]);
        free(args);
        json_t *h = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container",
                "CONTAINER", "ID", "CONTAINER ID", "Name", "NAME", "CPUPerc",
                "CPU %", "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %",
                "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
        int rc = 0;
        do {
                json_t *rows = json_array();
                for (size_t i = 0; ids && ids[i]; i++) {
                        char *p = str_printf(API_PREFIX "/containers/%s/stats?"
                                                        "stream=0",
                                             ids[i]);
                        json_t *s = api_get_json(p);
                        free(p);
                        if (!s) {
                                rc = 1;
                                continue;
                        }
                        json_array_append_new(rows, stats_row(s));
                        json_decref(s);
                }
                if (!no_stream)
                        printf("\033[2J\033[H");
                format_rows(format ? format
                                   : "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}"
                                     "\t{{.MemUsage}}\t{{.MemPerc}}\t"
                                     "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
                            rows, h);
                fflush(stdout);
                json_decref(rows);
        } while (!no_stream && rc == 0);
        json_decref(h);
        for (size_t i = 0; ids && ids[i]; i++)
                free(ids[i]);
        free(ids);
        return rc;
}

int cmd_port(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"port",
                                "CONTAINER [PRIVATE_PORT[/PROTO]]",
                                "List port mappings or a specific mapping for "
                                "the container",
                                1,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *p = str_printf(API_PREFIX "/containers/%s/json", args[0]);
        json_t *j = api_get_json(p);
        free(p);
        if (!j) {
                free(args);
                return 1;
        }
        json_t *ports =
                json_object_get(json_object_get(j, "NetworkSettings"), "Ports");
        const char *k;
        json_t *v;
        int rc = 0, shown = 0;
        json_object_foreach(ports, k, v) {
                if (n == 2) {
                        char *want = strchr(args[1], '/')
                                             ? strdup(args[1])
                                             : str_printf("%s/tcp", args[1]);
                        int match = !strcmp(want, k);
                        free(want);
                        if (!match)
                                continue;
                }
                size_t i;
                json_t *b;
                json_array_foreach(v, i, b) {
                        const char *ip =
                                json_string_value(json_object_get(b, "HostIp"));
                        const char *hp = json_string_value(
                                json_object_get(b, "HostPort"));
                        if (n == 2)
                                printf("%s:%s\n", ip && *ip ? ip : "0.0.0.0",
                                       hp ? hp : "");
                        else
                                printf("%s -> %s:%s\n", k,
                                       ip && *ip ? ip : "0.0.0.0",
                                       hp ? hp : "");
                        shown++;
                }
        }
        if (n == 2 && !shown) {
                fprintf(stderr,
                        "Error: No public port '%s' published for "
                        "%s\n",
                        args[1], args[0]);
                rc = 1;
        }
        json_decref(j);
        free(args);
        return rc;
}

static int ctr_ls(int argc, char **argv) {
        return cmd_ps(argc, argv);
}

int cmd_container(int argc, char **argv) {
        static const struct subcmd subs[] = {
                {"attach", cmd_attach, "Attach to a running container"},
                {"create", cmd_create, "Create a new container"},
                {"exec", cmd_exec, "Execute a command in a running container"},
                {"inspect", cmd_inspect, "Display detailed information"},
                {"kill", cmd_kill, "Kill one or more running containers"},
                {"logs", cmd_logs, "Fetch the logs of a container"},
                {"ls", ctr_ls, "List containers"},
                {"list", ctr_ls, "List containers"},
                {"ps", ctr_ls, "List containers"},
                {"pause", cmd_pause, "Pause all processes"},
                {"port", cmd_port, "List port mappings"},
                {"rename", cmd_rename, "Rename a container"},
                {"restart", cmd_restart, "Restart one or more containers"},
                {"rm", cmd_rm, "Remove one or more containers"},
                {"run", cmd_run, "Create and run a new container"},
                {"start", cmd_start, "Start one or more stopped containers"},
                {"stats", cmd_stats, "Display resource usage statistics"},
                {"stop", cmd_stop, "Stop one or more running containers"},
                {"top", cmd_top, "Display the running processes"},
                {"unpause", cmd_unpause, "Unpause all processes"},
                {"wait", cmd_wait, "Block until containers stop"},
                {NULL, NULL, NULL}};
        return run_subcommand("container", subs, argc, argv);
}
