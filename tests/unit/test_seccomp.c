/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime/seccomp: name mappings and filter building, never loading (the
 * integration suite checks effects inside containers). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../runtime/seccomp.h"
#include "unit.h"

static void test_actions(void)
{
	uint32_t a = 1;

	CHECK(seccomp_action_from_name("SCMP_ACT_KILL", EPERM, &a) == 0 &&
	      a == SCMP_ACT_KILL_THREAD);
	CHECK(seccomp_action_from_name("SCMP_ACT_KILL_THREAD", EPERM, &a) == 0 &&
	      a == SCMP_ACT_KILL_THREAD);
	CHECK(seccomp_action_from_name("SCMP_ACT_KILL_PROCESS", EPERM, &a) == 0 &&
	      a == SCMP_ACT_KILL_PROCESS);
	CHECK(seccomp_action_from_name("SCMP_ACT_TRAP", EPERM, &a) == 0 &&
	      a == SCMP_ACT_TRAP);
	CHECK(seccomp_action_from_name("SCMP_ACT_ALLOW", EPERM, &a) == 0 &&
	      a == SCMP_ACT_ALLOW);
	CHECK(seccomp_action_from_name("SCMP_ACT_LOG", EPERM, &a) == 0 &&
	      a == SCMP_ACT_LOG);
	CHECK(seccomp_action_from_name("SCMP_ACT_NOTIFY", EPERM, &a) == 0 &&
	      a == SCMP_ACT_NOTIFY);
	CHECK(seccomp_action_from_name("SCMP_ACT_ERRNO", EPERM, &a) == 0 &&
	      a == SCMP_ACT_ERRNO(EPERM));
	CHECK(seccomp_action_from_name("SCMP_ACT_ERRNO", ENOSYS, &a) == 0 &&
	      a == SCMP_ACT_ERRNO(ENOSYS));
	CHECK(seccomp_action_from_name("SCMP_ACT_TRACE", 42, &a) == 0 &&
	      a == SCMP_ACT_TRACE(42));
	CHECK(seccomp_action_from_name("SCMP_ACT_ERRNO", 0x10000, &a) == -ERANGE);
	CHECK(seccomp_action_from_name("SCMP_ACT_FOO", EPERM, &a) == -EINVAL);
	CHECK(seccomp_action_from_name("scmp_act_allow", EPERM, &a) == -EINVAL);
	CHECK(seccomp_action_from_name(NULL, EPERM, &a) == -EINVAL);
}

static void test_ops(void)
{
	enum scmp_compare op = _SCMP_CMP_MIN;

	CHECK(seccomp_op_from_name("SCMP_CMP_NE", &op) == 0 && op == SCMP_CMP_NE);
	CHECK(seccomp_op_from_name("SCMP_CMP_LT", &op) == 0 && op == SCMP_CMP_LT);
	CHECK(seccomp_op_from_name("SCMP_CMP_LE", &op) == 0 && op == SCMP_CMP_LE);
	CHECK(seccomp_op_from_name("SCMP_CMP_EQ", &op) == 0 && op == SCMP_CMP_EQ);
	CHECK(seccomp_op_from_name("SCMP_CMP_GE", &op) == 0 && op == SCMP_CMP_GE);
	CHECK(seccomp_op_from_name("SCMP_CMP_GT", &op) == 0 && op == SCMP_CMP_GT);
	CHECK(seccomp_op_from_name("SCMP_CMP_MASKED_EQ", &op) == 0 &&
	      op == SCMP_CMP_MASKED_EQ);
	CHECK(seccomp_op_from_name("SCMP_CMP_FOO", &op) == -EINVAL);
	CHECK(seccomp_op_from_name(NULL, &op) == -EINVAL);
}

static void test_arches(void)
{
	CHECK(seccomp_arch_from_name("SCMP_ARCH_X86") == SCMP_ARCH_X86);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_X86_64") == SCMP_ARCH_X86_64);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_X32") == SCMP_ARCH_X32);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_ARM") == SCMP_ARCH_ARM);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_AARCH64") == SCMP_ARCH_AARCH64);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_MIPSEL64N32") ==
	      SCMP_ARCH_MIPSEL64N32);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_PPC64LE") == SCMP_ARCH_PPC64LE);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_S390X") == SCMP_ARCH_S390X);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_RISCV64") == SCMP_ARCH_RISCV64);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_FOO") == 0);
	CHECK(seccomp_arch_from_name("SCMP_ARCH_") == 0);
	CHECK(seccomp_arch_from_name("X86_64") == 0);
	CHECK(seccomp_arch_from_name(NULL) == 0);
}

static void test_flags(void)
{
	enum scmp_filter_attr attr = _SCMP_FLTATR_MIN;

	CHECK(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_TSYNC", &attr) == 0 &&
	      attr == SCMP_FLTATR_CTL_TSYNC);
	CHECK(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_LOG", &attr) == 0 &&
	      attr == SCMP_FLTATR_CTL_LOG);
	CHECK(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &attr) == 0 &&
	      attr == SCMP_FLTATR_CTL_SSB);
