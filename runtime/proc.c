/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../base/cleanup.h"

int proc_stat(pid_t pid, char *state, uint64_t *start_time)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	if (state)
		*state = *p;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EINVAL;
	if (start_time)
		*start_time = strtoull(p, NULL, 10);
	return 0;
}

pid_t proc_clone(struct clone_args *args)
{
	pid_t pid = (pid_t)syscall(SYS_clone3, args, sizeof(*args));
	if (pid < 0 && errno != ENOSYS && (args->flags & CLONE_INTO_CGROUP)) {
		args->flags &= ~(uint64_t)CLONE_INTO_CGROUP;
		pid = (pid_t)syscall(SYS_clone3, args, sizeof(*args));
	}
	if (pid >= 0 || errno != ENOSYS)
		return pid;
	args->flags &= ~(uint64_t)CLONE_INTO_CGROUP;
	/* x86_64 order: flags, stack, parent_tid (the pidfd with CLONE_PIDFD),
	 * child_tid, tls. */
	return (pid_t)syscall(SYS_clone, (unsigned long)args->flags | args->exit_signal, 0UL,
			      (void *)(uintptr_t)args->pidfd, NULL, 0UL);
}

static int pidns_of(const char *pid, struct stat *st)
{
	char path[300];

	snprintf(path, sizeof(path), "/proc/%s/ns/pid", pid);
	return stat(path, st) < 0 ? -errno : 0;
}

int proc_pidns_pids(pid_t member, pid_t **pids, size_t *n)
{
	char name[16];
	struct stat ns, self, st;
	size_t cap = 0;

	*pids = NULL;
	*n = 0;
	snprintf(name, sizeof(name), "%d", member);
	int r = pidns_of(name, &ns);
	if (r < 0 || (r = pidns_of("self", &self)) < 0)
		return r;
	if (ns.st_ino == self.st_ino && ns.st_dev == self.st_dev)
		return -EEXIST;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || pidns_of(e->d_name, &st) < 0 ||
		    st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
			continue;
		if (*n == cap) {
			pid_t *more = realloc(*pids, (cap = cap ? 2 * cap : 16) * sizeof(*more));
			if (!more) {
				free(*pids);
				*pids = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*pids = more;
		}
		(*pids)[(*n)++] = (pid_t)atoi(e->d_name);
	}
	return 0;
}
