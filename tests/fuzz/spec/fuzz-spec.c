/* libFuzzer entry point for the OCI config parser (src/runtime/spec.c).
 *
 * Feeds the same bytes to all three parsers (config.json, process.json,
 * resources.json) and checks the contract that holds for any input: a
 * failure returns a negative errno with a message and leaves the result
 * NULL; a success yields a structure whose invariants hold and which
 * spec_free() releases completely (ASan reports leaks).
 *
 *   ./fuzz-spec -dict=tests/fuzz/spec/spec.dict CORPUS tests/fuzz/spec/corpus
 *
 * (new inputs go to the first directory, so put a scratch one first). */
#include "error.h"
#include "spec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
        do {                                                                   \
                if (!(x))                                                      \
                        abort();                                               \
        } while (0)

static void check_failure(int r, const struct berr *err, const void *ret) {
        CHECK(r < 0);
        CHECK(err->msg[0] != '\0');
        CHECK(strlen(err->msg) < sizeof(err->msg));
        CHECK(ret == NULL);
}

static void check_process(const struct spec_process *p) {
        CHECK(p->cwd && p->cwd[0] == '/');
        CHECK(!p->user.n_additional_gids || p->user.additional_gids);
        for (size_t i = 0; i < p->n_rlimits; i++) {
                CHECK(p->rlimits[i].name);
                CHECK(spec_rlimit_from_name(p->rlimits[i].name) ==
                      p->rlimits[i].resource);
        }
        CHECK(!p->user.has_umask || p->user.umask <= 0777);
}

static void check_resources(const struct spec_resources *r) {
        for (size_t i = 0; i < r->n_devices; i++) {
                const struct spec_dev_rule *d = &r->devices[i];
                CHECK(d->type == 'a' || d->type == 'b' || d->type == 'c');
                CHECK(d->major >= -1 && d->minor >= -1);
                CHECK(strlen(d->access) <= 3);
                CHECK(strspn(d->access, "rwm") == strlen(d->access));
        }
        for (size_t i = 0; i < r->n_unified; i++)
                CHECK(r->unified[i].key && r->unified[i].value);
        CHECK(!r->has_memory_swappiness || r->memory_swappiness <= 100);
}

static void check_spec(const struct spec *s) {
        CHECK(s->oci_version && s->oci_version[0]);
        CHECK(s->root_path && s->root_path[0]);
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct spec_mount *m = &s->mounts[i];
                CHECK(m->destination && m->destination[0] == '/');
                CHECK(m->propagation < _SPEC_PROP_MAX);
                CHECK(!m->recursive || m->bind);
                CHECK(!m->data || m->data[0]);
        }
        if (s->process)
                check_process(s->process);
        for (int k = 0; k < _SPEC_HOOK_MAX; k++)
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        CHECK(s->hooks[k][i].path[0] == '/');
                        CHECK(!s->hooks[k][i].has_timeout ||
                              s->hooks[k][i].timeout > 0);
                }
        const struct spec_linux *l = &s->linux_;
        for (size_t i = 0; i < l->n_namespaces; i++) {
                CHECK(spec_ns_name(l->namespaces[i].type));
                CHECK(spec_find_ns(s, l->namespaces[i].type) ==
                      &l->namespaces[i]);
                CHECK(!l->namespaces[i].path ||
                      l->namespaces[i].path[0] == '/');
        }
        for (size_t i = 0; i < l->n_devices; i++)
                CHECK(l->devices[i].path[0] == '/');
        if (l->resources)
                check_resources(l->resources);
        if (l->seccomp) {
                CHECK(spec_seccomp_action_name(l->seccomp->default_action));
                for (size_t i = 0; i < l->seccomp->n_syscalls; i++) {
                        const struct spec_seccomp_syscall *sc =
                                &l->seccomp->syscalls[i];
                        CHECK(sc->names && sc->names[0]);
                        CHECK(spec_seccomp_action_name(sc->action));
                        for (size_t j = 0; j < sc->n_args; j++) {
                                CHECK(sc->args[j].index < 6);
                                CHECK(spec_seccomp_op_name(sc->args[j].op));
                        }
                }
        }
        CHECK(l->rootfs_propagation < _SPEC_PROP_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;

        struct berr err = {0};
        struct spec *s = NULL;
        int r = spec_parse(text, size, &s, &err);
        if (r == 0)
                check_spec(s);
        else
                check_failure(r, &err, s);
        spec_free(s);

        berr_clear(&err);
        struct spec_process *p = NULL;
        r = spec_process_parse(text, size, &p, &err);
        if (r == 0)
                check_process(p);
        else
                check_failure(r, &err, p);
        spec_process_free(p);

        berr_clear(&err);
        struct spec_resources *res = NULL;
        r = spec_resources_parse(text, size, &res, &err);
        if (r == 0)
                check_resources(res);
        else
                check_failure(r, &err, res);
        spec_resources_free(res);
        return 0;
}
