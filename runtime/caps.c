/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "../base/cleanup.h"

/* The kernel keeps capability sets in two 32-bit words. */
#define CAPS_MAX_VALUES 64
#define CAP_BIT(v) (UINT64_C(1) << (v))

static void cleanup_cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}
#define _cleanup_cap_ _cleanup_(cleanup_cap_freep)

static const char *const set_names[SPEC_CAP__COUNT] = {
	[SPEC_CAP_BOUNDING] = "bounding",
	[SPEC_CAP_EFFECTIVE] = "effective",
	[SPEC_CAP_INHERITABLE] = "inheritable",
	[SPEC_CAP_PERMITTED] = "permitted",
	[SPEC_CAP_AMBIENT] = "ambient",
};

const char *caps_set_name(enum spec_cap_set set)
{
	if ((unsigned)set >= SPEC_CAP__COUNT)
		return "?";
	return set_names[set];
}

/* Number of capability values the running kernel knows. */
static cap_value_t caps_kernel_max(void)
{
	cap_value_t max = cap_max_bits();
	return max > CAPS_MAX_VALUES ? CAPS_MAX_VALUES : max;
}

/* libcap also takes lower case and bare numbers ("12"); the config only has
 * the upper-case names, as runc's table. */
static int cap_lookup(const char *name, cap_value_t *out)
{
	if (!name || strncmp(name, "CAP_", 4) != 0 ||
	    !isupper((unsigned char)name[4]))
		return -1;
	for (const char *p = name + 4; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '_')
			return -1;
	return cap_from_name(name, out) < 0 ? -1 : 0;
}

/* One set as a bit mask of values the running kernel supports. */
static int caps_mask(const struct spec_capabilities *c, enum spec_cap_set set,
		     uint64_t *out, husk_error **err)
{
	cap_value_t max = caps_kernel_max();

	*out = 0;
	if (!c)
		return 0;
	for (size_t i = 0; i < c->n[set]; i++) {
		const char *name = c->names[set][i];
		cap_value_t v;

		/* Unknown names were warned about by caps_validate(). */
		if (cap_lookup(name, &v) < 0)
			continue;
		if (v >= 0 && v < max)
			*out |= CAP_BIT(v);
	}
	return 0;
}

int caps_validate(const struct spec_capabilities *c, husk_error **err)
{
	for (int set = 0; c && set < SPEC_CAP__COUNT; set++) {
		for (size_t i = 0; i < c->n[set]; i++) {
			const char *name = c->names[set][i];
			cap_value_t v;

			if (cap_lookup(name, &v) < 0)
				return husk_fail(err, 0,
						 "config.json: process.capabilities.%s: "
						 "unknown capability \"%s\"",
						 set_names[set], name ? name : "(null)");
		}
	}
	return 0;
}

