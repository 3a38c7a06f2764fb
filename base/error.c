/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int husk_failv(husk_error **err, int code, const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	husk_error *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->code = code;
	if (vasprintf(&e->msg, fmt, ap) < 0)
		abort();
	*err = e;
	return -1;
}

int husk_fail(husk_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	husk_failv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int husk_error_wrap(husk_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	char *prefix = NULL, *joined = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&prefix, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&joined, "%s: %s", prefix, (*err)->msg) < 0)
		abort();
	free(prefix);
	free((*err)->msg);
	(*err)->msg = joined;
	return -1;
}

char *husk_error_text(const husk_error *err)
{
	char *s = NULL;
	int r = err->code ? asprintf(&s, "%s: %s", err->msg, strerror(err->code))
			  : asprintf(&s, "%s", err->msg);
	if (r < 0)
		abort();
	return s;
}

void husk_error_free(husk_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
