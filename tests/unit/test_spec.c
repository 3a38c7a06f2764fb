/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spec/: config.json parsing and validation. */
#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../spec/spec.h"
#include "../../spec/state.h"
#include "unit.h"

/* What `runc spec` writes, plus one of everything else the parser reads. */
static const char full_config[] =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"process\": {\n"
	"    \"terminal\": true,\n"
	"    \"consoleSize\": {\"height\": 24, \"width\": 80},\n"
	"    \"user\": {\"uid\": 1000, \"gid\": 1001, \"umask\": 18,\n"
	"             \"additionalGids\": [5, 4294967295]},\n"
	"    \"args\": [\"sh\", \"-c\", \"echo hi\"],\n"
	"    \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
	"            \"TERM=xterm\"],\n"
	"    \"cwd\": \"/srv\",\n"
	"    \"capabilities\": {\n"
	"      \"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"      \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\"],\n"
	"      \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"      \"ambient\": []\n"
	"    },\n"
	"    \"rlimits\": [\n"
	"      {\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024},\n"
	"      {\"type\": \"RLIMIT_CORE\", \"hard\": 18446744073709551615, \"soft\": 0}\n"
	"    ],\n"
	"    \"noNewPrivileges\": true,\n"
	"    \"apparmorProfile\": \"husk-default\",\n"
	"    \"oomScoreAdj\": -500,\n"
	"    \"selinuxLabel\": \"system_u:system_r:container_t:s0\",\n"
	"    \"scheduler\": {\"policy\": \"SCHED_FIFO\", \"priority\": 10, \"nice\": -5,\n"
	"                  \"flags\": [\"SCHED_FLAG_RESET_ON_FORK\", \"SCHED_FLAG_UTIL_CLAMP_MAX\"],\n"
	"                  \"runtime\": 1, \"deadline\": 2, \"period\": 3},\n"
	"    \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 4}\n"
	"  },\n"
	"  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"  \"hostname\": \"runc\",\n"
	"  \"domainname\": \"example.org\",\n"
	"  \"mounts\": [\n"
	"    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"     \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"    {\"destination\": \"data\", \"source\": \"/srv/data\",\n"
	"     \"options\": [\"rbind\", \"idmap\"],\n"
	"     \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"     \"gidMappings\": [{\"containerID\": 0, \"hostID\": 200000, \"size\": 1}]}\n"
	"  ],\n"
	"  \"hooks\": {\n"
	"    \"prestart\": [{\"path\": \"/usr/bin/fix-mounts\", \"args\": [\"fix-mounts\", \"arg1\"],\n"
	"                   \"env\": [\"key1=value1\"]}],\n"
	"    \"createRuntime\": [{\"path\": \"/usr/bin/setup-net\", \"timeout\": 5}],\n"
	"    \"poststop\": [{\"path\": \"/usr/sbin/cleanup.sh\", \"args\": [\"cleanup.sh\", \"-f\"]},\n"
	"                 {\"path\": \"/bin/true\"}]\n"
	"  },\n"
	"  \"annotations\": {\"com.example.key1\": \"value1\", \"org.opencontainers.image.os\": \"linux\"},\n"
	"  \"linux\": {\n"
	"    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 32000}],\n"
	"    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 32000},\n"
	"                    {\"containerID\": 32000, \"hostID\": 5000, \"size\": 1}],\n"
	"    \"sysctl\": {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmax\": \"4294967295\"},\n"
	"    \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}],\n"
	"                  \"pids\": {\"limit\": 32771}},\n"
	"    \"cgroupsPath\": \"/myRuntime/myContainer\",\n"
	"    \"namespaces\": [\n"
	"      {\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/var/run/netns/neta\"},\n"
	"      {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"},\n"
	"      {\"type\": \"user\"}, {\"type\": \"cgroup\", \"path\": \"\"}, {\"type\": \"time\"}\n"
	"    ],\n"
	"    \"timeOffsets\": {\"monotonic\": {\"secs\": -86400, \"nanosecs\": 500},\n"
	"                    \"boottime\": {\"secs\": 3600}},\n"
	"    \"devices\": [\n"
	"      {\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229,\n"
	"       \"fileMode\": 438, \"uid\": 0, \"gid\": 0},\n"
	"      {\"path\": \"/dev/sda\", \"type\": \"b\", \"major\": 8, \"minor\": 0},\n"
	"      {\"path\": \"/dev/myfifo\", \"type\": \"p\"}\n"
	"    ],\n"
	"    \"seccomp\": {\n"
	"      \"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,\n"
	"      \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],\n"
	"      \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],\n"
	"      \"listenerPath\": \"/run/seccomp.sock\", \"listenerMetadata\": \"meta\",\n"
	"      \"syscalls\": [\n"
	"        {\"names\": [\"getcwd\", \"chmod\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"        {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38,\n"
	"         \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"},\n"
	"                  {\"index\": 5, \"value\": 18446744073709551615, \"valueTwo\": 7,\n"
	"                   \"op\": \"SCMP_CMP_MASKED_EQ\"}]}\n"
	"      ]\n"
	"    },\n"
	"    \"rootfsPropagation\": \"rslave\",\n"
	"    \"maskedPaths\": [\"/proc/kcore\", \"/proc/latency_stats\", \"/sys/firmware\"],\n"
	"    \"readonlyPaths\": [\"/proc/asound\", \"/proc/bus\"],\n"
	"    \"mountLabel\": \"system_u:object_r:container_file_t:s0\",\n"
	"    \"personality\": {\"domain\": \"LINUX32\", \"flags\": []},\n"
	"    \"intelRdt\": {\"closID\": \"guaranteed_group\"}\n"
	"  },\n"
	"  \"vm\": {\"unknown\": \"ignored\"}\n"
	"}\n";

