/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `create`, `run` and `exec` hand back to their caller besides the exit
 * status: the pid file (written atomically, as runc does, so a reader never
 * sees it half-written) and a pidfd over --pidfd-socket. */
#ifndef HUSK_RUNTIME_REPORT_H
#define HUSK_RUNTIME_REPORT_H

#include <sys/types.h>

#include "../base/error.h"

int report_pid(const char *pid_file, const char *pidfd_socket, pid_t pid, int pidfd,
	       const char *id, husk_error **err);

#endif
