/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../base/cleanup.h"

int console_connect(const char *path, husk_error **err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return husk_fail(err, ENAMETOOLONG, "console socket %s", path);
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_fail(err, errno, "console socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return husk_fail(err, errno, "connect to console socket %s", path);
	}
	return fd;
}

int console_send_fd(int sock, int fd, const char *name, husk_error **err)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return husk_fail(err, errno, "send terminal over console socket");
	return 0;
}

int console_recv_fd(int sock, husk_error **err)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 }, name[256];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0)
		return husk_fail(err, errno, "receive terminal");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return husk_fail(err, EPROTO, "receive terminal: no descriptor");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int console_make_ctty(int slave, const struct spec_process *p, husk_error **err)
{
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return husk_fail(err, errno, "set console size");
	}
	if (setsid() < 0 && errno != EPERM)
		return husk_fail(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_fail(err, errno, "make the terminal controlling");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return husk_fail(err, errno, "terminal as stdio");
	return 0;
}

/* As runc: /dev/console is the container's terminal, bound over an empty
 * file so that nothing of the host's shows through. */
static int console_bind_dev_console(const char *pts, husk_error **err)
{
	_cleanup_close_ int fd = open("/dev/console", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_fail(err, errno, "create /dev/console");
	char target[64];
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(pts, target, NULL, MS_BIND, NULL) < 0)
		return husk_fail(err, errno, "bind %s on /dev/console", pts);
	return 0;
}

int console_open_pty(int *master, char name[CONSOLE_NAME_MAX], husk_error **err)
{
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;

	if (m < 0)
		return husk_fail(err, errno, "open /dev/ptmx");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ptsname_r(m, name, CONSOLE_NAME_MAX))
		return husk_fail(err, errno, "unlock pty");
	int slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return husk_fail(err, errno, "open pty slave %s", name);
	*master = TAKE_FD(m);
	return slave;
}

int console_open_raw_pty(const struct spec_process *p, int *master, char name[CONSOLE_NAME_MAX],
			 husk_error **err)
{
	_cleanup_close_ int slave = console_open_pty(master, name, err);
	struct termios t;

	if (slave < 0)
		return -1;
	if (tcgetattr(slave, &t) < 0) {
		close(*master);
		*master = -1;
		return husk_fail(err, errno, "pty slave %s", name);
	}
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	return TAKE_FD(slave);
}

int console_setup(int sock, const struct spec_process *p, bool dev_console, husk_error **err)
{
	_cleanup_close_ int master = -1;
	char name[CONSOLE_NAME_MAX];
	_cleanup_close_ int slave = console_open_pty(&master, name, err);
	if (slave < 0)
		return -1;
	if ((dev_console && console_bind_dev_console(name, err) < 0) ||
	    console_make_ctty(slave, p, err) < 0)
		return -1;
	return console_send_fd(sock, master, name, err);
}

static int copy_once(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

int console_proxy(int master, int pidfd)
{
	struct termios saved, raw;
	bool tty = tcgetattr(0, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	bool in_open = true;
	for (;;) {
		struct pollfd p[3] = { { master, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
				       { pidfd, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && copy_once(master, 1) < 0)
			break;
		if (p[1].revents && copy_once(0, master) < 0)
			in_open = false;
		if (p[2].revents && !(p[0].revents & POLLIN))
			break;
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	return 0;
}
