/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `bundle`, `images`, `layers`: OCI images made into bundles whose root is
 * an overlay over the shared layer store (image/image.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../image/image.h"
#include "commands.h"
#include "log.h"

enum { F_IMAGE = 1, F_FORMAT };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* config.json: what `husk spec` writes, then the image's settings. */
static int write_config(const struct husk_opts *o, const char *bundle, const struct oci_image *img,
			char *const *lower, size_t n, husk_error **err)
{
	char a0[] = "spec", a1[] = "--bundle";
	char *argv[] = { a0, a1, (char *)bundle, NULL };
	_cleanup_free_ char *path = NULL;
	struct json_object *spec;
	int r = -1;

	if (cmd_spec(o, 3, argv, err) < 0)
		return -1;
	if (asprintf(&path, "%s/config.json", bundle) < 0) {
		path = NULL;
		return husk_fail(err, ENOMEM, "config.json");
	}
	if (!(spec = json_object_from_file(path)))
		husk_fail(err, 0, "read %s", path);
	else if (image_spec_apply(spec, img->config, lower, n, err) == 0)
		r = json_object_to_file_ext(path, spec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
						JSON_C_TO_STRING_NOSLASHESCAPE) < 0
			    ? husk_fail(err, errno, "write %s", path) : 0;
	json_object_put(spec);
	if (r < 0)
		unlink(path);
	return r;
}

/* The bundle directory (made if missing) and its empty rootfs/, the
 * overlay's mount point. */
static char *make_bundle_dir(const char *dir, husk_error **err)
{
	char *abs = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		husk_fail(err, errno, "create bundle %s", dir);
		return NULL;
	}
	if (!(abs = realpath(dir, NULL)) || (fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (mkdirat(fd, "rootfs", 0755) < 0 && errno != EEXIST) ||
	    fstatat(fd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		husk_fail(err, errno ? errno : ENOTDIR, "bundle %s/rootfs", dir);
		free(abs);
		return NULL;
	}
	return abs;
}

static int unpack_all(const struct husk_opts *o, const struct layer_store *ls,
		      const struct oci_image *img, husk_error **err)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct oci_layer *l = &img->layers[i];
		double start = now_ms();
		bool unpacked;
		if (layer_store_ensure(ls, img, l, &unpacked, err) < 0)
			return -1;
		log_debug(o, "layer %zu sha256:%.12s: %s in %.1f ms", i, l->diff_id,
			  unpacked ? "unpacked" : "already in the store", now_ms() - start);
	}
	return 0;
}

static int bundle_make(const struct husk_opts *o, const char *ref, const char *bundle,
		       husk_error **err)
{
	_cleanup_free_ char *dir = NULL, *tag = NULL, *abs = NULL, *layout = NULL, *image = NULL;
	struct layer_store ls;
	struct oci_image img;
	_cleanup_strv_ char **lower = NULL;
	size_t n = 0;
	int r = -1;

	if (oci_image_ref_split(ref, &dir, &tag) < 0)
		return husk_fail(err, ENOMEM, "--image");
	if (layer_store_open(o->root, true, true, &ls, err) < 0)
		return -1;
	if (oci_image_open(dir, tag, &img, err) == 0) {
		layout = realpath(dir, NULL);
		if (layout && asprintf(&image, "%s%s%s", layout, tag ? ":" : "", tag ? tag : "") < 0)
			image = NULL;
		if (unpack_all(o, &ls, &img, err) == 0 && (lower = layer_store_lowers(&ls, &img, &n, err)) &&
		    (abs = make_bundle_dir(bundle, err)) && write_config(o, abs, &img, lower, n, err) == 0)
			r = registry_add(&ls, abs, image ? image : ref, &img, err);
		oci_image_close(&img);
	}
	layer_store_close(&ls);
	return r;
}

int cmd_bundle(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "image", 'i', true, F_IMAGE }, { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *image = NULL, *bundle;
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("bundle")), 0;
		image = v;
	}
	if (id < 0 || cli_want_id(&p, argv[0], &bundle, err) < 0)
		return -1;
	if (!image || !*image)
		return husk_fail(err, 0, "--image DIR[:TAG] is required");
	return bundle_make(o, image, bundle, err) < 0 ? -1 : 0;
}

