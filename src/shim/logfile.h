/* Docker's json-file log driver, as the shim writes it: one JSON object per
 * line, {"log":"...","stream":"stdout","time":"RFC3339Nano"}, lines cut at
 * 16 KiB, files rotated at a size limit. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX (16 * 1024)

struct logfile {
        char *path;        /* "" or NULL: logging off */
        uint64_t max_size; /* 0: unlimited */
        unsigned max_file; /* files kept, the current one included */
        int fd;
        uint64_t size;
};

/* Line assembly for one output stream: bytes are held until a newline or
 * LOG_LINE_MAX of them. */
struct logline {
        char buf[LOG_LINE_MAX];
        size_t len;
        const char *stream; /* "stdout" / "stderr" */
};

int logfile_open(struct logfile *lf, const char *path, uint64_t max_size,
                 unsigned max_file);
void logfile_close(struct logfile *lf);

/* Feed output bytes of one stream; complete lines are written. */
void logline_feed(struct logfile *lf, struct logline *ll, const char *data,
                  size_t len);
/* Write what is held (the stream ended): a last line without newline. */
void logline_flush(struct logfile *lf, struct logline *ll);

/* Encode one entry into `out` (which must hold 6*len + 128 bytes); returns
 * its length.  Invalid UTF-8 becomes U+FFFD, as Go's encoder does.
 * Exposed for the unit tests. */
size_t logfile_encode(char *out, const char *stream, const char *data,
                      size_t len, const char *time);
