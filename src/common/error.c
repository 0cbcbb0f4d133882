#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int norm(int code) {
        return code < 0 ? -code : code;
}

__attribute__((format(printf, 4, 0))) static int
vset(struct berr *err, int code, int with_strerror, const char *fmt,
     va_list ap) {
        code = norm(code);
        if (!err)
                return -code;
        if (err->msg[0] != '\0')
                return -(err->code ? err->code : code);
        err->code = code;
        int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        if (n < 0) {
                err->msg[0] = '\0';
                n = 0;
        }
        if (with_strerror && code != 0 && (size_t) n < sizeof(err->msg))
                snprintf(err->msg + n, sizeof(err->msg) - (size_t) n, ": %s",
                         strerror(code));
        return -code;
}

int berr_set(struct berr *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vset(err, code, 1, fmt, ap);
        va_end(ap);
        return r;
}

int berr_setx(struct berr *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vset(err, code, 0, fmt, ap);
        va_end(ap);
        return r;
}

int berr_prefix(struct berr *err, int code, const char *fmt, ...) {
        code = norm(code);
        if (!err)
                return -code;
        char prefix[BERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        char old[BERR_MSG_MAX];
        if (err->msg[0])
                snprintf(old, sizeof(old), "%s", err->msg);
        else
                snprintf(old, sizeof(old), "%s", strerror(code));
        /* Assemble in a larger buffer, then keep what fits. */
        char both[2 * BERR_MSG_MAX + 2];
        snprintf(both, sizeof(both), "%s: %s", prefix, old);
        memcpy(err->msg, both, sizeof(err->msg) - 1);
        err->msg[sizeof(err->msg) - 1] = '\0';
        if (!err->code)
                err->code = code;
        return -(err->code ? err->code : code);
}

void berr_clear(struct berr *err) {
        if (err) {
                err->code = 0;
                err->msg[0] = '\0';
        }
}

const char *berr_message(const struct berr *err, int code) {
        if (err && err->msg[0])
                return err->msg;
        return strerror(norm(code));
}
