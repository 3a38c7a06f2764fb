/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An OCI image layout (image-layout.md): index.json -> manifest -> config
 * and layers, each JSON blob checked against its digest and size before it
 * is parsed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "internal.h"

#define JSON_MAX (16u << 20) /* no manifest, index or config is larger */
#define REF_NAME "org.opencontainers.image.ref.name"

/* config.md's GOARCH name of this machine; NULL: not checked. */
static const char *host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return NULL;
#endif
}

static bool arch_ok(const char *arch)
{
	const char *host = host_arch();

	return !arch || !host || !strcmp(arch, host);
}

int oci_image_ref_split(const char *ref, char **dir, char **tag)
{
	const char *colon = strrchr(ref, ':');
	struct stat st;

	*tag = NULL;
	if (!colon || strchr(colon, '/') || !colon[1] || stat(ref, &st) == 0) {
		*dir = strndup(ref, colon && !colon[1] ? (size_t)(colon - ref) : strlen(ref));
		return *dir ? 0 : -ENOMEM;
	}
	*dir = strndup(ref, (size_t)(colon - ref));
	*tag = strdup(colon + 1);
	return *dir && *tag ? 0 : -ENOMEM;
}

/* The whole of fd, up to about max bytes; NULL with errno (EFBIG when
 * larger). */
static char *read_all(int fd, size_t max, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (;;) {
		if (n == cap) {
			char *grown = cap <= max ? realloc(buf, (cap = cap ? 2 * cap : 4096) + 1) : NULL;
			if (!grown) {
				free(buf);
				errno = cap > max ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = grown;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				break;
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static struct json_object *parse_object(const char *text, size_t len, const char *what,
					husk_error **err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = tok && len < JSON_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;

	if (tok)
		json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		husk_fail(err, 0, "%s: not a JSON object", what);
		return NULL;
	}
	return o;
}

static struct json_object *read_file_json(int dirfd, const char *name, husk_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (fd < 0 || !(text = read_all(fd, JSON_MAX, &len))) {
		husk_fail(err, errno, "%s", name);
		return NULL;
	}
	return parse_object(text, len, name, err);
}

/* A descriptor's digest (a path component, so strictly checked) and size
 * (-1 when absent). */
static int desc_parse(struct json_object *desc, char hex[DIGEST_HEX + 1], int64_t *size,
		      const char *what, husk_error **err)
{
	const char *digest = json_get_string(desc, "digest");
	struct json_object *sz = json_get(desc, "size");
	int r = digest_parse(digest, hex);

	if (r == -EOPNOTSUPP)
		return husk_fail(err, 0, "%s: digest \"%s\": only sha256 is supported", what, digest);
	if (r < 0)
		return husk_fail(err, 0, "%s: digest \"%s\" is not a valid sha256 digest", what,
				 digest ? digest : "");
	*size = sz && json_object_is_type(sz, json_type_int) ? json_object_get_int64(sz) : -1;
	return 0;
}

int oci_blob_open(int layout_fd, const char *hex, const char *what, husk_error **err)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
	char path[sizeof("blobs/sha256/") + DIGEST_HEX];
	long fd;

	snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
	fd = syscall(SYS_openat2, layout_fd, path, &how, sizeof(how));
	if (fd < 0)
		return husk_fail(err, errno, "%s blob sha256:%s", what, hex);
	return (int)fd;
}

/* A JSON blob, read whole and checked before it is parsed. */
static struct json_object *blob_json(int layout_fd, struct json_object *desc, const char *what,
				     husk_error **err)
{
	char hex[DIGEST_HEX + 1], got[DIGEST_HEX + 1];
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	int64_t size;
	size_t len;

	if (desc_parse(desc, hex, &size, what, err) < 0 ||
	    (fd = oci_blob_open(layout_fd, hex, what, err)) < 0)
		return NULL;
	if (!(text = read_all(fd, JSON_MAX, &len))) {
		husk_fail(err, errno, "%s blob sha256:%s", what, hex);
		return NULL;
	}
	digest_buf(text, len, got);
	if (strcmp(got, hex) != 0) {
		husk_fail(err, 0, "%s blob sha256:%s: digest mismatch (content is sha256:%s)", what,
			  hex, got);
		return NULL;
	}
	if (size >= 0 && (uint64_t)size != len) {
		husk_fail(err, 0, "%s blob sha256:%s: size %zu, descriptor says %lld", what, hex,
			  len, (long long)size);
		return NULL;
	}
	return parse_object(text, len, what, err);
}

static bool platform_ok(struct json_object *desc)
{
	struct json_object *p = json_get(desc, "platform");
	const char *os = json_get_string(p, "os"), *arch = json_get_string(p, "architecture");

	return (!os || !strcmp(os, "linux")) && arch_ok(arch);
}

/* "a, b, c" of the index's ref names, for error messages. */
static char *ref_names(struct json_object *list)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		const char *ref = json_get_string(json_get(json_object_array_get_idx(list, i), "annotations"), REF_NAME);
		fprintf(f, "%s%s", i ? ", " : "", ref ? ref : "(untagged)");
	}
	fclose(f);
	return out;
}

static struct json_object *pick(struct json_object *index, const char *tag, husk_error **err)
{
	struct json_object *list = json_get(index, "manifests"), *found = NULL;
	size_t matches = 0;

