/* SPDX-License-Identifier: GPL-2.0-or-later */
/* husk's guest agent, PID 1 of a micro-VM: see agent.h. */
#include "agent.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../proto.h"

void agent_poweroff(void)
{
	/* As PID 1 we survive kill(-1); everything else ends here. */
	kill(-1, SIGKILL);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* returning from PID 1 would panic the kernel */
}

static void console_vprint(const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	int n = snprintf(line, sizeof(line), "[%5ld.%06ld] husk-agent: ", (long)ts.tv_sec,
			 ts.tv_nsec / 1000);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m
									   : sizeof(line) - (size_t)n - 2);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

void agent_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	console_vprint(fmt, ap);
	va_end(ap);
}

void agent_log(const struct agent *a, const char *fmt, ...)
{
	va_list ap;
	if (!a->debug)
		return;
	va_start(ap, fmt);
	console_vprint(fmt, ap);
	va_end(ap);
}

void agent_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	console_vprint(fmt, ap);
	va_end(ap);
	agent_poweroff();
}

/* SIGCHLD comes through a signalfd, polled with the port; children unblock
 * it again (run.c). A write to a closed pipe must fail, not kill PID 1. */
static int agent_signals(struct agent *a, husk_error **err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return husk_fail(err, errno, "block SIGCHLD");
	a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sigfd < 0)
		return husk_fail(err, errno, "signalfd");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int main(void)
{
	struct agent a = { .port = -1, .sigfd = -1 };
	husk_error *err = NULL;
	struct utsname u;

	/* json-c seeds its default string hash from the kernel's CRNG, which
	 * blocks for about a second early in a TCG guest without RDRAND; the
	 * JSON comes from the host's monitor, so hash flooding is no concern. */
	json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);
	if (agent_signals(&a, &err) < 0 || agent_boot(&a, &err) < 0) {
		_cleanup_free_ char *text = husk_error_text(err);
		agent_fatal("boot: %s", text);
	}
	if (a.floor) {
		agent_log(&a, "husk.floor=1: power off");
		agent_poweroff();
	}
	if (agent_open_port(&a, &err) < 0 || uname(&u) < 0 ||
	    vm_send(a.port, VM_READY, 0, u.release, strlen(u.release), &err) < 0) {
		_cleanup_free_ char *text = err ? husk_error_text(err) : strdup("uname");
		agent_fatal("%s", text ? text : "out of memory");
	}
	agent_log(&a, "READY sent");
	agent_loop(&a);
	agent_log(&a, "power off");
	agent_poweroff();
}
