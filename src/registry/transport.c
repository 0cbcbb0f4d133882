/* HTTP to a registry (see transport.h).
 *
 * Trust: HTTPS is always tried first and its certificates are always
 * verified (system CAs plus certs.d's *.crt for this registry), except for
 * registries the daemon's configuration lists as insecure, where docker
 * skips verification too.  Plain HTTP is used only when the server does
 * not speak TLS at all and the registry is loopback or listed insecure.
 * Credentials never travel over plain HTTP to other hosts: the registry
 * itself is loopback or explicitly trusted by the administrator, and curl
 * drops our Authorization header when a redirect leaves the host. */
#include "transport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "config.h"
#include "cleanup.h"
#include "document.h"
#include "error.h"
#include "ipv4.h"
#include "registry.h"
#include "util.h"

#define MAX_REDIRS 10

struct token {
        char *key; /* the scopes, joined */
        char *value;
        time_t expires;
        struct token *next;
};

enum scheme { SCHEME_UNKNOWN, SCHEME_HTTPS, SCHEME_HTTP };

struct reg_client {
        char *domain; /* as in references: "docker.io", "host:5000" */
        char *host;   /* what is connected to: "registry-1.docker.io" */
        bool may_use_http;
        bool skip_verify;
        char *ca_blob;
        size_t ca_len;
        char *client_cert;
        char *client_key;
        char *username, *password, *identity_token, *registry_token;

        pthread_mutex_t mu; /* everything below */
        enum scheme scheme;
        bool basic; /* the registry asked for Basic auth */
        struct token *tokens;

        CURLSH *share;
        pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

int registry_global_init(void) {
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *ud) {
        (void) h;
        (void) a;
        struct reg_client *c = ud;
        pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud) {
        (void) h;
        struct reg_client *c = ud;
        pthread_mutex_unlock(&c->share_mu[data]);
}

/* "host:port" -> host (brackets of an IPv6 literal removed). */
static char *host_of(const char *domain) {
        if (domain[0] == '[') {
                const char *e = strchr(domain, ']');
                return e ? strndup(domain + 1, (size_t) (e - domain - 1))
                         : strdup(domain);
        }
        const char *colon = strrchr(domain, ':');
        return colon ? strndup(domain, (size_t) (colon - domain))
                     : strdup(domain);
}

static bool cidr_match(const char *cidr, const char *host) {
        struct ipv4_net net;
        uint32_t a, any;
        struct berr e = {0};
        return ipv4_net_parse(cidr, &net, &any, &e) >= 0 &&
               ipv4_parse(host, &a) >= 0 && ipv4_net_contains(&net, a);
}

static bool is_loopback(const char *host) {
        struct in_addr a;
        if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
                return true;
        return inet_pton(AF_INET, host, &a) == 1 &&
               (ntohl(a.s_addr) >> 24) == 127;
}

static bool listed_insecure(const struct registry_config *cfg,
                            const char *domain, const char *host) {
        for (size_t i = 0; cfg && cfg->insecure && cfg->insecure[i]; i++) {
                const char *e = cfg->insecure[i];
                if (!strcmp(e, domain) || !strcmp(e, host) ||
                    cidr_match(e, host))
                        return true;
        }
        return false;
}

enum reg_trust reg_trust_of(const char *domain,
                            const struct registry_config *cfg) {
        _cleanup_free_ char *h = host_of(domain);
        if (!h)
                return REG_TRUST_TLS;
        if (listed_insecure(cfg, domain, h))
                return REG_TRUST_INSECURE;
        return is_loopback(h) ? REG_TRUST_LOOPBACK : REG_TRUST_TLS;
}

static int append_file(char **buf, size_t *len, int dirfd, const char *name) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        int r = read_file_at(dirfd, name, 4 << 20, &text, &n);
        if (r < 0)
                return r;
        char *nb = realloc(*buf, *len + n + 2);
        if (!nb)
                return -ENOMEM;
        memcpy(nb + *len, text, n);
        *len += n;
        nb[(*len)++] = '\n';
        nb[*len] = '\0';
        *buf = nb;
        return 0;
}

/* certs.d/DOMAIN: every *.crt is a CA (after the system's), client.cert
 * and client.key a client certificate. */
