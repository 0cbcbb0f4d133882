/* Overlay mounts of image layers (image.h: image_mount_overlay), for a
 * container's rootfs (the daemon) and a build step's (the builder). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"

int image_mount_overlay(char *const *lowers, const char *empty,
                        const char *upper, const char *work, const char *target,
                        struct berr *err) {
        /* The new mount API takes one lower layer per call ("lowerdir+"),
         * so neither the page-size limit of mount(2)'s option string nor
         * ':' or ',' in paths matter. */
        _cleanup_close_ int fsfd =
                (int) syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return berr_set(err, errno, "open an overlay filesystem");
        size_t n = 0;
        for (; lowers && lowers[n]; n++)
                if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                            "lowerdir+", lowers[n], 0) < 0)
                        return berr_set(err, errno, "overlay: add layer '%s'",
                                        lowers[n]);
        /* No layers, or one without an upper dir (overlayfs wants two
         * lower layers then): add the empty one. */
        if ((n == 0 || (n == 1 && !upper)) &&
            syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", empty,
                    0) < 0)
                return berr_set(err, errno, "overlay: add empty layer '%s'",
                                empty);
        if (upper && (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                              "upperdir", upper, 0) < 0 ||
                      syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                              "workdir", work, 0) < 0))
                return berr_set(err, errno, "overlay: set upper dir '%s'",
                                upper);
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return berr_set(err, errno, "mount an overlay at '%s'", target);
        _cleanup_close_ int mfd =
                (int) syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0)
                return berr_set(err, errno, "fsmount the overlay for '%s'",
                                target);
        if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, target,
                    MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return berr_set(err, errno, "attach an overlay at '%s'",
                                target);
        return 0;
}
