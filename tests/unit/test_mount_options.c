/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs/mount_options (pure mapping) and rootfs/resolve (confinement). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../rootfs/internal.h"
#include "../../rootfs/mount_options.h"
#include "unit.h"

#define OPTS(...) ((const char *[]){ __VA_ARGS__ }), ARRAY_SIZE(((const char *[]){ __VA_ARGS__ }))

static int parse(struct mount_opts *o, const char **v, size_t n)
{
	husk_error *err = NULL;
	int r = mount_options_parse(v, n, o, &err);

	husk_error_free(&err);
	return r;
}

static void test_flags(void)
{
	struct mount_opts o;

	CHECK(mount_options_parse(NULL, 0, &o, NULL) == 0);
	CHECK(o.flags == 0 && o.cleared == 0 && o.data == NULL && !o.rec_attr);
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("ro", "nosuid", "nodev", "noexec")) == 0);
	CHECK(o.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
	CHECK(o.cleared == 0 && o.data == NULL);
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("sync", "dirsync", "remount", "mand", "noatime",
			     "nodiratime", "relatime", "strictatime", "nosymfollow",
			     "lazytime", "iversion", "silent")) == 0);
	CHECK(o.flags == (MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK |
			  MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |
			  MS_NOSYMFOLLOW | MS_LAZYTIME | MS_I_VERSION | MS_SILENT));
	mount_opts_done(&o);

	/* Each "off" form clears its flag and is remembered as cleared. */
	CHECK(parse(&o, OPTS("ro", "rw")) == 0);
	CHECK(o.flags == 0 && o.cleared == MS_RDONLY);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rw", "ro")) == 0);
	CHECK(o.flags == MS_RDONLY && o.cleared == 0);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("suid", "dev", "exec", "async", "nomand", "atime",
			     "diratime", "norelatime", "nostrictatime", "symfollow",
			     "nolazytime", "noiversion", "loud")) == 0);
	CHECK(o.flags == 0);
	CHECK(o.cleared == (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
			    MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
			    MS_STRICTATIME | MS_NOSYMFOLLOW | MS_LAZYTIME |
			    MS_I_VERSION | MS_SILENT));
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("nosuid", "suid", "nosuid")) == 0);
	CHECK(o.flags == MS_NOSUID && o.cleared == 0);
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("defaults")) == 0);
	CHECK(o.flags == 0 && o.cleared == 0 && o.data == NULL);
	mount_opts_done(&o);
}

static void test_bind(void)
{
	struct mount_opts o;

	CHECK(parse(&o, OPTS("bind")) == 0);
	CHECK(o.flags == MS_BIND && mount_opts_is_bind(NULL, &o));
	CHECK(mount_opts_is_bind("none", &o));
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rbind", "ro")) == 0);
	CHECK(o.flags == (MS_BIND | MS_REC | MS_RDONLY));
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("nosuid")) == 0);
	CHECK(mount_opts_is_bind("bind", &o));
	CHECK(!mount_opts_is_bind("tmpfs", &o));
	CHECK(!mount_opts_is_bind(NULL, &o));
	mount_opts_done(&o);
}

static void test_propagation(void)
{
	struct mount_opts o;
	unsigned long f;

	CHECK(parse(&o, OPTS("rbind", "rprivate", "shared", "rslave", "unbindable")) == 0);
	CHECK(o.n_propagation == 4);
	CHECK(o.propagation[0] == (MS_PRIVATE | MS_REC));
	CHECK(o.propagation[1] == MS_SHARED);
	CHECK(o.propagation[2] == (MS_SLAVE | MS_REC));
	CHECK(o.propagation[3] == MS_UNBINDABLE);
	CHECK(o.flags == (MS_BIND | MS_REC)); /* propagation stays out of flags */
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("private", "rshared", "slave", "runbindable")) == 0);
	CHECK(o.n_propagation == 4 && o.propagation[1] == (MS_SHARED | MS_REC) &&
	      o.propagation[3] == (MS_UNBINDABLE | MS_REC));
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("shared", "shared", "shared", "shared", "shared",
			     "shared", "shared", "shared", "shared")) < 0);
	mount_opts_done(&o);

	CHECK(mount_propagation_parse(NULL, &f) == 0 && f == 0);
	CHECK(mount_propagation_parse("", &f) == 0 && f == 0);
	CHECK(mount_propagation_parse("rprivate", &f) == 0 && f == (MS_PRIVATE | MS_REC));
	CHECK(mount_propagation_parse("private", &f) == 0 && f == MS_PRIVATE);
	CHECK(mount_propagation_parse("rslave", &f) == 0 && f == (MS_SLAVE | MS_REC));
	CHECK(mount_propagation_parse("slave", &f) == 0 && f == MS_SLAVE);
	CHECK(mount_propagation_parse("rshared", &f) == 0 && f == (MS_SHARED | MS_REC));
	CHECK(mount_propagation_parse("shared", &f) == 0 && f == MS_SHARED);
	CHECK(mount_propagation_parse("runbindable", &f) == 0 && f == (MS_UNBINDABLE | MS_REC));
	CHECK(mount_propagation_parse("unbindable", &f) == 0 && f == MS_UNBINDABLE);
	CHECK(mount_propagation_parse("bogus", &f) < 0);
	CHECK(mount_propagation_parse("ro", &f) < 0); /* a flag, not a propagation */
	CHECK(mount_propagation_parse("Shared", &f) < 0);
}

