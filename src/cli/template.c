/* A small Go text/template for --format (see template.h for the subset).
 *
 * Parsing turns the text into a tree of nodes: text, an output pipeline,
 * range/if/with blocks.  A pipeline is commands separated by '|'; a
 * command is an operand (.Field.Chain, $var.Chain, "string", number) or a
 * function name with operands; a piped value becomes the last argument. */
#include "template.h"

#include "error.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_type { N_TEXT, N_PIPE, N_RANGE, N_IF, N_WITH };
enum arg_type { A_FIELD, A_VAR, A_STRING, A_NUMBER, A_FUNC, A_BOOL };

struct arg {
        enum arg_type type;
        char *name;    /* var name, function name or string */
        char **fields; /* chain after . or $var */
        double num;
        bool is_int;
};

struct cmd {
        struct arg *args; /* first is the function, or the only operand */
        size_t n;
};

struct pipe {
        char *decl[2]; /* $k, $v := */
        size_t n_decl;
        struct cmd *cmds;
        size_t n;
};

struct node {
        enum node_type type;
        char *text;
        struct pipe pipe;
        struct node *body, *alt; /* lists */
        struct node *next;
};

struct tmpl {
        struct node *root;
};

/* ---- lexing and parsing ---- */

struct parser {
        const char *s;
        size_t pos;
        struct berr *err;
};

static void free_nodes(struct node *n);

static void free_pipe(struct pipe *p) {
        for (size_t i = 0; i < p->n; i++) {
                for (size_t k = 0; k < p->cmds[i].n; k++) {
                        free(p->cmds[i].args[k].name);
                        char **f = p->cmds[i].args[k].fields;
                        for (size_t j = 0; f && f[j]; j++)
                                free(f[j]);
                        free(f);
                }
                free(p->cmds[i].args);
        }
        free(p->cmds);
        free(p->decl[0]);
        free(p->decl[1]);
}

static void free_nodes(struct node *n) {
        while (n) {
                struct node *next = n->next;
                free(n->text);
                free_pipe(&n->pipe);
                free_nodes(n->body);
                free_nodes(n->alt);
                free(n);
                n = next;
        }
}

static int perr(struct parser *p, const char *what) {
        return berr_setx(p->err, EINVAL,
                         "template parsing error: template: "
                         ":1: %s",
                         what);
}

static char **parse_chain(const char **s) {
        char **v = NULL;
        while (**s == '.') {
                (*s)++;
                const char *b = *s;
                while (isalnum((unsigned char) **s) || **s == '_')
                        (*s)++;
                if (*s == b)
                        break; /* a lone "." */
                char *f = strndup(b, (size_t) (*s - b));
                strv_push(&v, f);
                free(f);
        }
        return v;
}

