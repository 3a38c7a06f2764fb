/* SPDX-License-Identifier: GPL-2.0-or-later */
/* create, start, run, kill, delete. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "commands.h"
#include "console.h"
#include "container.h"
#include "store.h"
#include "wait.h"

enum {
	F_BUNDLE = 1, F_CONSOLE, F_PIDFILE, F_NOPIVOT, F_NOKEYRING, F_PRESERVE, F_PIDFD,
	F_DETACH, F_KEEP, F_NOSUBREAPER, F_FORCE, F_ALL, F_NETWORK, F_ROOTFS_OVERLAY,
	F_VM, F_VM_KERNEL,
};

static const struct cli_flag create_flags[] = {
	{ "bundle", 'b', true, F_BUNDLE },
	{ "console-socket", 0, true, F_CONSOLE },
	{ "pid-file", 0, true, F_PIDFILE },
	{ "no-pivot", 0, false, F_NOPIVOT },
	{ "no-new-keyring", 0, false, F_NOKEYRING },
	{ "preserve-fds", 0, true, F_PRESERVE },
	{ "pidfd-socket", 0, true, F_PIDFD },
	{ "detach", 'd', false, F_DETACH },
	{ "keep", 0, false, F_KEEP },
	{ "no-subreaper", 0, false, F_NOSUBREAPER },
	{ "network", 0, true, F_NETWORK },
	{ "rootfs-overlay", 0, false, F_ROOTFS_OVERLAY },
	{ "vm", 0, false, F_VM },
	{ "vm-kernel", 0, true, F_VM_KERNEL },
	{ NULL, 0, false, 0 },
};

struct run_flags {
	struct create_opts c;
	bool detach;
	bool keep;
};

static int parse_create(int argc, char **argv, struct run_flags *f, husk_error **err)
{
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int id;

	while ((id = cli_next(&p, create_flags, &v, err)) > 0) {
		bool b = false;
		if (id != F_BUNDLE && id != F_CONSOLE && id != F_PIDFILE && id != F_PRESERVE &&
		    id != F_PIDFD && id != F_NETWORK && id != F_VM_KERNEL && id != CLI_HELP_ID &&
		    cli_bool(argv[p.i - 1] + 2, v, &b, err) < 0)
			return -1;
		switch (id) {
		case F_BUNDLE: f->c.bundle = v; break;
		case F_CONSOLE: f->c.console_socket = v; break;
		case F_PIDFILE: f->c.pid_file = v; break;
		case F_NOPIVOT: f->c.no_pivot = b; break;
		case F_NOKEYRING: f->c.no_new_keyring = b; break;
		case F_PRESERVE:
			if (cli_uint("preserve-fds", v, &f->c.preserve_fds, err) < 0)
				return -1;
			break;
		case F_PIDFD: f->c.pidfd_socket = v; break;
		case F_NETWORK: f->c.network = v; break;
		case F_ROOTFS_OVERLAY: f->c.rootfs_overlay = b; break;
		case F_VM: f->c.vm = b; break;
		case F_VM_KERNEL: f->c.vm_kernel = v; break;
		case F_DETACH: f->detach = b; break;
		case F_KEEP: f->keep = b; break;
		case CLI_HELP_ID: return CLI_HELP_ID;
		default: break;
		}
	}
	if (id < 0 || cli_want_id(&p, argv[0], &f->c.id, err) < 0)
		return -1;
	return 0;
}

int cmd_create(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct run_flags f = { 0 };
	struct created out;
	int r = parse_create(argc, argv, &f, err);
	if (r != 0)
		return r == CLI_HELP_ID ? (command_print_help(command_find("create")), 0) : -1;
	if (container_create(o, &f.c, &out, err) < 0)
		return -1;
	close(out.pidfd);
	return 0;
}

static int start_by_id(const struct husk_opts *o, const char *id, husk_error **err)
{
	struct container c;
	int r = container_load(o, id, &c, err);
	if (r == 0)
		r = container_start(o, &c, err);
	container_release(&c);
	return r;
}

int cmd_start(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *id;
	int r = cli_next(&p, NULL, &v, err);
	if (r == CLI_HELP_ID)
		return command_print_help(command_find("start")), 0;
	if (r < 0 || cli_want_id(&p, argv[0], &id, err) < 0)
		return -1;
	return start_by_id(o, id, err) < 0 ? -1 : 0;
}

static void run_cleanup(const struct husk_opts *o, const char *id)
{
	struct container c;
	husk_error *ignored = NULL;
	if (container_load(o, id, &c, &ignored) == 0)
		container_destroy(o, &c, true, &ignored);
	container_release(&c);
	husk_error_free(&ignored);
}

int cmd_run(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct run_flags f = { 0 };
	struct created out;
	int r = parse_create(argc, argv, &f, err);
	if (r != 0)
		return r == CLI_HELP_ID ? (command_print_help(command_find("run")), 0) : -1;
	f.c.console_is_ours = !f.detach;
	if (container_create(o, &f.c, &out, err) < 0)
		return -1;
	_cleanup_close_ int pidfd = out.pidfd;
	_cleanup_close_ int master = out.console_master;
	if (start_by_id(o, f.c.id, err) < 0) {
		run_cleanup(o, f.c.id);
		return -1;
	}
	if (f.detach)
		return 0;
	int status = foreground_wait(out.pid, pidfd, master);
	if (!f.keep)
		run_cleanup(o, f.c.id);
	return status;
}

int cmd_kill(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "all", 'a', false, F_ALL }, { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	bool all = false;
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("kill")), 0;
		if (cli_bool("all", v, &all, err) < 0)
			return -1;
	}
	if (id < 0)
		return -1;
	if (p.i >= argc || argc - p.i > 2)
		return husk_fail(err, 0, "\"kill\" requires a minimum of 1 and a maximum of 2 argument(s)");
	int sig = p.i + 1 < argc ? signal_from_name(argv[p.i + 1]) : SIGTERM;
	if (!sig)
		return husk_fail(err, 0, "unknown signal \"%s\"", argv[p.i + 1]);
	struct container c;
	int r = container_load(o, argv[p.i], &c, err);
	if (r == 0)
		r = container_signal(&c, sig, all, err);
	container_release(&c);
	return r < 0 ? -1 : 0;
}

int cmd_delete(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "force", 'f', false, F_FORCE }, { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *cid;
	bool force = false;
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("delete")), 0;
		if (cli_bool("force", v, &force, err) < 0)
			return -1;
	}
	if (id < 0 || cli_want_id(&p, argv[0], &cid, err) < 0)
		return -1;
	struct container c;
	int r = container_load(o, cid, &c, err);
	if (r < 0 && force && *err && !strcmp((*err)->msg, "container does not exist")) {
		husk_error_free(err);
		return 0;
	}
	if (r == CONTAINER_HALF_MADE) {
		/* A create killed before its first state.json: only the locked
		 * directory (maybe an overlay's dirs) exists; remove it. */
		husk_error_free(err);
		r = store_remove(c.rootfd, cid, c.dirfd, err);
	} else if (r == 0) {
		r = container_destroy(o, &c, force, err);
	}
	container_release(&c);
	return r < 0 ? -1 : 0;
}
