/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monitor after create: one poll loop relaying between the guest's
 * control channel and the host (stdio, signals, the start pipe, exec
 * sessions) until the container's process exits or QEMU dies (vm/vm.h). */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../base/io.h"
#include "../base/cleanup.h"
#include "../runtime/log.h"
#include "vm.h"

#define POWEROFF_WAIT_MS 10000
#define IO_CHUNK 65536

enum { P_CTL, P_QEMU, P_SIG, P_START, P_STDIN, P_LISTEN, P_FIXED };


static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Our own fd 1 or 2 once the guest closed it: EOF for its reader, and
 * /dev/null in its place so the number is not reused by accident. */
static void close_stdio(int fd)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, fd);
		close(null);
	}
}

static void send_or_log(struct vm_monitor *m, uint16_t type, uint16_t proc, const void *data,
			size_t len)
{
	husk_error *err = NULL;
	if (vm_send(m->ctl, type, proc, data, len, &err) < 0) {
		log_debug(m->o, "%s", err->msg);
		husk_error_free(&err);
	}
}

/* ---- exec sessions --------------------------------------------------- */

static struct vm_exec_session *session_of(struct vm_monitor *m, uint16_t proc)
{
	for (size_t i = 0; proc && i < VM_MAX_EXECS; i++)
		if (m->execs[i].proc == proc)
			return &m->execs[i];
	return NULL;
}

static void session_end(struct vm_exec_session *s)
{
	close_fd(&s->sock);
	for (int i = 0; i < 3; i++)
		close_fd(&s->fd[i]);
	s->proc = 0;
}

static void session_reply(struct vm_exec_session *s, uint16_t type, const void *data, size_t len)
{
	husk_error *err = NULL;
	if (s->sock >= 0 && vm_send(s->sock, type, s->proc, data, len, &err) < 0) {
		husk_error_free(&err);
		close_fd(&s->sock);
	}
}

static uint16_t next_proc(struct vm_monitor *m)
{
	for (int tries = 0; tries < 65535; tries++) {
		m->next_proc = m->next_proc == 65535 ? 1 : m->next_proc + 1;
		if (!session_of(m, m->next_proc))
			return m->next_proc;
	}
	return 0;
}

