/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages for the caller: errors go to stderr ("husk: ...") and, with
 * --log, to the log file as runc writes it (text, or one JSON object per
 * line with level, msg, time). Debug lines only with --debug, so that on a
 * failure the JSON log holds just the error (podman parses it whole).
 */
#ifndef HUSK_RUNTIME_LOG_H
#define HUSK_RUNTIME_LOG_H

#include "cli.h"

void log_error(const struct husk_opts *o, const char *msg);
void log_warning(const struct husk_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_debug(const struct husk_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
