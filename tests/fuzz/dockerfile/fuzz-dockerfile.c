/* Fuzz target: Dockerfiles (dockerfile_parse) and the expansion of every
 * argument they hold (expand_word). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "error.h"
#include "expand.h"
#include "paths.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *ud) {
        (void) ud;
        return name[0] == 'A' ? "value" : name[0] == 'E' ? "" : NULL;
}

static void expand_all(const struct df_instr *in, char esc) {
        for (size_t i = 0; i < in->n_args; i++) {
                char *out = NULL;
                struct berr e = {0};
                if (expand_word(in->args[i], esc, lookup, NULL, &out, &e) ==
                    0) {
                        if (!out)
                                abort();
                        free(out);
                }
        }
        for (size_t i = 0; i < in->n_flags; i++)
                if (!in->flags[i].name)
                        abort();
        if (in->inner)
                expand_all(in->inner, esc);
        /* COPY/ADD: sources stay in the context, the destination is
         * absolute. */
        if ((in->kind == DF_COPY || in->kind == DF_ADD) && in->n_args) {
                for (size_t i = 0; i + 1 < in->n_args; i++) {
                        char *p = NULL;
                        struct berr e = {0};
                        if (build_context_path(in->args[i], &p, &e) == 0) {
                                if (!strcmp(p, "..") || !strncmp(p, "../", 3))
                                        abort();
                                free(p);
                        }
                }
                char *d = NULL;
                bool dir;
                struct berr e = {0};
                if (build_dest_path("/app", in->args[in->n_args - 1], &d, &dir,
                                    &e) == 0) {
                        if (d[0] != '/' || strstr(d, "/../"))
                                abort();
                        free(d);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct dockerfile *df = NULL;
        struct berr e = {0};
        if (dockerfile_parse((const char *) data, size, &df, &e) == 0) {
                if (!df->n)
                        abort();
                for (size_t i = 0; i < df->n; i++) {
                        const struct df_instr *in = &df->instrs[i];
                        if (in->line < 1 || !in->original)
                                abort();
                        expand_all(in, df->escape);
                }
                /* Stages: with and without a target, and an argument. */
                char *args[] = {"A=1", "BASE=x", NULL};
                const char *targets[] = {NULL, "build", "0"};
                for (size_t t = 0; t < 3; t++) {
                        struct build_plan *p = NULL;
                        struct berr pe = {0};
                        if (build_plan_make(df, args, targets[t], &p, &pe) ==
                            0) {
                                if (p->target >= p->n ||
                                    !p->stages[p->target].needed)
                                        abort();
                                for (size_t i = 0; i < p->n; i++)
                                        if (p->stages[i].base_stage >= (int) i)
                                                abort();
                                build_plan_free(p);
                        } else if (!pe.msg[0]) {
                                abort();
                        }
                }
                dockerfile_free(df);
        } else if (!e.msg[0]) {
                abort(); /* every refusal says why */
        }
        return 0;
}
