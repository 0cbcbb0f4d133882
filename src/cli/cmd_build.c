/* berth build: the context (a directory less what .dockerignore leaves
 * out, a tarball on stdin, or a Dockerfile on stdin) as a tar to
 * POST /build, and the daemon's messages drawn as docker's classic
 * builder output. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "ignore.h"
#include "progress.h"
#include "util.h"

struct ctx_tar {
        struct archive *a;
        struct ignore *ig;
        const char *keep[3]; /* always sent: the Dockerfile, .dockerignore */
        char *err;
};

static bool kept(struct ctx_tar *t, const char *rel) {
        for (size_t i = 0; i < ELEMENTSOF(t->keep); i++)
                if (t->keep[i] && !strcmp(t->keep[i], rel))
                        return true;
        return false;
}

static int add_entry(struct ctx_tar *t, int dfd, const char *name,
                     const char *rel, const struct stat *st) {
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_copy_stat(e, st);
        archive_entry_set_pathname(e, rel);
        /* docker's CLI sends the context owned by root. */
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_uname(e, "");
        archive_entry_set_gname(e, "");
        int fd = -1;
        if (S_ISLNK(st->st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        goto fail;
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
        } else if (S_ISREG(st->st_mode)) {
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        goto fail;
        } else if (!S_ISDIR(st->st_mode)) {
                archive_entry_free(e);
                return 0; /* sockets, devices: not sent */
        }
        if (archive_write_header(t->a, e) != ARCHIVE_OK) {
                free(t->err);
                t->err = str_printf("%s: %s", rel, archive_error_string(t->a));
                archive_entry_free(e);
                if (fd >= 0)
                        close(fd);
                return -EIO;
        }
        archive_entry_free(e);
        if (fd >= 0) {
                char buf[1 << 16];
                ssize_t n;
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        archive_write_data(t->a, buf, (size_t) n);
                int saved = errno;
                close(fd);
                if (n < 0) {
                        errno = saved;
                        goto fail_noe;
                }
        }
        return 0;
fail:
        archive_entry_free(e);
fail_noe:
        free(t->err);
        t->err = str_printf("error checking context: can't open '%s': %s", rel,
                            strerror(errno));
        return -errno;
}

static int walk(struct ctx_tar *t, int dfd, const char *dir) {
        int fd = dup(dfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *rel =
                        *dir ? str_printf("%s/%s", dir, de->d_name)
                             : strdup(de->d_name);
                if (!rel) {
                        r = -ENOMEM;
                        break;
                }
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                bool excluded =
                        t->ig && ignore_match(t->ig, rel) && !kept(t, rel);
                if (excluded &&
                    !(S_ISDIR(st.st_mode) && ignore_has_exceptions(t->ig)))
                        continue;
                if (!excluded)
                        r = add_entry(t, dfd, de->d_name, rel, &st);
                if (r >= 0 && S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dfd, de->d_name,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                               O_CLOEXEC);
                        if (sub < 0) {
                                free(t->err);
                                t->err = str_printf(
                                        "error checking context: can't "
                                        "stat '%s': %s",
                                        rel, strerror(errno));
                                r = -errno;
                        } else {
                                r = walk(t, sub, rel);
                        }
                }
        }
        closedir(d);
        return r;
}

static int add_bytes(struct archive *a, const char *name, const char *data,
                     size_t len) {
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_size(e, (la_int64_t) len);
        archive_entry_set_mtime(e, time(NULL), 0);
        int r = archive_write_header(a, e) == ARCHIVE_OK &&
                                archive_write_data(a, data, len) ==
                                        (la_ssize_t) len
                        ? 0
                        : -EIO;
        archive_entry_free(e);
        return r;
}

/* A tar of `dir` (NULL: none) plus, if given, a Dockerfile under
 * `df_name`, into an anonymous file. */
