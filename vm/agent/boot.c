/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Booting the guest: console, mounts, modules, the control port. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../proto.h"

#define PORTS_DIR "/sys/class/virtio-ports"
#define PORT_WAIT_MS 20000
#define NEW_ROOT "/.husk-root"

static const struct {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
} guest_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	/* The default config's "cgroup" mount then gives the container a
	 * cgroup2 view (rootfs/cgroupfs.c). */
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
};

/* The kernel opens /dev/console for us only if the initramfs has it. */
static int boot_console(husk_error **err)
{
	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0 && errno != EBUSY)
		return husk_fail(err, errno, "mount devtmpfs on /dev");
	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return 0;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return husk_fail(err, errno, "open /dev/console");
	for (int i = 0; i < 3; i++)
		if (i != fd && dup2(fd, i) < 0)
			return husk_fail(err, errno, "console as fd %d", i);
	if (fd > 2)
		close(fd);
	return 0;
}

/* pivot_root(2) refuses to move the initramfs, which has no parent mount,
 * and the container's pivot_root moves the root it inherits: put a bind of
 * the initramfs over it, as switch_root puts a new root. */
static int boot_root(husk_error **err)
{
	if (mkdir(NEW_ROOT, 0700) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "mkdir %s", NEW_ROOT);
	if (mount("/", NEW_ROOT, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_fail(err, errno, "bind / on %s", NEW_ROOT);
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return husk_fail(err, errno, "move %s onto /", NEW_ROOT);
	rmdir(NEW_ROOT);
	return 0;
}

static int boot_mounts(husk_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(guest_mounts); i++) {
		const char *t = guest_mounts[i].target;
		mkdir(t, 0755);
		if (mount(guest_mounts[i].source, t, guest_mounts[i].type, guest_mounts[i].flags,
			  guest_mounts[i].data) < 0 && errno != EBUSY)
			return husk_fail(err, errno, "mount %s on %s", guest_mounts[i].type, t);
	}
	if (mkdir("/run/husk", 0700) < 0 || mkdir(AGENT_ROOTFS, 0755) < 0 ||
	    mkdir(AGENT_SHARES, 0700) < 0)
		return husk_fail(err, errno, "mkdir under /run/husk");
	return 0;
}

/* husk.debug=1 and husk.floor=1: parameters with a dot never reach init's
 * argv or environment, so read them where the kernel keeps them. */
static void boot_cmdline(struct agent *a)
{
	char buf[4096];
	_cleanup_close_ int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		if (!strcmp(t, "husk.debug=1"))
			a->debug = true;
		else if (!strcmp(t, "husk.floor=1"))
			a->floor = true;
	}
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int load_module(struct agent *a, const char *name, husk_error **err)
{
	char path[512];
	snprintf(path, sizeof(path), "/modules/%s", name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "open module %s", path);
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "load module %s", path);
	agent_log(a, "loaded %s", name);
	return 0;
}

/* /modules/NN-name.ko in lexical order: NN puts dependencies first. */
static int boot_modules(struct agent *a, husk_error **err)
{
	_cleanup_closedir_ DIR *d = opendir("/modules");
	char *names[256];
	size_t n = 0;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : husk_fail(err, errno, "open /modules");
	for (struct dirent *e; (e = readdir(d)) && n < ARRAY_SIZE(names);) {
		size_t len = strlen(e->d_name);
		if (len > 3 && !strcmp(e->d_name + len - 3, ".ko") && !(names[n++] = strdup(e->d_name)))
			return husk_fail(err, ENOMEM, "list /modules");
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = load_module(a, names[i], err);
		free(names[i]);
	}
	return r;
}

int agent_boot(struct agent *a, husk_error **err)
{
	struct timespec start;

	clock_gettime(CLOCK_BOOTTIME, &start);
	if (boot_console(err) < 0 || boot_root(err) < 0 || boot_mounts(err) < 0)
		return -1;
	boot_cmdline(a);
	agent_log(a, "started at %ld.%06ld, mounted", (long)start.tv_sec, start.tv_nsec / 1000);
	if (boot_modules(a, err) < 0)
		return -1;
	agent_log(a, "modules loaded");
	return 0;
}

/* The port directory ("vport0p1") whose name file says VM_PORT_NAME. */
static bool find_port(char *dev, size_t size)
{
	_cleanup_closedir_ DIR *d = opendir(PORTS_DIR);
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[300], name[64];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PORTS_DIR "/%s/name", e->d_name);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (!strcmp(name, VM_PORT_NAME)) {
			snprintf(dev, size, "/dev/%s", e->d_name);
			return true;
		}
	}
	return false;
}

/* The port's name comes from the host a little after the module probed
 * the device: poll for it. */
int agent_open_port(struct agent *a, husk_error **err)
{
	const struct timespec tick = { .tv_nsec = 2 * 1000 * 1000 };
	char dev[300];

	for (int ms = 0; !find_port(dev, sizeof(dev)); ms += 2) {
		if (ms >= PORT_WAIT_MS)
			return husk_fail(err, ETIMEDOUT, "no virtio-serial port named `%s` in %s",
					 VM_PORT_NAME, PORTS_DIR);
		nanosleep(&tick, NULL);
	}
	a->port = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (a->port < 0)
		return husk_fail(err, errno, "open %s", dev);
	agent_log(a, "port %s open", dev);
	return 0;
}
