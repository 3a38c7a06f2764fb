/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Idmapped bind mounts (runtime-spec 1.2 config.md "Mounts": uidMappings,
 * gidMappings, options "idmap" and "ridmap").
 *
 * The kernel idmaps a mount only for a caller with CAP_SYS_ADMIN over the
 * user namespace of the filesystem behind it: for a host directory, the
 * host's. The container's init, already in its own user namespace when it
 * mounts, cannot; so husk makes each idmapped tree, detached, before the
 * init is cloned (rootfs_idmaps_prepare), and the init, which inherits the
 * fds, attaches them where the mount goes (rootfs_idmap_attach).
 *
 * The mappings are written as they are, "containerID hostID size" as for
 * linux.uidMappings, into the uid_map/gid_map of a throwaway user namespace
 * the mount then carries: a file the source's filesystem says containerID
 * owns is seen through the mount as owned by hostID, which the container's
 * own mapping then shows as it shows hostID (0 -> 100000 in both: root's
 * files on the host are root's in the container).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"
#include "mount_options.h"
#include "rootfs.h"

struct rootfs_idmaps {
	size_t n;
	int *fds; /* one per mounts[] entry: the detached tree, or -1 */
};

struct idmap_maps {
	const struct spec_id_mapping *uid, *gid;
	size_t n_uid, n_gid;
};

/* The per-mount flags a bind remount sets or clears (bind_remount()). */
#define BIND_FLAG_ATTRS                                                        \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |            \
	 MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

bool mount_is_idmapped(const struct spec_mount *m, const struct mount_opts *o)
{
	return o->idmap || m->n_uid_mappings || m->n_gid_mappings;
}

/* The mount's own mappings; with only the option, the container's user
 * namespace mappings, as config.md says. */
static void pick_mappings(const struct spec *s, const struct spec_mount *m,
			  struct idmap_maps *mp)
{
	const struct spec_linux *l = s->linux_;

	if (m->n_uid_mappings || m->n_gid_mappings) {
		*mp = (struct idmap_maps){ m->uid_mappings, m->gid_mappings,
					   m->n_uid_mappings, m->n_gid_mappings };
		return;
	}
	*mp = (struct idmap_maps){ 0 };
	if (l)
		*mp = (struct idmap_maps){ l->uid_mappings, l->gid_mappings,
					   l->n_uid_mappings, l->n_gid_mappings };
}

int rootfs_idmap_validate(const struct spec *s, size_t i, bool bind, husk_error **err)
{
	const struct spec_mount *m = &s->mounts[i];
	struct idmap_maps mp;

	/* Only a bind has a source tree the kernel can present remapped. */
	if (!bind)
		return husk_fail(err, 0, "config.json: mounts[%zu]: uidMappings/gidMappings and "
				 "the \"idmap\"/\"ridmap\" options are only for bind mounts", i);
	if (!m->n_uid_mappings != !m->n_gid_mappings)
		return husk_fail(err, 0, "config.json: mounts[%zu]: uidMappings and gidMappings "
				 "must be given together", i);
	pick_mappings(s, m, &mp);
	if (!mp.n_uid || !mp.n_gid)
		return husk_fail(err, 0, "config.json: mounts[%zu]: an idmapped mount without "
				 "uidMappings/gidMappings takes linux.uidMappings/gidMappings, "
				 "and there are none", i);
	return 0;
}

/* "containerID hostID size" lines, as for a container's user namespace. */
static int map_write(pid_t pid, const char *file, const struct spec_id_mapping *m, size_t n)
{
	char path[64], buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		int k = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
				 m[i].container_id, m[i].host_id, m[i].size);
		if (k < 0 || (size_t)k >= sizeof(buf) - len)
			return -E2BIG;
		len += (size_t)k;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, buf, len);
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

/* Maps the waiting child's namespace and opens it. No setgroups "deny"
 * first: we write from the parent namespace, holding CAP_SETGID there. */
static int userns_fill(pid_t pid, const struct idmap_maps *mp, husk_error **err)
{
	char path[64];
	int r = map_write(pid, "uid_map", mp->uid, mp->n_uid);

	if (r < 0)
		return husk_fail(err, -r, "write uid_map");
	r = map_write(pid, "gid_map", mp->gid, mp->n_gid);
	if (r < 0)
		return husk_fail(err, -r, "write gid_map");
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open %s", path);
	return fd;
}

/* An fd on a new user namespace with these mappings. A namespace lives as
 * long as a process or an fd holds it: a child born in it (clone3, so it
 * is there before we write its maps) waits on a pipe until we hold the fd,
 * then goes. */
static int userns_open(const struct idmap_maps *mp, husk_error **err)
{
	int p[2];
	struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };

	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "pipe");
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		char ch;
		close(p[1]);
		/* EOF when the parent is done, or gone. */
		_exit(read(p[0], &ch, 1) < 0);
	}
	int saved = errno;
	close(p[0]);
	int fd = pid < 0 ? husk_fail(err, saved, "clone a user namespace")
			 : userns_fill(pid, mp, err);
	close(p[1]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return fd;
}

