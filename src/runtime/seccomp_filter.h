/* Seccomp filters from the OCI linux.seccomp section, through libseccomp.
 *
 * seccomp_compile() turns the spec into a BPF program up front (in the
 * runtime process, where errors can still be reported and nothing has been
 * created); seccomp_install() loads it in the container's init right
 * before exec.  Splitting the two keeps the init short and lets `create`
 * fail cleanly on a bad profile. */
#pragma once

#include <stddef.h>

struct berr;
struct spec_seccomp;
struct seccomp_prog;

/* Validate and compile.  Unknown syscall names are skipped (as runc and
 * crun do, since profiles list syscalls of newer kernels); unknown actions,
 * architectures, flags or operators are errors naming the field. */
int seccomp_compile(const struct spec_seccomp *s, struct seccomp_prog **ret,
                    struct berr *err);

/* Load the program into the calling thread's process.  When the profile
 * uses SCMP_ACT_NOTIFY, returns the listener fd (>= 0) that the caller
 * must hand to listenerPath; otherwise returns 0.  Async-signal-safe
 * enough for a forked child: no allocation. */
int seccomp_install(const struct seccomp_prog *p, struct berr *err);

/* Whether the program needs a notify listener. */
int seccomp_uses_notify(const struct seccomp_prog *p);

void seccomp_prog_free(struct seccomp_prog *p);

/* NULL-terminated lists for the `features` document. */
extern const char *const seccomp_known_actions[];
extern const char *const seccomp_known_operators[];
extern const char *const seccomp_known_archs[];
extern const char *const seccomp_known_flags[];
