/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.seccomp: the config's syscall filter as a libseccomp filter.
 *
 * seccomp_build() runs in the runtime before forking, so a bad profile fails
 * early with nothing left behind; the child inherits the built context and
 * calls seccomp_install() in its init.
 *
 * When to install (as runc): loading a filter without no_new_privs needs
 * CAP_SYS_ADMIN, so
 *   - without process.noNewPrivileges, install BEFORE process_set_user() and
 *     caps_apply() drop privileges (the profile must then allow the syscalls
 *     the init makes afterwards: setresuid, capset, prctl, execve, ...);
 *   - with it, set PR_SET_NO_NEW_PRIVS and install as the last step before
 *     execve().
 * The filter never sets no_new_privs itself (SCMP_FLTATR_CTL_NNP = 0).
 *
 * Semantics follow runc: syscall names libseccomp does not know are ignored;
 * a rule whose action equals the default action is skipped; args on
 * distinct indexes are AND-ed in one rule, but when two args share an index
 * each arg becomes its own rule (OR). For SCMP_CMP_MASKED_EQ, `value` is the
 * mask and `valueTwo` the datum: matches when (arg & value) == valueTwo.
 * SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to EPERM when errnoRet is absent.
 * Not done (unlike runc): the -ENOSYS stub for syscalls newer than the
 * profile (runc's patchbpf).
 */
#ifndef HUSK_RUNTIME_SECCOMP_H
#define HUSK_RUNTIME_SECCOMP_H

#include <seccomp.h>
#include <stdint.h>

#include "../base/error.h"
#include "../spec/spec.h"

/* Builds the filter for s (non-NULL). Returns NULL and fills *err, whose
 * message names the JSON path ("config.json: linux.seccomp.syscalls[3]
 * .action: unknown action \"SCMP_ACT_FOO\""). Release with
 * seccomp_release(). */
scmp_filter_ctx seccomp_build(const struct spec_seccomp *s, husk_error **err);

/* Loads ctx into the kernel for the calling thread (and, with
 * SECCOMP_FILTER_FLAG_TSYNC, its siblings). *notify_fd_out gets the
 * SCMP_ACT_NOTIFY listener fd, to hand to listenerPath, or -1 when the
 * filter has no notify rule. Does not release ctx. */
int seccomp_install(scmp_filter_ctx ctx, int *notify_fd_out, husk_error **err);

/* Pure name mappings (unit-tested).
 *
 * seccomp_action_from_name: "SCMP_ACT_ERRNO" etc. to a libseccomp action;
 * errno_ret is used by ERRNO and TRACE (pass EPERM when errnoRet is absent).
 * Returns 0, -EINVAL for an unknown name, -ERANGE when errno_ret does not fit
 * the 16-bit return data. */
int seccomp_action_from_name(const char *name, unsigned errno_ret,
			     uint32_t *out);

/* "SCMP_CMP_EQ" etc. Returns 0 or -EINVAL. */
int seccomp_op_from_name(const char *name, enum scmp_compare *out);

/* "SCMP_ARCH_X86_64" etc. to an arch token; 0 when unknown to libseccomp. */
uint32_t seccomp_arch_from_name(const char *name);

/* "SECCOMP_FILTER_FLAG_LOG" etc. to the filter attribute that requests it.
 * Returns 0, -EINVAL for an unknown name, -EOPNOTSUPP for a flag this
 * libseccomp cannot request. */
int seccomp_flag_from_name(const char *name, enum scmp_filter_attr *out);

#endif
