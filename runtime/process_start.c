/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "process_start.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../spec/state.h"
#include "caps.h"
#include "console.h"
#include "process_attrs.h"
#include "seccomp.h"
#include "trampoline.h"

static bool lsm_enabled(const char *name)
{
	char buf[4096] = "";
	_cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (!strcmp(tok, name))
			return true;
	return false;
}

int process_validate_lsm(const struct spec_process *p, husk_error **err)
{
	if (p->apparmor_profile && *p->apparmor_profile && !lsm_enabled("apparmor"))
		return husk_fail(err, 0, "config.json: process.apparmorProfile: AppArmor is not enabled on this host");
	if (p->selinux_label && *p->selinux_label && !lsm_enabled("selinux"))
		return husk_fail(err, 0, "config.json: process.selinuxLabel: SELinux is not enabled on this host");
	return 0;
}

/* The label the next execve() puts on us. */
static int lsm_set_exec_label(const char *attr, const char *value, husk_error **err)
{
	_cleanup_close_ int fd = open(attr, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		return husk_fail(err, errno, "write %s", attr);
	return 0;
}

static int process_set_lsm(const struct spec_process *p, husk_error **err)
{
	if (p->apparmor_profile && *p->apparmor_profile) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "exec %s", p->apparmor_profile);
		if (lsm_set_exec_label("/proc/self/attr/apparmor/exec", cmd, err) < 0)
			return husk_error_wrap(err, "process.apparmorProfile");
	}
	if (p->selinux_label && *p->selinux_label &&
	    lsm_set_exec_label("/proc/self/attr/exec", p->selinux_label, err) < 0)
		return husk_error_wrap(err, "process.selinuxLabel");
	return 0;
}

static int process_fds(unsigned preserve_fds, husk_error **err)
{
	for (unsigned fd = 3; fd < 3 + preserve_fds; fd++) {
		int flags = fcntl((int)fd, F_GETFD);
		if (flags >= 0)
			fcntl((int)fd, F_SETFD, flags & ~FD_CLOEXEC);
	}
	/* No descriptor of husk's reaches the container. */
	if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return husk_fail(err, errno, "close_range");
	return 0;
}

/*
 * CVE-2024-21626: process.cwd (or exec --cwd) "/proc/self/fd/N" reaches
 * whatever directory fd N names, and an fd the caller let us inherit (or
 * passed with --preserve-fds) may be a host directory: chdir() succeeds and
 * "../../.." then walks the host's tree. The kernel's getcwd() reports such
 * a cwd as unreachable from our root (glibc: ENOENT). Refuse it, as runc
 * >= 1.1.12 does ("possible container breakout"). Called after the chdir,
 * by both the init and exec, before anything of the user's runs.
 */
int process_check_cwd(husk_error **err)
{
	char buf[PATH_MAX];

	errno = 0;
	if (getcwd(buf, sizeof(buf)) ? buf[0] == '/' :
	    errno == ERANGE || errno == ENAMETOOLONG)
		return 0; /* ERANGE: deeper than PATH_MAX, not "unreachable" */
	return husk_fail(err, 0, "process.cwd: the working directory is outside the "
			 "container's root (possible container breakout)");
}

/* runtime-spec: the listener receives the ContainerProcessState with the
 * seccomp notify fd as SCM_RIGHTS, in one message. */
static int process_send_listener(const struct process_start_args *a, int notify_fd,
				 husk_error **err)
{
	const struct spec_seccomp *sc = a->linux_->seccomp;
	struct json_object *msg = json_object_new_object(), *fds = json_object_new_array();
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(msg, "ociVersion", json_object_new_string(HUSK_OCI_VERSION));
	json_object_object_add(msg, "fds", fds);
	json_object_object_add(msg, "pid", json_object_new_int(a->host_pid));
	json_object_object_add(msg, "metadata", json_object_new_string(sc->listener_metadata ? sc->listener_metadata : ""));
	json_object_object_add(msg, "state", a->state_json ? json_tokener_parse(a->state_json) : NULL);
	int r = console_send_fd(a->listener_fd, notify_fd,
				json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE),
				err);
	json_object_put(msg);
	close(notify_fd);
	return r < 0 ? husk_error_wrap(err, "linux.seccomp.listenerPath") : 0;
}

