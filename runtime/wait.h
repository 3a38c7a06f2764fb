/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `run` and `exec` in the foreground: wait for our child, passing on the
 * signals we receive (and the terminal, when we hold its master), and turn
 * its end into an exit status as runc does: the code, or 128 + signal. */
#ifndef HUSK_RUNTIME_WAIT_H
#define HUSK_RUNTIME_WAIT_H

#include <sys/types.h>

int foreground_wait(pid_t pid, int pidfd, int master);

#endif
