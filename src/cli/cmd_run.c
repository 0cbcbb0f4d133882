/* berth run / create / start / attach / exec: the commands that start
 * processes and connect the terminal to them. */
#include "cli.h"

#include "cleanup.h"
#include "reference.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the container definition from run/create flags ---- */

struct run_flags {
        bool detach, interactive, tty, rm, read_only, privileged, init;
        bool no_healthcheck, publish_all, sig_proxy_off, quiet;
        const char *name, *workdir, *user, *entrypoint, *hostname;
        const char *memory, *memory_swap, *cpus, *cpu_shares, *pids_limit;
        const char *restart, *network, *stop_signal, *stop_timeout;
        const char *log_driver, *platform, *shm_size, *pull, *ip;
        char **env, **env_file, **labels, **volumes, **mounts, **tmpfs;
        char **caps_add, **caps_drop, **security_opt, **ulimits, **add_host;
        char **log_opt, **publish, **expose, **dns, **sysctl, **devices;
        char **label_file, **net_alias;
};

static const struct opt *run_opts(struct run_flags *f) {
        static struct opt o[64];
        struct opt t[] = {
                {"detach", 'd', OPT_BOOL, &f->detach,
                 "Run container in background and print container ID"},
                {"interactive", 'i', OPT_BOOL, &f->interactive,
                 "Keep STDIN open even if not attached"},
                {"tty", 't', OPT_BOOL, &f->tty, "Allocate a pseudo-TTY"},
                {"rm", 0, OPT_BOOL, &f->rm,
                 "Automatically remove the container when it exits"},
                {"name", 0, OPT_STR, &f->name,
                 "Assign a name to the container"},
                {"env", 'e', OPT_LIST, &f->env, "Set environment variables"},
                {"env-file", 0, OPT_LIST, &f->env_file,
                 "Read in a file of environment variables"},
                {"workdir", 'w', OPT_STR, &f->workdir,
                 "Working directory inside the container"},
                {"user", 'u', OPT_STR, &f->user,
                 "Username or UID (format: <name|uid>[:<group|gid>])"},
                {"entrypoint", 0, OPT_STR, &f->entrypoint,
                 "Overwrite the default ENTRYPOINT of the image"},
                {"hostname", 'h', OPT_STR, &f->hostname, "Container host name"},
                {"label", 'l', OPT_LIST, &f->labels,
                 "Set meta data on a container"},
                {"label-file", 0, OPT_LIST, &f->label_file,
                 "Read in a line delimited file of labels"},
                {"memory", 'm', OPT_STR, &f->memory, "Memory limit"},
                {"memory-swap", 0, OPT_STR, &f->memory_swap,
                 "Swap limit equal to memory plus swap: '-1' to enable "
                 "unlimited swap"},
                {"cpus", 0, OPT_STR, &f->cpus, "Number of CPUs"},
                {"cpu-shares", 'c', OPT_STR, &f->cpu_shares,
                 "CPU shares (relative weight)"},
                {"pids-limit", 0, OPT_STR, &f->pids_limit,
                 "Tune container pids limit (set -1 for unlimited)"},
                {"ulimit", 0, OPT_LIST, &f->ulimits, "Ulimit options"},
                {"restart", 0, OPT_STR, &f->restart,
                 "Restart policy to apply when a container exits"},
                {"read-only", 0, OPT_BOOL, &f->read_only,
                 "Mount the container's root filesystem as read only"},
                {"cap-add", 0, OPT_LIST, &f->caps_add,
                 "Add Linux capabilities"},
                {"cap-drop", 0, OPT_LIST, &f->caps_drop,
                 "Drop Linux capabilities"},
                {"privileged", 0, OPT_BOOL, &f->privileged,
                 "Give extended privileges to this container"},
                {"security-opt", 0, OPT_LIST, &f->security_opt,
                 "Security Options"},
                {"init", 0, OPT_BOOL, &f->init,
                 "Run an init inside the container that forwards signals "
                 "and reaps processes"},
                {"stop-signal", 0, OPT_STR, &f->stop_signal,
                 "Signal to stop the container"},
                {"stop-timeout", 0, OPT_STR, &f->stop_timeout,
                 "Timeout (in seconds) to stop a container"},
                {"volume", 'v', OPT_LIST, &f->volumes, "Bind mount a volume"},
                {"mount", 0, OPT_LIST, &f->mounts,
                 "Attach a filesystem mount to the container"},
                {"tmpfs", 0, OPT_LIST, &f->tmpfs, "Mount a tmpfs directory"},
                {"network", 0, OPT_STR, &f->network,
                 "Connect a container to a network"},
                {"net", 0, OPT_STR, &f->network,
                 "Connect a container to a network"},
                {"add-host", 0, OPT_LIST, &f->add_host,
                 "Add a custom host-to-IP mapping (host:ip)"},
                {"dns", 0, OPT_LIST, &f->dns, "Set custom DNS servers"},
                {"network-alias", 0, OPT_LIST, &f->net_alias,
                 "Add network-scoped alias for the container"},
                {"ip", 0, OPT_STR, &f->ip,
                 "IPv4 address (e.g., 172.30.100.104)"},
                {"log-driver", 0, OPT_STR, &f->log_driver,
                 "Logging driver for the container"},
                {"log-opt", 0, OPT_LIST, &f->log_opt, "Log driver options"},
                {"publish", 'p', OPT_LIST, &f->publish,
                 "Publish a container's port(s) to the host"},
                {"publish-all", 'P', OPT_BOOL, &f->publish_all,
                 "Publish all exposed ports to random ports"},
                {"expose", 0, OPT_LIST, &f->expose,
                 "Expose a port or a range of ports"},
                {"sysctl", 0, OPT_LIST, &f->sysctl, "Sysctl options"},
                {"device", 0, OPT_LIST, &f->devices,
                 "Add a host device to the container"},
                {"shm-size", 0, OPT_STR, &f->shm_size, "Size of /dev/shm"},
                {"platform", 0, OPT_STR, &f->platform,
                 "Set platform if server is multi-platform capable"},
                {"pull", 0, OPT_STR, &f->pull,
                 "Pull image before running (\"always\", \"missing\", "
                 "\"never\") (default \"missing\")"},
                {"quiet", 'q', OPT_BOOL, &f->quiet, "Suppress the pull output"},
                {NULL, 0, 0, NULL, NULL},
        };
        memcpy(o, t, sizeof(t));
        return o;
}

