/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which namespaces a container gets, and how: new ones come from clone3()
 * flags in the parent (so they are created together and owned by the new
 * user namespace); joined ones (linux.namespaces[].path) are entered with
 * setns() in the child, the user namespace first. Exceptions, because the
 * kernel only applies them to children or to the next exec:
 *   - a joined pid namespace is entered by the parent just around clone3();
 *   - a new cgroup namespace is unshared by the child after the parent put
 *     it in its cgroups, so that its cgroup is the namespace's root;
 *   - a new time namespace is unshared by the child, which writes the
 *     offsets; its execve() moves it in.
 * When a user namespace is joined, the other new namespaces are unshared by
 * the child after joining it, so that they belong to it (pid excepted).
 */
#ifndef HUSK_RUNTIME_NAMESPACES_H
#define HUSK_RUNTIME_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "../spec/spec.h"

#define NS_MAX 8

struct ns_plan {
	int clone_flags;   /* for clone3() in the parent */
	int unshare_flags; /* for unshare() in the child, after the joins */
	int join_fds[NS_MAX];
	int join_types[NS_MAX];
	int n_join; /* joins in the order to do them: user first */
	int pid_fd; /* joined pid namespace, or -1 */
	bool new_user;
	bool new_time;
	bool new_cgroup; /* unshared by ns_enter_cgroup(), once in its cgroup */
};

/* Opens every namespace path (errors name linux.namespaces[i].path). */
int ns_plan_build(const struct spec *s, struct ns_plan *plan, husk_error **err);
void ns_plan_close(struct ns_plan *plan);

/* True when the container has (new or joined) a namespace of this type. */
bool ns_owned(const struct spec *s, int type);

/* Parent: writes /proc/<pid>/{uid,gid}_map from the config; as an
 * unprivileged caller through runtime/rootless.h. */
int ns_write_mappings(pid_t pid, const struct spec *s, husk_error **err);

/* Child: joins, unshares and sets the time offsets, as planned; all but a
 * new cgroup namespace, which ns_enter_cgroup() makes once the child is in
 * its cgroups. */
int ns_enter(const struct ns_plan *plan, const struct spec *s, husk_error **err);
int ns_enter_cgroup(const struct ns_plan *plan, husk_error **err);

/* Validation before anything is created: mappings with a user namespace,
 * hostname with a UTS one, sysctls only for namespaces the container owns. */
int ns_validate(const struct spec *s, husk_error **err);

#endif
