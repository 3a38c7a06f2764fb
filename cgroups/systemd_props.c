/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.resources as systemd unit properties. Pure: no I/O, so
 * tests/unit/test_cgroup_systemd.c can feed it values. */
#include "cgroup_internal.h"
#include "systemd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

/* systemd keeps a CPU quota as a percentage in its unit files: a value
 * that is not a whole percent would change on the next daemon-reload. */
#define CPU_QUOTA_STEP_USEC 10000ULL
#define USEC_PER_SEC 1000000ULL
#define DEFAULT_CPU_PERIOD 100000ULL
/* Far beyond any machine; bounds the bitmask a cpu list can ask for. */
#define MAX_CPU_INDEX 8191

static struct cg_unit_prop *slot(struct cg_unit_props *p, const char *name)
{
	struct cg_unit_prop *np;

	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].name, name) != 0)
			continue;
		free(p->v[i].s);
		free(p->v[i].bytes);
		for (size_t d = 0; d < p->v[i].n_devs; d++)
			free(p->v[i].devs[d].node);
		free(p->v[i].devs);
		memset(&p->v[i], 0, sizeof(p->v[i]));
		p->v[i].name = name;
		return &p->v[i];
	}
	np = reallocarray(p->v, p->n + 1, sizeof(*p->v));
	if (!np)
		abort();
	p->v = np;
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	p->v[p->n].name = name;
	return &p->v[p->n++];
}

void cg_props_u64(struct cg_unit_props *p, const char *name, uint64_t v)
{
	struct cg_unit_prop *s = slot(p, name);

	s->type = CG_PROP_U64;
	s->u = v;
}

void cg_props_bool(struct cg_unit_props *p, const char *name, bool v)
{
	struct cg_unit_prop *s = slot(p, name);

	s->type = CG_PROP_BOOL;
	s->u = v;
}

void cg_props_str(struct cg_unit_props *p, const char *name, const char *v)
{
	struct cg_unit_prop *s = slot(p, name);

	s->type = CG_PROP_STR;
	s->s = strdup(v);
	if (!s->s)
		abort();
}

void cg_props_pid(struct cg_unit_props *p, pid_t pid)
{
	struct cg_unit_prop *s = slot(p, "PIDs");

	s->type = CG_PROP_PIDS;
	s->u = (uint64_t)pid;
}

const struct cg_unit_prop *cg_props_find(const struct cg_unit_props *p,
					 const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

void cg_props_clear(struct cg_unit_props *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].s);
		free(p->v[i].bytes);
		for (size_t d = 0; d < p->v[i].n_devs; d++)
			free(p->v[i].devs[d].node);
		free(p->v[i].devs);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* -1 is "no limit" in the spec, UINT64_MAX ("infinity") on the bus. */
static uint64_t limit(int64_t v)
{
	return v < 0 ? CG_SD_INFINITY : (uint64_t)v;
}

int cg_parse_cpu_list(const char *list, uint8_t **bytes, size_t *n)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t len = 0;
	const char *p = list;

	*bytes = NULL;
	*n = 0;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || *p == '-' || *p == '+')
			return -1;
		p = end;
		if (*p == '-') {
			hi = strtoul(++p, &end, 10);
			if (end == p || *p == '-' || *p == '+' || hi < lo)
				return -1;
			p = end;
		}
		if (hi > MAX_CPU_INDEX || (*p && *p != ','))
			return -1;
		if (*p == ',' && !*++p)
			return -1;
		if (hi / 8 + 1 > len) {
			uint8_t *nb = realloc(b, hi / 8 + 1);

			if (!nb)
				abort();
			memset(nb + len, 0, hi / 8 + 1 - len);
			b = nb;
			len = hi / 8 + 1;
		}
		for (unsigned long c = lo; c <= hi; c++)
			b[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	*bytes = TAKE_PTR(b);
	*n = len;
	return 0;
}

static int cpu_list_prop(struct cg_unit_props *p, const char *name,
			 const char *list, const char *setting,
			 husk_error **err)
{
	struct cg_unit_prop *s;
	uint8_t *bytes;
	size_t n;

	if (cg_parse_cpu_list(list, &bytes, &n) < 0)
		return cg_res_refuse(err, setting, "not a list of numbers and "
					       "ranges such as \"0-2,4\"");
	s = slot(p, name);
	s->type = CG_PROP_BYTES;
	s->bytes = bytes;
	s->n_bytes = n;
	return 0;
}