static int load_certs(struct reg_client *c, const char *certs_dir,
                      struct berr *err) {
        if (!certs_dir)
                return 0;
        _cleanup_free_ char *dir = str_printf("%s/%s", certs_dir, c->domain);
        if (!dir)
                return -ENOMEM;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 0;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return 0;
        }
        bool any = false;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d)) && r >= 0) {
                if (str_endswith(de->d_name, ".crt")) {
                        if (!any) {
                                /* CURLOPT_CAINFO_BLOB replaces the default
                                 * bundle: start from the system's. */
                                int sfd = open("/etc/ssl/certs",
                                               O_RDONLY | O_DIRECTORY |
                                                       O_CLOEXEC);
                                if (sfd >= 0) {
                                        append_file(&c->ca_blob, &c->ca_len,
                                                    sfd, "ca-certificates.crt");
                                        close(sfd);
                                }
                                any = true;
                        }
                        r = append_file(&c->ca_blob, &c->ca_len, dirfd(d),
                                        de->d_name);
                        if (r < 0)
                                r = berr_set(err, r, "read '%s/%s'", dir,
                                             de->d_name);
                } else if (!strcmp(de->d_name, "client.cert")) {
                        c->client_cert = str_printf("%s/client.cert", dir);
                } else if (!strcmp(de->d_name, "client.key")) {
                        c->client_key = str_printf("%s/client.key", dir);
                }
        }
        closedir(d);
        if (r >= 0 && !c->client_cert != !c->client_key)
                r = berr_setx(err, EINVAL,
                              "'%s' has a client certificate without its "
                              "key (or the other way round)",
                              dir);
        return r;
}

static char *dup_nonempty(const char *s) {
        return s && *s ? strdup(s) : NULL;
}

int reg_client_new(const char *domain, const struct registry_config *cfg,
                   const struct registry_auth *auth, struct reg_client **ret,
                   struct berr *err) {
        struct reg_client *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->mu, NULL);
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_init(&c->share_mu[i], NULL);
        c->domain = strdup(domain);
        c->host = !strcmp(domain, "docker.io") ? strdup("registry-1.docker.io")
                                               : strdup(domain);
        if (!c->domain || !c->host) {
                reg_client_free(c);
                return -ENOMEM;
        }
        enum reg_trust t = reg_trust_of(domain, cfg);
        c->may_use_http = t != REG_TRUST_TLS;
        c->skip_verify = t == REG_TRUST_INSECURE;
        if (auth) {
                c->username = dup_nonempty(auth->username);
                c->password = dup_nonempty(auth->password);
                c->identity_token = dup_nonempty(auth->identity_token);
                c->registry_token = dup_nonempty(auth->registry_token);
        }
        int r = load_certs(c, cfg ? cfg->certs_dir : NULL, err);
        if (r < 0) {
                reg_client_free(c);
                return r;
        }
        c->share = curl_share_init();
        if (c->share) {
                curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
                curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
                curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
                curl_share_setopt(c->share, CURLSHOPT_SHARE,
                                  CURL_LOCK_DATA_CONNECT);
                curl_share_setopt(c->share, CURLSHOPT_SHARE,
                                  CURL_LOCK_DATA_SSL_SESSION);
                curl_share_setopt(c->share, CURLSHOPT_SHARE,
                                  CURL_LOCK_DATA_DNS);
        }
        *ret = c;
        return 0;
}

struct reg_client *reg_client_free(struct reg_client *c) {
        if (!c)
                return NULL;
        if (c->share)
                curl_share_cleanup(c->share);
        for (struct token *t = c->tokens, *n; t; t = n) {
                n = t->next;
                free(t->key);
                free(t->value);
                free(t);
        }
        free(c->domain);
        free(c->host);
        free(c->ca_blob);
        free(c->client_cert);
        free(c->client_key);
        free(c->username);
        free(c->password);
        free(c->identity_token);
        free(c->registry_token);
        pthread_mutex_destroy(&c->mu);
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_destroy(&c->share_mu[i]);
        free(c);
        return NULL;
}

const char *reg_client_domain(const struct reg_client *c) {
        return c->domain;
}

