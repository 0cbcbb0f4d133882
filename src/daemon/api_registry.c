/* POST /images/create?fromImage= (pull), POST /images/{name}/push and
 * POST /auth.  Each runs in a worker process (fork) so the loop keeps
 * serving and the registry client may use threads; the worker writes
 * docker's JSON progress messages, one per line, into a pipe, and the
 * loop forwards them to the client.  Until the first progress message the
 * HTTP status is still open, so an early failure (unknown manifest, access
 * denied) is answered with a proper error status, as moby does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "loop.h"
#include "registry.h"
#include "util.h"

enum reg_kind { REG_PULL, REG_PUSH, REG_LOGIN };

struct reg_job {
        struct daemon *d;
        struct http_req *r;
        struct http_stream *stream;
        enum reg_kind kind;
        pid_t pid;
        int fd;
        char *buf;
        size_t len;
        json_t *held;  /* messages before the stream opened */
        json_t *error; /* the worker's error message, if any */
        char *ref;     /* for events */
        bool eof, exited, gone;
        int status;
};

/* ---- the worker's side ---- */

static volatile int worker_cancel;

static void on_term(int sig) {
        (void) sig;
        worker_cancel = 1;
}

struct worker_out {
        int fd;
};

static void emit(int fd, json_t *j) {
        char *t = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!t)
                return;
        size_t n = strlen(t);
        t[n] = '\n';
        write_all(fd, t, n + 1);
        free(t);
}

/* docker's text bar: "[=====>      ]  1.2MB/3.4MB". */
static char *progress_bar(int64_t cur, int64_t total) {
        char c[32], t[32];
        human_size_si(c, sizeof(c), (double) cur, 4);
        if (total <= 0)
                return str_printf("%8s", c);
        human_size_si(t, sizeof(t), (double) total, 4);
        int width = 50;
        int fill = (int) ((double) width * (double) cur / (double) total);
        if (fill > width)
                fill = width;
        char bar[64];
        int i = 0;
        for (; i < fill - 1 && i < width; i++)
                bar[i] = '=';
        if (fill > 0 && i < width)
                bar[i++] = fill == width ? '=' : '>';
        for (; i < width; i++)
                bar[i] = ' ';
        bar[width] = '\0';
        return str_printf("[%s] %8s/%s", bar, c, t);
}

static void on_progress(const char *id, const char *status, int64_t cur,
                        int64_t total, void *ud) {
        struct worker_out *o = ud;
        json_t *j = json_pack("{s:s}", "status", status);
        if (!j)
                return;
        if (cur >= 0) {
                json_object_set_new(j, "progressDetail",
                                    json_pack("{s:I, s:I}", "current",
                                              (json_int_t) cur, "total",
                                              (json_int_t) total));
                char *bar = progress_bar(cur, total);
                if (bar)
                        json_object_set_new(j, "progress", json_string(bar));
                free(bar);
        } else if (id)
                json_object_set_new(j, "progressDetail", json_object());
        if (id)
                json_object_set_new(j, "id", json_string(id));
        emit(o->fd, j);
}

static void emit_error(int fd, const char *msg) {
        emit(fd, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", msg,
                           "error", msg));
}

/* X-Registry-Auth: base64url JSON, or {} / nothing. */
struct auth_hold {
        json_t *j;
        char *user, *pass;
        struct registry_auth a;
};

