/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's one poll loop: frames from the host, the processes' output
 * and stdin, SIGCHLD. CREATE, START and EXEC are answered before the loop
 * goes on (the child's setup is short, and the host waits for the answer).
 */
#include "agent.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../proto.h"

#define N_POLL (2 + 3 * AGENT_MAX_PROCS)

/* DONE: the container's process is over (EXIT or ERROR for proc 0 sent);
 * POWER_OFF: the channel is gone. */
enum { GO_ON, DONE, POWER_OFF };

/* How long the host has to close the channel after the last frame. */
#define LINGER_MS 10000

/* The channel failed: nothing more can reach the host. */
static int channel_lost(husk_error **err)
{
	_cleanup_free_ char *text = husk_error_text(*err);
	agent_warn("%s", text);
	husk_error_free(err);
	return POWER_OFF;
}

/* ERROR for the request that failed; for proc 0 the guest then goes down. */
static int send_error(struct agent *a, uint16_t proc, husk_error **err)
{
	_cleanup_free_ char *text = husk_error_text(*err);
	husk_error *send_err = NULL;

	agent_log(a, "proc %u: ERROR %s", proc, text);
	husk_error_free(err);
	if (vm_send(a->port, VM_ERROR, proc, text, strlen(text), &send_err) < 0)
		return channel_lost(&send_err);
	return proc == 0 ? DONE : GO_ON;
}

static int send_ok(struct agent *a, uint16_t type, uint16_t proc)
{
	husk_error *err = NULL;
	if (vm_send(a->port, type, proc, NULL, 0, &err) < 0)
		return channel_lost(&err);
	agent_log(a, "proc %u: %s", proc, vm_msg_name(type));
	return GO_ON;
}

static int on_create(struct agent *a, const struct vm_frame *f)
{
	husk_error *err = NULL;

	if (a->spec)
		husk_fail(&err, 0, "CREATE: the container exists");
	else if (agent_create_prepare(a, f->data, f->hdr.len, &err) == 0 &&
		 agent_spawn_init(a, &err) == 0) {
		agent_proc_find(a, 0)->exit_due = true;
		return send_ok(a, VM_CREATED, 0);
	}
	return send_error(a, 0, &err);
}

static int on_start(struct agent *a)
{
	husk_error *err = NULL;

	if (agent_start_init(a, &err) < 0)
		return send_error(a, 0, &err);
	return send_ok(a, VM_STARTED, 0);
}

static int on_exec(struct agent *a, const struct vm_frame *f)
{
	husk_error *err = NULL;

	if (f->hdr.proc == 0)
		husk_fail(&err, 0, "EXEC: proc 0 is the container's process");
	else if (agent_spawn_exec(a, f->hdr.proc, f->data, f->hdr.len, &err) == 0) {
		agent_proc_find(a, f->hdr.proc)->exit_due = true;
		return send_ok(a, VM_STARTED, f->hdr.proc);
	}
	return send_error(a, f->hdr.proc, &err);
}

static void on_signal(struct agent *a, struct agent_proc *p, const struct vm_frame *f)
{
	uint32_t sig;
	if (vm_frame_u32(f, &sig) < 0 || p->pid <= 0)
		return;
	if (kill(p->pid, (int)sig) < 0)
		agent_warn("proc %u: kill %u: %s", p->id, sig, strerror(errno));
	agent_log(a, "proc %u: signal %u", p->id, sig);
}

static void on_resize(struct agent_proc *p, const struct vm_frame *f)
{
	uint16_t size[2];
	if (f->hdr.len != sizeof(size) || !p->terminal || p->out < 0)
		return;
	memcpy(size, f->data, sizeof(size));
	struct winsize ws = { .ws_row = size[0], .ws_col = size[1] };
	ioctl(p->out, TIOCSWINSZ, &ws);
}

static int on_frame(struct agent *a, const struct vm_frame *f)
{
	struct agent_proc *p = agent_proc_find(a, f->hdr.proc);

	switch (f->hdr.type) {
	case VM_CREATE:
		return on_create(a, f);
	case VM_START:
		return on_start(a);
	case VM_EXEC:
		return on_exec(a, f);
	case VM_STDIN:
		if (p)
			agent_proc_stdin(p, f->data, f->hdr.len);
		return GO_ON;
	case VM_SIGNAL:
		if (p)
			on_signal(a, p, f);
		return GO_ON;
	case VM_RESIZE:
		if (p)
			on_resize(p, f);
		return GO_ON;
	default:
		agent_warn("unexpected %s frame (proc %u) ignored", vm_msg_name(f->hdr.type),
			   f->hdr.proc);
		return GO_ON;
	}
}

static int on_port(struct agent *a)
{
	struct vm_frame f = { 0 };
	husk_error *err = NULL;

	int r = vm_recv(a->port, &f, &err);
	if (r <= 0) {
		if (r < 0)
			return channel_lost(&err);
		agent_log(a, "the host closed the channel");
		return POWER_OFF;
	}
	agent_log(a, "proc %u: %s (%u bytes)", f.hdr.proc, vm_msg_name(f.hdr.type), f.hdr.len);
	r = on_frame(a, &f);
	vm_frame_clear(&f);
	return r;
}

/* A process ended: the rest of its output, then EXIT. */
static int on_exit_of(struct agent *a, struct agent_proc *p, int status)
{
	husk_error *err = NULL;
	uint16_t id = p->id;
	bool due = p->exit_due;

	agent_log(a, "proc %u: exited, status 0x%x", id, (unsigned)status);
	int r = agent_proc_relay(a, p, &p->out, true, &err);
	if (r == 0)
		r = agent_proc_relay(a, p, &p->err, true, &err);
	/* Whoever else holds its output (a daemon it left) is not waited for. */
	if (r == 0 && p->out >= 0)
		r = vm_send(a->port, VM_STDOUT, id, NULL, 0, &err);
	if (r == 0 && p->err >= 0)
		r = vm_send(a->port, VM_STDERR, id, NULL, 0, &err);
	agent_proc_release(p);
	if (r == 0 && due)
		r = vm_send_u32(a->port, VM_EXIT, id, (uint32_t)status, &err);
	if (r < 0)
		return channel_lost(&err);
	return id == 0 && due ? DONE : GO_ON;
}

static int on_sigchld(struct agent *a)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si))
		;
	/* Orphans reparented to us are reaped here too. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < AGENT_MAX_PROCS; i++) {
			struct agent_proc *p = &a->procs[i];
			int r = p->used && p->pid == pid ? on_exit_of(a, p, status) : GO_ON;
			if (r != GO_ON)
				return r;
		}
	}
	return GO_ON;
}

struct poll_slot {
	struct agent_proc *p;
	int *fd;
};

static size_t poll_add(struct pollfd *pfd, struct poll_slot *slot, size_t n,
		       struct agent_proc *p, int *fd, short events)
{
	pfd[n] = (struct pollfd){ .fd = *fd, .events = events };
	slot[n] = (struct poll_slot){ .p = p, .fd = fd };
	return n + 1;
}

static size_t poll_fill(struct agent *a, struct pollfd *pfd, struct poll_slot *slot)
{
	size_t n = 0;

	n = poll_add(pfd, slot, n, NULL, &a->port, POLLIN);
	n = poll_add(pfd, slot, n, NULL, &a->sigfd, POLLIN);
	for (size_t i = 0; i < AGENT_MAX_PROCS; i++) {
		struct agent_proc *p = &a->procs[i];
		if (!p->used)
			continue;
		bool want_out = p->in >= 0 && p->in_len;
		/* A pty's master is polled once, for both directions. */
		if (p->out >= 0)
			n = poll_add(pfd, slot, n, p, &p->out,
				     POLLIN | (want_out && p->in == p->out ? POLLOUT : 0));
		if (p->err >= 0)
			n = poll_add(pfd, slot, n, p, &p->err, POLLIN);
		if (want_out && p->in != p->out)
			n = poll_add(pfd, slot, n, p, &p->in, POLLOUT);
	}
	return n;
}

