/* berthd: the Docker Engine API on a unix socket, one event loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "loop.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/berth/berth.sock"

struct options {
        char *host;
        char *data_root;
        char *exec_root;
        char *shim;
        char *init;
        char *group;
        char *config;
        char *certs_dir;
        char **insecure;
        char **nondistributable;
        int max_downloads;
        int64_t max_layer_size; /* 0: the default */
        int64_t max_image_size;
        char *bridge;
        char *bip;
        char *resolv_conf;
        int iptables;   /* -1 unset */
        int ip_forward; /* -1 unset */
        char *log_driver;
        json_t *log_opts;
};

static void options_free(struct options *o) {
        free(o->host);
        free(o->data_root);
        free(o->exec_root);
        free(o->shim);
        free(o->init);
        free(o->group);
        free(o->config);
        free(o->certs_dir);
        free(o->bridge);
        free(o->bip);
        free(o->resolv_conf);
        strv_free(o->insecure);
        strv_free(o->nondistributable);
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: berthd [OPTIONS]\n\n"
                "berth's daemon: serves the Docker Engine API.\n\n"
                "Options:\n"
                "  -H, --host unix://PATH   socket to listen on (default "
                "unix://" DEFAULT_SOCKET ")\n"
                "      --data-root DIR      persistent state (default "
                "/var/lib/berth)\n"
                "      --exec-root DIR      runtime state (default "
                "/run/berth)\n"
                "      --config-file FILE   JSON settings (default "
                "/etc/berth/daemon.json when present)\n"
                "      --group NAME         group that may use the socket "
                "(default berth)\n"
                "      --shim-binary PATH   berth-shim to run containers with\n"
                "      --init-binary PATH   the init used for --init\n"
                "      --certs-dir DIR      per-registry TLS files, "
                "DIR/HOST:PORT/ca.crt (default /etc/berth/certs.d)\n"
                "      --insecure-registry HOST[:PORT]|CIDR\n"
                "                           allow plain HTTP and unverified "
                "TLS (repeatable)\n"
                "      --max-concurrent-downloads N  layers a pull transfers "
                "at once (default 3)\n"
                "      --max-layer-size SIZE  refuse a layer that unpacks to "
                "more (default 16g)\n"
                "      --max-image-size SIZE  refuse an image whose layers "
                "unpack to more (default 64g)\n"
                "  -b, --bridge NAME        the default network's bridge "
                "(default berth0; none: no bridge network)\n"
                "      --bip CIDR           its address, e.g. 172.17.0.1/16 "
                "(default: a free subnet)\n"
                "      --iptables BOOL      manage nftables rules (NAT, "
                "ports; default true)\n"
                "      --ip-forward BOOL    enable net.ipv4.ip_forward "
                "(default true)\n"
                "      --resolv-conf FILE   the resolv.conf containers' DNS "
                "settings come from\n"
                "                           (default /etc/resolv.conf)\n"
                "  -v, --version            print the version\n");
}

static void set_opt(char **dst, const char *v) {
        free(*dst);
        *dst = v ? strdup(v) : NULL;
}

/* A size option: a number of bytes or a string with units ("512m"). */
static int size_opt(const char *name, json_t *v, const char *text,
                    int64_t *ret) {
        char buf[32];
        if (v && json_is_integer(v)) {
                snprintf(buf, sizeof(buf), "%lld",
                         (long long) json_integer_value(v));
                text = buf;
        } else if (v)
                text = json_string_value(v);
        if (parse_byte_size(text, ret) < 0) {
                fprintf(stderr,
                        "berthd: %s '%s': expected a size in bytes, e.g. "
                        "1073741824, 512m or 16g\n",
                        name, text ? text : "(not a string)");
                return -EINVAL;
        }
        return 0;
}

