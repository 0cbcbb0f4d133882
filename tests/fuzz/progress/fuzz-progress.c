/* Fuzz target: the CLI's reader of the daemon's JSON progress stream
 * (pull, push, later build), fed in two pieces to cross message
 * boundaries, drawn both as on a terminal and as on a pipe. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "progress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FILE *sink = fopen("/dev/null", "we");
        if (!sink)
                return 0;
        for (int tty = 0; tty < 2; tty++) {
                struct progress *p = progress_new(sink, tty, 120);
                if (!p)
                        break;
                size_t half = size / 2;
                if (progress_feed(p, (const char *) data, half) == 0 &&
                    progress_feed(p, (const char *) data + half, size - half) ==
                            0)
                        progress_end(p);
                (void) progress_error(p);
                progress_free(p);
        }
        fclose(sink);
        return 0;
}
