/* One function per runc command.  Each parses its own flags (both
 * "-b DIR" and "--bundle=DIR" forms, as runc accepts) and reports errors
 * once through cli_fail. */
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "runtime_features.h"
#include "log.h"
#include "spec.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int need_id(int argc, char **argv, const char *cmd) {
        if (optind >= argc) {
                log_error("%s: a container id is required", cmd);
                return -1;
        }
        return 0;
}

static int parse_create_flags(int argc, char **argv, struct create_opts *c,
                              bool *detach, const char *cmd) {
        static const struct option opts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, 'p'},
                {"console-socket", required_argument, NULL, 'c'},
                {"preserve-fds", required_argument, NULL, 'P'},
                {"no-pivot", no_argument, NULL, 'N'},
                {"no-new-keyring", no_argument, NULL, 'K'},
                {"detach", no_argument, NULL, 'd'},
                {"keep", no_argument, NULL, 'k'},
                {"no-subreaper", no_argument, NULL, 'S'},
                {0},
        };
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+b:d", opts, NULL)) != -1) {
                switch (ch) {
                case 'b':
                        c->bundle = optarg;
                        break;
                case 'p':
                        c->pid_file = optarg;
                        break;
                case 'c':
                        c->console_socket = optarg;
                        break;
                case 'P': {
                        uint32_t n;
                        if (parse_u32(optarg, &n) < 0 || n > 65536) {
                                log_error("%s: --preserve-fds: invalid number "
                                          "'%s'",
                                          cmd, optarg);
                                return -1;
                        }
                        c->preserve_fds = n;
                        break;
                }
                case 'N':
                        c->no_pivot = true;
                        break;
                case 'K':
                        c->no_new_keyring = true;
                        break;
                case 'd':
                        if (!detach) {
                                log_error("%s: unknown flag --detach", cmd);
                                return -1;
                        }
                        *detach = true;
                        break;
                case 'k':
                case 'S':
                        break;
                default:
                        return -1;
                }
        }
        if (need_id(argc, argv, cmd) < 0)
                return -1;
        c->id = argv[optind];
        return 0;
}

static int cmd_create(const struct runtime_opts *o, int argc, char **argv) {
        struct create_opts c = {0};
        if (parse_create_flags(argc, argv, &c, NULL, "create") < 0)
                return 1;
        struct berr err = {0};
        int r = container_create(o, &c, &err);
        return r < 0 ? cli_fail(r, &err) : 0;
}

static int cmd_run(const struct runtime_opts *o, int argc, char **argv) {
        struct create_opts c = {0};
        bool detach = false;
        if (parse_create_flags(argc, argv, &c, &detach, "run") < 0)
                return 1;
        struct berr err = {0};
        int status = 0;
        int r = container_run(o, &c, detach, &status, &err);
        return r < 0 ? cli_fail(r, &err) : status;
}

static int simple_id(int argc, char **argv, const char *cmd, const char **id) {
        static const struct option opts[] = {{0}};
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+", opts, NULL)) != -1)
                return -1;
        if (need_id(argc, argv, cmd) < 0)
                return -1;
        *id = argv[optind];
        return 0;
}

static int cmd_start(const struct runtime_opts *o, int argc, char **argv) {
        const char *id;
        if (simple_id(argc, argv, "start", &id) < 0)
                return 1;
        struct berr err = {0};
        int r = container_start(o, id, &err);
        return r < 0 ? cli_fail(r, &err) : 0;
}

static int cmd_state(const struct runtime_opts *o, int argc, char **argv) {
        const char *id;
        if (simple_id(argc, argv, "state", &id) < 0)
                return 1;
        struct berr err = {0};
        _cleanup_free_ char *json = NULL;
        int r = container_state_json(o, id, &json, &err);
        if (r < 0)
                return cli_fail(r, &err);
        printf("%s\n", json);
        return 0;
}

static int cmd_delete(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {0}};
        bool force = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
                if (ch != 'f')
                        return 1;
                force = true;
        }
        if (need_id(argc, argv, "delete") < 0)
                return 1;
        int rc = 0;
        for (int i = optind; i < argc; i++) {
                struct berr err = {0};
                int r = container_delete(o, argv[i], force, &err);
                if (r < 0)
                        rc = cli_fail(r, &err);
        }
        return rc;
}

