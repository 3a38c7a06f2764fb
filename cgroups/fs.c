/* SPDX-License-Identifier: GPL-2.0-or-later */
/* File operations on cgroupfs shared by the v1 and v2 drivers. */
#include "cgroup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"

/* Sub-cgroups a container may nest inside its own; deeper is refused. */
#define CG_MAX_NESTING 32

static int file_path(char *buf, size_t size, const char *dir,
		     const char *file)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, file) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

char *cg_read_text(const char *path, husk_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 4096;

	if (fd < 0)
		return husk_fail(err, errno, "cgroup: open %s", path), NULL;
	for (;;) {
		ssize_t r;

		if (!buf || cap - len < 2) {
			char *nb = realloc(buf, buf ? (cap *= 2) : cap);
			if (!nb)
				abort();
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return husk_fail(err, errno, "cgroup: read %s", path),
			       NULL;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return TAKE_PTR(buf);
}

ssize_t cg_read(const char *dir, const char *file, char *buf, size_t size,
		husk_error **err)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t r;

	if (file_path(path, sizeof(path), dir, file) < 0)
		return husk_fail(err, errno, "cgroup: %s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "cgroup: open %s", path);
	do
		r = read(fd, buf, size - 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return husk_fail(err, errno, "cgroup: read %s", path);
	while (r > 0 && buf[r - 1] == '\n')
		r--;
	buf[r] = '\0';
	return r;
}

int cg_write(const char *dir, const char *file, const char *val,
	     husk_error **err)
{
	char path[PATH_MAX];
	size_t len = strlen(val);
	ssize_t r;
	int fd, saved;

	if (file_path(path, sizeof(path), dir, file) < 0)
		return husk_fail(err, errno, "cgroup: %s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		husk_fail(err, saved, "cgroup: open %s", path);
		errno = saved;
		return -1;
	}
	do
		r = write(fd, val, len);
	while (r < 0 && errno == EINTR);
	saved = r < 0 ? errno : EIO;
	close(fd);
	if (r == (ssize_t)len)
		return 0;
	husk_fail(err, saved, "cgroup: write %s to %s", val, path);
	errno = saved;
	return -1;
}

/* One pass of mkdir -p. Returns 0, 1 when a parent vanished under us (a
 * sibling's destroy removed it: worth retrying), or -1 with *err set.
 * Everything below the first directory this pass makes is ours, so it
 * counts from there to the leaf, and a failure half-way still lets
 * cg_remove_created() find all of it. */
static int mkdir_pass(struct cgroup_hier *h, char *p,
		      int (*on_new)(const char *dir, husk_error **err),
		      husk_error **err)
{
	size_t len = strlen(p);

	h->created = 0;
	for (size_t i = h->base_len + 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) == 0) {
			if (!h->created)
				h->created = 1 + cg_path_depth(h->dir + i);
			if (on_new && on_new(p, err) < 0)
				return -1;
		} else if (errno == ENOENT && !h->created) {
			return 1;
		} else if (errno != EEXIST) {
			return husk_fail(err, errno, "cgroup: mkdir %s", p);
		}
		p[i] = i == len ? '\0' : '/';
	}
	return 0;
}

int cg_mkdir(struct cgroup_hier *h,
	     int (*on_new)(const char *dir, husk_error **err),
	     husk_error **err)
{
	for (int attempt = 0;; attempt++) {
		_cleanup_free_ char *p = strdup(h->dir);
		int r;

		if (!p)
			abort();
		r = mkdir_pass(h, p, on_new, err);
		if (r <= 0)
			return r;
		if (attempt == 2)
			return husk_fail(err, ENOENT, "cgroup: mkdir %s", p);
	}
}

/* rmdir errors meaning there is no such directory (any more). */
static bool gone(int e)
{
	return e == ENOENT || e == ENOTDIR;
}

static bool is_sub_cgroup(const struct dirent *de)
{
	return de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 &&
	       strcmp(de->d_name, "..") != 0;
}

static int rmdir_tree(const char *dir, uint64_t deadline, unsigned depth,
		      husk_error **err);

static int rmdir_children(const char *dir, uint64_t deadline, unsigned depth,
			  husk_error **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (!is_sub_cgroup(de))
			continue;
		sub = cg_path_join(dir, de->d_name);
		if (rmdir_tree(sub, deadline, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

/* Removes dir after any sub-cgroups inside it: cgroupfs says EBUSY for a
 * cgroup with children, and also for a while after its last task died. */
static int rmdir_tree(const char *dir, uint64_t deadline, unsigned depth,
		      husk_error **err)
{
	unsigned us = 100;

	if (rmdir(dir) == 0 || gone(errno))
		return 0;
	if (errno != EBUSY || depth > CG_MAX_NESTING)
		return husk_fail(err, errno, "cgroup: rmdir %s", dir);
	for (;;) {
		if (rmdir_children(dir, deadline, depth, err) < 0)
			return -1;
		if (rmdir(dir) == 0 || gone(errno))
			return 0;
		if (errno != EBUSY || cg_now_ms() > deadline)
			return husk_fail(err, errno, "cgroup: rmdir %s", dir);
		cg_backoff(&us);
	}
}

/* Parents this container made, from the leaf's parent upwards. A parent
 * still holding a sibling's cgroup stays (EBUSY), and so do those above. */
static void remove_parents(const struct cgroup_hier *h)
{
	_cleanup_free_ char *p = strdup(h->dir);

	if (!p)
		abort();
	for (unsigned i = 1; i < h->created; i++) {
		char *slash = strrchr(p, '/');

		if (!slash || slash == p)
			return;
		*slash = '\0';
		if (rmdir(p) < 0 && !gone(errno))
			return;
	}
}

int cg_remove(const struct cgroup_hier *h, uint64_t deadline_ms,
	      husk_error **err)
{
	if (rmdir_tree(h->dir, deadline_ms, 0, err) < 0)
		return -1;
	remove_parents(h);
	return 0;
}

void cg_remove_created(const struct cgroup_hier *h)
{
	if (h->created == 0)
		return;
	if (rmdir(h->dir) < 0 && !gone(errno))
		return;
	remove_parents(h);
}

static void parse_pids(const char *text, pid_t **pids, size_t *n)
{
	size_t cap = *n;

	for (const char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (*n == cap) {
			pid_t *np;

			cap = cap ? cap * 2 : 16;
			np = reallocarray(*pids, cap, sizeof(**pids));
			if (!np)
				abort();
			*pids = np;
		}
		(*pids)[(*n)++] = (pid_t)v;
		p = end + strspn(end, "\n");
	}
}

static int collect(const char *dir, unsigned depth, pid_t **pids, size_t *n,
		   husk_error **err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (file_path(path, sizeof(path), dir, "cgroup.procs") < 0)
		return husk_fail(err, errno, "cgroup: %s/cgroup.procs", dir);
	text = cg_read_text(path, NULL);
	if (!text) /* a cgroup that is gone holds nothing */
		return errno == ENOENT || errno == ENODEV
			       ? 0
			       : husk_fail(err, errno, "cgroup: read %s", path);
	parse_pids(text, pids, n);
	if (depth >= CG_MAX_NESTING || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (!is_sub_cgroup(de))
			continue;
		sub = cg_path_join(dir, de->d_name);
		if (collect(sub, depth + 1, pids, n, err) < 0)
			return -1;
	}
	return 0;
}

int cg_collect_pids(const char *dir, pid_t **pids, size_t *n,
		    husk_error **err)
{
	return collect(dir, 0, pids, n, err);
}

uint64_t cg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cg_backoff(unsigned *us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)*us * 1000 };

	nanosleep(&ts, NULL);
	if (*us < 10000)
		*us *= 2;
}
