/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --network selection, its subnets and address arithmetic: parsing only,
 * no side effects, so that bad input fails before anything is made. */
#include "netns_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

#define SELECTION_SYNTAX "none or bridge[=NAME][,subnet=CIDR][,mtu=N]"

/* Past 2^32 addresses a pool never fills up: keep offsets small. */
#define HOST_BITS_MAX 32

size_t net_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

uint64_t net_prefix_last(const struct net_prefix *p)
{
	unsigned bits = (unsigned)net_addr_len(p->family) * 8 - p->plen;
	if (bits > HOST_BITS_MAX)
		bits = HOST_BITS_MAX;
	uint64_t size = (uint64_t)1 << bits;
	/* IPv4 keeps its broadcast address; IPv6 has none. */
	return p->family == AF_INET ? size - 2 : size - 1;
}

void net_addr_at(const struct net_prefix *p, uint64_t off, uint8_t out[16])
{
	size_t len = net_addr_len(p->family);
	unsigned carry = 0;

	memcpy(out, p->net, 16);
	for (size_t i = len; i-- > 0;) {
		unsigned sum = out[i] + (unsigned)(off & 0xff) + carry;
		out[i] = (uint8_t)sum;
		carry = sum >> 8;
		off >>= 8;
	}
}

uint64_t net_addr_offset(const struct net_prefix *p, const uint8_t addr[16])
{
	size_t len = net_addr_len(p->family);
	uint64_t off = 0;

	/* Host bits only, the low 8 bytes at most. */
	for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
		off = off << 8 | (uint8_t)(addr[i] - p->net[i]);
	return off;
}

static void mask_bits(uint8_t *a, size_t len, unsigned plen, bool keep_host)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t netmask = plen >= first + 8 ? 0xff
				  : plen <= first   ? 0
						    : (uint8_t)(0xff << (8 - (plen - first)));
		a[i] &= keep_host ? (uint8_t)~netmask : netmask;
	}
}

static bool all_zero(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i])
			return false;
	return true;
}

/* Loopback, multicast, link-local and "this network" cannot be a bridge's. */
static bool unicast_range(const struct net_prefix *p)
{
	const uint8_t *a = p->net;
	if (p->family == AF_INET)
		return a[0] != 0 && a[0] != 127 && a[0] < 224 && !(a[0] == 169 && a[1] == 254);
	return a[0] != 0xff && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80) &&
	       !all_zero(a, 16);
}

static int parse_plen(const char *s, unsigned max, unsigned *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int net_prefix_parse(const char *text, struct net_prefix *p, const char *source,
		     husk_error **err)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : 0;

	memset(p, 0, sizeof(*p));
	if (!slash || n == 0 || n >= sizeof(addr))
		return husk_fail(err, 0, "%s: subnet \"%s\": expected ADDRESS/PREFIXLEN", source, text);
	memcpy(addr, text, n);
	addr[n] = '\0';
	p->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, addr, p->gateway) != 1)
		return husk_fail(err, 0, "%s: subnet \"%s\": \"%s\" is not an IP address", source, text, addr);
	unsigned bits = (unsigned)net_addr_len(p->family) * 8;
	if (parse_plen(slash + 1, bits, &p->plen) < 0 || p->plen < 1 || p->plen > bits - 2)
		return husk_fail(err, 0, "%s: subnet \"%s\": the prefix length must be 1-%u for %s",
				 source, text, bits - 2, p->family == AF_INET ? "IPv4" : "IPv6");
	memcpy(p->net, p->gateway, 16);
	mask_bits(p->net, bits / 8, p->plen, false);
	if (!unicast_range(p))
		return husk_fail(err, 0, "%s: subnet \"%s\": not a unicast range a bridge can serve",
				 source, text);
	uint8_t host[16];
	memcpy(host, p->gateway, 16);
	mask_bits(host, bits / 8, p->plen, true);
	if (all_zero(host, bits / 8))
		net_addr_at(p, 1, p->gateway); /* no address given: the first */
	uint64_t off = net_addr_offset(p, p->gateway);
	if (off == 0 || off > net_prefix_last(p))
		return husk_fail(err, 0, "%s: subnet \"%s\": %s cannot be the bridge's address",
				 source, text, addr);
	return 0;
}

void net_prefix_format(const struct net_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "";
	inet_ntop(p->family, p->gateway, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->plen);
}

