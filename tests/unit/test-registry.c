/* Registry documents, challenges, platforms, base64 and the layer
 * decompressor: the parsing that stands between a hostile registry and
 * the store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include <cmocka.h>

#include "base64.h"
#include "cleanup.h"
#include "decomp.h"
#include "document.h"
#include "error.h"
#include "registry.h"
#include "transport.h"
#include "util.h"

#define H64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char OCI_MANIFEST[] =
        "{\"schemaVersion\":2,\"mediaType\":"
        "\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+"
        "json\",\"digest\":\"sha256:" H64 "\",\"size\":10},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1."
        "tar+zstd\",\"digest\":\"sha256:" B64 "\",\"size\":5}]}";

static int parse(const char *text, const char *ct, struct document **d,
                 struct berr *e) {
        return document_parse(text, strlen(text), ct, d, e);
}

static void test_manifest_ok(void **state) {
        (void) state;
        struct document *d = NULL;
        struct berr e = {0};
        assert_int_equal(parse(OCI_MANIFEST, MT_OCI_MANIFEST, &d, &e), 0);
        assert_int_equal(d->kind, DOC_MANIFEST);
        assert_int_equal(d->n_layers, 1);
        assert_string_equal(d->layers[0].digest, "sha256:" B64);
        assert_int_equal(d->layers[0].size, 5);
        assert_false(d->layers[0].foreign);
        document_free(d);
        /* Content-Type with parameters and no mediaType field. */
        const char *bare =
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                "\"digest\":\"sha256:" H64 "\",\"size\":1},\"layers\":[]}";
        assert_int_equal(
                parse(bare, MT_DOCKER_MANIFEST "; charset=utf-8", &d, &e), 0);
        assert_string_equal(d->media_type, MT_DOCKER_MANIFEST);
        document_free(d);
}

/* CVE-2021-41190: a document that could be read as manifest or index. */
static void test_ambiguous_refused(void **state) {
        (void) state;
        struct document *d = NULL;
        struct berr e = {0};
        const char *both =
                "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[],"
                "\"config\":{}}";
        assert_true(parse(both, NULL, &d, &e) < 0);
        assert_non_null(strstr(e.msg, "ambiguous"));
        berr_clear(&e);
        /* mediaType says manifest, the fields say index. */
        const char *liar =
                "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
                "\",\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
                "\",\"digest\":\"sha256:" H64 "\",\"size\":1}]}";
        assert_true(parse(liar, NULL, &d, &e) < 0);
        assert_non_null(strstr(e.msg, "ambiguous"));
        berr_clear(&e);
        /* The Content-Type disagrees with the mediaType field. */
        assert_true(parse(OCI_MANIFEST, MT_OCI_INDEX, &d, &e) < 0);
        assert_non_null(strstr(e.msg, "does not match the Content-Type"));
        berr_clear(&e);
        /* An index served as a manifest by its Content-Type. */
        const char *idx = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                          "\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" H64
                          "\",\"size\":1}]}";
        assert_true(parse(idx, MT_OCI_MANIFEST, &d, &e) < 0);
        berr_clear(&e);
        assert_int_equal(parse(idx, MT_OCI_INDEX, &d, &e), 0);
        assert_int_equal(d->kind, DOC_INDEX);
        document_free(d);
}

