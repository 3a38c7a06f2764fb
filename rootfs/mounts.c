/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json "mounts", applied in order inside the rootfs.
 *
 * Every destination is resolved (and created) inside the rootfs by
 * resolve.c and mounted onto through its fd. After each mount the target is
 * opened again: the old fd names the directory *under* the new mount, and
 * remounts, propagation and attributes must hit the new one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "mount_options.h"
#include "overlay.h"
#include "rootfs.h"

/* Files lxcfs emulates: the only things that may be mounted inside /proc. */
static const char *const proc_allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",
	"/proc/stat", "/proc/swaps", "/proc/uptime",
	"/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
	"/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
};

/* Container path of an fd resolved under c->rootfs. */
static char *container_path(const struct rootfs_ctx *c, int fd)
{
	_cleanup_free_ char *host = fd_host_path(fd);
	size_t n = strlen(c->rootfs);

	if (!host)
		return NULL;
	if (strcmp(c->rootfs, "/") == 0)
		return TAKE_PTR(host);
	if (strncmp(host, c->rootfs, n) != 0 || (host[n] != '/' && host[n] != '\0'))
		return NULL;
	return strdup(host[n] ? host + n : "/");
}

/* runc's checkProcMount, on where the target really resolved to: a mount
 * over /proc must be a procfs, and nothing may go inside it but the lxcfs
 * files (CVE-2019-16884 class). src_fd >= 0 for bind mounts. */
