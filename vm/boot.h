/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a micro-VM boots: the guest kernel as an uncompressed PVH vmlinux
 * and an initramfs holding husk's guest agent and the kernel modules it
 * needs, both built once and cached by content.
 *
 * The initramfs (newc, uncompressed), as the agent (vm/agent/) finds it:
 *   /init                 the static agent binary (husk-agent), 0755
 *   /modules/NN-name.ko   modules, loaded in lexical order (NN = 00, 01,
 *                         ...: dependencies first, as modules.dep orders
 *                         them), uncompressed; name as the file is named
 *                         in the tree ("9pnet_virtio", "virtio-rng")
 *   /dev/console          char 5:1, so /init has stdio on kernels whose
 *                         built-in initramfs lacks it
 * The agent makes every other directory it needs itself. Modules built
 * into the kernel (modules.builtin) are not in /modules.
 *
 * Uncompressed because the kernel unpacks a plain cpio for free, and a
 * gzip'd one (a third of the size) measured no faster under TCG.
 *
 * Why the vmlinux: QEMU boots a PVH ELF directly; under TCG the kernel
 * decompressing its own bzImage costs seconds (see ../shared/notes/microvm.md).
 */
#ifndef HUSK_VM_BOOT_H
#define HUSK_VM_BOOT_H

#include <stdbool.h>

#include "../base/error.h"

struct vm_boot_opts {
	const char *kernel;    /* vmlinuz/bzImage or vmlinux; NULL: newest /boot/vmlinuz-* */
	const char *modules;   /* modules tree; NULL: /lib/modules/<release> */
	const char *agent;     /* static husk-agent binary */
	const char *cache_dir; /* where artifacts are kept, made if missing */
	bool net;              /* also the virtio_net modules */
};

struct vm_boot {
	char *vmlinux; /* PVH ELF: in cache_dir, or o->kernel itself when that is one */
	char *initrd;  /* newc cpio, in cache_dir */
	char *release; /* the kernel's release, e.g. "6.1.0-56-amd64" */
};

/* Finds or builds both artifacts. All paths in *out are absolute. When
 * nothing changed since the last call, this stats a few files and reads
 * two small index files (well under a millisecond); otherwise it hashes
 * the inputs and builds what is missing (about 0.6 s for a Debian
 * bzImage). Safe against concurrent callers (files appear atomically by
 * rename; builds take a lock in cache_dir). Errors name the file: a
 * missing kernel, a kernel without a PVH entry, a module neither in
 * modules.dep nor built in, an unreadable agent. */
int vm_boot_prepare(const struct vm_boot_opts *o, struct vm_boot *out, husk_error **err);
void vm_boot_clear(struct vm_boot *b);

#endif
