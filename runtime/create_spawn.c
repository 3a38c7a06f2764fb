/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The parent's half of runtime/sync.h: clone the init, map it, put it in its
 * cgroup, run the runtime-namespace hooks, and record the result. */
#include "create_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fault.h"
#include "../cgroups/cgroup.h"
#include "../netns/netns.h"
#include "../vm/vm.h"
#include "console.h"
#include "hooks.h"
#include "init.h"
#include "proc.h"
#include "log.h"
#include "report.h"
#include "rootless.h"
#include "store.h"
#include "sync.h"

static void create_child(struct create_job *j, const struct create_opts *c)
{
	/* init keeps both ends of its start pipe, so that it blocks rather
	 * than reading EOF once we exit. */
	close(j->sync[0]);
	close(j->exec[0]);
	/* The state directory's lock lives in its open file: not ours to hold. */
	close(j->dirfd);
	close(j->rootfd);
	if (j->console_peer >= 0)
		close(j->console_peer);
	const struct init_ctx ctx = {
		.spec = j->spec, .opts = c, .state = &j->st, .rootfs = j->rootfs,
		.ns = &j->ns, .seccomp = j->seccomp, .sync_fd = j->sync[1],
		.start_rd = j->start[0], .exec_wr = j->exec[1], .console_fd = j->console_fd,
		.listener_fd = j->listener_fd, .cg = j->cg, .dumpable = j->unprivileged,
		.self_join = j->self_join, .n_self_join = j->n_self_join,
	};
	init_main(&ctx);
}

static pid_t create_clone(struct create_job *j, const struct create_opts *c, husk_error **err)
{
	_cleanup_close_ int own_pidns = -1;
	struct clone_args args = {
		.flags = (uint64_t)j->ns.clone_flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&j->pidfd,
		.exit_signal = SIGCHLD,
	};

	/* setns(CLONE_NEWPID) only affects children: enter around clone3. */
	if (j->ns.pid_fd >= 0) {
		own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own_pidns < 0 || setns(j->ns.pid_fd, CLONE_NEWPID) < 0)
			return husk_fail(err, errno, "join pid namespace");
	}
	/* Straight into its cgroup2 cgroup, without a migration; without it
	 * on a kernel or cgroup that refuses (cgroup_enter() then does it). */
	_cleanup_close_ int cgfd = cgroup_clone_fd(j->cg);
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	pid_t pid = proc_clone(&args);
	if (pid > 0)
		j->cloned_into_cgroup = args.flags & CLONE_INTO_CGROUP;
	if (pid == 0)
		create_child(j, c);
	int saved = errno;
	if (own_pidns >= 0)
		setns(own_pidns, CLONE_NEWPID);
	if (pid < 0)
		return husk_fail(err, saved, "clone container init");
	return pid;
}

