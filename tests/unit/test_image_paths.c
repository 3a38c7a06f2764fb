/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image/: layer path cleaning, whiteout names, digests, references;
 * rootfs/overlay's lower lists; runtime/store's tree removal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../image/internal.h"
#include "../../rootfs/overlay.h"
#include "../../runtime/store.h"
#include "unit.h"

static const char *clean(const char *in)
{
	static char buf[256];
	char *out = NULL;
	int r = layer_path_clean(in, &out);

	if (r < 0)
		return r == -EINVAL ? "EINVAL" : "ERR";
	snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	return buf;
}

static void test_path_clean(void)
{
	CHECK_STR(clean("./a/b"), "a/b");
	CHECK_STR(clean("a//b/./c/"), "a/b/c");
	CHECK_STR(clean("."), "");
	CHECK_STR(clean("./"), "");
	CHECK_STR(clean("././x"), "x");
	CHECK_STR(clean("..."), "...");
	CHECK_STR(clean("a/..b"), "a/..b");
	CHECK_STR(clean("/etc/passwd"), "EINVAL");
	CHECK_STR(clean("../x"), "EINVAL");
	CHECK_STR(clean("a/../b"), "EINVAL");
	CHECK_STR(clean("a/.."), "EINVAL");
	CHECK_STR(clean("./.."), "EINVAL");
}

static void check_kind(const char *path, int want_r, enum entry_kind want, const char *target)
{
	enum entry_kind k;
	char *t = NULL;
	int r = layer_entry_kind(path, &k, &t);

	CHECK(r == want_r);
	if (r == 0) {
		CHECK(k == want);
		if (target)
			CHECK_STR(t, target);
		else
			CHECK(t == NULL);
	}
	free(t);
}

static void test_entry_kind(void)
{
	check_kind("etc/passwd", 0, ENTRY_PLAIN, NULL);
	check_kind("etc/.wh.motd", 0, ENTRY_WHITEOUT, "etc/motd");
	check_kind(".wh.old", 0, ENTRY_WHITEOUT, "old");
	check_kind("a/b/.wh..hidden", 0, ENTRY_WHITEOUT, "a/b/.hidden");
	check_kind("opq/.wh..wh..opq", 0, ENTRY_OPAQUE, "opq");
	check_kind(".wh..wh..opq", 0, ENTRY_OPAQUE, "");
	check_kind("x/.wh..wh.plnk", 0, ENTRY_SKIP, NULL);
	check_kind("a/.wh.", -EINVAL, ENTRY_PLAIN, NULL);
	check_kind(".wh..", -EINVAL, ENTRY_PLAIN, NULL);
	check_kind(".wh...", -EINVAL, ENTRY_PLAIN, NULL);
	check_kind("a.wh.b", 0, ENTRY_PLAIN, NULL);
}

static void test_digest(void)
{
	char hex[DIGEST_HEX + 1];
	const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char good[80];

	snprintf(good, sizeof(good), "sha256:%s", abc);
	CHECK(digest_parse(good, hex) == 0);
	CHECK_STR(hex, abc);
	CHECK(digest_parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", hex) == -EINVAL);
	CHECK(digest_parse("sha256:abc", hex) == -EINVAL);
	CHECK(digest_parse("sha256:../../../../etc/passwd", hex) == -EINVAL);
	CHECK(digest_parse("sha512:abc", hex) == -EOPNOTSUPP);
	CHECK(digest_parse("abc", hex) == -EINVAL);
	CHECK(digest_parse(NULL, hex) == -EINVAL);
	digest_buf("abc", 3, hex);
	CHECK_STR(hex, abc);

	char path[] = "/tmp/husk-unit-digest-XXXXXX";
	int fd = mkstemp(path);
	uint64_t size = 0;
	CHECK(fd >= 0 && write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_SET) == 0);
	CHECK(digest_fd(fd, hex, &size) == 0 && size == 3);
	CHECK_STR(hex, abc);
	close(fd);
	unlink(path);
}

static void test_split_lower(void)
{
	size_t n = 0;
	char **v = overlay_split_lower("/a:b:/c/d", &n);

	CHECK(v && n == 3);
	if (v) {
		CHECK_STR(v[0], "/a");
		CHECK_STR(v[2], "/c/d");
		CHECK(v[3] == NULL);
	}
	cleanup_strvp(&v);
	errno = 0;
	CHECK(overlay_split_lower("a::b", &n) == NULL && errno == EINVAL);
	CHECK(overlay_split_lower("", &n) == NULL);
	CHECK(overlay_split_lower(":a", &n) == NULL);
	CHECK(overlay_split_lower("a:", &n) == NULL);
}

