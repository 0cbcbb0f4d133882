/* docker's jsonmessage.DisplayJSONMessagesStream and JSONProgress.String,
 * rewritten line for line so that berth draws exactly what docker draws
 * for the same stream (the tests compare the two byte for byte). */
#include "progress.h"

#include "cleanup.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct progress {
        FILE *out; /* NULL: discard */
        bool terminal;
        int width; /* fixed width, or 0: ask fd */
        int fd;
        progress_aux_fn aux_fn;
        void *aux_ud;
        json_t *ids; /* id -> its line number, since the last plain line */
        char *buf;   /* bytes of a message not yet complete */
        size_t len, cap;
        /* Scanner state of the message being collected in buf. */
        size_t scan, start;
        int depth;
        bool in_string, escaped, failed;
        char *error;
        int error_code;
};

struct progress *progress_new(FILE *out, bool terminal, int width) {
        struct progress *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->ids = json_object();
        if (!p->ids) {
                free(p);
                return NULL;
        }
        p->out = out;
        p->terminal = terminal;
        p->width = width;
        p->fd = -1;
        return p;
}

struct progress *progress_new_for_fd(FILE *out, int fd) {
        struct progress *p = progress_new(out, out && isatty(fd), 0);
        if (p)
                p->fd = fd;
        return p;
}

void progress_free(struct progress *p) {
        if (!p)
                return;
        json_decref(p->ids);
        free(p->buf);
        free(p->error);
        free(p);
}

void progress_set_aux(struct progress *p, progress_aux_fn fn, void *ud) {
        p->aux_fn = fn;
        p->aux_ud = ud;
}

const char *progress_error(const struct progress *p) {
        return p->error ? p->error : "";
}

int progress_error_code(const struct progress *p) {
        return p->error_code;
}

/* JSONProgress.width(): the terminal's, 200 when there is none. */
static int width_of(const struct progress *p) {
        if (p->width > 0)
                return p->width;
        struct winsize ws;
        if (p->fd >= 0 && ioctl(p->fd, TIOCGWINSZ, &ws) == 0)
                return ws.ws_col;
        return 200;
}

/* Go's time.Duration.String() for a whole number of seconds. */
static void duration_string(char *buf, size_t size, int64_t sec) {
        const char *sign = sec < 0 ? "-" : "";
        uint64_t s = sec < 0 ? (uint64_t) -sec : (uint64_t) sec;
        if (s >= 3600)
                snprintf(buf, size, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s",
                         sign, s / 3600, s / 60 % 60, s % 60);
        else if (s >= 60)
                snprintf(buf, size, "%s%" PRIu64 "m%" PRIu64 "s", sign, s / 60,
                         s % 60);
        else
                snprintf(buf, size, "%s%" PRIu64 "s", sign, s);
}

char *progress_format_bar(int64_t current, int64_t total, int64_t start,
                          bool hide_counts, const char *units, int width,
                          int64_t now_ns) {
        char numbers[96] = "", bar[64] = "", left[48] = "";
        if (current <= 0 && total <= 0)
                return strdup("");
        if (total <= 0) {
                if (!units || !*units) {
                        char h[32];
                        human_size_si(h, sizeof(h), (double) current, 4);
                        return str_printf("%8s", h);
                }
                return str_printf("%" PRId64 " %s", current, units);
        }
        int percentage = (int) ((double) current / (double) total * 100) / 2;
        if (percentage > 50)
                percentage = 50;
        if (width > 110) {
                int spaces = 50 - percentage > 0 ? 50 - percentage : 0;
                size_t o = 0;
                bar[o++] = '[';
                for (int i = 0; i < percentage; i++)
                        bar[o++] = '=';
                bar[o++] = '>';
                for (int i = 0; i < spaces; i++)
                        bar[o++] = ' ';
                bar[o++] = ']';
                bar[o++] = ' ';
                bar[o] = '\0';
        }
        if (hide_counts) {
        } else if (!units || !*units) {
                char c[32], t[32];
                human_size_si(c, sizeof(c), (double) current, 4);
                human_size_si(t, sizeof(t), (double) total, 4);
                if (current > total)
                        snprintf(numbers, sizeof(numbers), "%8s", c);
                else
                        snprintf(numbers, sizeof(numbers), "%8s/%s", c, t);
        } else if (current > total)
                snprintf(numbers, sizeof(numbers), "%" PRId64 " %s", current,
                         units);
        else
                snprintf(numbers, sizeof(numbers), "%" PRId64 "/%" PRId64 " %s",
                         current, total, units);
        if (width > 50 && current > 0 && start > 0 && percentage < 50) {
                /* Integer nanoseconds as Go's Durations, rounded to the
                 * second half away from zero. */
                int64_t from_start = now_ns - start * 1000000000LL;
                int64_t per_entry = from_start / current;
                int64_t ns = (total - current) * per_entry;
                int64_t sec = ns >= 0 ? (ns + 500000000LL) / 1000000000LL
                                      : -((-ns + 500000000LL) / 1000000000LL);
                char d[40];
                duration_string(d, sizeof(d), sec);
                snprintf(left, sizeof(left), " %s", d);
        }
        return str_printf("%s%s%s", bar, numbers, left);
}

