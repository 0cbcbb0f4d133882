/* The build executor (build.h). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "cleanup.h"
#include "digest.h"
#include "dockerfile.h"
#include "engine.h"
#include "error.h"
#include "expand.h"
#include "fsops.h"
#include "image.h"
#include "paths.h"
#include "plan.h"
#include "util.h"

#define DEFAULT_PATH                                                           \
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Build args every build knows without an ARG (moby's list); they never
 * show in history or the cache key. */
static const char *const proxy_args[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

/* What a RUN container leaves in its upper dir that is not the step's
 * work: mount points the runtime made for files the daemon binds. */
static char *const mount_points[] = {
        "etc/hosts",  "etc/hostname", "etc/resolv.conf",
        "etc",        "dev/shm",      "dev/pts",
        "dev/mqueue", "dev/console",  "dev",
        "proc",       "sys",          "run",
        NULL,
};

struct stage_run {
        char *id;    /* the current image; NULL while a scratch stage has
                      * made none */
        json_t *cfg; /* its config object */
        char **args; /* ARGs declared in the stage: NAME=VALUE or NAME */
        bool cmd_set;
};

struct bx {
        struct image_store *s;
        const struct build_opts *o;
        struct build_hooks *h;
        struct dockerfile *df;
        struct build_plan *plan;
        struct engine *eng;
        char *tmp;   /* the build's private directory */
        char *empty; /* tmp/empty: the layer of a layerless image */
        int ctxfd;   /* the context */
        char **stage_ids;
        char **used_args; /* build args some ARG consumed */
        size_t step, steps;
        char esc;
        bool unshared; /* in a mount namespace of its own */
        struct berr *err;
};

/* ---- output ---- */

static void emit_stream(struct bx *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void emit_stream(struct bx *b, const char *fmt, ...) {
        if (b->o->quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        b->h->emit(json_pack("{s:s}", "stream", s), b->h->ud);
        free(s);
}

static void emit_raw(struct bx *b, const char *data, size_t len) {
        if (b->o->quiet || len == 0)
                return;
        b->h->emit(json_pack("{s:s%}", "stream", data, len), b->h->ud);
}

static const char *short_id(const char *id, char buf[13]) {
        snprintf(buf, 13, "%.12s", str_startswith(id, "sha256:") ? id + 7 : id);
        return buf;
}

/* ---- strings ---- */

static bool kv_has(char *const *v, const char *name) {
        size_t nl = strlen(name);
        for (size_t i = 0; v && v[i]; i++)
                if (!strncmp(v[i], name, nl) && (v[i][nl] == '=' || !v[i][nl]))
                        return true;
        return false;
}

/* Set NAME (to "NAME=VALUE", or a bare "NAME" when value is NULL). */
static int kv_set(char ***v, const char *name, const char *value) {
        _cleanup_free_ char *item =
                value ? str_printf("%s=%s", name, value) : strdup(name);
        if (!item)
                return -ENOMEM;
        size_t nl = strlen(name);
        for (size_t i = 0; *v && (*v)[i]; i++)
                if (!strncmp((*v)[i], name, nl) &&
                    ((*v)[i][nl] == '=' || !(*v)[i][nl])) {
                        free((*v)[i]);
                        (*v)[i] = TAKE_PTR(item);
                        return 0;
                }
        return strv_push(v, item);
}

static const char *env_get(json_t *env, const char *name) {
        size_t nl = strlen(name), i;
        json_t *e;
        json_array_foreach(env, i, e) {
                const char *s = json_string_value(e);
                if (s && !strncmp(s, name, nl) && s[nl] == '=')
                        return s + nl + 1;
        }
        return NULL;
}

static void env_set(json_t *cfg, const char *name, const char *value) {
        json_t *env = json_object_get(cfg, "Env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(cfg, "Env", env);
        }
        _cleanup_free_ char *item = str_printf("%s=%s", name, value);
        size_t nl = strlen(name), i;
        json_t *e;
        json_array_foreach(env, i, e) {
                const char *s = json_string_value(e);
                if (s && !strncmp(s, name, nl) && s[nl] == '=') {
                        json_array_set_new(env, i, json_string(item));
                        return;
                }
        }
        json_array_append_new(env, json_string(item));
}

/* Go's %q of a string, as moby's history strings show them. */
static void go_quote(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static char *go_quote_array(json_t *a) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fputc('[', f);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                if (i)
                        fputc(' ', f);
                go_quote(f, json_string_value(v) ?: "");
        }
        fputc(']', f);
        fclose(f);
        return buf;
}

static char *join_array(json_t *a, const char *sep) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
                fprintf(f, "%s%s", i ? sep : "", json_string_value(v) ?: "");
        fclose(f);
        return buf;
}

static json_t *shell_of(struct stage_run *st) {
        json_t *sh = json_object_get(st->cfg, "Shell");
        if (json_is_array(sh) && json_array_size(sh) > 0)
                return json_deep_copy(sh);
        return json_pack("[s, s]", "/bin/sh", "-c");
}

/* ---- variables ---- */

struct vars {
        struct stage_run *st;
        struct bx *b;
};

/* ENV wins over ARG; an ARG is set by --build-arg, its default, or a
 * global ARG's value. */
static const char *lookup_var(const char *name, void *ud) {
        struct vars *v = ud;
        const char *e = env_get(json_object_get(v->st->cfg, "Env"), name);
        if (e)
                return e;
        return build_kv_get(v->st->args, name);
}

static int expand(struct bx *b, struct stage_run *st, const char *word,
                  char **ret) {
        struct vars v = {st, b};
        return expand_word(word, b->esc, lookup_var, &v, ret, b->err);
}

/* The build args in effect for a RUN: declared, with a value, not
 * shadowed by ENV; sorted.  `history` leaves the proxy args out. */
static char **args_in_effect(struct bx *b, struct stage_run *st, bool history) {
        char **out = NULL;
        json_t *env = json_object_get(st->cfg, "Env");
        for (size_t i = 0; st->args && st->args[i]; i++) {
                const char *eq = strchr(st->args[i], '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k =
                        strndup(st->args[i], (size_t) (eq - st->args[i]));
                if (k && !env_get(env, k))
                        strv_push(&out, st->args[i]);
        }
        for (size_t p = 0; !history && p < ELEMENTSOF(proxy_args); p++) {
                const char *v = build_kv_get(b->o->build_args, proxy_args[p]);
                if (v && !kv_has(st->args, proxy_args[p])) {
                        _cleanup_free_ char *item =
                                str_printf("%s=%s", proxy_args[p], v);
                        if (item)
                                strv_push(&out, item);
                }
        }
        strv_sort(out);
        return out;
}

/* ---- committing a step ---- */

static void cache_key(const char *parent, const char *what, char out[65]) {
        struct digest *d = digest_new();
        char dig[72];
        if (!d) {
                memset(out, '0', 64);
                out[64] = '\0';
                return;
        }
        digest_update(d, "berth-build-v1\n", 15);
        digest_update(d, parent ? parent : "scratch",
                      strlen(parent ? parent : "scratch"));
        digest_update(d, "\n", 1);
        digest_update(d, what, strlen(what));
        digest_final(d, dig);
        snprintf(out, 65, "%s", dig + 7);
}

/* Adopt image `id` as the stage's current image. */
static int adopt(struct bx *b, struct stage_run *st, const char *id) {
        char *cj = NULL;
        int r = image_config_json(b->s, id, &cj, b->err);
        if (r < 0)
                return r;
        json_t *cfg = json_loads(cj, 0, NULL);
        free(cj);
        if (!json_is_object(cfg)) {
                json_decref(cfg);
                cfg = json_object();
        }
        json_decref(st->cfg);
        st->cfg = cfg;
        char *nid = strdup(id);
        if (!nid)
                return -ENOMEM;
        free(st->id);
        st->id = nid;
        return 0;
}

/* A cached image for `key`, unless --no-cache. */
static bool cache_hit(struct bx *b, struct stage_run *st, const char *key) {
        if (b->o->no_cache)
                return false;
        char *id = NULL;
        if (image_cache_get(b->s, key, &id) < 0)
                return false;
        int r = adopt(b, st, id);
        char sid[13];
        if (r >= 0)
                emit_stream(b, " ---> Using cache\n ---> %s\n",
                            short_id(id, sid));
        free(id);
        return r >= 0;
}

static int commit(struct bx *b, struct stage_run *st, const char *key,
                  const char *created_by, int upper_fd, char *const *skip) {
        _cleanup_free_ char *cfg = json_dumps(st->cfg, JSON_COMPACT);
        if (!cfg)
                return -ENOMEM;
        struct image_child c = {
                .parent = st->id,
                .config = cfg,
                .created_by = created_by,
                .upper_fd = upper_fd,
                .skip_empty = skip,
        };
        char *id = NULL;
        int r = image_commit_child(b->s, &c, &id, b->err);
        if (r < 0)
                return r;
        image_cache_put(b->s, key, id, b->err);
        free(st->id);
        st->id = id;
        char sid[13];
        emit_stream(b, " ---> %s\n", short_id(id, sid));
        return 0;
}

/* "/bin/sh -c #(nop) " + text, moby's comment for a step that runs
 * nothing (`two` gives its double space: "#(nop)  CMD ..."). */
static char *nop_comment(struct stage_run *st, const char *text, bool two) {
        json_t *sh = shell_of(st);
        _cleanup_free_ char *shs = join_array(sh, " ");
        json_decref(sh);
        return shs ? str_printf("%s #(nop) %s%s", shs, two ? " " : "", text)
                   : NULL;
}

static int config_step(struct bx *b, struct stage_run *st,
                       const char *created_by) {
        if (!created_by)
                return -ENOMEM;
        _cleanup_free_ char *cfg =
                json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *what =
                cfg ? str_printf("%s\n%s", created_by, cfg) : NULL;
        if (!what)
                return -ENOMEM;
        char key[65];
        cache_key(st->id, what, key);
        if (cache_hit(b, st, key))
                return 0;
        return commit(b, st, key, created_by, -1, NULL);
}

/* ---- steps on a mounted rootfs (COPY, ADD, WORKDIR) ---- */

/* Before the first mount: overlays mounted here are then this process's
 * alone and go with it, whatever happens.  (A build found whole in the
 * cache mounts nothing and skips this.) */
static int private_mounts(struct bx *b) {
        if (b->unshared)
                return 0;
        if (unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return berr_set(b->err, errno,
                                "build: a private mount namespace");
        b->unshared = true;
        return 0;
}

typedef int (*rootfs_fn)(struct bx *b, int rootfd, void *ud);

/* An image's files: its layers, for reading (COPY --from). */
static int mount_image(struct bx *b, const char *id, const char *where,
                       int *ret_fd) {
        _cleanup_strv_free_ char **layers = NULL;
        int r = id ? image_layer_dirs(b->s, id, &layers, b->err) : 0;
        if (r >= 0)
                r = private_mounts(b);
        if (r < 0)
                return r;
        if (mkdir(where, 0700) < 0 && errno != EEXIST)
                return berr_set(b->err, errno, "create '%s'", where);
        r = image_mount_overlay(layers, b->empty, NULL, NULL, where, b->err);
        if (r < 0)
                return r;
        int fd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berr_set(b->err, errno, "open '%s'", where);
        *ret_fd = fd;
        return 0;
}

static int on_rootfs(struct bx *b, struct stage_run *st, const char *key,
                     const char *created_by, rootfs_fn fn, void *ud) {
        _cleanup_free_ char *up = str_printf("%s/upper", b->tmp);
        _cleanup_free_ char *wk = str_printf("%s/work", b->tmp);
        _cleanup_free_ char *mnt = str_printf("%s/rootfs", b->tmp);
        if (!up || !wk || !mnt)
                return -ENOMEM;
        rm_rf_at(AT_FDCWD, up);
        rm_rf_at(AT_FDCWD, wk);
        if (mkdir(up, 0755) < 0 || mkdir(wk, 0700) < 0 ||
            (mkdir(mnt, 0755) < 0 && errno != EEXIST))
                return berr_set(b->err, errno, "create '%s'", b->tmp);
        _cleanup_strv_free_ char **layers = NULL;
        int r = st->id ? image_layer_dirs(b->s, st->id, &layers, b->err) : 0;
        if (r >= 0)
                r = private_mounts(b);
        if (r < 0)
                return r;
        r = image_mount_overlay(layers, b->empty, up, wk, mnt, b->err);
        if (r < 0)
                return r;
        int rfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = rfd < 0 ? berr_set(b->err, errno, "open '%s'", mnt)
                    : fn(b, rfd, ud);
        if (rfd >= 0)
                close(rfd);
        umount2(mnt, MNT_DETACH);
        if (r < 0)
                return r;
        _cleanup_close_ int ufd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0)
                return berr_set(b->err, errno, "open '%s'", up);
        r = commit(b, st, key, created_by, ufd, NULL);
        rm_rf_at(AT_FDCWD, up);
        rm_rf_at(AT_FDCWD, wk);
        return r;
}

static int mkdir_fn(struct bx *b, int rootfd, void *ud) {
        return fs_mkdir_p(rootfd, ud, 0, 0, b->err);
}

static int do_workdir(struct bx *b, struct stage_run *st,
                      const struct df_instr *in) {
        if (in->n_args != 1)
                return berr_setx(b->err, EINVAL,
                                 "WORKDIR requires exactly one argument");
        _cleanup_free_ char *w = NULL;
        int r = expand(b, st, in->args[0], &w);
        if (r < 0)
                return r;
        const char *cur =
                json_string_value(json_object_get(st->cfg, "WorkingDir"));
        _cleanup_free_ char *path = NULL;
        bool dir;
        r = build_dest_path(cur && *cur ? cur : "/", w, &path, &dir, b->err);
        if (r < 0)
                return r;
        if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
                path[strlen(path) - 1] = '\0';
        json_object_set_new(st->cfg, "WorkingDir", json_string(path));
        _cleanup_free_ char *text = str_printf("WORKDIR %s", path);
        _cleanup_free_ char *cb = text ? nop_comment(st, text, false) : NULL;
        _cleanup_free_ char *cfg =
                json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *what =
                cb && cfg ? str_printf("%s\n%s", cb, cfg) : NULL;
        if (!what)
                return -ENOMEM;
        char key[65];
        cache_key(st->id, what, key);
        if (cache_hit(b, st, key))
                return 0;
        return on_rootfs(b, st, key, cb, mkdir_fn, path);
}

/* ---- COPY and ADD ---- */

struct copy_src {
        int rootfd; /* where it is: context, stage, download, heredoc */
        char *path; /* relative to rootfd */
        bool local; /* from the context (ADD extracts archives) */
};

struct copy_job {
        struct copy_src *srcs;
        size_t n;
        char *dest;
        bool dest_dir;
        bool add;
        const char *chown;
        int mode;
        bool from; /* --from: owners kept */
};

static int copy_fn(struct bx *b, int rootfd, void *ud) {
        struct copy_job *j = ud;
        struct fs_copy_opts o = {.uid = j->from ? -1 : 0,
                                 .gid = j->from ? -1 : 0,
                                 .mode = j->mode};
        if (j->chown) {
                int r = fs_lookup_owner(rootfd, j->chown, &o.uid, &o.gid,
                                        b->err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < j->n; i++) {
                const struct copy_src *c = &j->srcs[i];
                if (j->add && c->local) {
                        int r = fs_extract(c->rootfd, c->path, rootfd, j->dest,
                                           b->err);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                }
                int r = fs_copy(c->rootfd, c->path, rootfd, j->dest,
                                j->dest_dir || j->n > 1, &o, b->err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *flag_value(const struct df_instr *in, const char *name) {
        return df_flag(in, name, NULL);
}

/* Where --from=X points: an earlier stage's image, or an image. */
static int from_root(struct bx *b, struct stage_run *st, const char *from,
                     size_t stage_index, int *ret_fd, char **ret_id) {
        _cleanup_free_ char *name = NULL;
        int r = expand(b, st, from, &name);
        if (r < 0)
                return r;
        int idx = build_plan_stage(b->plan, name, stage_index);
        _cleanup_free_ char *id = NULL;
        if (idx >= 0) {
                id = b->stage_ids[idx] ? strdup(b->stage_ids[idx]) : NULL;
        } else {
                struct berr e2 = {0};
                if (image_resolve(b->s, name, &id, &e2) < 0) {
                        r = b->h->pull ? b->h->pull(name, b->o->platform,
                                                    b->h->ud, b->err)
                                       : berr_setx(b->err, ENOENT,
                                                   "No such image: %s", name);
                        if (r < 0)
                                return r;
                        r = image_resolve(b->s, name, &id, b->err);
                        if (r < 0)
                                return r;
                }
        }
        static unsigned seq;
        _cleanup_free_ char *where = str_printf("%s/from-%u", b->tmp, seq++);
        if (!where)
                return -ENOMEM;
        r = mount_image(b, id, where, ret_fd);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

static bool is_url(const char *s) {
        return str_startswith(s, "http://") || str_startswith(s, "https://");
}

static int do_copy(struct bx *b, struct stage_run *st,
                   const struct df_instr *in, size_t stage_index) {
        bool add = in->kind == DF_ADD;
        const char *kw = add ? "ADD" : "COPY";
        size_t nargs = in->n_args;
        if (nargs < 2)
                return berr_setx(b->err, EINVAL,
                                 "%s requires at least two "
                                 "arguments, but got %zu",
                                 kw, nargs);
        const char *from = flag_value(in, "from");
        if (from && add)
                return berr_setx(b->err, EINVAL,
                                 "ADD does not take --from; use COPY");
        int mode = -1;
        const char *chmod = flag_value(in, "chmod");
        if (chmod) {
                char *end;
                long m = strtol(chmod, &end, 8);
                if (!*chmod || *end || m < 0 || m > 07777)
                        return berr_setx(b->err, EINVAL,
                                         "invalid --chmod=%s: not an octal "
                                         "mode",
                                         chmod);
                mode = (int) m;
        }
        _cleanup_free_ char *chown_s = NULL;
        const char *chown = flag_value(in, "chown");
        if (chown) {
                int r = expand(b, st, chown, &chown_s);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *dest_w = NULL;
        int r = expand(b, st, in->args[nargs - 1], &dest_w);
        if (r < 0)
                return r;
        const char *wd =
                json_string_value(json_object_get(st->cfg, "WorkingDir"));
        struct copy_job j = {.add = add,
                             .mode = mode,
                             .chown = chown_s,
                             .from = from != NULL};
        r = build_dest_path(wd && *wd ? wd : "/", dest_w, &j.dest, &j.dest_dir,
                            b->err);
        if (r < 0)
                return r;
        int srcroot = b->ctxfd;
        _cleanup_close_ int fromfd = -1;
        _cleanup_free_ char *from_id = NULL;
        if (from) {
                r = from_root(b, st, from, stage_index, &fromfd, &from_id);
                if (r < 0)
                        goto out;
                srcroot = fromfd;
        }
        /* The sources, their content into the key. */
        struct digest *d = digest_new();
        if (!d) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i + 1 < nargs && r >= 0; i++) {
                const char *a = in->args[i];
                if (str_startswith(a, "<<")) {
                        /* A heredoc: a file of that name. */
                        const char *nm = a + 2 + (a[2] == '-');
                        const struct df_heredoc *hd = NULL;
                        for (size_t k = 0; k < in->n_heredocs; k++)
                                if (strstr(nm, in->heredocs[k].name))
                                        hd = &in->heredocs[k];
                        if (!hd) {
                                r = berr_setx(b->err, EINVAL,
                                              "%s: no heredoc for '%s'", kw, a);
                                break;
                        }
                        _cleanup_free_ char *dir =
                                str_printf("%s/heredoc-%zu", b->tmp, i);
                        _cleanup_free_ char *content = NULL;
                        if (hd->expand)
                                r = expand(b, st, hd->content, &content);
                        else
                                content = strdup(hd->content);
                        if (r < 0 || !dir || !content) {
                                r = r < 0 ? r : -ENOMEM;
                                break;
                        }
                        mkdir(dir, 0700);
                        int hfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (hfd < 0 || write_file_atomic_at(
                                               hfd, hd->name, content,
                                               strlen(content), 0644, 0) < 0) {
                                r = berr_set(b->err, errno, "%s: heredoc '%s'",
                                             kw, hd->name);
                                if (hfd >= 0)
                                        close(hfd);
                                break;
                        }
                        digest_update(d, content, strlen(content));
                        struct copy_src *ns =
                                realloc(j.srcs, (j.n + 1) * sizeof(*j.srcs));
                        if (!ns) {
                                close(hfd);
                                r = -ENOMEM;
                                break;
                        }
                        j.srcs = ns;
                        j.srcs[j.n++] =
                                (struct copy_src){hfd, strdup(hd->name), false};
                        continue;
                }
                _cleanup_free_ char *w = NULL;
                r = expand(b, st, a, &w);
                if (r < 0)
                        break;
                if (add && is_url(w)) {
                        r = berr_setx(b->err, ENOTSUP,
                                      "ADD %s: downloading from URLs is not "
                                      "supported yet",
                                      w);
                        break;
                }
                _cleanup_free_ char *clean = NULL;
                r = build_context_path(w, &clean, b->err);
                if (r < 0)
                        break;
                char **matches = NULL;
                r = fs_glob(srcroot, clean, &matches, b->err);
                if (r < 0)
                        break;
                if (!matches || !matches[0]) {
                        strv_free(matches);
                        r = berr_setx(b->err, ENOENT,
                                      "%s failed: no source files were "
                                      "specified",
                                      kw);
                        break;
                }
                for (size_t m = 0; matches[m] && r >= 0; m++) {
                        r = fs_hash(srcroot, matches[m], from != NULL, d,
                                    b->err);
                        if (r < 0)
                                break;
                        struct copy_src *ns =
                                realloc(j.srcs, (j.n + 1) * sizeof(*j.srcs));
                        if (!ns) {
                                r = -ENOMEM;
                                break;
                        }
                        j.srcs = ns;
                        j.srcs[j.n++] = (struct copy_src){
                                srcroot, strdup(matches[m]), from == NULL};
                }
                strv_free(matches);
        }
        char dig[72];
        digest_final(d, dig);
        if (r < 0)
                goto out;
        if (j.n > 1 && !j.dest_dir) {
                r = berr_setx(b->err, EINVAL,
                              "When using %s with more than one source file, "
                              "the destination must be a directory and end "
                              "with a /",
                              kw);
                goto out;
        }
        {
                const char *kind = j.n > 1 ? "multi" : "file";
                if (j.n == 1 && fs_is_dir(j.srcs[0].rootfd, j.srcs[0].path))
                        kind = "dir";
                _cleanup_free_ char *text = str_printf("%s %s:%s in %s ", kw,
                                                       kind, dig + 7, dest_w);
                _cleanup_free_ char *cb =
                        text ? nop_comment(st, text, false) : NULL;
                _cleanup_free_ char *what =
                        cb ? str_printf("%s\nchown=%s chmod=%d from=%s", cb,
                                        chown_s ? chown_s : "", mode,
                                        from_id ? from_id : "")
                           : NULL;
                if (!what) {
                        r = -ENOMEM;
                        goto out;
                }
                char key[65];
                cache_key(st->id, what, key);
                if (!cache_hit(b, st, key))
                        r = on_rootfs(b, st, key, cb, copy_fn, &j);
        }
out:
        for (size_t i = 0; i < j.n; i++) {
                if (j.srcs[i].rootfd != b->ctxfd && j.srcs[i].rootfd != fromfd)
                        close(j.srcs[i].rootfd);
                free(j.srcs[i].path);
        }
        free(j.srcs);
        free(j.dest);
        if (fromfd >= 0) {
                close(fromfd);
                fromfd = -1;
        }
        return r;
}

/* ---- RUN ---- */

struct mux {
        struct bx *b;
        unsigned char hdr[8];
        size_t have;   /* header bytes so far */
        size_t remain; /* payload bytes left in the frame */
};

/* docker's multiplexed log stream: 8-byte headers, payloads. */
static int on_log(const char *data, size_t len, void *ud) {
        struct mux *m = ud;
        while (len > 0) {
                if (m->remain == 0) {
                        size_t take = 8 - m->have < len ? 8 - m->have : len;
                        memcpy(m->hdr + m->have, data, take);
                        m->have += take;
                        data += take;
                        len -= take;
                        if (m->have == 8) {
                                m->remain = (size_t) m->hdr[4] << 24 |
                                            (size_t) m->hdr[5] << 16 |
                                            (size_t) m->hdr[6] << 8 |
                                            (size_t) m->hdr[7];
                                m->have = 0;
                        }
                        continue;
                }
                size_t take = m->remain < len ? m->remain : len;
                emit_raw(m->b, data, take);
                m->remain -= take;
                data += take;
                len -= take;
        }
        return 0;
}

static int do_run(struct bx *b, struct stage_run *st,
                  const struct df_instr *in) {
        json_t *cmd;
        if (in->json) {
                cmd = json_array();
                for (size_t i = 0; i < in->n_args; i++)
                        json_array_append_new(cmd, json_string(in->args[i]));
        } else {
                cmd = shell_of(st);
                char *line = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&line, &len);
                const char *text = in->n_args ? in->args[0] : "";
                /* "RUN <<EOF" alone runs the heredoc as the script;
                 * otherwise the heredocs follow the line for the shell. */
                bool only = in->n_heredocs == 1 && str_startswith(text, "<<") &&
                            !strpbrk(text + 2, " \t");
                if (f && only) {
                        fputs(in->heredocs[0].content, f);
                } else if (f) {
                        fputs(text, f);
                        for (size_t i = 0; i < in->n_heredocs; i++)
                                fprintf(f, "\n%s%s", in->heredocs[i].content,
                                        in->heredocs[i].name);
                }
                if (f)
                        fclose(f);
                json_array_append_new(cmd, json_string(line ? line : ""));
                free(line);
        }
        _cleanup_strv_free_ char **hargs = args_in_effect(b, st, true);
        _cleanup_strv_free_ char **eargs = args_in_effect(b, st, false);
        _cleanup_free_ char *joined = join_array(cmd, " ");
        char *cb = NULL;
        size_t cblen = 0;
        FILE *f = open_memstream(&cb, &cblen);
        size_t nh = 0;
        while (hargs && hargs[nh])
                nh++;
        if (f) {
                if (nh) {
                        fprintf(f, "|%zu", nh);
                        for (size_t i = 0; i < nh; i++)
                                fprintf(f, " %s", hargs[i]);
                        fputc(' ', f);
                }
                fputs(joined ? joined : "", f);
                fclose(f);
        }
        _cleanup_free_ char *created_by = cb;
        _cleanup_free_ char *cfgs =
                json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *what =
                created_by && cfgs ? str_printf("RUN %s\n%s", created_by, cfgs)
                                   : NULL;
        if (!what) {
                json_decref(cmd);
                return -ENOMEM;
        }
        char key[65];
        cache_key(st->id, what, key);
        if (cache_hit(b, st, key)) {
                json_decref(cmd);
                return 0;
        }
        if (!st->id) {
                json_decref(cmd);
                return berr_setx(b->err, EINVAL,
                                 "RUN on an empty scratch image: there is no "
                                 "program to run");
        }
        if (!b->eng) {
                int r = engine_open(b->o->socket, &b->eng, b->err);
                if (r < 0) {
                        json_decref(cmd);
                        return r;
                }
        }
        json_t *env = json_array();
        for (size_t i = 0; eargs && eargs[i]; i++)
                json_array_append_new(env, json_string(eargs[i]));
        json_t *body = json_pack(
                "{s:s, s:o, s:[], s:o, s:b, s:b, s:{s:[s]}, s:{s:s, s:[]}}",
                "Image", st->id, "Cmd", cmd, "Entrypoint", "Env", env,
                "AttachStdout", true, "AttachStderr", true, "Healthcheck",
                "Test", "NONE", "HostConfig", "NetworkMode",
                b->o->network && *b->o->network ? b->o->network : "default",
                "Binds");
        _cleanup_free_ char *bs = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_t *res = NULL;
        int r = bs ? engine_call(b->eng, "POST", "/containers/create", bs, &res,
                                 b->err)
                   : -ENOMEM;
        if (r < 0)
                return berr_prefix(b->err, r, "create the RUN container");
        _cleanup_free_ char *cid =
                strdup(json_string_value(json_object_get(res, "Id")) ?: "");
        json_decref(res);
        if (!cid || !*cid)
                return berr_setx(b->err, EIO,
                                 "create the RUN container: no id");
        char sid[13];
        emit_stream(b, " ---> Running in %s\n", short_id(cid, sid));
        _cleanup_free_ char *p_start = str_printf("/containers/%s/start", cid);
        _cleanup_free_ char *p_logs = str_printf(
                "/containers/%s/logs?follow=1&stdout=1&stderr=1", cid);
        _cleanup_free_ char *p_wait = str_printf("/containers/%s/wait", cid);
        _cleanup_free_ char *p_json = str_printf("/containers/%s/json", cid);
        _cleanup_free_ char *p_rm =
                str_printf("/containers/%s?force=1&v=1", cid);
        if (!p_start || !p_logs || !p_wait || !p_json || !p_rm)
                return -ENOMEM;
        r = engine_call(b->eng, "POST", p_start, NULL, NULL, b->err);
        struct mux m = {.b = b};
        if (r >= 0)
                r = engine_stream(b->eng, p_logs, on_log, &m, b->h->cancel,
                                  b->err);
        json_t *w = NULL;
        if (r >= 0)
                r = engine_call(b->eng, "POST", p_wait, NULL, &w, b->err);
        int code = (int) json_integer_value(json_object_get(w, "StatusCode"));
        json_decref(w);
        if (r >= 0 && code != 0) {
                b->h->run_status = code;
                r = berr_setx(b->err, EIO,
                              "The command '%s' returned a non-zero code: %d",
                              joined ? joined : "", code);
        }
        json_t *insp = NULL;
        if (r >= 0)
                r = engine_call(b->eng, "GET", p_json, NULL, &insp, b->err);
        if (r >= 0) {
                const char *upper = json_string_value(json_object_get(
                        json_object_get(json_object_get(insp, "GraphDriver"),
                                        "Data"),
                        "UpperDir"));
                int ufd =
                        upper ? open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                              : -1;
                if (ufd < 0)
                        r = berr_set(b->err, upper ? errno : EIO,
                                     "open the RUN container's upper dir "
                                     "'%s'",
                                     upper ? upper : "?");
                else {
                        emit_stream(b, "Removing intermediate container %s\n",
                                    sid);
                        r = commit(b, st, key, created_by, ufd, mount_points);
                        close(ufd);
                }
        }
        json_decref(insp);
        /* Whatever happened, the container goes (a second error must not
         * hide the first). */
        struct berr e2 = {0};
        engine_call(b->eng, "DELETE", p_rm, NULL, NULL, &e2);
        if (r < 0 && code != 0 && !b->o->quiet)
                emit_stream(b, "Removing intermediate container %s\n", sid);
        return r;
}

/* ---- config-only instructions ---- */

static json_t *obj_field(json_t *cfg, const char *k) {
        json_t *o = json_object_get(cfg, k);
        if (!json_is_object(o)) {
                o = json_object();
                json_object_set_new(cfg, k, o);
        }
        return o;
}

static json_t *exec_or_shell(struct stage_run *st, const struct df_instr *in) {
        json_t *a = json_array();
        if (in->json) {
                for (size_t i = 0; i < in->n_args; i++)
                        json_array_append_new(a, json_string(in->args[i]));
                return a;
        }
        json_decref(a);
        a = shell_of(st);
        json_array_append_new(a, json_string(in->n_args ? in->args[0] : ""));
        return a;
}

static int parse_duration(const char *s, int64_t *ret) {
        /* Go durations: 30s, 1m30s, 500ms, 1h. */
        int64_t total = 0;
        if (!s || !*s)
                return -EINVAL;
        while (*s) {
                char *end;
                double v = strtod(s, &end);
                if (end == s)
                        return -EINVAL;
                int64_t unit;
                if (str_startswith(end, "ns"))
                        unit = 1, end += 2;
                else if (str_startswith(end, "us"))
                        unit = 1000, end += 2;
                else if (str_startswith(end, "ms"))
                        unit = 1000000, end += 2;
                else if (*end == 's')
                        unit = 1000000000LL, end++;
                else if (*end == 'm')
                        unit = 60000000000LL, end++;
                else if (*end == 'h')
                        unit = 3600000000000LL, end++;
                else
                        return -EINVAL;
                total += (int64_t) (v * (double) unit);
                s = end;
        }
        *ret = total;
        return 0;
}

/* Go's time.Duration String() for whole milliseconds and more. */
static void go_duration(int64_t ns, char out[32]) {
        if (ns == 0) {
                snprintf(out, 32, "0s");
        } else if (ns < 1000000000LL) {
                snprintf(out, 32, "%lldms", (long long) (ns / 1000000));
        } else {
                long long s = ns / 1000000000LL, h = s / 3600, m = s / 60 % 60;
                long long ms = ns / 1000000 % 1000;
                char sec[16];
                if (ms)
                        snprintf(sec, sizeof(sec), "%lld.%03llds", s % 60, ms);
                else
                        snprintf(sec, sizeof(sec), "%llds", s % 60);
                if (h)
                        snprintf(out, 32, "%lldh%lldm%s", h, m, sec);
                else if (m)
                        snprintf(out, 32, "%lldm%s", m, sec);
                else
                        snprintf(out, 32, "%s", sec);
        }
}

static int do_healthcheck(struct bx *b, struct stage_run *st,
                          const struct df_instr *in, char **ret_text) {
        json_t *hc = json_object();
        if (in->none || !in->inner) {
                json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
        } else {
                const struct df_instr *c = in->inner;
                json_t *t = json_array();
                json_array_append_new(
                        t, json_string(c->json ? "CMD" : "CMD-SHELL"));
                for (size_t i = 0; i < c->n_args; i++)
                        json_array_append_new(t, json_string(c->args[i]));
                json_object_set_new(hc, "Test", t);
                static const char *const durs[][2] = {
                        {"interval", "Interval"},
                        {"timeout", "Timeout"},
                        {"start-period", "StartPeriod"},
                };
                for (size_t i = 0; i < ELEMENTSOF(durs); i++) {
                        const char *v = df_flag(in, durs[i][0], NULL);
                        int64_t ns;
                        if (!v)
                                continue;
                        if (parse_duration(v, &ns) < 0 || ns < 0) {
                                json_decref(hc);
                                return berr_setx(b->err, EINVAL,
                                                 "HEALTHCHECK --%s=%s: not a "
                                                 "duration",
                                                 durs[i][0], v);
                        }
                        json_object_set_new(hc, durs[i][1], json_integer(ns));
                }
                const char *rv = df_flag(in, "retries", NULL);
                int retries;
                if (rv) {
                        if (parse_int(rv, &retries) < 0 || retries < 0) {
                                json_decref(hc);
                                return berr_setx(b->err, EINVAL,
                                                 "HEALTHCHECK --retries=%s: "
                                                 "not a number",
                                                 rv);
                        }
                        json_object_set_new(hc, "Retries",
                                            json_integer(retries));
                }
        }
        _cleanup_free_ char *test = go_quote_array(json_object_get(hc, "Test"));
        char iv[32], to[32], sp[32], rt[16];
        go_duration(json_integer_value(json_object_get(hc, "Interval")), iv);
        go_duration(json_integer_value(json_object_get(hc, "Timeout")), to);
        go_duration(json_integer_value(json_object_get(hc, "StartPeriod")), sp);
        json_int_t n = json_integer_value(json_object_get(hc, "Retries"));
        if (n >= 0x20 && n < 0x7f && n != '\'' && n != '\\')
                snprintf(rt, sizeof(rt), "%c", (char) n);
        else
                snprintf(rt, sizeof(rt), "\\x%02x", (unsigned) n & 0xff);
        json_object_set_new(st->cfg, "Healthcheck", hc);
        /* moby's %q of its HealthConfig struct. */
        *ret_text = str_printf("HEALTHCHECK &{%s \"%s\" \"%s\" \"%s\" '%s'}",
                               test ? test : "", iv, to, sp, rt);
        return *ret_text ? 0 : -ENOMEM;
}

/* The pairs of ENV or LABEL, expanded: "K=V K2=V2" for history. */
static int do_pairs(struct bx *b, struct stage_run *st,
                    const struct df_instr *in, char **ret_text) {
        bool env = in->kind == DF_ENV;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs(env ? "ENV" : "LABEL", f);
        int r = 0;
        for (size_t i = 0; i + 1 < in->n_args && r >= 0; i += 2) {
                _cleanup_free_ char *k = NULL, *v = NULL;
                r = expand(b, st, in->args[i], &k);
                if (r >= 0)
                        r = expand(b, st, in->args[i + 1], &v);
                if (r < 0)
                        break;
                if (!*k) {
                        r = berr_setx(b->err, EINVAL,
                                      "%s names must not be empty",
                                      env ? "ENV" : "LABEL");
                        break;
                }
                if (env)
                        env_set(st->cfg, k, v);
                else
                        json_object_set_new(obj_field(st->cfg, "Labels"), k,
                                            json_string(v));
                fprintf(f, " %s=%s", k, v);
        }
        fclose(f);
        if (r < 0) {
                free(text);
                return r;
        }
        *ret_text = text;
        return 0;
}

static int do_arg(struct bx *b, struct stage_run *st, const struct df_instr *in,
                  char **ret_text) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("ARG", f);
        int r = 0;
        for (size_t i = 0; i < in->n_args && r >= 0; i++) {
                const char *a = in->args[i];
                const char *eq = strchr(a, '=');
                _cleanup_free_ char *name =
                        eq ? strndup(a, (size_t) (eq - a)) : strdup(a);
                _cleanup_free_ char *def = NULL;
                if (!name) {
                        r = -ENOMEM;
                        break;
                }
                if (eq) {
                        r = expand(b, st, eq + 1, &def);
                        if (r < 0)
                                break;
                }
                const char *given = build_kv_get(b->o->build_args, name);
                const char *global = build_kv_get(b->plan->global_args, name);
                const char *val = given ? given : def ? def : global;
                if (given && !kv_has(b->used_args, name))
                        strv_push(&b->used_args, name);
                r = kv_set(&st->args, name, val);
                fprintf(f, " %s%s%s", name, def ? "=" : "", def ? def : "");
        }
        fclose(f);
        if (r < 0) {
                free(text);
                return r;
        }
        *ret_text = text;
        return 0;
}

static int step_config(struct bx *b, struct stage_run *st,
                       const struct df_instr *in) {
        _cleanup_free_ char *text = NULL;
        bool two = true;
        int r = 0;
        switch (in->kind) {
        case DF_CMD: {
                json_t *a = exec_or_shell(st, in);
                json_object_set_new(st->cfg, "Cmd", a);
                st->cmd_set = true;
                _cleanup_free_ char *q = go_quote_array(a);
                text = str_printf("CMD %s", q ? q : "[]");
                break;
        }
        case DF_ENTRYPOINT: {
                json_t *a = exec_or_shell(st, in);
                json_object_set_new(st->cfg, "Entrypoint", a);
                if (!st->cmd_set)
                        json_object_set_new(st->cfg, "Cmd", json_null());
                _cleanup_free_ char *q = go_quote_array(a);
                text = str_printf("ENTRYPOINT %s", q ? q : "[]");
                break;
        }
        case DF_ENV:
        case DF_LABEL:
                r = do_pairs(b, st, in, &text);
                break;
        case DF_ARG:
                r = do_arg(b, st, in, &text);
                break;
        case DF_EXPOSE: {
                json_t *ports = obj_field(st->cfg, "ExposedPorts");
                char *t = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&t, &len);
                if (!f)
                        return -ENOMEM;
                fputs("EXPOSE", f);
                /* moby's history: the words as written, sorted. */
                char **words = NULL;
                for (size_t i = 0; i < in->n_args && r >= 0; i++) {
                        _cleanup_free_ char *w = NULL;
                        r = expand(b, st, in->args[i], &w);
                        if (r < 0)
                                break;
                        strv_push(&words, w);
                        char *slash = strchr(w, '/');
                        const char *proto = slash ? slash + 1 : "tcp";
                        if (slash)
                                *slash = '\0';
                        unsigned lo, hi;
                        char extra;
                        int n = sscanf(w, "%u-%u%c", &lo, &hi, &extra);
                        if (n == 1)
                                hi = lo;
                        if ((n != 1 && n != 2) || lo == 0 || hi > 65535 ||
                            hi < lo ||
                            (strcasecmp(proto, "tcp") &&
                             strcasecmp(proto, "udp") &&
                             strcasecmp(proto, "sctp"))) {
                                r = berr_setx(b->err, EINVAL,
                                              "invalid containerPort: %s", w);
                                break;
                        }
                        for (unsigned p = lo; p <= hi; p++) {
                                char k[32];
                                snprintf(k, sizeof(k), "%u/%s", p, proto);
                                for (char *c = k; *c; c++)
                                        *c = (char) tolower((unsigned char) *c);
                                json_object_set_new(ports, k, json_object());
                        }
                }
                strv_sort(words);
                for (size_t i = 0; words && words[i]; i++)
                        fprintf(f, " %s", words[i]);
                strv_free(words);
                fclose(f);
                text = t;
                break;
        }
        case DF_USER: {
                _cleanup_free_ char *u = NULL;
                r = in->n_args == 1 ? expand(b, st, in->args[0], &u)
                                    : berr_setx(b->err, EINVAL,
                                                "USER requires exactly one "
                                                "argument");
                if (r >= 0) {
                        json_object_set_new(st->cfg, "User", json_string(u));
                        text = str_printf("USER %s", u);
                }
                break;
        }
        case DF_VOLUME: {
                json_t *vols = obj_field(st->cfg, "Volumes");
                char *t = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&t, &len);
                if (!f)
                        return -ENOMEM;
                fputs("VOLUME [", f);
                for (size_t i = 0; i < in->n_args && r >= 0; i++) {
                        _cleanup_free_ char *w = NULL;
                        r = expand(b, st, in->args[i], &w);
                        if (r >= 0 && !*w)
                                r = berr_setx(b->err, EINVAL,
                                              "VOLUME specified can not be an "
                                              "empty string");
                        if (r < 0)
                                break;
                        json_object_set_new(vols, w, json_object());
                        fprintf(f, "%s%s", i ? " " : "", w);
                }
                fputc(']', f);
                fclose(f);
                text = t;
                break;
        }
        case DF_STOPSIGNAL: {
                _cleanup_free_ char *sgn = NULL;
                r = in->n_args == 1 ? expand(b, st, in->args[0], &sgn)
                                    : berr_setx(b->err, EINVAL,
                                                "STOPSIGNAL requires exactly "
                                                "one argument");
                if (r >= 0) {
                        json_object_set_new(st->cfg, "StopSignal",
                                            json_string(sgn));
                        text = str_printf("STOPSIGNAL %s", sgn);
                }
                break;
        }
        case DF_HEALTHCHECK:
                r = do_healthcheck(b, st, in, &text);
                break;
        case DF_SHELL: {
                if (!in->json || in->n_args == 0)
                        return berr_setx(b->err, EINVAL,
                                         "SHELL requires the arguments to be "
                                         "in JSON form");
                json_t *a = json_array();
                for (size_t i = 0; i < in->n_args; i++)
                        json_array_append_new(a, json_string(in->args[i]));
                json_object_set_new(st->cfg, "Shell", a);
                _cleanup_free_ char *j = join_array(a, " ");
                text = str_printf("SHELL [%s]", j ? j : "");
                break;
        }
        case DF_ONBUILD: {
                const char *o = in->original;
                /* The trigger: what follows the keyword, as written. */
                while (*o && !isspace((unsigned char) *o))
                        o++;
                while (isspace((unsigned char) *o))
                        o++;
                json_t *ob = json_object_get(st->cfg, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(st->cfg, "OnBuild", ob);
                }
                json_array_append_new(ob, json_string(o));
                text = str_printf("ONBUILD %s", o);
                break;
        }
        case DF_MAINTAINER:
                text = str_printf("MAINTAINER %s",
                                  in->n_args ? in->args[0] : "");
                break;
        default:
                return berr_setx(b->err, EINVAL, "unexpected instruction %s",
                                 df_kind_name(in->kind));
        }
        if (r < 0)
                return r;
        if (!text)
                return -ENOMEM;
        return config_step(b, st, nop_comment(st, text, two));
}

/* ---- stages ---- */

static int run_instr(struct bx *b, struct stage_run *st,
                     const struct df_instr *in, size_t stage_index);

/* FROM: the base (an image, pulled when missing or with --pull; an
 * earlier stage; scratch), then its ONBUILD triggers. */
static int begin_stage(struct bx *b, struct stage_run *st,
                       const struct build_stage *bs) {
        int r = 0;
        if (bs->base_stage >= 0) {
                r = adopt(b, st, b->stage_ids[bs->base_stage]);
        } else if (!strcasecmp(bs->base, "scratch")) {
                st->cfg = json_object();
        } else {
                _cleanup_free_ char *id = NULL;
                struct berr e2 = {0};
                bool have = image_resolve(b->s, bs->base, &id, &e2) >= 0;
                if ((!have || b->o->pull) && b->h->pull) {
                        r = b->h->pull(bs->base,
                                       bs->platform ? bs->platform
                                                    : b->o->platform,
                                       b->h->ud, b->err);
                        if (r < 0 && have && b->o->pull)
                                r = 0; /* keep the local one */
                        free(id);
                        id = NULL;
                        if (r >= 0)
                                r = image_resolve(b->s, bs->base, &id, b->err);
                } else if (!have) {
                        r = berr_setx(b->err, ENOENT, "No such image: %s",
                                      bs->base);
                }
                if (r >= 0)
                        r = adopt(b, st, id);
        }
        if (r < 0)
                return r;
        json_t *env = json_object_get(st->cfg, "Env");
        if (!env_get(env, "PATH"))
                env_set(st->cfg, "PATH", DEFAULT_PATH);
        char sid[13];
        if (st->id)
                emit_stream(b, " ---> %s\n", short_id(st->id, sid));
        else
                emit_stream(b, " ---> \n");
        json_t *ob = json_incref(json_object_get(st->cfg, "OnBuild"));
        json_object_set_new(st->cfg, "OnBuild", json_null());
        size_t n = json_array_size(ob);
        if (n > 0)
                emit_stream(b, "# Executing %zu build trigger%s\n", n,
                            n == 1 ? "" : "s");
        for (size_t i = 0; i < n && r >= 0; i++) {
                const char *t = json_string_value(json_array_get(ob, i));
                struct dockerfile *tdf = NULL;
                r = t ? dockerfile_parse(t, strlen(t), &tdf, b->err) : -EINVAL;
                for (size_t k = 0; r >= 0 && tdf && k < tdf->n; k++) {
                        if (tdf->instrs[k].kind == DF_ONBUILD ||
                            tdf->instrs[k].kind == DF_FROM ||
                            tdf->instrs[k].kind == DF_MAINTAINER)
                                r = berr_setx(
                                        b->err, EINVAL,
                                        "%s isn't allowed as an ONBUILD "
                                        "trigger",
                                        df_kind_name(tdf->instrs[k].kind));
                        else
                                r = run_instr(b, st, &tdf->instrs[k],
                                              bs->index);
                }
                dockerfile_free(tdf);
        }
        json_decref(ob);
        return r;
}

static int run_instr(struct bx *b, struct stage_run *st,
                     const struct df_instr *in, size_t stage_index) {
        if (b->h->cancel && *b->h->cancel)
                return berr_setx(b->err, ECANCELED, "the build was cancelled");
        switch (in->kind) {
        case DF_RUN:
                return do_run(b, st, in);
        case DF_COPY:
        case DF_ADD:
                return do_copy(b, st, in, stage_index);
        case DF_WORKDIR:
                return do_workdir(b, st, in);
        default:
                return step_config(b, st, in);
        }
}

static size_t count_steps(struct bx *b) {
        size_t n = 0;
        for (size_t i = 0; i < b->plan->n; i++)
                if (b->plan->stages[i].needed)
                        n += 1 + b->plan->stages[i].last -
                             b->plan->stages[i].first;
        return n + (b->o->labels && b->o->labels[0] ? 1 : 0);
}

static int build_stage(struct bx *b, const struct build_stage *bs,
                       char **ret_id) {
        struct stage_run st = {0};
        const struct df_instr *from = &b->df->instrs[bs->first - 1];
        emit_stream(b, "Step %zu/%zu : %s\n", ++b->step, b->steps,
                    from->original);
        /* The global ARGs a stage may declare again start with their
         * values there. */
        int r = begin_stage(b, &st, bs);
        if (r < 0)
                berr_prefix(b->err, r, "Dockerfile:%d", from->line);
        for (size_t i = bs->first; r >= 0 && i < bs->last; i++) {
                const struct df_instr *in = &b->df->instrs[i];
                emit_stream(b, "Step %zu/%zu : %s\n", ++b->step, b->steps,
                            in->original);
                r = run_instr(b, &st, in, bs->index);
                if (r < 0 && !strstr(berr_message(b->err, r),
                                     "returned a non-zero code"))
                        berr_prefix(b->err, r, "Dockerfile:%d", in->line);
        }
        if (r >= 0 && bs->index == b->plan->target && b->o->labels &&
            b->o->labels[0]) {
                /* --label: one more LABEL step on the target, as moby
                 * adds it. */
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (f) {
                        fputs("LABEL", f);
                        for (size_t i = 0; b->o->labels[i]; i++) {
                                const char *kv = b->o->labels[i];
                                const char *eq = strchr(kv, '=');
                                _cleanup_free_ char *k =
                                        eq ? strndup(kv, (size_t) (eq - kv))
                                           : strdup(kv);
                                if (!k)
                                        continue;
                                json_object_set_new(
                                        obj_field(st.cfg, "Labels"), k,
                                        json_string(eq ? eq + 1 : ""));
                                fprintf(f, " %s", kv);
                        }
                        fclose(f);
                }
                emit_stream(b, "Step %zu/%zu : %s\n", ++b->step, b->steps,
                            text ? text : "LABEL");
                r = text ? config_step(b, &st, nop_comment(&st, text, true))
                         : -ENOMEM;
                free(text);
        }
        if (r >= 0 && !st.id) {
                r = berr_setx(b->err, EINVAL,
                              "No image was generated. Is your Dockerfile "
                              "empty?");
        }
        if (r >= 0)
                *ret_id = TAKE_PTR(st.id);
        free(st.id);
        json_decref(st.cfg);
        strv_free(st.args);
        return r;
}

/* ---- the whole build ---- */

static int read_dockerfile(struct bx *b, char **ret, size_t *ret_len) {
        const char *name = b->o->dockerfile && *b->o->dockerfile
                                   ? b->o->dockerfile
                                   : "Dockerfile";
        _cleanup_free_ char *clean = NULL;
        int r = build_context_path(name, &clean, b->err);
        if (r < 0)
                return r;
        struct stat st;
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, b->ctxfd, clean, &how, sizeof(how));
        if (fd < 0 && errno == ENOENT && !b->o->dockerfile)
                fd = (int) syscall(SYS_openat2, b->ctxfd, "dockerfile", &how,
                                   sizeof(how));
        if (fd < 0)
                return berr_set(b->err, errno,
                                "Cannot locate specified Dockerfile: %s", name);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return berr_setx(b->err, EINVAL,
                                 "Cannot locate specified Dockerfile: %s "
                                 "(not a file)",
                                 name);
        }
        r = read_fd_all(fd, 16 << 20, ret, ret_len);
        close(fd);
        return r < 0 ? berr_set(b->err, r, "read the Dockerfile %s", name) : 0;
}

/* Unmount whatever this process mounted under `dir` (the stages' and
 * images' rootfs that COPY --from read), the last mounted first. */
static void umount_below(const char *dir) {
        FILE *f = fopen("/proc/self/mounts", "re");
        char **points = NULL;
        size_t n = 0, dl = strlen(dir);
        char line[8192];
        while (f && fgets(line, sizeof(line), f)) {
                char *sp = strchr(line, ' ');
                char *mp = sp ? sp + 1 : NULL;
                char *end = mp ? strchr(mp, ' ') : NULL;
                if (!end)
                        continue;
                *end = '\0';
                if (!strncmp(mp, dir, dl) && (mp[dl] == '/' || !mp[dl]) &&
                    strv_push(&points, mp) >= 0)
                        n++;
        }
        if (f)
                fclose(f);
        while (n > 0)
                umount2(points[--n], MNT_DETACH);
        strv_free(points);
}

int build_execute(struct image_store *s, const struct build_opts *o,
                  struct build_hooks *h, char **ret_id, struct berr *err) {
        struct bx b = {.s = s, .o = o, .h = h, .ctxfd = -1, .err = err};
        /* Tags are checked before anything is built. */
        for (size_t i = 0; o->tags && o->tags[i]; i++) {
                char *full = NULL;
                int r = reference_normalize(o->tags[i], &full, err);
                free(full);
                if (r < 0)
                        return berr_prefix(err, r, "invalid tag \"%s\"",
                                           o->tags[i]);
                if (strchr(o->tags[i], '@'))
                        return berr_setx(err, EINVAL,
                                         "invalid tag \"%s\": a digest is "
                                         "not a tag",
                                         o->tags[i]);
        }
        b.ctxfd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b.ctxfd < 0)
                return berr_set(err, errno, "open the build context '%s'",
                                o->context);
        char *text = NULL;
        size_t len = 0;
        int r = read_dockerfile(&b, &text, &len);
        if (r >= 0)
                r = dockerfile_parse(text, len, &b.df, err);
        free(text);
        if (r >= 0)
                r = build_plan_make(b.df, o->build_args, o->target, &b.plan,
                                    err);
        if (r >= 0)
                r = image_tmpdir(s, "build", &b.tmp, err);
        if (r >= 0) {
                b.empty = str_printf("%s/empty", b.tmp);
                if (!b.empty || mkdir(b.empty, 0755) < 0)
                        r = berr_set(err, b.empty ? errno : ENOMEM,
                                     "create '%s/empty'", b.tmp);
        }
        if (r >= 0) {
                b.esc = b.df->escape;
                b.stage_ids = calloc(b.plan->n, sizeof(*b.stage_ids));
                if (!b.stage_ids)
                        r = -ENOMEM;
                b.steps = count_steps(&b);
        }
        for (size_t i = 0; r >= 0 && i < b.plan->n; i++) {
                if (!b.plan->stages[i].needed)
                        continue;
                r = build_stage(&b, &b.plan->stages[i], &b.stage_ids[i]);
                if (i == b.plan->target)
                        break;
        }
        char *id = NULL;
        if (r >= 0) {
                id = strdup(b.stage_ids[b.plan->target]);
                if (!id)
                        r = -ENOMEM;
        }
        /* Build args nothing declared: moby's warning. */
        if (r >= 0) {
                char *list = NULL;
                size_t ll = 0;
                FILE *f = open_memstream(&list, &ll);
                size_t n = 0;
                for (size_t i = 0; f && o->build_args && o->build_args[i];
                     i++) {
                        const char *kv = o->build_args[i];
                        _cleanup_free_ char *k = strndup(kv, strcspn(kv, "="));
                        bool proxy = false;
                        for (size_t p = 0; k && p < ELEMENTSOF(proxy_args); p++)
                                proxy |= !strcmp(k, proxy_args[p]);
                        if (!k || proxy || kv_has(b.used_args, k) ||
                            kv_has(b.plan->global_args, k))
                                continue;
                        fprintf(f, "%s%s", n++ ? " " : "", k);
                }
                if (f)
                        fclose(f);
                if (n)
                        emit_stream(&b,
                                    "[Warning] One or more build-args [%s] "
                                    "were not consumed\n",
                                    list);
                free(list);
        }
        for (size_t i = 0; r >= 0 && o->tags && o->tags[i]; i++)
                r = image_tag(s, id, o->tags[i], err);
        if (r >= 0) {
                char sid[13];
                h->emit(json_pack("{s:{s:s}}", "aux", "ID", id), h->ud);
                if (o->quiet)
                        h->emit(json_pack("{s:s+}", "stream", id, "\n"), h->ud);
                emit_stream(&b, "Successfully built %s\n", short_id(id, sid));
                for (size_t i = 0; o->tags && o->tags[i]; i++) {
                        char *full = NULL;
                        struct berr e2 = {0};
                        char *fam =
                                reference_normalize(o->tags[i], &full, &e2) >= 0
                                        ? reference_familiar(full)
                                        : NULL;
                        emit_stream(&b, "Successfully tagged %s\n",
                                    fam ? fam : o->tags[i]);
                        free(fam);
                        free(full);
                }
                *ret_id = id;
        } else {
                free(id);
        }
        if (b.tmp) {
                if (b.unshared)
                        umount_below(b.tmp);
                rm_rf_at(AT_FDCWD, b.tmp);
        }
        for (size_t i = 0; b.stage_ids && i < b.plan->n; i++)
                free(b.stage_ids[i]);
        free(b.stage_ids);
        strv_free(b.used_args);
        engine_free(b.eng);
        build_plan_free(b.plan);
        dockerfile_free(b.df);
        free(b.tmp);
        free(b.empty);
        if (b.ctxfd >= 0)
                close(b.ctxfd);
        return r;
}

