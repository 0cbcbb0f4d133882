/* Image commands: images, rmi, tag, history, save, load, import. */
#include "cli.h"

#include "cleanup.h"
#include "reference.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void add_image_row(json_t *rows, json_t *img, const char *repo,
                          const char *tag, const char *digest, bool no_trunc) {
        const char *id = json_string_value(json_object_get(img, "Id"));
        const char *hex =
                id && !strncmp(id, "sha256:", 7) ? id + 7 : (id ?: "");
        char sid[13];
        snprintf(sid, sizeof(sid), "%.12s", hex);
        char since[64], at[64], size[32];
        json_int_t created =
                json_integer_value(json_object_get(img, "Created"));
        ago(since, sizeof(since), created);
        time_t t = (time_t) created;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        human_size_si(size, sizeof(size),
                      (double) json_integer_value(json_object_get(img, "Size")),
                      3);
        json_array_append_new(
                rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                "Repository", repo, "Tag", tag, "ID",
                                no_trunc ? (id ?: "") : sid, "CreatedSince",
                                since, "CreatedAt", at, "Size", size, "Digest",
                                digest, "Containers", "N/A"));
}

/* Append `value` to the list under `key` of an (insertion-ordered)
 * object of lists. */
static void group_add(json_t *groups, const char *key, const char *value) {
        json_t *list = json_object_get(groups, key);
        if (!list)
                json_object_set_new(groups, key, list = json_array());
        json_array_append_new(list, json_string(value));
}

/* docker's imageFormatTaggedAndDigest: one row per repository and tag,
 * times that repository's digests when they are shown
 * (`need_digest`), then rows for repositories known only by digest.
 * Repository names are familiar ("busybox", not
 * docker.io/library/busybox). */
static json_t *image_rows(json_t *list, bool no_trunc, bool digests,
                          bool need_digest) {
        json_t *rows = json_array();
        size_t i;
        json_t *img;
        json_array_foreach(list, i, img) {
                json_t *tags = json_object_get(img, "RepoTags");
                json_t *digs = json_object_get(img, "RepoDigests");
                const char *t0 = json_string_value(json_array_get(tags, 0));
                const char *d0 = json_string_value(json_array_get(digs, 0));
                bool dangling = (json_array_size(tags) == 0 &&
                                 json_array_size(digs) == 0) ||
                                (json_array_size(tags) == 1 && t0 &&
                                 !strcmp(t0, "<none>:<none>") &&
                                 json_array_size(digs) == 1 && d0 &&
                                 !strcmp(d0, "<none>@<none>"));
                if (dangling) {
                        add_image_row(rows, img, "<none>", "<none>", "<none>",
                                      no_trunc);
                        continue;
                }
                json_t *by_tag = json_object(), *by_digest = json_object();
                size_t k;
                json_t *v;
                json_array_foreach(tags, k, v) {
                        _cleanup_(reference_donep) struct reference r = {0};
                        struct berr e = {0};
                        if (!json_string_value(v) ||
                            reference_parse_normalized(json_string_value(v), &r,
                                                       &e) < 0 ||
                            !r.tag)
                                continue;
                        _cleanup_free_ char *repo = reference_familiar_name(&r);
                        if (repo)
                                group_add(by_tag, repo, r.tag);
                }
                json_array_foreach(digs, k, v) {
                        _cleanup_(reference_donep) struct reference r = {0};
                        struct berr e = {0};
                        if (!json_string_value(v) ||
                            reference_parse_normalized(json_string_value(v), &r,
                                                       &e) < 0 ||
                            !r.digest)
                                continue;
                        _cleanup_free_ char *repo = reference_familiar_name(&r);
                        if (repo)
                                group_add(by_digest, repo, r.digest);
                }
                const char *repo;
                json_t *tl;
                json_object_foreach(by_tag, repo, tl) {
                        json_t *dl = json_object_get(by_digest, repo);
                        json_t *shown = need_digest ? dl : NULL;
                        size_t a, b;
                        json_t *tag, *dg;
                        json_array_foreach(tl, a, tag) {
                                if (json_array_size(shown) == 0) {
                                        add_image_row(rows, img, repo,
                                                      json_string_value(tag),
                                                      "<none>", no_trunc);
                                        continue;
                                }
                                json_array_foreach(shown, b, dg) {
                                        add_image_row(rows, img, repo,
                                                      json_string_value(tag),
                                                      json_string_value(dg),
                                                      no_trunc);
                                }
                        }
                        /* Digests of a tagged repository get no rows of
                         * their own. */
                        json_object_del(by_digest, repo);
                }
                json_object_foreach(by_digest, repo, tl) {
                        size_t a;
                        json_t *dg;
                        if (!digests) {
                                add_image_row(rows, img, repo, "<none>", "",
                                              no_trunc);
                                continue;
                        }
                        json_array_foreach(tl, a, dg) {
                                add_image_row(rows, img, repo, "<none>",
                                              json_string_value(dg), no_trunc);
                        }
                }
                json_decref(by_tag);
                json_decref(by_digest);
        }
        return rows;
}

