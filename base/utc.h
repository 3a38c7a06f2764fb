/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTC timestamps without the C library's time zone code.
 *
 * gmtime_r() and strftime() call tzset(), which opens and parses
 * /etc/localtime on first use: an open, reads and a parse on every
 * `husk create`, for a timestamp that is always UTC anyway. */
#ifndef HUSK_BASE_UTC_H
#define HUSK_BASE_UTC_H

#include <stddef.h>
#include <time.h>

/* t (seconds since the epoch, may be negative) as a UTC calendar date:
 * fills tm_year (years since 1900), tm_mon (0-11), tm_mday, tm_hour, tm_min,
 * tm_sec, tm_wday and tm_yday, as gmtime_r() would. */
void utc_from_epoch(time_t t, struct tm *out);

/* "YYYY-MM-DDTHH:MM:SS" for t into buf; returns what snprintf() returns. */
int utc_format(char *buf, size_t len, time_t t);

#endif
