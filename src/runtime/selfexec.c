#include "selfexec.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REQUIRED_SEALS                                                         \
        (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int selfexec_is_sealed(void) {
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return errno == EINVAL ? 0 : -errno;
        return (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

int selfexec_ensure_sealed(char **argv, char **envp) {
        int r = selfexec_is_sealed();
        if (r != 0)
                return r < 0 ? r : 0;
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
