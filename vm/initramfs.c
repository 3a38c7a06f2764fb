/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A newc cpio writer: what the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Each entry
 * is a 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the
 * name with its NUL, padding to 4 bytes, the data, padding to 4 bytes.
 */
#include "boot_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void put(struct newc *c, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 65536;
		while (cap < c->len + n)
			cap *= 2;
		char *d = realloc(c->data, cap);
		if (!d)
			abort();
		c->data = d;
		c->cap = cap;
	}
	memcpy(c->data + c->len, p, n);
	c->len += n;
}

static void pad4(struct newc *c)
{
	static const char zero[4];
	put(c, zero, (4 - c->len % 4) % 4);
}

static void entry(struct newc *c, uint32_t ino, const char *name, mode_t mode, unsigned rmaj,
		  unsigned rmin, const void *data, size_t len)
{
	char hdr[111];
	size_t name_len = strlen(name) + 1;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)len,
		 0u, 0u, rmaj, rmin, (unsigned)name_len, 0u);
	put(c, hdr, 110);
	put(c, name, name_len);
	pad4(c);
	put(c, data, len);
	pad4(c);
}

void newc_add(struct newc *c, const char *name, mode_t mode, const void *data, size_t len)
{
	entry(c, ++c->ino, name, mode, 0, 0, data, len);
}

void newc_add_dev(struct newc *c, const char *name, mode_t mode, unsigned major, unsigned minor)
{
	entry(c, ++c->ino, name, mode, major, minor, NULL, 0);
}

void newc_finish(struct newc *c)
{
	entry(c, 0, "TRAILER!!!", 0, 0, 0, NULL, 0);
}

void newc_clear(struct newc *c)
{
	free(c->data);
	*c = (struct newc){ 0 };
}
