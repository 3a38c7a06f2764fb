/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy behind the "tmpcopyup" mount option: what the image has at the
 * mount point is copied into the fresh tmpfs before it goes on top.
 *
 * Everything is fd-relative and nothing is followed: a symlink in the
 * image is copied as a symlink, never read through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	_cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;

	if (in < 0)
		return -errno;
	out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     st->st_mode & 07777);
	if (out < 0)
		return -errno;
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank meanwhile */
		left -= n;
	}
	return 0;
}

static int copy_symlink(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	_cleanup_free_ char *target = malloc((size_t)st->st_size + 1);

	if (!target)
		return -ENOMEM;
	ssize_t n = readlinkat(src_dir, name, target, (size_t)st->st_size + 1);
	if (n < 0)
		return -errno;
	if (n > st->st_size)
		return -EAGAIN; /* it grew between stat and readlink */
	target[n] = '\0';
	return symlinkat(target, dst_dir, name) < 0 ? -errno : 0;
}

/* Owner, then mode (chown clears setuid bits), then times. */
static int copy_attrs(int dst_dir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	if (utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int copy_dir(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	if (mkdirat(dst_dir, name, st->st_mode & 07777) < 0)
		return -errno;
	_cleanup_close_ int from = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int to = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0 || to < 0)
		return -errno;
	return copy_tree(from, to);
}

static int copy_entry(int src_dir, int dst_dir, const char *name)
{
	struct stat st;
	int r;

	if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		r = copy_dir(src_dir, dst_dir, name, &st);
		break;
	case S_IFREG:
		r = copy_file(src_dir, dst_dir, name, &st);
		break;
	case S_IFLNK:
		r = copy_symlink(src_dir, dst_dir, name, &st);
		break;
	case S_IFSOCK:
		return 0; /* a socket is nothing without its listener */
	default:
		r = mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0 ? -errno : 0;
		break;
	}
	return r < 0 ? r : copy_attrs(dst_dir, name, &st);
}

int copy_tree(int src_dir, int dst_dir)
{
	int dfd = fcntl(src_dir, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = copy_entry(src_dir, dst_dir, de->d_name);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}
