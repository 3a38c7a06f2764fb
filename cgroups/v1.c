/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v1 over cgroupfs, hybrid mode included: one directory per mounted
 * hierarchy; the cgroup2 hierarchy at /sys/fs/cgroup/unified is joined but
 * gets no settings (runc does the same), except unified keys naming its
 * files. Resources: v1_resources.c, devices_v1.c; statistics: stats_v1.c.
 */
#include "cgroup_internal.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "../base/cleanup.h"

/* mountinfo still lists the cgroup2 mount when something is mounted over
 * it (crun needs an empty tmpfs there, and benchmarks hide it so): only
 * what is visible at the path counts. */
bool cg_hybrid_unified_usable(void)
{
	struct statfs sfs;

	return statfs(CG_HYBRID_UNIFIED, &sfs) == 0 &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* Named hierarchies belong to whoever mounted them; of those runc joins
 * only systemd's, which tools use to find a process's unit. */
static bool wanted_controllers(const char *controllers)
{
	if (strcmp(controllers, "name=systemd") == 0)
		return true;
	for (const char *p = controllers; *p;) {
		size_t w = strcspn(p, ",");

		if (strncmp(p, "name=", 5) != 0)
			return true;
		p += w;
		p += strspn(p, ",");
	}
	return false;
}

/* The hierarchy's controller list, or NULL when husk leaves it alone.
 * Mounts outside /sys/fs/cgroup (bind mounts, other containers' views)
 * are ignored: that is where runc's cgroupfs driver looks as well. */
static char *mount_controllers(const struct cg_mountinfo *m)
{
	char *ctl;

	if (strcmp(m->fstype, "cgroup2") == 0) {
		if (strcmp(m->mountpoint, CG_HYBRID_UNIFIED) != 0 ||
		    !cg_hybrid_unified_usable())
			return NULL;
		return strdup("");
	}
	if (strcmp(m->fstype, "cgroup") != 0 ||
	    strncmp(m->mountpoint, CG_FS_ROOT "/", sizeof(CG_FS_ROOT)) != 0 ||
	    cg_path_depth(m->mountpoint) != cg_path_depth(CG_FS_ROOT) + 1)
		return NULL;
	ctl = cg_v1_controllers(m->super_opts);
	if (wanted_controllers(ctl))
		return ctl;
	free(ctl);
	return NULL;
}

static bool have_hier(const struct cgroup *cg, const char *controllers)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (strcmp(cg->hier[i].controllers, controllers) == 0)
			return true;
	return false;
}

static int add_hier(struct cgroup *cg, char *controllers,
		    const struct cg_mountinfo *m, const char *own_text,
		    husk_error **err)
{
	_cleanup_free_ char *ctl = controllers, *own = NULL;
	struct cgroup_hier *h;

	if (own_text && !(own = cg_proc_cgroup_lookup(own_text, ctl)))
		return husk_fail(err, 0, "cgroup: hierarchy %s at %s is not in "
					 "/proc/self/cgroup",
				 *ctl ? ctl : "cgroup2", m->mountpoint);
	h = reallocarray(cg->hier, cg->n_hier + 1, sizeof(*cg->hier));
	if (!h)
		abort();
	cg->hier = h;
	h = &cg->hier[cg->n_hier];
	memset(h, 0, sizeof(*h));
	if (cg_resolve_dir(m->mountpoint, m->root, own, cg->path, &h->dir,
			   &h->base_len, err) < 0)
		return -1;
	h->mount_len = strlen(m->mountpoint);
	h->controllers = TAKE_PTR(ctl);
	cg->n_hier++;
	return 0;
}

