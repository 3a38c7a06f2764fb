/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm/boot: the modules.dep closure, the newc writer, the PVH note check,
 * bzImage unpacking and vm_boot_prepare()'s cache, on fixtures made here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../vm/boot.h"
#include "../../vm/boot_internal.h"
#include "unit.h"

static char root[] = "/tmp/husk-unit-vmboot-XXXXXX";

static char *at(const char *rel)
{
	char *p;
	if (asprintf(&p, "%s/%s", root, rel) < 0)
		abort();
	return p;
}

static void put_file(const char *rel, const void *data, size_t len)
{
	_cleanup_free_ char *p = at(rel);
	_cleanup_free_ char *dir = strdup(p);
	*strrchr(dir, '/') = '\0';
	boot_mkdir_p(dir, NULL);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void put_text(const char *rel, const char *text)
{
	put_file(rel, text, strlen(text));
}

/* Takes the error's text and frees the error. */
static char *error_text(husk_error **err)
{
	if (!*err)
		return strdup("(no error)");
	char *t = husk_error_text(*err);
	husk_error_free(err);
	return t;
}

static bool contains(const char *s, const char *part)
{
	return s && strstr(s, part);
}

static void *xz(const void *data, size_t len, size_t *out_len)
{
	size_t cap = len + 4096;
	uint8_t *out = malloc(cap);
	*out_len = 0;
	CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, data, len, out, out_len, cap) ==
	      LZMA_OK);
	return out;
}

/* ---- modules.dep ---------------------------------------------------- */

static const char fixture_dep[] =
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio-mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/net/9p/9pnet.ko:\n"
	"kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/fs/netfs/netfs.ko:\n"
	"kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
	"kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko\n"
	"kernel/net/core/failover.ko:\n"
	"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
	"kernel/drivers/net/virtio_net.ko.zst: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/x/loop_a.ko: kernel/x/loop_b.ko\n"
	"kernel/x/loop_b.ko: kernel/x/loop_a.ko\n"
	"kernel/x/dangling.ko: kernel/x/nowhere.ko\n";

static const char fixture_builtin[] = "kernel/drivers/char/virtio_console.ko\n"
				      "kernel/fs/ext4/ext4.ko\n";

/* Fake module bytes: a name the test can recognise in the archive. */
static void put_module(const char *rel, const char *tag)
{
	char body[64];
	snprintf(body, sizeof(body), "\177ELF-fake-module-%s", tag);
	put_text(rel, body);
}

static void make_module_tree(void)
{
	put_text("mods/modules.dep", fixture_dep);
	put_text("mods/modules.builtin", fixture_builtin);
	put_module("mods/kernel/drivers/virtio/virtio_ring.ko", "virtio_ring");
	put_module("mods/kernel/drivers/virtio/virtio.ko", "virtio");
	put_module("mods/kernel/drivers/virtio/virtio-mmio.ko", "virtio_mmio");
	put_module("mods/kernel/net/9p/9pnet.ko", "9pnet");
	put_module("mods/kernel/fs/netfs/netfs.ko", "netfs");
	put_module("mods/kernel/fs/fscache/fscache.ko", "fscache");
	put_module("mods/kernel/fs/9p/9p.ko", "9p");
	put_module("mods/kernel/net/core/failover.ko", "failover");
	put_module("mods/kernel/drivers/net/net_failover.ko", "net_failover");
	put_module("mods/kernel/drivers/net/virtio_net.ko.zst", "virtio_net");
	const char plain[] = "\177ELF-fake-module-9pnet_virtio";
	size_t n;
	_cleanup_free_ void *packed = xz(plain, strlen(plain), &n);
	put_file("mods/kernel/net/9p/9pnet_virtio.ko.xz", packed, n);
}

static char *order_of(const struct boot_modules *m)
{
	char *s = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&s, &size);
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "%s%s", i ? " " : "", m->v[i].name);
	fclose(f);
	return s;
}

