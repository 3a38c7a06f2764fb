/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `events --stats` data object, encoded as runc 1.1's types.Stats
 * would be by Go: struct fields in declaration order, "omitempty" fields
 * left out when zero, maps with sorted keys. Plus the file readers both
 * drivers' statistics use.
 */
#include "cgroup_internal.h"
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

void cg_stats_free(struct cg_stats *s)
{
	free(s->cpu.percpu.v);
	free(s->cpu.percpu_kernel.v);
	free(s->cpu.percpu_user.v);
	json_object_put(s->memory.raw);
	for (size_t i = 0; i < CG_BLKIO_N; i++)
		free(s->blkio[i].e);
	memset(s, 0, sizeof(*s));
}

static void put_u64(struct json_object *o, const char *key, uint64_t v,
		    bool omitempty)
{
	if (!omitempty || v)
		json_object_object_add(o, key, json_object_new_uint64(v));
}

static void put_list(struct json_object *o, const char *key,
		     const struct cg_u64_list *l)
{
	struct json_object *a;

	if (!l->n)
		return;
	a = json_object_new_array();
	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_uint64(l->v[i]));
	json_object_object_add(o, key, a);
}

static struct json_object *cpu_json(const struct cg_stats *s)
{
	struct json_object *cpu = json_object_new_object();
	struct json_object *u = json_object_new_object();
	struct json_object *t = json_object_new_object();

	put_u64(u, "total", s->cpu.total, true);
	put_list(u, "percpu", &s->cpu.percpu);
	put_list(u, "percpu_kernel", &s->cpu.percpu_kernel);
	put_list(u, "percpu_user", &s->cpu.percpu_user);
	put_u64(u, "kernel", s->cpu.kernel, false);
	put_u64(u, "user", s->cpu.user, false);
	put_u64(t, "periods", s->cpu.periods, true);
	put_u64(t, "throttledPeriods", s->cpu.throttled_periods, true);
	put_u64(t, "throttledTime", s->cpu.throttled_time, true);
	json_object_object_add(cpu, "usage", u);
	json_object_object_add(cpu, "throttling", t);
	return cpu;
}

static struct json_object *mem_entry(const struct cg_mem_entry *e)
{
	struct json_object *o = json_object_new_object();

	put_u64(o, "limit", e->limit, false);
	put_u64(o, "usage", e->usage, true);
	put_u64(o, "max", e->max, true);
	put_u64(o, "failcnt", e->failcnt, false);
	return o;
}

static struct json_object *memory_json(const struct cg_stats *s)
{
	struct json_object *m = json_object_new_object();

	put_u64(m, "cache", s->memory.cache, true);
	json_object_object_add(m, "usage", mem_entry(&s->memory.usage));
	json_object_object_add(m, "swap", mem_entry(&s->memory.swap));
	json_object_object_add(m, "kernel", mem_entry(&s->memory.kernel));
	json_object_object_add(m, "kernelTCP",
			       mem_entry(&s->memory.kernel_tcp));
	if (s->memory.raw && json_object_object_length(s->memory.raw))
		json_object_object_add(m, "raw",
				       json_object_get(s->memory.raw));
	return m;
}

static struct json_object *blkio_json(const struct cg_stats *s)
{
	static const char *const names[CG_BLKIO_N] = {
		"ioServiceBytesRecursive", "ioServicedRecursive",
		"ioQueueRecursive",	   "ioServiceTimeRecursive",
		"ioWaitTimeRecursive",	   "ioMergedRecursive",
		"ioTimeRecursive",	   "sectorsRecursive",
	};
	struct json_object *b = json_object_new_object();

	for (size_t i = 0; i < CG_BLKIO_N; i++) {
		struct json_object *a;

		if (!s->blkio[i].n)
			continue;
		a = json_object_new_array();
		for (size_t j = 0; j < s->blkio[i].n; j++) {
			const struct cg_blkio_entry *e = &s->blkio[i].e[j];
			struct json_object *o = json_object_new_object();

			put_u64(o, "major", e->major, true);
			put_u64(o, "minor", e->minor, true);
			if (*e->op)
				json_object_object_add(
					o, "op", json_object_new_string(e->op));
			put_u64(o, "value", e->value, true);
			json_object_array_add(a, o);
		}
		json_object_object_add(b, names[i], a);
	}
	return b;
}

static int cmp_hugetlb(const void *a, const void *b)
{
	return strcmp(((const struct cg_hugetlb_stat *)a)->size,
		      ((const struct cg_hugetlb_stat *)b)->size);
}

static struct json_object *hugetlb_json(const struct cg_stats *s)
{
	struct cg_hugetlb_stat h[CG_MAX_HUGEPAGE_SIZES];
	struct json_object *o = json_object_new_object();