static void check_process(const struct spec_process *p)
{
	CHECK(p->terminal);
	CHECK(p->has_console_size && p->console_height == 24 &&
	      p->console_width == 80);
	CHECK(p->user.uid == 1000 && p->user.gid == 1001);
	CHECK(p->user.has_umask && p->user.umask == 022);
	CHECK(p->user.n_additional_gids == 2);
	CHECK(p->user.additional_gids[1] == UINT32_MAX);
	CHECK(p->user.username == NULL);
	CHECK(p->n_args == 3 && p->args[3] == NULL);
	CHECK_STR(p->args[2], "echo hi");
	CHECK(p->n_env == 2 && p->env[2] == NULL);
	CHECK_STR(p->env[1], "TERM=xterm");
	CHECK_STR(p->cwd, "/srv");
	CHECK(p->capabilities != NULL && p->scheduler && p->io_priority);
	if (!p->capabilities || !p->scheduler || !p->io_priority)
		return;
	CHECK(p->capabilities->n[SPEC_CAP_BOUNDING] == 3);
	CHECK_STR(p->capabilities->names[SPEC_CAP_EFFECTIVE][1], "CAP_KILL");
	CHECK(p->capabilities->n[SPEC_CAP_INHERITABLE] == 0);
	CHECK(p->capabilities->names[SPEC_CAP_INHERITABLE] != NULL &&
	      p->capabilities->names[SPEC_CAP_INHERITABLE][0] == NULL);
	CHECK(p->capabilities->n[SPEC_CAP_AMBIENT] == 0);
	CHECK(p->n_rlimits == 2);
	CHECK(p->rlimits[0].resource == RLIMIT_NOFILE);
	CHECK_STR(p->rlimits[0].type, "RLIMIT_NOFILE");
	CHECK(p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 1024);
	CHECK(p->rlimits[1].resource == RLIMIT_CORE);
	CHECK(p->rlimits[1].hard == UINT64_MAX && p->rlimits[1].soft == 0);
	CHECK(p->no_new_privileges);
	CHECK_STR(p->apparmor_profile, "husk-default");
	CHECK(p->has_oom_score_adj && p->oom_score_adj == -500);
	CHECK_STR(p->selinux_label, "system_u:system_r:container_t:s0");
	CHECK(p->scheduler->policy == SCHED_FIFO);
	CHECK(p->scheduler->priority == 10 && p->scheduler->nice == -5);
	CHECK(p->scheduler->flags == (0x01 | 0x40));
	CHECK(p->scheduler->runtime == 1 && p->scheduler->deadline == 2 &&
	      p->scheduler->period == 3);
	CHECK(p->io_priority->class == 2 &&
	      p->io_priority->priority == 4);
}

static void check_top(const struct spec *s)
{
	CHECK_STR(s->oci_version, "1.2.0");
	CHECK_STR(s->root_path, "rootfs");
	CHECK(s->root_readonly);
	CHECK_STR(s->hostname, "runc");
	CHECK_STR(s->domainname, "example.org");
	CHECK(s->n_mounts == 3);
	CHECK_STR(s->mounts[0].destination, "/proc");
	CHECK_STR(s->mounts[0].type, "proc");
	CHECK(s->mounts[0].n_options == 0 && s->mounts[0].options[0] == NULL);
	CHECK(s->mounts[1].n_options == 4);
	CHECK_STR(s->mounts[1].options[3], "size=65536k");
	CHECK(s->mounts[1].options[4] == NULL);
	CHECK_STR(s->mounts[2].destination, "data");
	CHECK(s->mounts[2].type == NULL);
	CHECK(s->mounts[2].n_uid_mappings == 1 &&
	      s->mounts[2].uid_mappings[0].host_id == 100000 &&
	      s->mounts[2].uid_mappings[0].size == 65536);
	CHECK(s->mounts[2].n_gid_mappings == 1 &&
	      s->mounts[2].gid_mappings[0].host_id == 200000);
	CHECK(s->hooks.n[SPEC_HOOK_PRESTART] == 1);
	CHECK_STR(s->hooks.hooks[SPEC_HOOK_PRESTART][0].path, "/usr/bin/fix-mounts");
	CHECK(s->hooks.hooks[SPEC_HOOK_PRESTART][0].n_args == 2);
	CHECK_STR(s->hooks.hooks[SPEC_HOOK_PRESTART][0].env[0], "key1=value1");
	CHECK(s->hooks.hooks[SPEC_HOOK_PRESTART][0].timeout == 0);
	CHECK(s->hooks.hooks[SPEC_HOOK_CREATE_RUNTIME][0].timeout == 5);
	CHECK(s->hooks.n[SPEC_HOOK_CREATE_CONTAINER] == 0 &&
	      s->hooks.hooks[SPEC_HOOK_CREATE_CONTAINER] == NULL);
	CHECK(s->hooks.n[SPEC_HOOK_POSTSTOP] == 2);
	CHECK_STR(s->hooks.hooks[SPEC_HOOK_POSTSTOP][1].path, "/bin/true");
	CHECK(s->hooks.hooks[SPEC_HOOK_POSTSTOP][1].n_args == 0);
	CHECK(s->n_annotations == 2);
	CHECK_STR(spec_annotation(s, "org.opencontainers.image.os"), "linux");
	CHECK(spec_annotation(s, "nope") == NULL);
}

