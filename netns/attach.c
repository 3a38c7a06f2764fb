/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Putting a container on its bridge (netns_attach) and taking it off again
 * (netns_detach); see netns.h for what is made where. */
#include "netns_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"

#define ALIAS_PREFIX "husk --root "
#define VETH_WAIT_MS 20

/* Locally administered, derived from an address: 0a:58:a.b.c.d. */
static void mac_for(const struct net_prefix *p, const uint8_t *addr, uint8_t mac[6])
{
	size_t len = net_addr_len(p->family);
	mac[0] = 0x0a;
	mac[1] = 0x58;
	memcpy(mac + 2, addr + len - 4, 4);
}

/* A prefix ("vh", "tp") and 48 bits of FNV-1a over the state root's inode
 * and the id: the same container always gets the same name, and no other
 * one does. */
static int link_name(int rootfd, const char *id, const char *prefix, char out[IFNAMSIZ])
{
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return -1;
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t key[2] = { st.st_dev, st.st_ino };
	const unsigned char *k = (const unsigned char *)key;
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	for (const char *c = id; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	snprintf(out, IFNAMSIZ, "%s%012llx", prefix, (unsigned long long)(h & 0xffffffffffffULL));
	return 0;
}

static void root_alias(int rootfd, char *out, size_t len)
{
	char proc[64], path[200];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rootfd);
	ssize_t n = readlink(proc, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	snprintf(out, len, ALIAS_PREFIX "%s", path);
}

static int bridge_check(const struct attach *a, const struct nl_link *l, husk_error **err)
{
	const char *name = a->cfg.bridge;
	if (strcmp(l->kind, "bridge"))
		return husk_fail(err, 0, "%s: bridge \"%s\": that name is taken by %s%s%s, not a bridge",
				 a->cfg.source, name, *l->kind ? "a " : "another interface",
				 l->kind, *l->kind ? " interface" : "");
	if (!strncmp(l->alias, ALIAS_PREFIX, strlen(ALIAS_PREFIX)) && strcmp(l->alias, a->alias))
		return husk_fail(err, 0, "%s: bridge \"%s\" belongs to `%s`: its addresses come "
				 "from that root's store; use another bridge name", a->cfg.source,
				 name, l->alias);
	return 0;
}

/* Before anything is written: a name taken by a non-bridge is refused. */
static int bridge_precheck(struct nl *nl, const struct attach *a, husk_error **err)
{
	struct nl_link l;
	int r = nl_link_get(nl, a->cfg.bridge, &l);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return husk_fail(err, -r, "%s: bridge \"%s\": look up", a->cfg.source, a->cfg.bridge);
	return bridge_check(a, &l, err);
}

static int bridge_ensure(struct nl *nl, const struct attach *a, int *index, husk_error **err)
{
	const struct net_prefix *p = a->cfg.v4.family ? &a->cfg.v4 : &a->cfg.v6;
	const char *name = a->cfg.bridge;
	bool made = false;
	struct nl_link l;
	uint8_t mac[6];

	int r = nl_link_get(nl, name, &l);
	if (r == -ENODEV) {
		mac_for(p, p->gateway, mac);
		r = nl_bridge_add(nl, name, mac, a->cfg.mtu);
		made = r == 0;
		if (r == 0 || r == -EEXIST) /* or a parallel create made it */
			r = nl_link_get(nl, name, &l);
	}
	if (r < 0)
		return husk_fail(err, -r, "%s: bridge \"%s\": create", a->cfg.source, name);
	if (bridge_check(a, &l, err) < 0)
		return -1;
	const struct net_prefix *nets[] = { &a->cfg.v4, &a->cfg.v6 };
	for (size_t i = 0; i < ARRAY_SIZE(nets) && r == 0; i++)
		if (nets[i]->family && (r = nl_addr_add(nl, l.index, nets[i], nets[i]->gateway)) == -EEXIST)
			r = 0;
	if (r == 0)
		r = nl_link_up(nl, l.index, made ? a->alias : NULL);
	if (r < 0) {
		if (made) /* nothing left behind */
			nl_link_del(nl, name);
		return husk_fail(err, -r, "%s: bridge \"%s\": address and bring up", a->cfg.source, name);
	}
	*index = l.index;
	return 0;
}

/* Under the store's lock: the addresses, and the bridge on first use. */
static int reserve(struct nl *nl, struct attach *a, int rootfd, int *bridge, husk_error **err)
{
	struct ipam ip;
	const char *id = a->st->id;
	if (ipam_open(rootfd, a->cfg.bridge, &ip, err) < 0)
		return husk_error_wrap(err, "%s", a->cfg.source);
	bool got4 = false, got6 = false;
	int r = ipam_settle(&ip, &a->cfg, err);
	if (r == 0 && a->cfg.v4.family && !(got4 = ipam_alloc(&ip, &a->cfg.v4, id, a->ip4, err) == 0))
		r = husk_error_wrap(err, "%s", a->cfg.source);
	if (r == 0 && a->cfg.v6.family && !(got6 = ipam_alloc(&ip, &a->cfg.v6, id, a->ip6, err) == 0))
		r = husk_error_wrap(err, "%s", a->cfg.source);
	if (r == 0)
		r = bridge_ensure(nl, a, bridge, err);
	if (r < 0) {
		if (got4)
			ipam_release(&ip, AF_INET, a->ip4, id, NULL);
		if (got6)
			ipam_release(&ip, AF_INET6, a->ip6, id, NULL);
		ipam_abandon(&ip);
	}
	ipam_close(&ip);
	return r;
}

static int veth_make(struct nl *nl, const struct attach *a, int bridge, husk_error **err)
{
	uint8_t mac[6];
	const struct net_prefix *p = a->cfg.v4.family ? &a->cfg.v4 : &a->cfg.v6;
	mac_for(p, a->cfg.v4.family ? a->ip4 : a->ip6, mac);
	const struct nl_veth v = {
		.name = a->link, .master = bridge, .mtu = a->cfg.mtu,
		.peer = "eth0", .peer_mac = mac, .peer_nsfd = a->nsfd,
	};
	int r = nl_veth_add(nl, &v);
	if (r == -EEXIST && nl_link_del(nl, a->link) == 0) /* a lost create's, same id */
		r = nl_veth_add(nl, &v);
	if (r < 0)
		return husk_fail(err, -r, "%s: veth %s on bridge %s", a->cfg.source, a->link,
				 a->cfg.bridge);
	return 0;
}

static int inside_family(struct nl *nl, int eth, const struct net_prefix *p, const uint8_t *addr,
			 const char **step)
{
	if (!p->family)
		return 0;
	*step = "eth0 address";
	int r = nl_addr_add(nl, eth, p, addr);
	if (r == 0)
		*step = "default route";
	return r ? r : nl_route_default(nl, eth, p);
}

static int configure_inside(const struct attach *a, husk_error **err)
{
	struct nl nl;
	struct nl_link lo, eth;
	const char *step = "enter the network namespace";
	int r = nl_open_in(&nl, a->nsfd);

	if (r == 0 && (step = "lo up", r = nl_link_get(&nl, "lo", &lo)) == 0)
		r = nl_link_up(&nl, lo.index, NULL);
	if (r == 0 && (step = "eth0 up", r = nl_link_get(&nl, "eth0", &eth)) == 0)
		r = nl_link_up(&nl, eth.index, NULL);
	if (r == 0)
		r = inside_family(&nl, eth.index, &a->cfg.v4, a->ip4, &step);
	if (r == 0)
		r = inside_family(&nl, eth.index, &a->cfg.v6, a->ip6, &step);
	nl_close(&nl);
	return r < 0 ? husk_fail(err, -r, "%s: container %s", a->cfg.source, step) : 0;
}

void attach_mac(const struct attach *a, uint8_t mac[6])
{
	const struct net_prefix *p = a->cfg.v4.family ? &a->cfg.v4 : &a->cfg.v6;
	mac_for(p, a->cfg.v4.family ? a->ip4 : a->ip6, mac);
}

static void annotate(struct json_object *o, struct json_object *ann, const char *key,
		     const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
	if (ann) {
		char name[64];
		snprintf(name, sizeof(name), NETNS_ANNOTATION ".%s", key);
		json_object_object_add(ann, name, json_object_new_string(value));
	}
}

struct json_object *attach_record(const struct attach *a, struct json_object *ann)
{
	struct json_object *o = json_object_new_object();
	const struct net_prefix *nets[] = { &a->cfg.v4, &a->cfg.v6 };
	const uint8_t *addrs[] = { a->ip4, a->ip6 };
	const char *keys[] = { "ipv4", "ipv6" };

	annotate(o, ann, "bridge", a->cfg.bridge);
	json_object_object_add(o, a->link_key, json_object_new_string(a->link));
	for (size_t i = 0; i < 2; i++) {
		char text[INET6_ADDRSTRLEN + 8];
		struct net_prefix p = *nets[i];
		if (!p.family)
			continue;
		memcpy(p.gateway, addrs[i], 16);
		net_prefix_format(&p, text, sizeof(text));
		annotate(o, ann, keys[i], text);
	}
	uint8_t mac[6];
	char text[18];
	attach_mac(a, mac);
	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	annotate(o, ann, "mac", text);
	return o;
}

static int open_container_ns(struct attach *a, husk_error **err)
{
	char path[64];
	struct stat ours, theirs;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", a->st->pid);
	a->nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (a->nsfd < 0 || fstat(a->nsfd, &theirs) < 0 || stat("/proc/self/ns/net", &ours) < 0)
		return husk_fail(err, errno, "%s: open %s", a->cfg.source, path);
	if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
		return husk_fail(err, 0, "%s: the container shares husk's network namespace",
				 a->cfg.source);
	return 0;
}

int attach_reserve(struct nl *nl, struct attach *a, int rootfd, int *bridge, husk_error **err)
{
	if (bridge_precheck(nl, a, err) < 0)
		return -1;
	return reserve(nl, a, rootfd, bridge, err);
}

int attach_prepare(struct attach *a, int rootfd, const struct container_state *st,
		   const struct spec *s, const char *flag, const char *kind, husk_error **err)
{
	*a = (struct attach){ .st = st, .nsfd = -1, .link_key = kind };
	if (net_select(s, flag, &a->cfg, err) < 0)
		return -1;
	if (!a->cfg.enabled)
		return 0;
	root_alias(rootfd, a->alias, sizeof(a->alias));
	if (link_name(rootfd, st->id, strcmp(kind, "tap") ? "vh" : "tp", a->link) < 0)
		return husk_fail(err, errno, "%s: state root", a->cfg.source);
	return 0;
}

static int attach_links(struct attach *a, int rootfd, struct container_state *st,
			husk_error **err)
{
	struct nl nl;
	int bridge = 0, r = nl_open(&nl);
	if (r < 0)
		return husk_fail(err, -r, "%s: rtnetlink socket", a->cfg.source);
	r = attach_reserve(&nl, a, rootfd, &bridge, err);
	if (r == 0) {
		/* From here on netns_detach() can undo it all. */
		st->network = attach_record(a, NULL);
		r = veth_make(&nl, a, bridge, err);
	}
	nl_close(&nl);
	return r;
}

int netns_attach(int rootfd, struct container_state *st, const struct spec *s,
		 const char *flag, husk_error **err)
{
	struct attach a;

	if (attach_prepare(&a, rootfd, st, s, flag, "veth", err) < 0)
		return -1;
	if (!a.cfg.enabled)
		return 0;
	int r = open_container_ns(&a, err);
	if (r == 0)
		r = attach_links(&a, rootfd, st, err);
	if (r == 0)
		r = configure_inside(&a, err);
	if (a.nsfd >= 0)
		close(a.nsfd);
	if (r < 0) {
		netns_detach(rootfd, st, NULL);
		json_object_put(st->network);
		st->network = NULL;
		return -1;
	}
	json_object_put(st->network);
	st->network = attach_record(&a, st->annotations);
	return 0;
}

static const char *record_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Whether the pair goes with the container's namespace anyway: nothing
 * holds that namespace any more (no process, mount or fd). Its init is dead
 * by now; its mounts (sysfs pins the namespace) go within a few ms of it. */
static bool veth_dying(struct nl *nl, const struct nl_link *l)
{
	struct timespec pause = { 0, 500 * 1000 };
	if (l->peer_nsid == -1)
		return true;
	for (int i = 0; l->peer_nsid >= 0 && i < VETH_WAIT_MS * 2; i++) {
		int alive = nl_nsid_alive(nl, l->peer_nsid);
		if (alive <= 0)
			return alive == 0; /* an error: cannot tell, delete it */
		nanosleep(&pause, NULL);
	}
	return false;
}

/* Only a veth: after a lost create the name could be anything's by now.
 * One whose container namespace is gone is the kernel's to delete, with
 * that namespace: deleting it ourselves takes 15-35 ms here (RCU grace
 * periods), where waiting for the namespace to let go takes about 5. */
static int veth_remove(const char *name, husk_error **err)
{
	struct nl nl;
	struct nl_link l;
	int r = nl_open(&nl);
	if (r == 0 && (r = nl_link_get(&nl, name, &l)) == 0 && !strcmp(l.kind, "veth") &&
	    !veth_dying(&nl, &l))
		r = nl_link_del(&nl, name);
	nl_close(&nl);
	if (r < 0 && r != -ENODEV)
		return husk_fail(err, -r, "network: remove veth %s", name);
	return 0;
}

static int release(int rootfd, const char *bridge, const char *id, struct json_object *rec,
		   husk_error **err)
{
	static const char *const keys[] = { "ipv4", "ipv6" };
	struct ipam ip;
	int r = 0;

	if (ipam_open(rootfd, bridge, &ip, err) < 0)
		return husk_error_wrap(err, "network");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char addr[INET6_ADDRSTRLEN];
		uint8_t bin[16];
		const char *text = record_str(rec, keys[i]);
		int family = i == 0 ? AF_INET : AF_INET6;
		size_t n = strcspn(text, "/");
		if (!*text || n >= sizeof(addr))
			continue;
		memcpy(addr, text, n);
		addr[n] = '\0';
		if (inet_pton(family, addr, bin) == 1 && ipam_release(&ip, family, bin, id, err) < 0)
			r = husk_error_wrap(err, "network");
	}
	ipam_abandon(&ip); /* when the store had gone already */
	ipam_close(&ip);
	return r;
}

int netns_detach(int rootfd, const struct container_state *st, husk_error **err)
{
	if (!st->network)
		return 0;
	const char *veth = record_str(st->network, "veth");
	const char *tap = record_str(st->network, "tap");
	const char *bridge = record_str(st->network, "bridge");
	int r = 0;
	if (*veth && veth_remove(veth, err) < 0)
		r = -1;
	if (*tap && tap_remove(tap, err) < 0)
		r = -1;
	if (*bridge && !strchr(bridge, '/') && release(rootfd, bridge, st->id, st->network, err) < 0)
		r = -1;
	return r;
}