/* "CAP_SYS_ADMIN" for messages: cap_to_name() gives lower case. */
static void cap_upper_name(cap_value_t v, char *buf, size_t size)
{
	char *name = cap_to_name(v);

	snprintf(buf, size, "%s", name ? name : "?");
	if (name)
		cap_free(name);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

int caps_drop_bounding(const struct spec_capabilities *c, husk_error **err)
{
	cap_value_t max = caps_kernel_max();
	uint64_t keep;

	if (caps_mask(c, SPEC_CAP_BOUNDING, &keep, err) < 0)
		return -1;
	for (cap_value_t v = 0; v < max; v++) {
		char name[64];

		/* Absent already (or unknown to the kernel): nothing to drop. */
		if ((keep & CAP_BIT(v)) || cap_get_bound(v) <= 0)
			continue;
		if (cap_drop_bound(v) == 0)
			continue;
		cap_upper_name(v, name, sizeof(name));
		return husk_fail(err, errno,
				 "capabilities: dropping %s from the bounding set",
				 name);
	}
	return 0;
}

static int caps_fill_flag(cap_t caps, cap_flag_t flag, uint64_t mask)
{
	for (cap_value_t v = 0; v < CAPS_MAX_VALUES; v++)
		if ((mask & CAP_BIT(v)) &&
		    cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
			return -1;
	return 0;
}

/* What the calling process has now, as masks, to explain an EPERM. */
struct caps_now {
	uint64_t permitted, inheritable, bounding;
	bool setpcap;
};

static int caps_now_get(struct caps_now *now)
{
	_cleanup_cap_ cap_t cur = cap_get_proc();
	cap_value_t max = caps_kernel_max();
	cap_flag_value_t val;

	if (!cur)
		return -1;
	*now = (struct caps_now){ 0 };
	for (cap_value_t v = 0; v < max; v++) {
		if (cap_get_flag(cur, v, CAP_PERMITTED, &val) == 0 && val)
			now->permitted |= CAP_BIT(v);
		if (cap_get_flag(cur, v, CAP_INHERITABLE, &val) == 0 && val)
			now->inheritable |= CAP_BIT(v);
		if (cap_get_bound(v) > 0)
			now->bounding |= CAP_BIT(v);
	}
	now->setpcap = cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &val) == 0 &&
		       val;
	return 0;
}

/* The kernel's capset() rules, as a reason why v cannot be in set. */
static const char *cap_refusal(enum spec_cap_set set, cap_value_t v,
			       const uint64_t want[], const struct caps_now *now)
{
	uint64_t bit = CAP_BIT(v);

	switch (set) {
	case SPEC_CAP_EFFECTIVE:
		if (!(want[SPEC_CAP_PERMITTED] & bit))
			return "it must also be in process.capabilities.permitted";
		/* fall through */
	case SPEC_CAP_PERMITTED:
		if (!(now->permitted & bit))
			return "the runtime itself does not have it (not in its "
			       "permitted/bounding set)";
		return NULL;
	case SPEC_CAP_INHERITABLE:
		if (!((now->inheritable | now->bounding) & bit))
			return "it is not in the bounding set";
		if (!now->setpcap && !((now->inheritable | now->permitted) & bit))
			return "the runtime itself does not have it (not in its "
			       "permitted/bounding set)";
		return NULL;
	default:
		return NULL;
	}
}

static int caps_explain(const struct spec_capabilities *c,
			const uint64_t want[], int code, husk_error **err)
{
	static const enum spec_cap_set order[] = {
		SPEC_CAP_PERMITTED, SPEC_CAP_EFFECTIVE, SPEC_CAP_INHERITABLE
	};
	struct caps_now now;

	if (c && caps_now_get(&now) == 0)
		for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
			enum spec_cap_set set = order[k];

			for (size_t i = 0; i < c->n[set]; i++) {
				cap_value_t v;
				const char *why;

				if (cap_lookup(c->names[set][i], &v) < 0 ||
				    v >= caps_kernel_max())
					continue;
				why = cap_refusal(set, v, want, &now);
				if (why)
					return husk_fail(err, code,
							 "config.json: process.capabilities.%s: "
							 "cannot grant %s: %s",
							 set_names[set],
							 c->names[set][i], why);
			}
		}
	return husk_fail(err, code, "capabilities: setting the process sets");
}

static int caps_set_ambient(const struct spec_capabilities *c, uint64_t want,
			    husk_error **err)
{
	/* Kernels before 4.3 have no ambient set: fine unless one is asked. */
	if (cap_reset_ambient() < 0 && (want || errno != EINVAL))
		return husk_fail(err, errno,
				 "capabilities: clearing the ambient set");
	for (size_t i = 0; c && i < c->n[SPEC_CAP_AMBIENT]; i++) {
		const char *name = c->names[SPEC_CAP_AMBIENT][i];
		cap_value_t v;

		if (cap_lookup(name, &v) < 0 || v >= caps_kernel_max())
			continue;
		/* The kernel only raises an ambient cap that is also permitted
		 * and inheritable. runc ignores the refusal, and its default
		 * spec depends on that (ambient caps, no inheritable set). */
		cap_set_ambient(v, CAP_SET);
	}
	return 0;
}

int caps_apply(const struct spec_capabilities *c, husk_error **err)
{
	uint64_t want[SPEC_CAP__COUNT];
	_cleanup_cap_ cap_t caps = NULL;

	for (int set = 0; set < SPEC_CAP__COUNT; set++)
		if (caps_mask(c, set, &want[set], err) < 0)
			return -1;

	/* runtime-spec: capabilities that cannot be granted (the runtime
	 * lacks them, as root here lacks CAP_SYS_RESOURCE) are not fatal. */
	struct caps_now now;
	if (caps_now_get(&now) == 0) {
		want[SPEC_CAP_PERMITTED] &= now.permitted;
		want[SPEC_CAP_EFFECTIVE] &= want[SPEC_CAP_PERMITTED];
		want[SPEC_CAP_INHERITABLE] &= now.bounding | now.inheritable;
	}
	caps = cap_init();
	if (!caps)
		return husk_fail(err, errno, "capabilities: cap_init");
	if (caps_fill_flag(caps, CAP_EFFECTIVE, want[SPEC_CAP_EFFECTIVE]) < 0 ||
	    caps_fill_flag(caps, CAP_PERMITTED, want[SPEC_CAP_PERMITTED]) < 0 ||
	    caps_fill_flag(caps, CAP_INHERITABLE, want[SPEC_CAP_INHERITABLE]) < 0)
		return husk_fail(err, errno, "capabilities: cap_set_flag");
	if (cap_set_proc(caps) < 0)
		return caps_explain(c, want, errno, err);

	return caps_set_ambient(c, want[SPEC_CAP_AMBIENT], err);
}
