/* config.json credentials and docker's credential-helper protocol.
 *
 * A helper is a program `docker-credential-NAME ACTION` found in $PATH:
 *   get    stdin: the server URL        stdout: {"ServerURL","Username",
 *                                                "Secret"}
 *   store  stdin: {"ServerURL","Username","Secret"}
 *   erase  stdin: the server URL
 * A non-zero exit is a failure whose stdout says why; "credentials not
 * found in native keychain" from `get` just means nothing is stored.  An
 * identity token travels as Username "<token>" with the token as Secret. */
#include "auth.h"
#include "base64.h"

#include "cleanup.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN_USERNAME    "<token>"
#define NOT_FOUND_MESSAGE "credentials not found in native keychain"

void auth_config_done(struct auth_config *a) {
        free(a->username);
        free(a->password);
        free(a->email);
        free(a->serveraddress);
        free(a->identitytoken);
        free(a->registrytoken);
        *a = (struct auth_config){0};
}

static int set_str(char **field, const char *v) {
        free(*field);
        *field = v && *v ? strdup(v) : NULL;
        return v && *v && !*field ? -ENOMEM : 0;
}

static bool str_eq(const char *a, const char *b) {
        return !strcmp(a ? a : "", b ? b : "");
}

/* ---- the file ---- */

char *auth_file_path(void) {
        const char *dir = getenv("DOCKER_CONFIG");
        if (dir && *dir)
                return str_printf("%s/config.json", dir);
        const char *home = getenv("HOME");
        if (!home || !*home) {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : "/";
        }
        return str_printf("%s/.docker/config.json", home);
}

int auth_file_load(const char *path, struct auth_file *ret, struct berr *err) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        json_t *j;
        if (access(path, F_OK) < 0 && errno == ENOENT)
                j = json_object();
        else {
                json_error_t je;
                j = json_load_file(path, JSON_DECODE_ANY, &je);
                if (!j)
                        return berr_setx(err, EINVAL,
                                         "loading config file '%s': %s", path,
                                         je.text);
                if (!json_is_object(j)) {
                        json_decref(j);
                        return berr_setx(err, EINVAL,
                                         "loading config file '%s': not a "
                                         "JSON object",
                                         path);
                }
        }
        if (!j)
                return -ENOMEM;
        ret->path = TAKE_PTR(p);
        ret->json = j;
        return 0;
}

void auth_file_done(struct auth_file *f) {
        free(f->path);
        json_decref(f->json);
        *f = (struct auth_file){0};
}

const char *auth_helper_for(const struct auth_file *f, const char *key) {
        json_t *helpers = json_object_get(f->json, "credHelpers");
        const char *h = json_string_value(json_object_get(helpers, key));
        if (key && *key && h && *h)
                return h;
        h = json_string_value(json_object_get(f->json, "credsStore"));
        return h && *h ? h : NULL;
}

/* One "auths" entry as docker loads it: "auth" decoded into username
 * and password, serveraddress set to the entry's key. */
static int entry_decode(const char *key, json_t *e, struct auth_config *ret,
                        struct berr *err) {
        struct auth_config a = {0};
        int r = 0;
        r |= set_str(&a.username,
                     json_string_value(json_object_get(e, "username")));
        r |= set_str(&a.password,
                     json_string_value(json_object_get(e, "password")));
        r |= set_str(&a.email, json_string_value(json_object_get(e, "email")));
        r |= set_str(&a.identitytoken,
                     json_string_value(json_object_get(e, "identitytoken")));
        r |= set_str(&a.registrytoken,
                     json_string_value(json_object_get(e, "registrytoken")));
        r |= set_str(&a.serveraddress, key);
        if (r < 0) {
                auth_config_done(&a);
                return -ENOMEM;
        }
        const char *b64 = json_string_value(json_object_get(e, "auth"));
        if (b64 && *b64) {
                _cleanup_free_ char *plain = NULL;
                char *colon = NULL;
                if (base64_decode(b64, &plain, NULL) == 0)
                        colon = strchr(plain, ':');
                if (!colon || colon == plain) {
                        auth_config_done(&a);
                        return berr_setx(err, EINVAL,
                                         "credentials for '%s': \"auth\" is "
                                         "not base64 of user:password",
                                         key);
                }
                *colon = '\0';
                r |= set_str(&a.username, plain);
                r |= set_str(&a.password, colon + 1);
                if (r < 0) {
                        auth_config_done(&a);
                        return -ENOMEM;
                }
        }
        *ret = a;
        return 0;
}

