/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trampoline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/io.h"
#include "../base/cleanup.h"

/* The built stub, from runtime/trampoline/blob.S. */
extern const char husk_trampoline_start[];
extern const uint64_t husk_trampoline_size;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Nobody, not even a process that reopens /proc/<pid>/exe, can change it. */
#define TRAMPOLINE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int trampoline_memfd(unsigned *seals)
{
	/* MFD_EXEC keeps it executable where vm.memfd_noexec would not (6.3+);
	 * older kernels know neither MFD_EXEC nor F_SEAL_EXEC. */
	int fd = memfd_create("husk-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd >= 0 || errno != EINVAL) {
		*seals = TRAMPOLINE_SEALS | F_SEAL_EXEC;
		return fd;
	}
	*seals = TRAMPOLINE_SEALS;
	return memfd_create("husk-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}


int trampoline_open(int min_fd)
{
	unsigned seals;
	_cleanup_close_ int fd = trampoline_memfd(&seals);

	if (fd < 0 || io_write_all(fd, husk_trampoline_start, (size_t)husk_trampoline_size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, seals) < 0)
		return -1;
	/* Below min_fd it could be one of the descriptors the process keeps. */
	if (fd < min_fd)
		return fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	return TAKE_FD(fd);
}

static int cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return -1;
	return fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

int trampoline_exec(int memfd, const char *exe, char *const argv[], char *const envp[],
		    int err_fd)
{
	size_t argc = 0;
	char fd_arg[16];

	while (argv[argc])
		argc++;
	_cleanup_free_ char **stub_argv = calloc(argc + 4, sizeof(*stub_argv));
	if (!stub_argv)
		return -1;
	snprintf(fd_arg, sizeof(fd_arg), "%d", err_fd >= 0 ? err_fd : -1);
	stub_argv[0] = (char *)"husk-trampoline";
	stub_argv[1] = fd_arg;
	stub_argv[2] = (char *)exe;
	memcpy(stub_argv + 3, argv, argc * sizeof(*argv));

	/* The stub reports a failed exec there, and marks it close-on-exec
	 * again itself so that a good exec still reads as EOF. */
	if (err_fd >= 0 && cloexec(err_fd, false) < 0)
		return -1;
	syscall(SYS_execveat, memfd, "", stub_argv, envp, AT_EMPTY_PATH);
	int saved = errno;
	if (err_fd >= 0)
		cloexec(err_fd, true);
	errno = saved;
	return -1;
}

bool trampoline_unavailable(int err)
{
	/* ENOSYS/EINVAL: a kernel without memfd_create/execveat; EPERM: a
	 * seccomp filter denies execveat; EACCES: vm.memfd_noexec=2 or an LSM
	 * refuses to run a memfd. */
	return err == ENOSYS || err == EINVAL || err == EPERM || err == EACCES;
}
