/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: husk's state.json (spec/state.h state_parse), then the
 * views written from it (state_serialize, the OCI state, runc's state) and
 * a second parse of what was serialized. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/state.h"

/* This target found state_parse keeping non-object "annotations", which
 * then aborted `state` and `list` in a json-c assertion; the views below
 * run on every state it accepts, so that stays fixed. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1); /* state_parse takes a C string */
	struct container_state st, again;
	husk_error *err = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (state_parse(text, &st, &err) == 0) {
		char *ser = state_serialize(&st);
		char *oci = state_oci_json(&st, "running");
		struct json_object *runc = state_runc_object(&st, "stopped");

		if (ser && state_parse(ser, &again, NULL) == 0)
			state_clear(&again);
		free(ser);
		free(oci);
		json_object_put(runc);
		state_clear(&st);
	}
	husk_error_free(&err);
	free(text);
	return 0;
}
