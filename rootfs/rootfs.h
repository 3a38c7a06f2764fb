/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's filesystem view: mounts, /dev, pivot_root, masked and
 * read-only paths (OCI runtime-spec 1.2 config.md "Mounts", config-linux.md
 * "Devices", "Default Devices", "Masked Paths", "Readonly Paths", "Rootfs
 * Mount Propagation"; runc's behaviour where the spec is silent).
 *
 * Sequence, all but rootfs_validate() in the container's init process once
 * it is in its NEW mount namespace (and user namespace, if any), already in
 * its cgroup (cgroup mounts bind the caller's own cgroup), with the bundle
 * directory as its cwd (relative bind sources are relative to the bundle,
 * as config.md says, and resolve through that cwd):
 *
 *   rootfs_validate()      in husk, before fork: nothing is created
 *   rootfs_mount_all()     propagation, rootfs bind, mounts, /dev
 *   ... createContainer hooks (old root still visible) ...
 *   rootfs_pivot()         pivot_root (or MS_MOVE + chroot), chdir("/")
 *   ... /dev/console, sysctl writes, process.cwd ...
 *   rootfs_finalize()      ro tmpfs and /dev, root.readonly, readonlyPaths,
 *                          maskedPaths, final rootfsPropagation
 *
 * Security: every target inside the rootfs (mount destinations, device
 * nodes, masked and read-only paths) is resolved with openat2(
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from an fd on the rootfs, and
 * created component by component relative to already-opened directories;
 * mounts are made onto those fds. A symlink in the image therefore cannot
 * send a mount or a mknod outside the rootfs (a dangling one is followed
 * inside it: a bind onto an image's dangling /etc/resolv.conf creates and
 * covers its target, as with runc). proc and sysfs must land on a
 * plain directory (no symlink anywhere in the path), and nothing but proc
 * (and a handful of lxcfs files) may be mounted inside /proc. Masking binds
 * the container's /dev/null only after checking it is the 1:3 character
 * device, and checks the result again after mounting. Bind sources are
 * host paths and resolve on the host, as in runc.
 *
 * Needs Linux >= 5.6 (openat2); the r* recursive options need 5.12
 * (mount_setattr), tmpcopyup 5.2 (fsopen).
 */
#ifndef HUSK_ROOTFS_ROOTFS_H
#define HUSK_ROOTFS_ROOTFS_H

#include <stdbool.h>

#include "../base/error.h"
#include "../spec/spec.h"

struct cgroup;
struct rootfs_idmaps;
struct rootfs_overlay;

struct rootfs_ctx {
	const struct spec *spec;
	const char *rootfs; /* absolute, canonical host path of root.path */
	/* New user namespace: mknod is impossible, so devices are bind
	 * mounts of the host's nodes onto empty files. */
	bool userns;
	/* New cgroup namespace: on cgroup v1 hosts mount the hierarchies
	 * themselves instead of binding the caller's cgroup directories. */
	bool cgroupns;
	bool no_pivot; /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	/* The container's cgroup, whose v1 directories cgroup mounts bind
	 * (the init may not be in them yet); NULL: read /proc/self/cgroup. */
	const struct cgroup *cg;
	/* An overlay root (rootfs/overlay.h) mounted onto rootfs in place of
	 * its bind mount onto itself; NULL for a plain rootfs. */
	const struct rootfs_overlay *overlay;
	/* The idmapped bind mounts, from rootfs_idmaps_prepare(); NULL when
	 * none were prepared (an idmapped mount then fails). */
	const struct rootfs_idmaps *idmaps;
};

/*
 * Checks, before anything exists: every mount's options (unknown strings
 * are filesystem data, as in runc), uidMappings/gidMappings and the
 * "idmap"/"ridmap" options only on bind mounts, with mappings to use
 * (both of their own, or the container's), destinations non-empty,
 * linux.rootfsPropagation a known value, maskedPaths/readonlyPaths
 * absolute, device entries sane, and that rootfs is an existing directory.
 * Errors name the JSON path:
 *   config.json: mounts[2]: uidMappings and gidMappings must be given together
 *   config.json: root.path: /x/rootfs: No such file or directory
 * Bind sources are not checked: hooks may still create them.
 */
int rootfs_validate(const struct spec *s, const char *rootfs, husk_error **err);

/*
 * Idmapped bind mounts (runtime-spec 1.2: mounts[].uidMappings/gidMappings,
 * options "idmap"/"ridmap"). Only a process with CAP_SYS_ADMIN in the host
 * user namespace may idmap a host filesystem's mount, and the init is in
 * the container's already: call this in husk, after rootfs_validate() and
 * the chdir to the bundle and before cloning the init, which inherits the
 * detached trees (fds, closed on exec) and attaches them in
 * rootfs_mount_all() through rootfs_ctx.idmaps. *out (NULL on failure)
 * goes to rootfs_idmaps_free(), which takes NULL too.
 * Errors: "mounts[3] (/data): idmap: map `/srv/data` (...): Invalid argument".
 */
int rootfs_idmaps_prepare(const struct spec *s, struct rootfs_idmaps **out,
			  husk_error **err);
void rootfs_idmaps_free(struct rootfs_idmaps *im);

/*
 * Step 1, before the createContainer hooks. Makes "/" MS_SLAVE|MS_REC (or
 * linux.rootfsPropagation when given, as runc), makes the rootfs' parent
 * mount private if it is shared (pivot_root refuses otherwise), bind mounts
 * the rootfs onto itself recursively (or mounts c->overlay onto it), then
 * mounts[] in order (types proc,
 * sysfs, tmpfs with tmpcopyup, cgroup v1/v2, bind with remount flags,
 * propagation options and recursive r* attributes), then -- unless /dev is
 * a bind mount -- the default devices (null zero full random urandom tty,
 * 0666 root:root) and linux.devices (mknod, or binds of the host nodes when
 * c->userns or mknod gets EPERM), /dev/ptmx -> pts/ptmx and the /dev/fd,
 * stdin, stdout, stderr (and core, when the host has /proc/kcore) links.
 * tmpfs mounts and /dev stay writable until rootfs_finalize(), so later
 * mounts and device nodes can still be created under them.
 * Refuses a [r]private rootfsPropagation with no_pivot (as runc).
 * Errors: "mounts[3] (/proc): mount `proc` on `/proc`: Operation not permitted".
 */
int rootfs_mount_all(const struct rootfs_ctx *c, husk_error **err);

/*
 * Step 2, after the createContainer hooks: pivot_root(".", ".") from inside
 * the rootfs, detach the old root (made rslave first so nothing propagates
 * to the host), chdir("/"). With c->no_pivot: hide the host's full proc and
 * sysfs mounts, MS_MOVE the rootfs onto "/", chroot("."), chdir("/"). Then
 * re-points any of fds 0-2 that were the host's /dev/null at the
 * container's (checked to be the real null device), as runc does.
 */
int rootfs_pivot(const struct rootfs_ctx *c, husk_error **err);

/*
 * Step 3, after pivot, console and sysctl (it makes /proc/sys read-only):
 * remounts read-only the tmpfs and /dev mounts that asked for "ro",
 * root.readonly ("/" read-only, other flags kept), readonlyPaths (bind on
 * themselves, read-only recursively), maskedPaths (/dev/null over files,
 * an empty read-only tmpfs over directories), missing paths skipped; last,
 * a shared/unbindable rootfsPropagation is applied to "/" (it could not be
 * before pivot_root, which refuses shared mounts).
 */
int rootfs_finalize(const struct rootfs_ctx *c, husk_error **err);

#endif
