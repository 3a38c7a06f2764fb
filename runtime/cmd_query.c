/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state, list, ps, pause, resume. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../cgroups/cgroup.h"
#include "commands.h"
#include "container.h"
#include "proc.h"

#define JSON_OUT (JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parses "[--flags] ID" for commands with no flags of their own. */
static int want_only_id(int argc, char **argv, const char **id, husk_error **err)
{
	struct cli_parser p = { argc, argv, 1 };
	const char *v;
	int r = cli_next(&p, NULL, &v, err);
	if (r == CLI_HELP_ID)
		return CLI_HELP_ID;
	if (r < 0 || cli_want_id(&p, argv[0], id, err) < 0)
		return -1;
	return 0;
}

int cmd_state(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	const char *id;
	int r = want_only_id(argc, argv, &id, err);
	if (r)
		return r == CLI_HELP_ID ? (command_print_help(command_find("state")), 0) : -1;
	struct container c;
	r = container_load(o, id, &c, err);
	if (r == 0) {
		struct json_object *j = state_runc_object(&c.st, container_status(&c));
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_OUT));
		json_object_put(j);
	}
	container_release(&c);
	return r < 0 ? -1 : 0;
}

static struct json_object *list_collect(const struct husk_opts *o)
{
	struct json_object *arr = json_object_new_array();
	_cleanup_closedir_ DIR *d = opendir(o->root);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		struct container c;
		husk_error *ignored = NULL;
		/* One being created has no state yet; one being deleted is gone. */
		if (container_load(o, e->d_name, &c, &ignored) == 0)
			json_object_array_add(arr, state_runc_object(&c.st, container_status(&c)));
		container_release(&c);
		husk_error_free(&ignored);
	}
	return arr;
}

static void list_table(struct json_object *arr)
{
	static const char *const cols[] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
	static const char *const keys[] = { "id", "pid", "status", "bundle", "created", "owner" };
	size_t n = json_object_array_length(arr), width[6];

	/* As runc's tabwriter: cells padded by 3, at least 12 wide. */
	for (int c = 0; c < 6; c++) {
		width[c] = strlen(cols[c]);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(json_get_text(json_object_array_get_idx(arr, i), keys[c]));
			width[c] = l > width[c] ? l : width[c];
		}
		width[c] = width[c] + 3 < 12 ? 12 : width[c] + 3;
	}
	for (int c = 0; c < 5; c++)
		printf("%-*s", (int)width[c], cols[c]);
	printf("%s\n", cols[5]);
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(arr, i);
		for (int c = 0; c < 5; c++)
			printf("%-*s", (int)width[c], json_get_text(row, keys[c]));
		printf("%s\n", json_get_text(row, keys[5]));
	}
}

int cmd_list(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "format", 'f', true, 1 }, { "quiet", 'q', false, 2 },
						 { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *format = "table";
	bool quiet = false;
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("list")), 0;
		if (id == 1)
			format = v;
		else if (cli_bool("quiet", v, &quiet, err) < 0)
			return -1;
	}
	if (id < 0)
		return -1;
	if (strcmp(format, "table") && strcmp(format, "json"))
		return husk_fail(err, 0, "invalid format option \"%s\"", format);
	struct json_object *arr = list_collect(o);
	size_t n = json_object_array_length(arr);
	if (quiet)
		for (size_t i = 0; i < n; i++)
			puts(json_get_text(json_object_array_get_idx(arr, i), "id"));
	else if (!strcmp(format, "json"))
		/* runc prints Go's nil slice as null when there is nothing. */
		puts(n ? json_object_to_json_string_ext(arr, JSON_OUT) : "null");
	else
		list_table(arr);
	json_object_put(arr);
	return 0;
}