static int create_hooks(struct create_job *j, husk_error **err)
{
	_cleanup_free_ char *json = state_oci_json(&j->st, "creating");
	if (hooks_run(j->spec, SPEC_HOOK_PRESTART, json, err) < 0 ||
	    hooks_run(j->spec, SPEC_HOOK_CREATE_RUNTIME, json, err) < 0) {
		sync_send_error(j->sync[0], *err);
		return -1;
	}
	return sync_send_type(j->sync[0], SYNC_HOOKS_DONE, err);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A create killed midway must still be deletable: record what exists so
 * far (the cgroup; later the veth and addresses) in state.json, with the
 * config (poststop hooks). Until create_persist, state.json has pid 0 or an
 * init that dies with us (runtime/sync.h): `state` and `list` show it as
 * stopped, and `delete` undoes it. */
int create_persist_early(struct create_job *j, bool config, husk_error **err)
{
	j->st.cgroup = cgroup_to_json(j->cg);
	_cleanup_free_ char *state = state_serialize(&j->st);
	json_object_put(j->st.cgroup);
	j->st.cgroup = NULL;
	if (config && create_write_config(j, err) < 0)
		return -1;
	return store_write(j->dirfd, "state.json", state, strlen(state), err);
}

int create_write_config(struct create_job *j, husk_error **err)
{
	const char *text = json_object_to_json_string_ext(
		j->spec->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (j->config_written)
		return 0;
	if (store_write(j->dirfd, "config.json", text, strlen(text), err) < 0)
		return -1;
	j->config_written = true;
	return 0;
}

/* The whole state.json: the init (which still dies with us until
 * SYNC_COMMIT, runtime/sync.h), its pipes, the cgroup, the network. */
static int create_write_state(struct create_job *j, husk_error **err)
{
	j->st.cgroup = cgroup_to_json(j->cg);
	_cleanup_free_ char *state = state_serialize(&j->st);
	json_object_put(j->st.cgroup);
	j->st.cgroup = NULL;
	if (!state)
		return husk_fail(err, ENOMEM, "state.json");
	if (store_write(j->dirfd, "state.json", state, strlen(state), err) < 0)
		return -1;
	j->state_final = true;
	return 0;
}

/* While the init mounts its rootfs, which needs nothing more from us until
 * the hooks or SYNC_READY: the files later commands read. On a disk-backed
 * state root, each costs a file creation that would otherwise come after
 * SYNC_READY, on the path of every create. */
static int create_persist_meanwhile(struct create_job *j, husk_error **err)
{
	if (create_write_config(j, err) < 0 || create_write_state(j, err) < 0) {
		sync_send_error(j->sync[0], *err);
		return -1;
	}
	return 0;
}

void create_record_init(struct create_job *j, pid_t pid)
{
	struct stat st;

	j->st.pid = pid;
	j->st.start_fd = j->start[0];
	j->st.exec_fd = j->exec[1];
	if (fstat(j->start[0], &st) == 0)
		j->st.start_ino = st.st_ino;
	proc_stat(pid, NULL, &j->st.pid_start);
	/* Only the init keeps these ends, so that `start` sees EOF when it
	 * execs. */
	close_fd(&j->sync[1]);
	close_fd(&j->start[0]);
	close_fd(&j->exec[1]);
	close_fd(&j->console_fd);
	close_fd(&j->listener_fd);
}

/* As root, without a new user namespace, the init joins its v1 cgroups
 * itself, which skips a kernel wait (cgroup_self_join_open()); the parent
 * joins what is left. Returns whether the init does. */
static int create_open_self_join(struct create_job *j, husk_error **err)
{
	if (j->unprivileged || j->ns.new_user)
		return 0;
	int n = cgroup_self_join_open(j->cg, j->self_join, ARRAY_SIZE(j->self_join), err);
	if (n < 0)
		return -1;
	j->n_self_join = (size_t)n;
	return n > 0;
}

/* From clone to SYNC_READY. */
static int create_drive(struct create_job *j, const struct create_opts *c, husk_error **err)
{
	int self_joined = create_open_self_join(j, err);
	if (self_joined < 0)
		return -1;
	pid_t pid = create_clone(j, c, err);
	while (j->n_self_join)
		close(j->self_join[--j->n_self_join]);
	if (pid < 0)
		return -1;
	FAULT_POINT("create-after-clone");
	create_record_init(j, pid);

	if (j->ns.new_user && ns_write_mappings(pid, j->spec, err) < 0)
		return -1;
	FAULT_POINT("create-after-mappings");
	if (netns_attach(j->rootfd, &j->st, j->spec, c->network, err) < 0 ||
	    (j->st.network && create_persist_early(j, false, err) < 0))
		return -1;
	if (j->st.network)
		FAULT_POINT("create-after-network");
	struct sync_msg go = { .type = SYNC_GO, .pid = pid };
	if (sync_send(j->sync[0], &go, err) < 0)
		return -1;
	FAULT_POINT("create-after-go");
	if (cgroup_enter_rest(j->cg, pid, self_joined, j->cloned_into_cgroup, err) < 0 ||
	    cgroup_apply_resources(j->cg, j->spec->linux_->resources, err) < 0) {
		sync_send_error(j->sync[0], *err);
		return -1;
	}
	FAULT_POINT("create-after-cgroup-join");
	if (sync_send_type(j->sync[0], SYNC_CGROUP_DONE, err) < 0) {
		/* The child failed meanwhile: its SYNC_ERROR is what to report. */
		husk_error_free(err);
		return sync_expect(j->sync[0], SYNC_READY, NULL, err) < 0 ? -1
			: husk_fail(err, EPIPE, "container init went away");
	}
	if (create_persist_meanwhile(j, err) < 0)
		return -1;
	FAULT_POINT("create-after-state");
	if ((j->spec->hooks.n[SPEC_HOOK_PRESTART] || j->spec->hooks.n[SPEC_HOOK_CREATE_RUNTIME]) &&
	    (sync_expect(j->sync[0], SYNC_HOOKS, NULL, err) < 0 || create_hooks(j, err) < 0))
		return -1;
	if (sync_expect(j->sync[0], SYNC_READY, NULL, err) < 0)
		return -1;
	FAULT_POINT("create-after-ready");
	return 0;
}

/* The container exists: record it where later commands look. */
static int create_persist(struct create_job *j, const struct create_opts *c, husk_error **err)
{
	/* A container's init had it written meanwhile; a VM's monitor not. */
	if (!j->state_final) {
		if (create_write_config(j, err) < 0 || create_write_state(j, err) < 0)
			return -1;
		FAULT_POINT("create-after-state");
	}
	if (report_pid(c->pid_file, c->pidfd_socket, j->st.pid, j->pidfd, c->id, err) < 0)
		return -1;
	FAULT_POINT("create-after-pidfile");
	/* The init may now outlive us (runtime/sync.h). */
	return sync_send_type(j->sync[0], SYNC_COMMIT, err);
}

/* Rootless (runtime/rootless.h): a cgroup we may not create means none,
 * unless the config sets limits. */
static int create_cgroup(struct create_job *j, const struct husk_opts *o, husk_error **err)
{
	if (cgroup_create(j->cg, j->spec->linux_->resources, err) == 0) {
		j->cgroup_made = true;
		return 0;
	}
	if (!rootless_cgroup_denied(*err) || !(o->rootless < 0 ? rootless_auto() : o->rootless))
		return -1;
	husk_error *denied = *err;
	*err = NULL;
	int r = rootless_check_resources(j->spec->linux_->resources, denied, err);
	if (r == 0) {
		_cleanup_free_ char *why = husk_error_text(denied);
		log_debug(o, "rootless: running without a cgroup: %s", why);
	}
	husk_error_free(&denied);
	if (r < 0)
		return -1;
	cgroup_free(j->cg);
	j->cg = cgroup_new(NULL, NULL, CGROUP_MANAGER_DISABLED, err);
	return j->cg ? 0 : -1;
}

int create_run(struct create_job *j, const struct husk_opts *o, const struct create_opts *c,
	       husk_error **err)
{
	if (create_cgroup(j, o, err) < 0)
		return -1;
	/* A container's config.json comes later, while its init sets up
	 * (create_persist_meanwhile()); a VM has no init to overlap with. */
	if (create_persist_early(j, j->vm, err) < 0)
		return -1;
	FAULT_POINT("create-after-cgroup");
	int r = j->vm ? vm_create_drive(j, o, c, err) : create_drive(j, c, err);
	if (r < 0 || create_persist(j, c, err) < 0)
		return -1;
	return 0;
}

void create_undo(struct create_job *j)
{
	husk_error *ignored = NULL;

	if (j->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
		waitpid(j->st.pid, NULL, 0);
		/* runtime.md: a failed create goes on to delete, whose poststop
		 * hooks run (their failure is only a warning). */
		_cleanup_free_ char *json = state_oci_json(&j->st, "stopped");
		hooks_run(j->spec, SPEC_HOOK_POSTSTOP, json, &ignored);
		husk_error_free(&ignored);
	}
	if (j->cgroup_made)
		cgroup_destroy(j->cg, &ignored);
	husk_error_free(&ignored);
	netns_detach(j->rootfd, &j->st, &ignored);
	husk_error_free(&ignored);
	store_remove(j->rootfd, j->st.id ? j->st.id : "", j->dirfd, &ignored);
	husk_error_free(&ignored);
}
