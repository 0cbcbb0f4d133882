/* berth build's parsers: Dockerfiles (directives, continuations,
 * heredocs, forms, errors with line numbers), variable expansion and
 * .dockerignore patterns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dockerfile.h"
#include "error.h"
#include "expand.h"
#include "ignore.h"
#include "paths.h"
#include "plan.h"

static struct dockerfile *parse_ok(const char *text) {
        struct dockerfile *df = NULL;
        struct berr e = {0};
        int r = dockerfile_parse(text, strlen(text), &df, &e);
        if (r < 0)
                fail_msg("parse failed: %s", e.msg);
        return df;
}

static void parse_fails(const char *text, const char *want) {
        struct dockerfile *df = NULL;
        struct berr e = {0};
        assert_true(dockerfile_parse(text, strlen(text), &df, &e) < 0);
        if (!strstr(e.msg, want))
                fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void test_instructions(void **state) {
        (void) state;
        struct dockerfile *df = parse_ok(
                "# syntax=docker/dockerfile:1\n"
                "# a comment\n"
                "FROM busybox AS base\n"
                "\n"
                "ENV A=1 B=\"two words\" \\\n"
                "    C=3\n"
                "ENV LEGACY some value here\n"
                "run echo hi && \\\n"
                "# dropped comment\n"
                "    echo there\n"
                "CMD [\"sh\", \"-c\", \"echo $A\"]\n"
                "ENTRYPOINT [not json\n"
                "COPY --from=base --chown=1:2 a b /dst/\n"
                "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\n"
                "HEALTHCHECK NONE\n"
                "ONBUILD RUN make\n"
                "SHELL [\"/bin/bash\", \"-c\"]\n"
                "LABEL k=v \"x y\"=z\n"
                "EXPOSE 80/tcp 53/udp\n"
                "USER 1000:1000\n"
                "WORKDIR /app\n");
        assert_string_equal(df->syntax, "docker/dockerfile:1");
        assert_int_equal(df->n, 15);
        struct df_instr *in = &df->instrs[0];
        assert_int_equal(in->kind, DF_FROM);
        assert_int_equal(in->line, 3);
        assert_int_equal(in->n_args, 3);
        assert_string_equal(in->args[2], "base");
        in = &df->instrs[1];
        assert_int_equal(in->kind, DF_ENV);
        assert_int_equal(in->line, 5);
        assert_int_equal(in->n_args, 6);
        assert_string_equal(in->args[2], "B");
        assert_string_equal(in->args[3], "\"two words\"");
        assert_string_equal(in->args[5], "3");
        in = &df->instrs[2];
        assert_int_equal(in->n_args, 2);
        assert_string_equal(in->args[1], "some value here");
        in = &df->instrs[3];
        assert_int_equal(in->kind, DF_RUN);
        assert_false(in->json);
        assert_string_equal(in->args[0], "echo hi &&     echo there");
        in = &df->instrs[4];
        assert_true(in->json);
        assert_int_equal(in->n_args, 3);
        assert_string_equal(in->args[2], "echo $A");
        in = &df->instrs[5];
        assert_false(in->json); /* not JSON: the shell form */
        assert_string_equal(in->args[0], "[not json");
        in = &df->instrs[6];
        assert_string_equal(df_flag(in, "from", NULL), "base");
        assert_string_equal(df_flag(in, "chown", NULL), "1:2");
        assert_int_equal(in->n_args, 3);
        in = &df->instrs[7];
        assert_int_equal(in->kind, DF_HEALTHCHECK);
        assert_string_equal(df_flag(in, "interval", NULL), "5s");
        assert_non_null(in->inner);
        assert_string_equal(in->inner->args[0], "wget -q localhost");
        assert_true(df->instrs[8].none);
        in = &df->instrs[9];
        assert_int_equal(in->inner->kind, DF_RUN);
        assert_int_equal(df->instrs[10].n_args, 2);
        in = &df->instrs[11];
        assert_int_equal(in->n_args, 4);
        assert_string_equal(in->args[2], "\"x y\"");
        assert_int_equal(df->instrs[12].n_args, 2);
        dockerfile_free(df);
}

