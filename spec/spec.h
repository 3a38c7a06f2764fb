/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json as typed structs (OCI runtime-spec 1.2, Linux).
 *
 * spec_load() parses and validates a whole bundle config before anything is
 * created; every error names the JSON path ("process.args: must be a
 * non-empty array"). Strings point into the json-c tree kept in spec->json,
 * so they live exactly as long as the struct; spec_free() releases both.
 * Unknown fields are ignored, as the runtime-spec requires.
 *
 * "has_x" booleans mark optional scalars that were present; absent optional
 * objects are NULL pointers; arrays come as (pointer, count) pairs.
 */
#ifndef HUSK_SPEC_SPEC_H
#define HUSK_SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

struct json_object;

struct spec_kv {
	const char *key;
	const char *value;
};

struct spec_id_mapping {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct spec_mount {
	const char *destination; /* absolute, or relative to "/" (spec 1.2) */
	const char *type;        /* may be NULL (bind mounts) */
	const char *source;      /* may be NULL */
	const char **options;
	size_t n_options;
	struct spec_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct spec_id_mapping *gid_mappings;
	size_t n_gid_mappings;
};

struct spec_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	const char *username;
};

enum spec_cap_set {
	SPEC_CAP_BOUNDING,
	SPEC_CAP_EFFECTIVE,
	SPEC_CAP_INHERITABLE,
	SPEC_CAP_PERMITTED,
	SPEC_CAP_AMBIENT,
	SPEC_CAP__COUNT,
};

/* Capability sets as the names the config gave ("CAP_CHOWN"); mapped to
 * values by runtime/caps. A set absent from the config is empty. */
struct spec_capabilities {
	const char **names[SPEC_CAP__COUNT];
	size_t n[SPEC_CAP__COUNT];
};

struct spec_rlimit {
	int resource; /* RLIMIT_* */
	const char *type; /* "RLIMIT_NOFILE" as written */
	uint64_t soft;
	uint64_t hard;
};

struct spec_scheduler {
	int policy; /* SCHED_* */
	int nice;
	int priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
};

struct spec_io_priority {
	int class; /* IOPRIO_CLASS_* */
	int priority;
};

struct spec_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height;
	unsigned console_width;
	struct spec_user user;
	const char **args; /* NULL-terminated as well as counted */
	size_t n_args;
	const char **env; /* NULL-terminated as well as counted */
	size_t n_env;
	const char *cwd;
	struct spec_capabilities *capabilities; /* NULL when absent */
	struct spec_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	const char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	const char *selinux_label;
	struct spec_scheduler *scheduler;     /* NULL when absent */
	struct spec_io_priority *io_priority; /* NULL when absent */
};

enum spec_hook_kind {
	SPEC_HOOK_PRESTART,
	SPEC_HOOK_CREATE_RUNTIME,
	SPEC_HOOK_CREATE_CONTAINER,
	SPEC_HOOK_START_CONTAINER,
	SPEC_HOOK_POSTSTART,
	SPEC_HOOK_POSTSTOP,
	SPEC_HOOK__COUNT,
};

struct spec_hook {
	const char *path;
	const char **args; /* NULL-terminated; may be NULL */
	size_t n_args;
	const char **env; /* NULL-terminated; may be NULL */
	size_t n_env;
	int timeout; /* seconds; 0 = none */
};

struct spec_hooks {
	struct spec_hook *hooks[SPEC_HOOK__COUNT];
	size_t n[SPEC_HOOK__COUNT];
};

struct spec_namespace {
	int type;         /* CLONE_NEWPID, CLONE_NEWNET, ... */
	const char *path; /* join this one; NULL = create a new one */
};

struct spec_device {
	const char *path;
	char type; /* 'c', 'u', 'b' or 'p' */
	int64_t major;
	int64_t minor;
	bool has_file_mode;
	mode_t file_mode;
	bool has_uid;
	uid_t uid;
	bool has_gid;
	gid_t gid;
};

struct spec_seccomp_arg {
	unsigned index;
	uint64_t value;
	uint64_t value_two;
	const char *op; /* "SCMP_CMP_EQ", ... */
};

struct spec_seccomp_syscall {
	const char **names;
	size_t n_names;
	const char *action; /* "SCMP_ACT_ERRNO", ... */
	bool has_errno_ret;
	unsigned errno_ret;
	struct spec_seccomp_arg *args;
	size_t n_args;
};

struct spec_seccomp {
	const char *default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	const char **architectures;
	size_t n_architectures;
	const char **flags;
	size_t n_flags;
	const char *listener_path;
	const char *listener_metadata;
	struct spec_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct spec_time_offset {
	const char *clock; /* "monotonic" or "boottime" */
	int64_t secs;
	uint32_t nanosecs;
};

struct spec_personality {
	const char *domain; /* "LINUX" or "LINUX32" */
};

struct spec_linux {
	struct spec_namespace *namespaces;
	size_t n_namespaces;
	struct spec_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct spec_id_mapping *gid_mappings;
	size_t n_gid_mappings;
	struct spec_time_offset *time_offsets;
	size_t n_time_offsets;
	struct spec_device *devices;
	size_t n_devices;
	const char *cgroups_path; /* NULL when absent */
	/* linux.resources as json-c, parsed by cgroups/ (NULL when absent). */
	struct json_object *resources;
	struct spec_kv *sysctl;
	size_t n_sysctl;
	struct spec_seccomp *seccomp; /* NULL when absent */
	const char *rootfs_propagation;
	const char **masked_paths;
	size_t n_masked_paths;
	const char **readonly_paths;
	size_t n_readonly_paths;
	const char *mount_label;
	struct spec_personality *personality; /* NULL when absent */
};

struct spec {
	const char *oci_version;
	const char *root_path;
	bool root_readonly;
	const char *hostname; /* NULL when absent */
	const char *domainname;
	struct spec_mount *mounts;
	size_t n_mounts;
	struct spec_process *process; /* NULL when absent (valid for create) */
	struct spec_hooks hooks;
	struct spec_kv *annotations;
	size_t n_annotations;
	struct spec_linux *linux_; /* NULL when absent */
	struct json_object *json;  /* owns every string above */
};

/* Reads and validates <bundle>/config.json. Returns NULL and fills *err,
 * whose message starts with "config.json: <json.path>: ". */
struct spec *spec_load(const char *bundle_dir, husk_error **err);

/* Parses config JSON text already read (for tests and the fuzzer). */
struct spec *spec_parse(const char *text, size_t len, husk_error **err);

/* Parses a process object alone (exec --process FILE). Its strings live in
 * *json_out, which the caller releases with json_object_put(). */
struct spec_process *spec_process_parse(const char *text, size_t len,
					struct json_object **json_out,
					husk_error **err);

void spec_free(struct spec *s);
void spec_process_free(struct spec_process *p);

/* What a config needs before any container can be made from it, wherever
 * it runs (host or micro-VM): a process, a mount namespace, and nothing
 * husk would have to drop silently (linux.intelRdt). */
int spec_validate_runnable(const struct spec *s, husk_error **err);

/* Lookups used across modules. */
const struct spec_namespace *spec_find_namespace(const struct spec *s, int type);
const char *spec_annotation(const struct spec *s, const char *key);

/* Name <-> CLONE_NEW* ("pid", "network", "mount", "ipc", "uts", "user",
 * "cgroup", "time"). Returns 0 / NULL when unknown. */
int spec_namespace_type(const char *name);
const char *spec_namespace_name(int type);

#endif
