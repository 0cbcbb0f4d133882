/* Unit tests for the CLI's registry pieces: docker references,
 * config.json credentials and credential helpers, X-Registry-Auth, and
 * the progress renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "base64.h"
#include "cleanup.h"
#include "progress.h"
#include "reference.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- references ---- */

struct ref_case {
        const char *in;
        const char *name, *tag, *digest, *familiar, *string;
};

static void test_reference_normalize(void **state) {
        static const char dg[] = "sha256:0123456789abcdef0123456789abcdef"
                                 "0123456789abcdef0123456789abcdef";
        const struct ref_case cases[] = {
                {"busybox", "docker.io/library/busybox", NULL, NULL, "busybox",
                 "docker.io/library/busybox"},
                {"busybox:1.36", "docker.io/library/busybox", "1.36", NULL,
                 "busybox:1.36", "docker.io/library/busybox:1.36"},
                {"user/app", "docker.io/user/app", NULL, NULL, "user/app",
                 "docker.io/user/app"},
                {"docker.io/busybox", "docker.io/library/busybox", NULL, NULL,
                 "busybox", "docker.io/library/busybox"},
                {"index.docker.io/library/busybox:1",
                 "docker.io/library/busybox", "1", NULL, "busybox:1",
                 "docker.io/library/busybox:1"},
                {"localhost/x", "localhost/x", NULL, NULL, "localhost/x",
                 "localhost/x"},
                {"localhost:5000/a/b:t", "localhost:5000/a/b", "t", NULL,
                 "localhost:5000/a/b:t", "localhost:5000/a/b:t"},
                {"127.0.0.1:5000/x@sha256:0123456789abcdef0123456789abcdef"
                 "0123456789abcdef0123456789abcdef",
                 "127.0.0.1:5000/x", NULL, dg, NULL, NULL},
                {"Foo/bar", "Foo/bar", NULL, NULL, "Foo/bar", "Foo/bar"},
                {"[::1]:5000/x:1", "[::1]:5000/x", "1", NULL, "[::1]:5000/x:1",
                 "[::1]:5000/x:1"},
                {"a-b__c.d/e---f:Tag_1.x-", "a-b__c.d/e---f", "Tag_1.x-", NULL,
                 NULL, NULL},
                /* Not a domain (underscore): the whole is the path. */
                {"a.b_c/x", "a.b_c/x", NULL, NULL, "a.b_c/x", "a.b_c/x"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct reference r;
                struct berr e = {0};
                int rc = reference_parse_normalized(cases[i].in, &r, &e);
                if (rc < 0)
                        fail_msg("%s: %s", cases[i].in, e.msg);
                _cleanup_free_ char *name = reference_name(&r);
                assert_string_equal(name, cases[i].name);
                if (cases[i].tag)
                        assert_string_equal(r.tag, cases[i].tag);
                else
                        assert_null(r.tag);
                if (cases[i].digest)
                        assert_string_equal(r.digest, cases[i].digest);
                else
                        assert_null(r.digest);
                if (cases[i].familiar) {
                        _cleanup_free_ char *f = reference_familiar_string(&r);
                        assert_string_equal(f, cases[i].familiar);
                }
                if (cases[i].string) {
                        _cleanup_free_ char *s = reference_string(&r);
                        assert_string_equal(s, cases[i].string);
                }
                reference_done(&r);
        }
}

static void test_reference_errors(void **state) {
        char long_name[300];
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        const struct {
                const char *in, *msg;
        } cases[] = {
                {"UPPER", "invalid reference format: repository name "
                          "(library/UPPER) must be lowercase"},
                {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
                 "abcdef",
                 "invalid repository name (0123456789abcdef0123456789abcdef0"
                 "123456789abcdef0123456789abcdef), cannot specify 64-byte "
                 "hexadecimal strings"},
                {"x:y:z", "invalid reference format"},
                {"", "invalid reference format"},
                {"x@sha256:1234", "invalid reference format"},
                {"x@md5:0123456789abcdef0123456789abcdef",
                 "unsupported digest algorithm"},
                {"x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                 "0123456789abcde",
                 "invalid checksum digest length"},
                {"x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef"
                 "0123456789abcdef",
                 "invalid checksum digest format"},
                {"Foo_Bar/x", "repository name must be lowercase"},
                {long_name, "repository name must not be more than 255 "
                            "characters"},
                {"x:", "invalid reference format"},
                {"-x", "invalid reference format"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct reference r;
                struct berr e = {0};
                assert_int_equal(
                        reference_parse_normalized(cases[i].in, &r, &e),
                        -EINVAL);
                assert_string_equal(e.msg, cases[i].msg);
        }
}

static void test_reference_any_and_keys(void **state) {
        struct reference r = {0};
        struct berr e = {0};
        assert_int_equal(
                reference_parse_any("0123456789abcdef0123456789abcdef0123456"
                                    "789abcdef0123456789abcdef",
                                    &r, &e),
                0);
        assert_int_equal(
                reference_parse_any("sha256:0123456789abcdef0123456789abcdef"
                                    "0123456789abcdef0123456789abcdef",
                                    &r, &e),
                0);
        assert_int_equal(reference_parse_any("abc123", &r, &e), 1);
        assert_int_equal(reference_tag_name_only(&r), 0);
        _cleanup_free_ char *f = reference_familiar_string(&r);
        assert_string_equal(f, "abc123:latest");
        reference_done(&r);
        assert_string_equal(reference_auth_key("docker.io"),
                            "https://index.docker.io/v1/");
        assert_string_equal(reference_auth_key("127.0.0.1:5000"),
                            "127.0.0.1:5000");
}

/* ---- credentials ---- */

static char *tmpdir(void) {
        char *d = strdup("/tmp/berth-unit-cli-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static void rmdir_all(const char *d) {
        rm_rf_at(AT_FDCWD, d);
}

static void test_base64_and_header(void **state) {
        _cleanup_free_ char *a = base64_encode("user:pass", 9, false);
        assert_string_equal(a, "dXNlcjpwYXNz");
        _cleanup_free_ char *u = base64_encode("\xfb\xff", 2, true);
        assert_string_equal(u, "-_8=");
        _cleanup_free_ char *plain = NULL;
        size_t len;
        assert_int_equal(base64_decode("dXNlcjpwYXNz", &plain, &len), 0);
        assert_string_equal(plain, "user:pass");
        assert_int_equal(len, 9);
        char *bad = NULL;
        assert_int_equal(base64_decode("a$b=", &bad, NULL), -EINVAL);

        struct auth_config none = {0};
        _cleanup_free_ char *h0 = auth_encode_header(&none);
        assert_string_equal(h0, "e30=");
        struct auth_config c = {.username = "u",
                                .password = "p",
                                .serveraddress = "127.0.0.1:5000"};
        _cleanup_free_ char *h = auth_encode_header(&c);
        _cleanup_free_ char *json = NULL;
        assert_int_equal(base64_decode(h, &json, NULL), 0);
        assert_string_equal(json, "{\"username\":\"u\",\"password\":\"p\","
                                  "\"serveraddress\":\"127.0.0.1:5000\"}");

        const char *const urls[][2] = {
                {"https://index.docker.io/v1/", "index.docker.io"},
                {"http://127.0.0.1:5000/v2/", "127.0.0.1:5000"},
                {"127.0.0.1:5000/v2/", "127.0.0.1:5000"},
                {"https://u@host.example", "host.example"},
                {"host", "host"}};
        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                _cleanup_free_ char *hn = auth_convert_to_hostname(urls[i][0]);
                assert_string_equal(hn, urls[i][1]);
        }
}

static void write_text(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, text, strlen(text)), 0);
        close(fd);
        chmod(path, mode);
}

