/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The public cgroup calls: driver choice, then the parts every driver
 * shares (joining, listing, signalling, removal, the saved state). */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../base/cleanup.h"
#include "systemd.h"

static const char *const manager_names[] = {
	[CGROUP_MANAGER_CGROUPFS] = "cgroupfs",
	[CGROUP_MANAGER_SYSTEMD] = "systemd",
	[CGROUP_MANAGER_DISABLED] = "disabled",
};

int cgroup_manager_parse(const char *name, enum cgroup_manager *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(manager_names); i++) {
		if (strcmp(name, manager_names[i]) == 0) {
			*m = (enum cgroup_manager)i;
			return 0;
		}
	}
	return -1;
}

const char *cgroup_manager_name(enum cgroup_manager m)
{
	return (size_t)m < ARRAY_SIZE(manager_names) ? manager_names[m]
						     : "unknown";
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_hier; i++) {
		free(cg->hier[i].controllers);
		free(cg->hier[i].dir);
	}
	free(cg->hier);
	free(cg->path);
	cg_sd_free(cg->sd);
	free(cg);
}

static void cgroup_freep(struct cgroup **cg)
{
	cgroup_free(*cg);
}

static struct cgroup *cgroup_alloc(enum cgroup_manager m)
{
	struct cgroup *cg = calloc(1, sizeof(*cg));

	if (!cg)
		abort();
	cg->manager = m;
	return cg;
}

static int pick_driver(struct cgroup *cg, husk_error **err)
{
	struct statfs sfs;

	if (statfs(CG_FS_ROOT, &sfs) < 0)
		return husk_fail(err, errno, "cgroup: statfs %s", CG_FS_ROOT);
	cg->drv = sfs.f_type == CGROUP2_SUPER_MAGIC ? &cgroup_v2_driver
						    : &cgroup_v1_driver;
	return 0;
}

struct cgroup *cgroup_new(const char *cgroups_path, const char *id,
			  enum cgroup_manager m, husk_error **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r;

	if (m != CGROUP_MANAGER_CGROUPFS && m != CGROUP_MANAGER_DISABLED &&
	    m != CGROUP_MANAGER_SYSTEMD)
		return husk_fail(err, 0, "cgroup: unknown manager %d", m), NULL;
	cg = cgroup_alloc(m);
	if (m == CGROUP_MANAGER_DISABLED) {
		cg->path = strdup("");
		if (!cg->path)
			abort();
		return TAKE_PTR(cg);
	}
	if (m == CGROUP_MANAGER_SYSTEMD)
		r = cg_sd_new(cg, cgroups_path, id, err);
	else if (cgroups_path && *cgroups_path)
		r = cg_path_clean(cgroups_path, "config.json: linux.cgroupsPath",
				  &cg->path, err);
	else if (id && *id)
		r = cg_path_clean(id, "cgroup: container id", &cg->path, err);
	else
		r = husk_fail(err, 0, "cgroup: neither linux.cgroupsPath nor "
				      "a container id to name the cgroup");
	if (r < 0 || pick_driver(cg, err) < 0 || cg->drv->resolve(cg, err) < 0)
		return NULL;
	return TAKE_PTR(cg);
}

/* A cgroup that existed already may hold someone else's processes, which
 * our limits, pause and destroy would then hit; a frozen one would hang the
 * container's init. runc refuses both the same way. */
static int check_reused(struct cgroup *cg, husk_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	bool reused = false, frozen = false;
	size_t n = 0;

	for (size_t i = 0; i < cg->n_hier; i++)
		reused |= cg->hier[i].created == 0;
	if (!reused)
		return 0;
	if (cgroup_is_frozen(cg, &frozen, err) < 0 ||
	    cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	if (frozen)
		return husk_fail(err, 0, "cgroup: container's cgroup %s "
					 "unexpectedly frozen", cg->path);
	if (n)
		return husk_fail(err, 0, "cgroup: container's cgroup %s is not "
					 "empty: %zu process(es) found",
				 cg->path, n);
	return 0;
}

/* After a failure nothing of the object is ours: make it inert, so that a
 * cleanup path calling cgroup_destroy() cannot touch a reused cgroup. */
static void make_inert(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		free(cg->hier[i].controllers);
		free(cg->hier[i].dir);
	}
	free(cg->hier);
	cg->hier = NULL;
	cg->n_hier = 0;
	cg->drv = NULL;
}

