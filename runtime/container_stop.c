/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Signalling and destroying a container. */
#include "container.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fault.h"
#include "../cgroups/cgroup.h"
#include "../netns/netns.h"
#include "hooks.h"
#include "log.h"
#include "proc.h"
#include "store.h"

int signal_from_name(const char *name)
{
	char *end;
	long n = strtol(name, &end, 10);
	if (end != name && !*end)
		return n > 0 && n < NSIG ? (int)n : 0;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && !strcasecmp(name, abbrev))
			return sig;
	}
	if (!strncasecmp(name, "RTMIN+", 6) || !strncasecmp(name, "RTMAX-", 6)) {
		int off = atoi(name + 6);
		int sig = name[3] == 'I' || name[3] == 'i' ? SIGRTMIN + off : SIGRTMAX - off;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : 0;
	}
	return 0;
}

/* A pidfd for the init, checked against pid reuse after opening it. */
static int container_pidfd(const struct container *c)
{
	int fd = (int)syscall(SYS_pidfd_open, c->st.pid, 0);
	if (fd >= 0 && !container_init_alive(c)) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

int container_signal(struct container *c, int sig, bool all, husk_error **err)
{
	if (!container_init_alive(c))
		return husk_fail(err, 0, "container not running");
	/* A VM's cgroup holds its monitor and QEMU: the signal goes through
	 * the monitor (SIGKILL takes the whole VM down with it). */
	if (all && !c->st.vm && c->cg && *cgroup_path(c->cg))
		return cgroup_kill_all(c->cg, sig, err);
	/* No cgroup (rootless): every process of its own pid namespace. */
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (all && proc_pidns_pids(c->st.pid, &pids, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (pids[i] != c->st.pid)
				kill(pids[i], sig);
	_cleanup_close_ int pidfd = container_pidfd(c);
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return errno == ESRCH ? husk_fail(err, 0, "container not running")
				      : husk_fail(err, errno, "kill container");
	return 0;
}

/* SIGKILL and wait (bounded) until the init is really gone. */
static int container_kill_wait(struct container *c, husk_error **err)
{
	_cleanup_close_ int pidfd = container_pidfd(c);
	if (pidfd < 0)
		return 0;
	if (c->cg)
		cgroup_kill_all(c->cg, SIGKILL, NULL);
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	if (c->cg) /* a frozen task only dies once thawed */
		cgroup_freeze(c->cg, false, NULL);
	struct pollfd p = { pidfd, POLLIN, 0 };
	if (poll(&p, 1, 10000) <= 0)
		return husk_fail(err, ETIMEDOUT, "wait for container init %d to die", c->st.pid);
	return 0;
}

static void container_poststop(const struct husk_opts *o, struct container *c)
{
	husk_error *err = NULL;
	if (!state_may_have_hooks(&c->st, STATE_HOOK_POSTSTOP))
		return;
	_cleanup_(spec_freep) struct spec *s = container_spec(c, &err);
	if (!s && err && err->code == ENOENT) {
		/* A create killed before it copied the config: no hooks of it
		 * ever ran, and none can run now. */
		husk_error_free(&err);
		return;
	}
	if (s && s->hooks.n[SPEC_HOOK_POSTSTOP]) {
		_cleanup_free_ char *json = state_oci_json(&c->st, "stopped");
		hooks_run(s, SPEC_HOOK_POSTSTOP, json, &err);
	}
	if (err) {
		/* runtime-spec: a failing poststop hook is only a warning. */
		_cleanup_free_ char *text = husk_error_text(err);
		log_warning(o, "%s", text);
		husk_error_free(&err);
	}
}

int container_destroy(const struct husk_opts *o, struct container *c, bool force,
		      husk_error **err)
{
	const char *status = container_status(c);

	if (!force && (!strcmp(status, "running") || !strcmp(status, "paused")))
		return husk_fail(err, 0, "cannot delete container %s that is not stopped: %s",
				 c->st.id, status);
	if (strcmp(status, "stopped") && container_kill_wait(c, err) < 0)
		return -1;
	FAULT_POINT("delete-after-kill");
	if (c->cg && cgroup_destroy(c->cg, err) < 0)
		return -1;
	FAULT_POINT("delete-after-cgroup");
	if (netns_detach(c->rootfd, &c->st, err) < 0)
		return -1;
	container_poststop(o, c);
	FAULT_POINT("delete-before-remove");
	return store_remove(c->rootfd, c->st.id, c->dirfd, err);
}
