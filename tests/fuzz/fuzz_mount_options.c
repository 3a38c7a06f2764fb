/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: config.json mount options (rootfs/mount_options.h).
 * The input is the options array, one option per line; its first line is
 * also tried as a linux.rootfsPropagation value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../rootfs/mount_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	const char **opts;
	size_t n = 0, max = 1;
	struct mount_opts o;
	unsigned long prop;
	husk_error *err = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size; i++)
		max += text[i] == '\n';
	opts = calloc(max, sizeof(*opts));
	if (!opts) {
		free(text);
		return 0;
	}
	for (char *p = text, *nl; p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		opts[n++] = p;
	}
	mount_propagation_parse(opts[0], &prop);
	if (mount_options_parse(opts, n, &o, &err) == 0) {
		(void)mount_opts_is_bind(NULL, &o);
		(void)mount_attr_from_flags(o.flags);
		if (o.data && strlen(o.data) > size)
			abort(); /* data is made of the options and commas */
	}
	mount_opts_done(&o);
	husk_error_free(&err);
	free(opts);
	free(text);
	return 0;
}
