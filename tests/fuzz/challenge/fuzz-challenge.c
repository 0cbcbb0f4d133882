/* Fuzz target: WWW-Authenticate challenges, platforms, base64
 * (X-Registry-Auth) and IPv4 subnets (--bip). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "document.h"
#include "error.h"
#include "ipam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *in = malloc(size + 1);
        if (!in)
                return 0;
        memcpy(in, data, size);
        in[size] = '\0';
        struct challenge c;
        if (challenge_parse(in, &c) == 0) {
                if (!c.scheme)
                        abort();
                challenge_done(&c);
        }
        struct berr e = {0};
        char *os = NULL, *arch = NULL, *variant = NULL;
        if (platform_parse(in, &os, &arch, &variant, &e) == 0) {
                if (!os || !arch)
                        abort();
                free(os);
                free(arch);
                free(variant);
        }
        /* Subnets as --bip/--subnet give them: a parsed network formats
         * back to a string that parses to the same network. */
        struct ipv4_net n, n2;
        uint32_t host;
        if (ipv4_net_parse(in, &n, &host, &e) == 0) {
                char buf[20];
                ipv4_net_format(&n, buf);
                if (ipv4_net_parse(buf, &n2, NULL, &e) != 0 ||
                    n2.addr != n.addr || n2.prefix != n.prefix ||
                    !ipv4_net_contains(&n, host))
                        abort();
        }
        berr_clear(&e);
        char *dec = NULL;
        size_t dl = 0;
        if (base64_decode(in, &dec, &dl) == 0) {
                /* Decoding what encoding produced gives the input back. */
                char *enc = base64_encode(dec, dl, false);
                char *back = NULL;
                size_t bl = 0;
                if (!enc || base64_decode(enc, &back, &bl) != 0 || bl != dl ||
                    memcmp(back, dec, dl) != 0)
                        abort();
                free(enc);
                free(back);
                free(dec);
        }
        free(in);
        return 0;
}