static int v1_resolve(struct cgroup *cg, husk_error **err)
{
	_cleanup_free_ char *mi = cg_read_text("/proc/self/mountinfo", err);
	_cleanup_free_ char *own = NULL;
	char *save = NULL;

	if (!mi)
		return -1;
	if (cg->path[0] != '/' &&
	    !(own = cg_read_text("/proc/self/cgroup", err)))
		return -1;
	for (char *line = strtok_r(mi, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct cg_mountinfo m;
		char *ctl;

		if (cg_parse_mountinfo_line(line, &m) < 0 ||
		    !(ctl = mount_controllers(&m)))
			continue;
		if (have_hier(cg, ctl)) {
			free(ctl); /* the same hierarchy mounted twice */
			continue;
		}
		if (add_hier(cg, ctl, &m, own, err) < 0)
			return -1;
	}
	/* Without it the container would get every device on the host. */
	if (!cg_find_hier(cg, "devices"))
		return husk_fail(err, 0, "cgroup: no devices hierarchy mounted "
					 "under %s", CG_FS_ROOT);
	return 0;
}

/* A new cpuset cgroup starts with no CPUs and no memory nodes, and no task
 * can join it until it has some: give it its parent's. The parent itself
 * may still be empty when another husk made it a moment ago and has not
 * filled it yet (concurrent creates under a new common parent): fill it
 * first, from its own parent. The hierarchy's root is never empty. */
static int cpuset_inherit(const char *dir, husk_error **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *parent = cg_path_parent(dir);

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = cg_path_join(parent, files[i]);
		_cleanup_free_ char *val = cg_read_text(path, err);

		if (!val)
			return -1;
		val[strcspn(val, "\n")] = '\0';
		if (!*val && strlen(parent) > strlen(CG_FS_ROOT "/")) {
			free(val);
			if (cpuset_inherit(parent, err) < 0 || !(val = cg_read_text(path, err)))
				return -1;
			val[strcspn(val, "\n")] = '\0';
		}
		if (*val && cg_write(dir, files[i], val, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_create(struct cgroup *cg, husk_error **err)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		struct cgroup_hier *h = &cg->hier[i];
		bool cpuset = cg_list_has(h->controllers, "cpuset");

		if (cg_mkdir(h, cpuset ? cpuset_inherit : NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* Any hierarchy lists the same processes; these are the ones a container
 * is least likely to lack. */
static const struct cgroup_hier *v1_procs_hier(const struct cgroup *cg)
{
	static const char *const order[] = { "pids", "freezer", "memory" };

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const struct cgroup_hier *h = cg_find_hier(cg, order[i]);

		if (h)
			return h;
	}
	return cg->n_hier ? &cg->hier[0] : NULL;
}

static bool v1_has_freezer(const struct cgroup *cg)
{
	return cg_find_hier(cg, "freezer") != NULL;
}

/* v1 can stick in FREEZING while tasks keep arriving; thawing now and then
 * and starting over gets through (runc learnt the same), within a bound. */
static int freeze_loop(const char *dir, husk_error **err)
{
	uint64_t deadline = cg_now_ms() + CG_FREEZE_TIMEOUT_MS;
	unsigned us = 100;
	char st[32];

	for (unsigned i = 1;; i++) {
		if (cg_write(dir, "freezer.state", "FROZEN", err) < 0 ||
		    cg_read(dir, "freezer.state", st, sizeof(st), err) < 0)
			return -1;
		if (strcmp(st, "FROZEN") == 0)
			return 0;
		if (strcmp(st, "FREEZING") != 0)
			return husk_fail(err, 0, "cgroup: %s/freezer.state: "
						 "%s while freezing", dir, st);
		if (cg_now_ms() > deadline)
			return husk_fail(err, 0, "cgroup: %s/freezer.state: "
						 "still FREEZING after %d ms",
					 dir, CG_FREEZE_TIMEOUT_MS);
		if (i % 50 == 0)
			cg_write(dir, "freezer.state", "THAWED", NULL);
		cg_backoff(&us);
	}
}

static int v1_freeze(struct cgroup *cg, bool frozen, husk_error **err)
{
	const char *dir = cg_find_hier(cg, "freezer")->dir;

	if (!frozen)
		return cg_write(dir, "freezer.state", "THAWED", err);
	if (freeze_loop(dir, err) == 0)
		return 0;
	/* Never leave a half-frozen container behind. */
	cg_write(dir, "freezer.state", "THAWED", NULL);
	return -1;
}

static int v1_is_frozen(const struct cgroup *cg, bool *frozen,
			husk_error **err)
{
	const char *dir = cg_find_hier(cg, "freezer")->dir;
	uint64_t deadline = cg_now_ms() + CG_FREEZE_TIMEOUT_MS;
	unsigned us = 100;
	char st[32], self[8];

	*frozen = false;
	for (;;) {
		if (cg_read(dir, "freezer.state", st, sizeof(st), NULL) < 0)
			return errno == ENOENT ? 0
					       : husk_fail(err, errno,
							   "cgroup: read %s/"
							   "freezer.state", dir);
		if (strcmp(st, "FREEZING") != 0 || cg_now_ms() > deadline)
			break;
		cg_backoff(&us);
	}
	if (strcmp(st, "THAWED") == 0)
		return 0;
	/* FROZEN also shows under a frozen ancestor; paused means this
	 * cgroup was frozen itself. */
	if (cg_read(dir, "freezer.self_freezing", self, sizeof(self), err) < 0)
		return -1;
	*frozen = strcmp(self, "1") == 0;
	return 0;
}

const struct cgroup_driver cgroup_v1_driver = {
	.name = "v1",
	.resolve = v1_resolve,
	.create = v1_create,
	.resources = cg_v1_resources,
	.procs_hier = v1_procs_hier,
	.has_freezer = v1_has_freezer,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.kill = NULL,
	.stats = cg_v1_stats,
	.oom_count = cg_v1_oom_count,
};
