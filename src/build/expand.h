/* Variables in Dockerfile words, as docker's shell lexer expands them:
 * $NAME, ${NAME}, ${NAME:-word} ${NAME-word} ${NAME:+word} ${NAME+word}
 * ${NAME:?msg} ${NAME?msg}; single quotes are literal, double quotes
 * expand, the escape character (\ or `) takes the next character as
 * it is; quotes are removed.  No I/O. */
#pragma once

#include <stddef.h>

struct berr;

/* The value of `name`, or NULL when it is not set. */
typedef const char *(*expand_lookup_fn)(const char *name, void *ud);

/* One word, expanded: *ret (malloc'ed).  Errors: a missing '}', an
 * unknown modifier, ${X:?msg} with X unset. */
int expand_word(const char *word, char esc, expand_lookup_fn lookup, void *ud,
                char **ret, struct berr *err);
