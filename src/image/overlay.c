/* Overlay mounts of image layers (image.h: image_mount_overlay), for a
 * container's rootfs (the daemon) and a build step's (the builder).
 *
 * Two ways in.  Linux 6.8 and later take one lower layer per fsconfig
 * call ("lowerdir+"), so neither a length limit nor ':' or ',' in paths
 * matter.  Older kernels (RHEL 9's 5.14, Ubuntu 22.04's 5.15, Debian 12's
 * 6.1) get mount(2) with one "lowerdir=a:b:c" option string, which must
 * fit in a page: the layers are named relative to their common parent
 * (a short hex name each) to fit as many as possible, and an image with
 * more than fit is refused with an error that names the limit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"

/* Whether this kernel's overlay takes "lowerdir+": unknown until the
 * first mount tells. */
static enum { PLUS_UNKNOWN, PLUS_YES, PLUS_NO } lowerdir_plus = PLUS_UNKNOWN;

/* The fs_context way; returns 1 (without touching err) when the kernel's
 * overlay does not know "lowerdir+", so the caller falls back. */
static int mount_plus(char *const *lowers, size_t n, const char *empty,
                      bool add_empty, const char *upper, const char *work,
                      const char *target, struct berr *err) {
        _cleanup_close_ int fsfd =
                (int) syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return berr_set(err, errno, "open an overlay filesystem");
        for (size_t i = 0; i < n; i++)
                if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                            "lowerdir+", lowers[i], 0) < 0) {
                        /* 6.5-6.7: an fs_context overlay without it */
                        if (errno == EINVAL && lowerdir_plus != PLUS_YES)
                                return 1;
                        return berr_set(err, errno, "overlay: add layer '%s'",
                                        lowers[i]);
                }
        if (add_empty && syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                                 "lowerdir+", empty, 0) < 0)
                return berr_set(err, errno, "overlay: add empty layer '%s'",
                                empty);
        if (upper && (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                              "upperdir", upper, 0) < 0 ||
                      syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING,
                              "workdir", work, 0) < 0))
                return berr_set(err, errno, "overlay: set upper dir '%s'",
                                upper);
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) <
            0) {
                /* Before 6.5 overlay parses the options as one legacy
                 * string at this point and "lowerdir+" is unknown. */
                if (errno == EINVAL && lowerdir_plus == PLUS_UNKNOWN)
                        return 1;
                return berr_set(err, errno, "mount an overlay at '%s'", target);
        }
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

/* An option string of bounded size; `over` is set once something did not
 * fit, and everything after is dropped. */
struct opts {
        char *buf;
        size_t size, len;
        bool over;
};

static void opts_raw(struct opts *o, const char *s) {
        size_t n = strlen(s);
        if (o->over || o->len + n >= o->size) {
                o->over = true;
                return;
        }
        memcpy(o->buf + o->len, s, n + 1);
        o->len += n;
}

/* A path, with overlay's escapes for the characters its parser splits
 * on. */
static void opts_path(struct opts *o, const char *s) {
        for (; *s && !o->over; s++) {
                bool esc = *s == ',' || *s == ':' || *s == '\\';
                if (o->len + 1 + esc >= o->size) {
                        o->over = true;
                        return;
                }
                if (esc)
                        o->buf[o->len++] = '\\';
                o->buf[o->len++] = *s;
                o->buf[o->len] = 0;
        }
}

/* The directory every lower layer is a grandchild of (".../layers" for
 * ".../layers/<id>/diff"), or NULL when they do not share one. */
static char *common_grandparent(char *const *lowers, size_t n) {
        if (n == 0)
                return NULL;
        char *base = strdup(lowers[0]);
        if (!base)
                return NULL;
        for (int up = 0; up < 2; up++) {
                char *slash = strrchr(base, '/');
                if (!slash || slash == base) {
                        free(base);
                        return NULL;
                }
                *slash = 0;
        }
        size_t bl = strlen(base);
        for (size_t i = 0; i < n; i++) {
                const char *rel = lowers[i] + bl;
                const char *slash = NULL;
                if (strncmp(lowers[i], base, bl) != 0 || rel[0] != '/' ||
                    !(slash = strchr(rel + 1, '/')) || strchr(slash + 1, '/')) {
                        free(base);
                        return NULL;
                }
        }
        return base;
}

/* mount(2) with one option string, for kernels before 6.8. */
static int mount_legacy(char *const *lowers, size_t n, const char *empty,
                        bool add_empty, const char *upper, const char *work,
                        const char *target, struct berr *err) {
        long page = sysconf(_SC_PAGESIZE);
        struct opts o = {.size = page > 0 ? (size_t) page : 4096};
        _cleanup_free_ char *buf = malloc(o.size);
        if (!buf)
                return -ENOMEM;
        o.buf = buf;
        buf[0] = 0;
        /* Layers by their short names relative to the layer store: the
         * mount resolves them against our working directory, moved there
         * for the call.  Every berth process that mounts overlays is
         * single-threaded, and the old directory comes back right after. */
        _cleanup_free_ char *base = common_grandparent(lowers, n);
        size_t skip = base ? strlen(base) + 1 : 0;
        opts_raw(&o, "lowerdir=");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        opts_raw(&o, ":");
                opts_path(&o, lowers[i] + skip);
        }
        if (add_empty) {
                opts_raw(&o, ":");
                opts_path(&o, empty);
        }
        if (upper) {
                opts_raw(&o, ",upperdir=");
                opts_path(&o, upper);
                opts_raw(&o, ",workdir=");
                opts_path(&o, work);
        }
        if (o.over)
                return berr_setx(err, E2BIG,
                                 "mount an overlay at '%s': the image's %zu "
                                 "layers do not fit in one page of mount "
                                 "options on this kernel (Linux 6.8 and "
                                 "later take any number)",
                                 target, n);
        _cleanup_close_ int cwd = -1;
        if (base) {
                cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0)
                        return berr_set(err, errno,
                                        "open the working directory");
                if (chdir(base) < 0)
                        return berr_set(err, errno,
                                        "enter the layer store '%s'", base);
        }
        int r = mount("overlay", target, "overlay", 0, buf);
        int e = errno;
        if (base && fchdir(cwd) < 0 && r == 0) {
                e = errno;
                umount2(target, MNT_DETACH);
                r = -1;
        }
        if (r < 0)
                return berr_set(err, e, "mount an overlay at '%s'", target);
        return 0;
}

void image_overlay_force_legacy(bool on) {
        lowerdir_plus = on ? PLUS_NO : PLUS_UNKNOWN;
}

int image_mount_overlay(char *const *lowers, const char *empty,
                        const char *upper, const char *work, const char *target,
                        struct berr *err) {
        size_t n = 0;
        while (lowers && lowers[n])
                n++;
        /* No layers, or one without an upper dir (overlayfs wants two
         * lower layers then): add the empty one. */
        bool add_empty = n == 0 || (n == 1 && !upper);
        if (lowerdir_plus != PLUS_NO) {
                int r = mount_plus(lowers, n, empty, add_empty, upper, work,
                                   target, err);
                if (r == 0)
                        lowerdir_plus = PLUS_YES;
                if (r <= 0)
                        return r;
        }
        int r = mount_legacy(lowers, n, empty, add_empty, upper, work, target,
                             err);
        if (r >= 0)
                lowerdir_plus = PLUS_NO;
        return r;
}
