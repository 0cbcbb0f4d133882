/* The container's first process, between clone() and execve().
 * Internal to src/runtime. */
#pragma once

#include <stdbool.h>

#include "spec.h"

struct seccomp_prog;

struct init_args {
        const struct spec *spec;
        const char *id;
        const char *rootfs; /* absolute, resolved in the host */
        int sync_fd;        /* init's end of the socketpair */
        int exec_listen_fd; /* listening exec.sock, or -1 with auto_start */
        bool auto_start;    /* `run`: no created state to wait in; go on
                               right after READY (errors on sync_fd) */
        int console_fd;     /* connected console socket or -1 */
        int ns_fds[_SPEC_NS_MAX]; /* namespaces to join by path, or -1 */
        bool new_userns;
        bool new_cgroupns; /* unshared once inside the cgroup */
        bool new_netns;
        bool no_pivot;
        bool no_new_keyring;
        unsigned preserve_fds;
        char **cgroup_sources;
        const int *mount_fds; /* from rootfs_make_idmapped_mounts */
        const struct seccomp_prog *seccomp;
};

/* Never returns: execs the user program or _exits after reporting the
 * failure over sync_fd (before start) or the start connection (after). */
__attribute__((noreturn)) void container_init(const struct init_args *a);

/* Shared with exec: set the process attributes of `p` (rlimits, user,
 * capabilities, no_new_privs, seccomp...) in the calling process, which is
 * already inside the container.  Leaves seccomp, the final capability set
 * and ambient capabilities for process_finish(). */
struct process_plan {
        const struct spec_process *p;
        const struct seccomp_prog *seccomp;
        char *exe;         /* resolved executable path */
        bool keep_admin;   /* CAP_SYS_ADMIN kept until seccomp is loaded */
        bool seccomp_done; /* already installed (notify profiles) */
};
int process_prepare(struct process_plan *plan, struct berr *err);
/* Last steps right before execve: seccomp, final caps, ambient caps. */
int process_finish(const struct process_plan *plan, struct berr *err);
/* Resolve p->args[0] against PATH from p->env (like execvp, but with the
 * container's PATH, not ours), every candidate looked up inside `rootfd`
 * (the container's root) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS.
 * *ret is the absolute path in the container; caller frees. */
int process_find_exe(int rootfd, const struct spec_process *p, char **ret,
                     struct berr *err);
/* Mark fds >= 3 + preserve close-on-exec, and clear it for preserved. */
void process_close_fds(unsigned preserve_fds);

/* Give every signal its default action and unblock all: a container's
 * process must not inherit what its launcher ignored or blocked (POSIX
 * shells cannot trap a signal that was ignored when they started). */
void process_reset_signals(void);
