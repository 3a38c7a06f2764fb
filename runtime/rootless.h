/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * husk run by an unprivileged user ("rootless"), as runc 1.1 does it.
 *
 *  - State: without --root, $XDG_RUNTIME_DIR/husk instead of /run/husk.
 *  - The user namespace: the config's linux.uidMappings/gidMappings are
 *    written by the parent. When they map only the caller (one entry each,
 *    size 1, the caller's euid/egid), it writes them itself: uid_map, then
 *    "deny" to setgroups (the kernel's price for an unprivileged gid_map),
 *    then gid_map. Anything else goes through the setuid helpers newuidmap
 *    and newgidmap (Debian's uidmap), which allow the ranges /etc/subuid
 *    and /etc/subgid give the caller.
 *  - The init stays dumpable: an unprivileged parent must reach its
 *    /proc/<pid> (uid_map, the start pipe), and the init has nothing the
 *    caller does not have already.
 *  - cgroups (--rootless, runc's meaning): when true, a cgroup husk may not
 *    create (EACCES, EPERM, EROFS) means the container runs without one,
 *    unless linux.resources sets a limit, which then fails create naming
 *    the field; device rules are ignored there as runc ignores them (the
 *    container can only reach the nodes bound from the host, with the
 *    caller's own permissions). auto (the default) is true when husk runs
 *    with euid != 0 or inside a user namespace that is not the host's.
 */
#ifndef HUSK_RUNTIME_ROOTLESS_H
#define HUSK_RUNTIME_ROOTLESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "../base/error.h"
#include "../spec/spec.h"

struct json_object;

/* --rootless auto: euid != 0, or a user namespace other than the host's. */
bool rootless_auto(void);

/* The default --root: /run/husk as root, else $XDG_RUNTIME_DIR/husk (heap
 * string, caller frees). NULL with *err naming both when the caller is not
 * root and XDG_RUNTIME_DIR is unset. */
char *rootless_default_root(husk_error **err);

/* What an unprivileged caller cannot do, refused before anything is made,
 * as runc refuses it: a container without a user namespace, and uid=/gid=
 * mount options naming an id its new user namespace does not map:
 *   config.json: mounts[2].options: gid=5: not mapped by linux.gidMappings */
int rootless_validate(const struct spec *s, husk_error **err);

/* Writes pid's uid_map and gid_map as an unprivileged caller (see above).
 * Errors name the mapping and the helper's exit status; the helper's own
 * message (which range /etc/subuid lacks) is on stderr before it. */
int rootless_write_mappings(pid_t pid, const struct spec *s, husk_error **err);

/* True when a cgroup failure is one of permission: rootless runs without. */
bool rootless_cgroup_denied(const husk_error *err);

/* Fails, naming the first field set ("linux.resources.memory.limit"), when
 * linux.resources asks for a limit; why (the cgroup failure) is appended.
 * devices are not limits here. A value of 0, false, "" or an empty array or
 * object is not set, as runc reads them. */
int rootless_check_resources(struct json_object *resources, const husk_error *why,
			     husk_error **err);

#endif
