/* Shared pieces of the berth CLI's commands. */
#pragma once

#include "client.h"
#include "opts.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef int (*cmd_fn)(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_rename(int argc, char **argv);
/* `image inspect` / `volume inspect`: inspect --type TYPE ARGS... */
int inspect_typed(const char *type, int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_container(int argc, char **argv);

int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_image(int argc, char **argv);

/* Registries (cmd_registry.c). */
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
/* The pull of `run`/`create` for a missing image (docker's ImageCreate):
 * `image` as the user wrote it, its progress drawn on stderr unless
 * `quiet`.  0, or -1 with the error to report in *ret_msg (malloc'ed,
 * docker's words; NULL when the daemon was unreachable and that was
 * already said). */
int pull_for_create(const char *image, const char *platform, bool quiet,
                    char **ret_msg);

int cmd_volume(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_events(int argc, char **argv);

/* Run a subcommand from a table: "image ls" etc. */
struct subcmd {
        const char *name;
        cmd_fn fn;
        const char *summary;
};
int run_subcommand(const char *group, const struct subcmd *subs, int argc,
                   char **argv);

/* Output: --format handling and docker's aligned tables. */
struct table;
struct table *table_new(void);
void table_add(struct table *t, char *const *cells, size_t n);
void table_add_line(struct table *t, const char *tab_separated);
void table_print(struct table *t); /* frees */

/* Print rows (JSON objects) with a --format template, docker's way:
 * "table ..." prints a header from `headers` (key -> title) and aligns;
 * "json" is {{json .}}.  Returns an exit status. */
int format_rows(const char *format, json_t *rows, json_t *headers);

/* "5 seconds ago"; sizes like "1.23MB". */
void ago(char *buf, size_t size, int64_t unix_time);
/* Go's Ellipsis: at most n characters, the last one "…" when cut. */
char *ellipsis(const char *s, size_t n);

/* A request whose answer is JSON: prints "Error response from daemon:
 * ..." and returns NULL when it fails (an empty answer is {}).  Steals
 * body. */
json_t *api_request_json(const char *method, const char *path, json_t *body);
json_t *api_get_json(const char *path);

/* docker's repeated --filter key=value as the API's URL-escaped
 * {"key":["v",...]}; NULL (after a message) on a malformed one. */
char *filters_json(char **filters);

/* KEY=VALUE strings (labels, options) as a JSON object; "KEY" alone maps
 * to "". */
json_t *kv_object(char *const *list);
/* A request where only success matters: prints the daemon's error as
 * "Error response from daemon: ..." and returns false. */
bool api_simple(const char *method, const char *path, json_t *body);
/* DELETE /COLLECTION/NAME[QUERY] for each name, printing the name or the
 * daemon's error (a 404 is quiet with `missing_ok`); 0 when all went. */
int api_delete_each(const char *collection, const char *query,
                    char *const *names, int n, bool missing_ok);
/* Ask on the terminal; true for an answer starting with y. */
bool confirm(const char *question);

/* Terminal: raw mode on stdin (restored at exit) and its size. */
void term_raw(void);
bool term_size(unsigned *h, unsigned *w);