int cmd_images(int argc, char **argv) {
        bool all = false, quiet = false, no_trunc = false, digests = false;
        const char *format = NULL;
        char **filters = NULL;
        struct opt o[] = {
                {"all", 'a', OPT_BOOL, &all,
                 "Show all images (default hides intermediate images)"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Only show image IDs"},
                {"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
                {"digests", 0, OPT_BOOL, &digests, "Show digests"},
                {"filter", 'f', OPT_LIST, &filters,
                 "Filter output based on conditions provided"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"images",
                                "[OPTIONS] [REPOSITORY[:TAG]]",
                                "List images",
                                0,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        if (n == 1) {
                char *r = str_printf("reference=%s", args[0]);
                strv_push(&filters, r);
                free(r);
        }
        free(args);
        char *f = filters_json(filters);
        if (filters && !f)
                return 1;
        char *path = str_printf(API_PREFIX "/images/json?all=%d%s%s", all,
                                f ? "&filters=" : "", f ? f : "");
        free(f);
        json_t *list = api_get_json(path);
        free(path);
        if (!json_is_array(list)) {
                json_decref(list);
                return 1;
        }
        bool need_digest = digests || (format && strstr(format, "{{.Digest}}"));
        json_t *rows = image_rows(list, no_trunc, digests, need_digest);
        json_decref(list);
        int rc = 0;
        if (quiet && !format) {
                /* One ID per row, repeated for every tag, as docker 28
                 * prints them. */
                size_t i;
                json_t *r;
                json_array_foreach(rows, i, r) {
                        printf("%s\n",
                               json_string_value(json_object_get(r, "ID")));
                }
        } else {
                json_t *h = json_pack(
                        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                        "Repository", "REPOSITORY", "Tag", "TAG", "ID",
                        "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt",
                        "CREATED AT", "Size", "SIZE", "Digest", "DIGEST",
                        "Containers", "CONTAINERS");
                _cleanup_free_ char *fmt = NULL;
                if (!format || !strcmp(format, "table"))
                        fmt = strdup(digests ? "table {{.Repository}}\t"
                                               "{{.Tag}}\t{{.Digest}}\t"
                                               "{{.ID}}\t{{.CreatedSince}}\t"
                                               "{{.Size}}"
                                             : "table {{.Repository}}\t"
                                               "{{.Tag}}\t{{.ID}}\t"
                                               "{{.CreatedSince}}\t{{.Size}}");
                else if (digests && !strncmp(format, "table", 5) &&
                         !strstr(format, "{{.Digest}}"))
                        fmt = str_printf("%s\t{{.Digest}}", format);
                else
                        fmt = strdup(format);
                rc = format_rows(fmt, rows, h);
                json_decref(h);
        }
        json_decref(rows);
        return rc;
}

int cmd_rmi(int argc, char **argv) {
        bool force = false, no_prune = false;
        struct opt o[] = {
                {"force", 'f', OPT_BOOL, &force, "Force removal of the image"},
                {"no-prune", 0, OPT_BOOL, &no_prune,
                 "Do not delete untagged parents"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"rmi",
                                "[OPTIONS] IMAGE [IMAGE...]",
                                "Remove one or more images",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char *e = url_escape(args[i]);
                char *p = str_printf(API_PREFIX "/images/%s?force=%d&"
                                                "noprune=%d",
                                     e, force, no_prune);
                free(e);
                struct api_reply r;
                if (api_call("DELETE", p, NULL, NULL, 0, &r) < 0) {
                        free(p);
                        free(args);
                        return 1;
                }
                free(p);
                if (r.status >= 300) {
                        api_print_error(&r);
                        rc = 1;
                } else {
                        json_t *j = api_reply_json(&r);
                        size_t k;
                        json_t *item;
                        json_array_foreach(j, k, item) {
                                const char *u = json_string_value(
                                        json_object_get(item, "Untagged"));
                                const char *d = json_string_value(
                                        json_object_get(item, "Deleted"));
                                if (u)
                                        printf("Untagged: %s\n", u);
                                if (d)
                                        printf("Deleted: %s\n", d);
                        }
                        json_decref(j);
                }
                api_reply_free(&r);
        }
        free(args);
        return rc;
}

int cmd_tag(int argc, char **argv) {
        struct opt o[] = {{NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"tag",
                                "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                                "Create a tag TARGET_IMAGE that refers to "
                                "SOURCE_IMAGE",
                                2,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        /* repo[:tag], where a ':' after the last '/' starts the tag. */
        char *target = strdup(args[1]);
        char *slash = strrchr(target, '/');
        char *colon = strrchr(slash ? slash : target, ':');
        const char *tag = "latest";
        if (colon) {
                *colon = '\0';
                tag = colon + 1;
        }
        char *es = url_escape(args[0]), *er = url_escape(target),
             *et = url_escape(tag);
        char *p = str_printf(API_PREFIX "/images/%s/tag?repo=%s&tag=%s", es, er,
                             et);
        free(es);
        free(er);
        free(et);
        free(target);
        bool ok = api_simple("POST", p, NULL);
        free(p);
        free(args);
        return ok ? 0 : 1;
}

int cmd_history(int argc, char **argv) {
        bool no_trunc = false, quiet = false, human = true;
        const char *format = NULL;
        struct opt o[] = {
                {"no-trunc", 0, OPT_BOOL, &no_trunc, "Don't truncate output"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Only show image IDs"},
                {"human", 'H', OPT_BOOL, &human,
                 "Print sizes and dates in human readable format"},
                {"format", 0, OPT_STR, &format,
                 "Format output using a custom template"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"history",
                                "[OPTIONS] IMAGE",
                                "Show the history of an image",
                                1,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        char *e = url_escape(args[0]);
        char *p = str_printf(API_PREFIX "/images/%s/history", e);
        free(e);
        free(args);
        json_t *list = api_get_json(p);
        free(p);
        if (!list)
                return 1;
        json_t *rows = json_array();
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h) {
                const char *id = json_string_value(json_object_get(h, "Id"));
                char sid[13];
                const char *hex =
                        id && !strncmp(id, "sha256:", 7) ? id + 7 : NULL;
                snprintf(sid, sizeof(sid), "%.12s", hex ? hex : "<missing>");
                char since[64], size[32];
                ago(since, sizeof(since),
                    json_integer_value(json_object_get(h, "Created")));
                human_size_si(
                        size, sizeof(size),
                        (double) json_integer_value(json_object_get(h, "Size")),
                        3);
                const char *by =
                        json_string_value(json_object_get(h, "CreatedBy"));
                char *cut = no_trunc ? strdup(by ? by : "")
                                     : ellipsis(by ? by : "", 45);
                json_array_append_new(
                        rows,
                        json_pack(
                                "{s:s, s:s, s:s, s:s, s:s}", "ID",
                                hex ? (no_trunc ? id : sid) : "<missing>",
                                "CreatedSince", since, "CreatedBy", cut, "Size",
                                size, "Comment",
                                json_string_value(json_object_get(h, "Comment"))
                                        ?: ""));
                free(cut);
        }
        json_decref(list);
        int rc;
        if (quiet) {
                json_array_foreach(rows, i, h) printf(
                        "%s\n", json_string_value(json_object_get(h, "ID")));
                rc = 0;
        } else {
                json_t *hd = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ID",
                                       "IMAGE", "CreatedSince", "CREATED",
                                       "CreatedBy", "CREATED BY", "Size",
                                       "SIZE", "Comment", "COMMENT");
                rc = format_rows(format ? format
                                        : "table {{.ID}}\t{{.CreatedSince}}\t"
                                          "{{.CreatedBy}}\t{{.Size}}\t"
                                          "{{.Comment}}",
                                 rows, hd);
                json_decref(hd);
        }
        json_decref(rows);
        return rc;
}

static bool save_chunk(const char *p, size_t n, void *ud) {
        return write_all(*(int *) ud, p, n) == 0;
}

int cmd_save(int argc, char **argv) {
        const char *output = NULL;
        struct opt o[] = {{"output", 'o', OPT_STR, &output,
                           "Write to a file, instead of STDOUT"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"save",
                                "[OPTIONS] IMAGE [IMAGE...]",
                                "Save one or more images to a tar archive "
                                "(streamed to STDOUT by default)",
                                1,
                                -1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        if (!output && isatty(1)) {
                fprintf(stderr, "berth: cowardly refusing to save to a "
                                "terminal. Use the -o flag or redirect\n");
                free(args);
                return 1;
        }
        char *q = strdup("");
        for (int i = 0; i < n; i++) {
                char *e = url_escape(args[i]);
                char *x = str_printf("%s%snames=%s", q, i ? "&" : "", e);
                free(e);
                free(q);
                q = x;
        }
        free(args);
        char *tmp = output ? str_printf("%s.berth-tmp", output) : NULL;
        int fd = 1;
        if (output) {
                fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0) {
                        fprintf(stderr, "berth: open %s: %s\n", output,
                                strerror(errno));
                        free(q);
                        free(tmp);
                        return 1;
                }
        }
        char *p = str_printf(API_PREFIX "/images/get?%s", q);
        free(q);
        struct api_reply err;
        long st = api_stream("GET", p, NULL, save_chunk, &fd, &err);
        free(p);
        int rc = 0;
        if (st < 0 || st >= 300) {
                if (st >= 300)
                        api_print_error(&err);
                rc = 1;
        }
        if (st >= 0)
                api_reply_free(&err);
        if (output) {
                if (rc == 0 && fsync(fd) < 0)
                        rc = 1;
                close(fd);
                if (rc == 0 && rename(tmp, output) < 0) {
                        fprintf(stderr, "berth: rename %s: %s\n", output,
                                strerror(errno));
                        rc = 1;
                }
                if (rc)
                        unlink(tmp);
        }
        free(tmp);
        return rc;
}

/* The daemon's JSON message stream ({"stream": "..."} / {"error": ...}). */
static int print_messages(const struct api_reply *r) {
        int rc = 0;
        const char *p = r->body;
        const char *end = r->body + r->len;
        while (p && p < end) {
                json_error_t je;
                json_t *j = json_loadb(p, (size_t) (end - p),
                                       JSON_DISABLE_EOF_CHECK, &je);
                if (!j)
                        break;
                p += je.position;
                while (p < end && (*p == '\r' || *p == '\n' || *p == ' '))
                        p++;
                const char *s = json_string_value(json_object_get(j, "stream"));
                const char *st =
                        json_string_value(json_object_get(j, "status"));
                const char *e = json_string_value(json_object_get(j, "error"));
                if (s)
                        fputs(s, stdout);
                if (st)
                        printf("%s\n", st);
                if (e) {
                        fprintf(stderr, "%s\n", e);
                        rc = 1;
                }
                json_decref(j);
        }
        return rc;
}

/* Send a tar archive from fd (closed here unless stdin) and print the
 * daemon's progress messages; an exit status. */
static int upload_tar(const char *path, int fd) {
        struct api_reply r;
        int rc = api_upload("POST", path, fd, "application/x-tar", &r);
        if (fd > 0)
                close(fd);
        if (rc < 0)
                return 1;
        if (r.status >= 300) {
                api_print_error(&r);
                api_reply_free(&r);
                return 1;
        }
        rc = print_messages(&r);
        api_reply_free(&r);
        return rc;
}

int cmd_load(int argc, char **argv) {
        const char *input = NULL;
        bool quiet = false;
        struct opt o[] = {
                {"input", 'i', OPT_STR, &input,
                 "Read from tar archive file, instead of STDIN"},
                {"quiet", 'q', OPT_BOOL, &quiet, "Suppress the load output"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"load",
                                "[OPTIONS]",
                                "Load an image from a tar archive or STDIN",
                                0,
                                0,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        int fd = 0;
        if (input) {
                fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "open %s: %s\n", input,
                                strerror(errno));
                        return 1;
                }
        } else if (isatty(0)) {
                fprintf(stderr, "requested load from stdin, but stdin is "
                                "empty\n");
                return 1;
        }
        return upload_tar(quiet ? API_PREFIX "/images/load?quiet=1"
                                : API_PREFIX "/images/load?quiet=0",
                          fd);
}

int cmd_import(int argc, char **argv) {
        char **changes = NULL;
        const char *message = NULL, *platform = NULL;
        struct opt o[] = {{"change", 'c', OPT_LIST, &changes,
                           "Apply Dockerfile instruction to the created image"},
                          {"message", 'm', OPT_STR, &message,
                           "Set commit message for imported image"},
                          {"platform", 0, OPT_STR, &platform,
                           "Set platform if server is multi-platform capable"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"import",
                                "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                                "Import the contents from a tarball to create "
                                "a filesystem image",
                                1,
                                2,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        int fd = 0;
        if (strcmp(args[0], "-")) {
                fd = open(args[0], O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "open %s: %s\n", args[0],
                                strerror(errno));
                        free(args);
                        return 1;
                }
        }
        char *q = strdup("fromSrc=-");
        if (n == 2) {
                char *ref = strdup(args[1]);
                char *slash = strrchr(ref, '/');
                char *colon = strrchr(slash ? slash : ref, ':');
                const char *tag = "";
                if (colon) {
                        *colon = '\0';
                        tag = colon + 1;
                }
                char *er = url_escape(ref), *et = url_escape(tag);
                char *x = str_printf("%s&repo=%s&tag=%s", q, er, et);
                free(er);
                free(et);
                free(ref);
                free(q);
                q = x;
        }
        for (size_t i = 0; changes && changes[i]; i++) {
                char *e = url_escape(changes[i]);
                char *x = str_printf("%s&changes=%s", q, e);
                free(e);
                free(q);
                q = x;
        }
        if (message) {
                char *e = url_escape(message);
                char *x = str_printf("%s&message=%s", q, e);
                free(e);
                free(q);
                q = x;
        }
        free(args);
        char *p = str_printf(API_PREFIX "/images/create?%s", q);
        free(q);
        int rc = upload_tar(p, fd);
        free(p);
        return rc;
}

static int image_inspect(int argc, char **argv) {
        return inspect_typed("image", argc, argv);
}

static int image_prune(int argc, char **argv) {
        bool all = false, force = false;
        struct opt o[] = {{"all", 'a', OPT_BOOL, &all,
                           "Remove all unused images, not just dangling "
                           "ones"},
                          {"force", 'f', OPT_BOOL, &force,
                           "Do not prompt for confirmation"},
                          {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"image prune",
                                "[OPTIONS]",
                                "Remove unused images",
                                0,
                                0,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        free(args);
        char *p = str_printf(API_PREFIX "/images/prune%s",
                             all ? "?filters=%7B%22dangling%22%3A%5B%22false%22"
                                   "%5D%7D"
                                 : "");
        json_t *j = api_request_json("POST", p, NULL);
        free(p);
        if (!j)
                return 1;
        char sz[32];
        human_size_si(sz, sizeof(sz),
                      (double) json_integer_value(
                              json_object_get(j, "SpaceReclaimed")),
                      3);
        printf("Total reclaimed space: %s\n", sz);
        json_decref(j);
        return 0;
}

int cmd_image(int argc, char **argv) {
        static const struct subcmd subs[] = {
                {"history", cmd_history, "Show the history of an image"},
                {"import", cmd_import, "Import a tarball as an image"},
                {"inspect", image_inspect, "Display detailed information"},
                {"build", cmd_build, "Build an image from a Dockerfile"},
                {"load", cmd_load, "Load an image from a tar archive"},
                {"ls", cmd_images, "List images"},
                {"list", cmd_images, "List images"},
                {"prune", image_prune, "Remove unused images"},
                {"pull", cmd_pull, "Download an image from a registry"},
                {"push", cmd_push, "Upload an image to a registry"},
                {"rm", cmd_rmi, "Remove one or more images"},
                {"save", cmd_save, "Save images to a tar archive"},
                {"tag", cmd_tag, "Create a tag"},
                {NULL, NULL, NULL}};
        return run_subcommand("image", subs, argc, argv);
}
