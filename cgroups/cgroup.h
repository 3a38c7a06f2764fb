/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's control group: where it goes, making it, putting
 * processes in it, limits, signalling, freezing, and removing it again.
 *
 * Lifecycle as the runtime drives it:
 *
 *     cg = cgroup_new(spec->linux_->cgroups_path, id, manager, &err);
 *     cgroup_create(cg, resources, &err);      // mkdir, nothing joined yet
 *     cgroup_enter(cg, init_pid, &err);        // before init unshares its
 *                                              // cgroup namespace
 *     cgroup_apply_resources(cg, spec->linux_->resources, &err);
 *     state.cgroup = cgroup_to_json(cg);       // later commands reload it
 *     ...
 *     cg = cgroup_from_json(state.cgroup, &err);
 *     cgroup_freeze / cgroup_pids / cgroup_kill_all / cgroup_destroy
 *     cgroup_update / cgroup_stats / cgroup_oom_count
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
 * The systemd manager (--systemd-cgroup; cgroups/systemd.h) puts the
 * container in a transient scope unit: cgroupsPath "slice:prefix:name"
 * names the unit "<prefix>-<name>.scope" in that slice (defaults when
 * empty: system.slice, "husk", the id), and its cgroup is where systemd
 * keeps it: "a-b.slice" is /a.slice/a-b.slice. systemd makes the cgroup
 * when cgroup_enter() starts the unit with the init's pid, and removes it
 * when cgroup_destroy() stops the unit; every other call works on the
 * unit's cgroup through cgroupfs like the driver below. Without systemd
 * on the system bus cgroup_new() fails ("systemd cgroup manager: no
 * systemd on the system bus: ...").
 *
 * Driver, chosen once per cgroup_new() from statfs("/sys/fs/cgroup"):
 *  - cgroup2 there: "v2", one unified hierarchy.
 *  - anything else: "v1", every mounted v1 hierarchy that carries a
 *    controller (co-mounted ones such as "cpu,cpuacct" count once), the
 *    named "name=systemd" hierarchy (runc joins it too), and in hybrid mode
 *    the cgroup2 hierarchy at /sys/fs/cgroup/unified, which is only joined,
 *    and only when statfs says it is cgroup2 (an empty tmpfs over it, as
 *    crun needs, hides it: it is then skipped).
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
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

struct json_object;

enum cgroup_manager {
	CGROUP_MANAGER_CGROUPFS,
	CGROUP_MANAGER_SYSTEMD,  /* a transient scope unit over D-Bus */
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
 * resources is linux.resources (may be NULL): the systemd manager turns
 * it into unit properties here, so a bad value fails before anything
 * exists, and makes nothing (the unit starts in cgroup_enter()).
 * v1 cpuset: each new directory gets its parent's cpuset.cpus/.mems (a
 * task cannot join an empty cpuset). v2: enables every available resource
 * controller in the ancestors' cgroup.subtree_control, as runc does, so
 * limits and statistics work. A cgroup that already existed is refused
 * when it holds processes or is frozen (as runc does): the container would
 * share limits, pause and kill with them.
 * On failure, removes what it made and turns cg inert (every later call,
 * destroy included, does nothing). */
int cgroup_create(struct cgroup *cg, struct json_object *resources,
		  husk_error **err);

/* Moves pid (with all its threads) into the cgroup in every hierarchy.
 * systemd manager: the first call starts the unit with pid in it, waits
 * for systemd's job (a minute at most), and joins the v1 hierarchies
 * systemd does not drive; later calls (exec) join through cgroupfs.
 * Cost: the kernel's first migration in a while waits for an RCU grace
 * period (about 10 ms on the dev machine); all else here is microseconds.
 * It only reads cg, so a caller may run it in a thread while the child
 * does setup that does not depend on its cgroup. */
int cgroup_enter(struct cgroup *cg, pid_t pid, husk_error **err);

/* The container's cgroup2 directory (pure v2, or the hybrid hierarchy) as
 * an fd for clone3(CLONE_INTO_CGROUP), or -1 when it has none (or when
 * systemd has yet to make it). A process
 * cloned into it needs only cgroup_enter_v1(): it joins the rest without
 * a migration, which on the first write waits for an RCU grace period. */
int cgroup_clone_fd(const struct cgroup *cg);
int cgroup_enter_v1(struct cgroup *cg, pid_t pid, husk_error **err);

/*
 * v1 joins the container's init makes itself. A process that moves itself
 * ("0" into a hierarchy's tasks file) does not wait for the RCU grace
 * period that moving another process by pid costs: 10-14 ms after an idle
 * moment, the largest single cost of a cold `run` on a v1 host (0.1-0.4 ms
 * measured for the self-move).
 *
 * cgroup_self_join_open() opens the tasks file of every v1 hierarchy with
 * controllers into fds[max] and returns how many (0 when cg is not a
 * cgroupfs v1 cgroup: the caller then joins the usual way), or -1.
 * cgroup_self_join(), in the process to move, writes "0" through them.
 * The caller then joins the rest with cgroup_enter_v2().
 */
#define CGROUP_SELF_JOIN_MAX 16
int cgroup_self_join_open(const struct cgroup *cg, int fds[], size_t max, husk_error **err);
int cgroup_self_join(const int fds[], size_t n, husk_error **err);
int cgroup_enter_v2(struct cgroup *cg, pid_t pid, husk_error **err);

/* cgroup_enter() for a pid that was cloned into the cgroup2 part
 * (cloned_into) and/or joins its v1 hierarchies itself (self_joins): only
 * the rest. */
int cgroup_enter_rest(struct cgroup *cg, pid_t pid, bool self_joins, bool cloned_into,
		      husk_error **err);

/*
 * Applies linux.resources (json-c object, may be NULL), mapped to cgroupfs
 * files as runc 1.1 maps them (v1: libcontainer/cgroups/fs, v2: fs2):
 *
 *  - devices: the config's rules, then runc's defaults (mknod of any
 *    device; rwm on null, zero, full, random, urandom, tty, ptmx, the pty
 *    slaves 136:*, tun 10:200), replayed from deny-all as the v1 kernel
 *    replays writes. v1: devices.deny/devices.allow, checked against
 *    devices.list after. v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
 *    attached to the cgroup. Applied even without linux.resources. A
 *    deny that would only partly undo a wildcard allow is refused (the
 *    v1 kernel ignores it silently).
 *  - memory: limit, reservation, swap (memory+swap, v1 memsw; v2
 *    memory.swap.max = swap - limit), swappiness, disableOOMKiller and
 *    useHierarchy (v1 only; ignored on v2 as runc does), kernel and
 *    kernelTCP ignored on both (runc 1.1), checkBeforeUpdate (v2).
 *  - cpu: shares (v2 cpu.weight = 1 + ((shares - 2) * 9999) / 262142),
 *    quota/period (v2 cpu.max), burst, idle, cpus/mems (cpuset),
 *    realtimeRuntime/realtimePeriod (v1; refused on v2).
 *  - pids.limit, blockIO (weight, leafWeight, weightDevice, throttles),
 *    hugepageLimits (and the .rsvd limits where the kernel has them),
 *    network (v1 net_cls/net_prio; ignored on v2 as runc does), rdma.
 *  - unified: v2 files written verbatim, last; a missing file or a
 *    controller not enabled fails. On v1 only files of the hybrid cgroup2
 *    hierarchy can be set; anything else is refused.
 *
 * 0 means "not set" wherever runc reads it so; -1 means unlimited. Unknown
 * keys are ignored (runtime-spec: unknown properties). A hierarchy that is
 * not mounted fails only when a value for it is set. Errors name the
 * setting and the file: "config.json: linux.resources.memory.limit: write
 * memory.limit_in_bytes: Invalid argument"; the caller destroys the
 * cgroup after a failure.
 */
int cgroup_apply_resources(struct cgroup *cg, struct json_object *resources,
			   husk_error **err);

/* `husk update`: the same mapping for the keys given in resources (what
 * runc's update takes, merged by the caller or not: absent keys leave the
 * files as they are), except devices, which update leaves alone as runc
 * does (rewriting them would briefly deny every device to the running
 * container). v2 memory.swap without memory.limit converts against the
 * memory.max in force. The systemd manager first sets the same values as
 * unit properties (SetUnitProperties, runtime), so that systemd does not
 * undo them later. A failure may leave earlier keys applied. */
int cgroup_update(struct cgroup *cg, struct json_object *resources,
		  husk_error **err);

/* runc's `events --stats` "data" object (types.Stats of runc 1.1, with
 * Go's omitempty rules): {"cpu":{"usage":{"total","percpu",
 * "percpu_kernel","percpu_user","kernel","user"},"throttling":{"periods",
 * "throttledPeriods","throttledTime"}},"memory":{"cache","usage":{"limit",
 * "usage","max","failcnt"},"swap":{...},"kernel":{...},"kernelTCP":{...},
 * "raw":{...}},"pids":{"current","limit"},"blkio":{
 * "ioServiceBytesRecursive":[{"major","minor","op","value"}],
 * "ioServicedRecursive":[...]},"hugetlb":{"2MB":{"usage","max",
 * "failcnt"}}}. Times in nanoseconds; v2 swap is reported as memory+swap
 * like v1; an unlimited v2 limit is UINT64_MAX. runc's "cpuset",
 * "intel_rdt" and "network_interfaces" are not cgroup data and are left
 * to the caller. New object (caller puts it); NULL with *err on failure,
 * or when the manager is DISABLED. */
struct json_object *cgroup_stats(struct cgroup *cg, husk_error **err);

/* How many processes the kernel OOM-killed in the container's cgroup so
 * far (v1 memory.oom_control oom_kill, v2 memory.events oom_kill); a rise
 * is an "oom" event. 0 without a memory cgroup. */
int cgroup_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err);

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
 * removes the directories as described above (systemd manager: stops the
 * unit, waiting for the job, and resets it if it failed). Idempotent: directories that
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

/* Whether the directories exist only once cgroup_enter() has run (the
 * systemd manager makes them with the unit): a process must not look for
 * them before. false for NULL. */
bool cgroup_made_on_enter(const struct cgroup *cg);

void cgroup_free(struct cgroup *cg);

#endif
