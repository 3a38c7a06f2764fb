/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.resources on cgroup v2, mapped to files as runc's fs2 driver maps
 * them. v1-only settings runc ignores on v2 are ignored here too (memory
 * kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy; blockIO
 * leafWeight; network); realtime CPU bandwidth, which v2 cannot give, is
 * refused instead of silently missing.
 */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

static const char *dir_of(const struct cgroup *cg)
{
	return cg->hier[0].dir;
}

/* -1 is "max" in v2 files. */
static int set_limit(const char *dir, const char *file, int64_t v,
		     const char *setting, husk_error **err)
{
	if (v == -1)
		return cg_set(dir, file, "max", setting, err);
	return cg_set_i64(dir, file, v, setting, err);
}

static int v2_pids(struct cgroup *cg, struct json_object *val,
		   husk_error **err)
{
	int64_t limit = 0;

	if (cg_want_object(val, "pids", err) < 0 ||
	    cg_get_i64(val, "pids", "limit", &limit, err) < 0)
		return -1;
	if (!limit)
		return 0;
	return set_limit(dir_of(cg), "pids.max", limit < 0 ? -1 : limit,
			 "pids.limit", err);
}

/* checkBeforeUpdate: lowering memory.max below the usage makes the v2
 * kernel reclaim and then OOM-kill; refuse that instead. */
static int check_usage(const char *dir, int64_t limit, husk_error **err)
{
	uint64_t usage;
	char why[128];

	if (limit <= 0 || cg_read_u64(dir, "memory.current", &usage, err) < 0)
		return limit <= 0 ? 0 : -1;
	if ((uint64_t)limit > usage)
		return 0;
	snprintf(why, sizeof(why), "rejecting memory limit %" PRId64
				   " below usage %" PRIu64, limit, usage);
	return cg_res_refuse(err, "memory.limit", why);
}

/* swap alone (husk update) converts against the limit in force. */
static int v2_swap(const char *dir, int64_t swap, int64_t limit,
		   husk_error **err)
{
	const char *why = NULL;
	uint64_t cur;
	int64_t out;
	int r;

	if (swap > 0 && limit == 0 &&
	    cg_read_u64(dir, "memory.max", &cur, NULL) == 0 &&
	    cur != UINT64_MAX && cur <= INT64_MAX)
		limit = (int64_t)cur;
	r = cg_v2_swap(swap, limit, &out, &why);
	if (r < 0)
		return cg_res_refuse(err, "memory.swap", why);
	if (r == 0)
		return 0;
	if (set_limit(dir, "memory.swap.max", out, "memory.swap", err) == 0)
		return 0;
	/* Without swap accounting there is no file: "max" and "0" are then
	 * what the container gets anyway. */
	if (errno == ENOENT && out <= 0) {
		husk_error_free(err);
		return 0;
	}
	return -1;
}

static int v2_memory(struct cgroup *cg, struct json_object *val,
		     husk_error **err)
{
	int64_t limit = 0, swap = 0, resv = 0;
	const char *dir = dir_of(cg);
	bool check = false;

	if (cg_want_object(val, "memory", err) < 0 ||
	    cg_get_i64(val, "memory", "limit", &limit, err) < 0 ||
	    cg_get_i64(val, "memory", "swap", &swap, err) < 0 ||
	    cg_get_i64(val, "memory", "reservation", &resv, err) < 0 ||
	    cg_get_bool(val, "memory", "checkBeforeUpdate", &check, err) < 0)
		return -1;
	if (!limit && !swap && !resv)
		return 0;
	if (check && check_usage(dir, limit, err) < 0)
		return -1;
	if (v2_swap(dir, swap, limit, err) < 0)
		return -1;
	if (limit && set_limit(dir, "memory.max", limit, "memory.limit",
			       err) < 0)
		return -1;
	if (resv && set_limit(dir, "memory.low", resv, "memory.reservation",
			      err) < 0)
		return -1;
	return 0;
}

/* io.bfq.weight takes per-device weights since Linux 5.4: it then reads
 * "default N" rather than a bare number. */
static bool bfq_per_device(const char *dir)
{
	char buf[64];

	return cg_read(dir, "io.bfq.weight", buf, sizeof(buf), NULL) > 0 &&
	       strncmp(buf, "default", 7) == 0;
}