void reg_response_done(struct reg_response *r) {
        free(r->body);
        free(r->content_type);
        free(r->digest);
        free(r->location);
        memset(r, 0, sizeof(*r));
}

/* ---- one transfer ---- */

struct xfer {
        struct reg_response *resp;
        const struct reg_request *rq;
        size_t cap;
        bool sink_failed;
        char *www_auth;
        int64_t delivered;
        int64_t skip; /* a 200 to a Range request: drop what we have */
        off_t upload_pos;
        int64_t last_upload_ms;
};

static void set_header(char **slot, const char *v, size_t n) {
        while (n && (*v == ' ' || *v == '\t')) {
                v++;
                n--;
        }
        while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                n--;
        free(*slot);
        *slot = strndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
        struct xfer *x = ud;
        size_t len = size * n;
        if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
                /* A new response (after a redirect or 100): forget the
                 * previous one's headers. */
                free(x->resp->content_type);
                free(x->resp->digest);
                free(x->resp->location);
                free(x->www_auth);
                x->resp->content_type = x->resp->digest = NULL;
                x->resp->location = x->www_auth = NULL;
                x->resp->content_length = -1;
                return len;
        }
        const char *colon = memchr(buf, ':', len);
        if (!colon)
                return len;
        size_t nl = (size_t) (colon - buf);
        const char *v = colon + 1;
        size_t vl = len - nl - 1;
        if (nl == 12 && !strncasecmp(buf, "Content-Type", 12))
                set_header(&x->resp->content_type, v, vl);
        else if (nl == 21 && !strncasecmp(buf, "Docker-Content-Digest", 21))
                set_header(&x->resp->digest, v, vl);
        else if (nl == 8 && !strncasecmp(buf, "Location", 8))
                set_header(&x->resp->location, v, vl);
        else if (nl == 16 && !strncasecmp(buf, "WWW-Authenticate", 16))
                set_header(&x->www_auth, v, vl);
        else if (nl == 14 && !strncasecmp(buf, "Content-Length", 14)) {
                _cleanup_free_ char *t = NULL;
                set_header(&t, v, vl);
                int64_t cl;
                if (t && parse_i64(t, &cl) >= 0)
                        x->resp->content_length = cl;
        }
        return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud) {
        struct xfer *x = ud;
        size_t len = size * n;
        if (x->rq->cancel && *x->rq->cancel)
                return 0;
        long code = 0;
        /* The status of the response this body belongs to. */
        code = x->resp->status;
        if (x->rq->sink && code >= 200 && code < 300) {
                size_t drop = x->skip > 0 && (size_t) x->skip < len
                                      ? (size_t) x->skip
                              : x->skip > 0 ? len
                                            : 0;
                x->skip -= (int64_t) drop;
                if (drop == len)
                        return len;
                if (!x->rq->sink(buf + drop, len - drop, x->rq->sink_ud)) {
                        x->sink_failed = true;
                        return 0;
                }
                x->delivered += (int64_t) (len - drop);
                return len;
        }
        if (x->resp->len + len > x->cap)
                return 0; /* a body larger than allowed: abort */
        char *nb = realloc(x->resp->body, x->resp->len + len + 1);
        if (!nb)
                return 0;
        memcpy(nb + x->resp->len, buf, len);
        x->resp->len += len;
        nb[x->resp->len] = '\0';
        x->resp->body = nb;
        return len;
}

static size_t on_upload(char *buf, size_t size, size_t n, void *ud) {
        struct xfer *x = ud;
        if (x->rq->cancel && *x->rq->cancel)
                return CURL_READFUNC_ABORT;
        int64_t left = x->rq->body_size - (x->upload_pos - x->rq->body_off);
        size_t want = size * n;
        if (left <= 0)
                return 0;
        if ((int64_t) want > left)
                want = (size_t) left;
        ssize_t r = pread(x->rq->body_fd, buf, want, x->upload_pos);
        if (r < 0)
                return CURL_READFUNC_ABORT;
        x->upload_pos += r;
        return (size_t) r;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
        (void) dt;
        (void) dn;
        (void) ut;
        (void) un;
        struct xfer *x = ud;
        if (x->rq->on_upload && un > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
                if (ms - x->last_upload_ms >= 100 || un == ut) {
                        x->last_upload_ms = ms;
                        x->rq->on_upload((int64_t) un, x->rq->upload_ud);
                }
        }
        return x->rq->cancel && *x->rq->cancel ? 1 : 0;
}

