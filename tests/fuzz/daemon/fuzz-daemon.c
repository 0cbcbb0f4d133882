/* libFuzzer entry point for berthd's request handling: the real HTTP
 * layer (libmicrohttpd in berthd's loop), the router (api.c) and every
 * handler behind it (containers, exec, images, volumes, networks, build,
 * auth, events), with container create bodies going through ctr.c and
 * specgen.
 *
 * One daemon is set up in-process on the first input, in private mount
 * and network namespaces (so nothing it mounts, no bridge it makes and no
 * packet it sends reaches the host): its data and exec roots are on a
 * tmpfs, it has no default bridge and no nftables, and its shim, init and
 * worker binaries are /bin/false, so whatever would start a process fails
 * the way a broken helper does.  Its image store holds one image,
 * busybox:latest (an empty layer), so creates reach specgen.
 *
 * An input is up to MAX_REQUESTS requests separated by SEPARATOR, each
 * sent on its own connection to the daemon's socket.  A request is an
 * HTTP head ("POST /v1.44/containers/create?name=x HTTP/1.1" and header
 * lines) with "\n" line ends, a blank line and the body; the target adds
 * "\r", a Host header and a Content-Length when the head has none.  The
 * loop runs until the reply begins or a bound passes (streams, waits and
 * hijacks never end by themselves), then the client hangs up.  After the
 * input, every container, exec, volume, network and image it made is
 * removed, so each input starts from the same state (and leak checks
 * see what one input leaves behind).
 *
 *   ./fuzz-daemon -dict=tests/fuzz/daemon/daemon.dict \
 *       -max_len=8192 -timeout=20 CORPUS tests/fuzz/daemon/corpus
 *
 * Needs root (namespaces); elsewhere it exits 77 (meson's "skipped"). */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <dirent.h>

#include "daemon.h"
#include "error.h"
#include "http.h"
#include "image.h"
#include "loop.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR    "\n=====\n"
#define MAX_REQUESTS 6
#define REPLY_TURNS  40 /* loop turns waiting for a reply ... */
#define TURN_WAIT_MS 5  /* ... of at most this long each */
#define BASE_IMAGE   "busybox:latest"

static struct daemon d;
static char root[64];
static char sock_path[96];
static bool verbose; /* FUZZ_DAEMON_VERBOSE=1: show the replies */
static char *base_id;

static void die(const char *what) {
        fprintf(stderr, "fuzz-daemon: %s: %m\n", what);
        exit(1);
}

/* An empty tar archive: two zero blocks. */
static int empty_tar(void) {
        int fd = memfd_create("layer", MFD_CLOEXEC);
        static const char zero[1024];
        if (fd < 0 || write(fd, zero, sizeof(zero)) != sizeof(zero) ||
            lseek(fd, 0, SEEK_SET) < 0)
                die("memfd for the base layer");
        return fd;
}

static void add_base_image(void) {
        struct berr err = {0};
        int fd = empty_tar();
        int r = image_import(d.images, fd, BASE_IMAGE,
                             "{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\"],"
                             "\"Volumes\":{\"/data\":{}},"
                             "\"ExposedPorts\":{\"80/tcp\":{}}}",
                             "fuzz base", &base_id, &err);
        close(fd);
        if (r < 0) {
                fprintf(stderr, "fuzz-daemon: import the base image: %s\n",
                        berr_message(&err, r));
                exit(1);
        }
}

static int listen_socket(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            listen(fd, 64) < 0)
                die("listen on the API socket");
        return fd;
}

