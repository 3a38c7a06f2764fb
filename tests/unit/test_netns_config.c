/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns/config.c: the --network selection, subnets and address arithmetic.
 * Pure parsing: no sockets, no files. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../netns/netns_internal.h"
#include "unit.h"

/* A config with a new network namespace, and optional extra JSON. */
static struct spec *spec_with(const char *namespaces, const char *annotation)
{
	char text[2048];
	husk_error *err = NULL;
	snprintf(text, sizeof(text),
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
		 "%s%s%s"
		 "\"linux\":{\"namespaces\":[%s]}}",
		 annotation ? "\"annotations\":{\"io.husk.network\":\"" : "",
		 annotation ? annotation : "", annotation ? "\"}," : "", namespaces);
	struct spec *s = spec_parse(text, strlen(text), &err);
	if (!s)
		fprintf(stderr, "spec: %s\n", err->msg);
	husk_error_free(&err);
	return s;
}

#define NEW_NET "{\"type\":\"mount\"},{\"type\":\"network\"}"

/* The selection as "bridge subnet4 subnet6 mtu", or the error message. */
static char *select_text(const struct spec *s, const char *flag)
{
	struct net_config cfg;
	husk_error *err = NULL;
	char *out = NULL, v4[64] = "-", v6[64] = "-";

	if (net_select(s, flag, &cfg, &err) < 0) {
		out = strdup(err->msg);
		husk_error_free(&err);
		return out;
	}
	if (!cfg.enabled)
		return strdup("none");
	if (cfg.v4.family)
		net_prefix_format(&cfg.v4, v4, sizeof(v4));
	if (cfg.v6.family)
		net_prefix_format(&cfg.v6, v6, sizeof(v6));
	if (asprintf(&out, "%s %s %s %u", cfg.bridge, v4, v6, cfg.mtu) < 0)
		abort();
	return out;
}

static void test_selection(void)
{
	static const char *const cases[][2] = {
		{ "bridge", "husk0 10.88.0.1/16 - 1500" },
		{ "bridge=br1", "br1 10.88.0.1/16 - 1500" },
		{ "bridge=br1,subnet=10.89.3.0/24", "br1 10.89.3.1/24 - 1500" },
		{ "bridge,subnet=10.89.3.7/24,mtu=1400", "husk0 10.89.3.7/24 - 1400" },
		{ "bridge,subnet=fd00:1::/64", "husk0 - fd00:1::1/64 1500" },
		{ "bridge,subnet=fd00:1::/64,subnet=10.1.0.0/16", "husk0 10.1.0.1/16 fd00:1::1/64 1500" },
		{ "none", "none" },
		{ "bridged", "--network: \"bridged\": expected none or bridge[=NAME][,subnet=CIDR][,mtu=N]" },
		{ "", "--network: \"\": expected none or bridge[=NAME][,subnet=CIDR][,mtu=N]" },
		{ "bridge=", "--network: bridge name \"\": 1-15 of [A-Za-z0-9_.-] expected" },
		{ "bridge=a/b", "--network: bridge name \"a/b\": 1-15 of [A-Za-z0-9_.-] expected" },
		{ "bridge=abcdefghijklmnop", "--network: bridge name \"abcdefghijklmnop\": 1-15 of [A-Za-z0-9_.-] expected" },
		{ "bridge,subnet=10.0.0.0/33", "--network: subnet \"10.0.0.0/33\": the prefix length must be 1-30 for IPv4" },
		{ "bridge,subnet=10.0.0.0/31", "--network: subnet \"10.0.0.0/31\": the prefix length must be 1-30 for IPv4" },
		{ "bridge,subnet=10.0.0.0", "--network: subnet \"10.0.0.0\": expected ADDRESS/PREFIXLEN" },
		{ "bridge,subnet=10.0.0.0/x", "--network: subnet \"10.0.0.0/x\": the prefix length must be 1-30 for IPv4" },
		{ "bridge,subnet=10.0.300.0/16", "--network: subnet \"10.0.300.0/16\": \"10.0.300.0\" is not an IP address" },
		{ "bridge,subnet=10.0.0.255/24", "--network: subnet \"10.0.0.255/24\": 10.0.0.255 cannot be the bridge's address" },
		{ "bridge,subnet=127.0.0.0/8", "--network: subnet \"127.0.0.0/8\": not a unicast range a bridge can serve" },
		{ "bridge,subnet=224.0.0.0/24", "--network: subnet \"224.0.0.0/24\": not a unicast range a bridge can serve" },
		{ "bridge,subnet=fe80::/64", "--network: subnet \"fe80::/64\": not a unicast range a bridge can serve" },
		{ "bridge,subnet=fd00::/127", "--network: subnet \"fd00::/127\": the prefix length must be 1-126 for IPv6" },
		{ "bridge,subnet=10.1.0.0/16,subnet=10.2.0.0/16", "--network: subnet \"10.2.0.0/16\": one IPv4 subnet at most" },
		{ "bridge,mtu=67", "--network: mtu \"67\": 68-65535 expected" },
		{ "bridge,mtu=", "--network: mtu \"\": 68-65535 expected" },
		{ "bridge,port=80", "--network: unknown option \"port\" (subnet, mtu)" },
		{ "bridge,mtu", "--network: \"mtu\": expected KEY=VALUE" },
	};
	struct spec *s = spec_with(NEW_NET, NULL);
	for (size_t i = 0; s && i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = select_text(s, cases[i][0]);
		CHECK_STR(got, cases[i][1]);
		free(got);
	}
	spec_free(s);
}

