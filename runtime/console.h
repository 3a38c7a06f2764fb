/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Terminals (process.terminal). As runc does it: the container's init opens
 * a pty in the container's own devpts, makes the slave its controlling tty
 * and stdio, and sends the master over the --console-socket (a unix socket
 * the caller listens on; husk connects before cloning so the container never
 * needs to see the path) with SCM_RIGHTS, the pty name as the payload.
 */
#ifndef HUSK_RUNTIME_CONSOLE_H
#define HUSK_RUNTIME_CONSOLE_H

#include "../spec/spec.h"

int console_connect(const char *path, husk_error **err);

/* After pivot_root (init) or setns (exec): pty from /dev/ptmx, master sent
 * over sock. Only the init binds it on /dev/console (dev_console), as runc:
 * an exec's pty is gone when it exits, and the bind left on /dev/console
 * would make the next exec's open of /dev/console fail with EIO. */
int console_setup(int sock, const struct spec_process *p, bool dev_console, husk_error **err);

/* A new pty from /dev/ptmx: the master in *master, the slave's path in
 * name; returns the slave, or -1 with *err. */
#define CONSOLE_NAME_MAX 128
int console_open_pty(int *master, char name[CONSOLE_NAME_MAX], husk_error **err);

/* The same, for a terminal that a micro-VM's guest runs itself: the host
 * side stays raw, sized as process.consoleSize. */
int console_open_raw_pty(const struct spec_process *p, int *master, char name[CONSOLE_NAME_MAX],
			 husk_error **err);

int console_send_fd(int sock, int fd, const char *name, husk_error **err);
int console_recv_fd(int sock, husk_error **err);

/* `run` in the foreground without --console-socket: copies between our
 * stdio and the master until the container exits (pidfd readable). */
int console_proxy(int master, int pidfd);

#endif
