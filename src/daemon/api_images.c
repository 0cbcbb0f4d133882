/* /images/... of the Docker Engine API, over src/image/.  Work that reads
 * or writes whole archives (load, save, import) runs in a berth-worker
 * process so the loop keeps serving; it uses the same on-disk store. */
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "loop.h"
#include "util.h"

enum job_kind { JOB_LOAD, JOB_IMPORT, JOB_SAVE };

struct job {
        struct daemon *d;
        struct http_req *r;
        enum job_kind kind;
        int out_fd; /* the child's result (messages or the archive) */
        bool quiet;
        char *ref;
};

static void job_done(pid_t pid, int status, void *ud) {
        struct job *j = ud;
        (void) pid;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (j->kind == JOB_SAVE && ok) {
                off_t size = lseek(j->out_fd, 0, SEEK_END);
                lseek(j->out_fd, 0, SEEK_SET);
                http_reply_fd(j->r, 200, "application/x-tar", j->out_fd,
                              (uint64_t) size);
                j->out_fd = -1;
                goto out;
        }
        lseek(j->out_fd, 0, SEEK_SET);
        read_fd_all(j->out_fd, 1 << 20, &text, &len);
        if (!ok) {
                /* The child wrote its error message. */
                const char *msg = text && len ? text : "image job failed";
                int code = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
                http_reply_errno(j->r, code == 1 ? EIO : code, msg);
                goto out;
        }
        if (j->kind == JOB_IMPORT) {
                /* moby answers with a JSON progress stream ending in the
                 * id. */
                json_t *st = json_pack("{s:s}", "status", text ? text : "");
                char *s = json_dumps(st, JSON_COMPACT);
                json_decref(st);
                _cleanup_free_ char *body = s ? str_printf("%s\r\n", s) : NULL;
                free(s);
                if (body)
                        http_reply(j->r, 200, "application/json", body,
                                   strlen(body));
                event_emit(j->d, "image", "import", text ? text : "", NULL);
        } else {
                /* load: one {"stream": "Loaded image: x\n"} per line. */
                char *buf = NULL;
                size_t blen = 0;
                FILE *f = open_memstream(&buf, &blen);
                for (char *line = text ? strtok(text, "\n") : NULL; line && f;
                     line = strtok(NULL, "\n")) {
                        _cleanup_free_ char *msg = str_printf("%s\n", line);
                        json_t *o = json_pack("{s:s}", "stream", msg ?: "");
                        char *s = json_dumps(o, JSON_COMPACT);
                        json_decref(o);
                        if (s)
                                fprintf(f, "%s\r\n", s);
                        free(s);
                        event_emit(j->d, "image", "load", line, NULL);
                }
                if (f)
                        fclose(f);
                http_reply(j->r, 200, "application/json", buf ? buf : "", blen);
                free(buf);
        }
out:
        if (j->out_fd >= 0)
                close(j->out_fd);
        free(j->ref);
        free(j);
}

/* Run the job in a berth-worker; its output is a temp file read back when
 * it exits.  Exit 0 = success (the file has the result), else the file
 * has the error message and the exit code is the errno. */
