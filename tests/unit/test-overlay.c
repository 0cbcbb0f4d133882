/* Overlay mounts of layers both ways: "lowerdir+" (Linux 6.8+) and the
 * one-string mount(2) that older kernels need.  Runs in a mount namespace
 * of its own, so nothing it mounts is seen or left on the host. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "image.h"
#include "util.h"

static char base[64];

static char *at(const char *rel) {
        return str_printf("%s/%s", base, rel);
}

static void put(const char *rel, const char *text) {
        char *p = at(rel);
        assert_int_equal(write_file_at(AT_FDCWD, p, text, O_CREAT | O_TRUNC),
                         0);
        free(p);
}

static char *get(const char *rel) {
        char *p = at(rel), *text = NULL;
        size_t len = 0;
        int r = read_file_at(AT_FDCWD, p, 4096, &text, &len);
        free(p);
        return r < 0 ? NULL : text;
}

static void mkd(const char *rel) {
        char *p = at(rel);
        assert_int_equal(mkdir_p(p, 0755), 0);
        free(p);
}

static int setup(void **state) {
        (void) state;
        if (unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        snprintf(base, sizeof(base), "/tmp/berth-overlay-XXXXXX");
        if (!mkdtemp(base))
                return -1;
        /* the layer store's shape: layers/<id>/diff */
        mkd("layers/1111/diff");
        mkd("layers/2222/diff");
        mkd("empty");
        mkd("odd,dir:with\\marks/diff");
        put("layers/1111/diff/a", "one");
        put("layers/1111/diff/low", "low");
        put("layers/2222/diff/a", "two");
        put("odd,dir:with\\marks/diff/odd", "odd");
        return 0;
}

static int teardown(void **state) {
        (void) state;
        rm_rf_at(AT_FDCWD, base);
        return 0;
}

static void mount_both_layers(bool legacy) {
        image_overlay_force_legacy(legacy);
        char *l1 = at("layers/2222/diff"), *l2 = at("layers/1111/diff");
        char *lowers[] = {l1, l2, NULL};
        char *empty = at("empty"), *up = at("up"), *wk = at("wk"),
             *mnt = at("mnt");
        rm_rf_at(AT_FDCWD, up);
        rm_rf_at(AT_FDCWD, wk);
        mkd("up");
        mkd("wk");
        mkd("mnt");
        struct berr e = {0};
        int r = image_mount_overlay(lowers, empty, up, wk, mnt, &e);
        if (r < 0)
                fail_msg("mount: %s", e.msg);
        char *a = get("mnt/a"), *low = get("mnt/low");
        assert_string_equal(a, "two"); /* the top layer wins */
        assert_string_equal(low, "low");
        put("mnt/new", "written");
        char *up_new = get("up/new");
        assert_string_equal(up_new, "written"); /* writes go up */
        assert_int_equal(umount2(mnt, 0), 0);
        /* the working directory is back where it was */
        char cwd[4096];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_null(strstr(cwd, "layers"));
        free(a), free(low), free(up_new);
        free(l1), free(l2), free(empty), free(up), free(wk), free(mnt);
}

static void test_lowerdir_plus_or_whatever_the_kernel_has(void **state) {
        (void) state;
        mount_both_layers(false);
}

static void test_legacy_option_string(void **state) {
        (void) state;
        mount_both_layers(true);
}

static void test_legacy_read_only_one_layer_and_odd_paths(void **state) {
        (void) state;
        image_overlay_force_legacy(true);
        /* a path with the characters the option parser splits on, and no
         * common layer store: absolute and escaped */
        char *odd = at("odd,dir:with\\marks/diff");
        char *lowers[] = {odd, NULL};
        char *empty = at("empty"), *mnt = at("mnt");
        mkd("mnt");
        struct berr e = {0};
        int r = image_mount_overlay(lowers, empty, NULL, NULL, mnt, &e);
        if (r < 0)
                fail_msg("mount: %s", e.msg);
        char *text = get("mnt/odd");
        assert_string_equal(text, "odd");
        assert_int_equal(umount2(mnt, 0), 0);
        free(text), free(odd), free(empty), free(mnt);
}

static void test_legacy_too_many_layers_is_a_clear_error(void **state) {
        (void) state;
        image_overlay_force_legacy(true);
        enum { N = 300 };
        char *lowers[N + 1];
        for (int i = 0; i < N; i++)
                lowers[i] = str_printf("%s/layers/%064d/diff", base,
                                       i); /* sha256-long */
        lowers[N] = NULL;
        char *empty = at("empty"), *mnt = at("mnt");
        struct berr e = {0};
        assert_int_equal(
                image_mount_overlay(lowers, empty, NULL, NULL, mnt, &e),
                -E2BIG);
        assert_non_null(strstr(e.msg, "300 layers do not fit"));
        assert_non_null(strstr(e.msg, "Linux 6.8"));
        for (int i = 0; i < N; i++)
                free(lowers[i]);
        free(empty), free(mnt);
}

int main(void) {
        if (geteuid() != 0) {
                fprintf(stderr, "test-overlay: needs root (mounts)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lowerdir_plus_or_whatever_the_kernel_has),
                cmocka_unit_test(test_legacy_option_string),
                cmocka_unit_test(test_legacy_read_only_one_layer_and_odd_paths),
                cmocka_unit_test(test_legacy_too_many_layers_is_a_clear_error),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
