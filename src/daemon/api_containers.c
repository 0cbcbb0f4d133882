/* /containers/... and /exec/... of the Docker Engine API. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "specgen.h"
#include "error.h"
#include "http.h"
#include "loop.h"
#include "util.h"

/* ---- JSON views ---- */

/* Exposed ports, with their host side while published: the inspect map
 * {"80/tcp":[{"HostIp","HostPort"}] or null} or ps' summary list. */
static json_t *ports_json(struct container *c, bool summary) {
        json_t *exposed = json_object_get(c->config, "ExposedPorts");
        json_t *mapped = net_ports_json(c);
        json_t *out = summary ? json_array() : json_object();
        const char *k;
        json_t *v;
        json_object_foreach(exposed, k, v) {
                json_t *m = json_object_get(mapped, k);
                if (!summary) {
                        json_object_set(out, k, m ? m : json_null());
                        continue;
                }
                int port = atoi(k);
                const char *slash = strchr(k, '/');
                const char *type = slash ? slash + 1 : "tcp";
                if (!json_array_size(m))
                        json_array_append_new(
                                out, json_pack("{s:i, s:s}", "PrivatePort",
                                               port, "Type", type));
                size_t i;
                json_t *b;
                json_array_foreach(m, i, b) json_array_append_new(
                        out, json_pack("{s:s, s:i, s:i, s:s}", "IP",
                                       json_string_value(
                                               json_object_get(b, "HostIp")),
                                       "PrivatePort", port, "PublicPort",
                                       atoi(json_string_value(json_object_get(
                                                    b, "HostPort"))
                                                    ?: "0"),
                                       "Type", type));
        }
        json_decref(mapped);
        return out;
}

static json_t *network_settings(struct daemon *d, struct container *c) {
        json_t *ns = net_settings_json(d, c);
        json_object_set_new(ns, "Ports", ports_json(c, false));
        return ns;
}

json_t *ctr_inspect(struct daemon *d, struct container *c) {
        _cleanup_free_ char *log = ctr_log_path(d, c);
        _cleanup_free_ char *dir =
                str_printf("%s/containers/%s", d->data_root, c->id);
        _cleanup_free_ char *rc = str_printf("%s/resolv.conf", dir);
        _cleanup_free_ char *hn = str_printf("%s/hostname", dir);
        _cleanup_free_ char *hosts = str_printf("%s/hosts", dir);
        _cleanup_free_ char *name = str_printf("/%s", c->name);
        _cleanup_free_ char *upper = str_printf("%s/upper", dir);
        _cleanup_free_ char *work = str_printf("%s/work", dir);
        _cleanup_free_ char *merged = str_printf("%s/rootfs", dir);
        json_t *execs = json_array();
        for (struct exec_inst *x = d->execs; x; x = x->next)
                if (x->ctr == c)
                        json_array_append_new(execs, json_string(x->id));
        bool running = c->status == CTR_RUNNING || c->status == CTR_PAUSED;
        json_t *mounts = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(c->mounts, i, m) {
                json_t *cp = json_deep_copy(m);
                json_object_del(cp, "Anonymous");
                json_array_append_new(mounts, cp);
        }
        json_t *cfg = json_deep_copy(c->config);
        return json_pack(
                "{s:s, s:s, s:s, s:o, s:{s:s, s:b, s:b, s:b, s:b, s:b, s:i,"
                " s:i, s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:i,"
                " s:s, s:s, s:s, s:s, s:s, s:o, s:n, s:O, s:{s:{s:s,"
                " s:s, s:s}, s:s}, s:o, s:o, s:o}",
                "Id", c->id, "Created", c->created, "Path", c->path ?: "",
                "Args", c->args ? json_incref(c->args) : json_array(), "State",
                "Status", ctr_status_name(c->status), "Running", running,
                "Paused", c->status == CTR_PAUSED, "Restarting",
                c->status == CTR_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
                c->status == CTR_DEAD, "Pid", running ? (int) c->pid : 0,
                "ExitCode", c->exit_code, "Error", c->error ?: "", "StartedAt",
                c->started_at ?: "0001-01-01T00:00:00Z", "FinishedAt",
                c->finished_at ?: "0001-01-01T00:00:00Z", "Image", c->image_id,
                "ResolvConfPath", rc ?: "", "HostnamePath", hn ?: "",
                "HostsPath", hosts ?: "", "LogPath", log ?: "", "Name",
                name ?: "", "RestartCount", c->restart_count, "Driver",
                "overlay2", "Platform", "linux", "MountLabel", "",
                "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs",
                json_array_size(execs) ? execs
                                       : (json_decref(execs), json_null()),
                "SizeRw", "HostConfig", c->hostcfg, "GraphDriver", "Data",
                "UpperDir", upper ?: "", "WorkDir", work ?: "", "MergedDir",
                merged ?: "", "Name", "overlay2", "Mounts", mounts, "Config",
                cfg, "NetworkSettings", network_settings(d, c));
}

static char *command_string(struct container *c) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fputs(c->path ?: "", f);
        size_t i;
        json_t *a;
        json_array_foreach(c->args, i, a) {
                const char *s = json_string_value(a);
                if (!s)
                        continue;
                if (strpbrk(s, " \t\"'") || !*s)
                        fprintf(f, " '%s'", s);
                else
                        fprintf(f, " %s", s);
        }
        fclose(f);
        return buf;
}

static char *status_text(struct container *c) {
        char dur[64];
        time_t now = time(NULL);
        switch (c->status) {
        case CTR_RUNNING:
        case CTR_PAUSED:
                human_duration(dur, sizeof(dur),
                               now - rfc3339_to_unix(c->started_at));
                return str_printf("Up %s%s", dur,
                                  c->status == CTR_PAUSED ? " (Paused)" : "");
        case CTR_RESTARTING:
                human_duration(dur, sizeof(dur),
                               now - rfc3339_to_unix(c->finished_at));
                return str_printf("Restarting (%d) %s ago", c->exit_code, dur);
        case CTR_EXITED:
                if (!c->has_started)
                        return strdup("Created");
                human_duration(dur, sizeof(dur),
                               now - rfc3339_to_unix(c->finished_at));
                return str_printf("Exited (%d) %s ago", c->exit_code, dur);
        case CTR_REMOVING:
                return strdup("Removal In Progress");
        case CTR_DEAD:
                return strdup("Dead");
        default:
                return strdup("Created");
        }
}

