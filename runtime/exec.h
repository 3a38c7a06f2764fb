/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `exec`: a new process inside a running container. husk enters the
 * container's pid namespace around clone3() (it only affects children), the
 * child joins the container's cgroup (written by us before it goes on), then
 * its user namespace and every other one, and finishes like the init does
 * (runtime/process_start.h). Its exec error, if any, comes back on a pipe
 * that closes on a successful execve.
 */
#ifndef HUSK_RUNTIME_EXEC_H
#define HUSK_RUNTIME_EXEC_H

#include "container.h"

struct exec_opts {
	const char *pid_file;
	const char *console_socket;
	const char *pidfd_socket;
	unsigned preserve_fds;
	bool detach;
	bool ignore_paused;
};

struct exec_result {
	pid_t pid;
	int pidfd;
	int console_master; /* foreground --tty without a console socket, else -1 */
};

int exec_spawn(struct container *c, const struct spec *s, const struct spec_process *p,
	       const struct exec_opts *o, struct exec_result *out, husk_error **err);

#endif
