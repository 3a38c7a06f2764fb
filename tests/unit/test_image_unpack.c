/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image/tar.c on layers made here with libarchive's writer (good ones,
 * escaping ones, corrupt ones), image/user.c and image/spec.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../image/internal.h"
#include "../../runtime/store.h"
#include "unit.h"

struct ent {
	const char *name;
	unsigned type; /* AE_IFREG, ... */
	const char *data; /* file content, or link target */
	mode_t mode;
	uid_t uid;
};

static char base[] = "/tmp/husk-unit-unpack-XXXXXX";
static int base_fd = -1;

static void add(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = e->type == AE_IFREG && e->data ? strlen(e->data) : 0;

	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_filetype(ae, e->type == AE_IFLNK + 1 ? AE_IFREG : e->type);
	archive_entry_set_perm(ae, e->mode ? e->mode : 0644);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_mtime(ae, 1000, 0);
	archive_entry_set_size(ae, (la_int64_t)len);
	if (e->type == AE_IFLNK)
		archive_entry_set_symlink(ae, e->data);
	if (e->type == AE_IFLNK + 1) /* a hard link */
		archive_entry_set_hardlink(ae, e->data);
	if (!strcmp(e->name, "etc/xattrs")) {
		archive_entry_xattr_add_entry(ae, "user.keep", "1", 1);
		archive_entry_xattr_add_entry(ae, "trusted.overlay.redirect", "/x", 2);
	}
	CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
	if (len)
		CHECK(archive_write_data(a, e->data, len) == (la_ssize_t)len);
	archive_entry_free(ae);
}

/* Writes the layer as blob file `name` (gzip unless plain); diff gets the
 * sha256 of the tar stream. Returns an fd on the blob. */
static int make_layer_as(const char *name, const struct ent *ents, size_t n,
			 enum layer_compression comp, char diff[DIGEST_HEX + 1])
{
	static char tar[1 << 20];
	size_t used = 0;
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, tar, sizeof(tar), &used);
	for (size_t i = 0; i < n; i++)
		add(a, &ents[i]);
	archive_write_free(a);
	digest_buf(tar, used, diff);
	int fd = openat(base_fd, name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (comp == LAYER_TAR) {
		CHECK(write(fd, tar, used) == (ssize_t)used);
	} else {
		struct archive *z = archive_write_new();
		struct archive_entry *e = archive_entry_new();
		if (comp == LAYER_GZIP)
			archive_write_add_filter_gzip(z);
		else
			CHECK(archive_write_add_filter_zstd(z) == ARCHIVE_OK);
		archive_write_set_format_raw(z);
		archive_write_open_fd(z, fd);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)used);
		CHECK(archive_write_header(z, e) == ARCHIVE_OK);
		CHECK(archive_write_data(z, tar, used) == (la_ssize_t)used);
		archive_entry_free(e);
		archive_write_free(z);
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int make_layer(const char *name, const struct ent *ents, size_t n, bool plain,
		      char diff[DIGEST_HEX + 1])
{
	return make_layer_as(name, ents, n, plain ? LAYER_TAR : LAYER_GZIP, diff);
}

/* Unpacks into a fresh directory `dest`; 0 or -1 (message in *msg). */
static int unpack(const char *dest, const struct ent *ents, size_t n, bool plain,
		  enum layer_compression comp, char **msg)
{
	char diff[DIGEST_HEX + 1], got[DIGEST_HEX + 1] = "";
	_cleanup_close_ int blob = make_layer("blob", ents, n, plain, diff);
	husk_error *err = NULL;

	CHECK(mkdirat(base_fd, dest, 0755) == 0);
	_cleanup_close_ int fd = openat(base_fd, dest, O_RDONLY | O_DIRECTORY);
	int r = layer_extract(blob, comp, fd, got, &err);
	if (r == 0)
		CHECK_STR(got, diff);
	*msg = err ? husk_error_text(err) : NULL;
	husk_error_free(&err);
	return r;
}