json_t *ctr_summary(struct daemon *d, struct container *c) {
        (void) d;
        _cleanup_free_ char *cmd = command_string(c);
        _cleanup_free_ char *status = status_text(c);
        _cleanup_free_ char *name = str_printf("/%s", c->name);
        const char *state = ctr_status_name(c->status);
        if (c->status == CTR_EXITED && !c->has_started)
                state = "created";
        json_t *mounts = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(c->mounts, i, m) {
                json_t *cp = json_deep_copy(m);
                json_object_del(cp, "Anonymous");
                json_array_append_new(mounts, cp);
        }
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        json_t *ns = net_settings_json(d, c);
        json_t *nets = json_incref(json_object_get(ns, "Networks"));
        json_decref(ns);
        json_t *labels = json_object_get(c->config, "Labels");
        return json_pack(
                "{s:s, s:[s], s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s,"
                " s:{s:s}, s:{s:o}, s:o}",
                "Id", c->id, "Names", name ?: "", "Image", c->image_ref,
                "ImageID", c->image_id, "Command", cmd ?: "", "Created",
                (json_int_t) rfc3339_to_unix(c->created), "Ports",
                ports_json(c, true), "Labels",
                labels ? json_incref(labels) : json_object(), "State", state,
                "Status", status ?: "", "HostConfig", "NetworkMode",
                nm ?: "default", "NetworkSettings", "Networks",
                nets ? nets : json_object(), "Mounts", mounts);
}

/* ---- list with filters ---- */

static json_t *filter_values(json_t *filters, const char *key) {
        json_t *f = json_object_get(filters, key);
        if (!f)
                return NULL;
        json_t *list = json_array();
        const char *k;
        json_t *v;
        size_t i;
        if (json_is_object(f))
                json_object_foreach(f, k, v)
                        json_array_append_new(list, json_string(k));
        else if (json_is_array(f))
                json_array_foreach(f, i, v) json_array_append(list, v);
        return list;
}

static bool match_any(json_t *vals,
                      bool (*fn)(struct container *, const char *),
                      struct container *c) {
        if (!vals)
                return true;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) {
                const char *s = json_string_value(v);
                if (s && fn(c, s))
                        return true;
        }
        return json_array_size(vals) == 0;
}

static bool m_name(struct container *c, const char *s) {
        const char *p = s[0] == '/' ? s + 1 : s;
        return strstr(c->name, p) != NULL;
}
static bool m_id(struct container *c, const char *s) {
        return str_startswith(c->id, s);
}
static bool m_status(struct container *c, const char *s) {
        const char *st = ctr_status_name(c->status);
        if (c->status == CTR_EXITED && !c->has_started)
                st = "created";
        return strcmp(st, s) == 0;
}
static bool m_exited(struct container *c, const char *s) {
        return c->status == CTR_EXITED && c->has_started &&
               c->exit_code == atoi(s);
}
static bool m_label(struct container *c, const char *s) {
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *key =
                eq ? strndup(s, (size_t) (eq - s)) : strdup(s);
        const char *have = json_string_value(
                json_object_get(json_object_get(c->config, "Labels"), key));
        return have && (!eq || strcmp(have, eq + 1) == 0);
}
static bool m_ancestor(struct container *c, const char *s) {
        return strcmp(c->image_ref, s) == 0 ||
               str_startswith(c->image_id + 7, s) ||
               strcmp(c->image_id, s) == 0;
}
static bool m_volume(struct container *c, const char *s) {
        size_t i;
        json_t *m;
        json_array_foreach(c->mounts, i, m) {
                const char *n = json_string_value(json_object_get(m, "Name"));
                const char *dst =
                        json_string_value(json_object_get(m, "Destination"));
                if ((n && !strcmp(n, s)) || (dst && !strcmp(dst, s)))
                        return true;
        }
        return false;
}

static bool m_network(struct container *c, const char *s) {
        const char *nm =
                json_string_value(json_object_get(c->hostcfg, "NetworkMode"));
        if (nm && !strcmp(nm, s))
                return true;
        const char *k;
        json_t *v;
        json_object_foreach(c->netcfg, k, v) {
                const char *id =
                        json_string_value(json_object_get(v, "NetworkID"));
                if (!strcmp(k, s) || (id && *s && str_startswith(id, s)))
                        return true;
        }
        return false;
}

/* "80", "80/udp", "8000-8080[/tcp]" against port `p` of protocol
 * `proto`. */
static bool port_spec_matches(const char *s, unsigned p, const char *proto) {
        const char *slash = strchr(s, '/');
        if (slash && strcmp(slash + 1, proto))
                return false;
        char *end;
        unsigned long lo = strtoul(s, &end, 10), hi = lo;
        if (end == s)
                return false;
        if (*end == '-')
                hi = strtoul(end + 1, &end, 10);
        if (*end && *end != '/')
                return false;
        return p >= lo && p <= hi;
}

static bool m_publish(struct container *c, const char *s) {
        for (size_t i = 0; i < c->n_ports; i++)
                if (port_spec_matches(s, c->ports[i].ctr_port,
                                      c->ports[i].udp ? "udp" : "tcp"))
                        return true;
        return false;
}

static bool m_expose(struct container *c, const char *s) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(c->config, "ExposedPorts"), k, v) {
                const char *slash = strchr(k, '/');
                if (port_spec_matches(s, (unsigned) atoi(k),
                                      slash ? slash + 1 : "tcp"))
                        return true;
        }
        return false;
}

static void list_containers(struct daemon *d, struct http_req *r) {
        bool all = http_query_bool(r, "all", false);
        const char *lim = http_query(r, "limit");
        int limit = lim ? atoi(lim) : -1;
        json_t *filters = NULL;
        const char *fs = http_query(r, "filters");
        if (fs && *fs) {
                filters = json_loads(fs, 0, NULL);
                if (!json_is_object(filters)) {
                        json_decref(filters);
                        http_reply_error(r, 400, "invalid filter '%s'", fs);
                        return;
                }
        }
        json_t *fname = filter_values(filters, "name");
        json_t *fid = filter_values(filters, "id");
        json_t *fstatus = filter_values(filters, "status");
        json_t *fexited = filter_values(filters, "exited");
        json_t *flabel = filter_values(filters, "label");
        json_t *fanc = filter_values(filters, "ancestor");
        json_t *fvol = filter_values(filters, "volume");
        json_t *fnet = filter_values(filters, "network");
        json_t *fpub = filter_values(filters, "publish");
        json_t *fexp = filter_values(filters, "expose");
        if (fstatus || fexited)
                all = true;
        /* Newest first, like docker. */
        size_t n = 0;
        for (struct container *c = d->containers; c; c = c->next)
                n++;
        struct container **v = calloc(n ? n : 1, sizeof(*v));
        size_t k = 0;
        for (struct container *c = d->containers; c && v; c = c->next)
                v[k++] = c;
        for (size_t i = 1; i < k; i++)
                for (size_t j = i;
                     j > 0 && strcmp(v[j - 1]->created, v[j]->created) < 0;
                     j--) {
                        struct container *t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                }
        if (limit > 0)
                all = true;
        json_t *out = json_array();
        for (size_t i = 0; i < k; i++) {
                struct container *c = v[i];
                bool running = c->status == CTR_RUNNING ||
                               c->status == CTR_PAUSED ||
                               c->status == CTR_RESTARTING;
                if (!all && !running)
                        continue;
                if (!match_any(fname, m_name, c) || !match_any(fid, m_id, c) ||
                    !match_any(fstatus, m_status, c) ||
                    !match_any(fexited, m_exited, c) ||
                    !match_any(fanc, m_ancestor, c) ||
                    !match_any(fvol, m_volume, c) ||
                    !match_any(fnet, m_network, c) ||
                    !match_any(fpub, m_publish, c) ||
                    !match_any(fexp, m_expose, c))
                        continue;
                bool labels_ok = true;
                size_t li;
                json_t *lv;
                json_array_foreach(
                        flabel, li,
                        lv) if (!m_label(c, json_string_value(lv) ?: ""))
                        labels_ok = false;
                if (!labels_ok)
                        continue;
                if (limit > 0 && (int) json_array_size(out) >= limit)
                        break;
                json_array_append_new(out, ctr_summary(d, c));
        }
        free(v);
        json_decref(fname);
        json_decref(fid);
        json_decref(fstatus);
        json_decref(fexited);
        json_decref(flabel);
        json_decref(fanc);
        json_decref(fvol);
        json_decref(fnet);
        json_decref(fpub);
        json_decref(fexp);
        json_decref(filters);
        http_reply_json(r, 200, out);
}

