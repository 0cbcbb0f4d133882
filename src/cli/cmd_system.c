/* volume, version, info, events. */
#include "cli.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

/* ---- volume ---- */

static int vol_create(int argc, char **argv) {
        const char *driver = NULL;
        char **labels = NULL, **opts_ = NULL;
        struct opt o[] = {
                {"driver", 'd', OPT_STR, &driver, "Specify volume driver name"},
                {"label", 0, OPT_LIST, &labels, "Set metadata for a volume"},
                {"opt", 'o', OPT_LIST, &opts_, "Set driver specific options"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"volume create",
                                "[OPTIONS] [VOLUME]",
                                "Create a volume",
                                0,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        json_t *lab = kv_object(labels), *dopt = kv_object(opts_);
        json_t *body = json_pack(
                "{s:s, s:s, s:o, s:o}", "Name", n ? args[0] : "", "Driver",
                driver ? driver : "local", "Labels", lab, "DriverOpts", dopt);
        free(args);
        json_t *j =
                api_request_json("POST", API_PREFIX "/volumes/create", body);
        if (!j)
                return 1;
        printf("%s\n", json_string_value(json_object_get(j, "Name")));
        json_decref(j);
        return 0;
}

static int vol_ls(int argc, char **argv) {
        bool quiet = false;
        const char *format = NULL;
        char **filters = NULL;
        struct opt o[] = {
                {"quiet", 'q', OPT_BOOL, &quiet, "Only display volume names"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {"filter", 'f', OPT_LIST, &filters,
                 "Provide filter values (e.g. \"dangling=true\")"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "volume ls", "[OPTIONS]", "List volumes", 0, 0, false, 1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        char *p = str_printf(API_PREFIX "/volumes%s%s", f ? "?filters=" : "",
                             f ? f : "");
        free(f);
        json_t *j = api_get_json(p);
        free(p);
        if (!j)
                return 1;
        json_t *vols = json_object_get(j, "Volumes");
        int rc = 0;
        if (quiet && !format) {
                size_t i;
                json_t *v;
                json_array_foreach(vols, i, v) printf(
                        "%s\n", json_string_value(json_object_get(v, "Name")));
        } else {
                json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Driver",
                                      "DRIVER", "Name", "VOLUME NAME",
                                      "Mountpoint", "MOUNTPOINT", "Scope",
                                      "SCOPE", "Labels", "LABELS");
                rc = format_rows(format ? format
                                        : "table {{.Driver}}\t{{.Name}}",
                                 vols, h);
                json_decref(h);
        }
        json_decref(j);
        return rc;
}

static int vol_inspect(int argc, char **argv) {
        return inspect_typed("volume", argc, argv);
}

static int vol_rm(int argc, char **argv) {
        bool force = false;
        struct opt o[] = {{"force", 'f', OPT_BOOL, &force,
                           "Force the removal of one or more volumes"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"volume rm",
                                "[OPTIONS] VOLUME [VOLUME...]",
                                "Remove one or more volumes",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        /* docker's daemon answers 204 for a missing volume with force. */
        int rc = api_delete_each("volumes", force ? "?force=1" : "?force=0",
                                 args, n, false);
        free(args);
        return rc;
}

static int vol_prune(int argc, char **argv) {
        bool force = false, all = false;
        struct opt o[] = {{"force", 'f', OPT_BOOL, &force,
                           "Do not prompt for confirmation"},
                          {"all", 'a', OPT_BOOL, &all,
                           "Remove all unused volumes, not just anonymous "
                           "ones"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"volume prune",
                                "[OPTIONS]",
                                "Remove unused local volumes",
                                0,
                                0,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        json_t *j = api_request_json(
                "POST",
                all ? API_PREFIX "/volumes/prune?filters=%7B%22all%22%3A"
                                 "%5B%22true%22%5D%7D"
                    : API_PREFIX "/volumes/prune",
                NULL);
        if (!j)
                return 1;
        json_t *d = json_object_get(j, "VolumesDeleted");
        if (json_array_size(d)) {
                printf("Deleted Volumes:\n");
                size_t i;
                json_t *v;
                json_array_foreach(d, i, v)
                        printf("%s\n", json_string_value(v));
                printf("\n");
        }
        char sz[32];
        human_size_si(sz, sizeof(sz),
                      (double) json_integer_value(
                              json_object_get(j, "SpaceReclaimed")),
                      3);
        printf("Total reclaimed space: %s\n", sz);
        json_decref(j);
        return 0;
}

int cmd_volume(int argc, char **argv) {
        static const struct subcmd subs[] = {
                {"create", vol_create, "Create a volume"},
                {"inspect", vol_inspect, "Display detailed information"},
                {"ls", vol_ls, "List volumes"},
                {"list", vol_ls, "List volumes"},
                {"prune", vol_prune, "Remove unused local volumes"},
                {"rm", vol_rm, "Remove one or more volumes"},
                {"remove", vol_rm, "Remove one or more volumes"},
                {NULL, NULL, NULL}};
        return run_subcommand("volume", subs, argc, argv);
}

/* ---- version, info ---- */

int cmd_version(int argc, char **argv) {
        const char *format = NULL;
        struct opt o[] = {{"format", 'f', OPT_STR, &format,
                           "Format output using a custom template"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "version", "[OPTIONS]", "Show the berth version information",
                0,         0,           false,
                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        struct utsname u;
        uname(&u);
        json_t *client = json_pack("{s:s, s:s, s:s, s:s}", "Version",
                                   BERTH_CLI_VERSION, "ApiVersion", "1.44",
                                   "Os", "linux", "Arch", u.machine);
        json_t *server = api_get_json(API_PREFIX "/version");
        json_t *all = json_pack("{s:o, s:o}", "Client", client, "Server",
                                server ? server : json_null());
        int rc = server ? 0 : 1;
        if (format) {
                json_t *rows = json_pack("[O]", all);
                int r = format_rows(format, rows, NULL);
                json_decref(rows);
                json_decref(all);
                return r ? r : rc;
        }
        printf("Client:\n Version:           %s\n API version:       1.44\n"
               " OS/Arch:           linux/%s\n",
               BERTH_CLI_VERSION, u.machine);
        if (server) {
                printf("\nServer: berth\n Engine:\n  Version:          %s\n"
                       "  API version:      %s (minimum version %s)\n"
                       "  Git commit:       %s\n  OS/Arch:          %s/%s\n"
                       "  Kernel:           %s\n",
                       json_string_value(json_object_get(server, "Version")),
                       json_string_value(json_object_get(server, "ApiVersion")),
                       json_string_value(
                               json_object_get(server, "MinAPIVersion")),
                       json_string_value(json_object_get(server, "GitCommit")),
                       json_string_value(json_object_get(server, "Os")),
                       json_string_value(json_object_get(server, "Arch")),
                       json_string_value(
                               json_object_get(server, "KernelVersion")));
        }
        json_decref(all);
        return rc;
}

int cmd_info(int argc, char **argv) {
        const char *format = NULL;
        struct opt o[] = {{"format", 'f', OPT_STR, &format,
                           "Format output using a custom template"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "info", "[OPTIONS]", "Display system-wide information",
                0,      0,           false,
                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        json_t *j = api_get_json(API_PREFIX "/info");
        if (!j)
                return 1;
        if (format) {
                json_t *rows = json_pack("[o]", j);
                int r = format_rows(format, rows, NULL);
                json_decref(rows);
                return r;
        }
        printf("Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n"
               "  Stopped: %lld\n Images: %lld\n Server Version: %s\n"
               " Storage Driver: %s\n Logging Driver: %s\n Cgroup Driver: %s\n"
               " Cgroup Version: %s\n Kernel Version: %s\n"
               " Operating System: %s\n CPUs: %lld\n Total Memory: %.4gGiB\n"
               " Name: %s\n Docker Root Dir: %s\n",
               (long long) json_integer_value(json_object_get(j, "Containers")),
               (long long) json_integer_value(
                       json_object_get(j, "ContainersRunning")),
               (long long) json_integer_value(
                       json_object_get(j, "ContainersPaused")),
               (long long) json_integer_value(
                       json_object_get(j, "ContainersStopped")),
               (long long) json_integer_value(json_object_get(j, "Images")),
               json_string_value(json_object_get(j, "ServerVersion")) ?: "",
               json_string_value(json_object_get(j, "Driver")) ?: "",
               json_string_value(json_object_get(j, "LoggingDriver")) ?: "",
               json_string_value(json_object_get(j, "CgroupDriver")) ?: "",
               json_string_value(json_object_get(j, "CgroupVersion")) ?: "",
               json_string_value(json_object_get(j, "KernelVersion")) ?: "",
               json_string_value(json_object_get(j, "OperatingSystem")) ?: "",
               (long long) json_integer_value(json_object_get(j, "NCPU")),
               (double) json_integer_value(json_object_get(j, "MemTotal")) /
                       (1024.0 * 1024 * 1024),
               json_string_value(json_object_get(j, "Name")) ?: "",
               json_string_value(json_object_get(j, "DockerRootDir")) ?: "");
        json_decref(j);
        return 0;
}

/* ---- events ---- */

struct ev_ctx {
        char *buf;
        size_t len;
        const char *format;
};

static void event_line(struct ev_ctx *x, json_t *e) {
        if (x->format) {
                json_t *rows = json_pack("[O]", e);
                format_rows(x->format, rows, NULL);
                json_decref(rows);
                fflush(stdout);
                return;
        }
        json_int_t tn = json_integer_value(json_object_get(e, "timeNano"));
        time_t t = (time_t) (tn / 1000000000);
        struct tm tm;
        localtime_r(&t, &tm);
        char ts[64];
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        char tz[8];
        strftime(tz, sizeof(tz), "%z", &tm);
        json_t *actor = json_object_get(e, "Actor");
        printf("%s.%09lld%.3s:%s %s %s %s", ts, (long long) (tn % 1000000000),
               tz, tz + 3, json_string_value(json_object_get(e, "Type")) ?: "",
               json_string_value(json_object_get(e, "Action")) ?: "",
               json_string_value(json_object_get(actor, "ID")) ?: "");
        json_t *attrs = json_object_get(actor, "Attributes");
        if (json_object_size(attrs)) {
                printf(" (");
                const char *k;
                json_t *v;
                bool first = true;
                json_object_foreach(attrs, k, v) {
                        printf("%s%s=%s", first ? "" : ", ", k,
                               json_string_value(v));
                        first = false;
                }
                printf(")");
        }
        printf("\n");
        fflush(stdout);
}

static bool events_chunk(const char *p, size_t n, void *ud) {
        struct ev_ctx *x = ud;
        char *nb = realloc(x->buf, x->len + n + 1);
        if (!nb)
                return false;
        x->buf = nb;
        memcpy(x->buf + x->len, p, n);
        x->len += n;
        x->buf[x->len] = '\0';
        char *nl;
        while ((nl = memchr(x->buf, '\n', x->len))) {
                size_t l = (size_t) (nl - x->buf) + 1;
                json_t *e = json_loadb(x->buf, l, 0, NULL);
                if (e) {
                        event_line(x, e);
                        json_decref(e);
                }
                memmove(x->buf, x->buf + l, x->len - l);
                x->len -= l;
        }
        return true;
}

int cmd_events(int argc, char **argv) {
        const char *since = NULL, *until = NULL, *format = NULL;
        char **filters = NULL;
        struct opt o[] = {{"since", 0, OPT_STR, &since,
                           "Show all events created since timestamp"},
                          {"until", 0, OPT_STR, &until,
                           "Stream events until this timestamp"},
                          {"filter", 'f', OPT_LIST, &filters,
                           "Filter output based on conditions provided"},
                          {"format", 0, OPT_STR, &format,
                           "Format the output using the given Go template"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {
                "events", "[OPTIONS]", "Get real time events from the server",
                0,        0,           false,
                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        char *es = since ? url_escape(since) : NULL;
        char *eu = until ? url_escape(until) : NULL;
        char *p = str_printf(API_PREFIX "/events?%s%s%s%s%s%s",
                             es ? "since=" : "", es ? es : "",
                             eu ? "&until=" : "", eu ? eu : "",
                             f ? "&filters=" : "", f ? f : "");
        free(es);
        free(eu);
        free(f);
        struct ev_ctx x = {.format = format};
        struct api_reply err;
        long st = api_stream("GET", p, NULL, events_chunk, &x, &err);
        free(p);
        free(x.buf);
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