/* Parse the inside of {{ }} (already cut out) into a pipeline. */
static int parse_pipe(struct parser *p, const char *s, struct pipe *out) {
        *out = (struct pipe){0};
        while (isspace((unsigned char) *s))
                s++;
        /* $k, $v := or $v := */
        const char *assign = strstr(s, ":=");
        if (assign && *s == '$') {
                const char *q = s;
                while (q < assign && out->n_decl < 2) {
                        while (isspace((unsigned char) *q) || *q == ',')
                                q++;
                        if (*q != '$')
                                break;
                        const char *b = q;
                        q++;
                        while (isalnum((unsigned char) *q) || *q == '_')
                                q++;
                        out->decl[out->n_decl++] = strndup(b, (size_t) (q - b));
                }
                s = assign + 2;
        }
        struct cmd cur = {0};
        for (;;) {
                while (isspace((unsigned char) *s))
                        s++;
                if (!*s || *s == '|') {
                        if (cur.n == 0)
                                return perr(p, "missing command");
                        out->cmds = realloc(out->cmds,
                                            (out->n + 1) * sizeof(*out->cmds));
                        out->cmds[out->n++] = cur;
                        cur = (struct cmd){0};
                        if (!*s)
                                break;
                        s++;
                        continue;
                }
                struct arg a = {0};
                if (*s == '"' || *s == '`') {
                        char q = *s++;
                        char *buf = malloc(strlen(s) + 1);
                        size_t k = 0;
                        while (*s && *s != q) {
                                if (*s == '\\' && q == '"' && s[1]) {
                                        s++;
                                        char c = *s == 'n'   ? '\n'
                                                 : *s == 't' ? '\t'
                                                             : *s;
                                        buf[k++] = c;
                                } else
                                        buf[k++] = *s;
                                s++;
                        }
                        if (*s != q) {
                                free(buf);
                                return perr(p, "unterminated quoted string");
                        }
                        s++;
                        buf[k] = '\0';
                        a.type = A_STRING;
                        a.name = buf;
                } else if (*s == '.') {
                        a.type = A_FIELD;
                        a.fields = parse_chain(&s);
                        if (*s == '.')
                                s++;
                } else if (*s == '$') {
                        const char *b = s++;
                        while (isalnum((unsigned char) *s) || *s == '_')
                                s++;
                        a.type = A_VAR;
                        a.name = strndup(b, (size_t) (s - b));
                        a.fields = parse_chain(&s);
                } else if (isdigit((unsigned char) *s) || *s == '-') {
                        char *end;
                        a.type = A_NUMBER;
                        a.num = strtod(s, &end);
                        a.is_int = strcspn(s, ".eE") >= (size_t) (end - s);
                        s = end;
                } else if (isalpha((unsigned char) *s)) {
                        const char *b = s;
                        while (isalnum((unsigned char) *s) || *s == '_')
                                s++;
                        a.name = strndup(b, (size_t) (s - b));
                        if (!strcmp(a.name, "true") || !strcmp(a.name, "false"))
                                a.type = A_BOOL;
                        else
                                a.type = A_FUNC;
                } else {
                        char m[64];
                        snprintf(m, sizeof(m), "unexpected \"%c\" in command",
                                 *s);
                        return perr(p, m);
                }
                cur.args = realloc(cur.args, (cur.n + 1) * sizeof(*cur.args));
                cur.args[cur.n++] = a;
        }
        return 0;
}

/* Parse nodes until {{end}} / {{else}} (returned in *stop) or the end. */
static int parse_list(struct parser *p, struct node **ret, char **stop) {
        struct node *head = NULL, **tail = &head;
        *stop = NULL;
        bool trim_next = false;
        for (;;) {
                const char *s = p->s + p->pos;
                const char *open = strstr(s, "{{");
                size_t tlen = open ? (size_t) (open - s) : strlen(s);
                bool trim_left = open && open[2] == '-' &&
                                 isspace((unsigned char) open[3]);
                const char *ts = s;
                if (trim_next)
                        while (tlen && isspace((unsigned char) *ts)) {
                                ts++;
                                tlen--;
                        }
                if (trim_left)
                        while (tlen && isspace((unsigned char) ts[tlen - 1]))
                                tlen--;
                if (tlen) {
                        struct node *n = calloc(1, sizeof(*n));
                        n->type = N_TEXT;
                        n->text = strndup(ts, tlen);
                        *tail = n;
                        tail = &n->next;
                }
                if (!open) {
                        p->pos += strlen(s);
                        *ret = head;
                        return 0;
                }
                const char *in = open + 2 + (trim_left ? 1 : 0);
                const char *close = strstr(in, "}}");
                if (!close) {
                        free_nodes(head);
                        return perr(p, "unclosed action");
                }
                const char *in_end = close;
                trim_next = close > in && close[-1] == '-' &&
                            isspace((unsigned char) close[-2]);
                if (trim_next)
                        in_end--;
                char *action = strndup(in, (size_t) (in_end - in));
                p->pos = (size_t) (close + 2 - p->s);
                char *a = action;
                while (isspace((unsigned char) *a))
                        a++;
                size_t al = strlen(a);
                while (al && isspace((unsigned char) a[al - 1]))
                        a[--al] = '\0';
                if (!strcmp(a, "end") || !strcmp(a, "else")) {
                        *stop = strdup(a);
                        free(action);
                        *ret = head;
                        return 0;
                }
                if (a[0] == '/' && a[1] == '*') { /* comment */
                        free(action);
                        continue;
                }
                struct node *n = calloc(1, sizeof(*n));
                int r;
                const char *kw[] = {"range", "if", "with"};
                enum node_type kt[] = {N_RANGE, N_IF, N_WITH};
                n->type = N_PIPE;
                const char *rest = a;
                for (int k = 0; k < 3; k++) {
                        size_t l = strlen(kw[k]);
                        if (!strncmp(a, kw[k], l) &&
                            (isspace((unsigned char) a[l]) || !a[l])) {
                                n->type = kt[k];
                                rest = a + l;
                        }
                }
                r = parse_pipe(p, rest, &n->pipe);
                free(action);
                if (r < 0) {
                        free(n);
                        free_nodes(head);
                        return r;
                }
                *tail = n;
                tail = &n->next;
                if (n->type != N_PIPE) {
                        char *st = NULL;
                        r = parse_list(p, &n->body, &st);
                        if (r >= 0 && st && !strcmp(st, "else")) {
                                free(st);
                                r = parse_list(p, &n->alt, &st);
                        }
                        bool ended = st && !strcmp(st, "end");
                        free(st);
                        if (r < 0 || !ended) {
                                free_nodes(head);
                                return r < 0 ? r : perr(p, "unexpected EOF");
                        }
                }
        }
}