/* The bind's flags as bind_remount() would give them, "mount --bind -o":
 * exactly those asked for, the others cleared, atime relatime unless
 * given. Only the top mount, as a remount would. */
static int tree_set_flags(int tree, const struct mount_opts *o)
{
	if (!(o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) && !o->cleared)
		return 0;
	struct mount_attr a = { .attr_set = mount_attr_from_flags(o->flags) };
	a.attr_clr = (BIND_FLAG_ATTRS & ~a.attr_set) | MOUNT_ATTR__ATIME;
	return mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0 ? -errno : 0;
}

/* EINVAL and EPERM are what the kernel says for most refusals: say why. */
static int idmap_fail(husk_error **err, int e, const char *src)
{
	if (e == EINVAL)
		return husk_fail(err, e, "map `%s` (does its filesystem support idmapped "
				 "mounts? is it already idmapped?)", src);
	if (e == EPERM)
		return husk_fail(err, e, "map `%s` (needs CAP_SYS_ADMIN in the initial "
				 "user namespace)", src);
	return husk_fail(err, e, "map `%s`", src);
}

/* Detached clone of the source (its whole tree for rbind), flags set,
 * idmapped (every mount of the tree for ridmap, else the top one). */
static int idmap_tree(const struct spec *s, const struct spec_mount *m,
		      const struct mount_opts *o, husk_error **err)
{
	struct idmap_maps mp;
	unsigned int ot = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			  ((o->flags & MS_REC) ? AT_RECURSIVE : 0);

	pick_mappings(s, m, &mp);
	_cleanup_close_ int ns = userns_open(&mp, err);
	if (ns < 0)
		return -1;
	/* A host path, or relative to the bundle (our cwd), as for binds. */
	_cleanup_close_ int tree = open_tree(AT_FDCWD, m->source, ot);
	if (tree < 0)
		return husk_fail(err, errno, "bind source `%s`", m->source);
	int r = tree_set_flags(tree, o);
	if (r < 0)
		return husk_fail(err, -r, "set mount flags on `%s`", m->source);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	unsigned int at = AT_EMPTY_PATH | (o->ridmap ? AT_RECURSIVE : 0);
	if (mount_setattr(tree, "", at, &a, sizeof(a)) < 0)
		return idmap_fail(err, errno, m->source);
	return TAKE_FD(tree);
}

/* mounts[i]'s detached idmapped tree; -1 with *err set on failure. */
static int prepare_one(const struct spec *s, size_t i, husk_error **err)
{
	const struct spec_mount *m = &s->mounts[i];
	struct mount_opts o;
	int fd = -1;

	if (mount_options_parse(m->options, m->n_options, &o, err) == 0)
		fd = mount_is_idmapped(m, &o) ? idmap_tree(s, m, &o, err) : -2;
	mount_opts_done(&o);
	if (fd == -1)
		return husk_error_wrap(err, "mounts[%zu] (%s): idmap", i, m->destination);
	return fd;
}

int rootfs_idmaps_prepare(const struct spec *s, struct rootfs_idmaps **out,
			  husk_error **err)
{
	struct rootfs_idmaps *im = calloc(1, sizeof(*im));

	*out = NULL;
	if (!im || !(im->fds = malloc((s->n_mounts ? s->n_mounts : 1) * sizeof(int)))) {
		free(im);
		return husk_fail(err, ENOMEM, "idmapped mounts");
	}
	for (; im->n < s->n_mounts; im->n++) {
		int fd = prepare_one(s, im->n, err);
		if (fd == -1) {
			rootfs_idmaps_free(im);
			return -1;
		}
		im->fds[im->n] = fd < 0 ? -1 : fd; /* -2: not idmapped */
	}
	*out = im;
	return 0;
}

void rootfs_idmaps_free(struct rootfs_idmaps *im)
{
	if (!im)
		return;
	for (size_t i = 0; i < im->n; i++)
		if (im->fds[i] >= 0)
			close(im->fds[i]);
	free(im->fds);
	free(im);
}

int rootfs_idmap_attach(const struct rootfs_ctx *c, int root_fd, size_t i, const char *dest,
			const struct mount_opts *o, husk_error **err)
{
	int tree = c->idmaps && i < c->idmaps->n ? c->idmaps->fds[i] : -1;
	struct stat st;

	if (tree < 0)
		return husk_fail(err, 0, "idmap: no idmapped mount was prepared for it");
	if (fstat(tree, &st) < 0)
		return husk_fail(err, errno, "idmap: stat the idmapped mount");
	_cleanup_close_ int tfd = S_ISDIR(st.st_mode) ? mkdir_in_root(root_fd, dest, 0755)
						      : mkfile_in_root(root_fd, dest, 0644);
	if (tfd < 0)
		return husk_fail(err, -tfd, "create mount point `%s`", dest);
	if (check_proc_dest(c, tfd, NULL, tree, err) < 0)
		return -1;
	int r = mnt_attach(tree, tfd);
	if (r < 0)
		return husk_fail(err, -r, "idmap: attach on `%s`", dest);
	/* Propagation and r* attributes, on the mount now at dest. */
	return apply_post_at(root_fd, dest, o, err);
}
