#include "names.h"

#include <stdio.h>
#include <sys/random.h>

static const char *const left[] = {
        "agile",  "amber",  "ancient", "bold",   "brave",   "bright", "calm",
        "clever", "cosmic", "crisp",   "daring", "eager",   "fair",   "fancy",
        "fierce", "gentle", "golden",  "happy",  "hardy",   "humble", "jolly",
        "keen",   "kind",   "lively",  "lucid",  "mellow",  "merry",  "modest",
        "nimble", "noble",  "patient", "plucky", "proud",   "quick",  "quiet",
        "rapid",  "serene", "sharp",   "silent", "sleepy",  "smooth", "snug",
        "steady", "stoic",  "sturdy",  "sunny",  "swift",   "tender", "tidy",
        "vivid",  "warm",   "wise",    "witty",  "zealous",
};

static const char *const right[] = {
        "anchor", "atoll",   "barge",   "beacon", "berth",    "bollard",
        "buoy",   "cabin",   "canal",   "cargo",  "channel",  "cove",
        "crane",  "current", "delta",   "dinghy", "dock",     "estuary",
        "ferry",  "fjord",   "gantry",  "harbor", "haven",    "hull",
        "inlet",  "jetty",   "keel",    "lagoon", "lantern",  "lighthouse",
        "mast",   "mooring", "narrows", "oar",    "pier",     "pilot",
        "quay",   "reef",    "rudder",  "sail",   "schooner", "shoal",
        "skiff",  "sound",   "strait",  "tide",   "tugboat",  "wake",
        "wharf",  "yard",
};

void names_random(char *buf, size_t size) {
        unsigned int r[2] = {0, 0};
        if (getrandom(r, sizeof(r), 0) != (ssize_t) sizeof(r))
                r[0] = r[1] = 7;
        snprintf(buf, size, "%s_%s",
                 left[r[0] % (sizeof(left) / sizeof(left[0]))],
                 right[r[1] % (sizeof(right) / sizeof(right[0]))]);
}
