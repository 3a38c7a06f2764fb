/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Global flags, then one command: the whole of main() for husk and for
 * husk-image, which differ only in their command tables. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../spec/state.h"
#include "commands.h"
#include "log.h"
#include "rootless.h"
#include "store.h"

enum { G_ROOT = 1, G_LOG, G_LOG_FORMAT, G_DEBUG, G_SYSTEMD, G_CGMGR, G_ROOTLESS, G_CRIU, G_VERSION };

static const struct cli_flag global_flags[] = {
	{ "root", 0, true, G_ROOT },
	{ "log", 0, true, G_LOG },
	{ "log-format", 0, true, G_LOG_FORMAT },
	{ "debug", 0, false, G_DEBUG },
	{ "systemd-cgroup", 0, false, G_SYSTEMD },
	{ "cgroup-manager", 0, true, G_CGMGR },
	{ "rootless", 0, true, G_ROOTLESS },
	{ "criu", 0, true, G_CRIU },
	{ "version", 'v', false, G_VERSION },
	{ NULL, 0, false, 0 },
};

static void print_version(void)
{
	printf("husk version %s\ncommit: %s\nspec: %s\n", HUSK_VERSION, HUSK_COMMIT, HUSK_OCI_VERSION);
}

static void print_usage(void)
{
	printf("NAME:\n   husk - an OCI container runtime\n\nUSAGE:\n   husk [global options] command [command options] [arguments...]\n\nCOMMANDS:\n");
	for (const struct command *c = command_list(); c->name; c++)
		printf("   %-10s %s\n", c->name, c->summary);
	printf("\nGLOBAL OPTIONS:\n"
	       "   --root value            state directory (default: " HUSK_DEFAULT_ROOT ",\n"
	       "                           or $XDG_RUNTIME_DIR/husk when not root)\n"
	       "   --log value             log file (default: stderr only)\n"
	       "   --log-format value      text or json (default: text)\n"
	       "   --debug                 debug logging\n"
	       "   --systemd-cgroup        place containers with systemd (same as --cgroup-manager systemd)\n"
	       "   --cgroup-manager value  cgroupfs, systemd or disabled (default: cgroupfs)\n"
	       "   --rootless value        true: run without a cgroup where husk may not make\n"
	       "                           one; false; auto: true when not root (default: auto)\n"
	       "   --help, -h              show help\n"
	       "   --version, -v           print the version\n");
}

static int apply_global(struct husk_opts *o, int id, const char *v, husk_error **err)
{
	bool b = false;
	switch (id) {
	case G_ROOT: o->root = v; return 0;
	case G_LOG: o->log_path = v; return 0;
	case G_LOG_FORMAT:
		if (strcmp(v, "text") && strcmp(v, "json"))
			return husk_fail(err, 0, "unknown log-format \"%s\"", v);
		o->log_json = !strcmp(v, "json");
		return 0;
	case G_DEBUG: return cli_bool("debug", v, &o->debug, err);
	case G_ROOTLESS:
		if (!strcmp(v, "auto")) {
			o->rootless = -1;
			return 0;
		}
		if (cli_bool("rootless", v, &b, err) < 0)
			return -1;
		o->rootless = b;
		return 0;
	case G_SYSTEMD:
		if (cli_bool("systemd-cgroup", v, &b, err) < 0)
			return -1;
		if (b)
			o->cgroup_manager = OPT_CGROUP_SYSTEMD;
		return 0;
	case G_CGMGR:
		if (!strcmp(v, "cgroupfs"))
			o->cgroup_manager = OPT_CGROUP_CGROUPFS;
		else if (!strcmp(v, "systemd"))
			o->cgroup_manager = OPT_CGROUP_SYSTEMD;
		else if (!strcmp(v, "disabled"))
			o->cgroup_manager = OPT_CGROUP_DISABLED;
		else
			return husk_fail(err, 0, "unknown cgroup-manager \"%s\"", v);
		return 0;
	default: return 0;
	}
}

static int run_main(struct husk_opts *o, int argc, char **argv, command_lookup_fn find,
		    husk_error **err)
{
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int id;

	while ((id = cli_next(&p, global_flags, &v, err)) > 0) {
		if (id == G_VERSION)
			return print_version(), 0;
		if (id == CLI_HELP_ID)
			return print_usage(), 0;
		if (apply_global(o, id, v, err) < 0)
			return -1;
	}
	if (id < 0)
		return -1;
	if (p.i >= argc)
		return print_usage(), 0;
	const struct command *c = find(argv[p.i]);
	if (!c)
		return husk_fail(err, 0, "no such command \"%s\"", argv[p.i]);
	/* Only spec and features do without a state directory. */
	_cleanup_free_ char *root = NULL;
	if (!o->root && c->fn != cmd_spec && c->fn != cmd_features) {
		o->root = root = rootless_default_root(err);
		if (!root)
			return husk_error_wrap(err, "%s", c->name);
	}
	int r = c->fn(o, argc - p.i, argv + p.i, err);
	if (r < 0)
		husk_error_wrap(err, "%s", c->name);
	return r;
}

int cli_main(int argc, char **argv, command_lookup_fn find)
{
	struct husk_opts o = { .rootless = -1, .argv0 = argv[0] };
	husk_error *err = NULL;

	/* Hooks and pipes that close early must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	int r = run_main(&o, argc, argv, find, &err);
	if (r < 0) {
		_cleanup_free_ char *text = husk_error_text(err);
		log_error(&o, text);
		husk_error_free(&err);
		return 1;
	}
	return r;
}
