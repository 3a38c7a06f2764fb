/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's init: the process husk clones, which sets itself up as
 * the container and later execs the user's process. It runs on a copy of the
 * parent's memory; struct init_ctx is what it inherits at clone time and only
 * reads. Everything it learns or reports afterwards goes through struct
 * sync_msg (runtime/sync.h) — or, after `start`, through its exec pipe.
 */
#ifndef HUSK_RUNTIME_INIT_H
#define HUSK_RUNTIME_INIT_H

#include <seccomp.h>

#include "container.h"
#include "namespaces.h"

struct init_ctx {
	const struct spec *spec;
	const struct create_opts *opts;
	const struct container_state *state; /* pid unknown until SYNC_GO */
	const char *rootfs;
	const struct ns_plan *ns;
	scmp_filter_ctx seccomp; /* NULL when the config has none */
	int sync_fd;
	int start_rd; /* blocks here until `start` writes a byte */
	int exec_wr;  /* closes on exec; an error message otherwise */
	int console_fd; /* console socket, or -1 */
	int listener_fd; /* linux.seccomp.listenerPath, connected, or -1 */
	const struct cgroup *cg; /* where the parent puts us (SYNC_CGROUP_DONE) */
	const int *self_join; /* v1 tasks files we write "0" to on SYNC_GO */
	size_t n_self_join;
	/* Stay dumpable: an unprivileged parent must write our uid_map, and
	 * `start` open our start pipe, through /proc/<pid> (rootless.h). */
	bool dumpable;
};

__attribute__((noreturn)) void init_main(const struct init_ctx *ctx);

#endif
