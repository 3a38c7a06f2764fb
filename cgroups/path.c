/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String logic of cgroup placement: no I/O, so unit tests feed it text. */
#include "cgroup_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

/* v1 controllers the kernel may list in a cgroup mount's super options;
 * every other option there (rw, xattr, release_agent=...) is not one. */
static const char *const v1_controller_names[] = {
	"cpuset",  "cpu",   "cpuacct", "io",      "memory",
	"devices", "freezer", "net_cls", "blkio", "perf_event",
	"net_prio", "hugetlb", "pids",  "rdma",    "misc",
	"debug",
};

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		abort();
	return p;
}

int cg_path_clean(const char *in, const char *what, char **out,
		  husk_error **err)
{
	bool abs = in[0] == '/';
	_cleanup_free_ char *res = malloc(strlen(in) + 2);
	size_t o = 0;

	if (!res)
		abort();
	for (const char *p = in; *p;) {
		const char *end;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return husk_fail(err, 0, "%s: must not contain \"..\"",
					 what);
		if (!(n == 1 && p[0] == '.')) {
			if (o > 0 || abs)
				res[o++] = '/';
			memcpy(res + o, p, n);
			o += n;
		}
		p = end;
	}
	res[o] = '\0';
	/* The root would make destroy try to remove the hierarchy itself,
	 * or the caller's own cgroup. */
	if (o == 0)
		return husk_fail(err, 0, "%s: must name a cgroup below the root",
				 what);
	*out = TAKE_PTR(res);
	return 0;
}

char *cg_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *s = NULL;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (!*b)
		return la ? xstrndup(a, la) : xstrndup("/", 1);
	if (asprintf(&s, "%.*s/%s", (int)la, a, b) < 0)
		abort();
	return s;
}

char *cg_path_parent(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	while (n > 0 && p[n - 1] != '/')
		n--;
	while (n > 1 && p[n - 1] == '/')
		n--;
	return n ? xstrndup(p, n) : xstrndup("/", 1);
}

unsigned cg_path_depth(const char *p)
{
	unsigned d = 0;

	for (; *p; p++)
		if (*p != '/' && (p[1] == '/' || p[1] == '\0'))
			d++;
	return d;
}

/* Lists come comma-separated (mount options, /proc/self/cgroup) or
 * space-separated (cgroup.controllers); accept both. */
bool cg_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	if (n == 0)
		return false;
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, ", \n");

		if (w == n && strncmp(p, item, n) == 0)
			return true;
		p += w;
		p += strspn(p, ", \n");
	}
	return false;
}

int cg_parse_proc_cgroup_line(char *line, struct cg_proc_line *out)
{
	char *c1, *c2, *end;

	line[strcspn(line, "\n")] = '\0';
	c1 = strchr(line, ':');
	if (!c1 || c1 == line)
		return -1;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || c2[1] != '/')
		return -1;
	*c1 = *c2 = '\0';
	out->id = (unsigned)strtoul(line, &end, 10);
	if (*end)
		return -1;
	out->controllers = c1 + 1;
	out->path = c2 + 1; /* the rest: a cgroup name may hold ':' */
	return 0;
}

/* Whether a /proc/self/cgroup entry is the hierarchy of controllers. Each
 * controller lives in exactly one hierarchy, so the first one decides. */
static bool proc_line_matches(const struct cg_proc_line *l,
			      const char *controllers)
{
	size_t n = strcspn(controllers, ",");
	_cleanup_free_ char *first = NULL;

	if (!*controllers)
		return l->id == 0 && !*l->controllers;
	first = xstrndup(controllers, n);
	return cg_list_has(l->controllers, first);
}

char *cg_proc_cgroup_lookup(const char *text, const char *controllers)
{
	_cleanup_free_ char *copy = xstrndup(text, strlen(text));
	char *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct cg_proc_line l;

		if (cg_parse_proc_cgroup_line(line, &l) < 0)
			continue;
		if (proc_line_matches(&l, controllers))
			return xstrndup(l.path, strlen(l.path));
	}
	return NULL;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 |
				      (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:7 - cgroup
 * cgroup rw,memory": six fixed fields, optional ones up to "-", then
 * fstype, source and super options. */
int cg_parse_mountinfo_line(char *line, struct cg_mountinfo *out)
{
	char *f[6], *s = line, *tok, *fstype, *src, *super;

	line[strcspn(line, "\n")] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		f[i] = strsep(&s, " ");
		if (!s)
			return -1;
	}
	do {
		tok = strsep(&s, " ");
		if (!tok || !s)
			return -1;
	} while (strcmp(tok, "-") != 0);
	fstype = strsep(&s, " ");
	src = s ? strsep(&s, " ") : NULL;
	super = s ? strsep(&s, " ") : NULL;
	if (!fstype || !src || !super || !strchr(f[2], ':'))
		return -1;
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	out->dev = f[2];
	out->root = f[3];
	out->mountpoint = f[4];
	out->fstype = fstype;
	out->super_opts = super;
	return 0;
}

static bool is_v1_controller(const char *opt, size_t n)
{
	if (n > 5 && strncmp(opt, "name=", 5) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(v1_controller_names); i++)
		if (strlen(v1_controller_names[i]) == n &&
		    strncmp(opt, v1_controller_names[i], n) == 0)
			return true;
	return false;
}

char *cg_v1_controllers(const char *super_opts)
{
	size_t len = strlen(super_opts), o = 0;
	char *res = malloc(len + 1);

	if (!res)
		abort();
	for (const char *p = super_opts; *p;) {
		size_t w = strcspn(p, ",");

		if (is_v1_controller(p, w)) {
			if (o)
				res[o++] = ',';
			memcpy(res + o, p, w);
			o += w;
		}
		p += w;
		p += strspn(p, ",");
	}
	res[o] = '\0';
	return res;
}

/* own relative to the mount's root: with a cgroup namespace or a bind
 * mount of a subtree, /proc/self/cgroup and the mount disagree on "/". */
static const char *own_below_root(const char *own, const char *mnt_root)
{
	size_t n = strlen(mnt_root);

	while (n > 0 && mnt_root[n - 1] == '/')
		n--;
	if (strncmp(own, mnt_root, n) != 0 || (own[n] && own[n] != '/'))
		return NULL;
	return own + n;
}

int cg_resolve_dir(const char *mount, const char *mnt_root, const char *own,
		   const char *inner, char **out, size_t *base_len,
		   husk_error **err)
{
	_cleanup_free_ char *base = NULL;

	if (inner[0] == '/') {
		base = cg_path_join(mount, "");
	} else {
		const char *rel = own ? own_below_root(own, mnt_root) : NULL;
		if (!rel)
			return husk_fail(err, 0,
					 "cgroup: own cgroup %s is not inside "
					 "%s (mounted from %s)",
					 own ? own : "(unknown)", mount,
					 mnt_root);
		base = cg_path_join(mount, rel);
	}
	*base_len = strlen(base);
	*out = cg_path_join(base, inner);
	return 0;
}

bool cg_keyed_value(const char *text, const char *key, char *val, size_t len)
{
	size_t n = strlen(key);

	for (const char *p = text; *p;) {
		size_t w = strcspn(p, "\n");

		if (w > n && strncmp(p, key, n) == 0 && p[n] == ' ') {
			if (w - n - 1 >= len)
				return false;
			memcpy(val, p + n + 1, w - n - 1);
			val[w - n - 1] = '\0';
			return true;
		}
		p += w;
		if (*p)
			p++;
	}
	return false;
}
