/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json mount options -> what mount(2) and mount_setattr(2) take.
 *
 * Pure string mapping, no system calls: the same table runc uses, so a
 * config that works there means the same thing here. Options that are not
 * flags ("mode=755", "size=65536k", "newinstance", "gid=5") are the
 * filesystem's business and are joined, in order, into the data string.
 */
#ifndef HUSK_ROOTFS_MOUNT_OPTIONS_H
#define HUSK_ROOTFS_MOUNT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>

#include "../base/error.h"

#define MOUNT_OPTS_MAX_PROPAGATION 8

struct mount_opts {
	unsigned long flags;   /* MS_* for mount(2), MS_BIND/MS_REC included */
	unsigned long cleared; /* MS_* the config explicitly asked off ("rw") */
	/* MS_SHARED, MS_PRIVATE|MS_REC, ...: one mount(2) call each, in order */
	unsigned long propagation[MOUNT_OPTS_MAX_PROPAGATION];
	size_t n_propagation;
	/* Recursive r* options, applied with mount_setattr(AT_RECURSIVE). */
	uint64_t attr_set;
	uint64_t attr_clr;
	bool rec_attr; /* at least one r* option was seen */
	bool tmpcopyup;
	/* "idmap"/"ridmap" (runtime-spec 1.2): an idmapped bind mount, of the
	 * top mount only or (ridmap) of every mount in the tree. */
	bool idmap;
	bool ridmap;
	char *data; /* ','-joined non-flag options; NULL when there are none */
};

/*
 * Parses n option strings. Never fails on an unknown string (it becomes
 * data); fails only for too many propagation options or out of memory.
 * *out is reset first; release it with mount_opts_done() whatever the
 * result.
 */
int mount_options_parse(const char **opts, size_t n, struct mount_opts *out,
			husk_error **err);
void mount_opts_done(struct mount_opts *o);

/* True for a bind mount: type "bind" or a bind/rbind option. */
bool mount_opts_is_bind(const char *type, const struct mount_opts *o);

/* linux.rootfsPropagation value -> MS_* flags. NULL and "" give 0.
 * Returns -1 for an unknown value. */
int mount_propagation_parse(const char *name, unsigned long *flags);

/* statvfs().f_flag (ST_*) -> the MS_* per-mount flags it reports. */
unsigned long mount_flags_from_statvfs(unsigned long f_flag);

/* MS_* per-mount flags -> MOUNT_ATTR_* (for fsmount/mount_setattr). */
uint64_t mount_attr_from_flags(unsigned long ms);

/* MS_* that the kernel locks on mounts inherited by a less privileged
 * user namespace; a bind remount there must keep them. */
#define MOUNT_LOCKED_FLAGS                                                     \
	(MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | MOUNT_ATIME_FLAGS)
#define MOUNT_ATIME_FLAGS                                                      \
	(MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME)

#endif
