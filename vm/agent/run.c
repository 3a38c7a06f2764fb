/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's processes, made as husk makes them on a host: the init
 * (proc 0) takes runtime/init.c's steps with the same rootfs/ and
 * runtime/ code and waits for START; an exec'd process joins the init's
 * namespaces as runtime/exec.c does. Both end in process_start().
 *
 * Each child talks to the agent on a SOCK_SEQPACKET pair ("ctl"), one
 * message per record:
 *   init, before START:  [pty master, SCM_RIGHTS] then "R" (waiting for
 *                        START) or "E<error>"; the agent writes "S" to start
 *   after START / exec:  [pty master] then EOF once the program runs (the
 *                        socket closes on execve), or the error text
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../rootfs/rootfs.h"
#include "../../runtime/caps.h"
#include "../../runtime/console.h"
#include "../../runtime/exec_path.h"
#include "../../runtime/init_steps.h"
#include "../../runtime/proc.h"
#include "../../runtime/process_attrs.h"
#include "../../runtime/process_start.h"

#define MSG_MAX 4096

enum child_msg { CHILD_EOF, CHILD_READY, CHILD_ERROR, CHILD_FD };

/* ---- in the child ---- */

/* What the agent changed for itself must not reach the container. */
static void child_reset(const int stdio[3])
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	for (int i = 0; i < 3; i++)
		if (stdio[i] >= 0)
			dup2(stdio[i], i);
}

__attribute__((noreturn)) static void child_fail(int ctl, const char *tag, husk_error *err,
						 int status)
{
	_cleanup_free_ char *text = husk_error_text(err);
	char msg[MSG_MAX];
	int n = snprintf(msg, sizeof(msg), "%s%s", tag, text);
	if (send(ctl, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
		_exit(status);
	_exit(status);
}

/* runtime/init.c's init_setup(), minus what the guest does not have: no
 * user or cgroup namespace, no hooks, no parent to sync with. */
static int init_setup(const struct agent *a, int ctl, char **exe, husk_error **err)
{
	const struct spec *s = a->spec;
	const struct spec_process *p = s->process;
	const struct rootfs_ctx rc = { .spec = s, .rootfs = AGENT_ROOTFS };

	if (init_set_names(s, false, err) < 0 || rootfs_mount_all(&rc, err) < 0 ||
	    rootfs_pivot(&rc, err) < 0 || init_sysctl(s, err) < 0)
		return -1;
	if (p->terminal && console_setup(ctl, p, true, err) < 0)
		return -1;
	return init_enter_process(&rc, true, exe, err);
}

__attribute__((noreturn)) static void init_child(const struct agent *a, int ctl,
						 const int stdio[3])
{
	husk_error *err = NULL;
	char *exe = NULL, byte;

	child_reset(stdio);
	/* Not dumpable until execve: the container must not reach the agent. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (init_setup(a, ctl, &exe, &err) < 0)
		child_fail(ctl, "E", err, 1);
	if (send(ctl, "R", 1, MSG_NOSIGNAL) != 1 || read(ctl, &byte, 1) != 1)
		_exit(0); /* the agent is going down */
	const struct process_start_args args = {
		.process = a->spec->process, .linux_ = a->spec->linux_, .seccomp = a->seccomp,
		.limits_applied = true, .exe = exe, .exec_err_fd = ctl, .listener_fd = -1,
	};
	process_start(&args, &err);
	child_fail(ctl, "", err, 127);
}

/* The init's namespaces, in the order to join them (mount last: it moves
 * our root); pid is entered by the agent around the clone. */
static const struct {
	const char *name;
	int type;
} join_ns[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
};
#define N_JOIN (sizeof(join_ns) / sizeof(join_ns[0]))

struct exec_ns {
	int fds[N_JOIN]; /* -1: the init shares ours */
};

__attribute__((noreturn)) static void exec_child(const struct agent *a, const struct exec_ns *ns,
						 const struct spec_process *p, int ctl,
						 const int stdio[3])
{
	husk_error *err = NULL;
	char *exe = NULL;

	child_reset(stdio);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t i = 0; i < N_JOIN; i++) {
		if (join_ns[i].type != CLONE_NEWPID && ns->fds[i] >= 0 &&
		    setns(ns->fds[i], join_ns[i].type) < 0) {
			husk_fail(&err, errno, "join the container's %s namespace", join_ns[i].name);
			child_fail(ctl, "", err, 126);
		}
	}
	if (p->terminal && console_setup(ctl, p, false, &err) < 0)
		child_fail(ctl, "", err, 126);
	if (chdir(p->cwd ? p->cwd : "/") < 0) {
		husk_fail(&err, errno, "cwd %s", p->cwd);
		child_fail(ctl, "", err, 126);
	}
	if (!(exe = exec_path_lookup(p->args[0], p->env, &err)))
		child_fail(ctl, "", err, 126);
	const struct process_start_args args = {
		.process = p, .linux_ = a->spec->linux_, .seccomp = a->seccomp,
		.exe = exe, .exec_err_fd = ctl, .listener_fd = -1,
	};
	process_start(&args, &err);
	child_fail(ctl, "", err, 126);
}

/* ---- in the agent ---- */

/* One message from the child; before START the init's are tagged. */
static enum child_msg child_recv(int ctl, bool tagged, int *fd, char *text, size_t size)
{
	char ctlbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctlbuf,
			      .msg_controllen = sizeof(ctlbuf) };
	ssize_t n;

	do
		n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(text, size, "receive from the container process: %s", strerror(errno));
		return CHILD_ERROR;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		memcpy(fd, CMSG_DATA(c), sizeof(int));
		return CHILD_FD;
	}
	if (n == 0)
		return CHILD_EOF;
	text[n] = '\0';
	if (tagged && !strcmp(text, "R"))
		return CHILD_READY;
	if (tagged && text[0] == 'E')
		memmove(text, text + 1, (size_t)n);
	return CHILD_ERROR;
}

