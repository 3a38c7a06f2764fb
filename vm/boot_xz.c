/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decompressing a kernel payload or a .ko.xz with liblzma.
 *
 * liblzma is dlopen()ed here, when a kernel is first extracted: linked, it
 * would be loaded by every husk command, container start included, for a
 * step a cached micro-VM boot never takes.
 */
#include "boot_internal.h"

#include <dlfcn.h>
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

#define LIBLZMA "liblzma.so.5"

struct lzma_lib {
	void *dl;
	lzma_ret (*auto_decoder)(lzma_stream *, uint64_t, uint32_t);
	lzma_ret (*code)(lzma_stream *, lzma_action);
	void (*end)(lzma_stream *);
};

static void lzma_lib_close(struct lzma_lib *l)
{
	if (l->dl)
		dlclose(l->dl);
}

static int lzma_lib_open(struct lzma_lib *l, husk_error **err)
{
	*l = (struct lzma_lib){ .dl = dlopen(LIBLZMA, RTLD_NOW | RTLD_LOCAL) };
	if (!l->dl)
		return husk_fail(err, 0, "decompress: cannot load " LIBLZMA " (Debian: liblzma5): %s",
				 dlerror());
	*(void **)&l->auto_decoder = dlsym(l->dl, "lzma_auto_decoder");
	*(void **)&l->code = dlsym(l->dl, "lzma_code");
	*(void **)&l->end = dlsym(l->dl, "lzma_end");
	if (!l->auto_decoder || !l->code || !l->end)
		return husk_fail(err, 0, "decompress: " LIBLZMA " lacks lzma_auto_decoder/code/end");
	return 0;
}

static int unxz_stream(const struct lzma_lib *l, lzma_stream *s, const char *name, char **bufp,
		       size_t cap, husk_error **err)
{
	s->next_out = (uint8_t *)*bufp;
	s->avail_out = cap;
	for (;;) {
		lzma_ret r = l->code(s, LZMA_FINISH);
		if (r == LZMA_STREAM_END)
			return 0;
		if (r != LZMA_OK)
			return husk_fail(err, 0, "decompress `%s`: %s", name, lzma_what(r));
		if (s->avail_out == 0) {
			char *bigger = realloc(*bufp, cap * 2);
			if (!bigger)
				return husk_fail(err, ENOMEM, "decompress `%s`", name);
			*bufp = bigger;
			s->next_out = (uint8_t *)bigger + cap;
			s->avail_out = cap;
			cap *= 2;
		}
	}
}

int boot_unxz(const char *name, const void *in, size_t in_len, size_t size_hint, char **out,
	      size_t *out_len, husk_error **err)
{
	_cleanup_(lzma_lib_close) struct lzma_lib l = { 0 };
	if (lzma_lib_open(&l, err) < 0)
		return -1;
	lzma_stream s = LZMA_STREAM_INIT;
	/* lzma_auto_decoder takes .xz and legacy .lzma; one stream only, so
	 * bytes after it (a bzImage's appended size) are ignored. */
	lzma_ret r = l.auto_decoder(&s, UINT64_MAX, 0);
	if (r != LZMA_OK)
		return husk_fail(err, 0, "decompress `%s`: %s", name, lzma_what(r));
	/* The hint comes from the file; a silly one is only ignored. Slack
	 * past it so the stream's end is read without growing the buffer. */
	if (size_hint == 0 || size_hint / 64 > in_len)
		size_hint = in_len * 4;
	size_t cap = size_hint + 65536;
	_cleanup_free_ char *buf = malloc(cap);
	s.next_in = in;
	s.avail_in = in_len;
	int ret = buf ? unxz_stream(&l, &s, name, &buf, cap, err)
		      : husk_fail(err, ENOMEM, "decompress `%s`", name);
	*out_len = (size_t)s.total_out;
	l.end(&s);
	if (ret < 0)
		return -1;
	*out = TAKE_PTR(buf);
	return 0;
}