/* Status is needed in on_body before the transfer ends: take it from the
 * handle when the headers are complete. */
static size_t on_header_status(char *buf, size_t size, size_t n, void *ud,
                               CURL *h) {
        struct xfer *x = ud;
        if (size * n == 2 && buf[0] == '\r') {
                long code = 0;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                x->resp->status = code;
                x->skip = code == 200 && x->rq->range_start > 0
                                  ? x->rq->range_start
                                  : 0;
        }
        return on_header(buf, size, n, ud);
}

struct hdr_ud {
        struct xfer *x;
        CURL *h;
};

static size_t on_header_tramp(char *buf, size_t size, size_t n, void *ud) {
        struct hdr_ud *hu = ud;
        return on_header_status(buf, size, n, hu->x, hu->h);
}

static char *join_scopes(const char *const *scopes) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; scopes && scopes[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", scopes[i]);
        fclose(f);
        return buf;
}

static char *cached_token(struct reg_client *c, const char *key) {
        char *out = NULL;
        time_t now = time(NULL);
        pthread_mutex_lock(&c->mu);
        for (struct token *t = c->tokens; t; t = t->next)
                if (!strcmp(t->key, key) && t->expires > now + 5) {
                        out = strdup(t->value);
                        break;
                }
        pthread_mutex_unlock(&c->mu);
        return out;
}

static void cache_token(struct reg_client *c, const char *key,
                        const char *value, int64_t ttl) {
        struct token *t = calloc(1, sizeof(*t));
        if (!t)
                return;
        t->key = strdup(key);
        t->value = strdup(value);
        t->expires = time(NULL) + (ttl > 0 ? ttl : 60);
        if (!t->key || !t->value) {
                free(t->key);
                free(t->value);
                free(t);
                return;
        }
        pthread_mutex_lock(&c->mu);
        t->next = c->tokens;
        c->tokens = t;
        pthread_mutex_unlock(&c->mu);
}

