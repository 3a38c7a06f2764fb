/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs OCI hooks: each is exec'd with its args and env, the container state
 * JSON on stdin, and its own timeout. The first failure stops the list and
 * comes back as an error holding the hook's output; the caller decides what
 * a failure means for that phase (poststop failures are only warned about).
 * Hooks run in whichever namespaces the calling process is in: the runtime's
 * for prestart/createRuntime/poststart/poststop, the container's when init
 * calls them for createContainer/startContainer.
 */
#ifndef HUSK_RUNTIME_HOOKS_H
#define HUSK_RUNTIME_HOOKS_H

#include "../spec/spec.h"

const char *hook_kind_name(enum spec_hook_kind kind);

int hooks_run(const struct spec *s, enum spec_hook_kind kind, const char *state_json,
	      husk_error **err);

#endif
