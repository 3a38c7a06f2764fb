/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the image/ files; not part of the image.h contract. Functions
 * returning int without a husk_error give -errno on failure. */
#ifndef HUSK_IMAGE_INTERNAL_H
#define HUSK_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* ---- digest.c: sha256 through nettle ---- */

/* "sha256:<64 lowercase hex>" -> hex. -EINVAL when malformed (so a digest
 * can never be a path), -EOPNOTSUPP for another algorithm. */
int digest_parse(const char *s, char hex[DIGEST_HEX + 1]);

/* sha256 of what is left to read in fd, and how many bytes that was. */
int digest_fd(int fd, char hex[DIGEST_HEX + 1], uint64_t *size);

/* sha256 of a buffer. */
void digest_buf(const void *data, size_t len, char hex[DIGEST_HEX + 1]);

/* Raw 32 bytes to lowercase hex. */
void digest_to_hex(const uint8_t raw[32], char hex[DIGEST_HEX + 1]);

/* ---- layout.c ---- */

/* blobs/sha256/<hex> of the layout, opened without leaving it. */
int oci_blob_open(int layout_fd, const char *hex, const char *what, husk_error **err);

/* ---- entry.c: a tar entry's path, made safe, and overlay's whiteouts ---- */

/* Lexically cleans a layer path: leading "./" and "/" runs, "//" and "."
 * go; "" is the layer's root. -EINVAL for an absolute path or any ".."
 * component: entries must stay inside the layer. */
int layer_path_clean(const char *in, char **out);

enum entry_kind {
	ENTRY_PLAIN,    /* extract it */
	ENTRY_WHITEOUT, /* .wh.NAME: NAME is deleted (path = parent/NAME) */
	ENTRY_OPAQUE,   /* .wh..wh..opq: the parent directory is opaque */
	ENTRY_SKIP,     /* other .wh..wh.* (aufs' own): nothing to extract */
};

/* What a cleaned path is; *target (heap) gets the whiteout's or opaque
 * directory's path. -EINVAL for a bad whiteout (".wh." or ".wh..."). */
int layer_entry_kind(const char *path, enum entry_kind *kind, char **target);

/* The directories of path (all but its last component), opened under
 * root_fd without crossing a symlink or leaving it; created (0755) when
 * missing if create. -ELOOP/-EXDEV: a symlink or a mount is in the way. */
int layer_open_parent(int root_fd, const char *path, bool create);

/* A collected whiteout or opaque marker, applied once every entry is out
 * (a file a layer also ships beside its whiteout wins, as layer.md says). */
struct whiteouts {
	char **path;
	bool *opaque;
	size_t n;
};

int whiteouts_add(struct whiteouts *w, char *path, bool opaque);
int whiteouts_apply(const struct whiteouts *w, int root_fd, husk_error **err);
void whiteouts_clear(struct whiteouts *w);

/* ---- tar.c: libarchive ---- */

/* Unpacks the layer read from blob_fd into dest_fd (an empty directory),
 * returning the sha256 of the uncompressed stream in diff_id. */
int layer_extract(int blob_fd, enum layer_compression c, int dest_fd,
		  char diff_id[DIGEST_HEX + 1], husk_error **err);

#endif