#if SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6
	CHECK(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
				     &attr) == -EOPNOTSUPP);
#endif
	CHECK(seccomp_flag_from_name("SECCOMP_FILTER_FLAG_FOO", &attr) == -EINVAL);
	CHECK(seccomp_flag_from_name(NULL, &attr) == -EINVAL);
}

/* The filter as libseccomp's pseudo-C text, heap-allocated. */
static char *filter_text(scmp_filter_ctx ctx)
{
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	char *buf = NULL;
	off_t len;

	if (fd < 0)
		return NULL;
	if (seccomp_export_pfc(ctx, fd) == 0 &&
	    (len = lseek(fd, 0, SEEK_END)) > 0 && (buf = calloc(1, len + 1)) &&
	    pread(fd, buf, len, 0) != len) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

static const char *read_names[] = { "read", "readv" };
static const char *unknown_names[] = { "no_such_syscall_husk", "getcwd" };
static const char *getcwd_names[] = { "getcwd" };
static const char *write_names[] = { "write" };
static const char *socketcall_names[] = { "socketcall" };
static const char *personality_names[] = { "personality" };
static const char *archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
			       "SCMP_ARCH_X32" };
static const char *flags[] = { "SECCOMP_FILTER_FLAG_LOG" };

static struct spec_seccomp_arg masked_args[] = {
	{ .index = 1, .value = 0x3, .value_two = 0x1, .op = "SCMP_CMP_MASKED_EQ" },
	{ .index = 0, .value = 7, .op = "SCMP_CMP_GT" },
};
/* Same index twice: runc turns each into a rule of its own (OR). */
static struct spec_seccomp_arg shared_args[] = {
	{ .index = 0, .value = 0x0, .op = "SCMP_CMP_EQ" },
	{ .index = 0, .value = 0x8, .op = "SCMP_CMP_EQ" },
};

static struct spec_seccomp good_profile(struct spec_seccomp_syscall *sc,
					size_t n)
{
	return (struct spec_seccomp){
		.default_action = "SCMP_ACT_ERRNO",
		.has_default_errno_ret = true,
		.default_errno_ret = ENOSYS,
		.architectures = archs,
		.n_architectures = 3,
		.flags = flags,
		.n_flags = 1,
		.syscalls = sc,
		.n_syscalls = n,
	};
}

static void test_build_good(void)
{
	struct spec_seccomp_syscall sc[] = {
		{ .names = read_names, .n_names = 2, .action = "SCMP_ACT_ALLOW" },
		{ .names = unknown_names, .n_names = 2, .action = "SCMP_ACT_KILL_PROCESS" },
		{ .names = socketcall_names, .n_names = 1, .action = "SCMP_ACT_ALLOW" },
		{ .names = write_names, .n_names = 1, .action = "SCMP_ACT_LOG",
		  .args = masked_args, .n_args = 2 },
		{ .names = personality_names, .n_names = 1, .action = "SCMP_ACT_ALLOW",
		  .args = shared_args, .n_args = 2 },
		/* Equal to the default action: skipped, not an error. */
		{ .names = getcwd_names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
		  .has_errno_ret = true, .errno_ret = ENOSYS },
	};
	struct spec_seccomp s = good_profile(sc, sizeof(sc) / sizeof(sc[0]));
	husk_error *err = NULL;
	scmp_filter_ctx ctx = seccomp_build(&s, &err);
	uint32_t val = 1;
	char *pfc;

	CHECK(ctx != NULL);
	CHECK(err == NULL);
	husk_error_free(&err);
	if (!ctx)
		return;
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &val) == 0 && val == 0);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_LOG, &val) == 0 && val == 1);
	CHECK(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &val) == 0 &&
	      val == SCMP_ACT_ERRNO(ENOSYS));
	CHECK(seccomp_arch_exist(ctx, SCMP_ARCH_X86) == 0);
	pfc = filter_text(ctx);
	CHECK(pfc != NULL && strlen(pfc) > 0);
	if (pfc) {
		/* value is the mask, valueTwo the datum. */
		CHECK(strstr(pfc, "if ($a1.lo32 & 0x00000003 == 1)") != NULL);
		/* Shared index: two rules, either matches. */
		CHECK(strstr(pfc, "if ($a0.lo32 == 8)") != NULL);
		CHECK(strstr(pfc, "if ($a0.lo32 == 0)") != NULL);
		CHECK(strstr(pfc, "getcwd") != NULL); /* the KILL_PROCESS rule */
		CHECK(strstr(pfc, "action KILL_PROCESS") != NULL);
		CHECK(strstr(pfc, "action ERRNO(38)") != NULL);
	}
	free(pfc);
	seccomp_release(ctx);
}

