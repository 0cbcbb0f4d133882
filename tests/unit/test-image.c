/* Image store pieces: reference parsing and root-confined layer unpacking
 * against the escapes of SECURITY.md §4. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "image.h"
#include "unpack.h"
#include "util.h"

/* ---- references ---- */

static void norm_ok(const char *in, const char *want) {
        char *out = NULL;
        struct berr e = {0};
        assert_int_equal(reference_normalize(in, &out, &e), 0);
        assert_string_equal(out, want);
        free(out);
}

static void norm_bad(const char *in, const char *msg) {
        char *out = NULL;
        struct berr e = {0};
        assert_true(reference_normalize(in, &out, &e) < 0);
        assert_non_null(strstr(e.msg, msg));
}

static void test_reference(void **state) {
        (void) state;
        norm_ok("busybox", "docker.io/library/busybox:latest");
        norm_ok("busybox:1.36", "docker.io/library/busybox:1.36");
        norm_ok("user/app", "docker.io/user/app:latest");
        norm_ok("localhost:5000/a/b:v1", "localhost:5000/a/b:v1");
        norm_ok("registry.example/x", "registry.example/x:latest");
        norm_ok("busybox@sha256:"
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
                "cdef",
                "docker.io/library/busybox@sha256:"
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
                "cdef");
        norm_bad("BusyBox", "must be lowercase");
        norm_bad("a b", "invalid reference format");
        norm_bad("", "invalid reference format");
        norm_bad("busybox:", "invalid reference format");
        norm_bad("busybox@sha256:123", "invalid reference format");
        char *f = reference_familiar("docker.io/library/busybox:latest");
        assert_string_equal(f, "busybox:latest");
        free(f);
        f = reference_familiar("docker.io/user/app:1");
        assert_string_equal(f, "user/app:1");
        free(f);
        f = reference_familiar("localhost:5000/a:1");
        assert_string_equal(f, "localhost:5000/a:1");
        free(f);
}

/* ---- layers ---- */

struct tarb {
        struct archive *a;
        int fd;
};

static void tar_begin(struct tarb *t) {
        t->fd = memfd_create("layer", MFD_CLOEXEC);
        assert_true(t->fd >= 0);
        t->a = archive_write_new();
        archive_write_set_format_pax_restricted(t->a);
        assert_int_equal(archive_write_open_fd(t->a, t->fd), ARCHIVE_OK);
}

static void tar_add(struct tarb *t, const char *name, mode_t type,
                    const char *data, const char *link, bool hard) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        if (link && hard)
                archive_entry_set_hardlink(e, link);
        else if (link)
                archive_entry_set_symlink(e, link);
        size_t len = data ? strlen(data) : 0;
        archive_entry_set_size(e, (la_int64_t) len);
        if (type == AE_IFCHR)
                archive_entry_set_rdev(e, makedev(1, 3));
        assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
        if (len)
                assert_int_equal(archive_write_data(t->a, data, len),
                                 (la_ssize_t) len);
        archive_entry_free(e);
}

/* Unpack into a fresh DIR/root; returns layer_unpack's result. */
static int tar_unpack(struct tarb *t, const char *dir, struct berr *e) {
        archive_write_close(t->a);
        archive_write_free(t->a);
        lseek(t->fd, 0, SEEK_SET);
        char root[512];
        snprintf(root, sizeof(root), "%s/root", dir);
        mkdir(root, 0755);
        int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rfd >= 0);
        int r = layer_unpack(t->fd, rfd, e);
        close(rfd);
        close(t->fd);
        return r;
}

