/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `create`: validate everything, make the state directory and cgroup, clone
 * the init and drive it through runtime/sync.h until it waits for start.
 * Any failure undoes what was made, in reverse. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
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
#include "../base/json.h"
#include "../cgroups/cgroup.h"
#include "../netns/netns.h"
#include "../rootfs/overlay.h"
#include "../rootfs/rootfs.h"
#include "../vm/vm.h"
#include "caps.h"
#include "console.h"
#include "create_internal.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "proc.h"
#include "process_start.h"
#include "rootless.h"
#include "seccomp.h"
#include "store.h"
#include "sync.h"

static char *abs_path(const char *p)
{
	char *out = NULL, cwd[4096];
	if (!p || p[0] == '/')
		return p ? strdup(p) : NULL;
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, p) < 0)
		return strdup(p);
	return out;
}

static void create_job_free(struct create_job *j)
{
	if (j->seccomp)
		seccomp_release(j->seccomp);
	ns_plan_close(&j->ns);
	cgroup_free(j->cg);
	state_clear(&j->st);
	spec_free(j->spec);
	free(j->bundle);
	free(j->rootfs);
	for (int *fd = &j->sync[0]; fd <= &j->console_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	if (j->rootfd >= 0)
		close(j->rootfd);
	while (j->n_self_join)
		close(j->self_join[--j->n_self_join]);
}

static int create_validate(struct create_job *j, const struct husk_opts *o,
			   const struct create_opts *c, husk_error **err)
{
	const struct spec *s = j->spec;

	if (spec_validate_runnable(s, err) < 0)
		return -1;
	if (s->process->terminal && !c->console_socket && !c->console_is_ours)
		return husk_fail(err, 0, "cannot allocate tty if husk will detach without setting console socket");
	if (!s->process->terminal && c->console_socket)
		return husk_fail(err, 0, "cannot use console socket if husk will not detach or allocate tty");
	if (j->unprivileged && rootless_validate(s, err) < 0)
		return -1;
	if (j->vm && vm_validate(s, c, err) < 0)
		return -1;
	if (ns_validate(s, err) < 0 || rootfs_validate(s, j->rootfs, err) < 0 ||
	    process_validate_lsm(s->process, err) < 0 || netns_validate(s, c->network, err) < 0)
		return -1;
	husk_error *warning = NULL;
	if (caps_validate(s->process->capabilities, &warning) < 0) {
		log_warning(o, "%s: ignored", warning->msg);
		husk_error_free(&warning);
	}
	if (s->linux_->seccomp) {
		j->seccomp = seccomp_build(s->linux_->seccomp, err);
		if (!j->seccomp)
			return -1;
	}
	return 0;
}

static int create_load(struct create_job *j, const struct husk_opts *o,
		       const struct create_opts *c, husk_error **err)
{
	j->bundle = realpath(c->bundle ? c->bundle : ".", NULL);
	if (!j->bundle || chdir(j->bundle) < 0)
		return husk_fail(err, errno, "bundle %s", c->bundle ? c->bundle : ".");
	j->spec = spec_load(j->bundle, err);
	if (!j->spec)
		return -1;
	const char *root = j->spec->root_path;
	j->rootfs = realpath(root, NULL); /* relative to the bundle, our cwd */
	if (!j->rootfs)
		return husk_fail(err, errno, "config.json: root.path: %s", root);
	j->vm = vm_selected(o, c, j->spec);
	if (create_validate(j, o, c, err) < 0)
		return -1;
	static const enum cgroup_manager managers[] = {
		[OPT_CGROUP_CGROUPFS] = CGROUP_MANAGER_CGROUPFS,
		[OPT_CGROUP_SYSTEMD] = CGROUP_MANAGER_SYSTEMD,
		[OPT_CGROUP_DISABLED] = CGROUP_MANAGER_DISABLED,
	};
	j->cg = cgroup_new(j->spec->linux_->cgroups_path, c->id, managers[o->cgroup_manager], err);
	return j->cg ? 0 : -1;
}

static int create_fds(struct create_job *j, const struct create_opts *c, husk_error **err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, j->sync) < 0 ||
	    pipe2(j->start, O_CLOEXEC) < 0 || pipe2(j->exec, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "create sync channels");
	if (c->console_is_ours && !c->console_socket && j->spec->process->terminal) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			return husk_fail(err, errno, "console socketpair");
		j->console_fd = pair[1];
		j->console_peer = pair[0];
	} else if (c->console_socket) {
		j->console_fd = console_connect(c->console_socket, err);
		if (j->console_fd < 0)
			return -1;
	}
	const struct spec_seccomp *sc = j->spec->linux_->seccomp;
	if (sc && sc->listener_path) {
		j->listener_fd = console_connect(sc->listener_path, err);
		if (j->listener_fd < 0)
			return husk_error_wrap(err, "config.json: linux.seccomp.listenerPath");
	}
	return ns_plan_build(j->spec, &j->ns, err);
}