static void test_bad_documents(void **state) {
        (void) state;
        struct document *d = NULL;
        struct berr e = {0};
        assert_int_equal(
                parse("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, &d, &e),
                -EPROTONOSUPPORT);
        assert_non_null(strstr(e.msg, "schema 1"));
        berr_clear(&e);
        assert_true(parse("[1,2]", NULL, &d, &e) < 0);
        berr_clear(&e);
        /* A digest that is not sha256:<64 lowercase hex>. */
        const char *bad_digest =
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                "\"digest\":\"sha256:../../etc\",\"size\":1},\"layers\":[]}";
        assert_true(parse(bad_digest, NULL, &d, &e) < 0);
        assert_non_null(strstr(e.msg, "invalid digest"));
        berr_clear(&e);
        const char *neg =
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                "\"digest\":\"sha256:" H64 "\",\"size\":-1},"
                "\"layers\":[]}";
        assert_true(parse(neg, NULL, &d, &e) < 0);
        berr_clear(&e);
        const char *badlayer =
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                "\"digest\":\"sha256:" H64 "\",\"size\":1},\"layers\":[{"
                "\"mediaType\":\"text/html\",\"digest\":\"sha256:" H64
                "\",\"size\":1}]}";
        assert_true(parse(badlayer, NULL, &d, &e) < 0);
        assert_non_null(strstr(e.msg, "unsupported media type"));
        berr_clear(&e);
        /* Duplicate keys could be read two ways: refused. */
        assert_true(parse("{\"schemaVersion\":2,\"schemaVersion\":2}", NULL, &d,
                          &e) < 0);
        /* Too large. */
        char *big = calloc(1, DOC_MAX_BYTES + 2);
        assert_non_null(big);
        memset(big, ' ', DOC_MAX_BYTES + 1);
        berr_clear(&e);
        assert_int_equal(document_parse(big, DOC_MAX_BYTES + 1, NULL, &d, &e),
                         -EFBIG);
        free(big);
}

static void test_foreign(void **state) {
        (void) state;
        const char *m = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
                        "\"digest\":\"sha256:" H64 "\",\"size\":1},"
                        "\"layers\":[{\"mediaType\":\"" MT_DOCKER_FOREIGN
                        "\",\"digest\":\"sha256:" H64 "\",\"size\":1,"
                        "\"urls\":[\"https://example.invalid/l\"]}]}";
        struct document *d = NULL;
        struct berr e = {0};
        assert_int_equal(parse(m, NULL, &d, &e), 0);
        assert_true(d->layers[0].foreign);
        document_free(d);
}

static void test_select(void **state) {
        (void) state;
        const char *idx = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
                          "\",\"manifests\":["
                          "{\"mediaType\":\"" MT_OCI_MANIFEST
                          "\",\"digest\":\"sha256:" H64
                          "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                          "\"architecture\":\"arm\",\"variant\":\"v6\"}},"
                          "{\"mediaType\":\"" MT_OCI_MANIFEST
                          "\",\"digest\":\"sha256:" H64
                          "\",\"size\":2,\"platform\":{\"os\":\"linux\","
                          "\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                          "{\"mediaType\":\"" MT_OCI_MANIFEST
                          "\",\"digest\":\"sha256:" B64
                          "\",\"size\":3,\"platform\":{\"os\":\"linux\","
                          "\"architecture\":\"amd64\"}},"
                          "{\"mediaType\":\"" MT_OCI_MANIFEST
                          "\",\"digest\":\"sha256:" B64
                          "\",\"size\":4,\"platform\":{\"os\":\"linux\","
                          "\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}";
        struct document *d = NULL;
        struct berr e = {0};
        size_t i;
        assert_int_equal(parse(idx, NULL, &d, &e), 0);
        assert_int_equal(document_select(d, "linux", "amd64", NULL, &i, &e), 0);
        assert_int_equal(i, 2);
        assert_int_equal(document_select(d, "linux", "arm", NULL, &i, &e), 0);
        assert_int_equal(i, 1); /* v7 preferred */
        assert_int_equal(document_select(d, "linux", "arm", "v6", &i, &e), 0);
        assert_int_equal(i, 0);
        assert_int_equal(document_select(d, "linux", "arm64", NULL, &i, &e), 0);
        assert_int_equal(i, 3);
        assert_int_equal(document_select(d, "linux", "s390x", NULL, &i, &e),
                         -ENOENT);
        assert_non_null(strstr(e.msg, "no matching manifest for linux/s390x"));
        document_free(d);
}

static void test_platform(void **state) {
        (void) state;
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        struct berr e = {0};
        assert_int_equal(
                platform_parse("linux/aarch64/v8", &os, &arch, &variant, &e),
                0);
        assert_string_equal(os, "linux");
        assert_string_equal(arch, "arm64");
        assert_string_equal(variant, "v8");
        free(os);
        free(arch);
        free(variant);
        os = arch = variant = NULL;
        assert_int_equal(platform_parse("AMD64", &os, &arch, &variant, &e), 0);
        assert_string_equal(os, "linux");
        assert_string_equal(arch, "amd64");
        assert_null(variant);
        char *o2 = NULL, *a2 = NULL, *v2 = NULL;
        assert_true(platform_parse("a/b/c/d", &o2, &a2, &v2, &e) < 0);
        assert_true(platform_parse("", &o2, &a2, &v2, &e) < 0);
}

static void test_config(void **state) {
        (void) state;
        const char *c = "{\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
                        "\"layers\",\"diff_ids\":[\"sha256:" H64 "\"]}}";
        char **diffs = NULL;
        struct berr e = {0};
        assert_int_equal(config_parse(c, strlen(c), 1, &diffs, &e), 0);
        assert_string_equal(diffs[0], "sha256:" H64);
        assert_null(diffs[1]);
        strv_free(diffs);
        assert_true(config_parse(c, strlen(c), 2, &diffs, &e) < 0);
        assert_non_null(strstr(e.msg, "1 diff_ids but the manifest has 2"));
        const char *bad = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
                          "\"md5:x\"]}}";
        assert_true(config_parse(bad, strlen(bad), 1, &diffs, &e) < 0);
}

static void test_challenge(void **state) {
        (void) state;
        struct challenge c;
        assert_int_equal(
                challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                "service=\"registry.docker.io\",scope="
                                "\"repository:library/busybox:pull\"",
                                &c),
                0);
        assert_string_equal(c.scheme, "bearer");
        assert_string_equal(c.realm, "https://auth.docker.io/token");
        assert_string_equal(c.service, "registry.docker.io");
        assert_string_equal(c.scope, "repository:library/busybox:pull");
        challenge_done(&c);
        assert_int_equal(challenge_parse("Basic realm=\"a \\\"b\\\" c\"", &c),
                         0);
        assert_string_equal(c.scheme, "basic");
        assert_string_equal(c.realm, "a \"b\" c");
        challenge_done(&c);
        /* Unquoted values, odd spacing, unknown parameters. */
        assert_int_equal(challenge_parse("  BEARER  realm=https://x/t , x=y,"
                                         "service=s",
                                         &c),
                         0);
        assert_string_equal(c.realm, "https://x/t");
        assert_string_equal(c.service, "s");
        challenge_done(&c);
        assert_true(challenge_parse("", &c) < 0);
}

static void test_ref_split(void **state) {
        (void) state;
        struct ref_parts p;
        struct berr e = {0};
        assert_int_equal(ref_split("docker.io/library/busybox:latest", &p, &e),
                         0);
        assert_string_equal(p.domain, "docker.io");
        assert_string_equal(p.path, "library/busybox");
        assert_string_equal(p.tag, "latest");
        assert_null(p.digest);
        ref_parts_done(&p);
        assert_int_equal(ref_split("localhost:5000/a/b:1@sha256:" H64, &p, &e),
                         0);
        assert_string_equal(p.domain, "localhost:5000");
        assert_string_equal(p.path, "a/b");
        assert_string_equal(p.tag, "1");
        assert_string_equal(p.digest, "sha256:" H64);
        ref_parts_done(&p);
        assert_true(ref_split("docker.io/x@sha512:abc", &p, &e) < 0);
}

static void test_base64(void **state) {
        (void) state;
        _cleanup_free_ char *a = base64_encode("user:pass", 9, false);
        assert_string_equal(a, "dXNlcjpwYXNz");
        char *d = NULL;
        size_t n;
        assert_int_equal(base64_decode("eyJhIjoiYiJ9", &d, &n), 0);
        assert_string_equal(d, "{\"a\":\"b\"}");
        free(d);
        /* URL alphabet, no padding (docker's X-Registry-Auth). */
        _cleanup_free_ char *u = base64_encode("\xfb\xff", 2, true);
        assert_string_equal(u, "-_8=");
        assert_int_equal(base64_decode("-_8", &d, &n), 0);
        assert_int_equal(n, 2);
        free(d);
        assert_int_equal(base64_decode("e30=", &d, &n), 0);
        assert_string_equal(d, "{}");
        free(d);
        assert_true(base64_decode("a!b", &d, &n) < 0);
}

/* ---- decompression ---- */

static size_t run_all(enum decomp_kind k, const unsigned char *in, size_t len,
                      unsigned char *out, size_t cap, bool *at_end) {
        struct decomp *d = NULL;
        assert_int_equal(decomp_new(k, &d), 0);
        size_t total = 0;
        /* Feed in small pieces to cross every boundary. */
        for (size_t off = 0; off < len || true;) {
                size_t piece = len - off < 7 ? len - off : 7;
                const unsigned char *p = in + off;
                size_t left = piece;
                long n;
                do {
                        n = decomp_run(d, &p, &left, out + total, cap - total);
                        assert_true(n >= 0);
                        total += (size_t) n;
                } while (n > 0 || left > 0);
                off += piece;
                if (piece == 0)
                        break;
        }
        *at_end = decomp_at_end(d);
        decomp_free(d);
        return total;
}

static void test_decomp(void **state) {
        (void) state;
        unsigned char plain[5000];
        for (size_t i = 0; i < sizeof(plain); i++)
                plain[i] = (unsigned char) (i * 7 % 251);
        /* Two concatenated gzip members. */
        unsigned char gz[12000];
        size_t gl = 0;
        for (int m = 0; m < 2; m++) {
                z_stream z = {0};
                assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
                                              Z_DEFAULT_STRATEGY),
                                 Z_OK);
                z.next_in = plain;
                z.avail_in = sizeof(plain);
                z.next_out = gz + gl;
                z.avail_out = (uInt) (sizeof(gz) - gl);
                assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
                gl += z.total_out;
                deflateEnd(&z);
        }
        assert_int_equal(decomp_sniff(gz, gl), DECOMP_GZIP);
        unsigned char out[20000];
        bool end;
        size_t n = run_all(DECOMP_GZIP, gz, gl, out, sizeof(out), &end);
        assert_int_equal(n, 2 * sizeof(plain));
        assert_memory_equal(out, plain, sizeof(plain));
        assert_memory_equal(out + sizeof(plain), plain, sizeof(plain));
        assert_true(end);
        /* Truncated: not at the end of a member. */
        run_all(DECOMP_GZIP, gz, gl / 3, out, sizeof(out), &end);
        assert_false(end);
        /* A flipped byte in the deflate data or the CRC is caught. */
        gz[gl - 6] ^= 0x55;
        struct decomp *d = NULL;
        assert_int_equal(decomp_new(DECOMP_GZIP, &d), 0);
        const unsigned char *p = gz;
        size_t left = gl;
        long r = 0;
        while (left > 0 &&
               (r = decomp_run(d, &p, &left, out, sizeof(out))) >= 0)
                ;
        assert_true(r < 0);
        decomp_free(d);
        /* zstd */
        unsigned char zs[8000];
        size_t zl = ZSTD_compress(zs, sizeof(zs), plain, sizeof(plain), 3);
        assert_false(ZSTD_isError(zl));
        assert_int_equal(decomp_sniff(zs, zl), DECOMP_ZSTD);
        n = run_all(DECOMP_ZSTD, zs, zl, out, sizeof(out), &end);
        assert_int_equal(n, sizeof(plain));
        assert_memory_equal(out, plain, sizeof(plain));
        assert_true(end);
        run_all(DECOMP_ZSTD, zs, zl - 3, out, sizeof(out), &end);
        assert_false(end);
        assert_int_equal(decomp_sniff("ustar", 5), DECOMP_NONE);
}

