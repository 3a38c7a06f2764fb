/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps of the container's init (runtime/init.c) that the micro-VM guest
 * agent (vm/agent/) also takes when it sets up a container inside the
 * guest, so that both set a container up with the same code.
 */
#ifndef HUSK_RUNTIME_INIT_STEPS_H
#define HUSK_RUNTIME_INIT_STEPS_H

#include <stdbool.h>

#include "../base/error.h"
#include "../spec/spec.h"

/* A new session keyring (unless no_new_keyring; EPERM and ENOSYS are not
 * errors), then hostname and domainname when the config sets them. */
int init_set_names(const struct spec *s, bool no_new_keyring, husk_error **err);

/* linux.sysctl, written under /proc/sys ("net.ipv4.ip_forward" is
 * net/ipv4/ip_forward). Errors: "linux.sysctl: write net.ipv4.ip_forward". */
int init_sysctl(const struct spec *s, husk_error **err);

/* mkdir -p, errors ignored: runc creates a missing cwd, even under a
 * read-only root (the chdir that follows reports what failed). */
void init_mkdir_p(const char *dir);

struct rootfs_ctx;

/* The last steps before the process is started, after the mounts: the
 * cwd made (init_mkdir_p) and entered and checked to be inside the root
 * (CVE-2024-21626), the root finalized (read-only, propagation) when
 * finalize is set, the executable looked up in the container, then rlimits
 * and oomScoreAdj, last as runc sets them: limits the runtime cannot grant
 * fail create, not start, and a low RLIMIT_NOFILE does not starve the
 * mounts. *exe is heap-allocated. */
int init_enter_process(const struct rootfs_ctx *rc, bool finalize, char **exe,
		       husk_error **err);

/* The container has a mount namespace of its own (not a joined one):
 * then, and only then, the init sets its root up. */
bool init_own_mounts(const struct spec *s);

#endif