static int flag_error(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static int flag_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "berth: ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n\nRun 'berth run --help' for more information\n");
        return -1;
}

static int add_env_file(json_t *env, const char *path) {
        FILE *f = fopen(path, "r");
        if (!f) {
                fprintf(stderr, "berth: open %s: %s\n", path, strerror(errno));
                return -1;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
                while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                char *s = line;
                while (*s == ' ' || *s == '\t')
                        s++;
                if (!*s || *s == '#')
                        continue;
                if (!strchr(s, '=')) {
                        const char *v = getenv(s);
                        if (!v)
                                continue;
                        char *kv = str_printf("%s=%s", s, v);
                        json_array_append_new(env, json_string(kv));
                        free(kv);
                } else
                        json_array_append_new(env, json_string(s));
        }
        free(line);
        fclose(f);
        return 0;
}

static void add_env(json_t *env, const char *e) {
        if (strchr(e, '=')) {
                json_array_append_new(env, json_string(e));
                return;
        }
        /* -e NAME takes the value from our environment, or is dropped. */
        const char *v = getenv(e);
        if (v) {
                char *kv = str_printf("%s=%s", e, v);
                json_array_append_new(env, json_string(kv));
                free(kv);
        }
}

static int parse_mount(const char *spec, json_t **ret) {
        json_t *m = json_object();
        bool ro = false;
        char *copy = strdup(spec);
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
                char *eq = strchr(tok, '=');
                const char *k = tok, *v = eq ? eq + 1 : "true";
                if (eq)
                        *eq = '\0';
                if (!strcmp(k, "type"))
                        json_object_set_new(m, "Type", json_string(v));
                else if (!strcmp(k, "source") || !strcmp(k, "src"))
                        json_object_set_new(m, "Source", json_string(v));
                else if (!strcmp(k, "target") || !strcmp(k, "dst") ||
                         !strcmp(k, "destination"))
                        json_object_set_new(m, "Target", json_string(v));
                else if (!strcmp(k, "readonly") || !strcmp(k, "ro"))
                        ro = strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
                else if (!strcmp(k, "tmpfs-size")) {
                        json_t *o = json_object_get(m, "TmpfsOptions");
                        if (!o)
                                json_object_set_new(m, "TmpfsOptions",
                                                    o = json_object());
                        json_object_set_new(o, "SizeBytes",
                                            json_integer(parse_size(v)));
                } else if (!strcmp(k, "bind-propagation")) {
                        json_object_set_new(
                                m, "BindOptions",
                                json_pack("{s:s}", "Propagation", v));
                } else if (!strcmp(k, "volume-nocopy")) {
                        json_object_set_new(m, "VolumeOptions",
                                            json_pack("{s:b}", "NoCopy", 1));
                } else {
                        fprintf(stderr,
                                "berth: invalid argument \"%s\" for "
                                "\"--mount\" flag: unexpected key '%s' in "
                                "'%s'\n",
                                spec, k, tok);
                        free(copy);
                        json_decref(m);
                        return -1;
                }
        }
        free(copy);
        if (!json_object_get(m, "Type"))
                json_object_set_new(m, "Type", json_string("volume"));
        if (ro)
                json_object_set_new(m, "ReadOnly", json_true());
        *ret = m;
        return 0;
}

/* "80" or "80-82" -> [lo, hi]; -1 when it is neither. */
static int port_range(const char *s, unsigned *lo, unsigned *hi) {
        char *end;
        if (!*s || !strchr("0123456789", *s))
                return -1;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (*end == '-') {
                const char *t = end + 1;
                if (!*t || !strchr("0123456789", *t))
                        return -1;
                b = strtoul(t, &end, 10);
        }
        if (*end || a > 65535 || b > 65535 || b < a)
                return -1;
        *lo = (unsigned) a;
        *hi = (unsigned) b;
        return 0;
}

/* -p [ip:][hostPort:]containerPort[/proto], where both ports may be
 * ranges (8080-8082:80-82 publishes three ports, 8000-8010:80 one of
 * eleven host ports), into PortBindings and ExposedPorts as docker's
 * CLI sends them. */
