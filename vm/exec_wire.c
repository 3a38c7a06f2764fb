/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm/proto.h frames with descriptors attached, between `husk exec` and the
 * monitor over the exec socket (a local unix socket: fds can travel). */
#include "host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../base/cleanup.h"

#define MAX_FDS 3

int vm_send_fds(int sock, uint16_t type, const void *data, size_t len, const int *fds,
		size_t n_fds, husk_error **err)
{
	if (len > VM_MAX_PAYLOAD || n_fds > MAX_FDS)
		return husk_fail(err, EMSGSIZE, "vm: %s frame too large", vm_msg_name(type));
	struct vm_hdr h = { .len = (uint32_t)len, .type = type };
	char ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)] = { 0 };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	/* The header goes whole (8 bytes on a fresh stream), with the fds. */
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(h))
		return husk_fail(err, n < 0 ? errno : EPIPE, "vm: send %s", vm_msg_name(type));
	const char *p = data;
	while (len) {
		n = send(sock, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return husk_fail(err, n < 0 ? errno : EPIPE, "vm: send %s", vm_msg_name(type));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void take_fds(struct msghdr *msg, int *fds, size_t n_fds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[MAX_FDS];
		memcpy(tmp, CMSG_DATA(c), sizeof(int) * (got < MAX_FDS ? got : MAX_FDS));
		for (size_t i = 0; i < got && i < MAX_FDS; i++) {
			if (i < n_fds && fds[i] < 0)
				fds[i] = tmp[i];
			else
				close(tmp[i]);
		}
	}
}

int vm_recv_fds(int sock, struct vm_frame *f, int *fds, size_t n_fds, husk_error **err)
{
	char ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = &f->hdr, .iov_len = sizeof(f->hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	f->data = NULL;
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return husk_fail(err, errno, "vm: receive frame");
	take_fds(&msg, fds, n_fds);
	size_t got = (size_t)n;
	while (got < sizeof(f->hdr)) {
		n = read(sock, (char *)&f->hdr + got, sizeof(f->hdr) - got);
		if (n <= 0)
			return husk_fail(err, n < 0 ? errno : EPIPE, "vm: short frame");
		got += (size_t)n;
	}
	if (f->hdr.len > VM_MAX_PAYLOAD)
		return husk_fail(err, EMSGSIZE, "vm: frame of %u bytes", f->hdr.len);
	f->data = malloc((size_t)f->hdr.len + 1);
	if (!f->data)
		return husk_fail(err, ENOMEM, "vm: receive frame");
	for (got = 0; got < f->hdr.len; got += (size_t)n) {
		n = read(sock, f->data + got, f->hdr.len - got);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			vm_frame_clear(f);
			return husk_fail(err, n < 0 ? errno : EPIPE, "vm: short frame");
		}
	}
	f->data[f->hdr.len] = '\0';
	return 1;
}
