/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device rules on cgroup v2: there is no devices controller, the kernel
 * runs BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the cgroup (and to
 * its ancestors: all must allow). The program is assembled here by hand,
 * in the shape runc (and crun before it) generate, from the same device
 * state the v1 driver writes; no libbpf.
 */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/cleanup.h"

/* Registers: R1 the context (struct bpf_cgroup_dev_ctx), then R2 the
 * device type, R3 the access asked for, R4 major, R5 minor. */
enum { R0, R1, R2, R3, R4, R5 };

/* Far more exceptions than any config has; keeps jumps short. */
#define MAX_INSNS 65536

struct prog {
	struct bpf_insn *insns;
	size_t n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src,
		 int16_t off, int32_t imm)
{
	struct bpf_insn *i = &p->insns[p->n++];

	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
}

static void prologue(struct prog *p)
{
	/* access_type is (access << 16) | type */
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R3, R1, 0, 0);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);
}

static void verdict(struct prog *p, bool allow)
{
	emit(p, BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static size_t block_len(const struct cg_dev_rule *r)
{
	return 1 + (r->access != CG_DEV_RWM ? 3 : 0) +
	       (r->major != CG_DEV_ANY) + (r->minor != CG_DEV_ANY) + 2;
}

/* One exception: every test that fails jumps past the block, to the next
 * exception or the default. */
static void rule_block(struct prog *p, const struct cg_dev_rule *r)
{
	size_t next = p->n + block_len(r);
	int32_t type = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;

#define SKIP ((int16_t)(next - (p->n + 1)))
	emit(p, BPF_JMP | BPF_JNE | BPF_K, R2, 0, SKIP, type);
	if (r->access != CG_DEV_RWM) {
		/* every access asked for must be in the rule: R3 & acc == R3 */
		emit(p, BPF_ALU | BPF_MOV | BPF_X, R1, R3, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, (int32_t)r->access);
		emit(p, BPF_JMP | BPF_JNE | BPF_X, R1, R3, SKIP, 0);
	}
	if (r->major != CG_DEV_ANY)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R4, 0, SKIP,
		     (int32_t)r->major);
	if (r->minor != CG_DEV_ANY)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R5, 0, SKIP,
		     (int32_t)r->minor);
#undef SKIP
	verdict(p, r->allow);
}

int cg_bpf_dev_program(const struct cg_dev_state *st, struct bpf_insn **insns,
		       size_t *n, husk_error **err)
{
	struct prog p = { 0 };
	size_t total = 6 + 2;

	for (size_t i = 0; i < st->n; i++) {
		if (st->rules[i].type != 'b' && st->rules[i].type != 'c')
			return husk_fail(err, 0, "cgroup: device rule of type "
						 "'%c' in an emulated state",
					 st->rules[i].type);
		total += block_len(&st->rules[i]);
	}
	if (total > MAX_INSNS)
		return husk_fail(err, E2BIG, "config.json: linux.resources."
					     "devices: %zu rules", st->n);
	p.insns = calloc(total, sizeof(*p.insns));
	if (!p.insns)
		abort();
	prologue(&p);
	for (size_t i = 0; i < st->n; i++)
		rule_block(&p, &st->rules[i]);
	verdict(&p, st->default_allow);
	*insns = p.insns;
	*n = p.n;
	return 0;
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, husk_error **err)
{
	char log[4096];
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uintptr_t)"GPL";
	fd = bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	/* Again with the verifier's log, only to say why. */
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	log[0] = '\0';
	fd = bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	return husk_fail(err, errno, "cgroup: load eBPF device filter%s%.200s",
			 log[0] ? ": " : "", log);
}

/* The device programs attached to this cgroup itself (not inherited). */
static int query(int dirfd, uint32_t *ids, uint32_t *n, husk_error **err)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)dirfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = *n;
	if (bpf(BPF_PROG_QUERY, &a) < 0)
		return husk_fail(err, errno, "cgroup: query eBPF device "
					     "filters");
	*n = a.query.prog_cnt;
	return 0;
}

static int detach(int dirfd, uint32_t id, husk_error **err)
{
	_cleanup_close_ int fd = -1;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	fd = bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : husk_fail(err, errno, "cgroup: eBPF "
							       "program %u", id);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	if (bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
		return husk_fail(err, errno, "cgroup: detach old eBPF device "
					     "filter %u", id);
	return 0;
}

int cg_bpf_dev_attach(const char *dir, const struct bpf_insn *insns, size_t n,
		      husk_error **err)
{
	_cleanup_close_ int dirfd = -1, prog = -1;
	uint32_t old[64], n_old = ARRAY_SIZE(old);
	union bpf_attr a;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_fail(err, errno, "cgroup: open %s", dir);
	if (query(dirfd, old, &n_old, err) < 0)
		return -1;
	prog = prog_load(insns, n, err);
	if (prog < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &a) < 0)
		return husk_fail(err, errno, "cgroup: attach eBPF device filter "
					     "to %s", dir);
	for (uint32_t i = 0; i < n_old && i < ARRAY_SIZE(old); i++)
		if (detach(dirfd, old[i], err) < 0)
			return -1;
	return 0;
}

static void state_freep(struct cg_dev_state *st)
{
	cg_dev_state_free(st);
}

int cg_v2_devices(struct cgroup *cg, struct json_object *val,
		  husk_error **err)
{
	_cleanup_(state_freep) struct cg_dev_state st = { 0 };
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n, n_spec, n_insns;

	if (cg_dev_rules_parse(val, &rules, &n, &n_spec, err) < 0 ||
	    cg_dev_emulate(rules, n, n_spec, &st, err) < 0 ||
	    cg_bpf_dev_program(&st, &insns, &n_insns, err) < 0)
		return -1;
	return cg_bpf_dev_attach(cg->hier[0].dir, insns, n_insns, err);
}
