/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Resource pieces both drivers share: runc's value conversions, and the
 * list-shaped settings (blkio throttles, huge pages, rdma) whose files
 * differ only in name. */
#include "cgroup_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

uint64_t cg_shares_to_weight(uint64_t shares)
{
	__int128 s = shares;

	if (shares == 0)
		return 0;
	/* Signed, so shares of 1 (below v1's minimum of 2) maps to 1
	 * instead of wrapping around as runc's unsigned sum does. */
	return (uint64_t)(1 + ((s - 2) * 9999) / 262142);
}

#define CG_MAX_SHARES 262144

int cg_shares_check(uint64_t shares, husk_error **err)
{
	if (shares <= CG_MAX_SHARES)
		return 0;
	return cg_res_refuse(err, "cpu.shares", "the maximum allowed is 262144");
}

uint64_t cg_blkio_to_io_weight(uint64_t weight)
{
	__int128 w = weight;

	if (weight == 0)
		return 0;
	return (uint64_t)(1 + ((w - 10) * 9999) / 990);
}

void cg_v1_mem_plan(int64_t limit, int64_t swap, bool have_memsw,
		    uint64_t cur_limit, struct cg_mem_plan *p)
{
	p->limit = limit;
	p->swap = swap;
	p->swap_first = false;
	/* Unlimited memory with swap unset means both unlimited: memsw
	 * would otherwise keep an old, lower bound. */
	if (limit == -1 && swap == 0 && have_memsw)
		p->swap = -1;
	/* The kernel wants memsw >= limit after each write: raise memsw
	 * first when the new memsw is above the current limit. */
	if (p->limit != 0 && p->swap != 0)
		p->swap_first = p->swap == -1 || cur_limit < (uint64_t)p->swap;
}

int cg_v2_swap(int64_t swap, int64_t limit, int64_t *out, const char **why)
{
	*out = 0;
	if (limit == -1 && swap == 0) {
		*out = -1;
		return 1;
	}
	if (swap == 0)
		return 0;
	if (swap == -1) {
		*out = -1;
		return 1;
	}
	if (limit == 0 || limit == -1)
		return *why = "cannot set swap without a memory limit", -1;
	if (limit < 0)
		return *why = "invalid memory limit", -1;
	if (swap < limit)
		return *why = "memory+swap limit must be >= memory limit", -1;
	/* swap == limit is "no swap at all": write 0 */
	*out = swap - limit;
	return 1;
}

/* "8:16", from major and minor of one entry of a blockIO list. */
static int dev_numbers(struct json_object *e, const char *path, char *buf,
		       size_t size, husk_error **err)
{
	int64_t maj = 0, min = 0;

	if (cg_want_object(e, path, err) < 0 ||
	    cg_get_i64(e, path, "major", &maj, err) < 0 ||
	    cg_get_i64(e, path, "minor", &min, err) < 0)
		return -1;
	if (maj < 0 || min < 0 || maj > UINT32_MAX || min > UINT32_MAX)
		return husk_fail(err, 0, "config.json: linux.resources.%s: "
					 "major and minor must be device "
					 "numbers", path);
	snprintf(buf, size, "%" PRId64 ":%" PRId64, maj, min);
	return 0;
}

int cg_blkio_throttle(struct json_object *blkio, const char *key,
		      const char *dir, const char *file, const char *fmt,
		      husk_error **err)
{
	struct json_object *a = NULL;
	int r = cg_get_json(blkio, "blockIO", key, json_type_array, &a, err);

	for (size_t i = 0; r > 0 && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		char path[96], dev[48], line[128];
		uint64_t rate = 0;

		snprintf(path, sizeof(path), "blockIO.%s[%zu]", key, i);
		if (dev_numbers(e, path, dev, sizeof(dev), err) < 0 ||
		    cg_get_u64(e, path, "rate", UINT64_MAX, &rate, err) < 0)
			return -1;
		if (fmt)
			snprintf(line, sizeof(line), "%s %s=%" PRIu64, dev, fmt,
				 rate);
		else
			snprintf(line, sizeof(line), "%s %" PRIu64, dev, rate);
		if (!dir)
			return cg_res_refuse(err, path, "no blkio cgroup "
							"hierarchy is mounted");
		if (cg_set(dir, file, line, path, err) < 0)
			return -1;
	}
	return r < 0 ? -1 : 0;
}

/* hugetlb.<size>.rsvd.* (Linux 5.7) also limits reservations, so a
 * mapping that is never touched counts too; runc 1.1 sets both. */
