/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: process.json, as `exec --process FILE` reads it
 * (spec/spec.h spec_process_parse). */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "../../spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	husk_error *err = NULL;
	struct json_object *json = NULL;
	struct spec_process *p = spec_process_parse((const char *)data, size, &json, &err);

	spec_process_free(p);
	json_object_put(json);
	husk_error_free(&err);
	return 0;
}
