/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroup v2 over cgroupfs: one unified hierarchy at /sys/fs/cgroup.
 * Resources: v2_resources.c, devices_bpf.c; statistics: stats_v2.c. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"

/* The resource controllers husk may set limits with or report on. */
static const char *const managed_controllers[] = {
	"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
};

/* The root, as seen here, of the hierarchy mounted at /sys/fs/cgroup. */
static char *mount_root(husk_error **err)
{
	_cleanup_free_ char *mi = cg_read_text("/proc/self/mountinfo", err);
	char *save = NULL;

	if (!mi)
		return NULL;
	for (char *line = strtok_r(mi, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct cg_mountinfo m;

		if (cg_parse_mountinfo_line(line, &m) == 0 &&
		    strcmp(m.fstype, "cgroup2") == 0 &&
		    strcmp(m.mountpoint, CG_FS_ROOT) == 0)
			return cg_path_join(m.root, "");
	}
	return cg_path_join("/", "");
}

/* A relative path goes under the parent of the caller's cgroup, as in
 * runc: the caller's own cgroup holds processes, so it cannot pass domain
 * controllers down to a child ("no internal processes"). */
static int own_parent(char **parent, char **root, husk_error **err)
{
	_cleanup_free_ char *text = cg_read_text("/proc/self/cgroup", err);
	_cleanup_free_ char *own = NULL;

	if (!text)
		return -1;
	own = cg_proc_cgroup_lookup(text, "");
	if (!own)
		return husk_fail(err, 0, "cgroup: no cgroup2 entry in "
					 "/proc/self/cgroup");
	*root = mount_root(err);
	if (!*root)
		return -1;
	*parent = cg_path_parent(own);
	return 0;
}

static int v2_resolve(struct cgroup *cg, husk_error **err)
{
	_cleanup_free_ char *parent = NULL, *root = NULL;
	struct cgroup_hier *h;

	if (cg->path[0] != '/' && own_parent(&parent, &root, err) < 0)
		return -1;
	cg->hier = calloc(1, sizeof(*cg->hier));
	if (!cg->hier)
		abort();
	h = &cg->hier[0];
	if (cg_resolve_dir(CG_FS_ROOT, root ? root : "/", parent, cg->path,
			   &h->dir, &h->base_len, err) < 0)
		return -1;
	h->controllers = strdup("");
	if (!h->controllers)
		abort();
	h->mount_len = strlen(CG_FS_ROOT);
	cg->n_hier = 1;
	return 0;
}

/* Writes "+x +y" for the controllers of ctl available in dir but not yet
 * handed down. Failures are left for the limit that needs the controller
 * to report (runc does the same): a cgroup with processes of its own, or a
 * realtime task refusing "cpu", must not stop the container. */
static void enable_controllers(const char *dir, const char *const *ctl,
			       size_t n)
{
	char avail[512], on[512], want[512];
	size_t o = 0;

	if (cg_read(dir, "cgroup.controllers", avail, sizeof(avail), NULL) < 0 ||
	    cg_read(dir, "cgroup.subtree_control", on, sizeof(on), NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *c = ctl[i];

		if (cg_list_has(avail, c) && !cg_list_has(on, c))
			o += (size_t)snprintf(want + o, sizeof(want) - o,
					      "%s+%s", o ? " " : "", c);
	}
	if (o == 0 || cg_write(dir, "cgroup.subtree_control", want, NULL) == 0)
		return;
	for (char *save = NULL, *t = strtok_r(want, " ", &save); t;
	     t = strtok_r(NULL, " ", &save))
		cg_write(dir, "cgroup.subtree_control", t, NULL);
}

/* Top-down from the root to the leaf's parent: a controller must be on in
 * a cgroup before its children can pass it further. */
void cg_v2_enable_ancestors(const struct cgroup_hier *h,
			    const char *const *ctl, size_t n)
{
	_cleanup_free_ char *p = strdup(h->dir);

	if (!p)
		abort();
	for (size_t i = h->mount_len; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		enable_controllers(p, ctl, n);
		p[i] = '/';
	}
}

static int v2_create(struct cgroup *cg, husk_error **err)
{
	struct cgroup_hier *h = &cg->hier[0];

	if (cg_mkdir(h, NULL, err) < 0)
		return -1;
	cg_v2_enable_ancestors(h, managed_controllers,
			       ARRAY_SIZE(managed_controllers));
	return 0;
}

static const struct cgroup_hier *v2_procs_hier(const struct cgroup *cg)
{
	return &cg->hier[0];
}

static bool v2_has_freezer(const struct cgroup *cg)
{
	return true;
}

/* cgroup.events changes wake poll() with POLLPRI, so no busy waiting. */
static int wait_frozen(const char *dir, husk_error **err)
{
	uint64_t deadline = cg_now_ms() + CG_FREEZE_TIMEOUT_MS;
	char path[PATH_MAX], buf[256], val[8];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "cgroup: open %s", path);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		uint64_t now;

		if (n < 0)
			return husk_fail(err, errno, "cgroup: read %s", path);
		buf[n] = '\0';
		if (cg_keyed_value(buf, "frozen", val, sizeof(val)) &&
		    strcmp(val, "1") == 0)
			return 0;
		now = cg_now_ms();
		if (now >= deadline)
			return husk_fail(err, 0, "cgroup: %s: not frozen after "
						 "%d ms", path,
					 CG_FREEZE_TIMEOUT_MS);
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return husk_fail(err, errno, "cgroup: poll %s", path);
	}
}

/* Thawing is not waited for: under a frozen ancestor it never shows. */
static int v2_freeze(struct cgroup *cg, bool frozen, husk_error **err)
{
	const char *dir = cg->hier[0].dir;

	if (cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	if (!frozen || wait_frozen(dir, err) == 0)
		return 0;
	cg_write(dir, "cgroup.freeze", "0", NULL);
	return -1;
}

static int v2_is_frozen(const struct cgroup *cg, bool *frozen,
			husk_error **err)
{
	const char *dir = cg->hier[0].dir;
	char val[8];

	*frozen = false;
	if (cg_read(dir, "cgroup.freeze", val, sizeof(val), NULL) < 0)
		return errno == ENOENT ? 0
				       : husk_fail(err, errno, "cgroup: read "
							       "%s/cgroup.freeze",
						   dir);
	*frozen = strcmp(val, "1") == 0;
	return 0;
}

/* cgroup.kill (Linux 5.14) kills the whole subtree at once, with no race
 * against forks. Without it, or for other signals, the caller walks the
 * pids; a cgroup that is gone also ends up there and finds nothing. */
static int v2_kill(struct cgroup *cg, int sig, husk_error **err)
{
	const char *dir = cg->hier[0].dir;

	if (sig != SIGKILL)
		return 1;
	if (cg_write(dir, "cgroup.kill", "1", NULL) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	return husk_fail(err, errno, "cgroup: write 1 to %s/cgroup.kill", dir);
}

const struct cgroup_driver cgroup_v2_driver = {
	.name = "v2",
	.resolve = v2_resolve,
	.create = v2_create,
	.resources = cg_v2_resources,
	.procs_hier = v2_procs_hier,
	.has_freezer = v2_has_freezer,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.kill = v2_kill,
	.stats = cg_v2_stats,
	.oom_count = cg_v2_oom_count,
};
