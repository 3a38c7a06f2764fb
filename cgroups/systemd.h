/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside cgroups/: the systemd cgroup manager (--systemd-cgroup).
 *
 * systemd owns the container's cgroup: a transient scope unit
 * "<prefix>-<name>.scope" in a slice, started over D-Bus with the init's
 * pid, Delegate=yes and the resource properties systemd knows. Everything
 * else is the cgroupfs driver (v2, or v1 on a legacy host) working on the
 * directory systemd made: the files systemd cannot set, the eBPF device
 * filter, freezing, stats, kill, pids.
 *
 *     cg_sd_new()      parses slice:prefix:name, checks systemd answers
 *     cg_sd_create()   turns linux.resources into unit properties (early,
 *                      so a bad value fails before anything exists)
 *     cg_sd_enter()    first call: StartTransientUnit(PIDs=[pid]) and
 *                      wait for the job; later calls (exec): cgroupfs join
 *     cg_sd_update()   SetUnitProperties(runtime=true); the caller then
 *                      writes the files too
 *     cg_sd_destroy()  StopUnit and wait, ResetFailedUnit
 *
 * Split: systemd_unit.c (names, pure), systemd_props.c (resources to
 * properties, pure), systemd_bus.c (sd-bus), systemd.c (the hooks above).
 */
#ifndef HUSK_CGROUPS_SYSTEMD_H
#define HUSK_CGROUPS_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

struct cgroup;
struct json_object;
struct cg_sd_bus;

/* ---- names (systemd_unit.c, pure) ---- */

/* linux.cgroupsPath for the systemd manager: "slice:prefix:name", or
 * NULL/"" for runc's defaults (system.slice, prefix "husk", name = id).
 * An empty slice means system.slice; an empty prefix gives "<name>.scope".
 * Fills heap strings *slice ("system.slice") and *unit
 * ("husk-c1.scope"). Errors name linux.cgroupsPath. */
int cg_sd_parse_path(const char *cgroups_path, const char *id, char **slice,
		     char **unit, husk_error **err);
/* The cgroup directory of a slice, as systemd lays it out: "a-b.slice" ->
 * "/a.slice/a-b.slice", "-.slice" -> "" (the root). */
int cg_sd_expand_slice(const char *slice, char **out, husk_error **err);
/* systemd's rules for a unit name: [A-Za-z0-9:_.\-], at most 255 bytes,
 * ending in ".<type>". */
bool cg_sd_unit_name_valid(const char *name, const char *type);

/* ---- unit properties (systemd_props.c, pure) ---- */

enum cg_prop_type {
	CG_PROP_U64,     /* "t" */
	CG_PROP_BOOL,    /* "b" */
	CG_PROP_STR,     /* "s" */
	CG_PROP_BYTES,   /* "ay": AllowedCPUs, AllowedMemoryNodes */
	CG_PROP_DEVICES, /* "a(ss)": DeviceAllow */
	CG_PROP_PIDS,    /* "au": PIDs */
};

struct cg_unit_dev {
	char *node;    /* "/dev/char/1:3", "char-136", "block-*" */
	char perms[4]; /* "rwm" */
};

struct cg_unit_prop {
	const char *name; /* static */
	enum cg_prop_type type;
	uint64_t u;       /* U64, BOOL, PIDS (one pid) */
	char *s;          /* STR */
	uint8_t *bytes;   /* BYTES */
	size_t n_bytes;
	struct cg_unit_dev *devs; /* DEVICES */
	size_t n_devs;
};

struct cg_unit_props {
	struct cg_unit_prop *v;
	size_t n;
};

#define CG_SD_INFINITY UINT64_MAX

/* Setting a property that is already in the list replaces it (unified
 * keys come last and win, as they do for the files). */
