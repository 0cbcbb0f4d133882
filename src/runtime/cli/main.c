/* berth-runtime: an OCI runtime with runc's command line. */
#include "cli.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "selfexec.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int cli_fail(int r, const struct berr *err) {
        log_error("%s", berr_message(err, r));
        return 1;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: berth-runtime [global options] COMMAND [options] "
                   "[args]\n"
                   "\nAn OCI runtime with runc's command line.\n\nCommands:\n");
        for (const struct cli_cmd *c = cli_commands; c->name; c++)
                fprintf(f, "  %-9s %s\n", c->name, c->usage);
        fprintf(f, "\nGlobal options:\n"
                   "  --root DIR          state directory (default "
                   "/run/berth-runtime)\n"
                   "  --log FILE          log file (default stderr)\n"
                   "  --log-format FMT    text or json\n"
                   "  --debug             debug logging\n"
                   "  --systemd-cgroup    use the systemd cgroup driver\n"
                   "  --rootless VAL      accepted for compatibility\n"
                   "  -v, --version       print the version\n");
}

int main(int argc, char **argv) {
        struct runtime_opts o = {.root = "/run/berth-runtime"};
        const char *log_path = NULL;
        bool json = false, debug = false;
        static const struct option opts[] = {
                {"root", required_argument, NULL, 'r'},
                {"log", required_argument, NULL, 'l'},
                {"log-format", required_argument, NULL, 'f'},
                {"debug", no_argument, NULL, 'd'},
                {"systemd-cgroup", no_argument, NULL, 's'},
                {"rootless", required_argument, NULL, 'R'},
                {"criu", required_argument, NULL, 'C'},
                {"version", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;
        /* '+': stop at the command name; its own flags are parsed later. */
        while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        o.root = optarg;
                        break;
                case 'l':
                        log_path = optarg;
                        break;
                case 'f':
                        if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
                                fprintf(stderr,
                                        "berth-runtime: --log-format: unknown "
                                        "format '%s' (text or json)\n",
                                        optarg);
                                return 1;
                        }
                        json = !strcmp(optarg, "json");
                        break;
                case 'd':
                        debug = true;
                        break;
                case 's':
                        o.systemd_cgroup = true;
                        break;
                case 'R':
                case 'C':
                        break;
                case 'v':
                        printf("berth-runtime version %s\ncommit: %s\n"
                               "spec: 1.2.0\n",
                               BERTH_VERSION, BERTH_COMMIT);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (log_setup(log_path, json, debug) < 0) {
                fprintf(stderr, "berth-runtime: open log file '%s': %m\n",
                        log_path);
                return 1;
        }
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *name = argv[optind];
        for (const struct cli_cmd *cmd = cli_commands; cmd->name; cmd++) {
                if (strcmp(cmd->name, name) != 0)
                        continue;
                if (cmd->sealed) {
                        /* CVE-2019-5736: only a sealed copy of us may ever
                         * run inside a container's namespaces. */
                        int r = selfexec_ensure_sealed(argv, environ);
                        if (r < 0) {
                                log_error("re-execute from a sealed copy: %s",
                                          strerror(-r));
                                return 1;
                        }
                }
                int sub_argc = argc - optind;
                char **sub_argv = argv + optind;
                optind = 1;
                return cmd->fn(&o, sub_argc, sub_argv);
        }
        log_error("unknown command '%s' (see berth-runtime --help)", name);
        return 1;
}