static void test_modules_closure(void)
{
	_cleanup_free_ char *dir = at("mods");
	const char *want[] = { "virtio_mmio", "9pnet-virtio", "9p", "virtio_console" };
	struct boot_modules m;
	husk_error *err = NULL;

	CHECK(modules_resolve(dir, want, ARRAY_SIZE(want), &m, &err) == 0);
	_cleanup_free_ char *order = order_of(&m);
	/* Dependencies first, each once, in modprobe's order; virtio_console
	 * is built in and left out; '-' and '_' match. */
	CHECK_STR(order, "virtio_ring virtio virtio-mmio 9pnet 9pnet_virtio netfs fscache 9p");
	_cleanup_free_ char *want_path = at("mods/kernel/net/9p/9pnet_virtio.ko.xz");
	CHECK(m.n == 8 && !strcmp(m.v[4].path, want_path));
	boot_modules_clear(&m);
	CHECK(m.n == 0 && m.v == NULL);
	husk_error_free(&err);
}

static void test_modules_errors(void)
{
	_cleanup_free_ char *dir = at("mods");
	struct boot_modules m;
	husk_error *err = NULL;

	const char *missing[] = { "virtio_mmio", "no_such_mod" };
	CHECK(modules_resolve(dir, missing, 2, &m, &err) < 0);
	_cleanup_free_ char *t1 = error_text(&err);
	CHECK(contains(t1, "`no_such_mod`") && contains(t1, "modules.dep"));
	CHECK(m.n == 0);

	const char *loop[] = { "loop_a" };
	CHECK(modules_resolve(dir, loop, 1, &m, &err) < 0);
	_cleanup_free_ char *t2 = error_text(&err);
	CHECK(contains(t2, "cycle"));

	const char *dangling[] = { "dangling" };
	CHECK(modules_resolve(dir, dangling, 1, &m, &err) < 0);
	_cleanup_free_ char *t3 = error_text(&err);
	CHECK(contains(t3, "kernel/x/nowhere.ko"));

	_cleanup_free_ char *nodir = at("no-such-tree");
	CHECK(modules_resolve(nodir, missing, 1, &m, &err) < 0);
	_cleanup_free_ char *t4 = error_text(&err);
	CHECK(contains(t4, "no-such-tree/modules.dep"));

	/* Built in: nothing to load, no error. */
	const char *builtin[] = { "ext4", "virtio-console" };
	CHECK(modules_resolve(dir, builtin, 2, &m, &err) == 0 && m.n == 0);
	boot_modules_clear(&m);
}

static void test_module_bytes(void)
{
	_cleanup_free_ char *xzp = at("mods/kernel/net/9p/9pnet_virtio.ko.xz");
	_cleanup_free_ char *zst = at("mods/kernel/drivers/net/virtio_net.ko.zst");
	char *data = NULL;
	size_t len = 0;
	husk_error *err = NULL;

	CHECK(module_load_bytes(xzp, &data, &len, &err) == 0);
	CHECK(data && len == strlen("\177ELF-fake-module-9pnet_virtio") &&
	      !memcmp(data, "\177ELF-fake-module-9pnet_virtio", len));
	free(data);

	CHECK(module_load_bytes(zst, &data, &len, &err) < 0);
	_cleanup_free_ char *t = error_text(&err);
	CHECK(contains(t, "virtio_net.ko.zst") && contains(t, ".ko.xz"));
}

/* ---- newc ----------------------------------------------------------- */

struct parsed {
	char name[64];
	unsigned ino, mode, nlink, size, rmaj, rmin;
	const char *data;
};

static unsigned hex8(const char *p)
{
	char b[9];
	memcpy(b, p, 8);
	b[8] = '\0';
	return (unsigned)strtoul(b, NULL, 16);
}