static void check_namespaces(const struct spec *s)
{
	const struct spec_linux *l = s->linux_;

	CHECK(l->n_namespaces == 8);
	CHECK(l->namespaces[0].type == CLONE_NEWPID && !l->namespaces[0].path);
	CHECK(spec_find_namespace(s, CLONE_NEWNET) == &l->namespaces[1]);
	CHECK_STR(spec_find_namespace(s, CLONE_NEWNET)->path,
		  "/var/run/netns/neta");
	CHECK(spec_find_namespace(s, CLONE_NEWCGROUP)->path == NULL);
	CHECK(spec_find_namespace(s, CLONE_NEWTIME) != NULL);
	CHECK(spec_find_namespace(NULL, CLONE_NEWPID) == NULL);
	CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].size == 32000);
	CHECK(l->n_gid_mappings == 2 && l->gid_mappings[1].container_id == 32000 &&
	      l->gid_mappings[1].host_id == 5000);
	CHECK(l->n_time_offsets == 2);
	CHECK_STR(l->time_offsets[0].clock, "monotonic");
	CHECK(l->time_offsets[0].secs == -86400 &&
	      l->time_offsets[0].nanosecs == 500);
	CHECK_STR(l->time_offsets[1].clock, "boottime");
	CHECK(l->time_offsets[1].secs == 3600 && l->time_offsets[1].nanosecs == 0);
}

static void check_devices(const struct spec_linux *l)
{
	CHECK(l->n_devices == 3);
	CHECK_STR(l->devices[0].path, "/dev/fuse");
	CHECK(l->devices[0].type == 'c' && l->devices[0].major == 10 &&
	      l->devices[0].minor == 229);
	CHECK(l->devices[0].has_file_mode && l->devices[0].file_mode == 0666);
	CHECK(l->devices[0].has_uid && l->devices[0].has_gid);
	CHECK(l->devices[1].type == 'b' && !l->devices[1].has_file_mode &&
	      !l->devices[1].has_uid);
	CHECK(l->devices[2].type == 'p');
}

