/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroups/devices_bpf.c against the kernel: the eBPF device filter built
 * from the default spec's rules is attached to a cgroup2 directory of our
 * own, a child of ours moves in, and the kernel must refuse it a device
 * the rules do not allow while allowing /dev/null.
 *
 * Needs root and a cgroup2 hierarchy: /sys/fs/cgroup (pure v2) or the
 * hybrid /sys/fs/cgroup/unified. Skips (passes) otherwise. Touches only
 * the directory it makes, husk-unit-bpf-<pid>, and its own child.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../cgroups/cgroup_internal.h"
#include "unit.h"

/* A host device the default rules do not allow: /dev/kmsg (1:11). */
#define DENIED_DEV "/dev/kmsg"

static const char *cgroup2_root(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	struct statfs sfs;

	for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
		if (statfs(roots[i], &sfs) == 0 &&
		    sfs.f_type == CGROUP2_SUPER_MAGIC)
			return roots[i];
	return NULL;
}

static bool can_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Child: joins dir, then reports bit 0 "/dev/null opens", bit 1 "the
 * denied device fails with EPERM". */
static int child(const char *dir)
{
	char procs[512];
	int fd, r = 0;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		return 100;
	close(fd);
	if (can_open("/dev/null"))
		r |= 1;
	if (!can_open(DENIED_DEV) && errno == EPERM)
		r |= 2;
	return r;
}

static int run_child(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child(dir));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static uint32_t attached(const char *dir)
{
	uint32_t ids[64];
	union bpf_attr a;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = ARRAY_SIZE(ids);
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)) < 0)
		a.query.prog_cnt = 999;
	close(fd);
	return a.query.prog_cnt;
}

static int attach_default(const char *dir)
{
	struct json_object *dev = json_tokener_parse(
		"[{\"allow\":false,\"access\":\"rwm\"}]");
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	struct cg_dev_state st = { 0 };
	husk_error *err = NULL;
	size_t n, n_spec, n_insns;
	int r = -1;

	if (cg_dev_rules_parse(dev, &rules, &n, &n_spec, &err) == 0 &&
	    cg_dev_emulate(rules, n, n_spec, &st, &err) == 0 &&
	    cg_bpf_dev_program(&st, &insns, &n_insns, &err) == 0 &&
	    cg_bpf_dev_attach(dir, insns, n_insns, &err) == 0)
		r = 0;
	if (err)
		fprintf(stderr, "attach: %s (%s)\n", err->msg,
			strerror(err->code));
	husk_error_free(&err);
	cg_dev_state_free(&st);
	json_object_put(dev);
	return r;
}

static void remove_dir(const char *dir)
{
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		nanosleep(&ts, NULL);
	}
}

int main(void)
{
	const char *root = cgroup2_root();
	char dir[256];

	if (geteuid() != 0 || !root || !can_open(DENIED_DEV)) {
		printf("cgroup_bpf: skipped (needs root, cgroup2 and %s)\n",
		       DENIED_DEV);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/husk-unit-bpf-%d", root, (int)getpid());
	if (mkdir(dir, 0755) < 0) {
		printf("cgroup_bpf: skipped (mkdir %s: %s)\n", dir,
		       strerror(errno));
		return 0;
	}
	CHECK(run_child(dir) == 1); /* no filter yet: the device opens */
	CHECK(attach_default(dir) == 0);
	CHECK(attached(dir) == 1);
	CHECK(run_child(dir) == 3);
	/* attaching again replaces the filter instead of stacking it */
	CHECK(attach_default(dir) == 0);
	CHECK(attached(dir) == 1);
	CHECK(run_child(dir) == 3);
	remove_dir(dir);
	CHECK(access(dir, F_OK) < 0);
	return unit_summary("cgroup_bpf");
}