static int memory_props(struct json_object *val, bool v2,
			struct cg_unit_props *p, husk_error **err)
{
	int64_t lim = 0, swap = 0, resv = 0, out;
	const char *why = NULL;
	int r;

	if (cg_want_object(val, "memory", err) < 0 ||
	    cg_get_i64(val, "memory", "limit", &lim, err) < 0 ||
	    cg_get_i64(val, "memory", "swap", &swap, err) < 0 ||
	    cg_get_i64(val, "memory", "reservation", &resv, err) < 0)
		return -1;
	if (lim)
		cg_props_u64(p, v2 ? "MemoryMax" : "MemoryLimit", limit(lim));
	if (resv && v2)
		cg_props_u64(p, "MemoryLow", limit(resv));
	/* swap alone (update) converts against the limit in force, which
	 * only the file handler reads: leave that one to it. */
	if (!v2 || (swap > 0 && lim == 0))
		return 0;
	r = cg_v2_swap(swap, lim, &out, &why);
	if (r < 0)
		return cg_res_refuse(err, "memory.swap", why);
	if (r > 0)
		cg_props_u64(p, "MemorySwapMax", limit(out));
	return 0;
}

static int pids_props(struct json_object *val, struct cg_unit_props *p,
		      husk_error **err)
{
	int64_t lim = 0;

	if (cg_want_object(val, "pids", err) < 0 ||
	    cg_get_i64(val, "pids", "limit", &lim, err) < 0)
		return -1;
	if (lim)
		cg_props_u64(p, "TasksMax", limit(lim));
	return 0;
}

/* quota/period as systemd's per-second quota; a quota of 0 or -1 with a
 * period set is "no quota", as in the cpu.max handler. */
static void cpu_quota_props(const struct cg_cpu *c, struct cg_unit_props *p)
{
	uint64_t period = c->period ? c->period : DEFAULT_CPU_PERIOD, q;

	if (!c->quota && !c->period)
		return;
	if (c->period)
		cg_props_u64(p, "CPUQuotaPeriodUSec", c->period);
	if (c->quota <= 0) {
		cg_props_u64(p, "CPUQuotaPerSecUSec", CG_SD_INFINITY);
		return;
	}
	q = ((unsigned __int128)c->quota * USEC_PER_SEC + period - 1) / period;
	q = (q + CPU_QUOTA_STEP_USEC - 1) / CPU_QUOTA_STEP_USEC *
	    CPU_QUOTA_STEP_USEC;
	cg_props_u64(p, "CPUQuotaPerSecUSec", q);
}

static int cpu_props(struct json_object *val, bool v2,
		     struct cg_unit_props *p, husk_error **err)
{
	const char *cpus = NULL, *mems = NULL;
	struct cg_cpu c;

	if (cg_cpu_parse(val, &c, err) < 0 || cg_shares_check(c.shares, err) < 0 ||
	    cg_get_str(val, "cpu", "cpus", &cpus, err) < 0 ||
	    cg_get_str(val, "cpu", "mems", &mems, err) < 0)
		return -1;
	if (c.shares)
		cg_props_u64(p, v2 ? "CPUWeight" : "CPUShares",
			     v2 ? cg_shares_to_weight(c.shares) : c.shares);
	cpu_quota_props(&c, p);
	/* systemd drives the cpuset controller on v2 only. */
	if (v2 && cpus && *cpus &&
	    cpu_list_prop(p, "AllowedCPUs", cpus, "cpu.cpus", err) < 0)
		return -1;
	if (v2 && mems && *mems &&
	    cpu_list_prop(p, "AllowedMemoryNodes", mems, "cpu.mems", err) < 0)
		return -1;
	return 0;
}

static int io_props(struct json_object *val, bool v2, struct cg_unit_props *p,
		    husk_error **err)
{
	uint64_t w = 0;

	if (cg_want_object(val, "blockIO", err) < 0 ||
	    cg_get_u64(val, "blockIO", "weight", UINT16_MAX, &w, err) < 0)
		return -1;
	if (w)
		cg_props_u64(p, v2 ? "IOWeight" : "BlockIOWeight",
			     v2 ? cg_blkio_to_io_weight(w) : w);
	return 0;
}