/* ---- wait, stop, restart ---- */

struct wait_ctx {
        struct http_stream *stream;
        bool gone;
        bool fired;
        bool removed_kind;
};

static void wait_gone(void *ud) {
        struct wait_ctx *w = ud;
        w->gone = true;
        /* MHD dropped the response; the stream is ours to release. */
        http_stream_close(w->stream);
        w->stream = NULL;
        if (w->fired)
                free(w);
}

static void wait_done(struct daemon *d, struct container *c, void *ud) {
        struct wait_ctx *w = ud;
        (void) d;
        if (w->gone) {
                free(w);
                return;
        }
        w->fired = true;
        json_t *j =
                json_pack("{s:i, s:n}", "StatusCode", c->exit_code, "Error");
        if (c->error && *c->error && c->status != CTR_EXITED)
                json_object_set_new(j, "Error",
                                    json_pack("{s:s}", "Message", c->error));
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (text) {
                http_stream_write(w->stream, text, strlen(text));
                http_stream_write(w->stream, "\n", 1);
                free(text);
        }
        http_stream_set_gone(w->stream, NULL, NULL);
        http_stream_close(w->stream);
        free(w);
}

static void handle_wait(struct daemon *d, struct container *c,
                        struct http_req *r) {
        const char *cond = http_query(r, "condition");
        if (cond && *cond && strcmp(cond, "not-running") &&
            strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
                http_reply_error(r, 400, "invalid condition: \"%s\"", cond);
                return;
        }
        struct wait_ctx *w = calloc(1, sizeof(*w));
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        /* Headers go out now: the CLI sends /start only after they came
         * (DOCKER-API.md, "/wait must send its headers immediately"). */
        w->stream = http_stream_open(r, 200, "application/json", wait_gone, w);
        if (!w->stream) {
                free(w);
                return;
        }
        ctr_add_waiter(d, c, cond, wait_done, w);
}

struct stop_ctx {
        struct http_req *r;
        bool restart;
        char id[65];
};

static void stop_done(struct daemon *d, struct container *c, void *ud) {
        struct stop_ctx *s = ud;
        if (s->restart) {
                struct berr e = {0};
                struct container *cc = ctr_by_id(d, s->id);
                int r = cc ? ctr_start(d, cc, &e) : -ENOENT;
                if (r < 0 && r != -EALREADY)
                        http_reply_errno(s->r, r,
                                         e.msg[0] ? e.msg
                                                  : "container is gone");
                else {
                        event_emit(d, "container", "restart", s->id, NULL);
                        http_reply_status(s->r, 204);
                }
        } else
                http_reply_status(s->r, 204);
        (void) c;
        free(s);
}

static int query_int(struct http_req *r, const char *key, int def) {
        const char *v = http_query(r, key);
        int n;
        if (!v || !*v || parse_int(v, &n) < 0)
                return def;
        return n;
}

static void handle_stop(struct daemon *d, struct container *c,
                        struct http_req *r, bool restart) {
        const char *sigs = http_query(r, "signal");
        int sig = 0;
        if (sigs && *sigs) {
                sig = signal_parse(sigs);
                if (sig <= 0) {
                        http_reply_error(r, 400, "Invalid signal: %s", sigs);
                        return;
                }
        }
        int t = query_int(r, "t", -1);
        struct stop_ctx *s = calloc(1, sizeof(*s));
        if (!s) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        s->r = r;
        s->restart = restart;
        memcpy(s->id, c->id, sizeof(s->id));
        http_defer(r);
        struct berr e = {0};
        bool was_running = c->status == CTR_RUNNING || c->status == CTR_PAUSED;
        if (!was_running && !restart) {
                free(s);
                ctr_stop(d, c, sig, t, NULL, NULL, &e);
                http_reply_status(r, 304);
                return;
        }
        if (!was_running) {
                ctr_stop(d, c, sig, t, NULL, NULL, &e);
                stop_done(d, c, s);
                return;
        }
        ctr_stop(d, c, sig, t, stop_done, s, &e);
}

/* ---- attach ---- */

struct attach_ctx {
        struct daemon *d;
        char id[65];
        bool in, out, err, mux;
};

static void attach_hijacked(int fd, const char *extra, size_t extra_len,
                            void *ud) {
        struct attach_ctx *a = ud;
        struct container *c = ctr_by_id(a->d, a->id);
        (void) extra;
        (void) extra_len;
        if (!c) {
                close(fd);
        } else
                ctr_pass_attach(a->d, c, fd, a->in, a->out, a->err, a->mux);
        free(a);
}

static void handle_attach(struct daemon *d, struct container *c,
                          struct http_req *r) {
        if (c->status == CTR_EXITED && c->has_started &&
            !http_query_bool(r, "logs", false)) {
                /* docker lets a client attach to a stopped container only
                 * to start it (start -a); accept and queue like created. */
        }
        struct attach_ctx *a = calloc(1, sizeof(*a));
        if (!a) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        a->d = d;
        memcpy(a->id, c->id, sizeof(a->id));
        a->in = http_query_bool(r, "stdin", false);
        a->out = http_query_bool(r, "stdout", false);
        a->err = http_query_bool(r, "stderr", false);
        bool tty = json_is_true(json_object_get(c->config, "Tty"));
        a->mux = !tty;
        const char *ct = !tty && http_version(r) >= 142
                                 ? "application/vnd.docker.multiplexed-stream"
                                 : "application/vnd.docker.raw-stream";
        http_hijack(r, ct, attach_hijacked, a);
}

/* ---- top, stats ---- */

/* `top` runs ps on the host, as docker's does, and filters its output to
 * the container's pids.  ps is a child the loop watches: its output is
 * read as it comes, bounded, and a ps that takes too long is killed; the
 * loop never waits for it. */
#define TOP_OUT_MAX    (16u << 20)
#define TOP_TIMEOUT_MS 10000

