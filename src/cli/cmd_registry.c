/* Registry commands: pull, push, login, logout, and the pull that run and
 * create do for a missing image.  The daemon talks to the registry; the
 * CLI sends the reference and the credentials (X-Registry-Auth, from
 * config.json or a credential helper, see auth.h) and draws the daemon's
 * progress stream (progress.h).  Output, prompts and exit statuses follow
 * docker 28's CLI. */
#include "cli.h"

#include "auth.h"
#include "cleanup.h"
#include "progress.h"
#include "reference.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define HUB_REGISTER_SUGGEST                                                   \
        "Log in with your Docker ID or email address to push and pull "        \
        "images from Docker Hub. If you don't have a Docker ID, head over "    \
        "to https://hub.docker.com/ to create one."
#define HUB_PAT_SUGGEST                                                        \
        "You can log in with your password or a Personal Access Token "        \
        "(PAT). Using a limited-scope PAT grants better security and is "      \
        "required for organizations using SSO. Learn more at "                 \
        "https://docs.docker.com/go/access-tokens/"
#define UNENCRYPTED_WARNING                                                    \
        "\nWARNING! Your credentials are stored unencrypted in '%s'.\n"        \
        "Configure a credential helper to remove this warning. See\n"          \
        "https://docs.docker.com/go/credential-store/\n\n"
#define CONTENT_MISSING_NOTE                                                   \
        "You're trying to push a manifest list/index which \n\t\t\t\t"         \
        "references multiple platform specific manifests, but not all of "     \
        "them are available locally\n\t\t\t\tor available to the remote "      \
        "repository.\n\n\t\t\t\tMake sure you have all the referenced "        \
        "content and try again.\n\n\t\t\t\tYou can also push only a single "   \
        "platform specific manifest directly by specifying the platform you "  \
        "want to push with the --platform flag."

/* docker's tui.PrintNote: " Info -> " and the text, the header in colour
 * and the text in italics on a terminal. */
static void print_note(FILE *f, const char *note) {
        bool tty = isatty(fileno(f));
        /* On a terminal the flag it names is in bold. */
        _cleanup_free_ char *bold = NULL;
        const char *text = note;
        const char *flag = tty ? strstr(note, "--platform") : NULL;
        if (flag) {
                bold = str_printf("%.*s\x1b[1m--platform\x1b[0m%s",
                                  (int) (flag - note), note, flag + 10);
                if (bold)
                        text = bold;
        }
        fputs("\n", f);
        fputs(tty ? "\x1b[1m\x1b[106m\x1b[30mi\x1b[0m\x1b[0m \x1b[96mInfo "
                    "\xe2\x86\x92 \x1b[0m\x1b[0m"
                  : " Info -> ",
              f);
        for (const char *line = text;;) {
                const char *nl = strchr(line, '\n');
                int n = (int) (nl ? (size_t) (nl - line) : strlen(line));
                if (line != text)
                        fputs("         ", f);
                if (tty)
                        fprintf(f, "\x1b[3m%.*s\x1b[0m\n", n, line);
                else
                        fprintf(f, "%.*s\n", n, line);
                if (!nl)
                        break;
                line = nl + 1;
        }
}

/* config.json, or an empty config after docker's warning when it cannot
 * be read (docker reads it at every start and goes on without it). */
static void load_config(struct auth_file *ret) {
        _cleanup_free_ char *path = auth_file_path();
        struct berr e = {0};
        if (path && auth_file_load(path, ret, &e) == 0)
                return;
        if (path)
                fprintf(stderr, "WARNING: Error %s\n", e.msg);
        ret->path = TAKE_PTR(path);
        ret->json = json_object();
}

/* "X-Registry-Auth: ..." for the registry `domain`.  With `strict` a
 * failing credential helper is an error (run/create: docker's
 * RetrieveAuthTokenFromImage); otherwise it means no credentials (pull,
 * push: ResolveAuthConfig).  NULL with err filled. */
