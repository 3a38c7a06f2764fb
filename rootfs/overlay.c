/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The overlay root: planning its directories in husk, mounting it in the
 * container's init. See overlay.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"

/* fsconfig() takes string values shorter than this (kernel strndup_user). */
#define FSCONFIG_STR_MAX 256

bool overlay_requested(const struct spec *s, bool flag)
{
	return flag || spec_annotation(s, OVERLAY_ANN_LOWER) ||
	       spec_annotation(s, OVERLAY_ANN_UPPER);
}

char **overlay_split_lower(const char *value, size_t *n)
{
	size_t count = 1;

	for (const char *c = value; *c; c++)
		count += *c == ':';
	char **v = calloc(count + 1, sizeof(*v));
	if (!v)
		return NULL;
	const char *start = value;
	for (size_t i = 0; i < count; i++) {
		const char *end = strchrnul(start, ':');
		if (end == start || !(v[i] = strndup(start, (size_t)(end - start)))) {
			cleanup_strvp(&v);
			errno = end == start ? EINVAL : ENOMEM;
			return NULL;
		}
		start = end + 1;
	}
	*n = count;
	return v;
}

/* realpath() of each lower, which must be a directory. */
static int plan_lower(const char *value, bool from_annotation, struct rootfs_overlay *ov,
		      husk_error **err)
{
	const char *what = from_annotation ? "annotations." OVERLAY_ANN_LOWER : "root.path";
	struct stat st;

	/* root.path is one directory, whatever characters it holds. */
	if (from_annotation) {
		ov->lower = overlay_split_lower(value, &ov->n_lower);
	} else if ((ov->lower = calloc(2, sizeof(*ov->lower))) &&
		   !(ov->lower[0] = strdup(value))) {
		cleanup_strvp(&ov->lower);
		errno = ENOMEM;
	} else {
		ov->n_lower = 1;
	}
	if (!ov->lower)
		return husk_fail(err, errno == EINVAL ? 0 : errno,
				 "config.json: %s: empty directory in \"%s\"", what, value);
	for (size_t i = 0; i < ov->n_lower; i++) {
		char *abs = realpath(ov->lower[i], NULL);
		int e = !abs ? errno : stat(abs, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (e) {
			free(abs);
			return husk_fail(err, e, "config.json: %s: %s", what, ov->lower[i]);
		}
		free(ov->lower[i]);
		ov->lower[i] = abs;
	}
	return 0;
}

/* An io.husk.rootfs.upper of the bundle's: made now if missing (only the
 * last component), kept after delete; its work directory lies beside it,
 * since overlayfs wants both on one mount. */
static int plan_upper(const char *value, const char *id, struct rootfs_overlay *ov,
		      husk_error **err)
{
	static const char what[] = "config.json: annotations." OVERLAY_ANN_UPPER;

	if (!*value)
		return husk_fail(err, 0, "%s: must not be empty", what);
	if (mkdir(value, 0755) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "%s: create %s", what, value);
	ov->upper = realpath(value, NULL);
	if (!ov->upper)
		return husk_fail(err, errno, "%s: %s", what, value);
	_cleanup_free_ char *dir = strdup(ov->upper), *base = strdup(ov->upper);
	if (!dir || !base || asprintf(&ov->work, "%s/.%s.husk-work-%s", dirname(dir),
				      basename(base), id) < 0) {
		ov->work = NULL;
		return husk_fail(err, ENOMEM, "%s", what);
	}
	ov->external = true;
	return 0;
}

int overlay_plan(const struct spec *s, const char *rootfs, const char *state_dir,
		 const char *id, struct rootfs_overlay *ov, husk_error **err)
{
	const char *lower = spec_annotation(s, OVERLAY_ANN_LOWER);
	const char *upper = spec_annotation(s, OVERLAY_ANN_UPPER);
	const struct spec_namespace *mnt = spec_find_namespace(s, CLONE_NEWNS);

	memset(ov, 0, sizeof(*ov));
	/* The overlay is mounted only where the init makes its own mounts. */
	if (!mnt || mnt->path)
		return husk_fail(err, 0, "an overlay root filesystem needs a new mount namespace");
	/* There overlayfs ignores trusted.overlay.opaque: hidden files would
	 * show. Layers would need user.overlay.* xattrs and "userxattr". */
	if (spec_find_namespace(s, CLONE_NEWUSER))
		return husk_fail(err, 0, "an overlay root filesystem in a user namespace is "
				 "not supported");
	if (plan_lower(lower ? lower : rootfs, lower != NULL, ov, err) < 0)
		return -1;
	if (upper)
		return plan_upper(upper, id, ov, err);
	if (asprintf(&ov->upper, "%s/upper", state_dir) < 0) {
		ov->upper = NULL;
		return husk_fail(err, ENOMEM, "overlay upper");
	}
	if (asprintf(&ov->work, "%s/work", state_dir) < 0) {
		ov->work = NULL;
		return husk_fail(err, ENOMEM, "overlay work");
	}
	return 0;
}

int overlay_make_dirs(const struct rootfs_overlay *ov, husk_error **err)
{
	struct stat top;

	if (stat(ov->lower[0], &top) < 0)
		return husk_fail(err, errno, "overlay lower %s", ov->lower[0]);
	if (mkdir(ov->upper, 0755) == 0) {
		/* The upper's root is the container's "/" as it sees it. */
		if (chown(ov->upper, top.st_uid, top.st_gid) < 0 ||
		    chmod(ov->upper, top.st_mode & 07777) < 0)
			return husk_fail(err, errno, "overlay upper %s", ov->upper);
	} else if (errno != EEXIST) {
		return husk_fail(err, errno, "create overlay upper %s", ov->upper);
	}
	if (mkdir(ov->work, 0700) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "create overlay work directory %s", ov->work);
	return 0;
}

/* The reason overlayfs logged into the fs context, if any ("e overlay: ..."). */
static void fs_log(int fs, char *buf, size_t size)
{
	ssize_t n = read(fs, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

/* Overlay's option syntax: ':' separates lowers, ',' options, a backslash
 * escapes either.
 * Writes s escaped at out (room for 2 * strlen(s)), returns the end. */
static char *escape_to(char *out, const char *s)
{
	for (; *s; s++) {
		if (strchr(":,\\", *s))
			*out++ = '\\';
		*out++ = *s;
	}
	return out;
}

static char *escaped(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1);

	if (out)
		*escape_to(out, s) = '\0';
	return out;
}

/* -ENOSYS when mount(2) must do it: no new mount API, no "lowerdir+"
 * (Linux < 6.8), or a string too long for fsconfig(). */
static int mount_new_api(const struct rootfs_overlay *ov, const char *target,
			 char *log, size_t log_size)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	_cleanup_close_ int m = -1;
	/* overlayfs unescapes upperdir and workdir, but not "lowerdir+". */
	_cleanup_free_ char *upper = escaped(ov->upper), *work = escaped(ov->work);

	if (!upper || !work)
		return -ENOMEM;
	if (strlen(upper) >= FSCONFIG_STR_MAX || strlen(work) >= FSCONFIG_STR_MAX)
		return -ENOSYS;
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
		return -errno;
	for (size_t i = 0; i < ov->n_lower; i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", ov->lower[i], 0) < 0)
			return i == 0 ? -ENOSYS : -errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		fs_log(fs, log, log_size);
		return -e;
	}
	m = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (m < 0 || move_mount(m, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static char *legacy_data(const struct rootfs_overlay *ov)
{
	size_t room = sizeof("lowerdir=,upperdir=,workdir=") + 2 * (strlen(ov->upper) + strlen(ov->work));
	for (size_t i = 0; i < ov->n_lower; i++)
		room += 2 * strlen(ov->lower[i]) + 1;
	char *data = malloc(room), *p = data;

	if (!data)
		return NULL;
	p = stpcpy(p, "lowerdir=");
	for (size_t i = 0; i < ov->n_lower; i++) {
		if (i)
			*p++ = ':';
		p = escape_to(p, ov->lower[i]);
	}
	p = escape_to(stpcpy(p, ",upperdir="), ov->upper);
	p = escape_to(stpcpy(p, ",workdir="), ov->work);
	*p = '\0';
	return data;
}

int overlay_mount(const struct rootfs_overlay *ov, const char *target, husk_error **err)
{
	char log[512] = "";
	bool fits = true;

	for (size_t i = 0; fits && i < ov->n_lower; i++)
		fits = strlen(ov->lower[i]) < FSCONFIG_STR_MAX;
	int r = fits ? mount_new_api(ov, target, log, sizeof(log)) : -ENOSYS;
	/* Before Linux 6.5 overlayfs took its options as one string at
	 * create time, so an unknown "lowerdir+" only shows as EINVAL there;
	 * a real mistake fails again below. */
	if (r == -ENOSYS || r == -EINVAL) {
		_cleanup_free_ char *data = legacy_data(ov);
		if (!data)
			return husk_fail(err, ENOMEM, "overlay options");
		r = mount("overlay", target, "overlay", 0, data) < 0 ? -errno : 0;
	}
	if (r < 0 && log[0])
		return husk_fail(err, -r, "mount overlay on `%s` (%s)", target, log);
	if (r < 0)
		return husk_fail(err, -r, "mount overlay on `%s`", target);
	return 0;
}

void overlay_clear(struct rootfs_overlay *ov)
{
	cleanup_strvp(&ov->lower);
	free(ov->upper);
	free(ov->work);
	memset(ov, 0, sizeof(*ov));
}
