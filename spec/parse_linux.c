/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json "linux": namespaces, devices, seccomp and the rest. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "parse_util.h"
#include "spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct sp_name namespace_names[] = {
	{ "pid", CLONE_NEWPID },       { "network", CLONE_NEWNET },
	{ "mount", CLONE_NEWNS },      { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },       { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static const char *const propagations[] = {
	"",	  "private",	"rprivate",   "shared",	    "rshared",
	"slave", "rslave", "unbindable", "runbindable",
};

static const char *const clocks[] = { "monotonic", "boottime" };

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

int spec_namespace_type(const char *name)
{
	const struct sp_name *n = name ? sp_name_find(namespace_names,
						      ARRAY_SIZE(namespace_names),
						      name)
				       : NULL;

	return n ? n->value : 0;
}

const char *spec_namespace_name(int type)
{
	for (size_t i = 0; i < ARRAY_SIZE(namespace_names); i++)
		if (namespace_names[i].value == type)
			return namespace_names[i].name;
	return NULL;
}

const struct spec_namespace *spec_find_namespace(const struct spec *s, int type)
{
	if (!s || !s->linux_)
		return NULL;
	for (size_t i = 0; i < s->linux_->n_namespaces; i++)
		if (s->linux_->namespaces[i].type == type)
			return &s->linux_->namespaces[i];
	return NULL;
}

int spec_validate_runnable(const struct spec *s, husk_error **err)
{
	if (!s->process)
		return husk_fail(err, 0, "config.json: process: must be set to create a container");
	if (json_get(json_get(s->json, "linux"), "intelRdt"))
		return husk_fail(err, 0, "config.json: linux.intelRdt: Intel RDT is not supported by husk");
	if (!s->linux_ || !spec_find_namespace(s, CLONE_NEWNS))
		return husk_fail(err, 0, "config.json: linux.namespaces: a mount namespace is required");
	return 0;
}

static int parse_namespace(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_namespace *ns = elem;
	const char *type = NULL, *path = NULL;

	if (sp_string(c, v, "type", SP_REQUIRED, &type) < 0)
		return -1;
	ns->type = spec_namespace_type(type);
	if (!ns->type)
		return sp_fail_key(c, "type", "unknown namespace \"%s\"", type);
	if (sp_string(c, v, "path", 0, &path) < 0)
		return -1;
	/* "" is how Go writes "no path"; anything else must be absolute. */
	if (path && *path && sp_string(c, v, "path", SP_ABSOLUTE, &path) < 0)
		return -1;
	ns->path = path && *path ? path : NULL;
	return 0;
}

static int parse_namespaces(struct sp_ctx *c, struct json_object *o,
			    struct spec_linux *l)
{
	void *arr = NULL;
	int r = sp_struct_array(c, o, "namespaces", sizeof(struct spec_namespace),
				parse_namespace, &arr, &l->n_namespaces);

	l->namespaces = arr;
	if (r < 0)
		return r;
	for (size_t i = 1; i < l->n_namespaces; i++)
		for (size_t j = 0; j < i; j++) {
			size_t mark;

			if (l->namespaces[i].type != l->namespaces[j].type)
				continue;
			mark = sp_push_key(c, "namespaces");
			sp_push_index(c, i);
			sp_fail_key(c, "type", "duplicate namespace \"%s\"",
				    spec_namespace_name(l->namespaces[i].type));
			sp_pop(c, mark);
			return -1;
		}
	return r;
}

static int parse_time_offset(struct sp_ctx *c, const char *clock,
			     struct json_object *v, struct spec_time_offset *t)
{
	int64_t secs = 0, nsecs = 0;

	if (!in_list(clocks, ARRAY_SIZE(clocks), clock))
		return sp_fail(c, "unknown clock \"%s\"", clock);
	if (sp_value_object(c, v) < 0 ||
	    sp_int(c, v, "secs", 0, INT64_MIN, INT64_MAX, &secs) < 0 ||
	    sp_int(c, v, "nanosecs", 0, 0, 999999999, &nsecs) < 0)
		return -1;
	t->clock = clock;
	t->secs = secs;
	t->nanosecs = (uint32_t)nsecs;
	return 0;
}

static int parse_time_offsets(struct sp_ctx *c, struct json_object *o,
			      struct spec_linux *l)
{
	struct json_object *map = NULL;
	struct json_object_iterator it, end;
	size_t n, mark;
	int r = sp_object(c, o, "timeOffsets", 0, &map);

	if (r <= 0)
		return r;
	n = (size_t)json_object_object_length(map);
	if (n == 0)
		return 0;
	l->time_offsets = sp_calloc(c, n, sizeof(*l->time_offsets));
	if (!l->time_offsets)
		return -1;
	mark = sp_push_key(c, "timeOffsets");
	it = json_object_iter_begin(map);
	end = json_object_iter_end(map);
	for (; r >= 0 && !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it)) {
		const char *clock = json_object_iter_peek_name(&it);
		size_t m = sp_push_key(c, clock);

		r = parse_time_offset(c, clock, json_object_iter_peek_value(&it),
				      &l->time_offsets[l->n_time_offsets++]);
		sp_pop(c, m);
	}
	sp_pop(c, mark);
	return r;
}

