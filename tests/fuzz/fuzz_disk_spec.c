/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_disk_spec.c: libFuzzer target for fs_rbd_spec_parse (the
 * CLI's --disk POOL/IMAGE). A parsed spec has two non-empty parts without
 * '/', '@' or control characters, which joined give the input back.
 */
#include "fuzz_common.h"
#include "core/rbd_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_rbd_spec s;
	int rc = fs_rbd_spec_parse(&s, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(!s.pool && !s.image);
		return 0;
	}
	size_t pl = strlen(s.pool), il = strlen(s.image);
	FUZZ_CHECK(pl > 0 && il > 0 && pl + 1 + il == size);
	FUZZ_CHECK(!strchr(s.pool, '/') && !strchr(s.image, '/'));
	FUZZ_CHECK(!strchr(s.pool, '@') && !strchr(s.image, '@'));
	FUZZ_CHECK(memcmp(data, s.pool, pl) == 0 && memcmp(data + pl + 1, s.image, il) == 0);
	fs_rbd_spec_free(&s);
	return 0;
}
