/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU's command line for a micro-VM, and what it depends on from the host:
 * KVM or not, the TSC, the machine's size, the host cgroup's limits. The
 * choices are measured ones: see shared/notes/microvm.md. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"

#define QEMU_NAME "qemu-system-x86_64"
#define MEM_DEFAULT_MIB 256
#define MEM_MIN_MIB 128
/* What QEMU needs beyond the guest's RAM (its own heap, the TCG code
 * buffer) and beyond the container's task limit (vCPU, RCU, 9p workers). */
#define QEMU_MEM_OVERHEAD (256LL << 20)
#define QEMU_TASK_OVERHEAD 128

/* Without tsc_early_khz and tsc=reliable, most TCG boots hung calibrating
 * against the PIT; ACPI stays on (virtio-mmio devices are found through
 * it, and poweroff ends QEMU through it). */
static const char *const kernel_args =
	"console=ttyS0 panic=-1 tsc=reliable mitigations=off cryptomgr.notests "
	"no_timer_check pci=off audit=0 i8042.noaux i8042.nokbd i8042.nopnp "
	"random.trust_cpu=on";

/* QEMU's option syntax: a ',' inside a value is written ",,". */
static char *opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	for (const char *p = s; *p; p++)
		commas += *p == ',';
	char *out = malloc(n + commas + 1), *o = out;
	if (!out)
		abort();
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

struct argv_buf {
	char **v;
	size_t n, cap;
};

static void push(struct argv_buf *a, char *s)
{
	if (!s)
		abort();
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (!a->v)
			abort();
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void pushf(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pushf(struct argv_buf *a, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	push(a, s);
}

static void push2(struct argv_buf *a, const char *opt, const char *val)
{
	push(a, strdup(opt));
	push(a, strdup(val));
}

static void push_9p(struct argv_buf *a, unsigned n, const char *path, const char *tag, bool ro)
{
	_cleanup_free_ char *p = opt_escape(path);
	push(a, strdup("-fsdev"));
	/* remap: a tree spanning host mounts must not show colliding inodes */
	pushf(a, "local,id=fs%u,path=%s,security_model=none,multidevs=remap%s", n, p,
	      ro ? ",readonly=on" : "");
	push(a, strdup("-device"));
	pushf(a, "virtio-9p-device,fsdev=fs%u,mount_tag=%s", n, tag);
}

char **vm_qemu_argv(const struct vm_qemu_cfg *c)
{
	struct argv_buf a = { 0 };
	_cleanup_free_ char *console = opt_escape(c->console_log);

	push(&a, strdup(c->qemu));
	push2(&a, "-M", "microvm");
	push2(&a, "-accel", c->kvm ? "kvm" : "tcg");
	if (c->kvm)
		push2(&a, "-cpu", "host");
	push(&a, strdup("-smp"));
	pushf(&a, "%u", c->cpus);
	push(&a, strdup("-m"));
	pushf(&a, "%u", c->mem_mib);
	push(&a, strdup("-nodefaults"));
	push(&a, strdup("-no-user-config"));
	push2(&a, "-display", "none");
	push(&a, strdup("-no-reboot"));
	push2(&a, "-kernel", c->vmlinux);
	push2(&a, "-initrd", c->initrd);
	push(&a, strdup("-append"));
	if (c->tsc_khz)
		pushf(&a, "%s %s tsc_early_khz=%lu", kernel_args,
		      c->debug ? "loglevel=7 husk.debug=1" : "quiet loglevel=1", c->tsc_khz);
	else
		pushf(&a, "%s %s", kernel_args, c->debug ? "loglevel=7 husk.debug=1" : "quiet loglevel=1");
	push(&a, strdup("-serial"));
	pushf(&a, "file:%s", console);
	push(&a, strdup("-chardev"));
	pushf(&a, "socket,id=ctl,fd=%d", c->ctl_fd);
	push2(&a, "-device", "virtio-serial-device");
	push2(&a, "-device", "virtserialport,chardev=ctl,name=" VM_PORT_NAME);
	/* Not read-only even for root.readonly: as on the host, the agent
	 * makes missing mount points and cwd first, then remounts it. */
	push_9p(&a, 0, c->rootfs, VM_ROOTFS_TAG, false);
	for (size_t i = 0; i < c->n_shares; i++)
		push_9p(&a, (unsigned)i + 1, c->shares[i].source, c->shares[i].tag,
			c->shares[i].readonly);
	if (c->tap_fd > 0) {
		push(&a, strdup("-netdev"));
		pushf(&a, "tap,id=n0,fd=%d", c->tap_fd);
		push(&a, strdup("-device"));
		pushf(&a, "virtio-net-device,netdev=n0,mac=%s", c->mac);
	}
	return a.v;
}

int vm_find_qemu(char **path, husk_error **err)
{
	const char *env = getenv("HUSK_QEMU");
	if (env && *env) {
		if (access(env, X_OK) < 0)
			return husk_fail(err, errno, "vm: HUSK_QEMU %s", env);
		*path = strdup(env);
		return 0;
	}
	const char *dirs = getenv("PATH");
	_cleanup_free_ char *copy = strdup(dirs && *dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", d, QEMU_NAME) < 0)
			return husk_fail(err, ENOMEM, "vm: find QEMU");
		if (access(p, X_OK) == 0) {
			*path = p;
			return 0;
		}
		free(p);
	}
	return husk_fail(err, 0, "vm: %s not found in PATH (Debian: apt-get install qemu-system-x86)",
			 QEMU_NAME);
}

/* Hardware virtualization in the CPU flags: /dev/kvm can also be a
 * software hypervisor (kvm_pvm, as on the CI VM) that answers the API but
 * runs an ordinary guest kernel slower than TCG, if at all. */
static bool cpu_has_vmx_or_svm(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(t, "vmx") || !strcmp(t, "svm"))
				return true;
		return false;
	}
	return false;
}

