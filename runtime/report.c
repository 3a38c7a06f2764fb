/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "console.h"

static int write_pid_file(const char *path, pid_t pid, husk_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	char num[32];
	int len = snprintf(num, sizeof(num), "%d", pid);
	if (asprintf(&tmp, "%s.husk-tmp", path) < 0)
		return husk_fail(err, ENOMEM, "pid file");
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, num, (size_t)len) != len || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return husk_fail(err, saved, "write pid file %s", path);
	}
	return 0;
}

int report_pid(const char *pid_file, const char *pidfd_socket, pid_t pid, int pidfd,
	       const char *id, husk_error **err)
{
	if (pid_file && write_pid_file(pid_file, pid, err) < 0)
		return -1;
	if (pidfd_socket) {
		_cleanup_close_ int sock = console_connect(pidfd_socket, err);
		if (sock < 0 || console_send_fd(sock, pidfd, id, err) < 0)
			return husk_error_wrap(err, "--pidfd-socket");
	}
	return 0;
}
