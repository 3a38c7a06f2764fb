/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The trampoline stub's bytes, linked into husk (see runtime/trampoline.h).
 * STUB_PATH is the built stub, given by the Makefile. */
	.section .rodata.husk_trampoline, "a"
	.balign 16
	.global husk_trampoline_start
	.hidden husk_trampoline_start
	.type husk_trampoline_start, @object
husk_trampoline_start:
	.incbin STUB_PATH
	.global husk_trampoline_end
	.hidden husk_trampoline_end
husk_trampoline_end:
	.size husk_trampoline_start, husk_trampoline_end - husk_trampoline_start

	.balign 8
	.global husk_trampoline_size
	.hidden husk_trampoline_size
	.type husk_trampoline_size, @object
husk_trampoline_size:
	.quad husk_trampoline_end - husk_trampoline_start
	.size husk_trampoline_size, 8

	.section .note.GNU-stack, "", @progbits