static void exec_accept(struct vm_monitor *m)
{
	_cleanup_close_ int sock = accept4(m->exec_listen, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		return;
	/* A client that connects and says nothing must not stall the loop. */
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct vm_frame f;
	int fds[3] = { -1, -1, -1 };
	husk_error *err = NULL;
	if (vm_recv_fds(sock, &f, fds, 3, &err) <= 0 || f.hdr.type != VM_EXEC || fds[2] < 0) {
		husk_error_free(&err);
		if (f.data)
			vm_frame_clear(&f);
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return;
	}
	struct vm_exec_session *s = NULL;
	for (size_t i = 0; !s && i < VM_MAX_EXECS; i++)
		if (!m->execs[i].proc)
			s = &m->execs[i];
	uint16_t proc = s ? next_proc(m) : 0;
	if (!proc) {
		static const char busy[] = "too many exec sessions in this VM";
		vm_send(sock, VM_ERROR, 0, busy, sizeof(busy) - 1, NULL);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		vm_frame_clear(&f);
		return;
	}
	tv.tv_sec = 0;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*s = (struct vm_exec_session){ .proc = proc, .sock = TAKE_FD(sock),
				       .fd = { fds[0], fds[1], fds[2] } };
	send_or_log(m, VM_EXEC, proc, f.data, f.hdr.len);
	vm_frame_clear(&f);
}

/* What the `husk exec` client sends after EXEC: signals and resizes. */
static void exec_from_client(struct vm_monitor *m, struct vm_exec_session *s)
{
	struct vm_frame f;
	husk_error *err = NULL;
	int r = vm_recv(s->sock, &f, &err);
	if (r <= 0) {
		/* The client is gone: so is the process it waited for. */
		husk_error_free(&err);
		close_fd(&s->sock);
		send_or_log(m, VM_SIGNAL, s->proc, &(uint32_t){ SIGKILL }, sizeof(uint32_t));
		return;
	}
	if (f.hdr.type == VM_SIGNAL || f.hdr.type == VM_RESIZE)
		send_or_log(m, f.hdr.type, s->proc, f.data, f.hdr.len);
	vm_frame_clear(&f);
}

static void relay_stdin(struct vm_monitor *m, int fd, uint16_t proc, bool *done)
{
	char buf[IO_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*done = true;
		n = 0;
	}
	send_or_log(m, VM_STDIN, proc, buf, (size_t)n);
}

/* ---- the end --------------------------------------------------------- */

static void tell_sessions_killed(struct vm_monitor *m)
{
	uint32_t killed = SIGKILL; /* a wait status: killed by SIGKILL */
	for (size_t i = 0; i < VM_MAX_EXECS; i++) {
		if (!m->execs[i].proc)
			continue;
		session_reply(&m->execs[i], VM_EXIT, &killed, sizeof(killed));
		session_end(&m->execs[i]);
	}
}

/* The container's process exited: let the guest power off, then go the
 * same way. Closing the channel tells the agent its last frames arrived
 * (vm/proto.h, "The end"). */
__attribute__((noreturn)) static void monitor_finish(struct vm_monitor *m, int wstatus)
{
	close_fd(&m->ctl);
	if (!vm_monitor_wait_qemu(m, POWEROFF_WAIT_MS)) {
		log_debug(m->o, "vm: the guest did not power off; killing QEMU");
		vm_monitor_kill_qemu(m);
	}
	tell_sessions_killed(m);
	vm_exit_like(wstatus);
}

/* QEMU is gone and the container's process never said it exited. */
__attribute__((noreturn)) static void monitor_died(struct vm_monitor *m)
{
	vm_monitor_wait_qemu(m, POWEROFF_WAIT_MS);
	_cleanup_free_ char *why = vm_monitor_qemu_reason(m, "vm: the VM stopped before the container's process exited");
	const char *text = why ? why : "vm: the VM stopped";
	_cleanup_close_ int fd = openat(m->dirfd, VM_EXIT_REASON, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		io_write_all(fd, text, strlen(text));
		io_write_all(fd, "\n", 1);
	}
	if (m->start_sent && !m->started && m->exec_wr >= 0)
		io_write_all(m->exec_wr, text, strlen(text));
	log_error(m->o, text);
	tell_sessions_killed(m);
	_exit(255);
}

/* ---- frames from the guest ------------------------------------------- */

static void on_output(struct vm_monitor *m, const struct vm_frame *f)
{
	int idx = f->hdr.type == VM_STDOUT ? 1 : 2;
	if (f->hdr.proc == 0) {
		if (f->hdr.len)
			io_write_all(idx, f->data, f->hdr.len);
		else
			close_stdio(idx);
		return;
	}
	struct vm_exec_session *s = session_of(m, f->hdr.proc);
	if (!s || s->fd[idx] < 0)
		return;
	if (f->hdr.len)
		io_write_all(s->fd[idx], f->data, f->hdr.len);
	else
		close_fd(&s->fd[idx]);
}

static void on_proc0(struct vm_monitor *m, const struct vm_frame *f)
{
	uint32_t status;
	switch (f->hdr.type) {
	case VM_STARTED:
		m->started = true;
		close_fd(&m->exec_wr); /* EOF: `start` succeeded */
		break;
	case VM_ERROR:
		/* `start` reports it; the agent powers the guest off. */
		if (m->exec_wr >= 0)
			io_write_all(m->exec_wr, f->data, f->hdr.len);
		else
			log_error(m->o, f->data);
		close_fd(&m->exec_wr);
		close_fd(&m->ctl);
		if (!vm_monitor_wait_qemu(m, POWEROFF_WAIT_MS))
			vm_monitor_kill_qemu(m);
		tell_sessions_killed(m);
		_exit(127);
	case VM_EXIT:
		if (vm_frame_u32(f, &status) < 0)
			status = SIGKILL;
		monitor_finish(m, (int)status);
	default:
		log_debug(m->o, "vm: unexpected %s for the container's process", vm_msg_name(f->hdr.type));
	}
}

static void on_procn(struct vm_monitor *m, const struct vm_frame *f)
{
	struct vm_exec_session *s = session_of(m, f->hdr.proc);
	if (!s)
		return;
	switch (f->hdr.type) {
	case VM_STARTED:
		s->started = true;
		session_reply(s, VM_STARTED, NULL, 0);
		break;
	case VM_ERROR:
	case VM_EXIT:
		session_reply(s, f->hdr.type, f->data, f->hdr.len);
		session_end(s);
		break;
	default:
		break;
	}
}

/* One frame; false when the channel is gone. */
static bool on_ctl(struct vm_monitor *m)
{
	struct vm_frame f;
	husk_error *err = NULL;
	int r = vm_recv(m->ctl, &f, &err);
	if (r <= 0) {
		if (err)
			log_debug(m->o, "%s", err->msg);
		husk_error_free(&err);
		return false;
	}
	if (f.hdr.type == VM_STDOUT || f.hdr.type == VM_STDERR)
		on_output(m, &f);
	else if (f.hdr.proc == 0)
		on_proc0(m, &f);
	else
		on_procn(m, &f);
	vm_frame_clear(&f);
	return true;
}

/* ---- host events ----------------------------------------------------- */

static void on_signal(struct vm_monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sfd, &si, sizeof(si)) == sizeof(si)) {
		struct winsize ws;
		if (si.ssi_signo == SIGWINCH && m->terminal && ioctl(0, TIOCGWINSZ, &ws) == 0) {
			uint16_t size[2] = { ws.ws_row, ws.ws_col };
			send_or_log(m, VM_RESIZE, 0, size, sizeof(size));
			continue;
		}
		send_or_log(m, VM_SIGNAL, 0, &si.ssi_signo, sizeof(uint32_t));
	}
}