/* Reads entries back the way the kernel does; returns how many, or -1. */
static int parse_newc(const char *d, size_t len, struct parsed *out, int max)
{
	size_t off = 0;
	for (int n = 0; n < max; n++) {
		if (off + 110 > len || memcmp(d + off, "070701", 6))
			return -1;
		const char *h = d + off;
		struct parsed *e = &out[n];
		e->ino = hex8(h + 6);
		e->mode = hex8(h + 14);
		e->nlink = hex8(h + 38);
		e->size = hex8(h + 54);
		e->rmaj = hex8(h + 78);
		e->rmin = hex8(h + 86);
		unsigned namesize = hex8(h + 94);
		if (namesize == 0 || namesize > sizeof(e->name) || off + 110 + namesize > len ||
		    h[110 + namesize - 1] != '\0')
			return -1;
		memcpy(e->name, h + 110, namesize);
		off = (off + 110 + namesize + 3) & ~(size_t)3;
		e->data = d + off;
		off = (off + e->size + 3) & ~(size_t)3;
		if (off > len)
			return -1;
		if (!strcmp(e->name, "TRAILER!!!"))
			return off == len ? n + 1 : -1;
	}
	return -1;
}

static void test_newc(void)
{
	struct newc c = { 0 };
	newc_add(&c, "dev", S_IFDIR | 0755, NULL, 0);
	newc_add_dev(&c, "dev/console", S_IFCHR | 0600, 5, 1);
	newc_add(&c, "init", S_IFREG | 0755, "#!agent", 7);
	newc_add(&c, "modules/00-a.ko", S_IFREG | 0644, "abcde", 5);
	newc_finish(&c);
	CHECK(c.len % 4 == 0);

	struct parsed e[8];
	int n = parse_newc(c.data, c.len, e, 8);
	CHECK(n == 5);
	if (n == 5) {
		CHECK_STR(e[0].name, "dev");
		CHECK(e[0].mode == (S_IFDIR | 0755) && e[0].nlink == 2 && e[0].size == 0);
		CHECK_STR(e[1].name, "dev/console");
		CHECK(e[1].mode == (S_IFCHR | 0600) && e[1].rmaj == 5 && e[1].rmin == 1);
		CHECK_STR(e[2].name, "init");
		CHECK(e[2].mode == (S_IFREG | 0755) && e[2].size == 7 && !memcmp(e[2].data, "#!agent", 7));
		CHECK_STR(e[3].name, "modules/00-a.ko");
		CHECK(e[3].size == 5 && !memcmp(e[3].data, "abcde", 5));
		CHECK(e[0].ino == 1 && e[1].ino == 2 && e[2].ino == 3 && e[3].ino == 4);
		CHECK_STR(e[4].name, "TRAILER!!!");
	}
	newc_clear(&c);
}

/* ---- kernels -------------------------------------------------------- */

/* A minimal x86-64 ELF: a header, one PT_NOTE holding one note of
 * note_type (the Xen PVH entry is 18), and a banner like the kernel's. */
static size_t tiny_elf(char *buf, size_t cap, uint32_t note_type, unsigned char cls)
{
	memset(buf, 0, cap);
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = cls;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 1;
	memcpy(buf, &eh, sizeof(eh));

	size_t note_off = sizeof(eh) + sizeof(Elf64_Phdr);
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 4, .n_type = note_type };
	memcpy(buf + note_off, &nh, sizeof(nh));
	memcpy(buf + note_off + sizeof(nh), "Xen", 4);
	memcpy(buf + note_off + sizeof(nh) + 4, "\0\0\0\1", 4);
	size_t note_len = sizeof(nh) + 8;

	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = note_len };
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	const char banner[] = "Linux version 9.9.9-unit (nobody@nowhere) #1 SMP";
	memcpy(buf + note_off + note_len + 16, banner, sizeof(banner));
	return note_off + note_len + 16 + sizeof(banner);
}