static char *auth_header_for(const char *domain, bool strict,
                             struct berr *err) {
        _cleanup_(auth_file_donep) struct auth_file cfg = {0};
        load_config(&cfg);
        _cleanup_(auth_config_donep) struct auth_config a = {0};
        if (auth_get(&cfg, reference_auth_key(domain), &a, err) < 0) {
                if (strict)
                        return NULL;
                auth_config_done(&a);
        }
        _cleanup_free_ char *enc = auth_encode_header(&a);
        char *h = enc ? str_printf("X-Registry-Auth: %s", enc) : NULL;
        if (!h)
                berr_setx(err, ENOMEM, "encode the registry credentials");
        return h;
}

/* An image name in a path: '/' and ':' stay, as in docker's requests. */
static char *path_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *o = malloc(strlen(s) * 3 + 1);
        if (!o)
                return NULL;
        size_t k = 0;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (isalnum(c) || strchr("-._~/:@!$&'()*+,;=", c))
                        o[k++] = (char) c;
                else {
                        o[k++] = '%';
                        o[k++] = hex[c >> 4];
                        o[k++] = hex[c & 15];
                }
        }
        o[k] = '\0';
        return o;
}

struct feed {
        struct progress *pr;
        int r;
};

static bool feed_chunk(const char *data, size_t len, void *ud) {
        struct feed *f = ud;
        f->r = progress_feed(f->pr, data, len);
        return f->r == 0;
}

/* POST `path` with the credentials header and draw the answer with
 * `pr`.  0 when the stream ended well; 1 when the daemon refused before
 * streaming (*ret_reply holds its answer; the caller frees it); -EPROTO
 * when the stream reported an error (progress_error says which), -EPIPE
 * when the connection broke mid-stream, -ENOMEM (see stream_message);
 * other < 0 when the daemon could not be reached (already printed). */
static int post_progress(const char *path, const char *auth_header,
                         struct progress *pr, struct api_reply *ret_reply) {
        const char *const hdrs[] = {auth_header, NULL};
        struct api_reply rep = {0};
        struct feed f = {pr, 0};
        long st = api_stream_headers("POST", path, hdrs, NULL, feed_chunk, &f,
                                     &rep);
        if (st < 0)
                return (int) st;
        if (st < 200 || st >= 400) {
                *ret_reply = rep;
                return 1;
        }
        bool truncated = rep.truncated;
        api_reply_free(&rep);
        if (f.r < 0)
                return f.r;
        int r = progress_end(pr);
        if (r == 0 && truncated)
                return -EPIPE;
        return r;
}

/* The message of a failed stream, as docker prints it. */
static const char *stream_message(int r, const struct progress *pr) {
        if (r == -EPIPE)
                return "unexpected EOF";
        if (r == -ENOMEM)
                return "out of memory";
        return progress_error(pr);
}

/* ---- prompting (docker's PromptUserForCredentials) ---- */

static char *trim_dup(const char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char) s[n - 1]))
                n--;
        return strndup(s, n);
}

/* One line of stdin without its newline, trimmed; NULL at EOF. */
static char *read_line(void) {
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        if (getline(&line, &cap, stdin) < 0)
                return NULL;
        return trim_dup(line);
}

static bool hints_enabled(void) {
        const char *v = getenv("DOCKER_CLI_HINTS");
        if (!v || !*v)
                return true;
        return !(!strcmp(v, "0") || !strcasecmp(v, "f") ||
                 !strcasecmp(v, "false"));
}

/* The terminal's settings while a password is read without echo: a
 * signal that ends berth then must not leave the terminal mute. */
static struct termios echo_saved;
static volatile sig_atomic_t echo_off;

