/* Image references as docker's distribution/reference parses them. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "util.h"

static bool valid_path_component(const char *s, size_t n) {
        /* [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)* */
        if (n == 0 || !isalnum((unsigned char) s[0]) ||
            !isalnum((unsigned char) s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (isalnum((unsigned char) c))
                        continue;
                if (c == '.' || c == '_' || c == '-')
                        continue;
                return false;
        }
        return true;
}

static bool valid_tag(const char *t) {
        size_t n = strlen(t);
        if (n == 0 || n > 128)
                return false;
        if (!isalnum((unsigned char) t[0]) && t[0] != '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) t[i]) && !strchr("_.-", t[i]))
                        return false;
        return true;
}

int reference_normalize(const char *in, char **ret, struct berr *err) {
        if (!in || !*in || strlen(in) > 4096)
                return berr_setx(err, EINVAL, "invalid reference format");
        _cleanup_free_ char *s = strdup(in);
        if (!s)
                return -ENOMEM;
        char *digest = strchr(s, '@');
        if (digest) {
                *digest++ = '\0';
                if (!str_startswith(digest, "sha256:") ||
                    strlen(digest) != 71 ||
                    strspn(digest + 7, "0123456789abcdef") != 64)
                        return berr_setx(err, EINVAL,
                                         "invalid reference format: invalid "
                                         "digest '%s'",
                                         digest);
        }
        /* The tag is after the last ':' that follows the last '/'. */
        char *slash = strrchr(s, '/');
        char *colon = strrchr(slash ? slash : s, ':');
        char *tag = NULL;
        if (colon) {
                *colon = '\0';
                tag = colon + 1;
                if (!valid_tag(tag))
                        return berr_setx(err, EINVAL,
                                         "invalid reference format");
        }
        /* Domain: the first component when it has '.' or ':' or is
         * localhost, or has upper case letters. */
        char *first_slash = strchr(s, '/');
        const char *domain = "docker.io";
        char *path = s;
        if (first_slash) {
                size_t dl = (size_t) (first_slash - s);
                bool is_domain = memchr(s, '.', dl) || memchr(s, ':', dl) ||
                                 (dl == 9 && !strncmp(s, "localhost", 9));
                for (size_t i = 0; i < dl && !is_domain; i++)
                        if (isupper((unsigned char) s[i]))
                                is_domain = true;
                if (is_domain) {
                        *first_slash = '\0';
                        domain = s;
                        path = first_slash + 1;
                }
        }
        if (!*path)
                return berr_setx(err, EINVAL, "invalid reference format");
        for (const char *p = path; *p; p++)
                if (isupper((unsigned char) *p))
                        return berr_setx(err, EINVAL,
                                         "invalid reference format: "
                                         "repository name (%s) must be "
                                         "lowercase",
                                         path);
        /* Check every path component. */
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (!valid_path_component(p, n))
                        return berr_setx(err, EINVAL,
                                         "invalid reference format");
                p += n;
                if (*p == '/')
                        p++;
        }
        bool library = strcmp(domain, "docker.io") == 0 && !strchr(path, '/');
        char *out =
                str_printf("%s/%s%s%s%s%s%s", domain, library ? "library/" : "",
                           path, tag || !digest ? ":" : "",
                           tag ? tag : (!digest ? "latest" : ""),
                           digest ? "@" : "", digest ? digest : "");
        if (!out)
                return -ENOMEM;
        if (strlen(out) > 255 + 128 + 72) {
                free(out);
                return berr_setx(err, EINVAL,
                                 "invalid reference format: repository name "
                                 "must not be more than 255 characters");
        }
        *ret = out;
        return 0;
}

char *reference_familiar(const char *full) {
        const char *s = full;
        if (str_startswith(s, "docker.io/"))
                s += 10;
        if (str_startswith(s, "library/") && !strchr(s + 8, '/'))
                s += 8;
        return strdup(s);
}
