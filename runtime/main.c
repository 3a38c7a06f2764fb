/* SPDX-License-Identifier: GPL-2.0-or-later */
/* husk */
#include "commands.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv, command_find);
}
