/* Capability sets of the calling process. */
#pragma once

#include <stdint.h>

struct berr;
struct spec_caps;

/* Drop every capability not in `bounding` from the bounding set.  Needs
 * CAP_SETPCAP, so it runs before the process changes its uid. */
int caps_apply_bounding(uint64_t bounding, struct berr *err);

/* Set effective, permitted and inheritable sets, then the ambient set
 * (cleared first).  Runs after the uid change. */
int caps_apply(const struct spec_caps *c, struct berr *err);

/* Highest capability the running kernel knows (cap_last_cap). */
int caps_last_cap(void);