/* Plain HTTP (and skipping verification) is a decision about trust: only
 * loopback and what the administrator listed get it. */
static void test_trust(void **state) {
        (void) state;
        char *insecure[] = {(char *) "reg.internal:5000",
                            (char *) "10.1.0.0/16", NULL};
        struct registry_config cfg = {.insecure = insecure};
        assert_int_equal(reg_trust_of("docker.io", &cfg), REG_TRUST_TLS);
        assert_int_equal(reg_trust_of("registry.example:443", NULL),
                         REG_TRUST_TLS);
        assert_int_equal(reg_trust_of("127.0.0.1:5000", NULL),
                         REG_TRUST_LOOPBACK);
        assert_int_equal(reg_trust_of("127.9.8.7", NULL), REG_TRUST_LOOPBACK);
        assert_int_equal(reg_trust_of("localhost:5000", NULL),
                         REG_TRUST_LOOPBACK);
        assert_int_equal(reg_trust_of("[::1]:5000", NULL), REG_TRUST_LOOPBACK);
        /* Names that merely look local are not. */
        assert_int_equal(reg_trust_of("localhost.example:5000", NULL),
                         REG_TRUST_TLS);
        assert_int_equal(reg_trust_of("128.0.0.1:5000", NULL), REG_TRUST_TLS);
        assert_int_equal(reg_trust_of("reg.internal:5000", &cfg),
                         REG_TRUST_INSECURE);
        assert_int_equal(reg_trust_of("reg.internal:5001", &cfg),
                         REG_TRUST_TLS);
        assert_int_equal(reg_trust_of("10.1.200.3:5000", &cfg),
                         REG_TRUST_INSECURE);
        assert_int_equal(reg_trust_of("10.2.0.1:5000", &cfg), REG_TRUST_TLS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_manifest_ok),
                cmocka_unit_test(test_ambiguous_refused),
                cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_foreign),
                cmocka_unit_test(test_select),
                cmocka_unit_test(test_platform),
                cmocka_unit_test(test_config),
                cmocka_unit_test(test_challenge),
                cmocka_unit_test(test_ref_split),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_decomp),
                cmocka_unit_test(test_trust),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
