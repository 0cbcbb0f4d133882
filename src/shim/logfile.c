#include "logfile.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static size_t put(char *out, size_t o, const char *s) {
        size_t l = strlen(s);
        memcpy(out + o, s, l);
        return o + l;
}

size_t logfile_encode(char *out, const char *stream, const char *data,
                      size_t len, const char *time) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = (const unsigned char *) data;
        size_t o = put(out, 0, "{\"log\":\"");
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                if (c >= 0x80) {
                        size_t k = utf8_seq_len(s + i, len - i);
                        if (k == 0) {
                                o = put(out, o, "\\ufffd");
                                i++;
                        } else {
                                memcpy(out + o, s + i, k);
                                o += k;
                                i += k;
                        }
                        continue;
                }
                i++;
                switch (c) {
                case '"':
                        o = put(out, o, "\\\"");
                        break;
                case '\\':
                        o = put(out, o, "\\\\");
                        break;
                case '\n':
                        o = put(out, o, "\\n");
                        break;
                case '\r':
                        o = put(out, o, "\\r");
                        break;
                case '\t':
                        o = put(out, o, "\\t");
                        break;
                default:
                        /* Go's encoder also escapes <, > and & for HTML;
                         * the readers do not care, plain bytes are kept. */
                        if (c < 0x20 || c == 0x7f) {
                                o = put(out, o, "\\u00");
                                out[o++] = hex[c >> 4];
                                out[o++] = hex[c & 15];
                        } else
                                out[o++] = (char) c;
                }
        }
        o = put(out, o, "\",\"stream\":\"");
        o = put(out, o, stream);
        o = put(out, o, "\",\"time\":\"");
        o = put(out, o, time);
        o = put(out, o, "\"}\n");
        return o;
}

int logfile_open(struct logfile *lf, const char *path, uint64_t max_size,
                 unsigned max_file) {
        lf->fd = -1;
        lf->size = 0;
        lf->max_size = max_size;
        lf->max_file = max_file ? max_file : 1;
        lf->path = path && *path ? strdup(path) : NULL;
        if (!lf->path)
                return 0;
        lf->fd =
                open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (lf->fd < 0)
                return -errno;
        struct stat st;
        if (fstat(lf->fd, &st) == 0)
                lf->size = (uint64_t) st.st_size;
        return 0;
}

void logfile_close(struct logfile *lf) {
        if (lf->fd >= 0)
                close(lf->fd);
        lf->fd = -1;
        free(lf->path);
        lf->path = NULL;
}

/* LOG.(n-1) -> LOG.n ... LOG -> LOG.1, then a fresh LOG.  With max_file 1
 * the file is simply started over. */
static void rotate(struct logfile *lf) {
        char from[4096], to[4096];
        for (unsigned i = lf->max_file - 1; i >= 1; i--) {
                if (i == 1)
                        snprintf(from, sizeof(from), "%s", lf->path);
                else
                        snprintf(from, sizeof(from), "%s.%u", lf->path, i - 1);
                snprintf(to, sizeof(to), "%s.%u", lf->path, i);
                rename(from, to);
        }
        int fd =
                open(lf->path,
                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0)
                return; /* keep writing to the old one */
        close(lf->fd);
        lf->fd = fd;
        lf->size = 0;
}

static void write_entry(struct logfile *lf, const char *stream,
                        const char *data, size_t len) {
        static char *enc;
        if (lf->fd < 0)
                return;
        if (!enc) {
                enc = malloc(6 * LOG_LINE_MAX + 128);
                if (!enc)
                        return;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char tbuf[64];
        format_rfc3339(tbuf, sizeof(tbuf), ts.tv_sec, ts.tv_nsec);
        size_t n = logfile_encode(enc, stream, data, len, tbuf);
        if (lf->max_size && lf->size > 0 && lf->size + n > lf->max_size)
                rotate(lf);
        if (write_all(lf->fd, enc, n) == 0)
                lf->size += n;
}

void logline_feed(struct logfile *lf, struct logline *ll, const char *data,
                  size_t len) {
        while (len > 0) {
                size_t room = LOG_LINE_MAX - ll->len;
                const char *nl = memchr(data, '\n', len < room ? len : room);
                size_t take = nl ? (size_t) (nl - data) + 1
                                 : (len < room ? len : room);
                memcpy(ll->buf + ll->len, data, take);
                ll->len += take;
                data += take;
                len -= take;
                if (nl || ll->len == LOG_LINE_MAX) {
                        write_entry(lf, ll->stream, ll->buf, ll->len);
                        ll->len = 0;
                }
        }
}

void logline_flush(struct logfile *lf, struct logline *ll) {
        if (ll->len)
                write_entry(lf, ll->stream, ll->buf, ll->len);
        ll->len = 0;
}
