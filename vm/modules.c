/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's kernel modules: the dependency closure from modules.dep,
 * whose lines read "kernel/a/b.ko.xz: kernel/c/d.ko kernel/e/f.ko" (paths
 * relative to the tree unless absolute). depmod lists a module's
 * dependencies so that the last is loaded first; the walk below follows
 * the same order, so it matches `modprobe --show-depends`.
 */
#include "boot_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

#define MAX_DEPTH 64

struct dep_entry {
	char *path;  /* as written in modules.dep */
	char *deps;  /* the rest of the line */
	char key[64]; /* normalized name */
	int state;   /* 0 new, 1 being walked, 2 emitted */
};

struct dep_table {
	struct dep_entry *v;
	size_t n;
	const char *dir;
	char *builtin; /* modules.builtin, or NULL */
};

/* "kernel/net/9p/9pnet-virtio.ko.xz" -> "9pnet_virtio" */
static void module_key(const char *path, size_t len, char *key, size_t size)
{
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	size_t n = (size_t)(path + len - base);
	const char *ko = NULL;
	for (size_t i = 0; i + 3 <= n; i++)
		if (!memcmp(base + i, ".ko", 3))
			ko = base + i;
	if (ko)
		n = (size_t)(ko - base);
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		key[i] = base[i] == '-' ? '_' : base[i];
	key[n] = '\0';
}

static int parse_dep(char *text, struct dep_table *t, const char *file, husk_error **err)
{
	size_t cap = 0, line_no = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line_no++;
		if (*l == '#' || *l == '\0')
			continue;
		char *colon = strchr(l, ':');
		if (!colon)
			return husk_fail(err, 0, "`%s` line %zu: no ':'", file, line_no);
		*colon = '\0';
		if (t->n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct dep_entry *v = realloc(t->v, cap * sizeof(*v));
			if (!v)
				abort();
			t->v = v;
		}
		struct dep_entry *e = &t->v[t->n++];
		*e = (struct dep_entry){ .path = l, .deps = colon + 1 };
		module_key(l, strlen(l), e->key, sizeof(e->key));
	}
	return 0;
}

static struct dep_entry *find_path(struct dep_table *t, const char *path, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->v[i].path) == len && !memcmp(t->v[i].path, path, len))
			return &t->v[i];
	return NULL;
}

static struct dep_entry *find_key(struct dep_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].key, key))
			return &t->v[i];
	return NULL;
}

static bool is_builtin(const struct dep_table *t, const char *key)
{
	if (!t->builtin)
		return false;
	for (const char *l = t->builtin; *l;) {
		const char *end = strchrnul(l, '\n');
		char k[64];
		module_key(l, (size_t)(end - l), k, sizeof(k));
		if (end > l && !strcmp(k, key))
			return true;
		l = *end ? end + 1 : end;
	}
	return false;
}

static int emit(struct dep_table *t, struct dep_entry *e, struct boot_modules *out)
{
	struct boot_module *v = realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v)
		abort();
	out->v = v;
	struct boot_module *m = &out->v[out->n++];
	const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
	m->name = strndup(base, strcspn(base, "."));
	if (e->path[0] == '/')
		m->path = strdup(e->path);
	else if (asprintf(&m->path, "%s/%s", t->dir, e->path) < 0)
		m->path = NULL;
	if (!m->name || !m->path)
		abort();
	return 0;
}

static int walk(struct dep_table *t, struct dep_entry *e, struct boot_modules *out, int depth,
		husk_error **err)
{
	if (e->state == 2)
		return 0;
	if (e->state == 1 || depth > MAX_DEPTH)
		return husk_fail(err, 0, "modules.dep: dependency cycle through `%s`", e->path);
	e->state = 1;
	/* Dependencies right to left: the last listed loads first. */
	const char *deps = e->deps, *p = deps + strlen(deps);
	while (p > deps) {
		while (p > deps && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		const char *end = p;
		while (p > deps && p[-1] != ' ' && p[-1] != '\t')
			p--;
		if (end == p)
			break;
		struct dep_entry *d = find_path(t, p, (size_t)(end - p));
		if (!d)
			return husk_fail(err, 0, "modules.dep: `%s` depends on `%.*s`, which has no line",
					 e->path, (int)(end - p), p);
		if (walk(t, d, out, depth + 1, err) < 0)
			return -1;
	}
	e->state = 2;
	return emit(t, e, out);
}

int modules_resolve(const char *dir, const char *const *want, size_t n_want,
		    struct boot_modules *out, husk_error **err)
{
	_cleanup_free_ char *dep_file = NULL, *builtin_file = NULL, *text = NULL, *builtin = NULL;
	size_t len;
	if (asprintf(&dep_file, "%s/modules.dep", dir) < 0 ||
	    asprintf(&builtin_file, "%s/modules.builtin", dir) < 0)
		abort();
	if (boot_read_file(dep_file, &text, &len, err) < 0)
		return -1;
	/* Without modules.builtin nothing is builtin: a missing module then
	 * fails, which is the safe side. */
	if (boot_read_file(builtin_file, &builtin, &len, NULL) < 0)
		builtin = NULL;

	struct dep_table t = { .dir = dir, .builtin = builtin };
	*out = (struct boot_modules){ 0 };
	int r = parse_dep(text, &t, dep_file, err);
	for (size_t i = 0; r == 0 && i < n_want; i++) {
		char key[64];
		module_key(want[i], strlen(want[i]), key, sizeof(key));
		struct dep_entry *e = find_key(&t, key);
		if (e)
			r = walk(&t, e, out, 0, err);
		else if (!is_builtin(&t, key))
			r = husk_fail(err, 0, "kernel module `%s` is neither in `%s` nor built in",
				      want[i], dep_file);
	}
	free(t.v);
	if (r < 0)
		boot_modules_clear(out);
	return r;
}

void boot_modules_clear(struct boot_modules *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].path);
	}
	free(m->v);
	*m = (struct boot_modules){ 0 };
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

int module_load_bytes(const char *path, char **data, size_t *len, husk_error **err)
{
	bool xz = ends_with(path, ".ko.xz");
	if (!xz && !ends_with(path, ".ko"))
		return husk_fail(err, 0, "kernel module `%s`: husk reads .ko and .ko.xz only", path);
	_cleanup_free_ char *raw = NULL;
	size_t raw_len;
	if (boot_read_file(path, &raw, &raw_len, err) < 0)
		return -1;
	if (!xz) {
		*data = TAKE_PTR(raw);
		*len = raw_len;
		return 0;
	}
	return boot_unxz(path, raw, raw_len, 0, data, len, err);
}
