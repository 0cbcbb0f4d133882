/* registry_login: credentials are good when /v2/ answers 200 with them
 * (through the token server when the registry uses one). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "registry.h"
#include "transport.h"
#include "util.h"

/* "https://index.docker.io/v1/", "http://host:5000/x" -> "docker.io",
 * "host:5000". */
static char *server_domain(const char *server) {
        const char *s = server;
        if (str_startswith(s, "https://"))
                s += 8;
        else if (str_startswith(s, "http://"))
                s += 7;
        size_t n = strcspn(s, "/");
        _cleanup_free_ char *d = strndup(s, n);
        if (!d)
                return NULL;
        if (!*d || !strcmp(d, "index.docker.io") ||
            !strcmp(d, "registry-1.docker.io") || !strcmp(d, "docker.io"))
                return strdup("docker.io");
        return TAKE_PTR(d);
}

int registry_login(const struct registry_config *cfg, const char *server,
                   const struct registry_auth *auth, char **ret_token,
                   struct berr *err) {
        _cleanup_free_ char *domain =
                server_domain(server && *server ? server : "docker.io");
        if (!domain)
                return -ENOMEM;
        if (!auth || !auth->username || !*auth->username)
                return berr_setx(err, EINVAL,
                                 "login to %s: a username is required", domain);
        struct reg_client *c = NULL;
        int r = reg_client_new(domain, cfg, auth, &c, err);
        if (r < 0)
                return r;
        struct reg_request rq = {.method = "GET", .url = "/v2/", .body_fd = -1};
        struct reg_response resp = {0};
        r = reg_do(c, &rq, &resp, err);
        if (r == -EACCES)
                berr_prefix(err, r, "login to %s", domain);
        else if (r >= 0 && (resp.status == 401 || resp.status == 403)) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, EACCES, "login to %s: unauthorized: %s",
                              domain,
                              why ? why : "incorrect username or password");
        } else if (r >= 0 && resp.status != 200) {
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, EPROTO,
                              "login to %s: the registry answered HTTP "
                              "%ld: %s",
                              domain, resp.status, why ? why : "");
        }
        reg_response_done(&resp);
        reg_client_free(c);
        if (r >= 0 && ret_token)
                *ret_token = NULL;
        return r < 0 ? r : 0;
}