/* "--format table|json" and at most one word; 1 for --help. */
static int parse_listing(int argc, char **argv, bool *json, const char **word, husk_error **err)
{
	static const struct cli_flag flags[] = { { "format", 'f', true, F_FORMAT }, { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int id;

	*json = false;
	*word = NULL;
	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return 1;
		if (strcmp(v, "table") && strcmp(v, "json"))
			return husk_fail(err, 0, "invalid format \"%s\"", v);
		*json = !strcmp(v, "json");
	}
	if (id < 0)
		return -1;
	if (p.i < argc)
		*word = argv[p.i++];
	if (p.i < argc)
		return husk_fail(err, 0, "\"%s\": too many arguments", argv[0]);
	return 0;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cmd_images(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct layer_store ls;
	const char *word;
	bool json;
	int r = parse_listing(argc, argv, &json, &word, err);

	if (r != 0)
		return r > 0 ? (command_print_help(command_find("images")), 0) : -1;
	if (word)
		return husk_fail(err, 0, "unexpected argument \"%s\"", word);
	if (layer_store_open(o->root, false, false, &ls, err) < 0)
		return -1;
	struct json_object *list = registry_list(&ls, err);
	layer_store_close(&ls);
	if (!list)
		return -1;
	if (json)
		print_json(list);
	else
		printf("%-40s %-7s %-21s %s\n", "BUNDLE", "LAYERS", "CREATED", "IMAGE");
	for (size_t i = 0; !json && i < json_object_array_length(list); i++) {
		struct json_object *b = json_object_array_get_idx(list, i), *l = NULL;
		json_object_object_get_ex(b, "layers", &l);
		printf("%-40s %-7zu %-21s %s\n", json_get_text(b, "path"), l ? json_object_array_length(l) : 0,
		       json_get_text(b, "created"), json_get_text(b, "image"));
	}
	json_object_put(list);
	return 0;
}

static void print_removed(const char *diff_id, uint64_t bytes)
{
	printf("sha256:%s\t%llu\n", diff_id, (unsigned long long)bytes);
}

static int layers_prune(const struct husk_opts *o, husk_error **err)
{
	struct layer_store ls;
	struct json_object *refs;
	int r = -1;

	if (layer_store_open(o->root, true, false, &ls, err) < 0)
		return -1;
	if ((refs = layer_store_refs(&ls, true, err))) {
		r = layer_store_prune(&ls, refs, print_removed, err);
		json_object_put(refs);
	}
	layer_store_close(&ls);
	return r;
}

/* [{diff_id, size, users}] of every layer in the store. */
static struct json_object *layers_collect(const struct layer_store *ls, struct json_object *refs)
{
	struct json_object *out = json_object_new_array();
	int fd = ls->dir_fd >= 0 ? openat(ls->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close(fd);
	for (struct dirent *e; d && (e = readdir(d));) {
		_cleanup_free_ char *path = NULL, *id = NULL;
		struct json_object *users = NULL, *l;
		if (strlen(e->d_name) != 64 || e->d_name[0] == '.' ||
		    asprintf(&path, "%s/%s", ls->dir, e->d_name) < 0 ||
		    asprintf(&id, "sha256:%s", e->d_name) < 0)
			continue;
		json_object_object_get_ex(refs, e->d_name, &users);
		l = json_object_new_object();
		json_object_object_add(l, "diff_id", json_object_new_string(id));
		json_object_object_add(l, "size", json_object_new_int64((int64_t)layer_store_du(path)));
		json_object_object_add(l, "users", json_object_new_int(users ? json_object_get_int(users) : 0));
		json_object_array_add(out, l);
	}
	return out;
}

static int layers_list(const struct husk_opts *o, bool json, husk_error **err)
{
	struct layer_store ls;
	struct json_object *refs, *list;

	if (layer_store_open(o->root, false, false, &ls, err) < 0)
		return -1;
	refs = layer_store_refs(&ls, false, err);
	list = refs ? layers_collect(&ls, refs) : NULL;
	layer_store_close(&ls);
	json_object_put(refs);
	if (!list)
		return -1;
	if (json)
		print_json(list);
	else
		printf("%-71s %12s %s\n", "LAYER", "SIZE", "USERS");
	for (size_t i = 0; !json && i < json_object_array_length(list); i++) {
		struct json_object *l = json_object_array_get_idx(list, i), *s = NULL, *u = NULL;
		json_object_object_get_ex(l, "size", &s);
		json_object_object_get_ex(l, "users", &u);
		printf("%-71s %12lld %d\n", json_get_text(l, "diff_id"), (long long)json_object_get_int64(s),
		       json_object_get_int(u));
	}
	json_object_put(list);
	return 0;
}

int cmd_layers(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	const char *word;
	bool json;
	int r = parse_listing(argc, argv, &json, &word, err);

	if (r != 0)
		return r > 0 ? (command_print_help(command_find("layers")), 0) : -1;
	if (word && strcmp(word, "prune"))
		return husk_fail(err, 0, "unknown subcommand \"%s\" (only \"prune\")", word);
	r = word ? layers_prune(o, err) : layers_list(o, json, err);
	return r < 0 ? -1 : 0;
}
