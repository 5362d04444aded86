/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_rbd_url.c: libFuzzer target for fs_rbd_url_parse (Glance
 * rbd:// locations). A parsed URL must format back to a URL that parses to
 * the same four parts (quote/unquote round trip).
 */
#include "fuzz_common.h"
#include "core/rbd_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_rbd_url u;
	int rc = fs_rbd_url_parse(&u, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(!u.fsid && !u.pool && !u.image && !u.snap);
		return 0;
	}
	FUZZ_CHECK(u.fsid && *u.fsid && u.pool && *u.pool && u.image && *u.image && u.snap && *u.snap);
	FUZZ_CHECK(fs_is_uuid(u.fsid, strlen(u.fsid)));
	char *again = fs_rbd_url_format(u.fsid, u.pool, u.image, u.snap);
	FUZZ_CHECK(again);
	fs_rbd_url v;
	FUZZ_CHECK(fs_rbd_url_parse(&v, again, strlen(again)) == 0);
	FUZZ_CHECK(strcmp(u.fsid, v.fsid) == 0 && strcmp(u.pool, v.pool) == 0 &&
		strcmp(u.image, v.image) == 0 && strcmp(u.snap, v.snap) == 0);
	fs_rbd_url_free(&v);
	free(again);
	fs_rbd_url_free(&u);
	return 0;
}