static int parse_publish(const char *spec, json_t *bindings, json_t *exposed) {
        _cleanup_free_ char *copy = strdup(spec);
        if (!copy)
                return -1;
        char *proto = strchr(copy, '/');
        if (proto)
                *proto++ = '\0';
        if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp") &&
            strcmp(proto, "sctp")) {
                fprintf(stderr, "berth: invalid proto: %s\n", proto);
                return -1;
        }
        /* The container port is after the last ':', the host port before
         * it, the address (maybe [IPv6]) before that. */
        char *ctr = strrchr(copy, ':');
        char *host = NULL, *ip = NULL;
        if (ctr) {
                *ctr++ = '\0';
                host = strrchr(copy, ':');
                if (host) {
                        *host++ = '\0';
                        ip = copy;
                } else {
                        host = copy;
                }
        } else {
                ctr = copy;
        }
        if (ip && ip[0] == '[') {
                size_t l = strlen(ip);
                if (l < 2 || ip[l - 1] != ']') {
                        fprintf(stderr, "berth: invalid IP address: %s\n", ip);
                        return -1;
                }
                ip[l - 1] = '\0';
                ip++;
        }
        unsigned clo, chi, hlo = 0, hhi = 0;
        if (port_range(ctr, &clo, &chi) < 0 || !clo) {
                fprintf(stderr, "berth: invalid containerPort: %s\n", ctr);
                return -1;
        }
        if (host && *host && port_range(host, &hlo, &hhi) < 0) {
                fprintf(stderr, "berth: invalid hostPort: %s\n", host);
                return -1;
        }
        bool host_range = host && *host && hhi != hlo;
        if (chi != clo && host && *host && hhi - hlo != chi - clo) {
                fprintf(stderr,
                        "berth: invalid ranges specified for container and "
                        "host Ports: %s\n",
                        spec);
                return -1;
        }
        for (unsigned p = clo; p <= chi; p++) {
                _cleanup_free_ char *key =
                        str_printf("%u/%s", p, proto ? proto : "tcp");
                char hp[16] = "";
                if (host && *host && chi != clo)
                        snprintf(hp, sizeof(hp), "%u", hlo + (p - clo));
                else if (host_range)
                        snprintf(hp, sizeof(hp), "%u-%u", hlo, hhi);
                else if (host && *host)
                        snprintf(hp, sizeof(hp), "%u", hlo);
                json_object_set_new(exposed, key, json_object());
                json_t *list = json_object_get(bindings, key);
                if (!list)
                        json_object_set_new(bindings, key, list = json_array());
                json_array_append_new(list,
                                      json_pack("{s:s, s:s}", "HostIp",
                                                ip ? ip : "", "HostPort", hp));
        }
        return 0;
}

