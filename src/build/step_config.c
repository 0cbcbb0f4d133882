/* The instructions that only change the image config (CMD, ENV,
 * LABEL, EXPOSE, USER, VOLUME, HEALTHCHECK, ...). */
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

/* ---- config-only instructions ---- */

json_t *bx_obj_field(json_t *cfg, const char *k) {
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
        a = bx_shell_of(st);
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
        _cleanup_free_ char *test =
                bx_go_quote_array(json_object_get(hc, "Test"));
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
                r = bx_expand(b, st, in->args[i], &k);
                if (r >= 0)
                        r = bx_expand(b, st, in->args[i + 1], &v);
                if (r < 0)
                        break;
                if (!*k) {
                        r = berr_setx(b->err, EINVAL,
                                      "%s names must not be empty",
                                      env ? "ENV" : "LABEL");
                        break;
                }
                if (env)
                        bx_env_set(st->cfg, k, v);
                else
                        json_object_set_new(bx_obj_field(st->cfg, "Labels"), k,
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
                        r = bx_expand(b, st, eq + 1, &def);
                        if (r < 0)
                                break;
                }
                const char *given = build_kv_get(b->o->build_args, name);
                const char *global = build_kv_get(b->plan->global_args, name);
                const char *val = given ? given : def ? def : global;
                if (given && !bx_kv_has(b->used_args, name))
                        strv_push(&b->used_args, name);
                r = bx_kv_set(&st->args, name, val);
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

/* USER, STOPSIGNAL: one word, expanded, into config field `field`;
 * "KEYWORD word" for history. */
static int one_word(struct bx *b, struct stage_run *st,
                    const struct df_instr *in, const char *field,
                    char **ret_text) {
        const char *kw = df_kind_name(in->kind);
        if (in->n_args != 1)
                return berr_setx(b->err, EINVAL,
                                 "%s requires exactly one argument", kw);
        _cleanup_free_ char *w = NULL;
        int r = bx_expand(b, st, in->args[0], &w);
        if (r < 0)
                return r;
        json_object_set_new(st->cfg, field, json_string(w));
        *ret_text = str_printf("%s %s", kw, w);
        return *ret_text ? 0 : -ENOMEM;
}

int bx_config_instr(struct bx *b, struct stage_run *st,
                    const struct df_instr *in) {
        _cleanup_free_ char *text = NULL;
        bool two = true;
        int r = 0;
        switch (in->kind) {
        case DF_CMD: {
                json_t *a = exec_or_shell(st, in);
                json_object_set_new(st->cfg, "Cmd", a);
                st->cmd_set = true;
                _cleanup_free_ char *q = bx_go_quote_array(a);
                text = str_printf("CMD %s", q ? q : "[]");
                break;
        }
        case DF_ENTRYPOINT: {
                json_t *a = exec_or_shell(st, in);
                json_object_set_new(st->cfg, "Entrypoint", a);
                if (!st->cmd_set)
                        json_object_set_new(st->cfg, "Cmd", json_null());
                _cleanup_free_ char *q = bx_go_quote_array(a);
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
                json_t *ports = bx_obj_field(st->cfg, "ExposedPorts");
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
                        r = bx_expand(b, st, in->args[i], &w);
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
        case DF_USER:
                r = one_word(b, st, in, "User", &text);
                break;
        case DF_VOLUME: {
                json_t *vols = bx_obj_field(st->cfg, "Volumes");
                char *t = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&t, &len);
                if (!f)
                        return -ENOMEM;
                fputs("VOLUME [", f);
                for (size_t i = 0; i < in->n_args && r >= 0; i++) {
                        _cleanup_free_ char *w = NULL;
                        r = bx_expand(b, st, in->args[i], &w);
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
        case DF_STOPSIGNAL:
                r = one_word(b, st, in, "StopSignal", &text);
                break;
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
                _cleanup_free_ char *j = bx_join_array(a, " ");
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
        return bx_config_step(b, st, bx_nop_comment(st, text, two));
}
