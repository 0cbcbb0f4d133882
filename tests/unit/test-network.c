/* Networking pieces: subnets, the IPAM pool (persistence, no double
 * allocation), and rtnetlink building a bridge + veth network between two
 * network namespaces this test creates (they vanish with its processes:
 * nothing is left on the host). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns.h"
#include "error.h"
#include "ipam.h"
#include "netlink.h"
#include "util.h"

static uint32_t ip(const char *s) {
        uint32_t a = 0;
        assert_int_equal(ipv4_parse(s, &a), 0);
        return a;
}

static void test_subnets(void **state) {
        (void) state;
        struct ipv4_net n;
        uint32_t host;
        struct berr e = {0};
        assert_int_equal(ipv4_net_parse("172.17.0.0/16", &n, NULL, &e), 0);
        assert_int_equal(n.addr, ip("172.17.0.0"));
        assert_int_equal(n.prefix, 16);
        assert_true(ipv4_net_parse("172.17.0.1/16", &n, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "host bits"));
        assert_int_equal(ipv4_net_parse("172.17.0.1/16", &n, &host, &e), 0);
        assert_int_equal(host, ip("172.17.0.1"));
        assert_true(ipv4_net_parse("10.0.0.0/33", &n, NULL, &e) < 0);
        assert_true(ipv4_net_parse("10.0.0/8", &n, NULL, &e) < 0);
        char buf[20];
        ipv4_net_format(&n, buf);
        assert_string_equal(buf, "172.17.0.0/16");
        struct ipv4_net a = {ip("10.0.0.0"), 8}, b = {ip("10.1.2.0"), 24},
                        c = {ip("11.0.0.0"), 8};
        assert_true(ipv4_net_overlaps(&a, &b));
        assert_true(ipv4_net_overlaps(&b, &a));
        assert_false(ipv4_net_overlaps(&a, &c));
}

static void test_pick_subnet(void **state) {
        (void) state;
        struct ipv4_net out;
        struct berr e = {0};
        assert_int_equal(ipam_pick_subnet(NULL, 0, &out, &e), 0);
        assert_int_equal(out.addr, ip("172.17.0.0"));
        /* Docker's default taken by a route, and a default route (/0)
         * that is no reason to avoid anything. */
        struct ipv4_net used[] = {
                {ip("172.17.5.0"), 24}, {0, 0}, {ip("172.18.0.0"), 16}};
        assert_int_equal(ipam_pick_subnet(used, 3, &out, &e), 0);
        assert_int_equal(out.addr, ip("172.19.0.0"));
        struct ipv4_net all[] = {{ip("172.16.0.0"), 12},
                                 {ip("192.168.0.0"), 16}};
        assert_int_equal(ipam_pick_subnet(all, 2, &out, &e), -ENOSPC);
        struct ipv4_net *host = NULL;
        size_t n = 0;
        assert_int_equal(ipam_host_networks(&host, &n), 0);
        free(host);
}

static char pool_dir[] = "/tmp/berth-test-ipam-XXXXXX";

/* Runs even when an assertion in the test failed. */
static int pool_teardown(void **state) {
        (void) state;
        rm_rf_at(AT_FDCWD, pool_dir);
        return 0;
}

static void test_pool(void **state) {
        (void) state;
        char *dir = pool_dir;
        assert_non_null(mkdtemp(dir));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        struct ipv4_net sub = {ip("10.88.0.0"), 29}; /* .1 gw, .2-.6 */
        struct ipam *p = NULL;
        struct berr e = {0};
        assert_int_equal(ipam_open(dfd, "n1", &sub, ip("10.88.0.1"), &p, &e),
                         0);
        uint32_t a[5];
        for (int i = 0; i < 5; i++)
                assert_int_equal(
                        ipam_allocate(p, i % 2 ? "b" : "a", 0, &a[i], &e), 0);
        assert_int_equal(a[0], ip("10.88.0.2"));
        assert_int_equal(a[4], ip("10.88.0.6"));
        /* Full: never the network, gateway or broadcast address. */
        uint32_t x;
        assert_int_equal(ipam_allocate(p, "c", 0, &x, &e), -ENOSPC);
        berr_clear(&e);
        assert_int_equal(ipam_allocate(p, "c", ip("10.88.0.3"), &x, &e),
                         -EADDRINUSE);
        assert_non_null(strstr(e.msg, "in use by b"));
        berr_clear(&e);
        assert_true(ipam_allocate(p, "c", ip("10.88.0.7"), &x, &e) < 0);
        berr_clear(&e);
        assert_int_equal(ipam_release(p, "b", &e), 2);
        ipam_free(p);
        /* Reopened (a daemon restart): what is allocated stays so, and
         * the next address follows the last one handed out. */
        assert_int_equal(ipam_open(dfd, "n1", NULL, 0, &p, &e), 0);
        assert_string_equal(ipam_owner(p, ip("10.88.0.2")), "a");
        assert_null(ipam_owner(p, ip("10.88.0.3")));
        assert_int_equal(ipam_allocate(p, "d", 0, &x, &e), 0);
        assert_int_equal(x, ip("10.88.0.3"));
        ipam_free(p);
        struct ipv4_net other = {ip("10.99.0.0"), 24};
        berr_clear(&e);
        assert_int_equal(ipam_open(dfd, "n1", &other, ip("10.99.0.1"), &p, &e),
                         -EEXIST);
        close(dfd);
}

