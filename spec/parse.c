/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json: top-level fields, mounts, hooks and annotations; the process
 * and linux sections live in parse_process.c and parse_linux.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "parse_util.h"
#include "spec.h"

static const char *const hook_names[SPEC_HOOK__COUNT] = {
	[SPEC_HOOK_PRESTART] = "prestart",
	[SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
	[SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
	[SPEC_HOOK_START_CONTAINER] = "startContainer",
	[SPEC_HOOK_POSTSTART] = "poststart",
	[SPEC_HOOK_POSTSTOP] = "poststop",
};

static void spec_freep(struct spec **s)
{
	spec_free(*s);
}

static const char *skip_digits(const char *p)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	return p;
}

/* Semantic versioning, with the patch level optional as some early 1.0
 * configs wrote it; any 1.x is ours, as minor releases stay compatible. */
static int parse_version(struct sp_ctx *c, struct json_object *o,
			 struct spec *s)
{
	const char *v = NULL, *p, *major_end;

	if (sp_string(c, o, "ociVersion", SP_REQUIRED, &v) < 0)
		return -1;
	s->oci_version = v;
	p = major_end = skip_digits(v);
	if (p && *p == '.')
		p = skip_digits(p + 1);
	else
		p = NULL;
	if (p && *p == '.')
		p = skip_digits(p + 1);
	if (!p || (*p && *p != '-' && *p != '+'))
		return sp_fail_key(c, "ociVersion", "malformed version \"%s\"",
				   v);
	if (major_end - v != 1 || v[0] != '1')
		return sp_fail_key(c, "ociVersion",
				   "unsupported version \"%s\" (want 1.x)", v);
	return 0;
}

static int parse_root(struct sp_ctx *c, struct json_object *o, struct spec *s)
{
	struct json_object *root = NULL;
	size_t mark;
	int r;

	if (sp_object(c, o, "root", SP_REQUIRED, &root) < 0)
		return -1;
	mark = sp_push_key(c, "root");
	r = sp_string(c, root, "path", SP_NONEMPTY, &s->root_path);
	if (r >= 0)
		r = sp_bool(c, root, "readonly", &s->root_readonly);
	sp_pop(c, mark);
	return r;
}

static int parse_mount(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_mount *m = elem;

	/* Relative destinations are legal since 1.2; rootfs/ resolves them. */
	if (sp_string(c, v, "destination", SP_NONEMPTY, &m->destination) < 0 ||
	    sp_string(c, v, "type", 0, &m->type) < 0 ||
	    sp_string(c, v, "source", 0, &m->source) < 0 ||
	    sp_strv(c, v, "options", 0, &m->options, &m->n_options) < 0 ||
	    sp_id_mappings(c, v, "uidMappings", &m->uid_mappings,
			   &m->n_uid_mappings) < 0 ||
	    sp_id_mappings(c, v, "gidMappings", &m->gid_mappings,
			   &m->n_gid_mappings) < 0)
		return -1;
	/* "" is what a Go runtime would see for an absent field. */
	if (m->type && !*m->type)
		m->type = NULL;
	if (m->source && !*m->source)
		m->source = NULL;
	return 0;
}

static int parse_mounts(struct sp_ctx *c, struct json_object *o,
			struct spec *s)
{
	void *arr = NULL;
	int r = sp_struct_array(c, o, "mounts", sizeof(*s->mounts), parse_mount,
				&arr, &s->n_mounts);

	s->mounts = arr;
	return r;
}

static int parse_hook(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_hook *h = elem;
	int64_t timeout = 0;
	int r;

	if (sp_string(c, v, "path", SP_NONEMPTY | SP_ABSOLUTE, &h->path) < 0 ||
	    sp_strv(c, v, "args", 0, &h->args, &h->n_args) < 0 ||
	    sp_strv(c, v, "env", 0, &h->env, &h->n_env) < 0)
		return -1;
	r = sp_int(c, v, "timeout", 0, INT32_MIN, INT32_MAX, &timeout);
	if (r < 0)
		return -1;
	if (r > 0 && timeout <= 0)
		return sp_fail_key(c, "timeout", "must be greater than 0");
	h->timeout = (int)timeout;
	return 0;
}

static int parse_hooks(struct sp_ctx *c, struct json_object *o,
		       struct spec_hooks *hooks)
{
	struct json_object *h = NULL;
	size_t mark;
	int r = sp_object(c, o, "hooks", 0, &h);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "hooks");
	for (size_t k = 0; k < SPEC_HOOK__COUNT && r >= 0; k++) {
		void *arr = NULL;

		r = sp_struct_array(c, h, hook_names[k], sizeof(struct spec_hook),
				    parse_hook, &arr, &hooks->n[k]);
		hooks->hooks[k] = arr;
	}
	sp_pop(c, mark);
	return r;
}