static int create_state_init(struct create_job *j, const struct create_opts *c)
{
	struct container_state *st = &j->st;

	st->bundle = strdup(j->bundle);
	st->rootfs = strdup(j->rootfs);
	st->created = state_now_rfc3339();
	st->owner = strdup("");
	st->annotations = json_object_new_object();
	for (size_t i = 0; i < j->spec->n_annotations; i++)
		json_object_object_add(st->annotations, j->spec->annotations[i].key,
				       json_object_new_string(j->spec->annotations[i].value));
	st->vm = j->vm;
	st->post_hooks = (j->spec->hooks.n[SPEC_HOOK_POSTSTART] ? STATE_HOOK_POSTSTART : 0) |
			 (j->spec->hooks.n[SPEC_HOOK_POSTSTOP] ? STATE_HOOK_POSTSTOP : 0);
	return st->id && st->bundle && st->rootfs && st->created ? 0 : -ENOMEM;
}

/* An overlay root: its directories are made now, in the state directory
 * (or beside the bundle's own upper, recorded so that delete finds it);
 * the init mounts it (rootfs/overlay.h). */
static int create_overlay(struct create_job *j, const struct husk_opts *o,
			  struct create_opts *c, struct rootfs_overlay *ov, husk_error **err)
{
	_cleanup_free_ char *root = realpath(o->root, NULL);
	_cleanup_free_ char *state_dir = NULL;

	if (!root || asprintf(&state_dir, "%s/%s", root, c->id) < 0) {
		state_dir = NULL;
		return husk_fail(err, errno, "state directory of %s", c->id);
	}
	if (overlay_plan(j->spec, j->rootfs, state_dir, c->id, ov, err) < 0 ||
	    (ov->external && store_own_dir(j->dirfd, ov->work, err) < 0) ||
	    overlay_make_dirs(ov, err) < 0)
		return -1;
	c->overlay = ov;
	return 0;
}

int container_create(const struct husk_opts *o, const struct create_opts *c,
		     struct created *out, husk_error **err)
{
	struct create_job j = {
		.sync = { -1, -1 }, .start = { -1, -1 }, .exec = { -1, -1 },
		.console_fd = -1, .console_peer = -1, .listener_fd = -1, .pidfd = -1, .dirfd = -1, .rootfd = -1,
	};
	_cleanup_free_ char *pid_file = abs_path(c->pid_file);
	_cleanup_free_ char *console_socket = abs_path(c->console_socket);
	_cleanup_free_ char *pidfd_socket = abs_path(c->pidfd_socket);
	_cleanup_free_ char *vm_kernel = abs_path(c->vm_kernel);
	struct create_opts abs = *c;
	struct rootfs_overlay ov = { 0 };
	struct rootfs_idmaps *idmaps = NULL;

	/* Paths the caller gave are relative to its cwd; we chdir to the bundle. */
	abs.pid_file = pid_file;
	abs.console_socket = console_socket;
	abs.pidfd_socket = pidfd_socket;
	abs.vm_kernel = vm_kernel;
	c = &abs;
	j.st.id = strdup(c->id);
	j.unprivileged = geteuid() != 0;
	int r = store_validate_id(c->id, err);
	if (r == 0)
		r = create_load(&j, o, c, err);

	if (r == 0 && (j.rootfd = store_open_root(o->root, err)) < 0)
		r = -1;
	if (r == 0 && (j.dirfd = store_create(j.rootfd, c->id, err)) < 0)
		r = -1;
	FAULT_POINT("create-after-statedir");
	if (r == 0 && overlay_requested(j.spec, c->rootfs_overlay))
		r = create_overlay(&j, o, &abs, &ov, err);
	/* In the host user namespace, which idmapping needs; the init inherits them. */
	if (r == 0 && (r = rootfs_idmaps_prepare(j.spec, &idmaps, err)) == 0)
		abs.idmaps = idmaps;
	if (r == 0 && (create_fds(&j, c, err) < 0 || create_state_init(&j, c) < 0))
		r = -1;
	if (r == 0)
		r = create_run(&j, o, c, err);
	if (r < 0 && j.dirfd >= 0)
		create_undo(&j);
	if (r == 0) {
		out->pid = j.st.pid;
		out->pidfd = TAKE_FD(j.pidfd);
		out->console_master = -1;
		if (j.console_peer >= 0)
			out->console_master = console_recv_fd(j.console_peer, err);
	}
	create_job_free(&j);
	overlay_clear(&ov);
	rootfs_idmaps_free(idmaps);
	return r;
}