static void check_seccomp(const struct spec_seccomp *sc)
{
	CHECK(sc != NULL);
	if (!sc)
		return;
	CHECK_STR(sc->default_action, "SCMP_ACT_ERRNO");
	CHECK(sc->has_default_errno_ret && sc->default_errno_ret == 1);
	CHECK(sc->n_architectures == 2);
	CHECK_STR(sc->architectures[1], "SCMP_ARCH_X86");
	CHECK(sc->n_flags == 1);
	CHECK_STR(sc->listener_path, "/run/seccomp.sock");
	CHECK_STR(sc->listener_metadata, "meta");
	CHECK(sc->n_syscalls == 2);
	CHECK(sc->syscalls[0].n_names == 2 && !sc->syscalls[0].has_errno_ret);
	CHECK(sc->syscalls[0].n_args == 0 && sc->syscalls[0].args == NULL);
	CHECK_STR(sc->syscalls[1].names[0], "personality");
	CHECK(sc->syscalls[1].has_errno_ret && sc->syscalls[1].errno_ret == 38);
	CHECK(sc->syscalls[1].n_args == 2);
	CHECK(sc->syscalls[1].args[0].index == 0 &&
	      sc->syscalls[1].args[0].value == 8 &&
	      sc->syscalls[1].args[0].value_two == 0);
	CHECK(sc->syscalls[1].args[1].index == 5 &&
	      sc->syscalls[1].args[1].value == UINT64_MAX &&
	      sc->syscalls[1].args[1].value_two == 7);
	CHECK_STR(sc->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
}

static void check_linux(const struct spec *s)
{
	const struct spec_linux *l = s->linux_;

	CHECK(l != NULL);
	if (!l)
		return;
	check_namespaces(s);
	check_devices(l);
	check_seccomp(l->seccomp);
	CHECK(l->n_sysctl == 2);
	CHECK_STR(l->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_STR(l->sysctl[0].value, "1");
	CHECK(json_object_is_type(l->resources, json_type_object));
	CHECK_STR(l->cgroups_path, "/myRuntime/myContainer");
	CHECK_STR(l->rootfs_propagation, "rslave");
	CHECK(l->n_masked_paths == 3 && l->masked_paths[3] == NULL);
	CHECK_STR(l->masked_paths[2], "/sys/firmware");
	CHECK(l->n_readonly_paths == 2);
	CHECK_STR(l->mount_label, "system_u:object_r:container_file_t:s0");
	CHECK(l->personality && strcmp(l->personality->domain, "LINUX32") == 0);
}

static void test_full(void)
{
	husk_error *err = NULL;
	struct spec *s = spec_parse(full_config, strlen(full_config), &err);

	CHECK(s != NULL && err == NULL);
	if (!s) {
		fprintf(stderr, "full config: %s\n", err->msg);
		husk_error_free(&err);
		return;
	}
	check_top(s);
	CHECK(s->process != NULL);
	if (s->process)
		check_process(s->process);
	check_linux(s);
	spec_free(s);
	spec_free(NULL);
}

/* Parses text, which must fail with a message containing want. */
static void expect_error_at(int line, const char *text, const char *want)
{
	husk_error *err = NULL;
	struct spec *s = spec_parse(text, strlen(text), &err);
	bool ok = !s && err && err->code == 0 && strstr(err->msg, want) &&
		  strncmp(err->msg, "config.json: ", 13) == 0;

	CHECK(ok);
	if (!ok)
		fprintf(stderr, "  line %d: want \"%s\", got \"%s\"\n", line,
			want, err ? err->msg : "(success)");
	spec_free(s);
	husk_error_free(&err);
}

#define EXPECT_ERROR(text, want) expect_error_at(__LINE__, text, want)

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"}"
/* A valid config plus the given top-level members. */
#define TOP(extra) "{" BASE "," extra "}"
#define PROC(body) TOP("\"process\":{\"args\":[\"sh\"]," body "}")
#define LINUX(body) TOP("\"linux\":{" body "}")

static void test_top_errors(void)
{
	EXPECT_ERROR("", "config.json: malformed JSON: unexpected end of input at line 1");
	EXPECT_ERROR("{\n\"ociVersion\":\n  [1,\n }", "malformed JSON: unexpected character at line 4");
	EXPECT_ERROR("{} x", "malformed JSON: ");
	EXPECT_ERROR("{\"a\":1,}", "malformed JSON");
	EXPECT_ERROR("{/* no */}", "malformed JSON");
	EXPECT_ERROR("[]", "config.json: must be an object");
	EXPECT_ERROR("null", "config.json: must be an object");
	EXPECT_ERROR(" 123 ", "config.json: must be an object");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"}}\n{}", "malformed JSON: unexpected character at line 2");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\n\"root\":{\"path\":\"r", "malformed JSON: unexpected end of input at line 2");
	EXPECT_ERROR("{\"root\":{\"path\":\"r\"}}", "config.json: ociVersion: is required");
	EXPECT_ERROR("{\"ociVersion\":1,\"root\":{\"path\":\"r\"}}", "ociVersion: must be a string");
	EXPECT_ERROR("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported version \"2.0.0\"");
	EXPECT_ERROR("{\"ociVersion\":\"10.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported");
	EXPECT_ERROR("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"}}", "ociVersion: malformed version");
	EXPECT_ERROR("{\"ociVersion\":\"1.x\",\"root\":{\"path\":\"r\"}}", "ociVersion: malformed version");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2 \",\"root\":{\"path\":\"r\"}}", "ociVersion: malformed version");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\"}", "config.json: root: is required");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":[]}", "config.json: root: must be an object");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{}}", "config.json: root.path: is required");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"\"}}", "root.path: must not be empty");
	EXPECT_ERROR("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}", "root.readonly: must be a boolean");
	EXPECT_ERROR(TOP("\"hostname\":7"), "config.json: hostname: must be a string");
	EXPECT_ERROR(TOP("\"hostname\":\"a\\u0000b\""), "hostname: must not contain NUL");
	EXPECT_ERROR(TOP("\"mounts\":{}"), "config.json: mounts: must be an array");
	EXPECT_ERROR(TOP("\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"/b\"},{\"destination\":\"/c\"},{\"destination\":5}]"),
		     "config.json: mounts[3].destination: must be a string");
	EXPECT_ERROR(TOP("\"mounts\":[{}]"), "mounts[0].destination: is required");
	EXPECT_ERROR(TOP("\"mounts\":[7]"), "config.json: mounts[0]: must be an object");
	EXPECT_ERROR(TOP("\"mounts\":[{\"destination\":\"/a\",\"options\":[\"ro\",1]}]"), "mounts[0].options[1]: must be a string");
	EXPECT_ERROR(TOP("\"mounts\":[{\"destination\":\"/a\",\"options\":\"ro\"}]"), "mounts[0].options: must be an array");
	EXPECT_ERROR(TOP("\"mounts\":[{\"destination\":\"/a\",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}]}]"),
		     "mounts[0].uidMappings[0].size: must be greater than 0");
	EXPECT_ERROR(TOP("\"annotations\":{\"a.b\":1}"), "config.json: annotations[\"a.b\"]: must be a string");
	EXPECT_ERROR(TOP("\"annotations\":[]"), "annotations: must be an object");
	EXPECT_ERROR(TOP("\"annotations\":{\"a\\\"b\\n\":null}"), "config.json: annotations[\"a\\\"b\\u000a\"]: must be a string");
}

