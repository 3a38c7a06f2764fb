/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json "process", also parsed alone for exec --process. */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../base/cleanup.h"
#include "parse_util.h"
#include "spec.h"

/* glibc has no names for these; the values are the kernel's ABI. */
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#define SPEC_SCHED_ISO 4 /* reserved by the kernel, never implemented */

static const char *const cap_sets[SPEC_CAP__COUNT] = {
	[SPEC_CAP_BOUNDING] = "bounding",
	[SPEC_CAP_EFFECTIVE] = "effective",
	[SPEC_CAP_INHERITABLE] = "inheritable",
	[SPEC_CAP_PERMITTED] = "permitted",
	[SPEC_CAP_AMBIENT] = "ambient",
};

static const struct sp_name rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static const struct sp_name sched_policies[] = {
	{ "SCHED_OTHER", SCHED_OTHER },
	{ "SCHED_FIFO", SCHED_FIFO },
	{ "SCHED_RR", SCHED_RR },
	{ "SCHED_BATCH", SCHED_BATCH },
	{ "SCHED_ISO", SPEC_SCHED_ISO },
	{ "SCHED_IDLE", SCHED_IDLE },
	{ "SCHED_DEADLINE", SCHED_DEADLINE },
};

/* sched_setattr(2) flag bits (linux/sched.h). */
static const struct sp_name sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 },
	{ "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },
	{ "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },
	{ "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

/* IOPRIO_CLASS_* (linux/ioprio.h). */
static const struct sp_name ioprio_classes[] = {
	{ "IOPRIO_CLASS_RT", 1 },
	{ "IOPRIO_CLASS_BE", 2 },
	{ "IOPRIO_CLASS_IDLE", 3 },
};

static int parse_gids(struct sp_ctx *c, struct json_object *o,
		      struct spec_user *u)
{
	struct json_object *arr = NULL;
	size_t n = 0, mark;
	int r = sp_array(c, o, "additionalGids", 0, &arr, &n);

	if (r <= 0 || n == 0)
		return r;
	u->additional_gids = sp_calloc(c, n, sizeof(gid_t));
	if (!u->additional_gids)
		return -1;
	u->n_additional_gids = n;
	mark = sp_push_key(c, "additionalGids");
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t m = sp_push_index(c, i);
		int64_t gid = 0;

		r = sp_value_int(c, json_object_array_get_idx(arr, i), 0,
				 UINT32_MAX, &gid);
		u->additional_gids[i] = (gid_t)gid;
		sp_pop(c, m);
	}
	sp_pop(c, mark);
	return r;
}

static int parse_user_body(struct sp_ctx *c, struct json_object *o,
			   struct spec_user *u)
{
	uint32_t uid = 0, gid = 0, mask = 0;

	/* Absent ids mean 0, as every Go runtime reads them. */
	if (sp_u32(c, o, "uid", 0, &uid) < 0 ||
	    sp_u32(c, o, "gid", 0, &gid) < 0)
		return -1;
	u->uid = uid;
	u->gid = gid;
	if (sp_opt_u32(c, o, "umask", &u->has_umask, &mask) < 0)
		return -1;
	if (mask > 0777)
		return sp_fail_key(c, "umask", "must be between 0 and 0777");
	u->umask = mask;
	if (parse_gids(c, o, u) < 0 ||
	    sp_string(c, o, "username", 0, &u->username) < 0)
		return -1;
	return 0;
}

static int parse_user(struct sp_ctx *c, struct json_object *o,
		      struct spec_user *u)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "user", 0, &v);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "user");
	r = parse_user_body(c, v, u);
	sp_pop(c, mark);
	return r;
}

static int parse_console_size(struct sp_ctx *c, struct json_object *o,
			      struct spec_process *p)
{
	struct json_object *v = NULL;
	int64_t h = 0, w = 0;
	size_t mark;
	int r = sp_object(c, o, "consoleSize", 0, &v);

	if (r <= 0)
		return r;
	mark = sp_push_key(c, "consoleSize");
	r = sp_int(c, v, "height", 0, 0, UINT_MAX, &h);
	if (r >= 0)
		r = sp_int(c, v, "width", 0, 0, UINT_MAX, &w);
	sp_pop(c, mark);
	p->has_console_size = true;
	p->console_height = (unsigned)h;
	p->console_width = (unsigned)w;
	return r;
}

