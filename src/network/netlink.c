/* rtnetlink (see netlink.h). */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

/* MNL_SOCKET_BUFFER_SIZE is sysconf-based (a VLA); 8 KiB holds every
 * request and answer here. */
#define NL_BUF 8192

struct nl {
        struct mnl_socket *sock;
        unsigned int portid;
        uint32_t seq;
};

int netns_socket(int netns_fd, int domain, int type, int protocol,
                 struct berr *err) {
        if (netns_fd < 0) {
                int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
                return fd >= 0 ? fd : berr_set(err, errno, "socket");
        }
        /* A socket lives in the namespace it is created in: switch,
         * create it, switch back.  The daemon is single-threaded, so
         * nothing else runs in the container's namespace meanwhile, and
         * nothing else is done there but socket(). */
        int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return berr_set(err, errno, "open '/proc/self/ns/net'");
        if (setns(netns_fd, CLONE_NEWNET) < 0) {
                int r = berr_set(err, errno,
                                 "enter the container's network namespace");
                close(self);
                return r;
        }
        int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        int saved = errno;
        if (setns(self, CLONE_NEWNET) < 0)
                abort(); /* cannot go on in the wrong namespace */
        close(self);
        return fd >= 0 ? fd : berr_set(err, saved, "socket");
}

int nl_open(int netns_fd, struct nl **ret, struct berr *err) {
        int fd = netns_socket(netns_fd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE,
                              err);
        if (fd < 0)
                return berr_prefix(err, fd, "open a netlink socket");
        struct mnl_socket *s = mnl_socket_fdopen(fd);
        if (!s) {
                close(fd);
                return berr_set(err, errno, "open a netlink socket");
        }
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = berr_set(err, errno, "bind a netlink socket");
                mnl_socket_close(s);
                return r;
        }
        struct nl *n = calloc(1, sizeof(*n));
        if (!n) {
                mnl_socket_close(s);
                return -ENOMEM;
        }
        n->sock = s;
        n->portid = mnl_socket_get_portid(s);
        n->seq = (uint32_t) time(NULL);
        *ret = n;
        return 0;
}

struct nl *nl_close(struct nl *n) {
        if (!n)
                return NULL;
        mnl_socket_close(n->sock);
        free(n);
        return NULL;
}

/* Send a request built in buf and wait for its ack: 0 or -errno. */
static int talk(struct nl *n, struct nlmsghdr *h) {
        h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        h->nlmsg_seq = ++n->seq;
        if (mnl_socket_sendto(n->sock, h, h->nlmsg_len) < 0)
                return -errno;
        char buf[NL_BUF];
        for (;;) {
                ssize_t len = mnl_socket_recvfrom(n->sock, buf, sizeof(buf));
                if (len < 0)
                        return -errno;
                int r = mnl_cb_run(buf, (size_t) len, h->nlmsg_seq, n->portid,
                                   NULL, NULL);
                if (r == MNL_CB_ERROR)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags,
                                 int index) {
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = type;
        h->nlmsg_flags = flags;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        return h;
}

/* if_nametoindex asks the caller's namespace; for handles opened in
 * another one, ask over the handle's own socket. */
static int index_in(struct nl *n, const char *name) {
        char buf[NL_BUF];
        struct nlmsghdr *h = link_msg(buf, RTM_GETLINK, NLM_F_REQUEST, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        h->nlmsg_seq = ++n->seq;
        if (mnl_socket_sendto(n->sock, h, h->nlmsg_len) < 0)
                return -errno;
        ssize_t len = mnl_socket_recvfrom(n->sock, buf, sizeof(buf));
        if (len < 0)
                return -errno;
        struct nlmsghdr *rh = (struct nlmsghdr *) buf;
        if (!mnl_nlmsg_ok(rh, (int) len))
                return -EIO;
        if (rh->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(rh);
                return e->error ? e->error : -ENODEV;
        }
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(rh);
        return ifi->ifi_index;
}

int nl_link_index(struct nl *n, const char *name) {
        return index_in(n, name);
}

int nl_bridge_create(struct nl *n, const char *name, struct berr *err) {
        char buf[NL_BUF];
        struct nlmsghdr *h =
                link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(h, li);
        int r = talk(n, h);
        return r < 0 ? berr_set(err, r, "create bridge '%s'", name) : 0;
}

int nl_veth_create(struct nl *n, const char *name, const char *peer,
                   int peer_netns_fd, const uint8_t *peer_mac,
                   struct berr *err) {
        char buf[NL_BUF];
        struct nlmsghdr *h =
                link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        struct nlattr *pi = mnl_attr_nest_start(h, VETH_INFO_PEER);
        struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, peer);
        if (peer_mac)
                mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
        if (peer_netns_fd >= 0)
                mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
        mnl_attr_nest_end(h, pi);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, li);
        int r = talk(n, h);
        return r < 0 ? berr_set(err, r, "create veth pair '%s'/'%s'", name,
                                peer)
                     : 0;
}

