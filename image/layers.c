/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The layer store: <root>/layers/sha256/<diff id>/, see image.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../runtime/store.h"
#include "internal.h"

#define STORE_DIR "layers/sha256"
#define STORE_LOCK "layers/lock"
#define TMP_PREFIX ".tmp-"

static int store_dirs(const struct layer_store *ls, husk_error **err)
{
	if ((mkdirat(ls->root_fd, "layers", 0700) < 0 && errno != EEXIST) ||
	    (mkdirat(ls->root_fd, STORE_DIR, 0700) < 0 && errno != EEXIST))
		return husk_fail(err, errno, "create the layer store in %s", ls->root);
	return 0;
}

static int open_store(const char *root, bool exclusive, bool create, struct layer_store *ls,
		      husk_error **err)
{
	ls->root_fd = create ? store_open_root(root, err) : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ls->root_fd < 0)
		return create || errno != ENOENT ? husk_fail(err, errno, "open %s", root) : 0;
	if (!(ls->root = realpath(root, NULL)) || asprintf(&ls->dir, "%s/" STORE_DIR, ls->root) < 0) {
		ls->dir = NULL;
		return husk_fail(err, errno, "%s", root);
	}
	if (create && store_dirs(ls, err) < 0)
		return -1;
	ls->lock_fd = openat(ls->root_fd, STORE_LOCK, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0600);
	if (ls->lock_fd < 0)
		return !create && errno == ENOENT ? 0 : husk_fail(err, errno, "open %s/" STORE_LOCK, ls->root);
	if (flock(ls->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return husk_fail(err, errno, "lock the layer store");
	ls->dir_fd = openat(ls->root_fd, STORE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ls->dir_fd < 0)
		return husk_fail(err, errno, "open %s", ls->dir);
	return 0;
}

int layer_store_open(const char *root, bool exclusive, bool create, struct layer_store *ls,
		     husk_error **err)
{
	memset(ls, 0, sizeof(*ls));
	ls->root_fd = ls->dir_fd = ls->lock_fd = -1;
	if (open_store(root, exclusive, create, ls, err) == 0)
		return 0;
	layer_store_close(ls);
	return -1;
}

void layer_store_close(struct layer_store *ls)
{
	for (int *fd = &ls->root_fd; fd <= &ls->lock_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	free(ls->root);
	free(ls->dir);
	memset(ls, 0, sizeof(*ls));
	ls->root_fd = ls->dir_fd = ls->lock_fd = -1;
}

/* The blob must be what the manifest says before anything parses it. */
static int check_blob(int fd, const struct oci_layer *l, husk_error **err)
{
	char got[DIGEST_HEX + 1];
	uint64_t size;
	int r = digest_fd(fd, got, &size);

	if (r < 0)
		return husk_fail(err, -r, "read blob");
	if (strcmp(got, l->digest) != 0)
		return husk_fail(err, 0, "blob digest mismatch (content is sha256:%s)", got);
	if (l->size >= 0 && size != (uint64_t)l->size)
		return husk_fail(err, 0, "blob size %llu, manifest says %lld",
				 (unsigned long long)size, (long long)l->size);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return husk_fail(err, errno, "rewind blob");
	return 0;
}

/* Unpacks into tmp (a fresh directory in the store), checks the diff ID,
 * and renames it into place. */
static int unpack_into(const struct layer_store *ls, int blob, const struct oci_layer *l,
		       const char *tmp, husk_error **err)
{
	_cleanup_close_ int dest = openat(ls->dir_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char diff[DIGEST_HEX + 1];

	/* mkdtemp made it 0700; the layer's own "./" entry may set another. */
	if (dest < 0 || fchmod(dest, 0755) < 0)
		return husk_fail(err, errno, "open %s/%s", ls->dir, tmp);
	if (layer_extract(blob, l->compression, dest, diff, err) < 0)
		return -1;
	if (strcmp(diff, l->diff_id) != 0)
		return husk_fail(err, 0, "diff ID mismatch (unpacked content is sha256:%s)", diff);
	if (renameat(ls->dir_fd, tmp, ls->dir_fd, l->diff_id) == 0)
		return 0;
	/* Only under our lock: someone else's would be a complete copy. */
	if (errno == EEXIST || errno == ENOTEMPTY)
		return 1;
	return husk_fail(err, errno, "rename %s into %s", tmp, l->diff_id);
}

static int unpack_layer(const struct layer_store *ls, const struct oci_image *img,
			const struct oci_layer *l, husk_error **err)
{
	_cleanup_close_ int blob = oci_blob_open(img->layout_fd, l->digest, "layer", err);
	_cleanup_free_ char *tmp = NULL;
	husk_error *ignored = NULL;

	if (blob < 0 || check_blob(blob, l, err) < 0)
		return -1;
	if (asprintf(&tmp, "%s/" TMP_PREFIX "%.12s-XXXXXX", ls->dir, l->diff_id) < 0) {
		tmp = NULL;
		return husk_fail(err, ENOMEM, "layer");
	}
	if (!mkdtemp(tmp))
		return husk_fail(err, errno, "create %s", tmp);
	const char *name = strrchr(tmp, '/') + 1;
	int r = unpack_into(ls, blob, l, name, err);
	if (r != 0) /* failed, or the store had it after all: leave nothing */
		store_remove_tree(ls->dir_fd, name, &ignored);
	husk_error_free(&ignored);
	return r < 0 ? -1 : 0;
}

int layer_store_ensure(const struct layer_store *ls, const struct oci_image *img,
		       const struct oci_layer *l, bool *unpacked, husk_error **err)
{
	struct stat st;

	*unpacked = false;
	if (fstatat(ls->dir_fd, l->diff_id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (unpack_layer(ls, img, l, err) < 0)
		return husk_error_wrap(err, "layer sha256:%s", l->digest);
	*unpacked = true;
	return 0;
}

static bool root_opaque(int dir_fd, const char *diff_id)
{
	_cleanup_close_ int fd = openat(dir_fd, diff_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char v = 0;

	return fd >= 0 && fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

static bool listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

char **layer_store_lowers(const struct layer_store *ls, const struct oci_image *img,
			  size_t *n, husk_error **err)
{
	_cleanup_strv_ char **v = calloc(img->n_layers + 1, sizeof(*v));
	size_t k = 0;

	if (!v) {
		husk_fail(err, ENOMEM, "layers");
		return NULL;
	}
	for (size_t i = img->n_layers; i-- > 0;) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", ls->dir, img->layers[i].diff_id) < 0) {
			husk_fail(err, ENOMEM, "layers");
			return NULL;
		}
		/* A layer twice: the copy on top already does all the lower
		 * one would, and overlayfs refuses a directory twice. */
		if (listed(v, k, p))
			free(p);
		else
			v[k++] = p;
		if (root_opaque(ls->dir_fd, img->layers[i].diff_id))
			break; /* it hides every layer below */
	}
	if (!k)
		husk_fail(err, 0, "the image has no layers");
	*n = k;
	return k ? TAKE_PTR(v) : NULL;
}

struct inode_key {
	dev_t dev;
	ino_t ino;
};

static int inode_cmp(const void *a, const void *b)
{
	const struct inode_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* True the first time an inode with several names is met. */
static bool first_name(void **seen, const struct stat *st)
{
	struct inode_key *k = malloc(sizeof(*k));
	void *slot;

	if (!k)
		return true;
	*k = (struct inode_key){ st->st_dev, st->st_ino };
	slot = tsearch(k, seen, inode_cmp);
	if (slot && *(struct inode_key **)slot == k)
		return true;
	free(k);
	return false;
}

uint64_t layer_store_du(const char *path)
{
	char *const paths[] = { (char *)path, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	void *seen = NULL;
	uint64_t bytes = 0;

	if (!fts)
		return 0;
	for (FTSENT *e; (e = fts_read(fts));) {
		const struct stat *st = e->fts_statp;
		if (e->fts_info == FTS_DP || e->fts_info == FTS_NS || e->fts_info == FTS_ERR)
			continue;
		if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !first_name(&seen, st))
			continue;
		bytes += (uint64_t)st->st_blocks * 512;
	}
	fts_close(fts);
	tdestroy(seen, free);
	return bytes;
}
