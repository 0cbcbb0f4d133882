/* Defence against CVE-2019-5736: before any of its processes enters a
 * container, the runtime re-executes itself from a copy of its binary that
 * cannot be written: a detached read-only mount of it (open_tree +
 * mount_setattr, no copy), or, where the kernel lacks that, a sealed memfd.
 * /proc/PID/exe of a process in a container then never leads to a
 * writable host binary. */
#pragma once

/* If the running binary is writable through /proc/self/exe, re-execute
 * from a protected copy with the same argv/envp.  Returns only on failure
 * (or 0 when already protected). */
int selfexec_ensure_sealed(char **argv, char **envp);

/* 1 when /proc/self/exe is a sealed memfd or on a read-only mount, 0 when
 * not, < 0 on error. */
int selfexec_is_sealed(void);