static int on_ready(struct agent *a, struct pollfd *pfd, struct poll_slot *slot, size_t n)
{
	husk_error *err = NULL;

	for (size_t i = 2; i < n; i++) {
		struct agent_proc *p = slot[i].p;
		if (!pfd[i].revents || !p->used || *slot[i].fd != pfd[i].fd)
			continue; /* closed by an earlier step of this round */
		if (pfd[i].revents & POLLOUT)
			agent_proc_flush_stdin(p);
		if (slot[i].fd != &p->in && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    agent_proc_relay(a, p, slot[i].fd, false, &err) < 0)
			return channel_lost(&err);
	}
	int r = pfd[1].revents ? on_sigchld(a) : GO_ON;
	if (r == GO_ON && pfd[0].revents)
		r = on_port(a);
	return r;
}

/*
 * A write to a virtio-serial port returns once the buffer is queued, not
 * once QEMU has passed it on (the kernel waits only for its hvc consoles):
 * powering off now could lose the last frames, EXIT among them. So, as
 * vm/proto.h says, the host closes the channel once it has them, and we
 * power off then, or after LINGER_MS. Nothing else of the container's may
 * run meanwhile.
 */
static void linger(struct agent *a)
{
	struct vm_frame f = { 0 };
	husk_error *err = NULL;

	kill(-1, SIGKILL);
	sync();
	agent_log(a, "waiting for the host to close the channel");
	for (struct pollfd p = { .fd = a->port, .events = POLLIN };;) {
		int n = poll(&p, 1, LINGER_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			agent_warn("the host did not close the channel in %d ms", LINGER_MS);
			return;
		}
		if (vm_recv(a->port, &f, &err) <= 0) {
			husk_error_free(&err);
			return;
		}
		vm_frame_clear(&f); /* too late for anything */
	}
}

void agent_loop(struct agent *a)
{
	struct pollfd pfd[N_POLL];
	struct poll_slot slot[N_POLL];

	for (;;) {
		size_t n = poll_fill(a, pfd, slot);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_warn("poll: %s", strerror(errno));
			return;
		}
		int r = on_ready(a, pfd, slot, n);
		if (r == DONE)
			linger(a);
		if (r != GO_ON)
			return;
	}
}