static void common_opts(struct reg_client *c, CURL *h) {
        curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A transfer that stalls for a minute is broken. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
        if (c->share)
                curl_easy_setopt(h, CURLOPT_SHARE, c->share);
        if (c->ca_blob) {
                struct curl_blob b = {c->ca_blob, c->ca_len, CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
        }
        if (c->client_cert) {
                curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
                curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
        }
        if (c->skip_verify) {
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
}

static const char *tls_hint(CURLcode cc) {
        switch (cc) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
                return " (put the registry's CA certificate in "
                       "certs.d/HOST:PORT/ca.crt, or list the registry in "
                       "insecure-registries)";
        default:
                return "";
        }
}

/* Fetch a bearer token from the challenge's realm. */
static int fetch_token(struct reg_client *c, const struct challenge *ch,
                       const char *const *scopes, const char *key, char **ret,
                       struct berr *err) {
        if (!ch->realm || !str_startswith(ch->realm, "http"))
                return berr_setx(err, EPROTO,
                                 "registry %s asked for a token without a "
                                 "usable realm",
                                 c->domain);
        CURL *h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        char *url = NULL;
        size_t ulen = 0;
        FILE *f = open_memstream(&url, &ulen);
        bool oauth = c->identity_token != NULL;
        char *form = NULL;
        size_t flen = 0;
        FILE *ff = oauth ? open_memstream(&form, &flen) : NULL;
        if (f) {
                fputs(ch->realm, f);
                char sep = strchr(ch->realm, '?') ? '&' : '?';
                if (!oauth && ch->service) {
                        char *e = curl_easy_escape(h, ch->service, 0);
                        fprintf(f, "%cservice=%s", sep, e ? e : "");
                        curl_free(e);
                        sep = '&';
                }
                bool any = scopes && scopes[0];
                for (size_t i = 0; !oauth && any && scopes[i]; i++) {
                        char *e = curl_easy_escape(h, scopes[i], 0);
                        fprintf(f, "%cscope=%s", sep, e ? e : "");
                        curl_free(e);
                        sep = '&';
                }
                if (!oauth && !any && ch->scope) {
                        char *e = curl_easy_escape(h, ch->scope, 0);
                        fprintf(f, "%cscope=%s", sep, e ? e : "");
                        curl_free(e);
                }
                fclose(f);
        }
        if (ff) {
                char *e = curl_easy_escape(h, c->identity_token, 0);
                fprintf(ff,
                        "grant_type=refresh_token&client_id=berth&"
                        "refresh_token=%s",
                        e ? e : "");
                curl_free(e);
                if (ch->service) {
                        e = curl_easy_escape(h, ch->service, 0);
                        fprintf(ff, "&service=%s", e ? e : "");
                        curl_free(e);
                }
                for (size_t i = 0; scopes && scopes[i]; i++) {
                        e = curl_easy_escape(h, scopes[i], 0);
                        fprintf(ff, "&scope=%s", e ? e : "");
                        curl_free(e);
                }
                fclose(ff);
        }
        struct reg_response resp = {.content_length = -1};
        struct reg_request rq = {.method = oauth ? "POST" : "GET"};
        struct xfer x = {.resp = &resp, .rq = &rq, .cap = 1 << 20};
        struct hdr_ud hu = {&x, h};
        common_opts(c, h);
        curl_easy_setopt(h, CURLOPT_URL, url ? url : "");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long) MAX_REDIRS);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_tramp);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hu);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        if (oauth) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, form ? form : "");
        } else if (c->username) {
                curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
                curl_easy_setopt(h, CURLOPT_PASSWORD,
                                 c->password ? c->password : "");
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
        }
        CURLcode cc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        int r = 0;
        if (cc != CURLE_OK) {
                r = berr_setx(err, EHOSTUNREACH, "get a token from %s: %s%s",
                              ch->realm, curl_easy_strerror(cc), tls_hint(cc));
        } else if (code == 401 || code == 403) {
                _cleanup_free_ char *why = NULL;
                resp.status = code;
                why = reg_error_text(&resp);
                r = berr_setx(err, EACCES, "%s: unauthorized: %s", c->domain,
                              why ? why : "authentication required");
        } else if (code != 200) {
                resp.status = code;
                _cleanup_free_ char *why = reg_error_text(&resp);
                r = berr_setx(err, EPROTO, "get a token from %s: HTTP %ld: %s",
                              ch->realm, code, why ? why : "");
        } else {
                json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0,
                                       NULL);
                const char *tok =
                        json_string_value(json_object_get(j, "token"));
                if (!tok || !*tok)
                        tok = json_string_value(
                                json_object_get(j, "access_token"));
                if (!tok || !*tok) {
                        r = berr_setx(err, EPROTO,
                                      "the token server %s sent no token",
                                      ch->realm);
                } else {
                        *ret = strdup(tok);
                        cache_token(c, key, tok,
                                    json_integer_value(
                                            json_object_get(j, "expires_in")));
                        if (!*ret)
                                r = -ENOMEM;
                }
                json_decref(j);
        }
        reg_response_done(&resp);
        free(url);
        free(form);
        return r;
}

static bool transport_retryable(CURLcode cc) {
        return cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR ||
               cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
               cc == CURLE_PARTIAL_FILE || cc == CURLE_OPERATION_TIMEDOUT;
}

