/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fault.h"

int store_validate_id(const char *id, husk_error **err)
{
	if (!id || !*id || !strcmp(id, ".") || !strcmp(id, ".."))
		return husk_fail(err, 0, "invalid container id \"%s\"", id ? id : "");
	for (const char *c = id; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || strchr("_+-.", *c);
		if (!ok)
			return husk_fail(err, 0, "invalid container id \"%s\": only [A-Za-z0-9_+.-] allowed", id);
	}
	if (strlen(id) > 1024)
		return husk_fail(err, 0, "invalid container id: longer than 1024 characters");
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
}

int store_open_root(const char *root, husk_error **err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : husk_fail(err, errno, "open state root %s", root);
	if (mkdir_p(root, 0700) < 0)
		return husk_fail(err, errno, "create state root %s", root);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : husk_fail(err, errno, "open state root %s", root);
}

static int lock_dir(int rootfd, const char *id, husk_error **err)
{
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? husk_fail(err, 0, "container does not exist")
				       : husk_fail(err, errno, "open state of %s", id);
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return husk_fail(err, errno, "lock state of %s", id);
	}
	/* A concurrent delete may have removed it while we waited. */
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd);
		return husk_fail(err, 0, "container does not exist");
	}
	return fd;
}

int store_create(int rootfd, const char *id, husk_error **err)
{
	if (mkdirat(rootfd, id, 0711) < 0)
		return errno == EEXIST
			       ? husk_fail(err, 0, "container with id \"%s\" already exists", id)
			       : husk_fail(err, errno, "create state directory for %s", id);
	int fd = lock_dir(rootfd, id, err);
	if (fd < 0)
		unlinkat(rootfd, id, AT_REMOVEDIR);
	return fd;
}

int store_open(int rootfd, const char *id, husk_error **err)
{
	return lock_dir(rootfd, id, err);
}

int store_write(int dirfd, const char *name, const char *data, size_t len, husk_error **err)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "write %s", name);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			unlinkat(dirfd, tmp, 0);
			return husk_fail(err, errno, "write %s", name);
		}
		off += (size_t)n;
	}
	/* Swap, then drop the old copy, rather than rename over it: ext4
	 * (auto_da_alloc) starts writeback of a file renamed over another,
	 * and a delete soon after (a short `run`) then waits for that I/O.
	 * State does not outlive a reboot and needs no such flush. The first
	 * write has nothing to swap with (ENOENT); some file systems cannot
	 * swap at all (EINVAL). */
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
		unlinkat(dirfd, tmp, 0);
		return 0;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		unlinkat(dirfd, tmp, 0);
		return husk_fail(err, errno, "rename %s", name);
	}
	return 0;
}

char *store_read(int dirfd, const char *name, size_t *len, husk_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		husk_fail(err, errno, "read %s", name);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t off = 0;
	while (buf && off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (!buf) {
		husk_fail(err, ENOMEM, "read %s", name);
		return NULL;
	}
	buf[off] = '\0';
	if (len)
		*len = off;
	return buf;
}

/*
 * Tree removal for what a container leaves in and beside its state (an
 * overlay's upper and work directories): it wrote them itself, so every
 * step is relative to an fd, never follows a symlink and never enters
 * another mount. Iterative, with one directory fd open at a time, so that
 * no depth of nesting exhausts fds or stack; climbing back through ".." is
 * checked against the parent's identity recorded on the way down.
 */
struct rm_level {
	char *name; /* of the directory we went into */
	dev_t parent_dev;
	ino_t parent_ino;
};

/* Removes everything in fd but non-empty subdirectories; *sub gets the
 * first of those (heap), or stays NULL when fd is now empty. */
static int rm_scan(int fd, dev_t dev, char **sub)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	int r = 0;

	if (!d) {
		r = -errno;
		if (dfd >= 0)
			close(dfd);
		return r;
	}
	for (struct dirent *e; r == 0 && !*sub && (e = readdir(d));) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = errno == ENOENT ? 0 : -errno;
		else if (!S_ISDIR(st.st_mode))
			r = unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT ? -errno : 0;
		else if (st.st_dev != dev)
			r = -EXDEV; /* something is mounted there */
		else if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			continue;
		else if (errno == ENOTEMPTY || errno == EEXIST)
			r = (*sub = strdup(e->d_name)) ? 0 : -ENOMEM;
		else
			r = -errno;
	}
	closedir(d);
	return r;
}

