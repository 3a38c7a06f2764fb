/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The last touches, from inside the new root: read-only tmpfs and /dev,
 * root.readonly, linux.readonlyPaths and linux.maskedPaths, and the
 * rootfsPropagation pivot_root would not take.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "mount_options.h"
#include "rootfs.h"

/* rootfs_mount_all() left these writable so it could fill them. */
static int remount_ro_mounts(const struct spec *s, int root_fd, husk_error **err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		_cleanup_free_ char *dest = rootfs_path_clean(m->destination);
		struct mount_opts o;
		int r = mount_options_parse(m->options, m->n_options, &o, err);
		bool ro = o.flags & MS_RDONLY, bind = mount_opts_is_bind(m->type, &o);

		mount_opts_done(&o);
		if (r < 0)
			return husk_error_wrap(err, "mounts[%zu].options", i);
		if (!dest)
			return husk_fail(err, ENOMEM, "mounts[%zu]", i);
		if (!ro || bind || !((m->type && strcmp(m->type, "tmpfs") == 0) ||
				     strcmp(dest, "/dev") == 0))
			continue;
		r = mnt_set_readonly_at(root_fd, dest, false);
		if (r < 0)
			return husk_fail(err, -r, "mounts[%zu] (%s): make read-only", i, dest);
	}
	return 0;
}

/* Bound onto itself first so only that subtree turns read-only, then
 * MOUNT_ATTR_RDONLY, which leaves the (maybe locked) other flags alone. */
static int readonly_path(int root_fd, const char *path, husk_error **err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, 0);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return husk_fail(err, -fd, "open");
	int r = mnt_bind_fd_readonly(fd, fd);
	if (r != -ENOSYS)
		return r < 0 ? husk_fail(err, -r, "bind mount onto itself read-only") : 0;
	r = mnt_bind_fd(fd, fd, true);
	if (r < 0)
		return husk_fail(err, -r, "bind mount onto itself");
	r = mnt_set_readonly_at(root_fd, path, true);
	if (r < 0)
		return husk_fail(err, -r, "make read-only");
	return 0;
}

static int check_is_null(int root_fd, const char *path, husk_error **err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, 0);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_fail(err, fd < 0 ? -fd : errno, "reopen after masking");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return husk_fail(err, 0, "what got mounted is not the null device");
	return 0;
}

/* A directory gets an empty read-only tmpfs, anything else the checked
 * /dev/null, opened the first time a file needs it (*null_fd). */
static int mask_path(int root_fd, int *null_fd, const char *path, husk_error **err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, 0);
	struct stat st;
	int r;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_fail(err, fd < 0 ? -fd : errno, "open");
	if (S_ISDIR(st.st_mode)) {
		r = mnt_ro_tmpfs(fd);
		return r < 0 ? husk_fail(err, -r, "mount read-only tmpfs") : 0;
	}
	if (*null_fd < 0 && (*null_fd = open_dev_null(root_fd, O_PATH, err)) < 0)
		return -1;
	r = mnt_bind_fd(*null_fd, fd, false);
	if (r < 0)
		return husk_fail(err, -r, "bind mount /dev/null");
	return check_is_null(root_fd, path, err);
}

static int do_paths(const struct spec_linux *l, int root_fd, husk_error **err)
{
	_cleanup_close_ int null_fd = -1;

	for (size_t i = 0; i < l->n_readonly_paths; i++)
		if (readonly_path(root_fd, l->readonly_paths[i], err) < 0)
			return husk_error_wrap(err, "readonlyPaths[%zu] (%s)", i,
					       l->readonly_paths[i]);
	for (size_t i = 0; i < l->n_masked_paths; i++)
		if (mask_path(root_fd, &null_fd, l->masked_paths[i], err) < 0)
			return husk_error_wrap(err, "maskedPaths[%zu] (%s)", i,
					       l->masked_paths[i]);
	return 0;
}

int rootfs_finalize(const struct rootfs_ctx *c, husk_error **err)
{
	const struct spec_linux *l = c->spec->linux_;
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned long prop = 0;

	if (root_fd < 0)
		return husk_fail(err, errno, "open /");
	if (remount_ro_mounts(c->spec, root_fd, err) < 0)
		return -1;
	if (c->spec->root_readonly) {
		int r = mnt_set_readonly(root_fd, false);
		if (r < 0)
			return husk_fail(err, -r, "root.readonly: make / read-only");
	}
	if (l && do_paths(l, root_fd, err) < 0)
		return -1;
	if (l && mount_propagation_parse(l->rootfs_propagation, &prop) < 0)
		return husk_fail(err, 0, "linux.rootfsPropagation: unknown value");
	/* [r]private and [r]slave were set before the rootfs bind and carry
	 * over; shared and unbindable could not be, as pivot_root refuses a
	 * shared root and a bind an unbindable one. */
	if ((prop & (MS_SHARED | MS_UNBINDABLE)) && mount(NULL, "/", NULL, prop, NULL) < 0)
		return husk_fail(err, errno, "linux.rootfsPropagation: set on /");
	return 0;
}
