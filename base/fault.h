/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault points for crash-safety tests (tests/integration/test_crash_safety.py).
 *
 *     FAULT_POINT("create-after-cgroup");
 *
 * expands to nothing unless husk is built with -DHUSK_FAULTS (`make faults`,
 * which builds build-faults/husk; the normal build never has them). With it,
 * a point whose name equals the environment variable HUSK_FAULT kills the
 * process on the spot with SIGKILL: no cleanup, no atexit, as a crash or an
 * OOM kill would. Points reached in the container's init are named
 * "init-...": they kill the init, not `husk create`.
 */
#ifndef HUSK_BASE_FAULT_H
#define HUSK_BASE_FAULT_H

#ifdef HUSK_FAULTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void fault_point(const char *name)
{
	const char *want = getenv("HUSK_FAULT");
	if (want && !strcmp(want, name)) {
		raise(SIGKILL);
		/* The init of a new pid namespace ignores a signal it sends
		 * itself (SIGNAL_UNKILLABLE): die without cleanup anyway. */
		_exit(128 + SIGKILL);
	}
}
#define FAULT_POINT(name) fault_point(name)
#else
#define FAULT_POINT(name) ((void)0)
#endif

#endif
