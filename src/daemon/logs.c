/* GET /containers/{id}/logs from the json-file logs berth-shim writes
 * (LOG, LOG.1, ... after rotation), with tail/since/until/timestamps and
 * follow.  Followers are polled every 100 ms; they end when the container
 * exits and the file is drained. */
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
#include "http.h"
#include "loop.h"
#include "util.h"

struct follower {
        struct daemon *d;
        char id[65];
        struct http_stream *stream;
        char *path;
        int fd;
        ino_t ino;
        char *partial;
        size_t plen;
        bool out, err, ts, mux;
        int64_t until_ns;
        bool ending;
        struct follower *next;
};

static struct follower *followers;
static struct loop_timer *poll_timer;

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

static void follower_free(struct follower *f) {
        for (struct follower **p = &followers; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        break;
                }
        if (f->fd >= 0)
                close(f->fd);
        free(f->path);
        free(f->partial);
        free(f);
}

static void follower_gone(void *ud) {
        struct follower *f = ud;
        /* MHD dropped the response; the stream is ours to release. */
        http_stream_close(f->stream);
        follower_free(f);
}

/* Read what was appended since the last poll; returns false when the
 * follower is done (until passed). */
static bool follower_read(struct follower *f) {
        for (int round = 0; round < 2; round++) {
                char buf[65536];
                ssize_t n;
                while ((n = read(f->fd, buf, sizeof(buf))) > 0) {
                        char *np = realloc(f->partial, f->plen + (size_t) n);
                        if (!np)
                                return false;
                        f->partial = np;
                        memcpy(f->partial + f->plen, buf, (size_t) n);
                        f->plen += (size_t) n;
                        size_t start = 0;
                        for (size_t i = 0; i < f->plen; i++) {
                                if (f->partial[i] != '\n')
                                        continue;
                                if (!handle_line(f->stream, f->partial + start,
                                                 i - start, f->out, f->err,
                                                 f->ts, f->mux, 0, f->until_ns))
                                        return false;
                                start = i + 1;
                        }
                        memmove(f->partial, f->partial + start,
                                f->plen - start);
                        f->plen -= start;
                }
                /* Rotated?  Then go on in the new file. */
                struct stat st;
                if (stat(f->path, &st) == 0 && st.st_ino != f->ino) {
                        int nfd = open(f->path, O_RDONLY | O_CLOEXEC);
                        if (nfd < 0)
                                break;
                        close(f->fd);
                        f->fd = nfd;
                        f->ino = st.st_ino;
                        f->plen = 0;
                        continue;
                }
                break;
        }
        return true;
}

static void poll_followers(void *ud) {
        struct daemon *d = ud;
        poll_timer = NULL;
        for (struct follower *f = followers, *n; f; f = n) {
                n = f->next;
                bool more = follower_read(f);
                struct container *c = ctr_by_id(d, f->id);
                bool running = c && (c->status == CTR_RUNNING ||
                                     c->status == CTR_PAUSED ||
                                     c->status == CTR_RESTARTING);
                if (!more || !running || f->ending) {
                        http_stream_close(f->stream);
                        follower_free(f);
                }
        }
        if (followers)
                poll_timer = loop_add_timer(d->loop, 100, poll_followers, d);
}

void logs_container_exited(struct daemon *d, struct container *c) {
        for (struct follower *f = followers; f; f = f->next)
                if (strcmp(f->id, c->id) == 0 && !(c->status == CTR_RESTARTING))
                        f->ending = true;
        (void) d;
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
        bool follow = http_query_bool(r, "follow", false);
        bool ts = http_query_bool(r, "timestamps", false);
        bool tty = json_is_true(json_object_get(c->config, "Tty"));
        bool mux = !tty;
        int64_t since = parse_unix_ns(http_query(r, "since"), 0);
        int64_t until = parse_unix_ns(http_query(r, "until"), 0);
        const char *tail = http_query(r, "tail");
        long long ntail = -1;
        if (tail && *tail && strcmp(tail, "all") != 0) {
                char *end;
                ntail = strtoll(tail, &end, 10);
                if (*end || ntail < 0)
                        ntail = -1;
        }
        const char *ct = mux && http_version(r) >= 142
                                 ? "application/vnd.docker.multiplexed-stream"
                                 : "application/vnd.docker.raw-stream";
        struct http_stream *s = http_stream_open(r, 200, ct, NULL, NULL);
        if (!s)
                return;
        _cleanup_free_ char *path = ctr_log_path(d, c);
        if (!path) {
                http_stream_close(s);
                return;
        }
        /* Rotated files first, oldest first. */
        char *lines_buf = NULL;
        size_t lines_len = 0;
        FILE *mem = open_memstream(&lines_buf, &lines_len);
        for (int i = 9; i >= 0 && mem; i--) {
                _cleanup_free_ char *p =
                        i ? str_printf("%s.%d", path, i) : strdup(path);
                _cleanup_free_ char *text = NULL;
                size_t len;
                if (p && read_file_at(AT_FDCWD, p, (size_t) 1 << 32, &text,
                                      &len) >= 0)
                        fwrite(text, 1, len, mem);
        }
        if (mem)
                fclose(mem);
        struct stat st0;
        off_t consumed = 0;
        ino_t ino = 0;
        if (stat(path, &st0) == 0) {
                ino = st0.st_ino;
                consumed = st0.st_size;
        }
        /* Find where the last `tail` lines start. */
        size_t start = 0;
        if (ntail >= 0 && lines_buf) {
                long long seen = 0;
                for (size_t i = lines_len; i > 0; i--) {
                        if (lines_buf[i - 1] != '\n')
                                continue;
                        if (seen == ntail) {
                                start = i;
                                break;
                        }
                        seen++;
                }
        }
        bool stop = false;
        for (size_t i = start, b = start; lines_buf && i < lines_len; i++) {
                if (lines_buf[i] != '\n')
                        continue;
                if (!handle_line(s, lines_buf + b, i - b, out, err, ts, mux,
                                 since, until)) {
                        stop = true;
                        break;
                }
                b = i + 1;
        }
        free(lines_buf);
        bool running = c->status == CTR_RUNNING || c->status == CTR_PAUSED ||
                       c->status == CTR_RESTARTING;
        if (!follow || stop || !running) {
                http_stream_close(s);
                return;
        }
        struct follower *f = calloc(1, sizeof(*f));
        if (!f) {
                http_stream_close(s);
                return;
        }
        f->d = d;
        memcpy(f->id, c->id, sizeof(f->id));
        f->stream = s;
        f->path = TAKE_PTR(path);
        f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (f->fd >= 0)
                lseek(f->fd, consumed, SEEK_SET);
        f->ino = ino;
        f->out = out;
        f->err = err;
        f->ts = ts;
        f->mux = mux;
        f->until_ns = until;
        f->next = followers;
        followers = f;
        /* A follower whose client left is freed through this callback. */
        http_stream_set_gone(s, follower_gone, f);
        if (!poll_timer)
                poll_timer = loop_add_timer(d->loop, 100, poll_followers, d);
}
