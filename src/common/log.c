#include "log.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd_ = STDERR_FILENO;
static bool log_json_;
static bool log_debug_;
static bool log_to_file_;

int log_setup(const char *path, bool json, bool debug) {
        log_json_ = json;
        log_debug_ = debug;
        if (path && *path) {
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                              0640);
                if (fd < 0)
                        return -errno;
                log_fd_ = fd;
                log_to_file_ = true;
        }
        return 0;
}

bool log_is_debug(void) {
        return log_debug_;
}

int log_fd(void) {
        return log_to_file_ ? log_fd_ : -1;
}

static void json_escape(char *out, size_t size, const char *in) {
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *) in;
             *p && o + 7 < size; p++) {
                if (*p == '"' || *p == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) *p;
                } else if (*p < 0x20) {
                        o += (size_t) snprintf(out + o, size - o, "\\u%04x",
                                               *p);
                } else
                        out[o++] = (char) *p;
        }
        out[o] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...) {
        static const char *const names[] = {"error", "warning", "info",
                                            "debug"};
        int saved = errno;
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        char line[4608];
        if (log_json_) {
                char esc[4400];
                char ts[48];
                struct timespec t;
                clock_gettime(CLOCK_REALTIME, &t);
                format_rfc3339(ts, sizeof(ts), t.tv_sec, t.tv_nsec);
                json_escape(esc, sizeof(esc), msg);
                snprintf(line, sizeof(line),
                         "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                         names[level], esc, ts);
        } else if (log_to_file_) {
                char ts[48];
                struct timespec t;
                clock_gettime(CLOCK_REALTIME, &t);
                format_rfc3339(ts, sizeof(ts), t.tv_sec, t.tv_nsec);
                snprintf(line, sizeof(line),
                         "time=\"%s\" level=%s msg=\"%s\"\n", ts, names[level],
                         msg);
        } else if (level == LOG_ERROR)
                snprintf(line, sizeof(line), "berth-runtime: %s\n", msg);
        else
                snprintf(line, sizeof(line), "berth-runtime: %s: %s\n",
                         names[level], msg);
        (void) write_all(log_fd_, line, strlen(line));
        /* runc prints errors to stderr even when logging to a file, so a
         * human running the command sees them. */
        if (log_to_file_ && level == LOG_ERROR) {
                snprintf(line, sizeof(line), "berth-runtime: %s\n", msg);
                (void) write_all(STDERR_FILENO, line, strlen(line));
        }
        errno = saved;
}
