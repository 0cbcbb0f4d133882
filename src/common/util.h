/* Small helpers shared by every folder: strings, string vectors, files,
 * numbers and descriptor passing.  All return negative errno on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* NULL-terminated string vectors. */
size_t strv_length(char *const *v);
int strv_push(char ***v, const char *s); /* copies s */
void strv_sort(char **v);                /* by strcmp, in place */
int strv_extend(char ***v, char *const *src);
char **strv_copy(char *const *v); /* NULL on ENOMEM */
bool strv_contains(char *const *v, const char *s);
/* The value of KEY in an env-style vector ("KEY=VALUE"), or NULL. */
const char *strv_env_get(char *const *env, const char *key);

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing: the whole string must be a number in range. */
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_int(const char *s, int *ret);
/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* A copy of `s` with each byte that is not valid UTF-8 replaced by
 * U+FFFD (JSON strings must be UTF-8; names from archives need not be). */
char *str_utf8_clean(const char *s);
/* A byte size as docker's daemon.json writes them: "1073741824", "512m",
 * "16GB", "2g" (binary units k, m, g, t; an optional trailing b).
 * -EINVAL unless > 0 and < 2^62. */
int parse_byte_size(const char *s, int64_t *ret);

/* Whole-file helpers.  read_file_at NUL-terminates; ret_len optional. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret,
                 size_t *ret_len);
int read_fd_all(int fd, size_t max, char **ret, size_t *ret_len);
int write_all(int fd, const void *buf, size_t len);
int write_file_at(int dirfd, const char *path, const char *data, int flags);
/* Replace a file atomically: write a temp file, rename it over `name`.
 * Readers see the old or the new content, never a torn one.  With
 * WRITE_SYNC the data is fsync'ed before the rename, so it also survives a
 * host crash (the daemon's state needs that; the runtime's state in /run
 * dies with the host's containers anyway). */
#define WRITE_SYNC 1
int write_file_atomic_at(int dirfd, const char *name, const char *data,
                         size_t len, mode_t mode, int flags);
int mkdir_p(const char *path, mode_t mode);
/* Remove a directory tree below dirfd/name without following symlinks. */
int rm_rf_at(int dirfd, const char *name);

/* SCM_RIGHTS descriptor passing over a unix socket. */
int fd_send(int sock, int fd, const void *data, size_t len);
int fd_recv(int sock, int *ret_fd, void *data, size_t len);

/* An anonymous read-write temporary file in directory `dirfd`/`path`
 * (AT_FDCWD and an absolute path work too): O_TMPFILE where the
 * filesystem has it, else — overlayfs before Linux 6.6, NFS, 9p, ... — a
 * file made under a random name and unlinked at once.  Returns the fd or
 * -errno. */
int open_tmpfile_at(int dirfd, const char *path);

/* Close every descriptor numbered `lo` or above except the `n` listed in
 * `keep` (negative entries are ignored).  Meant for a forked child that is
 * about to enter a container: afterwards nothing of its parent's (host
 * directories, cgroup handles, state files) can be reached through
 * /proc/self/fd.  Async-signal-safe: no allocation. */
void close_fds_except(int lo, const int *keep, size_t n);

/* Process start time (field 22 of /proc/PID/stat), used to tell a live
 * container process from a recycled pid. */
int proc_start_time(pid_t pid, uint64_t *ret);

/* RFC 3339 time with nanoseconds, UTC. buf must hold 40 bytes. */
void format_rfc3339(char *buf, size_t size, int64_t sec, long nsec);
void human_duration(char *buf, size_t size, int64_t seconds);
/* go-units' HumanSizeWithPrecision: decimal units, `precision`
 * significant digits ("1.23MB"); docker's tables use 3, its progress
 * bars 4. */
void human_size_si(char *buf, size_t size, double bytes, int precision);
