/* berthd's HTTP layer: libmicrohttpd driven from berthd's own event loop
 * (no threads), with what the Docker API needs beyond request/response:
 * deferred replies, streamed bodies (wait, logs -f, events, pull
 * progress) and hijacked connections (attach, exec).
 *
 * Every request gets exactly one reply: http_reply*, http_stream_open or
 * http_hijack.  A handler may answer later (http_defer); the request stays
 * valid until it is answered. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct http_server;
struct http_req;
struct http_stream;

typedef void (*http_handler_fn)(struct http_req *r, void *ud);
/* Decides, when a request's headers arrived, whether its body is spooled
 * to a file (image load/import) instead of memory. */
typedef bool (*http_wants_file_fn)(const char *method, const char *path);

#define API_VERSION_MAX "1.44"
#define API_VERSION_MIN "1.24"
#define HTTP_BODY_MAX   (16u << 20) /* bodies kept in memory */
/* A stream holds at most this many unsent bytes: a client that reads
 * slower than its stream is written is cut off (the stream ends with an
 * error, on_gone runs) instead of growing the daemon.  Writers that can
 * wait (logs) stay far below it by watching http_stream_pending. */
#define HTTP_STREAM_MAX (1u << 20)
/* on_drain runs when a stream's unsent bytes fall below this. */
#define HTTP_STREAM_LOW (64u << 10)
/* Connections: past HTTP_CONN_MAX open at once the one idle the longest
 * (no request in progress) is closed to make room, and a new one is
 * refused only when none is idle.  A connection with no request in
 * progress for HTTP_IDLE_TIMEOUT_S seconds is closed; one with a request
 * in progress (streams: logs -f, events, wait; deferred replies) is not. */
#define HTTP_CONN_MAX       1000
#define HTTP_IDLE_TIMEOUT_S 30

int http_server_new(struct loop *l, int listen_fd, http_handler_fn fn,
                    http_wants_file_fn wants_file, void *ud,
                    struct http_server **ret);
struct http_server *http_server_free(struct http_server *s);

/* Request accessors.  Paths are without the /vX.Y prefix and query. */
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
/* API version asked for, as 100*major+minor (144 for 1.44). */
int http_version(const struct http_req *r);
const char *http_query(const struct http_req *r, const char *key);
/* moby's rule: "", "0", "no", "false", "none" are false; present
 * otherwise true; missing gives `def`. */
bool http_query_bool(const struct http_req *r, const char *key, bool def);
const char *http_header(const struct http_req *r, const char *name);
const char *http_body(const struct http_req *r, size_t *ret_len);
/* Body parsed as JSON; NULL (with a 400 already sent) when it is not. */
json_t *http_body_json(struct http_req *r, bool allow_empty);
/* For spooled bodies: an fd of the body file, positioned at 0 (the
 * caller owns the returned fd); -1 when the body was kept in memory. */
int http_body_take_fd(struct http_req *r);

/* Every value of a repeated query parameter (?names=a&names=b). */
json_t *http_query_all(struct http_req *r, const char *key);

/* Replies. */
/* The body is the file `fd` (taken over) of `size` bytes. */
void http_reply_fd(struct http_req *r, int status, const char *content_type,
                   int fd, uint64_t size);
void http_reply(struct http_req *r, int status, const char *content_type,
                const char *body, size_t len);
void http_reply_json(struct http_req *r, int status, json_t *j); /* steals */
void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* A status without body (204, 304). */
void http_reply_status(struct http_req *r, int status);
/* Map -errno and message to docker's status code (ENOENT 404, EEXIST and
 * EBUSY 409, EINVAL 400, ENOSYS 501, else 500). */
void http_reply_errno(struct http_req *r, int code, const char *msg);

/* The reply will come later: the connection waits. */
void http_defer(struct http_req *r);

/* Streams: headers go out at once; writes are buffered (at most
 * HTTP_STREAM_MAX bytes) and sent as the client reads.  `on_gone` runs
 * once if the client goes away first (or is cut off for not reading):
 * the stream is freed right after it returns, so the owner drops its
 * pointer there and never closes it.  Without on_gone the owner still
 * calls http_stream_close, which then frees it. */
typedef void (*http_gone_fn)(void *ud);
struct http_stream *http_stream_open(struct http_req *r, int status,
                                     const char *content_type,
                                     http_gone_fn on_gone, void *ud);
void http_stream_set_gone(struct http_stream *s, http_gone_fn fn, void *ud);
/* Called (on the loop, from inside libmicrohttpd) when the client has
 * taken enough that fewer than HTTP_STREAM_LOW bytes wait: a writer that
 * holds back while http_stream_pending is high resumes here.  It must
 * not write to the stream itself; it schedules its work (a loop timer). */
typedef void (*http_drain_fn)(void *ud);
void http_stream_set_drain(struct http_stream *s, http_drain_fn fn);
/* -EPIPE once the client is gone, -ENOBUFS when the write would pass
 * HTTP_STREAM_MAX (the stream is then ended and on_gone will run). */
int http_stream_write(struct http_stream *s, const void *buf, size_t len);
int http_stream_printf(struct http_stream *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Write one JSON value followed by "\r\n" (moby's framing); steals j. */
int http_stream_json(struct http_stream *s, json_t *j);
size_t http_stream_pending(const struct http_stream *s);
void http_stream_close(struct http_stream *s);

/* Hijack: answer 101 (or 200 without an Upgrade header) and hand over the
 * raw connection.  `fn` gets a dup of the socket (caller owns it) and any
 * bytes the client already sent past the request. */
typedef void (*http_hijack_fn)(int fd, const char *extra, size_t extra_len,
                               void *ud);
void http_hijack(struct http_req *r, const char *content_type,
                 http_hijack_fn fn, void *ud);

/* Run libmicrohttpd's pending work now (after resuming connections
 * outside its callbacks). */
void http_server_kick(struct http_server *s);

/* For loop_run: how long until MHD needs to run for its timeouts. */
int64_t http_server_timeout(void *ud);
void http_server_tick(void *ud);
