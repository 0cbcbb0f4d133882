/* berthd's event loop: one epoll set, fd callbacks, one-shot timers and
 * child-exit notification through pidfds.  Single-threaded: every callback
 * runs on the loop's thread, so handlers share state without locks. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(int fd, uint32_t events, void *ud);
typedef void (*loop_timer_fn)(void *ud);
typedef void (*loop_child_fn)(pid_t pid, int status, void *ud);

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *l);

/* Watch `fd` for `events` (EPOLLIN...).  The loop does not own the fd:
 * call loop_del_fd before closing it. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
                void *ud);
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
void loop_del_fd(struct loop *l, int fd);

/* Call fn once after `ms` milliseconds.  The handle stays valid until the
 * timer fires or is cancelled. */
struct loop_timer *loop_add_timer(struct loop *l, uint64_t ms, loop_timer_fn fn,
                                  void *ud);
void loop_cancel_timer(struct loop *l, struct loop_timer *t);

/* Call fn when child `pid` of this process exits (it is reaped for you). */
int loop_watch_child(struct loop *l, pid_t pid, loop_child_fn fn, void *ud);

/* Run until loop_quit.  `extra_timeout_ms` is asked before each wait for a
 * bound from outside the loop (libmicrohttpd's timeouts), and `tick` runs
 * once per turn; both may be NULL. */
int loop_run(struct loop *l, int64_t (*extra_timeout_ms)(void *ud),
             void (*tick)(void *ud), void *ud);
void loop_quit(struct loop *l);
/* One turn of loop_run: wait at most `max_wait_ms` (-1: as long as the
 * timers and `extra_timeout_ms` allow) for events, run their callbacks,
 * the due timers and `tick`.  The number of fd events, or -errno. */
int loop_turn(struct loop *l, int64_t max_wait_ms,
              int64_t (*extra_timeout_ms)(void *ud), void (*tick)(void *ud),
              void *ud);

uint64_t loop_now_ms(void);
