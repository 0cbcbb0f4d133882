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

/* Copy between our stdio and a pty master until the master hangs up
 * (the container exited).  Puts our stdin in raw mode when it is a tty and
 * restores it; passes window size changes on. */
int terminal_proxy(int master);
