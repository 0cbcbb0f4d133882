/* Streaming decompression of layer blobs: gzip (ISA-L's igzip, several
 * times faster than zlib), zstd (libzstd) or none.  The format is sniffed
 * from the first bytes, as docker and containerd do, so a media type that
 * lies about compression still unpacks (the digest is what is trusted). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct decomp;

enum decomp_kind {
        DECOMP_NONE,
        DECOMP_GZIP,
        DECOMP_ZSTD,
        DECOMP_KIND_MAX,
        DECOMP_KIND_INVALID = -1,
};

/* The kind of a stream starting with `buf` (at least 4 bytes, or the
 * whole stream when shorter). */
enum decomp_kind decomp_sniff(const void *buf, size_t len);
const char *decomp_kind_name(enum decomp_kind k);

int decomp_new(enum decomp_kind kind, struct decomp **ret);
struct decomp *decomp_free(struct decomp *d);

/* Decompress from *in (advanced by what was used) into out.  Returns the
 * number of bytes written to out (0 when more input is needed), or -EINVAL
 * on corrupt data.  Concatenated gzip members and zstd frames continue
 * across boundaries. */
long decomp_run(struct decomp *d, const unsigned char **in, size_t *in_len,
                unsigned char *out, size_t out_cap);

/* True when the input seen so far ends on a complete member/frame (so an
 * end of input here is a proper end of stream, not a truncation). */
bool decomp_at_end(const struct decomp *d);
