/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sync.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *sync_type_name(uint32_t t)
{
	static const char *const names[] = {
		[SYNC_GO] = "go", [SYNC_CGROUP_DONE] = "cgroup-done", [SYNC_HOOKS] = "hooks",
		[SYNC_HOOKS_DONE] = "hooks-done", [SYNC_READY] = "ready",
		[SYNC_ERROR] = "error",
	};
	return t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "?";
}

int sync_send(int fd, const struct sync_msg *m, husk_error **err)
{
	ssize_t n;

	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
		return husk_fail(err, n < 0 ? errno : EPIPE, "sync: send %s",
				 sync_type_name(m->type));
	return 0;
}

int sync_send_type(int fd, enum sync_type type, husk_error **err)
{
	struct sync_msg m = { .type = type };
	return sync_send(fd, &m, err);
}

int sync_send_error(int fd, const husk_error *e)
{
	struct sync_msg m = { .type = SYNC_ERROR, .err = e ? e->code : 0 };
	snprintf(m.text, sizeof(m.text), "%s", e ? e->msg : "unknown error");
	return sync_send(fd, &m, NULL);
}

int sync_expect(int fd, enum sync_type want, struct sync_msg *out, husk_error **err)
{
	struct sync_msg m;
	ssize_t n;

	/* A peer that closes with our messages unread (an init that failed
	 * before reading SYNC_CGROUP_DONE) makes the next recv() report
	 * ECONNRESET once, ahead of what it sent: its SYNC_ERROR follows. */
	bool reset = false;
	for (;;) {
		n = recv(fd, &m, sizeof(m), 0);
		if (n >= 0 || (errno != EINTR && (errno != ECONNRESET || reset)))
			break;
		reset = reset || errno == ECONNRESET;
	}
	if (n < 0)
		return husk_fail(err, errno, "sync: waiting for %s", sync_type_name(want));
	if (n == 0)
		return husk_fail(err, 0, "container init exited before %s",
				 want == SYNC_GO ? "starting" : "it was set up");
	if (n != (ssize_t)sizeof(m))
		return husk_fail(err, EPROTO, "sync: short message");
	if (m.type == SYNC_ERROR) {
		m.text[sizeof(m.text) - 1] = '\0';
		return husk_fail(err, m.err, "%s", m.text);
	}
	if (m.type != want)
		return husk_fail(err, EPROTO, "sync: got %s, expected %s",
				 sync_type_name(m.type), sync_type_name(want));
	if (out)
		*out = m;
	return 0;
}