int tmpl_parse(const char *text, struct tmpl **ret, struct berr *err) {
        struct parser p = {.s = text, .err = err};
        struct tmpl *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        char *stop = NULL;
        int r = parse_list(&p, &t->root, &stop);
        if (r >= 0 && stop) {
                free(stop);
                free_nodes(t->root);
                free(t);
                char m[64];
                snprintf(m, sizeof(m), "unexpected {{%s}}", "end");
                return berr_setx(err, EINVAL,
                                 "template parsing error: template: :1: %s", m);
        }
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

struct tmpl *tmpl_free(struct tmpl *t) {
        if (t) {
                free_nodes(t->root);
                free(t);
        }
        return NULL;
}

/* ---- execution ---- */

struct out {
        char **buf;
        size_t *len;
        size_t cap;
};

struct var {
        const char *name;
        json_t *v;
};

struct exec {
        struct out o;
        struct var vars[32];
        size_t n_vars;
        json_t *root;
        struct berr *err;
};

static void emit(struct exec *x, const char *s, size_t n) {
        struct out *o = &x->o;
        if (*o->len + n + 1 > o->cap) {
                size_t cap = o->cap ? o->cap * 2 : 256;
                while (cap < *o->len + n + 1)
                        cap *= 2;
                char *nb = realloc(*o->buf, cap);
                if (!nb)
                        return;
                *o->buf = nb;
                o->cap = cap;
        }
        memcpy(*o->buf + *o->len, s, n);
        *o->len += n;
        (*o->buf)[*o->len] = '\0';
}

static void emits(struct exec *x, const char *s) {
        emit(x, s, strlen(s));
}

static int cmp_keys(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Sorted keys of an object (Go prints and ranges maps in key order). */
static const char **sorted_keys(json_t *o, size_t *n) {
        *n = json_object_size(o);
        const char **k = calloc(*n + 1, sizeof(*k));
        size_t i = 0;
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) k[i++] = key;
        qsort(k, *n, sizeof(*k), cmp_keys);
        return k;
}

/* Go's %v of a decoded JSON value. */
static void print_value(struct exec *x, json_t *v) {
        char b[64];
        switch (json_typeof(v)) {
        case JSON_STRING:
                emit(x, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(b, sizeof(b), "%lld",
                         (long long) json_integer_value(v));
                emits(x, b);
                break;
        case JSON_REAL:
                snprintf(b, sizeof(b), "%g", json_real_value(v));
                emits(x, b);
                break;
        case JSON_TRUE:
                emits(x, "true");
                break;
        case JSON_FALSE:
                emits(x, "false");
                break;
        case JSON_NULL:
                emits(x, "<no value>");
                break;
        case JSON_ARRAY: {
                emits(x, "[");
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                        if (i)
                                emits(x, " ");
                        print_value(x, e);
                }
                emits(x, "]");
                break;
        }
        case JSON_OBJECT: {
                emits(x, "map[");
                size_t n;
                const char **k = sorted_keys(v, &n);
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                emits(x, " ");
                        emits(x, k[i]);
                        emits(x, ":");
                        print_value(x, json_object_get(v, k[i]));
                }
                free(k);
                emits(x, "]");
                break;
        }
        }
}

