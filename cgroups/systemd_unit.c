/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit and slice names for the systemd cgroup manager: what a cgroupsPath
 * "slice:prefix:name" means, and where systemd puts the unit's cgroup. */
#include "systemd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

#define DEFAULT_SLICE "system.slice"
#define DEFAULT_PREFIX "husk"
#define UNIT_NAME_MAX 255

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

bool cg_sd_unit_name_valid(const char *name, const char *type)
{
	size_t len = strlen(name), tl = strlen(type);

	if (len == 0 || len > UNIT_NAME_MAX || len <= tl + 1 ||
	    name[len - tl - 1] != '.' || strcmp(name + len - tl, type) != 0)
		return false;
	for (const char *c = name; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || strchr(":_.-\\", *c);
		if (!ok)
			return false;
	}
	return true;
}

/* systemd's slice hierarchy is in the name: every dash starts a level, so
 * "a-b.slice" lives in "a.slice". Dashes at either end or doubled name no
 * level, and are refused as systemd refuses them. */
int cg_sd_expand_slice(const char *slice, char **out, husk_error **err)
{
	size_t len = strlen(slice), stem;
	char *buf, *o;

	*out = NULL;
	if (strcmp(slice, "-.slice") == 0) {
		*out = xstrdup("");
		return 0;
	}
	if (!cg_sd_unit_name_valid(slice, "slice"))
		return husk_fail(err, 0, "config.json: linux.cgroupsPath: \"%s\" "
					 "is not a valid slice name", slice);
	stem = len - strlen(".slice");
	if (slice[0] == '-' || slice[stem - 1] == '-' ||
	    memmem(slice, stem, "--", 2))
		return husk_fail(err, 0, "config.json: linux.cgroupsPath: slice "
					 "\"%s\": a dash cannot start, end or "
					 "follow a dash", slice);
	/* Each level is "/<stem up to the dash>.slice": at most len + 7
	 * bytes per level, and no more levels than bytes. */
	buf = o = calloc(1, (stem + 1) * (stem + 8) + 1);
	if (!buf)
		abort();
	for (size_t i = 0; i <= stem; i++) {
		if (i < stem && slice[i] != '-')
			continue;
		o += sprintf(o, "/%.*s.slice", (int)i, slice);
	}
	*out = buf;
	return 0;
}

/* "slice:prefix:name" has exactly two colons; any part may be empty. */
static int split3(const char *path, char *parts[3], husk_error **err)
{
	const char *a = strchr(path, ':'), *b = a ? strchr(a + 1, ':') : NULL;

	if (!a || !b || strchr(b + 1, ':'))
		return husk_fail(err, 0, "config.json: linux.cgroupsPath: expected "
					 "\"slice:prefix:name\" for the systemd "
					 "cgroup manager, got \"%s\"", path);
	parts[0] = strndup(path, (size_t)(a - path));
	parts[1] = strndup(a + 1, (size_t)(b - a - 1));
	parts[2] = strdup(b + 1);
	if (!parts[0] || !parts[1] || !parts[2])
		abort();
	return 0;
}

int cg_sd_parse_path(const char *cgroups_path, const char *id, char **slice,
		     char **unit, husk_error **err)
{
	char *parts[3] = { NULL, NULL, NULL };
	_cleanup_free_ char *name = NULL, *expanded = NULL;
	int r = -1;

	*slice = *unit = NULL;
	if (cgroups_path && *cgroups_path) {
		if (split3(cgroups_path, parts, err) < 0)
			return -1;
	} else {
		if (!id || !*id)
			return husk_fail(err, 0, "cgroup: neither linux.cgroupsPath "
						 "nor a container id to name the "
						 "systemd unit");
		parts[0] = xstrdup("");
		parts[1] = xstrdup(DEFAULT_PREFIX);
		parts[2] = xstrdup(id);
	}
	if (!*parts[2]) {
		husk_fail(err, 0, "config.json: linux.cgroupsPath: \"%s\": the "
				  "name part is empty", cgroups_path);
		goto out;
	}
	if (asprintf(&name, "%s%s%s.scope", parts[1], *parts[1] ? "-" : "",
		     parts[2]) < 0)
		abort();
	if (!cg_sd_unit_name_valid(name, "scope")) {
		husk_fail(err, 0, "config.json: linux.cgroupsPath: \"%s\" is not "
				  "a valid systemd unit name", name);
		goto out;
	}
	if (cg_sd_expand_slice(*parts[0] ? parts[0] : DEFAULT_SLICE, &expanded,
			       err) < 0)
		goto out;
	*slice = xstrdup(*parts[0] ? parts[0] : DEFAULT_SLICE);
	*unit = TAKE_PTR(name);
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		free(parts[i]);
	return r;
}
