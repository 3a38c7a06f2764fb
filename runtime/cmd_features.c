/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `features`: the runtime-spec features.md document, listing only what husk
 * really implements. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "../spec/state.h"
#include "commands.h"

static struct json_object *str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static struct json_object *capabilities(void)
{
	struct json_object *a = json_object_new_array();
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		char *name = cap_to_name(c);
		if (!name)
			continue;
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		if (!strncmp(name, "CAP_", 4))
			json_object_array_add(a, json_object_new_string(name));
		cap_free(name);
	}
	return a;
}

static struct json_object *seccomp_features(void)
{
	static const char *const actions[] = {
		"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
		"SCMP_ACT_TRAP", NULL };
	static const char *const ops[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					   "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
					   "SCMP_CMP_NE", NULL };
	static const char *const archs[] = {
		"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
		"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
		"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
		"SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32",
		"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", NULL };
	static const char *const known_flags[] = { "SECCOMP_FILTER_FLAG_TSYNC",
						   "SECCOMP_FILTER_FLAG_LOG",
						   "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
						   "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
	static const char *const supported_flags[] = { "SECCOMP_FILTER_FLAG_TSYNC",
						       "SECCOMP_FILTER_FLAG_LOG",
						       "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	struct json_object *s = json_object_new_object();
	json_object_object_add(s, "enabled", json_object_new_boolean(1));
	json_object_object_add(s, "actions", str_array(actions));
	json_object_object_add(s, "operators", str_array(ops));
	json_object_object_add(s, "archs", str_array(archs));
	json_object_object_add(s, "knownFlags", str_array(known_flags));
	json_object_object_add(s, "supportedFlags", str_array(supported_flags));
	return s;
}

static struct json_object *enabled(int on)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

static struct json_object *linux_features(void)
{
	static const char *const ns[] = { "cgroup", "ipc", "mount", "network", "pid",
					  "time", "user", "uts", NULL };
	struct json_object *l = json_object_new_object(), *cg = json_object_new_object();
	json_object_object_add(l, "namespaces", str_array(ns));
	json_object_object_add(l, "capabilities", capabilities());
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(1));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(cg, "rdma", json_object_new_boolean(0));
	json_object_object_add(l, "cgroup", cg);
	json_object_object_add(l, "seccomp", seccomp_features());
	json_object_object_add(l, "apparmor", enabled(0));
	json_object_object_add(l, "selinux", enabled(0));
	json_object_object_add(l, "intelRdt", enabled(0));
	struct json_object *ext = json_object_new_object();
	json_object_object_add(ext, "idmap", enabled(1));
	json_object_object_add(l, "mountExtensions", ext);
	return l;
}

int cmd_features(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const char *const hooks[] = { "prestart", "createRuntime", "createContainer",
					     "startContainer", "poststart", "poststop", NULL };
	static const char *const mount_opts[] = {
		"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
		"idmap", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec",
		"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow",
		"private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec",
		"ridmap", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime",
		"rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
		"rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared",
		"silent", "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup",
		"unbindable", NULL };
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int r = cli_next(&p, NULL, &v, err);
	if (r == CLI_HELP_ID)
		return command_print_help(command_find("features")), 0;
	if (r < 0)
		return -1;
	struct json_object *f = json_object_new_object(), *ann = json_object_new_object();
	json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(f, "ociVersionMax", json_object_new_string(HUSK_OCI_VERSION));
	json_object_object_add(f, "hooks", str_array(hooks));
	json_object_object_add(f, "mountOptions", str_array(mount_opts));
	json_object_object_add(f, "linux", linux_features());
	json_object_object_add(ann, "io.github.husk.version", json_object_new_string(HUSK_VERSION));
	json_object_object_add(ann, "io.github.husk.commit", json_object_new_string(HUSK_COMMIT));
	/* `create --vm` (or husk-vm): the bundle in a QEMU micro-VM (vm/vm.h). */
	json_object_object_add(ann, "io.github.husk.vm", json_object_new_string("qemu-microvm"));
	json_object_object_add(f, "annotations", ann);
	puts(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(f);
	return 0;
}
