/* The stages of a Dockerfile (see plan.h). */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerfile.h"
#include "error.h"
#include "expand.h"
#include "util.h"

struct build_plan *build_plan_free(struct build_plan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++) {
                free(p->stages[i].name);
                free(p->stages[i].base);
                free(p->stages[i].platform);
        }
        free(p->stages);
        for (size_t i = 0; p->global_args && p->global_args[i]; i++)
                free(p->global_args[i]);
        free(p->global_args);
        free(p);
        return NULL;
}

int build_plan_stage(const struct build_plan *p, const char *ref,
                     size_t before) {
        if (!ref || !*ref)
                return -1;
        for (size_t i = 0; i < before && i < p->n; i++)
                if (p->stages[i].name && !strcasecmp(p->stages[i].name, ref))
                        return (int) i;
        uint32_t idx;
        if (parse_u32(ref, &idx) >= 0 && idx < before && idx < p->n)
                return (int) idx;
        return -1;
}

const char *build_kv_get(char *const *v, const char *name) {
        size_t nl = strlen(name);
        for (size_t i = 0; v && v[i]; i++)
                if (!strncmp(v[i], name, nl) && v[i][nl] == '=')
                        return v[i] + nl + 1;
        return NULL;
}

static const char *lookup_globals(const char *name, void *ud) {
        return build_kv_get(ud, name);
}

static int set_kv(char ***v, const char *name, const char *value) {
        size_t nl = strlen(name);
        for (size_t i = 0; *v && (*v)[i]; i++)
                if (!strncmp((*v)[i], name, nl) && (*v)[i][nl] == '=') {
                        char *s = str_printf("%s=%s", name, value);
                        if (!s)
                                return -ENOMEM;
                        free((*v)[i]);
                        (*v)[i] = s;
                        return 0;
                }
        char *s = str_printf("%s=%s", name, value);
        if (!s)
                return -ENOMEM;
        int r = strv_push(v, s);
        free(s);
        return r;
}

