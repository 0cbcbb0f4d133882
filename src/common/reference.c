/* docker's reference grammar, hand-matched instead of with regexes:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   domain     := host [ ":" port ]       host := dns-name | "[" ipv6 "]"
 *   component  := alnum+ ( ( "." | "_" | "__" | "-"+ ) alnum+ )*   (a-z0-9)
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest     := algorithm ":" hex{32,}
 *
 * The parts are found by position: a digest follows the only '@', a tag
 * the last ':' behind the last '/', and the domain is the first
 * component when it reads as one (as Go's leftmost-first regex takes
 * it). */
#include "reference.h"

#include "cleanup.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NAME_TOTAL_LENGTH_MAX 255

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c) {
        return isalnum((unsigned char) c) || c == '_';
}

/* component := alnum+ (sep alnum+)* over s[0..n). */
static bool match_component(const char *s, size_t n) {
        size_t i = 0;
        for (;;) {
                size_t start = i;
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == start)
                        return false;
                if (i == n)
                        return true;
                /* A separator: ".", "_", "__" or one or more "-". */
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
        }
}

/* remote-name := component ("/" component)* */
static bool match_remote_name(const char *s, size_t n) {
        size_t start = 0;
        for (size_t i = 0; i <= n; i++)
                if (i == n || s[i] == '/') {
                        if (!match_component(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        return true;
}

/* One DNS label: [A-Za-z0-9] or [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]. */
static bool match_label(const char *s, size_t n) {
        if (n == 0 || !isalnum((unsigned char) s[0]) ||
            !isalnum((unsigned char) s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool match_domain(const char *s, size_t n) {
        size_t host;
        if (n && s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char) *p) && *p != ':')
                                return false;
                host = (size_t) (close - s) + 1;
        } else {
                host = 0;
                while (host < n && s[host] != ':')
                        host++;
                size_t start = 0;
                for (size_t i = 0; i <= host; i++)
                        if (i == host || s[i] == '.') {
                                if (!match_label(s + start, i - start))
                                        return false;
                                start = i + 1;
                        }
        }
        if (host == n)
                return true;
        if (s[host] != ':' || host + 1 == n)
                return false;
        for (size_t i = host + 1; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

static bool match_tag(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128 || !is_word(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)*  */
static bool match_digest(const char *s) {
        const char *colon = strchr(s, ':');
        if (!colon)
                return false;
        const char *p = s;
        for (;;) {
                if (!isalpha((unsigned char) *p))
                        return false;
                while (isalnum((unsigned char) *p))
                        p++;
                if (p == colon)
                        break;
                if (!strchr("-_+.", *p))
                        return false;
                p++;
        }
        size_t hex = strlen(colon + 1);
        if (hex < 32)
                return false;
        for (p = colon + 1; *p; p++)
                if (!isxdigit((unsigned char) *p))
                        return false;
        return true;
}

/* go-digest's Validate, for a string that matched the digest grammar. */
static int validate_digest(const char *d, struct berr *err) {
        const char *colon = strchr(d, ':');
        size_t alg = (size_t) (colon - d);
        size_t want;
        if (alg == 6 && !strncmp(d, "sha256", 6))
                want = 64;
        else if (alg == 6 && !strncmp(d, "sha384", 6))
                want = 96;
        else if (alg == 6 && !strncmp(d, "sha512", 6))
                want = 128;
        else
                return berr_setx(err, EINVAL, "unsupported digest algorithm");
        if (strlen(colon + 1) != want)
                return berr_setx(err, EINVAL, "invalid checksum digest length");
        for (const char *p = colon + 1; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return berr_setx(err, EINVAL,
                                         "invalid checksum digest format");
        return 0;
}

struct parts {
        size_t domain_len; /* 0: no domain */
        size_t name_len;   /* domain "/" path */
        const char *tag, *digest;
        size_t tag_len;
};

/* The whole-string match of reference := name [:tag] [@digest]. */
static bool match_reference(const char *s, struct parts *ret) {
        struct parts p = {0};
        const char *at = strchr(s, '@');
        size_t head = at ? (size_t) (at - s) : strlen(s);
        if (at) {
                if (!match_digest(at + 1))
                        return false;
                p.digest = at + 1;
        }
        const char *slash = NULL, *colon = NULL;
        for (size_t i = 0; i < head; i++) {
                if (s[i] == '/')
                        slash = s + i;
                else if (s[i] == ':')
                        colon = s + i;
        }
        p.name_len = head;
        if (colon && (!slash || colon > slash)) {
                p.tag = colon + 1;
                p.tag_len = (size_t) (s + head - p.tag);
                p.name_len = (size_t) (colon - s);
                char tag[130];
                if (p.tag_len >= sizeof(tag))
                        return false;
                memcpy(tag, p.tag, p.tag_len);
                tag[p.tag_len] = '\0';
                if (!match_tag(tag))
                        return false;
        }
        const char *first = memchr(s, '/', p.name_len);
        if (first && match_domain(s, (size_t) (first - s)) &&
            match_remote_name(first + 1, p.name_len - (size_t) (first - s) - 1))
                p.domain_len = (size_t) (first - s);
        else if (!match_remote_name(s, p.name_len))
                return false;
        *ret = p;
        return true;
}

/* distribution/reference's Parse. */
static int parse(const char *s, struct reference *ret, struct berr *err) {
        struct parts p;
        if (!match_reference(s, &p)) {
                if (!*s)
                        return berr_setx(err, EINVAL,
                                         "repository name must have at "
                                         "least one component");
                _cleanup_free_ char *lower = strdup(s);
                if (!lower)
                        return -ENOMEM;
                for (char *c = lower; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                struct parts q;
                if (match_reference(lower, &q))
                        return berr_setx(err, EINVAL,
                                         "repository name must be lowercase");
                return berr_setx(err, EINVAL, "invalid reference format");
        }
        size_t path_off = p.domain_len ? p.domain_len + 1 : 0;
        if (p.name_len - path_off > NAME_TOTAL_LENGTH_MAX)
                return berr_setx(err, EINVAL,
                                 "repository name must not be more than "
                                 "%d characters",
                                 NAME_TOTAL_LENGTH_MAX);
        if (p.digest) {
                int r = validate_digest(p.digest, err);
                if (r < 0)
                        return r;
        }
        struct reference r = {0};
        r.domain = p.domain_len ? strndup(s, p.domain_len) : NULL;
        r.path = strndup(s + path_off, p.name_len - path_off);
        r.tag = p.tag ? strndup(p.tag, p.tag_len) : NULL;
        r.digest = p.digest ? strdup(p.digest) : NULL;
        if ((p.domain_len && !r.domain) || !r.path || (p.tag && !r.tag) ||
            (p.digest && !r.digest)) {
                reference_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static bool is_identifier(const char *s) {
        if (strlen(s) != 64)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* splitDockerDomain: which part of a familiar name is the registry. */
static int split_docker_domain(const char *name, char **ret) {
        const char *slash = strchr(name, '/');
        if (!slash) {
                *ret = str_printf(REFERENCE_DEFAULT_DOMAIN "/library/%s", name);
                return *ret ? 0 : -ENOMEM;
        }
        size_t n = (size_t) (slash - name);
        const char *rest = slash + 1;
        bool domain = false;
        if (n == 9 && !strncmp(name, "localhost", 9))
                domain = true;
        else if (n == 15 && !strncmp(name, "index.docker.io", 15)) {
                /* The legacy name of Docker Hub. */
                name = REFERENCE_DEFAULT_DOMAIN;
                n = strlen(name);
                domain = true;
        } else if (memchr(name, '.', n) || memchr(name, ':', n))
                domain = true;
        else
                for (size_t i = 0; i < n; i++)
                        if (isupper((unsigned char) name[i]))
                                domain = true;
        if (!domain) {
                rest = name;
                name = REFERENCE_DEFAULT_DOMAIN;
                n = strlen(name);
        }
        /* "docker.io/ubuntu" is "docker.io/library/ubuntu". */
        bool official = n == strlen(REFERENCE_DEFAULT_DOMAIN) &&
                        !strncmp(name, REFERENCE_DEFAULT_DOMAIN, n) &&
                        !strchr(rest, '/');
        *ret = str_printf("%.*s/%s%s", (int) n, name,
                          official ? "library/" : "", rest);
        return *ret ? 0 : -ENOMEM;
}

int reference_parse_normalized(const char *s, struct reference *ret,
                               struct berr *err) {
        if (is_identifier(s))
                return berr_setx(err, EINVAL,
                                 "invalid repository name (%s), cannot "
                                 "specify 64-byte hexadecimal strings",
                                 s);
        _cleanup_free_ char *full = NULL;
        int r = split_docker_domain(s, &full);
        if (r < 0)
                return r;
        /* The repository (before any tag) must be lowercase; this is
         * checked on what follows the domain, as docker does. */
        const char *remainder = strchr(full, '/') + 1;
        size_t rl = strcspn(remainder, ":");
        for (size_t i = 0; i < rl; i++)
                if (isupper((unsigned char) remainder[i]))
                        return berr_setx(err, EINVAL,
                                         "invalid reference format: "
                                         "repository name (%.*s) must be "
                                         "lowercase",
                                         (int) rl, remainder);
        return parse(full, ret, err);
}

int reference_parse_any(const char *s, struct reference *ret,
                        struct berr *err) {
        if (is_identifier(s))
                return 0;
        if (match_digest(s)) {
                struct berr ignored = {0};
                if (validate_digest(s, &ignored) == 0)
                        return 0;
        }
        int r = reference_parse_normalized(s, ret, err);
        return r < 0 ? r : 1;
}

void reference_done(struct reference *r) {
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (struct reference){0};
}

int reference_tag_name_only(struct reference *r) {
        if (!reference_is_name_only(r))
                return 0;
        r->tag = strdup("latest");
        return r->tag ? 0 : -ENOMEM;
}

char *reference_name(const struct reference *r) {
        return r->domain ? str_printf("%s/%s", r->domain, r->path)
                         : strdup(r->path);
}

static char *with_suffixes(char *name, const struct reference *r) {
        if (!name)
                return NULL;
        char *s = str_printf("%s%s%s%s%s", name, r->tag ? ":" : "",
                             r->tag ? r->tag : "", r->digest ? "@" : "",
                             r->digest ? r->digest : "");
        free(name);
        return s;
}

char *reference_string(const struct reference *r) {
        return with_suffixes(reference_name(r), r);
}

char *reference_familiar_name(const struct reference *r) {
        if (!r->domain || strcmp(r->domain, REFERENCE_DEFAULT_DOMAIN))
                return reference_name(r);
        const char *p = r->path;
        if (str_startswith(p, "library/") && !strchr(p + 8, '/'))
                p += 8;
        return strdup(p);
}

char *reference_familiar_string(const struct reference *r) {
        return with_suffixes(reference_familiar_name(r), r);
}

const char *reference_auth_key(const char *domain) {
        if (!domain)
                return "";
        if (!strcmp(domain, REFERENCE_DEFAULT_DOMAIN) ||
            !strcmp(domain, "index.docker.io"))
                return REFERENCE_INDEX_SERVER;
        return domain;
}
