/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/fallback.h: what a failed direct attempt leads to, as a pure
 * function (table-tested in tests/unit/test_fallback.c):
 *  - the direct path is refused (a clone not permitted, EFORBIDDEN; or
 *    Glance disallows locations) while Glance does not yet hold the
 *    clone: undo the attempt and stream instead;
 *  - Glance could not open an unflattened clone (the location is
 *    rejected) and it was not retried yet: flatten, register again;
 *  - anything else is final.
 */
#ifndef FS_FALLBACK_H
#define FS_FALLBACK_H

typedef enum {
	FS_FALLBACK_FAIL = 0,         /* final: clean up and report */
	FS_FALLBACK_STREAM,           /* undo the direct attempt, stream */
	FS_FALLBACK_FLATTEN_RETRY     /* flatten the clone, register again */
} fs_fallback;

typedef struct {
	int error;          /* the attempt's FASTSNAP_E* code (< 0) */
	int registered;     /* Glance holds the clone (its location is registered) */
	int flattened;      /* the clone is flat */
	int retried;        /* a flatten-and-register-again was already done */
} fs_direct_outcome;

fs_fallback fs_fallback_decide(const fs_direct_outcome *o);
const char *fs_fallback_name(fs_fallback f);

#endif
