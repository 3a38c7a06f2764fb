/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One function per husk command. Each parses its own flags from argv (argv[0]
 * is the command name) and returns the process exit status, or -1 with *err
 * set; main() prints the error once and exits 1.
 */
#ifndef HUSK_RUNTIME_COMMANDS_H
#define HUSK_RUNTIME_COMMANDS_H

#include "cli.h"

typedef int (*command_fn)(const struct husk_opts *o, int argc, char **argv, husk_error **err);

struct command {
	const char *name;
	command_fn fn;
	const char *usage;   /* the line after the command name */
	const char *summary; /* one line for `husk --help` */
	const char *flags;   /* flag help, may be NULL */
};

typedef const struct command *(*command_lookup_fn)(const char *name);

/* main() of husk and husk-image: global flags, then the command. */
int cli_main(int argc, char **argv, command_lookup_fn find);

const struct command *command_find(const char *name);
const struct command *command_list(void);
void command_print_help(const struct command *c);

int cmd_create(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_start(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_run(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_kill(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_delete(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_state(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_list(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_ps(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_pause(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_resume(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_spec(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_features(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_bundle(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_images(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_layers(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_exec(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_update(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_events(const struct husk_opts *o, int argc, char **argv, husk_error **err);
/* bundle, images, layers: run by husk-image, which links libarchive and
 * nettle so that husk itself, on every container start, does not. */
int cmd_image_tool(const struct husk_opts *o, int argc, char **argv, husk_error **err);
int cmd_not_yet(const struct husk_opts *o, int argc, char **argv, husk_error **err);

#endif
