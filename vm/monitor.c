/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monitor from fork to SYNC_COMMIT: start QEMU, wait for the guest
 * agent, create the container in it, and tell `create` (vm/vm.h). */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/io.h"
#include "../base/cleanup.h"
#include "../runtime/log.h"
#include "../runtime/proc.h"
#include "../runtime/sync.h"
#include "vm.h"

#define TAIL_BYTES 2048
#define TAIL_LINES 4

void vm_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGPIPE)
			continue;
		if (sig > 31 && sig < SIGRTMIN) /* libc's own */
			continue;
		sigaddset(set, sig);
	}
}

void vm_exit_like(int wstatus)
{
	if (WIFEXITED(wstatus))
		_exit(WEXITSTATUS(wstatus));
	int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : SIGKILL;
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

/* ---- QEMU ------------------------------------------------------------ */

static void reap_qemu(struct vm_monitor *m)
{
	int status;
	if (!m->qemu_exited && m->qemu > 0 && waitpid(m->qemu, &status, WNOHANG) == m->qemu) {
		m->qemu_exited = true;
		m->qemu_status = status;
	}
}

bool vm_monitor_wait_qemu(struct vm_monitor *m, int ms)
{
	if (m->qemu <= 0 || m->qemu_exited)
		return true;
	struct pollfd p = { m->qemu_pidfd, POLLIN, 0 };
	if (poll(&p, 1, ms) <= 0)
		return false;
	int status;
	if (waitpid(m->qemu, &status, 0) == m->qemu) {
		m->qemu_exited = true;
		m->qemu_status = status;
	}
	return true;
}

void vm_monitor_kill_qemu(struct vm_monitor *m)
{
	if (m->qemu <= 0 || m->qemu_exited)
		return;
	syscall(SYS_pidfd_send_signal, m->qemu_pidfd, SIGKILL, NULL, 0);
	vm_monitor_wait_qemu(m, 10000);
}

/* The last lines of a file in the state directory, joined by " | ". */
static void tail_lines(int dirfd, const char *name, char *out, size_t len)
{
	char buf[TAIL_BYTES + 1];
	out[0] = '\0';
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
	ssize_t n = pread(fd, buf, TAIL_BYTES, from);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* Find the start of the last TAIL_LINES non-empty lines. */
	char *start = buf;
	int lines = 0;
	for (char *p = buf + n - 1; p >= buf; p--) {
		if (*p == '\n' && p[1] && p[1] != '\n' && ++lines == TAIL_LINES) {
			start = p + 1;
			break;
		}
	}
	size_t o = 0;
	for (char *p = start; *p && o + 4 < len; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			if (o && p[1] && o + 4 < len) {
				memcpy(out + o, " | ", 3);
				o += 3;
			}
			continue;
		}
		out[o++] = (char)((unsigned char)*p < 0x20 ? ' ' : *p);
	}
	out[o] = '\0';
}

char *vm_monitor_qemu_reason(struct vm_monitor *m, const char *what)
{
	char status[64] = "", qlog[512], console[768];
	reap_qemu(m);
	if (!m->qemu_exited)
		;
	else if (WIFSIGNALED(m->qemu_status))
		snprintf(status, sizeof(status), "QEMU was killed by signal %d (%s)",
			 WTERMSIG(m->qemu_status), sigabbrev_np(WTERMSIG(m->qemu_status)) ?: "?");
	else
		snprintf(status, sizeof(status), "QEMU exited with status %d", WEXITSTATUS(m->qemu_status));
	tail_lines(m->dirfd, VM_QEMU_LOG, qlog, sizeof(qlog));
	tail_lines(m->dirfd, VM_CONSOLE_LOG, console, sizeof(console));
	char *out = NULL;
	if (asprintf(&out, "%s%s%s%s%s%s%s", what, *status ? ": " : "", status,
		     *qlog ? "; qemu: " : "", qlog, *console ? "; guest console: " : "", console) < 0)
		return NULL;
	return out;
}

static int move_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

__attribute__((noreturn)) static void qemu_child(struct vm_monitor *m, pid_t monitor, int log,
						 int err_wr)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != monitor)
		_exit(127);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ctl = move_high(m->qemu_ctl);
	int tap = m->tap >= 0 ? move_high(m->tap) : -1;
	log = move_high(log);
	null = move_high(null);
	if (null < 0 || ctl < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
	    dup2(log, 2) < 0 || dup2(ctl, VM_QEMU_CTL_FD) < 0 ||
	    (m->tap >= 0 && (tap < 0 || dup2(tap, VM_QEMU_TAP_FD) < 0)))
		goto fail;
	execv(m->qemu_argv[0], m->qemu_argv);