	if (!list || !json_object_is_type(list, json_type_array)) {
		husk_fail(err, 0, "index: manifests: must be an array");
		return NULL;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *d = json_object_array_get_idx(list, i);
		const char *ref = json_get_string(json_get(d, "annotations"), REF_NAME);
		if ((tag && (!ref || strcmp(ref, tag))) || !platform_ok(d))
			continue;
		found = d;
		matches++;
	}
	if (matches == 1)
		return found;
	_cleanup_free_ char *names = ref_names(list);
	if (tag && !matches)
		husk_fail(err, 0, "no image tagged \"%s\" (the layout has: %s)", tag, names ? names : "");
	else if (!matches)
		husk_fail(err, 0, "no image for this platform (linux/%s) in the layout",
			  host_arch() ? host_arch() : "?");
	else
		husk_fail(err, 0, "the layout holds %zu images: name one as DIR:TAG (%s)", matches,
			  names ? names : "");
	return NULL;
}

static bool is_index(struct json_object *desc, struct json_object *m)
{
	const char *mt = json_get_string(desc, "mediaType");

	if (!mt)
		mt = json_get_string(m, "mediaType");
	if (mt)
		return !strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		       !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
	return json_get(m, "manifests") && !json_get(m, "layers");
}

/* index -> (nested indexes, by platform) -> the manifest. */
static struct json_object *load_manifest(int fd, struct json_object *index, const char *tag,
					 int depth, husk_error **err)
{
	struct json_object *desc = pick(index, tag, err), *m, *inner;

	if (!desc || !(m = blob_json(fd, desc, "manifest", err)))
		return NULL;
	if (!is_index(desc, m))
		return m;
	inner = depth < 4 ? load_manifest(fd, m, NULL, depth + 1, err) : NULL;
	if (depth >= 4)
		husk_fail(err, 0, "image indexes nested too deep");
	json_object_put(m);
	return inner;
}

static int compression_of(const char *mt, enum layer_compression *c)
{
	size_t n = mt ? strlen(mt) : 0;

#define ENDS(s) (n >= strlen(s) && !strcmp(mt + n - strlen(s), s))
	if (ENDS(".tar"))
		*c = LAYER_TAR;
	else if (ENDS("+gzip") || ENDS(".tar.gzip"))
		*c = LAYER_GZIP;
	else if (ENDS("+zstd"))
		*c = LAYER_ZSTD;
	else
		return -EOPNOTSUPP;
#undef ENDS
	return 0;
}

static int read_layers(struct json_object *manifest, struct oci_image *img, husk_error **err)
{
	struct json_object *layers = json_get(manifest, "layers");
	char what[64];

	if (!layers || !json_object_is_type(layers, json_type_array))
		return husk_fail(err, 0, "manifest: layers: must be an array");
	img->n_layers = json_object_array_length(layers);
	img->layers = calloc(img->n_layers + 1, sizeof(*img->layers));
	if (!img->layers)
		return husk_fail(err, ENOMEM, "manifest");
	for (size_t i = 0; i < img->n_layers; i++) {
		struct json_object *d = json_object_array_get_idx(layers, i);
		struct oci_layer *l = &img->layers[i];
		const char *mt = json_get_string(d, "mediaType");
		snprintf(what, sizeof(what), "manifest: layers[%zu]", i);
		if (desc_parse(d, l->digest, &l->size, what, err) < 0)
			return -1;
		if (compression_of(mt, &l->compression) < 0)
			return husk_fail(err, 0, "%s: unsupported media type \"%s\"", what,
					 mt ? mt : "");
	}
	return 0;
}

static int read_config(int fd, struct json_object *manifest, struct oci_image *img,
		       husk_error **err)
{
	img->config = blob_json(fd, json_get(manifest, "config"), "config", err);
	if (!img->config)
		return -1;
	const char *os = json_get_string(img->config, "os"), *arch = json_get_string(img->config, "architecture");
	if (os && strcmp(os, "linux"))
		return husk_fail(err, 0, "config: the image is for %s, not linux", os);
	if (!arch_ok(arch))
		return husk_fail(err, 0, "config: the image is for %s, this machine is %s", arch,
				 host_arch());
	struct json_object *ids = json_get(json_get(img->config, "rootfs"), "diff_ids");
	if (!ids || !json_object_is_type(ids, json_type_array) ||
	    json_object_array_length(ids) != img->n_layers)
		return husk_fail(err, 0, "config: rootfs.diff_ids: must list one diff ID per "
				 "layer (%zu)", img->n_layers);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
		if (digest_parse(id, img->layers[i].diff_id) < 0)
			return husk_fail(err, 0, "config: rootfs.diff_ids[%zu]: \"%s\" is not a "
					 "sha256 digest", i, id ? id : "");
	}
	return 0;
}

static int image_open(const char *dir, const char *tag, struct oci_image *img, husk_error **err)
{
	struct json_object *marker, *index, *manifest;
	int r;

	img->layout_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->layout_fd < 0)
		return husk_fail(err, errno, "layout directory");
	if (!(marker = read_file_json(img->layout_fd, "oci-layout", err)))
		return husk_error_wrap(err, "not an OCI image layout");
	json_object_put(marker);
	if (!(index = read_file_json(img->layout_fd, "index.json", err)))
		return -1;
	manifest = load_manifest(img->layout_fd, index, tag, 0, err);
	r = manifest ? read_layers(manifest, img, err) : -1;
	if (r == 0)
		r = read_config(img->layout_fd, manifest, img, err);
	json_object_put(manifest);
	json_object_put(index);
	return r;
}

int oci_image_open(const char *dir, const char *tag, struct oci_image *img, husk_error **err)
{
	memset(img, 0, sizeof(*img));
	img->layout_fd = -1;
	if (image_open(dir, tag, img, err) == 0)
		return 0;
	oci_image_close(img);
	return husk_error_wrap(err, "image %s%s%s", dir, tag ? ":" : "", tag ? tag : "");
}

void oci_image_close(struct oci_image *img)
{
	if (img->layout_fd >= 0)
		close(img->layout_fd);
	json_object_put(img->config);
	free(img->layers);
	memset(img, 0, sizeof(*img));
	img->layout_fd = -1;
}
