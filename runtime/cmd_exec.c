/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: the process comes from --process FILE, or from the container's own
 * process with runc's flags applied on top of it. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../spec/spec.h"
#include "../vm/vm.h"
#include "commands.h"
#include "container.h"
#include "exec.h"
#include "store.h"
#include "wait.h"

enum {
	E_PROCESS = 1, E_DETACH, E_PIDFILE, E_CONSOLE, E_TTY, E_CWD, E_ENV, E_USER, E_GIDS,
	E_CAP, E_NNP, E_APPARMOR, E_LABEL, E_PRESERVE, E_IGNORE_PAUSED, E_PIDFD, E_CGROUP,
};

static const struct cli_flag exec_flags[] = {
	{ "process", 'p', true, E_PROCESS }, { "detach", 'd', false, E_DETACH },
	{ "pid-file", 0, true, E_PIDFILE }, { "console-socket", 0, true, E_CONSOLE },
	{ "tty", 't', false, E_TTY }, { "cwd", 0, true, E_CWD }, { "env", 'e', true, E_ENV },
	{ "user", 'u', true, E_USER }, { "additional-gids", 'g', true, E_GIDS },
	{ "cap", 'c', true, E_CAP }, { "no-new-privs", 0, false, E_NNP },
	{ "apparmor", 0, true, E_APPARMOR }, { "process-label", 0, true, E_LABEL },
	{ "preserve-fds", 0, true, E_PRESERVE }, { "ignore-paused", 0, false, E_IGNORE_PAUSED },
	{ "pidfd-socket", 0, true, E_PIDFD }, { "cgroup", 0, true, E_CGROUP },
	{ NULL, 0, false, 0 },
};

#define EXEC_MAX_REPEAT 64

struct exec_flags {
	struct exec_opts o;
	const char *process_file;
	bool tty, nnp;
	const char *cwd, *user, *apparmor, *label;
	const char *env[EXEC_MAX_REPEAT], *caps[EXEC_MAX_REPEAT], *gids[EXEC_MAX_REPEAT];
	size_t n_env, n_caps, n_gids;
	const char *id;
	char **args;
	int n_args;
};

static int push(const char **arr, size_t *n, const char *v, husk_error **err)
{
	if (*n >= EXEC_MAX_REPEAT)
		return husk_fail(err, E2BIG, "too many repeated flags");
	arr[(*n)++] = v;
	return 0;
}

static int exec_flag(struct exec_flags *f, int id, const char *v, husk_error **err)
{
	bool b = true;
	switch (id) {
	case E_PROCESS: f->process_file = v; return 0;
	case E_PIDFILE: f->o.pid_file = v; return 0;
	case E_CONSOLE: f->o.console_socket = v; return 0;
	case E_PIDFD: f->o.pidfd_socket = v; return 0;
	case E_CWD: f->cwd = v; return 0;
	case E_USER: f->user = v; return 0;
	case E_APPARMOR: f->apparmor = v; return 0;
	case E_LABEL: f->label = v; return 0;
	case E_ENV: return push(f->env, &f->n_env, v, err);
	case E_CAP: return push(f->caps, &f->n_caps, v, err);
	case E_GIDS: return push(f->gids, &f->n_gids, v, err);
	case E_PRESERVE: return cli_uint("preserve-fds", v, &f->o.preserve_fds, err);
	case E_CGROUP: return husk_fail(err, 0, "--cgroup: sub-cgroups are not supported");
	default: break;
	}
	if (cli_bool("flag", v, &b, err) < 0)
		return -1;
	if (id == E_DETACH)
		f->o.detach = b;
	else if (id == E_TTY)
		f->tty = b;
	else if (id == E_NNP)
		f->nnp = b;
	else if (id == E_IGNORE_PAUSED)
		f->o.ignore_paused = b;
	return 0;
}

