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

int store_remove(int rootfd, const char *id, int dirfd, husk_error **err)
{
	_cleanup_close_ int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return husk_fail(err, errno, "remove state of %s", id);
	fd = -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "remove state directory of %s", id);
	return 0;
}