static int make_context(const char *dir, const char *dockerfile_rel,
                        const char *df_name, const char *df_data,
                        size_t df_len) {
        int fd = open_tmpfile_at(AT_FDCWD, "/var/tmp");
        if (fd < 0)
                fd = open_tmpfile_at(AT_FDCWD, "/tmp");
        if (fd < 0) {
                fprintf(stderr,
                        "create a temporary file in /var/tmp or /tmp: %s\n",
                        strerror(-fd));
                return -1;
        }
        struct ctx_tar t = {.a = archive_write_new()};
        archive_write_set_format_pax_restricted(t.a);
        archive_write_open_fd(t.a, fd);
        int r = 0;
        if (dir) {
                _cleanup_close_ int dfd =
                        open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        fprintf(stderr,
                                "unable to prepare context: path \"%s\" not "
                                "found\n",
                                dir);
                        r = -ENOENT;
                } else {
                        _cleanup_free_ char *text = NULL;
                        size_t len = 0;
                        if (read_file_at(dfd, ".dockerignore", 1 << 20, &text,
                                         &len) >= 0 &&
                            ignore_parse(text, len, &t.ig, NULL) < 0) {
                                fprintf(stderr,
                                        "error reading .dockerignore\n");
                                r = -EINVAL;
                        }
                        t.keep[0] = dockerfile_rel;
                        t.keep[1] = ".dockerignore";
                        if (r >= 0)
                                r = walk(&t, dfd, "");
                        if (r < 0 && t.err)
                                fprintf(stderr, "%s\n", t.err);
                        else if (r < 0)
                                fprintf(stderr, "read the context %s: %s\n",
                                        dir, strerror(-r));
                }
        }
        if (r >= 0 && df_name)
                r = add_bytes(t.a, df_name, df_data, df_len);
        if (archive_write_close(t.a) != ARCHIVE_OK && r >= 0) {
                fprintf(stderr, "write the context: %s\n",
                        archive_error_string(t.a));
                r = -EIO;
        }
        archive_write_free(t.a);
        ignore_free(t.ig);
        free(t.err);
        if (r < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static bool is_archive(const char *p, size_t n) {
        static const unsigned char gz[] = {0x1f, 0x8b}, bz[] = {'B', 'Z', 'h'},
                                   xz[] = {0xfd, '7', 'z', 'X', 'Z'},
                                   zs[] = {0x28, 0xb5, 0x2f, 0xfd};
        return (n >= 2 && !memcmp(p, gz, 2)) || (n >= 3 && !memcmp(p, bz, 3)) ||
               (n >= 5 && !memcmp(p, xz, 5)) || (n >= 4 && !memcmp(p, zs, 4)) ||
               (n >= 262 && !memcmp(p + 257, "ustar", 5));
}

static void url_kv(FILE *f, const char *key, char **kvs) {
        if (!kvs || !kvs[0])
                return;
        json_t *o = json_object();
        for (size_t i = 0; kvs[i]; i++) {
                const char *eq = strchr(kvs[i], '=');
                _cleanup_free_ char *k =
                        eq ? strndup(kvs[i], (size_t) (eq - kvs[i]))
                           : strdup(kvs[i]);
                if (!k)
                        continue;
                const char *v = eq ? eq + 1 : getenv(k);
                /* --build-arg NAME without a value takes the environment's
                 * (and is left out when unset), as docker does. */
                if (!eq && !strcmp(key, "buildargs") && !v)
                        continue;
                json_object_set_new(o, k, json_string(v ? v : ""));
        }
        char *j = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        char *e = j ? url_escape(j) : NULL;
        if (e)
                fprintf(f, "&%s=%s", key, e);
        free(e);
        free(j);
}

struct build_feed {
        struct progress *pr;
        int r;
        char *id;
};

static void on_aux(json_t *aux, void *ud) {
        struct build_feed *b = ud;
        const char *id = json_string_value(json_object_get(aux, "ID"));
        if (id) {
                free(b->id);
                b->id = strdup(id);
        }
}

static bool feed(const char *data, size_t len, void *ud) {
        struct build_feed *b = ud;
        b->r = progress_feed(b->pr, data, len);
        return b->r == 0;
}

int cmd_build(int argc, char **argv) {
        char **tags = NULL, **bargs = NULL, **labels = NULL;
        const char *file = NULL, *target = NULL, *network = NULL,
                   *iidfile = NULL, *progress_mode = NULL, *platform = NULL;
        bool no_cache = false, pull = false, quiet = false, rm = true,
             force_rm = false;
        struct opt o[] = {
                {"tag", 't', OPT_LIST, &tags,
                 "Name and optionally a tag in the 'name:tag' format"},
                {"file", 'f', OPT_STR, &file,
                 "Name of the Dockerfile (Default is 'PATH/Dockerfile')"},
                {"build-arg", 0, OPT_LIST, &bargs, "Set build-time variables"},
                {"label", 0, OPT_LIST, &labels, "Set metadata for an image"},
                {"target", 0, OPT_STR, &target,
                 "Set the target build stage to build."},
                {"network", 0, OPT_STR, &network,
                 "Set the networking mode for the RUN instructions during "
                 "build"},
                {"no-cache", 0, OPT_BOOL, &no_cache,
                 "Do not use cache when building the image"},
                {"pull", 0, OPT_BOOL, &pull,
                 "Always attempt to pull a newer version of the image"},
                {"quiet", 'q', OPT_BOOL, &quiet,
                 "Suppress the build output and print image ID on success"},
                {"iidfile", 0, OPT_STR, &iidfile,
                 "Write the image ID to the file"},
                {"progress", 0, OPT_STR, &progress_mode,
                 "Set type of progress output (auto, plain, tty)"},
                {"platform", 0, OPT_STR, &platform,
                 "Set platform if server is multi-platform capable"},
                {"rm", 0, OPT_BOOL, &rm,
                 "Remove intermediate containers after a successful build "
                 "(always)"},
                {"force-rm", 0, OPT_BOOL, &force_rm,
                 "Always remove intermediate containers"},
                {NULL, 0, 0, NULL, NULL}};
        struct cmd_spec spec = {"build",
                                "[OPTIONS] PATH | -",
                                "Build an image from a Dockerfile",
                                1,
                                1,
                                false,
                                1};
        char **args;
        int n = opts_parse(&spec, o, argc, argv, &args);
        if (n < 0)
                return n == -2 ? 0 : 1;
        const char *path = args[0];
        int rc = 1;
        _cleanup_(progress_freep) struct progress *pr = NULL;
        _cleanup_free_ char *stdin_data = NULL;
        size_t stdin_len = 0;
        _cleanup_free_ char *df_rel = NULL;
        char df_name[64] = "";
        _cleanup_free_ char *df_data = NULL;
        size_t df_len = 0;
        int fd = -1;
        bool df_stdin = file && !strcmp(file, "-");
        if (!strcmp(path, "-")) {
                if (df_stdin) {
                        fprintf(stderr, "invalid argument: can't use stdin "
                                        "for both build context and "
                                        "dockerfile\n");
                        goto out;
                }
                if (read_fd_all(0, 1u << 31, &stdin_data, &stdin_len) < 0) {
                        fprintf(stderr, "read the context from stdin: %s\n",
                                strerror(errno));
                        goto out;
                }
                if (is_archive(stdin_data, stdin_len)) {
                        fd = open_tmpfile_at(AT_FDCWD, "/var/tmp");
                        if (fd < 0)
                                fd = open_tmpfile_at(AT_FDCWD, "/tmp");
                        if (fd < 0)
                                errno = -fd;
                        if (fd < 0 ||
                            write_all(fd, stdin_data, stdin_len) < 0 ||
                            lseek(fd, 0, SEEK_SET) < 0) {
                                fprintf(stderr, "spool the context: %s\n",
                                        strerror(errno));
                                goto out;
                        }
                } else {
                        /* A Dockerfile alone: an empty context. */
                        fd = make_context(NULL, NULL, "Dockerfile", stdin_data,
                                          stdin_len);
                }
        } else {
                struct stat st;
                if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        fprintf(stderr,
                                "unable to prepare context: path \"%s\" not "
                                "found\n",
                                path);
                        goto out;
                }
                if (df_stdin) {
                        if (read_fd_all(0, 16 << 20, &df_data, &df_len) < 0) {
                                fprintf(stderr,
                                        "read the Dockerfile from "
                                        "stdin: %s\n",
                                        strerror(errno));
                                goto out;
                        }
                } else if (file) {
                        /* -f inside the context: its path there; outside
                         * it: sent along under a name of its own. */
                        _cleanup_free_ char *ctx = realpath(path, NULL);
                        _cleanup_free_ char *f = realpath(file, NULL);
                        size_t cl = ctx ? strlen(ctx) : 0;
                        if (!f) {
                                fprintf(stderr,
                                        "unable to prepare context: unable "
                                        "to evaluate symlinks in Dockerfile "
                                        "path: lstat %s: no such file or "
                                        "directory\n",
                                        file);
                                goto out;
                        }
                        if (ctx && !strncmp(f, ctx, cl) && f[cl] == '/') {
                                df_rel = strdup(f + cl + 1);
                        } else {
                                int dfd = open(f, O_RDONLY | O_CLOEXEC);
                                if (dfd < 0 ||
                                    read_fd_all(dfd, 16 << 20, &df_data,
                                                &df_len) < 0) {
                                        fprintf(stderr, "read %s: %s\n", file,
                                                strerror(errno));
                                        if (dfd >= 0)
                                                close(dfd);
                                        goto out;
                                }
                                close(dfd);
                        }
                }
                if (df_data)
                        snprintf(df_name, sizeof(df_name),
                                 ".dockerfile.%08lx%04x", (long) time(NULL),
                                 (unsigned) getpid() & 0xffff);
                fd = make_context(path, df_rel ? df_rel : "Dockerfile",
                                  df_data ? df_name : NULL, df_data, df_len);
        }
        if (fd < 0)
                goto out;
        char *url = NULL;
        size_t ul = 0;
        FILE *f = open_memstream(&url, &ul);
        if (!f)
                goto out;
        fputs(API_PREFIX "/build?rm=1", f);
        const char *dockerfile = df_data ? df_name : df_rel;
        if (dockerfile) {
                _cleanup_free_ char *e = url_escape(dockerfile);
                fprintf(f, "&dockerfile=%s", e ? e : "");
        }
        for (size_t i = 0; tags && tags[i]; i++) {
                _cleanup_free_ char *e = url_escape(tags[i]);
                fprintf(f, "&t=%s", e ? e : "");
        }
        url_kv(f, "buildargs", bargs);
        url_kv(f, "labels", labels);
        const char *strs[][2] = {{"target", target},
                                 {"networkmode", network},
                                 {"platform", platform}};
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                if (!strs[i][1])
                        continue;
                _cleanup_free_ char *e = url_escape(strs[i][1]);
                fprintf(f, "&%s=%s", strs[i][0], e ? e : "");
        }
        if (no_cache)
                fputs("&nocache=1", f);
        if (pull)
                fputs("&pull=1", f);
        if (quiet)
                fputs("&q=1", f);
        if (force_rm)
                fputs("&forcerm=1", f);
        fclose(f);
        pr = progress_new_for_fd(stdout, 1);
        struct build_feed bf = {.pr = pr};
        progress_set_aux(pr, on_aux, &bf);
        struct api_reply rep = {0};
        long st = api_upload_stream("POST", url, fd, "application/x-tar", feed,
                                    &bf, &rep);
        free(url);
        if (st < 0)
                goto out;
        if (st < 200 || st >= 400) {
                api_print_error(&rep);
                api_reply_free(&rep);
                goto out;
        }
        bool truncated = rep.truncated;
        api_reply_free(&rep);
        int r = bf.r < 0 ? bf.r : progress_end(pr);
        if (r == 0 && truncated)
                r = -EPIPE;
        if (r < 0) {
                const char *m =
                        r == -EPIPE ? "unexpected EOF" : progress_error(pr);
                fprintf(stderr, "%s\n", m ? m : "the build failed");
                int code = progress_error_code(pr);
                rc = code > 0 && code < 256 ? code : 1;
                free(bf.id);
                goto out;
        }
        if (iidfile && bf.id) {
                FILE *out = fopen(iidfile, "we");
                if (!out || fputs(bf.id, out) < 0 || fclose(out) != 0) {
                        fprintf(stderr, "write image ID to %s: %s\n", iidfile,
                                strerror(errno));
                        free(bf.id);
                        goto out;
                }
        }
        free(bf.id);
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        free(args);
        strv_free(tags);
        strv_free(bargs);
        strv_free(labels);
        return rc;
}
