/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's network from CREATE's "network" (vm/proto.h): lo up, and the
 * virtio-net interface with the host's MAC configured as netns/ configures
 * a container's eth0 (MTU, addresses, default routes via the gateways).
 * With ioctl(2): the agent is static and has no netlink library, and these
 * few requests are all it needs.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <linux/ipv6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/json.h"

#define NET_DIR "/sys/class/net"
/* The driver probes the device when its module loads, at boot: the wait is
 * for a slow guest only. */
#define LINK_WAIT_MS 5000

struct guest_net {
	const char *mac;
	int mtu;
	const char *ipv4, *gateway4, *ipv6, *gateway6;
	char ifname[IFNAMSIZ];
};

static int if_flags_up(int sock, const char *name, husk_error **err)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "network: %s: get flags", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "network: %s: up", name);
	return 0;
}

/* The interface whose address is mac, in ifname. */
static bool find_link(const char *mac, char ifname[IFNAMSIZ])
{
	_cleanup_closedir_ DIR *d = opendir(NET_DIR);
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[300], addr[32];
		if (e->d_name[0] == '.' || strlen(e->d_name) >= IFNAMSIZ)
			continue;
		snprintf(path, sizeof(path), NET_DIR "/%s/address", e->d_name);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, addr, sizeof(addr) - 1) : -1;
		if (n <= 0)
			continue;
		addr[n] = '\0';
		addr[strcspn(addr, "\n")] = '\0';
		if (!strcasecmp(addr, mac)) {
			snprintf(ifname, IFNAMSIZ, "%s", e->d_name);
			return true;
		}
	}
	return false;
}

static int wait_link(struct guest_net *n, husk_error **err)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	for (int ms = 0; !find_link(n->mac, n->ifname); ms += 10) {
		if (ms >= LINK_WAIT_MS)
			return husk_fail(err, ENODEV, "network: no interface with MAC %s in " NET_DIR,
					 n->mac);
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* "10.88.0.2/16" -> the address and the prefix length. */
static int parse_cidr(int family, const char *text, void *addr, unsigned *plen,
		      husk_error **err)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : 0;
	char *end;
	unsigned long bits = slash ? strtoul(slash + 1, &end, 10) : 0;
	if (!slash || len >= sizeof(buf) || *end || bits > (family == AF_INET ? 32u : 128u))
		return husk_fail(err, 0, "CREATE: network: \"%s\": expected ADDRESS/PREFIXLEN", text);
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, addr) != 1)
		return husk_fail(err, 0, "CREATE: network: \"%s\": not an address", text);
	*plen = (unsigned)bits;
	return 0;
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
	memcpy(sa, &sin, sizeof(sin));
}

static int setup_ipv4(int sock, const struct guest_net *n, husk_error **err)
{
	struct in_addr addr, gw, mask;
	unsigned plen;
	struct ifreq ifr = { 0 };

	if (parse_cidr(AF_INET, n->ipv4, &addr, &plen, err) < 0)
		return -1;
	if (!n->gateway4 || inet_pton(AF_INET, n->gateway4, &gw) != 1)
		return husk_fail(err, 0, "CREATE: network: gateway4: not an IPv4 address");
	mask.s_addr = htonl(plen ? ~0u << (32 - plen) : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
		return husk_fail(err, errno, "network: %s: address %s", n->ifname, n->ipv4);
	/* The broadcast address follows the mask while it is the default. */
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
		return husk_fail(err, errno, "network: %s: netmask of %s", n->ifname, n->ipv4);

	struct rtentry rt = { .rt_flags = RTF_UP | RTF_GATEWAY, .rt_dev = (char *)n->ifname };
	set_sin(&rt.rt_dst, (struct in_addr){ 0 });
	set_sin(&rt.rt_genmask, (struct in_addr){ 0 });
	set_sin(&rt.rt_gateway, gw);
	if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "network: default route via %s", n->gateway4);
	return 0;
}

/* Usable at once, as on a container's eth0: duplicates are the host's
 * address store's business, and DAD would hold the address for a second. */
static void no_dad(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		agent_warn("network: %s: %m", path);
}

static int setup_ipv6(const struct guest_net *n, husk_error **err)
{
	struct in6_ifreq ifr6 = { 0 };
	struct in6_rtmsg rt = { .rtmsg_flags = RTF_UP | RTF_GATEWAY, .rtmsg_metric = 1 };
	unsigned plen;
	_cleanup_close_ int sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0)
		return husk_fail(err, errno, "network: IPv6 socket");
	if (parse_cidr(AF_INET6, n->ipv6, &ifr6.ifr6_addr, &plen, err) < 0)
		return -1;
	if (!n->gateway6 || inet_pton(AF_INET6, n->gateway6, &rt.rtmsg_gateway) != 1)
		return husk_fail(err, 0, "CREATE: network: gateway6: not an IPv6 address");
	ifr6.ifr6_prefixlen = plen;
	ifr6.ifr6_ifindex = (int)if_nametoindex(n->ifname);
	rt.rtmsg_ifindex = ifr6.ifr6_ifindex;
	if (ioctl(sock, SIOCSIFADDR, &ifr6) < 0)
		return husk_fail(err, errno, "network: %s: address %s", n->ifname, n->ipv6);
	if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "network: default route via %s", n->gateway6);
	return 0;
}

static int parse_net(struct json_object *o, struct guest_net *n, husk_error **err)
{
	struct json_object *mtu = json_get(o, "mtu");
	if (!json_object_is_type(o, json_type_object))
		return husk_fail(err, 0, "CREATE: network: must be an object");
	*n = (struct guest_net){
		.mac = json_get_string(o, "mac"), .ipv4 = json_get_string(o, "ipv4"),
		.gateway4 = json_get_string(o, "gateway4"), .ipv6 = json_get_string(o, "ipv6"),
		.gateway6 = json_get_string(o, "gateway6"),
		.mtu = mtu ? json_object_get_int(mtu) : 0,
	};
	if (!n->mac || strlen(n->mac) != 17)
		return husk_fail(err, 0, "CREATE: network: mac: expected xx:xx:xx:xx:xx:xx");
	if (n->mtu < 68 || n->mtu > 65535)
		return husk_fail(err, 0, "CREATE: network: mtu: 68-65535 expected");
	return 0;
}

int agent_net_setup(struct agent *a, struct json_object *net, husk_error **err)
{
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct guest_net n;

	if (sock < 0)
		return husk_fail(err, errno, "network: socket");
	if (if_flags_up(sock, "lo", err) < 0)
		return -1;
	if (!net)
		return 0;
	if (parse_net(net, &n, err) < 0 || wait_link(&n, err) < 0)
		return -1;
	struct ifreq ifr = { .ifr_mtu = n.mtu };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n.ifname);
	if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		return husk_fail(err, errno, "network: %s: mtu %d", n.ifname, n.mtu);
	if (n.ipv6)
		no_dad(n.ifname);
	if (if_flags_up(sock, n.ifname, err) < 0)
		return -1;
	if (n.ipv4 && setup_ipv4(sock, &n, err) < 0)
		return -1;
	if (n.ipv6 && setup_ipv6(&n, err) < 0)
		return -1;
	agent_log(a, "network: %s up (%s%s%s)", n.ifname, n.ipv4 ? n.ipv4 : "",
		  n.ipv4 && n.ipv6 ? " " : "", n.ipv6 ? n.ipv6 : "");
	return 0;
}
