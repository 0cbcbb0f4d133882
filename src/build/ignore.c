/* .dockerignore (see ignore.h). */
#include "ignore.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct rule {
        char *pattern;
        bool exception;
};

struct ignore {
        struct rule *rules;
        size_t n;
        bool exceptions;
};

void ignore_clean_path(char *p) {
        if (!*p)
                return; /* no room for "." */
        char *out = p;
        const char *s = p;
        bool abs = *s == '/';
        if (abs)
                *out++ = '/';
        char *base = out; /* ".." may not go above this */
        while (*s) {
                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                const char *e = strchr(s, '/');
                size_t n = e ? (size_t) (e - s) : strlen(s);
                if (n == 1 && s[0] == '.') {
                        /* nothing */
                } else if (n == 2 && s[0] == '.' && s[1] == '.') {
                        /* Up one, unless there is nothing to go up from
                         * (then the ".." stays: it can match nothing in
                         * a context anyway). */
                        char *q = out;
                        if (q > base && q[-1] == '/')
                                q--;
                        char *seg = q;
                        while (seg > base && seg[-1] != '/')
                                seg--;
                        bool dotdot =
                                q - seg == 2 && seg[0] == '.' && seg[1] == '.';
                        if (seg == q || dotdot) {
                                if (out > base && out[-1] != '/')
                                        *out++ = '/';
                                memmove(out, "..", 2);
                                out += 2;
                        } else {
                                out = seg;
                        }
                } else {
                        if (out > base && out[-1] != '/')
                                *out++ = '/';
                        memmove(out, s, n);
                        out += n;
                }
                s += n;
        }
        if (out > base && out[-1] == '/')
                out--;
        if (out == p)
                *out++ = '.';
        *out = '\0';
}

/* [class] at p (p[0] == '['), against c; *ret_len: the class's length,
 * 0 when it is malformed (then '[' is literal). */
static bool class_match(const char *p, char c, size_t *ret_len) {
        size_t i = 1;
        bool neg = false;
        if (p[i] == '^' || p[i] == '!') {
                neg = true;
                i++;
        }
        bool hit = false;
        bool first = true;
        while (p[i] && (p[i] != ']' || first)) {
                first = false;
                char lo = p[i];
                if (lo == '\\' && p[i + 1])
                        lo = p[++i];
                char hi = lo;
                if (p[i + 1] == '-' && p[i + 2] && p[i + 2] != ']') {
                        hi = p[i + 2];
                        if (hi == '\\' && p[i + 3])
                                hi = p[i + 3], i++;
                        i += 2;
                }
                if (c >= lo && c <= hi)
                        hit = true;
                i++;
        }
        if (p[i] != ']') {
                *ret_len = 0;
                return false;
        }
        *ret_len = i + 1;
        return c != '/' && hit != neg;
}

/* Matching with a memo of (pattern offset, name offset) pairs already
 * known not to match: every pair is decided once, so a hostile pattern
 * ("*a*a*a*...") costs at most len(pattern) x len(name) steps, not an
 * exponential number. */
struct gm {
        const char *p0, *s0;
        size_t sl;
        unsigned char *failed; /* bit per pair; NULL: no memo */
};

static bool known_fail(struct gm *g, const char *p, const char *s) {
        if (!g->failed)
                return false;
        size_t k = (size_t) (p - g->p0) * (g->sl + 1) + (size_t) (s - g->s0);
        return g->failed[k / 8] & (1u << (k % 8));
}

static void mark_fail(struct gm *g, const char *p, const char *s) {
        if (!g->failed)
                return;
        size_t k = (size_t) (p - g->p0) * (g->sl + 1) + (size_t) (s - g->s0);
        g->failed[k / 8] |= (unsigned char) (1u << (k % 8));
}

static bool glob_at(struct gm *g, const char *p, const char *s, int depth);

static bool glob(struct gm *g, const char *p, const char *s, int depth) {
        if (known_fail(g, p, s))
                return false;
        bool m = glob_at(g, p, s, depth);
        if (!m)
                mark_fail(g, p, s);
        return m;
}