int check_proc_dest(const struct rootfs_ctx *c, int target_fd, const char *type,
		    int src_fd, husk_error **err)
{
	_cleanup_free_ char *in = container_path(c, target_fd);
	struct statfs sf;

	if (!in)
		return husk_fail(err, 0, "target resolved outside the rootfs");
	if (strcmp(in, "/proc") == 0) {
		if (src_fd < 0 && type && strcmp(type, "proc") == 0)
			return 0;
		if (src_fd >= 0 && fstatfs(src_fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
			return 0;
		return husk_fail(err, 0, "%s cannot be mounted because it is not of type proc", in);
	}
	if (strncmp(in, "/proc/", 6) != 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(proc_allowed); i++)
		if (strcmp(in, proc_allowed[i]) == 0)
			return 0;
	return husk_fail(err, 0, "%s cannot be mounted because it is inside /proc", in);
}

static int reopen_target(int root_fd, const char *dest, int *fd, husk_error **err)
{
	if (*fd >= 0)
		close(*fd);
	*fd = open_in_root(root_fd, dest, O_PATH, 0);
	if (*fd < 0)
		return husk_fail(err, -*fd, "reopen `%s` after mounting", dest);
	return 0;
}

/* Propagation options one by one (each is its own mount(2) call), then
 * the recursive r* attributes. */
static int apply_post(int fd, const char *dest, const struct mount_opts *o,
		      husk_error **err)
{
	for (size_t i = 0; i < o->n_propagation; i++) {
		int r = mount_on_fd(NULL, fd, NULL, o->propagation[i], NULL);
		if (r < 0)
			return husk_fail(err, -r, "set propagation of `%s`", dest);
	}
	if (!o->rec_attr)
		return 0;
	struct mount_attr a = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return husk_fail(err, errno, "set recursive mount attributes on `%s`", dest);
	return 0;
}

int apply_post_at(int root_fd, const char *dest, const struct mount_opts *o,
		  husk_error **err)
{
	_cleanup_close_ int fd = -1;

	if (!o->n_propagation && !o->rec_attr)
		return 0;
	if (reopen_target(root_fd, dest, &fd, err) < 0)
		return -1;
	return apply_post(fd, dest, o, err);
}

/* The first MS_BIND ignores flags. Like runc, first ask for exactly the
 * flags given ("mount --bind -o"); when locked flags make that fail, keep
 * the existing locked ones unless the config explicitly cleared them. */
static int bind_remount(int fd, const char *dest, const struct mount_opts *o,
			husk_error **err)
{
	unsigned long flags = (o->flags & ~MS_REC) | MS_BIND | MS_REMOUNT;
	struct statvfs sv;
	int r = mount_on_fd(NULL, fd, NULL, flags, NULL);

	if (r == 0)
		return 0;
	if (fstatvfs(fd, &sv) < 0)
		return husk_fail(err, errno, "statvfs `%s`", dest);
	unsigned long have = mount_flags_from_statvfs(sv.f_flag);
	unsigned long want_atime = o->flags & MOUNT_ATIME_FLAGS;
	if ((have & o->cleared & MOUNT_LOCKED_FLAGS) ||
	    (want_atime && want_atime != (have & MOUNT_ATIME_FLAGS)))
		return husk_fail(err, -r, "remount bind `%s`", dest);
	r = mount_on_fd(NULL, fd, NULL, flags | (have & MOUNT_LOCKED_FLAGS), NULL);
	if (r < 0)
		return husk_fail(err, -r, "remount bind `%s`", dest);
	return 0;
}

/* After the bind itself, on the new mount (tfd): its flags, then
 * propagation and recursive attributes. */
static int bind_finish(int tfd, const char *dest, const struct mount_opts *o, husk_error **err)
{
	if ((o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) || o->cleared)
		if (bind_remount(tfd, dest, o, err) < 0)
			return -1;
	return apply_post(tfd, dest, o, err);
}

int rootfs_bind(const struct rootfs_ctx *c, int root_fd, const char *src,
		const char *dest, const struct mount_opts *o, husk_error **err)
{
	/* The source is a host path from the config (or relative to the
	 * bundle, our cwd): host resolution is what it asks for. */
	_cleanup_close_ int sfd = open(src, O_PATH | O_CLOEXEC);
	_cleanup_close_ int tfd = -1;
	char sbuf[PROCFD_BUF];
	struct stat st;

	if (sfd < 0 || fstat(sfd, &st) < 0)
		return husk_fail(err, errno, "bind source `%s`", src);
	tfd = S_ISDIR(st.st_mode) ? mkdir_in_root(root_fd, dest, 0755)
				  : mkfile_in_root(root_fd, dest, 0644);
	if (tfd < 0)
		return husk_fail(err, -tfd, "create mount point `%s`", dest);
	if (check_proc_dest(c, tfd, NULL, sfd, err) < 0)
		return -1;
	int r = mount_on_fd(procfd_path(sfd, sbuf), tfd, NULL,
			    MS_BIND | (o->flags & MS_REC), NULL);
	if (r < 0)
		return husk_fail(err, -r, "bind mount `%s` on `%s`", src, dest);
	if (reopen_target(root_fd, dest, &tfd, err) < 0)
		return -1;
	return bind_finish(tfd, dest, o, err);
}

int rootfs_bind_in_dir(int dir_fd, const char *name, const char *src, const char *dest,
		       const struct mount_opts *o, husk_error **err)
{
	_cleanup_close_ int sfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int tfd = -1;
	char sbuf[PROCFD_BUF];

	if (sfd < 0)
		return husk_fail(err, errno, "bind source `%s`", src);
	tfd = mkdir_child(dir_fd, name, 0755);
	if (tfd < 0)
		return husk_fail(err, -tfd, "create mount point `%s`", dest);
	int r = mount_on_fd(procfd_path(sfd, sbuf), tfd, NULL, MS_BIND | (o->flags & MS_REC), NULL);
	if (r < 0)
		return husk_fail(err, -r, "bind mount `%s` on `%s`", src, dest);
	close(tfd);
	tfd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return husk_fail(err, errno, "reopen `%s` after mounting", dest);
	return bind_finish(tfd, dest, o, err);
}

/* proc and sysfs must land on a real directory reached without any
 * symlink: mounting them through one is an old escape (CVE-2019-19921). */
static int open_plain_dir(int root_fd, const char *fstype, const char *dest,
			  husk_error **err)
{
	const int of = O_PATH | O_NOFOLLOW;
	int fd = open_in_root(root_fd, dest, of, RESOLVE_NO_SYMLINKS);
	struct stat st;

	if (fd == -ENOENT) {
		fd = mkdir_in_root(root_fd, dest, 0755);
		if (fd < 0)
			return husk_fail(err, -fd, "create mount point `%s`", dest);
		close(fd);
		fd = open_in_root(root_fd, dest, of, RESOLVE_NO_SYMLINKS);
	}
	if (fd == -ELOOP || (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))) {
		if (fd >= 0)
			close(fd);
		return husk_fail(err, 0, "%s must be mounted on an ordinary directory, "
				 "not through a symlink", fstype);
	}
	if (fd < 0)
		return husk_fail(err, -fd, "open mount point `%s`", dest);
	return fd;
}

static int mount_kernfs(const struct rootfs_ctx *c, int root_fd, const struct spec_mount *m,
			const struct mount_opts *o, const char *dest, husk_error **err)
{
	_cleanup_close_ int fd = open_plain_dir(root_fd, m->type, dest, err);

	if (fd < 0 || check_proc_dest(c, fd, m->type, -1, err) < 0)
		return -1;
	int r = mount_on_fd(m->source ? m->source : m->type, fd, m->type, o->flags, o->data);
	if (r == -EPERM && strcmp(m->type, "sysfs") == 0) {
		/* A user namespace without its own network namespace may not
		 * mount sysfs: show the host's instead, like rootless runc. */
		struct mount_opts b = *o;
		b.flags |= MS_BIND | MS_REC;
		return rootfs_bind(c, root_fd, "/sys", dest, &b, err);
	}
	if (r < 0)
		return husk_fail(err, -r, "mount `%s` on `%s`", m->type, dest);
	if (reopen_target(root_fd, dest, &fd, err) < 0)
		return -1;
	return apply_post(fd, dest, o, err);
}

/* tmpcopyup: a detached tmpfs gets the target's content, then goes on top
 * of it, so the container never sees it empty. */
static int tmpfs_copyup(int fd, const struct spec_mount *m, unsigned long flags,
			const char *data, const char *dest, husk_error **err)
{
	_cleanup_close_ int mnt = mnt_new_detached("tmpfs", m->source ? m->source : "tmpfs",
						   data, flags);
	_cleanup_close_ int from = -1, to = -1;

	if (mnt < 0)
		return husk_fail(err, -mnt, "tmpcopyup: create tmpfs for `%s`", dest);
	from = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	to = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from < 0 || to < 0)
		return husk_fail(err, errno, "tmpcopyup: open `%s`", dest);
	int r = copy_tree(from, to);
	if (r < 0)
		return husk_fail(err, -r, "tmpcopyup: copy `%s`", dest);
	r = mnt_attach(mnt, fd);
	if (r < 0)
		return husk_fail(err, -r, "tmpcopyup: mount on `%s`", dest);
	return 0;
}

