/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the rootfs/ files; not part of the rootfs.h contract.
 *
 * Functions returning int give a value >= 0 (often an fd) on success and
 * -errno on failure unless they take a husk_error, in which case they return
 * -1 with *err filled.
 */
#ifndef HUSK_ROOTFS_INTERNAL_H
#define HUSK_ROOTFS_INTERNAL_H

#include <linux/openat2.h> /* RESOLVE_* for open_in_root() */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"
#include "rootfs.h"

/* ---- resolve.c: paths inside the container root, never outside ---- */

/* "/proc/self/fd/<fd>" for mount(2) and friends. */
#define PROCFD_BUF 32
const char *procfd_path(int fd, char buf[PROCFD_BUF]);

/* Lexically cleans a container path: collapses "//", "." and "..", never
 * climbing above "/". Always absolute. NULL only when out of memory. */
char *rootfs_path_clean(const char *path);

/* openat2(root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra):
 * symlinks, absolute or "..", cannot leave root_fd. -errno on failure. */
int open_in_root(int root_fd, const char *path, int oflags, uint64_t extra_resolve);

/* O_PATH fd of directory `path` inside root, creating missing components
 * (mode, after umask) one at a time, each created with *at() relative to
 * the directory already opened in root. A dangling symlink on the way is
 * followed inside root and its target created (runc does the same). */
int mkdir_in_root(int root_fd, const char *path, mode_t mode);

/* O_PATH fd of `path` inside root, creating an empty regular file (and its
 * missing parent directories) when nothing is there; a dangling symlink
 * there gets its target created, as for mkdir_in_root(). */
int mkfile_in_root(int root_fd, const char *path, mode_t mode);

/* O_PATH fd of directory `name` in dir_fd, made (mode) when missing;
 * never through a symlink. -errno on failure. */
int mkdir_child(int dir_fd, const char *name, mode_t mode);

/* The host path an fd refers to (readlink of its procfd); heap. */
char *fd_host_path(int fd);

/* ---- mntutil.c: mounts on fds ---- */

/* mount(2) with the target given as an fd (through its procfd). */
int mount_on_fd(const char *src, int target_fd, const char *type,
		unsigned long flags, const char *data);

/* Sets (recursively or not) MOUNT_ATTR_RDONLY on the mount at fd, without
 * touching its other flags (which a user namespace may have locked). */
int mnt_set_readonly(int fd, bool recursive);

/* Same for the path inside root (-errno). */
int mnt_set_readonly_at(int root_fd, const char *path, bool recursive);

/* Bind mounts what src_fd refers to onto target_fd (new mount API, so it
 * needs no /proc; falls back to procfd mount(2)). */
int mnt_bind_fd(int src_fd, int target_fd, bool recursive);

/* A recursive bind of src_fd onto target_fd made read-only before it is
 * attached: no window where it is writable, and no reopen to find it.
 * -ENOSYS before Linux 5.12 (no open_tree/mount_setattr). */
int mnt_bind_fd_readonly(int src_fd, int target_fd);

/* Mounts a fresh read-only, empty tmpfs onto target_fd. */
int mnt_ro_tmpfs(int target_fd);

/* A new, not yet attached mount (fsopen/fsmount): data is split on ','
 * into fsconfig parameters; ms_flags become mount attributes and
 * superblock flags. Returns the mount fd. */
int mnt_new_detached(const char *fstype, const char *source, const char *data,
		     unsigned long ms_flags);

/* Attaches a detached mount fd (open_tree/fsmount) onto target_fd. */
int mnt_attach(int mnt_fd, int target_fd);

/* ---- mountinfo.c ---- */

struct mountinfo_entry {
	int id;
	int parent;
	char *root;        /* path inside the filesystem that is mounted */
	char *mount_point; /* unescaped */
	char *mount_opts;
	char *optional;    /* "shared:5 master:1", may be "" */
	char *fstype;
	char *source;
	char *super_opts;
};

/* Calls cb for every line of /proc/self/mountinfo; stops when cb returns
 * non-zero and returns that. -errno when the file cannot be read. */
typedef int (*mountinfo_cb)(const struct mountinfo_entry *e, void *userdata);
int mountinfo_foreach(mountinfo_cb cb, void *userdata);

/* ---- devices.c ---- */
bool rootfs_needs_dev_setup(const struct spec *s);
int rootfs_setup_dev(const struct rootfs_ctx *c, int root_fd, husk_error **err);

/* ---- cgroupfs.c ---- */
struct mount_opts;
int rootfs_mount_cgroup(const struct rootfs_ctx *c, int root_fd,
			const struct spec_mount *m, const struct mount_opts *o,
			const char *dest, husk_error **err);

/* ---- mounts.c, shared with cgroupfs.c ---- */
/* Bind mounts host path src onto dest (inside root), then applies the
 * remount flags, propagation and recursive attributes of o. */
int rootfs_bind(const struct rootfs_ctx *c, int root_fd, const char *src,
		const char *dest, const struct mount_opts *o, husk_error **err);

/* The same onto directory `name` in dir_fd, made when missing: for a
 * directory husk itself just mounted (the tmpfs of a v1 /sys/fs/cgroup),
 * which nothing in the container can have touched, so it needs no walk
 * from the root. dest is the container path, for messages. */
int rootfs_bind_in_dir(int dir_fd, const char *name, const char *src, const char *dest,
		       const struct mount_opts *o, husk_error **err);

/* Refuses a target (already resolved to fd) that is /proc without being a
 * procfs, or inside /proc (lxcfs files excepted). src_fd >= 0 for binds. */
int check_proc_dest(const struct rootfs_ctx *c, int target_fd, const char *type,
		    int src_fd, husk_error **err);

/* Applies o's propagation options and recursive attributes to the mount
 * now at dest (opened afresh: the old fd is under the new mount). */
int apply_post_at(int root_fd, const char *dest, const struct mount_opts *o,
		  husk_error **err);

/* ---- idmap.c ---- */
/* An idmapped mount: uidMappings/gidMappings or "idmap"/"ridmap". */
bool mount_is_idmapped(const struct spec_mount *m, const struct mount_opts *o);

/* rootfs_validate()'s checks of idmapped mounts[i] (bind: it is one). */
int rootfs_idmap_validate(const struct spec *s, size_t i, bool bind, husk_error **err);

/* In the init: attaches mounts[i]'s prepared idmapped tree on dest
 * (created inside root like a bind's), then o's propagation and r*. */
int rootfs_idmap_attach(const struct rootfs_ctx *c, int root_fd, size_t i, const char *dest,
			const struct mount_opts *o, husk_error **err);

/* ---- pivot.c ---- */
/* Opens the container's /dev/null (inside root_fd, oflags), failing unless
 * it is the 1:3 character device. */
int open_dev_null(int root_fd, int oflags, husk_error **err);

/* ---- copyup.c ---- */
/* Copies the tree under src_dir (an O_RDONLY directory fd) into dst_dir,
 * keeping modes, owners and times; symlinks are copied, not followed. */
int copy_tree(int src_dir, int dst_dir);

#endif
