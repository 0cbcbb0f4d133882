/* berth-worker: what berthd hands to a separate process - registry pulls,
 * pushes and logins, and whole-archive image work (load, import, save).
 * The daemon stays small (it never maps libcurl or libarchive) and the
 * registry client may use threads here, away from any process that
 * clones containers.
 *
 * Protocol (docs/ARCHITECTURE.md): fd 0 carries one JSON object with the
 * job and its parameters (credentials travel here, never in argv); fd 1
 * gets the output - docker's JSON progress messages one per line for
 * registry jobs, the messages/id/archive for archive jobs; fd 3 is the
 * archive read by load and import.  The exit status is 0 or an errno;
 * on failure the last thing written to fd 1 is the error (a JSON
 * {"error"} line for registry jobs, the message alone for archive jobs,
 * whose output file is emptied first).  SIGTERM cancels. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "build.h"
#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "registry.h"
#include "util.h"

struct ctx {
        struct image_store *images;
        struct registry_config reg;
        char **insecure;
        char **nondist;
};

static volatile int worker_cancel;

static void on_term(int sig) {
        (void) sig;
        worker_cancel = 1;
}

struct worker_out {
        int fd;
        /* When each id's transfer started (progress callbacks are
         * serialized by the registry client: no lock needed). */
        struct {
                char id[16];
                int64_t start;
        } starts[64];
        size_t n_starts;
};

static int64_t start_of(struct worker_out *o, const char *id) {
        const char *key = id ? id : "";
        for (size_t i = 0; i < o->n_starts; i++)
                if (!strcmp(o->starts[i].id, key))
                        return o->starts[i].start;
        int64_t now = (int64_t) time(NULL);
        if (o->n_starts < ELEMENTSOF(o->starts)) {
                snprintf(o->starts[o->n_starts].id, sizeof(o->starts[0].id),
                         "%s", key);
                o->starts[o->n_starts++].start = now;
        }
        return now;
}

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
                /* "start" (unix seconds the transfer began) lets the CLI
                 * show the time left, from the speed so far. */
                json_object_set_new(j, "progressDetail",
                                    json_pack("{s:I, s:I, s:I}", "current",
                                              (json_int_t) cur, "total",
                                              (json_int_t) total, "start",
                                              (json_int_t) start_of(o, id)));
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
        /* Messages quote names from archives and registries, which need
         * not be UTF-8: unescaped, jansson would refuse the line and the
         * error would be lost. */
        _cleanup_free_ char *clean = str_utf8_clean(msg);
        const char *m = clean ? clean : "error (out of memory)";
        emit(fd, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", m,
                           "error", m));
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

