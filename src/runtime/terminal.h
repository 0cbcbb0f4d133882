/* Pseudo-terminals for containers with process.terminal set. */
#pragma once

#include <stdbool.h>

struct berr;

/* In the container (after pivot_root, before exec): open a pty pair from
 * the container's own devpts, send the master over `console_sock` with
 * SCM_RIGHTS, make the slave the controlling terminal and fds 0-2.
 * width/height 0 leave the size alone. */
int terminal_setup(int console_sock, unsigned height, unsigned width,
                   struct berr *err);

#include <signal.h>
#include <sys/types.h>

/* Wait for our child `pid` to exit while forwarding every signal in
 * `blocked` (already blocked by the caller) to it, and, when master >= 0,
 * copying between our stdio and the pty master (raw mode on a tty stdin,
 * window size changes passed on).  Stores a shell-style status (code, or
 * 128+signal). */
int terminal_wait_child(pid_t pid, int master, const sigset_t *blocked,
                        int *ret_status);