static int parse_process_section(struct sp_ctx *c, struct json_object *o,
				 struct spec *s)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "process", 0, &v);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "process");
	r = sp_process(c, v, &s->process);
	sp_pop(c, mark);
	return r;
}

static int parse_linux_section(struct sp_ctx *c, struct json_object *o,
			       struct spec *s)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "linux", 0, &v);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "linux");
	r = sp_linux(c, v, &s->linux_);
	sp_pop(c, mark);
	return r;
}

static int parse_spec(struct sp_ctx *c, struct json_object *o, struct spec *s)
{
	if (parse_version(c, o, s) < 0 ||
	    parse_root(c, o, s) < 0 ||
	    sp_string(c, o, "hostname", 0, &s->hostname) < 0 ||
	    sp_string(c, o, "domainname", 0, &s->domainname) < 0 ||
	    parse_mounts(c, o, s) < 0 ||
	    parse_process_section(c, o, s) < 0 ||
	    parse_hooks(c, o, &s->hooks) < 0 ||
	    sp_string_map(c, o, "annotations", &s->annotations,
			  &s->n_annotations) < 0 ||
	    parse_linux_section(c, o, s) < 0)
		return -1;
	return 0;
}

struct spec *spec_parse(const char *text, size_t len, husk_error **err)
{
	struct sp_ctx c = { .err = err, .file = "config.json" };
	_cleanup_(spec_freep) struct spec *s = sp_calloc(&c, 1, sizeof(*s));

	if (!s)
		return NULL;
	s->json = sp_tokenize(&c, text, len);
	if (!s->json || parse_spec(&c, s->json, s) < 0)
		return NULL;
	return TAKE_PTR(s);
}

static int read_all(int fd, char **out, size_t *len, husk_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, used = 0;

	for (;;) {
		ssize_t n;

		if (used == size) {
			size_t grown = size ? size * 2 : 16384;
			char *p = realloc(buf, grown);

			if (!p)
				return husk_fail(err, ENOMEM, "config.json: read");
			buf = p;
			size = grown;
		}
		n = read(fd, buf + used, size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_fail(err, errno, "config.json: read");
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*out = TAKE_PTR(buf);
	*len = used;
	return 0;
}

struct spec *spec_load(const char *bundle_dir, husk_error **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (asprintf(&path, "%s/config.json", bundle_dir ? bundle_dir : ".") < 0) {
		path = NULL;
		husk_fail(err, ENOMEM, "config.json: open");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		husk_fail(err, errno, "config.json: open");
		return NULL;
	}
	if (read_all(fd, &text, &len, err) < 0)
		return NULL;
	return spec_parse(text, len, err);
}

static void free_mounts(struct spec_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].options);
		free(m[i].uid_mappings);
		free(m[i].gid_mappings);
	}
	free(m);
}

static void free_hooks(struct spec_hooks *hooks)
{
	for (size_t k = 0; k < SPEC_HOOK__COUNT; k++) {
		for (size_t i = 0; i < hooks->n[k]; i++) {
			free(hooks->hooks[k][i].args);
			free(hooks->hooks[k][i].env);
		}
		free(hooks->hooks[k]);
	}
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	free_mounts(s->mounts, s->n_mounts);
	spec_process_free(s->process);
	free_hooks(&s->hooks);
	free(s->annotations);
	sp_linux_free(s->linux_);
	json_object_put(s->json);
	free(s);
}

const char *spec_annotation(const struct spec *s, const char *key)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_annotations; i++)
		if (strcmp(s->annotations[i].key, key) == 0)
			return s->annotations[i].value;
	return NULL;
}