static void test_config_file_store(void **state) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *path = str_printf("%s/sub/config.json", d);
        struct auth_file f = {0};
        struct berr e = {0};
        /* A missing file is an empty config; the store creates it 0600. */
        assert_int_equal(auth_file_load(path, &f, &e), 0);
        struct auth_config a = {.username = "user",
                                .password = "pass",
                                .serveraddress = "127.0.0.1:5000"};
        bool plain = false;
        assert_int_equal(auth_store(&f, &a, &plain, &e), 0);
        assert_true(plain);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL), 0);
        assert_string_equal(text, "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5000\": "
                                  "{\n\t\t\t\"auth\": \"dXNlcjpwYXNz\"\n\t\t}"
                                  "\n\t}\n}");
        /* Storing the same again does not rewrite (no warning either). */
        assert_int_equal(auth_store(&f, &a, &plain, &e), 0);
        assert_false(plain);
        auth_file_done(&f);

        /* Other keys survive; lookups by key and by URL (old configs). */
        write_text(path,
                   "{\"psFormat\": \"x\", \"auths\": {\"https://reg.example:"
                   "5000/v1/\": {\"auth\": \"YTpi\", \"email\": \"m@x\"}}, "
                   "\"proxies\": {\"default\": {\"httpProxy\": \"p\"}}}",
                   0644);
        assert_int_equal(auth_file_load(path, &f, &e), 0);
        struct auth_config got = {0};
        assert_int_equal(auth_get(&f, "reg.example:5000", &got, &e), 0);
        assert_string_equal(got.username, "a");
        assert_string_equal(got.password, "b");
        assert_string_equal(got.email, "m@x");
        assert_string_equal(got.serveraddress, "https://reg.example:5000/v1/");
        auth_config_done(&got);
        assert_int_equal(auth_get(&f, "nothing.example", &got, &e), 0);
        assert_null(got.username);
        assert_int_equal(auth_store(&f, &a, &plain, &e), 0);
        auth_file_done(&f);
        assert_int_equal(auth_file_load(path, &f, &e), 0);
        assert_string_equal(
                json_string_value(json_object_get(f.json, "psFormat")), "x");
        assert_non_null(json_object_get(f.json, "proxies"));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644); /* kept, as docker */
        assert_int_equal(auth_erase(&f, "127.0.0.1:5000", &e), 0);
        assert_null(json_object_get(json_object_get(f.json, "auths"),
                                    "127.0.0.1:5000"));
        assert_int_equal(auth_erase(&f, "127.0.0.1:5000", &e), 0);
        auth_file_done(&f);

        write_text(path, "{not json", 0600);
        assert_int_equal(auth_file_load(path, &f, &e), -EINVAL);
        assert_non_null(strstr(e.msg, path));
        rmdir_all(d);
}

