/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal unit-test harness: CHECK() records, unit_summary() prints
 * "<suite>: N passed, N failed" (", N skipped" when some were) and gives
 * the exit code. UNIT_SKIP_ON_VALGRIND() leaves a test function, saying
 * so, where valgrind lacks a syscall the code needs (openat2). */
#ifndef HUSK_TESTS_UNIT_H
#define HUSK_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNIT_HAVE_VALGRIND_H 1
#endif
#endif

static int unit_passed, unit_failed, unit_skipped;

/* RUNNING_ON_VALGRIND where the header exists; else tests/run.sh's
 * HUSK_UNDER_VALGRIND=1. */
static inline bool unit_on_valgrind(void)
{
	const char *env = getenv("HUSK_UNDER_VALGRIND");
#ifdef UNIT_HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return true;
#endif
	return env && !strcmp(env, "1");
}

#define UNIT_SKIP_ON_VALGRIND(why)                                             \
	do {                                                                   \
		if (unit_on_valgrind()) {                                      \
			unit_skipped++;                                        \
			printf("SKIP %s: under valgrind: %s\n", __func__, why); \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			unit_passed++;                                         \
		} else {                                                       \
			unit_failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *_a = (a), *_b = (b);                               \
		if (_a && _b && strcmp(_a, _b) == 0) {                         \
			unit_passed++;                                         \
		} else {                                                       \
			unit_failed++;                                         \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, _a ? _a : "(null)",                  \
				_b ? _b : "(null)");                           \
		}                                                              \
	} while (0)

static inline int unit_summary(const char *suite)
{
	if (unit_skipped)
		printf("%s: %d passed, %d failed, %d skipped\n", suite, unit_passed, unit_failed,
		       unit_skipped);
	else
		printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
