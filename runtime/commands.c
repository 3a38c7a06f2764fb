/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table and its help text. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#define CREATE_FLAGS                                                                     \
	"   --bundle value, -b value  path to the root of the bundle directory (default: .)\n" \
	"   --console-socket value    unix socket to receive the pty master of a terminal\n"   \
	"   --pid-file value          file to write the container's init pid to\n"            \
	"   --pidfd-socket value      unix socket to receive a pidfd of the init\n"            \
	"   --no-pivot                do not use pivot_root (MS_MOVE + chroot instead)\n"      \
	"   --no-new-keyring          keep the caller's session keyring\n"                     \
	"   --preserve-fds value      pass N extra fds (3..3+N-1) to the container\n"          \
	"   --rootfs-overlay          keep the rootfs untouched: writes go to a per-container\n" \
	"                             overlay upper, removed at delete\n"                    \
	"   --vm                      run it in a QEMU micro-VM with its own kernel\n"        \
	"   --vm-kernel value         the guest kernel (default: newest /boot/vmlinuz-*)\n"

static const struct command commands[] = {
	{ "create", cmd_create, "[command options] <container-id>", "create a container", CREATE_FLAGS },
	{ "start", cmd_start, "<container-id>", "start the user process of a created container", NULL },
	{ "run", cmd_run, "[command options] <container-id>", "create and start a container, and wait for it",
	  CREATE_FLAGS "   --detach, -d              return once it has started\n"
		       "   --keep                    do not delete the container when it exits\n" },
	{ "state", cmd_state, "<container-id>", "output the state of a container", NULL },
	{ "kill", cmd_kill, "[--all] <container-id> [signal]", "send a signal (default SIGTERM) to the init",
	  "   --all, -a                 signal every process in the container's cgroup\n" },
	{ "delete", cmd_delete, "[--force] <container-id>", "delete a container and what it holds",
	  "   --force, -f               kill the container first if it is running\n" },
	{ "list", cmd_list, "[--format table|json] [-q]", "list containers",
	  "   --format value, -f value  table or json (default: table)\n"
	  "   --quiet, -q               print only the ids\n" },
	{ "ps", cmd_ps, "[--format table|json] <container-id>", "list the processes of a container",
	  "   --format value, -f value  table or json (default: table)\n" },
	{ "pause", cmd_pause, "<container-id>", "freeze every process of a container", NULL },
	{ "resume", cmd_resume, "<container-id>", "thaw a paused container", NULL },
	{ "exec", cmd_exec, "[command options] <container-id> <command> [args...]",
	  "run a process in a running container",
	  "   --process value, -p value  process.json to run (instead of the command)\n"
	  "   --detach, -d               return once it has started\n"
	  "   --pid-file value           file to write its pid to\n"
	  "   --console-socket value     unix socket to receive the pty master\n"
	  "   --tty, -t                  allocate a terminal\n"
	  "   --cwd value                working directory\n"
	  "   --env value, -e value      add an environment variable (repeatable)\n"
	  "   --user value, -u value     uid[:gid]\n"
	  "   --additional-gids value, -g value  add a supplementary gid (repeatable)\n"
	  "   --cap value, -c value      add a capability (repeatable)\n"
	  "   --no-new-privs             set no_new_privs\n"
	  "   --apparmor value           AppArmor profile\n"
	  "   --process-label value      SELinux label\n"
	  "   --preserve-fds value       pass N extra fds\n"
	  "   --pidfd-socket value       unix socket to receive a pidfd\n"
	  "   --ignore-paused            exec even into a paused container\n" },
	{ "update", cmd_update, "[command options] <container-id>",
	  "change a running container's resource limits",
	  "   --resources value, -r value  linux.resources JSON from a file, or - for stdin\n"
	  "   --memory, --memory-reservation, --memory-swap value  bytes (k, m, g suffixes)\n"
	  "   --cpu-share, --cpu-quota, --cpu-period, --cpu-rt-runtime, --cpu-rt-period value\n"
	  "   --cpuset-cpus, --cpuset-mems value   e.g. 0-1\n"
	  "   --cpu-idle value                     1 for SCHED_IDLE\n"
	  "   --pids-limit value                   -1 for no limit\n"
	  "   --blkio-weight value                 10 to 1000\n" },
	{ "events", cmd_events, "[--stats] [--interval 5s] <container-id>",
	  "show container statistics and OOM events as JSON lines",
	  "   --stats             one statistics object, then exit\n"
	  "   --interval value    time between statistics (default: 5s)\n" },
	{ "spec", cmd_spec, "[--bundle DIR] [--rootless]", "write a new config.json",
	  "   --bundle value, -b value  where to write config.json (default: .)\n"
	  "   --rootless                a config for running as an unprivileged user\n" },
	{ "bundle", cmd_image_tool, "--image DIR[:TAG] <bundle-dir>",
	  "make a bundle from an OCI image layout, its layers shared in the store",
	  "   --image value, -i value   the OCI image layout directory, and a tag in it\n" },
	{ "images", cmd_image_tool, "[--format table|json]", "list the bundles made by `husk bundle`",
	  "   --format value, -f value  table or json (default: table)\n" },
	{ "layers", cmd_image_tool, "[--format table|json] | prune",
	  "list the layer store, or remove layers no bundle or container uses",
	  "   --format value, -f value  table or json (default: table)\n" },
	{ "features", cmd_features, "", "show what this runtime supports (runtime-spec features.md)", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct command *command_list(void)
{
	return commands;
}

const struct command *command_find(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void command_print_help(const struct command *c)
{
	printf("NAME:\n   husk %s - %s\n\nUSAGE:\n   husk %s %s\n", c->name, c->summary, c->name,
	       c->usage);
	if (c->flags)
		printf("\nOPTIONS:\n%s", c->flags);
}
