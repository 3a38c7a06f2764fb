/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside cgroups/: linux.resources, from JSON to cgroupfs files.
 *
 * Each driver has a table (v1_resources.c, v2_resources.c) of handlers,
 * one per linux.resources key, run in the table's order (runc's order of
 * subsystems). A handler reads its object with the cg_get_* helpers and
 * writes with cg_set*, whose errors name the setting and the file:
 *
 *     config.json: linux.resources.memory.limit: write
 *     memory.limit_in_bytes: Invalid argument
 *
 * The pure mappings (runc's conversions, device rules, the eBPF device
 * program) do no I/O; tests/unit/test_cgroup_resources.c feeds them values.
 */
#ifndef HUSK_CGROUPS_RESOURCES_H
#define HUSK_CGROUPS_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

struct cgroup;
struct json_object;
struct bpf_insn;

/* ---- reading linux.resources (resources.c) ---- */

/* All take o, the object at linux.resources.<path> ("memory",
 * "blockIO.weightDevice[1]"), and return 1 with *v set when key is there,
 * 0 when it is absent or null, -1 with "config.json: linux.resources.
 * <path>.<key>: must be ..." on a wrong type or range. */
int cg_get_i64(struct json_object *o, const char *path, const char *key,
	       int64_t *v, husk_error **err);
int cg_get_u64(struct json_object *o, const char *path, const char *key,
	       uint64_t max, uint64_t *v, husk_error **err);
int cg_get_bool(struct json_object *o, const char *path, const char *key,
		bool *v, husk_error **err);
int cg_get_str(struct json_object *o, const char *path, const char *key,
	       const char **v, husk_error **err);
/* type: json_type_array or json_type_object. */
int cg_get_json(struct json_object *o, const char *path, const char *key,
		int type, struct json_object **v, husk_error **err);
/* Fails unless o is an object: "config.json: linux.resources.<path>: must
 * be an object". */
int cg_want_object(struct json_object *o, const char *path, husk_error **err);

/* ---- writing (resources.c) ---- */

/* dir/file = val for linux.resources.<setting>; a failure keeps errno. */
int cg_set(const char *dir, const char *file, const char *val,
	   const char *setting, husk_error **err);
int cg_set_i64(const char *dir, const char *file, int64_t v,
	       const char *setting, husk_error **err);
int cg_set_u64(const char *dir, const char *file, uint64_t v,
	       const char *setting, husk_error **err);
/* The container's directory for controller (v1: that hierarchy; v2: the
 * one directory), or NULL with "config.json: linux.resources.<setting>:
 * no <controller> cgroup hierarchy is mounted". */
const char *cg_res_dir(const struct cgroup *cg, const char *controller,
		       const char *setting, husk_error **err);
/* "config.json: linux.resources.<setting>: <why>" */
int cg_res_refuse(husk_error **err, const char *setting, const char *why);
bool cg_file_exists(const char *dir, const char *file);
/* A file's value as an unsigned number; "max" reads as UINT64_MAX. */
int cg_read_u64(const char *dir, const char *file, uint64_t *v,
		husk_error **err);

/* ---- shared handlers (resources_common.c) ---- */

/* Writes each linux.resources.<array key> entry of blockIO as
 * "major:minor <rate>" (fmt NULL) or "major:minor <fmt>=<rate>" (v2). */
int cg_blkio_throttle(struct json_object *blkio, const char *key,
		      const char *dir, const char *file, const char *fmt,
		      husk_error **err);
/* hugepageLimits: <prefix><pageSize><suffix> and, when the kernel has it,
 * the .rsvd variant (v1 ".limit_in_bytes", v2 ".max"). */
int cg_hugetlb(const char *dir, struct json_object *val, const char *suffix,
	       husk_error **err);
int cg_rdma(const char *dir, struct json_object *val, husk_error **err);
/* unified: every key must be a plain file name "<controller>.<name>". */
int cg_unified_check_key(const char *key, husk_error **err);

/* ---- runc's value mappings (resources_common.c, pure) ---- */

/* cpu.shares (v1, 2..262144) to cpu.weight (v2, 1..10000), as runc:
 * 1 + ((shares - 2) * 9999) / 262142; 0 stays 0 (unset). */
uint64_t cg_shares_to_weight(uint64_t shares);
/* Shares above v1's maximum (262144) would make a cpu.weight the kernel
 * refuses: fails as the v1 driver does once the kernel clamped them. */
int cg_shares_check(uint64_t shares, husk_error **err);
/* blkio.weight (10..1000) to io.weight (1..10000), as runc. */
uint64_t cg_blkio_to_io_weight(uint64_t weight);