static void test_directives_and_heredocs(void **state) {
        (void) state;
        struct dockerfile *df = parse_ok("# escape=`\n"
                                         "FROM scratch\n"
                                         "RUN dir c:\\ `\n"
                                         "    && echo ok\n"
                                         "RUN <<EOF\n"
                                         "echo one\n"
                                         "echo two\n"
                                         "EOF\n"
                                         "COPY <<-'END' /etc/conf\n"
                                         "\tliteral $X\n"
                                         "\tEND\n");
        assert_int_equal(df->escape, '`');
        assert_string_equal(df->instrs[1].args[0], "dir c:\\     && echo ok");
        struct df_instr *in = &df->instrs[2];
        assert_int_equal(in->n_heredocs, 1);
        assert_string_equal(in->heredocs[0].name, "EOF");
        assert_string_equal(in->heredocs[0].content, "echo one\necho two\n");
        assert_true(in->heredocs[0].expand);
        in = &df->instrs[3];
        assert_int_equal(in->n_heredocs, 1);
        assert_false(in->heredocs[0].expand);
        assert_string_equal(in->heredocs[0].content, "literal $X\n");
        assert_int_equal(in->n_args, 2);
        dockerfile_free(df);
        /* A directive after anything else is a comment. */
        df = parse_ok("FROM x\n# escape=`\nRUN a \\\n b\n");
        assert_int_equal(df->escape, '\\');
        assert_string_equal(df->instrs[1].args[0], "a  b");
        dockerfile_free(df);
}

static void test_errors(void **state) {
        (void) state;
        parse_fails("FROM a\nFORM b\n", "line 2: unknown instruction: FORM");
        parse_fails("", "cannot be empty");
        parse_fails("# just a comment\n\n", "cannot be empty");
        parse_fails("FROM a b\n", "line 1: FROM requires either one or three");
        parse_fails("FROM a\nCOPY onlyone\n",
                    "line 2: COPY requires at least two arguments");
        parse_fails("FROM a\nSHELL sh -c\n", "JSON form");
        parse_fails("FROM a\nENV =x\n", "names can not be blank");
        parse_fails("FROM a\nENV A=1 B\n", "can't find = in \"B\"");
        parse_fails("FROM a\nENV A\n", "must have two arguments");
        parse_fails("FROM a\nRUN --bogus=1 true\n", "unknown flag: bogus");
        parse_fails("FROM a\nONBUILD ONBUILD RUN x\n", "isn't allowed");
        parse_fails("FROM a\nHEALTHCHECK RUN x\n", "try CMD");
        parse_fails("FROM a\nRUN <<EOF\nnever closed\n",
                    "unterminated heredoc");
        parse_fails("# escape=x\nFROM a\n", "invalid escape token");
        parse_fails("FROM a\nUSER a b\n", "USER requires exactly one");
        parse_fails("FROM a\nRUN\n", "RUN requires at least one");
}

struct env {
        const char *const *kv;
};

static const char *lookup(const char *name, void *ud) {
        const char *const *kv = ud;
        for (; kv[0]; kv += 2)
                if (!strcmp(kv[0], name))
                        return kv[1];
        return NULL;
}

static void expands_to(const char *in, const char *want, char esc) {
        static const char *const kv[] = {"A", "one",      "EMPTY", "",
                                         "P", "/usr/bin", NULL};
        char *out = NULL;
        struct berr e = {0};
        int r = expand_word(in, esc, lookup, (void *) kv, &out, &e);
        if (r < 0)
                fail_msg("expand '%s': %s", in, e.msg);
        if (strcmp(out, want))
                fail_msg("expand '%s' gave '%s', want '%s'", in, out, want);
        free(out);
}