static int parse_signal(const char *s) {
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {
                {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},
                {"ILL", SIGILL},   {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},
                {"IOT", SIGIOT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},
                {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
                {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
                {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},
                {"CONT", SIGCONT}, {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},
                {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
                {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
                {"PROF", SIGPROF}, {"WINCH", SIGWINCH},   {"IO", SIGIO},
                {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
        };
        int n;
        if (parse_int(s, &n) == 0)
                return n > 0 && n < 65 ? n : -1;
        const char *name = s;
        if (strncasecmp(name, "SIG", 3) == 0)
                name += 3;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (strcasecmp(name, sigs[i].name) == 0)
                        return sigs[i].sig;
        if (strncasecmp(name, "RTMIN", 5) == 0) {
                int off = 0;
                if (name[5] == '+' && parse_int(name + 6, &off) < 0)
                        return -1;
                return SIGRTMIN + off <= SIGRTMAX ? SIGRTMIN + off : -1;
        }
        return -1;
}

static int cmd_kill(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {0}};
        bool all = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
                if (ch != 'a')
                        return 1;
                all = true;
        }
        if (need_id(argc, argv, "kill") < 0)
                return 1;
        const char *id = argv[optind];
        int sig = SIGTERM;
        if (optind + 1 < argc) {
                sig = parse_signal(argv[optind + 1]);
                if (sig < 0) {
                        log_error("kill: unknown signal '%s'",
                                  argv[optind + 1]);
                        return 1;
                }
        }
        struct berr err = {0};
        int r = container_kill(o, id, sig, all, &err);
        return r < 0 ? cli_fail(r, &err) : 0;
}

static int cmd_list(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"quiet", no_argument, NULL, 'q'},
                {0}};
        bool json = false, quiet = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
                if (ch == 'f') {
                        if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
                                log_error("list: --format: unknown format '%s'",
                                          optarg);
                                return 1;
                        }
                        json = !strcmp(optarg, "json");
                } else if (ch == 'q')
                        quiet = true;
                else
                        return 1;
        }
        struct container_info *v = NULL;
        size_t n = 0;
        struct berr err = {0};
        int r = container_list(o, &v, &n, &err);
        if (r < 0)
                return cli_fail(r, &err);
        if (quiet) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", v[i].id);
        } else if (json) {
                /* jansson escapes whatever a bundle path holds. */
                json_t *arr = json_array();
                for (size_t i = 0; arr && i < n; i++)
                        json_array_append_new(
                                arr,
                                json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}",
                                          "ociVersion", "1.2.0", "id", v[i].id,
                                          "pid", (int) v[i].pid, "status",
                                          v[i].status, "bundle", v[i].bundle,
                                          "rootfs", "", "created", v[i].created,
                                          "owner", v[i].owner));
                char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
                json_decref(arr);
                if (!text) {
                        container_info_free(v, n);
                        return cli_fail(-ENOMEM, NULL);
                }
                printf("%s\n", text);
                free(text);
        } else {
                printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID",
                       "STATUS", "BUNDLE", "CREATED", "OWNER");
                for (size_t i = 0; i < n; i++)
                        printf("%-12s %-8d %-10s %-40s %-30s %s\n", v[i].id,
                               (int) v[i].pid, v[i].status, v[i].bundle,
                               v[i].created, v[i].owner);
        }
        container_info_free(v, n);
        return 0;
}

static int cmd_pause_resume(const struct runtime_opts *o, int argc, char **argv,
                            bool pause) {
        const char *id;
        if (simple_id(argc, argv, pause ? "pause" : "resume", &id) < 0)
                return 1;
        struct berr err = {0};
        int r = container_pause(o, id, pause, &err);
        return r < 0 ? cli_fail(r, &err) : 0;
}

static int cmd_pause(const struct runtime_opts *o, int argc, char **argv) {
        return cmd_pause_resume(o, argc, argv, true);
}

static int cmd_resume(const struct runtime_opts *o, int argc, char **argv) {
        return cmd_pause_resume(o, argc, argv, false);
}