static void test_pvh_note(void)
{
	char elf[512];
	husk_error *err = NULL;
	size_t n = tiny_elf(elf, sizeof(elf), 18, ELFCLASS64);
	CHECK(kernel_has_pvh("k", elf, n, &err) == 1);
	n = tiny_elf(elf, sizeof(elf), 17, ELFCLASS64);
	CHECK(kernel_has_pvh("k", elf, n, &err) == 0);
	CHECK(err == NULL);

	/* A note header claiming more than the segment holds. */
	n = tiny_elf(elf, sizeof(elf), 18, ELFCLASS64);
	Elf64_Nhdr huge = { .n_namesz = 4, .n_descsz = 0x7ffffff0, .n_type = 18 };
	memcpy(elf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), &huge, sizeof(huge));
	CHECK(kernel_has_pvh("k", elf, n, &err) == 0);

	n = tiny_elf(elf, sizeof(elf), 18, ELFCLASS32);
	CHECK(kernel_has_pvh("k32", elf, n, &err) < 0);
	_cleanup_free_ char *t = error_text(&err);
	CHECK(contains(t, "`k32`") && contains(t, "64-bit"));

	n = tiny_elf(elf, sizeof(elf), 18, ELFCLASS64);
	CHECK(kernel_has_pvh("short", elf, sizeof(Elf64_Ehdr) + 8, &err) < 0);
	husk_error_free(&err);

	_cleanup_free_ char *rel = kernel_release(elf, n);
	CHECK_STR(rel, "9.9.9-unit");
}

/* A bzImage around payload: setup_sects 1, boot protocol 2.15, the
 * payload right after the two setup sectors, a kernel_version string. */
static size_t tiny_bzimage(char *buf, size_t cap, const void *payload, size_t plen)
{
	memset(buf, 0, cap);
	buf[0x1f1] = 1;
	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x206] = 0x0f;
	buf[0x207] = 0x02;
	/* kernel_version: offset - 0x200, here the string sits at 0x300. */
	buf[0x20e] = 0x00;
	buf[0x20f] = 0x01;
	strcpy(buf + 0x300, "9.9.9-bz (unit@test) #1 SMP");
	uint32_t off = 0, len = (uint32_t)plen;
	memcpy(buf + 0x248, &off, 4);
	memcpy(buf + 0x24c, &len, 4);
	memcpy(buf + 1024, payload, plen);
	return 1024 + plen;
}

/* An xz payload with the decompressed size appended, as the build does. */
static void *kernel_payload(const char *elf, size_t n, size_t *plen)
{
	size_t xlen;
	_cleanup_free_ char *packed = xz(elf, n, &xlen);
	char *x = malloc(xlen + 4);
	memcpy(x, packed, xlen);
	uint32_t size = (uint32_t)n;
	memcpy(x + xlen, &size, 4);
	*plen = xlen + 4;
	return x;
}

static void put_bzimage(const char *rel, uint32_t note_type)
{
	char elf[512], img[4096];
	size_t n = tiny_elf(elf, sizeof(elf), note_type, ELFCLASS64), plen;
	_cleanup_free_ void *payload = kernel_payload(elf, n, &plen);
	put_file(rel, img, tiny_bzimage(img, sizeof(img), payload, plen));
}

