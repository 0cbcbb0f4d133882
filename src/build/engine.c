/* The build's client of berthd's own API (over its unix socket, with
 * libcurl): RUN steps are containers the daemon creates, starts and
 * removes, so they get its networks, security profile and cgroups. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "engine.h"
#include "error.h"
#include "util.h"

struct engine {
        CURL *curl;
        char *socket;
};

int engine_open(const char *socket, struct engine **ret, struct berr *err) {
        struct engine *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->socket = strdup(socket);
        e->curl = curl_easy_init();
        if (!e->socket || !e->curl) {
                engine_free(e);
                return berr_setx(err, ENOMEM, "initialize the API client");
        }
        *ret = e;
        return 0;
}

struct engine *engine_free(struct engine *e) {
        if (!e)
                return NULL;
        if (e->curl)
                curl_easy_cleanup(e->curl);
        free(e->socket);
        free(e);
        return NULL;
}

struct sink {
        engine_data_fn fn;
        void *ud;
        char *buf;
        size_t len;
        const volatile int *cancel;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
        struct sink *s = ud;
        size_t len = size * n;
        if (s->fn)
                return s->fn(p, len, s->ud) < 0 ? 0 : len;
        if (s->len + len > (16u << 20))
                return 0;
        char *nb = realloc(s->buf, s->len + len + 1);
        if (!nb)
                return 0;
        s->buf = nb;
        memcpy(s->buf + s->len, p, len);
        s->len += len;
        s->buf[s->len] = '\0';
        return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d) {
        (void) a, (void) b, (void) c, (void) d;
        struct sink *s = ud;
        return s->cancel && *s->cancel ? 1 : 0;
}

static int perform(struct engine *e, const char *method, const char *path,
                   const char *body, struct sink *s, long *ret_status,
                   struct berr *err) {
        CURL *c = e->curl;
        curl_easy_reset(c);
        _cleanup_free_ char *url = str_printf("http://localhost/v1.41%s", path);
        if (!url)
                return -ENOMEM;
        struct curl_slist *h =
                curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        } else if (!strcmp(method, "POST")) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        }
        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(h);
        if (rc == CURLE_ABORTED_BY_CALLBACK && s->cancel && *s->cancel)
                return berr_setx(err, ECANCELED, "the build was cancelled");
        if (rc != CURLE_OK)
                return berr_setx(
                        err, EIO, "%s %s on the daemon's socket '%s': %s",
                        method, path, e->socket, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        return 0;
}

int engine_call(struct engine *e, const char *method, const char *path,
                const char *body, json_t **ret, struct berr *err) {
        struct sink s = {0};
        long status = 0;
        int r = perform(e, method, path, body, &s, &status, err);
        if (r < 0) {
                free(s.buf);
                return r;
        }
        json_t *j = s.buf ? json_loads(s.buf, 0, NULL) : NULL;
        if (status >= 300) {
                const char *m =
                        json_string_value(json_object_get(j, "message"));
                r = berr_setx(err,
                              status == 404   ? ENOENT
                              : status == 409 ? EEXIST
                              : status == 400 ? EINVAL
                                              : EIO,
                              "%s", m ? m : (s.buf ? s.buf : "daemon error"));
                json_decref(j);
                free(s.buf);
                return r;
        }
        free(s.buf);
        if (ret)
                *ret = j;
        else
                json_decref(j);
        return 0;
}

int engine_stream(struct engine *e, const char *path, engine_data_fn fn,
                  void *ud, const volatile int *cancel, struct berr *err) {
        struct sink s = {.fn = fn, .ud = ud, .cancel = cancel};
        long status = 0;
        int r = perform(e, "GET", path, NULL, &s, &status, err);
        if (r >= 0 && status >= 300)
                r = berr_setx(err, EIO, "GET %s: status %ld", path, status);
        return r;
}
