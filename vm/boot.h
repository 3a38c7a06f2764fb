/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a micro-VM boots: the guest kernel as an uncompressed PVH vmlinux
 * and an initramfs holding husk's guest agent and the kernel modules it
 * needs, both built once and cached by content.
 *
 * The initramfs, as the agent (vm/agent/) finds it:
 *   /init                 the static agent binary (husk-agent)
 *   /modules/NN-name.ko   modules, loaded in lexical order (NN = 00, 01,
 *                         ...: dependencies first, as modules.dep orders
 *                         them), uncompressed
 * The agent makes every other directory it needs itself.
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
	char *vmlinux; /* PVH ELF, in cache_dir */
	char *initrd;  /* newc cpio, in cache_dir */
	char *release; /* the kernel's release, e.g. "6.1.0-56-amd64" */
};

/* Finds or builds both artifacts. Safe against concurrent callers (files
 * appear atomically by rename). Errors name the file: a missing kernel, a
 * kernel without a PVH entry, a module missing from modules.dep. */
int vm_boot_prepare(const struct vm_boot_opts *o, struct vm_boot *out, husk_error **err);
void vm_boot_clear(struct vm_boot *b);

#endif
