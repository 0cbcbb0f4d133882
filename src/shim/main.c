/* berth-shim STATE_DIR: the per-container monitor berthd starts. */
#include "selfexec.h"
#include "shim.h"

#include <stdio.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
        if (argc != 2 || argv[1][0] != '/') {
                fprintf(stderr,
                        "usage: berth-shim STATE_DIR\n"
                        "(started by berthd; see docs/SHIM-PROTOCOL.md)\n");
                return 2;
        }
        /* Processes forked from us enter containers: never run from a
         * binary a container could write through /proc/PID/exe. */
        selfexec_ensure_sealed(argv, environ);
        return shim_main(argv[1]);
}