/* "max" or a number; anything else is left to the file write, which
 * then reports it. */
static bool unified_number(const char *s, uint64_t *v)
{
	char *end;

	if (strcmp(s, "max") == 0) {
		*v = CG_SD_INFINITY;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	*v = strtoull(s, &end, 10);
	return *end == '\0' || (*end == '\n' && end[1] == '\0');
}

static void unified_props(struct json_object *val, struct cg_unit_props *p)
{
	static const char *const map[][2] = {
		{ "memory.max", "MemoryMax" },
		{ "memory.high", "MemoryHigh" },
		{ "memory.low", "MemoryLow" },
		{ "memory.min", "MemoryMin" },
		{ "memory.swap.max", "MemorySwapMax" },
		{ "pids.max", "TasksMax" },
		{ "cpu.weight", "CPUWeight" },
	};

	if (!json_object_is_type(val, json_type_object))
		return; /* the file handler reports it */
	json_object_object_foreach(val, key, v) {
		uint64_t n;

		if (!json_object_is_type(v, json_type_string) ||
		    !unified_number(json_object_get_string(v), &n))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (strcmp(key, map[i][0]) == 0)
				cg_props_u64(p, map[i][1], n);
	}
}

/* A rule as systemd's DeviceAllow names it: "/dev/char/M:m" is parsed
 * without a node, "char-M" is a whole major, "char-*" every device. */
static void dev_entry(const struct cg_dev_rule *r, struct cg_unit_dev *d)
{
	const char *kind = r->type == 'b' ? "block" : "char";
	size_t o = 0;
	int n;

	if (r->major == CG_DEV_ANY)
		n = asprintf(&d->node, "%s-*", kind);
	else if (r->minor == CG_DEV_ANY)
		n = asprintf(&d->node, "%s-%" PRId64, kind, r->major);
	else
		n = asprintf(&d->node, "/dev/%s/%" PRId64 ":%" PRId64, kind,
			     r->major, r->minor);
	if (n < 0)
		abort();
	if (r->access & CG_DEV_R)
		d->perms[o++] = 'r';
	if (r->access & CG_DEV_W)
		d->perms[o++] = 'w';
	if (r->access & CG_DEV_M)
		d->perms[o++] = 'm';
	d->perms[o] = '\0';
}

static void dev_state_freep(struct cg_dev_state *st)
{
	cg_dev_state_free(st);
}

static int device_props(struct json_object *val, struct cg_unit_props *p,
			husk_error **err)
{
	_cleanup_(dev_state_freep) struct cg_dev_state st = { 0 };
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	struct cg_unit_prop *s;
	size_t n, n_spec;

	if (cg_dev_rules_parse(val, &rules, &n, &n_spec, err) < 0 ||
	    cg_dev_emulate(rules, n, n_spec, &st, err) < 0)
		return -1;
	/* An allow-list is all systemd has: a default allow, with or
	 * without denials, is left to husk's own filter. */
	cg_props_str(p, "DevicePolicy", st.default_allow ? "auto" : "strict");
	s = slot(p, "DeviceAllow");
	s->type = CG_PROP_DEVICES;
	if (st.default_allow || st.n == 0)
		return 0;
	s->devs = calloc(st.n, sizeof(*s->devs));
	if (!s->devs)
		abort();
	for (size_t i = 0; i < st.n; i++)
		dev_entry(&st.rules[i], &s->devs[s->n_devs++]);
	return 0;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

int cg_props_from_resources(struct json_object *res, bool v2, bool update,
			    struct cg_unit_props *p, husk_error **err)
{
	struct json_object *v;

	if (res && !json_object_is_type(res, json_type_object))
		return husk_fail(err, 0, "config.json: linux.resources: must "
					 "be an object");
	if ((v = get(res, "memory")) && memory_props(v, v2, p, err) < 0)
		return -1;
	if ((v = get(res, "pids")) && pids_props(v, p, err) < 0)
		return -1;
	if ((v = get(res, "cpu")) && cpu_props(v, v2, p, err) < 0)
		return -1;
	if ((v = get(res, "blockIO")) && io_props(v, v2, p, err) < 0)
		return -1;
	/* Like the files: devices are set at create only, and always. */
	if (!update && device_props(get(res, "devices"), p, err) < 0)
		return -1;
	if (v2 && (v = get(res, "unified")))
		unified_props(v, p);
	return 0;
}
