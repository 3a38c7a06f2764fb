/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Container state on disk: one directory per id under --root (default
 * /run/husk), holding state.json and a copy of the config the container was
 * created from. Files are replaced atomically (temp file + rename), and every
 * command holds flock(LOCK_EX) on the directory while it reads or changes
 * it, so concurrent commands on one id never see a half-written state.
 */
#ifndef HUSK_RUNTIME_STORE_H
#define HUSK_RUNTIME_STORE_H

#include <stddef.h>

#include "../base/error.h"

#define HUSK_DEFAULT_ROOT "/run/husk"

/* runc's rule: [A-Za-z0-9_+.-]+, and not "." or "..". */
int store_validate_id(const char *id, husk_error **err);

/* Opens (creating with mode 0700 when missing) the state root. */
int store_open_root(const char *root, husk_error **err);

/* Makes <root>/<id>/ and returns its fd, locked. Fails if the id exists. */
int store_create(int rootfd, const char *id, husk_error **err);

/* Opens and locks <root>/<id>/; "container does not exist" when missing. */
int store_open(int rootfd, const char *id, husk_error **err);

int store_write(int dirfd, const char *name, const char *data, size_t len, husk_error **err);
char *store_read(int dirfd, const char *name, size_t *len, husk_error **err);

/* Removes <root>/<id>/ and everything in it, directories included, and
 * first the directories store_own_dir() recorded. */
int store_remove(int rootfd, const char *id, int dirfd, husk_error **err);

/* Records an absolute directory outside the state (an overlay work
 * directory beside a bundle's upper) that belongs to the container and
 * goes with it (a line in <root>/<id>/owned-dirs). */
#define STORE_OWNED_DIRS "owned-dirs"
int store_own_dir(int dirfd, const char *path, husk_error **err);

/* Removes dirfd/name and everything below it: fd-relative throughout,
 * never following a symlink nor entering another mount (EXDEV). A name
 * that is gone already is success. */
int store_remove_tree(int dirfd, const char *name, husk_error **err);

#endif