static void test_ref_split(void)
{
	char *dir = NULL, *tag = NULL;

	CHECK(oci_image_ref_split("/nonexistent/img:v1.2", &dir, &tag) == 0);
	CHECK_STR(dir, "/nonexistent/img");
	CHECK_STR(tag, "v1.2");
	free(dir);
	free(tag);
	CHECK(oci_image_ref_split("/nonexistent/img", &dir, &tag) == 0 && tag == NULL);
	CHECK_STR(dir, "/nonexistent/img");
	free(dir);
	CHECK(oci_image_ref_split("/nonexistent/a:b/img", &dir, &tag) == 0 && tag == NULL);
	CHECK_STR(dir, "/nonexistent/a:b/img");
	free(dir);
	CHECK(oci_image_ref_split("/nonexistent/img:", &dir, &tag) == 0 && tag == NULL);
	CHECK_STR(dir, "/nonexistent/img");
	free(dir);
}

/* A 400-deep tree, a mode-000 directory, and symlinks out of it. */
static void make_tree(int top, const char *outside)
{
	int fd = dup(top);

	for (int i = 0; i < 400; i++) {
		CHECK(mkdirat(fd, "d", 0755) == 0);
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		CHECK(symlinkat(outside, sub, "out") == 0);
		close(fd);
		fd = sub;
	}
	CHECK(mkdirat(fd, "locked", 0) == 0);
	close(fd);
	CHECK(symlinkat(outside, top, "link") == 0);
	CHECK(mknodat(top, "wh", S_IFCHR, makedev(0, 0)) == 0);
}

static void test_remove_tree(void)
{
	char base[] = "/tmp/husk-unit-rm-XXXXXX";
	CHECK(mkdtemp(base) != NULL);
	_cleanup_close_ int dir = open(base, O_RDONLY | O_DIRECTORY);
	husk_error *err = NULL;

	CHECK(mkdirat(dir, "outside", 0755) == 0 && mkdirat(dir, "tree", 0755) == 0);
	int canary = openat(dir, "outside/canary", O_CREAT | O_WRONLY, 0644);
	close(canary);
	char outside[64];
	snprintf(outside, sizeof(outside), "%s/outside", base);
	int top = openat(dir, "tree", O_RDONLY | O_DIRECTORY);
	make_tree(top, outside);
	close(top);
	CHECK(store_remove_tree(dir, "tree", &err) == 0);
	CHECK(err == NULL);
	husk_error_free(&err);
	CHECK(faccessat(dir, "tree", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	CHECK(faccessat(dir, "outside/canary", F_OK, 0) == 0);
	CHECK(store_remove_tree(dir, "tree", &err) == 0); /* gone already */
	CHECK(symlinkat(outside, dir, "lnk") == 0);
	CHECK(store_remove_tree(dir, "lnk", &err) == 0);  /* the link, not its target */
	CHECK(faccessat(dir, "outside/canary", F_OK, 0) == 0);
	CHECK(store_remove_tree(dir, "outside", &err) == 0);
	CHECK(rmdir(base) == 0);
}

static void test_whiteouts(void)
{
	UNIT_SKIP_ON_VALGRIND("valgrind 3.19 has no openat2");
	char base[] = "/tmp/husk-unit-wh-XXXXXX";
	CHECK(mkdtemp(base) != NULL);
	_cleanup_close_ int dir = open(base, O_RDONLY | O_DIRECTORY);
	struct whiteouts w = { 0 };
	husk_error *err = NULL;
	struct stat st;
	char v = 0;

	CHECK(mkdirat(dir, "keep", 0755) == 0);
	close(openat(dir, "keep/file", O_CREAT | O_WRONLY, 0644));
	CHECK(symlinkat("/tmp", dir, "lnk") == 0);
	CHECK(whiteouts_add(&w, strdup("a/b/gone"), false) == 0);
	CHECK(whiteouts_add(&w, strdup("keep/file"), false) == 0); /* shipped too: kept */
	CHECK(whiteouts_add(&w, strdup("opq"), true) == 0);
	CHECK(whiteouts_apply(&w, dir, &err) == 0);
	CHECK(fstatat(dir, "a/b/gone", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	      st.st_rdev == makedev(0, 0));
	CHECK(fstatat(dir, "keep/file", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	char opq[64];
	snprintf(opq, sizeof(opq), "%s/opq", base);
	CHECK(getxattr(opq, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y');
	whiteouts_clear(&w);
	/* through a symlink: refused, nothing made in /tmp */
	CHECK(whiteouts_add(&w, strdup("lnk/husk-unit-planted"), false) == 0);
	CHECK(whiteouts_apply(&w, dir, &err) < 0 && err && strstr(err->msg, "symlink"));
	CHECK(access("/tmp/husk-unit-planted", F_OK) < 0);
	husk_error_free(&err);
	whiteouts_clear(&w);
	CHECK(layer_open_parent(dir, "lnk/x/y", false) == -ELOOP);
	CHECK(layer_open_parent(dir, "none/y", false) == -ENOENT);
	CHECK(store_remove_tree(AT_FDCWD, base, &err) == 0);
}

int main(void)
{
	test_path_clean();
	test_entry_kind();
	test_digest();
	test_split_lower();
	test_ref_split();
	test_remove_tree();
	test_whiteouts();
	return unit_summary("test_image_paths");
}
