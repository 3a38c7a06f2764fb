/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "parse_util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

/* Appends to the path; a path cut at SP_PATH_MAX still helps, so go on. */
static void sp_append(struct sp_ctx *c, const char *s)
{
	size_t n = strlen(s), room = sizeof(c->path) - 1 - c->len;

	if (n > room)
		n = room;
	memcpy(c->path + c->len, s, n);
	c->len += n;
	c->path[c->len] = '\0';
}

static bool is_identifier(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

size_t sp_push_key(struct sp_ctx *c, const char *key)
{
	size_t mark = c->len;

	if (is_identifier(key)) {
		if (c->len)
			sp_append(c, ".");
		sp_append(c, key);
		return mark;
	}
	/* Map keys such as sysctl names hold dots: quote them, JSON-style,
	 * so the path stays unambiguous. */
	sp_append(c, "[\"");
	for (const char *p = key; *p; p++) {
		char buf[8] = { *p };

		if (*p == '"' || *p == '\\')
			snprintf(buf, sizeof(buf), "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			snprintf(buf, sizeof(buf), "\\u%04x", (unsigned)*p);
		sp_append(c, buf);
	}
	sp_append(c, "\"]");
	return mark;
}

size_t sp_push_index(struct sp_ctx *c, size_t i)
{
	size_t mark = c->len;
	char buf[32];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	sp_append(c, buf);
	return mark;
}

void sp_pop(struct sp_ctx *c, size_t mark)
{
	c->len = mark;
	c->path[mark] = '\0';
}

static int sp_failv(struct sp_ctx *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int sp_failv(struct sp_ctx *c, const char *fmt, va_list ap)
{
	_cleanup_free_ char *problem = NULL;

	if (vasprintf(&problem, fmt, ap) < 0)
		abort(); /* as husk_fail does: no way to report anything */
	if (c->file && c->len)
		return husk_fail(c->err, 0, "%s: %s: %s", c->file, c->path,
				 problem);
	if (c->file)
		return husk_fail(c->err, 0, "%s: %s", c->file, problem);
	if (c->len)
		return husk_fail(c->err, 0, "%s: %s", c->path, problem);
	return husk_fail(c->err, 0, "%s", problem);
}

int sp_fail(struct sp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_failv(c, fmt, ap);
	va_end(ap);
	return -1;
}

int sp_fail_key(struct sp_ctx *c, const char *key, const char *fmt, ...)
{
	size_t mark = sp_push_key(c, key);
	va_list ap;

	va_start(ap, fmt);
	sp_failv(c, fmt, ap);
	va_end(ap);
	sp_pop(c, mark);
	return -1;
}

void *sp_calloc(struct sp_ctx *c, size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		husk_fail(c->err, ENOMEM, "parsing %s",
			  c->file ? c->file : "JSON");
	return p;
}

static unsigned line_of(const char *text, size_t offset)
{
	unsigned line = 1;

	for (size_t i = 0; i < offset; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Runs the tokenizer over all of text; *end is where it stopped. */
static struct json_object *tokenize(const char *text, size_t len,
				    enum json_tokener_error *e, size_t *end)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (!tok)
		abort(); /* only fails on ENOMEM */
	/* Go's encoding/json, which runc uses, takes no comments, trailing
	 * commas or trailing garbage; neither do we. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	*e = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	if (!o && *e == json_tokener_continue) {
		/* A top-level scalar only ends at a delimiter: feed the
		 * terminating NUL, which also turns a cut document into a
		 * definite error. */
		o = json_tokener_parse_ex(tok, "", 1);
		*e = json_tokener_get_error(tok);
		if (*e != json_tokener_success)
			*e = json_tokener_continue;
	}
	json_tokener_free(tok);
	if (*end > len)
		*end = len;
	return o;
}

struct json_object *sp_tokenize(struct sp_ctx *c, const char *text, size_t len)
{
	enum json_tokener_error e;
	struct json_object *o;
	size_t end = 0;

	if (len > INT_MAX) {
		sp_fail(c, "malformed JSON: document too large");
		return NULL;
	}
	o = tokenize(text, len, &e, &end);
	if (!o && e != json_tokener_success) {
		sp_fail(c, "malformed JSON: %s at line %u",
			e == json_tokener_continue ? "unexpected end of input"
						   : json_tokener_error_desc(e),
			line_of(text, end));
		return NULL;
	}
	if (o && end < len) {
		sp_fail(c, "malformed JSON: trailing data at line %u",
			line_of(text, end));
	} else if (!json_object_is_type(o, json_type_object)) {
		sp_fail(c, "must be an object"); /* also for a bare null */
	} else {
		return o;
	}
	json_object_put(o);
	return NULL;
}

struct json_object *sp_member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v; /* NULL for a JSON null */
}

int sp_value_string(struct sp_ctx *c, struct json_object *v, unsigned flags,
		    const char **out)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return sp_fail(c, "must be a string");
	s = json_object_get_string(v);
	/* A "\u0000" would cut the C string the rest of husk sees. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return sp_fail(c, "must not contain NUL characters");
	if ((flags & SP_NONEMPTY) && !*s)
		return sp_fail(c, "must not be empty");
	if ((flags & SP_ABSOLUTE) && s[0] != '/')
		return sp_fail(c, "must be an absolute path, not \"%s\"", s);
	*out = s;
	return 1;
}

int sp_value_int(struct sp_ctx *c, struct json_object *v, int64_t min,
		 int64_t max, int64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return sp_fail(c, "must be an integer");
	x = json_object_get_int64(v);
	/* json-c clamps values above INT64_MAX; its uint64 view tells. */
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return sp_fail(c, "must be at most %" PRId64, max);
	if (x < 0 && min == 0)
		return sp_fail(c, "must not be negative");
	if (x < min || x > max)
		return sp_fail(c, "must be between %" PRId64 " and %" PRId64,
			       min, max);
	*out = x;
	return 1;
}

int sp_value_u64(struct sp_ctx *c, struct json_object *v, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return sp_fail(c, "must be an integer");
	if (json_object_get_int64(v) < 0)
		return sp_fail(c, "must not be negative");
	*out = json_object_get_uint64(v);
	return 1;
}

int sp_value_object(struct sp_ctx *c, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return sp_fail(c, "must be an object");
	return 1;
}

/* The member for a getter, or NULL with *r set (0 absent, -1 error). */
static struct json_object *member_or_absent(struct sp_ctx *c,
					    struct json_object *obj,
					    const char *key, unsigned flags,
					    int *r)
{
	struct json_object *v = sp_member(obj, key);

	*r = 0;
	if (!v && (flags & (SP_REQUIRED | SP_NONEMPTY)))
		*r = sp_fail_key(c, key, "is required");
	return v;
}

int sp_string(struct sp_ctx *c, struct json_object *obj, const char *key,
	      unsigned flags, const char **out)
{
	int r;
	struct json_object *v = member_or_absent(c, obj, key, flags, &r);
	size_t mark;

	if (!v)
		return r;
	mark = sp_push_key(c, key);
	r = sp_value_string(c, v, flags, out);
	sp_pop(c, mark);
	return r;
}

int sp_bool(struct sp_ctx *c, struct json_object *obj, const char *key,
	    bool *out)
{
	struct json_object *v = sp_member(obj, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return sp_fail_key(c, key, "must be a boolean");
	*out = json_object_get_boolean(v);
	return 1;
}

int sp_int(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, int64_t min, int64_t max, int64_t *out)
{
	int r;
	struct json_object *v = member_or_absent(c, obj, key, flags, &r);
	size_t mark;

	if (!v)
		return r;
	mark = sp_push_key(c, key);
	r = sp_value_int(c, v, min, max, out);
	sp_pop(c, mark);
	return r;
}

int sp_u32(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, uint32_t *out)
{
	int64_t v = 0;
	int r = sp_int(c, obj, key, flags, 0, UINT32_MAX, &v);

	if (r > 0)
		*out = (uint32_t)v;
	return r;
}

int sp_opt_u32(struct sp_ctx *c, struct json_object *obj, const char *key,
	       bool *has, uint32_t *out)
{
	int r = sp_u32(c, obj, key, 0, out);

	*has = r > 0;
	return r;
}

int sp_u64(struct sp_ctx *c, struct json_object *obj, const char *key,
	   unsigned flags, uint64_t *out)
{
	int r;
	struct json_object *v = member_or_absent(c, obj, key, flags, &r);
	size_t mark;

	if (!v)
		return r;
	mark = sp_push_key(c, key);
	r = sp_value_u64(c, v, out);
	sp_pop(c, mark);
	return r;
}

int sp_object(struct sp_ctx *c, struct json_object *obj, const char *key,
	      unsigned flags, struct json_object **out)
{
	int r;
	struct json_object *v = member_or_absent(c, obj, key, flags, &r);

	if (!v)
		return r;
	if (!json_object_is_type(v, json_type_object))
		return sp_fail_key(c, key, "must be an object");
	*out = v;
	return 1;
}

int sp_array(struct sp_ctx *c, struct json_object *obj, const char *key,
	     unsigned flags, struct json_object **out, size_t *n)
{
	struct json_object *v = sp_member(obj, key);
	bool nonempty = flags & SP_NONEMPTY;

	*n = 0;
	if (!v && !(flags & (SP_REQUIRED | SP_NONEMPTY)))
		return 0;
	if (!v && !nonempty)
		return sp_fail_key(c, key, "is required");
	if (!json_object_is_type(v, json_type_array))
		return sp_fail_key(c, key, "must be %s array",
				   nonempty ? "a non-empty" : "an");
	*n = json_object_array_length(v);
	if (nonempty && *n == 0)
		return sp_fail_key(c, key, "must be a non-empty array");
	*out = v;
	return 1;
}

int sp_strv(struct sp_ctx *c, struct json_object *obj, const char *key,
	    unsigned flags, const char ***out, size_t *n)
{
	struct json_object *arr = NULL;
	size_t len = 0, mark;
	const char **v;
	int r = sp_array(c, obj, key, flags, &arr, &len);

	if (r < 0)
		return r;
	/* Even an absent array comes out as an empty, terminated one, so
	 * callers may hand it straight to execve(). */
	v = sp_calloc(c, len + 1, sizeof(*v));
	if (!v)
		return -1;
	*out = v;
	*n = len;
	mark = sp_push_key(c, key);
	for (size_t i = 0; i < len && r >= 0; i++) {
		size_t m = sp_push_index(c, i);

		r = sp_value_string(c, json_object_array_get_idx(arr, i),
				    flags & SP_ABSOLUTE, &v[i]);
		sp_pop(c, m);
	}
	sp_pop(c, mark);
	return r;
}

int sp_string_map(struct sp_ctx *c, struct json_object *obj, const char *key,
		  struct spec_kv **out, size_t *n)
{
	struct json_object *map = NULL;
	struct json_object_iterator it, end;
	struct spec_kv *kv;
	size_t mark, i = 0;
	int r = sp_object(c, obj, key, 0, &map);

	if (r <= 0 || json_object_object_length(map) == 0)
		return r;
	kv = sp_calloc(c, (size_t)json_object_object_length(map), sizeof(*kv));
	if (!kv)
		return -1;
	*out = kv;
	*n = (size_t)json_object_object_length(map);
	mark = sp_push_key(c, key);
	it = json_object_iter_begin(map);
	end = json_object_iter_end(map);
	for (; r >= 0 && !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it), i++) {
		size_t m = sp_push_key(c, json_object_iter_peek_name(&it));

		kv[i].key = json_object_iter_peek_name(&it);
		r = sp_value_string(c, json_object_iter_peek_value(&it), 0,
				    &kv[i].value);
		sp_pop(c, m);
	}
	sp_pop(c, mark);
	return r;
}

int sp_struct_array(struct sp_ctx *c, struct json_object *obj, const char *key,
		    size_t size, sp_elem_fn fn, void **out, size_t *n)
{
	struct json_object *arr = NULL;
	size_t len = 0, mark;
	char *elems;
	int r = sp_array(c, obj, key, 0, &arr, &len);

	if (r <= 0 || len == 0)
		return r;
	elems = sp_calloc(c, len, size);
	if (!elems)
		return -1;
	*out = elems;
	*n = len;
	mark = sp_push_key(c, key);
	for (size_t i = 0; i < len && r >= 0; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		size_t m = sp_push_index(c, i);

		r = sp_value_object(c, v);
		if (r >= 0)
			r = fn(c, v, elems + i * size);
		sp_pop(c, m);
	}
	sp_pop(c, mark);
	return r < 0 ? -1 : 1;
}

static int parse_id_mapping(struct sp_ctx *c, struct json_object *v,
			    void *elem)
{
	struct spec_id_mapping *m = elem;

	if (sp_u32(c, v, "containerID", SP_REQUIRED, &m->container_id) < 0 ||
	    sp_u32(c, v, "hostID", SP_REQUIRED, &m->host_id) < 0 ||
	    sp_u32(c, v, "size", SP_REQUIRED, &m->size) < 0)
		return -1;
	if (m->size == 0)
		return sp_fail_key(c, "size", "must be greater than 0");
	return 0;
}

int sp_id_mappings(struct sp_ctx *c, struct json_object *obj, const char *key,
		   struct spec_id_mapping **out, size_t *n)
{
	void *arr = NULL;
	int r = sp_struct_array(c, obj, key, sizeof(**out), parse_id_mapping,
				&arr, n);

	*out = arr;
	return r;
}

const struct sp_name *sp_name_find(const struct sp_name *table, size_t n,
				   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}
