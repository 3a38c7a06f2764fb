/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One error type, carried up from where a failure happens to the top of the
 * command, and printed once there.
 *
 * A failing function fills *err and returns a negative value:
 *
 *     if (mount(...) < 0)
 *         return husk_fail(err, errno, "mount `%s`", target);
 *
 * and a caller that wants to add context wraps it:
 *
 *     if (rootfs_do_mounts(s, &err) < 0)
 *         return husk_error_wrap(err, "rootfs");
 *
 * The top of the program prints "husk: <msg>: <strerror(code)>" (or only the
 * message when code is 0) and exits non-zero.
 */
#ifndef HUSK_BASE_ERROR_H
#define HUSK_BASE_ERROR_H

#include <stdarg.h>

typedef struct husk_error {
	int code;  /* errno value, or 0 when the message says it all */
	char *msg; /* heap-allocated, never NULL once set */
} husk_error;

/* Sets *err (if err is non-NULL and *err unset) and returns -1. */
int husk_fail(husk_error **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int husk_failv(husk_error **err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefixes the message already in *err with "<prefix>: ". Returns -1. */
int husk_error_wrap(husk_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "msg: strerror(code)" in a fresh heap string (caller frees). */
char *husk_error_text(const husk_error *err);

void husk_error_free(husk_error **err);

#endif
