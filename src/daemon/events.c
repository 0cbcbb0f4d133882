/* GET /events: a ring of recent events for `since`, and live
 * subscribers with docker's filters (type, event, container, image,
 * volume, label). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "daemon.h"
#include "http.h"
#include "loop.h"
#include "util.h"

#define RING 512

struct subscriber {
        struct daemon *d;
        struct http_stream *stream;
        json_t *filters;
        int64_t until_ns;
        struct loop_timer *until_timer;
        bool gone;
        struct subscriber *next;
};

static json_t *ring[RING];
static size_t ring_next;
static struct subscriber *subs;

static bool filter_has(json_t *filters, const char *key) {
        json_t *f = json_object_get(filters, key);
        return (json_is_object(f) && json_object_size(f) > 0) ||
               (json_is_array(f) && json_array_size(f) > 0);
}

/* Docker filters come as {"k":{"v":true}} or, from older clients,
 * {"k":["v"]}. */
static bool filter_match(json_t *filters, const char *key, const char *v1,
                         const char *v2) {
        if (!filter_has(filters, key))
                return true;
        json_t *f = json_object_get(filters, key);
        const char *k;
        json_t *val;
        size_t i;
        if (json_is_object(f)) {
                json_object_foreach(f, k, val) {
                        if ((v1 && strcmp(k, v1) == 0) ||
                            (v2 && strcmp(k, v2) == 0))
                                return true;
                        if (v1 && strlen(k) >= 4 && str_startswith(v1, k))
                                return true;
                }
        } else {
                json_array_foreach(f, i, val) {
                        const char *s = json_string_value(val);
                        if (s &&
                            ((v1 && strcmp(s, v1) == 0) ||
                             (v2 && strcmp(s, v2) == 0) ||
                             (v1 && strlen(s) >= 4 && str_startswith(v1, s))))
                                return true;
                }
        }
        return false;
}

static bool label_match(json_t *filters, json_t *attrs) {
        if (!filter_has(filters, "label"))
                return true;
        json_t *f = json_object_get(filters, "label");
        const char *k;
        json_t *val;
        size_t i;
        json_t *list = json_array();
        if (json_is_object(f))
                json_object_foreach(f, k, val)
                        json_array_append_new(list, json_string(k));
        else
                json_array_foreach(f, i, val) json_array_append(list, val);
        bool ok = true;
        json_array_foreach(list, i, val) {
                const char *want = json_string_value(val);
                if (!want)
                        continue;
                const char *eq = strchr(want, '=');
                _cleanup_free_ char *key =
                        eq ? strndup(want, (size_t) (eq - want)) : strdup(want);
                const char *have =
                        json_string_value(json_object_get(attrs, key));
                if (!have || (eq && strcmp(have, eq + 1) != 0))
                        ok = false;
        }
        json_decref(list);
        return ok;
}

static bool event_match(json_t *filters, json_t *ev) {
        const char *type = json_string_value(json_object_get(ev, "Type"));
        const char *action = json_string_value(json_object_get(ev, "Action"));
        json_t *actor = json_object_get(ev, "Actor");
        const char *id = json_string_value(json_object_get(actor, "ID"));
        json_t *attrs = json_object_get(actor, "Attributes");
        const char *name = json_string_value(json_object_get(attrs, "name"));
        const char *image = json_string_value(json_object_get(attrs, "image"));
        if (!filter_match(filters, "type", type, NULL))
                return false;
        if (!filter_match(filters, "event", action, NULL))
                return false;
        if (filter_has(filters, "container") &&
            (strcmp(type, "container") != 0 ||
             !filter_match(filters, "container", id, name)))
                return false;
        if (filter_has(filters, "image") &&
            !filter_match(filters, "image",
                          strcmp(type, "image") == 0 ? id : image, name))
                return false;
        if (filter_has(filters, "volume") &&
            (strcmp(type, "volume") != 0 ||
             !filter_match(filters, "volume", id, NULL)))
                return false;
        return label_match(filters, attrs);
}

