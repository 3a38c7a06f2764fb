/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's init, from clone to execve. Order matters and follows the
 * runtime-spec's lifecycle; see runtime/sync.h for the protocol. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fault.h"
#include "../cgroups/cgroup.h"
#include "../rootfs/rootfs.h"
#include "console.h"
#include "exec_path.h"
#include "hooks.h"
#include "init_steps.h"
#include "process_attrs.h"
#include "process_start.h"
#include "sync.h"

static int init_identity(const struct init_ctx *ctx, husk_error **err)
{
	bool joined_user = ctx->ns->n_join && ctx->ns->join_types[0] == CLONE_NEWUSER;
	if (ctx->ns->new_user || joined_user) {
		/* Become root of the (possibly new) user namespace. */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return husk_fail(err, errno, "become root in the user namespace");
	}
	return init_set_names(ctx->spec, ctx->opts->no_new_keyring, err);
}

static int init_hooks(const struct init_ctx *ctx, pid_t pid, enum spec_hook_kind kind,
		      const char *status, husk_error **err)
{
	if (!ctx->spec->hooks.n[kind])
		return 0;
	struct container_state st = *ctx->state;
	st.pid = pid;
	_cleanup_free_ char *json = state_oci_json(&st, status);
	return hooks_run(ctx->spec, kind, json, err);
}

/* Mounts, then the hooks that run before pivot_root, then pivot_root. */
static int init_rootfs(const struct init_ctx *ctx, const struct rootfs_ctx *rc, pid_t pid,
		       husk_error **err)
{
	const struct spec *s = ctx->spec;
	bool own_mounts = init_own_mounts(s);
	/* Under systemd the directories a v1 cgroup mount binds appear only
	 * when the unit starts: no overlap with the parent's join then. */
	bool wait_first = !ctx->ns->new_cgroup && cgroup_made_on_enter(ctx->cg);

	if (wait_first && sync_expect(ctx->sync_fd, SYNC_CGROUP_DONE, NULL, err) < 0)
		return -1;
	if (own_mounts && rootfs_mount_all(rc, err) < 0)
		return -1;
	FAULT_POINT("init-after-mounts");
	/* Hooks and the user's process run in the container's cgroup. */
	if (!ctx->ns->new_cgroup && !wait_first &&
	    sync_expect(ctx->sync_fd, SYNC_CGROUP_DONE, NULL, err) < 0)
		return -1;
	if (s->hooks.n[SPEC_HOOK_PRESTART] || s->hooks.n[SPEC_HOOK_CREATE_RUNTIME]) {
		if (sync_send_type(ctx->sync_fd, SYNC_HOOKS, err) < 0 ||
		    sync_expect(ctx->sync_fd, SYNC_HOOKS_DONE, NULL, err) < 0)
			return -1;
	}
	if (init_hooks(ctx, pid, SPEC_HOOK_CREATE_CONTAINER, "creating", err) < 0)
		return -1;
	if (own_mounts && rootfs_pivot(rc, err) < 0)
		return -1;
	FAULT_POINT("init-after-pivot");
	return 0;
}

/* Everything up to SYNC_READY: the container exists, waiting for start.
 * sysctl and the console come before readonlyPaths make /proc/sys and
 * /dev read-only. */
static int init_setup(const struct init_ctx *ctx, pid_t *host_pid, char **exe, husk_error **err)
{
	struct sync_msg go;
	const struct spec *s = ctx->spec;
	const struct spec_process *p = s->process;
	const struct rootfs_ctx rc = {
		.spec = s, .rootfs = ctx->rootfs, .userns = ctx->ns->new_user,
		.cgroupns = ns_owned(s, CLONE_NEWCGROUP), .no_pivot = ctx->opts->no_pivot,
		.cg = ctx->cg, .overlay = ctx->opts->overlay, .idmaps = ctx->opts->idmaps,
	};

	if (sync_expect(ctx->sync_fd, SYNC_GO, &go, err) < 0)
		return -1;
	*host_pid = (pid_t)go.pid;
	if (cgroup_self_join(ctx->self_join, ctx->n_self_join, err) < 0)
		return -1;
	if (ns_enter(ctx->ns, s, err) < 0 || init_identity(ctx, err) < 0)
		return -1;
	/* A new cgroup namespace is rooted where we are: wait to be placed. */
	if (ctx->ns->new_cgroup && (sync_expect(ctx->sync_fd, SYNC_CGROUP_DONE, NULL, err) < 0 ||
				    ns_enter_cgroup(ctx->ns, err) < 0))
		return -1;
	if (init_rootfs(ctx, &rc, *host_pid, err) < 0 || init_sysctl(s, err) < 0)
		return -1;
	if (p->terminal && console_setup(ctx->console_fd, p, true, err) < 0)
		return -1;
	return init_enter_process(&rc, init_own_mounts(s), exe, err);
}

/* After `start`: the last steps, then the user's process replaces us. */
static int init_exec(const struct init_ctx *ctx, pid_t pid, const char *exe, husk_error **err)
{
	const struct spec_process *p = ctx->spec->process;
	char byte;

	if (read(ctx->start_rd, &byte, 1) != 1)
		_exit(0); /* deleted before it was started */
	if (init_hooks(ctx, pid, SPEC_HOOK_START_CONTAINER, "created", err) < 0)
		return -1;
	_cleanup_free_ char *state = NULL;
	if (ctx->listener_fd >= 0) {
		struct container_state st = *ctx->state;
		st.pid = pid;
		state = state_oci_json(&st, "creating");
	}
	const struct process_start_args a = {
		.process = p, .linux_ = ctx->spec->linux_, .seccomp = ctx->seccomp,
		.preserve_fds = ctx->opts->preserve_fds, .limits_applied = true,
		.exe = exe, .exec_err_fd = ctx->exec_wr,
		.listener_fd = ctx->listener_fd, .host_pid = pid, .state_json = state,
	};
	return process_start(&a, err);
}

void init_main(const struct init_ctx *ctx)
{
	husk_error *err = NULL;
	_cleanup_free_ char *exe = NULL;
	pid_t host_pid = 0;

	/* Until it is set up, the init must not outlive `husk create`; and
	 * until it execs, it is the host's husk: keep /proc/<pid>/exe and
	 * friends out of reach of the container's processes (execve resets it).
	 * Rootless, it has nothing they lack, and its unprivileged parent
	 * needs that /proc/<pid> (runtime/rootless.h). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!ctx->dumpable)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (init_setup(ctx, &host_pid, &exe, &err) < 0) {
		sync_send_error(ctx->sync_fd, err);
		_exit(1);
	}
	FAULT_POINT("init-before-ready");
	/* create exits right after SYNC_COMMIT: clear the death signal first
	 * (clearing it after would race with that exit). Until create has
	 * recorded us, die with it all the same: EOF instead of SYNC_COMMIT
	 * means it was killed before state.json named this init. */
	prctl(PR_SET_PDEATHSIG, 0);
	if (sync_send_type(ctx->sync_fd, SYNC_READY, &err) < 0 ||
	    sync_expect(ctx->sync_fd, SYNC_COMMIT, NULL, &err) < 0)
		_exit(1);
	close(ctx->sync_fd);
	if (init_exec(ctx, host_pid, exe, &err) < 0) {
		_cleanup_free_ char *text = husk_error_text(err);
		if (write(ctx->exec_wr, text, strlen(text)) < 0)
			_exit(127);
	}
	_exit(127);
}