/* The file store's Get: the entry of `key`, or one whose key is a URL of
 * that host (configs written by old docker versions). */
static int file_get(const struct auth_file *f, const char *key,
                    struct auth_config *ret, struct berr *err) {
        json_t *auths = json_object_get(f->json, "auths");
        json_t *e = json_object_get(auths, key);
        if (json_is_object(e))
                return entry_decode(key, e, ret, err);
        const char *k;
        json_object_foreach(auths, k, e) {
                _cleanup_free_ char *host = auth_convert_to_hostname(k);
                if (!host)
                        return -ENOMEM;
                if (!strcmp(host, key) && json_is_object(e))
                        return entry_decode(k, e, ret, err);
        }
        *ret = (struct auth_config){0};
        return 0;
}

/* ---- credential helpers ---- */

/* Run `docker-credential-HELPER action` with `input` on stdin.  Returns 0
 * with its stdout in *ret_out and its exit status in *ret_status (a
 * signal counts as 128+N), or < 0 when it could not be run at all, with
 * Go's wording in err. */
static int helper_run(const char *helper, const char *action, const char *input,
                      char **ret_out, int *ret_status, struct berr *err) {
        _cleanup_free_ char *prog = str_printf("docker-credential-%s", helper);
        if (!prog)
                return -ENOMEM;
        /* stdin is a socket so that a helper that does not read it gives
         * EPIPE here (MSG_NOSIGNAL), not SIGPIPE. */
        int in[2], out[2], ex[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
                return berr_set(err, errno, "run '%s %s'", prog, action);
        if (pipe2(out, O_CLOEXEC) < 0) {
                int e = errno;
                close(in[0]);
                close(in[1]);
                return berr_set(err, e, "run '%s %s'", prog, action);
        }
        if (pipe2(ex, O_CLOEXEC) < 0) {
                int e = errno;
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                return berr_set(err, e, "run '%s %s'", prog, action);
        }
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                close(ex[0]);
                close(ex[1]);
                return berr_set(err, e, "run '%s %s'", prog, action);
        }
        if (pid == 0) {
                /* The child: stdin/stdout on our pipes, stderr shared
                 * with the user (helpers print their prompts there). */
                if (dup2(in[1], 0) < 0 || dup2(out[1], 1) < 0)
                        _exit(127);
                signal(SIGPIPE, SIG_DFL);
                char *argv[] = {prog, (char *) action, NULL};
                execvp(prog, argv);
                int e = errno;
                (void) !write(ex[1], &e, sizeof(e));
                _exit(127);
        }
        close(in[1]);
        close(out[1]);
        close(ex[1]);
        _cleanup_close_ int fd_in = in[0], fd_out = out[0], fd_ex = ex[0];
        size_t len = strlen(input);
        for (size_t off = 0; off < len;) {
                ssize_t n = send(fd_in, input + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* it stopped reading: its answer tells */
                off += (size_t) n;
        }
        shutdown(fd_in, SHUT_WR);
        _cleanup_free_ char *output = NULL;
        int r = read_fd_all(fd_out, 1 << 20, &output, NULL);
        int exec_errno = 0;
        ssize_t k;
        do
                k = read(fd_ex, &exec_errno, sizeof(exec_errno));
        while (k < 0 && errno == EINTR);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return berr_set(err, errno, "wait for '%s'", prog);
        if (k == (ssize_t) sizeof(exec_errno))
                return berr_setx(err, exec_errno,
                                 exec_errno == ENOENT
                                         ? "exec: \"%s\": executable file "
                                           "not found in $PATH"
                                         : "exec: \"%s\": cannot run it",
                                 prog);
        if (r < 0)
                return berr_set(err, r, "read the answer of '%s'", prog);
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status)
                                        : 128 + WTERMSIG(status);
        *ret_out = TAKE_PTR(output);
        return 0;
}

