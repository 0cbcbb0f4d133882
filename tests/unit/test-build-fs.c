/* The build's file work (fsops.c) and what it commits (image/child.c):
 * globs, copies that stay inside their roots, --chown lookups, the cache's
 * content hash, and layer tars made from overlay upper dirs. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fsops.h"
#include "image.h"
#include "util.h"

static char *tmpdir(void) {
        char t[] = "/tmp/berth-ut-buildfs-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup(t);
}

static void put(const char *dir, const char *rel, const char *content) {
        char *p = str_printf("%s/%s", dir, rel);
        char *slash = strrchr(p, '/');
        *slash = '\0';
        mkdir_p(p, 0755);
        *slash = '/';
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, content, strlen(content)), 0);
        close(fd);
        free(p);
}

static int dfd(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void test_glob(void **state) {
        (void) state;
        char *d = tmpdir();
        put(d, "a.txt", "a");
        put(d, "b.txt", "b");
        put(d, "c.md", "c");
        put(d, "sub/x.txt", "x");
        int fd = dfd(d);
        struct berr e = {0};
        char **m = NULL;
        assert_int_equal(fs_glob(fd, "*.txt", &m, &e), 0);
        assert_non_null(m);
        assert_string_equal(m[0], "a.txt");
        assert_string_equal(m[1], "b.txt");
        assert_null(m[2]);
        strv_free(m);
        assert_int_equal(fs_glob(fd, "s?b/*.txt", &m, &e), 0);
        assert_string_equal(m[0], "sub/x.txt");
        assert_null(m[1]);
        strv_free(m);
        m = NULL;
        assert_int_equal(fs_glob(fd, "nothing*", &m, &e), 0);
        assert_true(!m || !m[0]);
        strv_free(m);
        /* No wildcard: the path itself, even if absent (copy says so). */
        assert_int_equal(fs_glob(fd, "plain", &m, &e), 0);
        assert_string_equal(m[0], "plain");
        strv_free(m);
        close(fd);
        rm_rf_at(AT_FDCWD, d);
        free(d);
}

/* A symlink in the destination rootfs pointing at a host directory must
 * not lead the copy there (RESOLVE_IN_ROOT); a symlink in the context is
 * copied as a symlink. */
static void test_copy_stays_inside(void **state) {
        (void) state;
        char *src = tmpdir(), *dst = tmpdir(), *outside = tmpdir();
        put(src, "f", "data");
        char *link = str_printf("%s/link", src);
        assert_int_equal(symlink("/etc/passwd", link), 0);
        char *evil = str_printf("%s/evil", dst);
        assert_int_equal(symlink(outside, evil), 0);
        int s = dfd(src), t = dfd(dst);
        struct fs_copy_opts o = {.uid = 0, .gid = 0, .mode = -1};
        struct berr e = {0};
        fs_copy(s, "f", t, "/evil/f", false, &o, &e);
        char *leaked = str_printf("%s/f", outside);
        assert_int_not_equal(access(leaked, F_OK), 0);
        e = (struct berr){0};
        fs_copy(s, "f", t, "/evil/", true, &o, &e);
        assert_int_not_equal(access(leaked, F_OK), 0);
        /* A file into a new directory, and the symlink as a symlink. */
        e = (struct berr){0};
        assert_int_equal(fs_copy(s, "f", t, "/a/b/", true, &o, &e), 0);
        assert_int_equal(fs_copy(s, "link", t, "/l", false, &o, &e), 0);
        char *copied = str_printf("%s/a/b/f", dst);
        assert_int_equal(access(copied, F_OK), 0);
        char target[256] = "";
        char *lp = str_printf("%s/l", dst);
        assert_true(readlink(lp, target, sizeof(target) - 1) > 0);
        assert_string_equal(target, "/etc/passwd");
        /* A directory source copies its content. */
        put(src, "dir/x", "x");
        assert_int_equal(fs_copy(s, "dir", t, "/into", false, &o, &e), 0);
        char *x = str_printf("%s/into/x", dst);
        assert_int_equal(access(x, F_OK), 0);
        close(s);
        close(t);
        free(x);
        free(lp);
        free(copied);
        free(leaked);
        free(evil);
        free(link);
        rm_rf_at(AT_FDCWD, src);
        rm_rf_at(AT_FDCWD, dst);
        rm_rf_at(AT_FDCWD, outside);
        free(src);
        free(dst);
        free(outside);
}

static void test_owner_and_hash(void **state) {
        (void) state;
        char *d = tmpdir();
        put(d, "etc/passwd",
            "root:x:0:0::/:/bin/sh\napp:x:1001:1001::/:/bin/sh\n");
        put(d, "etc/group", "root:x:0:\nstaff:x:50:app\n");
        int fd = dfd(d);
        struct berr e = {0};
        int u = -1, g = -1;
        assert_int_equal(fs_lookup_owner(fd, "app:staff", &u, &g, &e), 0);
        assert_int_equal(u, 1001);
        assert_int_equal(g, 50);
        assert_int_equal(fs_lookup_owner(fd, "7", &u, &g, &e), 0);
        assert_int_equal(u, 7);
        assert_int_equal(g, 7);
        assert_int_equal(fs_lookup_owner(fd, "app", &u, &g, &e), 0);
        assert_int_equal(g, 1001);
        assert_true(fs_lookup_owner(fd, "nobody:x", &u, &g, &e) < 0);
        assert_non_null(strstr(e.msg, "nobody"));
        /* The hash follows content. */
        char h1[72], h2[72], h3[72];
        struct digest *dg = digest_new();
        assert_int_equal(fs_hash(fd, "etc", false, dg, &e), 0);
        digest_final(dg, h1);
        dg = digest_new();
        assert_int_equal(fs_hash(fd, "etc", false, dg, &e), 0);
        digest_final(dg, h2);
        put(d, "etc/group", "root:x:0:\nstaff:x:51:app\n");
        dg = digest_new();
        assert_int_equal(fs_hash(fd, "etc", false, dg, &e), 0);
        digest_final(dg, h3);
        assert_string_equal(h1, h2);
        assert_string_not_equal(h1, h3);
        close(fd);
        rm_rf_at(AT_FDCWD, d);
        free(d);
}