static int parse_capabilities(struct sp_ctx *c, struct json_object *o,
			      struct spec_process *p)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "capabilities", 0, &v);

	if (r <= 0)
		return r;
	p->capabilities = sp_calloc(c, 1, sizeof(*p->capabilities));
	if (!p->capabilities)
		return -1;
	mark = sp_push_key(c, "capabilities");
	for (size_t i = 0; i < SPEC_CAP__COUNT && r >= 0; i++)
		r = sp_strv(c, v, cap_sets[i], 0, &p->capabilities->names[i],
			    &p->capabilities->n[i]);
	sp_pop(c, mark);
	return r;
}

static int parse_rlimit(struct sp_ctx *c, struct json_object *v, void *elem)
{
	struct spec_rlimit *rl = elem;
	const struct sp_name *n;

	if (sp_string(c, v, "type", SP_REQUIRED, &rl->type) < 0)
		return -1;
	n = sp_name_find(rlimit_names, ARRAY_SIZE(rlimit_names), rl->type);
	if (!n)
		return sp_fail_key(c, "type", "unknown rlimit \"%s\"", rl->type);
	rl->resource = n->value;
	if (sp_u64(c, v, "hard", SP_REQUIRED, &rl->hard) < 0 ||
	    sp_u64(c, v, "soft", SP_REQUIRED, &rl->soft) < 0)
		return -1;
	if (rl->soft > rl->hard)
		return sp_fail_key(c, "soft", "exceeds the hard limit");
	return 0;
}

static int parse_rlimits(struct sp_ctx *c, struct json_object *o,
			 struct spec_process *p)
{
	void *arr = NULL;
	int r = sp_struct_array(c, o, "rlimits", sizeof(struct spec_rlimit),
				parse_rlimit, &arr, &p->n_rlimits);

	p->rlimits = arr;
	if (r < 0)
		return r;
	for (size_t i = 1; i < p->n_rlimits; i++)
		for (size_t j = 0; j < i; j++) {
			size_t mark;

			if (p->rlimits[i].resource != p->rlimits[j].resource)
				continue;
			mark = sp_push_key(c, "rlimits");
			sp_push_index(c, i);
			sp_fail_key(c, "type", "duplicate rlimit \"%s\"",
				    p->rlimits[i].type);
			sp_pop(c, mark);
			return -1;
		}
	return r;
}

static int parse_sched_flags(struct sp_ctx *c, struct json_object *o,
			     struct spec_scheduler *s)
{
	_cleanup_free_ const char **names = NULL;
	size_t n = 0;

	if (sp_strv(c, o, "flags", 0, &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct sp_name *f = sp_name_find(
			sched_flags, ARRAY_SIZE(sched_flags), names[i]);
		size_t mark;

		if (f) {
			s->flags |= (uint64_t)f->value;
			continue;
		}
		mark = sp_push_key(c, "flags");
		sp_push_index(c, i);
		sp_fail(c, "unknown scheduler flag \"%s\"", names[i]);
		sp_pop(c, mark);
		return -1;
	}
	return 0;
}

static int parse_scheduler_body(struct sp_ctx *c, struct json_object *o,
				struct spec_scheduler *s)
{
	const struct sp_name *policy;
	const char *name = NULL;
	int64_t nice = 0, prio = 0;

	if (sp_string(c, o, "policy", SP_REQUIRED, &name) < 0)
		return -1;
	policy = sp_name_find(sched_policies, ARRAY_SIZE(sched_policies), name);
	if (!policy)
		return sp_fail_key(c, "policy", "unknown policy \"%s\"", name);
	s->policy = policy->value;
	if (sp_int(c, o, "nice", 0, -20, 19, &nice) < 0 ||
	    sp_int(c, o, "priority", 0, INT32_MIN, INT32_MAX, &prio) < 0 ||
	    parse_sched_flags(c, o, s) < 0 ||
	    sp_u64(c, o, "runtime", 0, &s->runtime) < 0 ||
	    sp_u64(c, o, "deadline", 0, &s->deadline) < 0 ||
	    sp_u64(c, o, "period", 0, &s->period) < 0)
		return -1;
	/* The kernel would refuse it at exec time, after the container
	 * exists; say so now. */
	if (prio && s->policy != SCHED_FIFO && s->policy != SCHED_RR)
		return sp_fail_key(c, "priority",
				   "only SCHED_FIFO and SCHED_RR take one");
	s->nice = (int)nice;
	s->priority = (int)prio;
	return 0;
}

static int parse_scheduler(struct sp_ctx *c, struct json_object *o,
			   struct spec_process *p)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "scheduler", 0, &v);

	if (r <= 0)
		return r;
	p->scheduler = sp_calloc(c, 1, sizeof(*p->scheduler));
	if (!p->scheduler)
		return -1;
	mark = sp_push_key(c, "scheduler");
	r = parse_scheduler_body(c, v, p->scheduler);
	sp_pop(c, mark);
	return r;
}

