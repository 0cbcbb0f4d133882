/* Paths of COPY and ADD as docker's builder reads them: sources are
 * relative to the build context and may not leave it; destinations are
 * relative to WORKDIR, and a trailing '/' (or several sources) makes
 * the destination a directory.  Pure string work, no I/O. */
#pragma once

#include <stdbool.h>

struct berr;

/* `src` cleaned and relative to the context root ("." for the root):
 * "./a/../b/" -> "b", "/etc/x" -> "etc/x" (an absolute source is in the
 * context too).  -EPERM "forbidden path outside the build context" for
 * what climbs out ("../x", "a/../../x"). */
int build_context_path(const char *src, char **ret, struct berr *err);

/* The destination in the image: `dest` against `workdir` (absolute,
 * "/" when empty), cleaned, absolute; *ret_dir when it names a
 * directory (it ends in '/' or "."). */
int build_dest_path(const char *workdir, const char *dest, char **ret,
                    bool *ret_dir, struct berr *err);