static json_t *strv_json(char **v) {
        json_t *a = json_array();
        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* Build the create body; -1 after printing an error. */
static int build_body(struct run_flags *f, char **args, int nargs,
                      json_t **ret) {
        json_t *b = json_object(), *hc = json_object();
        json_object_set_new(b, "Image", json_string(args[0]));
        if (nargs > 1) {
                json_t *cmd = json_array();
                for (int i = 1; i < nargs; i++)
                        json_array_append_new(cmd, json_string(args[i]));
                json_object_set_new(b, "Cmd", cmd);
        }
        if (f->entrypoint)
                json_object_set_new(b, "Entrypoint",
                                    *f->entrypoint
                                            ? json_pack("[s]", f->entrypoint)
                                            : json_array());
        json_t *env = json_array();
        for (size_t i = 0; f->env_file && f->env_file[i]; i++)
                if (add_env_file(env, f->env_file[i]) < 0)
                        goto fail;
        for (size_t i = 0; f->env && f->env[i]; i++)
                add_env(env, f->env[i]);
        json_object_set_new(b, "Env", env);
        json_object_set_new(b, "Labels", kv_object(f->labels));
        if (f->workdir)
                json_object_set_new(b, "WorkingDir", json_string(f->workdir));
        if (f->user)
                json_object_set_new(b, "User", json_string(f->user));
        if (f->hostname)
                json_object_set_new(b, "Hostname", json_string(f->hostname));
        if (f->stop_signal)
                json_object_set_new(b, "StopSignal",
                                    json_string(f->stop_signal));
        if (f->stop_timeout)
                json_object_set_new(b, "StopTimeout",
                                    json_integer(atoi(f->stop_timeout)));
        bool attach = !f->detach;
        json_object_set_new(b, "Tty", json_boolean(f->tty));
        json_object_set_new(b, "OpenStdin", json_boolean(f->interactive));
        json_object_set_new(b, "StdinOnce",
                            json_boolean(f->interactive && attach));
        json_object_set_new(b, "AttachStdin",
                            json_boolean(f->interactive && attach));
        json_object_set_new(b, "AttachStdout", json_boolean(attach));
        json_object_set_new(b, "AttachStderr", json_boolean(attach));

        json_object_set_new(hc, "Binds", strv_json(f->volumes));
        json_t *mounts = json_array();
        for (size_t i = 0; f->mounts && f->mounts[i]; i++) {
                json_t *m;
                if (parse_mount(f->mounts[i], &m) < 0) {
                        json_decref(mounts);
                        goto fail;
                }
                json_array_append_new(mounts, m);
        }
        json_object_set_new(hc, "Mounts", mounts);
        if (f->tmpfs) {
                json_t *t = json_object();
                for (size_t i = 0; f->tmpfs[i]; i++) {
                        char *p = strdup(f->tmpfs[i]);
                        char *c = strchr(p, ':');
                        if (c)
                                *c = '\0';
                        json_object_set_new(t, p, json_string(c ? c + 1 : ""));
                        free(p);
                }
                json_object_set_new(hc, "Tmpfs", t);
        }
        json_object_set_new(hc, "NetworkMode",
                            json_string(f->network ? f->network : "default"));
        if (f->net_alias || f->ip) {
                const char *nw = f->network ? f->network : "default";
                json_t *ep =
                        json_pack("{s:o}", "Aliases", strv_json(f->net_alias));
                if (f->ip)
                        json_object_set_new(
                                ep, "IPAMConfig",
                                json_pack("{s:s}", "IPv4Address", f->ip));
                json_object_set_new(
                        b, "NetworkingConfig",
                        json_pack("{s:{s:o}}", "EndpointsConfig", nw, ep));
        }
        if (f->memory) {
                long long m = parse_size(f->memory);
                if (m < 0) {
                        flag_error("invalid argument \"%s\" for \"-m, "
                                   "--memory\" flag: invalid size",
                                   f->memory);
                        goto fail;
                }
                json_object_set_new(hc, "Memory", json_integer(m));
        }
        if (f->memory_swap) {
                long long m = !strcmp(f->memory_swap, "-1")
                                      ? -1
                                      : parse_size(f->memory_swap);
                if (m < -1 || (m < 0 && strcmp(f->memory_swap, "-1"))) {
                        flag_error("invalid argument \"%s\" for "
                                   "\"--memory-swap\" flag: invalid size",
                                   f->memory_swap);
                        goto fail;
                }
                json_object_set_new(hc, "MemorySwap", json_integer(m));
        }
        if (f->cpus) {
                char *end;
                double c = strtod(f->cpus, &end);
                if (*end || c < 0) {
                        flag_error("invalid argument \"%s\" for \"--cpus\" "
                                   "flag: failed to parse as a rational "
                                   "number",
                                   f->cpus);
                        goto fail;
                }
                json_object_set_new(hc, "NanoCpus",
                                    json_integer((json_int_t) (c * 1e9)));
        }
        if (f->cpu_shares)
                json_object_set_new(hc, "CpuShares",
                                    json_integer(atoll(f->cpu_shares)));
        if (f->pids_limit)
                json_object_set_new(hc, "PidsLimit",
                                    json_integer(atoll(f->pids_limit)));
        if (f->ulimits) {
                json_t *u = json_array();
                for (size_t i = 0; f->ulimits[i]; i++) {
                        char name[64];
                        long long soft, hard;
                        int n = sscanf(f->ulimits[i], "%63[^=]=%lld:%lld", name,
                                       &soft, &hard);
                        if (n < 2) {
                                json_decref(u);
                                flag_error("invalid argument \"%s\" for "
                                           "\"--ulimit\" flag",
                                           f->ulimits[i]);
                                goto fail;
                        }
                        if (n == 2)
                                hard = soft;
                        json_array_append_new(
                                u, json_pack("{s:s, s:I, s:I}", "Name", name,
                                             "Soft", (json_int_t) soft, "Hard",
                                             (json_int_t) hard));
                }
                json_object_set_new(hc, "Ulimits", u);
        }
        if (f->restart) {
                char *p = strdup(f->restart);
                char *c = strchr(p, ':');
                if (c)
                        *c = '\0';
                if (strcmp(p, "no") && strcmp(p, "always") &&
                    strcmp(p, "on-failure") && strcmp(p, "unless-stopped")) {
                        free(p);
                        flag_error("invalid restart policy '%s'", f->restart);
                        goto fail;
                }
                if (f->rm && strcmp(p, "no")) {
                        free(p);
                        fprintf(stderr, "berth: conflicting options: cannot "
                                        "specify both --restart and --rm\n");
                        goto fail;
                }
                json_object_set_new(hc, "RestartPolicy",
                                    json_pack("{s:s, s:i}", "Name", p,
                                              "MaximumRetryCount",
                                              c ? atoi(c + 1) : 0));
                free(p);
        }
        json_object_set_new(hc, "AutoRemove", json_boolean(f->rm));
        json_object_set_new(hc, "ReadonlyRootfs", json_boolean(f->read_only));
        json_object_set_new(hc, "Privileged", json_boolean(f->privileged));
        if (f->init)
                json_object_set_new(hc, "Init", json_true());
        json_object_set_new(hc, "CapAdd", strv_json(f->caps_add));
        json_object_set_new(hc, "CapDrop", strv_json(f->caps_drop));
        json_object_set_new(hc, "SecurityOpt", strv_json(f->security_opt));
        json_object_set_new(hc, "ExtraHosts", strv_json(f->add_host));
        json_object_set_new(hc, "Dns", strv_json(f->dns));
        if (f->sysctl) {
                json_t *s = json_object();
                for (size_t i = 0; f->sysctl[i]; i++) {
                        char *kv = strdup(f->sysctl[i]);
                        char *eq = strchr(kv, '=');
                        if (eq) {
                                *eq = '\0';
                                json_object_set_new(s, kv, json_string(eq + 1));
                        }
                        free(kv);
                }
                json_object_set_new(hc, "Sysctls", s);
        }
        if (f->devices) {
                json_t *d = json_array();
                for (size_t i = 0; f->devices[i]; i++) {
                        char *p = strdup(f->devices[i]);
                        char *c1 = strchr(p, ':');
                        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        if (c1)
                                *c1++ = '\0';
                        if (c2)
                                *c2++ = '\0';
                        json_array_append_new(
                                d, json_pack("{s:s, s:s, s:s}", "PathOnHost", p,
                                             "PathInContainer", c1 ? c1 : p,
                                             "CgroupPermissions",
                                             c2 ? c2 : "rwm"));
                        free(p);
                }
                json_object_set_new(hc, "Devices", d);
        }
        if (f->shm_size)
                json_object_set_new(hc, "ShmSize",
                                    json_integer(parse_size(f->shm_size)));
        json_t *lc = json_object();
        for (size_t i = 0; f->log_opt && f->log_opt[i]; i++) {
                char *kv = strdup(f->log_opt[i]);
                char *eq = strchr(kv, '=');
                if (!eq) {
                        free(kv);
                        flag_error("invalid argument \"%s\" for "
                                   "\"--log-opt\" flag",
                                   f->log_opt[i]);
                        json_decref(lc);
                        goto fail;
                }
                *eq = '\0';
                json_object_set_new(lc, kv, json_string(eq + 1));
                free(kv);
        }
        json_object_set_new(hc, "LogConfig",
                            json_pack("{s:s, s:o}", "Type",
                                      f->log_driver ? f->log_driver : "",
                                      "Config", lc));
        json_t *pb = json_object(), *ex = json_object();
        for (size_t i = 0; f->publish && f->publish[i]; i++)
                if (parse_publish(f->publish[i], pb, ex) < 0) {
                        json_decref(pb);
                        json_decref(ex);
                        goto fail;
                }
        for (size_t i = 0; f->expose && f->expose[i]; i++) {
                char *k = strchr(f->expose[i], '/')
                                  ? strdup(f->expose[i])
                                  : str_printf("%s/tcp", f->expose[i]);
                json_object_set_new(ex, k, json_object());
                free(k);
        }
        json_object_set_new(hc, "PortBindings", pb);
        if (f->publish_all)
                json_object_set_new(hc, "PublishAllPorts", json_true());
        json_object_set_new(b, "ExposedPorts", ex);
        if (f->tty) {
                unsigned h, w;
                if (term_size(&h, &w))
                        json_object_set_new(hc, "ConsoleSize",
                                            json_pack("[i,i]", h, w));
        }
        json_object_set_new(b, "HostConfig", hc);
        *ret = b;
        return 0;
fail:
        json_decref(hc);
        json_decref(b);
        return -1;
}

/* docker's exit status for a failure of the program or its creation
 * (toStatusError). */
static int start_failure_code(const char *msg) {
        if (strstr(msg, "executable file not found") ||
            strstr(msg, "no such file or directory"))
                return 127;
        if (strstr(msg, "permission denied") || strstr(msg, "is a directory"))
                return 126;
        return EXIT_ENGINE;
}

/* A failure of createContainer, reported as docker does: `run` wraps it
 * ("berth: MSG" and the --help hint, exit 125/126/127), `create` prints
 * the message alone and exits 1. */
static int create_failed(bool run, const char *msg) {
        if (!msg)
                return run ? EXIT_ENGINE : 1; /* already said */
        if (!run) {
                if (*msg)
                        fprintf(stderr, "%s\n", msg);
                return 1;
        }
        fprintf(stderr,
                "berth: %s\n\nRun 'berth run --help' for more "
                "information\n",
                msg);
        return start_failure_code(msg);
}

/* containerd's platforms.Parse + FormatAll, for the few forms people
 * write: "linux/arm64", "amd64" (the OS defaults to linux), "x86_64",
 * "linux/arm/v7".  A new string, NULL on ENOMEM. */
static char *normalize_platform(const char *p) {
        _cleanup_free_ char *l = strdup(p);
        if (!l)
                return NULL;
        for (char *c = l; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        char *parts[3] = {l, NULL, NULL};
        for (int i = 0; i < 2 && parts[i]; i++) {
                char *slash = strchr(parts[i], '/');
                if (slash) {
                        *slash = '\0';
                        parts[i + 1] = slash + 1;
                }
        }
        static const char *const oses[] = {"linux",   "windows", "darwin",
                                           "freebsd", "netbsd",  "openbsd",
                                           "solaris", "illumos", "aix"};
        const char *os = parts[0], *arch = parts[1], *variant = parts[2];
        if (!arch) {
                bool is_os = false;
                for (size_t i = 0; i < ELEMENTSOF(oses); i++)
                        is_os |= !strcmp(os, oses[i]);
                if (is_os)
                        return strdup(os);
                arch = os;
                os = "linux";
        }
        if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64"))
                arch = "amd64";
        else if (!strcmp(arch, "i386") || !strcmp(arch, "i686"))
                arch = "386";
        else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
                arch = "arm64";
                if (variant &&
                    (!strcmp(variant, "8") || !strcmp(variant, "v8")))
                        variant = NULL;
        } else if (!strcmp(arch, "armhf")) {
                arch = "arm";
                variant = "v7";
        } else if (!strcmp(arch, "armel")) {
                arch = "arm";
                variant = "v6";
        } else if (!strcmp(arch, "arm")) {
                if (!variant || !strcmp(variant, "7"))
                        variant = "v7";
                else if (!strcmp(variant, "5") || !strcmp(variant, "6") ||
                         !strcmp(variant, "8"))
                        variant = !strcmp(variant, "5")   ? "v5"
                                  : !strcmp(variant, "6") ? "v6"
                                                          : "v8";
        }
        return variant && *variant ? str_printf("%s/%s/%s", os, arch, variant)
                                   : str_printf("%s/%s", os, arch);
}

/* POST /containers/create (steals body): with --pull always the image is
 * pulled first; with missing (the default) a 404 pulls it and creates
 * again, as docker does for any 404.  Returns the id, or NULL after the
 * error was reported (*ret_code: the exit status). */
static char *create_container(struct run_flags *f, json_t *body, bool run,
                              int *ret_code) {
        _cleanup_free_ char *image =
                strdup(json_string_value(json_object_get(body, "Image")) ?: "");
        _cleanup_(reference_donep) struct reference ref = {0};
        struct berr e = {0};
        int named = image ? reference_parse_any(image, &ref, &e) : -ENOMEM;
        if (named < 0 || (named && reference_tag_name_only(&ref) < 0)) {
                json_decref(body);
                *ret_code = create_failed(run, e.msg);
                return NULL;
        }
        bool always = f->pull && !strcmp(f->pull, "always");
        bool missing = !f->pull || !*f->pull || !strcmp(f->pull, "missing");
        /* docker pulls even an image ID here, and fails on it. */
        if (always) {
                _cleanup_free_ char *msg = NULL;
                if (pull_for_create(image, f->platform, f->quiet, &msg) < 0) {
                        json_decref(body);
                        *ret_code = create_failed(run, msg);
                        return NULL;
                }
        }
        _cleanup_free_ char *query = strdup("");
        if (f->name) {
                _cleanup_free_ char *n = url_escape(f->name);
                free(query);
                query = str_printf("?name=%s", n);
        }
        if (f->platform && *f->platform) {
                _cleanup_free_ char *np = normalize_platform(f->platform);
                _cleanup_free_ char *ep = np ? url_escape(np) : NULL;
                char *q = str_printf("%s%splatform=%s", query,
                                     *query ? "&" : "?", ep ? ep : "");
                free(query);
                query = q;
        }
        _cleanup_free_ char *path =
                str_printf(API_PREFIX "/containers/create%s", query);
        struct api_reply r;
        json_incref(body); /* kept for a second try after a pull */
        int rc = api_json("POST", path, body, &r);
        if (rc == 0 && r.status == 404 && named == 1 && missing) {
                api_reply_free(&r);
                if (!f->quiet) {
                        _cleanup_free_ char *fam =
                                reference_familiar_string(&ref);
                        fprintf(stderr, "Unable to find image '%s' locally\n",
                                fam ? fam : image);
                }
                _cleanup_free_ char *msg = NULL;
                if (pull_for_create(image, f->platform, f->quiet, &msg) < 0) {
                        json_decref(body);
                        *ret_code = create_failed(run, msg);
                        return NULL;
                }
                json_incref(body);
                rc = api_json("POST", path, body, &r);
        }
        json_decref(body);
        if (rc < 0) {
                *ret_code = run ? EXIT_ENGINE : 1;
                return NULL;
        }
        if (r.status >= 300) {
                char m[4096];
                _cleanup_free_ char *msg =
                        str_printf("Error response from daemon: %s",
                                   api_error_message(&r, m, sizeof(m)));
                api_reply_free(&r);
                *ret_code = create_failed(run, msg ? msg : m);
                return NULL;
        }
        json_t *j = api_reply_json(&r);
        api_reply_free(&r);
        const char *id = json_string_value(json_object_get(j, "Id"));
        char *ret = id ? strdup(id) : NULL;
        json_t *w = json_object_get(j, "Warnings");
        size_t i;
        json_t *warning;
        json_array_foreach(w, i, warning)
                fprintf(stderr, "WARNING: %s\n", json_string_value(warning));
        json_decref(j);
        if (!ret)
                *ret_code = create_failed(run, "the daemon's answer to the "
                                               "create carries no Id");
        return ret;
}

static void resize(const char *what, const char *id) {
        unsigned h, w;
        if (!term_size(&h, &w))
                return;
        char *p = str_printf(API_PREFIX "/%s/%s/resize?h=%u&w=%u", what, id, h,
                             w);
        struct api_reply r;
        if (api_call("POST", p, NULL, NULL, 0, &r) == 0)
                api_reply_free(&r);
        free(p);
}

/* While a stream runs: SIGWINCH resizes; without a tty, SIGINT/SIGTERM
 * etc. go to the container (docker's --sig-proxy). */
static volatile sig_atomic_t pending_winch, pending_sig;

static void on_sig(int sig) {
        if (sig == SIGWINCH)
                pending_winch = 1;
        else
                pending_sig = sig;
}

struct pump_ctx {
        int sock;
        const char *extra;
        size_t extra_len;
        bool in, mux, tty;
        const char *what, *id;
};

static void on_intr(void *ud) {
        struct pump_ctx *p = ud;
        if (pending_winch) {
                pending_winch = 0;
                resize(p->what, p->id);
        }
        if (pending_sig) {
                char *path =
                        str_printf(API_PREFIX "/containers/%s/kill?signal=%d",
                                   p->id, (int) pending_sig);
                pending_sig = 0;
                struct api_reply rr;
                if (api_call("POST", path, NULL, NULL, 0, &rr) == 0)
                        api_reply_free(&rr);
                free(path);
        }
}

static int pump_with_signals(struct pump_ctx *p, const char *what,
                             const char *id, bool proxy) {
        struct sigaction sa = {.sa_handler = on_sig};
        sigaction(SIGWINCH, &sa, NULL);
        if (proxy) {
                const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,
                                    SIGQUIT, SIGUSR1, SIGUSR2};
                for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                        sigaction(sigs[i], &sa, NULL);
        }
        p->what = what;
        p->id = id;
        return stream_pump(p->sock, p->extra, p->extra_len, p->in, p->mux,
                           on_intr, p);
}