static char *tmpfs_data(const struct stat *st, const char *extra)
{
	char *d = NULL;
	int r = st ? asprintf(&d, "mode=%04o%s%s", (unsigned)(st->st_mode & 07777),
			      extra ? "," : "", extra ? extra : "")
		   : asprintf(&d, "%s", extra ? extra : "");

	return r < 0 ? NULL : d;
}

/* Stays writable until rootfs_finalize() so mount points and device nodes
 * can still be made in it; an existing directory's mode is kept (runc). */
static int mount_tmpfs(const struct rootfs_ctx *c, int root_fd, const struct spec_mount *m,
		       const struct mount_opts *o, const char *dest, husk_error **err)
{
	_cleanup_close_ int fd = open_in_root(root_fd, dest, O_PATH, 0);
	_cleanup_free_ char *data = NULL;
	unsigned long flags = o->flags & ~MS_RDONLY;
	struct stat st;
	bool existed = fd >= 0;
	int r;

	if (fd == -ENOENT)
		fd = mkdir_in_root(root_fd, dest, 0755);
	if (fd < 0)
		return husk_fail(err, -fd, "create mount point `%s`", dest);
	if (existed && fstat(fd, &st) < 0)
		return husk_fail(err, errno, "stat `%s`", dest);
	if (!(data = tmpfs_data(existed ? &st : NULL, o->data)))
		return husk_fail(err, ENOMEM, "tmpfs options");
	if (check_proc_dest(c, fd, m->type, -1, err) < 0)
		return -1;
	if (o->tmpcopyup)
		r = tmpfs_copyup(fd, m, flags, data, dest, err);
	else if ((r = mount_on_fd(m->source ? m->source : "tmpfs", fd, "tmpfs", flags,
				  data[0] ? data : NULL)) < 0)
		r = husk_fail(err, -r, "mount `tmpfs` on `%s`", dest);
	if (r < 0 || reopen_target(root_fd, dest, &fd, err) < 0)
		return -1;
	return apply_post(fd, dest, o, err);
}