static void test_good_layer(void)
{
	UNIT_SKIP_ON_VALGRIND("valgrind 3.19 has no openat2");
	static const struct ent ents[] = {
		{ "./", AE_IFDIR, NULL, 0750, 0 },
		{ "./etc/", AE_IFDIR, NULL, 0755, 0 },
		{ "./etc/f", AE_IFREG, "hello", 0640, 7 },
		{ "etc/xattrs", AE_IFREG, "x", 0644, 0 },
		{ "l", AE_IFLNK, "/etc/f", 0777, 0 },
		{ "h", AE_IFLNK + 1, "etc/f", 0640, 7 },
		{ "etc/.wh.gone", AE_IFREG, NULL, 0644, 0 },
		{ "d/.wh..wh..opq", AE_IFREG, NULL, 0644, 0 },
		{ "p", AE_IFIFO, NULL, 0600, 0 },
	};
	struct stat st, st2;
	char *msg = NULL, v[8] = "";

	CHECK(unpack("good", ents, ARRAY_SIZE(ents), false, LAYER_GZIP, &msg) == 0);
	if (msg)
		fprintf(stderr, "good layer: %s\n", msg);
	free(msg);
	CHECK(fstatat(base_fd, "good", &st, 0) == 0 && (st.st_mode & 07777) == 0750);
	CHECK(fstatat(base_fd, "good/etc/f", &st, 0) == 0 && st.st_uid == 7 &&
	      (st.st_mode & 07777) == 0640 && st.st_mtime == 1000);
	CHECK(fstatat(base_fd, "good/h", &st2, AT_SYMLINK_NOFOLLOW) == 0 && st2.st_ino == st.st_ino);
	CHECK(readlinkat(base_fd, "good/l", v, sizeof(v) - 1) == 6);
	CHECK(fstatat(base_fd, "good/etc/gone", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	      S_ISCHR(st.st_mode) && st.st_rdev == 0);
	CHECK(fstatat(base_fd, "good/p", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode));
	char path[128];
	snprintf(path, sizeof(path), "%s/good/d", base);
	CHECK(getxattr(path, "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y');
	snprintf(path, sizeof(path), "%s/good/etc/xattrs", base);
	CHECK(getxattr(path, "user.keep", v, sizeof(v)) == 1);
	CHECK(getxattr(path, "trusted.overlay.redirect", v, sizeof(v)) < 0); /* stripped */
}

static void test_zstd(void)
{
	UNIT_SKIP_ON_VALGRIND("valgrind 3.19 has no openat2");
	static const struct ent ents[] = { { "z", AE_IFREG, "zstd layer", 0644, 0 } };
	char diff[DIGEST_HEX + 1], got[DIGEST_HEX + 1];
	_cleanup_close_ int blob = make_layer_as("blob.zst", ents, 1, LAYER_ZSTD, diff);
	husk_error *err = NULL;

	CHECK(mkdirat(base_fd, "zstd", 0755) == 0);
	_cleanup_close_ int fd = openat(base_fd, "zstd", O_RDONLY | O_DIRECTORY);
	CHECK(layer_extract(blob, LAYER_ZSTD, fd, got, &err) == 0);
	CHECK_STR(got, diff);
	CHECK(faccessat(fd, "z", F_OK, 0) == 0);
	husk_error_free(&err);
	/* zstd where the media type says gzip */
	CHECK(lseek(blob, 0, SEEK_SET) == 0);
	CHECK(layer_extract(blob, LAYER_GZIP, fd, got, &err) < 0 && err);
	husk_error_free(&err);
}

static void refused(const char *dest, const struct ent *ents, size_t n, const char *word)
{
	char *msg = NULL;

	CHECK(unpack(dest, ents, n, true, LAYER_TAR, &msg) < 0);
	CHECK(msg && strstr(msg, word));
	if (msg && !strstr(msg, word))
		fprintf(stderr, "%s: \"%s\" lacks \"%s\"\n", dest, msg, word);
	free(msg);
}

static void test_escapes(void)
{
	UNIT_SKIP_ON_VALGRIND("valgrind 3.19 has no openat2");
	static const struct ent dotdot[] = { { "../../husk-unit-escaped", AE_IFREG, "x", 0, 0 } };
	static const struct ent abs[] = { { "/tmp/husk-unit-abs", AE_IFREG, "x", 0, 0 } };
	static const struct ent through[] = {
		{ "s", AE_IFLNK, "/tmp", 0777, 0 },
		{ "s/husk-unit-through", AE_IFREG, "x", 0, 0 },
	};
	static const struct ent rel[] = {
		{ "d/", AE_IFDIR, NULL, 0755, 0 },
		{ "d/up", AE_IFLNK, "../..", 0777, 0 },
		{ "d/up/husk-unit-rel", AE_IFREG, "x", 0, 0 },
	};
	static const struct ent hard[] = { { "h", AE_IFLNK + 1, "../../etc/passwd", 0, 0 } };
	static const struct ent hard_via[] = {
		{ "s", AE_IFLNK, "/etc", 0777, 0 },
		{ "h", AE_IFLNK + 1, "s/passwd", 0, 0 },
	};

	refused("dotdot", dotdot, 1, "escapes the layer");
	refused("abs", abs, 1, "escapes the layer");
	refused("through", through, 2, "symlink");
	refused("rel", rel, 3, "symlink");
	refused("hard", hard, 1, "escapes the layer");
	refused("hardvia", hard_via, 2, "symlink");
	CHECK(access("/tmp/husk-unit-escaped", F_OK) < 0);
	CHECK(access("/tmp/husk-unit-abs", F_OK) < 0);
	CHECK(access("/tmp/husk-unit-through", F_OK) < 0);
	CHECK(faccessat(base_fd, "husk-unit-rel", F_OK, 0) < 0);
}

static void test_corrupt(void)
{
	static const struct ent big[] = { { "f", AE_IFREG, NULL, 0, 0 } };
	char diff[DIGEST_HEX + 1], got[DIGEST_HEX + 1], buf[4096];
	husk_error *err = NULL;
	char *msg = NULL;

	/* a plain tar where the media type says gzip */
	CHECK(unpack("notgz", big, 1, true, LAYER_GZIP, &msg) < 0 && msg && strstr(msg, "not gzip"));
	free(msg);
	/* gzip whose deflate data is damaged */
	_cleanup_close_ int blob = make_layer("bad.gz", big, 1, false, diff);
	ssize_t n = pread(blob, buf, sizeof(buf), 0);
	for (ssize_t i = 20; i < n; i++)
		buf[i] ^= 0x5a;
	CHECK(n > 20 && pwrite(blob, buf, (size_t)n, 0) == n);
	CHECK(mkdirat(base_fd, "corrupt", 0755) == 0);
	_cleanup_close_ int fd = openat(base_fd, "corrupt", O_RDONLY | O_DIRECTORY);
	CHECK(layer_extract(blob, LAYER_GZIP, fd, got, &err) < 0);
	CHECK(err && strstr(err->msg, "gzip"));
	husk_error_free(&err);
}

static void write_at(const char *path, const char *text)
{
	int fd = openat(base_fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void test_user(void)
{
	char top[128], low[128];
	char *lower[] = { top, low };
	husk_error *err = NULL;
	uid_t u;
	gid_t g;

	snprintf(top, sizeof(top), "%s/u-top", base);
	snprintf(low, sizeof(low), "%s/u-low", base);
	mkdirat(base_fd, "u-top", 0755);
	mkdirat(base_fd, "u-low", 0755);
	mkdirat(base_fd, "u-low/etc", 0755);
	write_at("u-low/etc/passwd", "root:x:0:0::/:/bin/sh\napp:x:5:6::/:/bin/sh\n");
	write_at("u-low/etc/group", "root:x:0:\ngrp:x:9:\n");
	CHECK(image_user_resolve("app", lower, 2, &u, &g, &err) == 0 && u == 5 && g == 6);
	CHECK(image_user_resolve("app:grp", lower, 2, &u, &g, &err) == 0 && u == 5 && g == 9);
	CHECK(image_user_resolve("5", lower, 2, &u, &g, &err) == 0 && u == 5 && g == 6);
	CHECK(image_user_resolve("7", lower, 2, &u, &g, &err) == 0 && u == 7 && g == 0);
	CHECK(image_user_resolve("1:2", lower, 2, &u, &g, &err) == 0 && u == 1 && g == 2);
	CHECK(image_user_resolve("", lower, 2, &u, &g, &err) == 0 && u == 0 && g == 0);
	CHECK(err == NULL);
	CHECK(image_user_resolve("nobody", lower, 2, &u, &g, &err) < 0 && err);
	husk_error_free(&err);
	CHECK(image_user_resolve("app:nogroup", lower, 2, &u, &g, &err) < 0 && err);
	husk_error_free(&err);
	/* the top layer whites /etc/passwd out */
	mkdirat(base_fd, "u-top/etc", 0755);
	CHECK(mknodat(base_fd, "u-top/etc/passwd", S_IFCHR, makedev(0, 0)) == 0);
	CHECK(image_user_resolve("app", lower, 2, &u, &g, &err) < 0);
	husk_error_free(&err);
	/* a symlinked passwd is not followed */
	CHECK(unlinkat(base_fd, "u-top/etc/passwd", 0) == 0);
	CHECK(symlinkat("/etc/passwd", base_fd, "u-top/etc/passwd") == 0);
	CHECK(image_user_resolve("root", lower, 2, &u, &g, &err) < 0 && err &&
	      strstr(err->msg, "symlink"));
	husk_error_free(&err);
}

static void test_spec(void)
{
	struct json_object *spec = json_tokener_parse(
		"{\"process\":{\"terminal\":true,\"args\":[\"sh\"],\"cwd\":\"/\","
		"\"env\":[\"PATH=/bin\",\"TERM=xterm\"],\"user\":{\"uid\":0,\"gid\":0}},"
		"\"root\":{\"path\":\"rootfs\",\"readonly\":true}}");
	struct json_object *img = json_tokener_parse(
		"{\"config\":{\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--x\"],\"Env\":[\"A=1\"],"
		"\"User\":\"3:4\",\"WorkingDir\":\"srv\",\"Labels\":{\"k\":\"v\","
		"\"io.husk.rootfs.upper\":\"/etc\"}}}");
	char *lower[] = { (char *)"/s/top", (char *)"/s/base" };
	husk_error *err = NULL;

	CHECK(image_spec_apply(spec, img, lower, 2, &err) == 0);
	const char *out = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	CHECK(strstr(out, "\"args\":[\"/bin/app\",\"--x\"]") != NULL);
	CHECK(strstr(out, "\"env\":[\"PATH=/bin\",\"A=1\"]") != NULL);
	CHECK(strstr(out, "\"cwd\":\"/srv\"") != NULL);
	CHECK(strstr(out, "\"user\":{\"uid\":3,\"gid\":4}") != NULL);
	CHECK(strstr(out, "\"terminal\":false") != NULL);
	CHECK(strstr(out, "\"root\":{\"path\":\"rootfs\",\"readonly\":false}") != NULL);
	CHECK(strstr(out, "\"io.husk.rootfs.lower\":\"/s/top:/s/base\"") != NULL);
	CHECK(strstr(out, "\"k\":\"v\"") != NULL && !strstr(out, "rootfs.upper"));
	json_object_put(spec);
	json_object_put(img);
}

int main(void)
{
	husk_error *err = NULL;

	if (!mkdtemp(base) || (base_fd = open(base, O_RDONLY | O_DIRECTORY)) < 0)
		return 1;
	test_good_layer();
	test_zstd();
	test_escapes();
	test_corrupt();
	test_user();
	test_spec();
	close(base_fd);
	CHECK(store_remove_tree(AT_FDCWD, base, &err) == 0);
	return unit_summary("test_image_unpack");
}
