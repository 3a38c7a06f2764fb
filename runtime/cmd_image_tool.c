/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `husk bundle|images|layers` run husk-image, installed beside husk: the
 * image code needs libarchive and nettle (and what they pull in, fifteen
 * libraries), which every container start would otherwise load. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#define IMAGE_TOOL "husk-image"
#define MAX_ARGS 256

static int image_tool_path(char *buf, size_t len, husk_error **err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return husk_fail(err, errno, "find %s: readlink /proc/self/exe", IMAGE_TOOL);
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*(slash ? slash + 1 : self) = '\0';
	if ((size_t)snprintf(buf, len, "%s%s", self, IMAGE_TOOL) >= len)
		return husk_fail(err, ENAMETOOLONG, "find %s", IMAGE_TOOL);
	return 0;
}

int cmd_image_tool(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	char path[PATH_MAX];
	const char *args[MAX_ARGS];
	int n = 0;

	if (argc + 8 >= MAX_ARGS)
		return husk_fail(err, E2BIG, "too many arguments");
	if (image_tool_path(path, sizeof(path), err) < 0)
		return -1;
	args[n++] = IMAGE_TOOL;
	args[n++] = "--root";
	args[n++] = o->root;
	if (o->log_path) {
		args[n++] = "--log";
		args[n++] = o->log_path;
		args[n++] = o->log_json ? "--log-format=json" : "--log-format=text";
	}
	if (o->debug)
		args[n++] = "--debug";
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(path, (char *const *)args);
	return husk_fail(err, errno, "run %s", path);
}
