/* Dockerfiles: the text into instructions, as the Dockerfile reference
 * and docker's parser read it - parser directives (syntax, escape),
 * comments, line continuations, heredocs, flags, the exec (JSON) and
 * shell forms, ENV/LABEL pairs.  Variables are not expanded here
 * (expand.h does that when the builder knows their values).  No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct berr;

enum df_kind {
        DF_FROM,
        DF_RUN,
        DF_CMD,
        DF_ENTRYPOINT,
        DF_ENV,
        DF_ARG,
        DF_LABEL,
        DF_EXPOSE,
        DF_COPY,
        DF_ADD,
        DF_WORKDIR,
        DF_USER,
        DF_VOLUME,
        DF_STOPSIGNAL,
        DF_HEALTHCHECK,
        DF_SHELL,
        DF_ONBUILD,
        DF_MAINTAINER,
        DF_KIND_MAX,
};

/* --name=value before the arguments (COPY --from=build, FROM
 * --platform=...); value NULL for a bare --name. */
struct df_flag {
        char *name;
        char *value;
};

/* <<EOF ... EOF after RUN, COPY or ADD. */
struct df_heredoc {
        char *name;    /* the delimiter word, without quotes */
        char *content; /* the lines in between, each ending in '\n' */
        bool expand;   /* unquoted delimiter: variables are expanded */
        bool chomp;    /* <<-: leading tabs were removed */
};

struct df_instr {
        enum df_kind kind;
        int line;       /* where it starts (1-based) */
        char *original; /* as written, continuation lines joined */
        struct df_flag *flags;
        size_t n_flags;
        /* The arguments:
         *  exec form (json): the array's strings;
         *  shell form of RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK CMD: one
         *    string, the rest of the line;
         *  ENV, LABEL: key, value, key, value... (quotes still in: they
         *    go through expand.h);
         *  others: the words of the line (quotes kept, split at
         *    whitespace outside quotes). */
        char **args;
        size_t n_args;
        bool json;
        struct df_heredoc *heredocs;
        size_t n_heredocs;
        struct df_instr *inner; /* ONBUILD's instruction; HEALTHCHECK's CMD */
        bool none;              /* HEALTHCHECK NONE */
};

struct dockerfile {
        char escape; /* '\\' or '`' */
        char *syntax;
        struct df_instr *instrs;
        size_t n;
};

/* Parse `text`.  Errors name the line: "dockerfile parse error on line
 * 3: unknown instruction: FORM". */
int dockerfile_parse(const char *text, size_t len, struct dockerfile **ret,
                     struct berr *err);
struct dockerfile *dockerfile_free(struct dockerfile *df);

const char *df_kind_name(enum df_kind k); /* "RUN" */
/* The value of flag `name`, NULL when absent; *ret_present tells a bare
 * flag from none (may be NULL). */
const char *df_flag(const struct df_instr *in, const char *name,
                    bool *ret_present);