/* RFC3339NanoFixed in local time, as Go's time.Format prints it. */
static void format_time(char *buf, size_t size, int64_t ns) {
        time_t t = (time_t) (ns / 1000000000LL);
        long frac = (long) (ns % 1000000000LL);
        if (frac < 0) {
                frac += 1000000000L;
                t--;
        }
        struct tm tm;
        localtime_r(&t, &tm);
        char date[32], zone[8];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        long off = tm.tm_gmtoff;
        unsigned hh = (unsigned) (labs(off) / 3600) % 100u;
        unsigned mm = (unsigned) (labs(off) / 60) % 60u;
        if (off == 0)
                snprintf(zone, sizeof(zone), "Z");
        else
                snprintf(zone, sizeof(zone), "%c%02u:%02u", off < 0 ? '-' : '+',
                         hh, mm);
        snprintf(buf, size, "%s.%09ld%s", date, frac % 1000000000L, zone);
}

static const char *str_field(json_t *m, const char *key) {
        const char *s = json_string_value(json_object_get(m, key));
        return s ? s : "";
}

static int64_t int_field(json_t *m, const char *key) {
        json_t *v = json_object_get(m, key);
        if (json_is_integer(v))
                return (int64_t) json_integer_value(v);
        if (json_is_real(v))
                return (int64_t) json_real_value(v);
        return 0;
}

static int fail(struct progress *p, const char *msg, int code) {
        free(p->error);
        p->error = strdup(msg);
        p->error_code = code;
        p->failed = true;
        return p->error ? -EPROTO : -ENOMEM;
}

static void put(struct progress *p, const char *s) {
        if (p->out)
                fputs(s, p->out);
}

static void cursor(struct progress *p, size_t n, char dir) {
        if (n == 0 || !p->out)
                return;
        fprintf(p->out, "\x1b[%zu%c", n, dir);
}

/* JSONMessage.Display. */
static int display(struct progress *p, json_t *m, json_t *detail) {
        json_t *ed = json_object_get(m, "errorDetail");
        const char *err = json_string_value(json_object_get(m, "error"));
        if (json_is_object(ed) || err) {
                /* docker looks at errorDetail only; a daemon that sends
                 * just "error" still failed, so that counts as well. */
                const char *msg =
                        json_string_value(json_object_get(ed, "message"));
                return fail(p,
                            msg   ? msg
                            : err ? err
                                  : "",
                            (int) int_field(ed, "code"));
        }
        const char *stream = str_field(m, "stream");
        const char *status = str_field(m, "status");
        const char *pmsg = str_field(m, "progress");
        const char *id = str_field(m, "id");
        const char *from = str_field(m, "from");
        _cleanup_free_ char *bar = NULL;
        if (detail) {
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                bar = progress_format_bar(
                        int_field(detail, "current"),
                        int_field(detail, "total"), int_field(detail, "start"),
                        json_is_true(json_object_get(detail, "hidecounts")),
                        str_field(detail, "units"), width_of(p),
                        (int64_t) now.tv_sec * 1000000000LL + now.tv_nsec);
                if (!bar)
                        return -ENOMEM;
        }
        const char *endl = "";
        if (p->terminal && !*stream && detail) {
                put(p, "\x1b[2K\r");
                endl = "\r";
        } else if (detail && *bar)
                return 0; /* no progress bars off a terminal */
        int64_t tn = int_field(m, "timeNano"), ts = int_field(m, "time");
        if (tn || ts) {
                char t[64];
                format_time(t, sizeof(t), tn ? tn : ts * 1000000000LL);
                put(p, t);
                put(p, " ");
        }
        if (p->out && *id)
                fprintf(p->out, "%s: ", id);
        if (p->out && *from)
                fprintf(p->out, "(from %s) ", from);
        if (!p->out)
                return 0;
        if (detail && p->terminal)
                fprintf(p->out, "%s %s%s", status, bar, endl);
        else if (*pmsg)
                fprintf(p->out, "%s %s%s", status, pmsg, endl);
        else if (*stream)
                fprintf(p->out, "%s%s", stream, endl);
        else
                fprintf(p->out, "%s%s\n", status, endl);
        return 0;
}

