/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI images (image-spec 1.1: image-layout.md, manifest.md, config.md,
 * layer.md) made into bundles whose root is an overlay (rootfs/overlay.h)
 * over a layer store that every bundle from the same layers shares:
 *
 *   <root>/layers/sha256/<diff id>/  a layer, unpacked once, in overlay's
 *                                    form: whiteouts are 0:0 character
 *                                    devices, opaque directories carry
 *                                    trusted.overlay.opaque=y
 *   <root>/layers/lock               flock: exclusive while unpacking or
 *                                    pruning, shared while listing
 *   <root>/bundles.json              the bundles `husk bundle` made: what
 *                                    prune must keep
 *
 * Nothing untrusted is parsed before its digest is checked: manifests and
 * configs are read whole and hashed, a layer blob is hashed before it is
 * decompressed, and its uncompressed stream is hashed while it is unpacked
 * and compared with the config's diff ID before the layer enters the store.
 * A layer is unpacked into a temporary directory inside the store and
 * renamed into place only when complete; any failure removes it.
 */
#ifndef HUSK_IMAGE_IMAGE_H
#define HUSK_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"

struct json_object;

#define DIGEST_HEX 64 /* sha256, the only algorithm taken */

enum layer_compression {
	LAYER_TAR,
	LAYER_GZIP,
	LAYER_ZSTD,
};

struct oci_layer {
	char digest[DIGEST_HEX + 1];  /* of the blob, as the manifest gives it */
	char diff_id[DIGEST_HEX + 1]; /* of the uncompressed tar (config) */
	enum layer_compression compression;
	int64_t size; /* of the blob */
};

struct oci_image {
	int layout_fd;
	struct json_object *config; /* the image config (config.md) */
	struct oci_layer *layers;   /* bottom first, as in the manifest */
	size_t n_layers;
};

/*
 * Opens the layout at dir and picks the image: the index.json entry whose
 * org.opencontainers.image.ref.name is tag, or with no tag the only one
 * (nested indexes and several platforms resolve to linux and this
 * machine's architecture). Reads and checks the manifest and the config.
 */
int oci_image_open(const char *dir, const char *tag, struct oci_image *img, husk_error **err);
void oci_image_close(struct oci_image *img);

/* "DIR[:TAG]": an existing directory named with a colon wins. */
int oci_image_ref_split(const char *ref, char **dir, char **tag);

struct layer_store {
	char *root;  /* canonical --root */
	char *dir;   /* <root>/layers/sha256 */
	int root_fd;
	int dir_fd;  /* -1: no store yet (opened without create) */
	int lock_fd; /* flocked */
};

/* Opens (with create, making) the store and takes its lock. Without
 * create, a missing store is an empty one: dir_fd is -1. */
int layer_store_open(const char *root, bool exclusive, bool create, struct layer_store *ls,
		     husk_error **err);
void layer_store_close(struct layer_store *ls);

/* Unpacks the layer unless the store has it already (*unpacked says). */
int layer_store_ensure(const struct layer_store *ls, const struct oci_image *img,
		       const struct oci_layer *l, bool *unpacked, husk_error **err);

/* The store directories of the image's layers, top first: the overlay's
 * lowers. A layer whose root is opaque hides those under it. */
char **layer_store_lowers(const struct layer_store *ls, const struct oci_image *img,
			  size_t *n, husk_error **err);

/* Disk use of a tree (blocks, hard links once), without following symlinks. */
uint64_t layer_store_du(const char *path);

/* The layers in use, as a JSON object diff ID -> number of users: every
 * bundle in bundles.json whose config.json still exists, and every
 * container under root, by their io.husk.rootfs.lower. With prune, drops
 * from bundles.json the bundles that are gone (needs the exclusive lock). */
struct json_object *layer_store_refs(const struct layer_store *ls, bool prune, husk_error **err);

/* Removes every layer (and stale temporary directory) not in refs; calls
 * removed() for each layer removed. */
int layer_store_prune(const struct layer_store *ls, struct json_object *refs,
		      void (*removed)(const char *diff_id, uint64_t bytes), husk_error **err);

/* bundles.json: records (or replaces) a bundle made from image. */
int registry_add(const struct layer_store *ls, const char *bundle, const char *image,
		 const struct oci_image *img, husk_error **err);
/* Its "bundles" array (a new reference), or an empty one. */
struct json_object *registry_list(const struct layer_store *ls, husk_error **err);

/*
 * Turns a default runtime config (as `husk spec` writes it) into the
 * image's: process.args from Entrypoint + Cmd, env from Env (PATH kept
 * when the image sets none), cwd from WorkingDir, user from User (numeric
 * uid[:gid], or names looked up in the image's /etc/passwd and
 * /etc/group), Labels as annotations (io.husk.* ones dropped: only husk
 * sets those), terminal false, a writable root "rootfs", and
 * io.husk.rootfs.lower naming the lowers.
 */
int image_spec_apply(struct json_object *spec, struct json_object *image_config,
		     char *const *lower, size_t n_lower, husk_error **err);

/* User (config.md "User") to ids, through the merged view of the lowers. */
int image_user_resolve(const char *user, char *const *lower, size_t n_lower, uid_t *uid,
		       gid_t *gid, husk_error **err);

#endif
