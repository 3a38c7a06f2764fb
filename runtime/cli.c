/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_flag help_flag = { "help", 'h', false, CLI_HELP_ID };

static const struct cli_flag *find_flag(const struct cli_flag *flags,
					const char *name, size_t len, bool is_long)
{
	for (const struct cli_flag *f = flags; f && f->name; f++) {
		if (is_long ? strlen(f->name) == len && !strncmp(f->name, name, len)
			    : len == 1 && f->short_name == name[0])
			return f;
	}
	if (is_long ? len == 4 && !strncmp(name, "help", 4) : len == 1 && name[0] == 'h')
		return &help_flag;
	return NULL;
}

int cli_next(struct cli_parser *p, const struct cli_flag *flags,
	     const char **value, husk_error **err)
{
	if (p->i >= p->argc)
		return 0;
	const char *arg = p->argv[p->i];
	if (arg[0] != '-' || arg[1] == '\0')
		return 0;
	if (!strcmp(arg, "--")) {
		p->i++;
		return 0;
	}
	/* urfave/cli takes "-flag" and "--flag" alike for long names. */
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_flag *f = find_flag(flags, name, len, true);
	if (!f)
		f = find_flag(flags, name, len, false);
	if (!f)
		return husk_fail(err, 0, "flag provided but not defined: %s", arg);
	p->i++;
	if (!f->has_value) {
		*value = eq ? eq + 1 : "true";
		return f->id;
	}
	if (eq) {
		*value = eq + 1;
	} else {
		if (p->i >= p->argc)
			return husk_fail(err, 0, "flag needs an argument: %s", arg);
		*value = p->argv[p->i++];
	}
	return f->id;
}

int cli_bool(const char *flag, const char *value, bool *out, husk_error **err)
{
	if (!strcmp(value, "true") || !strcmp(value, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(value, "false") || !strcmp(value, "0")) {
		*out = false;
		return 0;
	}
	return husk_fail(err, 0, "invalid boolean value \"%s\" for flag --%s", value, flag);
}

int cli_uint(const char *flag, const char *value, unsigned *out, husk_error **err)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v > 0x7fffffff || value[0] == '-')
		return husk_fail(err, 0, "invalid value \"%s\" for flag --%s", value, flag);
	*out = (unsigned)v;
	return 0;
}

int cli_want_id(struct cli_parser *p, const char *cmd, const char **id, husk_error **err)
{
	if (p->i >= p->argc)
		return husk_fail(err, 0, "\"%s\" requires exactly 1 argument(s)", cmd);
	*id = p->argv[p->i++];
	if (p->i < p->argc)
		return husk_fail(err, 0, "\"%s\" requires exactly 1 argument(s)", cmd);
	return 0;
}
