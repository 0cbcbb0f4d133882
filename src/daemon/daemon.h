/* berthd's shared state and the managers' internal interfaces.  Private
 * to src/daemon/. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipv4.h"
#include "registry.h"

struct loop;
struct loop_timer;
struct http_server;
struct http_req;
struct http_stream;
struct image_store;
struct berr;

enum ctr_status {
        CTR_CREATED,
        CTR_RUNNING,
        CTR_PAUSED,
        CTR_RESTARTING,
        CTR_EXITED,
        CTR_REMOVING,
        CTR_DEAD,
        CTR_STATUS_MAX,
};

struct waiter; /* a /wait or stop request waiting for an exit */
struct attach_req;

struct container {
        struct daemon *daemon;
        char id[65];
        char *name;      /* without the leading '/' */
        json_t *create;  /* the create body as received (Config fields,
                            HostConfig, NetworkingConfig) */
        json_t *config;  /* Config merged with the image's (inspect) */
        json_t *hostcfg; /* HostConfig with defaults filled in */
        json_t *mounts;  /* inspect "Mounts" (from specgen) */
        char *image_id;  /* sha256:... */
        char *image_ref; /* as the user gave it */
        char *created;   /* RFC3339Nano */
        char *path;      /* Path + Args for inspect / ps */
        json_t *args;

        enum ctr_status status;
        pid_t pid;
        int exit_code;
        bool oom_killed;
        bool manual_stop; /* stopped by the user: no restart policy */
        bool has_started;
        char *started_at;
        char *finished_at;
        char *error;
        int restart_count;
        uint64_t restart_delay_ms;
        struct loop_timer *restart_timer;
        struct loop_timer *kill_timer;

        int shim_wait_fd; /* connection with a pending `wait` to the shim */
        bool rootfs_mounted;
        /* Networks (network.c): the configured ones, {"NAME":{"NetworkID",
         * "Aliases","IPAMConfig"}} in the order they are joined; the
         * endpoints while running; what an earlier daemon recorded. */
        json_t *netcfg;
        struct endpoint *eps;
        json_t *eps_saved;
        struct resolver *dns;   /* embedded DNS server, while running */
        struct port_map *ports; /* published ports while running */
        size_t n_ports;
        struct waiter *waiters;
        struct attach_req *attaches; /* hijacked before start */
        struct container *next;
};

struct exec_inst {
        char id[65];
        struct container *ctr; /* NULL once the container is gone */
        char ctr_id[65];
        json_t *body; /* the exec create body */
        bool running;
        bool started;
        int exit_code;
        pid_t pid;
        struct exec_inst *next;
};

struct daemon {
        struct loop *loop;
        struct http_server *http;
        struct image_store *images;
        char *data_root;
        char *exec_root;
        char *runtime_root;
        char *shim_binary;
        char *init_binary;
        char *runtime_binary;
        char *worker_binary;
        int worker_zygote_fd; /* berth-worker --serve, or -1 */
        pid_t worker_zygote_pid;
        ino_t worker_zygote_ino; /* the binary it runs */
        time_t worker_zygote_mtime;
        const char *api_socket; /* our own, for build workers' RUN steps */
        int ctr_dirfd;          /* DATA_ROOT/containers */
        int vol_dirfd;          /* DATA_ROOT/volumes */
        int shims_dirfd;        /* EXEC_ROOT/shims */
        struct container *containers;
        struct exec_inst *execs;
        uint64_t start_time_ms;
        bool shutting_down;
        struct registry_config registry; /* certs.d, insecure registries */
        /* Bounds on unpacked layers and images (workers apply them). */
        int64_t max_layer_size, max_image_size;
        /* Networks (network.c): the default bridge's interface (NULL:
         * none) and --bip; the bridge and user networks. */
        char *bridge_name;
        char *bip;
        const char *resolv_conf; /* the host's, for containers' DNS */
        bool nft;                /* manage nftables rules */
        bool ip_forward;         /* enable net.ipv4.ip_forward */
        /* While the daemon starts: the tables the previous daemon left
         * stay until every running container's endpoints are restored
         * (a table written without them would leave them unchecked). */
        bool fw_hold;
        int net_dirfd; /* DATA_ROOT/network: address pools, networks/ */
        struct network *networks;
        struct nl *nl;            /* rtnetlink in the host's namespace */
        char *nft_table;          /* berth's own nftables table */
        unsigned int dns_pending; /* forwarded queries in flight */
        /* {"Type","Config"}: daemon.json's log-driver and log-opts, or
         * json-file capped at LOGS_DEFAULT_MAX_SIZE x LOGS_DEFAULT_MAX_FILE
         * when neither is set. */
        json_t *log_config;
};