/* One message of DisplayJSONMessagesStream's loop. */
static int handle(struct progress *p, json_t *m) {
        json_t *aux = json_object_get(m, "aux");
        if (aux && !json_is_null(aux)) {
                if (p->aux_fn)
                        p->aux_fn(aux, p->aux_ud);
                return 0;
        }
        json_t *detail = json_object_get(m, "progressDetail");
        if (json_is_null(detail))
                detail = NULL;
        const char *id = str_field(m, "id");
        size_t diff = 0;
        if (*id && (detail || *str_field(m, "progress"))) {
                json_t *known = json_object_get(p->ids, id);
                size_t line;
                if (known)
                        line = (size_t) json_integer_value(known);
                else {
                        line = json_object_size(p->ids);
                        if (json_object_set_new(
                                    p->ids, id,
                                    json_integer((json_int_t) line)))
                                return -ENOMEM;
                        if (p->terminal)
                                put(p, "\n");
                }
                diff = json_object_size(p->ids) - line;
                if (p->terminal)
                        cursor(p, diff, 'A');
        } else {
                /* A line of its own ends the block of progress lines:
                 * later ids start a new one (pull -a, one per tag). */
                json_object_clear(p->ids);
        }
        int r = display(p, m, detail);
        if (*id && p->terminal)
                cursor(p, diff, 'B');
        if (p->out)
                fflush(p->out);
        return r;
}

static void invalid(struct progress *p, char c) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "invalid character '%c' looking for beginning of value", c);
        fail(p, msg, 0);
}

int progress_feed(struct progress *p, const char *data, size_t len) {
        if (p->failed)
                return -EPROTO;
        if (p->len + len + 1 > p->cap) {
                size_t cap = p->cap ? p->cap : 4096;
                while (cap < p->len + len + 1)
                        cap *= 2;
                char *nb = realloc(p->buf, cap);
                if (!nb)
                        return -ENOMEM;
                p->buf = nb;
                p->cap = cap;
        }
        memcpy(p->buf + p->len, data, len);
        p->len += len;
        /* Find complete top-level objects by counting braces outside
         * strings; each one is parsed once. */
        for (; p->scan < p->len; p->scan++) {
                char c = p->buf[p->scan];
                if (p->depth == 0) {
                        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                                continue;
                        if (c != '{') {
                                invalid(p, c);
                                return -EPROTO;
                        }
                        p->start = p->scan;
                        p->depth = 1;
                        continue;
                }
                if (p->in_string) {
                        if (p->escaped)
                                p->escaped = false;
                        else if (c == '\\')
                                p->escaped = true;
                        else if (c == '"')
                                p->in_string = false;
                        continue;
                }
                if (c == '"')
                        p->in_string = true;
                else if (c == '{' || c == '[')
                        p->depth++;
                else if ((c == '}' || c == ']') && --p->depth == 0) {
                        json_error_t je;
                        json_t *m = json_loadb(p->buf + p->start,
                                               p->scan + 1 - p->start, 0, &je);
                        if (!m)
                                return fail(p, je.text, 0);
                        int r = handle(p, m);
                        json_decref(m);
                        if (r < 0)
                                return r;
                }
        }
        /* Keep only the unfinished message. */
        size_t keep = p->depth ? p->start : p->len;
        memmove(p->buf, p->buf + keep, p->len - keep);
        p->len -= keep;
        p->scan -= keep;
        p->start = 0;
        return 0;
}

int progress_end(struct progress *p) {
        if (p->failed)
                return -EPROTO;
        if (p->depth)
                return fail(p, "unexpected EOF", 0);
        return 0;
}
