/* The shim's json-file log writer: encoding, line splitting, rotation. */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"
#include "util.h"

static json_t *decode(const char *line, size_t len) {
        json_error_t je;
        json_t *j = json_loadb(line, len, 0, &je);
        assert_non_null(j);
        return j;
}

static void test_encode(void **state) {
        (void) state;
        static char out[6 * 64 + 128];
        const char in[] = "a\"b\\c\n\t\x01\xc3\xa9\xff\xe2\x82";
        size_t n = logfile_encode(out, "stderr", in, sizeof(in) - 1,
                                  "2026-01-02T03:04:05.000000006Z");
        assert_true(out[n - 1] == '\n');
        json_t *j = decode(out, n);
        const char *log = json_string_value(json_object_get(j, "log"));
        /* é kept, the stray bytes become U+FFFD. */
        assert_string_equal(log, "a\"b\\c\n\t\x01\xc3\xa9\xef\xbf\xbd"
                                 "\xef\xbf\xbd\xef\xbf\xbd");
        assert_string_equal(json_string_value(json_object_get(j, "stream")),
                            "stderr");
        assert_string_equal(json_string_value(json_object_get(j, "time")),
                            "2026-01-02T03:04:05.000000006Z");
        json_decref(j);
}

static char *tmpdir(void) {
        char *d = strdup("/tmp/berth-unit-log.XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static size_t count_lines(const char *path, size_t *max_log) {
        FILE *f = fopen(path, "r");
        if (!f)
                return 0;
        char *line = NULL;
        size_t cap = 0, n = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) > 0) {
                json_t *j = decode(line, (size_t) len);
                size_t l = strlen(json_string_value(json_object_get(j, "log")));
                if (max_log && l > *max_log)
                        *max_log = l;
                json_decref(j);
                n++;
        }
        free(line);
        fclose(f);
        return n;
}

static void test_split_and_partial(void **state) {
        (void) state;
        char *d = tmpdir();
        char *path = str_printf("%s/c-json.log", d);
        struct logfile lf;
        assert_int_equal(logfile_open(&lf, path, 0, 1), 0);
        static struct logline ll = {.stream = "stdout"};
        /* 40000 bytes without a newline: 16K + 16K pieces, then the rest
         * with the newline; then a piece fed byte by byte. */
        char *big = malloc(40001);
        memset(big, 'x', 40000);
        big[40000] = '\n';
        logline_feed(&lf, &ll, big, 20000);
        logline_feed(&lf, &ll, big + 20000, 20001);
        logline_feed(&lf, &ll, "ab", 2);
        logline_feed(&lf, &ll, "c\nd", 3);
        logline_flush(&lf, &ll);
        logfile_close(&lf);
        size_t max = 0;
        assert_int_equal(count_lines(path, &max), 5);
        assert_int_equal(max, LOG_LINE_MAX);
        free(big);
        free(path);
        rm_rf_at(AT_FDCWD, d);
        free(d);
}

static void test_rotation(void **state) {
        (void) state;
        char *d = tmpdir();
        char *path = str_printf("%s/c-json.log", d);
        struct logfile lf;
        assert_int_equal(logfile_open(&lf, path, 1000, 3), 0);
        static struct logline ll = {.stream = "stdout"};
        for (int i = 0; i < 200; i++) {
                char line[32];
                int n = snprintf(line, sizeof(line), "line %d\n", i);
                logline_feed(&lf, &ll, line, (size_t) n);
        }
        logfile_close(&lf);
        struct stat st;
        for (int i = 0; i < 3; i++) {
                char *p = i ? str_printf("%s.%d", path, i) : strdup(path);
                assert_int_equal(stat(p, &st), 0);
                assert_true(st.st_size <= 1000);
                assert_true(count_lines(p, NULL) > 0);
                free(p);
        }
        char *p3 = str_printf("%s.3", path);
        assert_true(stat(p3, &st) < 0);
        free(p3);
        free(path);
        rm_rf_at(AT_FDCWD, d);
        free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_split_and_partial),
                cmocka_unit_test(test_rotation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