static void test_recursive(void)
{
	struct mount_opts o;

	CHECK(parse(&o, OPTS("rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime",
			     "rnosymfollow")) == 0);
	CHECK(o.rec_attr);
	CHECK(o.attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			     MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
			     MOUNT_ATTR_NOSYMFOLLOW));
	CHECK(o.attr_clr == 0);
	CHECK(o.flags == 0); /* recursive attributes are not mount(2) flags */
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow")) == 0);
	CHECK(o.rec_attr && o.attr_set == 0);
	CHECK(o.attr_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			     MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
			     MOUNT_ATTR_NOSYMFOLLOW));
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("rro", "rrw")) == 0);
	CHECK(o.attr_set == 0 && o.attr_clr == MOUNT_ATTR_RDONLY);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rrw", "rro")) == 0);
	CHECK(o.attr_set == MOUNT_ATTR_RDONLY && o.attr_clr == 0);
	mount_opts_done(&o);

	/* atime modes: attr_clr must carry MOUNT_ATTR__ATIME, later wins. */
	CHECK(parse(&o, OPTS("rnoatime")) == 0);
	CHECK(o.attr_set == MOUNT_ATTR_NOATIME && o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rstrictatime")) == 0);
	CHECK(o.attr_set == MOUNT_ATTR_STRICTATIME && o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rrelatime")) == 0);
	CHECK(o.rec_attr && o.attr_set == MOUNT_ATTR_RELATIME && o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rnoatime", "rrelatime")) == 0);
	CHECK(o.attr_set == 0 && o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rnoatime", "rstrictatime")) == 0);
	CHECK(o.attr_set == MOUNT_ATTR_STRICTATIME && o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rnoatime", "ratime")) == 0);
	CHECK(o.attr_set == 0 && (o.attr_clr & MOUNT_ATTR_NOATIME));
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rnorelatime")) == 0);
	CHECK(o.rec_attr && o.attr_set == 0 && o.attr_clr == 0);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("rnoatime", "rro", "rnodiratime")) == 0);
	CHECK(o.attr_set == (MOUNT_ATTR_NOATIME | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODIRATIME));
	CHECK(o.attr_clr == MOUNT_ATTR__ATIME);
	mount_opts_done(&o);
}

static void test_extensions(void)
{
	struct mount_opts o;

	CHECK(parse(&o, OPTS("tmpcopyup", "mode=755")) == 0);
	CHECK(o.tmpcopyup && o.flags == 0);
	CHECK_STR(o.data, "mode=755");
	mount_opts_done(&o);

	CHECK(parse(&o, OPTS("idmap=1")) == 0); /* not the option: fs data */
	CHECK_STR(o.data, "idmap=1");
	CHECK(!o.idmap && !o.ridmap);
	mount_opts_done(&o);
}

/* runtime-spec 1.2 idmapped mounts: flags of their own, never fs data. */
static void test_idmap(void)
{
	struct mount_opts o;

	CHECK(parse(&o, OPTS("rbind", "idmap")) == 0);
	CHECK(o.idmap && !o.ridmap && o.data == NULL);
	CHECK(o.flags == (MS_BIND | MS_REC) && !o.rec_attr);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("ridmap", "ro")) == 0);
	CHECK(o.idmap && o.ridmap && o.data == NULL && o.flags == MS_RDONLY);
	CHECK(mount_opts_is_bind("bind", &o) && !mount_opts_is_bind(NULL, &o));
	mount_opts_done(&o);
	/* ridmap covers idmap's top mount: the order does not matter. */
	CHECK(parse(&o, OPTS("ridmap", "idmap")) == 0);
	CHECK(o.idmap && o.ridmap);
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("bind", "nosuid")) == 0);
	CHECK(!o.idmap && !o.ridmap);
	mount_opts_done(&o);
}

