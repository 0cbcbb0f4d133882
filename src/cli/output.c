/* Output helpers: docker's tabwriter tables, --format, human units, and
 * small request helpers shared by the commands. */
#include "cli.h"

#include "error.h"
#include "template.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct table {
        char ***rows;
        size_t *ncells;
        size_t n;
};

struct table *table_new(void) {
        return calloc(1, sizeof(struct table));
}

void table_add(struct table *t, char *const *cells, size_t n) {
        t->rows = realloc(t->rows, (t->n + 1) * sizeof(*t->rows));
        t->ncells = realloc(t->ncells, (t->n + 1) * sizeof(*t->ncells));
        char **row = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                row[i] = strdup(cells[i] ? cells[i] : "");
        t->rows[t->n] = row;
        t->ncells[t->n] = n;
        t->n++;
}

void table_add_line(struct table *t, const char *line) {
        char *copy = strdup(line);
        char *cells[64];
        size_t n = 0;
        char *s = copy;
        for (;;) {
                char *tab = strchr(s, '\t');
                if (tab)
                        *tab = '\0';
                if (n < 64)
                        cells[n++] = s;
                if (!tab)
                        break;
                s = tab + 1;
        }
        table_add(t, cells, n);
        free(copy);
}

/* Display width of UTF-8 text (code points; good enough for names). */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        w++;
        return w;
}

/* Go's tabwriter as docker sets it up: min width 10, padding 3; the last
 * cell of a row is not padded. */
void table_print(struct table *t) {
        size_t cols = 0;
        for (size_t r = 0; r < t->n; r++)
                if (t->ncells[r] > cols)
                        cols = t->ncells[r];
        size_t *w = calloc(cols + 1, sizeof(size_t));
        for (size_t r = 0; r < t->n; r++)
                for (size_t c = 0; c + 1 < t->ncells[r]; c++) {
                        size_t l = text_width(t->rows[r][c]) + 3;
                        if (l < 10)
                                l = 10;
                        if (l > w[c])
                                w[c] = l;
                }
        for (size_t r = 0; r < t->n; r++) {
                for (size_t c = 0; c < t->ncells[r]; c++) {
                        const char *s = t->rows[r][c];
                        fputs(s, stdout);
                        if (c + 1 < t->ncells[r])
                                for (size_t k = text_width(s); k < w[c]; k++)
                                        putchar(' ');
                        free(t->rows[r][c]);
                }
                /* Trailing blanks of an empty last cell are trimmed. */
                putchar('\n');
                free(t->rows[r]);
        }
        free(w);
        free(t->rows);
        free(t->ncells);
        free(t);
}

json_t *kv_object(char *const *list) {
        json_t *o = json_object();
        for (size_t i = 0; list && list[i]; i++) {
                const char *eq = strchr(list[i], '=');
                size_t kl = eq ? (size_t) (eq - list[i]) : strlen(list[i]);
                char *k = strndup(list[i], kl);
                json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
                free(k);
        }
        return o;
}

/* docker's --filter key=value list as the API's {"key":["v",...]}. */
char *filters_json(char **filters) {
        if (!filters)
                return NULL;
        json_t *o = json_object();
        for (size_t i = 0; filters[i]; i++) {
                char *kv = strdup(filters[i]);
                char *eq = strchr(kv, '=');
                if (!eq) {
                        fprintf(stderr, "berth: bad format of filter (expected "
                                        "name=value)\n");
                        free(kv);
                        json_decref(o);
                        return NULL;
                }
                *eq = '\0';
                json_t *a = json_object_get(o, kv);
                if (!a)
                        json_object_set_new(o, kv, a = json_array());
                json_array_append_new(a, json_string(eq + 1));
                free(kv);
        }
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        char *e = url_escape(t);
        free(t);
        return e;
}

