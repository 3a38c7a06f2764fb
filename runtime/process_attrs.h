/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process attributes other than capabilities and seccomp, applied by the
 * container's init to itself just before execve(); they survive execve().
 *
 * Order (see also runtime/caps.h and runtime/seccomp.h):
 *
 *   process_set_rlimits(), process_set_oom_score_adj(),
 *   process_set_scheduler(), process_set_io_priority(),
 *   process_set_personality()      while still uid 0 with full capabilities:
 *                                  raising limits or priorities needs them;
 *   caps_drop_bounding();
 *   [seccomp_install() here when noNewPrivileges is false]
 *   process_set_user();
 *   caps_apply();
 *   [prctl(PR_SET_NO_NEW_PRIVS) and seccomp_install() when it is true]
 *   execve().
 *
 * Each function is a no-op when its config part is absent, and each error
 * names the JSON field.
 */
#ifndef HUSK_RUNTIME_PROCESS_ATTRS_H
#define HUSK_RUNTIME_PROCESS_ATTRS_H

#include "../base/error.h"
#include "../spec/spec.h"

/* process.rlimits via setrlimit(). Raising a hard limit needs
 * CAP_SYS_RESOURCE (and RLIMIT_NOFILE is capped by fs.nr_open); the error
 * says which one was missing. */
int process_set_rlimits(const struct spec_process *p, husk_error **err);

/* process.oomScoreAdj into /proc/self/oom_score_adj. Lowering it below what
 * the runtime has needs CAP_SYS_RESOURCE. */
int process_set_oom_score_adj(const struct spec_process *p, husk_error **err);

/* process.scheduler via sched_setattr(2). */
int process_set_scheduler(const struct spec_process *p, husk_error **err);

/* process.ioPriority via ioprio_set(2) on the calling process. */
int process_set_io_priority(const struct spec_process *p, husk_error **err);

/* linux.personality: "LINUX" or "LINUX32" (l may be NULL). */
int process_set_personality(const struct spec_linux *l, husk_error **err);

/* process.user: setgroups(additionalGids), setresgid(), setresuid(), then
 * umask when given. PR_SET_KEEPCAPS is on across the uid switch so the
 * permitted set survives for caps_apply(), and off again afterwards; the
 * effective set is empty on return when uid is not 0, so call
 * caps_drop_bounding() before and caps_apply() after.
 *
 * In a user namespace whose /proc/self/setgroups is "deny", setgroups() is
 * skipped when there are no additionalGids and an error otherwise (runc
 * refuses additional groups there too). */
int process_set_user(const struct spec_user *u, husk_error **err);

#endif
