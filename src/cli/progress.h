/* The daemon's progress stream (docker's "jsonmessage" protocol) drawn
 * the way docker's CLI draws it: pull, push, and later build.
 *
 * The stream is JSON objects, one after another (moby ends each with
 * "\r\n"): {"status","id","progress","progressDetail":{"current","total",
 * "start","hidecounts","units"},"stream","from","time","timeNano",
 * "errorDetail":{"code","message"},"error","aux"}.  On a terminal every
 * message with an id and progress rewrites that id's own line in place
 * (cursor up, erase line, cursor down: DisplayJSONMessagesStream);
 * elsewhere progress bars are left out and the other lines are printed
 * one after the other ("abc123: Pull complete").
 *
 * Contract: the caller feeds the bytes as they come; the renderer stops
 * at the first error message (or at bytes that are not JSON), and the
 * caller reports progress_error() once. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct progress;

/* Draw on `out` (NULL: draw nothing, docker's --quiet).  `terminal`
 * selects in-place drawing; `width` is the terminal's width in columns
 * (the bar needs more than 110, the time left more than 50).  NULL on
 * ENOMEM. */
struct progress *progress_new(FILE *out, bool terminal, int width);
/* As docker decides it for the stream `fd` that `out` writes to: in
 * place when fd is a terminal, its width read at every message (200 when
 * it has none). */
struct progress *progress_new_for_fd(FILE *out, int fd);
void progress_free(struct progress *p); /* accepts NULL */
static inline void progress_freep(struct progress **p) {
        progress_free(*p);
}

/* Messages with an "aux" object go to `fn` instead of being drawn (push's
 * {Tag,Digest,Size}, build's {ID}). */
typedef void (*progress_aux_fn)(json_t *aux, void *ud);
void progress_set_aux(struct progress *p, progress_aux_fn fn, void *ud);

/* Feed bytes of the stream.  0 to go on; -EPROTO once the stream
 * carried an error or something that is not a JSON object (nothing
 * after it is drawn); -ENOMEM. */
int progress_feed(struct progress *p, const char *data, size_t len);
/* The stream ended: -EPROTO when it ended inside a message. */
int progress_end(struct progress *p);

/* After -EPROTO: the message to print (errorDetail.message, docker's
 * words) and errorDetail.code (0 when none). */
const char *progress_error(const struct progress *p);
int progress_error_code(const struct progress *p);

/* JSONProgress.String(): "[==>   ]  1.2MB/3.4MB 5s", "" when there is
 * nothing to show.  `now_ns` is the time (unix, in nanoseconds) the
 * time-left estimate is made at.  A new string, NULL on ENOMEM. */
char *progress_format_bar(int64_t current, int64_t total, int64_t start,
                          bool hide_counts, const char *units, int width,
                          int64_t now_ns);