static int rm_down(int *fd, char *sub, dev_t dev, struct rm_level **stack, size_t *depth)
{
	struct rm_level *grown = realloc(*stack, (*depth + 1) * sizeof(**stack));
	struct stat here, st;
	int child = -1, r = 0;

	if (!grown)
		r = -ENOMEM;
	else if (fstat(*fd, &here) < 0)
		r = -errno;
	else if ((child = openat(*fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		 fstat(child, &st) < 0)
		r = -errno;
	else if (st.st_dev != dev)
		r = -EXDEV;
	if (grown)
		*stack = grown;
	if (r < 0) {
		if (child >= 0)
			close(child);
		free(sub);
		return r;
	}
	grown[(*depth)++] = (struct rm_level){ sub, here.st_dev, here.st_ino };
	close(*fd);
	*fd = child;
	return 0;
}

static int rm_up(int *fd, struct rm_level *stack, size_t *depth)
{
	struct rm_level *l = &stack[*depth - 1];
	int parent = openat(*fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (parent < 0)
		return -errno;
	if (fstat(parent, &st) < 0 || st.st_dev != l->parent_dev || st.st_ino != l->parent_ino) {
		close(parent);
		return -ESTALE; /* moved while we were inside it */
	}
	close(*fd);
	*fd = parent;
	int r = unlinkat(parent, l->name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
	free(l->name);
	(*depth)--;
	return r;
}

int store_remove_tree(int dirfd, const char *name, husk_error **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct rm_level *stack = NULL;
	size_t depth = 0;
	struct stat top;
	int r = 0;

	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) /* not a directory */
		r = unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	else if (fd < 0)
		r = errno == ENOENT ? 0 : -errno;
	else if (fstat(fd, &top) < 0)
		r = -errno;
	while (fd >= 0 && r == 0) {
		char *sub = NULL;
		r = rm_scan(fd, top.st_dev, &sub);
		if (r == 0 && sub)
			r = rm_down(&fd, sub, top.st_dev, &stack, &depth);
		else if (r == 0 && depth)
			r = rm_up(&fd, stack, &depth);
		else if (r == 0)
			break;
	}
	if (fd >= 0) {
		close(fd);
		if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = -errno;
	}
	while (depth)
		free(stack[--depth].name);
	free(stack);
	return r < 0 ? husk_fail(err, -r, "remove %s", name) : 0;
}

int store_own_dir(int dirfd, const char *path, husk_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, STORE_OWNED_DIRS,
					O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	size_t len = strlen(path);

	if (path[0] != '/' || strchr(path, '\n'))
		return husk_fail(err, EINVAL, "record %s", path);
	if (fd < 0 || write(fd, path, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		return husk_fail(err, errno, "record %s", path);
	return 0;
}

/* The directories store_own_dir() recorded, removed before the state that
 * names them, so that a failure leaves a state delete can retry. */
static int remove_owned(int dirfd, husk_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, STORE_OWNED_DIRS, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "read %s", STORE_OWNED_DIRS);
	_cleanup_free_ char *text = store_read(dirfd, STORE_OWNED_DIRS, NULL, err);
	char *save = NULL;

	if (!text)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *slash = strrchr(line, '/');
		if (!slash || slash == line || !slash[1])
			continue;
		*slash = '\0';
		_cleanup_close_ int parent = open(line, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 && errno != ENOENT)
			return husk_fail(err, errno, "open %s", line);
		if (parent >= 0 && store_remove_tree(parent, slash + 1, err) < 0)
			return husk_error_wrap(err, "%s", line);
	}
	return 0;
}

int store_remove(int rootfd, const char *id, int dirfd, husk_error **err)
{
	if (remove_owned(dirfd, err) < 0)
		return -1;
	_cleanup_close_ int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return husk_fail(err, errno, "remove state of %s", id);
	fd = -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* Directories are an overlay root's upper and work. */
		if (unlinkat(dirfd, e->d_name, 0) < 0 && errno == EISDIR)
			store_remove_tree(dirfd, e->d_name, err);
		FAULT_POINT("delete-mid-remove");
	}
	closedir(d);
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "remove state directory of %s", id);
	return 0;
}
