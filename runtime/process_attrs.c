/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "process_attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <linux/sched/types.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"

static bool have_effective_cap(cap_value_t cap)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t val = CAP_CLEAR;

	if (!caps)
		return false;
	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &val) < 0)
		val = CAP_CLEAR;
	cap_free(caps);
	return val == CAP_SET;
}

static const char *rlim_str(uint64_t v, char *buf, size_t size)
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

/* Turns setrlimit()'s bare EPERM/EINVAL into the reason. */
static int rlimit_fail(const struct spec_rlimit *r, size_t i,
		       const struct rlimit *old, int code, husk_error **err)
{
	char a[24], b[24];
	const char *why = NULL;

	if (code == EINVAL && r->soft > r->hard)
		return husk_fail(err, code,
				 "config.json: process.rlimits[%zu]: %s: soft "
				 "limit %s is above hard limit %s",
				 i, r->type, rlim_str(r->soft, a, sizeof(a)),
				 rlim_str(r->hard, b, sizeof(b)));
	if (code == EPERM && r->hard > old->rlim_max) {
		if (!have_effective_cap(CAP_SYS_RESOURCE))
			why = "raising a hard limit needs CAP_SYS_RESOURCE, "
			      "which the runtime does not have";
		else if (r->resource == RLIMIT_NOFILE)
			why = "it is above fs.nr_open";
	}
	if (why)
		return husk_fail(err, code,
				 "config.json: process.rlimits[%zu]: %s: cannot "
				 "raise the hard limit from %s to %s: %s",
				 i, r->type, rlim_str(old->rlim_max, a, sizeof(a)),
				 rlim_str(r->hard, b, sizeof(b)), why);
	return husk_fail(err, code,
			 "config.json: process.rlimits[%zu]: %s: setting "
			 "soft %s hard %s",
			 i, r->type, rlim_str(r->soft, a, sizeof(a)),
			 rlim_str(r->hard, b, sizeof(b)));
}

int process_set_rlimits(const struct spec_process *p, husk_error **err)
{
	for (size_t i = 0; p && i < p->n_rlimits; i++) {
		const struct spec_rlimit *r = &p->rlimits[i];
		struct rlimit old = { 0 }, want = {
			.rlim_cur = (rlim_t)r->soft,
			.rlim_max = (rlim_t)r->hard,
		};

		if (getrlimit(r->resource, &old) < 0)
			return husk_fail(err, errno,
					 "config.json: process.rlimits[%zu]: %s",
					 i, r->type);
		if (setrlimit(r->resource, &want) < 0)
			return rlimit_fail(r, i, &old, errno, err);
	}
	return 0;
}

int process_set_oom_score_adj(const struct spec_process *p, husk_error **err)
{
	_cleanup_close_ int fd = -1;
	char buf[16];
	int n;

	if (!p || !p->has_oom_score_adj)
		return 0;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open /proc/self/oom_score_adj");
	n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	if (write(fd, buf, (size_t)n) == n)
		return 0;
	if (errno == EACCES)
		return husk_fail(err, errno,
				 "config.json: process.oomScoreAdj: cannot lower "
				 "it to %d: that needs CAP_SYS_RESOURCE",
				 p->oom_score_adj);
	return husk_fail(err, errno,
			 "config.json: process.oomScoreAdj: writing %d "
			 "(valid: -1000..1000)",
			 p->oom_score_adj);
}

int process_set_scheduler(const struct spec_process *p, husk_error **err)
{
	const struct spec_scheduler *s = p ? p->scheduler : NULL;
	struct sched_attr attr;

	if (!s)
		return 0;
	attr = (struct sched_attr){
		.size = sizeof(attr),
		.sched_policy = (__u32)s->policy,
		.sched_flags = s->flags,
		.sched_nice = s->nice,
		.sched_priority = (__u32)s->priority,
		.sched_runtime = s->runtime,
		.sched_deadline = s->deadline,
		.sched_period = s->period,
	};
	/* glibc 2.36 has no wrapper. */
	if (syscall(SYS_sched_setattr, 0, &attr, 0) == 0)
		return 0;
	if (errno == EPERM)
		return husk_fail(err, errno,
				 "config.json: process.scheduler: real-time "
				 "policies and negative nice need CAP_SYS_NICE");
	return husk_fail(err, errno,
			 "config.json: process.scheduler: sched_setattr "
			 "(policy %d, priority %d, nice %d)",
			 s->policy, s->priority, s->nice);
}

