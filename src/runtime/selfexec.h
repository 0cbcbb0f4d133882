/* Defence against CVE-2019-5736: the runtime re-executes itself from a
 * sealed, anonymous in-memory copy before any of its processes enters a
 * container, so /proc/PID/exe of such a process points at a memfd that
 * cannot be written, never at the host binary. */
#pragma once

/* If the running binary is not a sealed memfd, copy it into one, seal it
 * and execve it with the same argv/envp.  Returns only on failure (or 0
 * when already sealed). */
int selfexec_ensure_sealed(char **argv, char **envp);

/* 1 when /proc/self/exe is a sealed memfd, 0 when not, < 0 on error. */
int selfexec_is_sealed(void);
