/* berth-shim: one per container.  See docs/SHIM-PROTOCOL.md.
 *
 * A single-threaded epoll loop over: the request socket and its
 * connections, the container's output (pipes or the pty master), the
 * attached clients, the container's stdin, a signalfd for SIGCHLD and a
 * timerfd that bounds how long output is drained after an exit.
 *
 * Every buffer is bounded: when a client cannot keep up, reading the
 * container's output pauses (the container blocks on write, as it would
 * with docker) instead of the shim growing. */
#include "shim.h"

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "logfile.h"
#include "protocol.h"
#include "spec.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* A client's pending output above this pauses the container's output. */
#define OUT_HIGH (1u << 20)
/* Container stdin bytes held before clients stop being read. */
#define IN_HIGH    (256u << 10)
#define READ_CHUNK (32u << 10)
/* How long output may still arrive after a process exited. */
#define DRAIN_NS (2LL * 1000000000LL)
/* How long finished clients get to take their last output. */
#define LINGER_NS (10LL * 1000000000LL)

enum ev_type {
        EV_LISTEN,
        EV_CONN,
        EV_OUT,
        EV_CLIENT,
        EV_STDIN,
        EV_SIGNAL,
        EV_TIMER
};

struct evsrc {
        enum ev_type type;
        bool dead; /* freed during this batch of events */
        void *obj;
};

struct obuf {
        char *data;
        size_t len, cap;
};

struct session;

struct client {
        struct evsrc ev;
        int fd;
        bool in, out, err, mux;
        bool in_eof, closing, in_paused;
        uint32_t events; /* as registered */
        struct obuf ob;
        struct session *s;
        struct client *next;
};

struct outstream {
        struct evsrc ev;
        struct session *s;
        int fd;
        int kind;           /* 1 stdout, 2 stderr */
        struct logline *ll; /* NULL: not logged (exec output) */
};

struct session {
        char *exec_id; /* NULL: the container itself */
        pid_t pid;
        bool tty, stdin_once;
        bool exited, done, paused;
        int status;
        int64_t exited_ns;
        struct outstream out[2];
        int master; /* pty master, for resize; -1 */
        int in_fd;  /* write side of the process's stdin; -1 */
        bool in_close_pending;
        uint32_t in_events;
        struct evsrc in_ev;
        struct obuf in_buf;
        struct client *clients;
        struct session *next;
};

struct conn {
        struct evsrc ev;
        int fd;
        bool waiting;
        struct conn *next;
};

static struct {
        int epfd, dirfd, sigfd, listen_fd, timer_fd;
        char *dir, *id;
        struct runtime_opts ro;
        struct logfile log;
        struct logline ll[2];
        struct session main;
        struct session *execs;
        struct conn *conns;
        struct evsrc listen_ev, sig_ev, timer_ev;
        void **grave; /* objects freed at the end of an event batch */
        size_t n_grave, cap_grave;
        bool started, finalized;
        char started_at[64], finished_at[64];
        struct cgroup *cg;
        uint64_t oom_before;
        bool oom_killed;
        int64_t finalized_ns;
} S;

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void now_rfc3339(char *buf, size_t size) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        format_rfc3339(buf, size, ts.tv_sec, ts.tv_nsec);
}

/* ---- small helpers ---- */

static int ep_set(int fd, struct evsrc *ev, uint32_t events) {
        struct epoll_event e = {.events = events, .data.ptr = ev};
        if (epoll_ctl(S.epfd, EPOLL_CTL_MOD, fd, &e) == 0)
                return 0;
        if (errno == ENOENT && epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &e) == 0)
                return 0;
        return -errno;
}

