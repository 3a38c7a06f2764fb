/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_boot_prepare(): the vmlinux and initramfs a micro-VM boots, built once
 * and kept in cache_dir under names taken from a hash of their inputs:
 *
 *   vmlinux-HASH        HASH of the kernel file's bytes
 *   initrd-HASH.cpio    HASH of the agent's bytes, the module list and
 *                       each module's bytes
 *   kernel-KEY.idx,     stat indexes (boot_cache.c): while the inputs keep
 *   initrd-KEY.idx      their stat keys, the names above without hashing
 *
 * so a cached call reads two small files and stats about ten.
 */
#include "boot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "boot_internal.h"

/* Part of every hash: change it when what is built from the same inputs
 * changes (the initramfs layout, the kernel extraction). */
#define BOOT_FORMAT "husk-vm-boot 1"

#define BOOT_DIR "/boot"
#define MODULES_DIR "/lib/modules"
#define MAX_FILE (256u << 20) /* newc sizes are 32-bit; no module or agent is near this */

static const char *const base_modules[] = { "virtio_mmio", "9pnet_virtio", "9p", "virtio_console" };
static const char *const net_modules[] = { "virtio_net" };

static char *join(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static char *hashed_name(const char *prefix, uint64_t h, const char *suffix)
{
	char *p;
	if (asprintf(&p, "%s%016" PRIx64 "%s", prefix, h, suffix) < 0)
		abort();
	return p;
}

static bool cached(const char *dir, const char *name)
{
	_cleanup_free_ char *p = join(dir, name);
	return access(p, R_OK) == 0;
}

/* An absolute path for an input, so QEMU (started elsewhere) finds it and
 * the index is keyed the same from any cwd. */
static int input_path(const char *what, const char *path, char **abs, husk_error **err)
{
	if (!(*abs = realpath(path, NULL)))
		return husk_fail(err, errno, "%s `%s`", what, path);
	return 0;
}

/* The kernel as a PVH ELF in the cache: decompressed from a bzImage, or
 * the file itself when it is already an ELF. */
static int build_vmlinux(const char *dir, const char *kernel, struct boot_index *ix,
			 husk_error **err)
{
	_cleanup_free_ char *data = NULL, *elf_owned = NULL, *name = NULL, *release = NULL;
	size_t len, elf_len;
	const char *elf;

	if (boot_index_add_in(ix, kernel) < 0)
		return husk_fail(err, 0, "kernel `%s`: unusable path", kernel);
	if (boot_read_file(kernel, &data, &len, err) < 0)
		return husk_error_wrap(err, "kernel");
	bool is_elf = len >= 4 && !memcmp(data, "\177ELF", 4);
	if (!is_elf)
		name = hashed_name("vmlinux-", boot_hash(boot_hash_str(BOOT_HASH_INIT, BOOT_FORMAT), data, len), "");

	if (is_elf || !cached(dir, name)) {
		if (kernel_to_elf(kernel, data, len, &elf, &elf_len, &elf_owned, err) < 0)
			return -1;
		int pvh = kernel_has_pvh(kernel, elf, elf_len, err);
		if (pvh < 0)
			return -1;
		if (pvh == 0)
			return husk_fail(err, 0, "kernel `%s` has no PVH entry point; QEMU microvm needs CONFIG_PVH",
					 kernel);
		if (!is_elf && boot_write_atomic(dir, name, elf, elf_len, err) < 0)
			return -1;
	}
	if (!(release = kernel_release(data, len)))
		return husk_fail(err, 0, "kernel `%s`: no release string (\"Linux version X\") found", kernel);
	boot_index_add_out(ix, is_elf ? kernel : name);
	boot_index_add_out(ix, release);
	return 0;
}

static bool kernel_hit(const char *dir, const char *idx, struct boot_index *ix)
{
	if (boot_index_lookup(dir, idx, ix) && ix->n_in == 1 && ix->n_out == 2)
		return true;
	boot_index_clear(ix);
	return false;
}

static int prepare_kernel(const char *dir, const char *kernel, char **vmlinux, char **release,
			  husk_error **err)
{
	_cleanup_free_ char *idx = hashed_name("kernel-",
		boot_hash_str(boot_hash_str(BOOT_HASH_INIT, BOOT_FORMAT), kernel), ".idx");
	struct boot_index ix = { 0 };
	int r = 0;

	if (!kernel_hit(dir, idx, &ix)) {
		_cleanup_close_ int lock = boot_cache_lock(dir, err);
		if (lock < 0)
			return -1;
		/* Another caller may have built it while we waited. */
		if (!kernel_hit(dir, idx, &ix)) {
			r = build_vmlinux(dir, kernel, &ix, err);
			if (r == 0)
				r = boot_index_store(dir, idx, &ix, err);
		}
	}
	if (r == 0) {
		*vmlinux = ix.out[0][0] == '/' ? strdup(ix.out[0]) : join(dir, ix.out[0]);
		*release = strdup(ix.out[1]);
		if (!*vmlinux || !*release)
			abort();
	}
	boot_index_clear(&ix);
	return r;
}

/* The newc archive (boot.h has its layout). */
static int write_initrd(const char *dir, const char *name, const char *agent, size_t agent_len,
			const struct boot_modules *mods, husk_error **err)
{
	struct newc c = { 0 };
	int r = 0;

	if (mods->n > 100)
		return husk_fail(err, 0, "%zu kernel modules; at most 100 fit /modules/NN-name.ko", mods->n);
	newc_add(&c, "dev", S_IFDIR | 0755, NULL, 0);
	newc_add_dev(&c, "dev/console", S_IFCHR | 0600, 5, 1);
	newc_add(&c, "init", S_IFREG | 0755, agent, agent_len);
	newc_add(&c, "modules", S_IFDIR | 0755, NULL, 0);
	for (size_t i = 0; r == 0 && i < mods->n; i++) {
		_cleanup_free_ char *ko = NULL, *entry = NULL;
		size_t ko_len;
		r = module_load_bytes(mods->v[i].path, &ko, &ko_len, err);
		if (r == 0 && ko_len > MAX_FILE)
			r = husk_fail(err, EFBIG, "kernel module `%s`", mods->v[i].path);
		if (r < 0)
			break;
		if (asprintf(&entry, "modules/%02zu-%s.ko", i, mods->v[i].name) < 0)
			abort();
		newc_add(&c, entry, S_IFREG | 0644, ko, ko_len);
	}
	if (r == 0) {
		newc_finish(&c);
		r = boot_write_atomic(dir, name, c.data, c.len, err);
	}
	newc_clear(&c);
	return r;
}

static int build_initrd(const struct vm_boot_opts *o, const char *dir, const char *agent,
			const char *moddir, struct boot_index *ix, husk_error **err)
{
	const char *want[ARRAY_SIZE(base_modules) + ARRAY_SIZE(net_modules)];
	size_t n_want = 0;
	for (size_t i = 0; i < ARRAY_SIZE(base_modules); i++)
		want[n_want++] = base_modules[i];
	for (size_t i = 0; o->net && i < ARRAY_SIZE(net_modules); i++)
		want[n_want++] = net_modules[i];

	_cleanup_free_ char *dep = join(moddir, "modules.dep"), *builtin = join(moddir, "modules.builtin");
	_cleanup_free_ char *agent_data = NULL, *name = NULL;
	size_t agent_len;
	struct boot_modules mods = { 0 };
	int r = -1;

	if (boot_index_add_in(ix, agent) < 0 || boot_index_add_in(ix, dep) < 0 ||
	    boot_index_add_in(ix, builtin) < 0)
		return husk_fail(err, 0, "agent `%s` or modules `%s`: unusable path", agent, moddir);
	if (boot_read_file(agent, &agent_data, &agent_len, err) < 0)
		return husk_error_wrap(err, "agent");
	if (agent_len > MAX_FILE)
		return husk_fail(err, EFBIG, "agent `%s`", agent);
	if (modules_resolve(moddir, want, n_want, &mods, err) < 0)
		return -1;

	uint64_t h = boot_hash_str(BOOT_HASH_INIT, BOOT_FORMAT);
	h = boot_hash(h, agent_data, agent_len);
	for (size_t i = 0; i < mods.n; i++) {
		_cleanup_free_ char *raw = NULL;
		size_t raw_len;
		if (boot_index_add_in(ix, mods.v[i].path) < 0) {
			husk_fail(err, 0, "kernel module `%s`: unusable path", mods.v[i].path);
			goto out;
		}
		if (boot_read_file(mods.v[i].path, &raw, &raw_len, err) < 0)
			goto out;
		h = boot_hash(boot_hash_str(h, mods.v[i].name), raw, raw_len);
	}
	name = hashed_name("initrd-", h, ".cpio");
	if (!cached(dir, name) && write_initrd(dir, name, agent_data, agent_len, &mods, err) < 0)
		goto out;
	boot_index_add_out(ix, name);
	r = 0;
out:
	boot_modules_clear(&mods);
	return r;
}

static bool initrd_hit(const char *dir, const char *idx, struct boot_index *ix)
{
	if (boot_index_lookup(dir, idx, ix) && ix->n_in >= 3 && ix->n_out == 1)
		return true;
	boot_index_clear(ix);
	return false;
}

static int prepare_initrd(const struct vm_boot_opts *o, const char *dir, const char *release,
			  char **initrd, husk_error **err)
{
	_cleanup_free_ char *agent = NULL, *moddir = NULL, *idx = NULL;
	if (!o->agent)
		return husk_fail(err, 0, "vm: no guest agent given");
	if (input_path("agent", o->agent, &agent, err) < 0)
		return -1;
	if (o->modules) {
		if (input_path("kernel modules", o->modules, &moddir, err) < 0)
			return -1;
	} else if (asprintf(&moddir, "%s/%s", MODULES_DIR, release) < 0) {
		abort();
	}

	uint64_t key = boot_hash_str(BOOT_HASH_INIT, BOOT_FORMAT);
	key = boot_hash_str(boot_hash_str(key, agent), moddir);
	key = boot_hash_str(key, o->net ? "net" : "");
	idx = hashed_name("initrd-", key, ".idx");

	struct boot_index ix = { 0 };
	int r = 0;
	if (!initrd_hit(dir, idx, &ix)) {
		_cleanup_close_ int lock = boot_cache_lock(dir, err);
		if (lock < 0)
			return -1;
		if (!initrd_hit(dir, idx, &ix)) {
			r = build_initrd(o, dir, agent, moddir, &ix, err);
			if (r == 0)
				r = boot_index_store(dir, idx, &ix, err);
		}
	}
	if (r == 0)
		*initrd = join(dir, ix.out[0]);
	boot_index_clear(&ix);
	return r;
}

int vm_boot_prepare(const struct vm_boot_opts *o, struct vm_boot *out, husk_error **err)
{
	_cleanup_free_ char *kernel = NULL, *dir = NULL;
	*out = (struct vm_boot){ 0 };

	if (!o->cache_dir)
		return husk_fail(err, 0, "vm: no cache directory given");
	if (o->kernel ? input_path("kernel", o->kernel, &kernel, err) < 0
		      : kernel_find_default(BOOT_DIR, &kernel, err) < 0)
		return -1;
	if (boot_mkdir_p(o->cache_dir, err) < 0 || input_path("cache", o->cache_dir, &dir, err) < 0)
		return husk_error_wrap(err, "vm cache");
	if (prepare_kernel(dir, kernel, &out->vmlinux, &out->release, err) < 0 ||
	    prepare_initrd(o, dir, out->release, &out->initrd, err) < 0) {
		vm_boot_clear(out);
		return -1;
	}
	return 0;
}

void vm_boot_clear(struct vm_boot *b)
{
	free(b->vmlinux);
	free(b->initrd);
	free(b->release);
	*b = (struct vm_boot){ 0 };
}
