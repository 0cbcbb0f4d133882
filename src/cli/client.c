#include "client.h"

#include "cleanup.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *host_uri;
static char sock_path[108];

void client_set_host(const char *host) {
        host_uri = host;
}

const char *client_host(void) {
        if (!host_uri) {
                host_uri = getenv("BERTH_HOST");
                if (!host_uri || !*host_uri)
                        host_uri = getenv("DOCKER_HOST");
                if (!host_uri || !*host_uri)
                        host_uri = "unix:///run/berth/berth.sock";
        }
        return host_uri;
}

static const char *socket_path(void) {
        const char *h = client_host();
        if (strncmp(h, "unix://", 7) == 0)
                h += 7;
        snprintf(sock_path, sizeof(sock_path), "%s", h);
        return sock_path;
}

static void unreachable(const char *why) {
        fprintf(stderr,
                "Cannot connect to the berth daemon at %s: %s. Is the "
                "daemon running?\n",
                client_host(), why);
}

static int check_host(void) {
        const char *h = client_host();
        if (strncmp(h, "unix://", 7) != 0 && h[0] != '/') {
                fprintf(stderr,
                        "berth: unsupported host '%s': only unix:// "
                        "sockets are supported\n",
                        h);
                return -EINVAL;
        }
        return 0;
}

/* ---- libcurl requests ---- */

struct sink {
        char *buf;
        size_t len, cap;
        api_stream_fn fn;
        void *ud;
        long status;
        CURL *curl;
        bool stopped;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud) {
        struct sink *s = ud;
        size_t n = size * nmemb;
        if (s->fn) {
                if (s->status == 0)
                        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE,
                                          &s->status);
                if (s->status >= 200 && s->status < 300) {
                        if (!s->fn(ptr, n, s->ud)) {
                                s->stopped = true;
                                return 0;
                        }
                        return n;
                }
        }
        if (s->len + n + 1 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8192;
                while (cap < s->len + n + 1)
                        cap *= 2;
                char *nb = realloc(s->buf, cap);
                if (!nb)
                        return 0;
                s->buf = nb;
                s->cap = cap;
        }
        memcpy(s->buf + s->len, ptr, n);
        s->len += n;
        s->buf[s->len] = '\0';
        return n;
}

static CURL *easy_for(const char *method, const char *path,
                      struct curl_slist **hdrs, char *url, size_t url_size) {
        static bool inited;
        if (!inited) {
                curl_global_init(CURL_GLOBAL_NOTHING);
                inited = true;
        }
        CURL *c = curl_easy_init();
        if (!c)
                return NULL;
        snprintf(url, url_size, "http://berth%s", path);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path());
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        *hdrs = curl_slist_append(*hdrs, "User-Agent: berth-cli/"
                                         "0.1");
        *hdrs = curl_slist_append(*hdrs, "Expect:");
        return c;
}

static int perform(CURL *c, struct curl_slist *hdrs, struct sink *s,
                   struct api_reply *ret) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        s->curl = c;
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        if (cr != CURLE_OK && !(cr == CURLE_WRITE_ERROR && s->stopped)) {
                if (status == 0) {
                        unreachable(curl_easy_strerror(cr));
                        free(s->buf);
                        return -ECONNREFUSED;
                }
        }
        ret->status = status;
        ret->body = s->buf ? s->buf : strdup("");
        ret->len = s->len;
        ret->truncated = cr != CURLE_OK && !s->stopped;
        return 0;
}

int api_call(const char *method, const char *path, const char *ctype,
             const void *body, size_t body_len, struct api_reply *ret) {
        *ret = (struct api_reply){0};
        if (check_host() < 0)
                return -EINVAL;
        struct curl_slist *hdrs = NULL;
        char url[4096];
        CURL *c = easy_for(method, path, &hdrs, url, sizeof(url));
        if (!c)
                return -ENOMEM;
        if (body) {
                char h[128];
                snprintf(h, sizeof(h), "Content-Type: %s",
                         ctype ? ctype : "application/json");
                hdrs = curl_slist_append(hdrs, h);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t) body_len);
        } else if (strcmp(method, "POST") == 0) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        }
        struct sink s = {0};
        return perform(c, hdrs, &s, ret);
}

