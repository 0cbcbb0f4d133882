/* Fuzz target: DNS queries as a container sends them to the embedded
 * server (dns_parse_query), the replies built for them, and reverse
 * names (dns_ptr_addr). */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct dns_question q;
        if (dns_parse_query(data, size, &q) == 0) {
                if (q.end > size || q.end < 17 || strlen(q.name) > 253)
                        abort();
                uint8_t out[DNS_UDP_MAX];
                uint32_t addrs[40];
                for (size_t i = 0; i < 40; i++)
                        addrs[i] = (uint32_t) i * 0x01010101u;
                /* A reply always carries the question back and parses
                 * as a response to it. */
                int r = dns_build_reply(&q, data, DNS_RCODE_NOERROR, addrs,
                                        q.qtype % 41, NULL, 600, out,
                                        sizeof(out));
                if (r >= 0 && ((size_t) r < q.end ||
                               memcmp(out + 12, data + 12, q.end - 12) ||
                               !(out[2] & 0x80)))
                        abort();
                if (r < 0 &&
                    (q.end + 16 * (size_t) (q.qtype % 41)) <= sizeof(out))
                        abort();
                r = dns_build_reply(&q, data, DNS_RCODE_NOERROR, NULL, 0,
                                    q.name, 600, out, sizeof(out));
                (void) r;
                uint32_t a;
                if (dns_ptr_addr(q.name, &a) == 0) {
                        /* One spelling per address: back to the name. */
                        char back[64];
                        snprintf(back, sizeof(back), "%u.%u.%u.%u.in-addr.arpa",
                                 a & 255, a >> 8 & 255, a >> 16 & 255, a >> 24);
                        if (strcmp(back, q.name))
                                abort();
                }
        }
        return 0;
}
