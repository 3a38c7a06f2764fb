/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device rules: linux.resources.devices plus runc's defaults, and the state
 * a v1 devices cgroup ends up in after them. The same state drives both
 * drivers (v1 writes it, v2 compiles it to eBPF), so a container gets the
 * same devices either way. Pure: no I/O.
 */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../base/cleanup.h"

/*
 * runc 1.1's AllowedDevices (libcontainer/specconv), appended after the
 * config's rules, so a config cannot take them away: mknod of anything
 * (opening still needs a rule), null, random, full, tty, zero, urandom,
 * the pty slaves (136:*), ptmx, and tun (runc 1.2.0-rc1 dropped tun and
 * brought it back). /dev/console is not here: it is a pty slave.
 */
static const struct cg_dev_rule default_rules[] = {
	{ 'c', CG_DEV_ANY, CG_DEV_ANY, CG_DEV_M, true },
	{ 'b', CG_DEV_ANY, CG_DEV_ANY, CG_DEV_M, true },
	{ 'c', 1, 3, CG_DEV_RWM, true },
	{ 'c', 1, 8, CG_DEV_RWM, true },
	{ 'c', 1, 7, CG_DEV_RWM, true },
	{ 'c', 5, 0, CG_DEV_RWM, true },
	{ 'c', 1, 5, CG_DEV_RWM, true },
	{ 'c', 1, 9, CG_DEV_RWM, true },
	{ 'c', 136, CG_DEV_ANY, CG_DEV_RWM, true },
	{ 'c', 5, 2, CG_DEV_RWM, true },
	{ 'c', 10, 200, CG_DEV_RWM, true },
};

static int parse_access(const char *s, unsigned *acc)
{
	*acc = 0;
	for (; *s; s++) {
		if (*s == 'r')
			*acc |= CG_DEV_R;
		else if (*s == 'w')
			*acc |= CG_DEV_W;
		else if (*s == 'm')
			*acc |= CG_DEV_M;
		else
			return -1;
	}
	return *acc ? 0 : -1;
}

static int parse_number(struct json_object *o, const char *path,
			const char *key, int64_t *v, husk_error **err)
{
	int r = cg_get_i64(o, path, key, v, err);

	if (r < 0)
		return -1;
	if (r == 0)
		*v = CG_DEV_ANY;
	else if (*v < CG_DEV_ANY || *v > (int64_t)UINT32_MAX)
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be -1 (any) or a device number",
				 path, key);
	return 0;
}

/* As runc's specconv: type defaults to "a", major and minor to any,
 * allow to false; access may not be empty. */
static int parse_rule(struct json_object *o, const char *path,
		      struct cg_dev_rule *r, husk_error **err)
{
	const char *type = "a", *access = NULL;
	bool allow = false;

	if (cg_want_object(o, path, err) < 0 ||
	    cg_get_bool(o, path, "allow", &allow, err) < 0 ||
	    cg_get_str(o, path, "type", &type, err) < 0 ||
	    cg_get_str(o, path, "access", &access, err) < 0 ||
	    parse_number(o, path, "major", &r->major, err) < 0 ||
	    parse_number(o, path, "minor", &r->minor, err) < 0)
		return -1;
	if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 &&
	    strcmp(type, "c") != 0)
		return husk_fail(err, 0, "config.json: linux.resources.%s.type: "
					 "must be \"a\", \"b\" or \"c\", not "
					 "\"%s\"", path, type);
	if (!access || parse_access(access, &r->access) < 0)
		return husk_fail(err, 0, "config.json: linux.resources.%s."
					 "access: must be a non-empty "
					 "combination of r, w and m", path);
	r->type = type[0];
	r->allow = allow;
	return 0;
}

int cg_dev_rules_parse(struct json_object *devices, struct cg_dev_rule **rules,
		       size_t *n, size_t *n_spec, husk_error **err)
{
	size_t ns = 0, nd = ARRAY_SIZE(default_rules);
	_cleanup_free_ struct cg_dev_rule *out = NULL;

	if (devices && !json_object_is_type(devices, json_type_array))
		return husk_fail(err, 0, "config.json: linux.resources.devices: "
					 "must be an array");
	if (devices)
		ns = json_object_array_length(devices);
	out = calloc(ns + nd, sizeof(*out));
	if (!out)
		abort();
	for (size_t i = 0; i < ns; i++) {
		char path[32];

		snprintf(path, sizeof(path), "devices[%zu]", i);
		if (parse_rule(json_object_array_get_idx(devices, i), path,
			       &out[i], err) < 0)
			return -1;
	}
	memcpy(out + ns, default_rules, sizeof(default_rules));
	*rules = TAKE_PTR(out);
	*n = ns + nd;
	*n_spec = ns;
	return 0;
}

void cg_dev_state_free(struct cg_dev_state *st)
{
	free(st->rules);
	st->rules = NULL;
	st->n = 0;
}

static struct cg_dev_rule *find(struct cg_dev_state *st, char type,
				int64_t major, int64_t minor)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->rules[i].type == type && st->rules[i].major == major &&
		    st->rules[i].minor == minor)
			return &st->rules[i];
	return NULL;
}

static void add_exception(struct cg_dev_state *st, const struct cg_dev_rule *r)
{
	struct cg_dev_rule *e = find(st, r->type, r->major, r->minor);

	if (e) {
		e->access |= r->access;
		return;
	}
	e = reallocarray(st->rules, st->n + 1, sizeof(*st->rules));
	if (!e)
		abort();
	st->rules = e;
	st->rules[st->n] = *r;
	st->rules[st->n].allow = !st->default_allow;
	st->n++;
}

