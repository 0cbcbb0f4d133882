/* DNS messages (see dns.h). */
#include "dns.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define F_QR     0x8000
#define F_OPCODE 0x7800
#define F_RD     0x0100
#define F_RA     0x0080

static uint16_t get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void put32(uint8_t *p, uint32_t v) {
        put16(p, (uint16_t) (v >> 16));
        put16(p + 2, (uint16_t) v);
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret) {
        memset(ret, 0, sizeof(*ret));
        if (len < 12)
                return -EBADMSG;
        ret->id = get16(msg);
        ret->flags = get16(msg + 2);
        if ((ret->flags & F_QR) || (ret->flags & F_OPCODE) ||
            get16(msg + 4) != 1 || get16(msg + 6) != 0 || get16(msg + 8) != 0)
                return -EPROTO;
        size_t off = 12, out = 0;
        for (;;) {
                if (off >= len)
                        return -EBADMSG;
                uint8_t l = msg[off++];
                if (l == 0)
                        break;
                /* No compression in a question: nothing came before. */
                if (l > 63 || off + l > len)
                        return -EBADMSG;
                if (out + l + 1 >= sizeof(ret->name))
                        return -EBADMSG;
                if (out)
                        ret->name[out++] = '.';
                for (uint8_t i = 0; i < l; i++) {
                        uint8_t ch = msg[off + i];
                        /* A dot or NUL inside a label could make two
                         * different names compare equal. */
                        if (ch == '.' || ch == '\0')
                                return -EBADMSG;
                        if (ch >= 'A' && ch <= 'Z')
                                ch = (uint8_t) (ch - 'A' + 'a');
                        ret->name[out++] = (char) ch;
                }
                off += l;
        }
        ret->name[out] = '\0';
        /* 255 octets on the wire at most (RFC 1035 2.3.4). */
        if (off - 12 > 255 || off + 4 > len)
                return -EBADMSG;
        ret->qtype = get16(msg + off);
        ret->qclass = get16(msg + off + 2);
        ret->end = off + 4;
        return 0;
}

/* `name` as labels at out[cap]; the length, or -ENOSPC/-EINVAL. */
static int put_name(const char *name, uint8_t *out, size_t cap) {
        size_t o = 0;
        const char *p = name;
        while (*p) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t) (dot - p) : strlen(p);
                if (l == 0 || l > 63)
                        return -EINVAL;
                if (o + 1 + l + 1 > cap)
                        return -ENOSPC;
                out[o++] = (uint8_t) l;
                memcpy(out + o, p, l);
                o += l;
                p += l;
                if (*p == '.')
                        p++;
        }
        if (o + 1 > cap || o + 1 > 255)
                return o + 1 > 255 ? -EINVAL : -ENOSPC;
        out[o++] = 0;
        return (int) o;
}

static uint16_t reply_flags(uint16_t query_flags, int rcode) {
        return (uint16_t) (F_QR | (query_flags & F_RD) | F_RA | (rcode & 0xf));
}

void dns_build_error(uint16_t id, uint16_t query_flags, int rcode,
                     uint8_t out[12]) {
        memset(out, 0, 12);
        put16(out, id);
        put16(out + 2, reply_flags(query_flags, rcode));
}

int dns_build_reply(const struct dns_question *q, const uint8_t *msg, int rcode,
                    const uint32_t *addrs, size_t n, const char *ptr,
                    uint32_t ttl, uint8_t *out, size_t cap) {
        size_t qlen = q->end - 12;
        if (12 + qlen > cap)
                return -ENOSPC;
        memset(out, 0, 12);
        put16(out, q->id);
        put16(out + 2, reply_flags(q->flags, rcode));
        put16(out + 4, 1);
        memcpy(out + 12, msg + 12, qlen);
        size_t o = 12 + qlen;
        size_t count = 0;
        /* Each answer names the question by a pointer to offset 12. */
        if (ptr) {
                if (o + 12 > cap)
                        return -ENOSPC;
                put16(out + o, 0xc00c);
                put16(out + o + 2, DNS_TYPE_PTR);
                put16(out + o + 4, DNS_CLASS_IN);
                put32(out + o + 6, ttl);
                int l = put_name(ptr, out + o + 12, cap - o - 12);
                if (l < 0)
                        return l;
                put16(out + o + 10, (uint16_t) l);
                o += 12 + (size_t) l;
                count = 1;
        } else {
                for (size_t i = 0; i < n; i++) {
                        if (o + 16 > cap)
                                return -ENOSPC;
                        put16(out + o, 0xc00c);
                        put16(out + o + 2, DNS_TYPE_A);
                        put16(out + o + 4, DNS_CLASS_IN);
                        put32(out + o + 6, ttl);
                        put16(out + o + 10, 4);
                        put32(out + o + 12, addrs[i]);
                        o += 16;
                }
                count = n;
        }
        put16(out + 6, (uint16_t) count);
        return (int) o;
}

int dns_ptr_addr(const char *name, uint32_t *ret) {
        static const char suffix[] = ".in-addr.arpa";
        size_t len = strlen(name), sl = sizeof(suffix) - 1;
        if (len <= sl || strcmp(name + len - sl, suffix) != 0)
                return -EINVAL;
        unsigned int o[4];
        size_t i = 0, k = 0;
        for (; k < 4; k++) {
                unsigned int v = 0;
                size_t digits = 0;
                while (i < len - sl && name[i] >= '0' && name[i] <= '9') {
                        v = v * 10 + (unsigned int) (name[i] - '0');
                        if (++digits > 3 || v > 255)
                                return -EINVAL;
                        i++;
                }
                /* No leading zeros: one spelling per address. */
                if (!digits || (digits > 1 && name[i - digits] == '0'))
                        return -EINVAL;
                o[k] = v;
                if (k < 3) {
                        if (name[i] != '.')
                                return -EINVAL;
                        i++;
                }
        }
        if (i != len - sl)
                return -EINVAL;
        *ret = o[3] << 24 | o[2] << 16 | o[1] << 8 | o[0];
        return 0;
}
