/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A layer tar entry's path, checked by husk itself on top of libarchive's
 * ARCHIVE_EXTRACT_SECURE_* flags, and the whiteouts of layer.md turned
 * into overlayfs' form. Every step below the layer's root goes through
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), one
 * component at a time, so no symlink an earlier entry made can redirect
 * a later one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVL_OPAQUE_XATTR "trusted.overlay.opaque"

int layer_path_clean(const char *in, char **out)
{
	size_t len = strlen(in);
	char *o = malloc(len + 1), *p = o;

	if (!o)
		return -ENOMEM;
	/* A leading "./" is how tar names everything; a leading "/" is not. */
	if (in[0] == '/') {
		free(o);
		return -EINVAL;
	}
	for (const char *c = in; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			free(o);
			return -EINVAL;
		}
		if (n && !(n == 1 && c[0] == '.')) {
			if (p != o)
				*p++ = '/';
			memcpy(p, c, n);
			p += n;
		}
		c += n + (c[n] == '/');
	}
	*p = '\0';
	*out = o;
	return 0;
}

int layer_entry_kind(const char *path, enum entry_kind *kind, char **target)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int plen = slash ? (int)(slash - path) : 0;
	int r;

	*target = NULL;
	*kind = ENTRY_PLAIN;
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return 0;
	if (strcmp(base, WH_OPAQUE) == 0) {
		*kind = ENTRY_OPAQUE;
		*target = strndup(path, (size_t)plen);
		return *target ? 0 : -ENOMEM;
	}
	if (strncmp(base, WH_META, strlen(WH_META)) == 0) {
		*kind = ENTRY_SKIP;
		return 0;
	}
	const char *name = base + strlen(WH_PREFIX);
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	*kind = ENTRY_WHITEOUT;
	r = slash ? asprintf(target, "%.*s/%s", plen, path, name) : asprintf(target, "%s", name);
	if (r < 0) {
		*target = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* One component below dirfd: never a symlink, never another mount. */
static int open_step(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int layer_open_parent(int root_fd, const char *path, bool create)
{
	_cleanup_free_ char *copy = strdup(path);
	char *save = NULL, *next;
	int fd = open_step(root_fd, ".", O_PATH | O_DIRECTORY);

	if (!copy) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	char *c = strtok_r(copy, "/", &save);
	for (; fd >= 0 && c && (next = strtok_r(NULL, "/", &save)); c = next) {
		int sub = open_step(fd, c, O_PATH | O_DIRECTORY);
		if (sub == -ENOENT && create) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
				sub = -errno;
			else
				sub = open_step(fd, c, O_PATH | O_DIRECTORY);
		}
		close(fd);
		fd = sub;
	}
	return fd;
}

int whiteouts_add(struct whiteouts *w, char *path, bool opaque)
{
	char **p = realloc(w->path, (w->n + 1) * sizeof(*p));
	if (p)
		w->path = p;
	bool *o = p ? realloc(w->opaque, (w->n + 1) * sizeof(*o)) : NULL;
	if (!o) {
		free(path);
		return -ENOMEM;
	}
	w->opaque = o;
	w->path[w->n] = path;
	w->opaque[w->n++] = opaque;
	return 0;
}

void whiteouts_clear(struct whiteouts *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->path[i]);
	free(w->path);
	free(w->opaque);
	memset(w, 0, sizeof(*w));
}

/* trusted.overlay.opaque=y on directory path ("" = the layer's root). */
static int mark_opaque(int root_fd, const char *path)
{
	_cleanup_close_ int parent = -1, dir = -1;
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;

	if (!*path) {
		dir = open_step(root_fd, ".", O_RDONLY | O_DIRECTORY);
	} else {
		parent = layer_open_parent(root_fd, path, true);
		if (parent < 0)
			return parent;
		dir = open_step(parent, name, O_RDONLY | O_DIRECTORY);
		if (dir == -ENOENT && mkdirat(parent, name, 0755) == 0)
			dir = open_step(parent, name, O_RDONLY | O_DIRECTORY);
	}
	if (dir < 0)
		return dir;
	return fsetxattr(dir, OVL_OPAQUE_XATTR, "y", 1, 0) < 0 ? -errno : 0;
}

/* A 0:0 character device: overlayfs' whiteout. */
static int make_whiteout(int root_fd, const char *path)
{
	_cleanup_close_ int parent = layer_open_parent(root_fd, path, true);
	const char *slash = strrchr(path, '/');

	if (parent < 0)
		return parent;
	if (mknodat(parent, slash ? slash + 1 : path, S_IFCHR, makedev(0, 0)) < 0)
		return errno == EEXIST ? 0 : -errno; /* the layer ships it too */
	return 0;
}

int whiteouts_apply(const struct whiteouts *w, int root_fd, husk_error **err)
{
	for (size_t i = 0; i < w->n; i++) {
		int r = w->opaque[i] ? mark_opaque(root_fd, w->path[i])
				     : make_whiteout(root_fd, w->path[i]);
		if (r == -ELOOP || r == -EXDEV || r == -ENOTDIR)
			return husk_fail(err, 0, "%s `%s` lies through a symlink or a non-directory",
					 w->opaque[i] ? "opaque directory" : "whiteout", w->path[i]);
		if (r < 0)
			return husk_fail(err, -r, "%s `%s`",
					 w->opaque[i] ? "mark opaque directory" : "whiteout", w->path[i]);
	}
	return 0;
}
