/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"

#define HOOK_OUTPUT_MAX 4096

const char *hook_kind_name(enum spec_hook_kind kind)
{
	static const char *const names[SPEC_HOOK__COUNT] = {
		"prestart", "createRuntime", "createContainer",
		"startContainer", "poststart", "poststop",
	};
	return kind < SPEC_HOOK__COUNT ? names[kind] : "?";
}

static void hook_exec(const struct spec_hook *h, int in_fd, int out_fd)
{
	static const char *const no_env[] = { NULL };
	const char *argv0[] = { h->path, NULL };

	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	execve(h->path, (char *const *)(h->args ? h->args : argv0),
	       (char *const *)(h->env ? h->env : no_env));
	dprintf(2, "exec %s: %s", h->path, strerror(errno));
	_exit(127);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Collects the hook's output until it exits or its time is up. */
static int hook_wait(pid_t pid, int out_fd, int timeout_s, char *out, size_t *out_len)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool out_open = true;

	for (;;) {
		struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { out_open ? out_fd : -1, POLLIN, 0 } };
		int wait_ms = timeout_s > 0 ? (int)(timeout_s * 1000L - elapsed_ms(&start)) : -1;
		if (timeout_s > 0 && wait_ms <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -ETIMEDOUT;
		}
		if (poll(p, 2, wait_ms) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents) {
			ssize_t n = read(out_fd, out + *out_len, HOOK_OUTPUT_MAX - 1 - *out_len);
			if (n > 0)
				*out_len += (size_t)n;
			else
				out_open = false;
			if (*out_len >= HOOK_OUTPUT_MAX - 1)
				out_open = false;
		}
		if (p[0].revents && !out_open)
			break;
		if (p[0].revents && !(p[1].revents & POLLIN))
			break;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return status;
}

static int hook_run_one(const struct spec_hook *h, const char *state_json, char *out,
			size_t *out_len)
{
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid_t pid = fork();
	if (pid == 0)
		hook_exec(h, in[0], outp[1]);
	close(in[0]);
	close(outp[1]);
	if (pid < 0) {
		close(in[1]);
		close(outp[0]);
		return -errno;
	}
	/* A hook that does not read its stdin is fine: ignore EPIPE. */
	size_t len = strlen(state_json);
	if (write(in[1], state_json, len) < 0 && errno != EPIPE)
		len = 0;
	close(in[1]);
	int r = hook_wait(pid, outp[0], h->timeout, out, out_len);
	close(outp[0]);
	return r;
}

int hooks_run(const struct spec *s, enum spec_hook_kind kind, const char *state_json,
	      husk_error **err)
{
	char out[HOOK_OUTPUT_MAX];

	for (size_t i = 0; i < s->hooks.n[kind]; i++) {
		const struct spec_hook *h = &s->hooks.hooks[kind][i];
		size_t out_len = 0;
		int r = hook_run_one(h, state_json, out, &out_len);
		out[out_len] = '\0';
		while (out_len && out[out_len - 1] == '\n')
			out[--out_len] = '\0';
		if (r == -ETIMEDOUT)
			return husk_fail(err, 0, "%s hook #%zu (%s): timed out after %d s", hook_kind_name(kind),
					 i, h->path, h->timeout);
		if (r < 0)
			return husk_fail(err, -r, "%s hook #%zu (%s)", hook_kind_name(kind), i, h->path);
		if (WIFEXITED(r) && WEXITSTATUS(r) == 0)
			continue;
		if (WIFSIGNALED(r))
			return husk_fail(err, 0, "%s hook #%zu (%s): killed by signal %d%s%s",
					 hook_kind_name(kind), i, h->path, WTERMSIG(r),
					 out_len ? ": " : "", out);
		return husk_fail(err, 0, "%s hook #%zu (%s): exit status %d%s%s", hook_kind_name(kind), i,
				 h->path, WEXITSTATUS(r), out_len ? ": " : "", out);
	}
	return 0;
}
