/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mount operations on file descriptors.
 *
 * Targets are fds resolved inside the rootfs (resolve.c); the string a
 * mount call sees is their procfd, or nothing at all with the new mount
 * API, so no host path lookup can be redirected by the image. The new API
 * is used where it also spares a dependency on /proc (after pivot_root the
 * container may not have one); each use falls back to mount(2) on ENOSYS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "mount_options.h"

int mount_on_fd(const char *src, int target_fd, const char *type,
		unsigned long flags, const char *data)
{
	char buf[PROCFD_BUF];

	if (mount(src, procfd_path(target_fd, buf), type, flags, data) < 0)
		return -errno;
	return 0;
}

int mnt_set_readonly(int fd, bool recursive)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	unsigned int at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	struct statvfs sv;

	if (mount_setattr(fd, "", at, &a, sizeof(a)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Old kernel: a bind remount replaces all per-mount flags, and a user
	 * namespace refuses to drop locked ones, so carry them over. */
	if (fstatvfs(fd, &sv) < 0)
		return -errno;
	unsigned long keep = mount_flags_from_statvfs(sv.f_flag) & MOUNT_LOCKED_FLAGS;
	return mount_on_fd(NULL, fd, NULL, keep | MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

int mnt_set_readonly_at(int root_fd, const char *path, bool recursive)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, 0);

	return fd < 0 ? fd : mnt_set_readonly(fd, recursive);
}

int mnt_bind_fd(int src_fd, int target_fd, bool recursive)
{
	unsigned int ot = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
			  (recursive ? AT_RECURSIVE : 0);
	_cleanup_close_ int tree = open_tree(src_fd, "", ot);

	if (tree < 0) {
		if (errno != ENOSYS)
			return -errno;
		char src[PROCFD_BUF];
		return mount_on_fd(procfd_path(src_fd, src), target_fd, NULL,
				   MS_BIND | (recursive ? MS_REC : 0), NULL);
	}
	if (move_mount(tree, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int mnt_bind_fd_readonly(int src_fd, int target_fd)
{
	unsigned int ot = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE;
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	_cleanup_close_ int tree = open_tree(src_fd, "", ot);

	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return -errno;
	return mnt_attach(tree, target_fd);
}

int mnt_attach(int mnt_fd, int target_fd)
{
	if (move_mount(mnt_fd, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* Superblock flags that fsconfig() takes by name. */
static int config_sb_flags(int fs, unsigned long ms)
{
	static const struct {
		unsigned long ms;
		const char *key;
	} sb[] = {
		{ MS_SYNCHRONOUS, "sync" },
		{ MS_DIRSYNC, "dirsync" },
		{ MS_LAZYTIME, "lazytime" },
		{ MS_MANDLOCK, "mand" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sb); i++)
		if ((ms & sb[i].ms) &&
		    fsconfig(fs, FSCONFIG_SET_FLAG, sb[i].key, NULL, 0) < 0)
			return -errno;
	return 0;
}

/* "a=b,c" -> fsconfig string/flag parameters, one per option. */
static int config_data(int fs, const char *data)
{
	_cleanup_free_ char *copy = data ? strdup(data) : NULL;
	char *save = NULL;

	if (data && !copy)
		return -ENOMEM;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		int r;
		if (eq) {
			*eq = '\0';
			r = fsconfig(fs, FSCONFIG_SET_STRING, t, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, t, NULL, 0);
		}
		if (r < 0)
			return -errno;
	}
	return 0;
}

int mnt_new_detached(const char *fstype, const char *source, const char *data,
		     unsigned long ms_flags)
{
	_cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	int r;

	if (fs < 0)
		return -errno;
	if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return -errno;
	r = config_sb_flags(fs, ms_flags);
	if (r >= 0)
		r = config_data(fs, data);
	if (r < 0)
		return r;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	int m = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)mount_attr_from_flags(ms_flags));
	return m < 0 ? -errno : m;
}

int mnt_ro_tmpfs(int target_fd)
{
	_cleanup_close_ int m = mnt_new_detached("tmpfs", "tmpfs", NULL, MS_RDONLY);

	if (m == -ENOSYS)
		return mount_on_fd("tmpfs", target_fd, "tmpfs", MS_RDONLY, NULL);
	if (m < 0)
		return m;
	return mnt_attach(m, target_fd);
}
