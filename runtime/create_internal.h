/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `create` holds while it works; shared by create.c, create_spawn.c
 * and, for VM mode, vm/create.c only. */
#ifndef HUSK_RUNTIME_CREATE_INTERNAL_H
#define HUSK_RUNTIME_CREATE_INTERNAL_H

#include <seccomp.h>

#include "../cgroups/cgroup.h"
#include "container.h"
#include "namespaces.h"

struct create_job {
	struct spec *spec;
	char *bundle;
	char *rootfs;
	struct container_state st;
	struct ns_plan ns;
	struct cgroup *cg;
	scmp_filter_ctx seccomp;
	bool vm; /* a micro-VM: vm/create.c drives it instead of an init */
	bool cgroup_made;
	bool cloned_into_cgroup; /* clone3(CLONE_INTO_CGROUP) placed it in cgroup2 */
	/* v1 tasks files the init writes itself (cgroup_self_join_open()) */
	int self_join[CGROUP_SELF_JOIN_MAX];
	size_t n_self_join;
	bool unprivileged; /* husk's euid is not 0: see runtime/rootless.h */
	bool config_written; /* config.json is in the state dir */
	bool state_final;    /* state.json names the init, its pipes and cgroup */
	/* fds, closed in create_job_free(); keep them together, in this order */
	int sync[2];  /* [0] parent, [1] init */
	int start[2]; /* init reads [0]; `start` writes via /proc/<pid>/fd */
	int exec[2];  /* init writes [1] */
	int console_peer; /* our end when we are the console */
	int listener_fd;  /* linux.seccomp.listenerPath, for init */
	int console_fd;   /* the end init uses */
	int pidfd;
	int dirfd;
	int rootfd;
};

int create_run(struct create_job *j, const struct husk_opts *o, const struct create_opts *c,
	       husk_error **err);
void create_undo(struct create_job *j);
/* state.json (and config.json with config) before the container is ready,
 * so that delete finds what a killed create made (a network). */
/* Records the freshly cloned init (or VM monitor) in the state: pid, its
 * start time, the start/exec pipe ends it holds; closes ours. */
void create_record_init(struct create_job *j, pid_t pid);
int create_persist_early(struct create_job *j, bool config, husk_error **err);
/* config.json into the state dir, once. */
int create_write_config(struct create_job *j, husk_error **err);

#endif