/* The kernel only removes an exact match: taking "c 1:3 r" out of "c *:*
 * rwm" is silently ignored, which would leave the access granted. Refuse
 * it instead, as runc does. */
static int remove_exception(struct cg_dev_state *st,
			    const struct cg_dev_rule *r, char *why,
			    size_t size)
{
	const int64_t wild[3][2] = {
		{ CG_DEV_ANY, r->minor },
		{ r->major, CG_DEV_ANY },
		{ CG_DEV_ANY, CG_DEV_ANY },
	};
	struct cg_dev_rule *e;

	for (size_t i = 0; i < ARRAY_SIZE(wild); i++) {
		if (wild[i][0] == r->major && wild[i][1] == r->minor)
			continue;
		e = find(st, r->type, wild[i][0], wild[i][1]);
		if (e && (e->access & r->access)) {
			char line[64];

			cg_dev_rule_line(e, line, sizeof(line));
			snprintf(why, size, "cannot punch a hole in the "
					    "wildcard rule \"%s\"", line);
			return -1;
		}
	}
	e = find(st, r->type, r->major, r->minor);
	if (!e)
		return 0;
	e->access &= ~r->access;
	if (!e->access)
		*e = st->rules[--st->n];
	return 0;
}

/* One rule, as the v1 kernel applies a write to devices.allow/deny. */
static int apply_rule(struct cg_dev_state *st, const struct cg_dev_rule *r,
		      char *why, size_t size)
{
	if (r->type == 'a') {
		st->default_allow = r->allow;
		free(st->rules);
		st->rules = NULL;
		st->n = 0;
		return 0;
	}
	if (r->allow == st->default_allow)
		return remove_exception(st, r, why, size);
	add_exception(st, r);
	return 0;
}

static int cmp_rule(const void *pa, const void *pb)
{
	const struct cg_dev_rule *a = pa, *b = pb;

	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	return (a->type > b->type) - (a->type < b->type);
}

static void sort_state(struct cg_dev_state *st)
{
	if (st->n > 1)
		qsort(st->rules, st->n, sizeof(*st->rules), cmp_rule);
}

int cg_dev_emulate(const struct cg_dev_rule *rules, size_t n, size_t n_spec,
		   struct cg_dev_state *st, husk_error **err)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		char why[160], line[64];

		if (apply_rule(st, &rules[i], why, sizeof(why)) == 0)
			continue;
		cg_dev_state_free(st);
		cg_dev_rule_line(&rules[i], line, sizeof(line));
		if (i < n_spec)
			return husk_fail(err, 0, "config.json: linux.resources."
						 "devices[%zu]: %s \"%s\": %s",
					 i, rules[i].allow ? "allow" : "deny",
					 line, why);
		return husk_fail(err, 0, "config.json: linux.resources.devices: "
					 "runc's default rule allow \"%s\": %s",
				 line, why);
	}
	sort_state(st);
	return 0;
}

static int parse_dev_number(const char *s, int64_t *v)
{
	char *end;

	if (strcmp(s, "*") == 0) {
		*v = CG_DEV_ANY;
		return 0;
	}
	errno = 0;
	*v = (int64_t)strtoull(s, &end, 10);
	return errno || end == s || *end || *v > (int64_t)UINT32_MAX ? -1 : 0;
}

/* "c 1:3 rwm" */
static int parse_list_line(char *line, struct cg_dev_rule *r)
{
	char *save = NULL, *type, *num, *acc, *colon;

	type = strtok_r(line, " \t", &save);
	num = strtok_r(NULL, " \t", &save);
	acc = strtok_r(NULL, " \t", &save);
	if (!type || !num || !acc || strlen(type) != 1 ||
	    !strchr("abc", type[0]) || !(colon = strchr(num, ':')))
		return -1;
	*colon = '\0';
	r->type = type[0];
	r->allow = true;
	if (parse_dev_number(num, &r->major) < 0 ||
	    parse_dev_number(colon + 1, &r->minor) < 0 ||
	    parse_access(acc, &r->access) < 0)
		return -1;
	return 0;
}

/* devices.list lists what is allowed; an allow-all cgroup shows "a *:*
 * rwm" and hides its deny exceptions. */
int cg_dev_state_from_list(const char *text, struct cg_dev_state *st)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL, why[160];

	if (!copy)
		abort();
	memset(st, 0, sizeof(*st));
	for (char *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		struct cg_dev_rule r;

		if (parse_list_line(l, &r) < 0 ||
		    apply_rule(st, &r, why, sizeof(why)) < 0) {
			cg_dev_state_free(st);
			return -1;
		}
	}
	sort_state(st);
	return 0;
}

bool cg_dev_state_equal(const struct cg_dev_state *a,
			const struct cg_dev_state *b)
{
	if (a->default_allow != b->default_allow || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (cmp_rule(&a->rules[i], &b->rules[i]) != 0 ||
		    a->rules[i].access != b->rules[i].access)
			return false;
	return true;
}

static void number(int64_t v, char *buf, size_t size)
{
	if (v == CG_DEV_ANY)
		snprintf(buf, size, "*");
	else
		snprintf(buf, size, "%" PRId64, v);
}

void cg_dev_rule_line(const struct cg_dev_rule *r, char *buf, size_t size)
{
	char maj[24], min[24], acc[4];
	size_t o = 0;

	if (r->type == 'a') {
		snprintf(buf, size, "a");
		return;
	}
	if (r->access & CG_DEV_R)
		acc[o++] = 'r';
	if (r->access & CG_DEV_W)
		acc[o++] = 'w';
	if (r->access & CG_DEV_M)
		acc[o++] = 'm';
	acc[o] = '\0';
	number(r->major, maj, sizeof(maj));
	number(r->minor, min, sizeof(min));
	snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, acc);
}
