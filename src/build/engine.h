/* A client of berthd's API on its unix socket, for the build's RUN
 * containers.  One request at a time. */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct berr;
struct engine;

int engine_open(const char *socket, struct engine **ret, struct berr *err);
struct engine *engine_free(struct engine *e);
/* A request with a JSON body (or NULL); *ret (may be NULL) gets the
 * parsed answer (NULL if not JSON).  A status >= 300 is an error with
 * the daemon's message. */
int engine_call(struct engine *e, const char *method, const char *path,
                const char *body, json_t **ret, struct berr *err);
/* A GET whose answer is streamed to `fn` (a negative return stops it);
 * stops early when *cancel becomes non-zero. */
typedef int (*engine_data_fn)(const char *data, size_t len, void *ud);
int engine_stream(struct engine *e, const char *path, engine_data_fn fn,
                  void *ud, const volatile int *cancel, struct berr *err);