struct top_job {
        struct daemon *d;
        struct http_req *r;
        pid_t *pids;
        size_t n;
        char *args;
        char *out;
        size_t len, cap;
        int fd;
        pid_t pid;
        bool eof, exited, too_big, timed_out;
        int status;
        struct loop_timer *timer;
};

static void top_free(struct top_job *t) {
        if (t->fd >= 0) {
                loop_del_fd(t->d->loop, t->fd);
                close(t->fd);
        }
        if (t->timer)
                loop_cancel_timer(t->d->loop, t->timer);
        free(t->pids);
        free(t->args);
        free(t->out);
        free(t);
}

static void top_reply(struct top_job *t) {
        struct http_req *r = t->r;
        pid_t *pids = t->pids;
        size_t n = t->n;
        const char *args = t->args;
        char *out = t->out;
        if (t->too_big) {
                http_reply_error(r, 500,
                                 "Error running ps %s: its output passed %u "
                                 "bytes",
                                 args, TOP_OUT_MAX);
                return;
        }
        if (!out || !WIFEXITED(t->status) || WEXITSTATUS(t->status) != 0) {
                http_reply_error(r, 500, "Error running ps %s: %s", args,
                                 t->timed_out ? "ps did not finish in 10 s"
                                              : "ps failed (bad ps_args?)");
                return;
        }
        json_t *titles = json_array();
        json_t *procs = json_array();
        char *save = NULL;
        char *line = strtok_r(out, "\n", &save);
        int pid_col = -1;
        int ncols = 0;
        if (line) {
                char *s2 = NULL;
                for (char *w = strtok_r(line, " \t", &s2); w;
                     w = strtok_r(NULL, " \t", &s2)) {
                        if (strcmp(w, "PID") == 0)
                                pid_col = ncols;
                        json_array_append_new(titles, json_string(w));
                        ncols++;
                }
        }
        while ((line = strtok_r(NULL, "\n", &save))) {
                json_t *row = json_array();
                char *s2 = line;
                for (int col = 0; col < ncols; col++) {
                        while (*s2 == ' ' || *s2 == '\t')
                                s2++;
                        if (col == ncols - 1) {
                                json_array_append_new(row, json_string(s2));
                                break;
                        }
                        char *end = s2 + strcspn(s2, " \t");
                        json_array_append_new(
                                row, json_stringn(s2, (size_t) (end - s2)));
                        s2 = end;
                }
                bool keep = pid_col < 0;
                if (pid_col >= 0) {
                        int ppid = atoi(json_string_value(json_array_get(
                                                row, (size_t) pid_col))
                                                ?: "0");
                        for (size_t i = 0; i < n; i++)
                                if (pids[i] == ppid)
                                        keep = true;
                }
                if (keep)
                        json_array_append_new(procs, row);
                else
                        json_decref(row);
        }
        http_reply_json(
                r, 200,
                json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs));
}

static void top_maybe_done(struct top_job *t) {
        if (!t->eof || !t->exited)
                return;
        top_reply(t);
        top_free(t);
}

static void top_on_output(int fd, uint32_t events, void *ud) {
        struct top_job *t = ud;
        (void) events;
        for (;;) {
                if (t->cap - t->len < 4096) {
                        size_t cap = t->cap ? t->cap * 2 : 16384;
                        if (cap > TOP_OUT_MAX + 1) {
                                t->too_big = true;
                                break;
                        }
                        char *nb = realloc(t->out, cap + 1);
                        if (!nb) {
                                t->too_big = true;
                                break;
                        }
                        t->out = nb;
                        t->cap = cap;
                }
                ssize_t k = read(fd, t->out + t->len, t->cap - t->len);
                if (k > 0) {
                        t->len += (size_t) k;
                        t->out[t->len] = 0;
                        continue;
                }
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                break; /* end of output, or an error: done reading */
        }
        loop_del_fd(t->d->loop, fd);
        close(fd);
        t->fd = -1;
        t->eof = true;
        top_maybe_done(t);
}

static void top_on_exit(pid_t pid, int status, void *ud) {
        struct top_job *t = ud;
        (void) pid;
        t->exited = true;
        t->status = status;
        top_maybe_done(t);
}

static void top_on_timeout(void *ud) {
        struct top_job *t = ud;
        t->timer = NULL;
        t->timed_out = true;
        /* The child is watched: killed, it is reaped and the reply
         * follows; its output ends with it. */
        if (!t->exited)
                kill(t->pid, SIGKILL);
}

static void handle_top(struct daemon *d, struct container *c,
                       struct http_req *r) {
        if (c->status != CTR_RUNNING && c->status != CTR_PAUSED) {
                http_reply_error(r, 409, "Container %s is not running", c->id);
                return;
        }
        struct runtime_opts ro = {.root = d->runtime_root};
        struct berr e = {0};
        struct top_job *t = calloc(1, sizeof(*t));
        if (!t) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        t->d = d;
        t->r = r;
        t->fd = -1;
        int rr = container_pids(&ro, c->id, &t->pids, &t->n, &e);
        if (rr < 0) {
                top_free(t);
                http_reply_errno(r, rr, e.msg);
                return;
        }
        const char *args = http_query(r, "ps_args");
        t->args = strdup(args && *args ? args : "-ef");
        /* Arguments are split on spaces, never handed to a shell. */
        char *argv[64];
        int argc = 0;
        _cleanup_free_ char *copy = t->args ? strdup(t->args) : NULL;
        if (!copy) {
                top_free(t);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        argv[argc++] = (char *) "ps";
        for (char *tok = strtok(copy, " "); tok && argc < 62;
             tok = strtok(NULL, " "))
                argv[argc++] = tok;
        argv[argc] = NULL;
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                top_free(t);
                http_reply_error(r, 500, "pipe: %s", strerror(errno));
                return;
        }
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (nul >= 0)
                        dup2(nul, 2);
                /* ps writes to a blocking pipe */
                fcntl(1, F_SETFL, 0);
                execvp("ps", argv);
                _exit(127);
        }
        close(p[1]);
        t->fd = p[0];
        if (pid < 0 ||
            loop_add_fd(d->loop, t->fd, EPOLLIN, top_on_output, t) < 0) {
                int err = errno;
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
                close(t->fd);
                t->fd = -1;
                top_free(t);
                http_reply_error(r, 500, "run ps: %s", strerror(err));
                return;
        }
        t->pid = pid;
        if (loop_watch_child(d->loop, pid, top_on_exit, t) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &t->status, 0);
                t->exited = true;
        }
        t->timer = loop_add_timer(d->loop, TOP_TIMEOUT_MS, top_on_timeout, t);
        http_defer(r);
}

static uint64_t read_u64_file(const char *path) {
        _cleanup_free_ char *t = NULL;
        size_t len;
        uint64_t v = 0;
        if (read_file_at(AT_FDCWD, path, 4096, &t, &len) >= 0) {
                t[strcspn(t, "\n")] = '\0';
                if (strcmp(t, "max") == 0)
                        return UINT64_MAX;
                parse_u64(t, &v);
        }
        return v;
}