static void test_data(void)
{
	struct mount_opts o;

	/* runc spec's /dev/pts */
	CHECK(parse(&o, OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666",
			     "mode=0620", "gid=5")) == 0);
	CHECK(o.flags == (MS_NOSUID | MS_NOEXEC));
	CHECK_STR(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_opts_done(&o);

	/* runc spec's /dev and /sys/fs/cgroup */
	CHECK(parse(&o, OPTS("nosuid", "strictatime", "mode=755", "size=65536k")) == 0);
	CHECK(o.flags == (MS_NOSUID | MS_STRICTATIME));
	CHECK_STR(o.data, "mode=755,size=65536k");
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("nosuid", "noexec", "nodev", "relatime", "ro")) == 0);
	CHECK(o.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
	CHECK(o.data == NULL);
	mount_opts_done(&o);

	/* empty strings ask for nothing; a pre-joined string passes as is */
	CHECK(parse(&o, OPTS("", "size=1m", "", "nr_inodes=5,uid=0")) == 0);
	CHECK_STR(o.data, "size=1m,nr_inodes=5,uid=0");
	mount_opts_done(&o);
	CHECK(parse(&o, OPTS("")) == 0);
	CHECK(o.data == NULL);
	mount_opts_done(&o);

	/* unknown words are data, in order, and never errors */
	CHECK(parse(&o, OPTS("acl", "ro", "user_xattr", "nosiud")) == 0);
	CHECK(o.flags == MS_RDONLY);
	CHECK_STR(o.data, "acl,user_xattr,nosiud");
	mount_opts_done(&o);
	CHECK(o.data == NULL); /* done resets */
	mount_opts_done(&o);   /* and is idempotent */

	/* matching is exact and case-sensitive, like runc */
	CHECK(parse(&o, OPTS("RO", " ro")) == 0);
	CHECK(o.flags == 0);
	CHECK_STR(o.data, "RO, ro");
	mount_opts_done(&o);
}

