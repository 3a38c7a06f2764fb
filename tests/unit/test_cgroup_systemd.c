/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd cgroup manager's pure parts: cgroupsPath and slice names,
 * and linux.resources as unit properties. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../base/cleanup.h"
#include "../../cgroups/cgroup_internal.h"
#include "../../cgroups/systemd.h"
#include "unit.h"

static void test_parse_path(void)
{
	static const struct {
		const char *path, *id, *slice, *unit;
	} ok[] = {
		{ NULL, "c1", "system.slice", "husk-c1.scope" },
		{ "", "c1", "system.slice", "husk-c1.scope" },
		{ "machine.slice:libpod:abc", "x", "machine.slice", "libpod-abc.scope" },
		{ ":cri-containerd:abc", "x", "system.slice", "cri-containerd-abc.scope" },
		{ "a-b.slice::abc", "x", "a-b.slice", "abc.scope" },
	};
	static const struct {
		const char *path, *msg;
	} bad[] = {
		{ "/husk-tests/c1", "config.json: linux.cgroupsPath: expected "
				    "\"slice:prefix:name\" for the systemd cgroup "
				    "manager, got \"/husk-tests/c1\"" },
		{ "a:b", NULL },
		{ "a:b:c:d", NULL },
		{ "system.slice:husk:", "config.json: linux.cgroupsPath: "
					"\"system.slice:husk:\": the name part is empty" },
		{ "system.slice:husk:a/b", "config.json: linux.cgroupsPath: "
					   "\"husk-a/b.scope\" is not a valid "
					   "systemd unit name" },
		{ "system.slice:husk:a+b", NULL },
		{ "nota-slice:husk:c", "config.json: linux.cgroupsPath: "
				       "\"nota-slice\" is not a valid slice name" },
		{ "-a.slice:husk:c", NULL },
		{ "a--b.slice:husk:c", NULL },
		{ "a-.slice:husk:c", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		_cleanup_free_ char *slice = NULL, *unit = NULL;
		husk_error *err = NULL;

		CHECK(cg_sd_parse_path(ok[i].path, ok[i].id, &slice, &unit, &err) == 0);
		CHECK_STR(slice, ok[i].slice);
		CHECK_STR(unit, ok[i].unit);
		husk_error_free(&err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *slice = NULL, *unit = NULL;
		husk_error *err = NULL;

		CHECK(cg_sd_parse_path(bad[i].path, "x", &slice, &unit, &err) < 0);
		CHECK(err != NULL && slice == NULL && unit == NULL);
		if (bad[i].msg)
			CHECK_STR(err ? err->msg : NULL, bad[i].msg);
		husk_error_free(&err);
	}
}

static void test_expand_slice(void)
{
	static const char *const cases[][2] = {
		{ "system.slice", "/system.slice" },
		{ "a-b.slice", "/a.slice/a-b.slice" },
		{ "a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice" },
		{ "-.slice", "" },
		{ "husk-tests-123.slice", "/husk.slice/husk-tests.slice/husk-tests-123.slice" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *out = NULL;

		CHECK(cg_sd_expand_slice(cases[i][0], &out, NULL) == 0);
		CHECK_STR(out, cases[i][1]);
	}
	CHECK(cg_sd_unit_name_valid("husk-c1.scope", "scope"));
	CHECK(!cg_sd_unit_name_valid(".scope", "scope"));
	CHECK(!cg_sd_unit_name_valid("husk-c1.service", "scope"));
	CHECK(!cg_sd_unit_name_valid("a b.scope", "scope"));
}

static void test_cpu_list(void)
{
	uint8_t *b = NULL;
	size_t n = 0;

	CHECK(cg_parse_cpu_list("0-2,5", &b, &n) == 0 && n == 1 && b && b[0] == 0x27);
	free(b);
	CHECK(cg_parse_cpu_list("9", &b, &n) == 0 && n == 2 && b && b[0] == 0 && b[1] == 2);
	free(b);
	CHECK(cg_parse_cpu_list("0,8-9", &b, &n) == 0 && n == 2 && b && b[0] == 1 && b[1] == 3);
	free(b);
	CHECK(cg_parse_cpu_list("", &b, &n) == 0 && n == 0 && !b);
	CHECK(cg_parse_cpu_list("2-1", &b, &n) < 0);
	CHECK(cg_parse_cpu_list("a", &b, &n) < 0);
	CHECK(cg_parse_cpu_list("1,", &b, &n) < 0);
	CHECK(cg_parse_cpu_list("-1", &b, &n) < 0);
	CHECK(cg_parse_cpu_list("1-", &b, &n) < 0);
	CHECK(cg_parse_cpu_list("99999", &b, &n) < 0);
}

static uint64_t u64_of(const struct cg_unit_props *p, const char *name)
{
	const struct cg_unit_prop *v = cg_props_find(p, name);

	return v && v->type == CG_PROP_U64 ? v->u : 0;
}

static const char *str_of(const struct cg_unit_props *p, const char *name)
{
	const struct cg_unit_prop *v = cg_props_find(p, name);

	return v && v->type == CG_PROP_STR ? v->s : NULL;
}

static void test_props_v2(void)
{
	struct json_object *res = json_tokener_parse(
		"{\"memory\":{\"limit\":67108864,\"swap\":100663296,"
		"\"reservation\":1048576},\"pids\":{\"limit\":-1},"
		"\"cpu\":{\"shares\":1024,\"quota\":12345,\"period\":100000,"
		"\"cpus\":\"0-1\",\"mems\":\"0\"},\"blockIO\":{\"weight\":500},"
		"\"unified\":{\"memory.high\":\"50000000\",\"pids.max\":\"max\","
		"\"memory.oom.group\":\"1\"},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
		"{\"allow\":true,\"type\":\"b\",\"major\":7,\"minor\":7,\"access\":\"rw\"}]}");
	struct cg_unit_props p = { 0 };
	const struct cg_unit_prop *v;
	husk_error *err = NULL;

	CHECK(cg_props_from_resources(res, true, false, &p, &err) == 0);
	CHECK(u64_of(&p, "MemoryMax") == 67108864);
	CHECK(u64_of(&p, "MemorySwapMax") == 100663296 - 67108864);
	CHECK(u64_of(&p, "MemoryLow") == 1048576);
	CHECK(u64_of(&p, "MemoryHigh") == 50000000);
	CHECK(u64_of(&p, "TasksMax") == CG_SD_INFINITY);
	CHECK(u64_of(&p, "CPUWeight") == 39); /* 1 + (1022 * 9999) / 262142 */
	/* 12345 us per 100 ms is 123450 us/s: rounded up to 130 ms */
	CHECK(u64_of(&p, "CPUQuotaPerSecUSec") == 130000);
	CHECK(u64_of(&p, "CPUQuotaPeriodUSec") == 100000);
	CHECK(u64_of(&p, "IOWeight") == 1 + (490 * 9999) / 990);
	CHECK(cg_props_find(&p, "MemoryLimit") == NULL);
	v = cg_props_find(&p, "AllowedCPUs");
	CHECK(v && v->type == CG_PROP_BYTES && v->n_bytes == 1 && v->bytes[0] == 3);
	v = cg_props_find(&p, "AllowedMemoryNodes");
	CHECK(v && v->n_bytes == 1 && v->bytes[0] == 1);
	CHECK_STR(str_of(&p, "DevicePolicy"), "strict");
	v = cg_props_find(&p, "DeviceAllow");
	CHECK(v && v->type == CG_PROP_DEVICES);
	if (v) {
		bool loop = false, pts = false, mknod = false;

		for (size_t i = 0; i < v->n_devs; i++) {
			const struct cg_unit_dev *d = &v->devs[i];

			loop |= !strcmp(d->node, "/dev/block/7:7") && !strcmp(d->perms, "rw");
			pts |= !strcmp(d->node, "char-136") && !strcmp(d->perms, "rwm");
			mknod |= !strcmp(d->node, "char-*") && !strcmp(d->perms, "m");
		}
		CHECK(loop && pts && mknod);
	}
	cg_props_clear(&p);

	/* update: no devices; swap alone is left to the files */
	json_object_put(res);
	res = json_tokener_parse("{\"memory\":{\"swap\":1000},\"cpu\":{\"quota\":-1,"
				 "\"period\":50000}}");
	CHECK(cg_props_from_resources(res, true, true, &p, &err) == 0);
	CHECK(cg_props_find(&p, "DevicePolicy") == NULL);
	CHECK(cg_props_find(&p, "MemorySwapMax") == NULL);
	CHECK(u64_of(&p, "CPUQuotaPerSecUSec") == CG_SD_INFINITY);
	CHECK(u64_of(&p, "CPUQuotaPeriodUSec") == 50000);
	cg_props_clear(&p);
	json_object_put(res);
	husk_error_free(&err);
}

static void test_props_refusals(void)
{
	static const char *const cases[][2] = {
		{ "{\"memory\":{\"limit\":100,\"swap\":50}}",
		  "config.json: linux.resources.memory.swap: memory+swap limit "
		  "must be >= memory limit" },
		{ "{\"cpu\":{\"cpus\":\"0-x\"}}",
		  "config.json: linux.resources.cpu.cpus: not a list of numbers "
		  "and ranges such as \"0-2,4\"" },
		{ "{\"pids\":{\"limit\":\"5\"}}",
		  "config.json: linux.resources.pids.limit: must be a 64-bit "
		  "signed integer" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *res = json_tokener_parse(cases[i][0]);
		struct cg_unit_props p = { 0 };
		husk_error *err = NULL;

		CHECK(cg_props_from_resources(res, true, false, &p, &err) < 0);
		CHECK_STR(err ? err->msg : NULL, cases[i][1]);
		husk_error_free(&err);
		cg_props_clear(&p);
		json_object_put(res);
	}
}

static void test_props_allow_all_and_v1(void)
{
	struct json_object *res = json_tokener_parse(
		"{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}],"
		"\"memory\":{\"limit\":1048576},\"cpu\":{\"shares\":512,\"cpus\":\"0\"},"
		"\"blockIO\":{\"weight\":300}}");
	struct cg_unit_props p = { 0 };
	const struct cg_unit_prop *v;
	husk_error *err = NULL;

	CHECK(cg_props_from_resources(res, false, false, &p, &err) == 0);
	CHECK_STR(str_of(&p, "DevicePolicy"), "auto");
	v = cg_props_find(&p, "DeviceAllow");
	CHECK(v && v->n_devs == 0);
	CHECK(u64_of(&p, "MemoryLimit") == 1048576);
	CHECK(u64_of(&p, "CPUShares") == 512);
	CHECK(u64_of(&p, "BlockIOWeight") == 300);
	CHECK(cg_props_find(&p, "AllowedCPUs") == NULL);
	/* a property set twice is replaced, not repeated */
	cg_props_u64(&p, "CPUShares", 2);
	CHECK(u64_of(&p, "CPUShares") == 2);
	cg_props_clear(&p);
	json_object_put(res);
	husk_error_free(&err);
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

/* What later commands reload: the unit and its slice with the cgroupfs
 * directory; a damaged unit name is refused. */
static void test_state_json(void)
{
	static const char good[] =
		"{\"manager\":\"systemd\",\"driver\":\"v2\",\"path\":"
		"\"/a.slice/a-b.slice/husk-c1.scope\",\"systemd\":{\"slice\":"
		"\"a-b.slice\",\"unit\":\"husk-c1.scope\"},\"hierarchies\":"
		"[{\"controllers\":\"\",\"dir\":\"/sys/fs/cgroup/a.slice/a-b.slice/"
		"husk-c1.scope\",\"created\":0}]}";
	static const char *const bad[] = {
		/* no unit */
		"{\"manager\":\"systemd\",\"driver\":\"v2\",\"path\":\"/x.scope\","
		"\"hierarchies\":[{\"controllers\":\"\",\"dir\":"
		"\"/sys/fs/cgroup/x.scope\",\"created\":0}]}",
		/* not a scope */
		"{\"manager\":\"systemd\",\"driver\":\"v2\",\"path\":\"/x.scope\","
		"\"systemd\":{\"slice\":\"system.slice\",\"unit\":\"../x.service\"},"
		"\"hierarchies\":[{\"controllers\":\"\",\"dir\":"
		"\"/sys/fs/cgroup/x.scope\",\"created\":0}]}",
		/* a bad slice */
		"{\"manager\":\"systemd\",\"driver\":\"v2\",\"path\":\"/x.scope\","
		"\"systemd\":{\"slice\":\"a--b.slice\",\"unit\":\"x.scope\"},"
		"\"hierarchies\":[{\"controllers\":\"\",\"dir\":"
		"\"/sys/fs/cgroup/x.scope\",\"created\":0}]}",
	};
	_cleanup_free_ char *msg = NULL;
	struct cgroup *cg = from_text(good, &msg);
	struct json_object *j;

	CHECK(cg != NULL && cg->sd && cg->sd->started);
	if (!cg)
		return;
	CHECK_STR(cgroup_dir(cg, "memory"), "/sys/fs/cgroup/a.slice/a-b.slice/husk-c1.scope");
	j = cgroup_to_json(cg);
	CHECK_STR(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE),
		  good);
	json_object_put(j);
	cgroup_free(cg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *m = NULL;

		cg = from_text(bad[i], &m);
		CHECK(cg == NULL && m != NULL);
		cgroup_free(cg);
	}
}

int main(void)
{
	test_parse_path();
	test_expand_slice();
	test_cpu_list();
	test_props_v2();
	test_props_refusals();
	test_props_allow_all_and_v1();
	test_state_json();
	return unit_summary("cgroup_systemd");
}
