/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Statistics from the v1 hierarchies, read as runc's fs driver reads
 * them; a hierarchy that is not mounted contributes nothing. */
#include "cgroup_internal.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

/* memory.<name>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}
 * ("" for memory itself). The swap and kmem files are optional. */
static int mem_entry(const char *dir, const char *name,
		     struct cg_mem_entry *e, husk_error **err)
{
	static const char *const files[] = {
		"usage_in_bytes", "max_usage_in_bytes", "failcnt",
		"limit_in_bytes",
	};
	uint64_t *vals[] = { &e->usage, &e->max, &e->failcnt, &e->limit };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char file[64];

		snprintf(file, sizeof(file), "memory.%s%s%s", name,
			 *name ? "." : "", files[i]);
		if (cg_stat_u64(dir, file, vals[i], err) < 0)
			return -1;
	}
	return 0;
}

static int memory_stats(const char *dir, struct cg_stats *s,
			husk_error **err)
{
	uint64_t cache = 0;

	if (cg_stat_raw(dir, "memory.stat", &s->memory.raw, err) < 0)
		return -1;
	if (!s->memory.raw) /* no memory cgroup: runc reports nothing */
		return 0;
	if (json_object_is_type(s->memory.raw, json_type_object)) {
		struct json_object *c = NULL;

		if (json_object_object_get_ex(s->memory.raw, "cache", &c))
			cache = json_object_get_uint64(c);
	}
	s->memory.cache = cache;
	if (mem_entry(dir, "", &s->memory.usage, err) < 0 ||
	    mem_entry(dir, "memsw", &s->memory.swap, err) < 0 ||
	    mem_entry(dir, "kmem", &s->memory.kernel, err) < 0 ||
	    mem_entry(dir, "kmem.tcp", &s->memory.kernel_tcp, err) < 0)
		return -1;
	return 0;
}

/* cpuacct.usage_all: "cpu user system" then one line per CPU. */
static void percpu_modes(const char *text, struct cg_stats *s)
{
	const char *p = text ? strchr(text, '\n') : NULL;

	while (p && *++p) {
		unsigned long long cpu, user, sys;

		if (sscanf(p, "%llu %llu %llu", &cpu, &user, &sys) != 3)
			break;
		cg_stat_list_add(&s->cpu.percpu_kernel, sys);
		cg_stat_list_add(&s->cpu.percpu_user, user);
		p = strchr(p, '\n');
	}
}

/* cpuacct.stat counts in clock ticks; runc reports nanoseconds. */
static int cpuacct_stats(const char *dir, struct cg_stats *s,
			 husk_error **err)
{
	_cleanup_free_ char *stat = cg_stat_text(dir, "cpuacct.stat", err);
	_cleanup_free_ char *percpu = NULL, *all = NULL;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t user = 0, sys = 0;

	if (!stat)
		return err && *err ? -1 : 0;
	if (hz <= 0)
		hz = 100;
	cg_stat_key(stat, "user", &user);
	cg_stat_key(stat, "system", &sys);
	s->cpu.user = user * 1000000000ull / (uint64_t)hz;
	s->cpu.kernel = sys * 1000000000ull / (uint64_t)hz;
	if (cg_stat_u64(dir, "cpuacct.usage", &s->cpu.total, err) < 0)
		return -1;
	percpu = cg_stat_text(dir, "cpuacct.usage_percpu", err);
	all = cg_stat_text(dir, "cpuacct.usage_all", err);
	if (err && *err)
		return -1;
	cg_stat_list(percpu, &s->cpu.percpu);
	percpu_modes(all, s);
	return 0;
}

static int cpu_stats(const char *dir, struct cg_stats *s, husk_error **err)
{
	_cleanup_free_ char *text = cg_stat_text(dir, "cpu.stat", err);

	if (!text)
		return err && *err ? -1 : 0;
	cg_stat_key(text, "nr_periods", &s->cpu.periods);
	cg_stat_key(text, "nr_throttled", &s->cpu.throttled_periods);
	cg_stat_key(text, "throttled_time", &s->cpu.throttled_time);
	return 0;
}

static int pids_stats(const char *dir, struct cg_stats *s, husk_error **err)
{
	uint64_t max = 0;

	if (cg_stat_u64(dir, "pids.current", &s->pids.current, err) < 0 ||
	    cg_stat_u64(dir, "pids.max", &max, err) < 0)
		return -1;
	s->pids.limit = max == UINT64_MAX ? 0 : max; /* "max": no limit */
	return 0;
}

