/* Registry credentials, kept where and how docker's CLI keeps them so a
 * login with one is a login with the other: $DOCKER_CONFIG/config.json
 * (default ~/.docker/config.json), "auths": {KEY: {"auth":
 * base64(user:pass)}}, or a credential helper (docker-credential-NAME)
 * named by "credHelpers": {KEY: NAME} or "credsStore": NAME.  KEY is a
 * registry's host[:port], or "https://index.docker.io/v1/" for Docker Hub.
 *
 * Contract: nothing here prints; errors come back as negative errno with
 * a message in the berr, worded like docker's where docker has words. */
#pragma once

#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* docker's AuthConfig.  Every field may be NULL (unset). */
struct auth_config {
        char *username;
        char *password;
        char *email;
        char *serveraddress;
        char *identitytoken;
        char *registrytoken;
};
void auth_config_done(struct auth_config *a);
static inline void auth_config_donep(struct auth_config *a) {
        auth_config_done(a);
}

/* An open config file: its path and its whole JSON, so that a rewrite
 * keeps every key berth does not know about. */
struct auth_file {
        char *path;
        json_t *json;
};

/* $DOCKER_CONFIG/config.json, else ~/.docker/config.json; NULL on
 * ENOMEM. */
char *auth_file_path(void);

/* Read `path`; a missing file is an empty config.  -EINVAL when the file
 * is not a JSON object (the file is left alone). */
int auth_file_load(const char *path, struct auth_file *ret, struct berr *err);
void auth_file_done(struct auth_file *f);
static inline void auth_file_donep(struct auth_file *f) {
        auth_file_done(f);
}

/* The credential helper for `key`: credHelpers[key], else credsStore,
 * else NULL (the file itself). */
const char *auth_helper_for(const struct auth_file *f, const char *key);

/* GetAuthConfig(key).  No stored credentials is success with an empty
 * config (serveraddress still set for file entries, as docker does). */
int auth_get(const struct auth_file *f, const char *key,
             struct auth_config *ret, struct berr *err);

/* Store `a` under a->serveraddress: in its helper, or as "auth" in the
 * file (rewritten atomically only when something changed).
 * *ret_plaintext tells whether a password was just written into the
 * file (docker warns then). */
int auth_store(struct auth_file *f, const struct auth_config *a,
               bool *ret_plaintext, struct berr *err);

/* Remove the credentials of `key` (helper and file); nothing stored is
 * success. */
int auth_erase(struct auth_file *f, const char *key, struct berr *err);

/* Write f->json to f->path atomically: a temp file beside the real file
 * (symlinks followed), mode 0600 or the old file's mode, fsync, rename. */
int auth_file_save(struct auth_file *f, struct berr *err);

/* The JSON docker sends for an AuthConfig (POST /auth, X-Registry-Auth):
 * {"username","password","email","serveraddress","identitytoken",
 * "registrytoken"}, empty fields left out. */
json_t *auth_config_json(const struct auth_config *a);
/* X-Registry-Auth: base64url of that JSON; "e30=" for no credentials.
 * NULL on ENOMEM. */
char *auth_encode_header(const struct auth_config *a);

/* "https://host:5000/v2/" -> "host:5000" (docker's ConvertToHostname). */
char *auth_convert_to_hostname(const char *url);
