/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_image_list.c: libFuzzer target for
 * fs_parse_image_page (one page of GET /v2/images). The page is parsed
 * twice into one list, as paging does, so that appending is exercised.
 */
#include "fuzz_common.h"
#include "clients/glance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_image_list l = { 0 };
	char *next = NULL;
	int rc = fs_parse_image_page(&l, &next, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc == 0) {
		size_t n1 = l.n;
		char *next2 = NULL;
		FUZZ_CHECK(fs_parse_image_page(&l, &next2, (const char *)data, size) == 0);
		FUZZ_CHECK(l.n == 2 * n1);
		FUZZ_CHECK(!next == !next2);
		if (next)
			FUZZ_CHECK(strcmp(next, next2) == 0);
		free(next2);
	} else {
		FUZZ_CHECK(!next);
	}
	for (size_t i = 0; i < l.n; i++)
		FUZZ_CHECK(l.v[i] && l.v[i]->id && l.v[i]->status);
	free(next);
	fs_image_list_free(&l);
	return 0;
}
