/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who uses which layer. <root>/bundles.json lists the bundles `husk bundle`
 * made; their config.json (and every container's saved config.json) says,
 * through io.husk.rootfs.lower, which store layers they stack. Those
 * configs, read afresh each time, are the truth: a bundle removed from
 * disk stops counting, and one whose config was edited counts as it is now.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../rootfs/overlay.h"
#include "../runtime/store.h"
#include "internal.h"

#define REGISTRY "bundles.json"
#define TMP_PREFIX ".tmp-"

static struct json_object *registry_read(const struct layer_store *ls, husk_error **err)
{
	_cleanup_close_ int fd = openat(ls->root_fd, REGISTRY, O_RDONLY | O_CLOEXEC);
	struct json_object *reg = fd >= 0 ? json_object_from_fd(fd) : NULL;
	struct json_object *list = json_get(reg, "bundles");

	if (fd < 0 && errno == ENOENT) {
		reg = json_object_new_object();
		json_object_object_add(reg, "bundles", list = json_object_new_array());
	}
	if (!list || !json_object_is_type(list, json_type_array)) {
		json_object_put(reg);
		husk_fail(err, fd < 0 ? errno : 0, "%s/" REGISTRY ": unreadable", ls->root);
		return NULL;
	}
	return reg;
}

static int registry_write(const struct layer_store *ls, struct json_object *reg, husk_error **err)
{
	const char *text = json_object_to_json_string_ext(
		reg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	return store_write(ls->root_fd, REGISTRY, text, strlen(text), err);
}

static struct json_object *without_path(struct json_object *list, const char *path)
{
	struct json_object *kept = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *b = json_object_array_get_idx(list, i);
		if (strcmp(json_object_get_string(json_get(b, "path")), path) != 0)
			json_object_array_add(kept, json_object_get(b));
	}
	return kept;
}

int registry_add(const struct layer_store *ls, const char *bundle, const char *image,
		 const struct oci_image *img, husk_error **err)
{
	struct json_object *reg = registry_read(ls, err), *entry, *layers;
	char created[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!reg)
		return -1;
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	entry = json_object_new_object();
	layers = json_object_new_array();
	for (size_t i = 0; i < img->n_layers; i++) {
		char id[DIGEST_HEX + 8];
		snprintf(id, sizeof(id), "sha256:%s", img->layers[i].diff_id);
		json_object_array_add(layers, json_object_new_string(id));
	}
	json_object_object_add(entry, "path", json_object_new_string(bundle));
	json_object_object_add(entry, "image", json_object_new_string(image));
	json_object_object_add(entry, "created", json_object_new_string(created));
	json_object_object_add(entry, "layers", layers);
	struct json_object *list = without_path(json_get(reg, "bundles"), bundle);
	json_object_array_add(list, entry);
	json_object_object_add(reg, "bundles", list);
	int r = registry_write(ls, reg, err);
	json_object_put(reg);
	return r;
}

struct json_object *registry_list(const struct layer_store *ls, husk_error **err)
{
	struct json_object *reg, *list;

	if (ls->root_fd < 0)
		return json_object_new_array();
	if (!(reg = registry_read(ls, err)))
		return NULL;
	list = json_object_get(json_get(reg, "bundles"));
	json_object_put(reg);
	return list;
}

/* Counts the store layers that a config's io.husk.rootfs.lower names
 * (relative ones are relative to base, the bundle). */
static void count_lowers(const struct layer_store *ls, struct json_object *config,
			 const char *base, struct json_object *counts)
{
	const char *value = json_object_get_string(json_get(json_get(config, "annotations"), OVERLAY_ANN_LOWER));
	size_t n, dlen = strlen(ls->dir);
	_cleanup_strv_ char **lower = value ? overlay_split_lower(value, &n) : NULL;

	for (char **p = lower; p && *p; p++) {
		_cleanup_free_ char *joined = NULL, *real = NULL;
		if (**p != '/' && asprintf(&joined, "%s/%s", base ? base : "", *p) < 0)
			joined = NULL;
		real = realpath(joined ? joined : *p, NULL);
		if (!real || strncmp(real, ls->dir, dlen) || real[dlen] != '/' ||
		    strlen(real + dlen + 1) != DIGEST_HEX)
			continue;
		const char *id = real + dlen + 1;
		struct json_object *c = json_get(counts, id);
		json_object_object_add(counts, id, json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
	}
}

static struct json_object *json_at(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	return fd >= 0 ? json_object_from_fd(fd) : NULL;
}

/* Every container under root: its saved config, relative to its bundle. */
static void count_containers(const struct layer_store *ls, struct json_object *counts)
{
	int fd = openat(ls->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char path[NAME_MAX + 16];

	if (!d && fd >= 0)
		close(fd);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "layers"))
			continue;
		snprintf(path, sizeof(path), "%s/config.json", e->d_name);
		struct json_object *config = json_at(ls->root_fd, path);
		snprintf(path, sizeof(path), "%s/state.json", e->d_name);
		struct json_object *state = config ? json_at(ls->root_fd, path) : NULL;
		if (config)
			count_lowers(ls, config, json_object_get_string(json_get(state, "bundle")), counts);
		json_object_put(state);
		json_object_put(config);
	}
}