static int mount_generic(const struct rootfs_ctx *c, int root_fd, const struct spec_mount *m,
			 const struct mount_opts *o, const char *dest, husk_error **err)
{
	_cleanup_close_ int fd = mkdir_in_root(root_fd, dest, 0755);
	unsigned long flags = o->flags;

	if (fd < 0)
		return husk_fail(err, -fd, "create mount point `%s`", dest);
	if (check_proc_dest(c, fd, m->type, -1, err) < 0)
		return -1;
	/* /dev gets its nodes after all mounts; finalize makes it ro. */
	if (strcmp(dest, "/dev") == 0)
		flags &= ~MS_RDONLY;
	/* No type is fine for a remount: mount(2) then ignores it. */
	const char *type = m->type ? m->type : "none";
	int r = mount_on_fd(m->source ? m->source : "none", fd, m->type, flags, o->data);
	if (r < 0 && m->source && strcmp(m->source, type) != 0)
		return husk_fail(err, -r, "mount `%s` (%s) on `%s`", m->source, type, dest);
	if (r < 0)
		return husk_fail(err, -r, "mount `%s` on `%s`", type, dest);
	if (reopen_target(root_fd, dest, &fd, err) < 0)
		return -1;
	return apply_post(fd, dest, o, err);
}

static bool type_is(const struct spec_mount *m, const char *t)
{
	return m->type && strcmp(m->type, t) == 0;
}

static int mount_one(const struct rootfs_ctx *c, int root_fd, const struct spec_mount *m,
		     husk_error **err)
{
	struct mount_opts o;
	_cleanup_free_ char *dest = rootfs_path_clean(m->destination);
	int r;

	if (!dest)
		return husk_fail(err, ENOMEM, "mount destination");
	if (mount_options_parse(m->options, m->n_options, &o, err) < 0) {
		mount_opts_done(&o);
		return -1;
	}
	if (mount_opts_is_bind(m->type, &o)) {
		struct mount_opts b = o;
		b.flags |= MS_BIND;
		/* Made in husk, before the init was cloned (idmap.c). */
		if (mount_is_idmapped(m, &o))
			r = rootfs_idmap_attach(c, root_fd, (size_t)(m - c->spec->mounts),
						dest, &b, err);
		else
			r = rootfs_bind(c, root_fd, m->source, dest, &b, err);
	} else if (type_is(m, "cgroup") || type_is(m, "cgroup2")) {
		r = rootfs_mount_cgroup(c, root_fd, m, &o, dest, err);
	} else if (type_is(m, "proc") || type_is(m, "sysfs")) {
		r = mount_kernfs(c, root_fd, m, &o, dest, err);
	} else if (type_is(m, "tmpfs")) {
		r = mount_tmpfs(c, root_fd, m, &o, dest, err);
	} else {
		r = mount_generic(c, root_fd, m, &o, dest, err);
	}
	mount_opts_done(&o);
	return r;
}

