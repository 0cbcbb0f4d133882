/* The berth CLI's side of the Engine API: requests over the daemon's unix
 * socket (libcurl), streamed bodies, and hijacked connections for attach
 * and exec. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define API_PREFIX "/v1.44"

/* Exit statuses like docker's CLI. */
#define EXIT_USAGE  1
#define EXIT_ENGINE 125

struct api_reply {
        long status;
        char *body;
        size_t len;
        bool truncated; /* the connection broke before the body ended */
};

/* Where the daemon is: -H, BERTH_HOST, DOCKER_HOST, the default socket. */
void client_set_host(const char *host);
const char *client_host(void);

/* One request; `body` (JSON text or raw bytes) may be NULL.  < 0 when the
 * daemon could not be reached (the message is printed). */
int api_call(const char *method, const char *path, const char *ctype,
             const void *body, size_t body_len, struct api_reply *ret);
int api_json(const char *method, const char *path, json_t *body,
             struct api_reply *ret); /* steals body */
/* Upload a file (fd) as the body, e.g. for load and import. */
int api_upload(const char *method, const char *path, int fd, const char *ctype,
               struct api_reply *ret);
void api_reply_free(struct api_reply *r);
/* Upload `fd` and stream the answer to `fn` (api_stream's contract). */
typedef bool (*api_stream_fn)(const char *data, size_t len, void *ud);
long api_upload_stream(const char *method, const char *path, int fd,
                       const char *ctype, api_stream_fn fn, void *ud,
                       struct api_reply *err_reply);
json_t *api_reply_json(const struct api_reply *r);

/* The daemon's error message of a reply (its JSON "message"). */
const char *api_error_message(const struct api_reply *r, char *buf,
                              size_t size);
/* "Error response from daemon: MSG" on stderr. */
void api_print_error(const struct api_reply *r);

/* Stream a response body to `fn` as it arrives; `fn` returns false to
 * stop.  Returns the HTTP status or < 0. */
long api_stream(const char *method, const char *path, json_t *body,
                api_stream_fn fn, void *ud, struct api_reply *err_reply);
/* The same with extra request headers ("Name: value", NULL-terminated),
 * e.g. X-Registry-Auth. */
long api_stream_headers(const char *method, const char *path,
                        const char *const *headers, json_t *body,
                        api_stream_fn fn, void *ud,
                        struct api_reply *err_reply);

/* A hijacked connection: sends the request with Upgrade: tcp and returns
 * the socket once the daemon answered 101 (or 200).  Bytes that came
 * with the headers are in *extra (malloc'ed).  On an HTTP error, *status
 * and *ret_body tell it. */
int api_hijack(const char *path, json_t *body, char **extra, size_t *extra_len,
               long *status, char **ret_body);

/* A request whose answer comes later (wait): returns the connection. */
int api_send_raw(const char *method, const char *path, json_t *body);
/* Read the whole answer of api_send_raw; body is NUL-terminated. */
int api_read_raw(int fd, long *status, char **body);

/* Docker's multiplexed ("stdcopy") stream: 8-byte frame headers
 * [stream, 0, 0, 0, big-endian length]; stream 1 is stdout, 2 stderr,
 * 3 the daemon's error text.  demux_feed writes the payloads to fds 1 and
 * 2, keeping partial headers and frames across calls. */
struct demux {
        unsigned char hdr[8];
        size_t hdr_len;
        size_t left; /* payload bytes of the current frame */
        int target;  /* fd for them */
};
void demux_feed(struct demux *d, const char *p, size_t n);

/* Copy between the terminal/stdio and a hijacked connection until the
 * connection ends.  With `mux` the daemon's 8-byte frames are split into
 * stdout and stderr.  stdin is sent when `in`; at its end the socket's
 * write side is shut.  `on_intr` runs when a signal interrupted the
 * wait. */
int stream_pump(int sock, const char *extra, size_t extra_len, bool in,
                bool mux, void (*on_intr)(void *), void *ud);

/* URL-escape a query value into a new string. */
char *url_escape(const char *s);