static void setup(void) {
        /* Everything below happens in namespaces of our own: the tmpfs,
         * the overlay mounts of created containers, the networks. */
        if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
                fprintf(stderr, "fuzz-daemon: needs root for private mount and "
                                "network namespaces (unshare: %m); skipped\n");
                exit(77);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("make / private");
        snprintf(root, sizeof(root), "/tmp/berth-fuzz-daemon-XXXXXX");
        if (!mkdtemp(root))
                die("mkdtemp");
        if (mount("tmpfs", root, "tmpfs", 0, "mode=0700") < 0)
                die("mount a tmpfs");
        /* The tmpfs lives as long as our mount namespace; the directory
         * under it is left in /tmp, empty, once we exit. */
        snprintf(sock_path, sizeof(sock_path), "%s/api.sock", root);
        d.data_root = str_printf("%s/data", root);
        d.exec_root = str_printf("%s/exec", root);
        d.runtime_root = str_printf("%s/exec/runtime", root);
        if (!d.data_root || !d.exec_root || !d.runtime_root)
                die("allocate");
        mkdir_p(d.data_root, 0711);
        mkdir_p(d.exec_root, 0700);
        d.shim_binary = strdup("/bin/false");
        d.init_binary = strdup("/bin/false");
        d.worker_binary = strdup("/bin/false");
        d.worker_zygote_fd = -1;
        d.registry.certs_dir = str_printf("%s/certs.d", root);
        d.registry.max_concurrent = 1;
        d.bridge_name = NULL;
        d.nft = false;
        d.ip_forward = false;
        char *rc = str_printf("%s/resolv.conf", root);
        static const char rc_text[] = "nameserver 127.0.0.1\n";
        if (!rc || write_file_atomic_at(AT_FDCWD, rc, rc_text,
                                        sizeof(rc_text) - 1, 0644, 0) < 0)
                die("write resolv.conf");
        d.resolv_conf = rc;
        if (daemon_open_state(&d) < 0)
                exit(1);
        signal(SIGPIPE, SIG_IGN);
        if (loop_new(&d.loop) < 0)
                die("loop_new");
        d.api_socket = sock_path;
        if (http_server_new(d.loop, listen_socket(), api_dispatch,
                            api_wants_file, &d, &d.http) < 0)
                die("start the HTTP server");
        struct berr err = {0};
        int r = net_init(&d, &err);
        if (r < 0) {
                fprintf(stderr, "fuzz-daemon: networks: %s\n",
                        berr_message(&err, r));
                exit(1);
        }
        add_base_image();
}

static int turn(int64_t wait_ms) {
        return loop_turn(d.loop, wait_ms, http_server_timeout, http_server_tick,
                         d.http);
}

/* The request as sent: head lines with "\r\n", Host and Content-Length
 * added when missing, the body. */
static char *frame(const char *in, size_t len, size_t *ret_len) {
        const char *sep = memmem(in, len, "\n\n", 2);
        const char *crsep = memmem(in, len, "\r\n\r\n", 4);
        size_t head_len = len, body_off = len;
        if (crsep && (!sep || crsep < sep)) {
                head_len = (size_t) (crsep - in);
                body_off = head_len + 4;
        } else if (sep) {
                head_len = (size_t) (sep - in);
                body_off = head_len + 2;
        }
        size_t body_len = len - body_off;
        char *out = malloc(2 * head_len + body_len + 128);
        if (!out)
                return NULL;
        size_t o = 0;
        bool host = false, length = false;
        const char *p = in, *end = in + head_len;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                size_t n = (size_t) (le - p);
                if (n && p[n - 1] == '\r')
                        n--;
                if (n >= 5 && strncasecmp(p, "host:", 5) == 0)
                        host = true;
                if ((n >= 15 && strncasecmp(p, "content-length:", 15) == 0) ||
                    (n >= 18 && strncasecmp(p, "transfer-encoding:", 18) == 0))
                        length = true;
                memcpy(out + o, p, n);
                o += n;
                out[o++] = '\r';
                out[o++] = '\n';
                p = nl ? nl + 1 : end;
        }
        if (!host)
                o += (size_t) sprintf(out + o, "Host: api.moby.localhost\r\n");
        if (!length)
                o += (size_t) sprintf(out + o, "Content-Length: %zu\r\n",
                                      body_len);
        out[o++] = '\r';
        out[o++] = '\n';
        memcpy(out + o, in + body_off, body_len);
        *ret_len = o + body_len;
        return out;
}

