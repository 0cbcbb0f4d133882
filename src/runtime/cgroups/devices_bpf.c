/* Device rules on cgroup v2: an eBPF program of type CGROUP_DEVICE built
 * from the spec's rules and attached to the container's group.  v2 has no
 * devices.allow/deny files; without this, a container with CAP_MKNOD on a
 * v2 host could make and open any device node.
 *
 * Rule semantics follow v1's devices.allow/deny: rules apply in order, the
 * last one that matches a request decides, and a request no rule matches
 * is allowed (a new v1 group inherits "a *:* rwm").  Specs from Docker,
 * podman and `runc spec` begin with "deny all". */
#include "internal.h"

#include "cleanup.h"
#include "error.h"
#include "spec.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i)                                                    \
        ((struct bpf_insn){.code = (c),                                        \
                           .dst_reg = (d),                                     \
                           .src_reg = (s),                                     \
                           .off = (o),                                         \
                           .imm = (i)})

static int access_mask(const char *a) {
        int m = 0;
        for (; a && *a; a++)
                m |= *a == 'm'   ? BPF_DEVCG_ACC_MKNOD
                     : *a == 'r' ? BPF_DEVCG_ACC_READ
                     : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                                 : 0;
        return m;
}

/* Registers: r2 device type, r3 requested access, r4 major, r5 minor. */
int cg_bpf_devices_build(const struct spec_dev_rule *rules, size_t n,
                         struct bpf_insn **ret, size_t *ret_n) {
        size_t cap = 8 + n * 8;
        struct bpf_insn *p = calloc(cap, sizeof(*p));
        if (!p)
                return -ENOMEM;
        size_t k = 0;
        p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
        p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
        p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0);
        p[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
        p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
        p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
        /* Last rule first: the first block that matches decides. */
        for (size_t i = n; i-- > 0;) {
                const struct spec_dev_rule *r = &rules[i];
                struct bpf_insn blk[8];
                size_t b = 0;
                /* Jumps are patched to the end of this block below. */
                if (r->type == 'c' || r->type == 'b')
                        blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0,
                                        r->type == 'c' ? BPF_DEVCG_DEV_CHAR
                                                       : BPF_DEVCG_DEV_BLOCK);
                int acc = access_mask(r->access);
                if (acc != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ |
                            BPF_DEVCG_ACC_WRITE)) {
                        /* matches when every requested bit is in the rule */
                        blk[b++] = INSN(BPF_ALU | BPF_MOV | BPF_X, 6, 3, 0, 0);
                        blk[b++] =
                                INSN(BPF_ALU | BPF_AND | BPF_K, 6, 0, 0, ~acc);
                        blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0);
                }
                if (r->major >= 0)
                        blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0,
                                        (int32_t) r->major);
                if (r->minor >= 0)
                        blk[b++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0,
                                        (int32_t) r->minor);
                blk[b++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
                                r->allow ? 1 : 0);
                blk[b++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
                for (size_t j = 0; j < b; j++) {
                        if (BPF_CLASS(blk[j].code) == BPF_JMP &&
                            BPF_OP(blk[j].code) == BPF_JNE)
                                blk[j].off = (int16_t) (b - j - 1);
                        p[k++] = blk[j];
                }
                /* A rule that matches everything ends the program: what
                 * follows could never run, and the verifier refuses
                 * unreachable instructions. */
                if (b == 2)
                        goto done;
        }
        p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
        p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
done:
        *ret = p;
        *ret_n = k;
        return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr) {
        int r = (int) syscall(SYS_bpf, cmd, attr, sizeof(*attr));
        return r < 0 ? -errno : r;
}

int cg_bpf_devices_attach(int cgfd, const struct spec_dev_rule *rules, size_t n,
                          struct berr *err) {
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t ni = 0;
        int r = cg_bpf_devices_build(rules, n, &insns, &ni);
        if (r < 0)
                return r;
        union bpf_attr load = {0};
        load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        load.insns = (uint64_t) (uintptr_t) insns;
        load.insn_cnt = (uint32_t) ni;
        load.license = (uint64_t) (uintptr_t) "Apache";
        /* No verifier log on the first try: before Linux 6.4 a log that
         * does not fit its buffer fails the load itself with ENOSPC, even
         * for a program the verifier accepts. */
        int prog = sys_bpf(BPF_PROG_LOAD, &load);
        if (prog < 0) {
                /* Load again with a log, only to say why: the verifier's
                 * reason is at its end (which a truncated log before 6.4
                 * still has, cut short at the buffer). */
                _cleanup_free_ char *log = calloc(1, 1 << 16);
                if (log) {
                        load.log_buf = (uint64_t) (uintptr_t) log;
                        load.log_size = 1 << 16;
                        load.log_level = 1;
                        int again = sys_bpf(BPF_PROG_LOAD, &load);
                        if (again >= 0) /* it passed this time: keep it */
                                prog = again;
                }
                if (prog < 0) {
                        size_t len = log ? strnlen(log, 1 << 16) : 0;
                        const char *tail =
                                log ? log + (len > 240 ? len - 240 : 0) : "";
                        return berr_set(err, prog,
                                        "linux.resources.devices: load the "
                                        "device filter (verifier: ...%s)",
                                        tail);
                }
        }
        _cleanup_close_ int pfd = prog;
        /* Programs attached before (an earlier `update`): replaced once the
         * new one is in, so there is no moment without a filter. */
        uint32_t old[64] = {0};
        union bpf_attr q = {0};
        q.query.target_fd = (uint32_t) cgfd;
        q.query.attach_type = BPF_CGROUP_DEVICE;
        q.query.prog_ids = (uint64_t) (uintptr_t) old;
        q.query.prog_cnt = 64;
        size_t nold = sys_bpf(BPF_PROG_QUERY, &q) >= 0 ? q.query.prog_cnt : 0;
        union bpf_attr at = {0};
        at.target_fd = (uint32_t) cgfd;
        at.attach_bpf_fd = (uint32_t) pfd;
        at.attach_type = BPF_CGROUP_DEVICE;
        at.attach_flags = BPF_F_ALLOW_MULTI;
        r = sys_bpf(BPF_PROG_ATTACH, &at);
        if (r < 0)
                return berr_set(err, r,
                                "linux.resources.devices: attach the device "
                                "filter");
        for (size_t i = 0; i < nold && i < 64; i++) {
                union bpf_attr g = {0};
                g.prog_id = old[i];
                int ofd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
                if (ofd < 0)
                        continue;
                union bpf_attr d = {0};
                d.target_fd = (uint32_t) cgfd;
                d.attach_bpf_fd = (uint32_t) ofd;
                d.attach_type = BPF_CGROUP_DEVICE;
                (void) sys_bpf(BPF_PROG_DETACH, &d);
                close(ofd);
        }
        return 0;
}
