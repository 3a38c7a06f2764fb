/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest kernel: from a bzImage (or a vmlinux) to the PVH ELF that QEMU
 * microvm boots without the kernel's own, slow under TCG, decompressor.
 *
 * bzImage layout (Documentation/arch/x86/boot.rst): the setup header sits
 * at 0x1f1; the protected-mode part starts after (setup_sects + 1) sectors
 * of 512 bytes, and the compressed vmlinux ("payload") lies at
 * payload_offset into it (boot protocol 2.08+).
 */
#include "boot_internal.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/cleanup.h"

#define HDR_SETUP_SECTS 0x1f1
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_KERNEL_VERSION 0x20e
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_END 0x250

#ifndef XEN_ELFNOTE_PHYS32_ENTRY
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#endif

static uint32_t le16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8;
}

static uint32_t le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static bool is_bzimage(const char *data, size_t len)
{
	return len >= HDR_END && memcmp(data + HDR_MAGIC, "HdrS", 4) == 0;
}

static bool is_elf(const char *data, size_t len)
{
	return len >= EI_NIDENT && memcmp(data, ELFMAG, SELFMAG) == 0;
}

static const char *compression_name(const unsigned char *p, size_t len)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} known[] = {
		{ "\xfd" "7zXZ\0", 6, "xz" },  { "\x5d\0\0", 3, "lzma" },
		{ "\x1f\x8b", 2, "gzip" },      { "\x28\xb5\x2f\xfd", 4, "zstd" },
		{ "BZh", 3, "bzip2" },          { "\x89LZO", 4, "lzo" },
		{ "\x02\x21\x4c\x18", 4, "lz4" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (len >= known[i].len && memcmp(p, known[i].magic, known[i].len) == 0)
			return known[i].name;
	return NULL;
}

static int bzimage_payload(const char *name, const char *data, size_t len, const char **payload,
			   size_t *payload_len, husk_error **err)
{
	if (le16(data + HDR_VERSION) < 0x208)
		return husk_fail(err, 0, "kernel `%s`: boot protocol %#x is older than 2.08 (no payload fields)",
				 name, le16(data + HDR_VERSION));
	size_t sects = (unsigned char)data[HDR_SETUP_SECTS];
	size_t start = ((sects ? sects : 4) + 1) * 512;
	size_t off = le32(data + HDR_PAYLOAD_OFFSET), plen = le32(data + HDR_PAYLOAD_LENGTH);
	if (start > len || off > len - start || plen > len - start - off || plen < 8)
		return husk_fail(err, 0, "kernel `%s`: payload out of the file's bounds", name);
	*payload = data + start + off;
	*payload_len = plen;
	return 0;
}

int kernel_to_elf(const char *name, const char *data, size_t len, const char **elf,
		  size_t *elf_len, char **owned, husk_error **err)
{
	*owned = NULL;
	if (is_elf(data, len)) {
		*elf = data;
		*elf_len = len;
		return 0;
	}
	if (!is_bzimage(data, len))
		return husk_fail(err, 0, "kernel `%s` is neither a bzImage nor an ELF vmlinux", name);

	const char *payload = NULL;
	size_t plen = 0;
	if (bzimage_payload(name, data, len, &payload, &plen, err) < 0)
		return -1;
	const char *comp = compression_name((const unsigned char *)payload, plen);
	if (!comp || (strcmp(comp, "xz") && strcmp(comp, "lzma")))
		return husk_fail(err, 0, "kernel `%s`: %s-compressed payload; husk reads xz and lzma "
				 "(rebuild with CONFIG_KERNEL_XZ or pass an ELF vmlinux)",
				 name, comp ? comp : "unknown");
	/* The build appends the decompressed size as a little-endian u32. */
	size_t hint = le32(payload + plen - 4);
	char *out;
	size_t out_len;
	if (boot_unxz(name, payload, plen, hint, &out, &out_len, err) < 0)
		return -1;
	if (!is_elf(out, out_len)) {
		free(out);
		return husk_fail(err, 0, "kernel `%s`: the decompressed payload is not an ELF", name);
	}
	*elf = *owned = out;
	*elf_len = out_len;
	return 0;
}

/* Whether the notes in [p, p + len) hold Xen's PHYS32_ENTRY. */
static bool notes_have_pvh(const char *p, size_t len)
{
	while (len >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		memcpy(&n, p, sizeof(n));
		size_t name_sz = ((size_t)n.n_namesz + 3) & ~(size_t)3;
		size_t desc_sz = ((size_t)n.n_descsz + 3) & ~(size_t)3;
		size_t total = sizeof(n) + name_sz + desc_sz;
		if (name_sz > len || desc_sz > len || total > len)
			return false;
		if (n.n_namesz == 4 && memcmp(p + sizeof(n), "Xen", 4) == 0 &&
		    n.n_type == XEN_ELFNOTE_PHYS32_ENTRY)
			return true;
		p += total;
		len -= total;
	}
	return false;
}

int kernel_has_pvh(const char *name, const char *elf, size_t len, husk_error **err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh) || !is_elf(elf, len))
		return husk_fail(err, 0, "kernel `%s` is not an ELF", name);
	memcpy(&eh, elf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return husk_fail(err, 0, "kernel `%s` is not a 64-bit x86 ELF", name);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (size_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return husk_fail(err, 0, "kernel `%s`: program headers out of the file's bounds", name);
	/* Program headers, not sections: QEMU reads the PVH note from PT_NOTE. */
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			continue;
		if (notes_have_pvh(elf + ph.p_offset, ph.p_filesz))
			return 1;
	}
	return 0;
}

/* A release is one word that can name a directory under /lib/modules. */
static char *release_word(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n] > ' ' && s[n] < 0x7f && s[n] != '/')
		n++;
	if (n == 0 || n == max || (s[n] != ' ' && s[n] != '\0') || s[0] == '.')
		return NULL;
	return strndup(s, n);
}

char *kernel_release(const char *data, size_t len)
{
	if (is_bzimage(data, len)) {
		size_t at = le16(data + HDR_KERNEL_VERSION);
		if (at == 0 || at + 0x200 >= len)
			return NULL;
		return release_word(data + at + 0x200, len - at - 0x200);
	}
	static const char tag[] = "Linux version ";
	const char *p = data, *end = data + len;
	while ((p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1))) {
		p += sizeof(tag) - 1;
		if (p < end && *p >= '0' && *p <= '9') {
			char *r = release_word(p, (size_t)(end - p));
			if (r)
				return r;
		}
	}
	return NULL;
}

int kernel_find_default(const char *dir, char **path, husk_error **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return husk_fail(err, errno, "no kernel given and `%s` cannot be read", dir);
	_cleanup_free_ char *best = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vmlinuz-", 8) || e->d_name[8] == '\0')
			continue;
		if (best && strverscmp(e->d_name, best) <= 0)
			continue;
		free(best);
		if (!(best = strdup(e->d_name)))
			abort();
	}
	if (!best)
		return husk_fail(err, ENOENT, "no kernel given and no `%s/vmlinuz-*` found", dir);
	if (asprintf(path, "%s/%s", dir, best) < 0)
		abort();
	return 0;
}