static int v2_weight_devices(const char *dir, struct json_object *a,
			     husk_error **err)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		int64_t maj = 0, min = 0;
		uint64_t w = 0;
		char path[48], line[64];

		snprintf(path, sizeof(path), "blockIO.weightDevice[%zu]", i);
		if (cg_want_object(e, path, err) < 0 ||
		    cg_get_i64(e, path, "major", &maj, err) < 0 ||
		    cg_get_i64(e, path, "minor", &min, err) < 0 ||
		    cg_get_u64(e, path, "weight", UINT16_MAX, &w, err) < 0)
			return -1;
		if (!w)
			continue;
		snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64,
			 maj, min, w);
		if (cg_set(dir, "io.bfq.weight", line, path, err) < 0)
			return -1;
	}
	return 0;
}

/* BFQ takes blkio weights as they are; io.weight (iocost) wants them
 * converted. Per-device weights need BFQ; runc drops them otherwise. */
static int v2_weights(const char *dir, struct json_object *val,
		      husk_error **err)
{
	bool bfq = cg_file_exists(dir, "io.bfq.weight");
	struct json_object *a = NULL;
	uint64_t w = 0;
	int r;

	if (cg_get_u64(val, "blockIO", "weight", UINT16_MAX, &w, err) < 0 ||
	    (r = cg_get_json(val, "blockIO", "weightDevice", json_type_array,
			     &a, err)) < 0)
		return -1;
	if (w && bfq && cg_set_u64(dir, "io.bfq.weight", w, "blockIO.weight",
				   err) < 0)
		return -1;
	if (w && !bfq && cg_set_u64(dir, "io.weight", cg_blkio_to_io_weight(w),
				    "blockIO.weight", err) < 0)
		return -1;
	if (r > 0 && bfq_per_device(dir))
		return v2_weight_devices(dir, a, err);
	return 0;
}

