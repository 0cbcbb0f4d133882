/* Paths of COPY and ADD (see paths.h). */
#include "paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ignore.h"
#include "util.h"

/* An absolute path cleaned: ".." stops at the root. */
static void clean_absolute(char *p) {
        ignore_clean_path(p);
        while (!strncmp(p, "/..", 3) && (p[3] == '/' || !p[3]))
                memmove(p, p + 3, strlen(p + 3) + 1);
        if (!*p) {
                p[0] = '/';
                p[1] = '\0';
        }
}

int build_context_path(const char *src, char **ret, struct berr *err) {
        char *p = strdup(*src ? src : ".");
        if (!p)
                return -ENOMEM;
        if (p[0] == '/') {
                /* Absolute: within the context, as docker joins it to
                 * the context's root. */
                clean_absolute(p);
                memmove(p, p + 1, strlen(p));
                if (!*p) {
                        p[0] = '.';
                        p[1] = '\0';
                }
        } else {
                ignore_clean_path(p);
        }
        if (!strcmp(p, "..") || str_startswith(p, "../")) {
                int r = berr_setx(err, EPERM,
                                  "forbidden path outside the build context: "
                                  "%s",
                                  src);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int build_dest_path(const char *workdir, const char *dest, char **ret,
                    bool *ret_dir, struct berr *err) {
        if (!dest || !*dest)
                return berr_setx(err, EINVAL, "the destination is empty");
        size_t dl = strlen(dest);
        bool dir = dest[dl - 1] == '/' || !strcmp(dest, ".") ||
                   (dl >= 2 && !strcmp(dest + dl - 2, "/."));
        const char *wd = workdir && *workdir ? workdir : "/";
        char *p = dest[0] == '/' ? strdup(dest) : str_printf("%s/%s", wd, dest);
        if (!p)
                return -ENOMEM;
        if (p[0] == '/')
                clean_absolute(p); /* ".." stops at the root */
        else
                ignore_clean_path(p);
        if (p[0] != '/') {
                char *abs = str_printf("/%s", strcmp(p, ".") ? p : "");
                free(p);
                if (!abs)
                        return -ENOMEM;
                p = abs;
        }
        *ret = p;
        *ret_dir = dir || !strcmp(p, "/");
        return 0;
}
