/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../base/cleanup.h"

/* Linux syscalls take at most six arguments. */
#define SECCOMP_MAX_ARGS 6
/* Same threshold as runc: libseccomp <= 2.5.4 misbehaves with the binary
 * tree optimisation on an empty rule set. */
#define SECCOMP_OPTIMIZE_MIN_SYSCALLS 32
/* seccomp_api_get() level that has SCMP_ACT_NOTIFY together with TSYNC. */
#define SECCOMP_API_NOTIFY 6

static void cleanup_seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(cleanup_seccomp_releasep)

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int seccomp_action_from_name(const char *name, unsigned errno_ret,
			     uint32_t *out)
{
	static const struct {
		const char *name;
		uint32_t action;
	} plain[] = {
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
		{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
	};
	bool is_errno = streq(name, "SCMP_ACT_ERRNO");

	if (is_errno || streq(name, "SCMP_ACT_TRACE")) {
		/* The kernel keeps only 16 bits of return data. */
		if (errno_ret > 0xffff)
			return -ERANGE;
		*out = is_errno ? SCMP_ACT_ERRNO(errno_ret)
				: SCMP_ACT_TRACE(errno_ret);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (streq(name, plain[i].name)) {
			*out = plain[i].action;
			return 0;
		}
	return -EINVAL;
}

int seccomp_op_from_name(const char *name, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (streq(name, ops[i].name)) {
			*out = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

uint32_t seccomp_arch_from_name(const char *name)
{
	static const char prefix[] = "SCMP_ARCH_";
	char lower[32];
	size_t len;

	if (!name || strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	name += sizeof(prefix) - 1;
	len = strlen(name);
	if (len == 0 || len >= sizeof(lower))
		return 0;
	/* libseccomp's own names are the lower-cased suffixes ("x86_64"). */
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	return seccomp_arch_resolve_name(lower);
}

#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
#define SECCOMP_ATTR_WAITKILL ((int)SCMP_FLTATR_CTL_WAITKILL)
#else
#define SECCOMP_ATTR_WAITKILL (-1)
#endif

int seccomp_flag_from_name(const char *name, enum scmp_filter_attr *out)
{
	static const struct {
		const char *name;
		int attr; /* -1: no libseccomp attribute requests it */
	} flags[] = {
		{ "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
		{ "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
		{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
		{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_ATTR_WAITKILL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		if (!streq(name, flags[i].name))
			continue;
		if (flags[i].attr < 0)
			return -EOPNOTSUPP;
		*out = (enum scmp_filter_attr)flags[i].attr;
		return 0;
	}
	return -EINVAL;
}

static int action_fail(husk_error **err, int r, const char *path,
		       const char *name, unsigned errno_ret)
{
	if (r == -ERANGE)
		return husk_fail(err, 0,
				 "config.json: %s: errno %u does not fit in 16 bits",
				 path, errno_ret);
	if (!name)
		return husk_fail(err, 0, "config.json: %s: missing action", path);
	return husk_fail(err, 0, "config.json: %s: unknown action \"%s\"", path,
			 name);
}

static int default_action(const struct spec_seccomp *s, uint32_t *out,
			  husk_error **err)
{
	unsigned e = s->has_default_errno_ret ? s->default_errno_ret : EPERM;
	int r = seccomp_action_from_name(s->default_action, e, out);

	if (r < 0)
		return action_fail(err, r, "linux.seccomp.defaultAction",
				   s->default_action, e);
	/* The init's own write() handing the listener fd out would block. */
	if (*out == SCMP_ACT_NOTIFY)
		return husk_fail(err, 0,
				 "config.json: linux.seccomp.defaultAction: "
				 "SCMP_ACT_NOTIFY cannot be the default action");
	return 0;
}

static int set_flags(scmp_filter_ctx ctx, const struct spec_seccomp *s,
		     husk_error **err)
{
	for (size_t i = 0; i < s->n_flags; i++) {
		const struct scmp_version *v = seccomp_version();
		const char *name = s->flags[i];
		enum scmp_filter_attr attr;
		int r = seccomp_flag_from_name(name, &attr);

		if (r == -EOPNOTSUPP)
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.flags[%zu]: "
					 "flag \"%s\" is not supported by libseccomp %u.%u.%u",
					 i, name, v->major, v->minor, v->micro);
		if (r < 0)
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.flags[%zu]: "
					 "unknown flag \"%s\"",
					 i, name ? name : "(null)");
		r = seccomp_attr_set(ctx, attr, 1);
		if (r < 0)
			return husk_fail(err, -r,
					 "config.json: linux.seccomp.flags[%zu]: "
					 "flag \"%s\" is not supported by this kernel "
					 "or libseccomp",
					 i, name);
	}
	return 0;
}

static int set_attrs(scmp_filter_ctx ctx, const struct spec_seccomp *s,
		     husk_error **err)
{
	/* The caller sets no_new_privs itself, only when the config asks. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);

	if (r < 0)
		return husk_fail(err, -r, "seccomp: clearing the NNP attribute");
	/* Kernel errnos from seccomp_load() instead of a generic ECANCELED;
	 * best effort, older libseccomp lacks it. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (s->n_syscalls > SECCOMP_OPTIMIZE_MIN_SYSCALLS)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	return set_flags(ctx, s, err);
}

static int add_arches(scmp_filter_ctx ctx, const struct spec_seccomp *s,
		      husk_error **err)
{
	for (size_t i = 0; i < s->n_architectures; i++) {
		const char *name = s->architectures[i];
		uint32_t arch = seccomp_arch_from_name(name);
		int r;

		if (!arch)
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.architectures[%zu]: "
					 "unknown architecture \"%s\"",
					 i, name ? name : "(null)");
		r = seccomp_arch_add(ctx, arch);
		/* The native arch is in every filter from the start. */
		if (r < 0 && r != -EEXIST)
			return husk_fail(err, -r,
					 "config.json: linux.seccomp.architectures[%zu]: "
					 "adding \"%s\"",
					 i, name);
	}
	return 0;
}

/* Validates sc's args; *shared tells whether two of them test the same
 * index (runc then adds one rule per arg: OR instead of AND). */
static int check_args(const struct spec_seccomp_syscall *sc, size_t idx,
		      bool *shared, husk_error **err)
{
	unsigned seen = 0;

	*shared = false;
	for (size_t j = 0; j < sc->n_args; j++) {
		const struct spec_seccomp_arg *a = &sc->args[j];
		enum scmp_compare op;

		if (a->index >= SECCOMP_MAX_ARGS)
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.syscalls[%zu].args[%zu].index: "
					 "%u is not a syscall argument (0-5)",
					 idx, j, a->index);
		if (seccomp_op_from_name(a->op, &op) < 0)
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.syscalls[%zu].args[%zu].op: "
					 "unknown operator \"%s\"",
					 idx, j, a->op ? a->op : "(null)");
		if (seen & (1U << a->index))
			*shared = true;
		seen |= 1U << a->index;
	}
	return 0;
}

/* One arg, already validated by check_args(). */
static struct scmp_arg_cmp arg_cmp(const struct spec_seccomp_arg *a)
{
	enum scmp_compare op = SCMP_CMP_EQ;

	(void)seccomp_op_from_name(a->op, &op);
	/* MASKED_EQ matches (arg & datum_a) == datum_b: `value` is the mask,
	 * as in runc. */
	return (struct scmp_arg_cmp){
		.arg = a->index,
		.op = op,
		.datum_a = a->value,
		.datum_b = a->value_two,
	};
}

static int add_rules(scmp_filter_ctx ctx, uint32_t act, int nr,
		     const struct spec_seccomp_syscall *sc, bool shared)
{
	/* Without a shared index there are at most six args. */
	struct scmp_arg_cmp cmps[SECCOMP_MAX_ARGS];

	if (shared) {
		for (size_t j = 0; j < sc->n_args; j++) {
			struct scmp_arg_cmp one = arg_cmp(&sc->args[j]);
			int r = seccomp_rule_add_array(ctx, act, nr, 1, &one);

			if (r < 0)
				return r;
		}
		return 0;
	}
	if (sc->n_args > SECCOMP_MAX_ARGS)
		return -EINVAL;
	for (size_t j = 0; j < sc->n_args; j++)
		cmps[j] = arg_cmp(&sc->args[j]);
	return seccomp_rule_add_array(ctx, act, nr, (unsigned)sc->n_args, cmps);
}

static int rule_action(const struct spec_seccomp_syscall *sc, size_t idx,
		       uint32_t *act, husk_error **err)
{
	unsigned e = sc->has_errno_ret ? sc->errno_ret : EPERM;
	int r = seccomp_action_from_name(sc->action, e, act);

	if (r < 0) {
		char path[64];

		snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu].action",
			 idx);
		return action_fail(err, r, path, sc->action, e);
	}
	if (*act == SCMP_ACT_NOTIFY && seccomp_api_get() < SECCOMP_API_NOTIFY)
		return husk_fail(err, 0,
				 "config.json: linux.seccomp.syscalls[%zu].action: "
				 "SCMP_ACT_NOTIFY needs libseccomp >= 2.5 and "
				 "Linux >= 5.7",
				 idx);
	return 0;
}

static int add_syscall(scmp_filter_ctx ctx, const struct spec_seccomp *s,
		       size_t idx, uint32_t def, husk_error **err)
{
	const struct spec_seccomp_syscall *sc = &s->syscalls[idx];
	bool shared = false;
	uint32_t act = 0;

	if (rule_action(sc, idx, &act, err) < 0 ||
	    check_args(sc, idx, &shared, err) < 0)
		return -1;
	/* libseccomp refuses rules that repeat the default action. */
	if (act == def)
		return 0;

	for (size_t j = 0; j < sc->n_names; j++) {
		const char *name = sc->names[j];
		int nr, r;

		/* The init's write() handing the listener fd out would block. */
		if (act == SCMP_ACT_NOTIFY && streq(name, "write"))
			return husk_fail(err, 0,
					 "config.json: linux.seccomp.syscalls[%zu]: "
					 "SCMP_ACT_NOTIFY cannot be used for write",
					 idx);
		nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
		/* Unknown to libseccomp: taken as absent from this kernel. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = add_rules(ctx, act, nr, sc, shared);
		if (r < 0)
			return husk_fail(err, -r,
					 "config.json: linux.seccomp.syscalls[%zu]: "
					 "adding the rule for \"%s\"",
					 idx, name);
	}
	return 0;
}

scmp_filter_ctx seccomp_build(const struct spec_seccomp *s, husk_error **err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	uint32_t def = 0;

	if (!s) {
		husk_fail(err, EINVAL, "seccomp: no linux.seccomp object");
		return NULL;
	}
	if (default_action(s, &def, err) < 0)
		return NULL;
	ctx = seccomp_init(def);
	if (!ctx) {
		husk_fail(err, 0, "seccomp: seccomp_init failed");
		return NULL;
	}
	if (set_attrs(ctx, s, err) < 0 || add_arches(ctx, s, err) < 0)
		return NULL;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (add_syscall(ctx, s, i, def, err) < 0)
			return NULL;
	/* cppcheck-suppress unreadVariable ; the cleanup reads it */
	return TAKE_PTR(ctx);
}

int seccomp_install(scmp_filter_ctx ctx, int *notify_fd_out, husk_error **err)
{
	int r;

	*notify_fd_out = -1;
	r = seccomp_load(ctx);
	if (r == -EACCES)
		return husk_fail(err, -r,
				 "seccomp: loading the filter (without "
				 "no_new_privs this needs CAP_SYS_ADMIN)");
	if (r < 0)
		return husk_fail(err, -r, "seccomp: loading the filter");
	/* Negative unless the filter has a SCMP_ACT_NOTIFY rule. */
	r = seccomp_notify_fd(ctx);
	if (r >= 0)
		*notify_fd_out = r;
	return 0;
}
