/* Run a command and print the peak RSS (KiB) of the largest process in its
 * tree (getrusage RUSAGE_CHILDREN after waiting).  Small and static, so the
 * pre-exec copy of this program does not dominate the figure the way a
 * forked Python or shell would. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: maxrss CMD [ARGS...]\n");
                return 2;
        }
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[1], argv + 1);
                _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        printf("%ld\n", ru.ru_maxrss);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
