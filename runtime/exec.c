/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../cgroups/cgroup.h"
#include "console.h"
#include "exec_path.h"
#include "proc.h"
#include "process_start.h"
#include "report.h"
#include "seccomp.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* In the order to join them: user first, mount last (it moves our root). */
static const struct {
	const char *name;
	int type;
} exec_ns[] = {
	{ "user", CLONE_NEWUSER }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	{ "mnt", CLONE_NEWNS },
};

struct exec_job {
	int ns_fds[ARRAY_SIZE(exec_ns)];
	int pid_ns;
	bool user_joined; /* by the helper that cloned us (rootless) */
	int go[2];  /* child reads [0]: its cgroup is joined */
	int err[2]; /* child writes [1]; EOF on execve */
	int console_fd;
	int console_peer;
	int listener_fd; /* linux.seccomp.listenerPath, or -1 */
	char *state_json; /* for the listener */
	scmp_filter_ctx seccomp;
	/* v1 tasks files the child writes itself (cgroup.h: self-join) */
	int self_join[CGROUP_SELF_JOIN_MAX];
	size_t n_self_join;
	bool cloned_into_cgroup; /* clone3(CLONE_INTO_CGROUP) placed it in cgroup2 */
	bool child_self_joins;   /* it had self_join when cloned */
};

/* Opens the container's namespaces that are not already ours. */
static int exec_open_ns(struct exec_job *j, pid_t pid, husk_error **err)
{
	char path[64], self[64];
	struct stat a, b;

	for (size_t i = 0; i <= ARRAY_SIZE(exec_ns); i++) {
		const char *name = i < ARRAY_SIZE(exec_ns) ? exec_ns[i].name : "pid";
		int *fd = i < ARRAY_SIZE(exec_ns) ? &j->ns_fds[i] : &j->pid_ns;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
		if (stat(path, &a) < 0)
			continue; /* a namespace type this kernel lacks */
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return husk_fail(err, errno, "open %s", path);
	}
	return 0;
}

static int exec_join_ns(const struct exec_job *j, husk_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
		if (j->ns_fds[i] >= 0 && setns(j->ns_fds[i], exec_ns[i].type) < 0)
			return husk_fail(err, errno, "join the container's %s namespace", exec_ns[i].name);
	}
	return 0;
}

