/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "exec_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!(st.st_mode & 0111))
		return -EACCES;
	return 0;
}

static const char *env_path(const char *const *env)
{
	for (; env && *env; env++)
		if (!strncmp(*env, "PATH=", 5))
			return *env + 5;
	return HUSK_DEFAULT_PATH;
}

char *exec_path_lookup(const char *name, const char *const *env, husk_error **err)
{
	if (strchr(name, '/')) {
		int r = check_executable(name);
		if (r < 0) {
			husk_fail(err, -r, "exec: \"%s\"", name);
			return NULL;
		}
		return strdup(name);
	}
	const char *dirs = env_path(env);
	while (*dirs) {
		const char *end = strchrnul(dirs, ':');
		char *cand = NULL;
		int len = (int)(end - dirs);
		if (asprintf(&cand, "%.*s/%s", len ? len : 1, len ? dirs : ".", name) < 0)
			break;
		if (check_executable(cand) == 0)
			return cand;
		free(cand);
		dirs = *end ? end + 1 : end;
	}
	husk_fail(err, 0, "exec: \"%s\": executable file not found in $PATH", name);
	return NULL;
}
