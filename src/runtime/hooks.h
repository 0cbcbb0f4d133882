/* OCI hooks: run each hook of one kind in order, with the container state
 * JSON on its stdin, killing it after its timeout. */
#pragma once

#include "spec.h"

struct berr;

/* Runs hooks[kind] of `s`.  Stops at the first failing hook and returns
 * its error ("poststart hook '/bin/x' exited with status 2").  Callers
 * decide whether a failure is fatal (create-time hooks) or a warning
 * (poststart, poststop) as the runtime spec says. */
int hooks_run(const struct spec *s, enum spec_hook_kind kind,
              const char *state_json, struct berr *err);

const char *hooks_kind_name(enum spec_hook_kind kind);