static void restore_echo_and_die(int sig) {
        if (echo_off)
                tcsetattr(0, TCSANOW, &echo_saved);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Ask for what the flags did not give: the username (with a default),
 * then the password without echo.  0 with *ret filled, or -1 with the
 * error to print in *ret_msg. */
static int prompt_credentials(const char *arg_user, const char *arg_password,
                              const char *default_user, const char *server,
                              struct auth_config *ret, char **ret_msg) {
        bool hub = !strcmp(server, REFERENCE_INDEX_SERVER);
        _cleanup_free_ char *user = trim_dup(arg_user ? arg_user : "");
        _cleanup_free_ char *password =
                trim_dup(arg_password ? arg_password : "");
        _cleanup_free_ char *def = trim_dup(default_user ? default_user : "");
        if (!user || !password || !def)
                return -ENOMEM;
        if (!*user) {
                if (hub) {
                        printf("%s\n", HUB_REGISTER_SUGGEST);
                        if (hints_enabled())
                                printf("%s\n\n", HUB_PAT_SUGGEST);
                }
                if (*def)
                        printf("Username (%s): ", def);
                else
                        printf("Username: ");
                fflush(stdout);
                free(user);
                user = read_line();
                if (!user || !*user) {
                        free(user);
                        user = strdup(def);
                }
                if (!user || !*user) {
                        *ret_msg = strdup("Error: Non-null Username Required");
                        return -1;
                }
        }
        if (!*password) {
                struct termios quiet;
                if (tcgetattr(0, &echo_saved) < 0) {
                        *ret_msg = strdup(strerror(errno));
                        return -1;
                }
                quiet = echo_saved;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                struct sigaction sa = {.sa_handler = restore_echo_and_die},
                                 old_int, old_term, old_hup;
                sigaction(SIGINT, &sa, &old_int);
                sigaction(SIGTERM, &sa, &old_term);
                sigaction(SIGHUP, &sa, &old_hup);
                echo_off = 1;
                tcsetattr(0, TCSANOW, &quiet);
                if (hub)
                        print_note(stderr, "A Personal Access Token (PAT) can "
                                           "be used instead.\nTo create a "
                                           "PAT, visit \x1b[4mhttps://"
                                           "app.docker.com/settings\x1b[0m"
                                           "\n\n");
                printf("Password: ");
                fflush(stdout);
                free(password);
                password = read_line();
                tcsetattr(0, TCSANOW, &echo_saved);
                echo_off = 0;
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                sigaction(SIGHUP, &old_hup, NULL);
                printf("\n");
                if (!password || !*password) {
                        *ret_msg = strdup("Error: Password Required");
                        return -1;
                }
        }
        struct auth_config a = {0};
        a.username = TAKE_PTR(user);
        a.password = TAKE_PTR(password);
        a.serveraddress = strdup(server);
        if (!a.serveraddress) {
                auth_config_done(&a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

/* The daemon said 401 to a pull or push: docker then asks for
 * credentials ("Login prior to pull:") and tries once more.  docker 28
 * also does so when stdin is no terminal and then waits forever on it;
 * berth asks only on a terminal.  Returns the new header, or NULL when
 * there is nothing better to try (*ret_msg set when asking failed). */
static char *login_prior_to(const char *what, const char *key, char **ret_msg) {
        if (!isatty(0))
                return NULL;
        printf("\nLogin prior to %s:\n", what);
        _cleanup_(auth_file_donep) struct auth_file cfg = {0};
        load_config(&cfg);
        _cleanup_(auth_config_donep) struct auth_config stored = {0};
        struct berr e = {0};
        if (auth_get(&cfg, key, &stored, &e) < 0)
                fprintf(stderr,
                        "Unable to retrieve stored credentials for %s, "
                        "error: %s.\n",
                        key, e.msg);
        _cleanup_(auth_config_donep) struct auth_config a = {0};
        if (prompt_credentials("", "", stored.username, key, &a, ret_msg) < 0)
                return NULL;
        _cleanup_free_ char *enc = auth_encode_header(&a);
        return enc ? str_printf("X-Registry-Auth: %s", enc) : NULL;
}

/* ---- pull ---- */

static char *lowercase(const char *s) {
        char *l = strdup(s);
        for (char *c = l; c && *c; c++)
                *c = (char) tolower((unsigned char) *c);
        return l;
}

/* /images/create?fromImage=NAME[&platform=P][&tag=T], the keys in Go's
 * sorted order; `tag` NULL for all tags. */
static char *create_path(const struct reference *ref, const char *platform,
                         bool all) {
        _cleanup_free_ char *name = reference_name(ref);
        _cleanup_free_ char *en = name ? url_escape(name) : NULL;
        _cleanup_free_ char *lp =
                platform && *platform ? lowercase(platform) : NULL;
        _cleanup_free_ char *ep = lp ? url_escape(lp) : NULL;
        const char *tag = ref->digest ? ref->digest : ref->tag;
        _cleanup_free_ char *et = !all && tag ? url_escape(tag) : NULL;
        if (!en)
                return NULL;
        return str_printf(API_PREFIX "/images/create?fromImage=%s%s%s%s%s", en,
                          ep ? "&platform=" : "", ep ? ep : "",
                          et ? "&tag=" : "", et ? et : "");
}

int pull_for_create(const char *image, const char *platform, bool quiet,
                    char **ret_msg) {
        _cleanup_(reference_donep) struct reference ref = {0};
        struct berr e = {0};
        if (reference_parse_normalized(image, &ref, &e) < 0 ||
            reference_tag_name_only(&ref) < 0) {
                *ret_msg = strdup(e.msg);
                return -1;
        }
        _cleanup_free_ char *hdr = auth_header_for(ref.domain, true, &e);
        if (!hdr) {
                *ret_msg = strdup(e.msg);
                return -1;
        }
        _cleanup_free_ char *path = create_path(&ref, platform, false);
        _cleanup_(progress_freep) struct progress *pr =
                progress_new_for_fd(quiet ? NULL : stderr, 2);
        if (!path || !pr) {
                *ret_msg = strdup("out of memory");
                return -1;
        }
        struct api_reply rep = {0};
        int r = post_progress(path, hdr, pr, &rep);
        if (r == 1) {
                char m[4096];
                *ret_msg = str_printf("Error response from daemon: %s",
                                      api_error_message(&rep, m, sizeof(m)));
                api_reply_free(&rep);
                return -1;
        }
        if (r == -EPROTO || r == -EPIPE || r == -ENOMEM) {
                *ret_msg = strdup(stream_message(r, pr));
                return -1;
        }
        if (r < 0) {
                *ret_msg = NULL; /* unreachable: already said */
                return -1;
        }
        return 0;
}

/* pull/push's NAME[:TAG|@DIGEST] as docker reads it: -a wants a bare
 * name, a bare name otherwise gets "latest" (said unless quiet).  -1
 * after printing the error. */
static int ref_argument(const char *arg, bool all, bool quiet,
                        struct reference *ref) {
        struct berr e = {0};
        if (reference_parse_normalized(arg, ref, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                return -1;
        }
        if (all && !reference_is_name_only(ref)) {
                fprintf(stderr, "tag can't be used with --all-tags/-a\n");
                return -1;
        }
        if (!all && reference_is_name_only(ref)) {
                if (reference_tag_name_only(ref) < 0)
                        return -1;
                if (!quiet)
                        printf("Using default tag: %s\n", ref->tag);
        }
        fflush(stdout);
        return 0;
}

/* POST with the progress stream; on a 401 offer a login once, as docker
 * does ("Login prior to pull").  post_progress's result, or 2 when the
 * login could not be had (the reason is printed). */
static int post_with_login(const char *what, const char *domain,
                           const char *path, const char *hdr,
                           struct progress *pr, struct api_reply *rep) {
        int r = post_progress(path, hdr, pr, rep);
        if (r != 1 || rep->status != 401)
                return r;
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *again =
                login_prior_to(what, reference_auth_key(domain), &msg);
        if (msg) {
                api_reply_free(rep);
                fprintf(stderr, "%s\n", msg);
                return 2;
        }
        if (again) {
                api_reply_free(rep);
                r = post_progress(path, again, pr, rep);
        }
        return r;
}

int cmd_pull(int argc, char **argv) {
        bool all = false, quiet = false, untrusted = true;
        const char *platform = getenv("DOCKER_DEFAULT_PLATFORM");
        struct opt o[] = {
                {"all-tags", 'a', OPT_BOOL, &all,
                 "Download all tagged images in the repository"},
                {"disable-content-trust", 0, OPT_BOOL, &untrusted,
                 "Skip image verification (default true)"},
                {"platform", 0, OPT_STR, &platform,
                 "Set platform if server is multi-platform capable"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Suppress verbose output"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"pull",
                                "[OPTIONS] NAME[:TAG|@DIGEST]",
                                "Download an image from a registry",
                                1,
                                1,
                                false,
                                1};
        _cleanup_free_ char **args = NULL;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        _cleanup_(reference_donep) struct reference ref = {0};
        struct berr e = {0};
        if (ref_argument(args[0], all, quiet, &ref) < 0)
                return 1;
        _cleanup_free_ char *hdr = auth_header_for(ref.domain, false, &e);
        _cleanup_free_ char *path = create_path(&ref, platform, all);
        _cleanup_(progress_freep) struct progress *pr =
                progress_new_for_fd(quiet ? NULL : stdout, 1);
        if (!hdr || !path || !pr) {
                fprintf(stderr, "berth: pull '%s': out of memory\n", args[0]);
                return 1;
        }
        struct api_reply rep = {0};
        int r = post_with_login("pull", ref.domain, path, hdr, pr, &rep);
        if (r == 2)
                return 1;
        if (r == 1) {
                api_print_error(&rep);
                api_reply_free(&rep);
                return 1;
        }
        if (r < 0) {
                if (r != -ECONNREFUSED && r != -EINVAL &&
                    *stream_message(r, pr))
                        fprintf(stderr, "%s\n", stream_message(r, pr));
                return 1;
        }
        _cleanup_free_ char *s = reference_string(&ref);
        printf("%s\n", s ? s : args[0]);
        return 0;
}

/* ---- push ---- */

/* Go's encoding/json matches field names without regard to case. */
static json_t *get_ci(json_t *o, const char *key) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                if (!strcasecmp(k, key))
                        return v;
        }
        return NULL;
}

/* push's aux messages: notes docker prints after the push ends. */
static void push_aux(json_t *aux, void *ud) {
        char ***notes = ud;
        if (json_is_true(get_ci(aux, "manifestPushedInsteadOfIndex"))) {
                const char *from = json_string_value(
                        get_ci(get_ci(aux, "originalIndex"), "digest"));
                const char *to = json_string_value(
                        get_ci(get_ci(aux, "selectedManifest"), "digest"));
                _cleanup_free_ char *n = str_printf(
                        "Not all multiplatform-content is present and only "
                        "the available single-platform image was pushed\n"
                        "\x1b[31m%s\x1b[0m -> \x1b[32m%s\x1b[0m",
                        from ? from : "", to ? to : "");
                if (n)
                        strv_push(notes, n);
        }
        if (json_is_true(get_ci(aux, "contentMissing")))
                strv_push(notes, CONTENT_MISSING_NOTE);
}

int cmd_push(int argc, char **argv) {
        bool all = false, quiet = false, untrusted = true;
        const char *platform = NULL;
        struct opt o[] = {
                {"all-tags", 'a', OPT_BOOL, &all,
                 "Push all tags of an image to the repository"},
                {"disable-content-trust", 0, OPT_BOOL, &untrusted,
                 "Skip image signing (default true)"},
                {"platform", 0, OPT_STR, &platform,
                 "Push a platform-specific manifest as a single-platform "
                 "image to the registry"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Suppress verbose output"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"push",
                                "[OPTIONS] NAME[:TAG]",
                                "Upload an image to a registry",
                                1,
                                1,
                                false,
                                1};
        _cleanup_free_ char **args = NULL;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        if (platform) {
                /* docker refuses --platform below API 1.46; berth speaks
                 * 1.44. */
                fprintf(stderr, "\"--platform\" requires API version 1.46, "
                                "but the Docker daemon API version is "
                                "1.44\n");
                return 1;
        }
        _cleanup_(reference_donep) struct reference ref = {0};
        struct berr e = {0};
        if (ref_argument(args[0], all, quiet, &ref) < 0)
                return 1;
        if (ref.digest) {
                fprintf(stderr, "cannot push a digest reference\n");
                return 1;
        }
        _cleanup_free_ char *hdr = auth_header_for(ref.domain, false, &e);
        _cleanup_free_ char *name = reference_name(&ref);
        _cleanup_free_ char *en = name ? path_escape(name) : NULL;
        _cleanup_free_ char *et = ref.tag && !all ? url_escape(ref.tag) : NULL;
        _cleanup_free_ char *path =
                en ? str_printf(API_PREFIX "/images/%s/push%s%s", en,
                                et ? "?tag=" : "", et ? et : "")
                   : NULL;
        _cleanup_(progress_freep) struct progress *pr =
                progress_new_for_fd(quiet ? NULL : stdout, 1);
        if (!hdr || !path || !pr) {
                fprintf(stderr, "berth: push '%s': out of memory\n", args[0]);
                return 1;
        }
        _cleanup_strv_free_ char **notes = NULL;
        progress_set_aux(pr, push_aux, &notes);
        struct api_reply rep = {0};
        int r = post_with_login("push", ref.domain, path, hdr, pr, &rep);
        if (r == 2)
                return 1;
        if (r == 1) {
                api_print_error(&rep);
                api_reply_free(&rep);
                return 1;
        }
        int rc = 0;
        if (r < 0) {
                if (r != -ECONNREFUSED && r != -EINVAL &&
                    *stream_message(r, pr))
                        fprintf(stderr, "%s\n", stream_message(r, pr));
                rc = 1;
        } else if (quiet) {
                _cleanup_free_ char *s = reference_string(&ref);
                printf("%s\n", s ? s : args[0]);
        }
        for (size_t i = 0; notes && notes[i]; i++)
                print_note(stdout, notes[i]);
        return rc;
}

/* ---- login / logout ---- */

/* POST /auth.  0 with the daemon's answer; 1 when it refused (*ret_msg:
 * "Error response from daemon: ...", *ret_status its HTTP status); < 0
 * when it could not be reached (already printed). */
static int registry_login(const struct auth_config *a, json_t **ret_answer,
                          char **ret_msg, long *ret_status) {
        struct api_reply rep;
        json_t *body = auth_config_json(a);
        _cleanup_free_ char *text =
                body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        /* With the newline Go's json.Encoder ends it with. */
        _cleanup_free_ char *line = text ? str_printf("%s\n", text) : NULL;
        if (!line)
                return -ENOMEM;
        if (api_call("POST", API_PREFIX "/auth", "application/json", line,
                     strlen(line), &rep) < 0)
                return -ECONNREFUSED;
        *ret_status = rep.status;
        if (rep.status < 200 || rep.status >= 400) {
                char m[4096];
                *ret_msg = str_printf("Error response from daemon: %s",
                                      api_error_message(&rep, m, sizeof(m)));
                api_reply_free(&rep);
                return 1;
        }
        json_t *j = api_reply_json(&rep);
        api_reply_free(&rep);
        *ret_answer = j ? j : json_object();
        return 0;
}

/* Keep what the login established; an identity token replaces the
 * password.  0, or -1 after printing docker's error. */
static int store_login(struct auth_file *cfg, struct auth_config *a,
                       json_t *answer) {
        const char *token =
                json_string_value(json_object_get(answer, "IdentityToken"));
        if (token && *token) {
                free(a->password);
                a->password = NULL;
                free(a->identitytoken);
                a->identitytoken = strdup(token);
        }
        bool plaintext = false;
        struct berr e = {0};
        if (auth_store(cfg, a, &plaintext, &e) < 0) {
                fprintf(stderr, "Error saving credentials: %s\n", e.msg);
                return -1;
        }
        if (plaintext)
                fprintf(stderr, UNENCRYPTED_WARNING, cfg->path);
        return 0;
}

int cmd_login(int argc, char **argv) {
        const char *user = NULL, *password = NULL;
        bool password_stdin = false;
        struct opt o[] = {
                {"password", 'p', OPT_STR, &password,
                 "Password or Personal Access Token (PAT)"},
                {"password-stdin", 0, OPT_BOOL, &password_stdin,
                 "Take the Password or Personal Access Token (PAT) from "
                 "stdin"},
                {"username", 'u', OPT_STR, &user, "Username"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"login",
                                "[OPTIONS] [SERVER]",
                                "Authenticate to a registry.\nDefaults to "
                                "Docker Hub if no server is specified.",
                                0,
                                1,
                                false,
                                1};
        _cleanup_free_ char **args = NULL;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        /* verifyLoginFlags: a flag given at all counts, even empty. */
        if (password_stdin) {
                if (password) {
                        fprintf(stderr, "conflicting options: cannot specify "
                                        "both --password and "
                                        "--password-stdin\n");
                        return 1;
                }
                if (!user) {
                        fprintf(stderr, "the --password-stdin option requires "
                                        "--username to be set\n");
                        return 1;
                }
        }
        if (user && !*user) {
                fprintf(stderr, "username is empty\n");
                return 1;
        }
        if (password && !*password) {
                fprintf(stderr, "password is empty\n");
                return 1;
        }
        if (password)
                fprintf(stderr, "WARNING! Using --password via the CLI is "
                                "insecure. Use --password-stdin.\n");
        _cleanup_free_ char *stdin_password = NULL;
        if (password_stdin) {
                size_t len = 0;
                int r = read_fd_all(0, 1 << 20, &stdin_password, &len);
                if (r < 0) {
                        fprintf(stderr,
                                "berth: read the password from stdin: "
                                "%s\n",
                                strerror(-r));
                        return 1;
                }
                if (len && stdin_password[len - 1] == '\n')
                        stdin_password[--len] = '\0';
                if (len && stdin_password[len - 1] == '\r')
                        stdin_password[--len] = '\0';
                password = stdin_password;
        }
        const char *server = n == 1 && strcmp(args[0], REFERENCE_DEFAULT_DOMAIN)
                                     ? args[0]
                                     : REFERENCE_INDEX_SERVER;
        bool hub = !strcmp(server, REFERENCE_INDEX_SERVER);
        _cleanup_free_ char *key =
                hub ? strdup(server) : auth_convert_to_hostname(server);
        if (!key)
                return 1;

        _cleanup_(auth_file_donep) struct auth_file cfg = {0};
        {
                _cleanup_free_ char *path = auth_file_path();
                struct berr e = {0};
                if (!path || auth_file_load(path, &cfg, &e) < 0) {
                        fprintf(stderr,
                                "berth: %s: not overwriting it with the "
                                "login\n",
                                e.msg);
                        return 1;
                }
        }
        /* GetDefaultAuthConfig: stored credentials are tried only when no
         * flag named a user or password. */
        bool user_empty = !user || !*user, pass_empty = !password || !*password;
        _cleanup_(auth_config_donep) struct auth_config stored = {0};
        struct berr e = {0};
        int got = 0;
        if (user_empty && pass_empty)
                got = auth_get(&cfg, key, &stored, &e);
        free(stored.serveraddress);
        stored.serveraddress = strdup(key);
        free(stored.identitytoken);
        stored.identitytoken = NULL;
        if (!stored.serveraddress)
                return 1;
        bool done = false;
        if (got == 0 && stored.username && *stored.username &&
            stored.password && *stored.password) {
                fprintf(stderr,
                        "Authenticating with existing credentials... "
                        "[Username: %s]\n",
                        stored.username);
                print_note(stderr, "To login with a different account, run "
                                   "'berth logout' followed by 'berth "
                                   "login'");
                fprintf(stderr, "\n\n");
                json_t *answer = NULL;
                _cleanup_free_ char *msg = NULL;
                long status = 0;
                int r = registry_login(&stored, &answer, &msg, &status);
                if (r < 0)
                        return 1;
                if (r == 1 && status == 401)
                        fprintf(stderr,
                                "Stored credentials invalid or expired\n");
                else if (r == 1)
                        fprintf(stderr, "Login did not succeed, error: %s\n",
                                msg);
                /* docker stores them again either way (a no-op when they
                 * did not change). */
                int s = store_login(&cfg, &stored, answer);
                if (s < 0) {
                        json_decref(answer);
                        return 1;
                }
                if (r == 0) {
                        const char *st = json_string_value(
                                json_object_get(answer, "Status"));
                        if (st && *st)
                                printf("%s\n", st);
                        done = true;
                }
                json_decref(answer);
        }
        if (done)
                return 0;

        if ((user_empty || pass_empty) && !isatty(0)) {
                fprintf(stderr, "Error: Cannot perform an interactive login "
                                "from a non TTY device\n");
                return 1;
        }
        _cleanup_(auth_config_donep) struct auth_config a = {0};
        _cleanup_free_ char *msg = NULL;
        if (prompt_credentials(user, password, stored.username,
                               stored.serveraddress, &a, &msg) < 0) {
                if (msg)
                        fprintf(stderr, "%s\n", msg);
                return 1;
        }
        json_t *answer = NULL;
        long status = 0;
        int r = registry_login(&a, &answer, &msg, &status);
        if (r < 0)
                return 1;
        if (r == 1) {
                fprintf(stderr, "%s\n", msg);
                return 1;
        }
        int rc = store_login(&cfg, &a, answer) < 0 ? 1 : 0;
        const char *st = json_string_value(json_object_get(answer, "Status"));
        if (rc == 0 && st && *st)
                printf("%s\n", st);
        json_decref(answer);
        return rc;
}

int cmd_logout(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"logout",
                                "[SERVER]",
                                "Log out from a registry.\nIf no server is "
                                "specified, the default is defined by the "
                                "daemon.",
                                0,
                                1,
                                false,
                                1};
        _cleanup_free_ char **args = NULL;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        const char *server = n == 1 ? args[0] : REFERENCE_INDEX_SERVER;
        bool hub = n == 0;
        _cleanup_free_ char *host =
                hub ? strdup(server) : auth_convert_to_hostname(server);
        if (!host)
                return 1;
        /* The server as given, and the forms older clients stored it
         * under. */
        _cleanup_strv_free_ char **keys = NULL;
        strv_push(&keys, server);
        if (!hub) {
                _cleanup_free_ char *h1 = str_printf("http://%s", host);
                _cleanup_free_ char *h2 = str_printf("https://%s", host);
                strv_push(&keys, host);
                strv_push(&keys, h1);
                strv_push(&keys, h2);
        }
        _cleanup_(auth_file_donep) struct auth_file cfg = {0};
        load_config(&cfg);
        printf("Removing login credentials for %s\n", host);
        fflush(stdout);
        size_t failed = 0, total = strv_length(keys);
        _cleanup_strv_free_ char **errors = NULL;
        for (size_t i = 0; i < total; i++) {
                struct berr e = {0};
                if (auth_erase(&cfg, keys[i], &e) < 0) {
                        _cleanup_free_ char *line =
                                str_printf("%s: %s", keys[i], e.msg);
                        strv_push(&errors, line ? line : keys[i]);
                        failed++;
                }
        }
        /* Success when any form was removed, as docker says it. */
        if (failed == total) {
                fprintf(stderr, "WARNING: could not erase credentials:\n");
                for (size_t i = 0; errors && errors[i]; i++)
                        fprintf(stderr, "%s\n", errors[i]);
        }
        return 0;
}
