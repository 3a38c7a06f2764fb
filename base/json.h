/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lookups in json-c objects that every module needs: a missing key, a NULL
 * object and a value of the wrong type all read as "absent". */
#ifndef HUSK_BASE_JSON_H
#define HUSK_BASE_JSON_H

#include <json-c/json.h>

static inline struct json_object *json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The string at key, or NULL when it is missing or not a string. */
static inline const char *json_get_string(struct json_object *o, const char *key)
{
	struct json_object *v = json_get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Any value at key as text for display ("" when missing). */
static inline const char *json_get_text(struct json_object *o, const char *key)
{
	struct json_object *v = json_get(o, key);
	return v ? json_object_get_string(v) : "";
}

#endif
