/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `husk exec` into a VM container: the process goes to the monitor with our
 * stdio, and we wait for its exit status (vm/vm.h). */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../cgroups/cgroup.h"
#include "../runtime/console.h"
#include "../runtime/container.h"
#include "../runtime/exec.h"
#include "../runtime/report.h"
#include "host.h"

/* ---- the process object ---------------------------------------------- */

static void json_putp(struct json_object **o)
{
	json_object_put(*o);
}

static struct json_object *str_array(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void set_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void set_user(struct json_object *proc, const struct spec_user *u)
{
	struct json_object *user = json_object_object_get(proc, "user");
	if (!user || !json_object_is_type(user, json_type_object)) {
		user = json_object_new_object();
		json_object_object_add(proc, "user", user);
	}
	json_object_object_add(user, "uid", json_object_new_int64(u->uid));
	json_object_object_add(user, "gid", json_object_new_int64(u->gid));
	if (u->n_additional_gids) {
		struct json_object *g = json_object_new_array();
		for (size_t i = 0; i < u->n_additional_gids; i++)
			json_object_array_add(g, json_object_new_int64(u->additional_gids[i]));
		json_object_object_add(user, "additionalGids", g);
	}
}

static void set_caps(struct json_object *proc, const struct spec_capabilities *c)
{
	static const char *const sets[SPEC_CAP__COUNT] = {
		[SPEC_CAP_BOUNDING] = "bounding", [SPEC_CAP_EFFECTIVE] = "effective",
		[SPEC_CAP_INHERITABLE] = "inheritable", [SPEC_CAP_PERMITTED] = "permitted",
		[SPEC_CAP_AMBIENT] = "ambient",
	};
	if (!c)
		return;
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < SPEC_CAP__COUNT; i++)
		json_object_object_add(o, sets[i], str_array(c->names[i], c->n[i]));
	json_object_object_add(proc, "capabilities", o);
}

/* The base process (config.json's or --process's) with what exec's flags
 * may have changed in p written over it. */
static struct json_object *process_json(struct json_object *base, const struct spec_process *p)
{
	struct json_object *o = NULL;
	if (!base || json_object_deep_copy(base, &o, NULL) < 0 || !o)
		o = json_object_new_object();
	json_object_object_add(o, "args", str_array(p->args, p->n_args));
	json_object_object_add(o, "env", str_array(p->env, p->n_env));
	json_object_object_add(o, "terminal", json_object_new_boolean(p->terminal));
	set_str(o, "cwd", p->cwd ? p->cwd : "/");
	set_user(o, &p->user);
	set_caps(o, p->capabilities);
	json_object_object_add(o, "noNewPrivileges", json_object_new_boolean(p->no_new_privileges));
	set_str(o, "apparmorProfile", p->apparmor_profile);
	set_str(o, "selinuxLabel", p->selinux_label);
	return o;
}

/* ---- the client ------------------------------------------------------ */

static int connect_monitor(const struct container *c, husk_error **err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", c->dirfd, VM_EXEC_SOCK);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return husk_fail(err, e, "vm: connect to the monitor of %s", c->st.id);
	}
	return fd;
}

/* exec --tty: a pty of our own whose slave the guest's output goes to; the
 * guest has its own pty, so ours stays raw. */
static int exec_pty(const struct spec_process *p, const struct exec_opts *eo, int *master_out,
		    husk_error **err)
{
	if (!eo->console_socket && eo->detach)
		return husk_fail(err, 0, "cannot allocate tty if husk will detach without setting console socket");
	_cleanup_close_ int master = -1;
	char name[CONSOLE_NAME_MAX];
	int slave = console_open_raw_pty(p, &master, name, err);
	if (slave < 0)
		return husk_error_wrap(err, "vm");
	if (eo->console_socket) {
		_cleanup_close_ int sock = console_connect(eo->console_socket, err);
		if (sock < 0 || console_send_fd(sock, master, name, err) < 0) {
			close(slave);
			return -1;
		}
	} else {
		*master_out = TAKE_FD(master);
	}
	return slave;
}

/* Sends the process with its stdio and waits for the guest's verdict. */
static int exec_request(int sock, const char *json, const int fds[3], husk_error **err)
{
	struct vm_frame f;
	if (vm_send_fds(sock, VM_EXEC, json, strlen(json), fds, 3, err) < 0)
		return -1;
	int r = vm_recv(sock, &f, err);
	if (r == 0)
		return husk_fail(err, EPIPE, "vm: the monitor went away");
	if (r < 0)
		return -1;
	if (f.hdr.type == VM_ERROR)
		r = husk_fail(err, 0, "%s", f.data);
	else if (f.hdr.type != VM_STARTED)
		r = husk_fail(err, EPROTO, "vm: the monitor answered %s", vm_msg_name(f.hdr.type));
	else
		r = 0;
	vm_frame_clear(&f);
	return r;
}

/* ---- waiting --------------------------------------------------------- */

static void copy_once(int from, int to, bool *open_)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open_ = false;
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += w;
	}
}