static char **tar_names(const char *path) {
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
        struct archive_entry *e;
        char **v = NULL;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
                strv_push(&v, archive_entry_pathname(e));
        archive_read_free(a);
        return v;
}

static bool has(char **v, const char *s) {
        for (size_t i = 0; v && v[i]; i++) {
                size_t n = strlen(v[i]);
                if (!strcmp(v[i], s) ||
                    (n && v[i][n - 1] == '/' && !strncmp(v[i], s, n - 1) &&
                     s[n - 1] == '\0'))
                        return true;
        }
        return false;
}

/* Overlay's upper form into an OCI layer: whiteouts, opaque dirs, and
 * the runtime's empty mount points left out. */
static void test_layer_from_upper(void **state) {
        (void) state;
        char *root = tmpdir();
        char *store_root = str_printf("%s/store", root);
        struct image_store *s = NULL;
        struct berr e = {0};
        assert_int_equal(image_store_open(store_root, &s, &e), 0);
        char *up = str_printf("%s/upper", root);
        mkdir(up, 0755);
        put(up, "app/f", "data");
        put(up, "etc/hosts", "");
        char *wh = str_printf("%s/gone", up);
        bool root_ok = mknod(wh, S_IFCHR | 0, makedev(0, 0)) == 0;
        char *op = str_printf("%s/opq", up);
        mkdir(op, 0755);
        bool xattr_ok = setxattr(op, "trusted.overlay.opaque", "y", 1, 0) == 0;
        char *const skip[] = {"etc/hosts", "etc", NULL};
        int ufd = dfd(up);
        struct image_child c = {.config = "{\"Cmd\":[\"sh\"]}",
                                .created_by = "test",
                                .upper_fd = ufd,
                                .skip_empty = skip};
        char *id = NULL;
        assert_int_equal(image_commit_child(s, &c, &id, &e), 0);
        close(ufd);
        char *ij = NULL;
        assert_int_equal(image_inspect_json(s, id, &ij, &e), 0);
        json_t *j = json_loads(ij, 0, NULL);
        json_t *layers =
                json_object_get(json_object_get(j, "RootFS"), "Layers");
        assert_int_equal(json_array_size(layers), 1);
        const char *diff = json_string_value(json_array_get(layers, 0));
        char *blob = str_printf("%s/blobs/sha256/%s", store_root, diff + 7);
        char dg[72];
        int bfd = open(blob, O_RDONLY | O_CLOEXEC);
        assert_int_equal(digest_fd(bfd, dg), 0);
        close(bfd);
        assert_string_equal(dg, diff); /* the diff_id is the tar's digest */
        char **names = tar_names(blob);
        assert_true(has(names, "app/f"));
        assert_false(has(names, "etc/hosts"));
        assert_false(has(names, "etc"));
        if (root_ok)
                assert_true(has(names, ".wh.gone"));
        if (xattr_ok)
                assert_true(has(names, "opq/.wh..wh..opq"));
        strv_free(names);
        /* A child with nothing in its upper dir adds no layer. */
        char *up2 = str_printf("%s/upper2", root);
        mkdir(up2, 0755);
        int u2 = dfd(up2);
        struct image_child c2 = {.parent = id,
                                 .config = "{}",
                                 .created_by = "nothing",
                                 .upper_fd = u2};
        char *id2 = NULL;
        assert_int_equal(image_commit_child(s, &c2, &id2, &e), 0);
        close(u2);
        char *ij2 = NULL;
        assert_int_equal(image_inspect_json(s, id2, &ij2, &e), 0);
        json_t *j2 = json_loads(ij2, 0, NULL);
        assert_int_equal(json_array_size(json_object_get(
                                 json_object_get(j2, "RootFS"), "Layers")),
                         1);
        assert_string_equal(json_string_value(json_object_get(j2, "Parent")),
                            id);
        /* The cache finds it; a gone image is no hit. */
        const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123"
                          "456789abcdef";
        assert_int_equal(image_cache_put(s, key, id2, &e), 0);
        char *hit = NULL;
        assert_int_equal(image_cache_get(s, key, &hit), 0);
        assert_string_equal(hit, id2);
        free(hit);
        assert_true(image_cache_get(s, "../../etc/passwd", &hit) < 0);
        json_decref(j);
        json_decref(j2);
        free(ij);
        free(ij2);
        free(blob);
        free(id);
        free(id2);
        free(up);
        free(up2);
        free(wh);
        free(op);
        image_store_free(s);
        free(store_root);
        rm_rf_at(AT_FDCWD, root);
        free(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_glob),
                cmocka_unit_test(test_copy_stays_inside),
                cmocka_unit_test(test_owner_and_hash),
                cmocka_unit_test(test_layer_from_upper),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
