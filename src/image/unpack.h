/* Unpack a layer tar (any compression) from `fd` into the directory
 * `rootfd`, confined to it; Docker whiteouts become overlayfs whiteouts. */
#pragma once

struct berr;

int layer_unpack(int fd, int rootfd, struct berr *err);
