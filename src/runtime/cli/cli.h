/* berth-runtime's command line: runc's commands and flags. */
#pragma once

#include "container.h"

struct cli_cmd {
        const char *name;
        int (*fn)(const struct runtime_opts *o, int argc, char **argv);
        const char *usage;
        bool sealed; /* re-exec from a sealed memfd first (enters containers) */
};

extern const struct cli_cmd cli_commands[];

/* Report an error once, the runc way, and return the exit code 1. */
int cli_fail(int r, const struct berr *err);
