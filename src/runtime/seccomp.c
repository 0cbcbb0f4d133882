/* linux.seccomp -> a BPF program, compiled with libseccomp in the runtime
 * process and installed with seccomp(2) by the container's init. */
#include "seccomp_filter.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

struct seccomp_prog {
        struct sock_filter *insns;
        size_t n_insns;
        unsigned long flags;
        int notify;
};

const char *const seccomp_known_actions[] = {
        "SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",      NULL,
};

const char *const seccomp_known_operators[] = {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

static const struct {
        const char *name;
        uint32_t arch;
} archs[] = {
        {"SCMP_ARCH_X86", SCMP_ARCH_X86},
        {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
        {"SCMP_ARCH_X32", SCMP_ARCH_X32},
        {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
        {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
        {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
        {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
        {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
        {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
        {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
        {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
        {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
        {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
        {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
        {"SCMP_ARCH_S390", SCMP_ARCH_S390},
        {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
        {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
        {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
        {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

const char *const seccomp_known_archs[] = {
        "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",     "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",      "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_RISCV64",     NULL,
};

static const struct {
        const char *name;
        unsigned long flag;
} flags[] = {
        {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
        {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
        {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
         SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

const char *const seccomp_known_flags[] = {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        NULL,
};

static uint32_t to_action(enum spec_seccomp_action a, bool has_errno,
                          uint32_t errno_ret, bool *notify) {
        switch (a) {
        case SPEC_SECCOMP_KILL:
        case SPEC_SECCOMP_KILL_THREAD:
                return SCMP_ACT_KILL_THREAD;
        case SPEC_SECCOMP_KILL_PROCESS:
                return SCMP_ACT_KILL_PROCESS;
        case SPEC_SECCOMP_TRAP:
                return SCMP_ACT_TRAP;
        case SPEC_SECCOMP_ERRNO:
                return SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
        case SPEC_SECCOMP_TRACE:
                return SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
        case SPEC_SECCOMP_ALLOW:
                return SCMP_ACT_ALLOW;
        case SPEC_SECCOMP_LOG:
                return SCMP_ACT_LOG;
        case SPEC_SECCOMP_NOTIFY:
                *notify = true;
                return SCMP_ACT_NOTIFY;
        default:
                return SCMP_ACT_KILL_PROCESS;
        }
}

static const enum scmp_compare ops[_SPEC_SECCOMP_OP_MAX] = {
        [SPEC_SECCOMP_OP_NE] = SCMP_CMP_NE,
        [SPEC_SECCOMP_OP_LT] = SCMP_CMP_LT,
        [SPEC_SECCOMP_OP_LE] = SCMP_CMP_LE,
        [SPEC_SECCOMP_OP_EQ] = SCMP_CMP_EQ,
        [SPEC_SECCOMP_OP_GE] = SCMP_CMP_GE,
        [SPEC_SECCOMP_OP_GT] = SCMP_CMP_GT,
        [SPEC_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static void ctx_release(scmp_filter_ctx *c) {
        if (*c)
                seccomp_release(*c);
}

/* libseccomp ANDs conditions of one rule, but refuses two conditions on
 * the same argument; then each condition becomes a rule of its own (which
 * ORs them), as runc and crun do. */
static bool same_arg_twice(const struct spec_seccomp_syscall *sc) {
        for (size_t i = 0; i < sc->n_args; i++)
                for (size_t j = i + 1; j < sc->n_args; j++)
                        if (sc->args[i].index == sc->args[j].index)
                                return true;
        return false;
}

int seccomp_compile(const struct spec_seccomp *s, struct seccomp_prog **ret,
                    struct berr *err) {
        bool notify = false;
        uint32_t def = to_action(s->default_action, s->has_default_errno_ret,
                                 s->default_errno_ret, &notify);
        if (notify)
                return berr_setx(err, EINVAL,
                                 "linux.seccomp.defaultAction: "
                                 "SCMP_ACT_NOTIFY cannot be the default");
        __attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx =
                seccomp_init(def);
        if (!ctx)
                return berr_setx(err, EINVAL,
                                 "linux.seccomp: cannot create a filter with "
                                 "this default action");
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        unsigned long fl = 0;
        for (char **f = s->flags; f && *f; f++) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(flags); i++)
                        if (!strcmp(flags[i].name, *f))
                                break;
                if (i == ELEMENTSOF(flags))
                        return berr_setx(err, EINVAL,
                                         "linux.seccomp.flags: unknown flag "
                                         "'%s'",
                                         *f);
                fl |= flags[i].flag;
        }
        for (char **a = s->architectures; a && *a; a++) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(archs); i++)
                        if (!strcmp(archs[i].name, *a))
                                break;
                if (i == ELEMENTSOF(archs))
                        return berr_setx(err, EINVAL,
                                         "linux.seccomp.architectures: "
                                         "unknown architecture '%s'",
                                         *a);
                int r = seccomp_arch_add(ctx, archs[i].arch);
                if (r < 0 && r != -EEXIST)
                        return berr_set(err, r,
                                        "linux.seccomp.architectures: add "
                                        "'%s'",
                                        *a);
        }
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const struct spec_seccomp_syscall *sc = &s->syscalls[i];
                uint32_t act = to_action(sc->action, sc->has_errno_ret,
                                         sc->errno_ret, &notify);
                if (act == def)
                        continue; /* libseccomp rejects no-op rules */
                struct scmp_arg_cmp cmp[6];
                for (size_t j = 0; j < sc->n_args && j < 6; j++) {
                        const struct spec_seccomp_arg *a = &sc->args[j];
                        cmp[j] = (struct scmp_arg_cmp){.arg = a->index,
                                                       .op = ops[a->op],
                                                       .datum_a = a->value,
                                                       .datum_b = a->value_two};
                }
                bool split = same_arg_twice(sc);
                for (char **n = sc->names; n && *n; n++) {
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR)
                                continue; /* unknown to this libseccomp */
                        int r;
                        if (!split)
                                r = seccomp_rule_add_array(
                                        ctx, act, nr, (unsigned) sc->n_args,
                                        sc->n_args ? cmp : NULL);
                        else {
                                r = 0;
                                for (size_t j = 0; j < sc->n_args && r >= 0;
                                     j++)
                                        r = seccomp_rule_add_array(ctx, act, nr,
                                                                   1, &cmp[j]);
                        }
                        if (r < 0 && r != -EEXIST)
                                return berr_set(err, r,
                                                "linux.seccomp.syscalls[%zu]: "
                                                "add rule for '%s'",
                                                i, *n);
                }
        }
        /* Export through a memfd: libseccomp 2.5 has no in-memory export. */
        _cleanup_close_ int mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (mfd < 0)
                return berr_set(err, errno, "linux.seccomp: memfd");
        int r = seccomp_export_bpf(ctx, mfd);
        if (r < 0)
                return berr_set(err, r, "linux.seccomp: export filter");
        if (lseek(mfd, 0, SEEK_SET) < 0)
                return berr_set(err, errno, "linux.seccomp: seek");
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        r = read_fd_all(mfd, 1 << 22, &buf, &len);
        if (r < 0)
                return berr_set(err, r, "linux.seccomp: read filter");
        if (len == 0 || len % sizeof(struct sock_filter))
                return berr_setx(err, EINVAL, "linux.seccomp: bad filter size");
        struct seccomp_prog *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->n_insns = len / sizeof(struct sock_filter);
        p->insns = (struct sock_filter *) TAKE_PTR(buf);
        p->flags = fl;
        p->notify = notify;
        *ret = p;
        return 0;
}

int seccomp_install(const struct seccomp_prog *p, struct berr *err) {
        struct sock_fprog prog = {.len = (unsigned short) p->n_insns,
                                  .filter = p->insns};
        unsigned long fl = p->flags;
        if (p->notify)
                fl |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, fl, &prog);
        if (r < 0)
                return berr_set(err, errno, "load seccomp filter");
        return p->notify ? (int) r : 0;
}

int seccomp_uses_notify(const struct seccomp_prog *p) {
        return p && p->notify;
}

void seccomp_prog_free(struct seccomp_prog *p) {
        if (!p)
                return;
        free(p->insns);
        free(p);
}