static int wait_result(int fd) {
        long st = 0;
        char *body = NULL;
        if (api_read_raw(fd, &st, &body) < 0) {
                close(fd);
                return EXIT_ENGINE;
        }
        close(fd);
        json_t *j = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
        free(body);
        int code = EXIT_ENGINE;
        if (st < 300 && json_is_integer(json_object_get(j, "StatusCode")))
                code = (int) json_integer_value(
                        json_object_get(j, "StatusCode"));
        json_t *e = json_object_get(json_object_get(j, "Error"), "Message");
        if (json_string_value(e) && *json_string_value(e))
                fprintf(stderr, "berth: %s\n", json_string_value(e));
        json_decref(j);
        return code;
}

/* Start `id` attached (run without -d, start -a). */
static int run_attached(const char *id, bool in, bool tty, bool auto_remove) {
        char *path = str_printf(API_PREFIX "/containers/%s/attach?stream=1&"
                                           "stdin=%d&stdout=1&stderr=1",
                                id, in ? 1 : 0);
        char *extra = NULL, *ebody = NULL;
        size_t extra_len = 0;
        long st = 0;
        int sock = api_hijack(path, NULL, &extra, &extra_len, &st, &ebody);
        free(path);
        if (sock < 0) {
                if (ebody)
                        fprintf(stderr,
                                "berth: Error response from daemon: "
                                "%s\n",
                                ebody);
                free(ebody);
                return EXIT_ENGINE;
        }
        char *wp = str_printf(API_PREFIX "/containers/%s/wait?condition=%s", id,
                              auto_remove ? "removed" : "next-exit");
        int wfd = api_send_raw("POST", wp, NULL);
        free(wp);
        char *sp = str_printf(API_PREFIX "/containers/%s/start", id);
        struct api_reply r;
        int rc = api_call("POST", sp, NULL, NULL, 0, &r);
        free(sp);
        if (rc < 0 || r.status >= 300) {
                int code = EXIT_ENGINE;
                if (rc == 0) {
                        char m[4096];
                        api_error_message(&r, m, sizeof(m));
                        fprintf(stderr,
                                "berth: Error response from daemon: "
                                "%s\n",
                                m);
                        code = start_failure_code(m);
                        api_reply_free(&r);
                }
                close(sock);
                free(extra);
                if (wfd >= 0 && auto_remove)
                        wait_result(wfd);
                else if (wfd >= 0)
                        close(wfd);
                return code;
        }
        api_reply_free(&r);
        if (tty) {
                term_raw();
                resize("containers", id);
        }
        struct pump_ctx p = {sock, extra, extra_len, in, !tty, tty};
        pump_with_signals(&p, "containers", id, !tty);
        close(sock);
        free(extra);
        return wfd >= 0 ? wait_result(wfd) : EXIT_ENGINE;
}

