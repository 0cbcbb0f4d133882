/* Layer decompression (see decomp.h). */
#include "decomp.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct decomp {
        enum decomp_kind kind;
        bool member_done; /* between members: the stream may end here */
        bool started;
        struct inflate_state *gz;
        ZSTD_DStream *zs;
};

enum decomp_kind decomp_sniff(const void *buf, size_t len) {
        const unsigned char *p = buf;
        if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return DECOMP_GZIP;
        if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
            p[3] == 0xfd)
                return DECOMP_ZSTD;
        return DECOMP_NONE;
}

const char *decomp_kind_name(enum decomp_kind k) {
        switch (k) {
        case DECOMP_NONE:
                return "uncompressed";
        case DECOMP_GZIP:
                return "gzip";
        case DECOMP_ZSTD:
                return "zstd";
        default:
                return "unknown";
        }
}

int decomp_new(enum decomp_kind kind, struct decomp **ret) {
        struct decomp *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->kind = kind;
        if (kind == DECOMP_GZIP) {
                d->gz = malloc(sizeof(*d->gz));
                if (!d->gz) {
                        free(d);
                        return -ENOMEM;
                }
                isal_inflate_init(d->gz);
                d->gz->crc_flag = ISAL_GZIP;
        } else if (kind == DECOMP_ZSTD) {
                d->zs = ZSTD_createDStream();
                if (!d->zs) {
                        free(d);
                        return -ENOMEM;
                }
                ZSTD_initDStream(d->zs);
        } else if (kind != DECOMP_NONE) {
                free(d);
                return -EINVAL;
        }
        d->member_done = true;
        *ret = d;
        return 0;
}

struct decomp *decomp_free(struct decomp *d) {
        if (!d)
                return NULL;
        free(d->gz);
        if (d->zs)
                ZSTD_freeDStream(d->zs);
        free(d);
        return NULL;
}

static long run_gzip(struct decomp *d, const unsigned char **in, size_t *in_len,
                     unsigned char *out, size_t out_cap) {
        struct inflate_state *s = d->gz;
        size_t produced = 0;
        while (produced < out_cap) {
                if (s->block_state == ISAL_BLOCK_FINISH) {
                        /* A member ended; another may follow.  Trailing
                         * zero padding after the last member is allowed
                         * (gzip(1) accepts it). */
                        d->member_done = true;
                        while (*in_len && **in == 0) {
                                (*in)++;
                                (*in_len)--;
                        }
                        if (!*in_len)
                                break;
                        isal_inflate_reset(s);
                        s->crc_flag = ISAL_GZIP;
                }
                if (!*in_len && s->tmp_out_valid == 0)
                        break;
                d->member_done = false;
                s->next_in = (uint8_t *) *in;
                s->avail_in = (uint32_t) (*in_len > UINT32_MAX ? UINT32_MAX
                                                               : *in_len);
                s->next_out = out + produced;
                s->avail_out = (uint32_t) (out_cap - produced);
                size_t before_in = s->avail_in;
                uint32_t before_out = s->avail_out;
                int r = isal_inflate(s);
                size_t used = before_in - s->avail_in;
                *in += used;
                *in_len -= used;
                produced += before_out - s->avail_out;
                if (r != ISAL_DECOMP_OK && r != ISAL_END_INPUT)
                        return -EINVAL;
                if (s->block_state == ISAL_BLOCK_FINISH)
                        continue;
                if (used == 0 && before_out == s->avail_out)
                        break; /* needs more input */
        }
        if (s->block_state == ISAL_BLOCK_FINISH)
                d->member_done = true;
        return (long) produced;
}

static long run_zstd(struct decomp *d, const unsigned char **in, size_t *in_len,
                     unsigned char *out, size_t out_cap) {
        ZSTD_inBuffer ib = {*in, *in_len, 0};
        ZSTD_outBuffer ob = {out, out_cap, 0};
        while (ob.pos < ob.size) {
                size_t before_in = ib.pos, before_out = ob.pos;
                size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
                if (ZSTD_isError(r))
                        return -EINVAL;
                if (ib.pos == before_in && ob.pos == before_out)
                        break;
                /* r == 0: a frame ended exactly here. */
                d->member_done = r == 0;
                if (ib.pos == ib.size && ob.pos < ob.size)
                        break;
        }
        *in += ib.pos;
        *in_len -= ib.pos;
        return (long) ob.pos;
}

long decomp_run(struct decomp *d, const unsigned char **in, size_t *in_len,
                unsigned char *out, size_t out_cap) {
        d->started = true;
        switch (d->kind) {
        case DECOMP_GZIP:
                return run_gzip(d, in, in_len, out, out_cap);
        case DECOMP_ZSTD:
                return run_zstd(d, in, in_len, out, out_cap);
        default: {
                size_t n = *in_len < out_cap ? *in_len : out_cap;
                memcpy(out, *in, n);
                *in += n;
                *in_len -= n;
                return (long) n;
        }
        }
}

bool decomp_at_end(const struct decomp *d) {
        if (d->kind == DECOMP_NONE)
                return true;
        return d->member_done && d->started;
}
