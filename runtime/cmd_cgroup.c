/* SPDX-License-Identifier: GPL-2.0-or-later */
/* update and events: a running container's cgroup, as runc offers it. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../cgroups/cgroup.h"
#include "commands.h"
#include "container.h"
#include "store.h"

/* runc's single-value flags: name, JSON section, JSON key, kind. */
enum value_kind { V_INT, V_BYTES, V_STRING };
static const struct update_flag {
	const char *flag;
	const char *section;
	const char *key;
	enum value_kind kind;
} update_flags[] = {
	{ "blkio-weight", "blockIO", "weight", V_INT },
	{ "cpu-period", "cpu", "period", V_INT },
	{ "cpu-quota", "cpu", "quota", V_INT },
	{ "cpu-share", "cpu", "shares", V_INT },
	{ "cpu-rt-period", "cpu", "realtimePeriod", V_INT },
	{ "cpu-rt-runtime", "cpu", "realtimeRuntime", V_INT },
	{ "cpuset-cpus", "cpu", "cpus", V_STRING },
	{ "cpuset-mems", "cpu", "mems", V_STRING },
	{ "cpu-idle", "cpu", "idle", V_INT },
	{ "memory", "memory", "limit", V_BYTES },
	{ "memory-reservation", "memory", "reservation", V_BYTES },
	{ "memory-swap", "memory", "swap", V_BYTES },
	{ "kernel-memory", "memory", "kernel", V_BYTES },
	{ "kernel-memory-tcp", "memory", "kernelTCP", V_BYTES },
	{ "pids-limit", "pids", "limit", V_INT },
};

/* "512m", "1G", "1024", "-1" as runc's RAMInBytes reads them. */
static int parse_bytes(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	static const char units[] = "kmgtp";
	const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	if (*end && !u)
		return -1;
	for (int i = u ? (int)(u - units) + 1 : 0; i > 0; i--)
		v *= 1024;
	if (u) {
		end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end == 'i' || *end == 'I')
			end++;
	}
	if (*end)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static struct json_object *section(struct json_object *res, const char *name)
{
	struct json_object *s;
	if (!json_object_object_get_ex(res, name, &s)) {
		s = json_object_new_object();
		json_object_object_add(res, name, s);
	}
	return s;
}

static int update_set(struct json_object *res, const struct update_flag *f, const char *v,
		      husk_error **err)
{
	int64_t n;
	struct json_object *val;
	if (f->kind == V_STRING) {
		val = json_object_new_string(v);
	} else if (f->kind == V_BYTES ? parse_bytes(v, &n) == 0 : sscanf(v, "%" SCNd64, &n) == 1) {
		val = json_object_new_int64(n);
	} else {
		return husk_fail(err, 0, "invalid value \"%s\" for flag --%s", v, f->flag);
	}
	json_object_object_add(section(res, f->section), f->key, val);
	return 0;
}

static struct json_object *read_resources(const char *path, husk_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!strcmp(path, "-")) {
		_cleanup_fclose_ FILE *mem = NULL;
		char buf[4096];
		size_t n;
		mem = open_memstream(&text, &len);
		while (mem && (n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			fwrite(buf, 1, n, mem);
	} else {
		text = store_read(AT_FDCWD, path, &len, err);
		if (!text)
			return NULL;
	}
	struct json_object *res = text ? json_tokener_parse(text) : NULL;
	if (!res || !json_object_is_type(res, json_type_object)) {
		json_object_put(res);
		husk_fail(err, 0, "--resources %s: not a JSON object (linux.resources)", path);
		return NULL;
	}
	return res;
}

#define UPDATE_RESOURCES_ID 1
#define UPDATE_FLAG_BASE 10

static int parse_update(int argc, char **argv, struct json_object **res, const char **id,
			husk_error **err)
{
	struct cli_flag flags[ARRAY_SIZE(update_flags) + 2] = {
		{ "resources", 'r', true, UPDATE_RESOURCES_ID },
	};
	const char *v, *resources = NULL, *values[ARRAY_SIZE(update_flags)] = { 0 };
	struct cli_parser p = { argc, argv, 1 };
	int fid;

	for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++)
		flags[i + 1] = (struct cli_flag){ update_flags[i].flag, 0, true, UPDATE_FLAG_BASE + (int)i };
	while ((fid = cli_next(&p, flags, &v, err)) > 0) {
		if (fid == CLI_HELP_ID)
			return CLI_HELP_ID;
		if (fid == UPDATE_RESOURCES_ID)
			resources = v;
		else
			values[fid - UPDATE_FLAG_BASE] = v;
	}
	if (fid < 0 || cli_want_id(&p, argv[0], id, err) < 0)
		return -1;
	*res = resources ? read_resources(resources, err) : json_object_new_object();
	if (!*res)
		return -1;
	/* Flags win over the file, as in runc. */
	for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++)
		if (values[i] && update_set(*res, &update_flags[i], values[i], err) < 0)
			return -1;
	return 0;
}

