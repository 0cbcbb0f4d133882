/* Unpack a layer tar (any compression) from `fd` into the directory
 * `rootfd`, confined to it; Docker whiteouts become overlayfs whiteouts. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct archive;
struct berr;

int layer_unpack(int fd, int rootfd, struct berr *err);
/* The same, refused with -EFBIG once the regular files' sizes add up to
 * more than `max_bytes` (0: no bound). */
int layer_unpack_max(int fd, int rootfd, int64_t max_bytes, struct berr *err);
/* Whether an xattr of a layer entry is written (see unpack.c: never
 * trusted.*, of security.* only security.capability). */
bool layer_xattr_allowed(const char *name);
/* The same from an archive the caller opened (with its own read
 * callbacks); reads entries until the end of the archive. */
int layer_unpack_archive(struct archive *a, int rootfd, struct berr *err);