/* Registered bundles; with prune, forgets those whose config is gone. */
static int count_bundles(const struct layer_store *ls, bool prune, struct json_object *counts,
			 husk_error **err)
{
	struct json_object *reg = registry_read(ls, err), *list, *kept;

	if (!reg)
		return -1;
	list = json_get(reg, "bundles");
	kept = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *b = json_object_array_get_idx(list, i);
		const char *path = json_object_get_string(json_get(b, "path"));
		_cleanup_free_ char *cfg = NULL;
		if (asprintf(&cfg, "%s/config.json", path ? path : "") < 0) {
			cfg = NULL;
			continue;
		}
		struct json_object *config = json_at(AT_FDCWD, cfg);
		if (config || errno != ENOENT)
			json_object_array_add(kept, json_object_get(b));
		if (config)
			count_lowers(ls, config, path, counts);
		json_object_put(config);
	}
	int r = 0;
	if (prune && json_object_array_length(kept) != json_object_array_length(list)) {
		json_object_object_add(reg, "bundles", kept);
		r = registry_write(ls, reg, err);
	} else {
		json_object_put(kept);
	}
	json_object_put(reg);
	return r;
}

struct json_object *layer_store_refs(const struct layer_store *ls, bool prune, husk_error **err)
{
	struct json_object *counts = json_object_new_object();

	if (ls->root_fd < 0)
		return counts;
	if (count_bundles(ls, prune, counts, err) < 0) {
		json_object_put(counts);
		return NULL;
	}
	count_containers(ls, counts);
	return counts;
}

int layer_store_prune(const struct layer_store *ls, struct json_object *refs,
		      void (*removed)(const char *diff_id, uint64_t bytes), husk_error **err)
{
	int fd = ls->dir_fd >= 0 ? openat(ls->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (ls->dir_fd < 0)
		return 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return husk_fail(err, errno, "read %s", ls->dir);
	}
	for (struct dirent *e; (e = readdir(d));) {
		const char *name = e->d_name;
		bool stale = !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));
		if (!stale && (strlen(name) != DIGEST_HEX || json_get(refs, name)))
			continue;
		_cleanup_free_ char *path = NULL;
		uint64_t bytes = 0;
		if (!stale && asprintf(&path, "%s/%s", ls->dir, name) >= 0)
			bytes = layer_store_du(path);
		/* Under the exclusive lock, a temporary directory is a crashed
		 * unpack's. */
		if (store_remove_tree(ls->dir_fd, name, err) < 0)
			return husk_error_wrap(err, "prune %s", ls->dir);
		if (!stale && removed)
			removed(name, bytes);
	}
	return 0;
}