static void on_start(struct vm_monitor *m)
{
	char byte;
	if (read(m->start_rd, &byte, 1) != 1)
		return;
	send_or_log(m, VM_START, 0, NULL, 0);
	m->start_sent = true;
	/* No longer holding the start pipe: the status is "running". */
	close_fd(&m->start_rd);
	close_fd(&m->start_wr);
}

static size_t build_poll(struct vm_monitor *m, struct pollfd *p)
{
	p[P_CTL] = (struct pollfd){ m->ctl, POLLIN, 0 };
	p[P_QEMU] = (struct pollfd){ m->qemu_pidfd, POLLIN, 0 };
	p[P_SIG] = (struct pollfd){ m->sfd, POLLIN, 0 };
	p[P_START] = (struct pollfd){ m->start_sent ? -1 : m->start_rd, POLLIN, 0 };
	p[P_STDIN] = (struct pollfd){ m->started && !m->stdin_done ? 0 : -1, POLLIN, 0 };
	p[P_LISTEN] = (struct pollfd){ m->exec_listen, POLLIN, 0 };
	for (size_t i = 0; i < VM_MAX_EXECS; i++) {
		const struct vm_exec_session *s = &m->execs[i];
		p[P_FIXED + 2 * i] = (struct pollfd){ s->proc ? s->sock : -1, POLLIN, 0 };
		p[P_FIXED + 2 * i + 1] = (struct pollfd){
			s->proc && s->started && !s->stdin_done ? s->fd[0] : -1, POLLIN, 0 };
	}
	return P_FIXED + 2 * VM_MAX_EXECS;
}

void vm_monitor_loop(struct vm_monitor *m)
{
	struct pollfd p[P_FIXED + 2 * VM_MAX_EXECS];

	for (;;) {
		size_t n = build_poll(m, p);
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error(m->o, "vm: monitor: poll failed");
			vm_monitor_kill_qemu(m);
			_exit(255);
		}
		if (p[P_CTL].revents && !on_ctl(m))
			monitor_died(m);
		if (p[P_QEMU].revents) {
			/* Frames it sent before it went are still to be read. */
			while (on_ctl(m))
				;
			monitor_died(m);
		}
		if (p[P_SIG].revents)
			on_signal(m);
		if (p[P_START].revents)
			on_start(m);
		if (p[P_STDIN].revents)
			relay_stdin(m, 0, 0, &m->stdin_done);
		if (p[P_LISTEN].revents)
			exec_accept(m);
		for (size_t i = 0; i < VM_MAX_EXECS; i++) {
			struct vm_exec_session *s = &m->execs[i];
			if (s->proc && s->sock >= 0 && p[P_FIXED + 2 * i].revents)
				exec_from_client(m, s);
			if (s->proc && s->fd[0] >= 0 && p[P_FIXED + 2 * i + 1].revents)
				relay_stdin(m, s->fd[0], s->proc, &s->stdin_done);
		}
	}
}
