/* Base64 (RFC 4648): the standard alphabet for Basic auth and docker's
 * config.json, the URL-safe one for X-Registry-Auth. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NUL-terminated, padded with '='; NULL on ENOMEM. */
char *base64_encode(const void *data, size_t len, bool url);
/* Accepts both alphabets, with or without padding, and ignores
 * whitespace.  -EINVAL on anything else; *ret is NUL-terminated. */
int base64_decode(const char *text, char **ret, size_t *ret_len);
