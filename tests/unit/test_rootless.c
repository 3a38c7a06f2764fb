/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime/rootless.c: which linux.resources are limits a rootless container
 * without a cgroup refuses, and what rootless_validate() refuses. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/error.h"
#include "../../runtime/rootless.h"
#include "unit.h"

static const husk_error denied = { EACCES, "cgroup: mkdir /sys/fs/cgroup/cpu/c1" };

/* The message for resources (JSON text), or NULL when they pass. */
static char *check(const char *resources)
{
	struct json_object *r = json_tokener_parse(resources);
	husk_error *err = NULL;
	char *msg = NULL;

	CHECK(r != NULL);
	if (rootless_check_resources(r, &denied, &err) < 0)
		msg = strdup(err ? err->msg : "(no message)");
	husk_error_free(&err);
	json_object_put(r);
	return msg;
}

static void expect_field(const char *resources, const char *field)
{
	char *msg = check(resources);

	CHECK(msg && strstr(msg, field) && strstr(msg, "Permission denied"));
	if (msg && !strstr(msg, field))
		fprintf(stderr, "  %s: got \"%s\", want %s\n", resources, msg, field);
	free(msg);
}

static void expect_pass(const char *resources)
{
	char *msg = check(resources);

	CHECK(msg == NULL);
	if (msg)
		fprintf(stderr, "  %s: refused: %s\n", resources, msg);
	free(msg);
}

static void test_resources(void)
{
	expect_pass("{}");
	expect_pass("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
		    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3}]}");
	expect_pass("{\"memory\":{\"limit\":0,\"disableOOMKiller\":false},\"cpu\":{\"cpus\":\"\"},"
		    "\"blockIO\":{\"weightDevice\":[]},\"unified\":{}}");
	expect_field("{\"memory\":{\"limit\":0,\"swap\":67108864}}",
		     "config.json: linux.resources.memory.swap: cannot be applied");
	expect_field("{\"pids\":{\"limit\":-1}}", "linux.resources.pids.limit");
	expect_field("{\"cpu\":{\"cpus\":\"0-1\"}}", "linux.resources.cpu.cpus");
	expect_field("{\"memory\":{\"disableOOMKiller\":true}}",
		     "linux.resources.memory.disableOOMKiller");
	expect_field("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":0}]}}",
		     "linux.resources.blockIO.throttleReadBpsDevice[0].major");
	expect_field("{\"unified\":{\"memory.max\":\"max\"}}",
		     "linux.resources.unified.memory.max");
	expect_field("{\"devices\":[],\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":0}]}",
		     "linux.resources.hugepageLimits[0].pageSize");
	CHECK(rootless_check_resources(NULL, &denied, NULL) == 0);
}

static void test_denied(void)
{
	const husk_error eacces = { EACCES, "x" }, eperm = { EPERM, "x" },
			 erofs = { EROFS, "x" }, enoent = { ENOENT, "x" }, none = { 0, "x" };

	CHECK(rootless_cgroup_denied(&eacces));
	CHECK(rootless_cgroup_denied(&eperm));
	CHECK(rootless_cgroup_denied(&erofs));
	CHECK(!rootless_cgroup_denied(&enoent));
	CHECK(!rootless_cgroup_denied(&none));
	CHECK(!rootless_cgroup_denied(NULL));
}

static char *validate(const char *namespaces, const char *mappings, const char *mounts)
{
	char *text = NULL, *msg = NULL;
	husk_error *err = NULL;

	if (asprintf(&text, "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
		     "\"process\":{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
		     "\"mounts\":%s,\"linux\":{\"namespaces\":%s%s}}",
		     mounts, namespaces, mappings) < 0)
		return strdup("asprintf");
	struct spec *s = spec_parse(text, strlen(text), &err);
	CHECK(s != NULL);
	if (s && rootless_validate(s, &err) < 0)
		msg = strdup(err->msg);
	else if (!s)
		msg = strdup(err ? err->msg : "parse");
	husk_error_free(&err);
	spec_free(s);
	free(text);
	return msg;
}

static void test_validate(void)
{
	static const char maps[] =
		",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},"
		"{\"containerID\":1,\"hostID\":100000,\"size\":10}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]";
	static const char user[] = "[{\"type\":\"mount\"},{\"type\":\"user\"}]";
	char *msg;

	msg = validate("[{\"type\":\"mount\"}]", "", "[]");
	CHECK(msg && strstr(msg, "linux.namespaces") && strstr(msg, "user namespace"));
	free(msg);
	msg = validate(user, maps, "[{\"destination\":\"/t\",\"type\":\"tmpfs\","
			"\"options\":[\"uid=10\",\"gid=0\"]}]");
	CHECK(msg == NULL);
	free(msg);
	msg = validate(user, maps, "[{\"destination\":\"/t\",\"type\":\"tmpfs\"},"
			"{\"destination\":\"/dev/pts\",\"type\":\"devpts\","
			"\"options\":[\"newinstance\",\"gid=5\"]}]");
	CHECK_STR(msg, "config.json: mounts[1].options: gid=5: not mapped by linux.gidMappings");
	free(msg);
	msg = validate(user, maps, "[{\"destination\":\"/t\",\"type\":\"tmpfs\","
			"\"options\":[\"uid=11\"]}]");
	CHECK_STR(msg, "config.json: mounts[0].options: uid=11: not mapped by linux.uidMappings");
	free(msg);
	/* A joined user namespace: its mappings are not the config's to check. */
	msg = validate("[{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]", "",
		       "[{\"destination\":\"/t\",\"type\":\"tmpfs\",\"options\":[\"uid=11\"]}]");
	CHECK(msg == NULL);
	free(msg);
}

int main(void)
{
	test_resources();
	test_denied();
	test_validate();
	return unit_summary("rootless");
}
