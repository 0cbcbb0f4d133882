/* Fuzz target: registry documents.  The first byte picks the parser:
 * even = manifest/index (then platform selection on an index), odd = an
 * image config for a manifest of (byte / 2) % 8 layers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "document.h"
#include "error.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        const char *text = (const char *) data + 1;
        size_t len = size - 1;
        struct berr e = {0};
        if (data[0] % 2 == 0) {
                static const char *const types[] = {
                        NULL,         MT_OCI_MANIFEST, MT_DOCKER_MANIFEST,
                        MT_OCI_INDEX, MT_DOCKER_LIST,  "text/plain"};
                struct document *d = NULL;
                if (document_parse(text, len, types[(data[0] / 2) % 6], &d,
                                   &e) == 0) {
                        if (d->kind == DOC_INDEX) {
                                size_t pick;
                                if (document_select(d, "linux", "amd64", NULL,
                                                    &pick, &e) == 0 &&
                                    pick >= d->n_manifests)
                                        abort();
                                document_select(d, "linux", "arm64", "v8",
                                                &pick, &e);
                        } else {
                                if (!digest_valid(d->config.digest))
                                        abort();
                                for (size_t i = 0; i < d->n_layers; i++)
                                        if (!digest_valid(d->layers[i].digest))
                                                abort();
                        }
                        document_free(d);
                }
        } else {
                char **diffs = NULL;
                size_t n = (size_t) (data[0] / 2) % 8;
                if (config_parse(text, len, n, &diffs, &e) == 0) {
                        if (strv_length(diffs) != n)
                                abort();
                        strv_free(diffs);
                }
        }
        return 0;
}
