/* From a Docker container definition to an OCI runtime spec.
 *
 * berthd keeps each container as the body of POST /containers/create
 * (Config fields at the top level, HostConfig, NetworkingConfig); this
 * turns it, with the image's config, into the config.json berth-shim hands
 * to the runtime: process (args, env, cwd, user, caps, rlimits, tty),
 * mounts (binds, volumes, tmpfs, /etc/hosts...), namespaces, cgroup
 * resources, Docker's default security profile (capabilities, masked and
 * read-only paths, devices, seccomp), and what the flags change of it. */
#pragma once

#include <stddef.h>

#include <stdbool.h>

struct berr;

/* Named and anonymous volumes.  Return the host directory for volume
 * `name` (creating the volume on first use); name == NULL asks for a new
 * anonymous volume, whose generated name is stored in *ret_name.
 * `container_path` is where it will be mounted (to seed it from the
 * image's content there).  Returns < 0 and fills err on failure. */
typedef int (*specgen_volume_fn)(void *ud, const char *name,
                                 const char *container_path, char **ret_path,
                                 char **ret_name, struct berr *err);

struct specgen_input {
        const char *id;                /* container id, 64 hex */
        const char *create_json;       /* the create body (see above) */
        const char *image_config_json; /* image "config" object; NULL/"{}" */
        const char *rootfs;            /* absolute path of the mounted rootfs */
        const char *hostname_path;     /* bound at /etc/hostname; may be NULL */
        const char *hosts_path;        /* bound at /etc/hosts; may be NULL */
        const char *resolv_path;   /* bound at /etc/resolv.conf; may be NULL */
        const char *cgroup_parent; /* default "/berth" */
        const char *netns_path;    /* join this netns; NULL = new/host */
        const char *init_path;     /* host path of berth-init for --init */
        const char *seccomp_profile_json; /* --security-opt seccomp=FILE
                                             contents, already read by the
                                             daemon; NULL = default */
        specgen_volume_fn volume;
        void *volume_ud;
};

/* Mount points the daemon must know about (for inspect's "Mounts"). */
struct specgen_mount_info {
        char *type;        /* "bind", "volume", "tmpfs" */
        char *name;        /* volume name, or NULL */
        char *source;      /* host path ("" for tmpfs) */
        char *destination; /* path in the container */
        char *mode;        /* "ro"/"rw"/"" as given */
        bool rw;
};

struct specgen_output {
        char *spec_json; /* config.json text */
        struct specgen_mount_info *mounts;
        int n_mounts;
};

/* Validate everything and build the spec.  Bad input (an unknown
 * capability, a relative bind target, a bad ulimit, a user that wraps
 * to root, a workdir outside the root...) gives -EINVAL and a message
 * that names the field and value.  Users and groups named in -u are
 * looked up in the rootfs' /etc/passwd and /etc/group, read through
 * openat2(RESOLVE_IN_ROOT) - never through NSS. */
int specgen_build(const struct specgen_input *in, struct specgen_output *out,
                  struct berr *err);
void specgen_output_free(struct specgen_output *out);

/* Docker's seccomp profile format (the JSON of --security-opt
 * seccomp=FILE, and berth's built-in default, which follows Docker's
 * default profile) to the OCI "linux.seccomp" object, for a container with
 * the given capability names ("CAP_SYS_ADMIN", ...).  Writes JSON text. */
int seccomp_profile_to_oci(const char *profile_json, char *const *caps,
                           char **ret_json, struct berr *err);
/* The built-in default profile in Docker's format. */
const char *seccomp_default_profile(void);

/* Every capability the kernel knows, in number order (for privileged
 * containers and exec --privileged). */
extern const char *const specgen_all_caps[];
extern const size_t specgen_n_all_caps;