static char *scratch(void) {
        char *d = strdup("/tmp/berth-unit-image.XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static void cleanup_dir(char *d) {
        rm_rf_at(AT_FDCWD, d);
        free(d);
}

static bool exists(const char *dir, const char *rel) {
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        return lstat(p, &st) == 0;
}

static void test_unpack_plain(void **state) {
        (void) state;
        char *d = scratch();
        struct tarb t;
        tar_begin(&t);
        tar_add(&t, "./etc/", AE_IFDIR, NULL, NULL, false);
        tar_add(&t, "etc/hello", AE_IFREG, "hi\n", NULL, false);
        tar_add(&t, "etc/link", AE_IFLNK, NULL, "hello", false);
        tar_add(&t, "etc/hard", AE_IFREG, NULL, "etc/hello", true);
        tar_add(&t, "/abs/file", AE_IFREG, "x", NULL, false);
        struct berr e = {0};
        assert_int_equal(tar_unpack(&t, d, &e), 0);
        assert_true(exists(d, "root/etc/hello"));
        assert_true(exists(d, "root/etc/link"));
        assert_true(exists(d, "root/abs/file")); /* clamped, not /abs */
        char p[1024];
        struct stat a, b;
        snprintf(p, sizeof(p), "%s/root/etc/hello", d);
        assert_int_equal(stat(p, &a), 0);
        snprintf(p, sizeof(p), "%s/root/etc/hard", d);
        assert_int_equal(stat(p, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        cleanup_dir(d);
}

static void test_unpack_dotdot_rejected(void **state) {
        (void) state;
        char *d = scratch();
        struct tarb t;
        tar_begin(&t);
        tar_add(&t, "../escaped", AE_IFREG, "x", NULL, false);
        struct berr e = {0};
        assert_true(tar_unpack(&t, d, &e) < 0);
        assert_non_null(strstr(e.msg, "escapes"));
        assert_false(exists(d, "escaped"));
        cleanup_dir(d);
}

static void test_unpack_symlink_escape_confined(void **state) {
        (void) state;
        char *d = scratch();
        struct tarb t;
        tar_begin(&t);
        /* A link that points up and out, then entries written through it:
         * they must land inside the root. */
        tar_add(&t, "up", AE_IFLNK, NULL, "../../../../..", false);
        tar_add(&t, "up/outside", AE_IFREG, "x", NULL, false);
        tar_add(&t, "abs", AE_IFLNK, NULL, d, false);
        tar_add(&t, "abs/outside2", AE_IFREG, "x", NULL, false);
        struct berr e = {0};
        int r = tar_unpack(&t, d, &e);
        assert_false(exists(d, "outside"));
        assert_false(exists(d, "outside2"));
        if (r == 0)
                assert_true(exists(d, "root/outside"));
        cleanup_dir(d);
}

static void test_unpack_hardlink_out_refused(void **state) {
        (void) state;
        char *d = scratch();
        char target[1024];
        snprintf(target, sizeof(target), "%s/secret", d);
        FILE *f = fopen(target, "w");
        assert_non_null(f);
        fputs("host secret", f);
        fclose(f);
        struct tarb t;
        tar_begin(&t);
        tar_add(&t, "h1", AE_IFREG, NULL, "../secret", true);
        struct berr e = {0};
        assert_true(tar_unpack(&t, d, &e) < 0);
        assert_false(exists(d, "root/h1"));
        /* An absolute target is resolved in the root, where it is absent. */
        tar_begin(&t);
        tar_add(&t, "h2", AE_IFREG, NULL, target, true);
        assert_true(tar_unpack(&t, d, &e) < 0);
        assert_false(exists(d, "root/h2"));
        cleanup_dir(d);
}

static void test_unpack_replaces_symlink_not_follows(void **state) {
        (void) state;
        char *d = scratch();
        char target[1024];
        snprintf(target, sizeof(target), "%s/victim", d);
        FILE *f = fopen(target, "w");
        assert_non_null(f);
        fputs("original", f);
        fclose(f);
        struct tarb t;
        tar_begin(&t);
        tar_add(&t, "x", AE_IFLNK, NULL, target, false);
        tar_add(&t, "x", AE_IFREG, "overwritten", NULL, false);
        struct berr e = {0};
        assert_int_equal(tar_unpack(&t, d, &e), 0);
        char buf[64] = {0};
        f = fopen(target, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "original");
        struct stat st;
        char p[1024];
        snprintf(p, sizeof(p), "%s/root/x", d);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        cleanup_dir(d);
}

static void test_unpack_whiteouts(void **state) {
        (void) state;
        char *d = scratch();
        struct tarb t;
        tar_begin(&t);
        tar_add(&t, "dir/", AE_IFDIR, NULL, NULL, false);
        tar_add(&t, "dir/.wh.gone", AE_IFREG, NULL, NULL, false);
        struct berr e = {0};
        assert_int_equal(tar_unpack(&t, d, &e), 0);
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/root/dir/gone", d);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        const char *bad[] = {"dir/.wh.", "dir/.wh..wh.x", "dir/.wh.."};
        for (size_t i = 0; i < 3; i++) {
                tar_begin(&t);
                tar_add(&t, bad[i], AE_IFREG, NULL, NULL, false);
                assert_true(tar_unpack(&t, d, &e) < 0);
        }
        cleanup_dir(d);
}

static void test_unpack_garbage(void **state) {
        (void) state;
        int fd = memfd_create("junk", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "this is not a tar archive at all", 32), 32);
        lseek(fd, 0, SEEK_SET);
        char *d = scratch();
        int rfd = open(d, O_RDONLY | O_DIRECTORY);
        struct berr e = {0};
        assert_true(layer_unpack(fd, rfd, &e) < 0);
        assert_true(e.msg[0] != '\0');
        close(rfd);
        close(fd);
        cleanup_dir(d);
}

/* ---- size bounds (max-layer-size, max-image-size) ---- */

/* A gzip'ed layer tar of one file of `size` zero bytes, at offset 0. */
static int zero_layer_gz(size_t size) {
        struct tarb t;
        t.fd = memfd_create("layer-gz", MFD_CLOEXEC);
        assert_true(t.fd >= 0);
        t.a = archive_write_new();
        archive_write_set_format_pax_restricted(t.a);
        archive_write_add_filter_gzip(t.a);
        assert_int_equal(archive_write_open_fd(t.a, t.fd), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "zeros");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) size);
        assert_int_equal(archive_write_header(t.a, e), ARCHIVE_OK);
        archive_entry_free(e);
        static const char zero[65536];
        for (size_t off = 0; off < size; off += sizeof(zero)) {
                size_t n =
                        size - off < sizeof(zero) ? size - off : sizeof(zero);
                assert_int_equal(archive_write_data(t.a, zero, n),
                                 (la_ssize_t) n);
        }
        archive_write_close(t.a);
        archive_write_free(t.a);
        lseek(t.fd, 0, SEEK_SET);
        return t.fd;
}