static int exec_child_setup(const struct exec_job *j, const struct spec_process *p,
			    pid_t *host_pid, char **exe, husk_error **err)
{
	if (read(j->go[0], host_pid, sizeof(*host_pid)) != sizeof(*host_pid))
		return husk_fail(err, EPIPE, "exec: parent went away");
	/* Still in the host's namespaces, where the files were opened. */
	if (cgroup_self_join(j->self_join, j->n_self_join, err) < 0)
		return -1;
	if (exec_join_ns(j, err) < 0)
		return -1;
	if ((j->ns_fds[0] >= 0 || j->user_joined) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return husk_fail(err, errno, "become root in the container's user namespace");
	if (p->terminal && console_setup(j->console_fd, p, false, err) < 0)
		return -1;
	if (chdir(p->cwd ? p->cwd : "/") < 0)
		return husk_fail(err, errno, "cwd %s", p->cwd);
	*exe = exec_path_lookup(p->args[0], p->env, err);
	return *exe ? 0 : -1;
}

__attribute__((noreturn)) static void exec_child(struct exec_job *j, const struct spec *s,
						 const struct spec_process *p, unsigned preserve_fds)
{
	husk_error *err = NULL;
	_cleanup_free_ char *exe = NULL;

	/* No PDEATHSIG: it would survive execve and kill a detached process
	 * when we exit; a parent that dies early closes `go` instead. Not
	 * dumpable: once in the container's pid namespace, its processes must
	 * not reach the host's husk through /proc/<pid>/exe (execve resets it). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pid_t host_pid = 0;
	if (exec_child_setup(j, p, &host_pid, &exe, &err) == 0) {
		const struct process_start_args a = {
			.process = p, .linux_ = s->linux_, .seccomp = j->seccomp,
			.preserve_fds = preserve_fds, .exe = exe, .exec_err_fd = j->err[1],
			.listener_fd = j->listener_fd, .host_pid = host_pid,
			.state_json = j->state_json,
		};
		process_start(&a, &err);
	}
	_cleanup_free_ char *text = husk_error_text(err);
	if (write(j->err[1], text, strlen(text)) < 0)
		_exit(126);
	_exit(126);
}

static void exec_job_close(struct exec_job *j)
{
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
		if (j->ns_fds[i] >= 0)
			close(j->ns_fds[i]);
	int *fds[] = { &j->pid_ns, &j->go[0], &j->go[1], &j->err[0], &j->err[1],
		       &j->console_fd, &j->console_peer, &j->listener_fd };
	free(j->state_json);
	while (j->n_self_join)
		close(j->self_join[--j->n_self_join]);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (j->seccomp)
		seccomp_release(j->seccomp);
}

static int exec_console(struct exec_job *j, const struct spec_process *p,
			const struct exec_opts *o, husk_error **err)
{
	if (!p->terminal)
		return o->console_socket ? husk_fail(err, 0, "cannot use console socket if husk will not detach or allocate tty") : 0;
	if (o->console_socket) {
		j->console_fd = console_connect(o->console_socket, err);
		return j->console_fd < 0 ? -1 : 0;
	}
	if (o->detach)
		return husk_fail(err, 0, "cannot allocate tty if husk will detach without setting console socket");
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return husk_fail(err, errno, "console socketpair");
	j->console_peer = pair[0];
	j->console_fd = pair[1];
	return 0;
}

/* In the exec process, before exec_child(): husk's fds it must not keep. */
static void exec_child_close(struct exec_job *j, struct container *c)
{
	close(j->go[1]);
	close(j->err[0]);
	close(c->dirfd);
	close(c->rootfd);
}

/*
 * Unprivileged, only a member of the container's user namespace may join
 * its pid namespace, and nothing may leave either again (rootless.h). So
 * a helper joins both and clones the exec process as husk's own child
 * (CLONE_PARENT), reports its pid and exits; husk stays where it is.
 */
static pid_t exec_clone_unprivileged(struct exec_job *j, struct container *c,
				     const struct spec *s, const struct spec_process *p,
				     const struct exec_opts *o, int *pidfd, husk_error **err)
{
	_cleanup_close_ int rd = -1, wr = -1;
	struct clone_args args = { .exit_signal = SIGCHLD };
	int fds[2], reply[2] = { -1, 0 }; /* pid, errno */

	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "exec: pipe");
	rd = fds[0];
	wr = fds[1];
	pid_t helper = proc_clone(&args);
	if (helper == 0) {
		/* Its exit signal is the helper's, SIGCHLD: clone3 wants 0 here. */
		struct clone_args child = { .flags = CLONE_PARENT };
		if (setns(j->ns_fds[0], CLONE_NEWUSER) == 0 &&
		    (j->pid_ns < 0 || setns(j->pid_ns, CLONE_NEWPID) == 0))
			reply[0] = proc_clone(&child);
		if (reply[0] == 0) {
			close(j->ns_fds[0]);
			j->ns_fds[0] = -1;
			j->user_joined = true;
			exec_child_close(j, c);
			exec_child(j, s, p, o->preserve_fds);
		}
		reply[1] = errno;
		_exit(write(wr, reply, sizeof(reply)) == sizeof(reply) ? 0 : 1);
	}
	if (helper < 0)
		return husk_fail(err, errno, "clone exec helper");
	close(wr);
	wr = -1;
	ssize_t n = read(rd, reply, sizeof(reply));
	waitpid(helper, NULL, 0);
	if (n != sizeof(reply) || reply[0] < 0)
		return husk_fail(err, n == sizeof(reply) ? reply[1] : EPIPE,
				 "join the container's user and pid namespaces");
	/* Our unreaped child: its pid cannot have been reused. */
	*pidfd = (int)syscall(SYS_pidfd_open, reply[0], 0);
	if (*pidfd < 0)
		return husk_fail(err, errno, "pidfd of exec process %d", reply[0]);
	return reply[0];
}

static pid_t exec_clone(struct exec_job *j, struct container *c, const struct spec *s,
			const struct spec_process *p, const struct exec_opts *o, int *pidfd,
			husk_error **err)
{
	_cleanup_close_ int own_pidns = -1;
	struct clone_args args = { .flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)pidfd,
				   .exit_signal = SIGCHLD };

	if (j->ns_fds[0] >= 0 && geteuid() != 0)
		return exec_clone_unprivileged(j, c, s, p, o, pidfd, err);
	/* As create does (runtime/create_spawn.c): straight into the cgroup2
	 * part, and the v1 hierarchies joined by the child itself, neither
	 * of which waits for the RCU grace period that moving a pid costs
	 * after an idle moment (10 ms here: every health-check exec). */
	_cleanup_close_ int cgfd = c->cg ? cgroup_clone_fd(c->cg) : -1;
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	if (c->cg) {
		int n = cgroup_self_join_open(c->cg, j->self_join, ARRAY_SIZE(j->self_join), err);
		if (n < 0)
			return -1;
		j->n_self_join = (size_t)n;
	}
	if (j->pid_ns >= 0) {
		own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own_pidns < 0 || setns(j->pid_ns, CLONE_NEWPID) < 0)
			return husk_fail(err, errno, "join the container's pid namespace");
	}
	pid_t pid = proc_clone(&args);
	if (pid == 0) {
		exec_child_close(j, c);
		exec_child(j, s, p, o->preserve_fds);
	}
	j->cloned_into_cgroup = pid > 0 && (args.flags & CLONE_INTO_CGROUP);
	j->child_self_joins = j->n_self_join > 0;
	while (j->n_self_join && pid > 0)
		close(j->self_join[--j->n_self_join]);
	int saved = errno;
	if (own_pidns >= 0)
		setns(own_pidns, CLONE_NEWPID);
	if (pid < 0)
		return husk_fail(err, saved, "clone exec process");
	return pid;
}

