/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An overlay root filesystem: read-only lower layers shared by every
 * container made from them, and an upper and work directory of the
 * container's own, so that a hundred containers from one image keep one
 * copy of its files and each writes only to its upper.
 *
 * Asked for by the bundle's annotations
 *   io.husk.rootfs.lower  colon-separated directories, top layer first
 *                         (relative ones are relative to the bundle);
 *                         without it the bundle's rootfs is the one lower
 *   io.husk.rootfs.upper  a directory that keeps the writes (made when
 *                         missing, never removed by husk); without it the
 *                         upper is <state dir>/upper, thrown away at delete
 * or by `create --rootfs-overlay`, which keeps a plain bundle's rootfs
 * untouched. The overlay is mounted onto root.path inside the container's
 * own mount namespace, in place of the rootfs' bind mount onto itself, so
 * it never shows in the host's mount table.
 */
#ifndef HUSK_ROOTFS_OVERLAY_H
#define HUSK_ROOTFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/error.h"
#include "../spec/spec.h"

#define OVERLAY_ANN_LOWER "io.husk.rootfs.lower"
#define OVERLAY_ANN_UPPER "io.husk.rootfs.upper"

struct rootfs_overlay {
	char **lower; /* absolute, canonical host directories, top first */
	size_t n_lower;
	char *upper; /* absolute */
	char *work;  /* absolute, on the same mount as upper */
	/* upper came from io.husk.rootfs.upper: work lies outside the state
	 * directory (beside the upper) and must be removed on its own. */
	bool external;
};

/* Whether the container's root is an overlay: only in-memory checks, so a
 * plain create pays nothing for it. */
bool overlay_requested(const struct spec *s, bool flag);

/*
 * Resolves the lowers and the upper (relative to the cwd, the bundle) and
 * names the work directory: <state_dir>/upper and <state_dir>/work, or
 * beside an io.husk.rootfs.upper U, "<dir of U>/.<name of U>.husk-work-<id>".
 * Creates nothing; state_dir is absolute. Errors name the annotation.
 */
int overlay_plan(const struct spec *s, const char *rootfs, const char *state_dir,
		 const char *id, struct rootfs_overlay *ov, husk_error **err);

/* Creates the upper (when missing; its root takes the top lower's owner
 * and mode, which the container sees as "/") and the work directory. */
int overlay_make_dirs(const struct rootfs_overlay *ov, husk_error **err);

/* Mounts the overlay onto target (an absolute host path) in the caller's
 * mount namespace; the new mount API with "lowerdir+" (Linux >= 6.8), else
 * mount(2) with one option string. */
int overlay_mount(const struct rootfs_overlay *ov, const char *target, husk_error **err);

void overlay_clear(struct rootfs_overlay *ov);

/* Splits "a:b:c" into a NULL-terminated heap array; empty items are
 * refused (NULL, errno EINVAL). */
char **overlay_split_lower(const char *value, size_t *n);

#endif
