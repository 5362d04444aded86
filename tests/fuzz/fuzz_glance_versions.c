/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_versions.c: libFuzzer target for fs_parse_versions
 * (the GET / answer, 300 Multiple Choices).
 */
#include "fuzz_common.h"
#include "clients/glance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_strv v;
	int rc = fs_parse_versions(&v, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(v.n == 0);
		return 0;
	}
	for (size_t i = 0; i < v.n; i++)
		FUZZ_CHECK(v.v[i]);
	fs_strv_free(&v);
	return 0;
}
