/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path resolution confined to the container root.
 *
 * The rootfs comes from an image nobody vetted: any component may be a
 * symlink to "/etc" or "../../..". Everything here resolves with
 * openat2(RESOLVE_IN_ROOT), which makes "/" and ".." stop at the root fd,
 * and creates what is missing with *at() calls relative to a directory fd
 * that was itself resolved that way -- never through a host path string.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"

/* RESOLVE_IN_ROOT returns EAGAIN when a rename raced with "..": retry. */
#define OPENAT2_RETRIES 32

const char *procfd_path(int fd, char buf[PROCFD_BUF])
{
	snprintf(buf, PROCFD_BUF, "/proc/self/fd/%d", fd);
	return buf;
}

char *rootfs_path_clean(const char *path)
{
	char *out = malloc(strlen(path) + 2);
	size_t o = 1;

	if (!out)
		return NULL;
	out[0] = '/';
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else if (!(n == 1 && p[0] == '.')) {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	out[o] = '\0';
	return out;
}

int open_in_root(int root_fd, const char *path, int oflags, uint64_t extra_resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(oflags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
	};

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	for (int i = 0; i < OPENAT2_RETRIES; i++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

/* Like the kernel's limit on symlinks in one lookup. */
#define MAX_SYMLINKS 40

/* Opens a child just created (or found) by name, refusing a symlink put
 * there meanwhile. */
static int open_child_dir(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static bool is_symlink(int dir_fd, const char *name)
{
	struct stat st;

	return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* Container path of fd, a directory below root_fd. */
static char *path_in_root(int root_fd, int fd)
{
	_cleanup_free_ char *root = fd_host_path(root_fd), *p = fd_host_path(fd);

	if (!root || !p)
		return NULL;
	size_t n = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(p, root, n) != 0 || (p[n] != '/' && p[n] != '\0'))
		return NULL;
	return strdup(p[n] ? p + n : "/");
}

/* The symlink `name` in dir_fd dangles (its target is missing): the path
 * to create instead is its target, taken inside root, then `rest`. This is
 * how a bind onto the dangling /etc/resolv.conf of an image lands on
 * /run/systemd/resolve/stub-resolv.conf, as with runc. */
static char *follow_dangling(int root_fd, int dir_fd, const char *name, const char *rest)
{
	char target[PATH_MAX], *joined = NULL;
	ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);

	if (n <= 0)
		return NULL;
	target[n] = '\0';
	_cleanup_free_ char *base = target[0] == '/' ? strdup("") : path_in_root(root_fd, dir_fd);
	if (!base || asprintf(&joined, "%s/%s/%s", base, target, rest) < 0)
		return NULL;
	char *clean = rootfs_path_clean(joined);
	free(joined);
	return clean;
}

/* Creates the missing component `name` in cur, or says where a dangling
 * symlink in its place leads (*retry). */
static int make_component(int root_fd, int cur, const char *name, const char *rest,
			  mode_t mode, char **retry)
{
	if (mkdirat(cur, name, mode) == 0)
		return open_child_dir(cur, name);
	if (errno != EEXIST)
		return -errno;
	if (!is_symlink(cur, name))
		return open_child_dir(cur, name); /* a racing creator */
	*retry = follow_dangling(root_fd, cur, name, rest);
	return *retry ? -EAGAIN : -ELOOP;
}

/* Most often only the last component is missing (a mount point): its
 * parent opened in root, or -1 to walk from the root. */
static int open_parent(int root_fd, char *clean, char **last)
{
	char *slash = strrchr(clean, '/');

	if (slash == clean || !slash[1])
		return -1;
	*slash = '\0';
	int fd = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY, 0);
	*slash = '/';
	*last = slash + 1;
	return fd;
}

/* Walks clean (an absolute, cleaned path) from the root, component by
 * component: existing prefixes are opened in root (so their symlinks are
 * followed inside it), missing ones are mkdirat()'d in the last directory
 * opened. The caller found clean itself missing. */
static int mkdir_walk(int root_fd, char *clean, mode_t mode, char **retry)
{
	char *p = clean + 1;
	_cleanup_close_ int cur = open_parent(root_fd, clean, &p);
	bool creating = cur >= 0;

	if (cur < 0) {
		p = clean + 1;
		cur = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
	}
	if (cur < 0)
		return cur;
	while (*p) {
		char *e = strchrnul(p, '/');
		const char *rest = *e ? e + 1 : "";
		char saved = *e;
		int next = -ENOENT;

		*e = '\0';
		if (!creating)
			next = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY, 0);
		if (next == -ENOENT) {
			creating = true;
			next = make_component(root_fd, cur, p, rest, mode, retry);
		}
		*e = saved;
		if (next < 0)
			return next;
		close(cur);
		cur = next;
		p = *e ? e + 1 : e;
	}
	return TAKE_FD(cur);
}

int mkdir_in_root(int root_fd, const char *path, mode_t mode)
{
	_cleanup_free_ char *clean = rootfs_path_clean(path);

	for (int i = 0; i <= MAX_SYMLINKS; i++) {
		char *retry = NULL;
		if (!clean)
			return -ENOMEM;
		int fd = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY, 0);
		if (fd != -ENOENT)
			return fd;
		fd = mkdir_walk(root_fd, clean, mode, &retry);
		if (!retry)
			return fd;
		free(clean);
		clean = retry;
	}
	return -ELOOP;
}

/* One attempt at the file: its fd, or -EAGAIN with *retry set when a
 * dangling symlink stands in its place. */
static int mkfile_once(int root_fd, char *clean, mode_t mode, char **retry)
{
	char *slash = strrchr(clean, '/');
	struct stat st;

	*slash = '\0';
	_cleanup_close_ int dir = mkdir_in_root(root_fd, clean[0] ? clean : "/", 0755);
	*slash = '/';
	if (dir < 0)
		return dir;
	const char *base = slash + 1;
	if (mknodat(dir, base, S_IFREG | mode, 0) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (is_symlink(dir, base)) {
			*retry = follow_dangling(root_fd, dir, base, "");
			return *retry ? -EAGAIN : -ELOOP;
		}
	}
	/* O_NOFOLLOW and S_ISLNK: a symlink raced in after mknodat. */
	_cleanup_close_ int f = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return -errno;
	if (fstat(f, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return TAKE_FD(f);
}

int mkfile_in_root(int root_fd, const char *path, mode_t mode)
{
	_cleanup_free_ char *clean = rootfs_path_clean(path);

	for (int i = 0; i <= MAX_SYMLINKS; i++) {
		char *retry = NULL;
		if (!clean)
			return -ENOMEM;
		int fd = open_in_root(root_fd, clean, O_PATH, 0);
		if (fd != -ENOENT)
			return fd;
		if (strcmp(clean, "/") == 0)
			return -EISDIR;
		fd = mkfile_once(root_fd, clean, mode, &retry);
		if (!retry)
			return fd;
		free(clean);
		clean = retry;
	}
	return -ELOOP;
}

int mkdir_child(int dir_fd, const char *name, mode_t mode)
{
	if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	return open_child_dir(dir_fd, name);
}

char *fd_host_path(int fd)
{
	char link[PROCFD_BUF], buf[PATH_MAX];
	ssize_t n = readlink(procfd_path(fd, link), buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}