int format_rows(const char *format, json_t *rows, json_t *headers) {
        bool table = false;
        const char *f = format;
        if (!strcmp(f, "json"))
                f = "{{json .}}";
        else if (!strncmp(f, "table", 5)) {
                /* docker: anything after "table", trimmed of spaces. */
                table = true;
                f += 5;
        }
        while (*f == ' ')
                f++;
        char *fmt = strdup(f);
        size_t fl = strlen(fmt);
        while (fl && fmt[fl - 1] == ' ')
                fmt[--fl] = '\0';
        /* docker accepts "\t" and "\n" written literally in the format. */
        for (char *p = fmt; (p = strchr(p, '\\'));) {
                if (p[1] != 't' && p[1] != 'n') {
                        p++;
                        continue;
                }
                *p = p[1] == 't' ? '\t' : '\n';
                memmove(p + 1, p + 2, strlen(p + 2) + 1);
                p++;
        }
        struct tmpl *t = NULL;
        struct berr e = {0};
        if (tmpl_parse(fmt, &t, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                free(fmt);
                return 1;
        }
        free(fmt);
        struct table *tab = table ? table_new() : NULL;
        int rc = 0;
        if (table) {
                char *buf = NULL;
                size_t len = 0;
                if (tmpl_render(t, headers, &buf, &len, &e) == 0)
                        table_add_line(tab, buf);
                free(buf);
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
                char *buf = NULL;
                size_t len = 0;
                if (tmpl_render(t, row, &buf, &len, &e) < 0) {
                        fprintf(stderr, "%s\n", e.msg);
                        free(buf);
                        rc = 1;
                        break;
                }
                if (table)
                        table_add_line(tab, buf);
                else
                        printf("%s\n", buf);
                free(buf);
        }
        if (tab)
                table_print(tab);
        tmpl_free(t);
        return rc;
}

void ago(char *buf, size_t size, int64_t unix_time) {
        char d[64];
        human_duration(d, sizeof(d), (int64_t) time(NULL) - unix_time);
        snprintf(buf, size, "%s ago", d);
}

char *ellipsis(const char *s, size_t n) {
        size_t w = text_width(s);
        if (w <= n)
                return strdup(s);
        /* Keep n-1 code points, then "…". */
        size_t cps = 0, i = 0;
        for (; s[i]; i++) {
                if (((unsigned char) s[i] & 0xc0) != 0x80) {
                        if (cps == n - 1)
                                break;
                        cps++;
                }
        }
        return str_printf("%.*s…", (int) i, s);
}

json_t *api_request_json(const char *method, const char *path, json_t *body) {
        struct api_reply r;
        if (api_json(method, path, body, &r) < 0)
                return NULL;
        if (r.status >= 300) {
                api_print_error(&r);
                api_reply_free(&r);
                return NULL;
        }
        json_t *j = r.len ? api_reply_json(&r) : json_object();
        api_reply_free(&r);
        return j ? j : json_object();
}

json_t *api_get_json(const char *path) {
        return api_request_json("GET", path, NULL);
}

bool api_simple(const char *method, const char *path, json_t *body) {
        struct api_reply r;
        if (api_json(method, path, body, &r) < 0)
                return false;
        bool ok = r.status < 300;
        if (!ok)
                api_print_error(&r);
        api_reply_free(&r);
        return ok;
}

static struct termios saved_tio;
static bool tio_saved;

static void term_restore(void) {
        if (tio_saved)
                tcsetattr(0, TCSADRAIN, &saved_tio);
}

void term_raw(void) {
        if (!isatty(0) || tcgetattr(0, &saved_tio) < 0)
                return;
        tio_saved = true;
        atexit(term_restore);
        struct termios raw = saved_tio;
        cfmakeraw(&raw); /* the container's pty does the output processing */
        tcsetattr(0, TCSADRAIN, &raw);
}

bool term_size(unsigned *h, unsigned *w) {
        struct winsize ws;
        int fd = isatty(1) ? 1 : 0;
        if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row)
                return false;
        *h = ws.ws_row;
        *w = ws.ws_col;
        return true;
}

int run_subcommand(const char *group, const struct subcmd *subs, int argc,
                   char **argv) {
        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                printf("\nUsage:  berth %s COMMAND\n\nCommands:\n", group);
                for (const struct subcmd *s = subs; s->name; s++)
                        printf("  %-10s %s\n", s->name, s->summary);
                printf("\nRun 'berth %s COMMAND --help' for more information "
                       "on a command.\n",
                       group);
                return argc < 2 ? 1 : 0;
        }
        for (const struct subcmd *s = subs; s->name; s++)
                if (!strcmp(s->name, argv[1]))
                        return s->fn(argc - 1, argv + 1);
        fprintf(stderr,
                "berth: '%s' is not a berth %s command.\nSee 'berth %s "
                "--help'\n",
                argv[1], group, group);
        return 1;
}

bool confirm(const char *question) {
        printf("%s [y/N] ", question);
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof(line), stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

int api_delete_each(const char *collection, const char *query,
                    char *const *names, int n, bool missing_ok) {
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char *e = url_escape(names[i]);
                char *p = e ? str_printf(API_PREFIX "/%s/%s%s", collection, e,
                                         query ? query : "")
                            : NULL;
                free(e);
                struct api_reply r;
                if (!p || api_call("DELETE", p, NULL, NULL, 0, &r) < 0) {
                        free(p);
                        return 1;
                }
                free(p);
                if (r.status == 404 && missing_ok) {
                        /* -f: one that is not there is no error. */
                } else if (r.status >= 300) {
                        api_print_error(&r);
                        rc = 1;
                } else {
                        printf("%s\n", names[i]);
                }
                api_reply_free(&r);
        }
        return rc;
}