int cmd_update(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct json_object *res = NULL;
	const char *id;
	int r = parse_update(argc, argv, &res, &id, err);
	if (r) {
		json_object_put(res);
		return r == CLI_HELP_ID ? (command_print_help(command_find("update")), 0) : -1;
	}
	struct container c;
	r = container_load(o, id, &c, err);
	if (r == 0 && !container_init_alive(&c))
		r = husk_fail(err, 0, "container not running");
	/* Disabled (rootless without a cgroup): nothing would take the limits. */
	if (r == 0 && (!c.cg || !*cgroup_path(c.cg)))
		r = husk_fail(err, 0, "container %s has no cgroup", id);
	if (r == 0)
		r = cgroup_update(c.cg, res, err);
	container_release(&c);
	json_object_put(res);
	return r < 0 ? -1 : 0;
}

static int print_stats(struct container *c, husk_error **err)
{
	struct json_object *data = cgroup_stats(c->cg, err);
	if (!data)
		return -1;
	struct json_object *ev = json_object_new_object();
	json_object_object_add(ev, "type", json_object_new_string("stats"));
	json_object_object_add(ev, "id", json_object_new_string(c->st.id));
	json_object_object_add(ev, "data", data);
	puts(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(ev);
	return 0;
}

static void print_oom(const char *id)
{
	printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
	fflush(stdout);
}

/* Go durations as runc's --interval takes them: "5s", "500ms", "1m". */
static int parse_interval(const char *s, long *ms)
{
	char *end;
	double v = strtod(s, &end);
	double scale = !strcmp(end, "ms") ? 1 : !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 :
		       !strcmp(end, "h") ? 3600000 : -1;
	if (end == s || scale < 0 || v <= 0)
		return -1;
	*ms = (long)(v * scale);
	return *ms > 0 ? 0 : -1;
}

/* Stats every interval and an oom event for each new OOM kill, until the
 * container stops. The lock is not held between rounds. */
static int events_loop(const struct husk_opts *o, const char *id, long interval_ms,
		       husk_error **err)
{
	uint64_t ooms = 0, now;
	bool first = true;
	for (;;) {
		struct container c;
		int r = container_load(o, id, &c, err);
		if (r == 0 && !c.cg)
			r = husk_fail(err, 0, "container %s has no cgroup", id);
		/* An OOM kill often ends the container: report it first. */
		if (r == 0 && cgroup_oom_count(c.cg, &now, NULL) == 0) {
			if (!first && now > ooms)
				print_oom(id);
			ooms = now;
			first = false;
		}
		bool alive = r == 0 && container_init_alive(&c);
		if (alive)
			r = print_stats(&c, err);
		container_release(&c);
		if (r < 0 || !alive)
			return r;
		poll(NULL, 0, (int)interval_ms);
	}
}

int cmd_events(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "stats", 0, false, 1 }, { "interval", 0, true, 2 },
						 { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *id;
	bool stats = false;
	long interval_ms = 5000;
	int fid;

	while ((fid = cli_next(&p, flags, &v, err)) > 0) {
		if (fid == CLI_HELP_ID)
			return command_print_help(command_find("events")), 0;
		if (fid == 1 && cli_bool("stats", v, &stats, err) < 0)
			return -1;
		if (fid == 2 && parse_interval(v, &interval_ms) < 0)
			return husk_fail(err, 0, "invalid value \"%s\" for flag --interval", v);
	}
	if (fid < 0 || cli_want_id(&p, argv[0], &id, err) < 0)
		return -1;
	if (!stats)
		return events_loop(o, id, interval_ms, err) < 0 ? -1 : 0;
	struct container c;
	int r = container_load(o, id, &c, err);
	if (r == 0 && !container_init_alive(&c))
		r = husk_fail(err, 0, "container not running");
	if (r == 0 && !c.cg)
		r = husk_fail(err, 0, "container %s has no cgroup", id);
	if (r == 0)
		r = print_stats(&c, err);
	container_release(&c);
	return r < 0 ? -1 : 0;
}
