#include "util.h"

#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_push(char ***v, const char *s) {
        size_t n = strv_length(*v);
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(c);
                return -ENOMEM;
        }
        nv[n] = c;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int strv_extend(char ***v, char *const *src) {
        for (size_t i = 0; src && src[i]; i++) {
                int r = strv_push(v, src[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_strp(const void *x, const void *y) {
        return strcmp(*(char *const *) x, *(char *const *) y);
}

void strv_sort(char **v) {
        size_t n = strv_length(v);
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_strp);
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(v[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

bool strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

const char *strv_env_get(char *const *env, const char *key) {
        size_t kl = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
                        return env[i] + kl + 1;
        return NULL;
}

bool str_startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *str_printf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int parse_u64(const char *s, uint64_t *ret) {
        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

char *str_utf8_clean(const char *s) {
        size_t n = strlen(s);
        /* Each invalid byte becomes the 3 bytes of U+FFFD. */
        char *out = malloc(3 * n + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < n;) {
                size_t k = utf8_seq_len((const unsigned char *) s + i, n - i);
                if (k == 0) {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                        continue;
                }
                memcpy(out + o, s + i, k);
                o += k;
                i += k;
        }
        out[o] = '\0';
        return out;
}

int parse_byte_size(const char *s, int64_t *ret) {
        if (!s || !*s || *s < '0' || *s > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        int shift = 0;
        switch (*end | 0x20) {
        case 'k':
                shift = 10;
                break;
        case 'm':
                shift = 20;
                break;
        case 'g':
                shift = 30;
                break;
        case 't':
                shift = 40;
                break;
        default:
                break;
        }
        if (shift)
                end++;
        if ((*end | 0x20) == 'b')
                end++;
        if (*end || v == 0 || v > (1ULL << 62) >> shift)
                return -EINVAL;
        *ret = (int64_t) (v << shift);
        return 0;
}

int parse_i64(const char *s, int64_t *ret) {
        if (!s || !*s || *s == ' ' || *s == '+')
                return -EINVAL;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_int(const char *s, int *ret) {
        int64_t v;
        int r = parse_i64(s, &v);
        if (r < 0)
                return r;
        if (v < INT_MIN || v > INT_MAX)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

int read_fd_all(int fd, size_t max, char **ret, size_t *ret_len) {
        size_t cap = max < 4096 ? max : 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap >= max) {
                                /* Full: anything more is over the limit. */
                                char extra;
                                ssize_t n = read(fd, &extra, 1);
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n < 0)
                                        return -errno;
                                if (n > 0)
                                        return -EFBIG;
                                break;
                        }
                        cap = cap * 2 > max ? max : cap * 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret,
                 size_t *ret_len) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return read_fd_all(fd, max, ret, ret_len);
}

int write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int write_file_at(int dirfd, const char *path, const char *data, int flags) {
        _cleanup_close_ int fd =
                openat(dirfd, path, O_WRONLY | O_CLOEXEC | flags, 0644);
        if (fd < 0)
                return -errno;
        /* One write(2) call: kernel interface files (cgroup, proc) want the
         * value in a single write. */
        size_t len = strlen(data);
        ssize_t n = write(fd, data, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const char *data,
                         size_t len, mode_t mode, int flags) {
        /* The temporary file sits beside the target: same directory, a
         * hidden name. */
        char tmp[PATH_MAX];
        const char *slash = strrchr(name, '/');
        int dlen = slash ? (int) (slash - name + 1) : 0;
        if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp%d", dlen, name, name + dlen,
                     (int) getpid()) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = openat(
                dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, len);
        if (r == 0 && (flags & WRITE_SYNC) && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return r;
        }
        if (flags & WRITE_SYNC) {
                /* Make the rename itself durable. */
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), "%.*s", dlen ? dlen : 1,
                         dlen ? name : ".");
                _cleanup_close_ int dfd =
                        openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                        (void) fsync(dfd);
        }
        return 0;
}

int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf))
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int rm_rf_at(int parent, const char *name) {
        int fd = openat(parent, name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return unlinkat(parent, name, 0) < 0 ? -errno : 0;
                return errno == ENOENT ? 0 : -errno;
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                int q = de->d_type == DT_DIR
                                ? rm_rf_at(dirfd(d), de->d_name)
                                : (unlinkat(dirfd(d), de->d_name, 0) < 0
                                           ? -errno
                                           : 0);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && r == 0 &&
            errno != ENOENT)
                r = -errno;
        return r;
}

int fd_send(int sock, int fd, const void *data, size_t len) {
        char dummy = 0;
        struct iovec iov = {.iov_base = (void *) (data ? data : &dummy),
                            .iov_len = data ? len : 1};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        memset(&u, 0, sizeof(u));
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0) {
                msg.msg_control = u.buf;
                msg.msg_controllen = sizeof(u.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int fd_recv(int sock, int *ret_fd, void *data, size_t len) {
        char dummy = 0;
        struct iovec iov = {.iov_base = data ? data : &dummy,
                            .iov_len = data ? len : 1};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        ssize_t n;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        int fd = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
             c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (ret_fd)
                *ret_fd = fd;
        else if (fd >= 0)
                close(fd);
        return (int) n;
}

int open_tmpfile_at(int dirfd, const char *path) {
        int fd = openat(dirfd, path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        /* EOPNOTSUPP where the filesystem lacks it; EISDIR from kernels
         * that predate the flag altogether. */
        if (errno != EOPNOTSUPP && errno != EISDIR)
                return -errno;
        _cleanup_close_ int dir =
                openat(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        for (int tries = 0; tries < 64; tries++) {
                uint64_t rnd = 0;
                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                        rnd ^= (uint64_t) getpid() << 32 ^ (uint64_t) tries;
                char name[40];
                snprintf(name, sizeof(name), ".berth-tmp-%016" PRIx64, rnd);
                fd = openat(dir, name,
                            O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
                            0600);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return -errno;
                (void) unlinkat(dir, name, 0);
                return fd;
        }
        return -EEXIST;
}

static void close_span(unsigned lo, unsigned hi) {
        if (lo > hi)
                return;
        if (syscall(SYS_close_range, lo, hi, 0) == 0)
                return;
        /* close_range is 5.9+; without it, walk up to the descriptor
         * limit (a descriptor cannot be numbered at or above it). */
        struct rlimit rl;
        unsigned max = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
                                       rl.rlim_cur != RLIM_INFINITY &&
                                       rl.rlim_cur < (1U << 20)
                               ? (unsigned) rl.rlim_cur
                               : (1U << 20);
        for (unsigned fd = lo; fd <= hi && fd < max; fd++)
                close((int) fd);
}

void close_fds_except(int lo, const int *keep, size_t n) {
        unsigned next = lo < 0 ? 0 : (unsigned) lo;
        for (;;) {
                /* the smallest kept descriptor at or above `next` */
                int k = -1;
                for (size_t i = 0; i < n; i++)
                        if (keep[i] >= 0 && (unsigned) keep[i] >= next &&
                            (k < 0 || keep[i] < k))
                                k = keep[i];
                if (k < 0)
                        break;
                if ((unsigned) k > next)
                        close_span(next, (unsigned) k - 1);
                next = (unsigned) k + 1;
        }
        close_span(next, ~0U);
}

int proc_start_time(pid_t pid, uint64_t *ret) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *buf = NULL;
        int r = read_file_at(AT_FDCWD, path, 4096, &buf, NULL);
        if (r < 0)
                return r;
        /* comm may contain spaces and parentheses: skip past the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EINVAL;
        p++;
        /* After ')' come fields 3.. ; start time is field 22. */
        for (int field = 2; field < 21; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EINVAL;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p + 1, &end, 10);
        if (errno || end == p + 1)
                return -EINVAL;
        *ret = v;
        return 0;
}

void format_rfc3339(char *buf, size_t size, int64_t sec, long nsec) {
        time_t t = (time_t) sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%09ldZ", base, nsec);
}

/* Docker's (go-units) HumanDuration: "5 seconds", "About a minute". */
void human_duration(char *buf, size_t size, int64_t seconds) {
        double secs = (double) seconds;
        int64_t minutes = seconds / 60;
        int64_t hours = (int64_t) (secs / 3600 + 0.5);
        if (seconds < 1)
                snprintf(buf, size, "Less than a second");
        else if (seconds == 1)
                snprintf(buf, size, "1 second");
        else if (seconds < 60)
                snprintf(buf, size, "%lld seconds", (long long) seconds);
        else if (minutes == 1)
                snprintf(buf, size, "About a minute");
        else if (minutes < 60)
                snprintf(buf, size, "%lld minutes", (long long) minutes);
        else if (hours == 1)
                snprintf(buf, size, "About an hour");
        else if (hours < 48)
                snprintf(buf, size, "%lld hours", (long long) hours);
        else if (hours < 24 * 7 * 2)
                snprintf(buf, size, "%lld days", (long long) (hours / 24));
        else if (hours < 24 * 30 * 2)
                snprintf(buf, size, "%lld weeks", (long long) (hours / 24 / 7));
        else if (hours < 24 * 365 * 2)
                snprintf(buf, size, "%lld months",
                         (long long) (hours / 24 / 30));
        else
                snprintf(buf, size, "%lld years",
                         (long long) (hours / 24 / 365));
}

void human_size_si(char *buf, size_t size, double bytes, int precision) {
        static const char *const units[] = {"B",  "kB", "MB", "GB", "TB",
                                            "PB", "EB", "ZB", "YB"};
        size_t u = 0;
        while (bytes >= 1000 && u + 1 < ELEMENTSOF(units)) {
                bytes /= 1000;
                u++;
        }
        snprintf(buf, size, "%.*g%s", precision, bytes, units[u]);
}