static void test_hook_errors(void)
{
	EXPECT_ERROR(TOP("\"hooks\":[]"), "config.json: hooks: must be an object");
	EXPECT_ERROR(TOP("\"hooks\":{\"poststart\":[{}]}"), "hooks.poststart[0].path: is required");
	EXPECT_ERROR(TOP("\"hooks\":{\"prestart\":[{\"path\":\"true\"}]}"),
		     "hooks.prestart[0].path: must be an absolute path, not \"true\"");
	EXPECT_ERROR(TOP("\"hooks\":{\"createContainer\":[{\"path\":\"/x\",\"timeout\":0}]}"),
		     "hooks.createContainer[0].timeout: must be greater than 0");
	EXPECT_ERROR(TOP("\"hooks\":{\"startContainer\":[{\"path\":\"/x\",\"timeout\":-3}]}"),
		     "hooks.startContainer[0].timeout: must be greater than 0");
	EXPECT_ERROR(TOP("\"hooks\":{\"poststop\":[{\"path\":\"/x\",\"timeout\":1.5}]}"),
		     "hooks.poststop[0].timeout: must be an integer");
	EXPECT_ERROR(TOP("\"hooks\":{\"createRuntime\":[{\"path\":\"/x\",\"args\":[null]}]}"),
		     "hooks.createRuntime[0].args[0]: must be a string");
	EXPECT_ERROR(TOP("\"hooks\":{\"prestart\":{}}"), "hooks.prestart: must be an array");
}

static void test_process_errors(void)
{
	EXPECT_ERROR(TOP("\"process\":[]"), "config.json: process: must be an object");
	EXPECT_ERROR(TOP("\"process\":{}"), "config.json: process.args: must be a non-empty array");
	EXPECT_ERROR(TOP("\"process\":{\"args\":[]}"), "config.json: process.args: must be a non-empty array");
	EXPECT_ERROR(TOP("\"process\":{\"args\":\"sh\"}"), "config.json: process.args: must be a non-empty array");
	EXPECT_ERROR(TOP("\"process\":{\"args\":[\"sh\",2]}"), "process.args[1]: must be a string");
	EXPECT_ERROR(PROC("\"cwd\":\"srv\""), "config.json: process.cwd: must be an absolute path");
	EXPECT_ERROR(PROC("\"cwd\":\"\""), "process.cwd: must be an absolute path");
	EXPECT_ERROR(PROC("\"env\":[\"A=1\",false]"), "process.env[1]: must be a string");
	EXPECT_ERROR(PROC("\"terminal\":1"), "process.terminal: must be a boolean");
	EXPECT_ERROR(PROC("\"user\":{\"uid\":-1}"), "config.json: process.user.uid: must not be negative");
	EXPECT_ERROR(PROC("\"user\":{\"gid\":4294967296}"), "process.user.gid: must be between 0 and 4294967295");
	EXPECT_ERROR(PROC("\"user\":{\"uid\":\"0\"}"), "process.user.uid: must be an integer");
	EXPECT_ERROR(PROC("\"user\":{\"uid\":1.0}"), "process.user.uid: must be an integer");
	EXPECT_ERROR(PROC("\"user\":{\"umask\":512}"), "process.user.umask: must be between 0 and 0777");
	EXPECT_ERROR(PROC("\"user\":{\"additionalGids\":[1,-2]}"), "process.user.additionalGids[1]: must not be negative");
	EXPECT_ERROR(PROC("\"consoleSize\":{\"height\":-1}"), "process.consoleSize.height: must not be negative");
	EXPECT_ERROR(PROC("\"capabilities\":{\"bounding\":\"CAP_KILL\"}"), "process.capabilities.bounding: must be an array");
	EXPECT_ERROR(PROC("\"capabilities\":{\"ambient\":[1]}"), "process.capabilities.ambient[0]: must be a string");
	EXPECT_ERROR(PROC("\"oomScoreAdj\":1001"), "process.oomScoreAdj: must be between -1000 and 1000");
	EXPECT_ERROR(PROC("\"apparmorProfile\":[]"), "process.apparmorProfile: must be a string");
}