static void test_statvfs_map(void)
{
	CHECK(mount_flags_from_statvfs(0) == MS_STRICTATIME);
	CHECK(mount_flags_from_statvfs(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RELATIME) ==
	      (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME));
	CHECK(mount_flags_from_statvfs(ST_NOATIME | ST_NODIRATIME) ==
	      (MS_NOATIME | MS_NODIRATIME));
	CHECK(mount_flags_from_statvfs(ST_SYNCHRONOUS | ST_MANDLOCK | ST_RELATIME) ==
	      (MS_SYNCHRONOUS | MS_MANDLOCK | MS_RELATIME));
	CHECK(mount_flags_from_statvfs(0x2000 | ST_RELATIME) == (MS_NOSYMFOLLOW | MS_RELATIME));
	CHECK((mount_flags_from_statvfs(ST_RDONLY | ST_WRITE) & ~MS_STRICTATIME) == MS_RDONLY);
	CHECK((MOUNT_LOCKED_FLAGS & MS_RDONLY) && (MOUNT_LOCKED_FLAGS & MS_NOSUID) &&
	      (MOUNT_LOCKED_FLAGS & MS_RELATIME) && !(MOUNT_LOCKED_FLAGS & MS_SYNCHRONOUS));

	CHECK(mount_attr_from_flags(0) == MOUNT_ATTR_RELATIME);
	CHECK(mount_attr_from_flags(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) ==
	      (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
	CHECK(mount_attr_from_flags(MS_NOATIME) == MOUNT_ATTR_NOATIME);
	CHECK(mount_attr_from_flags(MS_NOATIME | MS_STRICTATIME) == MOUNT_ATTR_STRICTATIME);
	CHECK(mount_attr_from_flags(MS_RELATIME | MS_NODIRATIME) == MOUNT_ATTR_NODIRATIME);
	CHECK(mount_attr_from_flags(MS_NOSYMFOLLOW | MS_SYNCHRONOUS | MS_BIND) ==
	      MOUNT_ATTR_NOSYMFOLLOW);
}

static void check_clean(const char *in, const char *want)
{
	_cleanup_free_ char *got = rootfs_path_clean(in);

	CHECK_STR(got, want);
}

static void test_path_clean(void)
{
	check_clean("/", "/");
	check_clean("", "/");
	check_clean(".", "/");
	check_clean("a/b", "/a/b");
	check_clean("//a//b/", "/a/b");
	check_clean("/a/./b/../c", "/a/c");
	check_clean("/../..", "/");
	check_clean("../etc/passwd", "/etc/passwd");
	check_clean("/a/b/..", "/a");
	check_clean("/a/..", "/");
	check_clean("/..a/b..", "/..a/b..");
	check_clean("/a/.../b", "/a/.../b");
	check_clean("/proc/./sys/../kcore", "/proc/kcore");
	check_clean("/dev/", "/dev");
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static bool exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static void check_host_path(int fd, const char *dir, const char *rel)
{
	_cleanup_free_ char *got = fd >= 0 ? fd_host_path(fd) : NULL;
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "%s%s", dir, rel);
	CHECK_STR(got, want);
	if (fd >= 0)
		close(fd);
}

/* An image full of hostile symlinks must not reach outside its root. */
static void test_resolve(void)
{
	UNIT_SKIP_ON_VALGRIND("valgrind 3.19 has no openat2");
	char tmp[] = "/tmp/husk-unit-XXXXXX", root[PATH_MAX];
	_cleanup_close_ int rfd = -1;

	if (!mkdtemp(tmp)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(root, sizeof(root), "%s/root", tmp);
	CHECK(mkdir(root, 0755) == 0);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(rfd >= 0);
	CHECK(mkdirat(rfd, "etc", 0755) == 0);
	CHECK(symlinkat("/etc", rfd, "abs") == 0);
	CHECK(symlinkat("../../../../../..", rfd, "up") == 0);
	CHECK(symlinkat("/nonexistent/x", rfd, "dang") == 0);
	CHECK(symlinkat("/proc", rfd, "hostproc") == 0);
	CHECK(mknodat(rfd, "file", S_IFREG | 0644, 0) == 0);

	check_host_path(open_in_root(rfd, "/abs", O_PATH, 0), root, "/etc");
	check_host_path(open_in_root(rfd, "up/etc", O_PATH, 0), root, "/etc");
	check_host_path(open_in_root(rfd, "/", O_PATH, 0), root, "");
	CHECK(open_in_root(rfd, "/hostproc/self", O_PATH, 0) == -ENOENT);
	CHECK(open_in_root(rfd, "/abs/x", O_PATH, RESOLVE_NO_SYMLINKS) == -ELOOP);

	check_host_path(mkdir_in_root(rfd, "/up/newdir/sub", 0755), root, "/newdir/sub");
	CHECK(!exists(tmp, "newdir"));
	check_host_path(mkdir_in_root(rfd, "/abs/x/y", 0755), root, "/etc/x/y");
	check_host_path(mkdir_in_root(rfd, "/etc/x", 0755), root, "/etc/x");
	check_host_path(mkfile_in_root(rfd, "/abs/hosts", 0644), root, "/etc/hosts");
	check_host_path(mkfile_in_root(rfd, "/up/../deep/f", 0644), root, "/deep/f");
	CHECK(!exists(tmp, "deep"));
	/* a dangling symlink is followed inside the root, as runc does for
	 * the /etc/resolv.conf of systemd images */
	check_host_path(mkfile_in_root(rfd, "/dang", 0644), root, "/nonexistent/x");
	CHECK(!exists(tmp, "nonexistent"));
	CHECK(symlinkat("../run/stub.conf", rfd, "etc/resolv.conf") == 0);
	check_host_path(mkfile_in_root(rfd, "/etc/resolv.conf", 0644), root, "/run/stub.conf");
	CHECK(symlinkat("/up/../../../outside", rfd, "dangdir") == 0);
	check_host_path(mkdir_in_root(rfd, "/dangdir/sub", 0755), root, "/outside/sub");
	CHECK(!exists(tmp, "outside") && !exists(tmp, "../outside"));
	CHECK(symlinkat("loop2", rfd, "loop1") == 0 && symlinkat("loop1", rfd, "loop2") == 0);
	CHECK(mkfile_in_root(rfd, "/loop1", 0644) == -ELOOP);
	CHECK(mkdir_in_root(rfd, "/loop1/x", 0755) == -ELOOP);
	CHECK(mkdir_in_root(rfd, "/file/x", 0755) == -ENOTDIR);
	check_host_path(mkfile_in_root(rfd, "/", 0644), root, ""); /* exists: returned as is */
	check_host_path(mkfile_in_root(rfd, "/file", 0644), root, "/file");

	CHECK(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

int main(void)
{
	test_flags();
	test_bind();
	test_propagation();
	test_recursive();
	test_extensions();
	test_idmap();
	test_data();
	test_statvfs_map();
	test_path_clean();
	test_resolve();
	return unit_summary("mount_options");
}