static int hugetlb_one(const char *dir, struct json_object *e,
		       const char *path, const char *suffix, husk_error **err)
{
	const char *size = NULL;
	char file[128], setting[96];
	uint64_t limit = 0;

	if (cg_want_object(e, path, err) < 0 ||
	    cg_get_str(e, path, "pageSize", &size, err) < 0 ||
	    cg_get_u64(e, path, "limit", UINT64_MAX, &limit, err) < 0)
		return -1;
	if (!size || !*size || strchr(size, '/') || strlen(size) > 32)
		return husk_fail(err, 0, "config.json: linux.resources.%s."
					 "pageSize: must be a size such as "
					 "\"2MB\"", path);
	snprintf(setting, sizeof(setting), "%s.limit", path);
	snprintf(file, sizeof(file), "hugetlb.%s%s", size, suffix);
	if (cg_set_u64(dir, file, limit, setting, err) < 0)
		return -1;
	snprintf(file, sizeof(file), "hugetlb.%s.rsvd%s", size, suffix);
	if (!cg_file_exists(dir, file))
		return 0;
	return cg_set_u64(dir, file, limit, setting, err);
}

int cg_hugetlb(const char *dir, struct json_object *val, const char *suffix,
	       husk_error **err)
{
	if (!json_object_is_type(val, json_type_array))
		return husk_fail(err, 0, "config.json: linux.resources."
					 "hugepageLimits: must be an array");
	for (size_t i = 0; i < json_object_array_length(val); i++) {
		char path[48];

		snprintf(path, sizeof(path), "hugepageLimits[%zu]", i);
		if (hugetlb_one(dir, json_object_array_get_idx(val, i), path,
				suffix, err) < 0)
			return -1;
	}
	return 0;
}

/* rdma.max takes "<device> hca_handle=<n> hca_object=<n>" per device. */
int cg_rdma(const char *dir, struct json_object *val, husk_error **err)
{
	if (cg_want_object(val, "rdma", err) < 0)
		return -1;
	json_object_object_foreach(val, dev, lim) {
		char path[96], line[256];
		uint64_t h = 0, o = 0;
		int hh, ho;
		size_t n;

		snprintf(path, sizeof(path), "rdma.%s", dev);
		if (cg_want_object(lim, path, err) < 0 ||
		    (hh = cg_get_u64(lim, path, "hcaHandles", UINT32_MAX, &h,
				     err)) < 0 ||
		    (ho = cg_get_u64(lim, path, "hcaObjects", UINT32_MAX, &o,
				     err)) < 0)
			return -1;
		if (!*dev || strpbrk(dev, " \t\n="))
			return cg_res_refuse(err, path, "not a device name");
		n = (size_t)snprintf(line, sizeof(line), "%s", dev);
		if (hh && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      " hca_handle=%" PRIu64, h);
		if (ho && n < sizeof(line))
			snprintf(line + n, sizeof(line) - n,
				 " hca_object=%" PRIu64, o);
		if (cg_set(dir, "rdma.max", line, path, err) < 0)
			return -1;
	}
	return 0;
}

int cg_unified_check_key(const char *key, husk_error **err)
{
	const char *dot = strchr(key, '.');

	if (strchr(key, '/') || !dot || dot == key || !dot[1])
		return husk_fail(err, 0, "config.json: linux.resources.unified."
					 "%s: must be a cgroup file name of the "
					 "form <controller>.<name>", key);
	return 0;
}

int cg_cpu_parse(struct json_object *val, struct cg_cpu *c, husk_error **err)
{
	memset(c, 0, sizeof(*c));
	if (cg_want_object(val, "cpu", err) < 0 ||
	    cg_get_u64(val, "cpu", "shares", UINT64_MAX, &c->shares, err) < 0 ||
	    cg_get_i64(val, "cpu", "quota", &c->quota, err) < 0 ||
	    cg_get_u64(val, "cpu", "period", UINT64_MAX, &c->period, err) < 0 ||
	    (c->has_burst = cg_get_u64(val, "cpu", "burst", UINT64_MAX, &c->burst, err)) < 0 ||
	    cg_get_i64(val, "cpu", "realtimeRuntime", &c->rt_runtime, err) < 0 ||
	    cg_get_u64(val, "cpu", "realtimePeriod", UINT64_MAX, &c->rt_period, err) < 0 ||
	    (c->has_idle = cg_get_i64(val, "cpu", "idle", &c->idle, err)) < 0)
		return -1;
	return 0;
}
