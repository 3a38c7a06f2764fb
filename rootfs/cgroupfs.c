/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mounts of type "cgroup" (the default config has one on /sys/fs/cgroup).
 *
 * As runc: on a cgroup v2 host a cgroup2 mount, falling back to a bind of
 * the host's /sys/fs/cgroup where a user namespace without a cgroup
 * namespace may not mount it. On a v1 (or hybrid) host a tmpfs holding one
 * directory per v1 hierarchy: the hierarchy itself in a new cgroup
 * namespace, else a bind of the caller's own cgroup directory in it, which
 * is why this runs after the init process joined its cgroups.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../cgroups/cgroup.h"
#include "internal.h"
#include "mount_options.h"

#define CG_MAX 64
#define CG_DEFAULT_FLAGS (MS_NOEXEC | MS_NOSUID | MS_NODEV)

/* One line of /proc/self/cgroup: "4:cpu,cpuacct:/path". */
struct cg_self {
	char *ctrls;
	char *path;
};

/* One v1 hierarchy mounted on the host. */
struct cg_hier {
	char *mount_point;
	char *root;
	char *subsys; /* this hierarchy's controllers, ','-joined */
};

struct cg_state {
	struct cg_self self[CG_MAX];
	size_t n_self;
	struct cg_hier hier[CG_MAX];
	size_t n_hier;
};

static void cg_state_done(struct cg_state *s)
{
	for (size_t i = 0; i < s->n_self; i++) {
		free(s->self[i].ctrls);
		free(s->self[i].path);
	}
	for (size_t i = 0; i < s->n_hier; i++) {
		free(s->hier[i].mount_point);
		free(s->hier[i].root);
		free(s->hier[i].subsys);
	}
}

static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p;) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == n && strncmp(p, item, n) == 0)
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

static int read_self(struct cg_state *s)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0 && s->n_self < CG_MAX) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b || b == a + 1) /* the v2 line has no controllers */
			continue;
		*b = '\0';
		b[1 + strcspn(b + 1, "\n")] = '\0';
		struct cg_self *e = &s->self[s->n_self];
		e->ctrls = strdup(a + 1);
		e->path = strdup(b + 1);
		if (!e->ctrls || !e->path)
			return -ENOMEM;
		s->n_self++;
	}
	return 0;
}

static const char *self_path(const struct cg_state *s, const char *subsys)
{
	for (size_t i = 0; i < s->n_self; i++)
		if (list_has(s->self[i].ctrls, subsys))
			return s->self[i].path;
	return NULL;
}

static int collect_hier(const struct mountinfo_entry *e, void *userdata)
{
	struct cg_state *s = userdata;
	_cleanup_free_ char *opts = NULL, *subsys = NULL;
	char *save = NULL;

	if (strcmp(e->fstype, "cgroup") != 0 || s->n_hier >= CG_MAX)
		return 0;
	opts = strdup(e->super_opts);
	subsys = calloc(1, strlen(e->super_opts) + 1);
	if (!opts || !subsys)
		return -ENOMEM;
	for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!self_path(s, t))
			continue; /* rw, relatime, ...: not a controller */
		for (size_t i = 0; i < s->n_hier; i++)
			if (list_has(s->hier[i].subsys, t))
				return 0; /* seen: the first mount of it wins */
		if (subsys[0])
			strcat(subsys, ",");
		strcat(subsys, t);
	}
	if (!subsys[0])
		return 0;
	struct cg_hier *h = &s->hier[s->n_hier];
	h->mount_point = strdup(e->mount_point);
	h->root = strdup(e->root);
	h->subsys = TAKE_PTR(subsys);
	s->n_hier++;
	return h->mount_point && h->root ? 0 : -ENOMEM;
}

/* Host directory of our own cgroup in hierarchy h. */
static char *own_dir(const struct rootfs_ctx *c, const struct cg_state *s,
		     const struct cg_hier *h)
{
	_cleanup_free_ char *first = strndup(h->subsys, strcspn(h->subsys, ","));
	const char *dir = c->cg && first ? cgroup_dir(c->cg, first) : NULL;
	if (dir)
		return strdup(dir);
	const char *path = first ? self_path(s, first) : NULL;
	size_t n = strlen(h->root);
	char *out = NULL;

	if (!path)
		return NULL;
	if (strcmp(h->root, "/") == 0)
		n = 0;
	else if (strncmp(path, h->root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL; /* our cgroup is not visible in that mount */
	if (asprintf(&out, "%s%s", h->mount_point, path + n) < 0)
		return NULL;
	return out;
}

/* A new cgroup namespace may mount the hierarchy: it shows only its part. */
static int mount_hier(int tmp_fd, const struct cg_hier *h, const char *name, const char *dest,
		      unsigned long flags, husk_error **err)
{
	bool named = strncmp(h->subsys, "name=", 5) == 0;
	_cleanup_close_ int fd = mkdir_child(tmp_fd, name, 0755);

	if (fd < 0)
		return husk_fail(err, -fd, "create mount point `%s`", dest);
	int r = mount_on_fd(named ? h->subsys + 5 : "cgroup", fd, "cgroup", flags, h->subsys);
	return r < 0 ? husk_fail(err, -r, "mount cgroup `%s` on `%s`", h->subsys, dest) : 0;
}

/* cpu -> cpu,cpuacct, as on the host. */
static int link_merged(int tmp_fd, const char *dest, const char *name, husk_error **err)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!strchr(name, ','))
		return 0;
	if (!(copy = strdup(name)))
		return husk_fail(err, ENOMEM, "cgroup");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (symlinkat(name, tmp_fd, t) < 0 && errno != EEXIST)
			return husk_fail(err, errno, "symlink `%s/%s`", dest, t);
	return 0;
}