int api_json(const char *method, const char *path, json_t *body,
             struct api_reply *ret) {
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        int r = api_call(method, path, "application/json", text,
                         text ? strlen(text) : 0, ret);
        free(text);
        return r;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *ud) {
        int fd = *(int *) ud;
        ssize_t n;
        do
                n = read(fd, buf, size * nmemb);
        while (n < 0 && errno == EINTR);
        return n < 0 ? CURL_READFUNC_ABORT : (size_t) n;
}

static int upload(const char *method, const char *path, int fd,
                  const char *ctype, struct sink *s, struct api_reply *ret) {
        *ret = (struct api_reply){0};
        if (check_host() < 0)
                return -EINVAL;
        struct curl_slist *hdrs = NULL;
        char url[4096];
        CURL *c = easy_for(method, path, &hdrs, url, sizeof(url));
        if (!c)
                return -ENOMEM;
        char h[128];
        snprintf(h, sizeof(h), "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, h);
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, &fd);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        return perform(c, hdrs, s, ret);
}

int api_upload(const char *method, const char *path, int fd, const char *ctype,
               struct api_reply *ret) {
        struct sink s = {0};
        return upload(method, path, fd, ctype, &s, ret);
}

long api_upload_stream(const char *method, const char *path, int fd,
                       const char *ctype, api_stream_fn fn, void *ud,
                       struct api_reply *err_reply) {
        struct sink s = {.fn = fn, .ud = ud};
        struct api_reply rep;
        int r = upload(method, path, fd, ctype, &s, &rep);
        if (r < 0)
                return r;
        if (err_reply)
                *err_reply = rep;
        else
                api_reply_free(&rep);
        return rep.status;
}

long api_stream(const char *method, const char *path, json_t *body,
                api_stream_fn fn, void *ud, struct api_reply *err_reply) {
        return api_stream_headers(method, path, NULL, body, fn, ud, err_reply);
}

long api_stream_headers(const char *method, const char *path,
                        const char *const *headers, json_t *body,
                        api_stream_fn fn, void *ud,
                        struct api_reply *err_reply) {
        if (check_host() < 0) {
                json_decref(body);
                return -EINVAL;
        }
        struct curl_slist *hdrs = NULL;
        char url[4096];
        CURL *c = easy_for(method, path, &hdrs, url, sizeof(url));
        if (!c) {
                json_decref(body);
                return -ENOMEM;
        }
        for (size_t i = 0; headers && headers[i]; i++)
                hdrs = curl_slist_append(hdrs, headers[i]);
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (text) {
                hdrs = curl_slist_append(hdrs,
                                         "Content-Type: application/json");
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        } else if (strcmp(method, "POST") == 0) {
                /* Content-Length: 0, as docker's client sends it. */
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        }
        struct sink s = {.fn = fn, .ud = ud};
        struct api_reply rep;
        int r = perform(c, hdrs, &s, &rep);
        free(text);
        if (r < 0)
                return r;
        if (err_reply)
                *err_reply = rep;
        else
                api_reply_free(&rep);
        return rep.status;
}

void api_reply_free(struct api_reply *r) {
        free(r->body);
        r->body = NULL;
}

json_t *api_reply_json(const struct api_reply *r) {
        return r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
}

const char *api_error_message(const struct api_reply *r, char *buf,
                              size_t size) {
        json_t *j = api_reply_json(r);
        const char *m = json_string_value(json_object_get(j, "message"));
        if (m)
                snprintf(buf, size, "%s", m);
        else if (r->body && r->len)
                snprintf(buf, size, "%.*s", (int) r->len, r->body);
        else
                snprintf(buf, size, "HTTP status %ld", r->status);
        json_decref(j);
        size_t l = strlen(buf);
        while (l && buf[l - 1] == '\n')
                buf[--l] = '\0';
        return buf;
}