static void sub_free(struct subscriber *s) {
        for (struct subscriber **p = &subs; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        if (s->until_timer)
                loop_cancel_timer(s->d->loop, s->until_timer);
        json_decref(s->filters);
        free(s);
}

static void sub_gone(void *ud) {
        struct subscriber *s = ud;
        s->gone = true;
        /* MHD dropped the response; the stream is ours to release. */
        http_stream_close(s->stream);
        sub_free(s);
}

static void sub_until(void *ud) {
        struct subscriber *s = ud;
        s->until_timer = NULL;
        http_stream_close(s->stream);
        sub_free(s);
}

void event_emit(struct daemon *d, const char *type, const char *action,
                const char *id, json_t *attrs) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (!attrs)
                attrs = json_object();
        if (strcmp(type, "container") == 0) {
                struct container *c = ctr_by_id(d, id);
                if (c) {
                        json_object_set_new(attrs, "name",
                                            json_string(c->name));
                        json_object_set_new(attrs, "image",
                                            json_string(c->image_ref));
                        const char *k;
                        json_t *v;
                        json_object_foreach(
                                json_object_get(c->config, "Labels"), k,
                                v) if (!json_object_get(attrs, k))
                                json_object_set(attrs, k, v);
                }
        }
        json_int_t nano = (json_int_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
        json_t *ev =
                json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type",
                          type, "Action", action, "Actor", "ID", id,
                          "Attributes", attrs, "scope", "local", "time",
                          (json_int_t) ts.tv_sec, "timeNano", nano);
        if (!ev)
                return;
        /* The legacy fields older clients read. */
        if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
                json_object_set_new(ev, "status", json_string(action));
                json_object_set_new(ev, "id", json_string(id));
                const char *from = json_string_value(json_object_get(
                        json_object_get(json_object_get(ev, "Actor"),
                                        "Attributes"),
                        "image"));
                if (from)
                        json_object_set_new(ev, "from", json_string(from));
        }
        json_decref(ring[ring_next % RING]);
        ring[ring_next % RING] = ev;
        ring_next++;
        for (struct subscriber *s = subs; s; s = s->next)
                if (event_match(s->filters, ev))
                        http_stream_json(s->stream, json_incref(ev));
}

static int64_t parse_time_ns(const char *s) {
        /* unix seconds, optionally with .nanoseconds */
        if (!s || !*s)
                return -1;
        char *end;
        long long sec = strtoll(s, &end, 10);
        long long ns = 0;
        /* Seconds beyond what nanoseconds in 64 bits hold (or before
         * 1970) would overflow the product below. */
        if (sec > INT64_MAX / 1000000000LL - 1)
                sec = INT64_MAX / 1000000000LL - 1;
        if (sec < 0)
                sec = 0;
        if (*end == '.') {
                char frac[10] = "000000000";
                size_t n = strspn(end + 1, "0123456789");
                memcpy(frac, end + 1, n > 9 ? 9 : n);
                ns = strtoll(frac, NULL, 10);
        }
        return sec * 1000000000LL + ns;
}

void events_handle(struct daemon *d, struct http_req *r) {
        json_t *filters = NULL;
        const char *fs = http_query(r, "filters");
        if (fs && *fs) {
                filters = json_loads(fs, 0, NULL);
                if (!json_is_object(filters)) {
                        json_decref(filters);
                        http_reply_error(r, 400, "invalid filter '%s'", fs);
                        return;
                }
        } else
                filters = json_object();
        int64_t since = parse_time_ns(http_query(r, "since"));
        int64_t until = parse_time_ns(http_query(r, "until"));
        struct subscriber *s = calloc(1, sizeof(*s));
        if (!s) {
                json_decref(filters);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        s->d = d;
        s->filters = filters;
        s->until_ns = until;
        s->stream = http_stream_open(r, 200, "application/json", sub_gone, s);
        if (!s->stream) {
                json_decref(filters);
                free(s);
                return;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
        if (since >= 0) {
                size_t first = ring_next > RING ? ring_next - RING : 0;
                for (size_t i = first; i < ring_next; i++) {
                        json_t *ev = ring[i % RING];
                        int64_t t = (int64_t) json_integer_value(
                                json_object_get(ev, "timeNano"));
                        if (t < since || (until >= 0 && t > until))
                                continue;
                        if (event_match(filters, ev))
                                http_stream_json(s->stream, json_incref(ev));
                }
        }
        if (until >= 0 && until <= now) {
                http_stream_close(s->stream);
                json_decref(filters);
                free(s);
                return;
        }
        s->next = subs;
        subs = s;
        if (until >= 0)
                s->until_timer = loop_add_timer(
                        d->loop, (uint64_t) ((until - now) / 1000000),
                        sub_until, s);
}