/* ---- the context ---- */

int build_context_extract(int fd, const char *dir, struct berr *err) {
        struct archive *a = archive_read_new();
        struct archive *w = archive_write_disk_new();
        if (!a || !w) {
                archive_read_free(a);
                archive_write_free(w);
                return -ENOMEM;
        }
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_write_disk_set_options(
                w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                           ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                           ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        /* Owners are not kept (COPY gives 0:0 or --chown; ADD's archives
         * carry their own) and the directory is new (nothing to unlink):
         * fewer calls per entry. */
        int r = 0;
        size_t entries = 0;
        struct archive_entry *e;
        int ar = archive_read_open_fd(a, fd, 1 << 16);
        if (ar != ARCHIVE_OK) {
                r = berr_setx(err, EINVAL, "read the build context: %s",
                              archive_error_string(a));
                goto out;
        }
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *p = archive_entry_pathname(e);
                _cleanup_free_ char *full =
                        str_printf("%s/%s", dir, p ? p : "");
                if (!full) {
                        r = -ENOMEM;
                        break;
                }
                if (!p || *p == '/' || !strcmp(p, "..") ||
                    str_startswith(p, "../") || strstr(p, "/../") ||
                    str_endswith(p, "/..")) {
                        r = berr_setx(err, EPERM,
                                      "build context: entry '%s' leaves the "
                                      "context",
                                      p ? p : "");
                        break;
                }
                const char *hl = archive_entry_hardlink(e);
                if (hl && (*hl == '/' || !strcmp(hl, "..") ||
                           str_startswith(hl, "../") || strstr(hl, "/../") ||
                           str_endswith(hl, "/.."))) {
                        r = berr_setx(err, EPERM,
                                      "build context: hard link '%s' to '%s' "
                                      "leaves the context",
                                      p, hl);
                        break;
                }
                archive_entry_set_pathname(e, full);
                if (hl) {
                        _cleanup_free_ char *hf = str_printf("%s/%s", dir, hl);
                        if (!hf) {
                                r = -ENOMEM;
                                break;
                        }
                        archive_entry_set_hardlink(e, hf);
                }
                bool ok = archive_write_header(w, e) == ARCHIVE_OK;
                const void *buf;
                size_t len;
                la_int64_t off;
                int dr;
                while (ok && archive_entry_size(e) > 0 &&
                       (dr = archive_read_data_block(a, &buf, &len, &off)) ==
                               ARCHIVE_OK)
                        ok = archive_write_data_block(w, buf, len, off) >=
                             ARCHIVE_OK;
                if (ok && archive_write_finish_entry(w) == ARCHIVE_OK) {
                        entries++;
                        continue;
                }
                {
                        r = berr_setx(err, EIO, "build context: '%s': %s", p,
                                      archive_error_string(w));
                        break;
                }
        }
        /* docker's CLI, when it adds a Dockerfile from outside the
         * context, ends the tar right after the last entry's data (no
         * padding, no end blocks); Go's reader takes that as the end,
         * and so do we - only there, after a complete entry. */
        if (r >= 0 && ar == ARCHIVE_FATAL && entries > 0 &&
            strstr(archive_error_string(a) ?: "", "Truncated"))
                ar = ARCHIVE_EOF;
        if (r >= 0 && ar != ARCHIVE_EOF)
                r = berr_setx(err, EINVAL, "read the build context: %s",
                              archive_error_string(a));
out:
        archive_read_free(a);
        archive_write_free(w);
        return r;
}
