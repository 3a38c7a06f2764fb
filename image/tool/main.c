/* SPDX-License-Identifier: GPL-2.0-or-later */
/* husk-image: the image commands of husk (see runtime/cmd_image_tool.c),
 * with husk's global flags and error reporting. */
#include <string.h>

#include "../../runtime/commands.h"

static const struct command *image_command_find(const char *name)
{
	static const struct command image_commands[] = {
		{ "bundle", cmd_bundle, NULL, NULL, NULL },
		{ "images", cmd_images, NULL, NULL, NULL },
		{ "layers", cmd_layers, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(image_commands) / sizeof(image_commands[0]); i++)
		if (!strcmp(image_commands[i].name, name))
			return &image_commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	return cli_main(argc, argv, image_command_find);
}