static int v2_io(struct cgroup *cg, struct json_object *val,
		 husk_error **err)
{
	static const char *const throttles[][2] = {
		{ "throttleReadBpsDevice", "rbps" },
		{ "throttleWriteBpsDevice", "wbps" },
		{ "throttleReadIOPSDevice", "riops" },
		{ "throttleWriteIOPSDevice", "wiops" },
	};
	const char *dir = dir_of(cg);

	if (cg_want_object(val, "blockIO", err) < 0 ||
	    v2_weights(dir, val, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(throttles); i++)
		if (cg_blkio_throttle(val, throttles[i][0], dir, "io.max",
				      throttles[i][1], err) < 0)
			return -1;
	return 0;
}

static int v2_cpu_parse(struct json_object *val, struct cg_cpu *c,
			husk_error **err)
{
	if (cg_cpu_parse(val, c, err) < 0 || cg_shares_check(c->shares, err) < 0)
		return -1;
	if (c->rt_runtime || c->rt_period)
		return cg_res_refuse(err, c->rt_runtime ? "cpu.realtimeRuntime"
							: "cpu.realtimePeriod",
				     "realtime CPU bandwidth is not "
				     "available on cgroup v2");
	return 0;
}

/* cpu.max is "<quota|max> [<period>]"; quota 0 with a period set means
 * "max", as in runc. */
static int v2_cpu_max(const char *dir, const struct cg_cpu *c,
		      husk_error **err)
{
	char buf[64];
	int o;

	if (c->quota > 0)
		o = snprintf(buf, sizeof(buf), "%" PRId64, c->quota);
	else
		o = snprintf(buf, sizeof(buf), "max");
	if (c->period)
		snprintf(buf + o, sizeof(buf) - (size_t)o, " %" PRIu64,
			 c->period);
	return cg_set(dir, "cpu.max", buf, c->quota ? "cpu.quota"
						    : "cpu.period", err);
}

static int v2_cpu(struct cgroup *cg, struct json_object *val,
		  husk_error **err)
{
	const char *dir = dir_of(cg);
	bool burst_later = false;
	struct cg_cpu c;

	if (v2_cpu_parse(val, &c, err) < 0)
		return -1;
	if (c.has_idle &&
	    cg_set_i64(dir, "cpu.idle", c.idle, "cpu.idle", err) < 0)
		return -1;
	if (c.shares && cg_set_u64(dir, "cpu.weight",
				   cg_shares_to_weight(c.shares), "cpu.shares",
				   err) < 0)
		return -1;
	/* A burst above the current quota fails until the quota is set. */
	if (c.has_burst && cg_set_u64(dir, "cpu.max.burst", c.burst,
				      "cpu.burst", err) < 0) {
		if (errno != EINVAL || !c.quota)
			return -1;
		husk_error_free(err);
		burst_later = true;
	}
	if ((c.quota || c.period) && v2_cpu_max(dir, &c, err) < 0)
		return -1;
	if (burst_later && cg_set_u64(dir, "cpu.max.burst", c.burst,
				      "cpu.burst", err) < 0)
		return -1;
	return 0;
}

static int v2_cpuset(struct cgroup *cg, struct json_object *val,
		     husk_error **err)
{
	const char *cpus = NULL, *mems = NULL, *dir = dir_of(cg);

	if (cg_want_object(val, "cpu", err) < 0 ||
	    cg_get_str(val, "cpu", "cpus", &cpus, err) < 0 ||
	    cg_get_str(val, "cpu", "mems", &mems, err) < 0)
		return -1;
	if (cpus && *cpus &&
	    cg_set(dir, "cpuset.cpus", cpus, "cpu.cpus", err) < 0)
		return -1;
	if (mems && *mems &&
	    cg_set(dir, "cpuset.mems", mems, "cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int v2_hugetlb(struct cgroup *cg, struct json_object *val,
		      husk_error **err)
{
	return cg_hugetlb(dir_of(cg), val, ".max", err);
}

static int v2_rdma(struct cgroup *cg, struct json_object *val,
		   husk_error **err)
{
	return cg_rdma(dir_of(cg), val, err);
}

/* A write refused as missing or not permitted usually means the
 * controller is not enabled here: say so, as runc does. */
static int unified_error(const char *dir, const char *key, int e,
			 husk_error **err)
{
	_cleanup_free_ char *ctl = strndup(key, strcspn(key, "."));
	char avail[512], why[640];

	if (!ctl)
		return -1;
	if ((e != ENOENT && e != EPERM) || strcmp(ctl, "cgroup") == 0 ||
	    cg_read(dir, "cgroup.controllers", avail, sizeof(avail), NULL) < 0 ||
	    cg_list_has(avail, ctl))
		return -1;
	husk_error_free(err);
	snprintf(why, sizeof(why), "controller \"%s\" is not available (the "
				   "cgroup has: %s)", ctl,
		 *avail ? avail : "none");
	snprintf(avail, sizeof(avail), "unified.%s", key);
	return cg_res_refuse(err, avail, why);
}

/* Written last and verbatim, so they override the mapped settings. */
static int v2_unified(struct cgroup *cg, struct json_object *val,
		      husk_error **err)
{
	const char *dir = dir_of(cg);

	if (cg_want_object(val, "unified", err) < 0)
		return -1;
	json_object_object_foreach(val, key, v) {
		char setting[128];

		snprintf(setting, sizeof(setting), "unified.%s", key);
		if (cg_unified_check_key(key, err) < 0)
			return -1;
		if (!json_object_is_type(v, json_type_string))
			return cg_res_refuse(err, setting, "must be a string");
		if (cg_set(dir, key, json_object_get_string(v), setting,
			   err) < 0)
			return unified_error(dir, key, errno, err);
	}
	return 0;
}

/* runc's fs2 order: pids, memory, io, cpu, devices, cpuset, hugetlb,
 * rdma, unified. */
const struct cgroup_resource cg_v2_resources[] = {
	{ "pids", v2_pids, 0 },
	{ "memory", v2_memory, 0 },
	{ "blockIO", v2_io, 0 },
	{ "cpu", v2_cpu, 0 },
	{ "devices", cg_v2_devices, CG_RES_CREATE_ONLY | CG_RES_ALWAYS },
	{ "cpu", v2_cpuset, 0 },
	{ "hugepageLimits", v2_hugetlb, 0 },
	{ "rdma", v2_rdma, 0 },
	{ "unified", v2_unified, 0 },
	{ NULL, NULL, 0 },
};
