/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The last steps before a container process becomes the user's program,
 * shared by the container's init and by `exec`: rlimits, oom score,
 * scheduler, personality, LSM labels, capabilities, user, no_new_privs,
 * seccomp, descriptors, then execve(). The caller is already in the
 * container's namespaces, root and cwd.
 */
#ifndef HUSK_RUNTIME_PROCESS_START_H
#define HUSK_RUNTIME_PROCESS_START_H

#include <seccomp.h>

#include "../spec/spec.h"

/* Refuses apparmorProfile/selinuxLabel on a host without that LSM. */
int process_validate_lsm(const struct spec_process *p, husk_error **err);

/* Returns only on failure (-1 with *err set). If exec of the user's program
 * fails after husk is gone, the error text goes to exec_err_fd (or -1). */
int process_start(const struct spec_process *p, const struct spec_linux *l,
		  scmp_filter_ctx seccomp, unsigned preserve_fds, const char *exe,
		  int exec_err_fd, husk_error **err);

#endif
