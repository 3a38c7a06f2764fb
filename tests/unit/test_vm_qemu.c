/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm/qemu.c: QEMU's command line, the machine's size from the resources,
 * and the host cgroup's limits. Pure: no QEMU is started. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../vm/host.h"
#include "unit.h"

/* The value after opt (the first one at or after index from), or NULL. */
static const char *arg_after(char **argv, const char *opt, int nth)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], opt) && nth-- == 0)
			return argv[i + 1];
	return NULL;
}

static void test_argv(void)
{
	const struct vm_share shares[] = { { "s1", (char *)"/data,with,commas", false },
					   { "s2", (char *)"/etc", true } };
	const struct vm_qemu_cfg c = {
		.qemu = "/usr/bin/qemu-system-x86_64", .vmlinux = "/c/vmlinux", .initrd = "/c/initrd",
		.kvm = false, .cpus = 2, .mem_mib = 300, .tsc_khz = 2596124, .rootfs = "/b/root,fs",
		.shares = shares, .n_shares = 2, .ctl_fd = 3, .console_log = "/s/console.log",
	};
	_cleanup_strv_ char **argv = vm_qemu_argv(&c);
	CHECK_STR(argv[0], "/usr/bin/qemu-system-x86_64");
	CHECK_STR(arg_after(argv, "-M", 0), "microvm");
	CHECK_STR(arg_after(argv, "-accel", 0), "tcg");
	CHECK(arg_after(argv, "-cpu", 0) == NULL);
	CHECK_STR(arg_after(argv, "-smp", 0), "2");
	CHECK_STR(arg_after(argv, "-m", 0), "300");
	CHECK_STR(arg_after(argv, "-kernel", 0), "/c/vmlinux");
	CHECK_STR(arg_after(argv, "-initrd", 0), "/c/initrd");
	const char *append = arg_after(argv, "-append", 0);
	CHECK(append && strstr(append, "tsc_early_khz=2596124"));
	CHECK(append && strstr(append, "tsc=reliable") && !strstr(append, "acpi=off"));
	CHECK_STR(arg_after(argv, "-serial", 0), "file:/s/console.log");
	CHECK_STR(arg_after(argv, "-chardev", 0), "socket,id=ctl,fd=3");
	CHECK_STR(arg_after(argv, "-device", 1), "virtserialport,chardev=ctl,name=ctl");
	/* commas in paths are doubled, as QEMU's option syntax wants */
	CHECK_STR(arg_after(argv, "-fsdev", 0),
		  "local,id=fs0,path=/b/root,,fs,security_model=none,multidevs=remap");
	CHECK_STR(arg_after(argv, "-device", 2), "virtio-9p-device,fsdev=fs0,mount_tag=rootfs");
	CHECK_STR(arg_after(argv, "-fsdev", 1),
		  "local,id=fs1,path=/data,,with,,commas,security_model=none,multidevs=remap");
	CHECK_STR(arg_after(argv, "-device", 3), "virtio-9p-device,fsdev=fs1,mount_tag=s1");
	CHECK_STR(arg_after(argv, "-fsdev", 2),
		  "local,id=fs2,path=/etc,security_model=none,multidevs=remap,readonly=on");
	CHECK(arg_after(argv, "-netdev", 0) == NULL);

	const struct vm_qemu_cfg k = { .qemu = "q", .vmlinux = "v", .initrd = "i", .kvm = true,
				       .cpus = 1, .mem_mib = 256, .rootfs = "/r", .ctl_fd = 3,
				       .console_log = "/c", .debug = true };
	_cleanup_strv_ char **kv = vm_qemu_argv(&k);
	CHECK_STR(arg_after(kv, "-accel", 0), "kvm");
	CHECK_STR(arg_after(kv, "-cpu", 0), "host");
	append = arg_after(kv, "-append", 0);
	CHECK(append && !strstr(append, "tsc_early_khz") && strstr(append, "husk.debug=1"));

	/* --network: the tap's fd, virtio-net with the guest's MAC */
	const struct vm_qemu_cfg n = { .qemu = "q", .vmlinux = "v", .initrd = "i", .cpus = 1,
				       .mem_mib = 256, .rootfs = "/r", .ctl_fd = 3, .tap_fd = 4,
				       .mac = "0a:58:0a:58:00:02", .console_log = "/c" };
	_cleanup_strv_ char **nv = vm_qemu_argv(&n);
	CHECK_STR(arg_after(nv, "-netdev", 0), "tap,id=n0,fd=4");
	CHECK_STR(arg_after(nv, "-device", 3), "virtio-net-device,netdev=n0,mac=0a:58:0a:58:00:02");
}

static void size_of(const char *json, unsigned *cpus, unsigned *mem)
{
	struct json_object *r = json ? json_tokener_parse(json) : NULL;
	vm_machine_size(r, cpus, mem);
	json_object_put(r);
}

static void test_size(void)
{
	unsigned cpus, mem;
	long host = sysconf(_SC_NPROCESSORS_ONLN);
	size_of(NULL, &cpus, &mem);
	CHECK(cpus == 1 && mem == 256);
	size_of("{\"cpu\":{\"quota\":150000,\"period\":100000},\"memory\":{\"limit\":536870912}}", &cpus, &mem);
	CHECK(cpus == (host >= 2 ? 2u : 1u) && mem == 512);
	size_of("{\"cpu\":{\"quota\":50000},\"memory\":{\"limit\":1000}}", &cpus, &mem);
	CHECK(cpus == 1 && mem == 128);
	size_of("{\"cpu\":{\"quota\":-1},\"memory\":{\"limit\":-1}}", &cpus, &mem);
	CHECK(cpus == 1 && mem == 256);
	size_of("{\"memory\":{\"limit\":200000001}}", &cpus, &mem);
	CHECK(mem == 191);
}

static void test_host_resources(void)
{
	struct json_object *in = json_tokener_parse(
		"{\"memory\":{\"limit\":134217728,\"swap\":-1},\"pids\":{\"limit\":10},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}");
	struct json_object *out = vm_host_resources(in);
	struct json_object *mem = json_object_object_get(out, "memory");
	CHECK(json_object_get_int64(json_object_object_get(mem, "limit")) == 134217728LL + (256LL << 20));
	CHECK(json_object_get_int64(json_object_object_get(mem, "swap")) == -1);
	CHECK(json_object_get_int64(json_object_object_get(json_object_object_get(out, "pids"), "limit")) == 138);
	struct json_object *dev = json_object_object_get(out, "devices");
	CHECK(json_object_array_length(dev) == 3);
	CHECK(json_object_get_int(json_object_object_get(json_object_array_get_idx(dev, 0), "minor")) == 232);
	/* the input is left as it was */
	CHECK(json_object_get_int64(json_object_object_get(json_object_object_get(in, "memory"), "limit")) == 134217728LL);
	json_object_put(out);
	json_object_put(in);
	out = vm_host_resources(NULL);
	CHECK(json_object_array_length(json_object_object_get(out, "devices")) == 3);
	json_object_put(out);
}

int main(void)
{
	test_argv();
	test_size();
	test_host_resources();
	return unit_summary("vm_qemu");
}
