/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside cgroups/: the statistics both drivers gather (stats_v1.c,
 * stats_v2.c), in a struct shaped as runc's types.Stats so that one
 * encoder (stats.c) writes the `events --stats` data object for both.
 */
#ifndef HUSK_CGROUPS_STATS_H
#define HUSK_CGROUPS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

struct json_object;

struct cg_u64_list {
	uint64_t *v;
	size_t n;
};

struct cg_mem_entry {
	uint64_t limit, usage, max, failcnt;
};

struct cg_blkio_entry {
	uint64_t major, minor, value;
	char op[16];
};

struct cg_blkio_list {
	struct cg_blkio_entry *e;
	size_t n;
};

/* runc's Blkio lists, in its field order. */
enum {
	CG_BLKIO_SERVICE_BYTES,
	CG_BLKIO_SERVICED,
	CG_BLKIO_QUEUED,
	CG_BLKIO_SERVICE_TIME,
	CG_BLKIO_WAIT_TIME,
	CG_BLKIO_MERGED,
	CG_BLKIO_TIME,
	CG_BLKIO_SECTORS,
	CG_BLKIO_N,
};

#define CG_MAX_HUGEPAGE_SIZES 8

struct cg_hugetlb_stat {
	char size[16]; /* "2MB" */
	uint64_t usage, max, failcnt;
};

struct cg_stats {
	struct {
		uint64_t total, kernel, user; /* nanoseconds */
		struct cg_u64_list percpu, percpu_kernel, percpu_user;
		uint64_t periods, throttled_periods, throttled_time;
	} cpu;
	struct {
		uint64_t cache;
		struct cg_mem_entry usage, swap, kernel, kernel_tcp;
		struct json_object *raw; /* memory.stat, owned */
	} memory;
	struct {
		uint64_t current, limit;
	} pids;
	struct cg_blkio_list blkio[CG_BLKIO_N];
	struct cg_hugetlb_stat hugetlb[CG_MAX_HUGEPAGE_SIZES];
	size_t n_hugetlb;
};

void cg_stats_free(struct cg_stats *s);
/* runc's JSON for s (new object). */
struct json_object *cg_stats_to_json(const struct cg_stats *s);

/* The number after "key " in a flat "key value" text, or false. */
bool cg_stat_key(const char *text, const char *key, uint64_t *v);
/* dir/file as text; NULL (and no error) when it does not exist. */
char *cg_stat_text(const char *dir, const char *file, husk_error **err);
/* dir/file as a number ("max": UINT64_MAX); a missing file leaves *v. */
int cg_stat_u64(const char *dir, const char *file, uint64_t *v,
		husk_error **err);
/* A "key value" file (memory.stat) as a JSON object of numbers sorted by
 * key, as Go encodes a map; NULL when the file does not exist. */
int cg_stat_raw(const char *dir, const char *file, struct json_object **raw,
		husk_error **err);
/* Space-separated numbers. */
void cg_stat_list(const char *text, struct cg_u64_list *l);
void cg_stat_list_add(struct cg_u64_list *l, uint64_t v);
void cg_blkio_add(struct cg_blkio_list *l, uint64_t major, uint64_t minor,
		  const char *op, uint64_t value);
/* Huge page sizes as hugetlb files name them ("2MB", "1GB"), from
 * /sys/kernel/mm/hugepages. Returns how many. */
size_t cg_hugepage_sizes(char sizes[][16], size_t max);
/* "hugepages-2048kB" -> "2MB" (runc's naming); false when malformed. */
bool cg_hugepage_name(const char *dirent, char *out, size_t size);

#endif
