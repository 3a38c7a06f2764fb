/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process table and the relay between processes' stdio and frames. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../proto.h"

#define RELAY_CHUNK (64 * 1024)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct agent_proc *agent_proc_find(struct agent *a, uint16_t id)
{
	for (size_t i = 0; i < AGENT_MAX_PROCS; i++)
		if (a->procs[i].used && a->procs[i].id == id)
			return &a->procs[i];
	return NULL;
}

struct agent_proc *agent_proc_new(struct agent *a, uint16_t id, husk_error **err)
{
	if (agent_proc_find(a, id))
		return husk_fail(err, EEXIST, "process %u exists", id), NULL;
	for (size_t i = 0; i < AGENT_MAX_PROCS; i++) {
		struct agent_proc *p = &a->procs[i];
		if (p->used)
			continue;
		*p = (struct agent_proc){ .used = true, .id = id, .ctl = -1, .in = -1,
					  .out = -1, .err = -1 };
		return p;
	}
	husk_fail(err, EAGAIN, "more than %d processes", AGENT_MAX_PROCS);
	return NULL;
}

void agent_proc_release(struct agent_proc *p)
{
	/* With a terminal, in and out are the same master. */
	if (p->in == p->out)
		p->in = -1;
	close_fd(&p->ctl);
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	free(p->in_buf);
	*p = (struct agent_proc){ .ctl = -1, .in = -1, .out = -1, .err = -1 };
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int agent_proc_pipes(struct agent_proc *p, int child_fds[3], husk_error **err)
{
	int pipes[3][2];

	child_fds[0] = child_fds[1] = child_fds[2] = -1;
	if (p->terminal)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			for (int j = 0; j < i; j++) {
				close(pipes[j][0]);
				close(pipes[j][1]);
			}
			return husk_fail(err, errno, "stdio pipes");
		}
	}
	/* Only our ends are non-blocking: the child's stay as programs expect. */
	p->in = pipes[0][1];
	p->out = pipes[1][0];
	p->err = pipes[2][0];
	child_fds[0] = pipes[0][0];
	child_fds[1] = pipes[1][1];
	child_fds[2] = pipes[2][1];
	if (set_nonblock(p->in) < 0 || set_nonblock(p->out) < 0 || set_nonblock(p->err) < 0)
		return husk_fail(err, errno, "stdio pipes");
	return 0;
}

void agent_proc_set_master(struct agent_proc *p, int master)
{
	set_nonblock(master);
	p->in = p->out = master;
}

void agent_proc_stdin(struct agent_proc *p, const char *data, size_t len)
{
	if (p->in < 0 || p->in_eof)
		return;
	if (!len) {
		p->in_eof = true;
	} else {
		char *buf = realloc(p->in_buf, p->in_len + len);
		if (!buf) {
			agent_warn("proc %u: stdin: out of memory, %zu bytes dropped", p->id, len);
			return;
		}
		memcpy(buf + p->in_len, data, len);
		p->in_buf = buf;
		p->in_len += len;
	}
	agent_proc_flush_stdin(p);
}

void agent_proc_flush_stdin(struct agent_proc *p)
{
	while (p->in >= 0 && p->in_len) {
		ssize_t n = write(p->in, p->in_buf, p->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* the reader is gone: drop what it will never read */
			p->in_len = 0;
			break;
		}
		memmove(p->in_buf, p->in_buf + n, p->in_len - (size_t)n);
		p->in_len -= (size_t)n;
	}
	/* A terminal has no half-close: its stdin ends with the process. */
	if (p->in_eof && !p->in_len && p->in != p->out)
		close_fd(&p->in);
}

int agent_proc_relay(struct agent *a, struct agent_proc *p, int *fd, bool drain,
		     husk_error **err)
{
	uint16_t type = fd == &p->err ? VM_STDERR : VM_STDOUT;
	_cleanup_free_ char *buf = malloc(RELAY_CHUNK);

	if (!buf)
		return husk_fail(err, ENOMEM, "relay");
	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, RELAY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) { /* EOF, or EIO: a pty whose slave is closed */
			if (fd == &p->out && p->in == p->out)
				p->in = -1;
			close_fd(fd);
			return vm_send(a->port, type, p->id, NULL, 0, err);
		}
		if (vm_send(a->port, type, p->id, buf, (size_t)n, err) < 0)
			return -1;
		if (!drain)
			return 0;
	}
	return 0;
}
