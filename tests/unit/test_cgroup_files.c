/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroups/: the resource handlers and statistics of both drivers against a
 * fake cgroupfs, plain files in a temporary directory, so the v2 mapping
 * is checked on a v1 host too. Regular files are not truncated by a write
 * (cgroupfs files need no truncation, and husk does not ask for it), so a
 * file with content beforehand is checked by its prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../cgroups/cgroup_internal.h"
#include "unit.h"

static char base[64];

static void put(const char *dir, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static char *get(const char *dir, const char *file)
{
	static char buf[4096];
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strcpy(buf, "(missing)");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static char *mkdir_in(const char *name)
{
	static unsigned seq;
	char *dir = NULL;

	if (asprintf(&dir, "%s/%u-%s", base, ++seq, name) < 0 ||
	    mkdir(dir, 0755) < 0)
		abort();
	return dir;
}

/* A cgroup object over fake directories, one per controllers entry. */
static struct cgroup *fake(const struct cgroup_driver *drv,
			   const char *const *ctl, size_t n)
{
	struct cgroup *cg = calloc(1, sizeof(*cg));

	cg->hier = calloc(n, sizeof(*cg->hier));
	if (!cg || !cg->hier)
		abort();
	cg->drv = drv;
	cg->manager = CGROUP_MANAGER_CGROUPFS;
	cg->path = strdup("/fake");
	for (size_t i = 0; i < n; i++) {
		cg->hier[i].controllers = strdup(ctl[i]);
		cg->hier[i].dir = mkdir_in(*ctl[i] ? ctl[i] : "unified");
	}
	cg->n_hier = n;
	return cg;
}

static void files(const char *dir, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(dir, names[i], "");
}

/* cgroup_update (devices are left out: no kernel here) on JSON text;
 * the error message, or NULL. */
static char *update(struct cgroup *cg, const char *json)
{
	struct json_object *j = json_tokener_parse(json);
	husk_error *err = NULL;
	char *msg = NULL;

	if (!j)
		abort();
	if (cgroup_update(cg, j, &err) < 0) {
		msg = husk_error_text(err);
		husk_error_free(&err);
	}
	json_object_put(j);
	return msg;
}

#define CHECK_PREFIX(dir, file, want)                                          \
	CHECK(strncmp(get(dir, file), want, strlen(want)) == 0)

static const char *const v2_files[] = {
	"memory.max",	 "memory.swap.max",  "memory.low",   "cpu.weight",
	"cpu.max",	 "cpu.max.burst",    "cpu.idle",     "cpuset.cpus",
	"cpuset.mems",	 "pids.max",	     "io.weight",    "io.max",
	"hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "rdma.max", "memory.high",
};

static void test_v2_resources(void)
{
	static const char *const ctl[] = { "" };
	struct cgroup *cg = fake(&cgroup_v2_driver, ctl, 1);
	const char *d = cg->hier[0].dir;
	char *msg;

	files(d, v2_files, ARRAY_SIZE(v2_files));
	put(d, "cgroup.controllers", "cpuset cpu io memory pids");
	msg = update(cg, "{\"memory\":{\"limit\":67108864,\"swap\":100663296,"
			 "\"reservation\":16777216,\"swappiness\":10,"
			 "\"kernel\":1,\"disableOOMKiller\":true},"
			 "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":"
			 "100000,\"burst\":1000,\"idle\":0,\"cpus\":\"0-1\","
			 "\"mems\":\"0\"},\"pids\":{\"limit\":-1},"
			 "\"blockIO\":{\"weight\":500,\"leafWeight\":300,"
			 "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
			 "\"rate\":1048576}]},\"hugepageLimits\":[{\"pageSize\":"
			 "\"2MB\",\"limit\":4194304}],\"rdma\":{\"mlx5_1\":{"
			 "\"hcaHandles\":3,\"hcaObjects\":10000}},\"network\":{"
			 "\"classID\":1},\"unified\":{\"memory.high\":\"5000\"}}");
	CHECK(msg == NULL);
	free(msg);
	CHECK_STR(get(d, "memory.max"), "67108864");
	CHECK_STR(get(d, "memory.swap.max"), "33554432"); /* swap - limit */
	CHECK_STR(get(d, "memory.low"), "16777216");
	CHECK_STR(get(d, "cpu.weight"), "39");
	CHECK_STR(get(d, "cpu.max"), "50000 100000");
	CHECK_STR(get(d, "cpu.max.burst"), "1000");
	CHECK_STR(get(d, "cpu.idle"), "0");
	CHECK_STR(get(d, "cpuset.cpus"), "0-1");
	CHECK_STR(get(d, "cpuset.mems"), "0");
	CHECK_STR(get(d, "pids.max"), "max");
	CHECK_STR(get(d, "io.weight"), "4950");
	CHECK_STR(get(d, "io.max"), "8:0 rbps=1048576");
	CHECK_STR(get(d, "hugetlb.2MB.max"), "4194304");
	CHECK_STR(get(d, "hugetlb.2MB.rsvd.max"), "4194304");
	CHECK_STR(get(d, "rdma.max"), "mlx5_1 hca_handle=3 hca_object=10000");
	CHECK_STR(get(d, "memory.high"), "5000");
	cgroup_free(cg);
}

static void test_v2_refusals(void)
{
	static const char *const ctl[] = { "" };
	struct cgroup *cg = fake(&cgroup_v2_driver, ctl, 1);
	const char *d = cg->hier[0].dir;
	char *msg;

	files(d, v2_files, ARRAY_SIZE(v2_files));
	put(d, "cgroup.controllers", "cpu memory pids");
	msg = update(cg, "{\"cpu\":{\"realtimeRuntime\":1000}}");
	CHECK_STR(msg, "config.json: linux.resources.cpu.realtimeRuntime: "
		       "realtime CPU bandwidth is not available on cgroup v2");
	free(msg);
	msg = update(cg, "{\"unified\":{\"foo.bar\":\"1\"}}");
	CHECK_STR(msg, "config.json: linux.resources.unified.foo.bar: "
		       "controller \"foo\" is not available (the cgroup has: "
		       "cpu memory pids)");
	free(msg);
	msg = update(cg, "{\"unified\":{\"memory.nope\":\"1\"}}");
	CHECK_STR(msg, "config.json: linux.resources.unified.memory.nope: "
		       "write memory.nope: No such file or directory");
	free(msg);
	msg = update(cg, "{\"memory\":{\"limit\":-1,\"swap\":1000}}");
	CHECK(msg && strstr(msg, "memory.swap: cannot set swap without"));
	free(msg);
	msg = update(cg, "{\"memory\":{\"limit\":\"1G\"}}");
	CHECK_STR(msg, "config.json: linux.resources.memory.limit: must be a "
		       "64-bit signed integer");
	free(msg);
	msg = update(cg, "{\"pids\":{\"limit\":1.5}}");
	CHECK(msg && strstr(msg, "pids.limit: must be a 64-bit"));
	free(msg);
	msg = update(cg, "{\"cpu\":{\"shares\":-2}}");
	CHECK(msg && strstr(msg, "cpu.shares: must be an integer from 0"));
	free(msg);
	/* swap alone converts against the memory.max in force */
	put(d, "memory.max", "67108864");
	put(d, "memory.swap.max", "");
	msg = update(cg, "{\"memory\":{\"swap\":134217728}}");
	CHECK(msg == NULL);
	free(msg);
	CHECK_STR(get(d, "memory.swap.max"), "67108864");
	cgroup_free(cg);
}

static const char *const v1_ctl[] = { "cpuset", "memory", "cpu", "pids",
				      "blkio", "" };

static struct cgroup *v1_fake(void)
{
	static const char *const mem[] = {
		"memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
		"memory.oom_control", "memory.swappiness",
		"memory.use_hierarchy",
	};
	static const char *const cpu[] = {
		"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us",
		"cpu.rt_period_us", "cpu.rt_runtime_us",
	};
	static const char *const blkio[] = {
		"blkio.bfq.weight", "blkio.bfq.weight_device",
		"blkio.throttle.write_iops_device",
	};
	struct cgroup *cg = fake(&cgroup_v1_driver, v1_ctl, ARRAY_SIZE(v1_ctl));

	files(cg->hier[1].dir, mem, ARRAY_SIZE(mem));
	files(cg->hier[2].dir, cpu, ARRAY_SIZE(cpu));
	files(cg->hier[4].dir, blkio, ARRAY_SIZE(blkio));
	put(cg->hier[1].dir, "memory.limit_in_bytes", "9223372036854771712");
	put(cg->hier[0].dir, "cpuset.cpus", "");
	put(cg->hier[0].dir, "cpuset.mems", "");
	put(cg->hier[3].dir, "pids.max", "");
	put(cg->hier[5].dir, "hugetlb.2MB.max", "");
	return cg;
}

static void test_v1_resources(void)
{
	struct cgroup *cg = v1_fake();
	const char *cs = cg->hier[0].dir, *m = cg->hier[1].dir,
		   *c = cg->hier[2].dir, *p = cg->hier[3].dir,
		   *b = cg->hier[4].dir, *u = cg->hier[5].dir;
	char *msg;

	msg = update(cg, "{\"memory\":{\"limit\":67108864,\"swap\":100663296,"
			 "\"reservation\":16777216,\"swappiness\":10,"
			 "\"kernelTCP\":1,\"disableOOMKiller\":true,"
			 "\"useHierarchy\":true},\"cpu\":{\"shares\":512,"
			 "\"quota\":20000,\"period\":50000,\"realtimeRuntime\":"
			 "950000,\"realtimePeriod\":1000000,\"cpus\":\"1\","
			 "\"mems\":\"0\"},\"pids\":{\"limit\":7},\"blockIO\":{"
			 "\"weight\":300,\"weightDevice\":[{\"major\":8,"
			 "\"minor\":0,\"weight\":100}],\"throttleWriteIOPSDevice\""
			 ":[{\"major\":8,\"minor\":16,\"rate\":300}]},"
			 "\"unified\":{\"hugetlb.2MB.max\":\"2097152\"}}");
	CHECK(msg == NULL);
	free(msg);
	CHECK_PREFIX(m, "memory.limit_in_bytes", "67108864");
	CHECK_STR(get(m, "memory.memsw.limit_in_bytes"), "100663296");
	CHECK_STR(get(m, "memory.soft_limit_in_bytes"), "16777216");
	CHECK_STR(get(m, "memory.oom_control"), "1");
	CHECK_STR(get(m, "memory.swappiness"), "10");
	CHECK_STR(get(m, "memory.use_hierarchy"), "1");
	CHECK_STR(get(c, "cpu.shares"), "512");
	CHECK_STR(get(c, "cpu.cfs_quota_us"), "20000");
	CHECK_STR(get(c, "cpu.cfs_period_us"), "50000");
	CHECK_STR(get(c, "cpu.rt_period_us"), "1000000");
	CHECK_STR(get(c, "cpu.rt_runtime_us"), "950000");
	CHECK_STR(get(cs, "cpuset.cpus"), "1");
	CHECK_STR(get(cs, "cpuset.mems"), "0");
	CHECK_STR(get(p, "pids.max"), "7");
	CHECK_STR(get(b, "blkio.bfq.weight"), "300");
	CHECK_STR(get(b, "blkio.bfq.weight_device"), "8:0 100");
	CHECK_STR(get(b, "blkio.throttle.write_iops_device"), "8:16 300");
	CHECK_STR(get(u, "hugetlb.2MB.max"), "2097152");
	cgroup_free(cg);
}

static void test_v1_refusals(void)
{
	struct cgroup *cg = v1_fake();
	char *msg;

	msg = update(cg, "{\"unified\":{\"memory.max\":\"1\"}}");
	CHECK(msg && strstr(msg, "unified.memory.max: cgroup v2 setting"));
	free(msg);
	msg = update(cg, "{\"network\":{\"classID\":7}}");
	CHECK_STR(msg, "config.json: linux.resources.network.classID: no "
		       "net_cls cgroup hierarchy is mounted");
	free(msg);
	msg = update(cg, "{\"memory\":{\"swappiness\":101}}");
	CHECK(msg && strstr(msg, "memory.swappiness: must be from 0 to 100"));
	free(msg);
	/* 0 is "unset" (runc): nothing to write, no hierarchy needed */
	msg = update(cg, "{\"network\":{\"classID\":0},\"hugepageLimits\":[]}");
	CHECK(msg == NULL);
	free(msg);
	cgroup_free(cg);
}

static void test_stats(void)
{
	static const char *const ctl[] = { "" };
	struct cgroup *cg = fake(&cgroup_v2_driver, ctl, 1);
	const char *d = cg->hier[0].dir;
	struct json_object *o;
	husk_error *err = NULL;
	uint64_t oom = 0;

	put(d, "cpu.stat", "usage_usec 100\nuser_usec 60\nsystem_usec 40\n"
			   "nr_periods 5\nnr_throttled 2\nthrottled_usec 7\n");
	put(d, "memory.stat", "file 4096\nanon 8192\n");
	put(d, "memory.current", "12288\n");
	put(d, "memory.max", "max\n");
	put(d, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
	put(d, "pids.current", "4\n");
	put(d, "pids.max", "max\n");
	put(d, "io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0\n");
	o = cgroup_stats(cg, &err);
	CHECK(o != NULL);
	CHECK_STR(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
		    : "",
		  "{\"cpu\":{\"usage\":{\"total\":100000,\"kernel\":40000,"
		  "\"user\":60000},\"throttling\":{\"periods\":5,"
		  "\"throttledPeriods\":2,\"throttledTime\":7000}},"
		  "\"memory\":{\"cache\":4096,\"usage\":{\"limit\":"
		  "18446744073709551615,\"usage\":12288,\"failcnt\":0},"
		  "\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,"
		  "\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0},"
		  "\"raw\":{\"anon\":8192,\"file\":4096}},\"pids\":{\"current\":"
		  "4},\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":8,"
		  "\"op\":\"Read\",\"value\":512},{\"major\":8,\"op\":\"Write\","
		  "\"value\":1024}],\"ioServicedRecursive\":[{\"major\":8,"
		  "\"op\":\"Read\",\"value\":1},{\"major\":8,\"op\":\"Write\","
		  "\"value\":2}]},\"hugetlb\":{}}");
	json_object_put(o);
	CHECK(cgroup_oom_count(cg, &oom, &err) == 0 && oom == 2);
	husk_error_free(&err);
	cgroup_free(cg);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/husk-unit-cgfiles-XXXXXX");
	if (!mkdtemp(base))
		return 1;
	test_v2_resources();
	test_v2_refusals();
	test_v1_resources();
	test_v1_refusals();
	test_stats();
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return unit_summary("cgroup_files");
}