/* ---- containers (ctr.c) ---- */
struct container *ctr_find(struct daemon *d, const char *ref, struct berr *err);
struct container *ctr_by_id(struct daemon *d, const char *id);
int ctr_create(struct daemon *d, const char *name, json_t *body,
               struct container **ret, struct berr *err);
int ctr_start(struct daemon *d, struct container *c, struct berr *err);
/* Stop: signal, then SIGKILL after `timeout` seconds (-1: container's
 * default).  `done` runs when it has exited (or at once). */
typedef void (*ctr_done_fn)(struct daemon *d, struct container *c, void *ud);
int ctr_stop(struct daemon *d, struct container *c, int sig, int timeout,
             ctr_done_fn done, void *ud, struct berr *err);
int ctr_kill(struct daemon *d, struct container *c, int sig, struct berr *err);
int ctr_remove(struct daemon *d, struct container *c, bool volumes,
               struct berr *err);
/* rm -f: kill a running container, wait for its exit, remove it. */
int ctr_force_remove(struct daemon *d, struct container *c, bool volumes,
                     struct berr *err);
int ctr_save(struct daemon *d, struct container *c);
int ctr_load_all(struct daemon *d);
/* Daemon exit: free every container and exec record in memory, and
 * nothing else (containers keep running; their state stays on disk). */
void ctr_free_all(struct daemon *d);
void ctr_restore_running(struct daemon *d);
const char *ctr_status_name(enum ctr_status s);
json_t *ctr_inspect(struct daemon *d, struct container *c);
json_t *ctr_summary(struct daemon *d, struct container *c);
void ctr_add_waiter(struct daemon *d, struct container *c,
                    const char *condition, ctr_done_fn fn, void *ud);
int ctr_rename(struct daemon *d, struct container *c, const char *name,
               struct berr *err);
int ctr_name_valid(const char *name);
/* Send a request to the container's shim; answer in *ret (may be NULL). */
int ctr_shim_call(struct daemon *d, struct container *c, json_t *req, int fd,
                  json_t **ret, struct berr *err);
int ctr_image_users(const char *image_id, char **ret_container, void *ud);
bool ctr_uses_volume(struct daemon *d, const char *name);
void ctr_pass_attach(struct daemon *d, struct container *c, int fd, bool in,
                     bool out, bool err_, bool mux);
char *ctr_log_path(struct daemon *d, const struct container *c);
void ctr_on_exit_record(struct daemon *d, struct container *c, int code,
                        bool oom, const char *finished_at);

/* ---- exec records (api_containers.c, ctr.c) ---- */
/* Docker keeps an exec's record after its process ends, for inspect (the
 * CLI reads the exit code there), and drops it minutes later; berth drops
 * a container's records with the container, and beyond EXEC_KEEP per
 * container the oldest that ended or never started. */
#define EXEC_KEEP 64
struct exec_inst *exec_inst_free(struct exec_inst *x);
/* Free the records of `c`: all of them (keep 0), or all but the newest
 * `keep` and those still running. */
void exec_drop(struct daemon *d, struct container *c, size_t keep);

/* ---- events (events.c) ---- */
void event_emit(struct daemon *d, const char *type, const char *action,
                const char *id, json_t *attrs /* stolen, may be NULL */);
void events_handle(struct daemon *d, struct http_req *r);

/* ---- volumes (volumes.c) ---- */
int volume_get_or_create(struct daemon *d, const char *name, json_t *labels,
                         json_t *opts, bool *ret_created, char **ret_path,
                         struct berr *err);
void api_volumes(struct daemon *d, struct http_req *r, const char *rest);
int volume_remove(struct daemon *d, const char *name, bool force,
                  struct berr *err);

