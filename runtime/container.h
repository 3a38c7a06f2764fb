/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A container's lifecycle as the commands see it: create (clone the init and
 * set it up, see runtime/sync.h), load (state + lock), status, start, signal,
 * destroy. The state's `status` is computed, never stored:
 *   stopped  the init is gone (or a zombie, or its pid was reused)
 *   created  the init still holds its start pipe (pipe:[start_ino] at fd
 *            start_fd), i.e. `start` has not released it yet
 *   paused   its cgroup is frozen
 *   running  otherwise
 */
#ifndef HUSK_RUNTIME_CONTAINER_H
#define HUSK_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "../spec/spec.h"
#include "../spec/state.h"
#include "cli.h"

struct cgroup;
struct rootfs_idmaps;
struct rootfs_overlay;

struct create_opts {
	const char *id;
	const char *bundle; /* NULL = current directory */
	const char *pid_file;
	const char *console_socket;
	const char *pidfd_socket;
	bool no_pivot;
	bool no_new_keyring;
	unsigned preserve_fds;
	const char *network; /* --network (netns/netns.h), NULL when not given */
	bool console_is_ours; /* run in the foreground with a terminal: we receive the pty */
	bool rootfs_overlay; /* --rootfs-overlay: writes go to a per-container upper */
	bool vm;               /* --vm: in a micro-VM (vm/vm.h) */
	const char *vm_kernel; /* --vm-kernel, NULL when not given */
	/* Set by container_create() when the root is an overlay, for the init. */
	const struct rootfs_overlay *overlay;
	/* Set by container_create(): idmapped bind mounts made for the init. */
	const struct rootfs_idmaps *idmaps;
};

struct created {
	pid_t pid;
	int pidfd;          /* owned by the caller */
	int console_master; /* with console_is_ours, else -1 */
};

int container_create(const struct husk_opts *o, const struct create_opts *c,
		     struct created *out, husk_error **err);

struct container {
	int rootfd;
	int dirfd; /* locked */
	struct container_state st;
	struct cgroup *cg; /* NULL when the container has none */
};

/* CONTAINER_HALF_MADE (with *err set, the directory still open and locked)
 * when the state directory has no state.json: see cmd_delete. */
#define CONTAINER_HALF_MADE (-2)
int container_load(const struct husk_opts *o, const char *id, struct container *c,
		   husk_error **err);
void container_release(struct container *c);

const char *container_status(const struct container *c);
bool container_init_alive(const struct container *c);

/* Releases a created container's init into its user process and runs the
 * poststart hooks. */
int container_start(const struct husk_opts *o, struct container *c, husk_error **err);

/* Signals the init (all = every process in its cgroup). */
int container_signal(struct container *c, int sig, bool all, husk_error **err);

/* Kills what is left, removes its cgroup, runs poststop hooks, removes its
 * state. Refuses a running container unless force. */
int container_destroy(const struct husk_opts *o, struct container *c, bool force,
		      husk_error **err);

/* Loads the config.json saved at create time. */
struct spec *container_spec(const struct container *c, husk_error **err);

static inline void spec_freep(struct spec **s)
{
	spec_free(*s);
}

/* Parses "9", "KILL", "SIGKILL"; 0 when unknown. */
int signal_from_name(const char *name);

#endif
