/* The one error convention (see docs/ARCHITECTURE.md).
 *
 * Functions that can fail return int: a negative errno on failure, >= 0 on
 * success.  When a message must travel to a user (possibly across
 * processes), the function also fills an optional struct berr, naming the
 * object and path in quotes: "mount 'proc' on '/proc': Permission denied". */
#pragma once

#include <stdarg.h>

#define BERR_MSG_MAX 1024

struct berr {
        int code;               /* positive errno, 0 when unset */
        char msg[BERR_MSG_MAX]; /* complete sentence fragment, no newline */
};

/* Record an error.  `code` may be given as positive or negative errno.
 * When the error object already holds a message it is kept (the first,
 * innermost error is the most precise).  Returns -abs(code) so callers can
 * write `return berr_set(err, r, "...")`.  The message gets ": strerror"
 * appended when code is non-zero and the format does not end in ':'. */
int berr_set(struct berr *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like berr_set but without the strerror suffix. */
int berr_setx(struct berr *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "create container 'x': <old message>". */
int berr_prefix(struct berr *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

void berr_clear(struct berr *err);

/* Message to show for an error: the recorded one, or strerror(code). */
const char *berr_message(const struct berr *err, int code);
