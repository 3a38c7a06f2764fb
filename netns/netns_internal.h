/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the files of netns/ share: the parsed selection (config.c), the
 * address store (ipam.c), the rtnetlink requests (nl.c), and what a veth
 * (attach.c) and a tap (tap.c) attach have in common. */
#ifndef HUSK_NETNS_INTERNAL_H
#define HUSK_NETNS_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "netns.h"

#define NETNS_DEFAULT_BRIDGE "husk0"
#define NETNS_DEFAULT_SUBNET "10.88.0.1/16"
#define NETNS_DEFAULT_MTU 1500u
#define NETNS_IPAM_PREFIX ".net@"

/* A subnet and the bridge's address in it. */
struct net_prefix {
	int family;          /* AF_INET or AF_INET6; 0 = none */
	uint8_t net[16];     /* network address, host bits clear */
	uint8_t gateway[16];
	unsigned plen;
};

struct net_config {
	const char *source; /* the setting, for errors: "--network" */
	bool enabled;
	char bridge[IFNAMSIZ];
	struct net_prefix v4, v6;
	unsigned mtu;
	bool given_subnet, given_mtu; /* chosen, not defaults */
};

/* config.c */
int net_select(const struct spec *s, const char *flag, struct net_config *cfg,
	       husk_error **err);
int net_prefix_parse(const char *text, struct net_prefix *p, const char *source,
		     husk_error **err);
/* "10.88.0.1/16": the gateway with the prefix length. */
void net_prefix_format(const struct net_prefix *p, char *buf, size_t len);
size_t net_addr_len(int family);
/* The usable host offsets are [1, *last], the gateway's excepted. */
uint64_t net_prefix_last(const struct net_prefix *p);
void net_addr_at(const struct net_prefix *p, uint64_t off, uint8_t out[16]);
uint64_t net_addr_offset(const struct net_prefix *p, const uint8_t addr[16]);

/* ipam.c: the store of one bridge, locked while open. */
struct ipam {
	int rootfd;
	int dirfd;
	char name[32]; /* ".net@NAME" */
	bool fresh; /* this call made the directory */
};

int ipam_open(int rootfd, const char *bridge, struct ipam *ip, husk_error **err);
void ipam_close(struct ipam *ip);
/* Adopts the recorded network, or records cfg when there is none yet. */
int ipam_settle(struct ipam *ip, struct net_config *cfg, husk_error **err);
int ipam_alloc(struct ipam *ip, const struct net_prefix *p, const char *id,
	       uint8_t out[16], husk_error **err);
/* Unlinks <address> if id owns it. */
int ipam_release(struct ipam *ip, int family, const uint8_t addr[16], const char *id,
		 husk_error **err);
/* Removes the directory again when this call made it and nothing is held. */
void ipam_abandon(struct ipam *ip);

/* nl.c: one rtnetlink socket, in the namespace it was opened in. All return
 * 0 or -errno. */
struct mnl_socket;
struct nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
};

struct nl_link {
	int index;
	char kind[16]; /* IFLA_INFO_KIND, "" when none */
	char alias[256];
	/* The peer's namespace as ours numbers it: -1 once it is being torn
	 * down (the kernel then deletes the pair itself); INT_MIN without a
	 * peer elsewhere. */
	int peer_nsid;
};

struct nl_veth {
	const char *name;
	int master;
	unsigned mtu;
	const char *peer;
	const uint8_t *peer_mac;
	int peer_nsfd;
};

int nl_open(struct nl *nl);
/* Opens the socket inside the network namespace nsfd, staying in ours. */
int nl_open_in(struct nl *nl, int nsfd);
void nl_close(struct nl *nl);
int nl_link_get(struct nl *nl, const char *name, struct nl_link *out);
int nl_link_del(struct nl *nl, const char *name);
/* 1 while the namespace our nsid names is held by anything, 0 once not. */
int nl_nsid_alive(struct nl *nl, int nsid);
int nl_link_up(struct nl *nl, int index, const char *alias);
int nl_bridge_add(struct nl *nl, const char *name, const uint8_t mac[6], unsigned mtu);
int nl_veth_add(struct nl *nl, const struct nl_veth *v);
/* Into the bridge master with the MTU, up. */
int nl_link_enslave(struct nl *nl, int index, int master, unsigned mtu);
int nl_addr_add(struct nl *nl, int index, const struct net_prefix *p, const uint8_t *addr);
int nl_route_default(struct nl *nl, int index, const struct net_prefix *p);

/* attach.c: one container's attach, veth or tap. */
struct attach {
	struct net_config cfg;
	const struct container_state *st;
	const char *link_key; /* "veth" or "tap": its key in state.network */
	char link[IFNAMSIZ];  /* the host's end */
	uint8_t ip4[16], ip6[16];
	char alias[256];
	int nsfd;
};

/* The selection, the bridge's alias and the link's name; a->cfg.enabled
 * false when nothing is selected. kind: "veth" or "tap". */
int attach_prepare(struct attach *a, int rootfd, const struct container_state *st,
		   const struct spec *s, const char *flag, const char *kind, husk_error **err);
/* The addresses and the bridge (made when missing), undone on failure. */
int attach_reserve(struct nl *nl, struct attach *a, int rootfd, int *bridge, husk_error **err);
/* state.network, and the annotations into ann when not NULL. */
struct json_object *attach_record(const struct attach *a, struct json_object *ann);
/* The container's MAC: 0a:58 and the last 4 bytes of its first address. */
void attach_mac(const struct attach *a, uint8_t mac[6]);

/* tap.c */
int tap_remove(const char *name, husk_error **err);

#endif
