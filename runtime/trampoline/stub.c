/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * husk-trampoline: the first program every container process runs.
 *
 *	husk-trampoline <errfd|-1> <exe> <argv0> [args...]
 *
 * husk execs this stub from a sealed memfd, and the stub execs the user's
 * program. Until a process is done with execve(), /proc/self/exe still
 * names the program doing the exec: this way that is the sealed stub and
 * never the host's husk binary, which a `#!/proc/self/exe` script could
 * otherwise turn into (CVE-2019-5736).
 *
 * No libc: raw syscalls, no data, no relocations, one loadable segment.
 * Built outside husk's CFLAGS (no sanitizers, no stack protector) and
 * embedded into husk by runtime/trampoline/blob.S.
 */
#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>

#ifndef __x86_64__
// cppcheck-suppress preprocessorErrorDirective
#error "husk-trampoline: only x86_64 syscalls are written"
#endif

/* What a shell reports for "found but cannot run": a stub run by hand. */
#define STUB_NOT_A_COMMAND 126
#define STUB_EXEC_FAILED 127

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noreturn)) static void sys_exit(int status)
{
	for (;;)
		sys3(__NR_exit_group, status, 0, 0);
}

static long parse_fd(const char *s)
{
	long v = 0;

	if (*s == '-' || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1 << 20)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* strerror() for what execve() commonly says; husk's errors read the same. */
static const char *errno_text(long e)
{
	switch (e) {
	case ENOENT:	return "No such file or directory";
	case EACCES:	return "Permission denied";
	case EPERM:	return "Operation not permitted";
	case ENOEXEC:	return "Exec format error";
	case E2BIG:	return "Argument list too long";
	case ENOMEM:	return "Cannot allocate memory";
	case ETXTBSY:	return "Text file busy";
	case EISDIR:	return "Is a directory";
	case ENOTDIR:	return "Not a directory";
	case ELOOP:	return "Too many levels of symbolic links";
	case EAGAIN:	return "Resource temporarily unavailable";
	default:	return 0;
	}
}

static char *append(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *append_num(char *p, char *end, unsigned long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(digits));
	while (n && p < end)
		*p++ = digits[--n];
	return p;
}

/* The same text husk writes for a failed exec: "exec <argv0>: <strerror>". */
static void report(long fd, const char *name, long err)
{
	char buf[512], *p = buf, *end = buf + sizeof(buf);
	const char *text = errno_text(err);

	p = append(p, end, "exec ");
	p = append(p, end, name);
	p = append(p, end, ": ");
	if (text) {
		p = append(p, end, text);
	} else {
		p = append(p, end, "errno ");
		p = append_num(p, end, (unsigned long)err);
	}
	sys3(__NR_write, fd, (long)buf, p - buf);
}

__attribute__((noreturn, used)) static void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	long fd, ret;

	if (argc < 3)
		sys_exit(STUB_NOT_A_COMMAND);
	fd = parse_fd(argv[1]);
	/* The error pipe must close on a good exec: its EOF is "started".
	 * If it cannot be marked, drop it rather than leak it. */
	if (fd >= 0 && sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC) < 0) {
		sys3(__NR_close, fd, 0, 0);
		fd = -1;
	}
	ret = sys3(__NR_execve, (long)argv[2], (long)(argv + 3), (long)envp);
	if (fd >= 0)
		report(fd, argv[3] ? argv[3] : argv[2], -ret);
	sys_exit(STUB_EXEC_FAILED);
}

/* The kernel enters with argc at (%rsp); calls want a 16-byte aligned stack. */
__asm__(".text\n"
	".global _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call stub_main\n"
	"	hlt\n");
