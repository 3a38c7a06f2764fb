/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parts of vm_boot_prepare() (boot.h), split by job and exposed for
 * the unit tests: the guest kernel (kernel.c), the modules.dep closure
 * (modules.c), the newc writer (initramfs.c) and the content cache
 * (boot_cache.c).
 */
#ifndef HUSK_VM_BOOT_INTERNAL_H
#define HUSK_VM_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

/* ---- boot_cache.c ---------------------------------------------------- */

/*
 * 64-bit FNV-1a. It only names cache files by content; it is not a
 * security boundary (whoever can write the inputs or the cache directory
 * decides what the guest boots anyway).
 */
#define BOOT_HASH_INIT 0xcbf29ce484222325ULL
uint64_t boot_hash(uint64_t h, const void *data, size_t len);
uint64_t boot_hash_str(uint64_t h, const char *s); /* includes the NUL */

/* The whole file in a heap buffer (NUL-terminated past len). */
int boot_read_file(const char *path, char **data, size_t *len, husk_error **err);

/* Writes data to dir/name through a temporary file and rename(2), so a
 * reader sees the old file, no file, or the whole new one. */
int boot_write_atomic(const char *dir, const char *name, const void *data, size_t len,
		      husk_error **err);

int boot_mkdir_p(const char *path, husk_error **err);

/* An exclusive flock on dir/.lock, held while the fd is open. Builds take
 * it so that concurrent first runs decompress the kernel once; lookups do
 * not need it (files appear by rename). */
int boot_cache_lock(const char *dir, husk_error **err);

/*
 * The stat index: a small file that says "while these input files keep
 * their (path, dev, inode, size, mtime), the outputs are these", so a
 * cached prepare stats a few files instead of hashing megabytes.
 */
#define BOOT_INDEX_MAX_IN 128
#define BOOT_INDEX_MAX_OUT 4
struct boot_index {
	size_t n_in, n_out;
	char *in[BOOT_INDEX_MAX_IN];   /* input paths */
	char key[BOOT_INDEX_MAX_IN][112]; /* their stat keys when added */
	char *out[BOOT_INDEX_MAX_OUT]; /* output strings (file names in the cache, a release) */
};

/* Records path with its stat key now: add an input before reading it, so
 * a change while it is read makes the next lookup miss. */
int boot_index_add_in(struct boot_index *ix, const char *path);
int boot_index_add_out(struct boot_index *ix, const char *value);

/* Loads cache_dir/name into ix when every input still has the stat key
 * recorded and every output that names a file in cache_dir exists.
 * Returns 1 on a hit, 0 on a miss (ix left empty); never fails: a broken
 * index is only a miss. */
int boot_index_lookup(const char *cache_dir, const char *name, struct boot_index *ix);

/* Records ix under cache_dir/name. */
int boot_index_store(const char *cache_dir, const char *name, const struct boot_index *ix,
		     husk_error **err);

void boot_index_clear(struct boot_index *ix);

/* ---- kernel.c -------------------------------------------------------- */

/*
 * From a kernel file's bytes to the ELF QEMU boots: a bzImage's payload
 * decompressed (XZ or LZMA; other compressions are refused by name), or
 * an ELF as is (*elf then points into data and *owned is NULL). name is
 * only for messages.
 */
int kernel_to_elf(const char *name, const char *data, size_t len, const char **elf,
		  size_t *elf_len, char **owned, husk_error **err);

/* 1 when the ELF has a Xen PHYS32_ENTRY (PVH) note, 0 when not, -1 when
 * it is not a 64-bit x86 ELF. */
int kernel_has_pvh(const char *name, const char *elf, size_t len, husk_error **err);

/* The release ("6.1.0-56-amd64"): from a bzImage header's kernel_version,
 * else from "Linux version X " inside an ELF. NULL when not found. */
char *kernel_release(const char *data, size_t len);

/* Newest <dir>/vmlinuz-* in version order (strverscmp). */
int kernel_find_default(const char *dir, char **path, husk_error **err);

/* ---- modules.c ------------------------------------------------------- */

struct boot_module {
	char *name; /* file name without .ko[.xz], as in the tree: "9pnet_virtio" */
	char *path; /* absolute */
};

struct boot_modules {
	struct boot_module *v;
	size_t n;
};

/*
 * The load order of want[] and everything they depend on, from
 * dir/modules.dep: dependencies before their users, each module once.
 * '-' and '_' in names are the same. Modules built into the kernel
 * (dir/modules.builtin) are left out; a module that is in neither file
 * is an error naming it.
 */
int modules_resolve(const char *dir, const char *const *want, size_t n_want,
		    struct boot_modules *out, husk_error **err);
void boot_modules_clear(struct boot_modules *m);

/* A module file's bytes ready for finit_module(): .ko as is, .ko.xz
 * decompressed; other suffixes are refused by name. */
int module_load_bytes(const char *path, char **data, size_t *len, husk_error **err);

/* liblzma: one .xz or .lzma stream in, its bytes out (a heap buffer). */
int boot_unxz(const char *name, const void *in, size_t in_len, size_t size_hint, char **out,
	      size_t *out_len, husk_error **err);

/* ---- initramfs.c ----------------------------------------------------- */

/* A newc ("070701") cpio archive built in memory. Inode numbers count up
 * from 1 and every mtime is 0, so equal inputs give equal bytes. Sizes
 * are 32-bit fields: callers keep each file under 4 GiB. */
struct newc {
	char *data;
	size_t len, cap;
	uint32_t ino;
};

void newc_add(struct newc *c, const char *name, mode_t mode, const void *data, size_t len);
void newc_add_dev(struct newc *c, const char *name, mode_t mode, unsigned major, unsigned minor);
void newc_finish(struct newc *c); /* the TRAILER!!! entry */
void newc_clear(struct newc *c);

#endif
