/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a container and the lifecycle steps after create. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../cgroups/cgroup.h"
#include "hooks.h"
#include "log.h"
#include "proc.h"
#include "store.h"

int container_load(const struct husk_opts *o, const char *id, struct container *c,
		   husk_error **err)
{
	memset(c, 0, sizeof(*c));
	c->rootfd = c->dirfd = -1;
	if (store_validate_id(id, err) < 0)
		return -1;
	/* A missing root means no container: do not create it just to say so. */
	c->rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0)
		return errno == ENOENT ? husk_fail(err, 0, "container does not exist")
				       : husk_fail(err, errno, "open %s", o->root);
	c->dirfd = store_open(c->rootfd, id, err);
	if (c->dirfd < 0)
		return -1;
	_cleanup_free_ char *text = store_read(c->dirfd, "state.json", NULL, err);
	/* Locked, yet no state.json: a create killed before writing it (or a
	 * delete killed midway). Nothing of it runs; only delete may use it. */
	if (!text && *err && (*err)->code == ENOENT) {
		husk_error_wrap(err, "container %s: left by an interrupted create or delete", id);
		return CONTAINER_HALF_MADE;
	}
	if (!text || state_parse(text, &c->st, err) < 0)
		return husk_error_wrap(err, "container %s", id);
	if (c->st.cgroup) {
		c->cg = cgroup_from_json(c->st.cgroup, err);
		if (!c->cg)
			return -1;
	}
	return 0;
}

void container_release(struct container *c)
{
	if (c->cg)
		cgroup_free(c->cg);
	state_clear(&c->st);
	if (c->dirfd >= 0)
		close(c->dirfd);
	if (c->rootfd >= 0)
		close(c->rootfd);
	c->dirfd = c->rootfd = -1;
	c->cg = NULL;
}

bool container_init_alive(const struct container *c)
{
	char state;
	uint64_t start;
	if (c->st.pid <= 0 || proc_stat(c->st.pid, &state, &start) < 0)
		return false;
	return start == c->st.pid_start && state != 'Z' && state != 'X';
}

/* Still waiting for `start`: init holds its start pipe. */
static bool container_waiting(const struct container *c)
{
	char path[64], link[64], want[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", c->st.pid, c->st.start_fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)c->st.start_ino);
	return strcmp(link, want) == 0;
}

const char *container_status(const struct container *c)
{
	bool frozen = false;
	husk_error *ignored = NULL;

	if (!container_init_alive(c))
		return "stopped";
	if (container_waiting(c))
		return "created";
	if (c->cg && cgroup_is_frozen(c->cg, &frozen, &ignored) == 0 && frozen)
		return "paused";
	husk_error_free(&ignored);
	return "running";
}

struct spec *container_spec(const struct container *c, husk_error **err)
{
	size_t len;
	_cleanup_free_ char *text = store_read(c->dirfd, "config.json", &len, err);
	return text ? spec_parse(text, len, err) : NULL;
}

static int open_init_fd(const struct container *c, int fd, int flags, husk_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", c->st.pid, fd);
	int r = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	if (r < 0)
		return husk_fail(err, errno, "open %s", path);
	fcntl(r, F_SETFL, flags);
	return r;
}

/* Reads what init says on its exec pipe: nothing (EOF) once it exec'd. */
static int start_release(struct container *c, husk_error **err)
{
	char buf[1024];
	_cleanup_close_ int exec_rd = open_init_fd(c, c->st.exec_fd, O_RDONLY, err);
	if (exec_rd < 0)
		return -1;
	_cleanup_close_ int start_wr = open_init_fd(c, c->st.start_fd, O_WRONLY, err);
	if (start_wr < 0 || write(start_wr, "", 1) != 1)
		return husk_fail(err, errno, "release container init");
	size_t len = 0;
	for (ssize_t n; len < sizeof(buf) - 1; len += (size_t)n) {
		n = read(exec_rd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
	}
	buf[len] = '\0';
	if (len)
		return husk_fail(err, 0, "%s", buf);
	return 0;
}

int container_start(const struct husk_opts *o, struct container *c, husk_error **err)
{
	const char *status = container_status(c);
	if (!strcmp(status, "stopped"))
		return husk_fail(err, 0, "cannot start a container that has stopped");
	if (strcmp(status, "created"))
		return husk_fail(err, 0, "cannot start an already running container");
	if (start_release(c, err) < 0)
		return -1;
	if (!state_may_have_hooks(&c->st, STATE_HOOK_POSTSTART))
		return 0;
	_cleanup_(spec_freep) struct spec *s = container_spec(c, err);
	if (!s)
		return -1;
	_cleanup_free_ char *json = state_oci_json(&c->st, "running");
	if (hooks_run(s, SPEC_HOOK_POSTSTART, json, err) < 0) {
		/* runtime-spec 1.3: a failing poststart hook fails start. */
		kill(c->st.pid, SIGKILL);
		return -1;
	}
	return 0;
}