static int validate_mount(const struct spec *s, size_t i, husk_error **err)
{
	const struct spec_mount *m = &s->mounts[i];
	struct mount_opts o;
	bool bind, remount, idmapped;

	if (!m->destination || !m->destination[0])
		return husk_fail(err, 0, "config.json: mounts[%zu].destination: must not be empty", i);
	int r = mount_options_parse(m->options, m->n_options, &o, err);
	bind = mount_opts_is_bind(m->type, &o);
	remount = o.flags & MS_REMOUNT;
	idmapped = mount_is_idmapped(m, &o);
	mount_opts_done(&o);
	if (r < 0)
		return husk_error_wrap(err, "config.json: mounts[%zu].options", i);
	if (idmapped && rootfs_idmap_validate(s, i, bind, err) < 0)
		return -1;
	if (bind && (!m->source || !m->source[0]))
		return husk_fail(err, 0, "config.json: mounts[%zu].source: a bind mount needs a source", i);
	if (!bind && !remount && !m->type)
		return husk_fail(err, 0, "config.json: mounts[%zu].type: required unless the mount "
				 "is a bind mount", i);
	return 0;
}

static int validate_paths(const char **paths, size_t n, const char *field, husk_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (!paths[i] || paths[i][0] != '/')
			return husk_fail(err, 0, "config.json: linux.%s[%zu]: must be an absolute path",
					 field, i);
	return 0;
}

static int validate_devices(const struct spec_linux *l, husk_error **err)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct spec_device *d = &l->devices[i];
		if (!d->path || d->path[0] != '/' || strspn(d->path, "/") == strlen(d->path))
			return husk_fail(err, 0, "config.json: linux.devices[%zu].path: must be an "
					 "absolute path below /", i);
		if (!strchr("cubp", d->type) || !d->type)
			return husk_fail(err, 0, "config.json: linux.devices[%zu].type: must be one of "
					 "c, u, b, p", i);
		if (d->type != 'p' && (d->major < 0 || d->minor < 0))
			return husk_fail(err, 0, "config.json: linux.devices[%zu]: major and minor "
					 "are required", i);
	}
	return 0;
}

int rootfs_validate(const struct spec *s, const char *rootfs, husk_error **err)
{
	struct stat st;
	unsigned long prop;

	for (size_t i = 0; i < s->n_mounts; i++)
		if (validate_mount(s, i, err) < 0)
			return -1;
	if (s->linux_) {
		const struct spec_linux *l = s->linux_;
		if (mount_propagation_parse(l->rootfs_propagation, &prop) < 0)
			return husk_fail(err, 0, "config.json: linux.rootfsPropagation: unknown value \"%s\"",
					 l->rootfs_propagation);
		if (validate_paths(l->masked_paths, l->n_masked_paths, "maskedPaths", err) < 0 ||
		    validate_paths(l->readonly_paths, l->n_readonly_paths, "readonlyPaths", err) < 0 ||
		    validate_devices(l, err) < 0)
			return -1;
	}
	if (stat(rootfs, &st) < 0)
		return husk_fail(err, errno, "config.json: root.path: %s", rootfs);
	if (!S_ISDIR(st.st_mode))
		return husk_fail(err, ENOTDIR, "config.json: root.path: %s", rootfs);
	return 0;
}

/* pivot_root(2) refuses a new root whose parent mount is shared, and a
 * bind under a shared parent would show up on the host: make it private. */
struct parent_search {
	const char *path;
	size_t best_len;
	char *mount_point;
	bool shared;
};

