/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_stores.c: libFuzzer target for fs_parse_stores
 * (GET /v2/info/stores). A parsed set has an id for each store, and the
 * find/default lookups agree with it.
 */
#include "fuzz_common.h"
#include "clients/glance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_store_set s;
	int rc = fs_parse_stores(&s, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(s.n == 0 && !s.v);
		return 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		FUZZ_CHECK(s.v[i].id);
		const fs_store_info *f = fs_store_set_find(&s, s.v[i].id);
		FUZZ_CHECK(f && strcmp(f->id, s.v[i].id) == 0);
	}
	const fs_store_info *d = fs_store_set_default(&s);
	FUZZ_CHECK(!d || d->is_default);
	fs_store_set_free(&s);
	return 0;
}
