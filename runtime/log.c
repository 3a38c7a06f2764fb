/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/utc.h"

static void log_time(char *buf, size_t len)
{
	int n = utc_format(buf, len - 1, time(NULL));
	if (n < 0 || (size_t)n >= len - 1)
		buf[0] = '\0';
	else
		strcat(buf, "Z");
}

static void log_write_file(const struct husk_opts *o, const char *level, const char *msg)
{
	if (!o || !o->log_path)
		return;
	_cleanup_close_ int fd = open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char when[32];
	log_time(when, sizeof(when));
	_cleanup_free_ char *line = NULL;
	int r;
	if (o->log_json) {
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "level", json_object_new_string(level));
		json_object_object_add(j, "msg", json_object_new_string(msg));
		json_object_object_add(j, "time", json_object_new_string(when));
		r = asprintf(&line, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		r = asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", when, level, msg);
	}
	if (r > 0 && write(fd, line, (size_t)r) < 0)
		return;
}

void log_error(const struct husk_opts *o, const char *msg)
{
	fprintf(stderr, "husk: %s\n", msg);
	log_write_file(o, "error", msg);
}

static void log_level(const struct husk_opts *o, const char *level, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	/* A JSON log must end up holding only the error when a command fails
	 * (podman parses it as one object), so warnings go to stderr there. */
	if (o && o->log_path && (!o->log_json || o->debug))
		log_write_file(o, level, msg);
	else
		fprintf(stderr, "husk: %s: %s\n", level, msg);
}

void log_warning(const struct husk_opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_level(o, "warning", fmt, ap);
	va_end(ap);
}

void log_debug(const struct husk_opts *o, const char *fmt, ...)
{
	if (!o || !o->debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_level(o, "debug", fmt, ap);
	va_end(ap);
}
