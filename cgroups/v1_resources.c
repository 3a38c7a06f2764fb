/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.resources on cgroup v1, mapped to files as runc's fs driver maps
 * them (libcontainer/cgroups/fs). A value of 0 means "not set" wherever
 * runc reads it so, and leaves the file alone; a hierarchy that is not
 * mounted fails only when a value for it is set.
 */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

/* "cpu": cpuset runs first, as runc's cpuset subsystem does, so that
 * the cpu settings below see the final CPU list. */
static int v1_cpuset(struct cgroup *cg, struct json_object *val,
		     husk_error **err)
{
	const char *cpus = NULL, *mems = NULL, *dir;

	if (cg_want_object(val, "cpu", err) < 0 ||
	    cg_get_str(val, "cpu", "cpus", &cpus, err) < 0 ||
	    cg_get_str(val, "cpu", "mems", &mems, err) < 0)
		return -1;
	if ((!cpus || !*cpus) && (!mems || !*mems))
		return 0;
	if (!(dir = cg_res_dir(cg, "cpuset", "cpu.cpus", err)))
		return -1;
	if (cpus && *cpus &&
	    cg_set(dir, "cpuset.cpus", cpus, "cpu.cpus", err) < 0)
		return -1;
	if (mems && *mems &&
	    cg_set(dir, "cpuset.mems", mems, "cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int write_swap(const char *dir, int64_t swap, husk_error **err)
{
	return cg_set_i64(dir, "memory.memsw.limit_in_bytes", swap,
			  "memory.swap", err);
}

static int v1_mem_limits(const char *dir, int64_t limit, int64_t swap,
			 husk_error **err)
{
	bool memsw = cg_file_exists(dir, "memory.memsw.limit_in_bytes");
	struct cg_mem_plan p;
	uint64_t cur = 0;

	if (limit && cg_read_u64(dir, "memory.limit_in_bytes", &cur, err) < 0)
		return -1;
	cg_v1_mem_plan(limit, swap, memsw, cur, &p);
	if (p.swap_first && write_swap(dir, p.swap, err) < 0)
		return -1;
	if (p.limit && cg_set_i64(dir, "memory.limit_in_bytes", p.limit,
				  "memory.limit", err) < 0)
		return -1;
	if (!p.swap_first && p.swap && write_swap(dir, p.swap, err) < 0)
		return -1;
	return 0;
}

struct v1_mem {
	int64_t limit, swap, resv, swappiness;
	bool oom_off, hier;
	int has_swappiness, has_hier;
};

/* kernel and kernelTCP are ignored, as runc 1.1 ignores them: the kernel
 * deprecated kmem limits, and they cannot be reclaimed. */
static int v1_mem_parse(struct json_object *val, struct v1_mem *m,
			husk_error **err)
{
	memset(m, 0, sizeof(*m));
	m->swappiness = -1;
	if (cg_want_object(val, "memory", err) < 0 ||
	    cg_get_i64(val, "memory", "limit", &m->limit, err) < 0 ||
	    cg_get_i64(val, "memory", "swap", &m->swap, err) < 0 ||
	    cg_get_i64(val, "memory", "reservation", &m->resv, err) < 0 ||
	    cg_get_bool(val, "memory", "disableOOMKiller", &m->oom_off,
			err) < 0 ||
	    (m->has_swappiness = cg_get_i64(val, "memory", "swappiness",
					    &m->swappiness, err)) < 0 ||
	    (m->has_hier = cg_get_bool(val, "memory", "useHierarchy",
				       &m->hier, err)) < 0)
		return -1;
	if (m->swappiness < -1 || m->swappiness > 100)
		return cg_res_refuse(err, "memory.swappiness",
				     "must be from 0 to 100 (or -1: unset)");
	return 0;
}

static int v1_memory(struct cgroup *cg, struct json_object *val,
		     husk_error **err)
{
	const char *dir;
	struct v1_mem m;

	if (v1_mem_parse(val, &m, err) < 0)
		return -1;
	if (!m.limit && !m.swap && !m.resv && !m.oom_off &&
	    m.swappiness == -1 && !m.has_hier)
		return 0;
	if (!(dir = cg_res_dir(cg, "memory", "memory", err)) ||
	    v1_mem_limits(dir, m.limit, m.swap, err) < 0)
		return -1;
	if (m.resv && cg_set_i64(dir, "memory.soft_limit_in_bytes", m.resv,
				 "memory.reservation", err) < 0)
		return -1;
	if (m.oom_off && cg_set(dir, "memory.oom_control", "1",
				"memory.disableOOMKiller", err) < 0)
		return -1;
	if (m.swappiness != -1 &&
	    cg_set_i64(dir, "memory.swappiness", m.swappiness,
		       "memory.swappiness", err) < 0)
		return -1;
	if (m.has_hier && cg_set(dir, "memory.use_hierarchy", m.hier ? "1" : "0",
				 "memory.useHierarchy", err) < 0)
		return -1;
	return 0;
}

/* The kernel clamps cpu.shares to 2..262144 without an error; runc reads
 * it back and fails rather than run with another value. */
static int v1_shares(const char *dir, uint64_t shares, husk_error **err)
{
	uint64_t got;
	char why[96];

	if (cg_set_u64(dir, "cpu.shares", shares, "cpu.shares", err) < 0 ||
	    cg_read_u64(dir, "cpu.shares", &got, err) < 0)
		return -1;
	if (got == shares)
		return 0;
	snprintf(why, sizeof(why), "the %s allowed is %" PRIu64,
		 shares > got ? "maximum" : "minimum", got);
	return cg_res_refuse(err, "cpu.shares", why);
}

/* period and quota (and the RT pair) constrain each other against the
 * parent: when the kernel refuses the first write with EINVAL, write the
 * other one and retry, as runc does. */
static int write_pair(const char *dir, const char *f1, uint64_t v1,
		      const char *s1, const char *f2, int64_t v2,
		      const char *s2, husk_error **err)
{
	bool retry = false;

	if (v1 && cg_set_u64(dir, f1, v1, s1, err) < 0) {
		if (errno != EINVAL || !v2)
			return -1;
		husk_error_free(err);
		retry = true;
	}
	if (v2 && cg_set_i64(dir, f2, v2, s2, err) < 0)
		return -1;
	if (retry && cg_set_u64(dir, f1, v1, s1, err) < 0)
		return -1;
	return 0;
}

static int v1_cpu(struct cgroup *cg, struct json_object *val,
		  husk_error **err)
{
	const char *dir;
	struct cg_cpu c;

	if (cg_cpu_parse(val, &c, err) < 0)
		return -1;
	if (!c.shares && !c.quota && !c.period && !c.has_burst &&
	    !c.rt_runtime && !c.rt_period && !c.has_idle)
		return 0;
	if (!(dir = cg_res_dir(cg, "cpu", "cpu", err)))
		return -1;
	if (c.shares && v1_shares(dir, c.shares, err) < 0)
		return -1;
	if (write_pair(dir, "cpu.cfs_period_us", c.period, "cpu.period",
		       "cpu.cfs_quota_us", c.quota, "cpu.quota", err) < 0)
		return -1;
	if (c.has_burst && cg_set_u64(dir, "cpu.cfs_burst_us", c.burst,
				      "cpu.burst", err) < 0)
		return -1;
	if (c.has_idle &&
	    cg_set_i64(dir, "cpu.idle", c.idle, "cpu.idle", err) < 0)
		return -1;
	return write_pair(dir, "cpu.rt_period_us", c.rt_period,
			  "cpu.realtimePeriod", "cpu.rt_runtime_us",
			  c.rt_runtime, "cpu.realtimeRuntime", err);
}

static int v1_pids(struct cgroup *cg, struct json_object *val,
		   husk_error **err)
{
	const char *dir;
	int64_t limit = 0;

	if (cg_want_object(val, "pids", err) < 0 ||
	    cg_get_i64(val, "pids", "limit", &limit, err) < 0)
		return -1;
	/* runc 1.1: 0 is unset, negative is unlimited. */
	if (!limit)
		return 0;
	if (!(dir = cg_res_dir(cg, "pids", "pids.limit", err)))
		return -1;
	if (limit < 0)
		return cg_set(dir, "pids.max", "max", "pids.limit", err);
	return cg_set_i64(dir, "pids.max", limit, "pids.limit", err);
}

/* Kernels without CFQ (5.0+) have BFQ's blkio.bfq.weight instead. */
static const char *weight_file(const char *dir, bool device)
{
	if (cg_file_exists(dir, "blkio.weight"))
		return device ? "blkio.weight_device" : "blkio.weight";
	return device ? "blkio.bfq.weight_device" : "blkio.bfq.weight";
}

static int v1_weight_device(const char *dir, struct json_object *e,
			    const char *path, husk_error **err)
{
	uint64_t w = 0, lw = 0;
	int64_t maj = 0, min = 0;
	char line[64], setting[96];

	if (cg_want_object(e, path, err) < 0 ||
	    cg_get_i64(e, path, "major", &maj, err) < 0 ||
	    cg_get_i64(e, path, "minor", &min, err) < 0 ||
	    cg_get_u64(e, path, "weight", UINT16_MAX, &w, err) < 0 ||
	    cg_get_u64(e, path, "leafWeight", UINT16_MAX, &lw, err) < 0)
		return -1;
	if (w) {
		snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64,
			 maj, min, w);
		snprintf(setting, sizeof(setting), "%s.weight", path);
		if (cg_set(dir, weight_file(dir, true), line, setting, err) < 0)
			return -1;
	}
	if (lw) {
		snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64,
			 maj, min, lw);
		snprintf(setting, sizeof(setting), "%s.leafWeight", path);
		if (cg_set(dir, "blkio.leaf_weight_device", line, setting,
			   err) < 0)
			return -1;
	}
	return 0;
}

static int v1_weights(const char *dir, struct json_object *val,
		      husk_error **err)
{
	struct json_object *a = NULL;
	uint64_t w = 0, lw = 0;
	int r;

	if (cg_get_u64(val, "blockIO", "weight", UINT16_MAX, &w, err) < 0 ||
	    cg_get_u64(val, "blockIO", "leafWeight", UINT16_MAX, &lw, err) < 0 ||
	    (r = cg_get_json(val, "blockIO", "weightDevice", json_type_array,
			     &a, err)) < 0)
		return -1;
	if (w && cg_set_u64(dir, weight_file(dir, false), w, "blockIO.weight",
			    err) < 0)
		return -1;
	if (lw && cg_set_u64(dir, "blkio.leaf_weight", lw,
			     "blockIO.leafWeight", err) < 0)
		return -1;
	for (size_t i = 0; r > 0 && i < json_object_array_length(a); i++) {
		char path[48];

		snprintf(path, sizeof(path), "blockIO.weightDevice[%zu]", i);
		if (v1_weight_device(dir, json_object_array_get_idx(a, i), path,
				     err) < 0)
			return -1;
	}
	return 0;
}

static int v1_blkio(struct cgroup *cg, struct json_object *val,
		    husk_error **err)
{
	static const char *const throttles[][2] = {
		{ "throttleReadBpsDevice", "blkio.throttle.read_bps_device" },
		{ "throttleWriteBpsDevice", "blkio.throttle.write_bps_device" },
		{ "throttleReadIOPSDevice", "blkio.throttle.read_iops_device" },
		{ "throttleWriteIOPSDevice",
		  "blkio.throttle.write_iops_device" },
	};
	const char *dir = cgroup_dir(cg, "blkio");

	if (cg_want_object(val, "blockIO", err) < 0)
		return -1;
	if (json_object_object_length(val) == 0)
		return 0;
	if (!dir)
		return cg_res_refuse(err, "blockIO", "no blkio cgroup "
						     "hierarchy is mounted");
	if (v1_weights(dir, val, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(throttles); i++)
		if (cg_blkio_throttle(val, throttles[i][0], dir,
				      throttles[i][1], NULL, err) < 0)
			return -1;
	return 0;
}

static int v1_hugetlb(struct cgroup *cg, struct json_object *val,
		      husk_error **err)
{
	const char *dir;

	if (json_object_is_type(val, json_type_array) &&
	    json_object_array_length(val) == 0)
		return 0;
	if (!(dir = cg_res_dir(cg, "hugetlb", "hugepageLimits", err)))
		return -1;
	return cg_hugetlb(dir, val, ".limit_in_bytes", err);
}

static int v1_priorities(struct cgroup *cg, struct json_object *a,
			 husk_error **err)
{
	const char *dir = NULL;

	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *name = NULL;
		uint64_t prio = 0;
		char path[48], line[128];

		snprintf(path, sizeof(path), "network.priorities[%zu]", i);
		if (cg_want_object(e, path, err) < 0 ||
		    cg_get_str(e, path, "name", &name, err) < 0 ||
		    cg_get_u64(e, path, "priority", UINT32_MAX, &prio, err) < 0)
			return -1;
		if (!name || !*name || strlen(name) > 64 || strpbrk(name, " \n"))
			return cg_res_refuse(err, path, "name must be a network "
							"interface name");
		if (!dir && !(dir = cg_res_dir(cg, "net_prio", path, err)))
			return -1;
		snprintf(line, sizeof(line), "%s %" PRIu64, name, prio);
		if (cg_set(dir, "net_prio.ifpriomap", line, path, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_network(struct cgroup *cg, struct json_object *val,
		      husk_error **err)
{
	struct json_object *prios = NULL;
	uint64_t id = 0;
	const char *dir;
	int r;

	if (cg_want_object(val, "network", err) < 0 ||
	    cg_get_u64(val, "network", "classID", UINT32_MAX, &id, err) < 0 ||
	    (r = cg_get_json(val, "network", "priorities", json_type_array,
			     &prios, err)) < 0)
		return -1;
	if (id && (!(dir = cg_res_dir(cg, "net_cls", "network.classID", err)) ||
		   cg_set_u64(dir, "net_cls.classid", id, "network.classID",
			      err) < 0))
		return -1;
	return r > 0 ? v1_priorities(cg, prios, err) : 0;
}

static int v1_rdma(struct cgroup *cg, struct json_object *val,
		   husk_error **err)
{
	const char *dir;

	if (cg_want_object(val, "rdma", err) < 0)
		return -1;
	if (json_object_object_length(val) == 0)
		return 0;
	if (!(dir = cg_res_dir(cg, "rdma", "rdma", err)))
		return -1;
	return cg_rdma(dir, val, err);
}

/* unified is for cgroup v2 (runc refuses it on v1 altogether). In hybrid
 * mode the cgroup2 hierarchy holds controllers too (hugetlb here), so a
 * key naming one of its files is written there; anything else would be
 * silently missing, and is refused. */
static int v1_unified(struct cgroup *cg, struct json_object *val,
		      husk_error **err)
{
	const char *dir = cgroup_dir(cg, "");

	if (cg_want_object(val, "unified", err) < 0)
		return -1;
	json_object_object_foreach(val, key, v) {
		char setting[128];

		snprintf(setting, sizeof(setting), "unified.%s", key);
		if (cg_unified_check_key(key, err) < 0)
			return -1;
		if (!json_object_is_type(v, json_type_string))
			return cg_res_refuse(err, setting, "must be a string");
		if (!dir || !cg_file_exists(dir, key))
			return cg_res_refuse(err, setting,
					     "cgroup v2 setting, but this host "
					     "runs cgroup v1 and its hybrid "
					     "cgroup2 hierarchy has no such "
					     "file");
		if (cg_set(dir, key, json_object_get_string(v), setting,
			   err) < 0)
			return -1;
	}
	return 0;
}

/* runc's order of v1 subsystems: cpuset, devices, memory, cpu, pids,
 * blkio, hugetlb, net_cls, net_prio, rdma. */
const struct cgroup_resource cg_v1_resources[] = {
	{ "cpu", v1_cpuset, 0 },
	{ "devices", cg_v1_devices, CG_RES_CREATE_ONLY | CG_RES_ALWAYS },
	{ "memory", v1_memory, 0 },
	{ "cpu", v1_cpu, 0 },
	{ "pids", v1_pids, 0 },
	{ "blockIO", v1_blkio, 0 },
	{ "hugepageLimits", v1_hugetlb, 0 },
	{ "network", v1_network, 0 },
	{ "rdma", v1_rdma, 0 },
	{ "unified", v1_unified, 0 },
	{ NULL, NULL, 0 },
};