static int link_change(struct nl *n, const char *name, uint16_t type,
                       unsigned flags_on, const char *master,
                       const char *new_name, const char *what,
                       struct berr *err) {
        int idx = index_in(n, name);
        if (idx < 0)
                return berr_set(err, idx, "%s '%s'", what, name);
        int midx = 0;
        if (master) {
                midx = index_in(n, master);
                if (midx < 0)
                        return berr_set(err, midx, "%s '%s': bridge '%s'", what,
                                        name, master);
        }
        char buf[NL_BUF];
        struct nlmsghdr *h = link_msg(buf, type, 0, idx);
        if (flags_on) {
                struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
                ifi->ifi_flags = flags_on;
                ifi->ifi_change = flags_on;
        }
        if (master)
                mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t) midx);
        if (new_name)
                mnl_attr_put_strz(h, IFLA_IFNAME, new_name);
        int r = talk(n, h);
        return r < 0 ? berr_set(err, r, "%s '%s'", what, name) : 0;
}

int nl_link_delete(struct nl *n, const char *name, struct berr *err) {
        return link_change(n, name, RTM_DELLINK, 0, NULL, NULL, "delete link",
                           err);
}

int nl_link_set_up(struct nl *n, const char *name, struct berr *err) {
        return link_change(n, name, RTM_NEWLINK, IFF_UP, NULL, NULL,
                           "set link up", err);
}

int nl_link_set_master(struct nl *n, const char *name, const char *master,
                       struct berr *err) {
        return link_change(n, name, RTM_NEWLINK, 0, master, NULL, "attach link",
                           err);
}

int nl_link_rename(struct nl *n, const char *name, const char *new_name,
                   struct berr *err) {
        return link_change(n, name, RTM_NEWLINK, 0, NULL, new_name,
                           "rename link", err);
}

int nl_addr_add(struct nl *n, const char *name, uint32_t addr, int prefix,
                struct berr *err) {
        int idx = index_in(n, name);
        if (idx < 0)
                return berr_set(err, idx, "add an address to '%s'", name);
        char buf[NL_BUF];
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_NEWADDR;
        h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_index = (unsigned) idx;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        uint32_t be = htonl(addr);
        mnl_attr_put_u32(h, IFA_LOCAL, be);
        mnl_attr_put_u32(h, IFA_ADDRESS, be);
        if (prefix < 31) {
                uint32_t bc = htonl(addr | (prefix ? ~0u >> prefix : ~0u));
                mnl_attr_put_u32(h, IFA_BROADCAST, bc);
        }
        int r = talk(n, h);
        return r < 0 ? berr_set(err, r, "add an address to '%s'", name) : 0;
}

int nl_route_add_default(struct nl *n, uint32_t gateway, struct berr *err) {
        char buf[NL_BUF];
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = RTM_NEWROUTE;
        h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
        rt->rtm_family = AF_INET;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_BOOT;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gateway));
        int r = talk(n, h);
        return r < 0 ? berr_set(err, r, "add the default route") : 0;
}
