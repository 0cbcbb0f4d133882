/* Dockerfiles (see dockerfile.h). */
#include "dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "error.h"
#include "util.h"

static const char *const kind_names[DF_KIND_MAX] = {
        [DF_FROM] = "FROM",
        [DF_RUN] = "RUN",
        [DF_CMD] = "CMD",
        [DF_ENTRYPOINT] = "ENTRYPOINT",
        [DF_ENV] = "ENV",
        [DF_ARG] = "ARG",
        [DF_LABEL] = "LABEL",
        [DF_EXPOSE] = "EXPOSE",
        [DF_COPY] = "COPY",
        [DF_ADD] = "ADD",
        [DF_WORKDIR] = "WORKDIR",
        [DF_USER] = "USER",
        [DF_VOLUME] = "VOLUME",
        [DF_STOPSIGNAL] = "STOPSIGNAL",
        [DF_HEALTHCHECK] = "HEALTHCHECK",
        [DF_SHELL] = "SHELL",
        [DF_ONBUILD] = "ONBUILD",
        [DF_MAINTAINER] = "MAINTAINER",
};

/* The flags each instruction takes (NULL-terminated). */
static const char *const from_flags[] = {"platform", NULL};
static const char *const run_flags[] = {"mount", "network", "security", NULL};
static const char *const copy_flags[] = {"from",    "chown",   "chmod", "link",
                                         "parents", "exclude", NULL};
static const char *const add_flags[] = {
        "chown", "chmod", "checksum", "keep-git-dir", "link", "exclude", NULL};
static const char *const hc_flags[] = {"interval",     "timeout",
                                       "start-period", "start-interval",
                                       "retries",      NULL};

const char *df_kind_name(enum df_kind k) {
        return k >= 0 && k < DF_KIND_MAX ? kind_names[k] : "?";
}

const char *df_flag(const struct df_instr *in, const char *name,
                    bool *ret_present) {
        for (size_t i = 0; i < in->n_flags; i++)
                if (!strcmp(in->flags[i].name, name)) {
                        if (ret_present)
                                *ret_present = true;
                        return in->flags[i].value;
                }
        if (ret_present)
                *ret_present = false;
        return NULL;
}

static void instr_clear(struct df_instr *in) {
        free(in->original);
        for (size_t i = 0; i < in->n_flags; i++) {
                free(in->flags[i].name);
                free(in->flags[i].value);
        }
        free(in->flags);
        for (size_t i = 0; i < in->n_args; i++)
                free(in->args[i]);
        free(in->args);
        for (size_t i = 0; i < in->n_heredocs; i++) {
                free(in->heredocs[i].name);
                free(in->heredocs[i].content);
        }
        free(in->heredocs);
        if (in->inner) {
                instr_clear(in->inner);
                free(in->inner);
        }
        memset(in, 0, sizeof(*in));
}

struct dockerfile *dockerfile_free(struct dockerfile *df) {
        if (!df)
                return NULL;
        for (size_t i = 0; i < df->n; i++)
                instr_clear(&df->instrs[i]);
        free(df->instrs);
        free(df->syntax);
        free(df);
        return NULL;
}

static int perr(struct berr *err, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int perr(struct berr *err, int line, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return berr_setx(err, EINVAL, "dockerfile parse error on line %d: %s",
                         line, msg);
}

static int push_arg(struct df_instr *in, const char *s, size_t len) {
        char **nv = realloc(in->args, (in->n_args + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        in->args = nv;
        nv[in->n_args] = strndup(s, len);
        if (!nv[in->n_args])
                return -ENOMEM;
        in->n_args++;
        return 0;
}

/* ---- lines ---- */

struct lines {
        const char *text;
        size_t len;
        size_t pos;
        int lineno; /* of the line last read */
};

/* The next physical line (without its newline or a trailing '\r'), or
 * false at the end.  *ret points into the text. */
static bool next_line(struct lines *l, const char **ret, size_t *ret_len) {
        if (l->pos >= l->len)
                return false;
        const char *s = l->text + l->pos;
        const char *nl = memchr(s, '\n', l->len - l->pos);
        size_t n = nl ? (size_t) (nl - s) : l->len - l->pos;
        l->pos += n + (nl ? 1 : 0);
        if (n && s[n - 1] == '\r')
                n--;
        l->lineno++;
        *ret = s;
        *ret_len = n;
        return true;
}

static bool blank(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char) s[i]))
                        return false;
        return true;
}

