#include "caps.h"

#include "error.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int caps_last_cap(void) {
        static int cached = -1;
        if (cached >= 0)
                return cached;
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                char buf[16] = {0};
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n > 0)
                        cached = atoi(buf);
        }
        if (cached <= 0) {
                /* Probe: PR_CAPBSET_READ fails with EINVAL past the last. */
                int c = 0;
                while (prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0)
                        c++;
                cached = c - 1;
        }
        return cached;
}

int caps_apply_bounding(uint64_t bounding, struct berr *err) {
        int last = caps_last_cap();
        for (int c = 0; c <= last && c < 64; c++) {
                if (bounding & (UINT64_C(1) << c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return berr_set(err, errno,
                                        "drop capability %s from the "
                                        "bounding set",
                                        spec_cap_name(c) ? spec_cap_name(c)
                                                         : "?");
        }
        return 0;
}

int caps_apply(const struct spec_caps *c, struct berr *err) {
        struct __user_cap_header_struct hdr = {
                .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2] = {0};
        data[0].effective = (uint32_t) c->effective;
        data[1].effective = (uint32_t) (c->effective >> 32);
        data[0].permitted = (uint32_t) c->permitted;
        data[1].permitted = (uint32_t) (c->permitted >> 32);
        data[0].inheritable = (uint32_t) c->inheritable;
        data[1].inheritable = (uint32_t) (c->inheritable >> 32);
        if (syscall(SYS_capset, &hdr, data) < 0)
                return berr_set(err, errno,
                                "set capabilities (effective %#llx, "
                                "permitted %#llx)",
                                (unsigned long long) c->effective,
                                (unsigned long long) c->permitted);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
            errno != EINVAL)
                return berr_set(err, errno, "clear the ambient capabilities");
        int last = caps_last_cap();
        for (int i = 0; i <= last && i < 64; i++) {
                uint64_t bit = UINT64_C(1) << i;
                if (!(c->ambient & bit))
                        continue;
                /* The kernel only raises an ambient capability that is
                 * also permitted and inheritable.  Specs written by
                 * `runc spec` list ambient capabilities with an empty
                 * inheritable set; runc skips them with a warning, and so
                 * do we (silently: this library does not print). */
                if (!(c->permitted & bit) || !(c->inheritable & bit))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
                        return berr_set(err, errno,
                                        "raise ambient capability %s (it must "
                                        "also be permitted and inheritable)",
                                        spec_cap_name(i) ? spec_cap_name(i)
                                                         : "?");
        }
        return 0;
}
