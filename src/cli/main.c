/* berth: the command-line client.  It speaks only the Engine API, with
 * docker's commands, flags, output and exit statuses. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct subcmd commands[] = {
        {"run", cmd_run, "Create and run a new container from an image"},
        {"exec", cmd_exec, "Execute a command in a running container"},
        {"ps", cmd_ps, "List containers"},
        {"images", cmd_images, "List images"},
        {"pull", cmd_pull, "Download an image from a registry"},
        {"push", cmd_push, "Upload an image to a registry"},
        {"login", cmd_login, "Authenticate to a registry"},
        {"logout", cmd_logout, "Log out from a registry"},
        {"create", cmd_create, "Create a new container"},
        {"start", cmd_start, "Start one or more stopped containers"},
        {"stop", cmd_stop, "Stop one or more running containers"},
        {"restart", cmd_restart, "Restart one or more containers"},
        {"kill", cmd_kill, "Kill one or more running containers"},
        {"rm", cmd_rm, "Remove one or more containers"},
        {"logs", cmd_logs, "Fetch the logs of a container"},
        {"attach", cmd_attach, "Attach to a running container"},
        {"wait", cmd_wait, "Block until containers stop, print exit codes"},
        {"inspect", cmd_inspect, "Return low-level information on objects"},
        {"rename", cmd_rename, "Rename a container"},
        {"top", cmd_top, "Display the running processes of a container"},
        {"stats", cmd_stats, "Display container resource usage"},
        {"port", cmd_port, "List port mappings of a container"},
        {"pause", cmd_pause, "Pause all processes within containers"},
        {"unpause", cmd_unpause, "Unpause all processes within containers"},
        {"rmi", cmd_rmi, "Remove one or more images"},
        {"tag", cmd_tag, "Create a tag that refers to an image"},
        {"history", cmd_history, "Show the history of an image"},
        {"save", cmd_save, "Save images to a tar archive"},
        {"build", cmd_build, "Build an image from a Dockerfile"},
        {"load", cmd_load, "Load an image from a tar archive"},
        {"import", cmd_import, "Import a tarball to create an image"},
        {"events", cmd_events, "Get real time events from the server"},
        {"version", cmd_version, "Show the berth version information"},
        {"info", cmd_info, "Display system-wide information"},
        {"container", cmd_container, "Manage containers"},
        {"image", cmd_image, "Manage images"},
        {"volume", cmd_volume, "Manage volumes"},
        {"network", cmd_network, "Manage networks"},
        {NULL, NULL, NULL}};

static void usage(FILE *f) {
        fprintf(f, "\nUsage:  berth [OPTIONS] COMMAND\n\n"
                   "A container engine that speaks Docker's API\n\n"
                   "Options:\n"
                   "  -H, --host string   Daemon socket to connect to "
                   "(default $BERTH_HOST, $DOCKER_HOST,\n"
                   "                      unix:///run/berth/berth.sock)\n"
                   "  -v, --version       Print version information and "
                   "quit\n\nCommands:\n");
        for (const struct subcmd *c = commands; c->name; c++)
                fprintf(f, "  %-10s %s\n", c->name, c->summary);
        fprintf(f, "\nRun 'berth COMMAND --help' for more information on a "
                   "command.\n");
}

int main(int argc, char **argv) {
        /* A peer that went away is an error return, not a death. */
        signal(SIGPIPE, SIG_IGN);
        int i = 1;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "-H") || !strcmp(a, "--host")) {
                        if (i + 1 >= argc) {
                                fprintf(stderr,
                                        "berth: flag needs an "
                                        "argument: %s\n",
                                        a);
                                return 1;
                        }
                        client_set_host(argv[++i]);
                } else if (!strncmp(a, "--host=", 7)) {
                        client_set_host(a + 7);
                } else if (!strncmp(a, "-H", 2) && a[2]) {
                        client_set_host(a + 2);
                } else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
                        printf("berth version %s\n", BERTH_CLI_VERSION);
                        return 0;
                } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        usage(stdout);
                        return 0;
                } else if (!strcmp(a, "-D") || !strcmp(a, "--debug")) {
                        continue;
                } else if (a[0] == '-') {
                        fprintf(stderr,
                                "unknown flag: %s\nSee 'berth "
                                "--help'.\n",
                                a);
                        return 1;
                } else
                        break;
        }
        if (i >= argc) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[i], "help")) {
                usage(stdout);
                return 0;
        }
        for (const struct subcmd *c = commands; c->name; c++)
                if (!strcmp(c->name, argv[i]))
                        return c->fn(argc - i, argv + i);
        fprintf(stderr,
                "berth: '%s' is not a berth command.\nSee 'berth --help'\n",
                argv[i]);
        return 1;
}