/* A sample of the container's cgroup counters (v1 or v2). */
static json_t *stats_sample(struct container *c) {
        char p[512];
        uint64_t mem, limit, cpu, pids;
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
        if (v2) {
                snprintf(p, sizeof(p), "/sys/fs/cgroup/berth/%s/memory.current",
                         c->id);
                mem = read_u64_file(p);
                snprintf(p, sizeof(p), "/sys/fs/cgroup/berth/%s/memory.max",
                         c->id);
                limit = read_u64_file(p);
                snprintf(p, sizeof(p), "/sys/fs/cgroup/berth/%s/pids.current",
                         c->id);
                pids = read_u64_file(p);
                snprintf(p, sizeof(p), "/sys/fs/cgroup/berth/%s/cpu.stat",
                         c->id);
                _cleanup_free_ char *t = NULL;
                size_t len;
                cpu = 0;
                if (read_file_at(AT_FDCWD, p, 65536, &t, &len) >= 0) {
                        char *u = strstr(t, "usage_usec ");
                        if (u)
                                cpu = strtoull(u + 11, NULL, 10) * 1000;
                }
        } else {
                snprintf(p, sizeof(p),
                         "/sys/fs/cgroup/memory/berth/%s/memory.usage_in_bytes",
                         c->id);
                mem = read_u64_file(p);
                snprintf(p, sizeof(p),
                         "/sys/fs/cgroup/memory/berth/%s/memory.limit_in_bytes",
                         c->id);
                limit = read_u64_file(p);
                snprintf(p, sizeof(p),
                         "/sys/fs/cgroup/pids/berth/%s/pids.current", c->id);
                pids = read_u64_file(p);
                snprintf(p, sizeof(p),
                         "/sys/fs/cgroup/cpuacct/berth/%s/cpuacct.usage",
                         c->id);
                cpu = read_u64_file(p);
        }
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (limit == 0 || limit > (uint64_t) 1 << 62) {
                long pages = sysconf(_SC_PHYS_PAGES);
                limit = (uint64_t) pages * (uint64_t) sysconf(_SC_PAGESIZE);
        }
        /* system_cpu_usage: total host cpu time in ns (/proc/stat). */
        uint64_t sys = 0;
        _cleanup_free_ char *st = NULL;
        size_t len;
        if (read_file_at(AT_FDCWD, "/proc/stat", 1 << 20, &st, &len) >= 0) {
                unsigned long long v[8] = {0};
                sscanf(st, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
                for (int i = 0; i < 8; i++)
                        sys += v[i];
                sys = sys * (1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK));
        }
        char now[64];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        format_rfc3339(now, sizeof(now), ts.tv_sec, ts.tv_nsec);
        return json_pack(
                "{s:s, s:{s:I}, s:{s:{s:I, s:I, s:I}, s:I, s:i, s:{s:i, s:i,"
                " s:i}}, s:{s:I, s:I, s:{}}}",
                "read", now, "pids_stats", "current", (json_int_t) pids,
                "cpu_stats", "cpu_usage", "total_usage", (json_int_t) cpu,
                "usage_in_kernelmode", (json_int_t) 0, "usage_in_usermode",
                (json_int_t) 0, "system_cpu_usage", (json_int_t) sys,
                "online_cpus", (int) ncpu, "throttling_data", "periods", 0,
                "throttled_periods", 0, "throttled_time", 0, "memory_stats",
                "usage", (json_int_t) mem, "limit", (json_int_t) limit,
                "stats");
}

struct stats_ctx {
        struct daemon *d;
        struct http_req *r;
        char id[65];
        json_t *first;
};

static void stats_second(void *ud) {
        struct stats_ctx *s = ud;
        struct container *c = ctr_by_id(s->d, s->id);
        if (!c) {
                http_reply_error(s->r, 404, "No such container: %s", s->id);
        } else {
                json_t *j = stats_sample(c);
                json_object_set(j, "precpu_stats",
                                json_object_get(s->first, "cpu_stats"));
                json_object_set(j, "preread",
                                json_object_get(s->first, "read"));
                _cleanup_free_ char *name = str_printf("/%s", c->name);
                json_object_set_new(j, "name", json_string(name ?: ""));
                json_object_set_new(j, "id", json_string(c->id));
                http_reply_json(s->r, 200, j);
        }
        json_decref(s->first);
        free(s);
}

static void handle_stats(struct daemon *d, struct container *c,
                         struct http_req *r) {
        struct stats_ctx *s = calloc(1, sizeof(*s));
        if (!s) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        s->d = d;
        s->r = r;
        memcpy(s->id, c->id, sizeof(s->id));
        s->first = stats_sample(c);
        http_defer(r);
        /* Two samples, so the client can compute CPU usage.  Streaming
         * (stream=1) sends one-shot samples only for now. */
        if (http_query_bool(r, "one-shot", false)) {
                stats_second(s);
                return;
        }
        loop_add_timer(d->loop, 500, stats_second, s);
}

/* ---- exec ---- */

static struct exec_inst *exec_find(struct daemon *d, const char *id) {
        for (struct exec_inst *x = d->execs; x; x = x->next)
                if (strcmp(x->id, id) == 0)
                        return x;
        return NULL;
}

static void exec_refresh(struct daemon *d, struct exec_inst *x);

/* A container that lives long and is exec'd into often (health probes, CI
 * steps) would otherwise keep a record per exec for ever: at EXEC_KEEP,
 * learn which have ended and drop those older than the newest half. */
static void exec_prune(struct daemon *d, struct container *c) {
        size_t n = 0;
        for (struct exec_inst *x = d->execs; x; x = x->next)
                if (x->ctr == c)
                        n++;
        if (n < EXEC_KEEP)
                return;
        for (struct exec_inst *x = d->execs; x; x = x->next)
                if (x->ctr == c)
                        exec_refresh(d, x);
        exec_drop(d, c, EXEC_KEEP / 2);
}

static void exec_create(struct daemon *d, struct container *c,
                        struct http_req *r) {
        json_t *body = http_body_json(r, false);
        if (!body)
                return;
        if (c->status != CTR_RUNNING) {
                http_reply_error(r, 409, "Container %s is not running", c->id);
                json_decref(body);
                return;
        }
        if (c->status == CTR_PAUSED) {
                http_reply_error(r, 409,
                                 "Container %s is paused, unpause the "
                                 "container before exec",
                                 c->id);
                json_decref(body);
                return;
        }
        json_t *cmd = json_object_get(body, "Cmd");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
                http_reply_error(r, 400, "No exec command specified");
                json_decref(body);
                return;
        }
        exec_prune(d, c);
        struct exec_inst *x = calloc(1, sizeof(*x));
        if (!x) {
                json_decref(body);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        random_hex(x->id, 32);
        x->ctr = c;
        memcpy(x->ctr_id, c->id, sizeof(x->ctr_id));
        x->body = body;
        x->next = d->execs;
        d->execs = x;
        event_emit(d, "container", "exec_create", c->id, NULL);
        http_reply_json(r, 201, json_pack("{s:s}", "Id", x->id));
}