static void test_bzimage(void)
{
	char elf[512], img[4096];
	size_t n = tiny_elf(elf, sizeof(elf), 18, ELFCLASS64), plen;
	_cleanup_free_ void *payload = kernel_payload(elf, n, &plen);
	size_t img_len = tiny_bzimage(img, sizeof(img), payload, plen);
	husk_error *err = NULL;

	const char *out;
	size_t out_len;
	char *owned;
	CHECK(kernel_to_elf("bz", img, img_len, &out, &out_len, &owned, &err) == 0);
	CHECK(owned && out == owned && out_len == n && !memcmp(out, elf, n));
	free(owned);
	_cleanup_free_ char *rel = kernel_release(img, img_len);
	CHECK_STR(rel, "9.9.9-bz");

	/* An ELF passes as is. */
	CHECK(kernel_to_elf("elf", elf, n, &out, &out_len, &owned, &err) == 0);
	CHECK(owned == NULL && out == elf && out_len == n);

	/* Other compressions are named. */
	const char gz[] = "\x1f\x8b\x08\0\0\0\0\0\0\0junkjunk";
	img_len = tiny_bzimage(img, sizeof(img), gz, sizeof(gz));
	CHECK(kernel_to_elf("bz-gz", img, img_len, &out, &out_len, &owned, &err) < 0);
	_cleanup_free_ char *t1 = error_text(&err);
	CHECK(contains(t1, "`bz-gz`") && contains(t1, "gzip"));

	/* A payload past the end of the file. */
	img_len = tiny_bzimage(img, sizeof(img), payload, plen);
	CHECK(kernel_to_elf("cut", img, img_len - 10, &out, &out_len, &owned, &err) < 0);
	_cleanup_free_ char *t2 = error_text(&err);
	CHECK(contains(t2, "bounds"));

	CHECK(kernel_to_elf("text", "hello", 5, &out, &out_len, &owned, &err) < 0);
	_cleanup_free_ char *t3 = error_text(&err);
	CHECK(contains(t3, "neither a bzImage nor an ELF"));
}

/* ---- vm_boot_prepare ------------------------------------------------ */

static int prepare(const char *kernel_rel, const char *agent_rel, bool net, struct vm_boot *b,
		   char **msg)
{
	_cleanup_free_ char *kernel = at(kernel_rel), *agent = at(agent_rel), *mods = at("mods"),
			    *cache = at("cache/vm");
	struct vm_boot_opts o = { .kernel = kernel, .agent = agent, .modules = mods,
				  .cache_dir = cache, .net = net };
	husk_error *err = NULL;
	int r = vm_boot_prepare(&o, b, &err);
	*msg = r < 0 ? error_text(&err) : NULL;
	return r;
}

static int count_in_cache(const char *prefix)
{
	_cleanup_free_ char *cache = at("cache/vm");
	_cleanup_closedir_ DIR *d = opendir(cache);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	return n;
}

static void check_initrd(const char *path, const char *agent)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	CHECK(boot_read_file(path, &data, &len, NULL) == 0);
	struct parsed e[32];
	int n = data ? parse_newc(data, len, e, 32) : -1;
	/* dev, dev/console, init, modules, 8 modules, trailer */
	CHECK(n == 13);
	if (n != 13)
		return;
	CHECK_STR(e[2].name, "init");
	CHECK(e[2].mode == (S_IFREG | 0755) && e[2].size == strlen(agent) &&
	      !memcmp(e[2].data, agent, e[2].size));
	CHECK_STR(e[3].name, "modules");
	CHECK_STR(e[4].name, "modules/00-virtio_ring.ko");
	CHECK_STR(e[8].name, "modules/04-9pnet_virtio.ko");
	/* The .ko.xz went in decompressed. */
	CHECK(e[8].size == strlen("\177ELF-fake-module-9pnet_virtio") &&
	      !memcmp(e[8].data, "\177ELF-fake-module-9pnet_virtio", e[8].size));
	CHECK_STR(e[11].name, "modules/07-9p.ko");
}