static size_t count_entries(const char *dir, const char *sub) {
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, sub);
        DIR *d = opendir(p);
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                n += de->d_name[0] != '.';
        if (d)
                closedir(d);
        return n;
}

static void test_layer_bound(void **state) {
        (void) state;
        char *d = scratch();
        struct image_store *s = NULL;
        struct berr e = {0};
        assert_int_equal(image_store_open(d, &s, &e), 0);
        image_store_set_limits(s, 1 << 20, 8 << 20);
        char *none[] = {NULL};
        assert_int_equal(image_budget_begin(s, none, &e), 0);
        /* Under the bound: unpacked. */
        int fd = zero_layer_gz(512 << 10);
        struct image_ingest *in = NULL;
        assert_int_equal(image_ingest_layer(s, fd, &in, &e), 0);
        close(fd);
        assert_true(image_ingest_size(in) > (512 << 10));
        image_ingest_discard(s, in);
        /* Over it: refused by name, nothing left in tmp/. */
        fd = zero_layer_gz(4 << 20);
        in = NULL;
        int r = image_ingest_layer(s, fd, &in, &e);
        close(fd);
        assert_int_equal(r, -EFBIG);
        assert_null(in);
        assert_non_null(strstr(e.msg, "max-layer-size (1048576 bytes"));
        assert_int_equal(count_entries(d, "tmp"), 0);
        image_store_free(s);
        cleanup_dir(d);
}

static void test_image_bound(void **state) {
        (void) state;
        char *d = scratch();
        struct image_store *s = NULL;
        struct berr e = {0};
        assert_int_equal(image_store_open(d, &s, &e), 0);
        /* 0 = the defaults. */
        image_store_set_limits(s, 0, 0);
        char *none[] = {NULL};
        assert_int_equal(image_budget_begin(s, none, &e), 0);
        image_store_set_limits(s, 1 << 20, (3 << 20) / 2);
        /* Two layers under max-layer-size, together over
         * max-image-size: the second is refused. */
        struct image_ingest *a = NULL, *b = NULL;
        int fd = zero_layer_gz(900 << 10);
        assert_int_equal(image_ingest_layer(s, fd, &a, &e), 0);
        close(fd);
        fd = zero_layer_gz(900 << 10);
        assert_int_equal(image_ingest_layer(s, fd, &b, &e), -EFBIG);
        close(fd);
        assert_non_null(strstr(e.msg, "max-image-size"));
        image_ingest_discard(s, a);
        assert_int_equal(count_entries(d, "tmp"), 0);
        /* A new image starts from zero again. */
        berr_clear(&e);
        assert_int_equal(image_budget_begin(s, none, &e), 0);
        fd = zero_layer_gz(900 << 10);
        assert_int_equal(image_ingest_layer(s, fd, &b, &e), 0);
        close(fd);
        image_ingest_discard(s, b);
        image_store_free(s);
        cleanup_dir(d);
}

static void test_xattr_filter(void **state) {
        (void) state;
        assert_false(layer_xattr_allowed("trusted.overlay.opaque"));
        assert_false(layer_xattr_allowed("trusted.overlay.redirect"));
        assert_false(layer_xattr_allowed("trusted.overlay.metacopy"));
        assert_false(layer_xattr_allowed("trusted.anything"));
        assert_false(layer_xattr_allowed("security.selinux"));
        assert_false(layer_xattr_allowed("security.ima"));
        assert_false(layer_xattr_allowed("system.nfs4_acl"));
        assert_false(layer_xattr_allowed("weird"));
        assert_true(layer_xattr_allowed("security.capability"));
        assert_true(layer_xattr_allowed("user.mime_type"));
        assert_true(layer_xattr_allowed("system.posix_acl_access"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layer_bound),
                cmocka_unit_test(test_image_bound),
                cmocka_unit_test(test_xattr_filter),
                cmocka_unit_test(test_reference),
                cmocka_unit_test(test_unpack_plain),
                cmocka_unit_test(test_unpack_dotdot_rejected),
                cmocka_unit_test(test_unpack_symlink_escape_confined),
                cmocka_unit_test(test_unpack_hardlink_out_refused),
                cmocka_unit_test(test_unpack_replaces_symlink_not_follows),
                cmocka_unit_test(test_unpack_whiteouts),
                cmocka_unit_test(test_unpack_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
