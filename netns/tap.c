/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A micro-VM on its bridge (netns_attach_tap): the same addresses and
 * bridge as a container's veth (attach.c), and a tap device whose queue
 * QEMU reads; see netns.h. */
#include "netns_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../base/cleanup.h"

#define TUN_DEV "/dev/net/tun"

/* Not persistent: the device lives as long as an fd of its queue. */
static int tap_open(const char *name, husk_error **err)
{
	_cleanup_close_ int fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	if (fd < 0)
		return husk_fail(err, errno, "open " TUN_DEV);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return husk_fail(err, errno, "tap %s", name);
	return TAKE_FD(fd);
}

static int tap_make(struct attach *a, int rootfd, struct container_state *st, int *fd,
		    husk_error **err)
{
	struct nl nl;
	struct nl_link l;
	int bridge = 0, r = nl_open(&nl);
	if (r < 0)
		return husk_fail(err, -r, "%s: rtnetlink socket", a->cfg.source);
	r = attach_reserve(&nl, a, rootfd, &bridge, err);
	if (r == 0) {
		/* From here on netns_detach() can undo it all. */
		st->network = attach_record(a, NULL);
		*fd = tap_open(a->link, err);
		if (*fd < 0)
			r = husk_error_wrap(err, "%s", a->cfg.source);
	}
	if (r == 0 && ((r = nl_link_get(&nl, a->link, &l)) < 0 ||
		       (r = nl_link_enslave(&nl, l.index, bridge, a->cfg.mtu)) < 0))
		r = husk_fail(err, -r, "%s: tap %s on bridge %s", a->cfg.source, a->link,
			      a->cfg.bridge);
	nl_close(&nl);
	return r;
}

static void guest_family(const struct net_prefix *p, const uint8_t *addr, char *text,
			 size_t len, char *gw, size_t gw_len)
{
	struct net_prefix own = *p;
	if (!p->family)
		return;
	memcpy(own.gateway, addr, 16);
	net_prefix_format(&own, text, len);
	inet_ntop(p->family, p->gateway, gw, (socklen_t)gw_len);
}

static void guest_fill(const struct attach *a, struct netns_guest *g)
{
	uint8_t mac[6];
	attach_mac(a, mac);
	snprintf(g->mac, sizeof(g->mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	g->mtu = a->cfg.mtu;
	guest_family(&a->cfg.v4, a->ip4, g->ipv4, sizeof(g->ipv4), g->gateway4, sizeof(g->gateway4));
	guest_family(&a->cfg.v6, a->ip6, g->ipv6, sizeof(g->ipv6), g->gateway6, sizeof(g->gateway6));
}

int netns_attach_tap(int rootfd, struct container_state *st, const struct spec *s,
		     const char *flag, struct netns_guest *g, husk_error **err)
{
	struct attach a;
	_cleanup_close_ int fd = -1;

	*g = (struct netns_guest){ .tap_fd = -1 };
	if (attach_prepare(&a, rootfd, st, s, flag, "tap", err) < 0)
		return -1;
	if (!a.cfg.enabled)
		return 0;
	if (tap_make(&a, rootfd, st, &fd, err) < 0) {
		if (fd >= 0) /* the tap goes with it, before detach looks */
			close(TAKE_FD(fd));
		netns_detach(rootfd, st, NULL);
		json_object_put(st->network);
		st->network = NULL;
		return -1;
	}
	json_object_put(st->network);
	st->network = attach_record(&a, st->annotations);
	guest_fill(&a, g);
	g->tap_fd = TAKE_FD(fd);
	return 0;
}

/* Only a tap ("tun" links): after a lost create the name could be
 * anything's by now. Usually gone already with QEMU's fd. */
int tap_remove(const char *name, husk_error **err)
{
	struct nl nl;
	struct nl_link l;
	int r = nl_open(&nl);
	if (r == 0 && (r = nl_link_get(&nl, name, &l)) == 0 && !strcmp(l.kind, "tun"))
		r = nl_link_del(&nl, name);
	nl_close(&nl);
	if (r < 0 && r != -ENODEV)
		return husk_fail(err, -r, "network: remove tap %s", name);
	return 0;
}