/* ---- rtnetlink between two namespaces ---- */

static int child_main(int ready_fd, int go_fd) {
        if (unshare(CLONE_NEWNET) < 0)
                return 10;
        char c = 'r';
        if (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) != 1)
                return 11;
        /* Configured by the parent: reach it across the bridge. */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(5599)};
        sa.sin_addr.s_addr = htonl(ip("10.77.0.1"));
        if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 12;
        return write(s, "ok", 2) == 2 ? 0 : 13;
}

static void test_bridge_veth(void **state) {
        (void) state;
        /* The "host" side is a namespace of our own too. */
        if (unshare(CLONE_NEWNET) < 0) {
                print_message("cannot unshare a network namespace (%s): "
                              "skipped\n",
                              strerror(errno));
                skip();
        }
        int ready[2], go[2];
        assert_int_equal(pipe(ready), 0);
        assert_int_equal(pipe(go), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(child_main(ready[1], go[0]));
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        char nspath[64];
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int) pid);
        int cfd = open(nspath, O_RDONLY | O_CLOEXEC);
        assert_true(cfd >= 0);
        struct berr e = {0};
        struct nl *h = NULL, *ch = NULL;
        assert_int_equal(nl_open(-1, &h, &e), 0);
        assert_int_equal(nl_bridge_create(h, "bt-br0", &e), 0);
        assert_true(nl_bridge_create(h, "bt-br0", &e) == -EEXIST);
        berr_clear(&e);
        assert_int_equal(nl_addr_add(h, "bt-br0", ip("10.77.0.1"), 24, &e), 0);
        assert_int_equal(nl_link_set_up(h, "bt-br0", &e), 0);
        assert_int_equal(
                nl_veth_create(h, "bt-veth0", "bt-peer", cfd, NULL, &e), 0);
        assert_int_equal(nl_link_index(h, "bt-peer"), -ENODEV);
        assert_int_equal(nl_link_set_master(h, "bt-veth0", "bt-br0", &e), 0);
        assert_int_equal(nl_link_set_up(h, "bt-veth0", &e), 0);
        /* Inside the other namespace. */
        assert_int_equal(nl_open(cfd, &ch, &e), 0);
        assert_true(nl_link_index(ch, "bt-peer") > 0);
        assert_int_equal(nl_link_rename(ch, "bt-peer", "eth0", &e), 0);
        assert_int_equal(nl_addr_add(ch, "eth0", ip("10.77.0.2"), 24, &e), 0);
        assert_int_equal(nl_link_set_up(ch, "eth0", &e), 0);
        assert_int_equal(nl_link_set_up(ch, "lo", &e), 0);
        assert_int_equal(nl_route_add_default(ch, ip("10.77.0.1"), &e), 0);
        int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(5599)};
        sa.sin_addr.s_addr = htonl(ip("10.77.0.1"));
        int one = 1;
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        assert_int_equal(bind(ls, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(ls, 1), 0);
        assert_int_equal(write(go[1], "g", 1), 1);
        int cs = accept(ls, NULL, NULL);
        assert_true(cs >= 0);
        char got[3] = "";
        assert_int_equal(read(cs, got, 2), 2);
        assert_string_equal(got, "ok");
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(nl_link_delete(h, "bt-veth0", &e), 0);
        assert_int_equal(nl_link_index(h, "bt-veth0"), -ENODEV);
        assert_int_equal(nl_link_delete(h, "bt-br0", &e), 0);
        nl_close(ch);
        nl_close(h);
        close(cs);
        close(ls);
        close(cfd);
}

/* A query for `name` (dotted) of `qtype`, as a stub resolver sends it. */
static size_t make_query(uint8_t *b, const char *name, uint16_t qtype,
                         uint16_t flags) {
        uint8_t hdr[12] = {0x12, 0x34, (uint8_t) (flags >> 8), (uint8_t) flags,
                           0,    1};
        memcpy(b, hdr, 12);
        size_t o = 12;
        for (const char *p = name; *p;) {
                size_t l = strcspn(p, ".");
                b[o++] = (uint8_t) l;
                memcpy(b + o, p, l);
                o += l;
                p += l;
                if (*p == '.')
                        p++;
        }
        b[o++] = 0;
        b[o++] = (uint8_t) (qtype >> 8);
        b[o++] = (uint8_t) qtype;
        b[o++] = 0;
        b[o++] = 1;
        return o;
}