static int parse_exec(int argc, char **argv, struct exec_flags *f, husk_error **err)
{
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int id;

	while ((id = cli_next(&p, exec_flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return CLI_HELP_ID;
		if (exec_flag(f, id, v, err) < 0)
			return -1;
	}
	if (id < 0)
		return -1;
	if (p.i >= argc)
		return husk_fail(err, 0, "\"exec\" requires a minimum of 1 argument(s)");
	f->id = argv[p.i++];
	f->args = argv + p.i;
	f->n_args = argc - p.i;
	if (!f->process_file && f->n_args == 0)
		return husk_fail(err, 0, "exec: no command given (and no --process)");
	return 0;
}

/* Replaces a counted, NULL-terminated array in the process (freeing the
 * old one) with old entries kept (keep) plus the extra ones. */
static void strv_extend(const char ***arr, size_t *n, bool keep, const char *const *extra,
			size_t n_extra)
{
	size_t base = keep ? *n : 0;
	const char **v = calloc(base + n_extra + 1, sizeof(*v));
	if (!v)
		abort();
	memcpy(v, *arr, base * sizeof(*v));
	memcpy(v + base, extra, n_extra * sizeof(*v));
	free(*arr);
	*arr = v;
	*n = base + n_extra;
}

static int parse_id(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX || *s == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int exec_set_user(struct spec_process *p, const struct exec_flags *f, husk_error **err)
{
	if (f->user) {
		_cleanup_free_ char *u = strdup(f->user);
		char *colon = strchr(u, ':');
		uint32_t uid, gid = p->user.gid;
		if (colon)
			*colon = '\0';
		if (parse_id(u, &uid) < 0 || (colon && parse_id(colon + 1, &gid) < 0))
			return husk_fail(err, 0, "--user: \"%s\" is not uid[:gid]", f->user);
		p->user.uid = uid;
		p->user.gid = gid;
	}
	if (!f->n_gids)
		return 0;
	gid_t *gids = calloc(f->n_gids, sizeof(*gids));
	for (size_t i = 0; gids && i < f->n_gids; i++) {
		uint32_t g;
		if (parse_id(f->gids[i], &g) < 0) {
			free(gids);
			return husk_fail(err, 0, "--additional-gids: \"%s\" is not a gid", f->gids[i]);
		}
		gids[i] = g;
	}
	free(p->user.additional_gids);
	p->user.additional_gids = gids;
	p->user.n_additional_gids = f->n_gids;
	return 0;
}

/* runc's exec flags, applied over the container's own process. */
static int exec_apply_flags(struct spec_process *p, const struct exec_flags *f, husk_error **err)
{
	strv_extend(&p->args, &p->n_args, false, (const char *const *)f->args, (size_t)f->n_args);
	strv_extend(&p->env, &p->n_env, true, f->env, f->n_env);
	p->terminal = f->tty;
	if (f->cwd)
		p->cwd = f->cwd;
	if (f->nnp)
		p->no_new_privileges = true;
	if (f->apparmor)
		p->apparmor_profile = f->apparmor;
	if (f->label)
		p->selinux_label = f->label;
	if (f->n_caps && !p->capabilities && !(p->capabilities = calloc(1, sizeof(*p->capabilities))))
		abort();
	static const enum spec_cap_set sets[] = { SPEC_CAP_BOUNDING, SPEC_CAP_EFFECTIVE,
						  SPEC_CAP_PERMITTED };
	for (size_t i = 0; f->n_caps && i < ARRAY_SIZE(sets); i++)
		strv_extend(&p->capabilities->names[sets[i]], &p->capabilities->n[sets[i]], true,
			    f->caps, f->n_caps);
	return exec_set_user(p, f, err);
}

static struct spec_process *exec_load_process(const struct exec_flags *f, struct spec *s,
					      struct json_object **json, husk_error **err)
{
	if (!f->process_file) {
		if (!s->process) {
			husk_fail(err, 0, "the container has no process to start from: use --process");
			return NULL;
		}
		return exec_apply_flags(s->process, f, err) < 0 ? NULL : s->process;
	}
	size_t len;
	_cleanup_free_ char *text = store_read(AT_FDCWD, f->process_file, &len, err);
	if (!text)
		return NULL;
	struct spec_process *p = spec_process_parse(text, len, json, err);
	if (!p)
		husk_error_wrap(err, "%s", f->process_file);
	return p;
}

static int exec_check_status(struct container *c, const struct exec_flags *f, husk_error **err)
{
	const char *status = container_status(c);
	if (!strcmp(status, "stopped"))
		return husk_fail(err, 0, "cannot exec in a stopped container");
	if (!strcmp(status, "paused") && !f->o.ignore_paused)
		return husk_fail(err, 0, "cannot exec in a paused container (use --ignore-paused)");
	return 0;
}

int cmd_exec(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	struct exec_flags f = { 0 };
	int r = parse_exec(argc, argv, &f, err);
	if (r)
		return r == CLI_HELP_ID ? (command_print_help(command_find("exec")), 0) : -1;

	struct container c;
	struct exec_result out = { .pid = -1, .pidfd = -1, .console_master = -1 };
	struct vm_exec vx = { .sock = -1, .console_master = -1 };
	bool vm = false;
	struct json_object *json = NULL;
	_cleanup_(spec_freep) struct spec *s = NULL;
	struct spec_process *p = NULL;

	r = container_load(o, f.id, &c, err);
	if (r == 0)
		r = exec_check_status(&c, &f, err);
	if (r == 0 && !(s = container_spec(&c, err)))
		r = -1;
	if (r == 0 && !(p = exec_load_process(&f, s, &json, err)))
		r = -1;
	if (r == 0 && (vm = c.st.vm))
		r = vm_exec_start(&c, json ? json : json_object_object_get(s->json, "process"), p, &f.o, &vx, err);
	else if (r == 0)
		r = exec_spawn(&c, s, p, &f.o, &out, err);
	container_release(&c);
	if (p && p != s->process)
		spec_process_free(p);
	json_object_put(json);
	if (r < 0)
		return -1;
	if (vm)
		return f.o.detach ? 0 : vm_exec_wait(&vx);
	if (f.o.detach) {
		close(out.pidfd);
		return 0;
	}
	int status = foreground_wait(out.pid, out.pidfd, out.console_master);
	close(out.pidfd);
	if (out.console_master >= 0)
		close(out.console_master);
	return status;
}
