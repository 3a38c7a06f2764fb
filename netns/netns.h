/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --network: a working network in one flag for people who run a bundle by
 * hand. Engines bring their own (CNI) and never select it: without a
 * selection husk does exactly what linux.namespaces says.
 *
 * Selection: `--network VALUE` on create/run, else the config.json
 * annotation "io.husk.network" (the flag wins, even as "none"):
 *
 *     none | bridge[=NAME][,subnet=CIDR][,subnet=CIDR6][,mtu=N]
 *
 * NAME defaults to "husk0", the subnet to 10.88.0.1/16 (podman's), mtu to
 * 1500. A CIDR with host bits set names the bridge's own address (the
 * containers' gateway); without them the gateway is the first address. One
 * IPv4 and one IPv6 subnet at most; giving any replaces the default.
 *
 * What attach makes, all over rtnetlink (libmnl), in the network namespace
 * husk runs in (the "host") unless said otherwise:
 *   - the bridge, when missing: the gateway addresses, a MAC derived from
 *     them, the MTU, up; its ifalias names the --root that made it, and a
 *     bridge made by another --root is refused (their address stores would
 *     hand out the same addresses);
 *   - a veth pair: "vh<hash of root and id>" on the bridge, up; its peer
 *     created directly inside the container's (new) network namespace as
 *     eth0, with a MAC derived from its IPv4 address (so a reused address
 *     never meets a stale neighbour entry) and the MTU;
 *   - inside the container: lo and eth0 up, the addresses (IPv6 without
 *     DAD, usable at once), default routes via the gateway.
 *
 * Addresses come from a store under the state root, one directory per
 * bridge, guarded by flock() on that directory:
 *     <root>/.net@NAME/network.json   the subnets and MTU, fixed by the
 *                                     first container on the bridge
 *     <root>/.net@NAME/<address>      one file per address in use,
 *                                     holding the owner's container id
 *     <root>/.net@NAME/last4, last6   where the next search starts
 * ("@" is not allowed in container ids, and `list` skips dot names.)
 * Addresses are handed out round robin; when a pool looks full, addresses
 * whose owner has no state directory any more are reclaimed first.
 *
 * Micro-VM mode (vm/) takes the same selection and the same store, with a
 * tap device in place of the veth pair (netns_attach_tap): "tp<the same
 * hash>", made by TUNSETIFF on /dev/net/tun (a tap, no packet info, virtio
 * net headers), not persistent, so that it vanishes with its last fd (QEMU's:
 * a dead QEMU leaves nothing behind); on the bridge with the MTU, up. The
 * guest's side (eth0, its MAC, addresses, routes) is the guest agent's to
 * configure from struct netns_guest.
 *
 * The result is recorded in the container's state (state.network, below)
 * and shown in its annotations: io.husk.network.{bridge,ipv4,ipv6,mac}.
 * The bridge stays when its last container goes, as podman's does.
 *
 * Every error names the setting it comes from ("--network: subnet
 * \"10.0.0.0/33\": ..."); a failing attach leaves nothing behind.
 */
#ifndef HUSK_NETNS_NETNS_H
#define HUSK_NETNS_NETNS_H

#include "../spec/spec.h"
#include "../spec/state.h"

#define NETNS_ANNOTATION "io.husk.network"

/* Before anything is created: the selection parses, and a selected network
 * has a new network namespace to go into (not a joined one, and not one
 * inside a joined user namespace, which the init only makes after SYNC_GO).
 * flag is --network's value, NULL when not given. */
int netns_validate(const struct spec *s, const char *flag, husk_error **err);

/* After the init is cloned (its network namespace exists, st->pid is set)
 * and before SYNC_GO. rootfd is the state root. Without a selection, does
 * nothing. On success sets st->network and adds the annotations; on
 * failure leaves nothing behind and st->network NULL. */
int netns_attach(int rootfd, struct container_state *st, const struct spec *s,
		 const char *flag, husk_error **err);

/* What the guest of a micro-VM needs to know. Text, as CREATE carries it
 * (vm/proto.h); "" for a family the bridge does not serve. */
struct netns_guest {
	int tap_fd;            /* the tap's queue, O_CLOEXEC; -1: no network */
	char mac[18];          /* the guest's eth0, derived as a veth peer's */
	unsigned mtu;
	char ipv4[64], gateway4[48]; /* "10.88.0.2/16", "10.88.0.1" */
	char ipv6[64], gateway6[48];
};

/* netns_attach() for a micro-VM, before its monitor is forked: the address,
 * the bridge when missing, the tap on it. Without a selection sets
 * g->tap_fd to -1 and does nothing else. On success sets st->network, adds
 * the annotations and hands the tap's fd to the caller; on failure leaves
 * nothing behind. */
int netns_attach_tap(int rootfd, struct container_state *st, const struct spec *s,
		     const char *flag, struct netns_guest *g, husk_error **err);

/* Undoes netns_attach() from st->network (nothing when NULL), once the init
 * is dead: returns the addresses, and the host's veth or tap. A tap goes
 * with QEMU's fd, and is deleted here if it is still there. A veth goes with
 * the container's namespace when nothing else holds it (waited for, up to
 * 20 ms: deleting a link ourselves costs 15-35 ms of RCU grace periods),
 * and is deleted here otherwise. Safe to repeat; works after a create was
 * killed midway. */
int netns_detach(int rootfd, const struct container_state *st, husk_error **err);

#endif