/* "8:0 Read 4096" lines; a lone "Total N" is skipped. */
static void blkio_parse(const char *text, struct cg_blkio_list *l)
{
	for (const char *p = text; p && *p;) {
		unsigned long long maj, min, v;
		char op[16];

		if (sscanf(p, "%llu:%llu %15s %llu", &maj, &min, op, &v) == 4)
			cg_blkio_add(l, maj, min, op, v);
		else if (sscanf(p, "%llu:%llu %llu", &maj, &min, &v) == 3)
			cg_blkio_add(l, maj, min, "", v);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/* As runc: the first source whose first file has entries wins (BFQ,
 * then CFQ, then the throttling counters). */
static int blkio_stats(const char *dir, struct cg_stats *s,
		       husk_error **err)
{
	static const char *const groups[][2] = {
		{ "blkio.bfq.io_serviced_recursive",
		  "blkio.bfq.io_service_bytes_recursive" },
		{ "blkio.io_serviced_recursive",
		  "blkio.io_service_bytes_recursive" },
		{ "blkio.throttle.io_serviced_recursive",
		  "blkio.throttle.io_service_bytes_recursive" },
		{ "blkio.throttle.io_serviced",
		  "blkio.throttle.io_service_bytes" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		_cleanup_free_ char *ios = cg_stat_text(dir, groups[i][0], err);
		_cleanup_free_ char *bytes = NULL;

		if (err && *err)
			return -1;
		blkio_parse(ios, &s->blkio[CG_BLKIO_SERVICED]);
		if (!s->blkio[CG_BLKIO_SERVICED].n)
			continue;
		bytes = cg_stat_text(dir, groups[i][1], err);
		blkio_parse(bytes, &s->blkio[CG_BLKIO_SERVICE_BYTES]);
		return err && *err ? -1 : 0;
	}
	return 0;
}

static int hugetlb_stats(const char *dir, struct cg_stats *s,
			 husk_error **err)
{
	char sizes[CG_MAX_HUGEPAGE_SIZES][16];
	size_t n = cg_hugepage_sizes(sizes, CG_MAX_HUGEPAGE_SIZES);

	for (size_t i = 0; i < n; i++) {
		struct cg_hugetlb_stat *h = &s->hugetlb[s->n_hugetlb++];
		char f[3][64];

		snprintf(h->size, sizeof(h->size), "%s", sizes[i]);
		snprintf(f[0], sizeof(f[0]), "hugetlb.%s.usage_in_bytes",
			 h->size);
		snprintf(f[1], sizeof(f[1]), "hugetlb.%s.max_usage_in_bytes",
			 h->size);
		snprintf(f[2], sizeof(f[2]), "hugetlb.%s.failcnt", h->size);
		if (cg_stat_u64(dir, f[0], &h->usage, err) < 0 ||
		    cg_stat_u64(dir, f[1], &h->max, err) < 0 ||
		    cg_stat_u64(dir, f[2], &h->failcnt, err) < 0)
			return -1;
	}
	return 0;
}

struct v1_source {
	const char *controller;
	int (*read)(const char *dir, struct cg_stats *s, husk_error **err);
};

struct json_object *cg_v1_stats(struct cgroup *cg, husk_error **err)
{
	static const struct v1_source sources[] = {
		{ "memory", memory_stats }, { "cpu", cpu_stats },
		{ "cpuacct", cpuacct_stats }, { "pids", pids_stats },
		{ "blkio", blkio_stats },   { "hugetlb", hugetlb_stats },
	};
	struct cg_stats s = { 0 };
	struct json_object *o = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sources); i++) {
		const char *dir = cgroup_dir(cg, sources[i].controller);

		if (dir && sources[i].read(dir, &s, err) < 0)
			break;
	}
	if (i == ARRAY_SIZE(sources))
		o = cg_stats_to_json(&s);
	cg_stats_free(&s);
	return o;
}

int cg_v1_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err)
{
	const char *dir = cgroup_dir(cg, "memory");
	_cleanup_free_ char *text = NULL;

	*count = 0;
	if (!dir)
		return 0;
	text = cg_stat_text(dir, "memory.oom_control", err);
	if (!text)
		return err && *err ? -1 : 0;
	cg_stat_key(text, "oom_kill", count);
	return 0;
}
