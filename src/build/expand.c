/* Variables in Dockerfile words (see expand.h). */
#include "expand.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct lexer {
        const char *s;
        size_t i;
        char esc;
        expand_lookup_fn lookup;
        void *ud;
        struct berr *err;
        int depth;
};

struct buf {
        char *p;
        size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *np = realloc(b->p, cap);
                if (!np)
                        return -ENOMEM;
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

static int putc_(struct buf *b, char c) {
        return put(b, &c, 1);
}

static bool name_char(char c) {
        return isalnum((unsigned char) c) || c == '_';
}

#define NAME_MAX_LEN 256

/* The variable named by l->s[st..l->i): its value (NULL: unset) and its
 * name in `name`. */
static int look_up(struct lexer *l, size_t st, char name[NAME_MAX_LEN],
                   const char **ret_val) {
        size_t nl = l->i - st;
        if (nl >= NAME_MAX_LEN)
                return berr_setx(l->err, EINVAL, "variable name too long");
        memcpy(name, l->s + st, nl);
        name[nl] = '\0';
        *ret_val = l->lookup(name, l->ud);
        return 0;
}

/* The text up to the '}' that closes a ${...} (at the same nesting
 * level), expanded; `l->i` is left on the '}'. */
static int word_until_brace(struct lexer *l, struct buf *out);
static int dollar(struct lexer *l, struct buf *out);

static int dollar(struct lexer *l, struct buf *out) {
        /* l->s[l->i] == '$' */
        l->i++;
        char c = l->s[l->i];
        if (c == '{') {
                l->i++;
                size_t st = l->i;
                while (name_char(l->s[l->i]))
                        l->i++;
                if (l->i == st)
                        return berr_setx(l->err, EINVAL,
                                         "bad substitution: a variable name "
                                         "is missing in \"%s\"",
                                         l->s);
                char name[NAME_MAX_LEN];
                const char *val;
                int r0 = look_up(l, st, name, &val);
                if (r0 < 0)
                        return r0;
                char m = l->s[l->i];
                if (m == '}') {
                        l->i++;
                        return val ? put(out, val, strlen(val)) : 0;
                }
                bool colon = false;
                if (m == ':') {
                        colon = true;
                        l->i++;
                        m = l->s[l->i];
                }
                if (m != '-' && m != '+' && m != '?') {
                        if (!m)
                                return berr_setx(l->err, EINVAL,
                                                 "missing '}' in \"%s\"", l->s);
                        return berr_setx(l->err, EINVAL,
                                         "unsupported modifier (%c) in "
                                         "substitution",
                                         m);
                }
                l->i++;
                struct buf w = {0};
                if (++l->depth > 32) {
                        return berr_setx(l->err, EINVAL,
                                         "substitutions nested too deep");
                }
                int r = word_until_brace(l, &w);
                l->depth--;
                if (r < 0) {
                        free(w.p);
                        return r;
                }
                l->i++; /* the '}' */
                bool set = val != NULL, nonempty = val && *val;
                bool use = colon ? nonempty : set;
                const char *wv = w.p ? w.p : "";
                if (m == '-')
                        r = use ? put(out, val, strlen(val))
                                : put(out, wv, strlen(wv));
                else if (m == '+')
                        r = use ? put(out, wv, strlen(wv)) : 0;
                else if (!use)
                        r = berr_setx(l->err, EINVAL, "%s: %s", name,
                                      *wv ? wv : "parameter null or not set");
                else
                        r = put(out, val, strlen(val));
                free(w.p);
                return r;
        }
        if (!name_char(c))
                return putc_(out, '$'); /* a lone '$' is itself */
        size_t st = l->i;
        /* $1...$9 are positional, one digit long (and never set). */
        if (isdigit((unsigned char) c))
                l->i++;
        else
                while (name_char(l->s[l->i]))
                        l->i++;
        char name[NAME_MAX_LEN];
        const char *val;
        int r = look_up(l, st, name, &val);
        if (r < 0)
                return r;
        return val ? put(out, val, strlen(val)) : 0;
}

static int single_quoted(struct lexer *l, struct buf *out) {
        l->i++;
        while (l->s[l->i] && l->s[l->i] != '\'') {
                int r = putc_(out, l->s[l->i++]);
                if (r < 0)
                        return r;
        }
        if (!l->s[l->i])
                return berr_setx(l->err, EINVAL,
                                 "unexpected end of statement while looking "
                                 "for matching single-quote");
        l->i++;
        return 0;
}

static int double_quoted(struct lexer *l, struct buf *out) {
        l->i++;
        for (;;) {
                char c = l->s[l->i];
                int r = 0;
                if (!c)
                        return berr_setx(l->err, EINVAL,
                                         "unexpected end of statement while "
                                         "looking for matching double-quote");
                if (c == '"') {
                        l->i++;
                        return 0;
                }
                if (c == '$') {
                        r = dollar(l, out);
                } else if (c == l->esc) {
                        char n = l->s[l->i + 1];
                        if (n == '"' || n == '$' || n == l->esc) {
                                r = putc_(out, n);
                                l->i += 2;
                        } else {
                                r = putc_(out, c);
                                l->i++;
                        }
                } else {
                        r = putc_(out, c);
                        l->i++;
                }
                if (r < 0)
                        return r;
        }
}

/* Outside quotes, until the end (or a '}' when `brace`). */
static int plain(struct lexer *l, struct buf *out, bool brace) {
        for (;;) {
                char c = l->s[l->i];
                int r = 0;
                if (!c) {
                        if (brace)
                                return berr_setx(l->err, EINVAL,
                                                 "missing '}' in \"%s\"", l->s);
                        return 0;
                }
                if (brace && c == '}')
                        return 0;
                if (c == '\'')
                        r = single_quoted(l, out);
                else if (c == '"')
                        r = double_quoted(l, out);
                else if (c == '$')
                        r = dollar(l, out);
                else if (c == l->esc) {
                        if (l->s[l->i + 1]) {
                                r = putc_(out, l->s[l->i + 1]);
                                l->i += 2;
                        } else {
                                r = putc_(out, c);
                                l->i++;
                        }
                } else {
                        r = putc_(out, c);
                        l->i++;
                }
                if (r < 0)
                        return r;
        }
}

static int word_until_brace(struct lexer *l, struct buf *out) {
        return plain(l, out, true);
}

int expand_word(const char *word, char esc, expand_lookup_fn lookup, void *ud,
                char **ret, struct berr *err) {
        struct lexer l = {
                .s = word, .esc = esc, .lookup = lookup, .ud = ud, .err = err};
        struct buf out = {0};
        int r = plain(&l, &out, false);
        if (r >= 0 && !out.p)
                r = put(&out, "", 0);
        if (r < 0) {
                free(out.p);
                return r;
        }
        *ret = out.p;
        return 0;
}
