/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime/caps: name validation only; effects are checked by the
 * integration suite inside containers. */
#include <stdlib.h>

#include "../../runtime/caps.h"
#include "unit.h"

static struct spec_capabilities caps_with(enum spec_cap_set set,
					  const char **names, size_t n)
{
	struct spec_capabilities c = { 0 };

	c.names[set] = names;
	c.n[set] = n;
	return c;
}

static void test_valid(void)
{
	static const char *all[] = { "CAP_CHOWN", "CAP_NET_BIND_SERVICE",
				     "CAP_SYS_ADMIN", "CAP_KILL" };
	struct spec_capabilities c = { 0 };
	husk_error *err = NULL;

	for (int set = 0; set < SPEC_CAP__COUNT; set++) {
		c.names[set] = all;
		c.n[set] = sizeof(all) / sizeof(all[0]);
	}
	CHECK(caps_validate(&c, &err) == 0);
	CHECK(err == NULL);

	/* No capabilities object, or empty sets: nothing to complain about. */
	CHECK(caps_validate(NULL, &err) == 0);
	c = (struct spec_capabilities){ 0 };
	CHECK(caps_validate(&c, &err) == 0);
	CHECK(err == NULL);
}

/* Known to libcap even where the kernel is older: validation accepts it,
 * applying skips it. */
static void test_newest_cap(void)
{
	static const char *names[] = { "CAP_CHECKPOINT_RESTORE" };
	struct spec_capabilities c = caps_with(SPEC_CAP_PERMITTED, names, 1);
	husk_error *err = NULL;

	CHECK(caps_validate(&c, &err) == 0);
	husk_error_free(&err);
}

static void check_unknown(enum spec_cap_set set, const char *name,
			  const char *want_msg)
{
	const char *names[] = { "CAP_CHOWN", name };
	struct spec_capabilities c = caps_with(set, names, 2);
	husk_error *err = NULL;

	CHECK(caps_validate(&c, &err) < 0);
	CHECK(err != NULL);
	if (err)
		CHECK_STR(err->msg, want_msg);
	husk_error_free(&err);
}

static void test_unknown(void)
{
	check_unknown(SPEC_CAP_BOUNDING, "CAP_FOO",
		      "config.json: process.capabilities.bounding: "
		      "unknown capability \"CAP_FOO\"");
	check_unknown(SPEC_CAP_AMBIENT, "CAP_FOO",
		      "config.json: process.capabilities.ambient: "
		      "unknown capability \"CAP_FOO\"");
	/* libcap takes these, the spec does not. */
	check_unknown(SPEC_CAP_EFFECTIVE, "cap_chown",
		      "config.json: process.capabilities.effective: "
		      "unknown capability \"cap_chown\"");
	check_unknown(SPEC_CAP_PERMITTED, "12",
		      "config.json: process.capabilities.permitted: "
		      "unknown capability \"12\"");
	check_unknown(SPEC_CAP_INHERITABLE, "CAP_12",
		      "config.json: process.capabilities.inheritable: "
		      "unknown capability \"CAP_12\"");
	check_unknown(SPEC_CAP_INHERITABLE, "CHOWN",
		      "config.json: process.capabilities.inheritable: "
		      "unknown capability \"CHOWN\"");
	check_unknown(SPEC_CAP_BOUNDING, "",
		      "config.json: process.capabilities.bounding: "
		      "unknown capability \"\"");
}

static void test_set_names(void)
{
	CHECK_STR(caps_set_name(SPEC_CAP_BOUNDING), "bounding");
	CHECK_STR(caps_set_name(SPEC_CAP_EFFECTIVE), "effective");
	CHECK_STR(caps_set_name(SPEC_CAP_INHERITABLE), "inheritable");
	CHECK_STR(caps_set_name(SPEC_CAP_PERMITTED), "permitted");
	CHECK_STR(caps_set_name(SPEC_CAP_AMBIENT), "ambient");
	CHECK_STR(caps_set_name(SPEC_CAP__COUNT), "?");
}

int main(void)
{
	test_valid();
	test_newest_cap();
	test_unknown();
	test_set_names();
	return unit_summary("caps");
}