/* Waits for the child's verdict: 0 when it reached `want` (READY or EOF). */
static int child_wait(struct agent_proc *p, bool tagged, enum child_msg want, const char *what,
		      husk_error **err)
{
	char text[MSG_MAX];
	int fd = -1;

	for (;;) {
		switch (child_recv(p->ctl, tagged, &fd, text, sizeof(text))) {
		case CHILD_FD:
			agent_proc_set_master(p, fd);
			continue;
		case CHILD_ERROR:
			return husk_fail(err, 0, "%s", text);
		case CHILD_READY:
			if (want == CHILD_READY)
				return 0;
			return husk_fail(err, EPROTO, "%s: unexpected message", what);
		case CHILD_EOF:
			if (want == CHILD_EOF)
				return 0;
			return husk_fail(err, 0, "%s: the process exited during its setup", what);
		}
	}
}

static void child_kill(struct agent_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	agent_proc_release(p);
}

/* Clones a child with its stdio and ctl; returns in both (p->pid 0 in the
 * child), the child ends in *ctl_child and stdio. */
static int spawn(struct agent_proc *p, int flags, int *ctl_child, int stdio[3], husk_error **err)
{
	int sv[2];

	if (agent_proc_pipes(p, stdio, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_fail(err, errno, "socketpair");
	p->ctl = sv[0];
	*ctl_child = sv[1];
	struct clone_args args = { .flags = (uint64_t)flags, .exit_signal = SIGCHLD };
	p->pid = proc_clone(&args);
	if (p->pid < 0)
		return husk_fail(err, errno, "clone the container process");
	return 0;
}

static void close_child_ends(int ctl_child, const int stdio[3])
{
	if (ctl_child >= 0)
		close(ctl_child);
	for (int i = 0; i < 3; i++)
		if (stdio[i] >= 0)
			close(stdio[i]);
}

int agent_spawn_init(struct agent *a, husk_error **err)
{
	struct agent_proc *p = agent_proc_new(a, 0, err);
	int ctl_child = -1, stdio[3] = { -1, -1, -1 };

	if (!p)
		return -1;
	p->terminal = a->spec->process->terminal;
	int r = spawn(p, a->ns_flags, &ctl_child, stdio, err);
	if (r == 0 && p->pid == 0) {
		close(p->ctl);
		init_child(a, ctl_child, stdio);
	}
	close_child_ends(ctl_child, stdio);
	if (r == 0)
		r = child_wait(p, true, CHILD_READY, "create", err);
	if (r < 0)
		child_kill(p);
	return r;
}

int agent_start_init(struct agent *a, husk_error **err)
{
	struct agent_proc *p = agent_proc_find(a, 0);

	if (!p || p->started)
		return husk_fail(err, 0, "START: no container waiting to start");
	if (send(p->ctl, "S", 1, MSG_NOSIGNAL) != 1)
		return husk_fail(err, errno, "START: the container's init is gone");
	int r = child_wait(p, false, CHILD_EOF, "start", err);
	p->started = true;
	close(p->ctl);
	p->ctl = -1;
	return r;
}

static void exec_ns_close(struct exec_ns *ns)
{
	for (size_t i = 0; i < N_JOIN; i++)
		if (ns->fds[i] >= 0)
			close(ns->fds[i]);
}

/* runtime/exec.c's exec_open_ns(): the init's namespaces that are not ours. */
static int exec_ns_open(struct exec_ns *ns, pid_t pid, husk_error **err)
{
	char path[64], self[64];
	struct stat x, y;

	for (size_t i = 0; i < N_JOIN; i++) {
		ns->fds[i] = -1;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, join_ns[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", join_ns[i].name);
		if (stat(path, &x) < 0)
			continue;
		if (stat(self, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev)
			continue;
		ns->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns->fds[i] < 0)
			return husk_fail(err, errno, "open %s", path);
	}
	return 0;
}

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

static void process_freep(struct spec_process **p)
{
	if (*p)
		spec_process_free(*p);
}

/* setns(CLONE_NEWPID) only affects children: enter around the clone. */
static int spawn_in_pidns(struct agent_proc *p, const struct exec_ns *ns, int *ctl_child,
			  int stdio[3], husk_error **err)
{
	int pidns = ns->fds[N_JOIN - 1];
	_cleanup_close_ int own = -1;

	if (pidns >= 0) {
		own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own < 0 || setns(pidns, CLONE_NEWPID) < 0)
			return husk_fail(err, errno, "join the container's pid namespace");
	}
	int r = spawn(p, 0, ctl_child, stdio, err);
	bool child = r == 0 && p->pid == 0;
	if (own >= 0 && !child && setns(own, CLONE_NEWPID) < 0)
		agent_fatal("return to the agent's pid namespace: %s", strerror(errno));
	return r;
}

int agent_spawn_exec(struct agent *a, uint16_t id, const char *json, size_t len,
		     husk_error **err)
{
	struct agent_proc *init = agent_proc_find(a, 0), *p = NULL;
	_cleanup_(json_putp) struct json_object *owner = NULL;
	struct exec_ns ns = { 0 };
	int ctl_child = -1, stdio[3] = { -1, -1, -1 };

	if (!init || init->pid <= 0)
		return husk_fail(err, 0, "EXEC: no container");
	_cleanup_(process_freep) struct spec_process *proc =
		spec_process_parse(json, len, &owner, err);
	if (!proc || process_validate_lsm(proc, err) < 0)
		return -1;
	husk_error *warning = NULL;
	if (caps_validate(proc->capabilities, &warning) < 0) {
		agent_warn("%s: ignored", warning->msg);
		husk_error_free(&warning);
	}
	int r = exec_ns_open(&ns, init->pid, err);
	if (r == 0 && !(p = agent_proc_new(a, id, err)))
		r = -1;
	if (r == 0) {
		p->terminal = proc->terminal;
		r = spawn_in_pidns(p, &ns, &ctl_child, stdio, err);
		if (r == 0 && p->pid == 0) {
			close(p->ctl);
			exec_child(a, &ns, proc, ctl_child, stdio);
		}
	}
	close_child_ends(ctl_child, stdio);
	exec_ns_close(&ns);
	if (r == 0)
		r = child_wait(p, false, CHILD_EOF, "exec", err);
	if (r < 0 && p)
		child_kill(p);
	if (r == 0) {
		close(p->ctl);
		p->ctl = -1;
	}
	return r;
}
