/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The address store of one bridge under the state root (see netns.h): a
 * directory locked with flock() while anyone reads or changes it, one file
 * per address in use. */
#include "netns_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"

#define NETWORK_FILE "network.json"

static int ipam_lock_dir(int rootfd, const char *name, bool *made)
{
	*made = mkdirat(rootfd, name, 0700) == 0;
	if (!*made && errno != EEXIST)
		return -1;
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_nlink == 0) { /* abandoned while we waited: make it anew */
		close(fd);
		errno = EAGAIN;
		return -1;
	}
	return fd;
}

int ipam_open(int rootfd, const char *bridge, struct ipam *ip, husk_error **err)
{
	*ip = (struct ipam){ .rootfd = rootfd, .dirfd = -1 };
	snprintf(ip->name, sizeof(ip->name), NETNS_IPAM_PREFIX "%s", bridge);
	for (int tries = 0; tries < 100; tries++) {
		ip->dirfd = ipam_lock_dir(rootfd, ip->name, &ip->fresh);
		if (ip->dirfd >= 0)
			return 0;
		if (errno != EAGAIN && errno != ENOENT)
			break;
	}
	return husk_fail(err, errno, "address store %s", ip->name);
}

void ipam_close(struct ipam *ip)
{
	if (ip->dirfd >= 0)
		close(ip->dirfd); /* drops the lock */
	ip->dirfd = -1;
}

static int write_file(int dirfd, const char *name, const char *text, int flags)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len) {
		unlinkat(dirfd, name, 0);
		return -1;
	}
	return 0;
}

