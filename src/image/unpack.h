/* Unpack a layer tar (any compression) from `fd` into the directory
 * `rootfd`, confined to it; Docker whiteouts become overlayfs whiteouts. */
#pragma once

struct archive;
struct berr;

int layer_unpack(int fd, int rootfd, struct berr *err);
/* The same from an archive the caller opened (with its own read
 * callbacks); reads entries until the end of the archive. */
int layer_unpack_archive(struct archive *a, int rootfd, struct berr *err);
