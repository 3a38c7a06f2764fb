/* SPDX-License-Identifier: GPL-2.0-or-later */
/* base/utc.c against the C library's gmtime_r(), over four centuries on
 * either side of the epoch, plus the leap days and edges by name. */
#include <time.h>

#include "../../base/utc.h"
#include "unit.h"

static bool same(time_t t)
{
	struct tm want, got;

	if (!gmtime_r(&t, &want))
		return true; /* out of the C library's range: nothing to compare */
	utc_from_epoch(t, &got);
	bool ok = got.tm_year == want.tm_year && got.tm_mon == want.tm_mon &&
		  got.tm_mday == want.tm_mday && got.tm_hour == want.tm_hour &&
		  got.tm_min == want.tm_min && got.tm_sec == want.tm_sec &&
		  got.tm_wday == want.tm_wday && got.tm_yday == want.tm_yday;
	if (!ok)
		fprintf(stderr, "  t=%lld: got %d-%d-%d %d:%d:%d wday %d yday %d\n", (long long)t,
			got.tm_year + 1900, got.tm_mon + 1, got.tm_mday, got.tm_hour, got.tm_min,
			got.tm_sec, got.tm_wday, got.tm_yday);
	return ok;
}

static void test_against_gmtime(void)
{
	const long long day = 86400, span = 146097LL * day; /* 400 years */
	int bad = 0;

	/* Every day at a time that moves through the day, 400 years each way. */
	for (long long t = -span; t <= span && bad < 5; t += day + 3607)
		bad += !same((time_t)t);
	CHECK(bad == 0);
}

static void test_edges(void)
{
	char buf[32];
	static const struct {
		long long t;
		const char *text;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00" },
		{ -1, "1969-12-31T23:59:59" },
		{ 951782400, "2000-02-29T00:00:00" },   /* divisible by 400: leap */
		{ 4107542400LL, "2100-03-01T00:00:00" }, /* divisible by 100: not */
		{ 4107542399LL, "2100-02-28T23:59:59" },
		{ 1709164800, "2024-02-29T00:00:00" },
		{ 1795564800, "2026-11-25T00:00:00" },
		{ 253402300799LL, "9999-12-31T23:59:59" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		utc_format(buf, sizeof(buf), (time_t)cases[i].t);
		CHECK_STR(buf, cases[i].text);
		CHECK(same((time_t)cases[i].t));
	}
}

int main(void)
{
	test_against_gmtime();
	test_edges();
	return unit_summary("utc");
}