static int parse_device(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_device *d = elem;
	const char *type = NULL;
	unsigned need = SP_REQUIRED;
	uint32_t mode = 0, uid = 0, gid = 0;
	int64_t major = 0, minor = 0;

	if (sp_string(c, v, "path", SP_NONEMPTY | SP_ABSOLUTE, &d->path) < 0 ||
	    sp_string(c, v, "type", SP_REQUIRED, &type) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return sp_fail_key(c, "type", "unknown device type \"%s\"", type);
	d->type = type[0];
	if (d->type == 'p') /* a FIFO has no device number */
		need = 0;
	if (sp_int(c, v, "major", need, 0, UINT32_MAX, &major) < 0 ||
	    sp_int(c, v, "minor", need, 0, UINT32_MAX, &minor) < 0 ||
	    sp_opt_u32(c, v, "fileMode", &d->has_file_mode, &mode) < 0 ||
	    sp_opt_u32(c, v, "uid", &d->has_uid, &uid) < 0 ||
	    sp_opt_u32(c, v, "gid", &d->has_gid, &gid) < 0)
		return -1;
	d->major = major;
	d->minor = minor;
	d->file_mode = mode;
	d->uid = uid;
	d->gid = gid;
	return 0;
}

static int parse_devices(struct sp_ctx *c, struct json_object *o,
			 struct spec_linux *l)
{
	void *arr = NULL;
	int r = sp_struct_array(c, o, "devices", sizeof(struct spec_device),
				parse_device, &arr, &l->n_devices);

	l->devices = arr;
	return r;
}

static int parse_seccomp_arg(struct sp_ctx *c, struct json_object *v,
			     void *elem)
{
	struct spec_seccomp_arg *a = elem;
	int64_t index = 0;

	/* A syscall has six argument registers. */
	if (sp_int(c, v, "index", SP_REQUIRED, 0, 5, &index) < 0 ||
	    sp_u64(c, v, "value", SP_REQUIRED, &a->value) < 0 ||
	    sp_u64(c, v, "valueTwo", 0, &a->value_two) < 0 ||
	    sp_string(c, v, "op", SP_NONEMPTY, &a->op) < 0)
		return -1;
	a->index = (unsigned)index;
	return 0;
}

static int parse_syscall(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_seccomp_syscall *sc = elem;
	void *arr = NULL;
	uint32_t ret = 0;
	int r;

	if (sp_strv(c, v, "names", SP_NONEMPTY, &sc->names, &sc->n_names) < 0 ||
	    sp_string(c, v, "action", SP_NONEMPTY, &sc->action) < 0 ||
	    sp_opt_u32(c, v, "errnoRet", &sc->has_errno_ret, &ret) < 0)
		return -1;
	sc->errno_ret = ret;
	r = sp_struct_array(c, v, "args", sizeof(struct spec_seccomp_arg),
			    parse_seccomp_arg, &arr, &sc->n_args);
	sc->args = arr;
	return r;
}

static int parse_seccomp_body(struct sp_ctx *c, struct json_object *o,
			      struct spec_seccomp *sc)
{
	void *arr = NULL;
	uint32_t ret = 0;
	int r;

	if (sp_string(c, o, "defaultAction", SP_NONEMPTY, &sc->default_action) < 0 ||
	    sp_opt_u32(c, o, "defaultErrnoRet", &sc->has_default_errno_ret,
		       &ret) < 0 ||
	    sp_strv(c, o, "architectures", 0, &sc->architectures,
		    &sc->n_architectures) < 0 ||
	    sp_strv(c, o, "flags", 0, &sc->flags, &sc->n_flags) < 0 ||
	    sp_string(c, o, "listenerPath", 0, &sc->listener_path) < 0 ||
	    sp_string(c, o, "listenerMetadata", 0, &sc->listener_metadata) < 0)
		return -1;
	sc->default_errno_ret = ret;
	r = sp_struct_array(c, o, "syscalls", sizeof(struct spec_seccomp_syscall),
			    parse_syscall, &arr, &sc->n_syscalls);
	sc->syscalls = arr;
	return r;
}

static int parse_seccomp(struct sp_ctx *c, struct json_object *o,
			 struct spec_linux *l)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "seccomp", 0, &v);

	if (r <= 0)
		return r;
	l->seccomp = sp_calloc(c, 1, sizeof(*l->seccomp));
	if (!l->seccomp)
		return -1;
	mark = sp_push_key(c, "seccomp");
	r = parse_seccomp_body(c, v, l->seccomp);
	sp_pop(c, mark);
	return r;
}