void api_print_error(const struct api_reply *r) {
        char m[4096];
        fprintf(stderr, "Error response from daemon: %s\n",
                api_error_message(r, m, sizeof(m)));
}

/* ---- raw connections (hijack, wait) ---- */

static int raw_connect(void) {
        if (check_host() < 0)
                return -EINVAL;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path());
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                unreachable(strerror(e));
                return -e;
        }
        return fd;
}

static int raw_request(int fd, const char *method, const char *path,
                       json_t *body, bool upgrade) {
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        size_t blen = text ? strlen(text) : 0;
        char *req = str_printf("%s %s HTTP/1.1\r\nHost: berth\r\n"
                               "User-Agent: berth-cli/0.1\r\n"
                               "Content-Type: application/json\r\n"
                               "%s"
                               "Content-Length: %zu\r\n\r\n%s",
                               method, path,
                               upgrade ? "Connection: Upgrade\r\n"
                                         "Upgrade: tcp\r\n"
                                       : "",
                               blen, text ? text : "");
        free(text);
        if (!req)
                return -ENOMEM;
        int r = write_all(fd, req, strlen(req));
        free(req);
        return r;
}

/* Read up to the end of the headers; the rest is returned in extra. */
static int read_head(int fd, long *status, char **head, char **extra,
                     size_t *extra_len) {
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        char *nb = realloc(buf, (cap *= 2) + 1);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(buf);
                        return n < 0 ? -errno : -ECONNRESET;
                }
                len += (size_t) n;
                buf[len] = '\0';
                char *end = strstr(buf, "\r\n\r\n");
                if (!end)
                        continue;
                size_t hl = (size_t) (end - buf) + 4;
                *extra_len = len - hl;
                *extra = malloc(*extra_len + 1);
                if (!*extra) {
                        free(buf);
                        return -ENOMEM;
                }
                memcpy(*extra, buf + hl, *extra_len);
                (*extra)[*extra_len] = '\0';
                buf[hl] = '\0';
                *status = 0;
                sscanf(buf, "HTTP/%*s %ld", status);
                *head = buf;
                return 0;
        }
}

static const char *header_value(const char *head, const char *name) {
        size_t nl = strlen(name);
        for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
                p += 2;
                if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
                        p += nl + 1;
                        while (*p == ' ')
                                p++;
                        return p;
                }
        }
        return NULL;
}