static int find_parent(const struct mountinfo_entry *e, void *userdata)
{
	struct parent_search *p = userdata;
	size_t n = strlen(e->mount_point);

	if (strcmp(e->mount_point, "/") == 0)
		n = 0;
	else if (strncmp(p->path, e->mount_point, n) != 0 ||
		 (p->path[n] != '/' && p->path[n] != '\0'))
		return 0;
	/* >=: of stacked mounts, the last listed is the one on top. */
	if (n >= p->best_len || !p->mount_point) {
		char *mp = strdup(e->mount_point);
		if (!mp)
			return -ENOMEM;
		free(p->mount_point);
		p->mount_point = mp;
		p->best_len = n;
		p->shared = strstr(e->optional, "shared:") != NULL;
	}
	return 0;
}

/* pivot_root refuses a shared parent of the new root, and our binds must not
 * reach the host: a slave parent satisfies both and still receives the
 * host's mounts, which is what rootfsPropagation slave asks for. */
static int parent_mount_unshare(const char *rootfs, unsigned long prop, husk_error **err)
{
	unsigned long type = prop & MS_SLAVE ? MS_SLAVE : MS_PRIVATE;
	struct parent_search p = { .path = rootfs };
	int r = mountinfo_foreach(find_parent, &p);

	if (r < 0) {
		free(p.mount_point);
		return husk_fail(err, -r, "read /proc/self/mountinfo");
	}
	if (p.shared && mount(NULL, p.mount_point, NULL, type, NULL) < 0)
		r = husk_fail(err, errno, "unshare the propagation of `%s`", p.mount_point);
	free(p.mount_point);
	return r;
}

static int prepare_root(const struct rootfs_ctx *c, unsigned long prop, husk_error **err)
{
	/* Before anything else, so nothing we do reaches the host. Shared and
	 * unbindable wait for rootfs_finalize(): the bind below and pivot_root
	 * refuse them. */
	if (!prop || (prop & (MS_SHARED | MS_UNBINDABLE)))
		prop = MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return husk_fail(err, errno, "set propagation of `/`");
	if (parent_mount_unshare(c->rootfs, prop, err) < 0)
		return -1;
	/* A mount of its own, so pivot_root can make it "/": the overlay,
	 * made here in our own namespace after the propagation change, so
	 * that the host never sees it; else the rootfs bound onto itself. */
	if (c->overlay)
		return overlay_mount(c->overlay, c->rootfs, err);
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_fail(err, errno, "bind mount rootfs `%s` onto itself", c->rootfs);
	return 0;
}

static int open_root(const struct rootfs_ctx *c, int *fd, husk_error **err)
{
	if (*fd >= 0)
		close(*fd);
	*fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return husk_fail(err, errno, "open rootfs `%s`", c->rootfs);
	return 0;
}

static int mount_all(const struct rootfs_ctx *c, unsigned long prop, husk_error **err)
{
	const struct spec *s = c->spec;
	_cleanup_close_ int root_fd = -1;

	if (prepare_root(c, prop, err) < 0 || open_root(c, &root_fd, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		if (mount_one(c, root_fd, m, err) < 0)
			return husk_error_wrap(err, "mounts[%zu] (%s)", i, m->destination);
		/* A mount on "/" itself covers the root we hold. */
		if (strspn(m->destination, "/.") == strlen(m->destination) &&
		    open_root(c, &root_fd, err) < 0)
			return -1;
	}
	if (rootfs_needs_dev_setup(s) && rootfs_setup_dev(c, root_fd, err) < 0)
		return -1;
	return 0;
}

int rootfs_mount_all(const struct rootfs_ctx *c, husk_error **err)
{
	const char *p = c->spec->linux_ ? c->spec->linux_->rootfs_propagation : NULL;
	unsigned long prop;

	if (mount_propagation_parse(p, &prop) < 0)
		return husk_fail(err, 0, "linux.rootfsPropagation: unknown value \"%s\"", p);
	if (c->no_pivot && (prop & MS_PRIVATE))
		return husk_fail(err, 0, "linux.rootfsPropagation: [r]private is not safe "
				 "without pivot_root");
	/* Modes in the config (devices, mount points) are meant literally. */
	mode_t old = umask(0);
	int r = mount_all(c, prop, err);
	umask(old);
	return r;
}