static void test_rlimit_sched_errors(void)
{
	EXPECT_ERROR(PROC("\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"hard\":1,\"soft\":1}]"),
		     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
	EXPECT_ERROR(PROC("\"rlimits\":[{\"hard\":1,\"soft\":1}]"), "process.rlimits[0].type: is required");
	EXPECT_ERROR(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]"), "process.rlimits[0].hard: is required");
	EXPECT_ERROR(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":-1,\"soft\":1}]"),
		     "process.rlimits[0].hard: must not be negative");
	EXPECT_ERROR(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":2}]"),
		     "process.rlimits[0].soft: exceeds the hard limit");
	EXPECT_ERROR(PROC("\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"hard\":1,\"soft\":1},"
			  "{\"type\":\"RLIMIT_NPROC\",\"hard\":1,\"soft\":1},"
			  "{\"type\":\"RLIMIT_CPU\",\"hard\":2,\"soft\":2}]"),
		     "process.rlimits[2].type: duplicate rlimit \"RLIMIT_CPU\"");
	EXPECT_ERROR(PROC("\"scheduler\":{}"), "process.scheduler.policy: is required");
	EXPECT_ERROR(PROC("\"scheduler\":{\"policy\":\"SCHED_FAST\"}"), "process.scheduler.policy: unknown policy \"SCHED_FAST\"");
	EXPECT_ERROR(PROC("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":20}"), "process.scheduler.nice: must be between -20 and 19");
	EXPECT_ERROR(PROC("\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"priority\":5}"), "process.scheduler.priority: only SCHED_FIFO");
	EXPECT_ERROR(PROC("\"scheduler\":{\"policy\":\"SCHED_RR\",\"flags\":[\"SCHED_FLAG_RECLAIM\",\"SCHED_FLAG_X\"]}"),
		     "process.scheduler.flags[1]: unknown scheduler flag \"SCHED_FLAG_X\"");
	EXPECT_ERROR(PROC("\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":-1}"), "process.scheduler.runtime: must not be negative");
	EXPECT_ERROR(PROC("\"ioPriority\":{\"priority\":1}"), "process.ioPriority.class: is required");
	EXPECT_ERROR(PROC("\"ioPriority\":{\"class\":\"IOPRIO_CLASS_NONE\"}"), "process.ioPriority.class: unknown class");
	EXPECT_ERROR(PROC("\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\",\"priority\":8}"), "process.ioPriority.priority: must be between 0 and 7");
}

static void test_linux_errors(void)
{
	EXPECT_ERROR(TOP("\"linux\":[]"), "config.json: linux: must be an object");
	EXPECT_ERROR(LINUX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"foo\"}]"),
		     "config.json: linux.namespaces[2].type: unknown namespace \"foo\"");
	EXPECT_ERROR(LINUX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]"),
		     "linux.namespaces[2].type: duplicate namespace \"pid\"");
	EXPECT_ERROR(LINUX("\"namespaces\":[{}]"), "linux.namespaces[0].type: is required");
	EXPECT_ERROR(LINUX("\"namespaces\":[{\"type\":\"net\"}]"), "linux.namespaces[0].type: unknown namespace \"net\"");
	EXPECT_ERROR(LINUX("\"namespaces\":[{\"type\":\"uts\",\"path\":\"ns/uts\"}]"), "linux.namespaces[0].path: must be an absolute path");
	EXPECT_ERROR(LINUX("\"namespaces\":[{\"type\":\"uts\",\"path\":1}]"), "linux.namespaces[0].path: must be a string");
	EXPECT_ERROR(LINUX("\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":0}]"), "linux.uidMappings[0].size: must be greater than 0");
	EXPECT_ERROR(LINUX("\"gidMappings\":[{\"containerID\":0,\"size\":1}]"), "linux.gidMappings[0].hostID: is required");
	EXPECT_ERROR(LINUX("\"gidMappings\":[{\"containerID\":-1,\"hostID\":0,\"size\":1}]"), "linux.gidMappings[0].containerID: must not be negative");
	EXPECT_ERROR(LINUX("\"timeOffsets\":{\"realtime\":{\"secs\":1}}"), "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\"");
	EXPECT_ERROR(LINUX("\"timeOffsets\":{\"boottime\":5}"), "linux.timeOffsets.boottime: must be an object");
	EXPECT_ERROR(LINUX("\"timeOffsets\":{\"boottime\":{\"nanosecs\":1000000000}}"), "linux.timeOffsets.boottime.nanosecs: must be between 0 and 999999999");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"x\",\"major\":1,\"minor\":1}]"),
		     "linux.devices[0].type: unknown device type \"x\"");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"cc\",\"major\":1,\"minor\":1}]"), "linux.devices[0].type: unknown device type");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]"), "linux.devices[0].path: must be an absolute path");
	EXPECT_ERROR(LINUX("\"devices\":[{\"type\":\"c\",\"major\":1,\"minor\":1}]"), "linux.devices[0].path: is required");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"u\",\"major\":1}]"), "linux.devices[0].minor: is required");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"b\",\"minor\":1}]"), "linux.devices[0].major: is required");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":-1,\"minor\":1}]"), "linux.devices[0].major: must not be negative");
	EXPECT_ERROR(LINUX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"uid\":-1}]"), "linux.devices[0].uid: must not be negative");
	EXPECT_ERROR(LINUX("\"sysctl\":{\"net.ipv4.ip_forward\":1}"), "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: must be a string");
	EXPECT_ERROR(LINUX("\"sysctl\":[\"a=b\"]"), "linux.sysctl: must be an object");
	EXPECT_ERROR(LINUX("\"resources\":[]"), "linux.resources: must be an object");
	EXPECT_ERROR(LINUX("\"cgroupsPath\":false"), "linux.cgroupsPath: must be a string");
}