fail:;
	int e = errno;
	if (write(err_wr, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int spawn_qemu(struct vm_monitor *m, husk_error **err)
{
	_cleanup_close_ int log = openat(m->dirfd, VM_QEMU_LOG,
					 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int p[2];
	if (log < 0)
		return husk_fail(err, errno, "vm: create %s", VM_QEMU_LOG);
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_fail(err, errno, "vm: pipe");
	struct clone_args args = { .flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&m->qemu_pidfd,
				   .exit_signal = SIGCHLD };
	pid_t self = getpid();
	pid_t pid = proc_clone(&args);
	if (pid == 0)
		qemu_child(m, self, log, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return husk_fail(err, errno, "vm: fork QEMU");
	}
	m->qemu = pid;
	close(m->qemu_ctl);
	m->qemu_ctl = -1;
	/* Only QEMU holds the tap now: it vanishes when QEMU dies. */
	if (m->tap >= 0)
		close(m->tap);
	m->tap = -1;
	int e = 0;
	ssize_t n = read(p[0], &e, sizeof(e));
	close(p[0]);
	if (n == sizeof(e)) {
		vm_monitor_wait_qemu(m, 5000);
		return husk_fail(err, e, "vm: run %s", m->qemu_argv[0]);
	}
	return 0;
}

/* ---- the boot -------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}


/* Waits for one frame of type want (proc 0) from the guest, bounded by
 * the boot deadline; output that comes first is passed on. */
static int boot_expect(struct vm_monitor *m, uint16_t want, long deadline, husk_error **err)
{
	for (;;) {
		struct pollfd p[3] = { { m->ctl, POLLIN, 0 }, { m->qemu_pidfd, POLLIN, 0 },
				       { m->sync_fd, POLLIN, 0 } };
		long left = deadline - now_ms();
		if (left <= 0) {
			char what[96];
			snprintf(what, sizeof(what), "vm: no answer from the guest in %u s (HUSK_VM_BOOT_TIMEOUT)",
				 m->boot_timeout_ms / 1000);
			_cleanup_free_ char *why = vm_monitor_qemu_reason(m, what);
			return husk_fail(err, 0, "%s", why ? why : what);
		}
		int r = poll(p, 3, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR)
			return husk_fail(err, errno, "vm: poll");
		if (p[2].revents)
			return husk_fail(err, EPIPE, "vm: create went away");
		if (p[0].revents) {
			struct vm_frame f;
			r = vm_recv(m->ctl, &f, err);
			if (r <= 0) {
				husk_error_free(err);
				vm_monitor_wait_qemu(m, 3000);
				_cleanup_free_ char *why = vm_monitor_qemu_reason(m, "vm: the guest went away during boot");
				return husk_fail(err, 0, "%s", why ? why : "vm: boot");
			}
			uint16_t type = f.hdr.type;
			if (type == VM_STDOUT || type == VM_STDERR)
				io_write_all(type == VM_STDOUT ? 1 : 2, f.data, f.hdr.len);
			if (type == VM_ERROR)
				r = husk_fail(err, 0, "vm: guest: %s", f.data);
			else if (type == VM_READY && want == VM_READY)
				log_debug(m->o, "vm: guest kernel %s is ready", f.data);
			vm_frame_clear(&f);
			if (type == want || r < 0)
				return r < 0 ? -1 : 0;
			continue;
		}
		if (p[1].revents) {
			vm_monitor_wait_qemu(m, 1000);
			_cleanup_free_ char *why = vm_monitor_qemu_reason(m, "vm: QEMU exited during boot");
			return husk_fail(err, 0, "%s", why ? why : "vm: boot");
		}
	}
}

static int bind_exec_socket(struct vm_monitor *m, husk_error **err)
{
	/* Through the directory's fd: no limit from sun_path's 108 bytes. */
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", m->dirfd, VM_EXEC_SOCK);
	m->exec_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->exec_listen < 0 || bind(m->exec_listen, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(m->exec_listen, 16) < 0)
		return husk_fail(err, errno, "vm: exec socket %s/%s", m->state_dir, VM_EXEC_SOCK);
	return 0;
}

static int monitor_boot(struct vm_monitor *m, husk_error **err)
{
	long deadline = now_ms() + m->boot_timeout_ms;
	if (spawn_qemu(m, err) < 0 || boot_expect(m, VM_READY, deadline, err) < 0)
		return -1;
	if (vm_send(m->ctl, VM_CREATE, 0, m->create_json, strlen(m->create_json), err) < 0)
		return husk_error_wrap(err, "vm");
	if (boot_expect(m, VM_CREATED, deadline, err) < 0)
		return -1;
	return bind_exec_socket(m, err);
}

void vm_monitor_main(struct vm_monitor *m)
{
	husk_error *err = NULL;
	sigset_t set;

	/* Until create has recorded us, die with it (runtime/sync.h). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "husk-vm", 0, 0, 0);
	vm_forwarded_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->dirfd = open(m->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* create's cwd is the bundle: not a directory to keep busy. */
	if (m->sfd < 0 || m->dirfd < 0 || chdir("/") < 0) {
		husk_fail(&err, errno, "vm: monitor setup");
		sync_send_error(m->sync_fd, err);
		_exit(1);
	}
	if (sync_expect(m->sync_fd, SYNC_CGROUP_DONE, NULL, &err) < 0)
		_exit(1);
	if (monitor_boot(m, &err) < 0) {
		vm_monitor_kill_qemu(m);
		sync_send_error(m->sync_fd, err);
		_exit(1);
	}
	/* As the init does: clear the death signal before create can exit,
	 * and still go when create dies before SYNC_COMMIT. */
	prctl(PR_SET_PDEATHSIG, 0);
	if (sync_send_type(m->sync_fd, SYNC_READY, &err) < 0 ||
	    sync_expect(m->sync_fd, SYNC_COMMIT, NULL, &err) < 0) {
		vm_monitor_kill_qemu(m);
		_exit(1);
	}
	close(m->sync_fd);
	m->sync_fd = -1;
	vm_monitor_loop(m);
}
