#include "base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char STD[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *base64_encode(const void *data, size_t len, bool url) {
        const unsigned char *p = data;
        const char *abc = url ? URL : STD;
        char *out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        size_t o = 0, i = 0;
        for (; i + 2 < len; i += 3) {
                unsigned v = (unsigned) p[i] << 16 | (unsigned) p[i + 1] << 8 |
                             p[i + 2];
                out[o++] = abc[v >> 18 & 63];
                out[o++] = abc[v >> 12 & 63];
                out[o++] = abc[v >> 6 & 63];
                out[o++] = abc[v & 63];
        }
        if (i < len) {
                unsigned v = (unsigned) p[i] << 16;
                if (i + 1 < len)
                        v |= (unsigned) p[i + 1] << 8;
                out[o++] = abc[v >> 18 & 63];
                out[o++] = abc[v >> 12 & 63];
                out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
                out[o++] = '=';
        }
        out[o] = '\0';
        return out;
}

static int value_of(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

int base64_decode(const char *text, char **ret, size_t *ret_len) {
        size_t n = strlen(text);
        char *out = malloc(n / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        unsigned acc = 0;
        int bits = 0;
        size_t o = 0;
        bool pad = false;
        for (const char *p = text; *p; p++) {
                if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                        continue;
                if (*p == '=') {
                        pad = true;
                        continue;
                }
                int v = value_of(*p);
                if (v < 0 || pad) {
                        free(out);
                        return -EINVAL;
                }
                acc = (acc << 6 | (unsigned) v) & 0xffffff;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char) (acc >> bits & 0xff);
                }
        }
        /* Leftover bits must be zero padding of a final group. */
        if (bits >= 6) {
                free(out);
                return -EINVAL;
        }
        out[o] = '\0';
        *ret = out;
        if (ret_len)
                *ret_len = o;
        return 0;
}