/* One hierarchy in the tmpfs (tmp_fd) husk has just mounted on dest. */
static int one_hier(const struct rootfs_ctx *c, int tmp_fd, const struct cg_state *s,
		    const struct cg_hier *h, const struct mount_opts *o, const char *dest,
		    husk_error **err)
{
	const char *base = strrchr(h->mount_point, '/');
	_cleanup_free_ char *sub = NULL, *src = NULL;

	base = base ? base + 1 : h->mount_point;
	if (asprintf(&sub, "%s/%s", dest, base) < 0)
		return husk_fail(err, ENOMEM, "cgroup");
	if (c->cgroupns)
		return mount_hier(tmp_fd, h, base, sub, CG_DEFAULT_FLAGS | (o->flags & MS_RDONLY), err);
	if (!(src = own_dir(c, s, h)))
		return husk_fail(err, 0, "cgroup %s: own cgroup not found below %s",
				 h->subsys, h->mount_point);
	struct mount_opts b = *o;
	b.flags |= MS_BIND | MS_REC;
	return rootfs_bind_in_dir(tmp_fd, base, src, sub, &b, err);
}

static int mount_v1(const struct rootfs_ctx *c, int root_fd, const struct mount_opts *o,
		    const char *dest, husk_error **err)
{
	struct cg_state s = { 0 };
	_cleanup_close_ int fd = mkdir_in_root(root_fd, dest, 0755);
	int r = fd < 0 ? fd : read_self(&s);

	if (r >= 0)
		r = mountinfo_foreach(collect_hier, &s);
	if (r < 0) {
		cg_state_done(&s);
		return husk_fail(err, -r, "cgroup v1 mounts for `%s`", dest);
	}
	r = mount_on_fd("tmpfs", fd, "tmpfs", CG_DEFAULT_FLAGS, "mode=755");
	if (r < 0)
		r = husk_fail(err, -r, "mount `tmpfs` on `%s`", dest);
	else
		r = apply_post_at(root_fd, dest, o, err);
	/* The new tmpfs: everything below is made in it by fd. */
	_cleanup_close_ int tmp = r < 0 ? -1 : open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0);
	if (r >= 0 && tmp < 0)
		r = husk_fail(err, -tmp, "reopen `%s` after mounting", dest);
	for (size_t i = 0; r >= 0 && i < s.n_hier; i++) {
		const char *base = strrchr(s.hier[i].mount_point, '/');
		r = one_hier(c, tmp, &s, &s.hier[i], o, dest, err);
		if (r >= 0 && base)
			r = link_merged(tmp, dest, base + 1, err);
	}
	cg_state_done(&s);
	if (r >= 0 && (o->flags & MS_RDONLY) && (r = mnt_set_readonly_at(root_fd, dest, false)) < 0)
		r = husk_fail(err, -r, "make `%s` read-only", dest);
	return r;
}

static int mount_v2(const struct rootfs_ctx *c, int root_fd, const struct spec_mount *m,
		    const struct mount_opts *o, const char *dest, husk_error **err)
{
	_cleanup_close_ int fd = mkdir_in_root(root_fd, dest, 0755);

	if (fd < 0)
		return husk_fail(err, -fd, "create mount point `%s`", dest);
	int r = mount_on_fd(m->source ? m->source : "cgroup", fd, "cgroup2", o->flags, o->data);
	if (r == -EPERM || r == -EBUSY) {
		/* A user namespace without a cgroup namespace may not. */
		struct mount_opts b = *o;
		b.flags |= MS_BIND;
		return rootfs_bind(c, root_fd, "/sys/fs/cgroup", dest, &b, err);
	}
	if (r < 0)
		return husk_fail(err, -r, "mount `cgroup2` on `%s`", dest);
	return apply_post_at(root_fd, dest, o, err);
}

int rootfs_mount_cgroup(const struct rootfs_ctx *c, int root_fd,
			const struct spec_mount *m, const struct mount_opts *o,
			const char *dest, husk_error **err)
{
	struct statfs sf;
	_cleanup_close_ int fd = mkdir_in_root(root_fd, dest, 0755);

	if (fd < 0)
		return husk_fail(err, -fd, "create mount point `%s`", dest);
	if (check_proc_dest(c, fd, m->type, -1, err) < 0)
		return -1;
	if (strcmp(m->type, "cgroup2") == 0 ||
	    (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC))
		return mount_v2(c, root_fd, m, o, dest, err);
	return mount_v1(c, root_fd, o, dest, err);
}
