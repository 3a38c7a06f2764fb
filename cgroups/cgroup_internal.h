/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside cgroups/: the driver interface, the cgroup object, and helpers
 * shared by the drivers. Pure string logic (cg_path_*, cg_parse_*) does no
 * I/O so tests/unit/test_cgroup_path.c can feed it strings.
 *
 * Adding resource control for another key means one more entry in a
 * driver's `resources` table; nothing outside the driver changes.
 */
#ifndef HUSK_CGROUPS_CGROUP_INTERNAL_H
#define HUSK_CGROUPS_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"
#include "cgroup.h"

#define CG_FS_ROOT "/sys/fs/cgroup"
#define CG_HYBRID_UNIFIED "/sys/fs/cgroup/unified"
/* How long destroy waits for killed processes to leave, and freeze for
 * the kernel to report the new state. */
#define CG_DESTROY_TIMEOUT_MS 2000
#define CG_FREEZE_TIMEOUT_MS 5000

/* The container's cgroup in one hierarchy. */
struct cgroup_hier {
	char *controllers; /* "memory", "cpu,cpuacct", "name=systemd";
			    * "" for a cgroup2 hierarchy */
	char *dir;         /* the container's cgroup directory */
	size_t mount_len;  /* dir[0..mount_len) is the hierarchy's mount */
	size_t base_len;   /* dir[0..base_len) existed already (the mount, or
			    * the caller's own cgroup); 0 after from_json */
	unsigned created;  /* how many trailing components of dir husk made */
};

struct cgroup;

/* Sets one linux.resources.<key>; val is that key's JSON value, NULL when
 * the key is absent (only CG_RES_ALWAYS entries see that). */
struct cgroup_resource {
	const char *key;
	int (*apply)(struct cgroup *cg, struct json_object *val,
		     husk_error **err);
	unsigned flags;
};

/* Not on `husk update`: runc's update leaves device rules alone, and a
 * rewrite would briefly deny every device to the running container. */
#define CG_RES_CREATE_ONLY 1u
/* Runs when the key is absent too: runc's default device rules apply to
 * every container. */
#define CG_RES_ALWAYS 2u

struct cgroup_driver {
	const char *name; /* "v1" / "v2", persisted in the state */
	/* Fills cg->hier for cg->path. */
	int (*resolve)(struct cgroup *cg, husk_error **err);
	/* Makes the directories; fills created. */
	int (*create)(struct cgroup *cg, husk_error **err);
	const struct cgroup_resource *resources; /* ends with a NULL key */
	/* Where cgroup.procs lists the container's processes. */
	const struct cgroup_hier *(*procs_hier)(const struct cgroup *cg);
	bool (*has_freezer)(const struct cgroup *cg);
	int (*freeze)(struct cgroup *cg, bool frozen, husk_error **err);
	int (*is_frozen)(const struct cgroup *cg, bool *frozen,
			 husk_error **err);
	/* Optional fast kill; returns 1 when it could not handle sig. */
	int (*kill)(struct cgroup *cg, int sig, husk_error **err);
	/* runc's `events --stats` data object (stats_v1.c, stats_v2.c). */
	struct json_object *(*stats)(struct cgroup *cg, husk_error **err);
	int (*oom_count)(struct cgroup *cg, uint64_t *count, husk_error **err);
};

struct cgroup {
	const struct cgroup_driver *drv; /* NULL: manager DISABLED */
	enum cgroup_manager manager;
	char *path; /* cleaned cgroupsPath (or id); systemd: the unit's
		     * cgroup, "/system.slice/husk-c1.scope" */
	struct cgroup_hier *hier;
	size_t n_hier;
	struct cg_systemd *sd; /* manager SYSTEMD only (systemd.h) */
};

extern const struct cgroup_driver cgroup_v1_driver;
extern const struct cgroup_driver cgroup_v2_driver;
/* The resource tables (v1_resources.c, v2_resources.c). */
extern const struct cgroup_resource cg_v1_resources[];
extern const struct cgroup_resource cg_v2_resources[];

/* ---- pure string logic (path.c) ---- */

/* Cleans a cgroups path: collapses "//" and "/./", drops a trailing "/".
 * Fails for "..", and for a path naming the root itself (empty, "/", ".").
 * what names the field for the message ("config.json: linux.cgroupsPath"). */
int cg_path_clean(const char *in, const char *what, char **out,
		  husk_error **err);