/* The process for an exec: the container's own (env, caps, rlimits,
 * apparmor...) from its bundle, with what the exec asks changed. */
static json_t *exec_process(struct daemon *d, struct exec_inst *x,
                            struct berr *err) {
        _cleanup_free_ char *path = str_printf(
                "%s/containers/%s/bundle/config.json", d->data_root, x->ctr_id);
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (!path)
                return NULL;
        if (read_file_at(AT_FDCWD, path, 16 << 20, &text, &len) < 0) {
                berr_setx(err, ENOENT, "read the config of container %s",
                          x->ctr_id);
                return NULL;
        }
        json_t *spec = json_loadb(text, len, 0, NULL);
        json_t *proc = json_deep_copy(json_object_get(spec, "process"));
        json_decref(spec);
        if (!proc) {
                berr_setx(err, EINVAL, "container %s has no process",
                          x->ctr_id);
                return NULL;
        }
        json_t *b = x->body;
        json_object_set(proc, "args", json_object_get(b, "Cmd"));
        bool tty = json_is_true(json_object_get(b, "Tty"));
        json_object_set_new(proc, "terminal", json_boolean(tty));
        json_object_del(proc, "consoleSize");
        json_t *cs = json_object_get(b, "ConsoleSize");
        if (tty && json_array_size(cs) == 2)
                json_object_set_new(proc, "consoleSize",
                                    json_pack("{s:O, s:O}", "height",
                                              json_array_get(cs, 0), "width",
                                              json_array_get(cs, 1)));
        const char *wd = json_string_value(json_object_get(b, "WorkingDir"));
        if (wd && *wd) {
                if (wd[0] != '/') {
                        berr_setx(err, EINVAL,
                                  "the working directory '%s' is invalid, it "
                                  "needs to be an absolute path",
                                  wd);
                        json_decref(proc);
                        return NULL;
                }
                json_object_set_new(proc, "cwd", json_string(wd));
        }
        json_t *env = json_object_get(proc, "env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(proc, "env", env);
        }
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(b, "Env"), i, e) {
                const char *s = json_string_value(e);
                if (!s)
                        continue;
                size_t k = strcspn(s, "=");
                bool done = false;
                size_t j;
                json_t *o;
                json_array_foreach(env, j, o) {
                        const char *os = json_string_value(o);
                        if (os && strncmp(os, s, k) == 0 && os[k] == '=') {
                                json_array_set(env, j, e);
                                done = true;
                                break;
                        }
                }
                if (!done)
                        json_array_append(env, e);
        }
        if (tty) {
                bool has_term = false;
                json_array_foreach(
                        env, i,
                        e) if (str_startswith(json_string_value(e) ?: "",
                                              "TERM=")) has_term = true;
                if (!has_term)
                        json_array_append_new(env, json_string("TERM=xterm"));
        }
        const char *user = json_string_value(json_object_get(b, "User"));
        if (user && *user) {
                unsigned uid = 0, gid = 0;
                char extra;
                int n = sscanf(user, "%u:%u%c", &uid, &gid, &extra);
                if (n == 1)
                        gid = uid;
                if ((n != 1 && n != 2) ||
                    strspn(user, "0123456789:") != strlen(user)) {
                        berr_setx(err, EINVAL,
                                  "exec -u: only numeric uid[:gid] is "
                                  "supported yet, not '%s'",
                                  user);
                        json_decref(proc);
                        return NULL;
                }
                json_object_set_new(proc, "user",
                                    json_pack("{s:i, s:i}", "uid", (int) uid,
                                              "gid", (int) gid));
        }
        if (json_is_true(json_object_get(b, "Privileged"))) {
                /* All capabilities the kernel knows. */
                json_t *caps = json_array();

                for (size_t k = 0; k < specgen_n_all_caps; k++)
                        json_array_append_new(caps,
                                              json_string(specgen_all_caps[k]));
                json_t *c = json_object_get(proc, "capabilities");
                if (!json_is_object(c)) {
                        c = json_object();
                        json_object_set_new(proc, "capabilities", c);
                }
                json_object_set(c, "bounding", caps);
                json_object_set(c, "effective", caps);
                json_object_set(c, "permitted", caps);
                json_decref(caps);
        }
        return proc;
}

struct exec_start_ctx {
        struct daemon *d;
        char id[65];
        bool in, out, err, mux, tty;
};

static int exec_launch(struct daemon *d, struct exec_inst *x, int fd,
                       bool detach, struct berr *err) {
        struct container *c = x->ctr;
        if (!c || c->status != CTR_RUNNING)
                return berr_setx(err, EBUSY, "Container %s is not running",
                                 x->ctr_id);
        json_t *proc = exec_process(d, x, err);
        if (!proc)
                return -EINVAL;
        json_t *b = x->body;
        bool tty = json_is_true(json_object_get(b, "Tty"));
        json_t *req = json_pack(
                "{s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:b}", "op", "exec",
                "exec_id", x->id, "process", proc, "stdin",
                !detach && json_is_true(json_object_get(b, "AttachStdin")),
                "stdout",
                !detach && json_is_true(json_object_get(b, "AttachStdout")),
                "stderr",
                !detach && json_is_true(json_object_get(b, "AttachStderr")),
                "mux", !tty, "detach", detach);
        json_t *ans = NULL;
        x->running = true;
        x->started = true;
        int r = ctr_shim_call(d, c, req, fd, &ans, err);
        if (r < 0) {
                x->running = false;
                x->exit_code = strstr(err->msg, "not found") ||
                                               strstr(err->msg, "no such file")
                                       ? 127
                                       : 126;
                return r;
        }
        x->pid = (pid_t) json_integer_value(json_object_get(ans, "pid"));
        json_decref(ans);
        event_emit(d, "container", "exec_start", c->id, NULL);
        return 0;
}

static void exec_hijacked(int fd, const char *extra, size_t extra_len,
                          void *ud) {
        struct exec_start_ctx *s = ud;
        struct exec_inst *x = exec_find(s->d, s->id);
        (void) extra;
        (void) extra_len;
        struct berr e = {0};
        if (!x || exec_launch(s->d, x, fd, false, &e) < 0) {
                /* The 101 is out: report the failure on the stream, as
                 * moby does, as text the client shows. */
                const char *msg = x ? e.msg : "exec instance is gone";
                char line[1200];
                int n = snprintf(line, sizeof(line),
                                 "OCI runtime exec failed: unable to start "
                                 "container process: %s\r\n",
                                 msg);
                if (n >= (int) sizeof(line))
                        n = (int) sizeof(line) - 1;
                /* moby writes it as stdout text; the CLI then reads the
                 * exit code (126/127) from the exec's inspect. */
                if (s->mux) {
                        unsigned char h[8] = {1,
                                              0,
                                              0,
                                              0,
                                              (unsigned char) (n >> 24),
                                              (unsigned char) (n >> 16),
                                              (unsigned char) (n >> 8),
                                              (unsigned char) n};
                        write_all(fd, h, 8);
                }
                write_all(fd, line, (size_t) n);
        }
        close(fd);
        free(s);
}