/* One attempt.  `auth` is the Authorization header value or NULL. */
static CURLcode perform(struct reg_client *c, const struct reg_request *rq,
                        const char *url, const char *auth,
                        struct reg_response *resp, struct xfer *x) {
        CURL *h = curl_easy_init();
        if (!h)
                return CURLE_OUT_OF_MEMORY;
        struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *acc = NULL, *ct = NULL, *au = NULL, *rg = NULL;
        if (rq->accept && (acc = str_printf("Accept: %s", rq->accept)))
                hdrs = curl_slist_append(hdrs, acc);
        if (rq->content_type &&
            (ct = str_printf("Content-Type: %s", rq->content_type)))
                hdrs = curl_slist_append(hdrs, ct);
        if (auth && (au = str_printf("Authorization: %s", auth)))
                hdrs = curl_slist_append(hdrs, au);
        if (rq->range_start > 0 &&
            (rg = str_printf("Range: bytes=%lld-",
                             (long long) rq->range_start)))
                hdrs = curl_slist_append(hdrs, rg);
        hdrs = curl_slist_append(hdrs, "Expect:");
        common_opts(c, h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        struct hdr_ud hu = {x, h};
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_tramp);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hu);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
        bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
        if (get) {
                curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long) MAX_REDIRS);
        }
        if (!strcmp(rq->method, "HEAD"))
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        else if (!get) {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
                if (rq->body_fd >= 0 && rq->body_size >= 0 &&
                    strcmp(rq->method, "POST") != 0) {
                        x->upload_pos = rq->body_off;
                        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
                        curl_easy_setopt(h, CURLOPT_READDATA, x);
                        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                                         (curl_off_t) rq->body_size);
                } else {
                        curl_easy_setopt(h, CURLOPT_POST, 1L);
                        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                         (curl_off_t) rq->body_len);
                        curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                                         rq->body ? rq->body : "");
                        /* CURLOPT_POST sets POST: the custom method wins
                         * (PUT, PATCH with an in-memory body). */
                        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
                }
        }
        CURLcode cc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        resp->status = code;
        if (resp->location && resp->location[0] == '/') {
                /* Make it absolute against the URL that was asked. */
                char *eff = NULL;
                curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
                const char *p = eff ? strstr(eff, "://") : NULL;
                const char *slash = p ? strchr(p + 3, '/') : NULL;
                if (slash) {
                        char *abs = str_printf("%.*s%s", (int) (slash - eff),
                                               eff, resp->location);
                        if (abs) {
                                free(resp->location);
                                resp->location = abs;
                        }
                }
        }
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
        return cc;
}

static char *base_url(struct reg_client *c, enum scheme s) {
        return str_printf("%s://%s", s == SCHEME_HTTP ? "http" : "https",
                          c->host);
}

/* "Basic base64(user:password)"; NULL on ENOMEM. */
static char *basic_auth(const struct reg_client *c) {
        _cleanup_free_ char *up = str_printf("%s:%s", c->username,
                                             c->password ? c->password : "");
        _cleanup_free_ char *b =
                up ? base64_encode(up, strlen(up), false) : NULL;
        return b ? str_printf("Basic %s", b) : NULL;
}