static bool truthy(json_t *v) {
        if (!v)
                return false;
        switch (json_typeof(v)) {
        case JSON_STRING:
                return json_string_length(v) > 0;
        case JSON_INTEGER:
                return json_integer_value(v) != 0;
        case JSON_REAL:
                return json_real_value(v) != 0;
        case JSON_TRUE:
                return true;
        case JSON_ARRAY:
                return json_array_size(v) > 0;
        case JSON_OBJECT:
                return json_object_size(v) > 0;
        default:
                return false;
        }
}

static json_t *walk(json_t *v, char **fields) {
        for (size_t i = 0; fields && fields[i]; i++) {
                if (!json_is_object(v))
                        return json_null();
                json_t *n = json_object_get(v, fields[i]);
                if (!n)
                        return json_null();
                v = n;
        }
        return v;
}

static json_t *eval_pipe(struct exec *x, json_t *dot, struct pipe *p);

static json_t *operand(struct exec *x, json_t *dot, struct arg *a) {
        switch (a->type) {
        case A_FIELD:
                return json_incref(walk(dot, a->fields));
        case A_VAR:
                if (!strcmp(a->name, "$"))
                        return json_incref(walk(x->root, a->fields));
                for (size_t i = x->n_vars; i > 0; i--)
                        if (!strcmp(x->vars[i - 1].name, a->name))
                                return json_incref(
                                        walk(x->vars[i - 1].v, a->fields));
                berr_setx(x->err, EINVAL,
                          "template: :1: undefined variable \"%s\"", a->name);
                return NULL;
        case A_STRING:
                return json_string(a->name);
        case A_NUMBER:
                return a->is_int ? json_integer((json_int_t) a->num)
                                 : json_real(a->num);
        case A_BOOL:
                return json_boolean(!strcmp(a->name, "true"));
        case A_FUNC:
                break;
        }
        return NULL;
}

static char *to_text(json_t *v) {
        if (json_is_string(v))
                return strdup(json_string_value(v));
        struct exec tmp = {0};
        char *buf = NULL;
        size_t len = 0;
        tmp.o = (struct out){&buf, &len, 0};
        print_value(&tmp, v);
        return buf ? buf : strdup("");
}

