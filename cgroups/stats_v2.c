/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Statistics from the v2 cgroup, converted to runc's v1-shaped fields as
 * runc's fs2 driver converts them. */
#include "cgroup_internal.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

static int cpu_stats(const char *dir, struct cg_stats *s, husk_error **err)
{
	_cleanup_free_ char *text = cg_stat_text(dir, "cpu.stat", err);
	uint64_t v;

	if (!text)
		return err && *err ? -1 : 0;
	if (cg_stat_key(text, "usage_usec", &v))
		s->cpu.total = v * 1000;
	if (cg_stat_key(text, "user_usec", &v))
		s->cpu.user = v * 1000;
	if (cg_stat_key(text, "system_usec", &v))
		s->cpu.kernel = v * 1000;
	cg_stat_key(text, "nr_periods", &s->cpu.periods);
	cg_stat_key(text, "nr_throttled", &s->cpu.throttled_periods);
	if (cg_stat_key(text, "throttled_usec", &v))
		s->cpu.throttled_time = v * 1000;
	return 0;
}

/* v1 reported swap as memory+swap; runc keeps that meaning on v2. */
static int memory_stats(const char *dir, struct cg_stats *s,
			husk_error **err)
{
	struct cg_mem_entry *u = &s->memory.usage, *sw = &s->memory.swap;
	struct json_object *file = NULL;

	if (cg_stat_raw(dir, "memory.stat", &s->memory.raw, err) < 0)
		return -1;
	if (!s->memory.raw)
		return 0;
	if (json_object_object_get_ex(s->memory.raw, "file", &file))
		s->memory.cache = json_object_get_uint64(file);
	if (cg_stat_u64(dir, "memory.current", &u->usage, err) < 0 ||
	    cg_stat_u64(dir, "memory.max", &u->limit, err) < 0 ||
	    cg_stat_u64(dir, "memory.peak", &u->max, err) < 0)
		return -1;
	if (!cg_file_exists(dir, "memory.swap.current"))
		return 0;
	if (cg_stat_u64(dir, "memory.swap.current", &sw->usage, err) < 0 ||
	    cg_stat_u64(dir, "memory.swap.max", &sw->limit, err) < 0)
		return -1;
	sw->usage += u->usage;
	if (sw->limit != UINT64_MAX && u->limit != UINT64_MAX)
		sw->limit += u->limit;
	else
		sw->limit = UINT64_MAX;
	return 0;
}

static int pids_stats(const char *dir, struct cg_stats *s, husk_error **err)
{
	uint64_t max = 0;

	if (cg_stat_u64(dir, "pids.current", &s->pids.current, err) < 0 ||
	    cg_stat_u64(dir, "pids.max", &max, err) < 0)
		return -1;
	s->pids.limit = max == UINT64_MAX ? 0 : max;
	return 0;
}

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" */
static void io_line(const char *line, struct cg_stats *s)
{
	static const struct {
		const char *key, *op;
		int list;
	} map[] = {
		{ "rbytes=", "Read", CG_BLKIO_SERVICE_BYTES },
		{ "wbytes=", "Write", CG_BLKIO_SERVICE_BYTES },
		{ "rios=", "Read", CG_BLKIO_SERVICED },
		{ "wios=", "Write", CG_BLKIO_SERVICED },
	};
	unsigned long long maj, min;
	const char *p;
	int n = 0;

	if (sscanf(line, "%llu:%llu%n", &maj, &min, &n) != 2)
		return;
	for (p = line + n; *p && *p != '\n';) {
		p += strspn(p, " ");
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (strncmp(p, map[i].key, strlen(map[i].key)) == 0)
				cg_blkio_add(&s->blkio[map[i].list], maj, min,
					     map[i].op,
					     strtoull(p + strlen(map[i].key),
						      NULL, 10));
		p += strcspn(p, " \n");
	}
}

static int io_stats(const char *dir, struct cg_stats *s, husk_error **err)
{
	_cleanup_free_ char *text = cg_stat_text(dir, "io.stat", err);

	for (const char *p = text; p && *p;) {
		io_line(p, s);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return err && *err ? -1 : 0;
}

static int hugetlb_stats(const char *dir, struct cg_stats *s,
			 husk_error **err)
{
	char sizes[CG_MAX_HUGEPAGE_SIZES][16];
	size_t n = cg_hugepage_sizes(sizes, CG_MAX_HUGEPAGE_SIZES);

	for (size_t i = 0; i < n; i++) {
		struct cg_hugetlb_stat *h = &s->hugetlb[s->n_hugetlb];
		_cleanup_free_ char *events = NULL;
		char f[64];

		snprintf(f, sizeof(f), "hugetlb.%s.current", sizes[i]);
		if (!cg_file_exists(dir, f))
			continue;
		s->n_hugetlb++;
		snprintf(h->size, sizeof(h->size), "%s", sizes[i]);
		if (cg_stat_u64(dir, f, &h->usage, err) < 0)
			return -1;
		snprintf(f, sizeof(f), "hugetlb.%s.events", sizes[i]);
		events = cg_stat_text(dir, f, err);
		cg_stat_key(events, "max", &h->failcnt);
	}
	return err && *err ? -1 : 0;
}

struct json_object *cg_v2_stats(struct cgroup *cg, husk_error **err)
{
	static int (*const readers[])(const char *, struct cg_stats *,
				      husk_error **) = {
		cpu_stats, memory_stats, pids_stats, io_stats, hugetlb_stats,
	};
	const char *dir = cg->hier[0].dir;
	struct cg_stats s = { 0 };
	struct json_object *o = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(readers); i++)
		if (readers[i](dir, &s, err) < 0)
			break;
	if (i == ARRAY_SIZE(readers))
		o = cg_stats_to_json(&s);
	cg_stats_free(&s);
	return o;
}

int cg_v2_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err)
{
	_cleanup_free_ char *text = cg_stat_text(cg->hier[0].dir,
						 "memory.events", err);

	*count = 0;
	if (!text)
		return err && *err ? -1 : 0;
	cg_stat_key(text, "oom_kill", count);
	return 0;
}
