/* libmicrohttpd in "external epoll" mode: MHD's epoll fd sits in berthd's
 * loop and MHD_run() is called when it is ready, so every callback runs on
 * the loop's one thread.  Deferred replies and empty streams suspend the
 * connection; writing resumes it (MHD's inter-thread pipe, also in its
 * epoll set, wakes the loop). */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "loop.h"
#include "util.h"

/* One client connection as MHD holds it, from accept to close.  Idle
 * ones (no request in progress) sit on the server's idle list, oldest
 * first: the idle timeout and the connection cap close from its head. */
struct http_conn {
        int fd; /* MHD's socket: we only ever shutdown() it */
        bool busy;
        bool evicted; /* shut down; MHD closes it in its next turn */
        uint64_t idle_since;
        struct http_conn *prev, *next;
};

struct http_server {
        struct MHD_Daemon *mhd;
        struct loop *loop;
        int epfd;
        http_handler_fn fn;
        http_wants_file_fn wants_file;
        void *ud;
        /* MHD has work that no fd will announce (an upgraded connection
         * to release): run it again at once. */
        bool kick;
        unsigned nconns;   /* open and not evicted */
        unsigned conn_max; /* HTTP_CONN_MAX, less on a low fd limit */
        struct http_conn *idle_head, *idle_tail;
        struct loop_timer *idle_timer;
};

struct http_stream {
        struct http_server *srv;
        struct MHD_Connection *conn;
        char *buf;
        size_t len, off, cap;
        bool suspended; /* the connection waits for data */
        bool closed;    /* the owner has no more to send */
        bool mhd_gone;  /* MHD destroyed the response */
        bool overflow;  /* the client fell HTTP_STREAM_MAX behind */
        bool in_gone;   /* on_gone is running: it frees nothing */
        bool hung_up;   /* the client closed while we waited for data */
        int watch_fd;   /* the socket watched for a hang-up, or -1 */
        http_gone_fn on_gone;
        http_drain_fn on_drain;
        void *ud;
};

/* Where bodies that go to a file (image load and import, build contexts)
 * are kept while they arrive; anonymous files, gone with the request. */
#define SPOOL_DIR "/var/tmp"

struct http_req {
        struct http_server *srv;
        struct MHD_Connection *conn;
        char *method;
        char *path;
        int version;
        bool bad_version;
        char *body;
        size_t len, cap;
        int body_fd;
        int spool_err; /* errno of spooling the body to a file, or 0 */
        bool too_big;
        bool dispatched;
        bool deferred;
        bool suspended;
        bool answered;
        bool completed; /* MHD is done with the connection */
        struct MHD_Response *pending;
        unsigned pending_status;
        http_hijack_fn hijack_fn;
        void *hijack_ud;
};

static void req_free(struct http_req *r) {
        if (!r)
                return;
        if (r->pending)
                MHD_destroy_response(r->pending);
        if (r->body_fd >= 0)
                close(r->body_fd);
        free(r->method);
        free(r->path);
        free(r->body);
        free(r);
}

const char *http_method(const struct http_req *r) {
        return r->method;
}
const char *http_path(const struct http_req *r) {
        return r->path;
}
int http_version(const struct http_req *r) {
        return r->version;
}

