/* GET /containers/{id}/logs from the json-file logs berth-shim writes
 * (LOG, LOG.1, ... after rotation), with tail/since/until/timestamps and
 * follow.
 *
 * Logs can be gigabytes and clients can stop reading, so nothing here
 * holds a file in memory or reads more than a client takes: a reader
 * keeps its files open (rotation renames do not disturb it) and reads
 * LOGS_CHUNK bytes at a time, at most LOGS_TURN_BUDGET per loop turn, and
 * only while its stream holds less than LOGS_HIGH unsent bytes.  A full
 * stream waits for the client (http_stream_set_drain wakes it); a client
 * that hangs up ends it (on_gone).  `tail` is found by scanning backwards
 * from the end, as much per turn.  Followers poll for new lines every
 * LOGS_POLL_MS and end when the container has exited and the file is
 * drained. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "http.h"
#include "loop.h"
#include "util.h"

#define LOGS_CHUNK       (64 * 1024)
#define LOGS_TURN_BUDGET (256 * 1024)
#define LOGS_HIGH        (128 * 1024)
#define LOGS_POLL_MS     100
/* Rotated files read: max-file beyond this keeps the newest ones. */
#define LOGS_FILES_MAX 32
/* The shim cuts lines at 16 KiB, which JSON-escapes to at most six times
 * that: a longer line is not the shim's and is skipped. */
#define LOGS_LINE_MAX (6 * 16 * 1024 + 1024)

struct log_reader {
        struct daemon *d;
        char id[65];
        struct http_stream *stream;
        int fds[LOGS_FILES_MAX];    /* oldest first; the last is the live LOG */
        off_t ends[LOGS_FILES_MAX]; /* sizes when opened */
        unsigned nfds, cur;
        off_t pos;  /* in fds[cur]: going down while scanning for tail */
        char *path; /* the live file, to see rotation while following */
        ino_t ino;
        char *line; /* a line cut by a chunk's end */
        size_t llen, lcap;
        bool skipping; /* within an overlong line */
        bool out, err, ts, mux, follow, ending;
        bool scanning; /* looking for where the last `ntail` lines start */
        long long ntail, seen;
        int64_t since, until;
        struct loop_timer *timer;
        struct log_reader *next;
};

static struct log_reader *readers;

static int64_t parse_rfc3339_ns(const char *s) {
        if (!s)
                return 0;
        struct tm tm = {0};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return 0;
        int64_t ns = 0;
        if (*end == '.') {
                char frac[10] = "000000000";
                size_t n = strspn(end + 1, "0123456789");
                memcpy(frac, end + 1, n > 9 ? 9 : n);
                ns = strtoll(frac, NULL, 10);
        }
        return (int64_t) timegm(&tm) * 1000000000LL + ns;
}

/* "since"/"until": unix seconds[.nanos] */
static int64_t parse_unix_ns(const char *s, int64_t def) {
        if (!s || !*s)
                return def;
        char *end;
        long long sec = strtoll(s, &end, 10);
        long long ns = 0;
        if (*end == '.') {
                char frac[10] = "000000000";
                size_t n = strspn(end + 1, "0123456789");
                memcpy(frac, end + 1, n > 9 ? 9 : n);
                ns = strtoll(frac, NULL, 10);
        }
        return sec * 1000000000LL + ns;
}

static void emit(struct http_stream *s, bool mux, int stream, const char *ts,
                 const char *text, size_t len, bool with_ts) {
        size_t tl = with_ts && ts ? strlen(ts) + 1 : 0;
        if (mux) {
                uint32_t n = (uint32_t) (len + tl);
                unsigned char h[8] = {(unsigned char) stream,
                                      0,
                                      0,
                                      0,
                                      (unsigned char) (n >> 24),
                                      (unsigned char) (n >> 16),
                                      (unsigned char) (n >> 8),
                                      (unsigned char) n};
                http_stream_write(s, h, 8);
        }
        if (tl) {
                http_stream_write(s, ts, tl - 1);
                http_stream_write(s, " ", 1);
        }
        http_stream_write(s, text, len);
}