/* A credential helper in shell: secrets in $DIR/secret, one at a time. */
static const char helper_script[] =
        "#!/bin/sh\n"
        "d=$(dirname \"$0\")\n"
        "case \"$1\" in\n"
        "store) cat > \"$d/secret\" ;;\n"
        "get) k=$(cat); if [ -s \"$d/secret\" ] && grep -q \"\\\"$k\\\"\" "
        "\"$d/secret\"; then\n"
        "  cat \"$d/secret\"; else echo 'credentials not found in native "
        "keychain'; exit 1; fi ;;\n"
        "erase) k=$(cat); echo \"$k\" > \"$d/erased\"; : > \"$d/secret\" ;;\n"
        "*) echo unknown; exit 3 ;;\n"
        "esac\n";

static void test_credential_helper(void **state) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *helper =
                str_printf("%s/docker-credential-unit", d);
        write_text(helper, helper_script, 0755);
        _cleanup_free_ char *old_path =
                strdup(getenv("PATH") ?: "/usr/bin:/bin");
        _cleanup_free_ char *new_path = str_printf("%s:%s", d, old_path);
        setenv("PATH", new_path, 1);
        _cleanup_free_ char *path = str_printf("%s/config.json", d);
        write_text(path,
                   "{\"credsStore\": \"unit\", \"credHelpers\": "
                   "{\"other.example\": \"missing-helper\"}}",
                   0600);
        struct auth_file f = {0};
        struct berr e = {0};
        assert_int_equal(auth_file_load(path, &f, &e), 0);
        assert_string_equal(auth_helper_for(&f, "x.example"), "unit");
        assert_string_equal(auth_helper_for(&f, "other.example"),
                            "missing-helper");
        /* Nothing stored yet: not an error. */
        struct auth_config got = {0};
        assert_int_equal(auth_get(&f, "x.example", &got, &e), 0);
        assert_null(got.username);
        struct auth_config a = {
                .username = "u", .password = "p", .serveraddress = "x.example"};
        bool plain = true;
        assert_int_equal(auth_store(&f, &a, &plain, &e), 0);
        assert_false(plain);
        /* The file keeps an empty entry, as docker's does. */
        json_t *entry =
                json_object_get(json_object_get(f.json, "auths"), "x.example");
        assert_true(json_is_object(entry));
        assert_int_equal(json_object_size(entry), 0);
        assert_int_equal(auth_get(&f, "x.example", &got, &e), 0);
        assert_string_equal(got.username, "u");
        assert_string_equal(got.password, "p");
        assert_string_equal(got.serveraddress, "x.example");
        auth_config_done(&got);
        /* An identity token travels as "<token>". */
        struct auth_config t = {.username = "u",
                                .identitytoken = "tok",
                                .serveraddress = "x.example"};
        assert_int_equal(auth_store(&f, &t, &plain, &e), 0);
        assert_int_equal(auth_get(&f, "x.example", &got, &e), 0);
        assert_null(got.username);
        assert_string_equal(got.identitytoken, "tok");
        auth_config_done(&got);
        assert_int_equal(auth_erase(&f, "x.example", &e), 0);
        _cleanup_free_ char *erased_path = str_printf("%s/erased", d);
        _cleanup_free_ char *erased = NULL;
        assert_int_equal(
                read_file_at(AT_FDCWD, erased_path, 4096, &erased, NULL), 0);
        assert_string_equal(erased, "x.example\n");
        /* A helper that is not there: docker's (Go's) words. */
        assert_true(auth_get(&f, "other.example", &got, &e) < 0);
        assert_string_equal(e.msg, "error getting credentials - err: exec: "
                                   "\"docker-credential-missing-helper\": "
                                   "executable file not found in $PATH, out: "
                                   "``");
        auth_file_done(&f);
        setenv("PATH", old_path, 1);
        rmdir_all(d);
}

