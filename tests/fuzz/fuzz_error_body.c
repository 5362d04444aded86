/*
 * tests/fuzz/fuzz_error_body.c: libFuzzer target for fs_http_error_message
 * (the message of a Glance or Keystone error body: JSON, HTML or text).
 * The result is a printable string of at most 1024 bytes.
 */
#include "fuzz_common.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = fs_http_error_message((const char *)data, size);
	FUZZ_CHECK(m);
	size_t n = strlen(m);
	FUZZ_CHECK(n <= 1024);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)m[i] >= 32 || (m[i] & 0x80));
	FUZZ_CHECK(n == 0 || (m[0] != ' ' && m[n - 1] != ' '));
	free(m);
	return 0;
}