static void test_prepare(void)
{
	struct vm_boot b, b2;
	char *msg = NULL;
	put_bzimage("kernels/bz-pvh", 18);
	put_bzimage("kernels/bz-nopvh", 17);
	put_text("agent", "AGENT-v1");

	CHECK(prepare("kernels/bz-pvh", "agent", false, &b, &msg) == 0);
	CHECK(msg == NULL);
	free(msg);
	CHECK_STR(b.release, "9.9.9-bz");
	CHECK(b.vmlinux && strstr(b.vmlinux, "/cache/vm/vmlinux-") && access(b.vmlinux, R_OK) == 0);
	CHECK(b.initrd && strstr(b.initrd, "/cache/vm/initrd-") && access(b.initrd, R_OK) == 0);
	if (b.initrd)
		check_initrd(b.initrd, "AGENT-v1");

	/* Cached: the same names, nothing new in the cache. */
	CHECK(prepare("kernels/bz-pvh", "agent", false, &b2, &msg) == 0);
	CHECK_STR(b2.vmlinux, b.vmlinux);
	CHECK_STR(b2.initrd, b.initrd);
	CHECK_STR(b2.release, b.release);
	vm_boot_clear(&b2);
	CHECK(count_in_cache("vmlinux-") == 1 && count_in_cache("initrd-") == 2);

	/* A new agent (new stat key) gives a new initrd, the same vmlinux. */
	put_text("agent", "AGENT-v2-longer");
	CHECK(prepare("kernels/bz-pvh", "agent", false, &b2, &msg) == 0);
	CHECK_STR(b2.vmlinux, b.vmlinux);
	CHECK(b2.initrd && b.initrd && strcmp(b2.initrd, b.initrd) != 0);
	if (b2.initrd)
		check_initrd(b2.initrd, "AGENT-v2-longer");
	vm_boot_clear(&b2);

	/* A deleted artifact is rebuilt although the index still names it. */
	CHECK(unlink(b.vmlinux) == 0);
	CHECK(prepare("kernels/bz-pvh", "agent", false, &b2, &msg) == 0);
	CHECK_STR(b2.vmlinux, b.vmlinux);
	CHECK(access(b.vmlinux, R_OK) == 0);
	vm_boot_clear(&b2);
	vm_boot_clear(&b);
	CHECK(b.vmlinux == NULL);

	/* An ELF vmlinux is used where it is. */
	char elf[512];
	put_file("kernels/vmlinux", elf, tiny_elf(elf, sizeof(elf), 18, ELFCLASS64));
	_cleanup_free_ char *elf_path = at("kernels/vmlinux");
	CHECK(prepare("kernels/vmlinux", "agent", false, &b, &msg) == 0);
	CHECK_STR(b.vmlinux, elf_path);
	CHECK_STR(b.release, "9.9.9-unit");
	vm_boot_clear(&b);
}

static void test_prepare_errors(void)
{
	struct vm_boot b;
	char *msg = NULL;

	CHECK(prepare("kernels/bz-nopvh", "agent", false, &b, &msg) < 0);
	CHECK(contains(msg, "kernels/bz-nopvh` has no PVH entry point") && contains(msg, "CONFIG_PVH"));
	CHECK(b.vmlinux == NULL && b.initrd == NULL && b.release == NULL);
	free(msg);

	CHECK(prepare("kernels/missing", "agent", false, &b, &msg) < 0);
	CHECK(contains(msg, "kernels/missing`") && contains(msg, "No such file"));
	free(msg);

	CHECK(prepare("kernels/bz-pvh", "no-agent", false, &b, &msg) < 0);
	CHECK(contains(msg, "agent") && contains(msg, "no-agent`"));
	free(msg);

	/* virtio_net's file is a .ko.zst: refused, by name. */
	CHECK(prepare("kernels/bz-pvh", "agent", true, &b, &msg) < 0);
	CHECK(contains(msg, "virtio_net.ko.zst"));
	free(msg);

	/* No stray temporary files after all of it. */
	CHECK(count_in_cache(".vmlinux-") + count_in_cache(".initrd-") + count_in_cache(".kernel-") == 0);
	CHECK(count_in_cache(".") == 3); /* ".", ".." and ".lock" */
}

static void test_hash(void)
{
	/* FNV-1a 64 reference values. */
	CHECK(boot_hash(BOOT_HASH_INIT, "", 0) == 0xcbf29ce484222325ULL);
	CHECK(boot_hash(BOOT_HASH_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	CHECK(boot_hash(BOOT_HASH_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
}

static void remove_tree(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	make_module_tree();
	test_hash();
	test_modules_closure();
	test_modules_errors();
	test_module_bytes();
	test_newc();
	test_pvh_note();
	test_bzimage();
	test_prepare();
	test_prepare_errors();
	remove_tree();
	return unit_summary("vm_boot");
}