/* ---- progress ---- */

static void test_progress_bar(void **state) {
        const struct {
                int64_t cur, total;
                bool hide;
                const char *units;
                int width;
                const char *want;
        } cases[] = {
                {0, 0, false, NULL, 200, ""},
                {1234567, 0, false, NULL, 200, " 1.235MB"},
                {3, 0, false, "layers", 200, "3 layers"},
                {229376, 20006292, false, NULL, 200,
                 "[>                                                  ]  "
                 "229.4kB/20.01MB"},
                {1065000, 1065000, false, NULL, 200,
                 "[==================================================>]  "
                 "1.065MB/1.065MB"},
                {50, 100, false, NULL, 100, "     50B/100B"},
                {200, 100, false, NULL, 80, "    200B"},
                {3, 7, false, "layers", 80, "3/7 layers"},
                {9, 7, false, "layers", 80, "9 layers"},
                {5, 10, true, NULL, 80, ""},
                {999999, 1000000, false, NULL, 80, "  1000kB/1MB"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = progress_format_bar(
                        cases[i].cur, cases[i].total, 0, cases[i].hide,
                        cases[i].units, cases[i].width, 0);
                assert_string_equal(s, cases[i].want);
        }
        /* Time left: 10 s for 25 of 100, so 30 s more. */
        _cleanup_free_ char *left = progress_format_bar(
                25, 100, 1000, false, NULL, 80, 1010 * 1000000000LL);
        assert_string_equal(left, "     25B/100B 30s");
        _cleanup_free_ char *hours = progress_format_bar(
                1, 100, 1000, false, NULL, 80, 1100 * 1000000000LL);
        assert_string_equal(hours, "      1B/100B 2h45m0s");
}

/* Draw `stream` fed `chunk` bytes at a time; *ret is the result and
 * *ret_error the renderer's message. */
static char *render(const char *stream, bool terminal, int width, size_t chunk,
                    int *ret, char **ret_error) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct progress *p = progress_new(f, terminal, width);
        int r = 0;
        for (size_t off = 0; r == 0 && off < strlen(stream); off += chunk) {
                size_t n = strlen(stream + off) < chunk ? strlen(stream + off)
                                                        : chunk;
                r = progress_feed(p, stream + off, n);
        }
        if (r == 0)
                r = progress_end(p);
        *ret = r;
        *ret_error = strdup(progress_error(p));
        progress_free(p);
        fclose(f);
        return buf;
}

