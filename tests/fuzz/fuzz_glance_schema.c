/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_schema.c: libFuzzer target for
 * fs_parse_image_schema (GET /v2/schemas/image). Every read-only field is a
 * field too.
 */
#include "fuzz_common.h"
#include "clients/glance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_image_schema s;
	int rc = fs_parse_image_schema(&s, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(s.fields.n == 0 && s.read_only.n == 0);
		return 0;
	}
	for (size_t i = 0; i < s.read_only.n; i++)
		FUZZ_CHECK(fs_image_schema_is_field(&s, s.read_only.v[i]));
	(void)fs_image_schema_is_read_only(&s, "id");
	fs_image_schema_free(&s);
	return 0;
}