const char *http_query(const struct http_req *r, const char *key) {
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool http_query_bool(const struct http_req *r, const char *key, bool def) {
        const char *v = http_query(r, key);
        if (!v)
                return def;
        return !(strcasecmp(v, "") == 0 || strcmp(v, "0") == 0 ||
                 strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
                 strcasecmp(v, "none") == 0);
}

const char *http_header(const struct http_req *r, const char *name) {
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const struct http_req *r, size_t *ret_len) {
        if (ret_len)
                *ret_len = r->len;
        return r->body ? r->body : "";
}

json_t *http_body_json(struct http_req *r, bool allow_empty) {
        if (r->len == 0) {
                if (allow_empty)
                        return json_object();
                http_reply_error(r, 400, "request body is empty");
                return NULL;
        }
        json_error_t je;
        json_t *j = json_loadb(r->body, r->len,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!j) {
                http_reply_error(r, 400, "invalid JSON in request body: %s",
                                 je.text);
                return NULL;
        }
        return j;
}

int http_body_take_fd(struct http_req *r) {
        int fd = r->body_fd;
        if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                return -1;
        r->body_fd = -1;
        return fd;
}

static void add_common_headers(struct MHD_Response *resp) {
        MHD_add_response_header(resp, "Api-Version", API_VERSION_MAX);
        MHD_add_response_header(resp, "Ostype", "linux");
        MHD_add_response_header(resp, "Server",
                                "berth/" BERTH_VERSION " (linux)");
        MHD_add_response_header(resp, "Docker-Experimental", "false");
        /* The classic builder (POST /build) is the one we speak. */
        MHD_add_response_header(resp, "Builder-Version", "1");
}

/* Queue or park the response: inside the access handler it is queued by
 * the caller (answer_pending); outside it the connection is resumed and
 * MHD calls the handler again, which queues it. */
static void set_pending(struct http_req *r, struct MHD_Response *resp,
                        unsigned status) {
        if (r->answered) {
                MHD_destroy_response(resp);
                return;
        }
        r->answered = true;
        if (r->completed) {
                /* The client went away while we worked. */
                MHD_destroy_response(resp);
                req_free(r);
                return;
        }
        add_common_headers(resp);
        r->pending = resp;
        r->pending_status = status;
        if (r->suspended) {
                r->suspended = false;
                MHD_resume_connection(r->conn);
        }
}

void http_reply(struct http_req *r, int status, const char *content_type,
                const char *body, size_t len) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(
                len, (void *) body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return;
        if (content_type)
                MHD_add_response_header(resp, "Content-Type", content_type);
        set_pending(r, resp, (unsigned) status);
}

void http_reply_fd(struct http_req *r, int status, const char *content_type,
                   int fd, uint64_t size) {
        struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
        if (!resp) {
                close(fd);
                http_reply_error(r, 500, "cannot send file");
                return;
        }
        if (content_type)
                MHD_add_response_header(resp, "Content-Type", content_type);
        set_pending(r, resp, (unsigned) status);
}

struct query_all {
        const char *key;
        json_t *out;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
        struct query_all *q = cls;
        (void) kind;
        if (key && strcmp(key, q->key) == 0 && value)
                json_array_append_new(q->out, json_string(value));
        return MHD_YES;
}

json_t *http_query_all(struct http_req *r, const char *key) {
        struct query_all q = {.key = key, .out = json_array()};
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg,
                                  &q);
        return q.out;
}

void http_reply_json(struct http_req *r, int status, json_t *j) {
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        if (!s) {
                http_reply_error(r, 500, "out of memory encoding a reply");
                return;
        }
        size_t n = strlen(s);
        s[n] = '\0';
        /* moby ends JSON bodies with a newline. */
        char *t = realloc(s, n + 2);
        if (t) {
                s = t;
                s[n++] = '\n';
                s[n] = '\0';
        }
        http_reply(r, status, "application/json", s, n);
        free(s);
}

void http_reply_error(struct http_req *r, int status, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Messages may quote names that are not UTF-8 (archive entries). */
        _cleanup_free_ char *clean = str_utf8_clean(msg);
        json_t *j = json_pack("{s:s}", "message", clean ? clean : msg);
        http_reply_json(r, status, j);
}

void http_reply_status(struct http_req *r, int status) {
        http_reply(r, status, NULL, "", 0);
}

void http_reply_errno(struct http_req *r, int code, const char *msg) {
        int e = code < 0 ? -code : code;
        int status = 500;
        switch (e) {
        case ENOENT:
        case ESRCH:
                status = 404;
                break;
        case EEXIST:
        case EBUSY:
        case EALREADY:
                status = 409;
                break;
        case EINVAL:
        case ENAMETOOLONG:
        case E2BIG:
                status = 400;
                break;
        case ENOSYS:
        case EOPNOTSUPP:
                status = 501;
                break;
        case EACCES:
        case EPERM:
                status = 403;
                break;
        default:
                break;
        }
        http_reply_error(r, status, "%s", msg && *msg ? msg : strerror(e));
}

void http_defer(struct http_req *r) {
        r->deferred = true;
}

/* ---- streams ---- */

static int conn_fd(struct MHD_Connection *conn);
static void stream_wake(struct http_stream *s);

static void stream_unwatch(struct http_stream *s) {
        if (s->watch_fd >= 0) {
                loop_del_fd(s->srv->loop, s->watch_fd);
                s->watch_fd = -1;
        }
}

