/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/self/mountinfo, one entry at a time (proc(5) for the format). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "internal.h"

/* The kernel writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
		    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static char *next_field(char **cursor)
{
	return strsep(cursor, " ");
}

/* Splits line in place. Returns -1 when it is not a mountinfo line. */
static int parse_line(char *line, struct mountinfo_entry *e)
{
	char *cur = line, *f[5];

	line[strcspn(line, "\n")] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (!(f[i] = next_field(&cur)))
			return -1;
	e->id = atoi(f[0]);
	e->parent = atoi(f[1]);
	e->root = f[3];
	e->mount_point = f[4];
	if (!(e->mount_opts = next_field(&cur)))
		return -1;
	/* Optional fields run up to a lone "-". */
	char *sep = strstr(cur ? cur : "", " - ");
	if (cur && strncmp(cur, "- ", 2) == 0) {
		e->optional = cur + strlen(cur); /* "" */
		cur += 2;
	} else if (sep) {
		*sep = '\0';
		e->optional = cur;
		cur = sep + 3;
	} else {
		return -1;
	}
	if (!(e->fstype = next_field(&cur)) || !(e->source = next_field(&cur)) || !cur)
		return -1;
	e->super_opts = cur;
	unescape(e->root);
	unescape(e->mount_point);
	unescape(e->source);
	return 0;
}

int mountinfo_foreach(mountinfo_cb cb, void *userdata)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		struct mountinfo_entry e;
		if (parse_line(line, &e) < 0)
			continue;
		int r = cb(&e, userdata);
		if (r)
			return r;
	}
	return ferror(f) ? -EIO : 0;
}
