/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd cgroup manager's steps in the cgroup lifecycle (systemd.h):
 * systemd makes and removes the container's cgroup as a transient scope;
 * the cgroupfs driver does the rest in the directory systemd made. */
#include "cgroup_internal.h"
#include "systemd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

/* Controllers systemd does not drive, so a delegated scope does not get
 * them: enabled up the path as the cgroupfs driver enables them. */
static const char *const unmanaged_v2[] = { "hugetlb", "rdma", "misc" };

void cg_sd_free(struct cg_systemd *sd)
{
	if (!sd)
		return;
	free(sd->slice);
	free(sd->unit);
	cg_sd_bus_close(sd->bus);
	cg_props_clear(&sd->start);
	free(sd);
}

static int bus(struct cg_systemd *sd, husk_error **err)
{
	return sd->bus ? 0 : cg_sd_bus_open(&sd->bus, err);
}

int cg_sd_new(struct cgroup *cg, const char *cgroups_path, const char *id,
	      husk_error **err)
{
	_cleanup_free_ char *dir = NULL;
	struct cg_systemd *sd = calloc(1, sizeof(*sd));

	if (!sd)
		abort();
	cg->sd = sd;
	if (cg_sd_parse_path(cgroups_path, id, &sd->slice, &sd->unit, err) < 0 ||
	    cg_sd_expand_slice(sd->slice, &dir, err) < 0)
		return -1;
	if (asprintf(&cg->path, "%s/%s", dir, sd->unit) < 0)
		abort();
	/* Asked now, so that without systemd nothing gets made at all. */
	return bus(sd, err);
}

static bool is_v2(const struct cgroup *cg)
{
	return cg->drv == &cgroup_v2_driver;
}

static void base_props(const struct cgroup *cg, struct cg_unit_props *p)
{
	_cleanup_free_ char *desc = NULL;

	if (asprintf(&desc, "husk container %s", cg->sd->unit) < 0)
		abort();
	cg_props_str(p, "Description", desc);
	cg_props_str(p, "Slice", cg->sd->slice);
	cg_props_bool(p, "Delegate", true);
	/* Not ordered against shutdown.target and the like: the container
	 * goes when its engine stops it, as with the cgroupfs manager. */
	cg_props_bool(p, "DefaultDependencies", false);
	cg_props_bool(p, "MemoryAccounting", true);
	cg_props_bool(p, "CPUAccounting", true);
	cg_props_bool(p, is_v2(cg) ? "IOAccounting" : "BlockIOAccounting", true);
	cg_props_bool(p, "TasksAccounting", true);
}

/* The start's properties are made here, before the init exists, so that
 * a value systemd would refuse fails before anything is made. */
int cg_sd_create(struct cgroup *cg, struct json_object *resources,
		 husk_error **err)
{
	base_props(cg, &cg->sd->start);
	return cg_props_from_resources(resources, is_v2(cg), false,
				       &cg->sd->start, err);
}

static void props_clearp(struct cg_unit_props *p)
{
	cg_props_clear(p);
}

/* After the start: the directories systemd does not make (v1 hierarchies
 * it does not drive, such as freezer and cpuset) and the pid in them. */
static int join_the_rest(struct cgroup *cg, pid_t pid, husk_error **err)
{
	if (is_v2(cg)) {
		cg_v2_enable_ancestors(&cg->hier[0], unmanaged_v2,
				       ARRAY_SIZE(unmanaged_v2));
		return 0;
	}
	/* The v1 driver's own mkdir: a new cpuset directory (and a parent
	 * husk made) needs its parent's CPUs and nodes before it takes a
	 * task, or cpuset.cpus refuses a subset with EACCES. */
	if (cg->drv->create(cg, err) < 0)
		return -1;
	return cg_join(cg, pid, true, err);
}

static int start(struct cgroup *cg, pid_t pid, husk_error **err)
{
	struct cg_systemd *sd = cg->sd;
	const char *dir = cg->hier[0].dir;

	if (bus(sd, err) < 0)
		return -1;
	cg_props_pid(&sd->start, pid);
	if (cg_sd_start_unit(sd->bus, sd->unit, &sd->start, &sd->started,
			     err) < 0)
		return -1;
	if (is_v2(cg) && access(dir, F_OK) < 0)
		return husk_fail(err, errno, "systemd cgroup manager: %s started, "
					     "but its cgroup %s is not there",
				 sd->unit, dir);
	return join_the_rest(cg, pid, err);
}

int cg_sd_enter(struct cgroup *cg, pid_t pid, husk_error **err)
{
	if (!cg->sd->started)
		return start(cg, pid, err);
	/* exec: the scope exists; joining it is a cgroupfs write. */
	return cg_join(cg, pid, true, err);
}

int cg_sd_update(struct cgroup *cg, struct json_object *resources,
		 husk_error **err)
{
	_cleanup_(props_clearp) struct cg_unit_props p = { 0 };

	if (cg_props_from_resources(resources, is_v2(cg), true, &p, err) < 0 ||
	    (p.n && bus(cg->sd, err) < 0))
		return -1;
	return cg_sd_set_props(cg->sd->bus, cg->sd->unit, &p, err);
}

int cg_sd_destroy(struct cgroup *cg, husk_error **err)
{
	struct cg_systemd *sd = cg->sd;

	/* Never started (or the start was refused, say because a unit of
	 * that name exists): nothing of systemd's is ours to stop. */
	if (!sd->started)
		return 0;
	if (bus(sd, err) < 0 || cg_sd_stop_unit(sd->bus, sd->unit, err) < 0)
		return -1;
	return 0;
}

void cg_sd_to_json(const struct cg_systemd *sd, struct json_object *o)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "slice", json_object_new_string(sd->slice));
	json_object_object_add(s, "unit", json_object_new_string(sd->unit));
	json_object_object_add(o, "systemd", s);
}

int cg_sd_from_json(struct cgroup *cg, struct json_object *o,
		    husk_error **err)
{
	struct json_object *s = NULL, *slice = NULL, *unit = NULL;
	_cleanup_free_ char *dir = NULL;
	struct cg_systemd *sd;

	if (!json_object_object_get_ex(o, "systemd", &s) ||
	    !json_object_object_get_ex(s, "slice", &slice) ||
	    !json_object_object_get_ex(s, "unit", &unit) ||
	    !json_object_is_type(slice, json_type_string) ||
	    !json_object_is_type(unit, json_type_string))
		return husk_fail(err, 0, "cgroup: state: systemd manager without "
					 "its unit");
	if (!cg_sd_unit_name_valid(json_object_get_string(unit), "scope") ||
	    cg_sd_expand_slice(json_object_get_string(slice), &dir, NULL) < 0)
		return husk_fail(err, 0, "cgroup: state: bad systemd unit %s in %s",
				 json_object_get_string(unit),
				 json_object_get_string(slice));
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		abort();
	cg->sd = sd;
	sd->slice = strdup(json_object_get_string(slice));
	sd->unit = strdup(json_object_get_string(unit));
	if (!sd->slice || !sd->unit)
		abort();
	sd->started = true;
	return 0;
}
