/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "../base/cleanup.h"
#include "rootless.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

bool ns_owned(const struct spec *s, int type)
{
	return spec_find_namespace(s, type) != NULL;
}

static int ns_open_path(const struct spec *s, size_t i, husk_error **err)
{
	const struct spec_namespace *ns = &s->linux_->namespaces[i];
	int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "config.json: linux.namespaces[%zu].path: open %s", i, ns->path);
	return fd;
}

static void ns_plan_add_join(struct ns_plan *plan, int type, int fd)
{
	if (type == CLONE_NEWUSER) {
		/* The user namespace must be joined first. */
		memmove(&plan->join_fds[1], &plan->join_fds[0], sizeof(int) * (size_t)plan->n_join);
		memmove(&plan->join_types[1], &plan->join_types[0], sizeof(int) * (size_t)plan->n_join);
		plan->join_fds[0] = fd;
		plan->join_types[0] = type;
	} else {
		plan->join_fds[plan->n_join] = fd;
		plan->join_types[plan->n_join] = type;
	}
	plan->n_join++;
}

int ns_plan_build(const struct spec *s, struct ns_plan *plan, husk_error **err)
{
	memset(plan, 0, sizeof(*plan));
	plan->pid_fd = -1;
	size_t n = s->linux_ ? s->linux_->n_namespaces : 0;
	int fresh = 0;
	bool join_user = false;

	for (size_t i = 0; i < n; i++) {
		const struct spec_namespace *ns = &s->linux_->namespaces[i];
		if (!ns->path) {
			fresh |= ns->type;
			continue;
		}
		int fd = ns_open_path(s, i, err);
		if (fd < 0) {
			ns_plan_close(plan);
			return -1;
		}
		if (ns->type == CLONE_NEWPID)
			plan->pid_fd = fd;
		else
			ns_plan_add_join(plan, ns->type, fd);
		join_user |= ns->type == CLONE_NEWUSER;
	}
	plan->new_user = fresh & CLONE_NEWUSER;
	plan->new_time = fresh & CLONE_NEWTIME;
	plan->new_cgroup = fresh & CLONE_NEWCGROUP;
	fresh &= ~CLONE_NEWCGROUP;
	int late = fresh & CLONE_NEWTIME;
	int early = fresh & ~late;
	if (join_user) {
		plan->clone_flags = early & CLONE_NEWPID;
		plan->unshare_flags = (early & ~CLONE_NEWPID) | late;
	} else {
		plan->clone_flags = early;
		plan->unshare_flags = late;
	}
	return 0;
}

void ns_plan_close(struct ns_plan *plan)
{
	for (int i = 0; i < plan->n_join; i++)
		close(plan->join_fds[i]);
	if (plan->pid_fd >= 0)
		close(plan->pid_fd);
	plan->n_join = 0;
	plan->pid_fd = -1;
}

static int write_map(pid_t pid, const char *file, const struct spec_id_mapping *m,
		     size_t n, husk_error **err)
{
	char path[64], buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
					m[i].container_id, m[i].host_id, m[i].size);
	if (len >= sizeof(buf))
		return husk_fail(err, E2BIG, "%s: too many mappings", file);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return husk_fail(err, errno, "write %s", path);
	return 0;
}

int ns_write_mappings(pid_t pid, const struct spec *s, husk_error **err)
{
	const struct spec_linux *l = s->linux_;
	int r;

	if (geteuid() != 0)
		r = rootless_write_mappings(pid, s, err);
	else
		r = write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0 ||
		    write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err) < 0 ? -1 : 0;
	return r < 0 ? husk_error_wrap(err, "user namespace mappings") : 0;
}

static int ns_write_time_offsets(const struct spec *s, husk_error **err)
{
	const struct spec_linux *l = s->linux_;
	char buf[256];
	size_t len = 0;

	for (size_t i = 0; l && i < l->n_time_offsets && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %lld %u\n",
					l->time_offsets[i].clock,
					(long long)l->time_offsets[i].secs,
					l->time_offsets[i].nanosecs);
	if (len == 0)
		return 0;
	_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return husk_fail(err, errno, "linux.timeOffsets: write /proc/self/timens_offsets");
	return 0;
}

/* A network namespace the runtime makes gets its loopback up, as runc does;
 * anything else is the caller's (CNI, --network). */
static int ns_loopback_up(husk_error **err)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "loopback: get flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return husk_fail(err, errno, "loopback: bring up");
	return 0;
}

int ns_enter_cgroup(const struct ns_plan *plan, husk_error **err)
{
	if (plan->new_cgroup && unshare(CLONE_NEWCGROUP) < 0)
		return husk_fail(err, errno, "unshare cgroup namespace");
	return 0;
}

int ns_enter(const struct ns_plan *plan, const struct spec *s, husk_error **err)
{
	for (int i = 0; i < plan->n_join; i++) {
		if (setns(plan->join_fds[i], plan->join_types[i]) < 0)
			return husk_fail(err, errno, "join %s namespace",
					 spec_namespace_name(plan->join_types[i]));
	}
	if (plan->unshare_flags && unshare(plan->unshare_flags) < 0)
		return husk_fail(err, errno, "unshare namespaces");
	const struct spec_namespace *net = spec_find_namespace(s, CLONE_NEWNET);
	if (net && !net->path && ns_loopback_up(err) < 0)
		return -1;
	if (plan->new_time)
		return ns_write_time_offsets(s, err);
	return 0;
}