	memcpy(h, s->hugetlb, sizeof(h));
	qsort(h, s->n_hugetlb, sizeof(h[0]), cmp_hugetlb);
	for (size_t i = 0; i < s->n_hugetlb; i++) {
		struct json_object *e = json_object_new_object();

		put_u64(e, "usage", h[i].usage, true);
		put_u64(e, "max", h[i].max, true);
		put_u64(e, "failcnt", h[i].failcnt, false);
		json_object_object_add(o, h[i].size, e);
	}
	return o;
}

struct json_object *cg_stats_to_json(const struct cg_stats *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *p = json_object_new_object();

	put_u64(p, "current", s->pids.current, true);
	put_u64(p, "limit", s->pids.limit, true);
	json_object_object_add(o, "cpu", cpu_json(s));
	json_object_object_add(o, "memory", memory_json(s));
	json_object_object_add(o, "pids", p);
	json_object_object_add(o, "blkio", blkio_json(s));
	json_object_object_add(o, "hugetlb", hugetlb_json(s));
	return o;
}

bool cg_stat_key(const char *text, const char *key, uint64_t *v)
{
	char buf[32], *end;

	if (!text || !cg_keyed_value(text, key, buf, sizeof(buf)))
		return false;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return !errno && end != buf;
}

char *cg_stat_text(const char *dir, const char *file, husk_error **err)
{
	_cleanup_free_ char *path = cg_path_join(dir, file);
	husk_error *e = NULL;
	char *text = cg_read_text(path, &e);

	if (!text && e && e->code != ENOENT)
		husk_fail(err, e->code, "%s", e->msg);
	husk_error_free(&e);
	return text;
}

int cg_stat_u64(const char *dir, const char *file, uint64_t *v,
		husk_error **err)
{
	husk_error *e = NULL;
	int r = cg_read_u64(dir, file, v, &e);

	if (r < 0 && e->code == ENOENT)
		r = 0;
	else if (r < 0)
		husk_fail(err, e->code, "%s", e->msg);
	husk_error_free(&e);
	return r;
}

struct kv {
	char *key;
	uint64_t v;
};

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static size_t parse_kv(char *text, struct kv **out)
{
	size_t n = 0, cap = 0;
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' '), *end;

		if (!sp)
			continue;
		*sp = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = reallocarray(*out, cap, sizeof(**out));
			if (!*out)
				abort();
		}
		(*out)[n].key = l;
		(*out)[n].v = strtoull(sp + 1, &end, 10);
		n++;
	}
	return n;
}

int cg_stat_raw(const char *dir, const char *file, struct json_object **raw,
		husk_error **err)
{
	_cleanup_free_ char *text = cg_stat_text(dir, file, err);
	_cleanup_free_ struct kv *kv = NULL;
	size_t n;

	*raw = NULL;
	if (!text)
		return err && *err ? -1 : 0;
	n = parse_kv(text, &kv);
	if (n)
		qsort(kv, n, sizeof(*kv), cmp_kv);
	*raw = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_object_add(*raw, kv[i].key,
				       json_object_new_uint64(kv[i].v));
	return 0;
}

void cg_stat_list_add(struct cg_u64_list *l, uint64_t v)
{
	uint64_t *nv = reallocarray(l->v, l->n + 1, sizeof(*l->v));

	if (!nv)
		abort();
	l->v = nv;
	l->v[l->n++] = v;
}

void cg_stat_list(const char *text, struct cg_u64_list *l)
{
	for (const char *p = text; p && *p;) {
		char *end;
		uint64_t v = strtoull(p, &end, 10);

		if (end == p)
			break;
		cg_stat_list_add(l, v);
		p = end + strspn(end, " \n");
	}
}

void cg_blkio_add(struct cg_blkio_list *l, uint64_t major, uint64_t minor,
		  const char *op, uint64_t value)
{
	struct cg_blkio_entry *e = reallocarray(l->e, l->n + 1, sizeof(*e));

	if (!e)
		abort();
	l->e = e;
	e = &l->e[l->n++];
	e->major = major;
	e->minor = minor;
	e->value = value;
	snprintf(e->op, sizeof(e->op), "%s", op);
}

bool cg_hugepage_name(const char *dirent, char *out, size_t size)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
	unsigned long long kb;
	size_t u = 0;
	char *end;

	if (strncmp(dirent, "hugepages-", 10) != 0)
		return false;
	kb = strtoull(dirent + 10, &end, 10);
	if (end == dirent + 10 || strcmp(end, "kB") != 0 || kb == 0)
		return false;
	while (kb >= 1024 && kb % 1024 == 0 && u + 1 < ARRAY_SIZE(units)) {
		kb /= 1024;
		u++;
	}
	snprintf(out, size, "%llu%s", kb, units[u]);
	return true;
}

size_t cg_hugepage_sizes(char sizes[][16], size_t max)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *de;
	size_t n = 0;

	while (d && n < max && (de = readdir(d)))
		if (cg_hugepage_name(de->d_name, sizes[n], 16))
			n++;
	return n;
}
