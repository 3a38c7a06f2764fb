/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finds process.args[0] inside the container as execvp would, using the
 * process's own PATH, so that a missing binary fails `create`, not `start`
 * (runc's behaviour). */
#ifndef HUSK_RUNTIME_EXEC_PATH_H
#define HUSK_RUNTIME_EXEC_PATH_H

#include "../base/error.h"

#define HUSK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Returns a heap path, or NULL with *err set. env is NULL-terminated. */
char *exec_path_lookup(const char *name, const char *const *env, husk_error **err);

#endif