static void check_select(const struct spec *s, const char *flag, const char *want)
{
	char *got = select_text(s, flag);
	CHECK_STR(got, want);
	free(got);
}

static void test_sources(void)
{
	struct spec *plain = spec_with(NEW_NET, NULL);
	struct spec *ann = spec_with(NEW_NET, "bridge=fromconfig");
	struct spec *bad = spec_with(NEW_NET, "bridge,mtu=1");
	struct spec *joined = spec_with("{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}", NULL);
	struct spec *none = spec_with("{\"type\":\"mount\"}", NULL);
	struct spec *juser = spec_with(NEW_NET ",{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}", NULL);

	check_select(plain, NULL, "none");
	check_select(ann, NULL, "fromconfig 10.88.0.1/16 - 1500");
	check_select(ann, "bridge", "husk0 10.88.0.1/16 - 1500"); /* the flag wins */
	check_select(ann, "none", "none");
	check_select(bad, NULL, "config.json: annotations[\"io.husk.network\"]: mtu \"1\": 68-65535 expected");
	check_select(joined, "bridge", "--network: the container needs a new network namespace: "
		     "linux.namespaces has a network namespace path to join");
	check_select(none, "bridge", "--network: the container needs a new network namespace: "
		     "linux.namespaces has no network namespace");
	check_select(juser, "bridge", "--network: cannot be used with a joined user namespace "
		     "(linux.namespaces: user has a path)");
	check_select(none, NULL, "none");
	spec_free(plain);
	spec_free(ann);
	spec_free(bad);
	spec_free(joined);
	spec_free(none);
	spec_free(juser);
}

static void check_addr(const struct net_prefix *p, uint64_t off, const char *want)
{
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	net_addr_at(p, off, a);
	inet_ntop(p->family, a, text, sizeof(text));
	CHECK_STR(text, want);
}

static void test_arithmetic(void)
{
	struct net_prefix p;
	husk_error *err = NULL;

	CHECK(net_prefix_parse("10.88.0.1/16", &p, "x", &err) == 0);
	CHECK(net_prefix_last(&p) == 65534);
	check_addr(&p, 2, "10.88.0.2");
	check_addr(&p, 256, "10.88.1.0");
	check_addr(&p, 65535, "10.88.255.255");
	CHECK(net_addr_offset(&p, p.gateway) == 1);

	CHECK(net_prefix_parse("192.168.7.9/30", &p, "x", &err) == 0);
	check_addr(&p, 0, "192.168.7.8");
	CHECK(net_prefix_last(&p) == 2);
	CHECK(net_addr_offset(&p, p.gateway) == 1);

	CHECK(net_prefix_parse("fd00:1::/64", &p, "x", &err) == 0);
	CHECK(net_prefix_last(&p) == 0xffffffffULL); /* capped at 2^32 hosts */
	check_addr(&p, 0x10002, "fd00:1::1:2");
	CHECK(net_prefix_parse("fd00:1::ff/120", &p, "x", &err) == 0);
	CHECK(net_prefix_last(&p) == 255);
	CHECK(net_addr_offset(&p, p.gateway) == 255);
	CHECK(err == NULL);
}

int main(void)
{
	test_selection();
	test_sources();
	test_arithmetic();
	return unit_summary("netns_config");
}