/* Handle one json-file line; returns false to stop (past until). */
static bool handle_line(struct http_stream *s, const char *line, size_t len,
                        bool out, bool err, bool ts, bool mux, int64_t since,
                        int64_t until) {
        json_t *j = json_loadb(line, len, 0, NULL);
        if (!j)
                return true;
        const char *st = json_string_value(json_object_get(j, "stream"));
        const char *t = json_string_value(json_object_get(j, "time"));
        json_t *lv = json_object_get(j, "log");
        int64_t tns = parse_rfc3339_ns(t);
        bool ok = true;
        if (until > 0 && tns > until)
                ok = false;
        else if (tns >= since && lv) {
                bool is_err = st && strcmp(st, "stderr") == 0;
                if ((is_err && err) || (!is_err && out))
                        emit(s, mux, is_err ? 2 : 1, t, json_string_value(lv),
                             json_string_length(lv), ts);
        }
        json_decref(j);
        return ok;
}

static void reader_free(struct log_reader *r) {
        for (struct log_reader **p = &readers; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        if (r->timer)
                loop_cancel_timer(r->d->loop, r->timer);
        for (unsigned i = 0; i < r->nfds; i++)
                close(r->fds[i]);
        free(r->path);
        free(r->line);
        free(r);
}

static void reader_finish(struct log_reader *r) {
        http_stream_close(r->stream);
        reader_free(r);
}

static void reader_pump(void *ud);

static void reader_schedule(struct log_reader *r, uint64_t ms) {
        if (r->timer)
                loop_cancel_timer(r->d->loop, r->timer);
        r->timer = loop_add_timer(r->d->loop, ms, reader_pump, r);
}

/* The client went away (or was cut off): its stream is freed by the HTTP
 * layer right after this. */
static void reader_gone(void *ud) {
        reader_free(ud);
}

/* The client took enough: go on reading (not from inside MHD). */
static void reader_drained(void *ud) {
        struct log_reader *r = ud;
        if (!r->timer || !r->follow)
                reader_schedule(r, 0);
}

/* Feed bytes read from the log; complete lines go out.  Returns false
 * once a line is past `until`. */
static bool reader_feed(struct log_reader *r, const char *buf, size_t n) {
        size_t b = 0;
        for (size_t i = 0; i < n; i++) {
                if (buf[i] != '\n')
                        continue;
                bool ok = true;
                if (r->skipping)
                        r->skipping = false;
                else if (r->llen) {
                        if (r->llen + (i - b) <= LOGS_LINE_MAX) {
                                memcpy(r->line + r->llen, buf + b, i - b);
                                ok = handle_line(r->stream, r->line,
                                                 r->llen + (i - b), r->out,
                                                 r->err, r->ts, r->mux,
                                                 r->since, r->until);
                        }
                } else
                        ok = handle_line(r->stream, buf + b, i - b, r->out,
                                         r->err, r->ts, r->mux, r->since,
                                         r->until);
                r->llen = 0;
                b = i + 1;
                if (!ok)
                        return false;
        }
        size_t rest = n - b;
        if (rest == 0 || r->skipping)
                return true;
        if (r->llen + rest > LOGS_LINE_MAX) {
                r->llen = 0;
                r->skipping = true;
                return true;
        }
        if (!r->line) {
                r->line = malloc(LOGS_LINE_MAX);
                if (!r->line) {
                        r->skipping = true;
                        return true;
                }
        }
        memcpy(r->line + r->llen, buf + b, rest);
        r->llen += rest;
        return true;
}

/* One step of the tail scan: read the chunk before `pos` and count line
 * ends backwards.  Returns the bytes read. */
static size_t reader_scan(struct log_reader *r, char *buf) {
        if (r->pos == 0) {
                if (r->cur == 0) {
                        r->scanning = false; /* fewer lines than asked */
                        return 0;
                }
                r->cur--;
                r->pos = r->ends[r->cur];
                return 0;
        }
        off_t lo = r->pos > LOGS_CHUNK ? r->pos - LOGS_CHUNK : 0;
        ssize_t n = pread(r->fds[r->cur], buf, (size_t) (r->pos - lo), lo);
        if (n <= 0) {
                r->pos = 0;
                return 0;
        }
        for (ssize_t i = n; i > 0; i--) {
                if (buf[i - 1] != '\n')
                        continue;
                if (r->seen == r->ntail) {
                        r->pos = lo + i;
                        r->scanning = false;
                        return (size_t) n;
                }
                r->seen++;
        }
        r->pos = lo;
        return (size_t) n;
}

/* The live file was read to its end while following: go on in a new one
 * if it was rotated, end if the container is gone, else wait. */
static void reader_follow_eof(struct log_reader *r) {
        struct stat st;
        if (stat(r->path, &st) == 0 && st.st_ino != r->ino) {
                int nfd = open(r->path, O_RDONLY | O_CLOEXEC);
                if (nfd >= 0) {
                        close(r->fds[r->cur]);
                        r->fds[r->cur] = nfd;
                        r->ino = st.st_ino;
                        r->pos = 0;
                        r->llen = 0;
                        reader_schedule(r, 0);
                        return;
                }
        }
        /* Started over in place (max-file 1 truncates). */
        if (fstat(r->fds[r->cur], &st) == 0 && st.st_size < r->pos)
                r->pos = 0;
        struct container *c = ctr_by_id(r->d, r->id);
        bool running =
                c && (c->status == CTR_RUNNING || c->status == CTR_PAUSED ||
                      c->status == CTR_RESTARTING);
        if (!running || r->ending) {
                reader_finish(r);
                return;
        }
        reader_schedule(r, LOGS_POLL_MS);
}

/* Read and send what the client can take now, at most LOGS_TURN_BUDGET
 * bytes of file, then yield to the loop. */
static void reader_pump(void *ud) {
        struct log_reader *r = ud;
        r->timer = NULL;
        char buf[LOGS_CHUNK];
        size_t budget = LOGS_TURN_BUDGET;
        while (budget > 0) {
                /* Backpressure: the drain callback brings us back. */
                if (http_stream_pending(r->stream) >= LOGS_HIGH)
                        return;
                if (r->scanning) {
                        size_t n = reader_scan(r, buf);
                        budget -= n < budget ? n : budget;
                        continue;
                }
                bool live = r->cur + 1 == r->nfds;
                size_t want = LOGS_CHUNK;
                if (!(live && r->follow)) {
                        off_t left = r->ends[r->cur] - r->pos;
                        if (left < (off_t) want)
                                want = left > 0 ? (size_t) left : 0;
                }
                ssize_t n = want ? pread(r->fds[r->cur], buf, want, r->pos) : 0;
                if (n > 0) {
                        r->pos += n;
                        budget -= (size_t) n < budget ? (size_t) n : budget;
                        if (!reader_feed(r, buf, (size_t) n)) {
                                reader_finish(r);
                                return;
                        }
                        continue;
                }
                if (!live) {
                        r->cur++;
                        r->pos = 0;
                        r->llen = 0;
                        r->skipping = false;
                        continue;
                }
                if (!r->follow) {
                        reader_finish(r);
                        return;
                }
                reader_follow_eof(r);
                return;
        }
        reader_schedule(r, 0);
}

int logs_opts_parse(const json_t *opts, uint64_t *ret_max_size,
                    uint64_t *ret_max_file, struct berr *err) {
        uint64_t max_size = 0, max_file = 1;
        json_t *jms = json_object_get(opts, "max-size");
        json_t *jmf = json_object_get(opts, "max-file");
        if ((jms && !json_is_string(jms)) || (jmf && !json_is_string(jmf)))
                return berr_setx(err, EINVAL,
                                 "invalid log options: max-size and max-file "
                                 "must be strings");
        const char *ms = json_string_value(jms);
        const char *mf = json_string_value(jmf);
        if (ms && *ms && strcmp(ms, "-1") != 0) {
                char *end;
                double v = strtod(ms, &end);
                uint64_t mul = 1;
                switch (tolower((unsigned char) *end)) {
                case 'k':
                        mul = 1000;
                        end++;
                        break;
                case 'm':
                        mul = 1000 * 1000;
                        end++;
                        break;
                case 'g':
                        mul = 1000 * 1000 * 1000;
                        end++;
                        break;
                default:
                        break;
                }
                if (tolower((unsigned char) *end) == 'b')
                        end++;
                if (end == ms || *end || !(v > 0) || v > 1e15)
                        return berr_setx(err, EINVAL,
                                         "invalid log option max-size '%s': "
                                         "want a size such as 10m",
                                         ms);
                max_size = (uint64_t) (v * (double) mul);
        }
        if (mf && *mf && (parse_u64(mf, &max_file) < 0 || max_file < 1))
                return berr_setx(err, EINVAL,
                                 "invalid log option max-file '%s': want a "
                                 "count of files, 1 or more",
                                 mf);
        *ret_max_size = max_size;
        *ret_max_file = max_file;
        return 0;
}

void logs_container_exited(struct daemon *d, struct container *c) {
        for (struct log_reader *r = readers; r; r = r->next)
                if (strcmp(r->id, c->id) == 0 && !(c->status == CTR_RESTARTING))
                        r->ending = true;
        (void) d;
}

/* Open LOG.N ... LOG.1, LOG, oldest first: the reader keeps them, so a
 * rotation while it reads changes nothing it sees. */
static void reader_open_files(struct log_reader *r, const char *path) {
        int fds[LOGS_FILES_MAX];
        off_t ends[LOGS_FILES_MAX];
        unsigned n = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        fds[n] = fd;
        ends[n++] = st.st_size;
        r->ino = st.st_ino;
        for (unsigned i = 1; n < LOGS_FILES_MAX; i++) {
                _cleanup_free_ char *p = str_printf("%s.%u", path, i);
                fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
                if (fd < 0)
                        break;
                if (fstat(fd, &st) < 0) {
                        close(fd);
                        break;
                }
                fds[n] = fd;
                ends[n++] = st.st_size;
        }
        for (unsigned i = 0; i < n; i++) {
                r->fds[i] = fds[n - 1 - i];
                r->ends[i] = ends[n - 1 - i];
        }
        r->nfds = n;
}

void logs_handle(struct daemon *d, struct container *c, struct http_req *r) {
        bool out = http_query_bool(r, "stdout", false);
        bool err = http_query_bool(r, "stderr", false);
        if (!out && !err) {
                http_reply_error(r, 400,
                                 "Bad parameters: you must choose at least "
                                 "one stream");
                return;
        }
        const char *ltype = json_string_value(json_object_get(
                json_object_get(c->hostcfg, "LogConfig"), "Type"));
        if (ltype && strcmp(ltype, "json-file") != 0 &&
            strcmp(ltype, "local") != 0) {
                http_reply_error(r, 501,
                                 "configured logging driver does not "
                                 "support reading");
                return;
        }
        const char *tail = http_query(r, "tail");
        long long ntail = -1;
        if (tail && *tail && strcmp(tail, "all") != 0) {
                char *end;
                ntail = strtoll(tail, &end, 10);
                if (*end || ntail < 0)
                        ntail = -1;
        }
        _cleanup_free_ char *path = ctr_log_path(d, c);
        struct log_reader *lr = calloc(1, sizeof(*lr));
        if (!path || !lr) {
                free(lr);
                http_reply_error(r, 500,
                                 "read the logs of container %s: out of "
                                 "memory",
                                 c->id);
                return;
        }
        bool running = c->status == CTR_RUNNING || c->status == CTR_PAUSED ||
                       c->status == CTR_RESTARTING;
        bool tty = json_is_true(json_object_get(c->config, "Tty"));
        lr->d = d;
        memcpy(lr->id, c->id, sizeof(lr->id));
        lr->out = out;
        lr->err = err;
        lr->ts = http_query_bool(r, "timestamps", false);
        lr->mux = !tty;
        lr->follow = http_query_bool(r, "follow", false) && running;
        lr->since = parse_unix_ns(http_query(r, "since"), 0);
        lr->until = parse_unix_ns(http_query(r, "until"), 0);
        lr->ntail = ntail;
        reader_open_files(lr, path);
        if (lr->nfds == 0) {
                /* No log yet: a follower waits for the file. */
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        lr->fds[0] = fd;
                        lr->nfds = 1;
                }
        }
        if (lr->nfds == 0) {
                free(lr);
                http_reply_error(r, 500,
                                 "read the logs of container %s: cannot "
                                 "open '%s'",
                                 c->id, path);
                return;
        }
        lr->cur = lr->nfds - 1;
        lr->path = TAKE_PTR(path);
        if (ntail >= 0) {
                lr->scanning = true;
                lr->pos = lr->ends[lr->cur];
        } else {
                lr->cur = 0;
                lr->pos = 0;
        }
        const char *ct = lr->mux && http_version(r) >= 142
                                 ? "application/vnd.docker.multiplexed-stream"
                                 : "application/vnd.docker.raw-stream";
        lr->stream = http_stream_open(r, 200, ct, reader_gone, lr);
        if (!lr->stream) {
                for (unsigned i = 0; i < lr->nfds; i++)
                        close(lr->fds[i]);
                free(lr->path);
                free(lr);
                return;
        }
        http_stream_set_drain(lr->stream, reader_drained);
        lr->next = readers;
        readers = lr;
        reader_schedule(lr, 0);
}