int process_set_io_priority(const struct spec_process *p, husk_error **err)
{
	const struct spec_io_priority *io = p ? p->io_priority : NULL;

	if (!io)
		return 0;
	if (io->priority < 0 || io->priority >= IOPRIO_NR_LEVELS)
		return husk_fail(err, 0,
				 "config.json: process.ioPriority.priority: %d "
				 "is not in 0..%d",
				 io->priority, IOPRIO_NR_LEVELS - 1);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    IOPRIO_PRIO_VALUE(io->class, io->priority)) == 0)
		return 0;
	return husk_fail(err, errno,
			 "config.json: process.ioPriority: ioprio_set "
			 "(class %d, priority %d)%s",
			 io->class, io->priority,
			 errno == EPERM ? ": the real-time class needs "
					  "CAP_SYS_ADMIN or CAP_SYS_NICE"
					: "");
}

int process_set_personality(const struct spec_linux *l, husk_error **err)
{
	const char *domain;
	unsigned long persona;

	if (!l || !l->personality)
		return 0;
	domain = l->personality->domain;
	if (domain && strcmp(domain, "LINUX") == 0)
		persona = PER_LINUX;
	else if (domain && strcmp(domain, "LINUX32") == 0)
		persona = PER_LINUX32;
	else
		return husk_fail(err, 0,
				 "config.json: linux.personality.domain: "
				 "unknown domain \"%s\"",
				 domain ? domain : "(null)");
	if (personality(persona) < 0)
		return husk_fail(err, errno,
				 "config.json: linux.personality: personality(%s)",
				 domain);
	return 0;
}

/* In a user namespace set up by an unprivileged user, setgroups() is
 * denied for good: /proc/self/setgroups reads "deny". */
static int setgroups_allowed(bool *allowed, husk_error **err)
{
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	char buf[16] = "";

	*allowed = true;
	if (fd < 0)
		/* Kernels before 3.19 have no such file and no such rule. */
		return errno == ENOENT ? 0
				       : husk_fail(err, errno,
						   "open /proc/self/setgroups");
	if (read(fd, buf, sizeof(buf) - 1) >= 4 && strncmp(buf, "deny", 4) == 0)
		*allowed = false;
	return 0;
}

static int set_groups(const struct spec_user *u, husk_error **err)
{
	bool allowed;

	if (setgroups_allowed(&allowed, err) < 0)
		return -1;
	if (!allowed) {
		if (u->n_additional_gids == 0)
			return 0;
		return husk_fail(err, 0,
				 "config.json: process.user.additionalGids: "
				 "setgroups is denied in this user namespace");
	}
	/* Also with none listed: drops the runtime's own groups. */
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0)
		return husk_fail(err, errno,
				 "config.json: process.user.additionalGids: "
				 "setgroups");
	return 0;
}

static int switch_ids(const struct spec_user *u, husk_error **err)
{
	/* EINVAL: the id has no mapping in the current user namespace. */
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return husk_fail(err, errno,
				 "config.json: process.user.gid: setresgid(%u)%s",
				 (unsigned)u->gid,
				 errno == EINVAL ? ": not mapped in the user namespace"
						 : "");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return husk_fail(err, errno,
				 "config.json: process.user.uid: setresuid(%u)%s",
				 (unsigned)u->uid,
				 errno == EINVAL ? ": not mapped in the user namespace"
						 : "");
	return 0;
}

int process_set_user(const struct spec_user *u, husk_error **err)
{
	int r;

	if (!u)
		return 0;
	if (set_groups(u, err) < 0)
		return -1;
	/* Without KEEPCAPS, leaving uid 0 empties the permitted set and
	 * caps_apply() would have nothing to grant from. */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return husk_fail(err, errno, "prctl(PR_SET_KEEPCAPS, 1)");
	r = switch_ids(u, err);
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0 && r == 0)
		return husk_fail(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
	if (r < 0)
		return -1;
	if (u->has_umask)
		umask(u->umask);
	return 0;
}
