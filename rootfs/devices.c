/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /dev: the runtime-spec's default devices, linux.devices, /dev/ptmx and
 * the /dev/fd family of links (config-linux.md "Devices", "Default
 * Devices"; the links and ptmx handling follow runc).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "mount_options.h"
#include "rootfs.h"

struct dev_node {
	const char *path;
	char type; /* c, u, b, p */
	unsigned int major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static const struct dev_node default_devs[] = {
	{ "/dev/null", 'c', 1, 3, 0666, 0, 0 },
	{ "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
	{ "/dev/full", 'c', 1, 7, 0666, 0, 0 },
	{ "/dev/random", 'c', 1, 8, 0666, 0, 0 },
	{ "/dev/urandom", 'c', 1, 9, 0666, 0, 0 },
	{ "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static bool path_eq(const char *a, const char *b)
{
	_cleanup_free_ char *ca = rootfs_path_clean(a);
	_cleanup_free_ char *cb = rootfs_path_clean(b);

	return ca && cb && strcmp(ca, cb) == 0;
}

bool rootfs_needs_dev_setup(const struct spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct spec_mount *m = &s->mounts[i];
		struct mount_opts o;
		bool bind;

		if (!path_eq(m->destination, "/dev"))
			continue;
		if (mount_options_parse(m->options, m->n_options, &o, NULL) < 0)
			bind = false;
		else
			bind = mount_opts_is_bind(m->type, &o);
		mount_opts_done(&o);
		if (bind)
			return false;
	}
	return true;
}

/* What a user namespace does instead of mknod: an empty file with the
 * host's node (same path, as runc) bind mounted on it. */
static int bind_host_node(int root_fd, const char *path, husk_error **err)
{
	_cleanup_close_ int src = open(path, O_PATH | O_CLOEXEC);
	_cleanup_close_ int dst = -1;

	if (src < 0)
		return husk_fail(err, errno, "open host device `%s`", path);
	dst = mkfile_in_root(root_fd, path, 0644);
	if (dst < 0)
		return husk_fail(err, -dst, "create `%s`", path);
	int r = mnt_bind_fd(src, dst, false);
	if (r < 0)
		return husk_fail(err, -r, "bind mount device `%s`", path);
	return 0;
}

static mode_t node_type(char t)
{
	switch (t) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default: /* 'c' and 'u' (unbuffered) are both character devices */
		return S_IFCHR;
	}
}

static int make_node(const struct rootfs_ctx *c, int root_fd, const struct dev_node *d,
		     husk_error **err)
{
	_cleanup_free_ char *clean = rootfs_path_clean(d->path);
	_cleanup_close_ int dir = -1;

	if (!clean)
		return husk_fail(err, ENOMEM, "device path");
	/* A FIFO needs no privilege, so it is made even in a user namespace. */
	if (c->userns && d->type != 'p')
		return bind_host_node(root_fd, clean, err);
	char *slash = strrchr(clean, '/');
	*slash = '\0';
	dir = mkdir_in_root(root_fd, clean[0] ? clean : "/", 0755);
	*slash = '/';
	if (dir < 0)
		return husk_fail(err, -dir, "create parent of `%s`", clean);
	const char *base = slash + 1;
	dev_t dev = d->type == 'p' ? 0 : makedev(d->major, d->minor);
	if (mknodat(dir, base, node_type(d->type) | (d->mode & 07777), dev) < 0) {
		if (errno == EEXIST)
			return 0;
		if (errno == EPERM)
			return bind_host_node(root_fd, clean, err);
		return husk_fail(err, errno, "mknod `%s`", clean);
	}
	/* umask is 0 here, so only the owner needs setting. */
	if (fchownat(dir, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_fail(err, errno, "chown `%s`", clean);
	return 0;
}

static bool spec_has_device(const struct spec_linux *l, const char *path)
{
	for (size_t i = 0; l && i < l->n_devices; i++)
		if (path_eq(l->devices[i].path, path))
			return true;
	return false;
}

static int make_spec_devices(const struct rootfs_ctx *c, int root_fd, husk_error **err)
{
	const struct spec_linux *l = c->spec->linux_;

	for (size_t i = 0; i < ARRAY_SIZE(default_devs); i++)
		if (!spec_has_device(l, default_devs[i].path) &&
		    make_node(c, root_fd, &default_devs[i], err) < 0)
			return -1;
	for (size_t i = 0; l && i < l->n_devices; i++) {
		const struct spec_device *sd = &l->devices[i];
		struct dev_node d = {
			.path = sd->path,
			.type = sd->type,
			.major = (unsigned int)sd->major,
			.minor = (unsigned int)sd->minor,
			.mode = sd->has_file_mode ? sd->file_mode : 0666,
			.uid = sd->has_uid ? sd->uid : 0,
			.gid = sd->has_gid ? sd->gid : 0,
		};
		/* /dev/ptmx is always the devpts link made below (runc). */
		if (path_eq(sd->path, "/dev/ptmx"))
			continue;
		if (make_node(c, root_fd, &d, err) < 0)
			return husk_error_wrap(err, "linux.devices[%zu]", i);
	}
	return 0;
}

static int make_links(int dev_fd, husk_error **err)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
		{ "/proc/kcore", "core" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		/* kcore is a kernel option: link it only where it exists. */
		if (strcmp(links[i][1], "core") == 0 && access("/proc/kcore", F_OK) < 0)
			continue;
		if (symlinkat(links[i][0], dev_fd, links[i][1]) < 0 && errno != EEXIST)
			return husk_fail(err, errno, "symlink /dev/%s", links[i][1]);
	}
	/* The devpts instance's own ptmx, so ptys come from the container's
	 * devpts, whatever stood there before. */
	if (unlinkat(dev_fd, "ptmx", 0) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "remove /dev/ptmx");
	if (symlinkat("pts/ptmx", dev_fd, "ptmx") < 0)
		return husk_fail(err, errno, "symlink /dev/ptmx");
	return 0;
}

int rootfs_setup_dev(const struct rootfs_ctx *c, int root_fd, husk_error **err)
{
	_cleanup_close_ int dev_fd = -1;

	if (make_spec_devices(c, root_fd, err) < 0)
		return husk_error_wrap(err, "devices");
	dev_fd = mkdir_in_root(root_fd, "/dev", 0755);
	if (dev_fd < 0)
		return husk_fail(err, -dev_fd, "open /dev");
	return make_links(dev_fd, err) < 0 ? husk_error_wrap(err, "devices") : 0;
}
