/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Decompressing a kernel payload or a .ko.xz with liblzma. */
#include "boot_internal.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"

static const char *lzma_what(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_FORMAT_ERROR: return "not an xz/lzma stream";
	case LZMA_OPTIONS_ERROR: return "unsupported xz options";
	case LZMA_DATA_ERROR: return "corrupt data";
	case LZMA_BUF_ERROR: return "truncated data";
	default: return "decoder error";
	}
}

int boot_unxz(const char *name, const void *in, size_t in_len, size_t size_hint, char **out,
	      size_t *out_len, husk_error **err)
{
	lzma_stream s = LZMA_STREAM_INIT;
	/* lzma_auto_decoder takes .xz and legacy .lzma; one stream only, so
	 * bytes after it (a bzImage's appended size) are ignored. */
	lzma_ret r = lzma_auto_decoder(&s, UINT64_MAX, 0);
	if (r != LZMA_OK)
		return husk_fail(err, 0, "decompress `%s`: %s", name, lzma_what(r));
	/* The hint comes from the file; a silly one is only ignored. Slack
	 * past it so the stream's end is read without growing the buffer. */
	if (size_hint == 0 || size_hint / 64 > in_len)
		size_hint = in_len * 4;
	size_t cap = size_hint + 65536;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf) {
		lzma_end(&s);
		return husk_fail(err, ENOMEM, "decompress `%s`", name);
	}
	s.next_in = in;
	s.avail_in = in_len;
	s.next_out = (uint8_t *)buf;
	s.avail_out = cap;
	for (;;) {
		r = lzma_code(&s, LZMA_FINISH);
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK) {
			lzma_end(&s);
			return husk_fail(err, 0, "decompress `%s`: %s", name, lzma_what(r));
		}
		if (s.avail_out == 0) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				lzma_end(&s);
				return husk_fail(err, ENOMEM, "decompress `%s`", name);
			}
			buf = bigger;
			s.next_out = (uint8_t *)buf + cap;
			s.avail_out = cap;
			cap *= 2;
		}
	}
	*out_len = (size_t)s.total_out;
	lzma_end(&s);
	*out = TAKE_PTR(buf);
	return 0;
}
