/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "init_steps.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../rootfs/rootfs.h"
#include "exec_path.h"
#include "process_attrs.h"
#include "process_start.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

int init_set_names(const struct spec *s, bool no_new_keyring, husk_error **err)
{
	if (!no_new_keyring &&
	    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS &&
	    errno != EPERM)
		return husk_fail(err, errno, "join a new session keyring");
	if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return husk_fail(err, errno, "set hostname");
	if (s->domainname && *s->domainname &&
	    setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return husk_fail(err, errno, "set domainname");
	return 0;
}

int init_sysctl(const struct spec *s, husk_error **err)
{
	for (size_t i = 0; s->linux_ && i < s->linux_->n_sysctl; i++) {
		const struct spec_kv *kv = &s->linux_->sysctl[i];
		char path[512];
		int n = snprintf(path, sizeof(path), "/proc/sys/%s", kv->key);
		for (char *c = path + strlen("/proc/sys/"); c < path + n; c++)
			if (*c == '.')
				*c = '/';
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
		size_t len = strlen(kv->value);
		if (fd < 0 || write(fd, kv->value, len) != (ssize_t)len)
			return husk_fail(err, errno, "linux.sysctl: write %s", kv->key);
	}
	return 0;
}

void init_mkdir_p(const char *dir)
{
	_cleanup_free_ char *p = strdup(dir);
	if (!p)
		return;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		mkdir(p, 0755);
		*c = '/';
	}
	mkdir(p, 0755);
}

bool init_own_mounts(const struct spec *s)
{
	const struct spec_namespace *mnt = spec_find_namespace(s, CLONE_NEWNS);
	return mnt && !mnt->path;
}

int init_enter_process(const struct rootfs_ctx *rc, bool finalize, char **exe,
		       husk_error **err)
{
	const struct spec_process *p = rc->spec->process;
	const char *cwd = p->cwd ? p->cwd : "/";

	init_mkdir_p(cwd);
	if (finalize && rootfs_finalize(rc, err) < 0)
		return -1;
	if (chdir(cwd) < 0)
		return husk_fail(err, errno, "process.cwd: chdir %s", cwd);
	if (process_check_cwd(err) < 0)
		return -1;
	*exe = exec_path_lookup(p->args[0], p->env, err);
	if (!*exe)
		return -1;
	if (process_set_rlimits(p, err) < 0 || process_set_oom_score_adj(p, err) < 0)
		return -1;
	return 0;
}
