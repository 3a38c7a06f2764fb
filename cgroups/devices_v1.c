/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device rules on a v1 devices cgroup: devices.deny / devices.allow. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/io.h"

static void state_freep(struct cg_dev_state *st)
{
	cg_dev_state_free(st);
}

/* Each write() is one rule to the kernel, so one open serves them all. */
static int write_rules(const char *dir, const char *file, const struct cg_dev_rule *r,
		       size_t n, husk_error **err)
{
	_cleanup_free_ char *path = cg_path_join(dir, file);
	_cleanup_close_ int fd = path ? open(path, O_WRONLY | O_CLOEXEC) : -1;
	char line[64];

	if (fd < 0)
		return husk_fail(err, path ? errno : ENOMEM, "cgroup: open %s/%s", dir, file);
	for (size_t i = 0; i < n; i++) {
		cg_dev_rule_line(&r[i], line, sizeof(line));
		if (io_write_all(fd, line, strlen(line)) < 0)
			return husk_fail(err, errno, "config.json: linux.resources.devices: write "
						     "\"%s\" to %s", line, file);
	}
	return 0;
}

/* The kernel ignores some writes without an error (a deny that matches
 * no exception); what devices.list shows must be what was meant. With an
 * allow-all default the list hides the deny exceptions, so only the mode
 * can be checked, as runc does. */
static int verify(const char *dir, const struct cg_dev_state *want,
		  husk_error **err)
{
	_cleanup_(state_freep) struct cg_dev_state got = { 0 };
	_cleanup_free_ char *path = cg_path_join(dir, "devices.list");
	_cleanup_free_ char *text = cg_read_text(path, err);

	if (!text)
		return -1;
	if (cg_dev_state_from_list(text, &got) < 0)
		return husk_fail(err, 0, "cgroup: %s: cannot parse", path);
	if (got.default_allow == want->default_allow &&
	    (want->default_allow || cg_dev_state_equal(&got, want)))
		return 0;
	return husk_fail(err, 0, "config.json: linux.resources.devices: %s "
				 "does not show the rules written", path);
}

/* runc's RunningInUserNS: only the initial namespace maps all of 0..2^32-1.
 * In a user namespace the devices cgroup cannot be written (and mknod is
 * refused by the kernel anyway), so runc leaves it; so does husk. */
static bool in_user_ns(void)
{
	_cleanup_free_ char *map = cg_read_text("/proc/self/uid_map", NULL);
	unsigned long long a, b, n;

	if (!map || sscanf(map, "%llu %llu %llu", &a, &b, &n) != 3)
		return false;
	return !(a == 0 && b == 0 && n == 4294967295ull);
}

/* A reset to the default first, then the exceptions: on a new cgroup this
 * is also runc's minimal transition (a fresh cgroup allows everything). */
int cg_v1_devices(struct cgroup *cg, struct json_object *val,
		  husk_error **err)
{
	_cleanup_(state_freep) struct cg_dev_state st = { 0 };
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	struct cg_dev_rule reset = { .type = 'a' };
	const char *dir, *file;
	size_t n, n_spec;

	if (cg_dev_rules_parse(val, &rules, &n, &n_spec, err) < 0 ||
	    cg_dev_emulate(rules, n, n_spec, &st, err) < 0)
		return -1;
	if (in_user_ns())
		return 0;
	if (!(dir = cg_res_dir(cg, "devices", "devices", err)))
		return -1;
	reset.allow = st.default_allow;
	file = st.default_allow ? "devices.allow" : "devices.deny";
	if (write_rules(dir, file, &reset, 1, err) < 0)
		return -1;
	file = st.default_allow ? "devices.deny" : "devices.allow";
	if (write_rules(dir, file, st.rules, st.n, err) < 0)
		return -1;
	return verify(dir, &st, err);
}
