/* POST /images/create?fromImage= (pull), POST /images/{name}/push and
 * POST /auth.  Each runs in a berth-worker process so the loop keeps
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
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "loop.h"
#include "registry.h"
#include "util.h"

enum reg_kind { REG_PULL, REG_PUSH, REG_LOGIN, REG_BUILD };

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
        /* MHD dropped the response; the stream is ours to release. */
        http_stream_close(j->stream);
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
                /* A refused build context is the client's error; for a
                 * registry it is docker's "pull access denied" 404. */
                return k == REG_LOGIN ? 401 : k == REG_BUILD ? 400 : 404;
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
        /* A worker that ended without saying why: say which job, and
         * how it ended. */
        _cleanup_free_ char *fallback = NULL;
        if (!ok && !msg) {
                static const char *const what[] = {
                        [REG_PULL] = "pull",
                        [REG_PUSH] = "push",
                        [REG_LOGIN] = "login",
                        [REG_BUILD] = "build",
                };
                fallback =
                        WIFSIGNALED(j->status)
                                ? str_printf("%s failed: its berth-worker "
                                             "process was killed by signal "
                                             "%d",
                                             what[j->kind], WTERMSIG(j->status))
                                : str_printf("%s failed: its berth-worker "
                                             "process exited with status "
                                             "%d (%s) without a message",
                                             what[j->kind], code,
                                             strerror(code));
                msg = fallback ? fallback : "berth-worker failed";
        }
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
        char *ref;      /* pull: image[:tag|@digest]; push: the reference */
        bool all_tags;  /* pull of fromImage without a tag */
        char *platform; /* pull */
};

static void start_job(struct daemon *d, struct http_req *r, json_t *params,
                      enum reg_kind kind, const char *event_ref, int in_fd) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                json_decref(params);
                if (in_fd >= 0)
                        close(in_fd);
                http_reply_error(r, 500, "pipe: %s", strerror(errno));
                return;
        }
        pid_t pid;
        struct berr e = {0};
        int rr = worker_spawn(d, params, in_fd, p[1], &pid, &e);
        close(p[1]);
        if (in_fd >= 0)
                close(in_fd);
        if (rr < 0) {
                close(p[0]);
                http_reply_errno(r, rr, e.msg);
                return;
        }
        struct reg_job *j = calloc(1, sizeof(*j));
        if (!j) {
                kill(pid, SIGTERM);
                close(p[0]);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        j->d = d;
        j->r = r;
        j->kind = kind;
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
                fcntl(p[0], F_SETFL, 0);
                while (read(p[0], tmp, sizeof(tmp)) > 0)
                        ;
                close(p[0]);
                j->fd = -1;
                waitpid(pid, &st, 0);
                j->eof = j->exited = true;
                j->status = st;
                job_finish(j);
        }
}

/* A pull or push of `full`, with the request's X-Registry-Auth (decoded
 * by the worker). */
static void start_ref_job(struct daemon *d, struct http_req *r,
                          const struct job_args *a, const char *full) {
        const char *auth = http_header(r, "X-Registry-Auth");
        json_t *params = json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "job",
                                   a->kind == REG_PULL ? "pull" : "push", "ref",
                                   a->ref, "all_tags", a->all_tags, "platform",
                                   a->platform, "auth", auth);
        char *fam = reference_familiar(full);
        if (!params)
                http_reply_error(r, 500, "out of memory");
        else
                start_job(d, r, params, a->kind, fam ? fam : full, -1);
        free(fam);
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
                a.ref = str_printf("%s%s%s", from,
                                   str_startswith(tag, "sha256:") ? "@" : ":",
                                   tag);
        else
                a.ref = strdup(from);
        a.all_tags = !has_tag && (!tag || !*tag);
        const char *plat = http_query(r, "platform");
        a.platform = plat && *plat ? strdup(plat) : NULL;
        _cleanup_free_ char *full = NULL;
        struct berr e = {0};
        int rr = a.ref ? reference_normalize(a.ref, &full, &e) : -ENOMEM;
        if (rr < 0) {
                http_reply_errno(r, rr, e.msg);
                free(a.ref);
                free(a.platform);
                return;
        }
        if (a.platform) {
                /* Refuse a malformed platform before any network work. */
                const char *p = a.platform;
                if (!*p || p[0] == '/' || strstr(p, "//")) {
                        http_reply_error(r, 400,
                                         "invalid platform \"%s\": expected "
                                         "os/arch[/variant]",
                                         p);
                        free(a.ref);
                        free(a.platform);
                        return;
                }
        }
        start_ref_job(d, r, &a, full);
        free(a.ref);
        free(a.platform);
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
        json_t *params = json_pack(
                "{s:s, s:O, s:s?}", "job", "login", "auth_body", body, "server",
                json_string_value(json_object_get(body, "serveraddress")));
        json_decref(body);
        if (!params) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        start_job(d, r, params, REG_LOGIN, NULL, -1);
}

/* POST /build: docker's classic builder API.  The context (the request
 * body, spooled to a file) is fd 3 of the worker, which runs the build
 * (src/build/) and calls back into this API for RUN steps. */
void api_build(struct daemon *d, struct http_req *r) {
        const char *remote = http_query(r, "remote");
        if (remote && *remote) {
                http_reply_error(r, 501,
                                 "building from a remote context (%s) is not "
                                 "supported; send the context as the body",
                                 remote);
                return;
        }
        json_t *bargs = NULL, *labels = NULL;
        const char *ba = http_query(r, "buildargs");
        const char *lb = http_query(r, "labels");
        if (ba && *ba) {
                bargs = json_loads(ba, 0, NULL);
                if (!json_is_object(bargs)) {
                        json_decref(bargs);
                        http_reply_error(r, 400,
                                         "invalid buildargs '%s': not "
                                         "a JSON object",
                                         ba);
                        return;
                }
        }
        if (lb && *lb) {
                labels = json_loads(lb, 0, NULL);
                if (!json_is_object(labels)) {
                        json_decref(bargs);
                        json_decref(labels);
                        http_reply_error(r, 400,
                                         "invalid labels '%s': not a JSON "
                                         "object",
                                         lb);
                        return;
                }
        }
        int fd = http_body_take_fd(r);
        if (fd < 0) {
                json_decref(bargs);
                json_decref(labels);
                http_reply_error(r, 400,
                                 "the build context is missing: send "
                                 "it as a tar in the body");
                return;
        }
        lseek(fd, 0, SEEK_SET);
        json_t *params = json_pack(
                "{s:s, s:s?, s:o, s:o, s:o, s:s?, s:s?, s:s?, s:b, s:b, s:b,"
                " s:s}",
                "job", "build", "dockerfile", http_query(r, "dockerfile"),
                "tags", http_query_all(r, "t"), "buildargs",
                bargs ? bargs : json_object(), "labels",
                labels ? labels : json_object(), "target",
                http_query(r, "target"), "network",
                http_query(r, "networkmode"), "platform",
                http_query(r, "platform"), "nocache",
                http_query_bool(r, "nocache", false), "pull",
                http_query_bool(r, "pull", false), "quiet",
                http_query_bool(r, "q", false), "socket", d->api_socket);
        if (!params) {
                close(fd);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        start_job(d, r, params, REG_BUILD, NULL, fd);
}
