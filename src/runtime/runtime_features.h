/* The runtime-spec "features" document: what this runtime supports. */
#pragma once

/* Pretty-printed JSON; caller frees.  NULL on ENOMEM. */
char *runtime_features_json(void);

/* A default config.json (`spec`), rootless or not; caller frees. */
char *runtime_default_spec_json(int rootless);