static void auth_parse(struct auth_hold *h, const char *header, json_t *body) {
        memset(h, 0, sizeof(*h));
        if (body)
                h->j = json_incref(body);
        else if (header && *header) {
                char *text = NULL;
                if (base64_decode(header, &text, NULL) >= 0)
                        h->j = json_loads(text, 0, NULL);
                free(text);
        }
        const char *u = json_string_value(json_object_get(h->j, "username"));
        const char *p = json_string_value(json_object_get(h->j, "password"));
        const char *au = json_string_value(json_object_get(h->j, "auth"));
        if ((!u || !*u) && au && *au) {
                char *up = NULL;
                if (base64_decode(au, &up, NULL) >= 0) {
                        char *colon = strchr(up, ':');
                        if (colon) {
                                *colon = '\0';
                                h->user = strdup(up);
                                h->pass = strdup(colon + 1);
                        }
                }
                free(up);
        }
        h->a.username = h->user ? h->user : u;
        h->a.password = h->pass ? h->pass : p;
        h->a.identity_token =
                json_string_value(json_object_get(h->j, "identitytoken"));
        h->a.registry_token =
                json_string_value(json_object_get(h->j, "registrytoken"));
}

static void auth_done(struct auth_hold *h) {
        json_decref(h->j);
        free(h->user);
        free(h->pass);
}

struct pull_args {
        char *ref;     /* image[:tag|@digest] */
        bool all_tags; /* fromImage without tag */
        char *platform;
};

static int worker_pull(struct daemon *d, const struct pull_args *a,
                       const struct registry_auth *auth, int out,
                       struct berr *e) {
        struct worker_out o = {out};
        char **tags = NULL;
        int r = 0;
        if (a->all_tags) {
                _cleanup_free_ char *full = NULL;
                r = reference_normalize(a->ref, &full, e);
                if (r < 0)
                        return r;
                /* The repository without the default tag. */
                char *colon = strrchr(full, ':');
                char *slash = strrchr(full, '/');
                if (colon && slash && colon > slash)
                        *colon = '\0';
                r = registry_list_tags(&d->registry, full, auth, &tags, e);
                if (r < 0)
                        return r;
                if (!tags || !tags[0]) {
                        strv_free(tags);
                        return berr_setx(e, ENOENT, "%s has no tags", a->ref);
                }
                bool any_new = false;
                for (size_t i = 0; tags[i] && r >= 0; i++) {
                        _cleanup_free_ char *one =
                                str_printf("%s:%s", full, tags[i]);
                        char *id = NULL;
                        bool fresh = false;
                        r = one ? registry_pull(d->images, &d->registry, one,
                                                a->platform, auth, on_progress,
                                                &o, &worker_cancel, &id, &fresh,
                                                e)
                                : -ENOMEM;
                        any_new = any_new || fresh;
                        free(id);
                }
                strv_free(tags);
                if (r < 0)
                        return r;
                char *fam = reference_familiar(full);
                _cleanup_free_ char *st =
                        str_printf("Status: %s for %s",
                                   any_new ? "Downloaded newer image"
                                           : "Image is up to date",
                                   fam ? fam : full);
                free(fam);
                on_progress(NULL, st ? st : "", -1, -1, &o);
                return 0;
        }
        char *id = NULL;
        bool fresh = false;
        r = registry_pull(d->images, &d->registry, a->ref, a->platform, auth,
                          on_progress, &o, &worker_cancel, &id, &fresh, e);
        if (r < 0)
                return r;
        _cleanup_free_ char *full = NULL;
        struct berr e2 = {0};
        reference_normalize(a->ref, &full, &e2);
        char *fam = full ? reference_familiar(full) : NULL;
        _cleanup_free_ char *st = str_printf("Status: %s for %s",
                                             fresh ? "Downloaded newer image"
                                                   : "Image is up to date",
                                             fam ? fam : a->ref);
        free(fam);
        free(id);
        on_progress(NULL, st ? st : "", -1, -1, &o);
        return 0;
}

