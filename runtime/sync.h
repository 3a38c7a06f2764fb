/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The create-time protocol between `husk create` (the parent) and the
 * container's init (the child it clones), over one SOCK_SEQPACKET socketpair.
 * Every message is a struct sync_msg; nothing else crosses the socket, and no
 * state is smuggled through argument structs.
 *
 *   parent                                 child (container init)
 *   ------                                 ----------------------
 *   clone3(new namespaces)  ---------->    blocks in sync_recv()
 *   write uid_map/gid_map
 *   SYNC_GO {pid = host pid of child} ->   [v1: write "0" to its cgroups'
 *                                          tasks files, opened by the parent
 *                                          before clone: a self-move skips a
 *                                          kernel wait (cgroups/cgroup.h)]
 *   join the other cgroups,                join/unshare the remaining
 *   set resources                          namespaces, hostname, mounts
 *   SYNC_CGROUP_DONE            ------>    (read before the first step that
 *                                          needs its cgroup: a new cgroup
 *                                          namespace, the mounts under the
 *                                          systemd manager, the hooks, ready)
 *   write config.json and state.json
 *   (the init still dies with us)
 *                       (only if prestart or createRuntime hooks exist)
 *                                    <-    SYNC_HOOKS
 *   run prestart + createRuntime hooks
 *   SYNC_HOOKS_DONE             ------>    createContainer hooks, pivot_root,
 *                                          masked/readonly paths, sysctl,
 *                                          console, executable lookup
 *                                    <-    SYNC_READY
 *   write the pid file
 *   SYNC_COMMIT                 ------>    blocks reading its start pipe
 *   exit                                   until `husk start` writes a byte
 *
 * Crash safety: a minimal state.json (pid 0, the cgroup) exists from just
 * after the cgroup is made (the whole one from SYNC_CGROUP_DONE on), so `delete` can undo a create killed at any later
 * step; the init dies on EOF before SYNC_COMMIT (and by PR_SET_PDEATHSIG), so
 * a killed create never leaves an init that no state.json names.
 *
 * Joining cgroups overlaps the child's mounts on purpose: the first write
 * to a cgroup.procs waits for an RCU grace period (about 10 ms here).
 *
 * Either side may instead send SYNC_ERROR {err, text}; the child then exits
 * and the parent reports the text once and cleans up. EOF on the socket means
 * the other side died. After SYNC_READY the socket is closed; `husk start`
 * talks to init through its two pipes (see runtime/container.h).
 */
#ifndef HUSK_RUNTIME_SYNC_H
#define HUSK_RUNTIME_SYNC_H

#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

enum sync_type {
	SYNC_GO = 1,     /* parent → child: user namespace mappings are in place */
	SYNC_CGROUP_DONE, /* parent → child: it is in its cgroups, limits set */
	SYNC_HOOKS,      /* child → parent: run prestart + createRuntime now */
	SYNC_HOOKS_DONE, /* parent → child: those hooks succeeded */
	SYNC_READY,      /* child → parent: set up, waiting for start */
	SYNC_ERROR,      /* either way: failed; text says why, err is errno */
	SYNC_COMMIT,     /* parent → child: state.json and the pid file are written */
};

struct sync_msg {
	uint32_t type;  /* enum sync_type */
	int32_t err;    /* SYNC_ERROR: errno value, or 0 */
	int64_t pid;    /* SYNC_GO: the child's pid as the host sees it */
	char text[1024]; /* SYNC_ERROR: NUL-terminated message */
};

/* Both return 0 or a negative value with *err set ("sync: ..."). A peer that
 * reports SYNC_ERROR makes sync_expect() fail with the peer's message. */
int sync_send(int fd, const struct sync_msg *m, husk_error **err);
int sync_send_type(int fd, enum sync_type type, husk_error **err);
int sync_send_error(int fd, const husk_error *e);
int sync_expect(int fd, enum sync_type want, struct sync_msg *out, husk_error **err);

#endif
