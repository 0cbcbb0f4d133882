#include "selfexec.h"

#include "cleanup.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REQUIRED_SEALS                                                         \
        (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif

struct mount_attr_ro {
        uint64_t attr_set;
        uint64_t attr_clr;
        uint64_t propagation;
        uint64_t userns_fd;
};

int selfexec_is_sealed(void) {
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS)
                return 1;
        /* A binary reached through a read-only mount can't be opened for
         * writing either (EROFS), and that mount is not in any namespace a
         * container can reach to remount it. */
        struct statvfs sv;
        if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
                return 1;
        return 0;
}

/* Preferred: a detached, read-only clone of the mount holding our binary
 * (open_tree + mount_setattr).  No copy, no host-visible mount; the page
 * cache is shared with the installed binary, so the exec is cheap. */
static int exec_from_ro_mount(char **argv, char **envp) {
        _cleanup_close_ int tree =
                (int) syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                              OPEN_TREE_CLONE | O_CLOEXEC);
        if (tree < 0)
                return -errno;
        struct mount_attr_ro a = {.attr_set = MOUNT_ATTR_RDONLY};
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof(a)) <
            0)
                return -errno;
        syscall(SYS_execveat, tree, "", argv, envp, AT_EMPTY_PATH);
        return -errno;
}

/* Fallback (kernels without the new mount API, or no permission to use
 * it): a sealed in-memory copy. */
static int exec_from_memfd(char **argv, char **envp) {
        _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return -errno;
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        /* MFD_EXEC (6.3+) is needed where vm.memfd_noexec is set; fall
         * back for older kernels that reject the flag. */
        _cleanup_close_ int mfd = memfd_create(
                "berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0010U);
        if (mfd < 0 && errno == EINVAL)
                mfd = memfd_create("berth-runtime",
                                   MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return -errno;
        off_t left = st.st_size;
        while (left > 0) {
                ssize_t n = sendfile(mfd, src, NULL, (size_t) left);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                left -= n;
        }
        if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
                return -errno;
        /* fexecve on a close-on-exec fd works for ELF binaries: the kernel
         * holds its own reference to the file once the exec begins. */
        syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
        return -errno;
}

int selfexec_ensure_sealed(char **argv, char **envp) {
        int r = selfexec_is_sealed();
        if (r != 0)
                return r < 0 ? r : 0;
        r = exec_from_ro_mount(argv, envp);
        if (r == -ENOSYS || r == -EPERM || r == -EINVAL || r == -EACCES)
                r = exec_from_memfd(argv, envp);
        return r;
}
