/* sha256 while streaming. */
#pragma once
#include <stddef.h>

struct digest;
struct digest *digest_new(void);
void digest_update(struct digest *d, const void *buf, size_t len);
/* Writes "sha256:<64 hex>" into out (72 bytes) and frees d. */
void digest_final(struct digest *d, char out[72]);
int digest_fd(int fd, char out[72]);
void digest_buf(const void *buf, size_t len, char out[72]);
