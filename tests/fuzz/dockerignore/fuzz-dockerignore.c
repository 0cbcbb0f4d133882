/* Fuzz target: .dockerignore files (ignore_parse, ignore_match) and
 * path cleaning: the first line is also matched against the rest, and
 * cleaning is idempotent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ignore *ig = NULL;
        struct berr e = {0};
        if (ignore_parse((const char *) data, size, &ig, &e) != 0)
                return 0;
        char *text = malloc(size + 1);
        if (!text) {
                ignore_free(ig);
                return 0;
        }
        memcpy(text, data, size);
        text[size] = '\0';
        char *nl = strchr(text, '\n');
        if (nl)
                *nl = '\0';
        ignore_clean_path(text);
        char *again = strdup(text);
        if (again) {
                ignore_clean_path(again);
                if (strcmp(again, text))
                        abort();
                free(again);
        }
        (void) ignore_match(ig, text);
        (void) ignore_glob(text, text);
        free(text);
        ignore_free(ig);
        return 0;
}