static int worker_push(struct daemon *d, const char *ref,
                       const struct registry_auth *auth, int out,
                       struct berr *e) {
        struct worker_out o = {out};
        char *digest = NULL;
        int64_t size = 0;
        int r = registry_push(d->images, &d->registry, ref, auth, on_progress,
                              &o, &worker_cancel, &digest, &size, e);
        if (r < 0)
                return r;
        _cleanup_free_ char *full = NULL;
        struct berr e2 = {0};
        reference_normalize(ref, &full, &e2);
        const char *colon = full ? strrchr(full, ':') : NULL;
        const char *tag = colon && !strchr(colon, '/') ? colon + 1 : "latest";
        _cleanup_free_ char *line = str_printf("%s: digest: %s size: %lld", tag,
                                               digest, (long long) size);
        on_progress(NULL, line ? line : "", -1, -1, &o);
        emit(out, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail",
                            "aux", "Tag", tag, "Digest", digest, "Size",
                            (json_int_t) size));
        free(digest);
        return 0;
}

static int worker_login(struct daemon *d, const char *server,
                        const struct registry_auth *auth, int out,
                        struct berr *e) {
        char *token = NULL;
        int r = registry_login(&d->registry, server, auth, &token, e);
        if (r < 0)
                return r;
        emit(out, json_pack("{s:s, s:s}", "Status", "Login Succeeded",
                            "IdentityToken", token ? token : ""));
        free(token);
        return 0;
}

/* ---- the loop's side ---- */

static void job_free(struct reg_job *j) {
        json_decref(j->held);
        json_decref(j->error);
        free(j->buf);
        free(j->ref);
        free(j);
}

static void job_gone(void *ud) {
        struct reg_job *j = ud;
        /* The client went away: stop the transfer (docker cancels too). */
        j->gone = true;
        j->stream = NULL;
        if (!j->exited && j->pid > 0)
                kill(j->pid, SIGTERM);
}

static int error_status(enum reg_kind k, int code) {
        switch (code) {
        case ENOENT:
                return 404;
        case EACCES:
        case EPERM:
                return k == REG_LOGIN ? 401 : 404;
        case EINVAL:
        case EPROTONOSUPPORT:
                return 400;
        case ECANCELED:
                return 499;
        default:
                return 500;
        }
}

static void job_finish(struct reg_job *j) {
        struct daemon *d = j->d;
        bool ok = WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0;
        int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : EINTR;
        const char *msg = json_string_value(json_object_get(j->error, "error"));
        if (!ok && !msg)
                msg = WIFSIGNALED(j->status) ? "the registry worker was killed"
                                             : "the registry worker failed";
        if (j->kind == REG_LOGIN) {
                if (ok && json_array_size(j->held) > 0)
                        http_reply_json(
                                j->r, 200,
                                json_incref(json_array_get(j->held, 0)));
                else
                        http_reply_error(j->r,
                                         ok ? 500 : error_status(j->kind, code),
                                         "%s", msg ? msg : "login failed");
        } else if (!j->stream && !j->gone) {
                if (ok) {
                        j->stream = http_stream_open(
                                j->r, 200, "application/json", NULL, NULL);
                        size_t i;
                        json_t *m;
                        json_array_foreach(j->held, i, m) if (j->stream)
                                http_stream_json(j->stream, json_incref(m));
                        http_stream_close(j->stream);
                } else
                        http_reply_error(j->r, error_status(j->kind, code),
                                         "%s", msg);
        } else if (j->stream) {
                http_stream_set_gone(j->stream, NULL, NULL);
                http_stream_close(j->stream);
        }
        if (ok && j->kind != REG_LOGIN && j->ref)
                event_emit(d, "image", j->kind == REG_PULL ? "pull" : "push",
                           j->ref, NULL);
        job_free(j);
}

static void job_message(struct reg_job *j, const char *line) {
        json_t *m = json_loads(line, 0, NULL);
        if (!json_is_object(m)) {
                json_decref(m);
                return;
        }
        if (json_object_get(m, "error")) {
                json_decref(j->error);
                j->error = json_incref(m);
        }
        if (j->gone) {
                json_decref(m);
                return;
        }
        if (!j->stream && j->kind != REG_LOGIN && !j->error) {
                /* The first progress: the answer is a 200 stream now. */
                j->stream = http_stream_open(j->r, 200, "application/json",
                                             job_gone, j);
                size_t i;
                json_t *h;
                json_array_foreach(j->held, i, h) if (j->stream)
                        http_stream_json(j->stream, json_incref(h));
                json_array_clear(j->held);
        }
        if (j->stream)
                http_stream_json(j->stream, m);
        else
                json_array_append_new(j->held, m);
}

