/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fallback.c: the fallback decision table (policy/fallback.c), every
 * row without a cluster.
 */
#include <criterion/criterion.h>

#include "policy/fallback.h"
#include "core/common.h"

Test(fallback, table)
{
	static const struct {
		fs_direct_outcome in;
		fs_fallback want;
	} rows[] = {
		/* refused before Glance holds the clone: stream */
		{ { FASTSNAP_EFORBIDDEN, 0, 0, 0 }, FS_FALLBACK_STREAM },
		{ { FASTSNAP_EFORBIDDEN, 0, 1, 0 }, FS_FALLBACK_STREAM },
		{ { FASTSNAP_ELOCATION_DISALLOWED, 0, 0, 0 }, FS_FALLBACK_STREAM },
		{ { FASTSNAP_ELOCATION_DISALLOWED, 0, 1, 1 }, FS_FALLBACK_STREAM },
		/* once Glance holds it, nothing falls back */
		{ { FASTSNAP_EFORBIDDEN, 1, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ELOCATION_DISALLOWED, 1, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ELOCATION_REJECTED, 1, 0, 0 }, FS_FALLBACK_FAIL },
		/* a rejected unflattened clone: flatten and register again, once */
		{ { FASTSNAP_ELOCATION_REJECTED, 0, 0, 0 }, FS_FALLBACK_FLATTEN_RETRY },
		{ { FASTSNAP_ELOCATION_REJECTED, 0, 0, 1 }, FS_FALLBACK_FAIL },
		/* a rejected flat clone is a clean error */
		{ { FASTSNAP_ELOCATION_REJECTED, 0, 1, 0 }, FS_FALLBACK_FAIL },
		/* everything else is final */
		{ { FASTSNAP_ECEPH, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ETIMEOUT, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_EUNAVAILABLE, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ECANCELED, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ENOTFOUND, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { FASTSNAP_ECONFLICT, 0, 0, 0 }, FS_FALLBACK_FAIL },
		{ { 0, 0, 0, 0 }, FS_FALLBACK_FAIL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fs_fallback got = fs_fallback_decide(&rows[i].in);
		cr_expect_eq(got, rows[i].want, "row %zu (%s, registered %d, flat %d, retried %d): %s, want %s",
			i, fastsnap_strerror(rows[i].in.error), rows[i].in.registered, rows[i].in.flattened,
			rows[i].in.retried, fs_fallback_name(got), fs_fallback_name(rows[i].want));
	}
	cr_assert_eq(fs_fallback_decide(NULL), FS_FALLBACK_FAIL);
}
