/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: config.json (spec/spec.h spec_parse). */
#include <stddef.h>
#include <stdint.h>

#include "../../spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	husk_error *err = NULL;
	struct spec *s = spec_parse((const char *)data, size, &err);

	spec_free(s);
	husk_error_free(&err);
	return 0;
}