static void job_read(int fd, uint32_t events, void *ud) {
        struct reg_job *j = ud;
        (void) events;
        char tmp[16384];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0) {
                char *nb = realloc(j->buf, j->len + (size_t) n + 1);
                if (!nb)
                        return;
                j->buf = nb;
                memcpy(j->buf + j->len, tmp, (size_t) n);
                j->len += (size_t) n;
                j->buf[j->len] = '\0';
                char *start = j->buf, *nl;
                while ((nl = strchr(start, '\n'))) {
                        *nl = '\0';
                        job_message(j, start);
                        start = nl + 1;
                }
                size_t rest = j->len - (size_t) (start - j->buf);
                memmove(j->buf, start, rest);
                j->len = rest;
                return;
        }
        loop_del_fd(j->d->loop, fd);
        close(fd);
        j->fd = -1;
        j->eof = true;
        if (j->exited)
                job_finish(j);
}

static void job_exited(pid_t pid, int status, void *ud) {
        struct reg_job *j = ud;
        (void) pid;
        j->exited = true;
        j->status = status;
        if (j->eof)
                job_finish(j);
}

struct job_args {
        enum reg_kind kind;
        struct pull_args pull;
        char *ref;    /* push */
        char *server; /* login */
};

static void start_job(struct daemon *d, struct http_req *r,
                      const struct job_args *a, struct auth_hold *auth,
                      const char *event_ref) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                http_reply_error(r, 500, "pipe: %s", strerror(errno));
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                http_reply_error(r, 500, "fork: %s", strerror(errno));
                close(p[0]);
                close(p[1]);
                return;
        }
        if (pid == 0) {
                /* The worker: no loop, no HTTP; the store, the registry
                 * and the pipe. */
                close(p[0]);
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                struct sigaction sa = {.sa_handler = on_term};
                sigaction(SIGTERM, &sa, NULL);
                sigset_t all;
                sigemptyset(&all);
                sigaddset(&all, SIGTERM);
                sigprocmask(SIG_UNBLOCK, &all, NULL);
                if (getppid() == 1)
                        _exit(ECANCELED);
                image_store_after_fork(d->images);
                registry_global_init();
                struct berr e = {0};
                int rr;
                if (a->kind == REG_PULL)
                        rr = worker_pull(d, &a->pull, &auth->a, p[1], &e);
                else if (a->kind == REG_PUSH)
                        rr = worker_push(d, a->ref, &auth->a, p[1], &e);
                else
                        rr = worker_login(d, a->server, &auth->a, p[1], &e);
                if (rr < 0) {
                        emit_error(p[1], berr_message(&e, rr));
                        _exit(-rr > 0 && -rr < 256 ? -rr : EIO);
                }
                _exit(0);
        }
        close(p[1]);
        struct reg_job *j = calloc(1, sizeof(*j));
        if (!j) {
                kill(pid, SIGTERM);
                close(p[0]);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        j->d = d;
        j->r = r;
        j->kind = a->kind;
        j->pid = pid;
        j->fd = p[0];
        j->held = json_array();
        j->ref = event_ref ? strdup(event_ref) : NULL;
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        http_defer(r);
        if (loop_add_fd(d->loop, p[0], EPOLLIN, job_read, j) < 0 ||
            loop_watch_child(d->loop, pid, job_exited, j) < 0) {
                /* Cannot happen short of running out of fds: finish
                 * synchronously. */
                int st;
                loop_del_fd(d->loop, p[0]);
                char tmp[4096];
                ssize_t n;
                fcntl(p[0], F_SETFL, 0);
                while ((n = read(p[0], tmp, sizeof(tmp))) > 0)
                        ;
                close(p[0]);
                j->fd = -1;
                waitpid(pid, &st, 0);
                j->eof = j->exited = true;
                j->status = st;
                job_finish(j);
        }
}

