/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A container's persisted state (husk's own state.json under --root/<id>/)
 * and the two JSON views of it that others read:
 *   - the OCI state the runtime-spec defines (hooks get it on stdin), and
 *   - runc's `state` output (adds rootfs, created, owner), which engines parse.
 */
#ifndef HUSK_SPEC_STATE_H
#define HUSK_SPEC_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

struct json_object;

#define HUSK_OCI_VERSION "1.2.0"

struct container_state {
	char *id;
	pid_t pid;          /* host pid of the container's init */
	uint64_t pid_start; /* its start time (/proc/<pid>/stat field 22), against pid reuse */
	char *bundle;       /* absolute */
	char *rootfs;       /* absolute */
	char *created;      /* RFC 3339 UTC with nanoseconds */
	char *owner;        /* "" as runc writes for root */
	/* init blocks reading start_fd (a pipe, inode start_ino) until `start`. */
	int start_fd;
	uint64_t start_ino;
	int exec_fd;        /* init's write end: EOF when it has exec'd */
	bool vm;            /* pid is a micro-VM's monitor (vm/vm.h), not an init */
	/* Which hooks start and delete run (STATE_HOOK_*), so that they read
	 * config.json only then; -1 in a state.json written before husk kept it. */
	int post_hooks;
	struct json_object *annotations; /* object, owned (may be NULL) */
	struct json_object *cgroup;      /* cgroups/ private data, owned (may be NULL) */
	struct json_object *network;     /* netns/ private data, owned (may be NULL) */
};

#define STATE_HOOK_POSTSTART 1
#define STATE_HOOK_POSTSTOP 2

/* Whether a command must read config.json for the hooks in mask. */
static inline bool state_may_have_hooks(const struct container_state *st, int mask)
{
	return st->post_hooks < 0 || (st->post_hooks & mask);
}

char *state_serialize(const struct container_state *st);
int state_parse(const char *text, struct container_state *st, husk_error **err);
void state_clear(struct container_state *st);

/* The runtime-spec state: ociVersion, id, status, pid, bundle, annotations. */
char *state_oci_json(const struct container_state *st, const char *status);
/* runc's `state` object (pretty-printed as runc does when pretty is set). */
struct json_object *state_runc_object(const struct container_state *st, const char *status);

/* Now as RFC 3339 with nanoseconds in UTC, as Go's time.Time marshals. */
char *state_now_rfc3339(void);

#endif
