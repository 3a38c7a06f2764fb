/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.capabilities: the five capability sets of the container process.
 *
 * Order of calls (container init, after fork and namespaces):
 *
 *   caps_validate()       in the runtime, before anything is created;
 *   caps_drop_bounding()  in the init, still uid 0 with CAP_SETPCAP;
 *   process_set_user()    (runtime/process_attrs.h) switches uid/gid with
 *                         prctl(PR_SET_KEEPCAPS, 1) around setresuid() so the
 *                         permitted set survives the switch;
 *   caps_apply()          sets permitted/effective/inheritable, then ambient;
 *   execve().
 *
 * A NULL capabilities object means "no capabilities": the bounding set is
 * emptied and every other set ends empty, as runc does.
 *
 * Names must be the upper-case "CAP_XXX" spelling and known to libcap.
 * Capabilities libcap knows but the running kernel does not (value >=
 * cap_max_bits()) are skipped silently everywhere. A capability listed in
 * the bounding set that the runtime does not have in its own bounding set is
 * not an error (nothing to keep). One listed in permitted, effective or
 * inheritable that the runtime cannot grant (e.g. CAP_SYS_RESOURCE when the
 * runtime's own bounding set lacks it) fails caps_apply() with a message
 * naming it, as runc fails (there with a bare EPERM).
 */
#ifndef HUSK_RUNTIME_CAPS_H
#define HUSK_RUNTIME_CAPS_H

#include "../base/error.h"
#include "../spec/spec.h"

/* Every name in every set is a capability known to libcap; else fails with
 * "config.json: process.capabilities.<set>: unknown capability \"X\"".
 * The runtime-spec (1.1) makes that a warning, not an error: the caller logs
 * it and goes on, and the other functions skip unknown names, as they skip
 * capabilities the runtime itself cannot grant.
 * Pure: touches no process state. c may be NULL. */
int caps_validate(const struct spec_capabilities *c, husk_error **err);

/* Drops from the calling process's bounding set every capability not listed
 * in c's bounding set (all of them when c is NULL). Needs CAP_SETPCAP in the
 * effective set: call before process_set_user() and caps_apply(). */
int caps_drop_bounding(const struct spec_capabilities *c, husk_error **err);

/* Sets effective, permitted and inheritable exactly as listed (cap_set_proc),
 * then clears the ambient set and raises each listed ambient capability;
 * those must also be permitted and inheritable. Call after the uid/gid
 * switch (see process_set_user()) and before the seccomp filter when
 * no_new_privileges is set. The process must be single-threaded. */
int caps_apply(const struct spec_capabilities *c, husk_error **err);

/* JSON name of a set ("bounding", "effective", ...), for messages. */
const char *caps_set_name(enum spec_cap_set set);

#endif
