/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rtnetlink requests netns/ needs, over libmnl: one request at a time,
 * each acknowledged, so that every failure comes back as an errno. */
#include "netns_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"

/* Room for one link's attributes with stats: a GETLINK answer is large. */
#define NL_RECV_SIZE 32768
#define NL_REQ_SIZE 1024

int nl_open(struct nl *nl)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		nl_close(nl);
		return r;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	return 0;
}

/* A netlink socket acts in the namespace it was made in, wherever it is
 * used from: make it there and come straight back. */
int nl_open_in(struct nl *nl, int nsfd)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		return -errno;
	int r = nl_open(nl);
	if (setns(self, CLONE_NEWNET) < 0) {
		r = -errno;
		nl_close(nl);
	}
	return r;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Sends one request and reads until its acknowledgement; cb sees any
 * answer before it. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_RECV_SIZE];

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
		if (r == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *nl_link_msg(char *buf, int type, unsigned flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)flags;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

static void copy_attr_str(const struct nlattr *a, char *out, size_t len)
{
	if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
		return;
	size_t n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
	if (n >= len)
		n = len - 1;
	memcpy(out, mnl_attr_get_str(a), n);
	out[n] = '\0';
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *info;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	l->index = ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_IFALIAS)
			copy_attr_str(a, l->alias, sizeof(l->alias));
		if (mnl_attr_get_type(a) == IFLA_LINK_NETNSID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->peer_nsid = (int32_t)mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) != IFLA_LINKINFO)
			continue;
		mnl_attr_for_each_nested(info, a)
			if (mnl_attr_get_type(info) == IFLA_INFO_KIND)
				copy_attr_str(info, l->kind, sizeof(l->kind));
	}
	return MNL_CB_OK;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_GETLINK, 0, 0);

	memset(out, 0, sizeof(*out));
	out->peer_nsid = INT_MIN;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = nl_talk(nl, nlh, link_cb, out);
	return r == 0 && out->index <= 0 ? -ENODEV : r;
}

int nl_nsid_alive(struct nl *nl, int nsid)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNSID;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t)nsid);
	/* The kernel finds it by id only while something holds it. */
	int r = nl_talk(nl, nlh, NULL, NULL);
	return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int nl_link_del(struct nl *nl, const char *name)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_up(struct nl *nl, int index, const char *alias)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, 0, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_enslave(struct nl *nl, int index, int master, unsigned mtu)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, 0, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_bridge_add(struct nl *nl, const char *name, const uint8_t mac[6], unsigned mtu)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* A bridge takes the lowest MAC of its ports unless given one, and
	 * would change it under its neighbours with every container. */
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_veth_add(struct nl *nl, const struct nl_veth *v)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer is made directly in the container's namespace, under
	 * its final name: no temporary name, no move. */
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, v->peer_mac);
	mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_nsfd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_addr_add(struct nl *nl, int index, const struct net_prefix *p, const uint8_t *addr)
{
	char buf[NL_REQ_SIZE];
	size_t len = net_addr_len(p->family);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = (uint8_t)p->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	if (p->family == AF_INET) {
		uint8_t brd[16];
		net_addr_at(p, net_prefix_last(p) + 1, brd);
		mnl_attr_put(nlh, IFA_BROADCAST, len, brd);
	} else {
		/* Usable at once: duplicates are the address store's job. */
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_route_default(struct nl *nl, int index, const struct net_prefix *p)
{
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)p->family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, net_addr_len(p->family), p->gateway);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nl_talk(nl, nlh, NULL, NULL);
}
