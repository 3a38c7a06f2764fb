/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroups/: placement logic on strings, the saved state, and the calls that
 * need no cgroupfs (DISABLED manager, refused paths). No I/O on cgroups. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/cleanup.h"
#include "../../cgroups/cgroup_internal.h"
#include "unit.h"

/* cg_path_clean() result, or the error message, as one string to compare. */
static char *clean(const char *in)
{
	husk_error *err = NULL;
	char *out = NULL;

	if (cg_path_clean(in, "config.json: linux.cgroupsPath", &out, &err) < 0) {
		out = strdup(err->msg);
		husk_error_free(&err);
	}
	return out;
}

static void test_clean(void)
{
	static const char *const cases[][2] = {
		{ "/husk-tests/c1", "/husk-tests/c1" },
		{ "//a//b/", "/a/b" },
		{ "/a/./b/.", "/a/b" },
		{ "a/./b", "a/b" },
		{ "./c1", "c1" },
		{ "c1", "c1" },
		{ "..a/b..", "..a/b.." },
		{ "/a/../b", "config.json: linux.cgroupsPath: must not contain \"..\"" },
		{ "..", "config.json: linux.cgroupsPath: must not contain \"..\"" },
		{ "a/..", "config.json: linux.cgroupsPath: must not contain \"..\"" },
		{ "/", "config.json: linux.cgroupsPath: must name a cgroup below the root" },
		{ "/./", "config.json: linux.cgroupsPath: must name a cgroup below the root" },
		{ ".", "config.json: linux.cgroupsPath: must name a cgroup below the root" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *got = clean(cases[i][0]);

		CHECK_STR(got, cases[i][1]);
	}
}

static void test_join_parent_depth(void)
{
	static const char *const joins[][3] = {
		{ "/sys/fs/cgroup/memory", "/husk/c1", "/sys/fs/cgroup/memory/husk/c1" },
		{ "/sys/fs/cgroup/memory/", "c1", "/sys/fs/cgroup/memory/c1" },
		{ "/x", "", "/x" },
		{ "/x", "/", "/x" },
		{ "/", "a", "/a" },
		{ "/", "/", "/" },
	};
	static const char *const parents[][2] = {
		{ "/a/b", "/a" }, { "/a", "/" }, { "/", "/" }, { "/a/b/", "/a" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(joins); i++) {
		_cleanup_free_ char *j = cg_path_join(joins[i][0], joins[i][1]);

		CHECK_STR(j, joins[i][2]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(parents); i++) {
		_cleanup_free_ char *p = cg_path_parent(parents[i][0]);

		CHECK_STR(p, parents[i][1]);
	}
	CHECK(cg_path_depth("/sys/fs/cgroup") == 3);
	CHECK(cg_path_depth("/sys/fs/cgroup/cpu,cpuacct/") == 4);
	CHECK(cg_path_depth("/") == 0);
	CHECK(cg_path_depth("a/b") == 2);
}

static void test_list_has(void)
{
	CHECK(cg_list_has("cpu,cpuacct", "cpu"));
	CHECK(cg_list_has("cpu,cpuacct", "cpuacct"));
	CHECK(!cg_list_has("cpu,cpuacct", "cpuac"));
	CHECK(!cg_list_has("cpuset", "cpu"));
	CHECK(cg_list_has("cpuset cpu io memory pids\n", "pids"));
	CHECK(!cg_list_has("", "cpu"));
	CHECK(!cg_list_has("cpu", ""));
}

static void test_proc_cgroup_line(void)
{
	char l1[] = "4:memory:/process_api/b4eaaddeaf825fac\n";
	char l2[] = "0::/";
	char l3[] = "3:cpu,cpuacct:/a:b";
	char bad1[] = "garbage", bad2[] = "1:cpu:relative", bad3[] = "x:cpu:/";
	struct cg_proc_line l;

	CHECK(cg_parse_proc_cgroup_line(l1, &l) == 0);
	CHECK(l.id == 4);
	CHECK_STR(l.controllers, "memory");
	CHECK_STR(l.path, "/process_api/b4eaaddeaf825fac");
	CHECK(cg_parse_proc_cgroup_line(l2, &l) == 0);
	CHECK(l.id == 0);
	CHECK_STR(l.controllers, "");
	CHECK_STR(l.path, "/");
	CHECK(cg_parse_proc_cgroup_line(l3, &l) == 0);
	CHECK_STR(l.controllers, "cpu,cpuacct");
	CHECK_STR(l.path, "/a:b");
	CHECK(cg_parse_proc_cgroup_line(bad1, &l) < 0);
	CHECK(cg_parse_proc_cgroup_line(bad2, &l) < 0);
	CHECK(cg_parse_proc_cgroup_line(bad3, &l) < 0);
}

static void test_proc_cgroup_lookup(void)
{
	static const char text[] = "9:name=systemd:/user.slice\n"
				   "8:pids:/\n"
				   "4:memory:/process_api/b4ea\n"
				   "2:cpu,cpuacct:/x\n"
				   "0::/unified-own\n";
	static const char *const cases[][2] = {
		{ "memory", "/process_api/b4ea" },
		{ "cpu,cpuacct", "/x" },
		{ "name=systemd", "/user.slice" },
		{ "pids", "/" },
		{ "", "/unified-own" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *p = cg_proc_cgroup_lookup(text, cases[i][0]);

		CHECK_STR(p, cases[i][1]);
	}
	CHECK(cg_proc_cgroup_lookup(text, "hugetlb") == NULL);
	CHECK(cg_proc_cgroup_lookup("4:memory:/a\n", "") == NULL);
}

static void test_mountinfo(void)
{
	char v1[] = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup "
		    "cgroup rw,memory\n";
	char opt[] = "40 31 0:37 /docker/x /sys/fs/cgroup/cpu\\054cpuacct "
		     "rw,nosuid shared:7 master:2 - cgroup cgroup "
		     "rw,cpu,cpuacct";
	char v2[] = "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw";
	char esc[] = "50 1 8:1 /a\\040b /mnt/x\\134y rw - ext4 /dev/sda1 rw";
	char bad1[] = "35 31 0:32 / /sys/fs/cgroup/memory rw cgroup rw";
	char bad2[] = "35 31 0:32 / /x rw -";
	struct cg_mountinfo m;

	CHECK(cg_parse_mountinfo_line(v1, &m) == 0);
	CHECK_STR(m.dev, "0:32");
	CHECK_STR(m.root, "/");
	CHECK_STR(m.mountpoint, "/sys/fs/cgroup/memory");
	CHECK_STR(m.fstype, "cgroup");
	CHECK_STR(m.super_opts, "rw,memory");
	CHECK(cg_parse_mountinfo_line(opt, &m) == 0);
	CHECK_STR(m.root, "/docker/x");
	CHECK_STR(m.mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(m.super_opts, "rw,cpu,cpuacct");
	CHECK(cg_parse_mountinfo_line(v2, &m) == 0);
	CHECK_STR(m.fstype, "cgroup2");
	CHECK(cg_parse_mountinfo_line(esc, &m) == 0);
	CHECK_STR(m.root, "/a b");
	CHECK_STR(m.mountpoint, "/mnt/x\\y");
	CHECK(cg_parse_mountinfo_line(bad1, &m) < 0);
	CHECK(cg_parse_mountinfo_line(bad2, &m) < 0);
}

static void test_v1_controllers(void)
{
	static const char *const cases[][2] = {
		{ "rw,memory", "memory" },
		{ "rw,cpu,cpuacct", "cpu,cpuacct" },
		{ "rw,nosuid,nodev,noexec,relatime,xattr,name=systemd", "name=systemd" },
		{ "rw,release_agent=/x,clone_children,cpuset", "cpuset" },
		{ "rw,net_cls,net_prio", "net_cls,net_prio" },
		{ "rw", "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *c = cg_v1_controllers(cases[i][0]);

		CHECK_STR(c, cases[i][1]);
	}
}

static void check_resolve(const char *root, const char *own, const char *inner,
			  const char *want, size_t want_base)
{
	const char *mount = "/sys/fs/cgroup/memory";
	husk_error *err = NULL;
	_cleanup_free_ char *dir = NULL;
	size_t base = 0;

	CHECK(cg_resolve_dir(mount, root, own, inner, &dir, &base, &err) == 0);
	CHECK_STR(dir, want);
	CHECK(base == want_base);
	husk_error_free(&err);
}

static void test_resolve(void)
{
	const size_t mlen = strlen("/sys/fs/cgroup/memory");
	husk_error *err = NULL;
	char *dir = NULL;
	size_t base;

	check_resolve("/", NULL, "/husk/c1", "/sys/fs/cgroup/memory/husk/c1", mlen);
	check_resolve("/", "/process_api/b4", "c1",
		      "/sys/fs/cgroup/memory/process_api/b4/c1",
		      mlen + strlen("/process_api/b4"));
	check_resolve("/", "/", "a/c1", "/sys/fs/cgroup/memory/a/c1", mlen);
	/* cgroup namespace or bind mount of a subtree */
	check_resolve("/docker/x", "/docker/x/sub", "c1",
		      "/sys/fs/cgroup/memory/sub/c1", mlen + 4);
	check_resolve("/docker/x", "/docker/x", "c1",
		      "/sys/fs/cgroup/memory/c1", mlen);
	CHECK(cg_resolve_dir("/sys/fs/cgroup/memory", "/docker/x", "/docker/xy",
			     "c1", &dir, &base, &err) < 0);
	CHECK(err && strstr(err->msg, "is not inside"));
	husk_error_free(&err);
	CHECK(cg_resolve_dir("/sys/fs/cgroup/memory", "/", NULL, "c1", &dir,
			     &base, &err) < 0);
	husk_error_free(&err);
	CHECK(dir == NULL);
}

static void test_keyed_value(void)
{
	char v[8];

	CHECK(cg_keyed_value("populated 1\nfrozen 0\n", "frozen", v, sizeof(v)));
	CHECK_STR(v, "0");
	CHECK(cg_keyed_value("populated 1\nfrozen 1", "populated", v, sizeof(v)));
	CHECK_STR(v, "1");
	CHECK(!cg_keyed_value("populated 1\n", "frozen", v, sizeof(v)));
	CHECK(!cg_keyed_value("frozenx 1\n", "frozen", v, sizeof(v)));
}

static struct cgroup *from_text(const char *text, char **msg)
{
	struct json_object *j = json_tokener_parse(text);
	husk_error *err = NULL;
	struct cgroup *cg = cgroup_from_json(j, &err);

	*msg = err ? strdup(err->msg) : NULL;
	husk_error_free(&err);
	json_object_put(j);
	return cg;
}

static void test_state_json(void)
{
	static const char good[] =
		"{\"manager\":\"cgroupfs\",\"driver\":\"v1\",\"path\":\"/t/c1\","
		"\"hierarchies\":[{\"controllers\":\"memory\",\"dir\":"
		"\"/sys/fs/cgroup/memory/t/c1\",\"created\":2},"
		"{\"controllers\":\"\",\"dir\":\"/sys/fs/cgroup/unified/t/c1\","
		"\"created\":1}]}";
	static const char *const bad[] = {
		"{\"manager\":\"cgroupfs\",\"driver\":\"v1\",\"path\":\"/t\",\"hierarchies\":"
		"[{\"controllers\":\"memory\",\"dir\":\"/sys/fs/cgroup/memory/../x\",\"created\":0}]}",
		"{\"manager\":\"cgroupfs\",\"driver\":\"v1\",\"path\":\"/t\",\"hierarchies\":"
		"[{\"controllers\":\"memory\",\"dir\":\"/etc/x\",\"created\":0}]}",
		"{\"manager\":\"cgroupfs\",\"driver\":\"v1\",\"path\":\"/t\",\"hierarchies\":"
		"[{\"controllers\":\"memory\",\"dir\":\"/sys/fs/cgroup/memory/t/c1\",\"created\":3}]}",
		"{\"manager\":\"cgroupfs\",\"driver\":\"v1\",\"path\":\"/t\",\"hierarchies\":"
		"[{\"controllers\":\"memory\",\"dir\":\"/sys/fs/cgroup/memory\",\"created\":0}]}",
		"{\"manager\":\"cgroupfs\",\"driver\":\"v9\",\"path\":\"/t\",\"hierarchies\":[]}",
		"{\"manager\":\"cgroupfs\",\"driver\":\"v2\",\"path\":\"/t\",\"hierarchies\":[]}",
		"{\"manager\":\"nope\",\"path\":\"/t\",\"hierarchies\":[]}",
	};
	_cleanup_free_ char *msg = NULL;
	struct cgroup *cg = from_text(good, &msg);
	struct json_object *j;

	CHECK(cg != NULL);
	if (!cg)
		return;
	CHECK_STR(cgroup_path(cg), "/t/c1");
	CHECK_STR(cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/t/c1");
	CHECK(cgroup_dir(cg, "pids") == NULL);
	/* The hybrid cgroup2 hierarchy is kept only where it is mounted. */
	if (cg_hybrid_unified_usable()) {
		CHECK_STR(cgroup_dir(cg, ""), "/sys/fs/cgroup/unified/t/c1");
		j = cgroup_to_json(cg);
		CHECK_STR(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
			  good);
		json_object_put(j);
	} else {
		CHECK(cgroup_dir(cg, "") == NULL);
	}
	cgroup_free(cg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *m = NULL;

		cg = from_text(bad[i], &m);
		CHECK(cg == NULL && m != NULL);
		cgroup_free(cg);
	}
}

static void test_new_refusals(void)
{
	husk_error *err = NULL;

	CHECK(cgroup_new("/a/../../etc", "c1", CGROUP_MANAGER_CGROUPFS, &err) == NULL);
	CHECK_STR(err ? err->msg : NULL,
		  "config.json: linux.cgroupsPath: must not contain \"..\"");
	husk_error_free(&err);
	/* Refused before systemd is asked, so this holds on any host. */
	CHECK(cgroup_new("/husk-tests/c1", "c1", CGROUP_MANAGER_SYSTEMD, &err) == NULL);
	CHECK_STR(err ? err->msg : NULL, "config.json: linux.cgroupsPath: expected "
		  "\"slice:prefix:name\" for the systemd cgroup manager, got "
		  "\"/husk-tests/c1\"");
	husk_error_free(&err);
	CHECK(cgroup_new(NULL, NULL, CGROUP_MANAGER_CGROUPFS, &err) == NULL);
	husk_error_free(&err);
}

static void test_disabled(void)
{
	husk_error *err = NULL;
	struct cgroup *cg = cgroup_new("/x", "c1", CGROUP_MANAGER_DISABLED, &err);
	struct json_object *j;
	_cleanup_free_ char *msg = NULL;
	pid_t *pids = NULL;
	size_t n = 1;
	bool frozen = true;
	enum cgroup_manager m;

	CHECK(cg != NULL);
	if (!cg)
		return;
	CHECK_STR(cgroup_path(cg), "");
	CHECK(cgroup_create(cg, NULL, &err) == 0 && cgroup_enter(cg, 1, &err) == 0);
	CHECK(cgroup_pids(cg, &pids, &n, &err) == 0 && n == 0 && !pids);
	CHECK(cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
	CHECK(cgroup_kill_all(cg, 9, &err) == 0 && cgroup_destroy(cg, &err) == 0);
	CHECK(cgroup_freeze(cg, true, &err) < 0);
	husk_error_free(&err);
	j = cgroup_to_json(cg);
	cgroup_free(cg);
	cg = from_text(json_object_to_json_string(j), &msg);
	json_object_put(j);
	CHECK(cg != NULL && cgroup_destroy(cg, &err) == 0);
	cgroup_free(cg);
	CHECK(cgroup_manager_parse("cgroupfs", &m) == 0 && m == CGROUP_MANAGER_CGROUPFS);
	CHECK(cgroup_manager_parse("disabled", &m) == 0 && m == CGROUP_MANAGER_DISABLED);
	CHECK(cgroup_manager_parse("fs", &m) < 0);
	CHECK_STR(cgroup_manager_name(CGROUP_MANAGER_SYSTEMD), "systemd");
}

int main(void)
{
	test_clean();
	test_join_parent_depth();
	test_list_has();
	test_proc_cgroup_line();
	test_proc_cgroup_lookup();
	test_mountinfo();
	test_v1_controllers();
	test_resolve();
	test_keyed_value();
	test_state_json();
	test_new_refusals();
	test_disabled();
	return unit_summary("cgroup_path");
}
