/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "store.h"

extern char **environ;

bool rootless_auto(void)
{
	char buf[128] = "";
	unsigned inside, outside, count;

	if (geteuid() != 0)
		return true;
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The host's own namespace maps every id onto itself, in one line. */
	return !(sscanf(buf, "%u %u %u", &inside, &outside, &count) == 3 && inside == 0 &&
		 outside == 0 && count == 4294967295U && !strchr(buf, '\n')[1]);
}

char *rootless_default_root(husk_error **err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *root = NULL;

	if (geteuid() == 0)
		return strdup(HUSK_DEFAULT_ROOT);
	if (!xdg || !*xdg)
		return husk_fail(err, 0, "no state directory: husk runs as uid %u and "
				 "XDG_RUNTIME_DIR is not set; set it or give --root",
				 (unsigned)geteuid()), NULL;
	if (asprintf(&root, "%s/husk", xdg) < 0)
		return husk_fail(err, ENOMEM, "state directory"), NULL;
	return root;
}

static bool id_mapped(const struct spec_id_mapping *m, size_t n, unsigned long id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
			return true;
	return false;
}

int rootless_validate(const struct spec *s, husk_error **err)
{
	const struct spec_namespace *user = spec_find_namespace(s, CLONE_NEWUSER);
	const struct spec_linux *l = s->linux_;

	if (!user)
		return husk_fail(err, 0, "config.json: linux.namespaces: husk runs as uid %u, not "
				 "root: the container needs a user namespace (see `husk spec "
				 "--rootless`)", (unsigned)geteuid());
	for (size_t i = 0; !user->path && i < s->n_mounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		for (size_t k = 0; k < m->n_options; k++) {
			const char *o = m->options[k];
			if (strncmp(o, "uid=", 4) && strncmp(o, "gid=", 4))
				continue;
			bool uid = o[0] == 'u';
			unsigned long id = strtoul(o + 4, NULL, 10);
			if (!(uid ? id_mapped(l->uid_mappings, l->n_uid_mappings, id)
				  : id_mapped(l->gid_mappings, l->n_gid_mappings, id)))
				return husk_fail(err, 0, "config.json: mounts[%zu].options: %s: not "
						 "mapped by linux.%sMappings", i, o, uid ? "uid" : "gid");
		}
	}
	return 0;
}

static bool maps_only(const struct spec_id_mapping *m, size_t n, unsigned id)
{
	return n == 1 && m[0].size == 1 && m[0].host_id == id;
}

static int write_file(pid_t pid, const char *name, const char *text, husk_error **err)
{
	char path[64];
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return husk_fail(err, errno, "write %s", path);
	return 0;
}

static int write_self_map(pid_t pid, const struct spec_linux *l, husk_error **err)
{
	char line[64];

	snprintf(line, sizeof(line), "%u %u 1\n", l->uid_mappings[0].container_id,
		 l->uid_mappings[0].host_id);
	if (write_file(pid, "uid_map", line, err) < 0)
		return husk_error_wrap(err, "linux.uidMappings");
	snprintf(line, sizeof(line), "%u %u 1\n", l->gid_mappings[0].container_id,
		 l->gid_mappings[0].host_id);
	if (write_file(pid, "setgroups", "deny", err) < 0 ||
	    write_file(pid, "gid_map", line, err) < 0)
		return husk_error_wrap(err, "linux.gidMappings");
	return 0;
}

/* "newuidmap PID inside outside count ...", waited for. */
static int run_map_helper(const char *helper, const char *field, pid_t pid,
			  const struct spec_id_mapping *m, size_t n, husk_error **err)
{
	size_t nargs = 1 + 3 * n;
	_cleanup_free_ char **argv = calloc(nargs + 2, sizeof(*argv));
	_cleanup_free_ char (*num)[12] = calloc(nargs, sizeof(*num));
	int status = 0;
	pid_t child;

	if (!argv || !num)
		return husk_fail(err, ENOMEM, "%s", field);
	argv[0] = (char *)helper;
	snprintf(num[0], sizeof(num[0]), "%d", pid);
	for (size_t i = 0; i < n; i++) {
		snprintf(num[1 + 3 * i], sizeof(num[0]), "%u", m[i].container_id);
		snprintf(num[2 + 3 * i], sizeof(num[0]), "%u", m[i].host_id);
		snprintf(num[3 + 3 * i], sizeof(num[0]), "%u", m[i].size);
	}
	for (size_t i = 0; i < nargs; i++)
		argv[1 + i] = num[i];
	int r = posix_spawnp(&child, helper, NULL, NULL, argv, environ);
	if (r != 0)
		return husk_fail(err, r, "%s: run %s (Debian package uidmap)", field, helper);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return husk_fail(err, errno, "%s: wait for %s", field, helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_fail(err, 0, "%s: %s failed (status %d): the mappings must lie in "
				 "the caller's ranges in /etc/sub%cid", field, helper,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				 helper[3]);
	return 0;
}

int rootless_write_mappings(pid_t pid, const struct spec *s, husk_error **err)
{
	const struct spec_linux *l = s->linux_;

	if (maps_only(l->uid_mappings, l->n_uid_mappings, geteuid()) &&
	    maps_only(l->gid_mappings, l->n_gid_mappings, getegid()))
		return write_self_map(pid, l, err);
	if (run_map_helper("newuidmap", "linux.uidMappings", pid, l->uid_mappings,
			   l->n_uid_mappings, err) < 0 ||
	    run_map_helper("newgidmap", "linux.gidMappings", pid, l->gid_mappings,
			   l->n_gid_mappings, err) < 0)
		return -1;
	return 0;
}

bool rootless_cgroup_denied(const husk_error *err)
{
	return err && (err->code == EACCES || err->code == EPERM || err->code == EROFS);
}

static bool json_is_set(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0 || json_object_get_uint64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0;
	case json_type_string:
		return json_object_get_string_len(v) > 0;
	case json_type_array:
		return json_object_array_length(v) > 0;
	case json_type_object:
		return json_object_object_length(v) > 0;
	default:
		return false;
	}
}

/* The first set leaf below v, as ".a.b" or "[i]" appended to path. */
static bool find_set(struct json_object *v, char *path, size_t cap)
{
	size_t len = strlen(path);

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child) {
			snprintf(path + len, cap - len, ".%s", key);
			if (find_set(child, path, cap))
				return true;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(path + len, cap - len, "[%zu]", i);
			if (find_set(json_object_array_get_idx(v, i), path, cap))
				return true;
		}
	} else if (json_is_set(v)) {
		return true;
	}
	path[len] = '\0';
	return false;
}

int rootless_check_resources(struct json_object *resources, const husk_error *why,
			     husk_error **err)
{
	char path[256];

	if (!json_object_is_type(resources, json_type_object))
		return 0;
	json_object_object_foreach(resources, key, v) {
		if (!strcmp(key, "devices"))
			continue;
		snprintf(path, sizeof(path), "linux.resources.%s", key);
		if (!find_set(v, path, sizeof(path)))
			continue;
		_cleanup_free_ char *cause = husk_error_text(why);
		return husk_fail(err, 0, "config.json: %s: cannot be applied: the container has "
				 "no cgroup, which husk (rootless) may not create here (%s)",
				 path, cause ? cause : "permission denied");
	}
	return 0;
}