/* The config file takes docker's daemon.json keys berth understands. */
static int load_config(struct options *o, const char *path, bool must) {
        json_error_t je;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!j) {
                if (!must && access(path, F_OK) != 0)
                        return 0;
                fprintf(stderr, "berthd: config file '%s': %s (line %d)\n",
                        path, je.text, je.line);
                return -EINVAL;
        }
        if (!json_is_object(j)) {
                fprintf(stderr, "berthd: config file '%s': not a JSON object\n",
                        path);
                json_decref(j);
                return -EINVAL;
        }
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
                if (!strcmp(k, "hosts") && json_array_size(v) > 0)
                        set_opt(&o->host,
                                json_string_value(json_array_get(v, 0)));
                else if (!strcmp(k, "data-root"))
                        set_opt(&o->data_root, json_string_value(v));
                else if (!strcmp(k, "exec-root"))
                        set_opt(&o->exec_root, json_string_value(v));
                else if (!strcmp(k, "group"))
                        set_opt(&o->group, json_string_value(v));
                else if (!strcmp(k, "shim-binary"))
                        set_opt(&o->shim, json_string_value(v));
                else if (!strcmp(k, "init-path"))
                        set_opt(&o->init, json_string_value(v));
                else if (!strcmp(k, "bridge"))
                        set_opt(&o->bridge, json_string_value(v));
                else if (!strcmp(k, "bip"))
                        set_opt(&o->bip, json_string_value(v));
                else if (!strcmp(k, "resolv-conf"))
                        set_opt(&o->resolv_conf, json_string_value(v));
                else if (!strcmp(k, "iptables") && json_is_boolean(v))
                        o->iptables = json_is_true(v);
                else if (!strcmp(k, "ip-forward") && json_is_boolean(v))
                        o->ip_forward = json_is_true(v);
                else if (!strcmp(k, "certs-dir"))
                        set_opt(&o->certs_dir, json_string_value(v));
                else if (!strcmp(k, "log-driver") && json_is_string(v))
                        set_opt(&o->log_driver, json_string_value(v));
                else if (!strcmp(k, "log-opts")) {
                        const char *ok;
                        json_t *ov;
                        bool strings = json_is_object(v);
                        json_object_foreach(v, ok, ov) strings =
                                strings && json_is_string(ov);
                        if (!strings) {
                                fprintf(stderr,
                                        "berthd: config file '%s': log-opts "
                                        "must be an object of strings\n",
                                        path);
                                json_decref(j);
                                return -EINVAL;
                        }
                        json_decref(o->log_opts);
                        o->log_opts = json_incref(v);
                } else if (!strcmp(k, "max-concurrent-downloads") &&
                           json_is_integer(v))
                        o->max_downloads = (int) json_integer_value(v);
                else if (!strcmp(k, "max-layer-size") ||
                         !strcmp(k, "max-image-size")) {
                        if (size_opt(k, v, NULL,
                                     !strcmp(k, "max-layer-size")
                                             ? &o->max_layer_size
                                             : &o->max_image_size) < 0) {
                                json_decref(j);
                                return -EINVAL;
                        }
                } else if (!strcmp(k, "insecure-registries") ||
                           !strcmp(k, "allow-nondistributable-artifacts")) {
                        char ***list = !strcmp(k, "insecure-registries")
                                               ? &o->insecure
                                               : &o->nondistributable;
                        size_t i;
                        json_t *e;
                        json_array_foreach(v, i, e) if (json_is_string(e))
                                strv_push(list, json_string_value(e));
                } else
                        fprintf(stderr,
                                "berthd: config file '%s': ignoring unknown "
                                "setting '%s'\n",
                                path, k);
        }
        json_decref(j);
        return 0;
}

/* Bind the API socket so that it is never connectable by others: the
 * umask makes it 0600 at bind, then it gets the group and 0660. */