/* a + "/" + b with exactly one slash between them; b may be "" or "/". */
char *cg_path_join(const char *a, const char *b);
/* The parent of an absolute path ("/a/b" -> "/a", "/a" -> "/"). */
char *cg_path_parent(const char *p);
/* Number of components ("/sys/fs/cgroup" -> 3). */
unsigned cg_path_depth(const char *p);
/* Whether a list separated by commas, spaces or newlines holds item. */
bool cg_list_has(const char *list, const char *item);

/* One /proc/<pid>/cgroup line "4:memory:/a/b", split in place. */
struct cg_proc_line {
	unsigned id;
	const char *controllers; /* "" on the cgroup2 line "0::/a" */
	const char *path;
};
int cg_parse_proc_cgroup_line(char *line, struct cg_proc_line *out);
/* The caller's cgroup in the hierarchy carrying controllers ("" = the
 * cgroup2 one), from the whole text of /proc/self/cgroup. Returns a heap
 * copy, or NULL when that hierarchy is not listed. */
char *cg_proc_cgroup_lookup(const char *text, const char *controllers);

/* One /proc/<pid>/mountinfo line, split (and unescaped) in place. */
struct cg_mountinfo {
	const char *dev;        /* "0:32", one per hierarchy */
	const char *root;       /* the hierarchy's directory seen here */
	const char *mountpoint;
	const char *fstype;     /* "cgroup", "cgroup2", ... */
	const char *super_opts; /* "rw,cpu,cpuacct" */
};
int cg_parse_mountinfo_line(char *line, struct cg_mountinfo *out);
/* The v1 controllers in super options, comma-separated, in the kernel's
 * order: "rw,nosuid,cpu,cpuacct" -> "cpu,cpuacct", "rw,name=systemd" ->
 * "name=systemd". Heap string, "" when there are none. */
char *cg_v1_controllers(const char *super_opts);

/* The directory for cgroup path inner in a hierarchy mounted at mount
 * whose mount root is mnt_root: absolute inner under the mount; relative
 * inner under own (the caller's cgroup, as in /proc/self/cgroup), which
 * must lie inside mnt_root. Sets *base_len to the part that exists. */
int cg_resolve_dir(const char *mount, const char *mnt_root, const char *own,
		   const char *inner, char **out, size_t *base_len,
		   husk_error **err);

/* The value of key in a flat "key value\n" file such as cgroup.events. */
bool cg_keyed_value(const char *text, const char *key, char *val, size_t len);

/* ---- file helpers (fs.c) ---- */

/* Whole file as a NUL-terminated heap string. */
char *cg_read_text(const char *path, husk_error **err);
/* dir/file into buf, trailing newline dropped. Returns length, or -1 with
 * errno set and *err filled (unless err is NULL). */
ssize_t cg_read(const char *dir, const char *file, char *buf, size_t size,
		husk_error **err);
int cg_write(const char *dir, const char *file, const char *val,
	     husk_error **err);
/* mkdir -p below h->base_len, counting new directories in h->created;
 * on_new runs on each directory it made, top-down. */
int cg_mkdir(struct cgroup_hier *h,
	     int (*on_new)(const char *dir, husk_error **err),
	     husk_error **err);
/* Removes h->dir with any sub-cgroups inside it, retrying while the kernel
 * says busy until deadline_ms, then the created parents. Missing is fine. */
int cg_remove(const struct cgroup_hier *h, uint64_t deadline_ms,
	      husk_error **err);
/* Removes only directories this husk made (undo of a failed create). */
void cg_remove_created(const struct cgroup_hier *h);
/* Pids in dir/cgroup.procs and its sub-cgroups, appended to *pids. */
int cg_collect_pids(const char *dir, pid_t **pids, size_t *n,
		    husk_error **err);

uint64_t cg_now_ms(void);
/* Sleeps *us microseconds, then doubles it up to 10 ms. */
void cg_backoff(unsigned *us);

/* Whether /sys/fs/cgroup/unified is really a cgroup2 mount right now. */
bool cg_hybrid_unified_usable(void);

/* Writes pid to cgroup.procs in every hierarchy (v2_too: the cgroup2
 * ones as well). */
int cg_join(struct cgroup *cg, pid_t pid, bool v2_too, husk_error **err);

/* Enables the controllers named in ctl that are available but not yet
 * handed down, in every ancestor of h->dir below the mount, top-down.
 * Failures are left for the limit that needs the controller (v2.c). */
void cg_v2_enable_ancestors(const struct cgroup_hier *h,
			    const char *const *ctl, size_t n);

/* The hierarchy whose controller list has controller, or NULL. */
const struct cgroup_hier *cg_find_hier(const struct cgroup *cg,
				       const char *controller);

#include "resources.h"

#endif
