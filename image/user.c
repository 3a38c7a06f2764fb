/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image config's User ("uid", "uid:gid", "name", "name:group", ...) as
 * numeric ids, names looked up in /etc/passwd and /etc/group as the
 * container will see them: through the layers, top first, honouring
 * whiteouts and opaque directories. Symlinked /etc or files are not
 * followed (they could point anywhere on the host from here). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static bool dir_opaque(int fd)
{
	char v = 0;
	return fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

/* etc/<name> in one layer: an fd, 0 to look further down, -ENOENT when
 * this layer hides it, -ELOOP for a symlink. */
static int open_in_layer(const char *layer, const char *name)
{
	_cleanup_close_ int root = open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int etc = -1;
	struct stat st;

	if (root < 0)
		return -errno;
	if (fstatat(root, "etc", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISDIR(st.st_mode))
		return -ENOENT; /* a whiteout, or a file */
	etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etc < 0)
		return -errno;
	if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno != ENOENT ? -errno : dir_opaque(etc) ? -ENOENT : 0;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (is_whiteout(&st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	int fd = openat(etc, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static FILE *open_merged(char *const *lower, size_t n, const char *name, husk_error **err)
{
	int fd = 0;

	for (size_t i = 0; i < n && fd == 0; i++)
		fd = open_in_layer(lower[i], name);
	if (fd == -ELOOP)
		husk_fail(err, 0, "the image's /etc/%s is a symlink: use a numeric User", name);
	else if (fd <= 0)
		husk_fail(err, fd ? -fd : ENOENT, "the image's /etc/%s", name);
	FILE *f = fd > 0 ? fdopen(fd, "r") : NULL;
	if (fd > 0 && !f) {
		husk_fail(err, errno, "the image's /etc/%s", name);
		close(fd);
	}
	return f;
}

/* By name, or by uid when name is NULL. 0 found, -ENOENT not, -1 err. */
static int passwd_find(char *const *lower, size_t n, const char *name, uid_t uid,
		       uid_t *uid_out, gid_t *gid_out, husk_error **err)
{
	_cleanup_fclose_ FILE *f = open_merged(lower, n, "passwd", err);
	struct passwd pw, *res;
	char buf[4096];

	if (!f)
		return -1;
	while (fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0) {
		if (name ? strcmp(pw.pw_name, name) != 0 : pw.pw_uid != uid)
			continue;
		*uid_out = pw.pw_uid;
		*gid_out = pw.pw_gid;
		return 0;
	}
	return -ENOENT;
}

static int group_find(char *const *lower, size_t n, const char *name, gid_t *gid,
		      husk_error **err)
{
	_cleanup_fclose_ FILE *f = open_merged(lower, n, "group", err);
	struct group gr, *res;
	char buf[8192];

	if (!f)
		return -1;
	while (fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0)
		if (!strcmp(gr.gr_name, name)) {
			*gid = gr.gr_gid;
			return 0;
		}
	return husk_fail(err, 0, "group \"%s\" is not in the image's /etc/group", name);
}

static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v > 0xfffffffeUL)
		return false;
	*out = (unsigned)v;
	return true;
}

int image_user_resolve(const char *user, char *const *lower, size_t n, uid_t *uid,
		       gid_t *gid, husk_error **err)
{
	_cleanup_free_ char *copy = user ? strdup(user) : NULL;
	char *group = copy ? strchr(copy, ':') : NULL;
	unsigned id;

	*uid = 0;
	*gid = 0;
	if (!copy || !*copy)
		return 0;
	if (group)
		*group++ = '\0';
	if (parse_id(copy, &id)) {
		*uid = id;
		husk_error *ignored = NULL;
		/* Without a group, the user's own, when the image knows it. */
		if (!group && passwd_find(lower, n, NULL, id, uid, gid, &ignored) < 0)
			*gid = 0;
		husk_error_free(&ignored);
	} else {
		int r = passwd_find(lower, n, copy, 0, uid, gid, err);
		if (r == -ENOENT)
			return husk_fail(err, 0, "user \"%s\" is not in the image's /etc/passwd", copy);
		if (r < 0)
			return husk_error_wrap(err, "user \"%s\"", copy);
	}
	if (!group)
		return 0;
	if (parse_id(group, &id)) {
		*gid = id;
		return 0;
	}
	return group_find(lower, n, group, gid, err);
}
