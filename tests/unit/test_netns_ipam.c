/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns/ipam.c: the address store, in a temporary state root. No links and
 * no namespaces are touched. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../netns/netns_internal.h"
#include "unit.h"

static char root[] = "/tmp/husk-unit-ipam-XXXXXX";
static int rootfd = -1;

static struct net_config config(const char *subnet)
{
	struct net_config cfg = { .source = "--network", .enabled = true, .mtu = 1500,
				  .given_subnet = true };
	husk_error *err = NULL;
	strcpy(cfg.bridge, "br-test");
	if (net_prefix_parse(subnet, &cfg.v4, "--network", &err) < 0)
		abort();
	if (cfg.v4.family == AF_INET6) {
		cfg.v6 = cfg.v4;
		memset(&cfg.v4, 0, sizeof(cfg.v4));
	}
	return cfg;
}

/* Opens the store, settles cfg, allocates one address for id: its text, or
 * the error message. */
static char *alloc_one(struct net_config *cfg, const char *id)
{
	struct ipam ip;
	husk_error *err = NULL;
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN] = "";
	const struct net_prefix *p = cfg->v4.family ? &cfg->v4 : &cfg->v6;

	if (ipam_open(rootfd, cfg->bridge, &ip, &err) == 0 && ipam_settle(&ip, cfg, &err) == 0 &&
	    ipam_alloc(&ip, p, id, a, &err) == 0)
		inet_ntop(p->family, a, text, sizeof(text));
	ipam_close(&ip);
	if (err) {
		char *msg = strdup(err->msg);
		husk_error_free(&err);
		return msg;
	}
	return strdup(text);
}

static void release_one(const char *bridge, int family, const char *addr, const char *id)
{
	struct ipam ip;
	husk_error *err = NULL;
	uint8_t a[16];
	CHECK(inet_pton(family, addr, a) == 1);
	CHECK(ipam_open(rootfd, bridge, &ip, &err) == 0);
	CHECK(ipam_release(&ip, family, a, id, &err) == 0);
	ipam_close(&ip);
	CHECK(err == NULL);
}

static void check_alloc(struct net_config *cfg, const char *id, const char *want)
{
	char *got = alloc_one(cfg, id);
	CHECK_STR(got, want);
	free(got);
}

static void make_owner(const char *id)
{
	mkdirat(rootfd, id, 0700);
}

static void test_round_robin(void)
{
	struct net_config cfg = config("10.50.0.0/29"); /* hosts .1-.6, .1 the gateway */
	make_owner("a");
	make_owner("b");
	check_alloc(&cfg, "a", "10.50.0.2");
	check_alloc(&cfg, "a", "10.50.0.3");
	check_alloc(&cfg, "b", "10.50.0.4");
	release_one("br-test", AF_INET, "10.50.0.3", "b"); /* not b's: kept */
	release_one("br-test", AF_INET, "10.50.0.3", "a");
	check_alloc(&cfg, "a", "10.50.0.5"); /* no immediate reuse */
	check_alloc(&cfg, "a", "10.50.0.6");
	check_alloc(&cfg, "a", "10.50.0.3"); /* wrapped past the broadcast and gateway */
	check_alloc(&cfg, "a", "subnet 10.50.0.1/29 of bridge br-test: no free address left (5 in use)");
	struct stat st;
	CHECK(fstatat(rootfd, ".net@br-test/10.50.0.4", &st, 0) == 0);
}

static void test_settle(void)
{
	struct net_config other = config("10.60.0.0/24");
	char *got = alloc_one(&other, "a");
	CHECK_STR(got, "--network: subnet 10.60.0.1/24: bridge br-test already serves 10.50.0.1/29 "
		       "(remove the bridge and .net@br-test to change it)");
	free(got);

	struct net_config dflt = config("10.60.0.0/24");
	dflt.given_subnet = false; /* no subnet chosen: the recorded one holds */
	char *freed = alloc_one(&dflt, "a");
	CHECK_STR(freed, "subnet 10.50.0.1/29 of bridge br-test: no free address left (5 in use)");
	free(freed);
	CHECK(dflt.v4.plen == 29);

	struct net_config mtu = config("10.50.0.0/29");
	mtu.given_mtu = true;
	mtu.mtu = 9000;
	check_alloc(&mtu, "a", "--network: mtu 9000: bridge br-test already uses 1500");
}

static void test_reclaim(void)
{
	/* "b" is gone without a delete: its address goes back to the pool
	 * once the pool is full, not before. */
	unlinkat(rootfd, "b", AT_REMOVEDIR);
	struct net_config cfg = config("10.50.0.0/29");
	check_alloc(&cfg, "a", "10.50.0.4");
}

static void test_v6_and_abandon(void)
{
	struct net_config cfg = config("fd00:50::/120");
	strcpy(cfg.bridge, "br-six");
	check_alloc(&cfg, "a", "fd00:50::2");
	release_one("br-six", AF_INET6, "fd00:50::2", "a");

	struct ipam ip;
	husk_error *err = NULL;
	struct stat st;
	CHECK(ipam_open(rootfd, "br-gone", &ip, &err) == 0 && ip.fresh);
	ipam_abandon(&ip);
	ipam_close(&ip);
	CHECK(fstatat(rootfd, ".net@br-gone", &st, 0) < 0);
	CHECK(ipam_open(rootfd, "br-six", &ip, &err) == 0 && !ip.fresh);
	ipam_abandon(&ip); /* not made by this call: stays */
	ipam_close(&ip);
	CHECK(fstatat(rootfd, ".net@br-six/network.json", &st, 0) == 0);
	CHECK(err == NULL);
}

/* 16 processes take 4 addresses each, all at once: 64 distinct ones. */
static void test_parallel(void)
{
	struct net_config cfg = config("10.70.0.0/24");
	strcpy(cfg.bridge, "br-par");
	int pipefd[2];
	CHECK(pipe(pipefd) == 0);
	for (int i = 0; i < 16; i++) {
		if (fork() != 0)
			continue;
		for (int k = 0; k < 4; k++) {
			char *a = alloc_one(&cfg, "p");
			dprintf(pipefd[1], "%s\n", a);
			free(a);
		}
		_exit(0);
	}
	close(pipefd[1]);
	while (wait(NULL) > 0)
		;
	char buf[4096] = "";
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	buf[n > 0 ? n : 0] = '\0';
	int count = 0, seen[256] = { 0 }, dup = 0;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned a, b, c, d;
		count++;
		if (sscanf(line, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && d < 256)
			dup += seen[d]++ > 0;
		else
			dup++;
	}
	CHECK(count == 64);
	CHECK(dup == 0);
}

static void remove_tree(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

int main(void)
{
	if (!mkdtemp(root) || (rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	test_round_robin();
	test_settle();
	test_reclaim();
	test_v6_and_abandon();
	test_parallel();
	close(rootfd);
	remove_tree();
	return unit_summary("netns_ipam");
}