int reg_do(struct reg_client *c, const struct reg_request *rq,
           struct reg_response *ret, struct berr *err) {
        _cleanup_free_ char *key = join_scopes(rq->scopes);
        _cleanup_free_ char *auth = NULL;
        if (!key)
                return -ENOMEM;
        if (c->registry_token)
                auth = str_printf("Bearer %s", c->registry_token);
        else {
                _cleanup_free_ char *tok = cached_token(c, key);
                pthread_mutex_lock(&c->mu);
                bool basic = c->basic;
                pthread_mutex_unlock(&c->mu);
                if (tok)
                        auth = str_printf("Bearer %s", tok);
                else if (basic && c->username)
                        auth = basic_auth(c);
        }
        bool absolute = !str_startswith(rq->url, "/");
        int attempts = 0, auth_rounds = 0;
        for (;;) {
                pthread_mutex_lock(&c->mu);
                enum scheme sch = c->scheme;
                pthread_mutex_unlock(&c->mu);
                if (sch == SCHEME_UNKNOWN)
                        sch = SCHEME_HTTPS;
                _cleanup_free_ char *base = base_url(c, sch);
                _cleanup_free_ char *url =
                        absolute
                                ? strdup(rq->url)
                                : str_printf("%s%s", base ? base : "", rq->url);
                if (!url)
                        return -ENOMEM;
                reg_response_done(ret);
                ret->content_length = -1;
                struct xfer x = {.resp = ret,
                                 .rq = rq,
                                 .cap = rq->max_body ? rq->max_body : 64 << 10};
                CURLcode cc = perform(c, rq, url, auth, ret, &x);
                _cleanup_free_ char *www = x.www_auth;
                x.www_auth = NULL;
                if (rq->cancel && *rq->cancel)
                        return berr_setx(err, ECANCELED, "%s %s: cancelled",
                                         rq->method, url);
                if (x.sink_failed)
                        return berr_setx(err, EIO, "%s %s: aborted", rq->method,
                                         url);
                if (cc == CURLE_SSL_CONNECT_ERROR && !absolute &&
                    sch == SCHEME_HTTPS && c->may_use_http) {
                        /* The server does not speak TLS: plain HTTP is
                         * allowed for this registry. */
                        pthread_mutex_lock(&c->mu);
                        c->scheme = SCHEME_HTTP;
                        pthread_mutex_unlock(&c->mu);
                        continue;
                }
                if (cc == CURLE_TOO_MANY_REDIRECTS)
                        return berr_setx(err, ELOOP,
                                         "%s %s: too many redirects (more "
                                         "than %d)",
                                         rq->method, url, MAX_REDIRS);
                if (cc == CURLE_WRITE_ERROR && !rq->sink)
                        return berr_setx(err, EFBIG,
                                         "%s %s: the response is larger "
                                         "than the %zu bytes allowed",
                                         rq->method, url, x.cap);
                if (cc != CURLE_OK) {
                        ret->transfer_failed = true;
                        /* Nothing delivered yet: safe to try again. */
                        if (transport_retryable(cc) && x.delivered == 0 &&
                            rq->body_fd < 0 && attempts < 3) {
                                struct timespec ts = {0, (200L << attempts) *
                                                                 1000000L};
                                nanosleep(&ts, NULL);
                                attempts++;
                                continue;
                        }
                        return berr_setx(err, EHOSTUNREACH, "%s %s: %s%s",
                                         rq->method, url,
                                         curl_easy_strerror(cc), tls_hint(cc));
                }
                if (sch == SCHEME_HTTPS && !absolute) {
                        pthread_mutex_lock(&c->mu);
                        if (c->scheme == SCHEME_UNKNOWN)
                                c->scheme = SCHEME_HTTPS;
                        pthread_mutex_unlock(&c->mu);
                }
                if (ret->status != 401 || auth_rounds >= 1 || !www ||
                    c->registry_token)
                        return 0;
                /* The challenge: answer it once. */
                auth_rounds++;
                struct challenge ch;
                if (challenge_parse(www, &ch) < 0)
                        return 0;
                free(auth);
                auth = NULL;
                if (!strcmp(ch.scheme, "basic")) {
                        if (!c->username) {
                                challenge_done(&ch);
                                return 0;
                        }
                        pthread_mutex_lock(&c->mu);
                        c->basic = true;
                        pthread_mutex_unlock(&c->mu);
                        auth = basic_auth(c);
                } else if (!strcmp(ch.scheme, "bearer")) {
                        char *tok = NULL;
                        int r = fetch_token(c, &ch, rq->scopes, key, &tok, err);
                        if (r < 0) {
                                challenge_done(&ch);
                                return r;
                        }
                        auth = str_printf("Bearer %s", tok);
                        free(tok);
                }
                challenge_done(&ch);
                if (!auth)
                        return 0;
        }
}

char *reg_error_text(const struct reg_response *r) {
        json_t *j =
                r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        json_t *errs = json_object_get(j, "errors");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        size_t i;
        json_t *e;
        bool any = false;
        json_array_foreach(errs, i, e) {
                const char *code =
                        json_string_value(json_object_get(e, "code"));
                const char *msg =
                        json_string_value(json_object_get(e, "message"));
                if (!f || (!code && !msg))
                        continue;
                /* distribution's wording: "manifest unknown: manifest
                 * unknown", the code lowercased with spaces. */
                fprintf(f, "%s", any ? "; " : "");
                for (const char *p = code; p && *p; p++)
                        fputc(*p == '_' ? ' ' : tolower((unsigned char) *p), f);
                fprintf(f, "%s%s", code && msg ? ": " : "", msg ? msg : "");
                any = true;
        }
        if (!any && f)
                fprintf(f, "HTTP status %ld", r->status);
        if (f)
                fclose(f);
        json_decref(j);
        return buf;
}
