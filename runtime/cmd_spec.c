/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `spec`: writes a starting config.json, the same as runc's default except
 * for the hostname and the spec version husk implements. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../spec/state.h"
#include "commands.h"

#define DEFAULT_CAPS "[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]"
#define MASKED                                                                              \
	"[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\"," \
	"\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\","   \
	"\"/proc/scsi\"]"
#define READONLY "[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]"

static const char default_spec[] =
	"{\"ociVersion\":\"" HUSK_OCI_VERSION "\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TERM=xterm\"],"
	"\"cwd\":\"/\",\"capabilities\":{\"bounding\":" DEFAULT_CAPS ",\"effective\":" DEFAULT_CAPS
	",\"permitted\":" DEFAULT_CAPS ",\"ambient\":" DEFAULT_CAPS "},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"husk\","
	"\"mounts\":["
	"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
	"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
	"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}],"
	"\"maskedPaths\":" MASKED ",\"readonlyPaths\":" READONLY "}}";

/* As runc's --rootless: a user namespace mapping the caller, no network
 * namespace (it could not be set up), /sys bound from the host, and no
 * devpts gid the caller may not own. */
static void spec_make_rootless(struct json_object *spec)
{
	struct json_object *l = json_get(spec, "linux"), *mounts = json_get(spec, "mounts");
	char map[128];

	json_object_object_del(l, "resources");
	struct json_object *ns = json_tokener_parse(
		"[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"user\"}]");
	json_object_object_add(l, "namespaces", ns);
	snprintf(map, sizeof(map), "[{\"containerID\":0,\"hostID\":%u,\"size\":1}]", geteuid());
	json_object_object_add(l, "uidMappings", json_tokener_parse(map));
	snprintf(map, sizeof(map), "[{\"containerID\":0,\"hostID\":%u,\"size\":1}]", getegid());
	json_object_object_add(l, "gidMappings", json_tokener_parse(map));
	json_object_array_put_idx(mounts, 5, json_tokener_parse(
		"{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
		"\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}"));
	struct json_object *pts_opts = json_get(json_object_array_get_idx(mounts, 2), "options");
	json_object_array_del_idx(pts_opts, json_object_array_length(pts_opts) - 1, 1);
}

int cmd_spec(const struct husk_opts *o, int argc, char **argv, husk_error **err)
{
	static const struct cli_flag flags[] = { { "bundle", 'b', true, 1 },
						 { "rootless", 0, false, 2 },
						 { NULL, 0, false, 0 } };
	struct cli_parser p = { argc, argv, 1 };
	const char *v, *bundle = ".";
	bool rootless = false;
	int id;

	while ((id = cli_next(&p, flags, &v, err)) > 0) {
		if (id == CLI_HELP_ID)
			return command_print_help(command_find("spec")), 0;
		if (id == 1)
			bundle = v;
		else if (cli_bool("rootless", v, &rootless, err) < 0)
			return -1;
	}
	if (id < 0)
		return -1;
	_cleanup_close_ int dir = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return husk_fail(err, errno, "bundle %s", bundle);
	struct json_object *spec = json_tokener_parse(default_spec);
	if (rootless)
		spec_make_rootless(spec);
	const char *text = json_object_to_json_string_ext(
		spec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = 0;
	_cleanup_close_ int fd = openat(dir, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		r = errno == EEXIST ? husk_fail(err, 0, "File config.json exists. Remove it first")
				    : husk_fail(err, errno, "create config.json");
	else if (write(fd, text, strlen(text)) < 0)
		r = husk_fail(err, errno, "write config.json");
	json_object_put(spec);
	return r;
}