static void test_dns(void **state) {
        (void) state;
        uint8_t q[512], out[512];
        struct dns_question dq;
        size_t len = make_query(q, "Web.MyNet", DNS_TYPE_A, 0x0100);
        assert_int_equal(dns_parse_query(q, len, &dq), 0);
        assert_string_equal(dq.name, "web.mynet");
        assert_int_equal(dq.qtype, DNS_TYPE_A);
        assert_int_equal(dq.id, 0x1234);
        assert_int_equal(dq.end, len);
        /* Two A records: header, the question as sent, two answers that
         * point back at it. */
        uint32_t addrs[2] = {ip("10.1.2.3"), ip("10.1.2.4")};
        int r = dns_build_reply(&dq, q, DNS_RCODE_NOERROR, addrs, 2, NULL, 600,
                                out, sizeof(out));
        assert_int_equal(r, (int) len + 32);
        assert_int_equal(out[0], 0x12);
        assert_int_equal(out[2] & 0x80, 0x80); /* a response */
        assert_int_equal(out[2] & 0x01, 0x01); /* RD kept */
        assert_int_equal(out[3] & 0x0f, 0);
        assert_int_equal(out[7], 2);
        assert_memory_equal(out + 12, q + 12, len - 12); /* case kept */
        assert_int_equal(out[len], 0xc0);
        assert_int_equal(out[len + 1], 0x0c);
        assert_int_equal(out[len + 15], 3);
        assert_int_equal(out[len + 31], 4);
        /* Too many to fit is -ENOSPC, never an overrun. */
        assert_int_equal(
                dns_build_reply(&dq, q, 0, addrs, 2, NULL, 600, out, len + 20),
                -ENOSPC);
        /* PTR. */
        r = dns_build_reply(&dq, q, 0, NULL, 0, "web.mynet", 600, out,
                            sizeof(out));
        assert_int_equal(r, (int) len + 12 + 11);
        uint32_t a;
        assert_int_equal(dns_ptr_addr("3.2.1.10.in-addr.arpa", &a), 0);
        assert_int_equal(a, ip("10.1.2.3"));
        assert_true(dns_ptr_addr("03.2.1.10.in-addr.arpa", &a) < 0);
        assert_true(dns_ptr_addr("256.2.1.10.in-addr.arpa", &a) < 0);
        assert_true(dns_ptr_addr("2.1.10.in-addr.arpa", &a) < 0);
        assert_true(dns_ptr_addr("1.2.3.4.5.in-addr.arpa", &a) < 0);
        assert_true(dns_ptr_addr("in-addr.arpa", &a) < 0);
        /* Not queries: responses, other opcodes, bad names. */
        len = make_query(q, "x", DNS_TYPE_A, 0x8180);
        assert_int_equal(dns_parse_query(q, len, &dq), -EPROTO);
        len = make_query(q, "x", DNS_TYPE_A, 0x2800); /* UPDATE */
        assert_int_equal(dns_parse_query(q, len, &dq), -EPROTO);
        len = make_query(q, "abc", DNS_TYPE_A, 0);
        assert_int_equal(dns_parse_query(q, len - 1, &dq), -EBADMSG);
        assert_int_equal(dns_parse_query(q, 11, &dq), -EBADMSG);
        q[12] = 0xc0; /* a compression pointer in the question */
        assert_int_equal(dns_parse_query(q, len, &dq), -EBADMSG);
        len = make_query(q, "a.b", DNS_TYPE_A, 0);
        q[14] = '.'; /* "a" "." "b" would read as a.b.b */
        q[13] = 'a';
        q[12] = 1;
        q[14] = 1;
        q[15] = '.';
        assert_int_equal(dns_parse_query(q, len, &dq), -EBADMSG);
        /* The longest name (253 characters) and one beyond. */
        char name[300] = "";
        for (int i = 0; i < 3; i++)
                strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaa"
                             "aaaa.");
        strcat(name,
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aa");
        assert_int_equal(strlen(name), 253);
        len = make_query(q, name, DNS_TYPE_A, 0);
        assert_int_equal(dns_parse_query(q, len, &dq), 0);
        strcat(name, "a");
        len = make_query(q, name, DNS_TYPE_A, 0);
        assert_int_equal(dns_parse_query(q, len, &dq), -EBADMSG);
        uint8_t e12[12];
        dns_build_error(0xabcd, 0x0100, DNS_RCODE_REFUSED, e12);
        assert_int_equal(e12[0], 0xab);
        assert_int_equal(e12[3] & 0x0f, DNS_RCODE_REFUSED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subnets),
                cmocka_unit_test(test_dns),
                cmocka_unit_test(test_pick_subnet),
                cmocka_unit_test_teardown(test_pool, pool_teardown),
                cmocka_unit_test(test_bridge_veth),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
