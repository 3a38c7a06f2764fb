// SPDX-License-Identifier: MIT
/*
 * floor: the least work a container start can do on this kernel, as a
 * yardstick for the runtimes.
 *
 *   floor [-c NAME] ROOTFS
 *
 * clone() into the five namespaces of `runc spec`'s default config (pid,
 * net, ipc, uts, mount), make the mount tree private, bind the rootfs onto
 * itself, mount proc, pivot_root into it, execve("/bin/true") and wait for it.
 * No config parsing, no state files, no capabilities, seccomp, masked paths
 * or /dev: only what no runtime can skip.
 *
 * With -c NAME it also creates the nine v1 cgroups a runtime creates on this
 * hybrid machine (/sys/fs/cgroup/<ctrl>/husk-bench/NAME), moves the child into
 * them before it runs, and removes them after it exited, as `run` + `delete`
 * do.  cpuset.cpus/mems are copied from the parent like every runtime must
 * (a fresh v1 cpuset cgroup has none and refuses tasks).
 *
 * Exit status: the container's, or 1 with a message if a step failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT   "/sys/fs/cgroup"
#define CG_PARENT "husk-bench"
#define STACK_SIZE (64 * 1024)

static const char *const controllers[] = {
	"cpu", "cpuacct", "cpuset", "memory", "devices",
	"freezer", "blkio", "pids", "systemd",
};

#define NR_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

static const char *rootfs;
static int sync_pipe[2];

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Copy cpuset.cpus and cpuset.mems from @from to @to if @to has none. */
static int cpuset_inherit(const char *from, const char *to)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char src[512], dst[512], val[256], cur[256];

	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s/%s", from, files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", to, files[i]);
		if (read_file(dst, cur, sizeof(cur)) == 0 && cur[0] != '\n' &&
		    cur[0] != '\0')
			continue;
		if (read_file(src, val, sizeof(val)) < 0 ||
		    write_file(dst, val, strlen(val)) < 0)
			return -1;
	}
	return 0;
}

/*
 * Create husk-bench/NAME under every controller.  The husk-bench parent is
 * normally made by the driver before timing starts; making it here too keeps
 * the program usable on its own.
 */
static void cgroups_create(const char *name)
{
	char parent[256], leaf[512];

	for (size_t i = 0; i < NR_CONTROLLERS; i++) {
		snprintf(parent, sizeof(parent), CG_ROOT "/%s/" CG_PARENT,
			 controllers[i]);
		snprintf(leaf, sizeof(leaf), "%s/%s", parent, name);
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			die(parent);
		if (!strcmp(controllers[i], "cpuset") &&
		    cpuset_inherit(CG_ROOT "/cpuset", parent) < 0)
			die("cpuset parent");
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
			die(leaf);
		if (!strcmp(controllers[i], "cpuset") &&
		    cpuset_inherit(parent, leaf) < 0)
			die("cpuset leaf");
	}
}

static void cgroups_enter(const char *name, pid_t pid)
{
	char path[512], buf[32];
	int len = snprintf(buf, sizeof(buf), "%d", pid);

	for (size_t i = 0; i < NR_CONTROLLERS; i++) {
		snprintf(path, sizeof(path),
			 CG_ROOT "/%s/" CG_PARENT "/%s/cgroup.procs",
			 controllers[i], name);
		if (write_file(path, buf, len) < 0)
			die(path);
	}
}

static void cgroups_remove(const char *name)
{
	char path[512];

	for (size_t i = 0; i < NR_CONTROLLERS; i++) {
		snprintf(path, sizeof(path), CG_ROOT "/%s/" CG_PARENT "/%s",
			 controllers[i], name);
		/*
		 * A reaped task can keep its css_set pinned for a moment;
		 * runtimes retry on EBUSY, so do we.
		 */
		for (int try = 0; rmdir(path) < 0; try++) {
			struct timespec ms = { 0, 1000000 };

			if (errno == ENOENT)
				break;
			if (errno != EBUSY || try >= 100)
				die(path);
			nanosleep(&ms, NULL);
		}
	}
}

static int child(void *arg)
{
	char proc[4096];
	char c;

	(void)arg;
	/* Wait until the parent has put us into the cgroups. */
	close(sync_pipe[1]);
	if (read(sync_pipe[0], &c, 1) < 0)
		die("sync");
	close(sync_pipe[0]);

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind rootfs");
	snprintf(proc, sizeof(proc), "%s/proc", rootfs);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		die("mount proc");
	if (chdir(rootfs) < 0)
		die("chdir rootfs");
	/* pivot_root(".", ".") stacks the old root on top; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount old root");
	if (chdir("/") < 0)
		die("chdir /");

	char *const argv[] = { "/bin/true", NULL };
	char *const envp[] = { "PATH=/bin", NULL };

	execve(argv[0], argv, envp);
	die("execve /bin/true");
	return 1;
}

int main(int argc, char **argv)
{
	const int flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			  CLONE_NEWUTS | CLONE_NEWNS | SIGCHLD;
	const char *cgname = NULL;
	char *stack;
	int opt, status;
	pid_t pid;

	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt != 'c')
			goto usage;
		cgname = optarg;
	}
	if (optind != argc - 1)
		goto usage;
	rootfs = argv[optind];

	if (pipe2(sync_pipe, O_CLOEXEC) < 0)
		die("pipe");
	if (cgname)
		cgroups_create(cgname);

	stack = malloc(STACK_SIZE);
	if (!stack)
		die("malloc");
	pid = clone(child, stack + STACK_SIZE, flags, NULL);
	if (pid < 0)
		die("clone");
	close(sync_pipe[0]);
	if (cgname)
		cgroups_enter(cgname, pid);
	close(sync_pipe[1]);	/* releases the child */

	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (cgname)
		cgroups_remove(cgname);

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1;

usage:
	fprintf(stderr, "usage: floor [-c NAME] ROOTFS\n");
	return 2;
}
