/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A layer blob unpacked with libarchive, in one pass that also hashes the
 * uncompressed stream (the diff ID): a "raw" reader decompresses the blob,
 * and the tar reader reads through it, by a callback that hashes what it
 * hands on. Entries go to disk through archive_write_disk with
 * ARCHIVE_EXTRACT_SECURE_{SYMLINKS,NODOTDOT,NOABSOLUTEPATHS}, after husk's
 * own checks (entry.c); owners are the layer's numeric ids, never looked up
 * by name on the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "internal.h"

#define EXTRACT_FLAGS                                                                     \
	(ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |            \
	 ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS |  \
	 ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

struct chain {
	struct archive *raw;   /* decompresses the blob */
	struct sha256_ctx hash; /* of everything raw hands out */
	uint8_t buf[1 << 16];
};

static la_ssize_t chain_read(struct archive *a, void *data, const void **buf)
{
	struct chain *c = data;
	la_ssize_t n = archive_read_data(c->raw, c->buf, sizeof(c->buf));

	if (n < 0) {
		const char *why = archive_error_string(c->raw);
		archive_set_error(a, EIO, "%s", why ? why : "corrupt compressed data");
		return -1;
	}
	sha256_update(&c->hash, (size_t)n, c->buf);
	*buf = c->buf;
	return n;
}

static int fail_archive(husk_error **err, struct archive *a, const char *what)
{
	const char *why = archive_error_string(a);

	return husk_fail(err, 0, "%s: %s", what, why ? why : "unknown libarchive error");
}

/* The blob's decompressed stream, as the only entry of a raw archive; the
 * compression must be the one the media type says. */
static int open_raw(struct chain *c, int fd, enum layer_compression comp, husk_error **err)
{
	struct archive_entry *e;
	int r = ARCHIVE_OK;

	c->raw = archive_read_new();
	if (!c->raw)
		return husk_fail(err, ENOMEM, "libarchive");
	if (comp == LAYER_GZIP)
		r = archive_read_support_filter_gzip(c->raw);
	else if (comp == LAYER_ZSTD)
		r = archive_read_support_filter_zstd(c->raw);
	if (r >= ARCHIVE_WARN)
		r = archive_read_support_format_raw(c->raw);
	if (r >= ARCHIVE_WARN)
		r = archive_read_open_fd(c->raw, fd, sizeof(c->buf));
	if (r >= ARCHIVE_WARN)
		r = archive_read_next_header(c->raw, &e);
	const char *kind = comp == LAYER_GZIP ? "gzip" : comp == LAYER_ZSTD ? "zstd" : "tar";
	/* libarchive may fail a corrupt stream without a word. */
	if (r < ARCHIVE_WARN && !archive_error_string(c->raw))
		return husk_fail(err, 0, "read layer blob: corrupt %s data", kind);
	if (r < ARCHIVE_WARN)
		return fail_archive(err, c->raw, "read layer blob");
	int want = comp == LAYER_GZIP ? ARCHIVE_FILTER_GZIP
		 : comp == LAYER_ZSTD ? ARCHIVE_FILTER_ZSTD : ARCHIVE_FILTER_NONE;
	if (archive_filter_code(c->raw, 0) != want)
		return husk_fail(err, 0, "layer blob is not %s data as its media type says", kind);
	return 0;
}

/* What a layer may not set itself: overlayfs' own attributes (redirects,
 * metacopy, opacity) would let it reach into other layers. */
static bool xattr_allowed(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) != 0 && strncmp(name, "user.overlay.", 13) != 0;
}

static int xattr_filter(struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	bool drop = false;

	for (archive_entry_xattr_reset(e); archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK;)
		drop |= !xattr_allowed(name);
	if (!drop)
		return 0;
	struct archive_entry *copy = archive_entry_clone(e);
	if (!copy)
		return -ENOMEM;
	archive_entry_xattr_clear(e);
	for (archive_entry_xattr_reset(copy);
	     archive_entry_xattr_next(copy, &name, &value, &size) == ARCHIVE_OK;)
		if (xattr_allowed(name))
			archive_entry_xattr_add_entry(e, name, value, size);
	archive_entry_free(copy);
	return 0;
}

/* Refuses a path whose directories go through a symlink (or a mount). */
static int check_parent(int dest_fd, const char *path, const char *shown, husk_error **err)
{
	int fd = layer_open_parent(dest_fd, path, false);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd == -ENOENT || fd == -ENOTDIR) /* made, or refused, by libarchive */
		return 0;
	if (fd == -ELOOP || fd == -EXDEV)
		return husk_fail(err, 0, "entry `%s` escapes the layer through a symlink", shown);
	return husk_fail(err, -fd, "entry `%s`", shown);
}

static int prepare_link(struct archive_entry *e, int dest_fd, const char *shown, husk_error **err)
{
	const char *link = archive_entry_hardlink(e);
	_cleanup_free_ char *clean = NULL;

	if (!link)
		return 0;
	if (layer_path_clean(link, &clean) < 0 || !*clean)
		return husk_fail(err, 0, "hard link `%s` -> `%s` escapes the layer", shown, link);
	if (check_parent(dest_fd, clean, link, err) < 0)
		return -1;
	archive_entry_copy_hardlink(e, clean);
	return 0;
}

/* husk's checks on one entry; *extract false for whiteouts (collected in
 * w) and what is not extracted. */
