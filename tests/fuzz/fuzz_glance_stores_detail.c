/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_stores_detail.c: libFuzzer target for
 * fs_parse_stores_detail (GET /v2/info/stores/detail), merged into an empty
 * set and into a set with stores already known (as fs_glance_stores does),
 * then merged a second time (a store listed twice).
 */
#include "fuzz_common.h"
#include "clients/glance.h"

static const char known[] =
	"{\"stores\":[{\"id\":\"ceph\",\"default\":true},{\"id\":\"local\"},{\"id\":\"file\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int base = 0; base < 2; base++) {
		fs_store_set s = { 0 };
		if (base)
			FUZZ_CHECK(fs_parse_stores(&s, known, sizeof(known) - 1) == 0);
		size_t n0 = s.n;
		int rc = fs_parse_stores_detail(&s, (const char *)data, size);
		fuzz_check_rc(rc);
		if (rc == 0) {
			FUZZ_CHECK(s.has_detail && s.n >= n0);
			rc = fs_parse_stores_detail(&s, (const char *)data, size);
			FUZZ_CHECK(rc == 0);
		}
		for (size_t i = 0; i < s.n; i++)
			FUZZ_CHECK(s.v[i].id);
		fs_store_set_free(&s);
	}
	return 0;
}