static int worker_pull(struct ctx *d, const struct pull_args *a,
                       const struct registry_auth *auth, int out,
                       struct berr *e) {
        struct worker_out o = {.fd = out};
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
                r = registry_list_tags(&d->reg, full, auth, &tags, e);
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
                        r = one ? registry_pull(d->images, &d->reg, one,
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
        r = registry_pull(d->images, &d->reg, a->ref, a->platform, auth,
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

static int worker_push(struct ctx *d, const char *ref,
                       const struct registry_auth *auth, int out,
                       struct berr *e) {
        struct worker_out o = {.fd = out};
        char *digest = NULL;
        int64_t size = 0;
        int r = registry_push(d->images, &d->reg, ref, auth, on_progress, &o,
                              &worker_cancel, &digest, &size, e);
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

static int worker_login(struct ctx *d, const char *server,
                        const struct registry_auth *auth, int out,
                        struct berr *e) {
        char *token = NULL;
        int r = registry_login(&d->reg, server, auth, &token, e);
        if (r < 0)
                return r;
        emit(out, json_pack("{s:s, s:s}", "Status", "Login Succeeded",
                            "IdentityToken", token ? token : ""));
        free(token);
        return 0;
}

/* ---- archive jobs ---- */

static int archive_job(struct ctx *d, const char *job, json_t *p,
                       struct berr *e) {
        int out = 1, in = 3;
        int r;
        if (!strcmp(job, "load")) {
                char **msgs = NULL;
                r = image_load(d->images, in, &msgs, e);
                for (size_t i = 0; r >= 0 && msgs && msgs[i]; i++) {
                        write_all(out, msgs[i], strlen(msgs[i]));
                        write_all(out, "\n", 1);
                }
                strv_free(msgs);
        } else if (!strcmp(job, "import")) {
                char *id = NULL;
                r = image_import(
                        d->images, in,
                        json_string_value(json_object_get(p, "ref")),
                        json_string_value(json_object_get(p, "config")),
                        json_string_value(json_object_get(p, "comment")), &id,
                        e);
                if (r >= 0 && id)
                        write_all(out, id, strlen(id));
                free(id);
        } else {
                char **refs = NULL;
                size_t i;
                json_t *v;
                json_array_foreach(json_object_get(p, "refs"), i,
                                   v) if (json_string_value(v))
                        strv_push(&refs, json_string_value(v));
                r = image_save(d->images, refs, out, e);
                strv_free(refs);
        }
        if (r < 0) {
                /* The output file holds the error message instead. */
                if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
                        return r;
                const char *m = berr_message(e, r);
                write_all(out, m, strlen(m));
        }
        return r;
}

static char **strv_of(json_t *a) {
        char **v = NULL;
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x) if (json_string_value(x))
                strv_push(&v, json_string_value(x));
        return v;
}

/* ---- builds ---- */

struct build_ud {
        struct ctx *d;
        const struct registry_auth *auth;
};

static void build_emit(json_t *m, void *ud) {
        (void) ud;
        emit(1, m);
}

static int build_pull(const char *ref, const char *platform, void *ud,
                      struct berr *e) {
        struct build_ud *b = ud;
        struct pull_args a = {.ref = (char *) ref,
                              .platform = (char *) platform};
        return worker_pull(b->d, &a, b->auth, 1, e);
}

static char **kv_of(json_t *o) {
        char **v = NULL;
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x) {
                if (!json_is_string(x))
                        continue; /* a null build arg: not given */
                char *item = str_printf("%s=%s", k, json_string_value(x));
                if (item)
                        strv_push(&v, item);
                free(item);
        }
        return v;
}

static int build_job(struct ctx *d, json_t *p, const struct registry_auth *auth,
                     struct berr *e) {
        char *ctxdir = NULL;
        int r = image_tmpdir(d->images, "context", &ctxdir, e);
        if (r < 0)
                return r;
        r = build_context_extract(3, ctxdir, e);
        close(3);
        char **tags = strv_of(json_object_get(p, "tags"));
        char **args = kv_of(json_object_get(p, "buildargs"));
        char **labels = kv_of(json_object_get(p, "labels"));
        struct build_opts o = {
                .context = ctxdir,
                .dockerfile =
                        json_string_value(json_object_get(p, "dockerfile")),
                .tags = tags,
                .build_args = args,
                .labels = labels,
                .target = json_string_value(json_object_get(p, "target")),
                .network = json_string_value(json_object_get(p, "network")),
                .platform = json_string_value(json_object_get(p, "platform")),
                .socket = json_string_value(json_object_get(p, "socket")),
                .no_cache = json_is_true(json_object_get(p, "nocache")),
                .pull = json_is_true(json_object_get(p, "pull")),
                .quiet = json_is_true(json_object_get(p, "quiet")),
        };
        if (o.target && !*o.target)
                o.target = NULL;
        struct build_ud ud = {d, auth};
        struct build_hooks h = {.emit = build_emit,
                                .pull = build_pull,
                                .ud = &ud,
                                .cancel = &worker_cancel};
        char *id = NULL;
        if (r >= 0 && !o.socket)
                r = berr_setx(e, EINVAL, "build: no daemon socket");
        if (r >= 0)
                r = build_execute(d->images, &o, &h, &id, e);
        if (r < 0 && h.run_status) {
                const char *m = berr_message(e, r);
                emit(1, json_pack("{s:{s:i, s:s}, s:s}", "errorDetail", "code",
                                  h.run_status, "message", m, "error", m));
                r = -ECANCELED; /* reported */
        }
        free(id);
        rm_rf_at(AT_FDCWD, ctxdir);
        free(ctxdir);
        strv_free(tags);
        strv_free(args);
        strv_free(labels);
        return r;
}

static int run_job(void) {
        /* Die with the daemon: a pull nobody waits for is cancelled. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        sigset_t all;
        sigemptyset(&all);
        sigaddset(&all, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        if (getppid() == 1)
                return ECANCELED;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (read_fd_all(0, 1 << 20, &text, &len) < 0) {
                fprintf(stderr, "berth-worker: read the job from stdin: %m\n");
                return EINVAL;
        }
        json_error_t je;
        json_t *p = json_loadb(text, len, 0, &je);
        const char *job = json_string_value(json_object_get(p, "job"));
        const char *root = json_string_value(json_object_get(p, "image_root"));
        if (!job || !root) {
                fprintf(stderr,
                        "berth-worker: the job on stdin needs \"job\" and "
                        "\"image_root\" (%s)\n",
                        p ? "missing" : je.text);
                json_decref(p);
                return EINVAL;
        }
        struct ctx d = {0};
        json_t *rc = json_object_get(p, "registry");
        d.insecure = strv_of(json_object_get(rc, "insecure"));
        d.nondist = strv_of(json_object_get(rc, "allow_nondistributable"));
        d.reg.certs_dir = json_string_value(json_object_get(rc, "certs_dir"));
        d.reg.insecure = d.insecure;
        d.reg.allow_nondistributable = d.nondist;
        d.reg.max_concurrent =
                (int) json_integer_value(json_object_get(rc, "max_concurrent"));
        struct berr e = {0};
        int r = image_store_attach(root, &d.images, &e);
        if (r >= 0) {
                json_t *lim = json_object_get(p, "limits");
                image_store_set_limits(
                        d.images,
                        (int64_t) json_integer_value(
                                json_object_get(lim, "max_layer_size")),
                        (int64_t) json_integer_value(
                                json_object_get(lim, "max_image_size")));
        }
        bool registry_job = !strcmp(job, "pull") || !strcmp(job, "push") ||
                            !strcmp(job, "login") || !strcmp(job, "build");
        if (r >= 0 && registry_job) {
                r = registry_global_init();
                if (r < 0)
                        berr_setx(&e, EIO, "initialize libcurl");
        }
        if (r >= 0) {
                struct auth_hold auth;
                auth_parse(&auth, json_string_value(json_object_get(p, "auth")),
                           json_object_get(p, "auth_body"));
                if (!strcmp(job, "pull")) {
                        struct pull_args a = {
                                .ref = (char *) json_string_value(
                                        json_object_get(p, "ref")),
                                .all_tags = json_is_true(
                                        json_object_get(p, "all_tags")),
                                .platform = (char *) json_string_value(
                                        json_object_get(p, "platform")),
                        };
                        r = a.ref ? worker_pull(&d, &a, &auth.a, 1, &e)
                                  : berr_setx(&e, EINVAL, "no reference");
                } else if (!strcmp(job, "push")) {
                        const char *ref =
                                json_string_value(json_object_get(p, "ref"));
                        r = ref ? worker_push(&d, ref, &auth.a, 1, &e)
                                : berr_setx(&e, EINVAL, "no reference");
                } else if (!strcmp(job, "login")) {
                        r = worker_login(
                                &d,
                                json_string_value(json_object_get(p, "server")),
                                &auth.a, 1, &e);
                } else if (!strcmp(job, "build")) {
                        r = build_job(&d, p, &auth.a, &e);
                } else if (!strcmp(job, "load") || !strcmp(job, "import") ||
                           !strcmp(job, "save")) {
                        r = archive_job(&d, job, p, &e);
                } else {
                        r = berr_setx(&e, EINVAL, "unknown job \"%s\"", job);
                }
                auth_done(&auth);
        }
        if (r < 0 && (registry_job || !d.images) &&
            !(r == -ECANCELED && !strcmp(job, "build")))
                emit_error(1, berr_message(&e, r));
        image_store_free(d.images);
        strv_free(d.insecure);
        strv_free(d.nondist);
        json_decref(p);
        return r >= 0 ? 0 : -r > 0 && -r < 256 ? -r : EIO;
}

/* --serve: the daemon's job starter.  Loaded once (dynamic linking of
 * libcurl, libarchive and theirs costs ~6 ms a process), it waits on fd 0
 * (a SOCK_SEQPACKET socket to berthd) for jobs: one byte and the fds of
 * a job (parameters, output, and the input when there is one); each job
 * runs in a process cloned with CLONE_PARENT, so it is berthd's child as
 * a forked-and-exec'd worker would be (berthd waits for it by pidfd),
 * and its pid goes back.  Nothing runs in this process but this loop:
 * no threads, no job state, so the clone starts from a clean image. */
static int serve(void) {
        /* Its own name: `ps` tells it from the jobs (berth-worker). */
        prctl(PR_SET_NAME, "berth-starter");
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGPIPE, SIG_IGN);
        if (getppid() == 1)
                return ECANCELED;
        for (;;) {
                char byte;
                struct iovec iov = {&byte, 1};
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(3 * sizeof(int))];
                } u;
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = u.buf,
                                    .msg_controllen = sizeof(u.buf)};
                ssize_t n = recvmsg(0, &mh, MSG_CMSG_CLOEXEC);
                if (n <= 0) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        return 0; /* the daemon is gone */
                }
                int fds[3] = {-1, -1, -1};
                size_t nfds = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
                     c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET ||
                            c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
                                       sizeof(int));
                                if (nfds < 3)
                                        fds[nfds++] = fd;
                                else
                                        close(fd);
                        }
                }
                pid_t pid = -1;
                if (nfds >= 2) {
                        pid = (pid_t) syscall(SYS_clone, CLONE_PARENT | SIGCHLD,
                                              NULL, NULL, NULL, NULL);
                        if (pid == 0) {
                                prctl(PR_SET_NAME, "berth-worker");
                                if (dup2(fds[0], 0) < 0 ||
                                    dup2(fds[1], 1) < 0 ||
                                    (fds[2] >= 0 && dup2(fds[2], 3) < 0))
                                        _exit(EBADF);
                                if (fds[2] < 0)
                                        close(3);
                                _exit(run_job());
                        }
                }
                int reply = pid > 0 ? pid : -errno;
                for (size_t i = 0; i < nfds; i++)
                        close(fds[i]);
                if (send(0, &reply, sizeof(reply), MSG_NOSIGNAL) < 0)
                        return 0;
        }
}

int main(int argc, char **argv) {
        if (argc > 1 && !strcmp(argv[1], "--serve"))
                return serve();
        return run_job();
}
