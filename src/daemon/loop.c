#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

struct watch {
        int fd;
        loop_fd_fn fn;
        void *ud;
        struct watch *next;
        bool dead;
};

struct loop_timer {
        uint64_t due;
        loop_timer_fn fn;
        void *ud;
        struct loop_timer *next;
};

struct child {
        pid_t pid;
        int pidfd;
        loop_child_fn fn;
        void *ud;
};

struct loop {
        int epfd;
        struct watch *watches;
        struct loop_timer *timers; /* sorted by due */
        bool quit;
};

uint64_t loop_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int loop_new(struct loop **ret) {
        struct loop *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = -errno;
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void child_ready(int fd, uint32_t events, void *ud);

struct loop *loop_free(struct loop *l) {
        if (!l)
                return NULL;
        for (struct watch *w = l->watches, *n; w; w = n) {
                n = w->next;
                /* A child still watched: the loop owns its record and
                 * pidfd (the child itself is not waited for). */
                if (w->fn == child_ready && !w->dead) {
                        close(w->fd);
                        free(w->ud);
                }
                free(w);
        }
        for (struct loop_timer *t = l->timers, *n; t; t = n) {
                n = t->next;
                free(t);
        }
        close(l->epfd);
        free(l);
        return NULL;
}

static struct watch *find(struct loop *l, int fd) {
        for (struct watch *w = l->watches; w; w = w->next)
                if (w->fd == fd && !w->dead)
                        return w;
        return NULL;
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
                void *ud) {
        struct watch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = fd;
        w->fn = fn;
        w->ud = ud;
        struct epoll_event ev = {.events = events, .data.ptr = w};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        w->next = l->watches;
        l->watches = w;
        return 0;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events) {
        struct watch *w = find(l, fd);
        if (!w)
                return -ENOENT;
        struct epoll_event ev = {.events = events, .data.ptr = w};
        return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

/* The watch is only marked here and freed between iterations: a callback
 * may remove a watch whose event is still pending in this batch. */
void loop_del_fd(struct loop *l, int fd) {
        struct watch *w = find(l, fd);
        if (!w)
                return;
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        w->dead = true;
}

static void sweep(struct loop *l) {
        struct watch **p = &l->watches;
        while (*p) {
                if ((*p)->dead) {
                        struct watch *d = *p;
                        *p = d->next;
                        free(d);
                } else
                        p = &(*p)->next;
        }
}

struct loop_timer *loop_add_timer(struct loop *l, uint64_t ms, loop_timer_fn fn,
                                  void *ud) {
        struct loop_timer *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->due = loop_now_ms() + ms;
        t->fn = fn;
        t->ud = ud;
        struct loop_timer **p = &l->timers;
        while (*p && (*p)->due <= t->due)
                p = &(*p)->next;
        t->next = *p;
        *p = t;
        return t;
}

void loop_cancel_timer(struct loop *l, struct loop_timer *t) {
        for (struct loop_timer **p = &l->timers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        free(t);
                        return;
                }
}

struct child_watch {
        struct loop *l;
        struct child c;
};

static void child_ready(int fd, uint32_t events, void *ud) {
        struct child_watch *cw = ud;
        siginfo_t si = {0};
        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 ||
            si.si_pid == 0)
                return;
        int status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
                                              : si.si_status & 0x7f;
        loop_del_fd(cw->l, fd);
        close(fd);
        cw->c.fn(cw->c.pid, status, cw->c.ud);
        free(cw);
        (void) events;
}

int loop_watch_child(struct loop *l, pid_t pid, loop_child_fn fn, void *ud) {
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return -errno;
        struct child_watch *cw = calloc(1, sizeof(*cw));
        if (!cw) {
                close(pfd);
                return -ENOMEM;
        }
        cw->l = l;
        cw->c = (struct child){.pid = pid, .pidfd = pfd, .fn = fn, .ud = ud};
        int r = loop_add_fd(l, pfd, EPOLLIN, child_ready, cw);
        if (r < 0) {
                close(pfd);
                free(cw);
        }
        return r;
}

void loop_quit(struct loop *l) {
        l->quit = true;
}

int loop_turn(struct loop *l, int64_t max_wait_ms,
              int64_t (*extra_timeout_ms)(void *ud), void (*tick)(void *ud),
              void *ud) {
        struct epoll_event evs[64];
        int64_t timeout = -1;
        if (l->timers) {
                uint64_t now = loop_now_ms();
                timeout = l->timers->due > now
                                  ? (int64_t) (l->timers->due - now)
                                  : 0;
        }
        if (extra_timeout_ms) {
                int64_t x = extra_timeout_ms(ud);
                if (x >= 0 && (timeout < 0 || x < timeout))
                        timeout = x;
        }
        if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
                timeout = max_wait_ms;
        int n = epoll_wait(l->epfd, evs, ELEMENTSOF(evs), (int) timeout);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct watch *w = evs[i].data.ptr;
                if (!w->dead)
                        w->fn(w->fd, evs[i].events, w->ud);
        }
        sweep(l);
        uint64_t now = loop_now_ms();
        while (l->timers && l->timers->due <= now) {
                struct loop_timer *t = l->timers;
                l->timers = t->next;
                loop_timer_fn fn = t->fn;
                void *tud = t->ud;
                free(t);
                fn(tud);
        }
        sweep(l);
        /* Work outside our fds (libmicrohttpd's buffered requests,
         * timeouts, connections resumed by the handlers and timers above)
         * runs last in every turn. */
        if (tick)
                tick(ud);
        return n;
}

int loop_run(struct loop *l, int64_t (*extra_timeout_ms)(void *ud),
             void (*tick)(void *ud), void *ud) {
        while (!l->quit) {
                int r = loop_turn(l, 60000, extra_timeout_ms, tick, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}
