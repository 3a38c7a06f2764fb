/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line parsing as runc's (urfave/cli) accepts it: "--flag value",
 * "--flag=value", "-f value", boolean flags with an optional "=true|false",
 * flags before positional arguments, "--" ending the flags.
 *
 * struct husk_opts holds the global options: the only process-wide mutable
 * state husk has, set once in main() before any command runs.
 */
#ifndef HUSK_RUNTIME_CLI_H
#define HUSK_RUNTIME_CLI_H

#include <stdbool.h>

#include "../base/error.h"

enum cgroup_manager_opt {
	OPT_CGROUP_CGROUPFS,
	OPT_CGROUP_SYSTEMD,
	OPT_CGROUP_DISABLED,
};

struct husk_opts {
	/* --root; default /run/husk, or $XDG_RUNTIME_DIR/husk when not root
	 * (runtime/rootless.h); NULL only for commands that keep no state. */
	const char *root;
	const char *log_path; /* --log */
	bool log_json;        /* --log-format json */
	bool debug;
	enum cgroup_manager_opt cgroup_manager;
	/* --rootless: 1, 0, or -1 for auto (the default), which only a
	 * failing cgroup creation resolves (rootless_auto()): then a cgroup
	 * husk may not create means none, as with runc. */
	int rootless;
	const char *argv0;
};

struct cli_flag {
	const char *name; /* long name without "--" */
	char short_name;  /* 0 when none */
	bool has_value;
	int id;           /* returned by cli_next(); must be > 0 */
};

struct cli_parser {
	int argc;
	char **argv;
	int i; /* next argument to look at */
};

/* Returns the id of the next flag (with *value set for flags that take one,
 * or to "true"/"false" for booleans), 0 when the flags are over (p->i is the
 * first positional argument), or -1 with *err naming the bad flag. */
int cli_next(struct cli_parser *p, const struct cli_flag *flags,
	     const char **value, husk_error **err);

/* "true"/"1" → true, "false"/"0" → false; anything else is an error. */
int cli_bool(const char *flag, const char *value, bool *out, husk_error **err);
int cli_uint(const char *flag, const char *value, unsigned *out, husk_error **err);

/* Positional argument helpers: "ID" is required, anything extra refused. */
int cli_want_id(struct cli_parser *p, const char *cmd, const char **id, husk_error **err);

#define CLI_HELP_ID 1000 /* every command accepts --help/-h */

#endif
