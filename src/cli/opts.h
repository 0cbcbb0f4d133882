/* docker-style command-line flags: --long, --long=value, --long value,
 * -s, -svalue, -s value, grouped short booleans (-it), repeated list
 * flags (-e A -e B).  Unknown flags and missing values are errors with
 * docker's wording. */
#pragma once

#include <stdbool.h>

enum opt_kind { OPT_BOOL, OPT_STR, OPT_LIST, OPT_INT };

struct opt {
        const char *lng;
        char shrt;
        enum opt_kind kind;
        void *dest; /* bool*, const char**, char***, long* */
        const char *help;
};

struct cmd_spec {
        const char *name;  /* "run", "image ls" */
        const char *usage; /* "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
        const char *summary;
        int min_args, max_args;  /* max -1: any */
        bool stop_at_positional; /* run/exec/create: flags end at IMAGE */
        int usage_exit;          /* 1, or 125 for run/create */
};

/* Parse argv (argv[0] is the command).  Positionals are returned in
 * *ret_args (borrowed pointers, NULL-terminated).  Returns the number of
 * positionals, -1 after printing a usage error (exit with
 * spec->usage_exit), or -2 when --help was shown (exit 0). */
int opts_parse(const struct cmd_spec *spec, const struct opt *opts, int argc,
               char **argv, char ***ret_args);

void opts_usage(const struct cmd_spec *spec, const struct opt *opts);

/* Parse docker's sizes: "64m", "1g", "512" (bytes); -1 on error. */
long long parse_size(const char *s);
