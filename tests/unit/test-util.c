/* Unit tests for src/common: numbers, string vectors, files, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_parse_byte_size(void **state) {
        (void) state;
        int64_t v;
        assert_int_equal(parse_byte_size("1073741824", &v), 0);
        assert_int_equal(v, 1073741824);
        assert_int_equal(parse_byte_size("64m", &v), 0);
        assert_int_equal(v, 64 << 20);
        assert_int_equal(parse_byte_size("16GB", &v), 0);
        assert_int_equal(v, 16LL << 30);
        assert_int_equal(parse_byte_size("512k", &v), 0);
        assert_int_equal(v, 512 << 10);
        assert_int_equal(parse_byte_size("2t", &v), 0);
        assert_int_equal(v, 2LL << 40);
        assert_int_equal(parse_byte_size("0", &v), -EINVAL);
        assert_int_equal(parse_byte_size("-1", &v), -EINVAL);
        assert_int_equal(parse_byte_size("lots", &v), -EINVAL);
        assert_int_equal(parse_byte_size("1x", &v), -EINVAL);
        assert_int_equal(parse_byte_size("1mm", &v), -EINVAL);
        assert_int_equal(parse_byte_size("99999999t", &v), -EINVAL);
        assert_int_equal(parse_byte_size("", &v), -EINVAL);
}

static void test_utf8_clean(void **state) {
        (void) state;
        char *c = str_utf8_clean("ok \xc3\xa9 \xff\xfe end");
        assert_string_equal(c, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end");
        free(c);
        c = str_utf8_clean("\xed\xa0\x80"); /* a surrogate */
        assert_string_equal(c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        free(c);
}

static void test_parse_numbers(void **state) {
        uint64_t u;
        int64_t i;
        uint32_t u32;
        assert_int_equal(parse_u64("18446744073709551615", &u), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(parse_u64("18446744073709551616", &u), -ERANGE);
        assert_int_equal(parse_u64("-1", &u), -EINVAL);
        assert_int_equal(parse_u64("12x", &u), -EINVAL);
        assert_int_equal(parse_u64("", &u), -EINVAL);
        assert_int_equal(parse_i64("-5", &i), 0);
        assert_true(i == -5);
        assert_int_equal(parse_u32("4294967296", &u32), -ERANGE);
        assert_int_equal(parse_u32("4294967295", &u32), 0);
}

static void test_strv(void **state) {
        _cleanup_strv_free_ char **v = NULL;
        assert_int_equal(strv_push(&v, "PATH=/bin"), 0);
        assert_int_equal(strv_push(&v, "HOME=/root"), 0);
        assert_int_equal(strv_length(v), 2);
        assert_string_equal(strv_env_get(v, "HOME"), "/root");
        assert_null(strv_env_get(v, "HOM"));
        assert_true(strv_contains(v, "PATH=/bin"));
        _cleanup_strv_free_ char **c = strv_copy(v);
        assert_int_equal(strv_length(c), 2);
        assert_true(str_startswith("abc", "ab"));
        assert_true(str_endswith("abc", "bc"));
        assert_false(str_endswith("c", "bc"));
}

static void test_berr(void **state) {
        struct berr e = {0};
        assert_int_equal(berr_set(&e, ENOENT, "open '%s'", "/x"), -ENOENT);
        assert_string_equal(e.msg, "open '/x': No such file or directory");
        /* The first (innermost) message wins. */
        berr_set(&e, EPERM, "outer");
        assert_string_equal(e.msg, "open '/x': No such file or directory");
        berr_prefix(&e, 0, "create 'c1'");
        assert_string_equal(
                e.msg, "create 'c1': open '/x': No such file or directory");
        berr_clear(&e);
        assert_int_equal(berr_setx(&e, -EINVAL, "bad"), -EINVAL);
        assert_string_equal(e.msg, "bad");
        assert_int_equal(berr_set(NULL, 5, "x"), -5);
}

static void test_files(void **state) {
        char dir[] = "/tmp/berth-test-util.XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(
                write_file_atomic_at(dfd, "a.json", "{}", 2, 0600, WRITE_SYNC),
                0);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        assert_int_equal(read_file_at(dfd, "a.json", 100, &text, &len), 0);
        assert_string_equal(text, "{}");
        assert_int_equal(len, 2);
        char *big = NULL;
        assert_int_equal(
                write_file_atomic_at(dfd, "b", "0123456789", 10, 0600, 0), 0);
        assert_int_equal(read_file_at(dfd, "b", 4, &big, NULL), -EFBIG);
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/x/y/z", dir);
        assert_int_equal(mkdir_p(sub, 0755), 0);
        struct stat st;
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
        assert_int_equal(stat(dir, &st), -1);
}

static void test_fd_passing(void **state) {
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fd_send(sp[0], devnull, "hi", 2), 0);
        int got = -1;
        char buf[8] = {0};
        assert_int_equal(fd_recv(sp[1], &got, buf, sizeof(buf)), 2);
        assert_true(got >= 0);
        assert_string_equal(buf, "hi");
        struct stat a, b;
        fstat(devnull, &a);
        fstat(got, &b);
        assert_true(a.st_rdev == b.st_rdev);
        close(got);
        close(devnull);
        close(sp[0]);
        close(sp[1]);
}

static void test_start_time(void **state) {
        uint64_t t1, t2;
        assert_int_equal(proc_start_time(getpid(), &t1), 0);
        assert_int_equal(proc_start_time(getpid(), &t2), 0);
        assert_true(t1 == t2);
        assert_true(proc_start_time(0x7ffffff, &t1) < 0);
        char buf[48];
        format_rfc3339(buf, sizeof(buf), 0, 5);
        assert_string_equal(buf, "1970-01-01T00:00:00.000000005Z");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_numbers),
                cmocka_unit_test(test_parse_byte_size),
                cmocka_unit_test(test_utf8_clean),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_berr),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_fd_passing),
                cmocka_unit_test(test_start_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