static void run_job(struct daemon *d, struct http_req *r, enum job_kind kind,
                    int in_fd, char **refs, const char *ref,
                    const char *config_json, const char *comment) {
        /* save writes an archive: a file on disk.  load and import write
         * a few lines (or their error): in memory, so that a full disk -
         * the very error to report - cannot swallow the message. */
        int out = kind == JOB_SAVE ? open_tmpfile_at(AT_FDCWD, d->data_root)
                                   : memfd_create("berth-job-out", MFD_CLOEXEC);
        if (out < 0 && kind == JOB_SAVE)
                errno = -out;
        if (out < 0) {
                http_reply_error(r, 500, "create a temporary file in '%s': %s",
                                 d->data_root, strerror(errno));
                if (in_fd >= 0)
                        close(in_fd);
                return;
        }
        json_t *params = json_pack("{s:s}", "job",
                                   kind == JOB_LOAD     ? "load"
                                   : kind == JOB_IMPORT ? "import"
                                                        : "save");
        if (params && kind == JOB_IMPORT) {
                json_object_set_new(params, "ref",
                                    ref ? json_string(ref) : json_null());
                json_object_set_new(params, "config",
                                    config_json ? json_string(config_json)
                                                : json_null());
                json_object_set_new(params, "comment",
                                    comment ? json_string(comment)
                                            : json_null());
        } else if (params && kind == JOB_SAVE) {
                json_t *a = json_array();
                for (size_t i = 0; refs && refs[i]; i++)
                        json_array_append_new(a, json_string(refs[i]));
                json_object_set_new(params, "refs", a);
        }
        pid_t pid;
        struct berr e = {0};
        int rr = worker_spawn(d, params, in_fd, out, &pid, &e);
        if (rr < 0) {
                http_reply_errno(r, rr, e.msg);
                close(out);
                if (in_fd >= 0)
                        close(in_fd);
                return;
        }
        if (in_fd >= 0)
                close(in_fd);
        struct job *j = calloc(1, sizeof(*j));
        if (!j) {
                close(out);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        j->d = d;
        j->r = r;
        j->kind = kind;
        j->out_fd = out;
        http_defer(r);
        if (loop_watch_child(d->loop, pid, job_done, j) < 0) {
                int st;
                waitpid(pid, &st, 0);
                job_done(pid, st, j);
        }
}

/* ---- tag and rmi: never waiting for the store's lock ----
 *
 * The loop's store is nonblocking: while a worker commits a load, pull or
 * build (renames and small records: milliseconds), image_tag and
 * image_remove fail with -EWOULDBLOCK.  The request then waits on a timer
 * and is tried again, the loop serving everyone else meanwhile; after
 * STORE_RETRY_MAX_MS it is answered with an error saying why. */

#define STORE_RETRY_MS     5
#define STORE_RETRY_MAX_MS 30000

struct store_op {
        struct daemon *d;
        struct http_req *r;
        char *name;    /* the image as the client named it */
        char *new_ref; /* tag: repo[:tag]; NULL: rmi */
        bool force;
        uint64_t deadline_ms;
        unsigned tries;
};

static void store_op_free(struct store_op *op) {
        free(op->name);
        free(op->new_ref);
        free(op);
}

static void trash_removed(pid_t pid, int status, void *ud) {
        (void) pid;
        (void) status;
        (void) ud;
}

/* What image_remove freed was moved aside under the lock; the files go
 * in a child process (gigabytes take seconds to unlink).  If the child
 * cannot be started they stay in tmp/, emptied at the next start. */
static void remove_trash(struct daemon *d) {
        _cleanup_free_ char *t = image_store_take_trash(d->images);
        if (!t)
                return;
        pid_t pid = fork();
        if (pid == 0) {
                /* berthd's child, in berthd's namespaces: removes only
                 * the store's own tmp/gc-X (checked by the callee). */
                _exit(image_store_remove_trash(d->images, t) < 0 ? 1 : 0);
        }
        /* Without a pidfd watch (out of fds) the child stays a zombie
         * until berthd exits: nothing here may wait for it. */
        if (pid > 0)
                (void) loop_watch_child(d->loop, pid, trash_removed, NULL);
}

static void store_op_try(void *ud) {
        struct store_op *op = ud;
        struct daemon *d = op->d;
        struct berr e = {0};
        char *out = NULL;
        _cleanup_free_ char *id = NULL;
        int rr = image_resolve(d->images, op->name, &id, &e);
        if (rr >= 0 && op->new_ref)
                rr = image_tag(d->images, op->name, op->new_ref, &e);
        else if (rr >= 0)
                rr = image_remove(d->images, op->name, op->force,
                                  ctr_image_users, d, &out, &e);
        if (rr == -EWOULDBLOCK) {
                uint64_t now = loop_now_ms();
                if (now < op->deadline_ms) {
                        /* Back off up to 100 ms between tries. */
                        uint64_t wait = (uint64_t) STORE_RETRY_MS
                                        << (op->tries < 5 ? op->tries : 5);
                        op->tries++;
                        http_defer(op->r);
                        if (loop_add_timer(d->loop, wait > 100 ? 100 : wait,
                                           store_op_try, op))
                                return;
                }
                berr_clear(&e);
                berr_setx(&e, EBUSY,
                          "image store busy: another operation held its "
                          "lock for more than %d s; %s '%s' not done",
                          STORE_RETRY_MAX_MS / 1000,
                          op->new_ref ? "tag" : "remove", op->name);
                rr = -EBUSY;
        }
        if (rr < 0)
                http_reply_errno(op->r, rr, e.msg);
        else if (op->new_ref) {
                http_reply_status(op->r, 201);
                event_emit(d, "image", "tag", id, NULL);
        } else {
                http_reply(op->r, 200, "application/json", out, strlen(out));
                event_emit(d, "image", "delete", op->name, NULL);
                remove_trash(d);
        }
        free(out);
        store_op_free(op);
}

static void store_op_start(struct daemon *d, struct http_req *r,
                           const char *name, const char *new_ref, bool force) {
        struct store_op *op = calloc(1, sizeof(*op));
        if (!op || !(op->name = strdup(name)) ||
            (new_ref && !(op->new_ref = strdup(new_ref)))) {
                if (op)
                        store_op_free(op);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        op->d = d;
        op->r = r;
        op->force = force;
        op->deadline_ms = loop_now_ms() + STORE_RETRY_MAX_MS;
        store_op_try(op);
}

/* --change lines (Dockerfile syntax) to config fields for import. */
static int changes_to_config(json_t *changes, json_t *cfg, struct berr *err) {
        size_t i;
        json_t *v;
        json_array_foreach(changes, i, v) {
                const char *s = json_string_value(v);
                if (!s)
                        continue;
                while (*s == ' ')
                        s++;
                size_t kl = strcspn(s, " \t");
                _cleanup_free_ char *kw = strndup(s, kl);
                const char *arg = s + kl;
                while (*arg == ' ' || *arg == '\t')
                        arg++;
                for (char *p = kw; p && *p; p++)
                        *p = (char) toupper((unsigned char) *p);
                json_t *arr = NULL;
                if (*arg == '[') {
                        arr = json_loads(arg, 0, NULL);
                        if (!json_is_array(arr)) {
                                json_decref(arr);
                                arr = NULL;
                        }
                }
                if (!kw)
                        return -ENOMEM;
                if (!strcmp(kw, "CMD") || !strcmp(kw, "ENTRYPOINT")) {
                        if (!arr)
                                arr = json_pack("[s,s,s]", "/bin/sh", "-c",
                                                arg);
                        json_object_set_new(
                                cfg, !strcmp(kw, "CMD") ? "Cmd" : "Entrypoint",
                                arr);
                        arr = NULL;
                } else if (!strcmp(kw, "ENV")) {
                        json_t *env = json_object_get(cfg, "Env");
                        if (!env) {
                                env = json_array();
                                json_object_set_new(cfg, "Env", env);
                        }
                        const char *eq = strchr(arg, '=');
                        const char *sp = strpbrk(arg, " \t");
                        if (eq && (!sp || eq < sp)) {
                                json_array_append_new(env, json_string(arg));
                        } else if (sp) {
                                _cleanup_free_ char *e =
                                        str_printf("%.*s=%s", (int) (sp - arg),
                                                   arg, sp + strspn(sp, " \t"));
                                json_array_append_new(env,
                                                      json_string(e ?: ""));
                        }
                } else if (!strcmp(kw, "WORKDIR")) {
                        json_object_set_new(cfg, "WorkingDir",
                                            json_string(arg));
                } else if (!strcmp(kw, "USER")) {
                        json_object_set_new(cfg, "User", json_string(arg));
                } else if (!strcmp(kw, "STOPSIGNAL")) {
                        json_object_set_new(cfg, "StopSignal",
                                            json_string(arg));
                } else if (!strcmp(kw, "EXPOSE")) {
                        json_t *ep = json_object_get(cfg, "ExposedPorts");
                        if (!ep) {
                                ep = json_object();
                                json_object_set_new(cfg, "ExposedPorts", ep);
                        }
                        _cleanup_free_ char *copy = strdup(arg);
                        for (char *t = copy ? strtok(copy, " ") : NULL; t;
                             t = strtok(NULL, " ")) {
                                _cleanup_free_ char *k =
                                        strchr(t, '/')
                                                ? strdup(t)
                                                : str_printf("%s/tcp", t);
                                if (k)
                                        json_object_set_new(ep, k,
                                                            json_object());
                        }
                } else if (!strcmp(kw, "VOLUME")) {
                        json_t *vo = json_object_get(cfg, "Volumes");
                        if (!vo) {
                                vo = json_object();
                                json_object_set_new(cfg, "Volumes", vo);
                        }
                        if (arr) {
                                size_t k;
                                json_t *x;
                                json_array_foreach(arr, k,
                                                   x) if (json_string_value(x))
                                        json_object_set_new(
                                                vo, json_string_value(x),
                                                json_object());
                        } else
                                json_object_set_new(vo, arg, json_object());
                } else if (!strcmp(kw, "LABEL")) {
                        json_t *lb = json_object_get(cfg, "Labels");
                        if (!lb) {
                                lb = json_object();
                                json_object_set_new(cfg, "Labels", lb);
                        }
                        const char *eq = strchr(arg, '=');
                        if (eq) {
                                _cleanup_free_ char *k =
                                        strndup(arg, (size_t) (eq - arg));
                                const char *val = eq + 1;
                                size_t vl = strlen(val);
                                if (vl >= 2 && val[0] == '"' &&
                                    val[vl - 1] == '"')
                                        json_object_set_new(
                                                lb, k ?: "",
                                                json_stringn(val + 1, vl - 2));
                                else
                                        json_object_set_new(lb, k ?: "",
                                                            json_string(val));
                        }
                } else {
                        json_decref(arr);
                        return berr_setx(err, EINVAL,
                                         "%s is not a valid change command",
                                         kw);
                }
                json_decref(arr);
        }
        return 0;
}

static void import_image(struct daemon *d, struct http_req *r) {
        const char *src = http_query(r, "fromSrc");
        if (!src || strcmp(src, "-") != 0) {
                if (http_query(r, "fromImage")) {
                        api_pull(d, r);
                        return;
                }
                http_reply_error(r, 400,
                                 "import from a URL is not supported: send "
                                 "the archive in the request (fromSrc=-)");
                return;
        }
        const char *repo = http_query(r, "repo");
        const char *tag = http_query(r, "tag");
        _cleanup_free_ char *ref = NULL;
        if (repo && *repo)
                ref = tag && *tag ? str_printf("%s:%s", repo, tag)
                                  : strdup(repo);
        json_t *cfg = json_object();
        /* "changes" may repeat: every value is one Dockerfile line. */
        json_t *changes = http_query_all(r, "changes");
        struct berr e = {0};
        int rr = changes_to_config(changes, cfg, &e);
        json_decref(changes);
        if (rr < 0) {
                json_decref(cfg);
                http_reply_errno(r, rr, e.msg);
                return;
        }
        _cleanup_free_ char *cfgtext = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        int fd = http_body_take_fd(r);
        if (fd < 0) {
                http_reply_error(r, 400, "no archive in the request body");
                return;
        }
        run_job(d, r, JOB_IMPORT, fd, NULL, ref, cfgtext,
                http_query(r, "message"));
}

static void save_images(struct daemon *d, struct http_req *r, const char *one) {
        json_t *names = NULL;
        if (one) {
                names = json_pack("[s]", one);
        } else
                names = http_query_all(r, "names");
        size_t n = json_array_size(names);
        if (n == 0) {
                json_decref(names);
                http_reply_error(r, 400, "no images to save");
                return;
        }
        char **refs = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; refs && i < n; i++) {
                const char *s = json_string_value(json_array_get(names, i));
                refs[i] = strdup(s ? s : "");
                struct berr e = {0};
                char *id = NULL;
                if (image_resolve(d->images, refs[i], &id, &e) < 0) {
                        http_reply_errno(r, -ENOENT, e.msg);
                        strv_free(refs);
                        json_decref(names);
                        return;
                }
                free(id);
        }
        json_decref(names);
        run_job(d, r, JOB_SAVE, -1, refs, NULL, NULL, NULL);
        strv_free(refs);
}

void api_images(struct daemon *d, struct http_req *r, const char *rest) {
        const char *m = http_method(r);
        struct berr e = {0};
        int rr;
        if (strcmp(rest, "/json") == 0 && strcmp(m, "GET") == 0) {
                char *out = NULL;
                rr = image_list_json(
                        d->images, http_query_bool(r, "all", false),
                        http_query(r, "filters"), ctr_image_users, d, &out, &e);
                if (rr < 0)
                        http_reply_errno(r, rr, e.msg);
                else
                        http_reply(r, 200, "application/json", out,
                                   strlen(out));
                free(out);
                return;
        }
        if (strcmp(rest, "/load") == 0 && strcmp(m, "POST") == 0) {
                int fd = http_body_take_fd(r);
                if (fd < 0) {
                        http_reply_error(r, 400, "no archive in the request");
                        return;
                }
                run_job(d, r, JOB_LOAD, fd, NULL, NULL, NULL, NULL);
                return;
        }
        if (strcmp(rest, "/create") == 0 && strcmp(m, "POST") == 0) {
                import_image(d, r);
                return;
        }
        if (strcmp(rest, "/get") == 0 && strcmp(m, "GET") == 0) {
                save_images(d, r, NULL);
                return;
        }
        if (rest[0] != '/' || !rest[1]) {
                http_reply_error(r, 404, "page not found");
                return;
        }
        /* Names contain '/' and ':': route on the suffix. */
        const char *name_start = rest + 1;
        static const char *const ops[] = {"/json", "/history", "/tag", "/push",
                                          "/get"};
        const char *op = "";
        size_t nlen = strlen(name_start);
        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                size_t ol = strlen(ops[i]);
                if (nlen > ol && strcmp(name_start + nlen - ol, ops[i]) == 0) {
                        op = ops[i] + 1;
                        nlen -= ol;
                        break;
                }
        }
        _cleanup_free_ char *name = strndup(name_start, nlen);
        if (!name) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!*op && strcmp(m, "DELETE") == 0) {
                store_op_start(d, r, name, NULL,
                               http_query_bool(r, "force", false));
                return;
        }
        if (strcmp(op, "push") == 0 && strcmp(m, "POST") == 0) {
                api_push(d, r, name);
                return;
        }
        if (strcmp(op, "get") == 0 && strcmp(m, "GET") == 0) {
                save_images(d, r, name);
                return;
        }
        _cleanup_free_ char *id = NULL;
        rr = image_resolve(d->images, name, &id, &e);
        if (rr < 0) {
                http_reply_errno(r, rr, e.msg);
                return;
        }
        char *out = NULL;
        if (strcmp(op, "json") == 0 && strcmp(m, "GET") == 0) {
                rr = image_inspect_json(d->images, id, &out, &e);
        } else if (strcmp(op, "history") == 0 && strcmp(m, "GET") == 0) {
                rr = image_history_json(d->images, id, &out, &e);
        } else if (strcmp(op, "tag") == 0 && strcmp(m, "POST") == 0) {
                const char *repo = http_query(r, "repo");
                const char *tag = http_query(r, "tag");
                if (!repo || !*repo) {
                        http_reply_error(r, 400,
                                         "repository name must have "
                                         "at least one component");
                        return;
                }
                _cleanup_free_ char *nr =
                        tag && *tag ? str_printf("%s:%s", repo, tag)
                                    : strdup(repo);
                if (!nr) {
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
                store_op_start(d, r, name, nr, false);
                return;
        } else {
                http_reply_error(r, 404, "page not found");
                return;
        }
        if (rr < 0)
                http_reply_errno(r, rr, e.msg);
        else
                http_reply(r, 200, "application/json", out, strlen(out));
        free(out);
}