static bool arg_name_valid(const char *s, size_t n) {
        if (!n || !(isalpha((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(isalnum((unsigned char) s[i]) || s[i] == '_'))
                        return false;
        return true;
}

/* ARG lines before the first FROM. */
static int global_arg(struct build_plan *p, const struct df_instr *in,
                      char *const *build_args, char esc, struct berr *err) {
        for (size_t i = 0; i < in->n_args; i++) {
                const char *a = in->args[i];
                const char *eq = strchr(a, '=');
                size_t nl = eq ? (size_t) (eq - a) : strlen(a);
                if (!arg_name_valid(a, nl))
                        return berr_setx(err, EINVAL,
                                         "dockerfile line %d: invalid ARG "
                                         "name \"%.*s\"",
                                         in->line, (int) nl, a);
                char name[256];
                if (nl >= sizeof(name))
                        return berr_setx(err, EINVAL,
                                         "dockerfile line %d: ARG name too "
                                         "long",
                                         in->line);
                memcpy(name, a, nl);
                name[nl] = '\0';
                const char *given = build_kv_get(build_args, name);
                char *val = NULL;
                int r = 0;
                if (given)
                        val = strdup(given);
                else if (eq)
                        r = expand_word(eq + 1, esc, lookup_globals,
                                        p->global_args, &val, err);
                if (r < 0)
                        return berr_prefix(err, r, "dockerfile line %d",
                                           in->line);
                if (!given && !eq)
                        continue; /* declared without a value: unset */
                if (!val)
                        return -ENOMEM;
                r = set_kv(&p->global_args, name, val);
                free(val);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_stage(struct build_plan *p, const struct df_instr *from,
                     size_t pos, char esc, struct berr *err) {
        struct build_stage *nv = realloc(p->stages, (p->n + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        p->stages = nv;
        struct build_stage *s = &nv[p->n];
        memset(s, 0, sizeof(*s));
        s->index = p->n;
        s->base_stage = -1;
        s->first = pos + 1;
        s->last = pos + 1;
        p->n++;
        int r = expand_word(from->args[0], esc, lookup_globals, p->global_args,
                            &s->base, err);
        if (r >= 0 && !*s->base)
                r = berr_setx(err, EINVAL,
                              "dockerfile line %d: base name (%s) should not "
                              "be blank",
                              from->line, from->args[0]);
        const char *plat = df_flag(from, "platform", NULL);
        if (r >= 0 && plat)
                r = expand_word(plat, esc, lookup_globals, p->global_args,
                                &s->platform, err);
        if (r >= 0 && from->n_args == 3) {
                s->name = strdup(from->args[2]);
                if (!s->name)
                        return -ENOMEM;
                for (char *c = s->name; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                if (!isalpha((unsigned char) s->name[0]))
                        return berr_setx(err, EINVAL,
                                         "dockerfile line %d: invalid stage "
                                         "name \"%s\": it must begin with a "
                                         "letter",
                                         from->line, s->name);
                for (size_t i = 0; i + 1 < p->n; i++)
                        if (p->stages[i].name &&
                            !strcmp(p->stages[i].name, s->name))
                                return berr_setx(err, EINVAL,
                                                 "dockerfile line %d: "
                                                 "duplicate stage name "
                                                 "\"%s\"",
                                                 from->line, s->name);
        }
        if (r >= 0) {
                /* FROM an earlier stage's name (not an index: docker
                 * treats FROM 0 as an image). */
                for (size_t i = 0; i + 1 < p->n; i++)
                        if (p->stages[i].name &&
                            !strcasecmp(p->stages[i].name, s->base))
                                s->base_stage = (int) i;
        }
        return r;
}

static void mark_needed(struct build_plan *p, const struct dockerfile *df,
                        size_t st) {
        struct build_stage *s = &p->stages[st];
        if (s->needed)
                return;
        s->needed = true;
        if (s->base_stage >= 0)
                mark_needed(p, df, (size_t) s->base_stage);
        for (size_t i = s->first; i < s->last; i++) {
                const struct df_instr *in = &df->instrs[i];
                if (in->kind != DF_COPY && in->kind != DF_ADD)
                        continue;
                int from = build_plan_stage(p, df_flag(in, "from", NULL), st);
                if (from >= 0)
                        mark_needed(p, df, (size_t) from);
        }
}

int build_plan_make(const struct dockerfile *df, char *const *build_args,
                    const char *target, struct build_plan **ret,
                    struct berr *err) {
        struct build_plan *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < df->n && r >= 0; i++) {
                const struct df_instr *in = &df->instrs[i];
                if (in->kind == DF_FROM) {
                        r = add_stage(p, in, i, df->escape, err);
                } else if (!p->n) {
                        if (in->kind == DF_ARG)
                                r = global_arg(p, in, build_args, df->escape,
                                               err);
                        else
                                r = berr_setx(err, EINVAL,
                                              "dockerfile line %d: no build "
                                              "stage in current context: "
                                              "%s before FROM",
                                              in->line, df_kind_name(in->kind));
                } else {
                        p->stages[p->n - 1].last = i + 1;
                }
        }
        if (r >= 0 && !p->n)
                r = berr_setx(err, EINVAL,
                              "the Dockerfile has no FROM instruction");
        if (r >= 0) {
                p->target = p->n - 1;
                if (target && *target) {
                        int t = build_plan_stage(p, target, p->n);
                        if (t < 0 || !p->stages[t].name)
                                r = berr_setx(err, ENOENT,
                                              "failed to reach build target "
                                              "%s in Dockerfile",
                                              target);
                        else
                                p->target = (size_t) t;
                }
        }
        if (r >= 0)
                mark_needed(p, df, p->target);
        if (r < 0) {
                build_plan_free(p);
                return r;
        }
        *ret = p;
        return 0;
}
