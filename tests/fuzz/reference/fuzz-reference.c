/* Fuzz target: image reference parsing and its familiar form. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *in = malloc(size + 1);
        if (!in)
                return 0;
        memcpy(in, data, size);
        in[size] = '\0';
        char *out = NULL;
        struct berr e = {0};
        if (reference_normalize(in, &out, &e) == 0) {
                /* A normalized reference normalizes to itself. */
                char *again = NULL;
                if (reference_normalize(out, &again, &e) != 0 ||
                    strcmp(out, again) != 0)
                        abort();
                free(again);
                free(reference_familiar(out));
                free(out);
        }
        free(in);
        return 0;
}