static void test_linux_more_errors(void)
{
	EXPECT_ERROR(LINUX("\"seccomp\":{}"), "config.json: linux.seccomp.defaultAction: is required");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":3}"), "linux.seccomp.defaultAction: must be a string");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_KILL\"}]}"),
		     "linux.seccomp.syscalls[0].names: must be a non-empty array");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_KILL\"}]}"),
		     "linux.seccomp.syscalls[0].names: must be a non-empty array");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}"),
		     "linux.seccomp.syscalls[0].action: is required");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL\","
			   "\"args\":[{\"index\":0,\"value\":1}]}]}"),
		     "linux.seccomp.syscalls[0].args[0].op: is required");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL\","
			   "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}"),
		     "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"x86\"}"),
		     "linux.seccomp.architectures: must be an array");
	EXPECT_ERROR(LINUX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}"),
		     "linux.seccomp.defaultErrnoRet: must not be negative");
	EXPECT_ERROR(LINUX("\"rootfsPropagation\":\"recursive\""), "config.json: linux.rootfsPropagation: unknown propagation \"recursive\"");
	EXPECT_ERROR(LINUX("\"maskedPaths\":[\"/proc/kcore\",\"proc/keys\"]"), "linux.maskedPaths[1]: must be an absolute path");
	EXPECT_ERROR(LINUX("\"readonlyPaths\":[1]"), "linux.readonlyPaths[0]: must be a string");
	EXPECT_ERROR(LINUX("\"personality\":{\"domain\":\"LINUX64\"}"), "linux.personality.domain: unknown domain \"LINUX64\"");
	EXPECT_ERROR(LINUX("\"personality\":{}"), "linux.personality.domain: is required");
	EXPECT_ERROR(LINUX("\"mountLabel\":{}"), "linux.mountLabel: must be a string");
}

static struct spec *parse_ok(const char *text)
{
	husk_error *err = NULL;
	struct spec *s = spec_parse(text, strlen(text), &err);

	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "  unexpected error: %s\n", err->msg);
		husk_error_free(&err);
	}
	return s;
}

static void test_accepted(void)
{
	static const char *const versions[] = { "1.0.0", "1.0.2", "1.2.0",
						"1.0.2-dev", "1.1.0-rc.1",
						"1.0", "1.3.0+build.5" };
	struct spec *s;

	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		char *text = NULL;

		CHECK(asprintf(&text, "{\"ociVersion\":\"%s\",\"root\":{\"path\":\"/r\"}}",
			       versions[i]) > 0);
		s = parse_ok(text);
		CHECK(s && !s->process && !s->linux_ && !s->hostname);
		CHECK(s && s->n_mounts == 0 && s->mounts == NULL);
		spec_free(s);
		free(text);
	}
	/* null means absent, as it does for Go runtimes; unknown fields and
	 * a trailing newline are fine. */
	s = parse_ok(TOP("\"hostname\":null,\"mounts\":null,\"process\":{\"args\":[\"sh\"],"
			 "\"env\":null,\"user\":{\"uid\":0,\"gid\":0},\"newField\":[1]},"
			 "\"linux\":{\"seccomp\":null,\"devices\":[{\"path\":\"/dev/p\",\"type\":\"p\"}]}") "\n");
	CHECK(s && !s->hostname && s->process);
	CHECK(s && s->process->n_env == 0 && s->process->env && !s->process->env[0]);
	CHECK_STR(s ? s->process->cwd : NULL, "/");
	CHECK(s && !s->process->capabilities && !s->process->scheduler);
	CHECK(s && !s->process->user.has_umask && !s->process->has_oom_score_adj);
	CHECK(s && s->linux_ && !s->linux_->seccomp && s->linux_->n_devices == 1);
	spec_free(s);
	s = parse_ok(TOP("\"mounts\":[{\"destination\":\"/x\",\"type\":\"\",\"source\":\"\"}]"));
	CHECK(s && s->n_mounts == 1 && !s->mounts[0].type && !s->mounts[0].source);
	spec_free(s);
	s = parse_ok(LINUX("\"rootfsPropagation\":\"\",\"namespaces\":[]"));
	CHECK(s && s->linux_ && s->linux_->n_namespaces == 0);
	CHECK(s && spec_find_namespace(s, CLONE_NEWPID) == NULL);
	spec_free(s);
}

static void test_namespace_names(void)
{
	static const char *const names[] = { "pid",  "network", "mount",  "ipc",
					     "uts",  "user",	"cgroup", "time" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int t = spec_namespace_type(names[i]);

		CHECK(t != 0);
		CHECK_STR(spec_namespace_name(t), names[i]);
	}
	CHECK(spec_namespace_type("mount") == CLONE_NEWNS);
	CHECK(spec_namespace_type("network") == CLONE_NEWNET);
	CHECK(spec_namespace_type("net") == 0);
	CHECK(spec_namespace_type(NULL) == 0);
	CHECK(spec_namespace_name(0) == NULL);
	CHECK(spec_namespace_name(CLONE_NEWNS | CLONE_NEWPID) == NULL);
}

