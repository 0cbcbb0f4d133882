/* Scope-bound cleanup helpers (GCC/Clang cleanup attribute).
 *
 * Contract: every destructor used with _cleanup_ accepts NULL (or -1 for
 * fds) and does nothing then.  TAKE_PTR / TAKE_FD hand ownership to the
 * caller by clearing the local variable so its cleanup becomes a no-op. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)        __attribute__((cleanup(f)))
#define _cleanup_free_      _cleanup_(freep)
#define _cleanup_close_     _cleanup_(closep)
#define _cleanup_fclose_    _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline void freep(void *p) {
        free(*(void **) p);
}

/* close() preserving errno; never retried on EINTR (Linux always frees
 * the descriptor even when close reports EINTR). */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}

#define TAKE_PTR(p)                                                            \
        ({                                                                     \
                __typeof__(p) _tp = (p);                                       \
                (p) = NULL;                                                    \
                _tp;                                                           \
        })

#define TAKE_FD(fd)                                                            \
        ({                                                                     \
                int _tf = (fd);                                                \
                (fd) = -1;                                                     \
                _tf;                                                           \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