void cg_props_u64(struct cg_unit_props *p, const char *name, uint64_t v);
void cg_props_bool(struct cg_unit_props *p, const char *name, bool v);
void cg_props_str(struct cg_unit_props *p, const char *name, const char *v);
void cg_props_pid(struct cg_unit_props *p, pid_t pid);
const struct cg_unit_prop *cg_props_find(const struct cg_unit_props *p,
					 const char *name);
void cg_props_clear(struct cg_unit_props *p);

/*
 * linux.resources as the unit properties systemd knows, appended to *p:
 * v2: MemoryMax, MemoryLow (reservation), MemorySwapMax (swap - limit),
 * TasksMax, CPUWeight (runc's shares conversion), CPUQuotaPerSecUSec
 * (rounded up to 10 ms, systemd's granularity) and CPUQuotaPeriodUSec,
 * AllowedCPUs and AllowedMemoryNodes (bitmasks), IOWeight, and from
 * `unified` MemoryHigh, MemoryLow, MemoryMin, MemoryMax, MemorySwapMax,
 * TasksMax, CPUWeight; v1: MemoryLimit, TasksMax, CPUShares,
 * CPUQuota*, BlockIOWeight. Devices (unless update): DevicePolicy=strict
 * and DeviceAllow for a deny-by-default rule set; DevicePolicy=auto with
 * no list for an allow-by-default one, which systemd cannot express (the
 * eBPF filter husk attaches then does it alone). Values are checked as the
 * files' handlers check them, with the same messages.
 */
int cg_props_from_resources(struct json_object *res, bool v2, bool update,
			    struct cg_unit_props *p, husk_error **err);

/* "0-2,5" -> bytes with bit (n % 8) of byte n / 8 set for each n, as
 * systemd reads AllowedCPUs. */
int cg_parse_cpu_list(const char *list, uint8_t **bytes, size_t *n);

/* ---- D-Bus (systemd_bus.c) ---- */

/* Loads libsystemd (dlopen: it stays off the start path of every other
 * command), connects to the system bus and checks that systemd is on it.
 * Fails with "systemd cgroup manager: no systemd on the system bus: ...". */
int cg_sd_bus_open(struct cg_sd_bus **bus, husk_error **err);
void cg_sd_bus_close(struct cg_sd_bus *bus);
/* StartTransientUnit(unit, "fail", props) and wait for its job. *queued
 * says whether systemd accepted the unit (then it is ours to stop, even
 * when the job failed). */
int cg_sd_start_unit(struct cg_sd_bus *bus, const char *unit,
		     const struct cg_unit_props *props, bool *queued,
		     husk_error **err);
int cg_sd_set_props(struct cg_sd_bus *bus, const char *unit,
		    const struct cg_unit_props *props, husk_error **err);
/* StopUnit and wait for its job, then ResetFailedUnit. A unit systemd no
 * longer has is not an error (a scope stops by itself once empty). */
int cg_sd_stop_unit(struct cg_sd_bus *bus, const char *unit, husk_error **err);

/* ---- the manager (systemd.c) ---- */

struct cg_systemd {
	char *slice;    /* "system.slice" */
	char *unit;     /* "husk-c1.scope" */
	struct cg_sd_bus *bus; /* connected on first use */
	struct cg_unit_props start; /* resource properties for the start */
	bool started;   /* the unit is the container's (from_json: true) */
};

/* The cgroupfs path systemd will use for the unit, for cg->path. */
int cg_sd_new(struct cgroup *cg, const char *cgroups_path, const char *id,
	      husk_error **err);
int cg_sd_create(struct cgroup *cg, struct json_object *resources,
		 husk_error **err);
int cg_sd_enter(struct cgroup *cg, pid_t pid, husk_error **err);
int cg_sd_update(struct cgroup *cg, struct json_object *resources,
		 husk_error **err);
int cg_sd_destroy(struct cgroup *cg, husk_error **err);
void cg_sd_free(struct cg_systemd *sd);
void cg_sd_to_json(const struct cg_systemd *sd, struct json_object *o);
int cg_sd_from_json(struct cgroup *cg, struct json_object *o,
		    husk_error **err);

#endif
