#include "terminal.h"

#include "cleanup.h"
#include "error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int terminal_setup(int console_sock, unsigned height, unsigned width,
                   struct berr *err) {
        /* /dev/ptmx is the container's (a symlink to pts/ptmx of its own
         * devpts instance), so the pair belongs to the container. */
        _cleanup_close_ int master =
                open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return berr_set(err, errno,
                                "open '/dev/ptmx' in the container");
        if (unlockpt(master) < 0)
                return berr_set(err, errno, "unlock pty");
        /* TIOCGPTPEER opens the slave through the master, never through a
         * path the container could have swapped. */
        _cleanup_close_ int slave =
                ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
        if (slave < 0)
                return berr_set(err, errno, "open pty slave");
        if (width > 0 && height > 0) {
                struct winsize ws = {.ws_row = (unsigned short) height,
                                     .ws_col = (unsigned short) width};
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return berr_set(err, errno, "set console size");
        }
        char name[64] = "/dev/pts/?";
        (void) ptsname_r(master, name, sizeof(name));
        int r = fd_send(console_sock, master, name, strlen(name));
        if (r < 0)
                return berr_set(err, r,
                                "send pty master to the console socket");
        if (setsid() < 0 && errno != EPERM)
                return berr_set(err, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return berr_set(err, errno, "set controlling terminal");
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return berr_set(err, errno, "dup pty slave to fd %d",
                                        i);
        return 0;
}

static void copy_winsize(int from, int to) {
        struct winsize ws;
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(to, TIOCSWINSZ, &ws);
}

static int pump(int from, int to) {
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return -EPIPE;
        return write_all(to, buf, (size_t) n);
}

int terminal_wait_child(pid_t pid, int master, const sigset_t *blocked,
                        int *ret_status) {
        struct termios saved;
        bool raw = false;
        if (master >= 0 && isatty(STDIN_FILENO) &&
            tcgetattr(STDIN_FILENO, &saved) == 0) {
                struct termios t = saved;
                cfmakeraw(&t);
                if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
                        raw = true;
                copy_winsize(STDIN_FILENO, master);
        }
        _cleanup_close_ int sfd =
                signalfd(-1, blocked, SFD_CLOEXEC | SFD_NONBLOCK);
        _cleanup_close_ int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        int status = 0;
        bool in_open = master >= 0;
        for (;;) {
                struct pollfd p[4] = {
                        {.fd = sfd, .events = POLLIN},
                        {.fd = pfd, .events = POLLIN},
                        {.fd = master, .events = POLLIN},
                        {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
                if (poll(p, 4, pfd >= 0 ? -1 : 100) < 0 && errno != EINTR)
                        break;
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGCHLD)
                                        continue;
                                if (si.ssi_signo == SIGWINCH) {
                                        if (master >= 0)
                                                copy_winsize(STDIN_FILENO,
                                                             master);
                                        continue;
                                }
                                kill(pid, (int) si.ssi_signo);
                        }
                }
                if ((p[2].revents & POLLIN) && pump(master, STDOUT_FILENO) < 0)
                        master = -1;
                if ((p[3].revents & (POLLIN | POLLHUP)) &&
                    pump(STDIN_FILENO, master) < 0)
                        in_open = false;
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
        }
        if (master >= 0) {
                /* Drain what the program wrote just before it exited. */
                fcntl(master, F_SETFL, O_NONBLOCK);
                while (pump(master, STDOUT_FILENO) == 0)
                        ;
        }
        if (raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status)
                                        : 128 + WTERMSIG(status);
        return 0;
}