static bool comment(const char *s, size_t n) {
        size_t i = 0;
        while (i < n && isspace((unsigned char) s[i]))
                i++;
        return i < n && s[i] == '#';
}

/* "# key=value" at the top of the file. */
static bool directive(const char *s, size_t n, char *key, size_t ksz, char *val,
                      size_t vsz) {
        size_t i = 0;
        if (!n || s[0] != '#')
                return false;
        i = 1;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        size_t k0 = i;
        while (i < n && (isalnum((unsigned char) s[i])))
                i++;
        size_t kl = i - k0;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        if (!kl || kl >= ksz || i >= n || s[i] != '=')
                return false;
        i++;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        size_t v0 = i, ve = n;
        while (ve > v0 && isspace((unsigned char) s[ve - 1]))
                ve--;
        if (ve - v0 >= vsz)
                return false;
        for (size_t j = 0; j < kl; j++)
                key[j] = (char) tolower((unsigned char) s[k0 + j]);
        key[kl] = '\0';
        memcpy(val, s + v0, ve - v0);
        val[ve - v0] = '\0';
        return true;
}

/* ---- words ---- */

/* Split at whitespace outside quotes; quotes and escapes stay in the
 * words (expand.h removes them). */
static int split_words(struct df_instr *in, const char *s, char esc) {
        size_t i = 0, n = strlen(s);
        while (i < n) {
                while (i < n && isspace((unsigned char) s[i]))
                        i++;
                if (i >= n)
                        break;
                size_t st = i;
                char q = 0;
                for (; i < n; i++) {
                        char c = s[i];
                        if (c == esc && q != '\'' && i + 1 < n) {
                                i++;
                                continue;
                        }
                        if (q) {
                                if (c == q)
                                        q = 0;
                        } else if (c == '"' || c == '\'') {
                                q = c;
                        } else if (isspace((unsigned char) c)) {
                                break;
                        }
                }
                int r = push_arg(in, s + st, i - st);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A JSON array of strings: the exec form. */
static int try_json(struct df_instr *in, const char *s) {
        const char *p = s;
        while (isspace((unsigned char) *p))
                p++;
        if (*p != '[')
                return 0;
        json_error_t je;
        json_t *a =
                json_loads(p, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(a)) {
                json_decref(a);
                return 0;
        }
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) if (!json_is_string(v)) {
                json_decref(a);
                return 0;
        }
        int r = 0;
        json_array_foreach(a, i, v) {
                r = push_arg(in, json_string_value(v), json_string_length(v));
                if (r < 0)
                        break;
        }
        json_decref(a);
        if (r >= 0)
                in->json = true;
        return r < 0 ? r : 1;
}

/* KEY=VALUE pairs, or the legacy "KEY VALUE..." (ENV, LABEL). */
static int name_values(struct df_instr *in, const char *s, char esc,
                       struct berr *err) {
        const char *name = df_kind_name(in->kind);
        struct df_instr words = {0};
        int r = split_words(&words, s, esc);
        if (r < 0)
                goto out;
        if (!words.n_args) {
                r = perr(err, in->line, "%s requires at least one argument",
                         name);
                goto out;
        }
        if (!strchr(words.args[0], '=')) {
                /* Legacy: the first word is the key, the rest (as
                 * written) the value. */
                const char *rest = s;
                while (isspace((unsigned char) *rest))
                        rest++;
                rest += strlen(words.args[0]);
                while (isspace((unsigned char) *rest))
                        rest++;
                if (!*rest) {
                        r = perr(err, in->line, "%s must have two arguments",
                                 name);
                        goto out;
                }
                r = push_arg(in, words.args[0], strlen(words.args[0]));
                if (r >= 0)
                        r = push_arg(in, rest, strlen(rest));
                goto out;
        }
        for (size_t i = 0; i < words.n_args; i++) {
                const char *w = words.args[i];
                const char *eq = strchr(w, '=');
                if (!eq) {
                        r = perr(err, in->line,
                                 "Syntax error - can't find = in \"%s\". "
                                 "Must be of the form: name=value",
                                 w);
                        goto out;
                }
                if (eq == w) {
                        r = perr(err, in->line, "%s names can not be blank",
                                 name);
                        goto out;
                }
                r = push_arg(in, w, (size_t) (eq - w));
                if (r >= 0)
                        r = push_arg(in, eq + 1, strlen(eq + 1));
                if (r < 0)
                        goto out;
        }
out:
        instr_clear(&words);
        return r;
}

/* Leading --name[=value] flags; *rest is what follows. */
static int parse_flags(struct df_instr *in, const char **rest,
                       const char *const *allowed, struct berr *err) {
        const char *s = *rest;
        for (;;) {
                while (isspace((unsigned char) *s))
                        s++;
                if (s[0] != '-' || s[1] != '-')
                        break;
                const char *e = s + 2;
                while (*e && !isspace((unsigned char) *e))
                        e++;
                if (e == s + 2) { /* "--" alone ends the flags */
                        s = e;
                        break;
                }
                _cleanup_free_ char *tok = strndup(s + 2, (size_t) (e - s - 2));
                if (!tok)
                        return -ENOMEM;
                char *eq = strchr(tok, '=');
                if (eq)
                        *eq = '\0';
                bool ok = false;
                for (size_t i = 0; allowed && allowed[i]; i++)
                        ok |= !strcmp(allowed[i], tok);
                if (!ok)
                        return perr(err, in->line, "unknown flag: %s", tok);
                struct df_flag *nv =
                        realloc(in->flags, (in->n_flags + 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                in->flags = nv;
                nv[in->n_flags].name = strdup(tok);
                nv[in->n_flags].value = eq ? strdup(eq + 1) : NULL;
                in->n_flags++;
                if (!nv[in->n_flags - 1].name ||
                    (eq && !nv[in->n_flags - 1].value))
                        return -ENOMEM;
                s = e;
        }
        while (isspace((unsigned char) *s))
                s++;
        *rest = s;
        return 0;
}

/* ---- heredocs ---- */

/* The heredoc markers in `args` (<<EOF, <<-EOF, <<"EOF", <<'EOF'). */
static int find_heredocs(struct df_instr *in, const char *args) {
        for (const char *p = strstr(args, "<<"); p; p = strstr(p, "<<")) {
                const char *q = p + 2;
                bool chomp = false;
                if (*q == '-') {
                        chomp = true;
                        q++;
                }
                char quote = 0;
                if (*q == '"' || *q == '\'')
                        quote = *q++;
                const char *w = q;
                while (*q && (isalnum((unsigned char) *q) || *q == '_' ||
                              *q == '-' || *q == '.'))
                        q++;
                if (q == w || (quote && *q != quote)) {
                        p += 2;
                        continue;
                }
                struct df_heredoc *nv = realloc(
                        in->heredocs, (in->n_heredocs + 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                in->heredocs = nv;
                nv[in->n_heredocs] = (struct df_heredoc){
                        .name = strndup(w, (size_t) (q - w)),
                        .expand = !quote,
                        .chomp = chomp,
                };
                if (!nv[in->n_heredocs].name)
                        return -ENOMEM;
                in->n_heredocs++;
                p = quote ? q + 1 : q;
        }
        return 0;
}

static int read_heredocs(struct df_instr *in, struct lines *l,
                         struct berr *err) {
        for (size_t h = 0; h < in->n_heredocs; h++) {
                struct df_heredoc *hd = &in->heredocs[h];
                char *buf = NULL;
                size_t blen = 0;
                FILE *f = open_memstream(&buf, &blen);
                if (!f)
                        return -ENOMEM;
                bool closed = false;
                const char *s;
                size_t n;
                while (next_line(l, &s, &n)) {
                        if (hd->chomp)
                                while (n && *s == '\t') {
                                        s++;
                                        n--;
                                }
                        if (n == strlen(hd->name) && !memcmp(s, hd->name, n)) {
                                closed = true;
                                break;
                        }
                        fwrite(s, 1, n, f);
                        fputc('\n', f);
                }
                fclose(f);
                hd->content = buf ? buf : strdup("");
                if (!hd->content)
                        return -ENOMEM;
                if (!closed)
                        return perr(err, in->line,
                                    "unterminated heredoc: no line \"%s\"",
                                    hd->name);
        }
        return 0;
}

/* ---- instructions ---- */

static int kind_of(const char *w, enum df_kind *ret) {
        for (int k = 0; k < DF_KIND_MAX; k++)
                if (!strcasecmp(w, kind_names[k])) {
                        *ret = (enum df_kind) k;
                        return 0;
                }
        return -ENOENT;
}

static int parse_instr(struct df_instr *in, const char *line, char esc,
                       struct berr *err);

/* Exec form or shell form of RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD. */
static int command_args(struct df_instr *in, const char *rest,
                        struct berr *err) {
        int r = try_json(in, rest);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!*rest && !in->n_heredocs && in->kind == DF_RUN)
                return perr(err, in->line,
                            "RUN requires at least one "
                            "argument");
        return *rest || in->kind != DF_RUN || in->n_heredocs
                       ? push_arg(in, rest, strlen(rest))
                       : 0;
}

static int parse_body(struct df_instr *in, const char *rest, char esc,
                      struct berr *err) {
        const char *name = df_kind_name(in->kind);
        int r = 0;
        switch (in->kind) {
        case DF_FROM:
                r = parse_flags(in, &rest, from_flags, err);
                if (r >= 0)
                        r = split_words(in, rest, esc);
                if (r >= 0 && in->n_args != 1 &&
                    !(in->n_args == 3 && !strcasecmp(in->args[1], "as")))
                        r = perr(err, in->line,
                                 "FROM requires either one or three "
                                 "arguments");
                return r;
        case DF_RUN:
                r = parse_flags(in, &rest, run_flags, err);
                if (r >= 0)
                        r = find_heredocs(in, rest);
                return r < 0 ? r : command_args(in, rest, err);
        case DF_CMD:
        case DF_ENTRYPOINT:
                return command_args(in, rest, err);
        case DF_SHELL:
                r = try_json(in, rest);
                if (r < 0)
                        return r;
                if (r == 0 || !in->n_args)
                        return perr(err, in->line,
                                    "SHELL requires the arguments to be in "
                                    "JSON form");
                return 0;
        case DF_ENV:
        case DF_LABEL:
                return name_values(in, rest, esc, err);
        case DF_COPY:
        case DF_ADD:
                r = parse_flags(in, &rest,
                                in->kind == DF_COPY ? copy_flags : add_flags,
                                err);
                if (r >= 0)
                        r = find_heredocs(in, rest);
                if (r >= 0 && (r = try_json(in, rest)) == 0)
                        r = split_words(in, rest, esc);
                if (r < 0)
                        return r;
                if (in->n_args < 2 && !(in->n_heredocs && in->n_args >= 1))
                        return perr(err, in->line,
                                    "%s requires at least two arguments, but "
                                    "only %s was provided. Destination could "
                                    "not be determined.",
                                    name, in->n_args ? "one" : "none");
                return 0;
        case DF_VOLUME:
                r = try_json(in, rest);
                if (r == 0)
                        r = split_words(in, rest, esc);
                if (r >= 0 && !in->n_args)
                        r = perr(err, in->line,
                                 "VOLUME requires at least one argument");
                return r < 0 ? r : 0;
        case DF_ARG:
        case DF_EXPOSE:
                r = split_words(in, rest, esc);
                if (r >= 0 && !in->n_args)
                        r = perr(err, in->line,
                                 "%s requires at least one argument", name);
                return r;
        case DF_USER:
        case DF_STOPSIGNAL:
        case DF_WORKDIR:
                r = split_words(in, rest, esc);
                if (r >= 0 && in->n_args != 1)
                        r = perr(err, in->line,
                                 "%s requires exactly one argument", name);
                return r;
        case DF_MAINTAINER:
                if (!*rest)
                        return perr(err, in->line,
                                    "MAINTAINER requires exactly one "
                                    "argument");
                return push_arg(in, rest, strlen(rest));
        case DF_HEALTHCHECK: {
                r = parse_flags(in, &rest, hc_flags, err);
                if (r < 0)
                        return r;
                size_t wl = strcspn(rest, " \t");
                if (wl == 4 && !strncasecmp(rest, "NONE", 4)) {
                        if (rest[wl] && !blank(rest + wl, strlen(rest + wl)))
                                return perr(err, in->line,
                                            "HEALTHCHECK NONE takes no "
                                            "arguments");
                        if (in->n_flags)
                                return perr(err, in->line,
                                            "HEALTHCHECK NONE takes no "
                                            "flags");
                        in->none = true;
                        return 0;
                }
                if (wl != 3 || strncasecmp(rest, "CMD", 3))
                        return perr(err, in->line,
                                    "Unknown type \"%.*s\" in HEALTHCHECK "
                                    "(try CMD)",
                                    (int) (wl > 40 ? 40 : wl), rest);
                in->inner = calloc(1, sizeof(*in->inner));
                if (!in->inner)
                        return -ENOMEM;
                in->inner->kind = DF_CMD;
                in->inner->line = in->line;
                rest += wl;
                while (isspace((unsigned char) *rest))
                        rest++;
                if (!*rest)
                        return perr(err, in->line,
                                    "HEALTHCHECK CMD requires a command");
                return command_args(in->inner, rest, err);
        }
        case DF_ONBUILD: {
                size_t wl = strcspn(rest, " \t");
                _cleanup_free_ char *w = strndup(rest, wl);
                enum df_kind k;
                if (!w)
                        return -ENOMEM;
                if (!*w)
                        return perr(err, in->line,
                                    "ONBUILD requires at least one "
                                    "argument");
                if (kind_of(w, &k) >= 0 &&
                    (k == DF_ONBUILD || k == DF_FROM || k == DF_MAINTAINER))
                        return perr(err, in->line,
                                    "%s isn't allowed as an ONBUILD trigger",
                                    kind_names[k]);
                in->inner = calloc(1, sizeof(*in->inner));
                if (!in->inner)
                        return -ENOMEM;
                in->inner->line = in->line;
                return parse_instr(in->inner, rest, esc, err);
        }
        case DF_KIND_MAX:
                break;
        }
        return perr(err, in->line, "unknown instruction");
}

/* One logical line into `in` (line number already set). */
static int parse_instr(struct df_instr *in, const char *line, char esc,
                       struct berr *err) {
        const char *p = line;
        while (isspace((unsigned char) *p))
                p++;
        size_t wl = 0;
        while (p[wl] && !isspace((unsigned char) p[wl]))
                wl++;
        _cleanup_free_ char *w = strndup(p, wl);
        if (!w)
                return -ENOMEM;
        enum df_kind k;
        if (kind_of(w, &k) < 0)
                return perr(err, in->line, "unknown instruction: %.60s", w);
        in->kind = k;
        in->original = strdup(p);
        if (!in->original)
                return -ENOMEM;
        const char *rest = p + wl;
        while (isspace((unsigned char) *rest))
                rest++;
        /* Trailing whitespace is not part of any argument. */
        _cleanup_free_ char *body = strdup(rest);
        if (!body)
                return -ENOMEM;
        size_t bl = strlen(body);
        while (bl && isspace((unsigned char) body[bl - 1]))
                body[--bl] = '\0';
        return parse_body(in, body, esc, err);
}

static int push_instr(struct dockerfile *df, struct df_instr **ret) {
        struct df_instr *nv = realloc(df->instrs, (df->n + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        df->instrs = nv;
        memset(&nv[df->n], 0, sizeof(nv[0]));
        *ret = &nv[df->n++];
        return 0;
}

/* Ends in the escape character (then whitespace): continues. */
static bool continues(const char *s, size_t *n, char esc) {
        size_t e = *n;
        while (e && (s[e - 1] == ' ' || s[e - 1] == '\t'))
                e--;
        if (!e || s[e - 1] != esc)
                return false;
        *n = e - 1;
        return true;
}

int dockerfile_parse(const char *text, size_t len, struct dockerfile **ret,
                     struct berr *err) {
        struct dockerfile *df = calloc(1, sizeof(*df));
        if (!df)
                return -ENOMEM;
        df->escape = '\\';
        struct lines l = {.text = text, .len = len};
        const char *s;
        size_t n;
        int r = 0;
        bool directives = true, seen_escape = false;
        /* Parser directives: only before anything else. */
        while (directives) {
                size_t save_pos = l.pos;
                int save_line = l.lineno;
                if (!next_line(&l, &s, &n))
                        break;
                char key[32], val[256];
                if (!directive(s, n, key, sizeof(key), val, sizeof(val)) ||
                    (strcmp(key, "escape") && strcmp(key, "syntax") &&
                     strcmp(key, "check"))) {
                        l.pos = save_pos;
                        l.lineno = save_line;
                        break;
                }
                if (!strcmp(key, "escape")) {
                        if (seen_escape) {
                                r = perr(err, l.lineno,
                                         "only one escape parser directive "
                                         "can be used");
                                goto fail;
                        }
                        seen_escape = true;
                        if (strcmp(val, "\\") && strcmp(val, "`")) {
                                r = perr(err, l.lineno,
                                         "invalid escape token '%s' does not "
                                         "match ` or \\",
                                         val);
                                goto fail;
                        }
                        df->escape = val[0];
                } else if (!strcmp(key, "syntax")) {
                        free(df->syntax);
                        df->syntax = strdup(val);
                        if (!df->syntax) {
                                r = -ENOMEM;
                                goto fail;
                        }
                }
        }
        while (next_line(&l, &s, &n)) {
                if (blank(s, n) || comment(s, n))
                        continue;
                int start = l.lineno;
                char *buf = NULL;
                size_t blen = 0;
                FILE *f = open_memstream(&buf, &blen);
                if (!f) {
                        r = -ENOMEM;
                        goto fail;
                }
                size_t cn = n;
                bool more = continues(s, &cn, df->escape);
                fwrite(s, 1, cn, f);
                while (more && next_line(&l, &s, &n)) {
                        /* Comments and empty lines inside a continued
                         * instruction are dropped, as docker does. */
                        if (comment(s, n) || blank(s, n))
                                continue;
                        cn = n;
                        more = continues(s, &cn, df->escape);
                        fwrite(s, 1, cn, f);
                }
                fclose(f);
                if (!buf) {
                        r = -ENOMEM;
                        goto fail;
                }
                struct df_instr *in;
                r = push_instr(df, &in);
                if (r >= 0) {
                        in->line = start;
                        r = parse_instr(in, buf, df->escape, err);
                }
                free(buf);
                if (r >= 0 && in->n_heredocs)
                        r = read_heredocs(in, &l, err);
                if (r < 0)
                        goto fail;
        }
        if (!df->n) {
                r = berr_setx(err, EINVAL, "the Dockerfile cannot be empty");
                goto fail;
        }
        *ret = df;
        return 0;
fail:
        dockerfile_free(df);
        return r;
}
