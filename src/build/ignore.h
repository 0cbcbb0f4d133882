/* .dockerignore: which paths of a build context are left out, with
 * docker's rules - one pattern per line, '#' comments, '!' exceptions,
 * the last matching line decides, a pattern that matches a directory
 * matches everything under it, '*' and '?' and [classes] within one path
 * component, '**' across any number of them, '\' escapes.  No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct berr;
struct ignore;

int ignore_parse(const char *text, size_t len, struct ignore **ret,
                 struct berr *err);
struct ignore *ignore_free(struct ignore *ig);
/* Is `path` (relative to the context, '/'-separated) left out? */
bool ignore_match(const struct ignore *ig, const char *path);
/* Are there '!' lines (then an excluded directory must still be walked:
 * something under it may be let back in)? */
bool ignore_has_exceptions(const struct ignore *ig);
/* Whether `pattern` matches all of `name` (the glob rules above, no
 * parent-directory rule). */
bool ignore_glob(const char *pattern, const char *name);
/* Lexically clean a path in place (it never grows): "./a//b/../c/" ->
 * "a/c", "a/.." -> ".", "" stays "". */
void ignore_clean_path(char *path);
