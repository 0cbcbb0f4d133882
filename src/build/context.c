/* The build context: a tar from the client, unpacked for the steps. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "cleanup.h"
#include "digest.h"
#include "dockerfile.h"
#include "engine.h"
#include "error.h"
#include "exec_internal.h"
#include "expand.h"
#include "fsops.h"
#include "image.h"
#include "paths.h"
#include "plan.h"
#include "util.h"

/* ---- the context ---- */

/* Why libarchive refused to write entry `name`, in the context's own
 * terms: the host path of the work directory is not the client's
 * business, and a refusal is the client's error (EPERM), not the
 * daemon's. */
static int context_entry_error(struct archive *w, const char *dir,
                               const char *name, struct berr *err) {
        const char *why = archive_error_string(w) ?: "unknown error";
        int code = archive_errno(w) > 0 ? archive_errno(w) : EIO;
        if (strstr(why, "through symlink"))
                return berr_setx(err, EPERM,
                                 "build context: entry '%s' refused: it "
                                 "would be written through a symlink of the "
                                 "context (a path may not leave the context "
                                 "by a symlink)",
                                 name ? name : "");
        /* libarchive names the full host path: keep the part inside. */
        _cleanup_free_ char *clean = strdup(why);
        size_t dl = strlen(dir);
        for (char *at = clean ? strstr(clean, dir) : NULL; at;
             at = strstr(at, dir)) {
                size_t skip = dl + (at[dl] == '/' ? 1 : 0);
                memmove(at, at + skip, strlen(at + skip) + 1);
        }
        return berr_setx(err, code,
                         "build context: entry '%s' could not be "
                         "extracted: %s",
                         name ? name : "", clean ? clean : why);
}

int build_context_extract(int fd, const char *dir, struct berr *err) {
        struct archive *a = archive_read_new();
        struct archive *w = archive_write_disk_new();
        if (!a || !w) {
                archive_read_free(a);
                archive_write_free(w);
                return -ENOMEM;
        }
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_write_disk_set_options(
                w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                           ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                           ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        /* Owners are not kept (COPY gives 0:0 or --chown; ADD's archives
         * carry their own) and the directory is new (nothing to unlink):
         * fewer calls per entry. */
        int r = 0;
        size_t entries = 0;
        struct archive_entry *e;
        int ar = archive_read_open_fd(a, fd, 1 << 16);
        if (ar != ARCHIVE_OK) {
                r = berr_setx(err, EINVAL, "read the build context: %s",
                              archive_error_string(a));
                goto out;
        }
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                /* A copy: the entry's own name is replaced (and freed)
                 * by set_pathname below, and errors must name it. */
                _cleanup_free_ char *p =
                        archive_entry_pathname(e)
                                ? strdup(archive_entry_pathname(e))
                                : NULL;
                _cleanup_free_ char *full =
                        str_printf("%s/%s", dir, p ? p : "");
                if (!full) {
                        r = -ENOMEM;
                        break;
                }
                if (!p || *p == '/' || !strcmp(p, "..") ||
                    str_startswith(p, "../") || strstr(p, "/../") ||
                    str_endswith(p, "/..")) {
                        r = berr_setx(err, EPERM,
                                      "build context: entry '%s' leaves the "
                                      "context",
                                      p ? p : "");
                        break;
                }
                const char *hl = archive_entry_hardlink(e);
                if (hl && (*hl == '/' || !strcmp(hl, "..") ||
                           str_startswith(hl, "../") || strstr(hl, "/../") ||
                           str_endswith(hl, "/.."))) {
                        r = berr_setx(err, EPERM,
                                      "build context: hard link '%s' to '%s' "
                                      "leaves the context",
                                      p, hl);
                        break;
                }
                archive_entry_set_pathname(e, full);
                if (hl) {
                        _cleanup_free_ char *hf = str_printf("%s/%s", dir, hl);
                        if (!hf) {
                                r = -ENOMEM;
                                break;
                        }
                        archive_entry_set_hardlink(e, hf);
                }
                bool ok = archive_write_header(w, e) == ARCHIVE_OK;
                const void *buf;
                size_t len;
                la_int64_t off;
                int dr;
                while (ok && archive_entry_size(e) > 0 &&
                       (dr = archive_read_data_block(a, &buf, &len, &off)) ==
                               ARCHIVE_OK)
                        ok = archive_write_data_block(w, buf, len, off) >=
                             ARCHIVE_OK;
                if (ok && archive_write_finish_entry(w) == ARCHIVE_OK) {
                        entries++;
                        continue;
                }
                r = context_entry_error(w, dir, p, err);
                break;
        }
        /* docker's CLI, when it adds a Dockerfile from outside the
         * context, ends the tar right after the last entry's data (no
         * padding, no end blocks); Go's reader takes that as the end,
         * and so do we - only there, after a complete entry. */
        if (r >= 0 && ar == ARCHIVE_FATAL && entries > 0 &&
            strstr(archive_error_string(a) ?: "", "Truncated"))
                ar = ARCHIVE_EOF;
        if (r >= 0 && ar != ARCHIVE_EOF)
                r = berr_setx(err, EINVAL, "read the build context: %s",
                              archive_error_string(a));
out:
        archive_read_free(a);
        archive_write_free(w);
        return r;
}