static int cmd_ps(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'}, {0}};
        bool json = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
                if (ch != 'f')
                        return 1;
                json = !strcmp(optarg, "json");
        }
        if (need_id(argc, argv, "ps") < 0)
                return 1;
        const char *id = argv[optind];
        pid_t *pids = NULL;
        size_t n = 0;
        struct berr err = {0};
        int r = container_pids(o, id, &pids, &n, &err);
        if (r < 0)
                return cli_fail(r, &err);
        if (json) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", (int) pids[i]);
                printf("]\n");
                free(pids);
                return 0;
        }
        /* Table: run ps(1) with the given options (default -ef) and keep
         * its header plus the lines of our pids, as runc does. */
        char *args[64] = {"ps"};
        int na = 1;
        if (optind + 1 < argc)
                for (int i = optind + 1; i < argc && na < 62; i++)
                        args[na++] = argv[i];
        else
                args[na++] = "-ef";
        args[na] = NULL;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                free(pids);
                return cli_fail(-errno, NULL);
        }
        pid_t child = fork();
        if (child == 0) {
                dup2(pfd[1], STDOUT_FILENO);
                execvp("ps", args);
                _exit(127);
        }
        close(pfd[1]);
        _cleanup_free_ char *out = NULL;
        read_fd_all(pfd[0], 64 << 20, &out, NULL);
        close(pfd[0]);
        int status;
        waitpid(child, &status, 0);
        if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                free(pids);
                log_error("ps: running 'ps' failed");
                return 1;
        }
        char *save = NULL;
        char *line = strtok_r(out, "\n", &save);
        if (!line) {
                free(pids);
                return 1;
        }
        /* Find the PID column in the header. */
        int col = -1, k = 0;
        {
                _cleanup_free_ char *h = strdup(line);
                char *s2 = NULL;
                for (char *w = strtok_r(h, " \t", &s2); w;
                     w = strtok_r(NULL, " \t", &s2), k++)
                        if (!strcmp(w, "PID"))
                                col = k;
        }
        if (col < 0) {
                free(pids);
                log_error("ps: no PID column in the output of ps");
                return 1;
        }
        printf("%s\n", line);
        while ((line = strtok_r(NULL, "\n", &save))) {
                _cleanup_free_ char *l = strdup(line);
                char *s2 = NULL;
                char *w = strtok_r(l, " \t", &s2);
                for (int j = 0; w && j < col; j++)
                        w = strtok_r(NULL, " \t", &s2);
                int pid;
                if (!w || parse_int(w, &pid) < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (pids[i] == pid) {
                                printf("%s\n", line);
                                break;
                        }
        }
        free(pids);
        return 0;
}

/* "512m", "1g", "1048576" -> bytes; "-1" stays -1. */
static int parse_bytes(const char *s, int64_t *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        int64_t mul = 1;
        switch (tolower((unsigned char) *end)) {
        case '\0':
                break;
        case 'k':
                mul = 1024;
                break;
        case 'm':
                mul = 1024 * 1024;
                break;
        case 'g':
                mul = 1024LL * 1024 * 1024;
                break;
        default:
                return -EINVAL;
        }
        if (*end && end[1] &&
            !(tolower((unsigned char) end[1]) == 'b' && !end[2]))
                return -EINVAL;
        *ret = v < 0 ? v : v * mul;
        return 0;
}

static int cmd_update(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {
                {"resources", required_argument, NULL, 'r'},
                {"memory", required_argument, NULL, 'm'},
                {"memory-swap", required_argument, NULL, 'S'},
                {"memory-reservation", required_argument, NULL, 'R'},
                {"cpu-shares", required_argument, NULL, 's'},
                {"cpu-quota", required_argument, NULL, 'q'},
                {"cpu-period", required_argument, NULL, 'p'},
                {"cpuset-cpus", required_argument, NULL, 'c'},
                {"cpuset-mems", required_argument, NULL, 'M'},
                {"pids-limit", required_argument, NULL, 'P'},
                {"blkio-weight", required_argument, NULL, 'b'},
                {0}};
        const char *res_file = NULL;
        struct spec_resources flags = {0};
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
                int64_t v = 0;
                int r = 0;
                switch (ch) {
                case 'r':
                        res_file = optarg;
                        continue;
                case 'c':
                        flags.cpu_cpus = optarg;
                        continue;
                case 'M':
                        flags.cpu_mems = optarg;
                        continue;
                case 'm':
                case 'S':
                case 'R':
                        r = parse_bytes(optarg, &v);
                        break;
                case 's':
                case 'q':
                case 'p':
                case 'P':
                case 'b':
                        r = parse_i64(optarg, &v);
                        break;
                default:
                        return 1;
                }
                if (r < 0) {
                        log_error("update: invalid value '%s'", optarg);
                        return 1;
                }
                switch (ch) {
                case 'm':
                        flags.has_memory_limit = true;
                        flags.memory_limit = v;
                        break;
                case 'S':
                        flags.has_memory_swap = true;
                        flags.memory_swap = v;
                        break;
                case 'R':
                        flags.has_memory_reservation = true;
                        flags.memory_reservation = v;
                        break;
                case 's':
                        flags.has_cpu_shares = true;
                        flags.cpu_shares = (uint64_t) v;
                        break;
                case 'q':
                        flags.has_cpu_quota = true;
                        flags.cpu_quota = v;
                        break;
                case 'p':
                        flags.has_cpu_period = true;
                        flags.cpu_period = (uint64_t) v;
                        break;
                case 'P':
                        flags.has_pids_limit = true;
                        flags.pids_limit = v;
                        break;
                case 'b':
                        flags.has_blkio_weight = true;
                        flags.blkio_weight = (uint16_t) v;
                        break;
                }
        }
        if (need_id(argc, argv, "update") < 0)
                return 1;
        const char *id = argv[optind];
        struct berr err = {0};
        int r;
        if (res_file) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                if (!strcmp(res_file, "-"))
                        r = read_fd_all(STDIN_FILENO, 1 << 20, &text, &len);
                else
                        r = read_file_at(AT_FDCWD, res_file, 1 << 20, &text,
                                         &len);
                if (r < 0) {
                        berr_set(&err, r, "read resources '%s'", res_file);
                        return cli_fail(r, &err);
                }
                struct spec_resources *res = NULL;
                r = spec_resources_parse(text, len, &res, &err);
                if (r < 0)
                        return cli_fail(r, &err);
                r = container_update(o, id, res, &err);
                spec_resources_free(res);
        } else
                r = container_update(o, id, &flags, &err);
        return r < 0 ? cli_fail(r, &err) : 0;
}