static int parse_bridge_name(struct net_config *cfg, const char *name, husk_error **err)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n < IFNAMSIZ && strcmp(name, ".") && strcmp(name, "..");
	for (const char *c = name; ok && *c; c++)
		ok = isalnum((unsigned char)*c) || strchr("_.-", *c);
	if (!ok)
		return husk_fail(err, 0, "%s: bridge name \"%s\": 1-%d of [A-Za-z0-9_.-] expected",
				 cfg->source, name, IFNAMSIZ - 1);
	memcpy(cfg->bridge, name, n + 1);
	return 0;
}

static int parse_subnet(struct net_config *cfg, const char *v, husk_error **err)
{
	struct net_prefix p;
	if (net_prefix_parse(v, &p, cfg->source, err) < 0)
		return -1;
	struct net_prefix *slot = p.family == AF_INET ? &cfg->v4 : &cfg->v6;
	if (cfg->given_subnet && slot->family)
		return husk_fail(err, 0, "%s: subnet \"%s\": one %s subnet at most", cfg->source, v,
				 p.family == AF_INET ? "IPv4" : "IPv6");
	if (!cfg->given_subnet)
		memset(&cfg->v4, 0, sizeof(cfg->v4)); /* choosing any drops the default */
	*slot = p;
	cfg->given_subnet = true;
	return 0;
}

static int parse_option(struct net_config *cfg, char *opt, husk_error **err)
{
	char *eq = strchr(opt, '=');
	if (!eq)
		return husk_fail(err, 0, "%s: \"%s\": expected KEY=VALUE", cfg->source, opt);
	*eq = '\0';
	const char *v = eq + 1;
	if (!strcmp(opt, "subnet"))
		return parse_subnet(cfg, v, err);
	if (!strcmp(opt, "mtu")) {
		char *end;
		unsigned long mtu = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || mtu < 68 || mtu > 65535)
			return husk_fail(err, 0, "%s: mtu \"%s\": 68-65535 expected", cfg->source, v);
		cfg->mtu = (unsigned)mtu;
		cfg->given_mtu = true;
		return 0;
	}
	return husk_fail(err, 0, "%s: unknown option \"%s\" (subnet, mtu)", cfg->source, opt);
}

static int parse_selection(struct net_config *cfg, const char *value, husk_error **err)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	char *first = copy ? strtok_r(copy, ",", &save) : NULL;

	if (!first || (strcmp(first, "bridge") && strncmp(first, "bridge=", 7)))
		return husk_fail(err, 0, "%s: \"%s\": expected %s", cfg->source, value, SELECTION_SYNTAX);
	cfg->enabled = true;
	cfg->mtu = NETNS_DEFAULT_MTU;
	if (parse_bridge_name(cfg, first[6] ? first + 7 : NETNS_DEFAULT_BRIDGE, err) < 0 ||
	    net_prefix_parse(NETNS_DEFAULT_SUBNET, &cfg->v4, cfg->source, err) < 0)
		return -1;
	for (char *opt; (opt = strtok_r(NULL, ",", &save));)
		if (parse_option(cfg, opt, err) < 0)
			return -1;
	return 0;
}

static int check_namespaces(const struct spec *s, const struct net_config *cfg, husk_error **err)
{
	const struct spec_namespace *net = spec_find_namespace(s, CLONE_NEWNET);
	const struct spec_namespace *user = spec_find_namespace(s, CLONE_NEWUSER);

	if (!net || net->path)
		return husk_fail(err, 0, "%s: the container needs a new network namespace: "
				 "linux.namespaces has %s", cfg->source,
				 net ? "a network namespace path to join" : "no network namespace");
	if (user && user->path)
		return husk_fail(err, 0, "%s: cannot be used with a joined user namespace "
				 "(linux.namespaces: user has a path)", cfg->source);
	return 0;
}

int net_select(const struct spec *s, const char *flag, struct net_config *cfg, husk_error **err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->source = "--network";
	const char *value = flag;
	if (!value) {
		value = spec_annotation(s, NETNS_ANNOTATION);
		cfg->source = "config.json: annotations[\"" NETNS_ANNOTATION "\"]";
	}
	if (!value || !strcmp(value, "none"))
		return 0;
	if (parse_selection(cfg, value, err) < 0)
		return -1;
	return check_namespaces(s, cfg, err);
}

int netns_validate(const struct spec *s, const char *flag, husk_error **err)
{
	struct net_config cfg;
	return net_select(s, flag, &cfg, err);
}
