/* SPDX-License-Identifier: GPL-2.0-or-later */
/* husk's guest agent: placeholder until vm/agent/ is written. */
#include <stdio.h>

int main(void)
{
	fputs("husk-agent: not written yet\n", stderr);
	return 1;
}