/* The body after the headers, honouring Content-Length and chunked. */
static int read_body(int fd, const char *head, char *extra, size_t extra_len,
                     char **ret) {
        size_t cap = extra_len + 4096, len = extra_len;
        char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, extra, extra_len);
        const char *cl = header_value(head, "Content-Length");
        const char *te = header_value(head, "Transfer-Encoding");
        bool chunked = te && strncasecmp(te, "chunked", 7) == 0;
        long want = cl ? atol(cl) : -1;
        for (;;) {
                buf[len] = '\0';
                if (want >= 0 && (long) len >= want)
                        break;
                if (chunked && strstr(buf, "\r\n0\r\n\r\n"))
                        break;
                if (chunked && len >= 5 && strncmp(buf, "0\r\n\r\n", 5) == 0)
                        break;
                if (len == cap) {
                        char *nb = realloc(buf, (cap *= 2) + 1);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        if (chunked) {
                /* De-chunk in place. */
                size_t o = 0;
                char *p = buf;
                for (;;) {
                        char *endp;
                        unsigned long sz = strtoul(p, &endp, 16);
                        char *crlf = strstr(p, "\r\n");
                        if (!crlf || sz == 0)
                                break;
                        p = crlf + 2;
                        if ((size_t) (p - buf) + sz > len)
                                sz = len - (size_t) (p - buf);
                        memmove(buf + o, p, sz);
                        o += sz;
                        p += sz;
                        if (strncmp(p, "\r\n", 2) == 0)
                                p += 2;
                }
                buf[o] = '\0';
        }
        *ret = buf;
        return 0;
}

int api_send_raw(const char *method, const char *path, json_t *body) {
        int fd = raw_connect();
        if (fd < 0) {
                json_decref(body);
                return fd;
        }
        int r = raw_request(fd, method, path, body, false);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int api_read_raw(int fd, long *status, char **body) {
        char *head = NULL, *extra = NULL;
        size_t extra_len = 0;
        int r = read_head(fd, status, &head, &extra, &extra_len);
        if (r < 0)
                return r;
        r = read_body(fd, head, extra, extra_len, body);
        free(head);
        free(extra);
        return r;
}

int api_hijack(const char *path, json_t *body, char **extra, size_t *extra_len,
               long *status, char **ret_body) {
        *ret_body = NULL;
        int fd = raw_connect();
        if (fd < 0) {
                json_decref(body);
                return fd;
        }
        int r = raw_request(fd, "POST", path, body, true);
        char *head = NULL;
        if (r >= 0)
                r = read_head(fd, status, &head, extra, extra_len);
        if (r < 0) {
                close(fd);
                return r;
        }
        if (*status != 101 && *status != 200) {
                read_body(fd, head, *extra, *extra_len, ret_body);
                free(head);
                free(*extra);
                *extra = NULL;
                close(fd);
                return -EPROTO;
        }
        free(head);
        return fd;
}

/* ---- the attached stream ---- */

void demux_feed(struct demux *d, const char *p, size_t n) {
        while (n > 0) {
                if (d->left == 0) {
                        size_t take = 8 - d->hdr_len < n ? 8 - d->hdr_len : n;
                        memcpy(d->hdr + d->hdr_len, p, take);
                        d->hdr_len += take;
                        p += take;
                        n -= take;
                        if (d->hdr_len < 8)
                                return;
                        d->hdr_len = 0;
                        d->left = (size_t) d->hdr[4] << 24 |
                                  (size_t) d->hdr[5] << 16 |
                                  (size_t) d->hdr[6] << 8 | d->hdr[7];
                        d->target = d->hdr[0] == 2 || d->hdr[0] == 3 ? 2 : 1;
                        continue;
                }
                size_t take = d->left < n ? d->left : n;
                write_all(d->target, p, take);
                p += take;
                n -= take;
                d->left -= take;
        }
}

int stream_pump(int sock, const char *extra, size_t extra_len, bool in,
                bool mux, void (*on_intr)(void *), void *ud) {
        struct demux dm = {0};
        if (extra_len) {
                if (mux)
                        demux_feed(&dm, extra, extra_len);
                else
                        write_all(1, extra, extra_len);
        }
        bool in_open = in;
        char buf[32768];
        for (;;) {
                struct pollfd p[2] = {
                        {.fd = sock, .events = POLLIN},
                        {.fd = in_open ? 0 : -1, .events = POLLIN}};
                int n = poll(p, 2, -1);
                if (n < 0) {
                        if (errno != EINTR)
                                return -errno;
                        if (on_intr)
                                on_intr(ud);
                        continue;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t k = read(sock, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                return 0;
                        if (mux)
                                demux_feed(&dm, buf, (size_t) k);
                        else
                                write_all(1, buf, (size_t) k);
                }
                if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        ssize_t k = read(0, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                in_open = false;
                                shutdown(sock, SHUT_WR);
                        } else if (write_all(sock, buf, (size_t) k) < 0) {
                                in_open = false;
                        }
                }
        }
}

char *url_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *o = malloc(3 * n + 1);
        if (!o)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || strchr("-_.~", c))
                        o[k++] = (char) c;
                else {
                        o[k++] = '%';
                        o[k++] = hex[c >> 4];
                        o[k++] = hex[c & 15];
                }
        }
        o[k] = '\0';
        return o;
}