static void on_signal(struct vm_exec *x, int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		struct winsize ws;
		if (si.ssi_signo == SIGWINCH && x->console_master >= 0) {
			if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
				ioctl(x->console_master, TIOCSWINSZ, &ws);
				uint16_t size[2] = { ws.ws_row, ws.ws_col };
				vm_send(x->sock, VM_RESIZE, 0, size, sizeof(size), NULL);
			}
			continue;
		}
		vm_send_u32(x->sock, VM_SIGNAL, 0, si.ssi_signo, NULL);
	}
}

/* Until EXIT: its wait status (killed by SIGKILL when the VM went away). */
static int exec_wait_status(struct vm_exec *x, bool relay)
{
	static const int foreground[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t set;
	if (relay) {
		vm_forwarded_signals(&set);
	} else {
		sigemptyset(&set);
		for (size_t i = 0; i < ARRAY_SIZE(foreground); i++)
			sigaddset(&set, foreground[i]);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct termios saved, raw;
	bool tty = x->console_master >= 0 && tcgetattr(0, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	bool in_open = x->console_master >= 0, out_open = x->console_master >= 0;
	int status = SIGKILL;
	for (;;) {
		struct pollfd p[4] = { { x->sock, POLLIN, 0 }, { sfd, POLLIN, 0 },
				       { out_open ? x->console_master : -1, POLLIN, 0 },
				       { in_open ? 0 : -1, POLLIN, 0 } };
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			copy_once(x->console_master, 1, &out_open);
		if (p[3].revents)
			copy_once(0, x->console_master, &in_open);
		if (p[1].revents)
			on_signal(x, sfd);
		if (!p[0].revents)
			continue;
		struct vm_frame f;
		if (vm_recv(x->sock, &f, NULL) <= 0)
			break;
		uint32_t ws;
		bool done = f.hdr.type == VM_EXIT || f.hdr.type == VM_ERROR;
		if (f.hdr.type == VM_EXIT && vm_frame_u32(&f, &ws) == 0)
			status = (int)ws;
		else if (f.hdr.type == VM_ERROR)
			status = 255 << 8;
		vm_frame_clear(&f);
		if (done)
			break;
	}
	if (out_open) {
		/* What the process wrote last may still sit in the pty. */
		char buf[8192];
		ssize_t n;
		fcntl(x->console_master, F_SETFL, O_NONBLOCK);
		while ((n = read(x->console_master, buf, sizeof(buf))) > 0)
			if (write(1, buf, (size_t)n) < 0)
				break;
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	return status;
}

int vm_exec_wait(struct vm_exec *x)
{
	int status = exec_wait_status(x, false);
	if (x->sock >= 0)
		close(x->sock);
	if (x->console_master >= 0)
		close(x->console_master);
	x->sock = x->console_master = -1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* --detach: this relay stays behind for whoever waits on the pid file. */
static pid_t exec_relay(struct container *c, struct vm_exec *x, int *pidfd, husk_error **err)
{
	pid_t pid = fork();
	if (pid < 0)
		return husk_fail(err, errno, "vm: fork the exec relay");
	if (pid == 0) {
		/* Not ours to hold: the state lock and the caller's stdio. */
		close(c->dirfd);
		close(c->rootfd);
		int null = open("/dev/null", O_RDWR);
		for (int i = 0; null >= 0 && i < 3; i++)
			dup2(null, i);
		vm_exit_like(exec_wait_status(x, true));
	}
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}

int vm_exec_start(struct container *c, struct json_object *process, const struct spec_process *p,
		  const struct exec_opts *eo, struct vm_exec *x, husk_error **err)
{
	x->sock = x->console_master = -1;
	if (eo->preserve_fds)
		return husk_fail(err, 0, "--preserve-fds: host fds cannot reach a VM");
	if (!p->terminal && eo->console_socket)
		return husk_fail(err, 0, "cannot use console socket if husk will not detach or allocate tty");
	_cleanup_(json_putp) struct json_object *o = process_json(process, p);
	_cleanup_close_ int slave = -1;
	if (p->terminal && (slave = exec_pty(p, eo, &x->console_master, err)) < 0)
		return -1;
	_cleanup_close_ int sock = connect_monitor(c, err);
	const int fds[3] = { slave >= 0 ? slave : 0, slave >= 0 ? slave : 1, slave >= 0 ? slave : 2 };
	const char *json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (sock < 0 || exec_request(sock, json, fds, err) < 0)
		return -1;
	x->sock = TAKE_FD(sock);
	if (!eo->detach) {
		_cleanup_close_ int self = eo->pidfd_socket ? (int)syscall(SYS_pidfd_open, getpid(), 0) : -1;
		return report_pid(eo->pid_file, eo->pidfd_socket, getpid(), self, c->st.id, err);
	}
	_cleanup_close_ int pidfd = -1;
	pid_t relay = exec_relay(c, x, &pidfd, err);
	close(x->sock);
	x->sock = -1;
	if (relay < 0)
		return -1;
	/* Where an exec'd process would be: `ps` and the engine see it there. */
	if (c->cg)
		cgroup_enter(c->cg, relay, NULL);
	return report_pid(eo->pid_file, eo->pidfd_socket, relay, pidfd, c->st.id, err);
}