static int container_pid_list(const struct husk_opts *o, const char *id, pid_t **pids, size_t *n,
			      husk_error **err)
{
	struct container c;
	int r = container_load(o, id, &c, err);
	if (r == 0 && !c.cg)
		r = husk_fail(err, 0, "container %s has no cgroup", id);
	/* No cgroup (rootless): the processes of its pid namespace. */
	if (r == 0 && !*cgroup_path(c.cg)) {
		int e = proc_pidns_pids(c.st.pid, pids, n);
		if (e < 0)
			r = husk_fail(err, e == -EEXIST ? 0 : -e, "container %s has no cgroup%s", id,
				      e == -EEXIST ? " nor a pid namespace of its own" : "");
	} else if (r == 0) {
		r = cgroup_pids(c.cg, pids, n, err);
	}
	container_release(&c);
	return r;
}

static bool pid_listed(pid_t pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* As runc: the host's ps (with the caller's options, default -ef), keeping
 * the header and the rows of the container's processes. */
static int ps_table(int argc, char **argv, const pid_t *pids, size_t n, husk_error **err)
{
	_cleanup_free_ char *cmd = strdup("ps");
	for (int i = 0; i < argc; i++) {
		char *next = NULL;
		if (strpbrk(argv[i], "'\\") || asprintf(&next, "%s '%s'", cmd, argv[i]) < 0)
			return husk_fail(err, 0, "ps: unsupported option \"%s\"", argv[i]);
		free(cmd);
		cmd = next;
	}
	if (argc == 0) {
		free(cmd);
		cmd = strdup("ps -ef");
	}
	FILE *f = popen(cmd, "re");
	if (!f)
		return husk_fail(err, errno, "run ps");
	char line[4096];
	int pid_col = -1;
	while (fgets(line, sizeof(line), f)) {
		char copy[4096], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", line);
		int col = 0;
		for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (pid_col < 0 && !strcmp(tok, "PID")) {
				pid_col = col;
				fputs(line, stdout);
				break;
			}
			if (col == pid_col && pid_listed((pid_t)atoi(tok), pids, n))
				fputs(line, stdout);
		}
	}
	int status = pclose(f);
	if (pid_col < 0)
		return husk_fail(err, 0, "ps: no PID column in the output (status %d)", status);
	return 0;
}

int cmd_ps(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "format", 'f', true, 1 }, { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *format = "table";
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("ps")), 0;
		format = v;
	}
	if (id < 0 || p.i >= argc)
		return id < 0 ? -1 : husk_fail(err, 0, "\"ps\" requires a minimum of 1 argument(s)");
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (container_pid_list(o, argv[p.i], &pids, &n, err) < 0)
		return -1;
	if (!strcmp(format, "json")) {
		putchar('[');
		for (size_t i = 0; i < n; i++)
			printf(i ? ",%d" : "%d", pids[i]);
		puts("]");
		return 0;
	}
	if (strcmp(format, "table"))
		return husk_fail(err, 0, "invalid format option \"%s\"", format);
	return ps_table(argc - p.i - 1, argv + p.i + 1, pids, n, err);
}

static int freeze_cmd(const struct husk_opts *o, int argc, char **argv, bool frozen,
		      husk_error **err)
{
	const char *id;
	int r = want_only_id(argc, argv, &id, err);
	if (r)
		return r == CLI_HELP_ID ? (command_print_help(command_find(argv[0])), 0) : -1;
	struct container c;
	r = container_load(o, id, &c, err);
	if (r == 0) {
		const char *status = container_status(&c);
		if (frozen && strcmp(status, "running"))
			r = husk_fail(err, 0, "container not running");
		else if (!frozen && strcmp(status, "paused"))
			r = husk_fail(err, 0, "container not paused");
		else if (!c.cg)
			r = husk_fail(err, 0, "container %s has no cgroup", id);
		else
			r = cgroup_freeze(c.cg, frozen, err);
	}
	container_release(&c);
	return r < 0 ? -1 : 0;
}

int cmd_pause(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	return freeze_cmd(o, argc, argv, true, err);
}

int cmd_resume(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	return freeze_cmd(o, argc, argv, false, err);
}

int cmd_not_yet(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return command_print_help(command_find(argv[0])), 0;
	return husk_fail(err, ENOSYS, "not implemented yet");
}