static int listen_unix(const char *path, const char *group) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "berthd: socket path '%s' is too long\n", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        mkdir_p(dirname(dir), 0755);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A stale socket from a previous run: refuse if someone answers. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                fprintf(stderr, "berthd: another daemon is listening on '%s'\n",
                        path);
                close(fd);
                return -EADDRINUSE;
        }
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        unlink(path);
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0) {
                r = -errno;
                fprintf(stderr, "berthd: bind '%s': %s\n", path, strerror(-r));
                close(fd);
                return r;
        }
        struct group *g = group ? getgrnam(group) : NULL;
        if (g && chown(path, 0, g->gr_gid) == 0)
                chmod(path, 0660);
        if (listen(fd, 512) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static char *find_helper(const char *name) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                char *dir = dirname(exe);
                char *cands[] = {
                        str_printf("%s/%s", dir, name),
                        str_printf("%s/../libexec/berth/%s", dir, name),
                        str_printf("%s/../shim/%s", dir, name),
                        str_printf("%s/../init/%s", dir, name),
                        str_printf("%s/../worker/%s", dir, name),
                };
                char *found = NULL;
                for (size_t i = 0; i < ELEMENTSOF(cands); i++) {
                        if (!found && cands[i] && access(cands[i], X_OK) == 0)
                                found = realpath(cands[i], NULL);
                        free(cands[i]);
                }
                if (found)
                        return found;
        }
        return str_printf("/usr/local/libexec/berth/%s", name);
}

static void on_signal(int fd, uint32_t events, void *ud) {
        struct daemon *d = ud;
        struct signalfd_siginfo si;
        (void) events;
        if (read(fd, &si, sizeof(si)) == sizeof(si)) {
                fprintf(stderr,
                        "berthd: signal %u: shutting down; containers keep "
                        "running\n",
                        si.ssi_signo);
                d->shutting_down = true;
                loop_quit(d->loop);
        }
}