/* Lets the child go once it is in the container's cgroup, then reads its
 * verdict: EOF means it exec'd. */
static int exec_release(struct exec_job *j, struct container *c, pid_t pid, husk_error **err)
{
	char buf[1024];
	size_t len = 0;

	if (c->cg && cgroup_enter_rest(c->cg, pid, j->child_self_joins, j->cloned_into_cgroup, err) < 0)
		return -1;
	if (write(j->go[1], &pid, sizeof(pid)) != sizeof(pid))
		return husk_fail(err, errno, "exec: release child");
	close(j->go[1]);
	j->go[1] = -1;
	for (ssize_t n; len < sizeof(buf) - 1; len += (size_t)n)
		if ((n = read(j->err[0], buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
	buf[len] = '\0';
	return len ? husk_fail(err, 0, "%s", buf) : 0;
}

int exec_spawn(struct container *c, const struct spec *s, const struct spec_process *p,
	       const struct exec_opts *o, struct exec_result *out, husk_error **err)
{
	struct exec_job j = { .pid_ns = -1, .go = { -1, -1 }, .err = { -1, -1 },
			      .console_fd = -1, .console_peer = -1, .listener_fd = -1 };
	int pidfd = -1, r = 0;
	pid_t pid = -1;

	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
		j.ns_fds[i] = -1;
	if (exec_open_ns(&j, c->st.pid, err) < 0 || exec_console(&j, p, o, err) < 0)
		r = -1;
	if (r == 0 && s->linux_ && s->linux_->seccomp && !(j.seccomp = seccomp_build(s->linux_->seccomp, err)))
		r = -1;
	if (r == 0 && j.seccomp && s->linux_->seccomp->listener_path) {
		j.listener_fd = console_connect(s->linux_->seccomp->listener_path, err);
		j.state_json = state_oci_json(&c->st, "running");
		if (j.listener_fd < 0)
			r = husk_error_wrap(err, "linux.seccomp.listenerPath");
	}
	if (r == 0 && (pipe2(j.go, O_CLOEXEC) < 0 || pipe2(j.err, O_CLOEXEC) < 0))
		r = husk_fail(err, errno, "exec: pipes");
	if (r == 0 && (pid = exec_clone(&j, c, s, p, o, &pidfd, err)) < 0)
		r = -1;
	if (r == 0) {
		close(j.go[0]);
		close(j.err[1]);
		j.go[0] = j.err[1] = -1;
		r = exec_release(&j, c, pid, err);
	}
	if (r == 0)
		r = report_pid(o->pid_file, o->pidfd_socket, pid, pidfd, c->st.id, err);
	if (r < 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	out->pid = pid;
	out->pidfd = r == 0 ? pidfd : -1;
	out->console_master = r == 0 && j.console_peer >= 0 ? console_recv_fd(j.console_peer, err) : -1;
	if (r < 0 && pidfd >= 0)
		close(pidfd);
	exec_job_close(&j);
	return r;
}