static void expand_fails(const char *in, const char *want) {
        static const char *const kv[] = {"A", "one", NULL};
        char *out = NULL;
        struct berr e = {0};
        assert_true(expand_word(in, '\\', lookup, (void *) kv, &out, &e) < 0);
        if (!strstr(e.msg, want))
                fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void test_expand(void **state) {
        (void) state;
        expands_to("$A", "one", '\\');
        expands_to("${A}x", "onex", '\\');
        expands_to("$Ax", "", '\\'); /* $Ax is the variable Ax */
        expands_to("${UNSET:-dflt}", "dflt", '\\');
        expands_to("${EMPTY:-dflt}", "dflt", '\\');
        expands_to("${EMPTY-dflt}", "", '\\');
        expands_to("${A:+alt}", "alt", '\\');
        expands_to("${UNSET:+alt}", "", '\\');
        expands_to("${UNSET:-$P/x}", "/usr/bin/x", '\\');
        expands_to("${UNSET:-${A}}", "one", '\\');
        expands_to("'$A'", "$A", '\\');
        expands_to("\"$A b\"", "one b", '\\');
        expands_to("\\$A", "$A", '\\');
        expands_to("\"\\$A\"", "$A", '\\');
        expands_to("a\\ b", "a b", '\\');
        expands_to("`$A", "$A", '`');
        expands_to("c:\\dir", "c:\\dir", '`');
        expands_to("cost $5x", "cost x", '\\'); /* positional: one digit */
        expands_to("$", "$", '\\');
        expand_fails("${A", "missing '}'");
        expand_fails("${A/x/y}", "unsupported modifier");
        expand_fails("${UNSET:?is required}", "UNSET: is required");
        expand_fails("\"open", "double-quote");
        expand_fails("'open", "single-quote");
}

static struct ignore *ig_of(const char *text) {
        struct ignore *ig = NULL;
        struct berr e = {0};
        assert_int_equal(ignore_parse(text, strlen(text), &ig, &e), 0);
        return ig;
}

static void test_ignore(void **state) {
        (void) state;
        assert_true(ignore_glob("*.go", "a.go"));
        assert_false(ignore_glob("*.go", "d/a.go"));
        assert_true(ignore_glob("**/*.go", "d/e/a.go"));
        assert_true(ignore_glob("**/*.go", "a.go"));
        assert_true(ignore_glob("a/**", "a/b/c"));
        assert_true(ignore_glob("a/**/z", "a/z"));
        assert_true(ignore_glob("a/**/z", "a/b/c/z"));
        assert_true(ignore_glob("fil?", "file"));
        assert_false(ignore_glob("fil?", "fil/"));
        assert_true(ignore_glob("[a-c]x", "bx"));
        assert_false(ignore_glob("[!a-c]x", "bx"));
        /* A hostile pattern costs polynomial time, not exponential (this
         * took minutes before the memo). */
        char name[301];
        memset(name, 'a', 300);
        name[300] = '\0';
        assert_false(
                ignore_glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
        assert_false(ignore_glob("**a**a**a**a**a**a**a**a**a**a**a**b", name));
        assert_true(ignore_glob("\\*", "*"));
        assert_false(ignore_glob("\\*", "a"));
        struct ignore *ig = ig_of("# comment\n"
                                  "*.md\n"
                                  "!README.md\n"
                                  "/build\n"
                                  "**/*.tmp\n"
                                  "  node_modules  \n"
                                  "docs/./old/../drafts\n");
        assert_true(ignore_has_exceptions(ig));
        assert_true(ignore_match(ig, "NOTES.md"));
        assert_false(ignore_match(ig, "README.md"));
        assert_false(ignore_match(ig, "sub/NOTES.md")); /* '*' is one level */
        assert_true(ignore_match(ig, "build"));
        assert_true(ignore_match(ig, "build/out/x.o")); /* under it */
        assert_true(ignore_match(ig, "a/b/c.tmp"));
        assert_true(ignore_match(ig, "node_modules/x/index.js"));
        assert_true(ignore_match(ig, "docs/drafts/a"));
        assert_false(ignore_match(ig, "docs/old"));
        assert_false(ignore_match(ig, "src/main.c"));
        ignore_free(ig);
        char p[64];
        const char *cases[][2] = {
                {"./a//b/../c/", "a/c"}, {"", ""},         {".", "."},
                {"a/..", "."},           {"../x", "../x"}, {"/a/b", "/a/b"},
                {"a/../../b", "../b"}};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(p, sizeof(p), "%s", cases[i][0]);
                ignore_clean_path(p);
                if (strcmp(p, cases[i][1]))
                        fail_msg("clean '%s' gave '%s', want '%s'", cases[i][0],
                                 p, cases[i][1]);
        }
}

static struct build_plan *plan_of(const char *text, char *const *args,
                                  const char *target,
                                  struct dockerfile **ret_df) {
        struct dockerfile *df = parse_ok(text);
        struct build_plan *p = NULL;
        struct berr e = {0};
        if (build_plan_make(df, args, target, &p, &e) < 0)
                fail_msg("plan failed: %s", e.msg);
        *ret_df = df;
        return p;
}

static void plan_fails(const char *text, const char *target, const char *want) {
        struct dockerfile *df = parse_ok(text);
        struct build_plan *p = NULL;
        struct berr e = {0};
        assert_true(build_plan_make(df, NULL, target, &p, &e) < 0);
        if (!strstr(e.msg, want))
                fail_msg("message '%s' lacks '%s'", e.msg, want);
        dockerfile_free(df);
}

static void test_plan(void **state) {
        (void) state;
        static const char multi[] =
                "ARG BASE=busybox\n"
                "ARG TAG\n"
                "FROM ${BASE}:${TAG:-latest} AS Build\n"
                "RUN make\n"
                "FROM scratch AS unused\n"
                "COPY x /x\n"
                "FROM build AS test\n"
                "RUN make test\n"
                "FROM --platform=linux/${ARCH:-amd64} debian AS final\n"
                "COPY --from=build /out /app\n"
                "COPY --from=0 /more /app\n"
                "COPY --from=alpine:3 /etc/os-release /\n";
        struct dockerfile *df;
        char *args[] = {"TAG=1.36", NULL};
        struct build_plan *p = plan_of(multi, args, NULL, &df);
        assert_int_equal(p->n, 4);
        assert_string_equal(p->stages[0].base, "busybox:1.36");
        assert_string_equal(p->stages[0].name, "build");
        assert_int_equal(p->stages[0].first, 3);
        assert_int_equal(p->stages[0].last, 4);
        assert_int_equal(p->stages[2].base_stage, 0);
        assert_string_equal(p->stages[3].platform, "linux/amd64");
        assert_int_equal(p->target, 3);
        /* The last stage needs build (by name and by index), not the
         * others; alpine:3 is an image. */
        assert_true(p->stages[0].needed);
        assert_false(p->stages[1].needed);
        assert_false(p->stages[2].needed);
        assert_true(p->stages[3].needed);
        assert_int_equal(build_plan_stage(p, "alpine:3", 3), -1);
        assert_int_equal(build_plan_stage(p, "BUILD", 3), 0);
        assert_int_equal(build_plan_stage(p, "test", 2), -1); /* later */
        build_plan_free(p);
        dockerfile_free(df);
        /* --target test: build and test. */
        p = plan_of(multi, NULL, "test", &df);
        assert_int_equal(p->target, 2);
        assert_string_equal(p->stages[0].base, "busybox:latest");
        assert_true(p->stages[0].needed && p->stages[2].needed);
        assert_false(p->stages[1].needed || p->stages[3].needed);
        build_plan_free(p);
        dockerfile_free(df);
        plan_fails("FROM a\n", "nope", "failed to reach build target nope");
        plan_fails("RUN x\nFROM a\n", NULL, "no build stage");
        plan_fails("ARG X\n", NULL, "no FROM");
        plan_fails("FROM a AS x\nFROM b AS X\n", NULL, "duplicate stage");
        plan_fails("ARG B\nFROM ${B}\n", NULL, "should not be blank");
        plan_fails("ARG 1X=2\nFROM a\n", NULL, "invalid ARG name");
}

static void test_paths(void **state) {
        (void) state;
        const char *ok[][2] = {{"./a/../b/", "b"}, {"/etc/x", "etc/x"},
                               {".", "."},         {"", "."},
                               {"a//b", "a/b"},    {"a/..", "."},
                               {"/../x", "x"},     {"/", "."}};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char *p = NULL;
                struct berr e = {0};
                assert_int_equal(build_context_path(ok[i][0], &p, &e), 0);
                assert_string_equal(p, ok[i][1]);
                free(p);
        }
        const char *bad[] = {"../x", "a/../../x", ".."};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *p = NULL;
                struct berr e = {0};
                assert_int_equal(build_context_path(bad[i], &p, &e), -EPERM);
                assert_non_null(strstr(e.msg, "outside the build context"));
        }
        struct {
                const char *wd, *dest, *want;
                bool dir;
        } d[] = {{"/app", "x", "/app/x", false},
                 {"/app", "sub/", "/app/sub", true},
                 {"/app", ".", "/app", true},
                 {"", "/etc/conf", "/etc/conf", false},
                 {"/", "../../x", "/x", false},
                 {"/app", "/", "/", true},
                 {"/a/b", "../c/.", "/a/c", true}};
        for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
                char *p = NULL;
                bool dir = false;
                struct berr e = {0};
                assert_int_equal(
                        build_dest_path(d[i].wd, d[i].dest, &p, &dir, &e), 0);
                if (strcmp(p, d[i].want) || dir != d[i].dir)
                        fail_msg("dest %s in %s: '%s' (%d), want '%s' (%d)",
                                 d[i].dest, d[i].wd, p, dir, d[i].want,
                                 d[i].dir);
                free(p);
        }
        char *p = NULL;
        bool dir;
        struct berr e = {0};
        assert_true(build_dest_path("/", "", &p, &dir, &e) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_instructions),
                cmocka_unit_test(test_directives_and_heredocs),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_ignore),
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
