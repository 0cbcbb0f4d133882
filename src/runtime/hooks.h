/* OCI hooks: run each hook of one kind in order, with the container state
 * JSON on its stdin, killing it after its timeout. */
#pragma once

#include <stddef.h>

#include "spec.h"

struct berr;

/* Runs hooks[kind] of `s`.  Stops at the first failing hook and returns
 * its error ("poststart hook '/bin/x' exited with status 2").  Callers
 * decide whether a failure is fatal (create-time hooks) or a warning
 * (poststart, poststop) as the runtime spec says. */
int hooks_run(const struct spec *s, enum spec_hook_kind kind,
              const char *state_json, struct berr *err);

/* Runs every hook of hooks[kind], also after one failed — what the
 * runtime spec asks for poststart and poststop, whose failures are
 * warnings.  `failed` hears of each failure; returns how many failed. */
typedef void (*hooks_failed_fn)(const struct berr *err, int code, void *ud);
size_t hooks_run_each(const struct spec *s, enum spec_hook_kind kind,
                      const char *state_json, hooks_failed_fn failed, void *ud);

const char *hooks_kind_name(enum spec_hook_kind kind);
