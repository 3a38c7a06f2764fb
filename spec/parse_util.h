/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal to spec/: typed, path-tracking access to a json-c tree.
 *
 * The parser walks the document with a struct sp_ctx that remembers where it
 * is ("linux.namespaces[2]"), so that every failure can name the exact JSON
 * path. Getters that take a key push it for the duration of the check; the
 * caller pushes array indexes and nested objects itself.
 *
 * Getters return 1 when the member was present and valid, 0 when it is absent
 * (JSON null counts as absent, like Go's encoding/json) and -1 after filling
 * the error.
 */
#ifndef HUSK_SPEC_PARSE_UTIL_H
#define HUSK_SPEC_PARSE_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

#define SP_PATH_MAX 256

struct sp_ctx {
	husk_error **err;
	const char *file; /* message prefix, e.g. "config.json"; may be NULL */
	size_t len;       /* of path */
	char path[SP_PATH_MAX];
};

enum sp_flags {
	SP_REQUIRED = 1 << 0, /* absent is an error */
	SP_NONEMPTY = 1 << 1, /* required, and not "" nor [] */
	SP_ABSOLUTE = 1 << 2, /* strings, or each string of an array: a path */
};

/* Path bookkeeping: push returns a mark that sp_pop() restores. */
size_t sp_push_key(struct sp_ctx *c, const char *key);
size_t sp_push_index(struct sp_ctx *c, size_t i);
void sp_pop(struct sp_ctx *c, size_t mark);

/* Fails with "<file>: <path>: <problem>". Always returns -1. */
int sp_fail(struct sp_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, with "<key>" appended to the path for this one message. */
int sp_fail_key(struct sp_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void *sp_calloc(struct sp_ctx *c, size_t n, size_t size);

/* Parses text into a tree, refusing anything but exactly one JSON object. */
struct json_object *sp_tokenize(struct sp_ctx *c, const char *text,
				size_t len);

/* The member, or NULL when absent or null. */
struct json_object *sp_member(struct json_object *obj, const char *key);

/* Checks on a value the path already points at. */
int sp_value_string(struct sp_ctx *c, struct json_object *v, unsigned flags,
		    const char **out);
int sp_value_int(struct sp_ctx *c, struct json_object *v, int64_t min,
		 int64_t max, int64_t *out);
int sp_value_u64(struct sp_ctx *c, struct json_object *v, uint64_t *out);
int sp_value_object(struct sp_ctx *c, struct json_object *v);

/* Members of obj, by key. */
int sp_string(struct sp_ctx *c, struct json_object *obj, const char *key,
	      unsigned flags, const char **out);
int sp_bool(struct sp_ctx *c, struct json_object *obj, const char *key,
	    bool *out);
int sp_int(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, int64_t min, int64_t max, int64_t *out);
int sp_u32(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, uint32_t *out);
/* An optional uint32, recording in *has whether it was there. */
int sp_opt_u32(struct sp_ctx *c, struct json_object *obj, const char *key,
	       bool *has, uint32_t *out);
int sp_u64(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, uint64_t *out);
int sp_object(struct sp_ctx *c, struct json_object *obj, const char *key,
	      unsigned flags, struct json_object **out);
int sp_array(struct sp_ctx *c, struct json_object *obj, const char *key,
	     unsigned flags, struct json_object **out, size_t *n);

/* Array of strings into a NULL-terminated, counted array. */
int sp_strv(struct sp_ctx *c, struct json_object *obj, const char *key,
	    unsigned flags, const char ***out, size_t *n);

/* Object of string values into key/value pairs. */
int sp_string_map(struct sp_ctx *c, struct json_object *obj, const char *key,
		  struct spec_kv **out, size_t *n);

/*
 * Array of objects into a calloc'ed array of n elements of size bytes, each
 * filled by fn with the path at the element. *out and *n are set as soon as
 * the array exists, so a failure leaves a zero-filled tail the caller's free
 * routine handles.
 */
typedef int (*sp_elem_fn)(struct sp_ctx *c, struct json_object *v, void *elem);
int sp_struct_array(struct sp_ctx *c, struct json_object *obj, const char *key,
		    size_t size, sp_elem_fn fn, void **out, size_t *n);

int sp_id_mappings(struct sp_ctx *c, struct json_object *obj, const char *key,
		   struct spec_id_mapping **out, size_t *n);

/* Name tables for the enumerated strings of the spec. */
struct sp_name {
	const char *name;
	int value;
};
const struct sp_name *sp_name_find(const struct sp_name *table, size_t n,
				   const char *name);

/* Sections parsed in their own files. */
int sp_process(struct sp_ctx *c, struct json_object *obj,
	       struct spec_process **out);
int sp_linux(struct sp_ctx *c, struct json_object *obj,
	     struct spec_linux **out);
void sp_linux_free(struct spec_linux *l);

#endif
