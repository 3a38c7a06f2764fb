/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/cleanup.h"
#include "../base/utc.h"

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

char *state_serialize(const struct container_state *st)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", st->id);
	json_object_object_add(o, "pid", json_object_new_int64(st->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(st->pid_start));
	add_str(o, "bundle", st->bundle);
	add_str(o, "rootfs", st->rootfs);
	add_str(o, "created", st->created);
	add_str(o, "owner", st->owner);
	json_object_object_add(o, "start_fd", json_object_new_int(st->start_fd));
	json_object_object_add(o, "start_ino", json_object_new_uint64(st->start_ino));
	json_object_object_add(o, "exec_fd", json_object_new_int(st->exec_fd));
	if (st->vm)
		json_object_object_add(o, "vm", json_object_new_boolean(1));
	if (st->post_hooks >= 0)
		json_object_object_add(o, "post_hooks", json_object_new_int(st->post_hooks));
	if (st->annotations)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	if (st->cgroup)
		json_object_object_add(o, "cgroup", json_object_get(st->cgroup));
	if (st->network)
		json_object_object_add(o, "network", json_object_get(st->network));
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static char *dup_field(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return strdup("");
	return strdup(json_object_get_string(v));
}

static int64_t int_field(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int state_parse(const char *text, struct container_state *st, husk_error **err)
{
	struct json_object *o = json_tokener_parse(text), *v;

	memset(st, 0, sizeof(*st));
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return husk_fail(err, 0, "state.json: malformed");
	}
	st->id = dup_field(o, "id");
	st->pid = (pid_t)int_field(o, "pid");
	st->pid_start = (uint64_t)int_field(o, "pid_start");
	st->bundle = dup_field(o, "bundle");
	st->rootfs = dup_field(o, "rootfs");
	st->created = dup_field(o, "created");
	st->owner = dup_field(o, "owner");
	st->start_fd = (int)int_field(o, "start_fd");
	st->start_ino = (uint64_t)int_field(o, "start_ino");
	st->exec_fd = (int)int_field(o, "exec_fd");
	st->vm = json_object_object_get_ex(o, "vm", &v) && json_object_get_boolean(v);
	st->post_hooks = json_object_object_get_ex(o, "post_hooks", &v) && json_object_is_type(v, json_type_int)
		? json_object_get_int(v) : -1;
	/* Only objects: everything after this reads them as such, and one bad
	 * state file must not take `list` down for every container. */
	if (json_object_object_get_ex(o, "annotations", &v) && json_object_is_type(v, json_type_object))
		st->annotations = json_object_get(v);
	if (json_object_object_get_ex(o, "cgroup", &v) && json_object_is_type(v, json_type_object))
		st->cgroup = json_object_get(v);
	if (json_object_object_get_ex(o, "network", &v) && json_object_is_type(v, json_type_object))
		st->network = json_object_get(v);
	json_object_put(o);
	return 0;
}

void state_clear(struct container_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	json_object_put(st->annotations);
	json_object_put(st->cgroup);
	json_object_put(st->network);
	memset(st, 0, sizeof(*st));
}

char *state_oci_json(const struct container_state *st, const char *status)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "ociVersion", HUSK_OCI_VERSION);
	add_str(o, "id", st->id);
	add_str(o, "status", status);
	if (st->pid > 0)
		json_object_object_add(o, "pid", json_object_new_int64(st->pid));
	add_str(o, "bundle", st->bundle);
	if (st->annotations && json_object_object_length(st->annotations) > 0)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

struct json_object *state_runc_object(const struct container_state *st, const char *status)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "ociVersion", HUSK_OCI_VERSION);
	add_str(o, "id", st->id);
	/* runc reports pid 0 once the container has stopped. */
	json_object_object_add(o, "pid", json_object_new_int64(strcmp(status, "stopped") ? st->pid : 0));
	add_str(o, "status", status);
	add_str(o, "bundle", st->bundle);
	add_str(o, "rootfs", st->rootfs);
	add_str(o, "created", st->created);
	add_str(o, "owner", st->owner);
	if (st->annotations && json_object_object_length(st->annotations) > 0)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	return o;
}

char *state_now_rfc3339(void)
{
	struct timespec ts;
	char date[32], *out = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	utc_format(date, sizeof(date), ts.tv_sec);
	if (asprintf(&out, "%s.%09ldZ", date, ts.tv_nsec) < 0)
		return NULL;
	return out;
}