/* A suspended connection is out of MHD's sight: a client that hangs up
 * while its stream has nothing to send (an `events` or `logs -f` with
 * nothing new) would hold its socket and buffer until the next write.  We
 * watch the socket ourselves and end the stream when the peer is gone. */
static void stream_peer_event(int fd, uint32_t events, void *ud) {
        struct http_stream *s = ud;
        char c;
        if (!(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                return;
        /* Bytes still unread (a pipelined request) are not a hang-up. */
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
                return;
        s->hung_up = true;
        stream_unwatch(s);
        stream_wake(s);
}

static void stream_watch(struct http_stream *s) {
        int fd = conn_fd(s->conn);
        if (fd < 0 || s->watch_fd >= 0)
                return;
        if (loop_add_fd(s->srv->loop, fd, EPOLLRDHUP, stream_peer_event, s) ==
            0)
                s->watch_fd = fd;
}

/* MHD asks for more body when the socket can take it: this is where a
 * writer held back by backpressure is told to go on. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct http_stream *s = cls;
        (void) pos;
        if (s->overflow || s->hung_up)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        size_t avail = s->len - s->off;
        if (avail > 0) {
                size_t n = avail < max ? avail : max;
                memcpy(buf, s->buf + s->off, n);
                s->off += n;
                if (s->off == s->len)
                        s->off = s->len = 0;
                if (s->on_drain && !s->closed &&
                    s->len - s->off < HTTP_STREAM_LOW)
                        s->on_drain(s->ud);
                return (ssize_t) n;
        }
        if (s->closed)
                return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->on_drain)
                s->on_drain(s->ud);
        if (s->conn && !s->suspended) {
                s->suspended = true;
                MHD_suspend_connection(s->conn);
                stream_watch(s);
        }
        return 0;
}

static void stream_free(struct http_stream *s) {
        free(s->buf);
        free(s);
}

/* MHD is done with the response (sent, or the client left).  A stream
 * whose owner has on_gone is freed here after telling it; one without
 * waits for the owner's http_stream_close. */
static void stream_released(void *cls) {
        struct http_stream *s = cls;
        stream_unwatch(s);
        s->mhd_gone = true;
        s->conn = NULL;
        if (s->closed) {
                stream_free(s);
                return;
        }
        if (s->on_gone) {
                http_gone_fn fn = s->on_gone;
                s->on_gone = NULL;
                s->in_gone = true;
                fn(s->ud);
                stream_free(s);
        }
}

struct http_stream *http_stream_open(struct http_req *r, int status,
                                     const char *content_type,
                                     http_gone_fn on_gone, void *ud) {
        struct http_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->srv = r->srv;
        s->conn = r->conn;
        s->watch_fd = -1;
        s->on_gone = on_gone;
        s->ud = ud;
        struct MHD_Response *resp = MHD_create_response_from_callback(
                MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_released);
        if (!resp) {
                free(s);
                return NULL;
        }
        if (content_type)
                MHD_add_response_header(resp, "Content-Type", content_type);
        set_pending(r, resp, (unsigned) status);
        return s;
}

void http_stream_set_gone(struct http_stream *s, http_gone_fn fn, void *ud) {
        s->on_gone = fn;
        s->ud = ud;
}

void http_stream_set_drain(struct http_stream *s, http_drain_fn fn) {
        s->on_drain = fn;
}

static int conn_fd(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
                conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        return ci ? ci->connect_fd : -1;
}

static void stream_wake(struct http_stream *s) {
        stream_unwatch(s);
        if (s->suspended && s->conn) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
        }
}

int http_stream_write(struct http_stream *s, const void *buf, size_t len) {
        if (s->mhd_gone)
                return -EPIPE;
        if (s->overflow)
                return -ENOBUFS;
        if (len == 0)
                return 0;
        if (s->len - s->off + len > HTTP_STREAM_MAX) {
                /* The client does not read: end its stream rather than
                 * hold more for it.  shutdown() makes MHD close the
                 * connection even while its socket is full. */
                s->overflow = true;
                free(s->buf);
                s->buf = NULL;
                s->len = s->off = s->cap = 0;
                int fd = s->conn ? conn_fd(s->conn) : -1;
                if (fd >= 0)
                        shutdown(fd, SHUT_RDWR);
                stream_wake(s);
                return -ENOBUFS;
        }
        if (s->off > 0 && s->len + len > s->cap) {
                memmove(s->buf, s->buf + s->off, s->len - s->off);
                s->len -= s->off;
                s->off = 0;
        }
        if (s->len + len > s->cap) {
                size_t cap = s->cap ? s->cap : 4096;
                while (cap < s->len + len)
                        cap *= 2;
                char *nb = realloc(s->buf, cap);
                if (!nb)
                        return -ENOMEM;
                s->buf = nb;
                s->cap = cap;
        }
        memcpy(s->buf + s->len, buf, len);
        s->len += len;
        stream_wake(s);
        return 0;
}

int http_stream_printf(struct http_stream *s, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *t = NULL;
        int n = vasprintf(&t, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        int r = http_stream_write(s, t, (size_t) n);
        free(t);
        return r;
}

int http_stream_json(struct http_stream *s, json_t *j) {
        char *t = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!t)
                return -ENOMEM;
        int r = http_stream_write(s, t, strlen(t));
        if (r >= 0)
                r = http_stream_write(s, "\r\n", 2);
        free(t);
        return r;
}

size_t http_stream_pending(const struct http_stream *s) {
        return s->len - s->off;
}

void http_stream_close(struct http_stream *s) {
        if (!s)
                return;
        s->closed = true;
        if (s->mhd_gone) {
                if (!s->in_gone)
                        stream_free(s);
                return;
        }
        stream_wake(s);
}

/* ---- hijack ---- */

static void upgraded(void *cls, struct MHD_Connection *conn, void *req_cls,
                     const char *extra_in, size_t extra_in_size,
                     MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
        struct http_req *r = cls;
        (void) conn;
        (void) req_cls;
        int fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
        /* Blocking mode for whoever takes it over; the shim sets what it
         * needs itself. */
        if (fd >= 0) {
                int fl = fcntl(fd, F_GETFL);
                if (fl >= 0)
                        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
        http_hijack_fn fn = r->hijack_fn;
        void *ud = r->hijack_ud;
        /* MHD closes its own descriptor without shutdown() (MHD_USE_TURBO):
         * the connection lives on in our dup.  It does so in its next
         * turn, which must come now: until then its copy keeps the
         * client from seeing EOF. */
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        r->srv->kick = true;
        if (fd >= 0 && fn)
                fn(fd, extra_in, extra_in_size, ud);
        else if (fd >= 0)
                close(fd);
}

void http_hijack(struct http_req *r, const char *content_type,
                 http_hijack_fn fn, void *ud) {
        r->hijack_fn = fn;
        r->hijack_ud = ud;
        struct MHD_Response *resp =
                MHD_create_response_for_upgrade(upgraded, r);
        if (!resp)
                return;
        MHD_add_response_header(resp, "Upgrade", "tcp");
        MHD_add_response_header(resp, "Connection", "Upgrade");
        MHD_add_response_header(resp, "Content-Type", content_type);
        set_pending(r, resp, MHD_HTTP_SWITCHING_PROTOCOLS);
}

/* ---- connections: cap and idle timeout ---- */

static void idle_remove(struct http_server *srv, struct http_conn *c) {
        if (c->prev)
                c->prev->next = c->next;
        else if (srv->idle_head == c)
                srv->idle_head = c->next;
        else
                return; /* not on the list */
        if (c->next)
                c->next->prev = c->prev;
        else
                srv->idle_tail = c->prev;
        c->prev = c->next = NULL;
}

static void idle_sweep(void *ud);

static void idle_arm(struct http_server *srv) {
        if (srv->idle_timer || !srv->idle_head)
                return;
        uint64_t due = srv->idle_head->idle_since + HTTP_IDLE_TIMEOUT_S * 1000;
        uint64_t now = loop_now_ms();
        srv->idle_timer = loop_add_timer(srv->loop, due > now ? due - now : 0,
                                         idle_sweep, srv);
}

static void idle_append(struct http_server *srv, struct http_conn *c) {
        c->idle_since = loop_now_ms();
        c->prev = srv->idle_tail;
        c->next = NULL;
        if (srv->idle_tail)
                srv->idle_tail->next = c;
        else
                srv->idle_head = c;
        srv->idle_tail = c;
        idle_arm(srv);
}

/* Close an idle connection: shutdown() wakes MHD, which sees the end of
 * the stream and frees the connection in its next turn (the CLOSED
 * notification then frees `c`). */
static void conn_evict(struct http_server *srv, struct http_conn *c) {
        idle_remove(srv, c);
        c->evicted = true;
        srv->nconns--;
        shutdown(c->fd, SHUT_RDWR);
}

static void idle_sweep(void *ud) {
        struct http_server *srv = ud;
        srv->idle_timer = NULL;
        uint64_t now = loop_now_ms();
        while (srv->idle_head &&
               srv->idle_head->idle_since + HTTP_IDLE_TIMEOUT_S * 1000 <= now)
                conn_evict(srv, srv->idle_head);
        idle_arm(srv);
}

static struct http_conn *conn_of(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
                conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

/* A new connection is idle until its first request's headers are in.
 * Past the cap the longest-idle one goes; when every other connection
 * has a request in progress, that is the new one itself (refused). */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        struct http_server *srv = cls;
        struct http_conn *c = *socket_context;
        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                if (!c)
                        return;
                idle_remove(srv, c);
                if (!c->evicted)
                        srv->nconns--;
                free(c);
                *socket_context = NULL;
                return;
        }
        int fd = conn_fd(conn);
        c = calloc(1, sizeof(*c));
        if (!c) {
                if (fd >= 0)
                        shutdown(fd, SHUT_RDWR);
                return;
        }
        c->fd = fd;
        *socket_context = c;
        srv->nconns++;
        idle_append(srv, c);
        while (srv->nconns > srv->conn_max && srv->idle_head)
                conn_evict(srv, srv->idle_head);
}

static void conn_busy(struct http_server *srv, struct MHD_Connection *conn,
                      bool busy) {
        struct http_conn *c = conn_of(conn);
        if (!c || c->evicted || c->busy == busy)
                return;
        c->busy = busy;
        if (busy)
                idle_remove(srv, c);
        else
                idle_append(srv, c);
}

/* ---- MHD glue ---- */

static int parse_version(const char *url, const char **rest) {
        /* "/v1.44/containers/json" -> 144, rest "/containers/json" */
        *rest = url;
        if (url[0] != '/' || url[1] != 'v' || url[2] < '0' || url[2] > '9')
                return 0;
        char *end;
        long major = strtol(url + 2, &end, 10);
        if (*end != '.')
                return 0;
        long minor = strtol(end + 1, &end, 10);
        if (*end != '/' && *end != '\0')
                return 0;
        if (major < 0 || major > 99 || minor < 0 || minor > 99)
                return -1;
        *rest = *end ? end : "/";
        return (int) (major * 100 + minor);
}

static enum MHD_Result answer_pending(struct http_req *r) {
        struct MHD_Response *resp = r->pending;
        r->pending = NULL;
        enum MHD_Result ret =
                MHD_queue_response(r->conn, r->pending_status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **req_cls) {
        struct http_server *srv = cls;
        struct http_req *r = *req_cls;
        (void) version;
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->srv = srv;
                r->conn = conn;
                r->body_fd = -1;
                conn_busy(srv, conn, true);
                const char *rest;
                int v = parse_version(url, &rest);
                if (v < 0)
                        r->bad_version = true;
                r->version = v > 0 ? v : 144;
                if (v > 0 && (v < 124 || v > 144))
                        r->bad_version = true;
                r->method = strdup(method);
                r->path = strdup(rest);
                if (!r->method || !r->path) {
                        req_free(r);
                        return MHD_NO;
                }
                if (srv->wants_file && srv->wants_file(method, r->path)) {
                        r->body_fd = open_tmpfile_at(AT_FDCWD, SPOOL_DIR);
                        if (r->body_fd < 0)
                                r->spool_err = -r->body_fd;
                }
                *req_cls = r;
                return MHD_YES;
        }
        if (*data_size) {
                size_t n = *data_size;
                *data_size = 0;
                if (r->body_fd >= 0 || r->spool_err) {
                        int q = r->spool_err ? 0
                                             : write_all(r->body_fd, data, n);
                        if (q < 0) {
                                r->spool_err = -q;
                                close(r->body_fd);
                                r->body_fd = -1;
                        }
                        return MHD_YES; /* read on, answer at the end */
                }
                if (r->too_big || r->len + n > HTTP_BODY_MAX) {
                        r->too_big = true;
                        return MHD_YES;
                }
                if (r->len + n + 1 > r->cap) {
                        size_t cap = r->cap ? r->cap : 1024;
                        while (cap < r->len + n + 1)
                                cap *= 2;
                        char *nb = realloc(r->body, cap);
                        if (!nb)
                                return MHD_NO;
                        r->body = nb;
                        r->cap = cap;
                }
                memcpy(r->body + r->len, data, n);
                r->len += n;
                r->body[r->len] = '\0';
                return MHD_YES;
        }
        if (r->pending)
                return answer_pending(r);
        if (!r->dispatched) {
                r->dispatched = true;
                if (r->spool_err)
                        http_reply_error(r, 500,
                                         "keep the request body in '%s': %s",
                                         SPOOL_DIR, strerror(r->spool_err));
                else if (r->too_big)
                        http_reply_error(r, 413,
                                         "request body larger than %u bytes",
                                         HTTP_BODY_MAX);
                else if (r->bad_version)
                        http_reply_error(r, 400,
                                         "client version %s is not "
                                         "supported: this daemon supports "
                                         "API versions " API_VERSION_MIN
                                         " to " API_VERSION_MAX,
                                         url);
                else
                        srv->fn(r, srv->ud);
                if (r->pending)
                        return answer_pending(r);
        }
        if (!r->answered && !r->suspended) {
                r->suspended = true;
                MHD_suspend_connection(conn);
        }
        return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode t) {
        struct http_req *r = *req_cls;
        (void) t;
        conn_busy(cls, conn, false);
        if (!r)
                return;
        *req_cls = NULL;
        if (r->dispatched && !r->answered) {
                /* A handler still holds it and will answer into the
                 * void; set_pending frees it then. */
                r->completed = true;
                return;
        }
        req_free(r);
}

static void on_mhd_ready(int fd, uint32_t events, void *ud) {
        struct http_server *s = ud;
        (void) fd;
        (void) events;
        MHD_run(s->mhd);
}

void http_server_tick(void *ud) {
        struct http_server *s = ud;
        s->kick = false;
        MHD_run(s->mhd);
}

void http_server_kick(struct http_server *s) {
        MHD_run(s->mhd);
}

int http_server_new(struct loop *l, int listen_fd, http_handler_fn fn,
                    http_wants_file_fn wants_file, void *ud,
                    struct http_server **ret) {
        struct http_server *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->fn = fn;
        s->wants_file = wants_file;
        s->ud = ud;
        /* Each connection is a descriptor, and containers' DNS servers,
         * log readers and shims need theirs: keep half the limit free. */
        s->conn_max = HTTP_CONN_MAX;
        struct rlimit nof;
        if (getrlimit(RLIMIT_NOFILE, &nof) == 0 &&
            nof.rlim_cur / 2 < s->conn_max)
                s->conn_max = (unsigned) (nof.rlim_cur / 2);
        s->mhd = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
                        MHD_USE_TURBO | MHD_USE_ERROR_LOG,
                0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 300,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 256 * 1024,
                /* Room above our own cap: the connection that finds it
                 * full must be accepted to close an idle one for it. */
                MHD_OPTION_CONNECTION_LIMIT, s->conn_max + 64,
                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
        if (!s->mhd) {
                free(s);
                return -EIO;
        }
        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                MHD_stop_daemon(s->mhd);
                free(s);
                return -EIO;
        }
        s->epfd = info->epoll_fd;
        int r = loop_add_fd(l, s->epfd, EPOLLIN, on_mhd_ready, s);
        if (r < 0) {
                MHD_stop_daemon(s->mhd);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct http_server *http_server_free(struct http_server *s) {
        if (!s)
                return NULL;
        loop_del_fd(s->loop, s->epfd);
        MHD_stop_daemon(s->mhd);
        if (s->idle_timer)
                loop_cancel_timer(s->loop, s->idle_timer);
        free(s);
        return NULL;
}

int64_t http_server_timeout(void *ud);
int64_t http_server_timeout(void *ud) {
        struct http_server *s = ud;
        if (s->kick)
                return 0;
        MHD_UNSIGNED_LONG_LONG t;
        if (MHD_get_timeout(s->mhd, &t) == MHD_YES)
                return (int64_t) t;
        return -1;
}
