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

struct process_start_args {
	const struct spec_process *process;
	const struct spec_linux *linux_; /* may be NULL */
	scmp_filter_ctx seccomp;         /* may be NULL */
	unsigned preserve_fds;
	bool limits_applied; /* rlimits and oomScoreAdj already set (init: at create) */
	const char *exe;     /* process->args[0] resolved in the container */
	int exec_err_fd;     /* gets the error text if the final execve fails, or -1 */
	/* linux.seccomp.listenerPath: a socket connected by the host side, and
	 * the container process state sent on it with the notify fd (or -1). */
	int listener_fd;
	pid_t host_pid;      /* this process as the host sees it */
	const char *state_json;
};

/* Fails when the cwd is not reachable from our root: a leaked fd named as
 * the cwd ("/proc/self/fd/N") would leave the container in the host's tree
 * (CVE-2024-21626). process_start() checks it; init also at create. */
int process_check_cwd(husk_error **err);

/* Returns only on failure (-1 with *err set). */
int process_start(const struct process_start_args *a, husk_error **err);

/* Sets HOME from the container's /etc/passwd when env lacks it, as runc does.
 * Returns a new NULL-terminated array (or env itself when nothing changes). */
const char **process_env_with_home(const char **env, size_t n_env, uid_t uid);

#endif