static int parse_user(const char *s, struct spec_user *u) {
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char *colon = strchr(copy, ':');
        if (colon)
                *colon = '\0';
        if (parse_u32(copy, &u->uid) < 0)
                return -EINVAL;
        if (colon && parse_u32(colon + 1, &u->gid) < 0)
                return -EINVAL;
        return 0;
}

static int cmd_exec(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {
                {"process", required_argument, NULL, 'p'},
                {"tty", no_argument, NULL, 't'},
                {"console-socket", required_argument, NULL, 'c'},
                {"detach", no_argument, NULL, 'd'},
                {"pid-file", required_argument, NULL, 'P'},
                {"cwd", required_argument, NULL, 'w'},
                {"env", required_argument, NULL, 'e'},
                {"user", required_argument, NULL, 'u'},
                {"additional-gids", required_argument, NULL, 'g'},
                {"cap", required_argument, NULL, 'C'},
                {"no-new-privs", no_argument, NULL, 'n'},
                {"preserve-fds", required_argument, NULL, 'F'},
                {"apparmor", required_argument, NULL, 'a'},
                {"process-label", required_argument, NULL, 'l'},
                {"cgroup", required_argument, NULL, 'G'},
                {"ignore-paused", no_argument, NULL, 'i'},
                {0}};
        struct exec_opts e = {0};
        const char *process_file = NULL, *cwd = NULL, *user = NULL;
        _cleanup_strv_free_ char **envs = NULL, **caps = NULL, **gids = NULL;
        bool nnp = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+p:tde:u:", opts, NULL)) !=
               -1) {
                switch (ch) {
                case 'p':
                        process_file = optarg;
                        break;
                case 't':
                        e.tty_given = e.tty = true;
                        break;
                case 'c':
                        e.console_socket = optarg;
                        break;
                case 'd':
                        e.detach = true;
                        break;
                case 'P':
                        e.pid_file = optarg;
                        break;
                case 'w':
                        cwd = optarg;
                        break;
                case 'e':
                        strv_push(&envs, optarg);
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'g':
                        strv_push(&gids, optarg);
                        break;
                case 'C':
                        strv_push(&caps, optarg);
                        break;
                case 'n':
                        nnp = true;
                        break;
                case 'F': {
                        uint32_t n;
                        if (parse_u32(optarg, &n) < 0) {
                                log_error("exec: --preserve-fds: invalid "
                                          "number '%s'",
                                          optarg);
                                return 1;
                        }
                        e.preserve_fds = n;
                        break;
                }
                case 'a':
                case 'l':
                case 'G':
                case 'i':
                        break;
                default:
                        return 1;
                }
        }
        if (need_id(argc, argv, "exec") < 0)
                return 1;
        const char *id = argv[optind];
        struct berr err = {0};
        struct spec_process *p = NULL;
        int r;
        if (process_file) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                r = read_file_at(AT_FDCWD, process_file, 16 << 20, &text, &len);
                if (r < 0) {
                        berr_set(&err, r, "read process file '%s'",
                                 process_file);
                        return cli_fail(r, &err);
                }
                r = spec_process_parse(text, len, &p, &err);
                if (r < 0)
                        return cli_fail(r, &err);
        } else {
                if (optind + 1 >= argc) {
                        log_error("exec: a command to run is required");
                        return 1;
                }
                r = container_exec_defaults(o, id, &p, &err);
                if (r < 0)
                        return cli_fail(r, &err);
                strv_free(p->args);
                p->args = strv_copy(argv + optind + 1);
                p->terminal = false;
        }
        if (cwd) {
                free(p->cwd);
                p->cwd = strdup(cwd);
        }
        if (envs)
                strv_extend(&p->env, envs);
        if (user && parse_user(user, &p->user) < 0) {
                spec_process_free(p);
                log_error("exec: --user: expected UID[:GID], got '%s'", user);
                return 1;
        }
        for (size_t i = 0; gids && gids[i]; i++) {
                uint32_t g;
                if (parse_u32(gids[i], &g) < 0)
                        continue;
                uint32_t *ng = realloc(p->user.additional_gids,
                                       (p->user.n_additional_gids + 1) *
                                               sizeof(uint32_t));
                if (!ng)
                        break;
                ng[p->user.n_additional_gids++] = g;
                p->user.additional_gids = ng;
        }
        for (size_t i = 0; caps && caps[i]; i++) {
                int c = spec_cap_from_name(caps[i]);
                if (c < 0) {
                        spec_process_free(p);
                        log_error("exec: --cap: unknown capability '%s'",
                                  caps[i]);
                        return 1;
                }
                uint64_t bit = UINT64_C(1) << c;
                p->has_caps = true;
                p->caps.bounding |= bit;
                p->caps.effective |= bit;
                p->caps.permitted |= bit;
        }
        if (nnp)
                p->no_new_privileges = true;
        int status = 0;
        r = container_exec(o, id, p, &e, &status, &err);
        spec_process_free(p);
        return r < 0 ? cli_fail(r, &err) : status;
}