static void test_process_file(void)
{
	static const char ok[] = "{\"args\":[\"ps\"],\"cwd\":\"/tmp\",\"user\":{\"uid\":5}}";
	static const char bad[] = "{\"args\":[\"x\"],\"rlimits\":[{\"type\":"
				  "\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":9}]}";
	struct json_object *json = NULL;
	husk_error *err = NULL;
	struct spec_process *p = spec_process_parse(ok, strlen(ok), &json, &err);

	CHECK(p && json && !err);
	CHECK_STR(p ? p->args[0] : NULL, "ps");
	CHECK(p && p->user.uid == 5 && p->n_args == 1);
	spec_process_free(p);
	json_object_put(json);

	p = spec_process_parse("{\"args\":[]}", 11, &json, &err);
	CHECK(!p && !json && err);
	CHECK_STR(err ? err->msg : NULL, "args: must be a non-empty array");
	husk_error_free(&err);

	p = spec_process_parse(bad, strlen(bad), &json, &err);
	CHECK(!p && !json && err);
	CHECK_STR(err ? err->msg : NULL, "rlimits[0].soft: exceeds the hard limit");
	husk_error_free(&err);

	p = spec_process_parse("[", 1, &json, &err);
	CHECK(!p && !json && err && strstr(err->msg, "malformed JSON") == err->msg);
	husk_error_free(&err);

	p = spec_process_parse("\"x\"", 3, &json, &err);
	CHECK(!p && !json);
	CHECK_STR(err ? err->msg : NULL, "must be an object");
	husk_error_free(&err);
}

static void test_load(void)
{
	char dir[] = "/tmp/husk-test-spec-XXXXXX";
	_cleanup_free_ char *file = NULL;
	husk_error *err = NULL;
	struct spec *s;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	s = spec_load(dir, &err);
	CHECK(!s && err && err->code == ENOENT);
	CHECK_STR(err ? err->msg : NULL, "config.json: open");
	husk_error_free(&err);

	CHECK(asprintf(&file, "%s/config.json", dir) > 0);
	f = fopen(file, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(full_config, f);
	fclose(f);
	s = spec_load(dir, &err);
	CHECK(s && !err);
	CHECK(s && s->linux_ && s->linux_->n_devices == 3);
	spec_free(s);
	unlink(file);
	rmdir(dir);
}

/* Every prefix and many one-byte corruptions of a real config: the parser
 * must fail cleanly (ASan/valgrind check the "cleanly"). */
static void test_mangled(void)
{
	static const char subst[] = { '"', ']', '\0' };
	size_t len = strlen(full_config);
	_cleanup_free_ char *buf = malloc(len);
	size_t silent_failures = 0, parsed_prefixes = 0;

	CHECK(buf != NULL);
	if (!buf)
		return;
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k <= ARRAY_SIZE(subst); k++) {
			bool prefix = k == ARRAY_SIZE(subst);
			husk_error *err = NULL;
			struct spec *s;

			/* Unterminated on purpose: the parser must stay
			 * within len. */
			memcpy(buf, full_config, len); /* NOLINT(bugprone-not-null-terminated-result) */
			if (!prefix)
				buf[i] = subst[k];
			s = spec_parse(buf, prefix ? i : len, &err);
			if (s && prefix)
				parsed_prefixes++;
			if (!s && (!err || !err->msg))
				silent_failures++;
			spec_free(s);
			husk_error_free(&err);
		}
	}
	CHECK(silent_failures == 0);
	/* Only the prefix that drops the final newline is complete. */
	CHECK(parsed_prefixes == 1);
}

/* spec/state.c: what start and delete rely on to skip config.json. */
static void test_state_hooks(void)
{
	struct container_state st = { .id = "c1", .post_hooks = STATE_HOOK_POSTSTOP };
	struct container_state back;
	char *text = state_serialize(&st);

	CHECK(text && state_parse(text, &back, NULL) == 0);
	CHECK(back.post_hooks == STATE_HOOK_POSTSTOP);
	CHECK(!state_may_have_hooks(&back, STATE_HOOK_POSTSTART));
	CHECK(state_may_have_hooks(&back, STATE_HOOK_POSTSTOP));
	state_clear(&back);
	free(text);
	/* A state.json from before the field: read the config, as before. */
	CHECK(state_parse("{\"id\":\"c1\",\"pid\":1}", &back, NULL) == 0);
	CHECK(back.post_hooks == -1);
	CHECK(state_may_have_hooks(&back, STATE_HOOK_POSTSTART));
	state_clear(&back);
}

int main(void)
{
	test_full();
	test_state_hooks();
	test_top_errors();
	test_hook_errors();
	test_process_errors();
	test_rlimit_sched_errors();
	test_linux_errors();
	test_linux_more_errors();
	test_accepted();
	test_namespace_names();
	test_process_file();
	test_load();
	test_mangled();
	return unit_summary("spec");
}