static int prepare_entry(struct archive_entry *e, int dest_fd, struct whiteouts *w,
			 bool *extract, husk_error **err)
{
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *path = NULL;
	enum entry_kind kind;
	char *target = NULL;

	*extract = false;
	if (!name || layer_path_clean(name, &path) < 0)
		return husk_fail(err, 0, "entry `%s` escapes the layer (absolute or `..`)",
				 name ? name : "(unnamed)");
	if (layer_entry_kind(path, &kind, &target) < 0)
		return husk_fail(err, 0, "bad whiteout entry `%s`", name);
	if (kind == ENTRY_WHITEOUT || kind == ENTRY_OPAQUE)
		return whiteouts_add(w, target, kind == ENTRY_OPAQUE) < 0
			       ? husk_fail(err, ENOMEM, "whiteouts") : 0;
	if (kind == ENTRY_SKIP || archive_entry_filetype(e) == AE_IFSOCK)
		return 0;
	if (check_parent(dest_fd, path, name, err) < 0 || prepare_link(e, dest_fd, name, err) < 0)
		return -1;
	archive_entry_copy_pathname(e, *path ? path : ".");
	if (xattr_filter(e) < 0)
		return husk_fail(err, ENOMEM, "entry `%s`", name);
	*extract = true;
	return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *name,
		     husk_error **err)
{
	const void *buf;
	size_t size;
	la_int64_t off;

	for (;;) {
		int r = archive_read_data_block(in, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return fail_archive(err, in, name);
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
			return fail_archive(err, out, name);
	}
}

static int extract_entries(struct archive *tar, struct archive *disk, int dest_fd,
			   struct whiteouts *w, husk_error **err)
{
	struct archive_entry *e;
	bool extract;

	for (;;) {
		int r = archive_read_next_header(tar, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return fail_archive(err, tar, "read layer");
		if (prepare_entry(e, dest_fd, w, &extract, err) < 0)
			return -1;
		if (!extract)
			continue;
		const char *name = archive_entry_pathname(e);
		if (archive_write_header(disk, e) < ARCHIVE_WARN)
			return fail_archive(err, disk, name);
		if (archive_entry_size(e) > 0 && copy_data(tar, disk, name, err) < 0)
			return -1;
		if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
			return fail_archive(err, disk, name);
	}
}

/* The tar reader may stop at its end-of-archive blocks: the diff ID covers
 * the whole stream, padding included. */
static int drain(struct chain *c, husk_error **err)
{
	for (;;) {
		la_ssize_t n = archive_read_data(c->raw, c->buf, sizeof(c->buf));
		if (n == 0)
			return 0;
		if (n < 0 && !archive_error_string(c->raw))
			return husk_fail(err, 0, "read layer blob: corrupt compressed data");
		if (n < 0)
			return fail_archive(err, c->raw, "read layer blob");
		sha256_update(&c->hash, (size_t)n, c->buf);
	}
}

static int unpack(struct chain *c, struct archive *tar, struct archive *disk, int dest_fd,
		  husk_error **err)
{
	struct whiteouts w = { 0 };
	int r = 0;

	if (archive_read_support_format_tar(tar) != ARCHIVE_OK ||
	    archive_read_open(tar, c, NULL, chain_read, NULL) != ARCHIVE_OK)
		return fail_archive(err, tar, "read layer");
	if (archive_write_disk_set_options(disk, EXTRACT_FLAGS) != ARCHIVE_OK)
		return fail_archive(err, disk, "unpack layer");
	/* archive_write_disk works relative to the cwd. */
	if (fchdir(dest_fd) < 0)
		return husk_fail(err, errno, "enter layer directory");
	r = extract_entries(tar, disk, dest_fd, &w, err);
	/* Before close, which gives directories their final times and modes. */
	if (r == 0)
		r = whiteouts_apply(&w, dest_fd, err);
	whiteouts_clear(&w);
	if (r == 0 && archive_write_close(disk) != ARCHIVE_OK)
		r = fail_archive(err, disk, "unpack layer");
	return r == 0 ? drain(c, err) : r;
}

int layer_extract(int blob_fd, enum layer_compression comp, int dest_fd,
		  char diff_id[DIGEST_HEX + 1], husk_error **err)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ struct chain *c = calloc(1, sizeof(*c));
	struct archive *tar = archive_read_new(), *disk = archive_write_disk_new();
	mode_t old = umask(022);
	int r = -1;

	if (!c || !tar || !disk || cwd < 0) {
		husk_fail(err, cwd < 0 ? errno : ENOMEM, "unpack layer");
	} else {
		sha256_init(&c->hash);
		r = open_raw(c, blob_fd, comp, err);
		if (r == 0)
			r = unpack(c, tar, disk, dest_fd, err);
		/* Still in dest_fd: after a failure, freeing runs the pending
		 * fixups, whose paths are relative to it. */
		archive_write_free(disk);
		disk = NULL;
		if (fchdir(cwd) < 0 && r == 0)
			r = husk_fail(err, errno, "return to the working directory");
	}
	if (r == 0) {
		uint8_t raw[SHA256_DIGEST_SIZE];
		sha256_digest(&c->hash, sizeof(raw), raw);
		digest_to_hex(raw, diff_id);
	}
	umask(old);
	if (c && c->raw)
		archive_read_free(c->raw);
	archive_read_free(tar);
	if (disk)
		archive_write_free(disk);
	return r;
}