static void exec_start(struct daemon *d, struct exec_inst *x,
                       struct http_req *r) {
        json_t *body = http_body_json(r, true);
        if (!body)
                return;
        if (x->started) {
                json_decref(body);
                http_reply_error(r, 409, "Exec %s has already been started",
                                 x->id);
                return;
        }
        if (!x->ctr || x->ctr->status != CTR_RUNNING) {
                json_decref(body);
                http_reply_error(r, 409, "Container %s is not running",
                                 x->ctr_id);
                return;
        }
        bool detach = json_is_true(json_object_get(body, "Detach"));
        json_t *cs = json_object_get(body, "ConsoleSize");
        if (json_array_size(cs) == 2)
                json_object_set(x->body, "ConsoleSize", cs);
        json_decref(body);
        json_t *b = x->body;
        bool any = json_is_true(json_object_get(b, "AttachStdin")) ||
                   json_is_true(json_object_get(b, "AttachStdout")) ||
                   json_is_true(json_object_get(b, "AttachStderr"));
        if (detach || !any) {
                struct berr e = {0};
                int rr = exec_launch(d, x, -1, true, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply(r, 200, "application/json", "", 0);
                return;
        }
        struct exec_start_ctx *s = calloc(1, sizeof(*s));
        if (!s) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        s->d = d;
        memcpy(s->id, x->id, sizeof(s->id));
        s->tty = json_is_true(json_object_get(b, "Tty"));
        s->mux = !s->tty;
        const char *ct = s->mux && http_version(r) >= 142
                                 ? "application/vnd.docker.multiplexed-stream"
                                 : "application/vnd.docker.raw-stream";
        http_hijack(r, ct, exec_hijacked, s);
}

static void exec_refresh(struct daemon *d, struct exec_inst *x) {
        if (!x->running || !x->ctr)
                return;
        _cleanup_free_ char *rel =
                str_printf("%s/exec-%s.json", x->ctr_id, x->id);
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (rel && read_file_at(d->shims_dirfd, rel, 4096, &text, &len) >= 0) {
                json_t *j = json_loadb(text, len, 0, NULL);
                if (j) {
                        x->exit_code = (int) json_integer_value(
                                json_object_get(j, "exit_code"));
                        x->running = false;
                        json_decref(j);
                }
        }
}

static json_t *exec_inspect(struct daemon *d, struct exec_inst *x) {
        exec_refresh(d, x);
        json_t *b = x->body;
        json_t *cmd = json_object_get(b, "Cmd");
        json_t *args = json_array();
        for (size_t i = 1; i < json_array_size(cmd); i++)
                json_array_append(args, json_array_get(cmd, i));
        return json_pack(
                "{s:s, s:b, s:o, s:b, s:b, s:b, s:b, s:b, s:s, s:s?,"
                " s:{s:s, s:s, s:o, s:b, s:s}, s:i}",
                "ID", x->id, "Running", x->running, "ExitCode",
                x->started && !x->running ? json_integer(x->exit_code)
                                          : json_null(),
                "OpenStdin", json_is_true(json_object_get(b, "AttachStdin")),
                "OpenStderr", json_is_true(json_object_get(b, "AttachStderr")),
                "OpenStdout", json_is_true(json_object_get(b, "AttachStdout")),
                "CanRemove", false, "Privileged",
                json_is_true(json_object_get(b, "Privileged")), "ContainerID",
                x->ctr_id, "DetachKeys",
                json_string_value(json_object_get(b, "DetachKeys")),
                "ProcessConfig", "entrypoint",
                json_string_value(json_array_get(cmd, 0)) ?: "", "user",
                json_string_value(json_object_get(b, "User")) ?: "",
                "arguments", args, "tty",
                json_is_true(json_object_get(b, "Tty")), "workingDir",
                json_string_value(json_object_get(b, "WorkingDir")) ?: "",
                "Pid", x->running ? (int) x->pid : 0);
}

void api_exec(struct daemon *d, struct http_req *r, const char *rest) {
        /* rest: "/ID/start", "/ID/json", "/ID/resize" */
        char id[128];
        const char *slash = strchr(rest + 1, '/');
        if (!slash || (size_t) (slash - rest - 1) >= sizeof(id)) {
                http_reply_error(r, 404, "page not found");
                return;
        }
        snprintf(id, sizeof(id), "%.*s", (int) (slash - rest - 1), rest + 1);
        struct exec_inst *x = exec_find(d, id);
        if (!x) {
                http_reply_error(r, 404, "No such exec instance: %s", id);
                return;
        }
        const char *op = slash + 1;
        const char *m = http_method(r);
        if (strcmp(op, "start") == 0 && strcmp(m, "POST") == 0)
                exec_start(d, x, r);
        else if (strcmp(op, "json") == 0 && strcmp(m, "GET") == 0)
                http_reply_json(r, 200, exec_inspect(d, x));
        else if (strcmp(op, "resize") == 0 && strcmp(m, "POST") == 0) {
                struct berr e = {0};
                if (!x->ctr || !x->running) {
                        http_reply_error(r, 409, "exec %s is not running",
                                         x->id);
                        return;
                }
                int rr = ctr_shim_call(d, x->ctr,
                                       json_pack("{s:s, s:s, s:i, s:i}", "op",
                                                 "resize", "exec_id", x->id,
                                                 "h", query_int(r, "h", 0), "w",
                                                 query_int(r, "w", 0)),
                                       -1, NULL, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply(r, 200, "text/plain", "", 0);
        } else
                http_reply_error(r, 404, "page not found");
}

/* ---- the dispatcher ---- */

static void handle_create(struct daemon *d, struct http_req *r) {
        json_t *body = http_body_json(r, false);
        if (!body)
                return;
        if (!json_is_object(body)) {
                json_decref(body);
                http_reply_error(r, 400,
                                 "config cannot be empty in order "
                                 "to create a container");
                return;
        }
        struct berr e = {0};
        struct container *c = NULL;
        const char *name = http_query(r, "name");
        int rr = ctr_create(d, name, body, &c, &e);
        json_decref(body);
        if (rr < 0) {
                http_reply_errno(r, rr, e.msg);
                return;
        }
        http_reply_json(r, 201,
                        json_pack("{s:s, s:[]}", "Id", c->id, "Warnings"));
}

void api_containers(struct daemon *d, struct http_req *r, const char *rest) {
        const char *m = http_method(r);
        if (strcmp(rest, "/json") == 0 && strcmp(m, "GET") == 0) {
                list_containers(d, r);
                return;
        }
        if (strcmp(rest, "/create") == 0 && strcmp(m, "POST") == 0) {
                handle_create(d, r);
                return;
        }
        if (strcmp(rest, "/prune") == 0 && strcmp(m, "POST") == 0) {
                json_t *deleted = json_array();
                for (struct container *c = d->containers, *n; c; c = n) {
                        n = c->next;
                        if (c->status == CTR_EXITED ||
                            c->status == CTR_CREATED || c->status == CTR_DEAD) {
                                char id[65];
                                memcpy(id, c->id, sizeof(id));
                                struct berr e = {0};
                                if (ctr_remove(d, c, false, &e) == 0)
                                        json_array_append_new(deleted,
                                                              json_string(id));
                        }
                }
                http_reply_json(r, 200,
                                json_pack("{s:o, s:i}", "ContainersDeleted",
                                          deleted, "SpaceReclaimed", 0));
                return;
        }
        if (rest[0] != '/' || !rest[1]) {
                http_reply_error(r, 404, "page not found");
                return;
        }
        char ref[256];
        const char *slash = strchr(rest + 1, '/');
        size_t rl = slash ? (size_t) (slash - rest - 1) : strlen(rest + 1);
        if (rl >= sizeof(ref)) {
                http_reply_error(r, 404, "No such container: %.64s...",
                                 rest + 1);
                return;
        }
        snprintf(ref, sizeof(ref), "%.*s", (int) rl, rest + 1);
        const char *op = slash ? slash + 1 : "";
        struct berr e = {0};
        struct container *c = ctr_find(d, ref, &e);
        if (!c) {
                http_reply_errno(r, e.code ? e.code : ENOENT, e.msg);
                return;
        }
        int rr;
        if (!*op && strcmp(m, "DELETE") == 0) {
                bool force = http_query_bool(r, "force", false);
                bool vols = http_query_bool(r, "v", false);
                rr = force ? ctr_force_remove(d, c, vols, &e)
                           : ctr_remove(d, c, vols, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply_status(r, 204);
        } else if (strcmp(op, "json") == 0 && strcmp(m, "GET") == 0) {
                http_reply_json(r, 200, ctr_inspect(d, c));
        } else if (strcmp(op, "start") == 0 && strcmp(m, "POST") == 0) {
                rr = ctr_start(d, c, &e);
                if (rr == -EALREADY)
                        http_reply_status(r, 304);
                else if (rr < 0) {
                        /* moby reports start failures of the program as
                         * 400 with the runtime's text (the CLI picks 126 or
                         * 127 from it). */
                        int status = (strstr(e.msg, "not found") ||
                                      strstr(e.msg, "ermission denied") ||
                                      strstr(e.msg, "o such file") ||
                                      strstr(e.msg, "is a directory"))
                                             ? 400
                                             : 500;
                        if (rr == -ENOENT && status == 500)
                                status = 404;
                        http_reply_error(r, status, "%s", e.msg);
                        /* moby: an AutoRemove container that could not
                         * start is removed (`run --rm` waits for that). */
                        if (json_is_true(json_object_get(c->hostcfg,
                                                         "AutoRemove"))) {
                                struct berr e2 = {0};
                                ctr_force_remove(d, c, true, &e2);
                        }
                } else
                        http_reply_status(r, 204);
        } else if (strcmp(op, "stop") == 0 && strcmp(m, "POST") == 0) {
                handle_stop(d, c, r, false);
        } else if (strcmp(op, "restart") == 0 && strcmp(m, "POST") == 0) {
                handle_stop(d, c, r, true);
        } else if (strcmp(op, "kill") == 0 && strcmp(m, "POST") == 0) {
                const char *sigs = http_query(r, "signal");
                int sig = sigs && *sigs ? signal_parse(sigs) : SIGKILL;
                if (sig <= 0) {
                        http_reply_error(r, 400, "Invalid signal: %s", sigs);
                        return;
                }
                if (c->status != CTR_RUNNING && c->status != CTR_PAUSED) {
                        http_reply_error(r, 409,
                                         "Cannot kill container: %s: "
                                         "Container %s is not running",
                                         ref, c->id);
                        return;
                }
                if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT)
                        c->manual_stop = sig == SIGKILL ? true : c->manual_stop;
                rr = ctr_kill(d, c, sig, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else {
                        char sb[16];
                        snprintf(sb, sizeof(sb), "%d", sig);
                        event_emit(d, "container", "kill", c->id,
                                   json_pack("{s:s}", "signal", sb));
                        http_reply_status(r, 204);
                }
        } else if (strcmp(op, "wait") == 0 && strcmp(m, "POST") == 0) {
                handle_wait(d, c, r);
        } else if (strcmp(op, "attach") == 0 && strcmp(m, "POST") == 0) {
                handle_attach(d, c, r);
        } else if (strcmp(op, "logs") == 0 && strcmp(m, "GET") == 0) {
                logs_handle(d, c, r);
        } else if (strcmp(op, "resize") == 0 && strcmp(m, "POST") == 0) {
                if (c->status != CTR_RUNNING) {
                        http_reply_error(r, 409, "Container %s is not running",
                                         c->id);
                        return;
                }
                rr = ctr_shim_call(d, c,
                                   json_pack("{s:s, s:n, s:i, s:i}", "op",
                                             "resize", "exec_id", "h",
                                             query_int(r, "h", 0), "w",
                                             query_int(r, "w", 0)),
                                   -1, NULL, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply(r, 200, "text/plain", "", 0);
        } else if (strcmp(op, "rename") == 0 && strcmp(m, "POST") == 0) {
                const char *name = http_query(r, "name");
                rr = ctr_rename(d, c, name ? name : "", &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply_status(r, 204);
        } else if (strcmp(op, "top") == 0 && strcmp(m, "GET") == 0) {
                handle_top(d, c, r);
        } else if (strcmp(op, "stats") == 0 && strcmp(m, "GET") == 0) {
                if (c->status != CTR_RUNNING) {
                        json_t *j = json_pack("{s:s, s:s}", "id", c->id, "name",
                                              c->name);
                        http_reply_json(r, 200, j);
                        return;
                }
                handle_stats(d, c, r);
        } else if (strcmp(op, "exec") == 0 && strcmp(m, "POST") == 0) {
                exec_create(d, c, r);
        } else if ((strcmp(op, "pause") == 0 || strcmp(op, "unpause") == 0) &&
                   strcmp(m, "POST") == 0) {
                bool pause = strcmp(op, "pause") == 0;
                if ((pause && c->status != CTR_RUNNING) ||
                    (!pause && c->status != CTR_PAUSED)) {
                        http_reply_error(r, 409, "Container %s is not %s",
                                         c->id, pause ? "running" : "paused");
                        return;
                }
                struct runtime_opts ro = {.root = d->runtime_root};
                rr = container_pause(&ro, c->id, pause, &e);
                if (rr < 0) {
                        http_reply_errno(r, rr, e.msg);
                        return;
                }
                c->status = pause ? CTR_PAUSED : CTR_RUNNING;
                ctr_save(d, c);
                event_emit(d, "container", op, c->id, NULL);
                http_reply_status(r, 204);
        } else {
                http_reply_error(r, 404, "page not found");
        }
}
