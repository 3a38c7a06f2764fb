/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Making the rootfs "/": pivot_root, or MS_MOVE + chroot for --no-pivot. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "rootfs.h"

/*
 * pivot_root(".", ".") from inside the new root stacks the old root on the
 * same directory, so no put_old directory has to exist in the image; the
 * old root is then reached through an fd opened before, made rslave so
 * detaching it cannot propagate an unmount to the host, and detached.
 */
static int do_pivot(const char *rootfs, husk_error **err)
{
	_cleanup_close_ int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int new_root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (old_root < 0 || new_root < 0)
		return husk_fail(err, errno, "open %s", old_root < 0 ? "/" : rootfs);
	if (fchdir(new_root) < 0)
		return husk_fail(err, errno, "chdir `%s`", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return husk_fail(err, errno, "pivot_root `%s`", rootfs);
	if (fchdir(old_root) < 0)
		return husk_fail(err, errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return husk_fail(err, errno, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return husk_fail(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return husk_fail(err, errno, "chdir /");
	return 0;
}

struct kernfs_list {
	const char *rootfs;
	char *paths[64];
	size_t n;
};

static bool path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int collect_kernfs(const struct mountinfo_entry *e, void *userdata)
{
	struct kernfs_list *l = userdata;

	if (strcmp(e->root, "/") != 0 || path_below(e->mount_point, l->rootfs) ||
	    (strcmp(e->fstype, "proc") != 0 && strcmp(e->fstype, "sysfs") != 0))
		return 0;
	if (l->n >= ARRAY_SIZE(l->paths))
		return -E2BIG;
	if (!(l->paths[l->n] = strdup(e->mount_point)))
		return -ENOMEM;
	l->n++;
	return 0;
}

/* With chroot the host's mounts stay in the namespace, and the kernel lets
 * a new procfs or sysfs be mounted wherever a full one is visible: remove
 * them (or cover them when we may not), as runc. */
static int hide_host_kernfs(const char *rootfs, husk_error **err)
{
	struct kernfs_list l = { .rootfs = rootfs };
	int r = mountinfo_foreach(collect_kernfs, &l);

	if (r < 0)
		r = husk_fail(err, -r, "read /proc/self/mountinfo");
	for (size_t i = 0; r >= 0 && i < l.n; i++) {
		const char *p = l.paths[i];
		if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT || errno == EINVAL)
				continue; /* gone with a parent already detached */
			r = husk_fail(err, errno, "make `%s` rslave", p);
		} else if (umount2(p, MNT_DETACH) < 0) {
			if ((errno != EINVAL && errno != EPERM) ||
			    mount("tmpfs", p, "tmpfs", 0, NULL) < 0)
				r = husk_fail(err, errno, "hide host `%s`", p);
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	return r;
}

static int do_move_root(const char *rootfs, husk_error **err)
{
	if (hide_host_kernfs(rootfs, err) < 0)
		return -1;
	if (chdir(rootfs) < 0)
		return husk_fail(err, errno, "chdir `%s`", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return husk_fail(err, errno, "move `%s` onto /", rootfs);
	if (chroot(".") < 0)
		return husk_fail(err, errno, "chroot `%s`", rootfs);
	if (chdir("/") < 0)
		return husk_fail(err, errno, "chdir /");
	return 0;
}

/* The container's /dev/null, checked to be the null device: the image or a
 * hook may have put something else there (CVE-2025-31133). */
int open_dev_null(int root_fd, int oflags, husk_error **err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, "/dev/null", oflags | O_NOFOLLOW, 0);
	struct stat st;

	if (fd < 0)
		return husk_fail(err, -fd, "open /dev/null");
	if (fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return husk_fail(err, 0, "/dev/null in the container is not the null "
				 "device (1:3)");
	return TAKE_FD(fd);
}

/* stdio left on the host's /dev/null would keep a host path in
 * /proc/self/fd: point it at the container's. Best effort, as runc: with
 * no proper /dev/null there is nothing better to point at. */
static int reopen_stdio_null(husk_error **err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int check = -1, null_fd = -1;
	husk_error *skip = NULL;
	struct stat st, nst;

	if (root < 0)
		return husk_fail(err, errno, "open /");
	/* Check through O_PATH first so nothing unexpected gets opened. */
	if ((check = open_dev_null(root, O_PATH, &skip)) < 0 ||
	    (null_fd = open_dev_null(root, O_RDWR | O_NOCTTY, &skip)) < 0 ||
	    fstat(null_fd, &nst) < 0) {
		husk_error_free(&skip);
		return 0;
	}
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != nst.st_rdev)
			continue;
		if (dup3(null_fd, fd, 0) < 0)
			return husk_fail(err, errno, "reopen fd %d on /dev/null", fd);
	}
	return 0;
}

int rootfs_pivot(const struct rootfs_ctx *c, husk_error **err)
{
	int r = c->no_pivot ? do_move_root(c->rootfs, err) : do_pivot(c->rootfs, err);

	if (r < 0)
		return -1;
	if (rootfs_needs_dev_setup(c->spec))
		return reopen_stdio_null(err);
	return 0;
}
