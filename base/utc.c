/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "utc.h"

#include <stdbool.h>
#include <stdio.h>

#define SECS_PER_DAY 86400LL

/* The proleptic Gregorian calendar in 400-year eras of 146097 days, with
 * years starting on March 1st so that the leap day falls last. */
void utc_from_epoch(time_t t, struct tm *out)
{
	long long days = (long long)t / SECS_PER_DAY, secs = (long long)t % SECS_PER_DAY;

	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs / 60 % 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */

	long long z = days + 719468; /* days since 0000-03-01 */
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;                                   /* [0, 146096] */
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
	long long mp = (5 * doy + 2) / 153;                                  /* March = 0 */
	long long mday = doy - (153 * mp + 2) / 5 + 1;
	long long mon = mp < 10 ? mp + 3 : mp - 9;                           /* [1, 12] */
	long long year = yoe + era * 400 + (mon <= 2);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	/* Day of the year from January 1st, not March 1st. */
	long long yday = mon <= 2 ? doy - 306 : doy + 59 + leap;

	out->tm_year = (int)(year - 1900);
	out->tm_mon = (int)(mon - 1);
	out->tm_mday = (int)mday;
	out->tm_yday = (int)yday;
	out->tm_isdst = 0;
}

int utc_format(char *buf, size_t len, time_t t)
{
	struct tm tm;

	utc_from_epoch(t, &tm);
	return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
