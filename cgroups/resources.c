/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.resources: applying a driver's handler table, and the helpers the
 * handlers read JSON and write cgroupfs files with. */
#include "cgroup_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../base/cleanup.h"
#include "systemd.h"

/* Table order is the order of application; a key may appear twice (v1
 * "cpu" sets cpuset first and cpu later, as runc orders subsystems). */
static int apply_table(struct cgroup *cg, struct json_object *resources,
		       bool update, husk_error **err)
{
	for (const struct cgroup_resource *r = cg->drv->resources; r->key;
	     r++) {
		struct json_object *val = NULL;

		if (update && (r->flags & CG_RES_CREATE_ONLY))
			continue;
		if (resources)
			json_object_object_get_ex(resources, r->key, &val);
		if (!val && !(r->flags & CG_RES_ALWAYS))
			continue;
		if (r->apply(cg, val, err) < 0)
			return -1;
	}
	return 0;
}

static int apply(struct cgroup *cg, struct json_object *resources,
		 bool update, husk_error **err)
{
	if (!cg->drv)
		return 0;
	if (resources && !json_object_is_type(resources, json_type_object))
		return husk_fail(err, 0, "config.json: linux.resources: must "
					 "be an object");
	/* Unknown keys are ignored, as the runtime-spec asks of unknown
	 * properties; a known key that cannot be honoured fails. */
	return apply_table(cg, resources, update, err);
}

int cgroup_apply_resources(struct cgroup *cg, struct json_object *resources,
			   husk_error **err)
{
	return apply(cg, resources, false, err);
}

int cgroup_update(struct cgroup *cg, struct json_object *resources,
		  husk_error **err)
{
	if (!resources || !cg->drv)
		return 0;
	/* systemd first, as runc does: the files then win where the two
	 * differ (a CPU quota systemd rounds to whole percents). */
	if (cg->sd && cg_sd_update(cg, resources, err) < 0)
		return -1;
	return apply(cg, resources, true, err);
}

struct json_object *cgroup_stats(struct cgroup *cg, husk_error **err)
{
	if (!cg->drv)
		return husk_fail(err, 0, "cgroup: no statistics: the container "
					 "has no cgroup"), NULL;
	return cg->drv->stats(cg, err);
}

int cgroup_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err)
{
	*count = 0;
	if (!cg->drv)
		return 0;
	return cg->drv->oom_count(cg, count, err);
}

/* ---- reading ---- */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

int cg_want_object(struct json_object *o, const char *path, husk_error **err)
{
	if (json_object_is_type(o, json_type_object))
		return 0;
	return husk_fail(err, 0, "config.json: linux.resources.%s: must be an "
				 "object", path);
}

int cg_get_i64(struct json_object *o, const char *path, const char *key,
	       int64_t *v, husk_error **err)
{
	struct json_object *j = get(o, key);

	if (!j)
		return 0;
	/* json-c keeps numbers above INT64_MAX as uint64 (and clamps them
	 * here): those do not fit. */
	if (!json_object_is_type(j, json_type_int) ||
	    (json_object_get_int64(j) >= 0 &&
	     json_object_get_uint64(j) > (uint64_t)INT64_MAX))
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be a 64-bit signed integer",
				 path, key);
	*v = json_object_get_int64(j);
	return 1;
}

int cg_get_u64(struct json_object *o, const char *path, const char *key,
	       uint64_t max, uint64_t *v, husk_error **err)
{
	struct json_object *j = get(o, key);

	if (!j)
		return 0;
	if (!json_object_is_type(j, json_type_int) ||
	    json_object_get_int64(j) < 0 || json_object_get_uint64(j) > max)
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be an integer from 0 to %" PRIu64,
				 path, key, max);
	*v = json_object_get_uint64(j);
	return 1;
}

int cg_get_bool(struct json_object *o, const char *path, const char *key,
		bool *v, husk_error **err)
{
	struct json_object *j = get(o, key);

	if (!j)
		return 0;
	if (!json_object_is_type(j, json_type_boolean))
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be a boolean", path, key);
	*v = json_object_get_boolean(j);
	return 1;
}

int cg_get_str(struct json_object *o, const char *path, const char *key,
	       const char **v, husk_error **err)
{
	struct json_object *j = get(o, key);

	if (!j)
		return 0;
	if (!json_object_is_type(j, json_type_string))
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be a string", path, key);
	*v = json_object_get_string(j);
	return 1;
}

int cg_get_json(struct json_object *o, const char *path, const char *key,
		int type, struct json_object **v, husk_error **err)
{
	struct json_object *j = get(o, key);

	if (!j)
		return 0;
	if (!json_object_is_type(j, (enum json_type)type))
		return husk_fail(err, 0, "config.json: linux.resources.%s.%s: "
					 "must be an %s", path, key,
				 type == json_type_array ? "array"
							 : "object");
	*v = j;
	return 1;
}

/* ---- writing ---- */

int cg_set(const char *dir, const char *file, const char *val,
	   const char *setting, husk_error **err)
{
	int e;

	if (cg_write(dir, file, val, NULL) == 0)
		return 0;
	e = errno;
	husk_fail(err, e, "config.json: linux.resources.%s: write %s",
		  setting, file);
	errno = e;
	return -1;
}

int cg_set_i64(const char *dir, const char *file, int64_t v,
	       const char *setting, husk_error **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cg_set(dir, file, buf, setting, err);
}

int cg_set_u64(const char *dir, const char *file, uint64_t v,
	       const char *setting, husk_error **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cg_set(dir, file, buf, setting, err);
}

const char *cg_res_dir(const struct cgroup *cg, const char *controller,
		       const char *setting, husk_error **err)
{
	const char *dir = cgroup_dir(cg, controller);

	if (!dir)
		husk_fail(err, 0, "config.json: linux.resources.%s: no %s "
				  "cgroup hierarchy is mounted",
			  setting, controller);
	return dir;
}

int cg_res_refuse(husk_error **err, const char *setting, const char *why)
{
	return husk_fail(err, 0, "config.json: linux.resources.%s: %s",
			 setting, why);
}

bool cg_file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *v,
		husk_error **err)
{
	char buf[64], *end;

	if (cg_read(dir, file, buf, sizeof(buf), err) < 0)
		return -1;
	if (strcmp(buf, "max") == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return husk_fail(err, EINVAL, "cgroup: %s/%s: not a number: "
					      "\"%s\"", dir, file, buf);
	return 0;
}