/* memory.limit and memory.swap (the spec's swap is memory+swap, as v1's
 * memsw) turned into the v1 writes, in the order the kernel accepts:
 * memsw.limit must stay >= limit at every step. */
struct cg_mem_plan {
	int64_t limit;   /* memory.limit_in_bytes; 0: leave */
	int64_t swap;    /* memory.memsw.limit_in_bytes; 0: leave */
	bool swap_first;
};
/* have_memsw: the kernel accounts swap; cur_limit: the limit now. */
void cg_v1_mem_plan(int64_t limit, int64_t swap, bool have_memsw,
		    uint64_t cur_limit, struct cg_mem_plan *p);
/* v2 memory.swap.max holds swap alone: swap - limit, as runc converts.
 * Returns 1 with *out to write (-1 for "max"), 0 to leave the file alone,
 * or -1 with *why set. */
int cg_v2_swap(int64_t swap, int64_t limit, int64_t *out, const char **why);

/* ---- device rules (devices.c, pure) ---- */

#define CG_DEV_ANY (-1)
/* Access bits as the kernel's BPF_DEVCG_ACC_* (mknod 1, read 2, write 4). */
enum {
	CG_DEV_M = 1,
	CG_DEV_R = 2,
	CG_DEV_W = 4,
	CG_DEV_RWM = 7,
};

struct cg_dev_rule {
	char type;     /* 'a' (all, a reset), 'b', 'c' */
	int64_t major; /* CG_DEV_ANY or 0..UINT32_MAX */
	int64_t minor;
	unsigned access;
	bool allow;
};

/* What a v1 devices cgroup holds: a default and its exceptions (each one
 * the opposite of the default), sorted by major, minor, type. */
struct cg_dev_state {
	bool default_allow;
	struct cg_dev_rule *rules;
	size_t n;
};

/* linux.resources.devices (NULL: none) followed by runc 1.1's defaults,
 * which containers always get. *rules is heap (caller frees). */
int cg_dev_rules_parse(struct json_object *devices, struct cg_dev_rule **rules,
		       size_t *n, size_t *n_spec, husk_error **err);
/* Replays rules on an empty deny-all state the way the v1 kernel (and
 * runc's emulator) does; refuses a deny that would only partly undo a
 * wildcard allow, which the kernel silently ignores. */
int cg_dev_emulate(const struct cg_dev_rule *rules, size_t n, size_t n_spec,
		   struct cg_dev_state *st, husk_error **err);
/* A state from a devices.list text ("a *:* rwm" means allow all). */
int cg_dev_state_from_list(const char *text, struct cg_dev_state *st);
bool cg_dev_state_equal(const struct cg_dev_state *a,
			const struct cg_dev_state *b);
void cg_dev_state_free(struct cg_dev_state *st);
/* "c 1:3 rwm", "b *:* m", "a" (what devices.allow/deny take). */
void cg_dev_rule_line(const struct cg_dev_rule *r, char *buf, size_t size);

/* ---- eBPF device filter (devices_bpf.c) ---- */

/* The BPF_PROG_TYPE_CGROUP_DEVICE program for st, in runc's shape: a
 * 6-instruction prologue, a block per exception, the default last.
 * *insns is heap. */
int cg_bpf_dev_program(const struct cg_dev_state *st, struct bpf_insn **insns,
		       size_t *n, husk_error **err);
/* Loads insns and attaches it to the cgroup2 directory dir (ALLOW_MULTI),
 * then detaches the device programs that were there before, so there is
 * never a moment without a filter. */
int cg_bpf_dev_attach(const char *dir, const struct bpf_insn *insns, size_t n,
		      husk_error **err);

/* The devices handlers (devices_v1.c, devices_bpf.c). */
int cg_v1_devices(struct cgroup *cg, struct json_object *val,
		  husk_error **err);
int cg_v2_devices(struct cgroup *cg, struct json_object *val,
		  husk_error **err);

/* ---- statistics (stats_v1.c, stats_v2.c; shared parts in stats.h) ---- */

struct json_object *cg_v1_stats(struct cgroup *cg, husk_error **err);
struct json_object *cg_v2_stats(struct cgroup *cg, husk_error **err);
int cg_v1_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err);
int cg_v2_oom_count(struct cgroup *cg, uint64_t *count, husk_error **err);


/* linux.resources.cpu, read the same way for both drivers. */
struct cg_cpu {
	uint64_t shares, period, burst, rt_period;
	int64_t quota, rt_runtime, idle;
	int has_burst, has_idle;
};
int cg_cpu_parse(struct json_object *val, struct cg_cpu *c, husk_error **err);

#endif
