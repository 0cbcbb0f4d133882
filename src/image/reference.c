/* The store's view of references: one canonical string per reference
 * ("docker.io/library/busybox:latest"), over the shared grammar in
 * src/common/reference.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"
#include "reference.h"

int reference_normalize(const char *in, char **ret, struct berr *err) {
        struct reference r;
        int rr = reference_parse_normalized(in ? in : "", &r, err);
        if (rr < 0)
                return rr;
        rr = reference_tag_name_only(&r);
        char *out = rr >= 0 ? reference_string(&r) : NULL;
        reference_done(&r);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

char *reference_familiar(const char *full) {
        struct reference r;
        struct berr e = {0};
        if (reference_parse_normalized(full, &r, &e) < 0)
                return strdup(full);
        char *out = reference_familiar_string(&r);
        reference_done(&r);
        return out;
}