static int parse_personality(struct sp_ctx *c, struct json_object *o,
			     struct spec_linux *l)
{
	static const char *const domains[] = { "LINUX", "LINUX32" };
	struct json_object *v = NULL;
	const char *domain = NULL;
	size_t mark;
	int r = sp_object(c, o, "personality", 0, &v);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "personality");
	r = sp_string(c, v, "domain", SP_REQUIRED, &domain);
	if (r >= 0 && !in_list(domains, ARRAY_SIZE(domains), domain))
		r = sp_fail_key(c, "domain", "unknown domain \"%s\"", domain);
	sp_pop(c, mark);
	if (r < 0)
		return r;
	l->personality = sp_calloc(c, 1, sizeof(*l->personality));
	if (!l->personality)
		return -1;
	l->personality->domain = domain;
	return 0;
}

static int parse_paths(struct sp_ctx *c, struct json_object *o,
		       struct spec_linux *l)
{
	int r = sp_string(c, o, "rootfsPropagation", 0, &l->rootfs_propagation);

	if (r > 0 && !in_list(propagations, ARRAY_SIZE(propagations),
			      l->rootfs_propagation))
		return sp_fail_key(c, "rootfsPropagation",
				   "unknown propagation \"%s\"",
				   l->rootfs_propagation);
	if (r < 0 ||
	    sp_strv(c, o, "maskedPaths", SP_ABSOLUTE, &l->masked_paths,
		    &l->n_masked_paths) < 0 ||
	    sp_strv(c, o, "readonlyPaths", SP_ABSOLUTE, &l->readonly_paths,
		    &l->n_readonly_paths) < 0 ||
	    sp_string(c, o, "mountLabel", 0, &l->mount_label) < 0)
		return -1;
	return 0;
}

int sp_linux(struct sp_ctx *c, struct json_object *o, struct spec_linux **out)
{
	struct spec_linux *l = sp_calloc(c, 1, sizeof(*l));

	*out = l;
	if (!l || parse_namespaces(c, o, l) < 0 ||
	    sp_id_mappings(c, o, "uidMappings", &l->uid_mappings,
			   &l->n_uid_mappings) < 0 ||
	    sp_id_mappings(c, o, "gidMappings", &l->gid_mappings,
			   &l->n_gid_mappings) < 0 ||
	    parse_time_offsets(c, o, l) < 0 || parse_devices(c, o, l) < 0 ||
	    sp_string(c, o, "cgroupsPath", 0, &l->cgroups_path) < 0 ||
	    sp_object(c, o, "resources", 0, &l->resources) < 0 ||
	    sp_string_map(c, o, "sysctl", &l->sysctl, &l->n_sysctl) < 0 ||
	    parse_seccomp(c, o, l) < 0 || parse_paths(c, o, l) < 0 ||
	    parse_personality(c, o, l) < 0)
		return -1;
	return 0;
}

static void seccomp_free(struct spec_seccomp *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		free(sc->syscalls[i].names);
		free(sc->syscalls[i].args);
	}
	free(sc->syscalls);
	free(sc->architectures);
	free(sc->flags);
	free(sc);
}

void sp_linux_free(struct spec_linux *l)
{
	if (!l)
		return;
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	free(l->time_offsets);
	free(l->devices);
	free(l->sysctl);
	seccomp_free(l->seccomp);
	free(l->masked_paths);
	free(l->readonly_paths);
	free(l->personality);
	free(l);
}