static json_t *call(struct exec *x, const char *fn, json_t **av, size_t ac) {
        if (!strcmp(fn, "json")) {
                if (ac < 1)
                        goto arity;
                char *t = json_dumps(av[0], JSON_COMPACT | JSON_ENCODE_ANY);
                json_t *r = json_string(t ? t : "null");
                free(t);
                return r;
        }
        if (!strcmp(fn, "lower") || !strcmp(fn, "upper") ||
            !strcmp(fn, "title")) {
                if (ac < 1)
                        goto arity;
                char *t = to_text(av[0]);
                for (char *c = t; *c; c++) {
                        if (!strcmp(fn, "lower"))
                                *c = (char) tolower((unsigned char) *c);
                        else if (!strcmp(fn, "upper") || c == t || c[-1] == ' ')
                                *c = (char) toupper((unsigned char) *c);
                }
                json_t *r = json_string(t);
                free(t);
                return r;
        }
        if (!strcmp(fn, "len")) {
                if (ac < 1)
                        goto arity;
                size_t n = json_is_array(av[0])    ? json_array_size(av[0])
                           : json_is_object(av[0]) ? json_object_size(av[0])
                           : json_is_string(av[0]) ? json_string_length(av[0])
                                                   : 0;
                return json_integer((json_int_t) n);
        }
        if (!strcmp(fn, "index")) {
                if (ac < 2)
                        goto arity;
                json_t *v = av[0];
                for (size_t i = 1; i < ac; i++) {
                        if (json_is_object(v) && json_is_string(av[i]))
                                v = json_object_get(v,
                                                    json_string_value(av[i]));
                        else if (json_is_array(v) && json_is_integer(av[i]))
                                v = json_array_get(
                                        v, (size_t) json_integer_value(av[i]));
                        else
                                v = NULL;
                        if (!v)
                                return json_null();
                }
                return json_incref(v);
        }
        if (!strcmp(fn, "join")) {
                if (ac < 2)
                        goto arity;
                const char *sep = json_string_value(av[1]);
                char *buf = NULL;
                size_t len = 0;
                struct exec tmp = {.o = {&buf, &len, 0}};
                size_t i;
                json_t *e;
                json_array_foreach(av[0], i, e) {
                        if (i)
                                emits(&tmp, sep ? sep : "");
                        print_value(&tmp, e);
                }
                json_t *r = json_string(buf ? buf : "");
                free(buf);
                return r;
        }
        if (!strcmp(fn, "split")) {
                if (ac < 2)
                        goto arity;
                char *t = to_text(av[0]);
                const char *sep = json_string_value(av[1]);
                json_t *r = json_array();
                size_t sl = sep ? strlen(sep) : 0;
                char *s = t;
                for (char *hit; sl && (hit = strstr(s, sep)); s = hit + sl)
                        json_array_append_new(
                                r, json_stringn(s, (size_t) (hit - s)));
                json_array_append_new(r, json_string(s));
                free(t);
                return r;
        }
        if (!strcmp(fn, "print") || !strcmp(fn, "println")) {
                char *buf = NULL;
                size_t len = 0;
                struct exec tmp = {.o = {&buf, &len, 0}};
                for (size_t i = 0; i < ac; i++) {
                        if (i)
                                emits(&tmp, " ");
                        print_value(&tmp, av[i]);
                }
                if (fn[5] == 'l')
                        emits(&tmp, "\n");
                json_t *r = json_string(buf ? buf : "");
                free(buf);
                return r;
        }
        if (!strcmp(fn, "printf")) {
                if (ac < 1)
                        goto arity;
                const char *f = json_string_value(av[0]);
                char *buf = NULL;
                size_t len = 0;
                struct exec tmp = {.o = {&buf, &len, 0}};
                size_t ai = 1;
                for (const char *c = f ? f : ""; *c; c++) {
                        if (*c != '%' || !c[1]) {
                                emit(&tmp, c, 1);
                                continue;
                        }
                        c++;
                        /* width/flags are accepted and ignored */
                        while (strchr("-+ #0123456789.", *c) && c[1])
                                c++;
                        if (*c == '%') {
                                emits(&tmp, "%");
                                continue;
                        }
                        if (ai < ac) {
                                if (*c == 'q') {
                                        char *t = to_text(av[ai]);
                                        emits(&tmp, "\"");
                                        emits(&tmp, t);
                                        emits(&tmp, "\"");
                                        free(t);
                                } else
                                        print_value(&tmp, av[ai]);
                                ai++;
                        }
                }
                json_t *r = json_string(buf ? buf : "");
                free(buf);
                return r;
        }
        if (!strcmp(fn, "eq") || !strcmp(fn, "ne")) {
                if (ac < 2)
                        goto arity;
                bool eq = json_equal(av[0], av[1]);
                return json_boolean(fn[0] == 'e' ? eq : !eq);
        }
        if (!strcmp(fn, "not")) {
                if (ac < 1)
                        goto arity;
                return json_boolean(!truthy(av[0]));
        }
        if (!strcmp(fn, "truncate")) {
                if (ac < 2)
                        goto arity;
                char *t = to_text(av[0]);
                size_t n = (size_t) json_integer_value(av[1]);
                if (strlen(t) > n)
                        t[n] = '\0';
                json_t *r = json_string(t);
                free(t);
                return r;
        }
        if (!strcmp(fn, "pad")) {
                if (ac < 3)
                        goto arity;
                char *t = to_text(av[0]);
                json_int_t l = json_integer_value(av[1]),
                           r_ = json_integer_value(av[2]);
                char *s = str_printf("%*s%s%*s", (int) l, "", t, (int) r_, "");
                free(t);
                json_t *r = json_string(s ? s : "");
                free(s);
                return r;
        }
        berr_setx(x->err, EINVAL,
                  "template parsing error: template: :1: function \"%s\" "
                  "not defined",
                  fn);
        return NULL;
arity:
        berr_setx(x->err, EINVAL, "template: :1: wrong number of args for %s",
                  fn);
        return NULL;
}

static json_t *eval_cmd(struct exec *x, json_t *dot, struct cmd *c,
                        json_t *piped) {
        if (c->args[0].type != A_FUNC) {
                if (c->n > 1 || piped) {
                        berr_setx(x->err, EINVAL,
                                  "template: :1: can't give argument to "
                                  "non-function");
                        return NULL;
                }
                return operand(x, dot, &c->args[0]);
        }
        json_t *av[16];
        size_t ac = 0;
        json_t *res = NULL;
        for (size_t i = 1; i < c->n && ac < 15; i++) {
                av[ac] = operand(x, dot, &c->args[i]);
                if (!av[ac])
                        goto out;
                ac++;
        }
        if (piped)
                av[ac++] = json_incref(piped);
        res = call(x, c->args[0].name, av, ac);
out:
        for (size_t i = 0; i < ac; i++)
                json_decref(av[i]);
        return res;
}