/* A pull or push of `full`, with the request's X-Registry-Auth. */
static void start_ref_job(struct daemon *d, struct http_req *r,
                          const struct job_args *a, const char *full) {
        struct auth_hold auth;
        auth_parse(&auth, http_header(r, "X-Registry-Auth"), NULL);
        char *fam = reference_familiar(full);
        start_job(d, r, a, &auth, fam ? fam : full);
        free(fam);
        auth_done(&auth);
}

void api_pull(struct daemon *d, struct http_req *r) {
        const char *from = http_query(r, "fromImage");
        const char *tag = http_query(r, "tag");
        if (!from || !*from) {
                http_reply_error(r, 400, "fromImage is required");
                return;
        }
        struct job_args a = {.kind = REG_PULL};
        bool has_tag = false;
        {
                /* Does fromImage carry a tag or digest itself? */
                const char *slash = strrchr(from, '/');
                const char *last = slash ? slash + 1 : from;
                has_tag = strchr(last, ':') || strchr(from, '@');
        }
        if (tag && *tag && !has_tag)
                a.pull.ref = str_printf(
                        "%s%s%s", from,
                        str_startswith(tag, "sha256:") ? "@" : ":", tag);
        else
                a.pull.ref = strdup(from);
        a.pull.all_tags = !has_tag && (!tag || !*tag);
        const char *plat = http_query(r, "platform");
        a.pull.platform = plat && *plat ? strdup(plat) : NULL;
        _cleanup_free_ char *full = NULL;
        struct berr e = {0};
        int rr = a.pull.ref ? reference_normalize(a.pull.ref, &full, &e)
                            : -ENOMEM;
        if (rr < 0) {
                http_reply_errno(r, rr, e.msg);
                free(a.pull.ref);
                free(a.pull.platform);
                return;
        }
        if (a.pull.platform) {
                /* Refuse a malformed platform before any network work. */
                const char *p = a.pull.platform;
                if (!*p || p[0] == '/' || strstr(p, "//")) {
                        http_reply_error(r, 400,
                                         "invalid platform \"%s\": expected "
                                         "os/arch[/variant]",
                                         p);
                        free(a.pull.ref);
                        free(a.pull.platform);
                        return;
                }
        }
        start_ref_job(d, r, &a, full);
        free(a.pull.ref);
        free(a.pull.platform);
}

void api_push(struct daemon *d, struct http_req *r, const char *name) {
        const char *tag = http_query(r, "tag");
        _cleanup_free_ char *ref =
                tag && *tag ? str_printf("%s:%s", name, tag) : strdup(name);
        _cleanup_free_ char *full = NULL;
        _cleanup_free_ char *id = NULL;
        struct berr e = {0};
        int rr = ref ? reference_normalize(ref, &full, &e) : -ENOMEM;
        if (rr >= 0)
                rr = image_resolve(d->images, full, &id, &e);
        if (rr < 0) {
                if (rr == -ENOENT)
                        http_reply_error(r, 404,
                                         "An image does not exist locally "
                                         "with the tag: %s",
                                         name);
                else
                        http_reply_errno(r, rr, e.msg);
                return;
        }
        struct job_args a = {.kind = REG_PUSH, .ref = full};
        start_ref_job(d, r, &a, full);
}

void api_auth(struct daemon *d, struct http_req *r) {
        json_t *body = http_body_json(r, false);
        if (!body)
                return;
        struct auth_hold auth;
        auth_parse(&auth, NULL, body);
        struct job_args a = {
                .kind = REG_LOGIN,
                .server = (char *) json_string_value(
                        json_object_get(body, "serveraddress")),
        };
        start_job(d, r, &a, &auth, NULL);
        auth_done(&auth);
        json_decref(body);
}