static int process_seccomp(const struct process_start_args *a, husk_error **err)
{
	int notify_fd = -1;
	if (seccomp_install(a->seccomp, &notify_fd, err) < 0)
		return -1;
	if (notify_fd >= 0 && a->listener_fd >= 0)
		return process_send_listener(a, notify_fd, err);
	if (notify_fd >= 0)
		close(notify_fd);
	return 0;
}

static int process_security(const struct process_start_args *a, husk_error **err)
{
	const struct spec_process *p = a->process;

	if (!a->limits_applied &&
	    (process_set_rlimits(p, err) < 0 || process_set_oom_score_adj(p, err) < 0))
		return -1;
	if (process_set_scheduler(p, err) < 0 || process_set_io_priority(p, err) < 0 ||
	    process_set_personality(a->linux_, err) < 0 || process_set_lsm(p, err) < 0)
		return -1;
	if (caps_drop_bounding(p->capabilities, err) < 0)
		return -1;
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it now. */
	if (a->seccomp && !p->no_new_privileges && process_seccomp(a, err) < 0)
		return -1;
	if (process_set_user(&p->user, err) < 0 || caps_apply(p->capabilities, err) < 0)
		return -1;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_fail(err, errno, "process.noNewPrivileges");
	if (a->seccomp && p->no_new_privileges && process_seccomp(a, err) < 0)
		return -1;
	return 0;
}

/* The home directory of uid in the container's /etc/passwd, or "/". */
static char *passwd_home(uid_t uid)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *fields[6] = { 0 }, *tok = line;
		int n = 0;
		for (char *c = strchr(tok, ':'); n < 6 && c; c = strchr(tok, ':')) {
			*c = '\0';
			fields[n++] = tok;
			tok = c + 1;
		}
		if (n < 6 || strtoul(fields[2], NULL, 10) != uid)
			continue;
		return strdup(*fields[5] ? fields[5] : "/");
	}
	return strdup("/");
}

const char **process_env_with_home(const char **env, size_t n_env, uid_t uid)
{
	for (size_t i = 0; i < n_env; i++)
		if (!strncmp(env[i], "HOME=", 5))
			return env;
	const char **out = calloc(n_env + 2, sizeof(*out));
	_cleanup_free_ char *home = passwd_home(uid);
	char *var = NULL;
	if (!out || !home || asprintf(&var, "HOME=%s", home) < 0) {
		free(out);
		return env;
	}
	memcpy(out, env, n_env * sizeof(*out));
	out[n_env] = var;
	return out; /* ours until execve replaces us */
}

int process_start(const struct process_start_args *a, husk_error **err)
{
	const struct spec_process *p = a->process;
	/* Before seccomp, which need not allow memfd_create. */
	_cleanup_close_ int stub = trampoline_open(3 + (int)a->preserve_fds);
	/* Before the user switch, which may lose the right to read it. */
	const char **env = process_env_with_home(p->env, p->n_env, p->user.uid);

	if (stub < 0 && !trampoline_unavailable(errno))
		return husk_fail(err, errno, "exec trampoline");
	if (process_check_cwd(err) < 0)
		return -1;
	if (process_security(a, err) < 0 || process_fds(a->preserve_fds, err) < 0)
		return -1;
	/* Never execve() from husk itself: see runtime/trampoline.h. */
	if (stub >= 0 && trampoline_exec(stub, a->exe, (char *const *)p->args,
					 (char *const *)env, a->exec_err_fd) < 0 &&
	    !trampoline_unavailable(errno))
		return husk_fail(err, errno, "exec %s", p->args[0]);
	execve(a->exe, (char *const *)p->args, (char *const *)env);
	return husk_fail(err, errno, "exec %s", p->args[0]);
}
