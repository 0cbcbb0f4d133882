/* Fuzz target: layer tar unpacking (any compression) into a scratch root.
 * Whatever the input, nothing may be created outside the root and the
 * unpacker must not crash. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "unpack.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];

/* The work directory goes with the process (replays run in every build). */
static void remove_base(void) {
        rm_rf_at(AT_FDCWD, base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!base[0]) {
                snprintf(base, sizeof(base), "/tmp/berth-fuzz-layer.%d",
                         (int) getpid());
                mkdir(base, 0700);
                atexit(remove_base);
        }
        char root[96];
        snprintf(root, sizeof(root), "%s/root", base);
        rm_rf_at(AT_FDCWD, root);
        if (mkdir(root, 0755) < 0)
                abort();
        int fd = memfd_create("layer", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        if (size && write_all(fd, data, size) < 0)
                abort();
        lseek(fd, 0, SEEK_SET);
        int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct berr e = {0};
        layer_unpack(fd, rfd, &e);
        close(rfd);
        close(fd);
        /* The scratch base holds only the root: anything else escaped. */
        int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (fstatat(bfd, "escaped", &st, AT_SYMLINK_NOFOLLOW) == 0)
                abort();
        close(bfd);
        rm_rf_at(AT_FDCWD, root);
        return 0;
}
