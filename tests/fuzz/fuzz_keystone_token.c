/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_keystone_token.c: libFuzzer target for
 * fs_parse_keystone_token (the body of POST /v3/auth/tokens: token, user,
 * project, catalog) and the catalog lookup done on it.
 */
#include "fuzz_common.h"
#include "clients/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_keystone_token t;
	int rc = fs_parse_keystone_token(&t, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(t.n_endpoints == 0 && !t.endpoints);
		return 0;
	}
	for (size_t i = 0; i < t.n_endpoints; i++)
		FUZZ_CHECK(t.endpoints[i].service_type && t.endpoints[i].interface &&
			t.endpoints[i].url);
	const char *u = fs_keystone_find_endpoint(&t, "image", NULL, NULL);
	const char *r = fs_keystone_find_endpoint(&t, "image", "internal", "RegionOne");
	/* a found URL is one of the parsed endpoints' */
	for (int k = 0; k < 2; k++) {
		const char *f = k ? r : u;
		int owned = !f;
		for (size_t i = 0; f && i < t.n_endpoints; i++)
			owned |= t.endpoints[i].url == f;
		FUZZ_CHECK(owned);
	}
	(void)fs_keystone_find_endpoint(&t, "image", "", "");
	fs_keystone_token_free(&t);
	return 0;
}