static int cmd_features(const struct runtime_opts *o, int argc, char **argv) {
        _cleanup_free_ char *s = runtime_features_json();
        if (!s)
                return cli_fail(-ENOMEM, NULL);
        printf("%s\n", s);
        return 0;
}

static int cmd_spec(const struct runtime_opts *o, int argc, char **argv) {
        static const struct option opts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"rootless", no_argument, NULL, 'r'},
                {0}};
        const char *bundle = ".";
        bool rootless = false;
        int ch;
        while ((ch = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
                if (ch == 'b')
                        bundle = optarg;
                else if (ch == 'r')
                        rootless = true;
                else
                        return 1;
        }
        _cleanup_free_ char *path = str_printf("%s/config.json", bundle);
        if (!path)
                return cli_fail(-ENOMEM, NULL);
        struct stat st;
        if (stat(path, &st) == 0) {
                log_error("spec: file '%s' exists; remove it first", path);
                return 1;
        }
        _cleanup_free_ char *s = runtime_default_spec_json(rootless);
        if (!s)
                return cli_fail(-ENOMEM, NULL);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
                struct berr err = {0};
                berr_set(&err, errno, "spec: create '%s'", path);
                return cli_fail(-errno, &err);
        }
        int r = write_all(fd, s, strlen(s));
        if (r >= 0)
                r = write_all(fd, "\n", 1);
        close(fd);
        return r < 0 ? cli_fail(r, NULL) : 0;
}

static int cmd_checkpoint(const struct runtime_opts *o, int argc, char **argv) {
        log_error("%s: checkpoint/restore is not supported by berth-runtime",
                  argv[0]);
        return 1;
}

const struct cli_cmd cli_commands[] = {
        {"create", cmd_create, "create a container", true},
        {"start", cmd_start, "start a created container", false},
        {"run", cmd_run, "create and start a container", true},
        {"state", cmd_state, "print a container's state as JSON", false},
        {"list", cmd_list, "list containers", false},
        {"kill", cmd_kill, "send a signal to a container", false},
        {"delete", cmd_delete, "delete a container", false},
        {"exec", cmd_exec, "run a process in a running container", true},
        {"ps", cmd_ps, "list a container's processes", false},
        {"pause", cmd_pause, "freeze all processes of a container", false},
        {"resume", cmd_resume, "thaw a paused container", false},
        {"update", cmd_update, "change a container's resource limits", false},
        {"features", cmd_features, "print the features document", false},
        {"spec", cmd_spec, "write a default config.json", false},
        {"checkpoint", cmd_checkpoint, "not supported", false},
        {"restore", cmd_checkpoint, "not supported", false},
        {NULL, NULL, NULL, false},
};