bool vm_kvm_usable(void)
{
	const char *accel = getenv("HUSK_VM_ACCEL");
	if (accel && !strcmp(accel, "tcg"))
		return false;
	_cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return false;
	return (accel && !strcmp(accel, "kvm")) || cpu_has_vmx_or_svm();
}

/* /proc/cpuinfo's "cpu MHz": the TSC rate where the frequency is constant,
 * as it is on the VMs this runs on; TCG reads the host's TSC for the guest's. */
unsigned long vm_host_tsc_khz(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':');
		double mhz;
		if (!strncmp(line, "cpu MHz", 7) && colon && sscanf(colon + 1, "%lf", &mhz) == 1 && mhz > 0)
			return (unsigned long)(mhz * 1000.0 + 0.5);
	}
	return 0;
}

void vm_machine_size(struct json_object *resources, unsigned *cpus, unsigned *mem_mib)
{
	struct json_object *cpu = json_get(resources, "cpu"), *mem = json_get(resources, "memory");
	struct json_object *quota = json_get(cpu, "quota"), *period = json_get(cpu, "period");
	struct json_object *limit = json_get(mem, "limit");
	long host = sysconf(_SC_NPROCESSORS_ONLN);

	*cpus = 1;
	int64_t q = quota ? json_object_get_int64(quota) : 0;
	uint64_t per = period ? json_object_get_uint64(period) : 0;
	if (!per)
		per = 100000;
	if (q > 0)
		*cpus = (unsigned)(((uint64_t)q + per - 1) / per);
	if (host > 0 && *cpus > (unsigned)host)
		*cpus = (unsigned)host;
	if (*cpus < 1)
		*cpus = 1;
	*mem_mib = MEM_DEFAULT_MIB;
	int64_t l = limit ? json_object_get_int64(limit) : 0;
	if (l > 0) {
		int64_t mib = (l + (1 << 20) - 1) >> 20;
		*mem_mib = mib < MEM_MIN_MIB ? MEM_MIN_MIB : mib > 1 << 20 ? 1 << 20 : (unsigned)mib;
	}
}

static void raise_limit(struct json_object *o, const char *key, int64_t by)
{
	struct json_object *v = json_get(o, key);
	int64_t n = v ? json_object_get_int64(v) : 0;
	if (n > 0)
		json_object_object_add(o, key, json_object_new_int64(n + by));
}

static struct json_object *device_rule(int major, int minor)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "allow", json_object_new_boolean(1));
	json_object_object_add(r, "type", json_object_new_string("c"));
	json_object_object_add(r, "major", json_object_new_int(major));
	json_object_object_add(r, "minor", json_object_new_int(minor));
	json_object_object_add(r, "access", json_object_new_string("rwm"));
	return r;
}

struct json_object *vm_host_resources(struct json_object *resources)
{
	struct json_object *r = NULL;
	if (!resources || json_object_deep_copy(resources, &r, NULL) < 0 || !r)
		r = json_object_new_object();
	struct json_object *mem = json_get(r, "memory"), *pids = json_get(r, "pids");
	/* The guest gets the limit as its RAM; QEMU lives above it. */
	raise_limit(mem, "limit", QEMU_MEM_OVERHEAD);
	raise_limit(mem, "swap", QEMU_MEM_OVERHEAD);
	raise_limit(pids, "limit", QEMU_TASK_OVERHEAD);
	/* The container's device rules apply in the guest; here only QEMU
	 * runs: runc's defaults plus kvm, vhost-net and vhost-vsock. */
	struct json_object *dev = json_object_new_array();
	json_object_array_add(dev, device_rule(10, 232));
	json_object_array_add(dev, device_rule(10, 238));
	json_object_array_add(dev, device_rule(10, 241));
	json_object_object_add(r, "devices", dev);
	return r;
}
