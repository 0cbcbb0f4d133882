/* RUN: a container berthd runs from the parent image; its upper dir
 * is the step's layer. */
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
                bx_emit_raw(m->b, data, take);
                m->remain -= take;
                data += take;
                len -= take;
        }
        return 0;
}

int bx_run_step(struct bx *b, struct stage_run *st, const struct df_instr *in) {
        json_t *cmd;
        if (in->json) {
                cmd = json_array();
                for (size_t i = 0; i < in->n_args; i++)
                        json_array_append_new(cmd, json_string(in->args[i]));
        } else {
                cmd = bx_shell_of(st);
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
        _cleanup_strv_free_ char **hargs = bx_args_in_effect(b, st, true);
        _cleanup_strv_free_ char **eargs = bx_args_in_effect(b, st, false);
        _cleanup_free_ char *joined = bx_join_array(cmd, " ");
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
        bx_cache_key(st->id, what, key);
        if (bx_cache_hit(b, st, key)) {
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
        bx_emit(b, " ---> Running in %s\n", bx_short_id(cid, sid));
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
                        bx_emit(b, "Removing intermediate container %s\n", sid);
                        r = bx_commit(b, st, key, created_by, ufd,
                                      bx_mount_points);
                        close(ufd);
                }
        }
        json_decref(insp);
        /* Whatever happened, the container goes (a second error must not
         * hide the first). */
        struct berr e2 = {0};
        engine_call(b->eng, "DELETE", p_rm, NULL, NULL, &e2);
        if (r < 0 && code != 0 && !b->o->quiet)
                bx_emit(b, "Removing intermediate container %s\n", sid);
        return r;
}