/* The trimmed helper output for an error message. */
static const char *trimmed(char *s) {
        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                s++;
        size_t n = strlen(s);
        while (n && strchr(" \n\t\r", s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int helper_get(const char *helper, const char *key,
                      struct auth_config *ret, struct berr *err) {
        _cleanup_free_ char *out = NULL;
        int status;
        struct berr e = {0};
        int r = helper_run(helper, "get", key, &out, &status, &e);
        if (r < 0)
                return berr_setx(err, -r,
                                 "error getting credentials - err: %s, out: "
                                 "``",
                                 e.msg);
        const char *t = trimmed(out);
        if (status != 0) {
                if (!strcmp(t, NOT_FOUND_MESSAGE)) {
                        *ret = (struct auth_config){0};
                        return 0;
                }
                return berr_setx(err, EIO,
                                 "error getting credentials - err: exit "
                                 "status %d, out: `%s`",
                                 status, t);
        }
        json_error_t je;
        json_t *j = json_loads(t, JSON_DECODE_ANY, &je);
        if (!json_is_object(j)) {
                json_decref(j);
                return berr_setx(err, EPROTO,
                                 "error getting credentials: helper '%s' "
                                 "answered no JSON object: %s",
                                 helper, j ? "wrong type" : je.text);
        }
        const char *user = json_string_value(json_object_get(j, "Username"));
        const char *secret = json_string_value(json_object_get(j, "Secret"));
        struct auth_config a = {0};
        r = 0;
        if (user && !strcmp(user, TOKEN_USERNAME))
                r |= set_str(&a.identitytoken, secret);
        else {
                r |= set_str(&a.username, user);
                r |= set_str(&a.password, secret);
        }
        r |= set_str(&a.serveraddress, key);
        json_decref(j);
        if (r < 0) {
                auth_config_done(&a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

static int helper_store(const char *helper, const struct auth_config *a,
                        struct berr *err) {
        bool token = a->identitytoken && *a->identitytoken;
        json_t *j = json_pack(
                "{s:s, s:s, s:s}", "ServerURL",
                a->serveraddress ? a->serveraddress : "", "Username",
                token ? TOKEN_USERNAME : (a->username ? a->username : ""),
                "Secret",
                token ? a->identitytoken : (a->password ? a->password : ""));
        if (!j)
                return -ENOMEM;
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        _cleanup_free_ char *input = str_printf("%s\n", text);
        free(text);
        if (!input)
                return -ENOMEM;
        _cleanup_free_ char *out = NULL;
        int status;
        struct berr e = {0};
        int r = helper_run(helper, "store", input, &out, &status, &e);
        if (r < 0)
                return berr_setx(err, -r,
                                 "error storing credentials - err: %s, out: "
                                 "``",
                                 e.msg);
        if (status != 0)
                return berr_setx(err, EIO,
                                 "error storing credentials - err: exit "
                                 "status %d, out: `%s`",
                                 status, trimmed(out));
        return 0;
}

static int helper_erase(const char *helper, const char *key, struct berr *err) {
        _cleanup_free_ char *out = NULL;
        int status;
        struct berr e = {0};
        int r = helper_run(helper, "erase", key, &out, &status, &e);
        if (r < 0)
                return berr_setx(err, -r,
                                 "error erasing credentials - err: %s, out: "
                                 "``",
                                 e.msg);
        if (status != 0)
                return berr_setx(err, EIO,
                                 "error erasing credentials - err: exit "
                                 "status %d, out: `%s`",
                                 status, trimmed(out));
        return 0;
}

/* ---- the store ---- */

int auth_get(const struct auth_file *f, const char *key,
             struct auth_config *ret, struct berr *err) {
        const char *helper = auth_helper_for(f, key);
        if (!helper)
                return file_get(f, key, ret, err);
        /* The file may still hold the e-mail of a helper's entry. */
        struct auth_config a = {0}, h = {0};
        int r = file_get(f, key, &a, err);
        if (r < 0)
                return r;
        r = helper_get(helper, key, &h, err);
        if (r < 0) {
                auth_config_done(&a);
                return r;
        }
        free(a.username);
        free(a.password);
        free(a.identitytoken);
        free(a.serveraddress);
        a.username = TAKE_PTR(h.username);
        a.password = TAKE_PTR(h.password);
        a.identitytoken = TAKE_PTR(h.identitytoken);
        a.serveraddress = TAKE_PTR(h.serveraddress);
        auth_config_done(&h);
        *ret = a;
        return 0;
}

/* The file entry docker writes: "auth" (user:password), "email",
 * "identitytoken", "registrytoken". */
static json_t *entry_encode(const struct auth_config *a) {
        json_t *e = json_object();
        if (!e)
                return NULL;
        if ((a->username && *a->username) || (a->password && *a->password)) {
                _cleanup_free_ char *plain =
                        str_printf("%s:%s", a->username ? a->username : "",
                                   a->password ? a->password : "");
                _cleanup_free_ char *b64 =
                        plain ? base64_encode(plain, strlen(plain), false)
                              : NULL;
                if (!b64 || json_object_set_new(e, "auth", json_string(b64))) {
                        json_decref(e);
                        return NULL;
                }
        }
        const struct {
                const char *k, *v;
        } more[] = {{"email", a->email},
                    {"identitytoken", a->identitytoken},
                    {"registrytoken", a->registrytoken}};
        for (size_t i = 0; i < ELEMENTSOF(more); i++)
                if (more[i].v && *more[i].v &&
                    json_object_set_new(e, more[i].k, json_string(more[i].v))) {
                        json_decref(e);
                        return NULL;
                }
        return e;
}

static json_t *auths_object(struct auth_file *f) {
        json_t *auths = json_object_get(f->json, "auths");
        if (json_is_object(auths))
                return auths;
        auths = json_object();
        if (!auths || json_object_set_new(f->json, "auths", auths))
                return NULL;
        return auths;
}

static int file_store(struct auth_file *f, const struct auth_config *a,
                      struct berr *err) {
        const char *key = a->serveraddress ? a->serveraddress : "";
        json_t *auths = auths_object(f);
        if (!auths)
                return -ENOMEM;
        json_t *old = json_object_get(auths, key);
        if (json_is_object(old)) {
                struct auth_config o = {0};
                struct berr ignored = {0};
                if (entry_decode(key, old, &o, &ignored) == 0) {
                        bool same = str_eq(o.username, a->username) &&
                                    str_eq(o.password, a->password) &&
                                    str_eq(o.email, a->email) &&
                                    str_eq(o.identitytoken, a->identitytoken) &&
                                    str_eq(o.registrytoken, a->registrytoken);
                        auth_config_done(&o);
                        if (same)
                                return 0; /* unchanged: no rewrite */
                }
        }
        json_t *e = entry_encode(a);
        if (!e || json_object_set_new(auths, key, e))
                return -ENOMEM;
        int r = auth_file_save(f, err);
        return r < 0 ? r : 1;
}

int auth_store(struct auth_file *f, const struct auth_config *a,
               bool *ret_plaintext, struct berr *err) {
        const char *helper = auth_helper_for(f, a->serveraddress);
        if (ret_plaintext)
                *ret_plaintext = false;
        if (!helper) {
                int r = file_store(f, a, err);
                if (r > 0 && ret_plaintext)
                        *ret_plaintext = a->password && *a->password;
                return r < 0 ? r : 0;
        }
        int r = helper_store(helper, a, err);
        if (r < 0)
                return r;
        /* The secrets live in the helper; the file keeps the rest. */
        struct auth_config rest = *a;
        rest.username = rest.password = rest.identitytoken = NULL;
        r = file_store(f, &rest, err);
        return r < 0 ? r : 0;
}

static int file_erase(struct auth_file *f, const char *key, struct berr *err) {
        json_t *auths = json_object_get(f->json, "auths");
        if (!json_object_get(auths, key))
                return 0;
        json_object_del(auths, key);
        return auth_file_save(f, err);
}

int auth_erase(struct auth_file *f, const char *key, struct berr *err) {
        const char *helper = auth_helper_for(f, key);
        if (helper) {
                int r = helper_erase(helper, key, err);
                if (r < 0)
                        return r;
        }
        return file_erase(f, key, err);
}

/* Go's MarshalIndent with "\t": jansson indents with spaces, and inside
 * the text every newline is escaped, so leading spaces are indentation. */
static char *dump_tabbed(json_t *j) {
        _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(1));
        if (!text)
                return NULL;
        char *out = malloc(strlen(text) + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        bool line_start = true;
        for (const char *p = text; *p; p++) {
                if (line_start && *p == ' ') {
                        out[o++] = '\t';
                        continue;
                }
                line_start = *p == '\n';
                out[o++] = *p;
        }
        out[o] = '\0';
        return out;
}

/* The file a rewrite must replace: config.json itself, or what it links
 * to (even a link to a file not yet there). */
static char *resolve_target(const char *path) {
        char *real = realpath(path, NULL);
        if (real)
                return real;
        char link[PATH_MAX];
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
                return strdup(path);
        link[n] = '\0';
        if (link[0] == '/')
                return strdup(link);
        const char *slash = strrchr(path, '/');
        return slash ? str_printf("%.*s/%s", (int) (slash - path), path, link)
                     : strdup(link);
}

int auth_file_save(struct auth_file *f, struct berr *err) {
        _cleanup_free_ char *target = resolve_target(f->path);
        _cleanup_free_ char *text = dump_tabbed(f->json);
        if (!target || !text)
                return -ENOMEM;
        _cleanup_free_ char *dir = strdup(target);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = '\0';
        else if (slash)
                dir[1] = '\0';
        else
                strcpy(dir, ".");
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return berr_set(err, r, "create directory '%s'", dir);
        _cleanup_free_ char *tmp = str_printf("%s.XXXXXX", target);
        if (!tmp)
                return -ENOMEM;
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return berr_set(err, errno,
                                "create a temporary file beside "
                                "'%s'",
                                target);
        /* Keep the old file's mode and owner, as docker does; a new file
         * is 0600 (mkostemp's mode), since it holds secrets. */
        struct stat st;
        if (stat(target, &st) == 0) {
                (void) !fchown(fd, st.st_uid, st.st_gid);
                (void) !fchmod(fd, st.st_mode & 07777);
        }
        r = write_all(fd, text, strlen(text));
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return berr_set(err, r, "write '%s'", tmp);
        }
        if (rename(tmp, target) < 0) {
                r = -errno;
                unlink(tmp);
                return berr_set(err, r, "rename '%s' to '%s'", tmp, target);
        }
        return 0;
}

/* ---- encodings ---- */

json_t *auth_config_json(const struct auth_config *a) {
        json_t *j = json_object();
        const struct {
                const char *k, *v;
        } fields[] = {{"username", a->username},
                      {"password", a->password},
                      {"email", a->email},
                      {"serveraddress", a->serveraddress},
                      {"identitytoken", a->identitytoken},
                      {"registrytoken", a->registrytoken}};
        for (size_t i = 0; j && i < ELEMENTSOF(fields); i++)
                if (fields[i].v && *fields[i].v &&
                    json_object_set_new(j, fields[i].k,
                                        json_string(fields[i].v))) {
                        json_decref(j);
                        return NULL;
                }
        return j;
}

char *auth_encode_header(const struct auth_config *a) {
        json_t *j = auth_config_json(a);
        if (!j)
                return NULL;
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return text ? base64_encode(text, strlen(text), true) : NULL;
}

char *auth_convert_to_hostname(const char *url) {
        const char *sep = strstr(url, "://");
        if (sep) {
                const char *host = sep + 3;
                size_t n = strcspn(host, "/?#");
                const char *at = memchr(host, '@', n);
                if (at) {
                        n -= (size_t) (at + 1 - host);
                        host = at + 1;
                }
                if (n > 0 && host[0] != ':')
                        return strndup(host, n);
        }
        return strndup(url, strcspn(url, "/"));
}