int cgroup_create(struct cgroup *cg, struct json_object *resources,
		  husk_error **err)
{
	if (!cg->drv)
		return 0;
	/* systemd makes the directories when the unit starts (enter). */
	if (cg->sd) {
		if (cg_sd_create(cg, resources, err) == 0)
			return 0;
		make_inert(cg);
		return -1;
	}
	/* Only cgroup_new() knows which part of each path existed. */
	for (size_t i = 0; i < cg->n_hier; i++)
		if (cg->hier[i].base_len == 0)
			return husk_fail(err, 0, "cgroup: create: %s was not "
						 "resolved by this command",
					 cg->hier[i].dir);
	if (cg->drv->create(cg, err) == 0 && check_reused(cg, err) == 0)
		return 0;
	for (size_t i = cg->n_hier; i-- > 0;)
		cg_remove_created(&cg->hier[i]);
	make_inert(cg);
	return -1;
}

int cg_join(struct cgroup *cg, pid_t pid, bool v2_too, husk_error **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!v2_too && !*cg->hier[i].controllers)
			continue;
		if (cg_write(cg->hier[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	}
	return 0;
}

int cgroup_enter(struct cgroup *cg, pid_t pid, husk_error **err)
{
	if (cg->sd && cg->drv)
		return cg_sd_enter(cg, pid, err);
	return cg_join(cg, pid, true, err);
}

int cgroup_enter_v1(struct cgroup *cg, pid_t pid, husk_error **err)
{
	return cg_join(cg, pid, false, err);
}

int cgroup_enter_v2(struct cgroup *cg, pid_t pid, husk_error **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++)
		if (!*cg->hier[i].controllers && cg_write(cg->hier[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

int cgroup_enter_rest(struct cgroup *cg, pid_t pid, bool self_joins, bool cloned_into,
		      husk_error **err)
{
	if (self_joins)
		return cloned_into ? 0 : cgroup_enter_v2(cg, pid, err);
	return cloned_into ? cgroup_enter_v1(cg, pid, err) : cgroup_enter(cg, pid, err);
}

int cgroup_self_join_open(const struct cgroup *cg, int fds[], size_t max, husk_error **err)
{
	size_t n = 0;

	if (!cg || cg->sd || !cg->drv || strcmp(cg->drv->name, "v1") != 0)
		return 0;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!*cg->hier[i].controllers)
			continue;
		_cleanup_free_ char *path = cg_path_join(cg->hier[i].dir, "tasks");
		int fd = n < max ? open(path, O_WRONLY | O_CLOEXEC) : -1;
		if (fd < 0) {
			int e = n < max ? errno : E2BIG;
			while (n)
				close(fds[--n]);
			return husk_fail(err, e, "cgroup: open %s", path);
		}
		fds[n++] = fd;
	}
	return (int)n;
}

int cgroup_self_join(const int fds[], size_t n, husk_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (write(fds[i], "0", 1) != 1)
			return husk_fail(err, errno, "cgroup: join the container's cgroup (tasks)");
	return 0;
}

int cgroup_clone_fd(const struct cgroup *cg)
{
	/* systemd's scope exists only once the unit starts with the pid. */
	if (cg && cg->sd && !cg->sd->started)
		return -1;
	for (size_t i = 0; cg && i < cg->n_hier; i++)
		if (!*cg->hier[i].controllers)
			return open(cg->hier[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return -1;
}

int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, husk_error **err)
{
	const struct cgroup_hier *h = cg->drv ? cg->drv->procs_hier(cg) : NULL;

	*pids = NULL;
	*n = 0;
	if (!h)
		return 0;
	if (cg_collect_pids(h->dir, pids, n, err) == 0)
		return 0;
	free(*pids);
	*pids = NULL;
	*n = 0;
	return -1;
}

static int signal_all(struct cgroup *cg, int sig, husk_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;

	if (cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return husk_fail(err, errno, "cgroup: kill %d",
					 (int)pids[i]);
	return 0;
}

/* Freezing first keeps a forking process from slipping a child past the
 * signal. Should the freeze fail, signal anyway and report it after. */
int cgroup_kill_all(struct cgroup *cg, int sig, husk_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	husk_error *ferr = NULL;
	bool was = false, froze = false;
	size_t n;
	int r;

	if (!cg->drv)
		return 0;
	if (cg->drv->kill && (r = cg->drv->kill(cg, sig, err)) <= 0)
		return r;
	if (cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (cg->drv->has_freezer(cg) && cg->drv->is_frozen(cg, &was, err) < 0)
		return -1;
	if (cg->drv->has_freezer(cg) && !was)
		froze = cg->drv->freeze(cg, true, &ferr) == 0;
	r = signal_all(cg, sig, err);
	/* A v1 frozen task cannot even die: thaw for SIGKILL always. */
	if ((froze || (was && sig == SIGKILL)) &&
	    cg->drv->freeze(cg, false, err) < 0)
		r = -1;
	if (ferr) {
		r = husk_fail(err, ferr->code, "%s", ferr->msg);
		husk_error_free(&ferr);
	}
	return r < 0 ? -1 : 0;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, husk_error **err)
{
	if (!cg->drv || !cg->drv->has_freezer(cg))
		return husk_fail(err, 0, "cgroup: cannot %s: no freezer "
					 "cgroup for this container",
				 frozen ? "freeze" : "thaw");
	return cg->drv->freeze(cg, frozen, err);
}

int cgroup_is_frozen(struct cgroup *cg, bool *frozen, husk_error **err)
{
	*frozen = false;
	if (!cg->drv || !cg->drv->has_freezer(cg))
		return 0;
	return cg->drv->is_frozen(cg, frozen, err);
}

/* SIGKILL whatever is left and wait for it to be gone. A failure of the
 * kill itself only matters if processes then stay. */
static int drain(struct cgroup *cg, uint64_t deadline, husk_error **err)
{
	husk_error *kerr = NULL;
	unsigned us = 100;
	int r;

	for (bool killed = false;; killed = true) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n;

		if (cgroup_pids(cg, &pids, &n, err) < 0) {
			r = -1;
			break;
		}
		if (n == 0) {
			r = 0;
			break;
		}
		if (!killed) {
			cgroup_kill_all(cg, SIGKILL, &kerr);
			continue;
		}
		if (cg_now_ms() > deadline) {
			r = kerr ? husk_fail(err, kerr->code, "%s", kerr->msg)
				 : husk_fail(err, 0, "cgroup: %zu process(es) "
						     "still in %s after SIGKILL",
					     n, cg->drv->procs_hier(cg)->dir);
			break;
		}
		cg_backoff(&us);
	}
	husk_error_free(&kerr);
	return r;
}

int cgroup_destroy(struct cgroup *cg, husk_error **err)
{
	uint64_t deadline = cg_now_ms() + CG_DESTROY_TIMEOUT_MS;
	husk_error *derr = NULL, *serr = NULL, *rerr = NULL;
	int r = 0;

	if (!cg->drv)
		return 0;
	/* A unit that did not start is someone else's, if it exists at all
	 * (StartTransientUnit refuses a name in use): its processes too. */
	if (cg->sd && !cg->sd->started)
		return 0;
	drain(cg, deadline, &derr);
	/* With the processes gone the stop is quick; systemd removes the
	 * scope's cgroup, and cg_remove() then finds only what husk made. */
	if (cg->sd && cg_sd_destroy(cg, &serr) < 0)
		r = -1;
	/* Every hierarchy, even after a failure: leave as little as can be. */
	for (size_t i = cg->n_hier; i-- > 0;)
		if (cg_remove(&cg->hier[i], deadline, &rerr) < 0)
			r = -1;
	/* A drain failure matters only when something stayed behind; it
	 * then says best why. */
	if (r < 0) {
		husk_error *first = derr ? derr : serr ? serr : rerr;

		husk_fail(err, first->code, "%s", first->msg);
	}
	husk_error_free(&derr);
	husk_error_free(&serr);
	husk_error_free(&rerr);
	return r;
}

bool cgroup_made_on_enter(const struct cgroup *cg)
{
	return cg && cg->sd;
}

const char *cgroup_path(const struct cgroup *cg)
{
	return cg->path;
}

const struct cgroup_hier *cg_find_hier(const struct cgroup *cg,
				       const char *controller)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (cg_list_has(cg->hier[i].controllers, controller))
			return &cg->hier[i];
	return NULL;
}

const char *cgroup_dir(const struct cgroup *cg, const char *controller)
{
	const struct cgroup_hier *h;

	if (cg->drv == &cgroup_v2_driver)
		return cg->hier[0].dir;
	for (size_t i = 0; controller && !*controller && i < cg->n_hier; i++)
		if (!*cg->hier[i].controllers)
			return cg->hier[i].dir;
	h = controller ? cg_find_hier(cg, controller) : NULL;
	return h ? h->dir : NULL;
}

static struct json_object *hier_to_json(const struct cgroup_hier *h)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "controllers",
			       json_object_new_string(h->controllers));
	json_object_object_add(o, "dir", json_object_new_string(h->dir));
	json_object_object_add(o, "created", json_object_new_int(
						     (int)h->created));
	return o;
}

struct json_object *cgroup_to_json(const struct cgroup *cg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();

	json_object_object_add(o, "manager", json_object_new_string(
						     cgroup_manager_name(cg->manager)));
	if (cg->drv)
		json_object_object_add(o, "driver",
				       json_object_new_string(cg->drv->name));
	json_object_object_add(o, "path", json_object_new_string(cg->path));
	if (cg->sd)
		cg_sd_to_json(cg->sd, o);
	for (size_t i = 0; i < cg->n_hier; i++)
		json_object_array_add(a, hier_to_json(&cg->hier[i]));
	json_object_object_add(o, "hierarchies", a);
	return o;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A saved directory must be a clean path strictly inside a hierarchy
 * mounted under /sys/fs/cgroup, and the parents destroy will remove must
 * stay inside it too: v1 mounts sit one level deeper than the v2 root. */
static int check_hier(const struct cgroup *cg, const struct cgroup_hier *h,
		      husk_error **err)
{
	_cleanup_free_ char *clean = NULL;
	unsigned mount_depth = cg->drv == &cgroup_v2_driver ? 3 : 4;
	unsigned depth = cg_path_depth(h->dir);

	if (strncmp(h->dir, CG_FS_ROOT "/", sizeof(CG_FS_ROOT)) != 0 ||
	    cg_path_clean(h->dir, "cgroup: state", &clean, NULL) < 0 ||
	    strcmp(clean, h->dir) != 0 || depth <= mount_depth ||
	    h->created > depth - mount_depth)
		return husk_fail(err, 0, "cgroup: state: bad directory %s "
					 "(created %u)", h->dir, h->created);
	return 0;
}

static int hier_from_json(struct cgroup *cg, struct json_object *o,
			  husk_error **err)
{
	struct cgroup_hier *h = &cg->hier[cg->n_hier];
	const char *ctl = json_str(o, "controllers"), *dir = json_str(o, "dir");
	struct json_object *created = NULL;

	if (!ctl || !dir || !json_object_object_get_ex(o, "created", &created) ||
	    !json_object_is_type(created, json_type_int) ||
	    json_object_get_int(created) < 0)
		return husk_fail(err, 0, "cgroup: state: malformed hierarchy");
	h->controllers = strdup(ctl);
	h->dir = strdup(dir);
	if (!h->controllers || !h->dir)
		abort();
	h->created = (unsigned)json_object_get_int(created);
	cg->n_hier++;
	if (check_hier(cg, h, err) < 0)
		return -1;
	/* Saved where the hybrid cgroup2 hierarchy was visible, used where it
	 * is hidden: its directory is out of reach, leave it out. */
	if (cg->drv == &cgroup_v1_driver && !*h->controllers &&
	    !cg_hybrid_unified_usable()) {
		free(h->controllers);
		free(h->dir);
		cg->n_hier--;
	}
	return 0;
}

static int driver_from_json(struct cgroup *cg, struct json_object *j,
			    husk_error **err)
{
	const char *drv = json_str(j, "driver"), *path = json_str(j, "path");

	if (!path)
		return husk_fail(err, 0, "cgroup: state: no path");
	cg->path = strdup(path);
	if (!cg->path)
		abort();
	if (cg->manager == CGROUP_MANAGER_DISABLED)
		return 0;
	if (drv && strcmp(drv, cgroup_v1_driver.name) == 0)
		cg->drv = &cgroup_v1_driver;
	else if (drv && strcmp(drv, cgroup_v2_driver.name) == 0)
		cg->drv = &cgroup_v2_driver;
	else
		return husk_fail(err, 0, "cgroup: state: unknown driver %s",
				 drv ? drv : "(none)");
	return 0;
}

struct cgroup *cgroup_from_json(struct json_object *j, husk_error **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	const char *mgr = json_str(j, "manager");
	struct json_object *a = NULL;
	enum cgroup_manager m;
	size_t n;

	if (!mgr || cgroup_manager_parse(mgr, &m) < 0)
		return husk_fail(err, 0, "cgroup: state: bad manager"), NULL;
	cg = cgroup_alloc(m);
	if (driver_from_json(cg, j, err) < 0 ||
	    (m == CGROUP_MANAGER_SYSTEMD && cg_sd_from_json(cg, j, err) < 0))
		return NULL;
	if (!json_object_object_get_ex(j, "hierarchies", &a) ||
	    !json_object_is_type(a, json_type_array))
		return husk_fail(err, 0, "cgroup: state: no hierarchies"), NULL;
	n = json_object_array_length(a);
	if ((n == 0) != (cg->drv == NULL) ||
	    (cg->drv == &cgroup_v2_driver && n != 1))
		return husk_fail(err, 0, "cgroup: state: %zu hierarchies for "
					 "driver %s", n,
				 cg->drv ? cg->drv->name : "none"), NULL;
	cg->hier = calloc(n ? n : 1, sizeof(*cg->hier));
	if (!cg->hier)
		abort();
	for (size_t i = 0; i < n; i++)
		if (hier_from_json(cg, json_object_array_get_idx(a, i), err) < 0)
			return NULL;
	return TAKE_PTR(cg);
}