static void ep_del(int fd) {
        epoll_ctl(S.epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int obuf_add(struct obuf *b, const void *data, size_t len) {
        if (b->len + len > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap < b->len + len)
                        cap *= 2;
                char *n = realloc(b->data, cap);
                if (!n)
                        return -ENOMEM;
                b->data = n;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        return 0;
}

/* Write what can be written now; < 0 on a hard error. */
static int obuf_flush(struct obuf *b, int fd) {
        size_t off = 0;
        while (off < b->len) {
                ssize_t n = send(fd, b->data + off, b->len - off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == ENOTSOCK)
                        n = write(fd, b->data + off, b->len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                off += (size_t) n;
        }
        memmove(b->data, b->data + off, b->len - off);
        b->len -= off;
        /* Give memory back once a burst has passed. */
        if (b->len == 0 && b->cap > 65536) {
                free(b->data);
                b->data = NULL;
                b->cap = 0;
        }
        return 0;
}

static void obuf_free(struct obuf *b) {
        free(b->data);
        *b = (struct obuf){0};
}

static void answer(int fd, json_t *j) {
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (text) {
                send(fd, text, strlen(text), MSG_NOSIGNAL);
                free(text);
        }
}

/* Always -1, so that handlers can `return answer_err(...)`. */
static int answer_err(int fd, int code, const char *msg) {
        answer(fd, json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "errno",
                             code < 0 ? -code : code));
        return -1;
}

static void set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
                fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Objects that epoll entries of the current batch may still point at are
 * freed after the batch. */
static void defer_free(void *p) {
        if (S.n_grave == S.cap_grave) {
                size_t cap = S.cap_grave ? 2 * S.cap_grave : 16;
                void **n = realloc(S.grave, cap * sizeof(*n));
                if (!n)
                        return; /* leak rather than risk a stale pointer */
                S.grave = n;
                S.cap_grave = cap;
        }
        S.grave[S.n_grave++] = p;
}

static void graveyard_empty(void) {
        for (size_t i = 0; i < S.n_grave; i++)
                free(S.grave[i]);
        S.n_grave = 0;
}

/* ---- sessions and clients ---- */

static void session_check(struct session *s);
static void maybe_exit(void);

static void client_update(struct client *c) {
        uint32_t ev = EPOLLRDHUP;
        if (!c->in_eof && !c->in_paused && !c->closing)
                ev |= EPOLLIN;
        if (c->ob.len)
                ev |= EPOLLOUT;
        if (ev != c->events) {
                ep_set(c->fd, &c->ev, ev);
                c->events = ev;
        }
}

static void client_free(struct client *c) {
        struct session *s = c->s;
        for (struct client **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        ep_del(c->fd);
        close(c->fd);
        obuf_free(&c->ob);
        c->ev.dead = true;
        defer_free(c);
}

static void outputs_pause(struct session *s, bool pause) {
        if (s->paused == pause)
                return;
        s->paused = pause;
        for (int i = 0; i < 2; i++)
                if (s->out[i].fd >= 0)
                        ep_set(s->out[i].fd, &s->out[i].ev,
                               pause ? 0 : EPOLLIN);
}

static void backpressure(struct session *s) {
        bool high = false;
        for (struct client *c = s->clients; c; c = c->next)
                if (c->ob.len > OUT_HIGH)
                        high = true;
        outputs_pause(s, high);
}

/* Flush a client; frees it on error or when it is done. */
static void client_flush(struct client *c) {
        struct session *s = c->s;
        if (obuf_flush(&c->ob, c->fd) < 0) {
                client_free(c);
                backpressure(s);
                session_check(s);
                return;
        }
        if (c->closing && c->ob.len == 0) {
                client_free(c);
                backpressure(s);
                session_check(s);
                return;
        }
        client_update(c);
        if (s->paused)
                backpressure(s);
}

static void deliver(struct session *s, int kind, const char *data, size_t len) {
        for (struct client *c = s->clients, *n; c; c = n) {
                n = c->next;
                if (c->closing || (kind == 1 && !c->out) ||
                    (kind == 2 && !c->err))
                        continue;
                if (c->mux && !s->tty) {
                        unsigned char h[8] = {(unsigned char) kind,
                                              0,
                                              0,
                                              0,
                                              (unsigned char) (len >> 24),
                                              (unsigned char) (len >> 16),
                                              (unsigned char) (len >> 8),
                                              (unsigned char) len};
                        obuf_add(&c->ob, h, sizeof(h));
                }
                obuf_add(&c->ob, data, len);
                client_flush(c);
        }
        backpressure(s);
}

static void stdin_update(struct session *s) {
        if (s->in_fd < 0)
                return;
        uint32_t ev = s->in_buf.len ? EPOLLOUT : 0;
        if (ev != s->in_events) {
                ep_set(s->in_fd, &s->in_ev, ev);
                s->in_events = ev;
        }
}

static void stdin_close(struct session *s) {
        if (s->in_fd < 0)
                return;
        ep_del(s->in_fd);
        close(s->in_fd);
        s->in_fd = -1;
        obuf_free(&s->in_buf);
}

/* Let clients send stdin again once the container took what was held. */
static void clients_in_resume(struct session *s) {
        for (struct client *c = s->clients; c; c = c->next)
                if (c->in_paused) {
                        c->in_paused = false;
                        client_update(c);
                }
}

static void stdin_flush(struct session *s) {
        if (s->in_fd < 0)
                return;
        if (obuf_flush(&s->in_buf, s->in_fd) < 0) {
                /* The container closed its stdin. */
                stdin_close(s);
                clients_in_resume(s);
                return;
        }
        if (s->in_buf.len == 0 && s->in_close_pending && !s->tty) {
                stdin_close(s);
                return;
        }
        stdin_update(s);
        if (s->in_buf.len < IN_HIGH)
                clients_in_resume(s);
}

static void on_client(struct client *c, uint32_t events) {
        struct session *s = c->s;
        if (events & EPOLLIN) {
                char buf[READ_CHUNK];
                ssize_t n = read(c->fd, buf, sizeof(buf));
                if (n > 0) {
                        if (c->in && s->in_fd >= 0) {
                                obuf_add(&s->in_buf, buf, (size_t) n);
                                stdin_flush(s);
                                if (s->in_buf.len >= IN_HIGH) {
                                        c->in_paused = true;
                                        client_update(c);
                                }
                        }
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                        c->in_eof = true;
                        client_update(c);
                        /* docker: with StdinOnce (and always for exec) the
                         * end of the client's input closes stdin. */
                        if (c->in && (s->stdin_once || s->exec_id)) {
                                s->in_close_pending = true;
                                stdin_flush(s);
                        }
                        if (n < 0 || (!c->out && !c->err)) {
                                client_free(c);
                                backpressure(s);
                                session_check(s);
                                return;
                        }
                }
        }
        if (events & (EPOLLHUP | EPOLLERR)) {
                client_free(c);
                backpressure(s);
                session_check(s);
                return;
        }
        if (events & EPOLLOUT)
                client_flush(c);
}

static void out_close(struct session *s, struct outstream *o) {
        if (o->fd < 0)
                return;
        if (o->ll)
                logline_flush(&S.log, o->ll);
        ep_del(o->fd);
        if (o->fd != s->master)
                close(o->fd);
        o->fd = -1;
}

static void on_output(struct session *s, struct outstream *o) {
        static char buf[READ_CHUNK];
        /* A few reads per wakeup keep one busy container from starving
         * the others' requests. */
        for (int i = 0; i < 4 && o->fd >= 0 && !s->paused; i++) {
                ssize_t n = read(o->fd, buf, sizeof(buf));
                if (n > 0) {
                        if (o->ll)
                                logline_feed(&S.log, o->ll, buf, (size_t) n);
                        deliver(s, o->kind, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                /* EOF, or EIO from a pty master whose slave closed. */
                out_close(s, o);
                session_check(s);
                return;
        }
}

static struct session *session_find(const char *exec_id) {
        if (!exec_id)
                return &S.main;
        for (struct session *s = S.execs; s; s = s->next)
                if (s->exec_id && strcmp(s->exec_id, exec_id) == 0)
                        return s;
        return NULL;
}

/* ---- exit ---- */

static int status_code(int st) {
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        return 255;
}

/* The container's cgroup, as the runtime recorded it at create: the OOM
 * killer's count is read from it (memory.events or memory.oom_control). */
static void open_cgroup(void) {
        struct berr e = {0};
        int rfd = state_open_root(S.ro.root, false, &e);
        if (rfd < 0)
                return;
        int dfd = state_dir_open(rfd, S.id, &e);
        close(rfd);
        if (dfd < 0)
                return;
        struct container_state *st = NULL;
        if (state_load(dfd, S.id, &st, &e) >= 0 && st->cgroup_path &&
            cgroup_open(st->cgroup_path, &S.cg, &e) >= 0 &&
            cgroup_oom_kills(S.cg, &S.oom_before) < 0)
                S.oom_before = 0;
        container_state_free(st);
        close(dfd);
}

static void write_json_file(const char *name, json_t *j) {
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!text)
                return;
        write_file_atomic_at(S.dirfd, name, text, strlen(text), 0600,
                             WRITE_SYNC);
        free(text);
}

static json_t *exit_answer(void) {
        return json_pack("{s:b, s:i, s:b, s:s, s:s}", "ok", 1, "exit_code",
                         status_code(S.main.status), "oom_killed", S.oom_killed,
                         "finished_at", S.finished_at, "started_at",
                         S.started_at);
}

/* The container's init exited and its output was drained. */
static void finalize_container(void) {
        uint64_t kills = 0;
        if (S.cg && cgroup_oom_kills(S.cg, &kills) == 0 && kills > S.oom_before)
                S.oom_killed = true;
        cgroup_free(S.cg);
        S.cg = NULL;
        now_rfc3339(S.finished_at, sizeof(S.finished_at));
        write_json_file(SHIM_EXIT_FILE,
                        json_pack("{s:i, s:b, s:s, s:s}", "exit_code",
                                  status_code(S.main.status), "oom_killed",
                                  S.oom_killed, "finished_at", S.finished_at,
                                  "started_at", S.started_at));
        struct berr e = {0};
        container_delete(&S.ro, S.id, true, &e);
        S.finalized = true;
        S.finalized_ns = now_ns();
        for (struct conn *c = S.conns; c; c = c->next)
                if (c->waiting) {
                        answer(c->fd, exit_answer());
                        c->waiting = false;
                }
}

static void session_free(struct session *s) {
        for (struct session **p = &S.execs; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        free(s->exec_id);
        s->exec_id = NULL;
        s->out[0].ev.dead = s->out[1].ev.dead = s->in_ev.dead = true;
        defer_free(s);
}

/* Move a session on when its process exited and its output ended. */
static void session_check(struct session *s) {
        if (!s->exited)
                return;
        if (!s->done) {
                if (s->out[0].fd >= 0 || s->out[1].fd >= 0)
                        return;
                s->done = true;
                stdin_close(s);
                if (s->master >= 0) {
                        close(s->master);
                        s->master = -1;
                }
                if (s->exec_id) {
                        char name[128];
                        snprintf(name, sizeof(name), "exec-%s.json",
                                 s->exec_id);
                        write_json_file(name,
                                        json_pack("{s:i}", "exit_code",
                                                  status_code(s->status)));
                } else
                        finalize_container();
                for (struct client *c = s->clients, *n; c; c = n) {
                        n = c->next;
                        c->closing = true;
                        if (c->ob.len == 0)
                                client_free(c);
                        else
                                client_update(c);
                }
        }
        if (s->done && !s->clients && s->exec_id)
                session_free(s);
        maybe_exit();
}

static void maybe_exit(void) {
        if (!S.finalized)
                return;
        if (S.main.clients || S.execs)
                return;
        unlinkat(S.dirfd, SHIM_SOCKET_FILE, 0);
        _exit(0);
}

static void arm_timer(void) {
        struct itimerspec it = {.it_interval = {0, 250000000},
                                .it_value = {0, 250000000}};
        timerfd_settime(S.timer_fd, 0, &it, NULL);
}

/* Output that is still open long after its process exited belongs to
 * something that escaped (a daemonized child in the host's pid namespace):
 * stop waiting for it.  Clients that do not take their last output get
 * dropped. */
static void on_timer(void) {
        uint64_t v;
        if (read(S.timer_fd, &v, sizeof(v)) < 0)
                return;
        int64_t now = now_ns();
        /* session_check may unlink a session: its memory stays valid
         * until the batch ends (defer_free), so `next` is read first. */
        for (struct session *s = &S.main, *next; s; s = next) {
                next = s == &S.main ? S.execs : s->next;
                if (s->exited && !s->done && now - s->exited_ns > DRAIN_NS) {
                        out_close(s, &s->out[0]);
                        out_close(s, &s->out[1]);
                        session_check(s);
                }
        }
        if (S.finalized && now - S.finalized_ns > LINGER_NS) {
                while (S.main.clients)
                        client_free(S.main.clients);
                while (S.execs) {
                        while (S.execs->clients)
                                client_free(S.execs->clients);
                        session_free(S.execs);
                }
                maybe_exit();
        }
}

static void on_sigchld(void) {
        struct signalfd_siginfo si;
        while (read(S.sigfd, &si, sizeof(si)) == sizeof(si))
                ;
        for (;;) {
                int st;
                pid_t pid = waitpid(-1, &st, WNOHANG);
                if (pid <= 0)
                        break;
                struct session *s = NULL;
                if (pid == S.main.pid)
                        s = &S.main;
                for (struct session *x = S.execs; x && !s; x = x->next)
                        if (x->pid == pid)
                                s = x;
                if (!s || s->exited)
                        continue; /* an orphan we inherited as subreaper */
                s->exited = true;
                s->status = st;
                s->exited_ns = now_ns();
                arm_timer();
                /* Read what is already there before deciding. */
                for (int i = 0; i < 2; i++)
                        if (s->out[i].fd >= 0)
                                on_output(s, &s->out[i]);
                session_check(s);
        }
}

/* ---- stdio plumbing for a new process ---- */

struct stdio_plan {
        int child[3]; /* what becomes the process's fds 0-2 */
        int in_w;     /* our side: its stdin */
        int out_r[2]; /* our side: its stdout, stderr */
        int con;      /* console socket listener (tty) */
        char con_path[64];
};

static void plan_close(struct stdio_plan *p) {
        for (int i = 0; i < 3; i++)
                if (p->child[i] > 2)
                        close(p->child[i]);
        if (p->in_w >= 0)
                close(p->in_w);
        for (int i = 0; i < 2; i++)
                if (p->out_r[i] >= 0)
                        close(p->out_r[i]);
        if (p->con >= 0) {
                close(p->con);
                unlink(p->con_path);
        }
}

/* The child's ends, once the runtime has handed them on. */
static void plan_close_child(struct stdio_plan *p) {
        for (int i = 0; i < 3; i++) {
                if (p->child[i] > 2)
                        close(p->child[i]);
                p->child[i] = -1;
        }
}

static int plan_make(struct stdio_plan *p, bool tty, bool in, bool out,
                     bool err_, struct berr *err) {
        *p = (struct stdio_plan){.child = {-1, -1, -1},
                                 .in_w = -1,
                                 .out_r = {-1, -1},
                                 .con = -1};
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return berr_set(err, errno, "open '/dev/null'");
        for (int i = 0; i < 3; i++)
                p->child[i] = -1;
        if (tty) {
                snprintf(p->con_path, sizeof(p->con_path),
                         "/proc/self/fd/%d/con", S.dirfd);
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->con_path);
                unlink(p->con_path);
                p->con = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (p->con < 0 ||
                    bind(p->con, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    listen(p->con, 1) < 0) {
                        int e = errno;
                        close(devnull);
                        return berr_set(err, e, "console socket in '%s'",
                                        S.dir);
                }
                /* With a tty the process's stdio is the pty's slave; what
                 * it inherits from us does not matter. */
                p->child[0] = devnull;
                p->child[1] = dup(devnull);
                p->child[2] = dup(devnull);
                return 0;
        }
        bool want[3] = {in, out, err_};
        for (int i = 0; i < 3; i++) {
                if (!want[i]) {
                        p->child[i] = i == 0 ? devnull : dup(devnull);
                        continue;
                }
                int fds[2];
                if (pipe2(fds, O_CLOEXEC) < 0) {
                        int e = errno;
                        plan_close(p);
                        return berr_set(err, e, "pipe");
                }
                if (i == 0) {
                        p->child[0] = fds[0];
                        p->in_w = fds[1];
                } else {
                        p->child[i] = fds[1];
                        p->out_r[i - 1] = fds[0];
                }
        }
        if (p->child[0] != devnull)
                close(devnull);
        return 0;
}

/* Point our fds 0-2 at the plan's (the runtime's child inherits them),
 * or back at /dev/null. */
static void stdio_swap(const struct stdio_plan *p) {
        if (p) {
                for (int i = 0; i < 3; i++)
                        dup2(p->child[i], i);
                return;
        }
        int devnull = open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++)
                if (devnull != i)
                        dup2(devnull, i);
        if (devnull > 2)
                close(devnull);
}

/* After the runtime returned: take the pty master it sent. */
static int plan_take_master(struct stdio_plan *p, int *ret, struct berr *err) {
        struct timeval tv = {.tv_sec = 10};
        setsockopt(p->con, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        int c = accept4(p->con, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return berr_set(err, errno, "accept on console socket");
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char b[64];
        int master = -1;
        int r = fd_recv(c, &master, b, sizeof(b));
        close(c);
        if (r < 0 || master < 0)
                return berr_setx(err, EIO,
                                 "no pty master came over the console "
                                 "socket");
        *ret = master;
        return 0;
}

/* Hand the plan's our-side fds to a session. */
static void session_attach_io(struct session *s, struct stdio_plan *p,
                              int master, bool log) {
        s->master = master;
        s->in_fd = -1;
        for (int i = 0; i < 2; i++) {
                s->out[i] = (struct outstream){.ev = {EV_OUT, false, NULL},
                                               .s = s,
                                               .fd = -1,
                                               .kind = i + 1};
                s->out[i].ev.obj = &s->out[i];
        }
        if (master >= 0) {
                set_nonblock(master);
                s->out[0].fd = master;
                s->in_fd = dup(master);
                if (s->in_fd >= 0)
                        fcntl(s->in_fd, F_SETFD, FD_CLOEXEC);
        } else {
                s->in_fd = p->in_w;
                p->in_w = -1;
                for (int i = 0; i < 2; i++) {
                        s->out[i].fd = p->out_r[i];
                        p->out_r[i] = -1;
                }
        }
        s->in_ev = (struct evsrc){EV_STDIN, false, s};
        if (s->in_fd >= 0) {
                set_nonblock(s->in_fd);
                ep_set(s->in_fd, &s->in_ev, 0);
        }
        for (int i = 0; i < 2; i++) {
                if (log)
                        s->out[i].ll = &S.ll[i];
                if (s->out[i].fd >= 0) {
                        set_nonblock(s->out[i].fd);
                        ep_set(s->out[i].fd, &s->out[i].ev, EPOLLIN);
                }
        }
}

static struct client *client_new(struct session *s, int fd, bool in, bool out,
                                 bool err_, bool mux) {
        struct client *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->ev = (struct evsrc){EV_CLIENT, false, c};
        c->fd = fd;
        c->in = in;
        c->out = out;
        c->err = err_;
        c->mux = mux;
        c->s = s;
        c->next = s->clients;
        s->clients = c;
        set_nonblock(fd);
        c->events = 0;
        client_update(c);
        return c;
}

/* ---- requests ---- */

/* Start an exec session; answers errors itself.  Takes *fd (the client's
 * connection) when it attaches it. */
static int exec_start(int cfd, json_t *req, int *fd) {
        struct berr e = {0};
        const char *xid = json_string_value(json_object_get(req, "exec_id"));
        json_t *proc = json_object_get(req, "process");
        if (!xid || strlen(xid) != 64 ||
            strspn(xid, "0123456789abcdef") != 64 || !json_is_object(proc))
                return answer_err(cfd, EINVAL,
                                  "exec: exec_id and process needed");
        if (S.main.exited || !S.started)
                return answer_err(cfd, ESRCH, "container is not running");
        _cleanup_free_ char *ptext = json_dumps(proc, JSON_COMPACT);
        struct spec_process *p = NULL;
        if (!ptext || spec_process_parse(ptext, strlen(ptext), &p, &e) < 0)
                return answer_err(cfd, e.code ? e.code : EINVAL,
                                  e.msg[0] ? e.msg : "bad process");
        bool detach = json_is_true(json_object_get(req, "detach")) || *fd < 0;
        bool in = !detach && json_is_true(json_object_get(req, "stdin"));
        bool out = !detach && json_is_true(json_object_get(req, "stdout"));
        bool err_ = !detach && json_is_true(json_object_get(req, "stderr"));
        bool tty = p->terminal;
        struct stdio_plan plan;
        if (plan_make(&plan, tty, in, out, err_, &e) < 0) {
                spec_process_free(p);
                return answer_err(cfd, e.code, e.msg);
        }
        char pidfile[512];
        snprintf(pidfile, sizeof(pidfile), "%s/xpid", S.dir);
        struct exec_opts eo = {.console_socket = tty ? plan.con_path : NULL,
                               .pid_file = pidfile,
                               .detach = true};
        stdio_swap(&plan);
        int r = container_exec(&S.ro, S.id, p, &eo, NULL, &e);
        stdio_swap(NULL);
        spec_process_free(p);
        plan_close_child(&plan);
        if (r < 0) {
                plan_close(&plan);
                return answer_err(cfd, e.code, e.msg);
        }
        _cleanup_free_ char *pidtext = NULL;
        int pid = 0;
        if (read_file_at(AT_FDCWD, pidfile, 64, &pidtext, NULL) >= 0)
                pid = atoi(pidtext);
        unlink(pidfile);
        int master = -1;
        if (tty && plan_take_master(&plan, &master, &e) < 0) {
                if (pid > 0)
                        kill(pid, SIGKILL);
                plan_close(&plan);
                return answer_err(cfd, e.code, e.msg);
        }
        struct session *s = calloc(1, sizeof(*s));
        if (!s) {
                plan_close(&plan);
                return answer_err(cfd, ENOMEM, "out of memory");
        }
        s->exec_id = strdup(xid);
        s->pid = pid;
        s->tty = tty;
        s->stdin_once = true;
        session_attach_io(s, &plan, master, false);
        plan_close(&plan);
        s->next = S.execs;
        S.execs = s;
        if (!detach) {
                client_new(s, *fd, in, out, err_,
                           json_is_true(json_object_get(req, "mux")));
                *fd = -1;
        }
        /* If it ended already, its SIGCHLD is pending and is seen next. */
        answer(cfd, json_pack("{s:b, s:i}", "ok", 1, "pid", pid));
        return 0;
}

static void op_exec(int cfd, json_t *req, int fd) {
        exec_start(cfd, req, &fd);
        if (fd >= 0)
                close(fd);
}

static void op_attach(int cfd, json_t *req, int fd) {
        if (fd < 0) {
                answer_err(cfd, EINVAL, "attach: no connection passed");
                return;
        }
        if (S.main.done) {
                close(fd);
                answer_err(cfd, ESRCH, "container is not running");
                return;
        }
        client_new(&S.main, fd, json_is_true(json_object_get(req, "stdin")),
                   json_is_true(json_object_get(req, "stdout")),
                   json_is_true(json_object_get(req, "stderr")),
                   json_is_true(json_object_get(req, "mux")));
        answer(cfd, json_pack("{s:b}", "ok", 1));
}

static void op_resize(int cfd, json_t *req) {
        const char *xid = json_string_value(json_object_get(req, "exec_id"));
        struct session *s = session_find(xid);
        if (!s) {
                answer_err(cfd, ENOENT, "no such exec session");
                return;
        }
        if (s->master < 0) {
                answer_err(cfd, ENOTTY, "the process has no tty");
                return;
        }
        struct winsize ws = {
                .ws_row = (unsigned short) json_integer_value(
                        json_object_get(req, "h")),
                .ws_col = (unsigned short) json_integer_value(
                        json_object_get(req, "w")),
        };
        if (ioctl(s->master, TIOCSWINSZ, &ws) < 0) {
                answer_err(cfd, errno, "resize the tty");
                return;
        }
        answer(cfd, json_pack("{s:b}", "ok", 1));
}

static void op_state(int cfd) {
        json_t *ids = json_array();
        for (struct session *s = S.execs; s; s = s->next)
                if (!s->done)
                        json_array_append_new(ids, json_string(s->exec_id));
        const char *st = S.main.exited ? "stopped"
                         : S.started   ? "running"
                                       : "created";
        answer(cfd, json_pack("{s:b, s:i, s:s, s:s, s:o}", "ok", 1, "pid",
                              (int) S.main.pid, "status", st, "started_at",
                              S.started_at, "exec_ids", ids));
}

static void handle(struct conn *c, json_t *req, int fd) {
        json_t *v = json_object_get(req, "v");
        const char *op = json_string_value(json_object_get(req, "op"));
        struct berr e = {0};
        if (!json_is_integer(v) ||
            json_integer_value(v) != SHIM_PROTOCOL_VERSION) {
                char m[96];
                snprintf(m, sizeof(m), "protocol version %lld not supported",
                         (long long) json_integer_value(v));
                answer_err(c->fd, EOPNOTSUPP, m);
                goto done;
        }
        if (!op) {
                answer_err(c->fd, EINVAL, "request without op");
                goto done;
        }
        if (!strcmp(op, "exec")) {
                op_exec(c->fd, req, fd);
                return;
        }
        if (!strcmp(op, "attach")) {
                op_attach(c->fd, req, fd);
                return;
        }
        if (!strcmp(op, "start")) {
                if (S.started || S.main.exited)
                        answer_err(c->fd, EALREADY,
                                   "container already started");
                else if (container_start(&S.ro, S.id, &e) < 0)
                        answer_err(c->fd, e.code, e.msg);
                else {
                        S.started = true;
                        now_rfc3339(S.started_at, sizeof(S.started_at));
                        answer(c->fd, json_pack("{s:b, s:s}", "ok", 1,
                                                "started_at", S.started_at));
                }
        } else if (!strcmp(op, "kill")) {
                int sig = (int) json_integer_value(
                        json_object_get(req, "signal"));
                bool all = json_is_true(json_object_get(req, "all"));
                if (S.main.exited)
                        answer_err(c->fd, ESRCH, "container is not running");
                else if (container_kill(&S.ro, S.id, sig ? sig : SIGTERM, all,
                                        &e) < 0)
                        answer_err(c->fd, e.code, e.msg);
                else
                        answer(c->fd, json_pack("{s:b}", "ok", 1));
        } else if (!strcmp(op, "wait")) {
                if (S.finalized)
                        answer(c->fd, exit_answer());
                else
                        c->waiting = true;
        } else if (!strcmp(op, "resize")) {
                op_resize(c->fd, req);
        } else if (!strcmp(op, "state")) {
                op_state(c->fd);
        } else {
                char m[128];
                snprintf(m, sizeof(m), "unknown op '%.64s'", op);
                answer_err(c->fd, EINVAL, m);
        }
done:
        if (fd >= 0)
                close(fd);
}

static void conn_free(struct conn *c) {
        for (struct conn **p = &S.conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        ep_del(c->fd);
        close(c->fd);
        c->ev.dead = true;
        defer_free(c);
}

static void on_conn(struct conn *c, uint32_t events) {
        if (events & EPOLLIN) {
                char *buf = malloc(SHIM_MSG_MAX);
                if (!buf)
                        return;
                int fd = -1;
                int n = fd_recv(c->fd, &fd, buf, SHIM_MSG_MAX - 1);
                if (n == -EAGAIN) {
                        free(buf);
                        return;
                }
                if (n <= 0) {
                        free(buf);
                        conn_free(c);
                        return;
                }
                json_t *req = json_loadb(buf, (size_t) n, 0, NULL);
                free(buf);
                if (!req) {
                        if (fd >= 0)
                                close(fd);
                        answer_err(c->fd, EBADMSG, "request is not JSON");
                        return;
                }
                handle(c, req, fd);
                json_decref(req);
                return;
        }
        if (events & (EPOLLHUP | EPOLLERR))
                conn_free(c);
}

static void on_listen(void) {
        for (;;) {
                int fd = accept4(S.listen_fd, NULL, NULL,
                                 SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                struct conn *c = calloc(1, sizeof(*c));
                if (!c) {
                        close(fd);
                        return;
                }
                c->fd = fd;
                c->ev = (struct evsrc){EV_CONN, false, c};
                c->next = S.conns;
                S.conns = c;
                ep_set(fd, &c->ev, EPOLLIN);
        }
}

/* ---- startup ---- */

static void ready(int fd, json_t *j) {
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (text) {
                write_all(fd, text, strlen(text));
                write_all(fd, "\n", 1);
                free(text);
        }
        close(fd);
}

static int fail_ready(int fd, struct berr *e) {
        ready(fd,
              json_pack("{s:s, s:i}", "error",
                        e->msg[0] ? e->msg : strerror(e->code ? e->code : EIO),
                        "errno", e->code ? e->code : EIO));
        return 1;
}

static int bind_socket(struct berr *err) {
        /* Through our directory fd: a state dir path may be longer than
         * sun_path allows. */
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
                 S.dirfd, SHIM_SOCKET_FILE);
        unlinkat(S.dirfd, SHIM_SOCKET_FILE, 0);
        S.listen_fd = socket(AF_UNIX,
                             SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (S.listen_fd < 0)
                return berr_set(err, errno, "socket");
        mode_t old = umask(0177);
        int r = bind(S.listen_fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(S.listen_fd, 64) < 0)
                return berr_set(err, errno, "bind '%s/%s'", S.dir,
                                SHIM_SOCKET_FILE);
        return 0;
}

static int load_config(json_t **ret, struct berr *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_file_at(S.dirfd, SHIM_CONFIG_FILE, 1 << 20, &text, &len);
        if (r < 0)
                return berr_set(err, r, "read '%s/%s'", S.dir,
                                SHIM_CONFIG_FILE);
        json_error_t je;
        json_t *j = json_loadb(text, len, 0, &je);
        if (!j)
                return berr_setx(err, EINVAL, "parse '%s/%s': %s", S.dir,
                                 SHIM_CONFIG_FILE, je.text);
        if (json_integer_value(json_object_get(j, "version")) !=
            SHIM_PROTOCOL_VERSION) {
                json_decref(j);
                return berr_setx(err, EOPNOTSUPP,
                                 "'%s/%s': protocol version not supported",
                                 S.dir, SHIM_CONFIG_FILE);
        }
        *ret = j;
        return 0;
}

/* Create the container with its stdio wired to us. */
static int create_container(json_t *cfg, struct berr *err) {
        const char *id = json_string_value(json_object_get(cfg, "id"));
        const char *bundle = json_string_value(json_object_get(cfg, "bundle"));
        const char *root =
                json_string_value(json_object_get(cfg, "runtime_root"));
        if (!id || !bundle || !root)
                return berr_setx(err, EINVAL,
                                 "'%s/%s' lacks id, bundle or runtime_root",
                                 S.dir, SHIM_CONFIG_FILE);
        S.id = strdup(id);
        S.ro.root = strdup(root);
        bool tty = json_is_true(json_object_get(cfg, "tty"));
        bool in = json_is_true(json_object_get(cfg, "stdin"));
        S.main.tty = tty;
        S.main.out[0].fd = S.main.out[1].fd = -1;
        S.main.stdin_once = json_is_true(json_object_get(cfg, "stdin_once"));
        S.main.master = -1;
        S.main.in_fd = -1;
        S.ll[0].stream = "stdout";
        S.ll[1].stream = tty ? "stdout" : "stderr";
        const char *log = json_string_value(json_object_get(cfg, "log_path"));
        int r = logfile_open(&S.log, log,
                             (uint64_t) json_integer_value(
                                     json_object_get(cfg, "log_max_size")),
                             (unsigned) json_integer_value(
                                     json_object_get(cfg, "log_max_file")));
        if (r < 0)
                return berr_set(err, r, "open log '%s'", log);

        struct stdio_plan plan;
        r = plan_make(&plan, tty, in, true, true, err);
        if (r < 0)
                return r;
        char pidfile[512];
        snprintf(pidfile, sizeof(pidfile), "%s/init.pid", S.dir);
        struct create_opts co = {.id = id,
                                 .bundle = bundle,
                                 .pid_file = pidfile,
                                 .console_socket = tty ? plan.con_path : NULL};
        stdio_swap(&plan);
        r = container_create(&S.ro, &co, err);
        stdio_swap(NULL);
        plan_close_child(&plan);
        if (r < 0) {
                plan_close(&plan);
                return r;
        }
        _cleanup_free_ char *pidtext = NULL;
        r = read_file_at(AT_FDCWD, pidfile, 64, &pidtext, NULL);
        if (r < 0 || (S.main.pid = atoi(pidtext)) <= 0) {
                plan_close(&plan);
                return berr_set(err, r < 0 ? r : -EINVAL,
                                "read the container's pid file '%s'", pidfile);
        }
        int master = -1;
        if (tty) {
                r = plan_take_master(&plan, &master, err);
                if (r < 0) {
                        plan_close(&plan);
                        return r;
                }
                json_t *cs = json_object_get(cfg, "console_size");
                struct winsize ws = {
                        .ws_row = (unsigned short) json_integer_value(
                                json_array_get(cs, 0)),
                        .ws_col = (unsigned short) json_integer_value(
                                json_array_get(cs, 1)),
                };
                if (ws.ws_row && ws.ws_col)
                        ioctl(master, TIOCSWINSZ, &ws);
        }
        session_attach_io(&S.main, &plan, master, true);
        plan_close(&plan);
        open_cgroup();
        return 0;
}

static int daemonize(void) {
        pid_t p = fork();
        if (p < 0)
                return -errno;
        if (p > 0)
                _exit(0);
        setsid();
        p = fork();
        if (p < 0)
                return -errno;
        if (p > 0)
                _exit(0);
        return 0;
}

int shim_main(const char *dir) {
        int rfd = SHIM_READY_FD;
        if (fcntl(rfd, F_GETFD) < 0)
                rfd = -1;
        else
                fcntl(rfd, F_SETFD, FD_CLOEXEC);
        struct berr e = {0};
        S.dir = strdup(dir);
        S.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (S.dirfd < 0) {
                berr_set(&e, errno, "open state directory '%s'", dir);
                return rfd >= 0 ? fail_ready(rfd, &e) : 1;
        }
        if (daemonize() < 0) {
                berr_set(&e, errno, "fork");
                return rfd >= 0 ? fail_ready(rfd, &e) : 1;
        }
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        prctl(PR_SET_NAME, "berth-shim", 0, 0, 0);
        stdio_swap(NULL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        char pidbuf[32];
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int) getpid());
        write_file_atomic_at(S.dirfd, SHIM_PID_FILE, pidbuf, strlen(pidbuf),
                             0600, 0);

        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        S.epfd = epoll_create1(EPOLL_CLOEXEC);
        S.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        S.timer_fd =
                timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (S.epfd < 0 || S.sigfd < 0 || S.timer_fd < 0) {
                berr_set(&e, errno, "set up the event loop");
                return rfd >= 0 ? fail_ready(rfd, &e) : 1;
        }
        json_t *cfg = NULL;
        int r = load_config(&cfg, &e);
        if (r >= 0)
                r = create_container(cfg, &e);
        json_decref(cfg);
        if (r >= 0)
                r = bind_socket(&e);
        if (r < 0) {
                if (S.id && S.ro.root) {
                        struct berr e2 = {0};
                        container_delete(&S.ro, S.id, true, &e2);
                }
                unlinkat(S.dirfd, SHIM_SOCKET_FILE, 0);
                return rfd >= 0 ? fail_ready(rfd, &e) : 1;
        }
        S.listen_ev = (struct evsrc){EV_LISTEN, false, NULL};
        S.sig_ev = (struct evsrc){EV_SIGNAL, false, NULL};
        S.timer_ev = (struct evsrc){EV_TIMER, false, NULL};
        ep_set(S.listen_fd, &S.listen_ev, EPOLLIN);
        ep_set(S.sigfd, &S.sig_ev, EPOLLIN);
        ep_set(S.timer_fd, &S.timer_ev, EPOLLIN);
        if (rfd >= 0)
                ready(rfd, json_pack("{s:i}", "pid", (int) S.main.pid));

        struct epoll_event evs[32];
        for (;;) {
                int n = epoll_wait(S.epfd, evs, 32, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (int i = 0; i < n; i++) {
                        struct evsrc *src = evs[i].data.ptr;
                        uint32_t ev = evs[i].events;
                        if (src->dead)
                                continue;
                        switch (src->type) {
                        case EV_LISTEN:
                                on_listen();
                                break;
                        case EV_CONN:
                                on_conn(src->obj, ev);
                                break;
                        case EV_SIGNAL:
                                on_sigchld();
                                break;
                        case EV_TIMER:
                                on_timer();
                                break;
                        case EV_CLIENT:
                                on_client(src->obj, ev);
                                break;
                        case EV_STDIN: {
                                struct session *s = src->obj;
                                if (ev & EPOLLERR) {
                                        stdin_close(s);
                                        clients_in_resume(s);
                                } else
                                        stdin_flush(s);
                                break;
                        }
                        case EV_OUT: {
                                struct outstream *o = src->obj;
                                on_output(o->s, o);
                                break;
                        }
                        }
                }
                graveyard_empty();
        }
}