static json_t *eval_pipe(struct exec *x, json_t *dot, struct pipe *p) {
        json_t *v = NULL;
        for (size_t i = 0; i < p->n; i++) {
                json_t *n = eval_cmd(x, dot, &p->cmds[i], v);
                json_decref(v);
                if (!n)
                        return NULL;
                v = n;
        }
        return v;
}

static int run_list(struct exec *x, json_t *dot, struct node *n);

static int set_var(struct exec *x, const char *name, json_t *v) {
        if (x->n_vars == 32)
                return berr_setx(x->err, EINVAL,
                                 "template: too many variables");
        x->vars[x->n_vars++] = (struct var){name, v};
        return 0;
}

static int run_node(struct exec *x, json_t *dot, struct node *n) {
        if (n->type == N_TEXT) {
                emits(x, n->text);
                return 0;
        }
        json_t *v = eval_pipe(x, dot, &n->pipe);
        if (!v)
                return -EINVAL;
        int r = 0;
        size_t saved = x->n_vars;
        switch (n->type) {
        case N_PIPE:
                if (n->pipe.n_decl)
                        r = set_var(x, n->pipe.decl[0], v);
                else
                        print_value(x, v);
                break;
        case N_IF:
                r = run_list(x, dot, truthy(v) ? n->body : n->alt);
                break;
        case N_WITH:
                r = truthy(v) ? run_list(x, v, n->body)
                              : run_list(x, dot, n->alt);
                break;
        case N_RANGE:
                if (!truthy(v)) {
                        r = run_list(x, dot, n->alt);
                        break;
                }
                if (json_is_array(v)) {
                        size_t i;
                        json_t *e;
                        json_array_foreach(v, i, e) {
                                x->n_vars = saved;
                                json_t *idx = json_integer((json_int_t) i);
                                if (n->pipe.n_decl == 2) {
                                        set_var(x, n->pipe.decl[0], idx);
                                        set_var(x, n->pipe.decl[1], e);
                                } else if (n->pipe.n_decl == 1)
                                        set_var(x, n->pipe.decl[0], e);
                                r = run_list(x, e, n->body);
                                json_decref(idx);
                                if (r < 0)
                                        break;
                        }
                } else if (json_is_object(v)) {
                        size_t cnt;
                        const char **k = sorted_keys(v, &cnt);
                        for (size_t i = 0; i < cnt && r >= 0; i++) {
                                x->n_vars = saved;
                                json_t *e = json_object_get(v, k[i]);
                                json_t *key = json_string(k[i]);
                                if (n->pipe.n_decl == 2) {
                                        set_var(x, n->pipe.decl[0], key);
                                        set_var(x, n->pipe.decl[1], e);
                                } else if (n->pipe.n_decl == 1)
                                        set_var(x, n->pipe.decl[0], e);
                                r = run_list(x, e, n->body);
                                json_decref(key);
                        }
                        free(k);
                } else
                        r = berr_setx(x->err, EINVAL,
                                      "template: :1: range can't iterate "
                                      "over %s",
                                      "a scalar");
                break;
        case N_TEXT:
                break;
        }
        if (n->type != N_PIPE || !n->pipe.n_decl) {
                x->n_vars = saved;
                json_decref(v);
        }
        /* Declared variables keep their value alive until the end. */
        return r;
}

static int run_list(struct exec *x, json_t *dot, struct node *n) {
        for (; n; n = n->next) {
                int r = run_node(x, dot, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

int tmpl_render(const struct tmpl *t, json_t *data, char **buf, size_t *len,
                struct berr *err) {
        struct exec x = {.o = {buf, len, 0}, .root = data, .err = err};
        if (*buf)
                x.o.cap = *len + 1;
        x.n_vars = 0;
        set_var(&x, "$", data);
        int r = run_list(&x, data, t->root);
        for (size_t i = 1; i < x.n_vars; i++)
                json_decref(x.vars[i].v);
        if (!*buf) {
                *buf = strdup("");
                *len = 0;
        }
        return r;
}
