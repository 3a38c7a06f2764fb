/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroups/: the pure resource mappings (runc's conversions, memory+swap,
 * device rules, the eBPF device program, the stats encoding). No I/O. */
#include <json-c/json.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/cleanup.h"
#include "../../cgroups/cgroup_internal.h"
#include "../../cgroups/stats.h"
#include "unit.h"

static void test_shares_to_weight(void)
{
	static const uint64_t cases[][2] = {
		{ 0, 0 },    { 1, 1 },	  { 2, 1 },	   { 512, 20 },
		{ 1024, 39 }, { 2048, 79 }, { 262144, 10000 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK(cg_shares_to_weight(cases[i][0]) == cases[i][1]);
	CHECK(cg_blkio_to_io_weight(0) == 0);
	CHECK(cg_blkio_to_io_weight(10) == 1);
	CHECK(cg_blkio_to_io_weight(500) == 4950);
	CHECK(cg_blkio_to_io_weight(1000) == 10000);
}

#define M (1024 * 1024ll)
#define V1_UNLIMITED 9223372036854771712ull

static void test_v1_mem_plan(void)
{
	struct cg_mem_plan p;

	/* fresh cgroup: lower the limit first, then memsw */
	cg_v1_mem_plan(64 * M, 128 * M, true, V1_UNLIMITED, &p);
	CHECK(p.limit == 64 * M && p.swap == 128 * M && !p.swap_first);
	/* raising both above the current limit: memsw first */
	cg_v1_mem_plan(256 * M, 512 * M, true, 64 * M, &p);
	CHECK(p.swap_first);
	/* unlimited memory, swap unset: both unlimited, memsw first */
	cg_v1_mem_plan(-1, 0, true, 64 * M, &p);
	CHECK(p.limit == -1 && p.swap == -1 && p.swap_first);
	/* ... unless the kernel has no swap accounting */
	cg_v1_mem_plan(-1, 0, false, 64 * M, &p);
	CHECK(p.limit == -1 && p.swap == 0 && !p.swap_first);
	/* swap alone, memory alone */
	cg_v1_mem_plan(0, 100 * M, true, V1_UNLIMITED, &p);
	CHECK(p.limit == 0 && p.swap == 100 * M && !p.swap_first);
	cg_v1_mem_plan(64 * M, 0, true, V1_UNLIMITED, &p);
	CHECK(p.limit == 64 * M && p.swap == 0);
}

static void test_v2_swap(void)
{
	const char *why = NULL;
	int64_t out;

	CHECK(cg_v2_swap(0, 0, &out, &why) == 0);
	CHECK(cg_v2_swap(0, 64 * M, &out, &why) == 0);
	CHECK(cg_v2_swap(0, -1, &out, &why) == 1 && out == -1);
	CHECK(cg_v2_swap(-1, 64 * M, &out, &why) == 1 && out == -1);
	CHECK(cg_v2_swap(128 * M, 64 * M, &out, &why) == 1 && out == 64 * M);
	/* equal: no swap at all, "0" is written */
	CHECK(cg_v2_swap(64 * M, 64 * M, &out, &why) == 1 && out == 0);
	CHECK(cg_v2_swap(32 * M, 64 * M, &out, &why) == -1 && why);
	CHECK(cg_v2_swap(128 * M, 0, &out, &why) == -1);
	CHECK(cg_v2_swap(128 * M, -1, &out, &why) == -1);
}

static void test_rule_line(void)
{
	static const struct {
		struct cg_dev_rule r;
		const char *line;
	} cases[] = {
		{ { 'c', 1, 3, CG_DEV_RWM, true }, "c 1:3 rwm" },
		{ { 'b', CG_DEV_ANY, CG_DEV_ANY, CG_DEV_M, true }, "b *:* m" },
		{ { 'c', 136, CG_DEV_ANY, CG_DEV_R | CG_DEV_W, true },
		  "c 136:* rw" },
		{ { 'b', 8, 0, CG_DEV_W | CG_DEV_M, false }, "b 8:0 wm" },
		{ { 'a', CG_DEV_ANY, CG_DEV_ANY, CG_DEV_RWM, false }, "a" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[64];

		cg_dev_rule_line(&cases[i].r, buf, sizeof(buf));
		CHECK_STR(buf, cases[i].line);
	}
}

/* The spec's devices array (JSON text) through parse and emulate; the
 * error message instead when either fails. */
static char *emulate(const char *json, struct cg_dev_state *st)
{
	struct json_object *j = json ? json_tokener_parse(json) : NULL;
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	husk_error *err = NULL;
	size_t n, n_spec;
	char *msg = NULL;

	memset(st, 0, sizeof(*st));
	if (cg_dev_rules_parse(j, &rules, &n, &n_spec, &err) < 0 ||
	    cg_dev_emulate(rules, n, n_spec, st, &err) < 0) {
		msg = strdup(err->msg);
		husk_error_free(&err);
	}
	json_object_put(j);
	return msg;
}

/* devices.list of a runc 1.1 container with the default spec. */
static const char runc_list[] = "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\n"
				"c 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\n"
				"c 5:2 rwm\nc 10:200 rwm\nc 136:* rwm\n";

static void test_default_devices(void)
{
	struct cg_dev_state st, listed;
	_cleanup_free_ char *msg =
		emulate("[{\"allow\":false,\"access\":\"rwm\"}]", &st);
	char line[64];

	CHECK(msg == NULL);
	CHECK(!st.default_allow && st.n == 11);
	cg_dev_rule_line(&st.rules[0], line, sizeof(line));
	CHECK_STR(line, "b *:* m"); /* sorted: wildcards first */
	cg_dev_rule_line(&st.rules[st.n - 1], line, sizeof(line));
	CHECK_STR(line, "c 136:* rwm");
	CHECK(cg_dev_state_from_list(runc_list, &listed) == 0);
	CHECK(cg_dev_state_equal(&st, &listed));
	cg_dev_state_free(&listed);
	/* no rules at all: the same, runc starts from deny-all */
	free(msg);
	msg = emulate(NULL, &listed);
	CHECK(msg == NULL && cg_dev_state_equal(&st, &listed));
	cg_dev_state_free(&listed);
	CHECK(cg_dev_state_from_list("a *:* rwm\n", &listed) == 0);
	CHECK(listed.default_allow && listed.n == 0);
	CHECK(!cg_dev_state_equal(&st, &listed));
	cg_dev_state_free(&listed);
	cg_dev_state_free(&st);
}

static void test_device_rules(void)
{
	struct cg_dev_state st;
	char *msg;

	/* allow-all (privileged): the defaults add nothing */
	msg = emulate("[{\"allow\":true,\"access\":\"rwm\"}]", &st);
	CHECK(msg == NULL && st.default_allow && st.n == 0);
	cg_dev_state_free(&st);
	/* a config allow merges with the default on the same device */
	msg = emulate("[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
		      "\"type\":\"b\",\"major\":8,\"minor\":0,\"access\":\"r\"}]",
		      &st);
	CHECK(msg == NULL && st.n == 12);
	cg_dev_state_free(&st);
	/* deny taking "r" out of an allowed wildcard: refused */
	msg = emulate("[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
		      "\"type\":\"c\",\"access\":\"rwm\"},{\"allow\":false,"
		      "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"r\"}]",
		      &st);
	CHECK(msg && strstr(msg, "devices[2]: deny \"c 1:3 r\"") &&
	      strstr(msg, "punch a hole in the wildcard rule \"c *:* rwm\""));
	free(msg);
	msg = emulate("[{\"allow\":false,\"type\":\"x\",\"access\":\"rwm\"}]",
		      &st);
	CHECK_STR(msg, "config.json: linux.resources.devices[0].type: must be "
		       "\"a\", \"b\" or \"c\", not \"x\"");
	free(msg);
	msg = emulate("[{\"allow\":true,\"type\":\"c\",\"access\":\"\"}]", &st);
	CHECK(msg && strstr(msg, "devices[0].access: must be a non-empty"));
	free(msg);
	msg = emulate("[{\"allow\":true,\"type\":\"c\",\"access\":\"rwx\"}]", &st);
	CHECK(msg && strstr(msg, "devices[0].access"));
	free(msg);
	msg = emulate("[{\"allow\":true,\"major\":-2,\"access\":\"r\"}]", &st);
	CHECK(msg && strstr(msg, "devices[0].major"));
	free(msg);
	msg = emulate("{\"allow\":true}", &st);
	CHECK_STR(msg, "config.json: linux.resources.devices: must be an array");
	free(msg);
}

/* Just enough of an eBPF interpreter for the device programs: runs insns
 * on one bpf_cgroup_dev_ctx and returns R0. */
static int run_prog(const struct bpf_insn *p, size_t n, uint32_t ctx[3])
{
	uint64_t r[11] = { 0 };

	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint64_t src = BPF_SRC(i->code) == BPF_X ? r[i->src_reg]
							 : (uint64_t)(int64_t)i->imm;

		if (i->code == (BPF_LDX | BPF_MEM | BPF_W))
			r[i->dst_reg] = ctx[i->off / 4];
		else if (i->code == (BPF_ALU | BPF_AND | BPF_K))
			r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & src);
		else if (i->code == (BPF_ALU | BPF_RSH | BPF_K))
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
		else if (BPF_CLASS(i->code) == BPF_ALU &&
			 BPF_OP(i->code) == BPF_MOV)
			r[i->dst_reg] = (uint32_t)src;
		else if (BPF_OP(i->code) == BPF_JNE)
			pc += r[i->dst_reg] != src ? (size_t)i->off : 0;
		else if (i->code == (BPF_JMP | BPF_EXIT))
			return (int)r[0];
		else
			return -1; /* not an instruction the builder emits */
	}
	return -2; /* fell off the end */
}

static int verdict(const struct bpf_insn *p, size_t n, char type,
		   unsigned acc, uint32_t maj, uint32_t min)
{
	uint32_t ctx[3] = {
		(acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR
					   : BPF_DEVCG_DEV_BLOCK),
		maj, min,
	};

	return run_prog(p, n, ctx);
}

static void test_bpf_program(void)
{
	_cleanup_free_ struct bpf_insn *p = NULL;
	husk_error *err = NULL;
	struct cg_dev_state st;
	char *msg = emulate("[{\"allow\":false,\"access\":\"rwm\"}]", &st);
	size_t n = 0;

	CHECK(msg == NULL);
	CHECK(cg_bpf_dev_program(&st, &p, &n, &err) == 0);
	/* prologue 6; c *:* m and b *:* m 6 each (access test, no numbers);
	 * eight major:minor rwm rules 5 each; 136:* 4; default 2 */
	CHECK(n == 6 + 6 + 6 + 8 * 5 + 4 + 2);
	CHECK(p[0].code == (BPF_LDX | BPF_MEM | BPF_W) && p[0].dst_reg == 2);
	CHECK(p[n - 2].code == (BPF_ALU | BPF_MOV | BPF_K) && p[n - 2].imm == 0);
	CHECK(p[n - 1].code == (BPF_JMP | BPF_EXIT));
	CHECK(verdict(p, n, 'c', CG_DEV_R | CG_DEV_W, 1, 3) == 1);
	CHECK(verdict(p, n, 'c', CG_DEV_R, 136, 7) == 1);
	CHECK(verdict(p, n, 'c', CG_DEV_R, 1, 1) == 0);
	CHECK(verdict(p, n, 'b', CG_DEV_M, 8, 0) == 1);
	CHECK(verdict(p, n, 'b', CG_DEV_R, 8, 0) == 0);
	CHECK(verdict(p, n, 'b', CG_DEV_R | CG_DEV_M, 8, 0) == 0);
	CHECK(verdict(p, n, 'c', CG_DEV_W, 10, 200) == 1);
	CHECK(verdict(p, n, 'b', CG_DEV_R, 1, 3) == 0);
	cg_dev_state_free(&st);
	free(p);
	p = NULL;
	/* allow-all with one deny exception */
	msg = emulate("[{\"allow\":true,\"access\":\"rwm\"},{\"allow\":false,"
		      "\"type\":\"b\",\"major\":8,\"access\":\"w\"}]", &st);
	CHECK(msg == NULL && st.default_allow && st.n == 1);
	CHECK(cg_bpf_dev_program(&st, &p, &n, &err) == 0);
	CHECK(n == 6 + (1 + 3 + 1 + 2) + 2);
	CHECK(verdict(p, n, 'b', CG_DEV_W, 8, 3) == 0);
	CHECK(verdict(p, n, 'b', CG_DEV_R, 8, 3) == 1);
	CHECK(verdict(p, n, 'c', CG_DEV_W, 8, 3) == 1);
	cg_dev_state_free(&st);
}

static void test_stats_json(void)
{
	struct cg_stats s = { 0 };
	struct json_object *o = cg_stats_to_json(&s);
	char name[16];

	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		  "{\"cpu\":{\"usage\":{\"kernel\":0,\"user\":0},\"throttling\""
		  ":{}},\"memory\":{\"usage\":{\"limit\":0,\"failcnt\":0},"
		  "\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,"
		  "\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0}},"
		  "\"pids\":{},\"blkio\":{},\"hugetlb\":{}}");
	json_object_put(o);
	s.pids.current = 3;
	s.memory.usage.limit = UINT64_MAX;
	cg_blkio_add(&s.blkio[CG_BLKIO_SERVICE_BYTES], 8, 0, "Read", 4096);
	snprintf(s.hugetlb[0].size, sizeof(s.hugetlb[0].size), "2MB");
	snprintf(s.hugetlb[1].size, sizeof(s.hugetlb[1].size), "1GB");
	s.n_hugetlb = 2;
	o = cg_stats_to_json(&s);
	CHECK(strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		     "\"pids\":{\"current\":3},\"blkio\":{"
		     "\"ioServiceBytesRecursive\":[{\"major\":8,\"op\":\"Read\","
		     "\"value\":4096}]},\"hugetlb\":{\"1GB\":{\"failcnt\":0},"
		     "\"2MB\":{\"failcnt\":0}}"));
	CHECK(strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		     "\"limit\":18446744073709551615"));
	json_object_put(o);
	cg_stats_free(&s);
	CHECK(cg_hugepage_name("hugepages-2048kB", name, sizeof(name)) &&
	      strcmp(name, "2MB") == 0);
	CHECK(cg_hugepage_name("hugepages-1048576kB", name, sizeof(name)) &&
	      strcmp(name, "1GB") == 0);
	CHECK(cg_hugepage_name("hugepages-64kB", name, sizeof(name)) &&
	      strcmp(name, "64KB") == 0);
	CHECK(!cg_hugepage_name("hugepages-x", name, sizeof(name)));
}

int main(void)
{
	test_shares_to_weight();
	test_v1_mem_plan();
	test_v2_swap();
	test_rule_line();
	test_default_devices();
	test_device_rules();
	test_bpf_program();
	test_stats_json();
	return unit_summary("cgroup_resources");
}