static int run_or_create(int argc, char **argv, bool start) {
        struct run_flags f = {0};
        f.platform = getenv("DOCKER_DEFAULT_PLATFORM");
        struct cmd_spec spec = {
                start ? "run" : "create",
                "[OPTIONS] IMAGE [COMMAND] [ARG...]",
                start ? "Create and run a new container from an image"
                      : "Create a new container",
                1,
                -1,
                true,
                EXIT_ENGINE};
        char **args;
        int n = opts_parse(&spec, run_opts(&f), argc, argv, &args);
        if (n == -2)
                return 0;
        if (n < 0)
                return EXIT_ENGINE;
        if (f.pull && *f.pull && strcmp(f.pull, "always") &&
            strcmp(f.pull, "missing") && strcmp(f.pull, "never")) {
                fprintf(stderr,
                        "berth: invalid pull option: '%s': must be one of "
                        "\"always\", \"missing\" or \"never\"\n\nRun "
                        "'berth %s --help' for more information\n",
                        f.pull, spec.name);
                free(args);
                return EXIT_ENGINE;
        }
        if (!start)
                f.detach = true;
        if (f.tty && !f.detach && !isatty(0) && f.interactive) {
                fprintf(stderr, "the input device is not a TTY\n");
                free(args);
                return 1;
        }
        json_t *body;
        if (build_body(&f, args, n, &body) < 0) {
                free(args);
                return EXIT_ENGINE;
        }
        if (!start) {
                json_object_set_new(body, "AttachStdout", json_false());
                json_object_set_new(body, "AttachStderr", json_false());
        }
        int code = 0;
        char *id = create_container(&f, body, start, &code);
        free(args);
        if (!id)
                return code;
        if (!start) {
                printf("%s\n", id);
                free(id);
                return 0;
        }
        if (f.detach) {
                char *sp = str_printf(API_PREFIX "/containers/%s/start", id);
                struct api_reply r;
                int rc = api_call("POST", sp, NULL, NULL, 0, &r);
                free(sp);
                if (rc < 0) {
                        free(id);
                        return EXIT_ENGINE;
                }
                if (r.status >= 300) {
                        char m[4096];
                        api_error_message(&r, m, sizeof(m));
                        fprintf(stderr,
                                "berth: Error response from daemon: "
                                "%s\n",
                                m);
                        api_reply_free(&r);
                        free(id);
                        return start_failure_code(m);
                }
                api_reply_free(&r);
                printf("%s\n", id);
                free(id);
                return 0;
        }
        code = run_attached(id, f.interactive, f.tty, f.rm);
        free(id);
        return code;
}

