/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image config (config.md "config") laid over husk's default runtime
 * config, as image.h says. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../rootfs/overlay.h"
#include "internal.h"

/* Appends the strings of array src (when it is one) to dst. */
static void append_strings(struct json_object *dst, struct json_object *src)
{
	if (!src || !json_object_is_type(src, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(src); i++) {
		struct json_object *s = json_object_array_get_idx(src, i);
		if (json_object_is_type(s, json_type_string))
			json_object_array_add(dst, json_object_get(s));
	}
}

static void set_args(struct json_object *process, struct json_object *cfg)
{
	struct json_object *args = json_object_new_array();

	/* Entrypoint then Cmd, as docker runs them; neither keeps the default. */
	append_strings(args, json_get(cfg, "Entrypoint"));
	append_strings(args, json_get(cfg, "Cmd"));
	if (json_object_array_length(args))
		json_object_object_add(process, "args", args);
	else
		json_object_put(args);
}

static bool has_path(struct json_object *env)
{
	for (size_t i = 0; env && json_object_is_type(env, json_type_array) &&
			   i < json_object_array_length(env); i++)
		if (!strncmp(json_object_get_string(json_object_array_get_idx(env, i)), "PATH=", 5))
			return true;
	return false;
}

static void set_env(struct json_object *process, struct json_object *cfg)
{
	struct json_object *env = json_object_new_array(), *def = json_get(process, "env");
	struct json_object *image = json_get(cfg, "Env");

	/* The default's PATH when the image sets none; TERM goes with the
	 * terminal. */
	for (size_t i = 0; !has_path(image) && def && i < json_object_array_length(def); i++) {
		struct json_object *s = json_object_array_get_idx(def, i);
		if (!strncmp(json_object_get_string(s), "PATH=", 5)) {
			json_object_array_add(env, json_object_get(s));
			break;
		}
	}
	append_strings(env, image);
	json_object_object_add(process, "env", env);
}

static int set_process(struct json_object *spec, struct json_object *cfg, char *const *lower,
		       size_t n, husk_error **err)
{
	struct json_object *process = json_get(spec, "process"), *user;
	const char *cwd = json_get_string(cfg, "WorkingDir");
	uid_t uid;
	gid_t gid;

	if (!process)
		return husk_fail(err, 0, "default config has no process");
	if (image_user_resolve(json_get_string(cfg, "User"), lower, n, &uid, &gid, err) < 0)
		return husk_error_wrap(err, "config: User");
	json_object_object_add(process, "terminal", json_object_new_boolean(false));
	set_args(process, cfg);
	set_env(process, cfg);
	if (cwd && *cwd) {
		_cleanup_free_ char *abs = NULL;
		if (asprintf(&abs, "%s%s", cwd[0] == '/' ? "" : "/", cwd) < 0)
			return husk_fail(err, ENOMEM, "WorkingDir");
		json_object_object_add(process, "cwd", json_object_new_string(abs));
	}
	user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int64(uid));
	json_object_object_add(user, "gid", json_object_new_int64(gid));
	json_object_object_add(process, "user", user);
	return 0;
}

static int set_annotations(struct json_object *spec, struct json_object *cfg,
			   char *const *lower, size_t n, husk_error **err)
{
	struct json_object *ann = json_get(spec, "annotations"), *labels = json_get(cfg, "Labels");
	_cleanup_free_ char *joined = NULL;
	size_t len = 1;

	if (!ann || !json_object_is_type(ann, json_type_object))
		json_object_object_add(spec, "annotations", ann = json_object_new_object());
	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, key, value) {
			/* An image must not choose its own lowers or upper. */
			if (strncmp(key, "io.husk.", 8) != 0 && json_object_is_type(value, json_type_string))
				json_object_object_add(ann, key, json_object_get(value));
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(lower[i], ':'))
			return husk_fail(err, 0, "layer path %s contains ':'", lower[i]);
		len += strlen(lower[i]) + 1;
	}
	if (!(joined = calloc(1, len)))
		return husk_fail(err, ENOMEM, "annotations");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(joined, ":");
		strcat(joined, lower[i]);
	}
	json_object_object_add(ann, OVERLAY_ANN_LOWER, json_object_new_string(joined));
	return 0;
}

int image_spec_apply(struct json_object *spec, struct json_object *image_config,
		     char *const *lower, size_t n_lower, husk_error **err)
{
	struct json_object *cfg = json_get(image_config, "config"), *root;

	if (set_process(spec, cfg, lower, n_lower, err) < 0 ||
	    set_annotations(spec, cfg, lower, n_lower, err) < 0)
		return -1;
	/* The overlay's upper takes the writes: the root can be writable. */
	root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(false));
	json_object_object_add(spec, "root", root);
	return 0;
}
