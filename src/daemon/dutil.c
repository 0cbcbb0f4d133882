/* Small helpers shared by berthd's managers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "image.h"
#include "loop.h"
#include "util.h"

char *now_rfc3339(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char buf[64];
        format_rfc3339(buf, sizeof(buf), ts.tv_sec, ts.tv_nsec);
        return strdup(buf);
}

void random_bytes(void *buf, size_t n) {
        unsigned char *b = buf;
        size_t got = 0;
        while (got < n) {
                ssize_t r = getrandom(b + got, n - got, 0);
                if (r <= 0)
                        break;
                got += (size_t) r;
        }
        /* Never short for small reads once the pool is up; if it were,
         * still no fixed value. */
        for (size_t i = got; i < n; i++)
                b[i] = (unsigned char) (loop_now_ms() >> (i % 8)) ^
                       (unsigned char) i;
}

void random_hex(char *buf, size_t nbytes) {
        unsigned char raw[64];
        if (nbytes > sizeof(raw))
                nbytes = sizeof(raw);
        if (getrandom(raw, nbytes, 0) != (ssize_t) nbytes) {
                /* getrandom does not fail for <= 256 bytes once the pool
                 * is initialised; keep ids unique anyway. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                for (size_t i = 0; i < nbytes; i++)
                        raw[i] = (unsigned char) (ts.tv_nsec >> (i % 4 * 8)) ^
                                 (unsigned char) i;
        }
        for (size_t i = 0; i < nbytes; i++)
                sprintf(buf + 2 * i, "%02x", raw[i]);
        buf[2 * nbytes] = '\0';
}

int64_t rfc3339_to_unix(const char *s) {
        if (!s || !*s)
                return 0;
        struct tm tm = {0};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return 0;
        return (int64_t) timegm(&tm);
}

static const struct {
        const char *name;
        int sig;
} signals[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},
        {"ILL", SIGILL},   {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},
        {"IOT", SIGIOT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
        {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},
        {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF}, {"WINCH", SIGWINCH},   {"IO", SIGIO},
        {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int signal_parse(const char *s) {
        if (!s || !*s)
                return -EINVAL;
        int n;
        if (parse_int(s, &n) >= 0)
                return n > 0 && n < 65 ? n : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcasecmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        if (strncasecmp(s, "RTMIN", 5) == 0) {
                int off = 0;
                if (s[5] == '+' && parse_int(s + 6, &off) < 0)
                        return -EINVAL;
                return SIGRTMIN + off <= SIGRTMAX ? SIGRTMIN + off : -EINVAL;
        }
        return -EINVAL;
}

static int open_dir(const char *path, mode_t mode) {
        int r = mkdir_p(path, mode);
        if (r < 0 && r != -EEXIST) {
                fprintf(stderr, "berthd: create '%s': %s\n", path,
                        strerror(-r));
                return r;
        }
        chmod(path, mode);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                fprintf(stderr, "berthd: open '%s': %m\n", path);
        return fd < 0 ? -errno : fd;
}

int daemon_open_state(struct daemon *d) {
        _cleanup_free_ char *ctrs = str_printf("%s/containers", d->data_root);
        _cleanup_free_ char *vols = str_printf("%s/volumes", d->data_root);
        _cleanup_free_ char *imgs = str_printf("%s/image", d->data_root);
        _cleanup_free_ char *shims = str_printf("%s/shims", d->exec_root);
        if (!ctrs || !vols || !imgs || !shims || !d->runtime_root)
                return -ENOMEM;
        chmod(d->data_root, 0711);
        chmod(d->exec_root, 0700);
        d->ctr_dirfd = open_dir(ctrs, 0710);
        /* 0700: a container can write a setuid-root program into a volume;
         * no other host user may reach it (CVE-2021-41091 class).  Containers
         * reach their volumes through mounts, never through this path. */
        d->vol_dirfd = open_dir(vols, 0700);
        d->shims_dirfd = open_dir(shims, 0700);
        _cleanup_free_ char *nets = str_printf("%s/network", d->data_root);
        d->net_dirfd = nets ? open_dir(nets, 0700) : -1;
        if (d->ctr_dirfd < 0 || d->vol_dirfd < 0 || d->shims_dirfd < 0 ||
            d->net_dirfd < 0)
                return -EIO;
        mkdir_p(d->runtime_root, 0700);
        struct berr err = {0};
        int r = image_store_open(imgs, &d->images, &err);
        if (r < 0) {
                fprintf(stderr, "berthd: open the image store '%s': %s\n", imgs,
                        berr_message(&err, r));
                return r;
        }
        /* The loop never waits for the store's lock (api_images.c
         * retries); loads and pulls run in workers. */
        image_store_set_nonblocking(d->images, true);
        image_store_set_limits(d->images, d->max_layer_size, d->max_image_size);
        return 0;
}