int cmd_run(int argc, char **argv) {
        return run_or_create(argc, argv, true);
}

int cmd_create(int argc, char **argv) {
        return run_or_create(argc, argv, false);
}

static bool container_tty(const char *id) {
        char *p = str_printf(API_PREFIX "/containers/%s/json", id);
        json_t *j = api_get_json(p);
        free(p);
        bool tty = json_is_true(
                json_object_get(json_object_get(j, "Config"), "Tty"));
        json_decref(j);
        return tty;
}

int cmd_start(int argc, char **argv) {
        bool attach = false, interactive = false;
        struct opt o[] = {{"attach", 'a', OPT_BOOL, &attach,
                           "Attach STDOUT/STDERR and forward signals"},
                          {"interactive", 'i', OPT_BOOL, &interactive,
                           "Attach container's STDIN"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"start",
                                "[OPTIONS] CONTAINER [CONTAINER...]",
                                "Start one or more stopped containers",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int rc = 0;
        if (attach || interactive) {
                bool tty = container_tty(args[0]);
                rc = run_attached(args[0], interactive, tty, false);
                free(args);
                return rc;
        }
        for (int i = 0; i < n; i++) {
                char *p =
                        str_printf(API_PREFIX "/containers/%s/start", args[i]);
                struct api_reply r;
                if (api_call("POST", p, NULL, NULL, 0, &r) < 0) {
                        free(p);
                        free(args);
                        return 1;
                }
                free(p);
                if (r.status >= 300) {
                        api_print_error(&r);
                        rc = 1;
                } else
                        printf("%s\n", args[i]);
                api_reply_free(&r);
        }
        free(args);
        return rc;
}

int cmd_attach(int argc, char **argv) {
        bool no_stdin = false;
        struct opt o[] = {
                {"no-stdin", 0, OPT_BOOL, &no_stdin, "Do not attach STDIN"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"attach",
                                "[OPTIONS] CONTAINER",
                                "Attach local standard input, output, and "
                                "error streams to a running container",
                                1,
                                1,
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
        json_t *cfg = json_object_get(j, "Config");
        bool tty = json_is_true(json_object_get(cfg, "Tty"));
        bool in = !no_stdin && json_is_true(json_object_get(cfg, "OpenStdin"));
        char *id = strdup(json_string_value(json_object_get(j, "Id")));
        json_decref(j);
        char *path = str_printf(API_PREFIX "/containers/%s/attach?stream=1&"
                                           "stdin=%d&stdout=1&stderr=1",
                                id, in);
        char *extra = NULL, *ebody = NULL;
        size_t extra_len = 0;
        long st;
        int sock = api_hijack(path, NULL, &extra, &extra_len, &st, &ebody);
        free(path);
        free(args);
        if (sock < 0) {
                if (ebody)
                        fprintf(stderr, "Error response from daemon: %s\n",
                                ebody);
                free(ebody);
                free(id);
                return 1;
        }
        char *wp = str_printf(API_PREFIX "/containers/%s/wait", id);
        int wfd = api_send_raw("POST", wp, NULL);
        free(wp);
        if (tty) {
                term_raw();
                resize("containers", id);
        }
        struct pump_ctx pc = {sock, extra, extra_len, in, !tty, tty};
        pump_with_signals(&pc, "containers", id, !tty);
        close(sock);
        free(extra);
        free(id);
        return wfd >= 0 ? wait_result(wfd) : 1;
}

/* ---- exec ---- */

int cmd_exec(int argc, char **argv) {
        bool detach = false, interactive = false, tty = false, priv = false;
        const char *workdir = NULL, *user = NULL;
        char **env = NULL, **env_file = NULL;
        struct opt o[] = {
                {"detach", 'd', OPT_BOOL, &detach,
                 "Detached mode: run command in the background"},
                {"interactive", 'i', OPT_BOOL, &interactive,
                 "Keep STDIN open even if not attached"},
                {"tty", 't', OPT_BOOL, &tty, "Allocate a pseudo-TTY"},
                {"env", 'e', OPT_LIST, &env, "Set environment variables"},
                {"env-file", 0, OPT_LIST, &env_file,
                 "Read in a file of environment variables"},
                {"workdir", 'w', OPT_STR, &workdir,
                 "Working directory inside the container"},
                {"user", 'u', OPT_STR, &user,
                 "Username or UID (format: \"<name|uid>[:<group|gid>]\")"},
                {"privileged", 0, OPT_BOOL, &priv,
                 "Give extended privileges to the command"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"exec",
                                "[OPTIONS] CONTAINER COMMAND [ARG...]",
                                "Execute a command in a running container",
                                2,
                                -1,
                                true,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        if (tty && interactive && !isatty(0)) {
                fprintf(stderr, "the input device is not a TTY\n");
                free(args);
                return 1;
        }
        json_t *cmd = json_array();
        for (int i = 1; i < n; i++)
                json_array_append_new(cmd, json_string(args[i]));
        json_t *envj = json_array();
        for (size_t i = 0; env_file && env_file[i]; i++)
                if (add_env_file(envj, env_file[i]) < 0) {
                        json_decref(cmd);
                        json_decref(envj);
                        free(args);
                        return 1;
                }
        for (size_t i = 0; env && env[i]; i++)
                add_env(envj, env[i]);
        json_t *body =
                json_pack("{s:b, s:b, s:b, s:b, s:o, s:o, s:b}", "AttachStdin",
                          interactive && !detach, "AttachStdout", !detach,
                          "AttachStderr", !detach, "Tty", tty, "Cmd", cmd,
                          "Env", envj, "Privileged", priv);
        if (workdir)
                json_object_set_new(body, "WorkingDir", json_string(workdir));
        if (user)
                json_object_set_new(body, "User", json_string(user));
        if (tty) {
                unsigned h, w;
                if (term_size(&h, &w))
                        json_object_set_new(body, "ConsoleSize",
                                            json_pack("[i,i]", h, w));
        }
        char *p = str_printf(API_PREFIX "/containers/%s/exec", args[0]);
        json_t *j = api_request_json("POST", p, body);
        free(p);
        free(args);
        if (!j)
                return 1;
        char *eid = strdup(json_string_value(json_object_get(j, "Id")) ?: "");
        json_decref(j);
        char *sp = str_printf(API_PREFIX "/exec/%s/start", eid);
        if (detach) {
                bool ok = api_simple(
                        "POST", sp,
                        json_pack("{s:b, s:b}", "Detach", 1, "Tty", tty));
                free(sp);
                free(eid);
                return ok ? 0 : 1;
        }
        char *extra = NULL, *ebody = NULL;
        size_t extra_len = 0;
        long st;
        int sock =
                api_hijack(sp, json_pack("{s:b, s:b}", "Detach", 0, "Tty", tty),
                           &extra, &extra_len, &st, &ebody);
        free(sp);
        if (sock < 0) {
                if (ebody) {
                        json_t *ej = json_loads(ebody, 0, NULL);
                        const char *m = json_string_value(
                                json_object_get(ej, "message"));
                        fprintf(stderr, "Error response from daemon: %s\n",
                                m ? m : ebody);
                        json_decref(ej);
                }
                free(ebody);
                free(eid);
                return EXIT_ENGINE;
        }
        if (tty) {
                term_raw();
                resize("exec", eid);
        }
        struct pump_ctx pc = {sock, extra, extra_len, interactive, !tty, tty};
        pump_with_signals(&pc, "exec", eid, false);
        close(sock);
        free(extra);
        char *ip = str_printf(API_PREFIX "/exec/%s/json", eid);
        free(eid);
        int code = 0;
        /* The exit code is recorded just after the stream ends. */
        for (int tries = 0; tries < 100; tries++) {
                json_t *x = api_get_json(ip);
                if (!x) {
                        code = EXIT_ENGINE;
                        break;
                }
                bool running = json_is_true(json_object_get(x, "Running"));
                code = (int) json_integer_value(json_object_get(x, "ExitCode"));
                json_decref(x);
                if (!running)
                        break;
                usleep(10000);
        }
        free(ip);
        return code;
}