/* ---- API handlers ---- */
void api_dispatch(struct http_req *r, void *ud);
bool api_wants_file(const char *method, const char *path);
void api_containers(struct daemon *d, struct http_req *r, const char *rest);
void api_exec(struct daemon *d, struct http_req *r, const char *rest);
void api_images(struct daemon *d, struct http_req *r, const char *rest);
void api_networks(struct daemon *d, struct http_req *r, const char *rest);
/* Registries (api_registry.c). */
void api_pull(struct daemon *d, struct http_req *r);
void api_build(struct daemon *d, struct http_req *r);
void api_push(struct daemon *d, struct http_req *r, const char *name);
void api_auth(struct daemon *d, struct http_req *r);
void logs_handle(struct daemon *d, struct container *c, struct http_req *r);
void logs_container_exited(struct daemon *d, struct container *c);
/* What a container's logs may take when nobody said: 5 files of 20 MB. */
#define LOGS_DEFAULT_MAX_SIZE "20m"
#define LOGS_DEFAULT_MAX_FILE "5"
/* json-file's max-size ("10m", decimal units; "-1" or absent: no limit)
 * and max-file (>= 1, default 1) from a LogConfig.Config object. */
int logs_opts_parse(const json_t *opts, uint64_t *ret_max_size,
                    uint64_t *ret_max_file, struct berr *err);

/* ---- networks (network.c, ports.c, firewall.c, resolver.c) ---- */
struct ipam;
/* A bridge network: the default one ("bridge", interface --bridge) or
 * one made with `network create` (interface br-ID12). */
struct network {
        char id[65];
        char *name;
        char *ifname; /* the host's bridge interface */
        char *created;
        bool is_default;
        bool internal;   /* no route out, no NAT, no forwarding */
        bool attachable; /* recorded for the API only */
        json_t *labels;
        json_t *options;
        struct ipam *pool;
        struct ipv4_net subnet; /* as recorded (user networks) */
        uint32_t gateway;       /* 0: not recorded */
        bool up;                /* the bridge exists, with its address */
        struct network *next;
};
/* One container on one network, while it runs. */
struct endpoint {
        struct network *net;
        uint32_t ip;      /* host byte order */
        char ifname[16];  /* in the container: eth0, eth1... */
        char host_if[16]; /* the host's end of the veth pair */
        char id[65];      /* EndpointID */
        bool gateway;     /* the container's default route goes here */
        /* The container end's hardware address, set by us (02:42 and the
         * IPv4 address, as docker does), so the bridge can drop frames
         * claiming any other; has_mac false for an endpoint restored
         * from a record written before it was kept (not filtered). */
        uint8_t mac[6];
        bool has_mac;
        struct endpoint *next;
};
/* One published port: HostIp:HostPort -> the container's port, with the
 * socket that holds the host port while the container runs. */
struct port_map {
        uint32_t host_ip; /* 0: every address */
        uint16_t host_port;
        uint16_t ctr_port;
        bool udp;
        int sock;
};

/* Daemon start: the default network and those on disk.  After
 * ctr_load_all, net_reconcile releases addresses of containers that no
 * longer run. */
int net_init(struct daemon *d, struct berr *err);
void net_reconcile(struct daemon *d);
void net_free(struct daemon *d);
/* A stable id for the default, host and none networks (docker's are
 * random; ours must not change across restarts, and nothing else is
 * stored for them). */
void net_builtin_id(const char *name, char out[65]);
/* By exact name, then full id, then unique id prefix. */
struct network *net_find(struct daemon *d, const char *ref);
/* POST /networks/create's body. */
int net_create(struct daemon *d, json_t *body, struct network **ret,
               struct berr *err);
/* -EBUSY while a container runs on it. */
int net_remove(struct daemon *d, struct network *n, struct berr *err);
bool net_in_use(struct daemon *d, const struct network *n);
/* The bridge network is set up on first use: ready it (for inspect). */
int net_up(struct daemon *d, struct network *n, struct berr *err);
/* At create: the networks from NetworkMode and NetworkingConfig (404 for
 * one that does not exist). */
