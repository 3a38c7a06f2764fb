/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks that the namespaces in a config fit the rest of it, before any is
 * made: the same rules runc applies, with errors naming the field. */
#include "namespaces.h"

#include <sched.h>
#include <string.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Which namespace a sysctl belongs to, or 0 for the host-wide ones. */
static int sysctl_namespace(const char *key)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
					   "kernel.sem", "kernel.shmall", "kernel.shmmax",
					   "kernel.shmmni", "kernel.shm_rmid_forced" };
	for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++)
		if (!strcmp(key, ipc[i]))
			return CLONE_NEWIPC;
	if (has_prefix(key, "fs.mqueue."))
		return CLONE_NEWIPC;
	if (has_prefix(key, "net."))
		return CLONE_NEWNET;
	if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
		return CLONE_NEWUTS;
	return 0;
}

static int validate_sysctl(const struct spec *s, husk_error **err)
{
	const struct spec_linux *l = s->linux_;
	for (size_t i = 0; l && i < l->n_sysctl; i++) {
		const char *key = l->sysctl[i].key;
		int type = sysctl_namespace(key);
		/* runc refuses it: the hostname field is the one way to set it. */
		if (!strcmp(key, "kernel.hostname"))
			return husk_fail(err, 0, "config.json: linux.sysctl: \"%s\" conflicts with the hostname field", key);
		if (!type)
			return husk_fail(err, 0, "config.json: linux.sysctl: \"%s\" is not in a separate kernel namespace", key);
		if (!ns_owned(s, type))
			return husk_fail(err, 0, "config.json: linux.sysctl: \"%s\" needs a %s namespace of the container's own",
					 key, spec_namespace_name(type));
	}
	return 0;
}

int ns_validate(const struct spec *s, husk_error **err)
{
	const struct spec_linux *l = s->linux_;
	bool user = ns_owned(s, CLONE_NEWUSER);
	const struct spec_namespace *userns = spec_find_namespace(s, CLONE_NEWUSER);
	bool new_user = userns && !userns->path;

	if (new_user && (!l->n_uid_mappings || !l->n_gid_mappings))
		return husk_fail(err, 0, "config.json: linux.uidMappings: a new user namespace needs uid and gid mappings");
	if (!user && l && (l->n_uid_mappings || l->n_gid_mappings))
		return husk_fail(err, 0, "config.json: linux.uidMappings: mappings given without a user namespace");
	if (s->hostname && *s->hostname && !ns_owned(s, CLONE_NEWUTS))
		return husk_fail(err, 0, "config.json: hostname: needs a uts namespace of the container's own");
	if (s->domainname && *s->domainname && !ns_owned(s, CLONE_NEWUTS))
		return husk_fail(err, 0, "config.json: domainname: needs a uts namespace of the container's own");
	if (l && l->n_time_offsets && !ns_owned(s, CLONE_NEWTIME))
		return husk_fail(err, 0, "config.json: linux.timeOffsets: needs a time namespace");
	return validate_sysctl(s, err);
}
