/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's control group: where it goes, making it, putting
 * processes in it, limits, signalling, freezing, and removing it again.
 *
 * Lifecycle as the runtime drives it:
 *
 *     cg = cgroup_new(spec->linux_->cgroups_path, id, manager, &err);
 *     cgroup_create(cg, &err);                 // mkdir, nothing joined yet
 *     cgroup_enter(cg, init_pid, &err);        // before init unshares its
 *                                              // cgroup namespace
 *     cgroup_apply_resources(cg, spec->linux_->resources, &err);
 *     state.cgroup = cgroup_to_json(cg);       // later commands reload it
 *     ...
 *     cg = cgroup_from_json(state.cgroup, &err);
 *     cgroup_freeze / cgroup_pids / cgroup_kill_all / cgroup_destroy
 *
 * Placement follows runc (libcontainer cgroupfs drivers):
 *  - No cgroupsPath: the container id, as a relative path.
 *  - An absolute path "/a/b" goes under the root of every hierarchy:
 *    /sys/fs/cgroup/<hierarchy>/a/b (v1), /sys/fs/cgroup/a/b (v2).
 *  - A relative path goes under the calling process's own cgroup in each
 *    hierarchy (from /proc/self/cgroup); on pure cgroup v2 under the parent
 *    of that cgroup, because a cgroup holding processes cannot hand
 *    controllers down to a child.
 *  - A path with ".." is refused, as is one naming the root itself.
 *
 * Driver, chosen once per cgroup_new() from statfs("/sys/fs/cgroup"):
 *  - cgroup2 there: "v2", one unified hierarchy.
 *  - anything else: "v1", every mounted v1 hierarchy that carries a
 *    controller (co-mounted ones such as "cpu,cpuacct" count once), the
 *    named "name=systemd" hierarchy (runc joins it too), and in hybrid mode
 *    the cgroup2 hierarchy at /sys/fs/cgroup/unified, which is only joined.
 *    Other named v1 hierarchies are left alone. Without a devices hierarchy
 *    v1 refuses to run the container, as runc does: device confinement
 *    would silently be missing.
 *
 * Destroy removes the container's cgroup (and any sub-cgroups the container
 * made inside it) in every hierarchy, plus the parent directories that this
 * container's cgroup_create() made; parents made by someone else, or still
 * used by a sibling container, are left in place.
 *
 * Every function that can fail returns a negative value and fills *err; its
 * message names the file: "cgroup: mkdir /sys/fs/cgroup/memory/a/b".
 * Nothing here is thread-safe; none of it keeps global state.
 */
#ifndef HUSK_CGROUPS_CGROUP_H
#define HUSK_CGROUPS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../base/error.h"

struct json_object;

enum cgroup_manager {
	CGROUP_MANAGER_CGROUPFS,
	CGROUP_MANAGER_SYSTEMD,  /* not implemented yet: cgroup_new() fails */
	CGROUP_MANAGER_DISABLED, /* no cgroup at all; every call is a no-op */
};

/* "cgroupfs", "systemd", "disabled" (the --cgroup-manager values).
 * Returns 0, or -1 for an unknown name. */
int cgroup_manager_parse(const char *name, enum cgroup_manager *m);
const char *cgroup_manager_name(enum cgroup_manager m);

struct cgroup; /* driver, resolved directories, which of them husk made */

/*
 * Resolves where the container's cgroup goes; creates nothing.
 * cgroups_path is linux.cgroupsPath, NULL or "" for none (then id is used,
 * relative). Reads /proc/self/mountinfo (v1) and, for relative paths,
 * /proc/self/cgroup, once each.
 */
struct cgroup *cgroup_new(const char *cgroups_path, const char *id,
			  enum cgroup_manager m, husk_error **err);

/* mkdir -p in every hierarchy, remembering which directories it made.
 * v1 cpuset: each new directory gets its parent's cpuset.cpus/.mems (a
 * task cannot join an empty cpuset). v2: enables every available resource
 * controller in the ancestors' cgroup.subtree_control, as runc does, so
 * limits and statistics work. A cgroup that already existed is refused
 * when it holds processes or is frozen (as runc does): the container would
 * share limits, pause and kill with them.
 * On failure, removes what it made and turns cg inert (every later call,
 * destroy included, does nothing). */
int cgroup_create(struct cgroup *cg, husk_error **err);

/* Moves pid (with all its threads) into the cgroup in every hierarchy.
 * Cost: the kernel's first migration in a while waits for an RCU grace
 * period (about 10 ms on the dev machine); all else here is microseconds.
 * It only reads cg, so a caller may run it in a thread while the child
 * does setup that does not depend on its cgroup. */
int cgroup_enter(struct cgroup *cg, pid_t pid, husk_error **err);

/* Applies linux.resources (json-c object, may be NULL). Supported so far:
 * memory.limit and pids.limit; other keys are ignored for now. Values of
 * the wrong type fail with "config.json: linux.resources.<key>: ...". */
int cgroup_apply_resources(struct cgroup *cg, struct json_object *resources,
			   husk_error **err);

/* Sends sig to every process in the cgroup and its sub-cgroups. Freezes
 * around the signalling so no process escapes by forking (and leaves a
 * paused container paused, unless sig is SIGKILL). On v2 SIGKILL goes
 * through cgroup.kill where the kernel has it. An empty or missing cgroup
 * is not an error. */
int cgroup_kill_all(struct cgroup *cg, int sig, husk_error **err);

/* The pids in the cgroup and its sub-cgroups (v1: read from the pids,
 * freezer or memory hierarchy, the first one present). *pids is
 * heap-allocated (caller frees), NULL when *n is 0. A missing cgroup
 * yields an empty list. */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, husk_error **err);

/* Freezes or thaws every process, returning once the kernel reports the
 * new state (v1 freezer.state, v2 cgroup.events "frozen"). Fails when
 * there is no freezer (v1 without the freezer hierarchy, or DISABLED). */
int cgroup_freeze(struct cgroup *cg, bool frozen, husk_error **err);

/* Whether the container's own cgroup was frozen (paused) by a freeze
 * request; false when there is no freezer or no cgroup. */
int cgroup_is_frozen(struct cgroup *cg, bool *frozen, husk_error **err);

/* SIGKILLs what is left and waits (about 2 s at most) for it to go, then
 * removes the directories as described above. Idempotent: directories that
 * are already gone are fine. Keeps going through every hierarchy and
 * reports the first failure. */
int cgroup_destroy(struct cgroup *cg, husk_error **err);

/* For the container's state file. The object is new (caller puts it). */
struct json_object *cgroup_to_json(const struct cgroup *cg);
/* Rebuilds a cgroup saved by cgroup_to_json(); validates every directory
 * so a damaged state file cannot make destroy remove something else.
 * The result can do everything except cgroup_create(). */
struct cgroup *cgroup_from_json(struct json_object *j, husk_error **err);

/* The cleaned cgroups path as configured: "/husk-tests/c1", or relative
 * ("c1") when it was relative; "" when the manager is DISABLED. */
const char *cgroup_path(const struct cgroup *cg);

/* The container's directory in the hierarchy with that controller
 * ("memory", "cpu", "name=systemd", "" for the hybrid cgroup2 one); for v2
 * the controller is ignored and the one directory is returned. NULL when
 * there is none. */
const char *cgroup_dir(const struct cgroup *cg, const char *controller);

void cgroup_free(struct cgroup *cg);

#endif