static void one_request(const char *in, size_t len) {
        size_t n;
        char *req = frame(in, len, &n);
        if (!req)
                return;
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        if (c < 0 || connect(c, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                die("connect to the API socket");
        size_t off = 0;
        bool replied = false;
        for (int i = 0; i < REPLY_TURNS && !replied; i++) {
                if (off < n) {
                        ssize_t k = send(c, req + off, n - off, MSG_NOSIGNAL);
                        if (k > 0)
                                off += (size_t) k;
                        else if (k < 0 && errno != EAGAIN)
                                break;
                }
                turn(off < n ? 0 : TURN_WAIT_MS);
                struct pollfd p = {.fd = c, .events = POLLIN};
                replied = poll(&p, 1, 0) == 1;
        }
        /* Drain what came (the daemon must not block on a full socket),
         * then hang up and let MHD see it. */
        char buf[4096];
        ssize_t k;
        while ((k = read(c, buf, sizeof(buf))) > 0)
                if (verbose)
                        fprintf(stderr, "%.*s\n", (int) k, buf);
        if (verbose)
                fprintf(stderr, "---- %s\n", replied ? "replied" : "no reply");
        close(c);
        free(req);
        for (int i = 0; i < 20 && turn(0) > 0; i++)
                ;
}

/* ---- back to the initial state ---- */

static void remove_images(void) {
        char *list = NULL;
        struct berr err = {0};
        if (image_list_json(d.images, true, NULL, NULL, NULL, &list, &err) < 0)
                return;
        json_t *a = json_loads(list, 0, NULL);
        free(list);
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                const char *id = json_string_value(json_object_get(e, "Id"));
                if (!id || strcmp(id, base_id) == 0)
                        continue;
                char *out = NULL;
                struct berr e2 = {0};
                image_remove(d.images, id, true, NULL, NULL, &out, &e2);
                free(out);
        }
        json_decref(a);
        /* The base image under its one name, whatever was tagged or
         * untagged. */
        char *id = NULL;
        struct berr e3 = {0};
        if (image_resolve(d.images, BASE_IMAGE, &id, &e3) < 0 ||
            strcmp(id, base_id) != 0) {
                struct berr e4 = {0};
                if (image_tag(d.images, base_id, BASE_IMAGE, &e4) < 0) {
                        fprintf(stderr, "fuzz-daemon: retag: %s\n", e4.msg);
                        abort();
                }
        }
        free(id);
}

static void reset(void) {
        while (d.containers) {
                struct container *c = d.containers;
                struct berr err = {0};
                if (ctr_force_remove(&d, c, true, &err) < 0) {
                        fprintf(stderr,
                                "fuzz-daemon: remove container %s: %s\n", c->id,
                                err.msg);
                        abort();
                }
        }
        while (d.execs) {
                struct exec_inst *x = d.execs;
                d.execs = x->next;
                json_decref(x->body);
                free(x);
        }
        for (struct network *n = d.networks, *next; n; n = next) {
                next = n->next;
                if (n->is_default || !strcmp(n->name, "host") ||
                    !strcmp(n->name, "none") || !strcmp(n->name, "bridge"))
                        continue;
                struct berr err = {0};
                if (net_remove(&d, n, &err) < 0) {
                        fprintf(stderr, "fuzz-daemon: remove network %s: %s\n",
                                n->name, err.msg);
                        abort();
                }
        }
        int fd = openat(d.vol_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (dir && (de = readdir(dir)))
                if (de->d_name[0] != '.')
                        volume_remove(&d, de->d_name, true, NULL);
        if (dir)
                closedir(dir);
        remove_images();
        for (int i = 0; i < 20 && turn(0) > 0; i++)
                ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!d.loop) {
                verbose = getenv("FUZZ_DAEMON_VERBOSE") != NULL;
                setup();
        }
        const char *p = (const char *) data, *end = p + size;
        for (int i = 0; i < MAX_REQUESTS && p < end; i++) {
                const char *s = memmem(p, (size_t) (end - p), SEPARATOR,
                                       strlen(SEPARATOR));
                const char *e = s ? s : end;
                one_request(p, (size_t) (e - p));
                p = s ? s + strlen(SEPARATOR) : end;
        }
        reset();
        return 0;
}