static bool glob_at(struct gm *g, const char *p, const char *s, int depth) {
        if (depth > 256)
                return false;
        for (;;) {
                if (!*p)
                        return !*s;
                if (p[0] == '*' && p[1] == '*') {
                        const char *rest = p + 2;
                        while (*rest == '*')
                                rest++;
                        if (*rest == '/') {
                                /* Zero or more whole components. */
                                rest++;
                                if (glob(g, rest, s, depth + 1))
                                        return true;
                                for (const char *q = s; *q; q++)
                                        if (*q == '/' &&
                                            glob(g, rest, q + 1, depth + 1))
                                                return true;
                                return false;
                        }
                        for (const char *q = s;; q++) {
                                if (glob(g, rest, q, depth + 1))
                                        return true;
                                if (!*q)
                                        return false;
                        }
                }
                if (*p == '*') {
                        const char *rest = p + 1;
                        for (const char *q = s;; q++) {
                                if (glob(g, rest, q, depth + 1))
                                        return true;
                                if (!*q || *q == '/')
                                        return false;
                        }
                }
                if (!*s)
                        return false;
                if (*p == '?') {
                        if (*s == '/')
                                return false;
                } else if (*p == '[') {
                        size_t n;
                        bool m = class_match(p, *s, &n);
                        if (n) {
                                if (!m)
                                        return false;
                                p += n;
                                s++;
                                continue;
                        }
                        if (*s != '[')
                                return false;
                } else if (*p == '\\' && p[1]) {
                        p++;
                        if (*p != *s)
                                return false;
                } else if (*p != *s) {
                        return false;
                }
                p++;
                s++;
        }
}

static bool glob_top(const char *pattern, const char *name) {
        struct gm g = {.p0 = pattern, .s0 = name, .sl = strlen(name)};
        size_t pairs = (strlen(pattern) + 1) * (g.sl + 1);
        /* 4096 x 4096 pairs at most: half a megabyte of bits.  Beyond
         * that (never in a real .dockerignore) no match. */
        if (pairs > ((size_t) 1 << 24))
                return false;
        g.failed = calloc(pairs / 8 + 1, 1);
        if (!g.failed)
                return false;
        bool m = glob(&g, pattern, name, 0);
        free(g.failed);
        return m;
}

bool ignore_glob(const char *pattern, const char *name) {
        return glob_top(pattern, name);
}

static void rules_free(struct ignore *ig) {
        for (size_t i = 0; i < ig->n; i++)
                free(ig->rules[i].pattern);
        free(ig->rules);
}

struct ignore *ignore_free(struct ignore *ig) {
        if (ig) {
                rules_free(ig);
                free(ig);
        }
        return NULL;
}

int ignore_parse(const char *text, size_t len, struct ignore **ret,
                 struct berr *err) {
        (void) err;
        struct ignore *ig = calloc(1, sizeof(*ig));
        if (!ig)
                return -ENOMEM;
        size_t pos = 0;
        while (pos < len) {
                const char *s = text + pos;
                const char *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                while (n && isspace((unsigned char) *s))
                        s++, n--;
                while (n && isspace((unsigned char) s[n - 1]))
                        n--;
                if (!n || *s == '#')
                        continue;
                bool exc = false;
                if (*s == '!') {
                        exc = true;
                        s++, n--;
                        while (n && isspace((unsigned char) *s))
                                s++, n--;
                        if (!n)
                                continue;
                }
                char *pat = strndup(s, n);
                if (!pat) {
                        ignore_free(ig);
                        return -ENOMEM;
                }
                ignore_clean_path(pat);
                if (pat[0] == '/' && pat[1])
                        memmove(pat, pat + 1, strlen(pat));
                struct rule *nv = realloc(ig->rules, (ig->n + 1) * sizeof(*nv));
                if (!nv) {
                        free(pat);
                        ignore_free(ig);
                        return -ENOMEM;
                }
                ig->rules = nv;
                nv[ig->n++] = (struct rule){.pattern = pat, .exception = exc};
                ig->exceptions |= exc;
        }
        *ret = ig;
        return 0;
}

/* The pattern matches `path` or one of its parent directories. */
static bool matches_or_parent(const char *pattern, const char *path) {
        if (glob_top(pattern, path))
                return true;
        size_t n = strlen(path);
        char buf[4096];
        if (n >= sizeof(buf))
                return false;
        memcpy(buf, path, n + 1);
        for (size_t i = n; i > 0; i--)
                if (buf[i - 1] == '/') {
                        buf[i - 1] = '\0';
                        if (glob_top(pattern, buf))
                                return true;
                }
        return false;
}

bool ignore_match(const struct ignore *ig, const char *path) {
        bool out = false;
        for (size_t i = 0; ig && i < ig->n; i++)
                if (matches_or_parent(ig->rules[i].pattern, path))
                        out = !ig->rules[i].exception;
        return out;
}

bool ignore_has_exceptions(const struct ignore *ig) {
        return ig && ig->exceptions;
}
