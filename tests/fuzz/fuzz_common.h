/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_common.h: what every libFuzzer target shares: a check
 * that aborts (so that libFuzzer records a crash) when an invariant of a
 * parser's result does not hold, and a check that the thread-local error
 * message was set whenever a parser failed.
 */
#ifndef FS_FUZZ_COMMON_H
#define FS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastsnap.h"

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* A failing parser returns a negative code and leaves a non-empty message. */
static inline void fuzz_check_rc(int rc)
{
	FUZZ_CHECK(rc <= 0);
	if (rc < 0) {
		const char *m = fastsnap_error_last();
		FUZZ_CHECK(m && *m);
		FUZZ_CHECK(strlen(m) < 4096);
	}
}

#endif