static void check_build_error(struct spec_seccomp *s, const char *want_msg)
{
	husk_error *err = NULL;
	scmp_filter_ctx ctx = seccomp_build(s, &err);

	CHECK(ctx == NULL);
	CHECK(err != NULL);
	if (err)
		CHECK_STR(err->msg, want_msg);
	if (ctx)
		seccomp_release(ctx);
	husk_error_free(&err);
}

static void test_build_errors(void)
{
	struct spec_seccomp_syscall sc[4] = {
		{ .names = read_names, .n_names = 1, .action = "SCMP_ACT_ALLOW" },
		{ .names = read_names, .n_names = 1, .action = "SCMP_ACT_ALLOW" },
		{ .names = read_names, .n_names = 1, .action = "SCMP_ACT_ALLOW" },
		{ .names = read_names, .n_names = 1, .action = "SCMP_ACT_FOO" },
	};
	struct spec_seccomp_arg bad_op[] = { { .index = 0, .op = "SCMP_CMP_FOO" } };
	struct spec_seccomp_arg bad_index[] = { { .index = 6, .op = "SCMP_CMP_EQ" } };
	static const char *bad_arch[] = { "SCMP_ARCH_FOO" };
	static const char *bad_flag[] = { "SECCOMP_FILTER_FLAG_FOO" };
	static const char *read_write_names[] = { "read", "write" };
	struct spec_seccomp s = good_profile(sc, 4);

	check_build_error(&s, "config.json: linux.seccomp.syscalls[3].action: "
			      "unknown action \"SCMP_ACT_FOO\"");
	sc[3] = (struct spec_seccomp_syscall){ .names = read_names, .n_names = 1,
					       .action = "SCMP_ACT_ALLOW",
					       .args = bad_op, .n_args = 1 };
	check_build_error(&s, "config.json: linux.seccomp.syscalls[3].args[0].op: "
			      "unknown operator \"SCMP_CMP_FOO\"");
	sc[3].args = bad_index;
	check_build_error(&s, "config.json: linux.seccomp.syscalls[3].args[0].index: "
			      "6 is not a syscall argument (0-5)");
	sc[3] = (struct spec_seccomp_syscall){ .names = read_write_names, .n_names = 2,
					       .action = "SCMP_ACT_NOTIFY" };
	check_build_error(&s, "config.json: linux.seccomp.syscalls[3]: "
			      "SCMP_ACT_NOTIFY cannot be used for write");
	sc[1].errno_ret = 70000;
	sc[1].has_errno_ret = true;
	sc[1].action = "SCMP_ACT_ERRNO";
	check_build_error(&s, "config.json: linux.seccomp.syscalls[1].action: "
			      "errno 70000 does not fit in 16 bits");
	sc[1] = sc[0];

	s.default_action = "SCMP_ACT_BAR";
	check_build_error(&s, "config.json: linux.seccomp.defaultAction: "
			      "unknown action \"SCMP_ACT_BAR\"");
	s.default_action = "SCMP_ACT_NOTIFY";
	check_build_error(&s, "config.json: linux.seccomp.defaultAction: "
			      "SCMP_ACT_NOTIFY cannot be the default action");
	s = good_profile(sc, 4);
	s.architectures = bad_arch;
	s.n_architectures = 1;
	check_build_error(&s, "config.json: linux.seccomp.architectures[0]: "
			      "unknown architecture \"SCMP_ARCH_FOO\"");
	s = good_profile(sc, 4);
	s.flags = bad_flag;
	check_build_error(&s, "config.json: linux.seccomp.flags[0]: "
			      "unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
}

static void test_build_notify(void)
{
	static const char *names[] = { "getcwd" };
	struct spec_seccomp_syscall sc[] = {
		{ .names = names, .n_names = 1, .action = "SCMP_ACT_NOTIFY" },
	};
	struct spec_seccomp s = { .default_action = "SCMP_ACT_ALLOW",
				  .syscalls = sc,
				  .n_syscalls = 1 };
	husk_error *err = NULL;
	scmp_filter_ctx ctx = seccomp_build(&s, &err);

	/* libseccomp 2.5.4 and Linux >= 5.7 here; older ones fail clearly. */
	CHECK(ctx != NULL || (err && strstr(err->msg, "SCMP_ACT_NOTIFY")));
	if (ctx)
		seccomp_release(ctx);
	husk_error_free(&err);
}

int main(void)
{
	/* libseccomp learns the kernel's API level through seccomp(2), which
	 * valgrind lacks (level 1 then). Nothing here loads a filter: give it
	 * the level of the kernels husk needs (>= 5.7), as said here. */
	if (unit_on_valgrind() && seccomp_api_get() < 6 && seccomp_api_set(6) == 0)
		printf("NOTE: under valgrind: libseccomp API level set to 6\n");
	test_actions();
	test_ops();
	test_arches();
	test_flags();
	test_build_good();
	test_build_errors();
	test_build_notify();
	return unit_summary("seccomp");
}
