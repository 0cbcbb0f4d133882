/* DNS messages (RFC 1035) as berth's embedded resolver needs them: read
 * one query's question, write a reply with A or PTR answers, map
 * in-addr.arpa names to addresses.  Pure functions on buffers: no I/O, no
 * allocation, so every input a container can send is fuzzed directly. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A    1
#define DNS_TYPE_PTR  12
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN  1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

/* A UDP DNS message is at most this long without EDNS (what we answer). */
#define DNS_UDP_MAX 512

struct dns_question {
        uint16_t id;
        uint16_t flags;
        char name[256]; /* lowercased, dot-separated, no trailing dot */
        uint16_t qtype;
        uint16_t qclass;
        size_t end; /* offset just past the question in the message */
};

/* Read a standard query with exactly one question.  -EBADMSG for
 * anything malformed (truncated, compression in the question, a label
 * over 63 bytes, a name over 255), -EPROTO for a message that is not a
 * standard query (a response, another opcode, not one question).  The
 * id is filled in as soon as the header is there, so a caller can send
 * FORMERR back. */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret);

/* Write the reply to `q` (whose message is `msg`: the question is copied
 * as received, with its case) into out[cap]: `rcode`, then either `n`
 * A records from `addrs` (host byte order) or - if `ptr` is set - one
 * PTR record naming `ptr`; each with `ttl`.  Returns the length, or
 * -ENOSPC when it does not fit (the caller sends SERVFAIL), -EINVAL for
 * a `ptr` that is no valid name. */
int dns_build_reply(const struct dns_question *q, const uint8_t *msg, int rcode,
                    const uint32_t *addrs, size_t n, const char *ptr,
                    uint32_t ttl, uint8_t *out, size_t cap);

/* A header-only reply (FORMERR/SERVFAIL/REFUSED) for a message whose
 * question could not be read: 12 bytes into out. */
void dns_build_error(uint16_t id, uint16_t query_flags, int rcode,
                     uint8_t out[12]);

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4 (host byte order); -EINVAL for any
 * other name. */
int dns_ptr_addr(const char *name, uint32_t *ret);