static char *read_file(int dirfd, const char *name)
{
	char buf[4096];
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* Records the network atomically: a torn network.json would block it. */
static int ipam_record(struct ipam *ip, const struct net_config *cfg, husk_error **err)
{
	char text[256], v4[64] = "", v6[64] = "";
	if (cfg->v4.family)
		net_prefix_format(&cfg->v4, v4, sizeof(v4));
	if (cfg->v6.family)
		net_prefix_format(&cfg->v6, v6, sizeof(v6));
	snprintf(text, sizeof(text), "{\"subnet4\":\"%s\",\"subnet6\":\"%s\",\"mtu\":%u}\n", v4, v6,
		 cfg->mtu);
	if (write_file(ip->dirfd, NETWORK_FILE ".tmp", text, O_TRUNC) < 0 ||
	    renameat(ip->dirfd, NETWORK_FILE ".tmp", ip->dirfd, NETWORK_FILE) < 0)
		return husk_fail(err, errno, "%s: record %s%s/" NETWORK_FILE, cfg->source,
				 NETNS_IPAM_PREFIX, cfg->bridge);
	return 0;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int ipam_adopt(const struct net_config *cfg, struct json_object *o, struct net_config *rec,
		      husk_error **err)
{
	const char *v4 = json_str(o, "subnet4"), *v6 = json_str(o, "subnet6");
	struct json_object *mtu;
	*rec = *cfg;
	memset(&rec->v4, 0, sizeof(rec->v4));
	memset(&rec->v6, 0, sizeof(rec->v6));
	if ((*v4 && net_prefix_parse(v4, &rec->v4, NETWORK_FILE, err) < 0) ||
	    (*v6 && net_prefix_parse(v6, &rec->v6, NETWORK_FILE, err) < 0))
		return -1;
	if (json_object_object_get_ex(o, "mtu", &mtu))
		rec->mtu = (unsigned)json_object_get_int(mtu);
	return 0;
}

static bool prefix_equal(const struct net_prefix *a, const struct net_prefix *b)
{
	return a->family == b->family && (!a->family || (a->plen == b->plen &&
	       !memcmp(a->gateway, b->gateway, net_addr_len(a->family))));
}

static void subnets_text(const struct net_config *cfg, char *buf, size_t len)
{
	char v4[64] = "", v6[64] = "";
	if (cfg->v4.family)
		net_prefix_format(&cfg->v4, v4, sizeof(v4));
	if (cfg->v6.family)
		net_prefix_format(&cfg->v6, v6, sizeof(v6));
	snprintf(buf, len, "%s%s%s", v4, *v4 && *v6 ? " and " : "", v6);
}

int ipam_settle(struct ipam *ip, struct net_config *cfg, husk_error **err)
{
	_cleanup_free_ char *text = read_file(ip->dirfd, NETWORK_FILE);
	if (!text)
		return errno == ENOENT ? ipam_record(ip, cfg, err)
				       : husk_fail(err, errno, "%s: read %s%s/" NETWORK_FILE,
						   cfg->source, NETNS_IPAM_PREFIX, cfg->bridge);
	struct json_object *o = json_tokener_parse(text);
	struct net_config rec;
	int r = o ? ipam_adopt(cfg, o, &rec, err)
		  : husk_fail(err, 0, "%s: %s%s/" NETWORK_FILE ": malformed", cfg->source,
			      NETNS_IPAM_PREFIX, cfg->bridge);
	json_object_put(o);
	if (r < 0)
		return husk_error_wrap(err, "%s: bridge %s", cfg->source, cfg->bridge);
	if (cfg->given_subnet && (!prefix_equal(&cfg->v4, &rec.v4) || !prefix_equal(&cfg->v6, &rec.v6))) {
		char want[160], have[160];
		subnets_text(cfg, want, sizeof(want));
		subnets_text(&rec, have, sizeof(have));
		return husk_fail(err, 0, "%s: subnet %s: bridge %s already serves %s "
				 "(remove the bridge and %s%s to change it)", cfg->source, want,
				 cfg->bridge, have, NETNS_IPAM_PREFIX, cfg->bridge);
	}
	if (cfg->given_mtu && cfg->mtu != rec.mtu)
		return husk_fail(err, 0, "%s: mtu %u: bridge %s already uses %u", cfg->source,
				 cfg->mtu, cfg->bridge, rec.mtu);
	*cfg = rec;
	return 0;
}

static void addr_name(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* Whether <root>/<owner> is gone: its address outlived a lost create. */
static bool ipam_stale(struct ipam *ip, const char *file)
{
	_cleanup_free_ char *owner = read_file(ip->dirfd, file);
	if (!owner)
		return false;
	owner[strcspn(owner, "\n")] = '\0';
	struct stat st;
	return *owner && !strchr(owner, '/') && fstatat(ip->rootfd, owner, &st, 0) < 0 &&
	       errno == ENOENT;
}

static int ipam_try(struct ipam *ip, const struct net_prefix *p, uint64_t off, const char *id,
		    bool reclaim, uint8_t out[16])
{
	char name[INET6_ADDRSTRLEN], owner[1100];
	net_addr_at(p, off, out);
	addr_name(p->family, out, name, sizeof(name));
	snprintf(owner, sizeof(owner), "%s\n", id);
	if (write_file(ip->dirfd, name, owner, O_EXCL) == 0)
		return 0;
	if (errno != EEXIST || !reclaim || !ipam_stale(ip, name))
		return -1;
	unlinkat(ip->dirfd, name, 0);
	return write_file(ip->dirfd, name, owner, O_EXCL);
}

static int ipam_search(struct ipam *ip, const struct net_prefix *p, const char *id,
		       bool reclaim, uint8_t out[16])
{
	const char *last_file = p->family == AF_INET ? "last4" : "last6";
	uint64_t last = net_prefix_last(p), gw = net_addr_offset(p, p->gateway);
	_cleanup_free_ char *text = read_file(ip->dirfd, last_file);
	uint64_t off = text ? strtoull(text, NULL, 10) : 0;

	for (uint64_t n = 0; n < last; n++) {
		off = off >= last ? 1 : off + 1;
		if (off == gw || ipam_try(ip, p, off, id, reclaim, out) < 0)
			continue;
		char num[32];
		snprintf(num, sizeof(num), "%llu\n", (unsigned long long)off);
		write_file(ip->dirfd, last_file, num, O_TRUNC); /* only a hint */
		return 0;
	}
	return -1;
}

int ipam_alloc(struct ipam *ip, const struct net_prefix *p, const char *id, uint8_t out[16],
	       husk_error **err)
{
	if (ipam_search(ip, p, id, false, out) == 0 || ipam_search(ip, p, id, true, out) == 0)
		return 0;
	char subnet[64];
	net_prefix_format(p, subnet, sizeof(subnet));
	return husk_fail(err, 0, "subnet %s of bridge %s: no free address left (%llu in use)",
			 subnet, ip->name + strlen(NETNS_IPAM_PREFIX),
			 (unsigned long long)(net_prefix_last(p) - 1));
}

int ipam_release(struct ipam *ip, int family, const uint8_t addr[16], const char *id,
		 husk_error **err)
{
	char name[INET6_ADDRSTRLEN];
	addr_name(family, addr, name, sizeof(name));
	_cleanup_free_ char *owner = read_file(ip->dirfd, name);
	if (!owner)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "release address %s", name);
	owner[strcspn(owner, "\n")] = '\0';
	/* Someone else's by now: ours was released already. */
	if (strcmp(owner, id))
		return 0;
	if (unlinkat(ip->dirfd, name, 0) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "release address %s", name);
	return 0;
}

void ipam_abandon(struct ipam *ip)
{
	static const char *const ours[] = { NETWORK_FILE, NETWORK_FILE ".tmp", "last4", "last6" };

	if (!ip->fresh || ip->dirfd < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
		unlinkat(ip->dirfd, ours[i], 0);
	/* Fails while an address is held, which is as it should be; a
	 * waiter sees the directory unlinked and makes it anew. */
	unlinkat(ip->rootfd, ip->name, AT_REMOVEDIR);
}
