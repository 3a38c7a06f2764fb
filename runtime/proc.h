/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small readers of /proc/<pid>. */
#ifndef HUSK_RUNTIME_PROC_H
#define HUSK_RUNTIME_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* State letter (field 3) and start time in clock ticks (field 22) of a
 * process; -errno when it is gone. */
int proc_stat(pid_t pid, char *state, uint64_t *start_time);

#endif
