/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The last execve() of a container process goes through a tiny static stub
 * (runtime/trampoline/stub.c) run from a sealed memfd, which then execs the
 * user's program. While the kernel runs that last exec, /proc/self/exe is
 * the sealed stub instead of the host's husk binary, so a `#!/proc/self/exe`
 * entrypoint cannot get hold of husk and overwrite it (CVE-2019-5736).
 */
#ifndef HUSK_RUNTIME_TRAMPOLINE_H
#define HUSK_RUNTIME_TRAMPOLINE_H

#include <stdbool.h>

/*
 * A sealed, close-on-exec memfd holding the stub, at a descriptor >= min_fd
 * (above the ones the process keeps). Call it before seccomp filters are
 * loaded: they need not allow memfd_create. -1 with errno on failure.
 */
int trampoline_open(int min_fd);

/*
 * execveat()s the stub in memfd, which execs exe with argv and envp. err_fd
 * (or -1) is kept open across the stub only: if exec of exe fails, the stub
 * writes "exec <argv[0]>: <error>" to it and exits 127. Returns only on
 * failure: -1 with errno.
 */
int trampoline_exec(int memfd, const char *exe, char *const argv[], char *const envp[],
		    int err_fd);

/* True when errno says the trampoline is not available here (old kernel,
 * seccomp or LSM policy): plain execve() is the fallback. */
bool trampoline_unavailable(int err);

#endif