int net_container_config(struct daemon *d, struct container *c,
                         struct berr *err);
/* The first network a container on NetworkMode `nm` joins, or NULL for
 * none/host/container:X. */
struct network *net_of_mode(struct daemon *d, const char *nm);
/* Connect/disconnect, also while the container runs. */
int net_connect(struct daemon *d, struct container *c, struct network *n,
                json_t *epcfg, struct berr *err);
int net_disconnect(struct daemon *d, struct container *c, struct network *n,
                   bool force, struct berr *err);
/* After the container's namespace exists, before its program runs: a
 * veth pair per network (eth0, eth1...), addresses, the default route,
 * /etc/hosts entries, published ports, the DNS server. */
int net_attach(struct daemon *d, struct container *c, struct berr *err);
/* The container stopped or is removed: all of that is released. */
void net_detach(struct daemon *d, struct container *c);
/* A running container found at daemon start: what it holds. */
void net_restore(struct daemon *d, struct container *c);
/* The container's endpoints as saved in its record while it runs. */
json_t *net_endpoints_json(const struct container *c);
/* NetworkSettings for inspect. */
json_t *net_settings_json(struct daemon *d, struct container *c);
/* {"Subnet","Gateway"}, the prefix; for the API. */
void net_ipam_config(const struct network *n, char subnet[20], char gw[16],
                     int *ret_prefix);
/* The endpoint's MAC as "02:42:..." ("" when unknown). */
void net_mac_format(const struct endpoint *e, char out[18]);
/* Does the container's DNS server answer for it (a user network)? */
bool net_has_dns(const struct network *n);

/* ports.c: hold the host ports the container publishes (PortBindings,
 * -P), release them; NetworkSettings.Ports. */
int ports_publish(struct daemon *d, struct container *c, struct berr *err);
void ports_release(struct container *c);
json_t *net_ports_json(const struct container *c);
/* The address published ports are forwarded to (0: none). */
uint32_t ports_target(const struct container *c);

/* firewall.c: berth's nftables table, written whole from every network's
 * and published port's state in one atomic batch. */
int fw_sync(struct daemon *d, struct berr *err);

/* resolver.c: the embedded DNS server at 127.0.0.11:53 inside a
 * container's namespace, answering for the containers on its networks
 * and forwarding other names from the host's namespace. */
int resolver_start(struct daemon *d, struct container *c, int netns_fd,
                   struct berr *err);
void resolver_stop(struct daemon *d, struct container *c);
/* After connect/disconnect of a running container: whether its server
 * forwards (some network has a way out); and a container that joined a
 * user network gets the server, its resolv.conf rewritten in place
 * (`netns_fd` -1: only the former). */
int resolver_update(struct daemon *d, struct container *c, int netns_fd,
                    struct berr *err);
/* The container's resolv.conf into `dirfd`: the host's (loopback
 * servers left out), --dns/--dns-search/--dns-option, or 127.0.0.11
 * when the embedded server answers for it. */
int resolver_write_conf(struct daemon *d, struct container *c, int dirfd,
                        struct berr *err);

/* ---- berth-worker (worker.c) ---- */
/* Start a worker for the job `params` (stolen; the daemon adds the image
 * store and registry settings) with `out_fd` as its output and `in_fd`
 * (or -1) as its input archive.  The child is the caller's to watch. */
int worker_spawn(struct daemon *d, json_t *params, int in_fd, int out_fd,
                 pid_t *ret_pid, struct berr *err);

/* ---- helpers (util in daemon) ---- */
/* Daemon start, after data_root, exec_root and runtime_root are set:
 * DATA_ROOT/{containers,volumes,network,image} and EXEC_ROOT/shims are
 * created and opened, the image store too (messages go to stderr). */
int daemon_open_state(struct daemon *d);
char *now_rfc3339(void);
void random_hex(char *buf, size_t nbytes); /* writes 2*nbytes hex + NUL */
void random_bytes(void *buf, size_t n);
int64_t rfc3339_to_unix(const char *s);
/* "SIGTERM", "TERM", "15" -> 15; < 0 when unknown. */
int signal_parse(const char *s);
/* Go's units.HumanDuration: "Less than a second", "About a minute"... */