static const char pull_stream[] =
        "{\"status\":\"Pulling from library/busybox\",\"id\":\"1\"}\r\n"
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a\"}"
        "\r\n"
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"b\"}"
        "\r\n"
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":50,"
        "\"total\":100},\"progress\":\"[=>  ] 50B/100B\",\"id\":\"a\"}\r\n"
        "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"b\"}"
        "\r\n"
        "{\"status\":\"Digest: sha256:x\"}\r\n";

static void test_progress_render(void **state) {
        int r;
        /* Off a terminal: no bars, one line per message. */
        for (size_t chunk = 1; chunk < 9; chunk += 7) {
                _cleanup_free_ char *msg = NULL;
                _cleanup_free_ char *plain =
                        render(pull_stream, false, 0, chunk, &r, &msg);
                assert_int_equal(r, 0);
                assert_string_equal(plain, "1: Pulling from library/busybox\n"
                                           "a: Pulling fs layer\n"
                                           "b: Pulling fs layer\n"
                                           "b: Pull complete\n"
                                           "Digest: sha256:x\n");
        }
        /* On a terminal: each id keeps its line, redrawn in place. */
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *tty = render(pull_stream, true, 80, 64, &r, &msg);
        assert_int_equal(r, 0);
        assert_string_equal(tty, "1: Pulling from library/busybox\n"
                                 "\n\x1b[1A\x1b[2K\ra: Pulling fs layer \r"
                                 "\x1b[1B"
                                 "\n\x1b[1A\x1b[2K\rb: Pulling fs layer \r"
                                 "\x1b[1B"
                                 "\x1b[2A\x1b[2K\ra: Downloading      "
                                 "50B/100B\r\x1b[2B"
                                 "\x1b[1A\x1b[2K\rb: Pull complete \r\x1b[1B"
                                 "Digest: sha256:x\n");
        /* An error message ends it; the rest is not drawn. */
        _cleanup_free_ char *emsg = NULL;
        _cleanup_free_ char *e =
                render("{\"status\":\"one\"}\r\n{\"errorDetail\":{\"message\":"
                       "\"layer broke: 500 Internal\"},\"error\":\"layer "
                       "broke: 500 Internal\"}\r\n{\"status\":\"two\"}\r\n",
                       false, 0, 5, &r, &emsg);
        assert_int_equal(r, -EPROTO);
        assert_string_equal(e, "one\n");
        assert_string_equal(emsg, "layer broke: 500 Internal");
        /* Cut inside a message, or not JSON at all. */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct progress *p = progress_new(f, false, 0);
        assert_int_equal(progress_feed(p, "{\"status\":\"x", 12), 0);
        assert_int_equal(progress_end(p), -EPROTO);
        assert_string_equal(progress_error(p), "unexpected EOF");
        progress_free(p);
        p = progress_new(f, false, 0);
        assert_int_equal(progress_feed(p, "<html>", 6), -EPROTO);
        assert_string_equal(progress_error(p), "invalid character '<' looking "
                                               "for beginning of value");
        progress_free(p);
        fclose(f);
        free(buf);
}

static void count_aux(json_t *aux, void *ud) {
        (*(int *) ud)++;
        assert_int_equal(json_integer_value(json_object_get(aux, "Size")), 528);
}

static void test_progress_aux_and_quiet(void **state) {
        int n = 0;
        struct progress *p = progress_new(NULL, false, 0);
        progress_set_aux(p, count_aux, &n);
        const char s[] = "{\"status\":\"x\"}{\"progressDetail\":{},\"aux\":"
                         "{\"Tag\":\"1\",\"Size\":528}}";
        assert_int_equal(progress_feed(p, s, strlen(s)), 0);
        assert_int_equal(progress_end(p), 0);
        assert_int_equal(n, 1);
        progress_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reference_normalize),
                cmocka_unit_test(test_reference_errors),
                cmocka_unit_test(test_reference_any_and_keys),
                cmocka_unit_test(test_base64_and_header),
                cmocka_unit_test(test_config_file_store),
                cmocka_unit_test(test_credential_helper),
                cmocka_unit_test(test_progress_bar),
                cmocka_unit_test(test_progress_render),
                cmocka_unit_test(test_progress_aux_and_quiet),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
