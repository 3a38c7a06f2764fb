/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small readers of /proc/<pid>. */
#ifndef HUSK_RUNTIME_PROC_H
#define HUSK_RUNTIME_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* State letter (field 3) and start time in clock ticks (field 22) of a
 * process; -errno when it is gone. */
int proc_stat(pid_t pid, char *state, uint64_t *start_time);

/* The host pids of every process in the pid namespace of member, read
 * from /proc (processes of the container without a cgroup). *pids is
 * heap-allocated, NULL when *n is 0. -EEXIST when that namespace is ours:
 * it would be every process on the host. */
int proc_pidns_pids(pid_t member, pid_t **pids, size_t *n);

struct clone_args;

/* clone3() as fork() does it (no new stack), falling back to the older
 * clone() where clone3 is missing (kernels before 5.3, valgrind). Without
 * CLONE_INTO_CGROUP when that fails (no clone3, or a cgroup that refuses),
 * which it then clears in args->flags so the caller knows to join the
 * cgroup itself. Returns 0 in the child. */
pid_t proc_clone(struct clone_args *args);

#endif