static int parse_io_priority_body(struct sp_ctx *c, struct json_object *o,
				  struct spec_io_priority *io)
{
	const struct sp_name *class;
	const char *name = NULL;
	int64_t prio = 0;

	if (sp_string(c, o, "class", SP_REQUIRED, &name) < 0)
		return -1;
	class = sp_name_find(ioprio_classes, ARRAY_SIZE(ioprio_classes), name);
	if (!class)
		return sp_fail_key(c, "class", "unknown class \"%s\"", name);
	if (sp_int(c, o, "priority", 0, 0, 7, &prio) < 0)
		return -1;
	io->class = class->value;
	io->priority = (int)prio;
	return 0;
}

static int parse_io_priority(struct sp_ctx *c, struct json_object *o,
			     struct spec_process *p)
{
	struct json_object *v = NULL;
	size_t mark;
	int r = sp_object(c, o, "ioPriority", 0, &v);

	if (r <= 0)
		return r;
	p->io_priority = sp_calloc(c, 1, sizeof(*p->io_priority));
	if (!p->io_priority)
		return -1;
	mark = sp_push_key(c, "ioPriority");
	r = parse_io_priority_body(c, v, p->io_priority);
	sp_pop(c, mark);
	return r;
}

static int parse_scalars(struct sp_ctx *c, struct json_object *o,
			 struct spec_process *p)
{
	int64_t oom = 0;
	int r;

	/* runc wants a cwd; "/" is what an absent one can only mean. */
	r = sp_string(c, o, "cwd", SP_ABSOLUTE, &p->cwd);
	if (r == 0)
		p->cwd = "/";
	if (r < 0 || sp_bool(c, o, "terminal", &p->terminal) < 0 ||
	    sp_bool(c, o, "noNewPrivileges", &p->no_new_privileges) < 0 ||
	    sp_string(c, o, "apparmorProfile", 0, &p->apparmor_profile) < 0 ||
	    sp_string(c, o, "selinuxLabel", 0, &p->selinux_label) < 0)
		return -1;
	/* The kernel's range for /proc/<pid>/oom_score_adj. */
	r = sp_int(c, o, "oomScoreAdj", 0, -1000, 1000, &oom);
	if (r < 0)
		return -1;
	p->has_oom_score_adj = r > 0;
	p->oom_score_adj = (int)oom;
	return 0;
}

int sp_process(struct sp_ctx *c, struct json_object *o,
	       struct spec_process **out)
{
	struct spec_process *p = sp_calloc(c, 1, sizeof(*p));

	*out = p;
	if (!p || sp_strv(c, o, "args", SP_NONEMPTY, &p->args, &p->n_args) < 0 ||
	    sp_strv(c, o, "env", 0, &p->env, &p->n_env) < 0 ||
	    parse_scalars(c, o, p) < 0 || parse_console_size(c, o, p) < 0 ||
	    parse_user(c, o, &p->user) < 0 ||
	    parse_capabilities(c, o, p) < 0 || parse_rlimits(c, o, p) < 0 ||
	    parse_scheduler(c, o, p) < 0 || parse_io_priority(c, o, p) < 0)
		return -1;
	return 0;
}

struct spec_process *spec_process_parse(const char *text, size_t len,
					struct json_object **json_out,
					husk_error **err)
{
	/* No file prefix: the caller names the file it read. */
	struct sp_ctx c = { .err = err };
	struct spec_process *p = NULL;
	struct json_object *o;

	*json_out = NULL;
	o = sp_tokenize(&c, text, len);
	if (!o)
		return NULL;
	if (sp_process(&c, o, &p) < 0) {
		spec_process_free(p);
		json_object_put(o);
		return NULL;
	}
	*json_out = o;
	return p;
}

void spec_process_free(struct spec_process *p)
{
	if (!p)
		return;
	free(p->args);
	free(p->env);
	free(p->user.additional_gids);
	if (p->capabilities)
		for (size_t i = 0; i < SPEC_CAP__COUNT; i++)
			free(p->capabilities->names[i]);
	free(p->capabilities);
	free(p->rlimits);
	free(p->scheduler);
	free(p->io_priority);
	free(p);
}
