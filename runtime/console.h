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

/* In init, after pivot_root: pty from /dev/ptmx, master sent over sock. */
int console_setup(int sock, const struct spec_process *p, husk_error **err);

int console_send_fd(int sock, int fd, const char *name, husk_error **err);
int console_recv_fd(int sock, husk_error **err);

/* `run` in the foreground without --console-socket: copies between our
 * stdio and the master until the container exits (pidfd readable). */
int console_proxy(int master, int pidfd);

#endif
