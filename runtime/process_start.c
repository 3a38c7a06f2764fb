/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "process_start.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "caps.h"
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

static int process_security(const struct spec_process *p, const struct spec_linux *l,
			    scmp_filter_ctx seccomp, husk_error **err)
{
	int notify_fd = -1;

	if (process_set_rlimits(p, err) < 0 || process_set_oom_score_adj(p, err) < 0 ||
	    process_set_scheduler(p, err) < 0 || process_set_io_priority(p, err) < 0 ||
	    process_set_personality(l, err) < 0 || process_set_lsm(p, err) < 0)
		return -1;
	if (caps_drop_bounding(p->capabilities, err) < 0)
		return -1;
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it now. */
	if (seccomp && !p->no_new_privileges && seccomp_install(seccomp, &notify_fd, err) < 0)
		return -1;
	if (process_set_user(&p->user, err) < 0 || caps_apply(p->capabilities, err) < 0)
		return -1;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_fail(err, errno, "process.noNewPrivileges");
	if (seccomp && p->no_new_privileges && seccomp_install(seccomp, &notify_fd, err) < 0)
		return -1;
	return 0;
}

int process_start(const struct spec_process *p, const struct spec_linux *l,
		  scmp_filter_ctx seccomp, unsigned preserve_fds, const char *exe,
		  int exec_err_fd, husk_error **err)
{
	/* Before seccomp, which need not allow memfd_create. */
	_cleanup_close_ int stub = trampoline_open(3 + (int)preserve_fds);

	if (stub < 0 && !trampoline_unavailable(errno))
		return husk_fail(err, errno, "exec trampoline");
	if (process_security(p, l, seccomp, err) < 0 || process_fds(preserve_fds, err) < 0)
		return -1;
	/* Never execve() from husk itself: see runtime/trampoline.h. */
	if (stub >= 0 && trampoline_exec(stub, exe, (char *const *)p->args,
					 (char *const *)p->env, exec_err_fd) < 0 &&
	    !trampoline_unavailable(errno))
		return husk_fail(err, errno, "exec %s", p->args[0]);
	execve(exe, (char *const *)p->args, (char *const *)p->env);
	return husk_fail(err, errno, "exec %s", p->args[0]);
}