int main(int argc, char **argv) {
        struct options o = {.iptables = -1, .ip_forward = -1};
        static const struct option longopts[] = {
                {"host", required_argument, NULL, 'H'},
                {"data-root", required_argument, NULL, 'D'},
                {"exec-root", required_argument, NULL, 'E'},
                {"config-file", required_argument, NULL, 'c'},
                {"group", required_argument, NULL, 'G'},
                {"shim-binary", required_argument, NULL, 'S'},
                {"init-binary", required_argument, NULL, 'I'},
                {"certs-dir", required_argument, NULL, 'C'},
                {"insecure-registry", required_argument, NULL, 'R'},
                {"max-concurrent-downloads", required_argument, NULL, 'M'},
                {"max-layer-size", required_argument, NULL, 'L'},
                {"max-image-size", required_argument, NULL, 'Z'},
                {"bridge", required_argument, NULL, 'b'},
                {"bip", required_argument, NULL, 'P'},
                {"resolv-conf", required_argument, NULL, 'r'},
                {"iptables", required_argument, NULL, 'T'},
                {"ip-forward", required_argument, NULL, 'F'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'v'},
                {0},
        };
        /* First pass: the config file, so flags override it. */
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--config-file") && i + 1 < argc)
                        set_opt(&o.config, argv[i + 1]);
                else if (str_startswith(argv[i], "--config-file="))
                        set_opt(&o.config, argv[i] + 14);
        }
        if (load_config(&o, o.config ? o.config : "/etc/berth/daemon.json",
                        o.config != NULL) < 0)
                return 1;
        int c;
        while ((c = getopt_long(argc, argv, "H:b:hv", longopts, NULL)) != -1) {
                switch (c) {
                case 'H':
                        set_opt(&o.host, optarg);
                        break;
                case 'D':
                        set_opt(&o.data_root, optarg);
                        break;
                case 'E':
                        set_opt(&o.exec_root, optarg);
                        break;
                case 'c':
                        break;
                case 'G':
                        set_opt(&o.group, optarg);
                        break;
                case 'S':
                        set_opt(&o.shim, optarg);
                        break;
                case 'I':
                        set_opt(&o.init, optarg);
                        break;
                case 'C':
                        set_opt(&o.certs_dir, optarg);
                        break;
                case 'b':
                        set_opt(&o.bridge, optarg);
                        break;
                case 'P':
                        set_opt(&o.bip, optarg);
                        break;
                case 'r':
                        set_opt(&o.resolv_conf, optarg);
                        break;
                case 'T':
                case 'F': {
                        int v = !strcmp(optarg, "true") || !strcmp(optarg, "1")
                                        ? 1
                                : !strcmp(optarg, "false") ||
                                                !strcmp(optarg, "0")
                                        ? 0
                                        : -1;
                        if (v < 0) {
                                fprintf(stderr,
                                        "berthd: --%s '%s': expected true or "
                                        "false\n",
                                        c == 'T' ? "iptables" : "ip-forward",
                                        optarg);
                                return 1;
                        }
                        if (c == 'T')
                                o.iptables = v;
                        else
                                o.ip_forward = v;
                        break;
                }
                case 'R':
                        strv_push(&o.insecure, optarg);
                        break;
                case 'M':
                        if (parse_int(optarg, &o.max_downloads) < 0 ||
                            o.max_downloads < 1) {
                                fprintf(stderr,
                                        "berthd: --max-concurrent-downloads "
                                        "'%s': expected a positive number\n",
                                        optarg);
                                return 1;
                        }
                        break;
                case 'L':
                case 'Z':
                        if (size_opt(c == 'L' ? "--max-layer-size"
                                              : "--max-image-size",
                                     NULL, optarg,
                                     c == 'L' ? &o.max_layer_size
                                              : &o.max_image_size) < 0)
                                return 1;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'v':
                        printf("berthd version %s, build %s\n", BERTH_VERSION,
                               BERTH_COMMIT);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        const char *host = o.host ? o.host : "unix://" DEFAULT_SOCKET;
        if (!str_startswith(host, "unix://")) {
                fprintf(stderr,
                        "berthd: only unix:// sockets are supported, not "
                        "'%s'\n",
                        host);
                return 1;
        }
        struct daemon d = {0};
        d.data_root =
                realpath(o.data_root ? o.data_root : "/var/lib/berth", NULL);
        if (!d.data_root) {
                const char *dr = o.data_root ? o.data_root : "/var/lib/berth";
                mkdir_p(dr, 0711);
                d.data_root = realpath(dr, NULL);
        }
        const char *er = o.exec_root ? o.exec_root : "/run/berth";
        mkdir_p(er, 0700);
        d.exec_root = realpath(er, NULL);
        if (!d.data_root || !d.exec_root) {
                fprintf(stderr, "berthd: cannot create data/exec root: %m\n");
                return 1;
        }
        d.shim_binary = o.shim ? strdup(o.shim) : find_helper("berth-shim");
        d.init_binary = o.init ? strdup(o.init) : find_helper("berth-init");
        d.worker_binary = find_helper("berth-worker");
        d.worker_zygote_fd = -1;
        d.runtime_root = str_printf("%s/runtime", d.exec_root);
        /* Logs: daemon.json's log-driver and log-opts; with neither,
         * json-file capped (docker's own default has no cap, and one
         * chatty container then fills the disk). */
        const char *ldrv = o.log_driver ? o.log_driver : "json-file";
        if (strcmp(ldrv, "json-file") && strcmp(ldrv, "local") &&
            strcmp(ldrv, "none")) {
                fprintf(stderr,
                        "berthd: log-driver '%s' is not supported: berth "
                        "has json-file, local and none\n",
                        ldrv);
                return 1;
        }
        json_t *lopts = json_incref(o.log_opts);
        if (!lopts && strcmp(ldrv, "none") != 0)
                lopts = json_pack("{s:s, s:s}", "max-size",
                                  LOGS_DEFAULT_MAX_SIZE, "max-file",
                                  LOGS_DEFAULT_MAX_FILE);
        uint64_t lsize, lfiles;
        struct berr lerr = {0};
        if (lopts && logs_opts_parse(lopts, &lsize, &lfiles, &lerr) < 0) {
                fprintf(stderr, "berthd: log-opts: %s\n",
                        berr_message(&lerr, -EINVAL));
                json_decref(lopts);
                return 1;
        }
        d.log_config = json_pack("{s:s, s:o}", "Type", ldrv, "Config",
                                 lopts ? lopts : json_object());
        d.registry.certs_dir = o.certs_dir ? o.certs_dir : "/etc/berth/certs.d";
        d.registry.insecure = o.insecure;
        d.registry.allow_nondistributable = o.nondistributable;
        d.registry.max_concurrent = o.max_downloads;
        d.max_layer_size = o.max_layer_size > 0 ? o.max_layer_size
                                                : IMAGE_MAX_LAYER_DEFAULT;
        d.max_image_size = o.max_image_size > 0 ? o.max_image_size
                                                : IMAGE_MAX_IMAGE_DEFAULT;
        const char *br = o.bridge ? o.bridge : "berth0";
        if (strcmp(br, "none") != 0) {
                if (strlen(br) > 15) {
                        fprintf(stderr,
                                "berthd: bridge name '%s' is longer than 15 "
                                "characters\n",
                                br);
                        return 1;
                }
                d.bridge_name = strdup(br);
        }
        d.bip = o.bip;
        d.resolv_conf = o.resolv_conf ? o.resolv_conf : "/etc/resolv.conf";
        d.nft = o.iptables != 0;
        d.ip_forward = o.ip_forward != 0;
        struct berr err = {0};
        if (daemon_open_state(&d) < 0)
                return 1;
        signal(SIGPIPE, SIG_IGN);
        /* Each container's DNS server and each forwarded query is a
         * descriptor: allow as many as the hard limit does. */
        struct rlimit nof;
        if (getrlimit(RLIMIT_NOFILE, &nof) == 0 &&
            nof.rlim_cur < nof.rlim_max) {
                nof.rlim_cur = nof.rlim_max;
                setrlimit(RLIMIT_NOFILE, &nof);
        }
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        int r = loop_new(&d.loop);
        if (r < 0 || sfd < 0) {
                fprintf(stderr, "berthd: event loop: %s\n", strerror(-r));
                return 1;
        }
        loop_add_fd(d.loop, sfd, EPOLLIN, on_signal, &d);
        int lfd = listen_unix(host + 7, o.group ? o.group : "berth");
        if (lfd < 0)
                return 1;
        char *sock_abs = realpath(host + 7, NULL);
        d.api_socket = sock_abs ? sock_abs : host + 7;
        r = http_server_new(d.loop, lfd, api_dispatch, api_wants_file, &d,
                            &d.http);
        if (r < 0) {
                fprintf(stderr, "berthd: start the HTTP server: %s\n",
                        strerror(-r));
                return 1;
        }
        d.fw_hold = true;
        r = net_init(&d, &err);
        if (r < 0) {
                fprintf(stderr, "berthd: networks: %s\n",
                        berr_message(&err, r));
                return 1;
        }
        ctr_load_all(&d);
        ctr_restore_running(&d);
        net_reconcile(&d);
        d.fw_hold = false;
        r = fw_sync(&d, &err);
        if (r < 0)
                fprintf(stderr, "berthd: firewall: %s\n",
                        berr_message(&err, r));
        _cleanup_free_ char *pidfile = str_printf("%s/berthd.pid", d.exec_root);
        char pidbuf[32];
        snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int) getpid());
        if (pidfile)
                write_file_atomic_at(AT_FDCWD, pidfile, pidbuf, strlen(pidbuf),
                                     0644, 0);
        fprintf(stderr, "berthd %s listening on %s (data root %s)\n",
                BERTH_VERSION, host, d.data_root);
        r = loop_run(d.loop, http_server_timeout, http_server_tick, d.http);
        http_server_free(d.http);
        json_decref(d.log_config);
        if (pidfile)
                unlink(pidfile);
        unlink(host + 7);
        /* Everything the daemon holds is freed, so that a leak checker
         * (the ASan build, bench/soak.py) reports only real leaks. */
        ctr_free_all(&d);
        image_store_free(d.images);
        net_free(&d);
        loop_free(d.loop);
        close(sfd);
        free(sock_abs);
        free(d.data_root);
        free(d.exec_root);
        free(d.runtime_root);
        free(d.shim_binary);
        free(d.init_binary);
        free(d.worker_binary);
        free(d.bridge_name);
        options_free(&o);
        return r < 0 ? 1 : 0;
}
