/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime/sync.c over a real socketpair: a peer's SYNC_ERROR is what the
 * other side reports, even when the peer closed with messages unread (the
 * kernel then answers the next recv() with ECONNRESET ahead of the data). */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../base/error.h"
#include "../../runtime/sync.h"
#include "unit.h"

static void test_error_after_unread_message(void)
{
	int sv[2];
	husk_error *err = NULL, failure = { EACCES, "mounts[0] (/proc): not through a symlink" };

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	/* parent → init, never read: the init failed before it got there */
	CHECK(sync_send_type(sv[0], SYNC_CGROUP_DONE, &err) == 0);
	CHECK(sync_send_error(sv[1], &failure) == 0);
	close(sv[1]);
	CHECK(sync_expect(sv[0], SYNC_READY, NULL, &err) < 0);
	CHECK(err && err->code == EACCES);
	CHECK_STR(err ? err->msg : "", "mounts[0] (/proc): not through a symlink");
	husk_error_free(&err);
	close(sv[0]);
}

static void test_eof_says_init_exited(void)
{
	int sv[2];
	husk_error *err = NULL;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	close(sv[1]);
	CHECK(sync_expect(sv[0], SYNC_READY, NULL, &err) < 0);
	CHECK(err && strstr(err->msg, "exited before"));
	husk_error_free(&err);
	close(sv[0]);
}

static void test_in_order(void)
{
	int sv[2];
	husk_error *err = NULL;
	struct sync_msg m = { .type = SYNC_GO, .pid = 4242 }, got;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(sync_send(sv[0], &m, &err) == 0);
	CHECK(sync_expect(sv[1], SYNC_GO, &got, &err) == 0 && got.pid == 4242);
	/* the wrong type is a protocol error, not a hang */
	CHECK(sync_send_type(sv[0], SYNC_COMMIT, &err) == 0);
	CHECK(sync_expect(sv[1], SYNC_READY, NULL, &err) < 0);
	husk_error_free(&err);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_error_after_unread_message();
	test_eof_says_init_exited();
	test_in_order();
	return unit_summary("sync");
}
