/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_error_body.c: libFuzzer target for fs_error_body_message
 * (the message of a Glance or Keystone error body: JSON, HTML or text).
 * The result is at most 1024 bytes of valid UTF-8, without control
 * characters or blanks at either end.
 */
#include "fuzz_common.h"
#include "clients/error_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = fs_error_body_message((const char *)data, size);
	FUZZ_CHECK(m);
	size_t n = strlen(m);
	FUZZ_CHECK(n <= 1024);
	FUZZ_CHECK(n == 0 || (m[0] != ' ' && m[n - 1] != ' '));
	/* valid UTF-8 without control characters: fit for a log line and
	 * for the --json output */
	const unsigned char *p = (const unsigned char *)m;
	for (size_t i = 0; i < n;) {
		FUZZ_CHECK(p[i] >= 32 && p[i] != 0x7f);
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
		FUZZ_CHECK(p[i] < 0x80 || (p[i] >= 0xc2 && p[i] <= 0xf4));
		FUZZ_CHECK(i + k <= n);
		for (size_t j = 1; j < k; j++)
			FUZZ_CHECK((p[i + j] & 0xc0) == 0x80);
		i += k;
	}
	free(m);
	return 0;
}
