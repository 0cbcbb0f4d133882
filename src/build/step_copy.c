/* COPY, ADD and WORKDIR: files written into an overlay of the parent
 * image, the upper dir committed as the step's layer. */
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

static int mkdir_fn(struct bx *b, int rootfd, void *ud) {
        return fs_mkdir_p(rootfd, ud, 0, 0, b->err);
}

int bx_workdir_step(struct bx *b, struct stage_run *st,
                    const struct df_instr *in) {
        if (in->n_args != 1)
                return berr_setx(b->err, EINVAL,
                                 "WORKDIR requires exactly one argument");
        _cleanup_free_ char *w = NULL;
        int r = bx_expand(b, st, in->args[0], &w);
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
        _cleanup_free_ char *cb = text ? bx_nop_comment(st, text, false) : NULL;
        _cleanup_free_ char *cfg =
                json_dumps(st->cfg, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *what =
                cb && cfg ? str_printf("%s\n%s", cb, cfg) : NULL;
        if (!what)
                return -ENOMEM;
        char key[65];
        bx_cache_key(st->id, what, key);
        if (bx_cache_hit(b, st, key))
                return 0;
        return bx_on_rootfs(b, st, key, cb, mkdir_fn, path);
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
        int r = bx_expand(b, st, from, &name);
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
        r = bx_mount_image(b, id, where, ret_fd);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id);
        return 0;
}

static bool is_url(const char *s) {
        return str_startswith(s, "http://") || str_startswith(s, "https://");
}

int bx_copy_step(struct bx *b, struct stage_run *st, const struct df_instr *in,
                 size_t stage_index) {
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
                int r = bx_expand(b, st, chown, &chown_s);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *dest_w = NULL;
        int r = bx_expand(b, st, in->args[nargs - 1], &dest_w);
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
                                r = bx_expand(b, st, hd->content, &content);
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
                r = bx_expand(b, st, a, &w);
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
                        text ? bx_nop_comment(st, text, false) : NULL;
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
                bx_cache_key(st->id, what, key);
                if (!bx_cache_hit(b, st, key))
                        r = bx_on_rootfs(b, st, key, cb, copy_fn, &j);
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
