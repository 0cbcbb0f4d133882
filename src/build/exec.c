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
#include "exec_internal.h"
#include "expand.h"
#include "fsops.h"
#include "image.h"
#include "paths.h"
#include "plan.h"
#include "util.h"

/* Build args every build knows without an ARG (moby's list); they never
 * show in history or the cache key. */
const char *const bx_proxy_args[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

/* What a RUN container leaves in its upper dir that is not the step's
 * work: mount points the runtime made for files the daemon binds. */
char *const bx_mount_points[] = {
        "etc/hosts",  "etc/hostname", "etc/resolv.conf",
        "etc",        "dev/shm",      "dev/pts",
        "dev/mqueue", "dev/console",  "dev",
        "proc",       "sys",          "run",
        NULL,
};

/* ---- output ---- */

void bx_emit(struct bx *b, const char *fmt, ...) {
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

void bx_emit_raw(struct bx *b, const char *data, size_t len) {
        if (b->o->quiet || len == 0)
                return;
        b->h->emit(json_pack("{s:s%}", "stream", data, len), b->h->ud);
}

const char *bx_short_id(const char *id, char buf[13]) {
        snprintf(buf, 13, "%.12s", str_startswith(id, "sha256:") ? id + 7 : id);
        return buf;
}

/* ---- strings ---- */

bool bx_kv_has(char *const *v, const char *name) {
        size_t nl = strlen(name);
        for (size_t i = 0; v && v[i]; i++)
                if (!strncmp(v[i], name, nl) && (v[i][nl] == '=' || !v[i][nl]))
                        return true;
        return false;
}

/* Set NAME (to "NAME=VALUE", or a bare "NAME" when value is NULL). */
int bx_kv_set(char ***v, const char *name, const char *value) {
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

const char *bx_env_get(json_t *env, const char *name) {
        size_t nl = strlen(name), i;
        json_t *e;
        json_array_foreach(env, i, e) {
                const char *s = json_string_value(e);
                if (s && !strncmp(s, name, nl) && s[nl] == '=')
                        return s + nl + 1;
        }
        return NULL;
}

void bx_env_set(json_t *cfg, const char *name, const char *value) {
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

char *bx_go_quote_array(json_t *a) {
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

char *bx_join_array(json_t *a, const char *sep) {
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

json_t *bx_shell_of(struct stage_run *st) {
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
        const char *e = bx_env_get(json_object_get(v->st->cfg, "Env"), name);
        if (e)
                return e;
        return build_kv_get(v->st->args, name);
}

int bx_expand(struct bx *b, struct stage_run *st, const char *word,
              char **ret) {
        struct vars v = {st, b};
        return expand_word(word, b->esc, lookup_var, &v, ret, b->err);
}

/* The build args in effect for a RUN: declared, with a value, not
 * shadowed by ENV; sorted.  `history` leaves the proxy args out. */
char **bx_args_in_effect(struct bx *b, struct stage_run *st, bool history) {
        char **out = NULL;
        json_t *env = json_object_get(st->cfg, "Env");
        for (size_t i = 0; st->args && st->args[i]; i++) {
                const char *eq = strchr(st->args[i], '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k =
                        strndup(st->args[i], (size_t) (eq - st->args[i]));
                if (k && !bx_env_get(env, k))
                        strv_push(&out, st->args[i]);
        }
        for (size_t p = 0; !history && p < ELEMENTSOF(bx_proxy_args); p++) {
                const char *v =
                        build_kv_get(b->o->build_args, bx_proxy_args[p]);
                if (v && !bx_kv_has(st->args, bx_proxy_args[p])) {
                        _cleanup_free_ char *item =
                                str_printf("%s=%s", bx_proxy_args[p], v);
                        if (item)
                                strv_push(&out, item);
                }
        }
        strv_sort(out);
        return out;
}

/* ---- committing a step ---- */

void bx_cache_key(const char *parent, const char *what, char out[65]) {
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
int bx_adopt(struct bx *b, struct stage_run *st, const char *id) {
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
bool bx_cache_hit(struct bx *b, struct stage_run *st, const char *key) {
        if (b->o->no_cache)
                return false;
        char *id = NULL;
        if (image_cache_get(b->s, key, &id) < 0)
                return false;
        int r = bx_adopt(b, st, id);
        char sid[13];
        if (r >= 0)
                bx_emit(b, " ---> Using cache\n ---> %s\n",
                        bx_short_id(id, sid));
        free(id);
        return r >= 0;
}

int bx_commit(struct bx *b, struct stage_run *st, const char *key,
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
        bx_emit(b, " ---> %s\n", bx_short_id(id, sid));
        return 0;
}

/* "/bin/sh -c #(nop) " + text, moby's comment for a step that runs
 * nothing (`two` gives its double space: "#(nop)  CMD ..."). */
char *bx_nop_comment(struct stage_run *st, const char *text, bool two) {
        json_t *sh = bx_shell_of(st);
        _cleanup_free_ char *shs = bx_join_array(sh, " ");
        json_decref(sh);
        return shs ? str_printf("%s #(nop) %s%s", shs, two ? " " : "", text)
                   : NULL;
}

int bx_config_step(struct bx *b, struct stage_run *st, char *created_by_) {
        _cleanup_free_ char *created_by = created_by_;
        if (!created_by)
                return -ENOMEM;
        _cleanup_free_ char *cfg =
                json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *what =
                cfg ? str_printf("%s\n%s", created_by, cfg) : NULL;
        if (!what)
                return -ENOMEM;
        char key[65];
        bx_cache_key(st->id, what, key);
        if (bx_cache_hit(b, st, key))
                return 0;
        return bx_commit(b, st, key, created_by, -1, NULL);
}

/* ---- steps on a mounted rootfs (COPY, ADD, WORKDIR) ---- */

/* Before the first mount: overlays mounted here are then this process's
 * alone and go with it, whatever happens.  (A build found whole in the
 * cache mounts nothing and skips this.) */
int bx_private_mounts(struct bx *b) {
        if (b->unshared)
                return 0;
        if (unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return berr_set(b->err, errno,
                                "build: a private mount namespace");
        b->unshared = true;
        return 0;
}

/* An image's files: its layers, for reading (COPY --from). */
int bx_mount_image(struct bx *b, const char *id, const char *where,
                   int *ret_fd) {
        _cleanup_strv_free_ char **layers = NULL;
        int r = id ? image_layer_dirs(b->s, id, &layers, b->err) : 0;
        if (r >= 0)
                r = bx_private_mounts(b);
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

int bx_on_rootfs(struct bx *b, struct stage_run *st, const char *key,
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
                r = bx_private_mounts(b);
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
        r = bx_commit(b, st, key, created_by, ufd, NULL);
        rm_rf_at(AT_FDCWD, up);
        rm_rf_at(AT_FDCWD, wk);
        return r;
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
                r = bx_adopt(b, st, b->stage_ids[bs->base_stage]);
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
                        r = bx_adopt(b, st, id);
        }
        if (r < 0)
                return r;
        json_t *env = json_object_get(st->cfg, "Env");
        if (!bx_env_get(env, "PATH"))
                bx_env_set(st->cfg, "PATH", DEFAULT_PATH);
        char sid[13];
        if (st->id)
                bx_emit(b, " ---> %s\n", bx_short_id(st->id, sid));
        else
                bx_emit(b, " ---> \n");
        json_t *ob = json_incref(json_object_get(st->cfg, "OnBuild"));
        json_object_set_new(st->cfg, "OnBuild", json_null());
        size_t n = json_array_size(ob);
        if (n > 0)
                bx_emit(b, "# Executing %zu build trigger%s\n", n,
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
                return bx_run_step(b, st, in);
        case DF_COPY:
        case DF_ADD:
                return bx_copy_step(b, st, in, stage_index);
        case DF_WORKDIR:
                return bx_workdir_step(b, st, in);
        default:
                return bx_config_instr(b, st, in);
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
        bx_emit(b, "Step %zu/%zu : %s\n", ++b->step, b->steps, from->original);
        /* The global ARGs a stage may declare again start with their
         * values there. */
        int r = begin_stage(b, &st, bs);
        if (r < 0)
                berr_prefix(b->err, r, "Dockerfile:%d", from->line);
        for (size_t i = bs->first; r >= 0 && i < bs->last; i++) {
                const struct df_instr *in = &b->df->instrs[i];
                bx_emit(b, "Step %zu/%zu : %s\n", ++b->step, b->steps,
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
                                        bx_obj_field(st.cfg, "Labels"), k,
                                        json_string(eq ? eq + 1 : ""));
                                fprintf(f, " %s", kv);
                        }
                        fclose(f);
                }
                bx_emit(b, "Step %zu/%zu : %s\n", ++b->step, b->steps,
                        text ? text : "LABEL");
                r = text ? bx_config_step(b, &st,
                                          bx_nop_comment(&st, text, true))
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
                        for (size_t p = 0; k && p < ELEMENTSOF(bx_proxy_args);
                             p++)
                                proxy |= !strcmp(k, bx_proxy_args[p]);
                        if (!k || proxy || bx_kv_has(b.used_args, k) ||
                            bx_kv_has(b.plan->global_args, k))
                                continue;
                        fprintf(f, "%s%s", n++ ? " " : "", k);
                }
                if (f)
                        fclose(f);
                if (n)
                        bx_emit(&b,
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
                bx_emit(&b, "Successfully built %s\n", bx_short_id(id, sid));
                for (size_t i = 0; o->tags && o->tags[i]; i++) {
                        char *full = NULL;
                        struct berr e2 = {0};
                        char *fam =
                                reference_normalize(o->tags[i], &full, &e2) >= 0
                                        ? reference_familiar(full)
                                        : NULL;
                        bx_emit(&b, "Successfully tagged %s\n",
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
