/* Diagnostics for executables (never called from library code).
 * Text or JSON lines (runc's --log-format), to stderr or a --log file. */
#pragma once

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, _LOG_LEVEL_MAX };

/* path NULL: stderr.  json: one {"level","msg","time"} object per line. */
int log_setup(const char *path, bool json, bool debug);
void log_msg(enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
bool log_is_debug(void);
/* The log fd, for children that keep logging after exec (-1: none). */
int log_fd(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
        do {                                                                   \
                if (log_is_debug())                                            \
                        log_msg(LOG_DEBUG, __VA_ARGS__);                       \
        } while (0)
