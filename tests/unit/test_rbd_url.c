/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_rbd_url.c: rbd:// URL parsing and formatting (Glance's
 * rbd://fsid/pool/image/snap with %-quoting) and the "pool/image" spec.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/rbd_url.h"

#define FSID "0f7a3c2e-1b2d-4e5f-8a9b-0c1d2e3f4a5b"

Test(rbd_url, parses_plain_four_parts)
{
	fs_rbd_url u;
	const char *s = "rbd://" FSID "/images/1234-abcd/snap";
	cr_assert_eq(fs_rbd_url_parse(&u, s, strlen(s)), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(u.fsid, FSID);
	cr_assert_str_eq(u.pool, "images");
	cr_assert_str_eq(u.image, "1234-abcd");
	cr_assert_str_eq(u.snap, "snap");
	fs_rbd_url_free(&u);
	cr_assert_null(u.fsid);
}

Test(rbd_url, decodes_percent_escapes)
{
	fs_rbd_url u;
	const char *s = "rbd://" FSID "/my%2Fpool/im%20age/sn%40p%7e";
	cr_assert_eq(fs_rbd_url_parse(&u, s, strlen(s)), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(u.pool, "my/pool");
	cr_assert_str_eq(u.image, "im age");
	cr_assert_str_eq(u.snap, "sn@p~");
	fs_rbd_url_free(&u);
}

Test(rbd_url, uppercase_fsid_kept_and_compared_case_insensitively)
{
	fs_rbd_url u;
	const char *s = "rbd://0F7A3C2E-1B2D-4E5F-8A9B-0C1D2E3F4A5B/p/i/s";
	cr_assert_eq(fs_rbd_url_parse(&u, s, strlen(s)), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(u.fsid, "0F7A3C2E-1B2D-4E5F-8A9B-0C1D2E3F4A5B");
	cr_assert(fs_fsid_equal(u.fsid, FSID));
	cr_assert_not(fs_fsid_equal(u.fsid, NULL));
	fs_rbd_url_free(&u);
}

Test(rbd_url, uses_len_not_nul)
{
	fs_rbd_url u;
	const char *s = "rbd://" FSID "/p/i/snapXXXX";
	size_t len = strlen(s) - 4;
	cr_assert_eq(fs_rbd_url_parse(&u, s, len), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(u.snap, "snap");
	fs_rbd_url_free(&u);
}

struct bad_case {
	const char *url;
	const char *expect;   /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	{ "", "does not start with rbd://" },
	{ "http://x/y", "does not start with rbd://" },
	{ "RBD://" FSID "/p/i/s", "does not start with rbd://" },
	{ "rbd:/" FSID "/p/i/s", "does not start with rbd://" },
	{ "rbd://", "legacy form" },
	{ "rbd://image-only", "legacy form" },
	{ "rbd://" FSID "/p", "2 parts" },
	{ "rbd://" FSID "/p/i", "3 parts" },
	{ "rbd://" FSID "/p/i/s/x", "5 parts" },
	{ "rbd://" FSID "/p/i/s/", "5 parts" },
	{ "rbd://" FSID "/a/b/c/d/e/f", "7 parts" },
	{ "rbd://" FSID "//i/s", "pool is empty" },
	{ "rbd://" FSID "/p//s", "image is empty" },
	{ "rbd://" FSID "/p/i/", "snapshot is empty" },
	{ "rbd:///p/i/s", "fsid is empty" },
	{ "rbd://not-a-uuid/p/i/s", "fsid is not a UUID" },
	{ "rbd://0f7a3c2e1b2d4e5f8a9b0c1d2e3f4a5b/p/i/s", "fsid is not a UUID" },
	{ "rbd://0f7a3c2e-1b2d-4e5f-8a9b-0c1d2e3f4a5g/p/i/s", "fsid is not a UUID" },
	{ "rbd://0f7a3c2e-1b2d-4e5f-8a9b-0c1d2e3f4a5b0/p/i/s", "fsid is not a UUID" },
	{ "rbd://" FSID "/p%/i/s", "pool malformed %-escape" },
	{ "rbd://" FSID "/p%2/i/s", "pool malformed %-escape" },
	{ "rbd://" FSID "/p/i%zz/s", "image malformed %-escape" },
	{ "rbd://" FSID "/p/i/s%0", "snapshot malformed %-escape" },
	{ "rbd://" FSID "/p/i%00x/s", "image %00" },
	{ "rbd://" FSID "/p/i x/s", "space or control" },
	{ "rbd://" FSID "/p/i\n/s", "space or control" },
	{ "rbd://" FSID "/p/i/s\r", "space or control" },
};

Test(rbd_url, rejects_malformed)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		fs_rbd_url u;
		const char *s = bad_cases[i].url;
		int rc = fs_rbd_url_parse(&u, s, strlen(s));
		cr_assert_eq(rc, FASTSNAP_EINVAL, "case %zu '%s': rc %d", i, s, rc);
		cr_assert_null(u.fsid, "case %zu", i);
		cr_assert_null(u.pool, "case %zu", i);
		const char *m = fastsnap_error_last();
		cr_assert(strstr(m, bad_cases[i].expect), "case %zu '%s': message '%s' lacks '%s'", i, s, m,
			bad_cases[i].expect);
		cr_assert(strstr(m, "rbd URL"), "case %zu: message '%s'", i, m);
	}
}

Test(rbd_url, rejects_embedded_nul_and_null)
{
	fs_rbd_url u;
	const char s[] = "rbd://" FSID "/p/i\0x/s";
	cr_assert_eq(fs_rbd_url_parse(&u, s, sizeof(s) - 1), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "NUL"), "%s", fastsnap_error_last());
	cr_assert_eq(fs_rbd_url_parse(&u, NULL, 0), FASTSNAP_EINVAL);
}

Test(rbd_url, message_is_bounded_and_printable)
{
	char big[2000];
	memcpy(big, "rbd://", 6);
	memset(big + 6, '\x07', sizeof(big) - 6);
	fs_rbd_url u;
	cr_assert_eq(fs_rbd_url_parse(&u, big, sizeof(big)), FASTSNAP_EINVAL);
	const char *m = fastsnap_error_last();
	cr_assert_lt(strlen(m), 400, "%s", m);
	cr_assert_null(strchr(m, '\x07'));
	cr_assert(strstr(m, "..."), "%s", m);
}

Test(rbd_url, formats_with_glance_quoting)
{
	char *s = fs_rbd_url_format(FSID, "images", "0a1b-2c", "snap");
	cr_assert_str_eq(s, "rbd://" FSID "/images/0a1b-2c/snap");
	free(s);
	s = fs_rbd_url_format(FSID, "a/b", "x y@z", "s:n~_.-");
	/* like urllib.parse.quote(x, ''): only ALPHA DIGIT _.-~ stay */
	cr_assert_str_eq(s, "rbd://" FSID "/a%2Fb/x%20y%40z/s%3An~_.-");
	free(s);
	s = fs_rbd_url_format(FSID, "p", "\xc3\xa9", "s");
	cr_assert_str_eq(s, "rbd://" FSID "/p/%C3%A9/s");
	free(s);
	cr_assert_null(fs_rbd_url_format(NULL, "p", "i", "s"));
	cr_assert_null(fs_rbd_url_format(FSID, "", "i", "s"));
	cr_assert_null(fs_rbd_url_format(FSID, "p", "i", NULL));
}

Test(rbd_url, round_trip)
{
	static const char *const parts[][3] = {
		{ "images", "abc", "snap" },
		{ "a/b/c", "/lead", "trail/" },
		{ "100%", "%2F", "per%cent" },
		{ "sp ace", "tab\tx", "nl\nx" },
		{ "\xe6\x97\xa5\xe6\x9c\xac", "!*'();:@&=+$,?#[]", "~._-" },
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *s = fs_rbd_url_format(FSID, parts[i][0], parts[i][1], parts[i][2]);
		cr_assert_not_null(s);
		cr_assert_null(strchr(s + 6 + 36 + 1, ' '), "case %zu: %s", i, s);
		fs_rbd_url u;
		cr_assert_eq(fs_rbd_url_parse(&u, s, strlen(s)), 0, "case %zu: %s: %s", i, s,
			fastsnap_error_last());
		cr_assert_str_eq(u.fsid, FSID);
		cr_assert_str_eq(u.pool, parts[i][0], "case %zu", i);
		cr_assert_str_eq(u.image, parts[i][1], "case %zu", i);
		cr_assert_str_eq(u.snap, parts[i][2], "case %zu", i);
		fs_rbd_url_free(&u);
		free(s);
	}
}

Test(rbd_url, is_uuid)
{
	cr_assert(fs_is_uuid(FSID, 36));
	cr_assert_not(fs_is_uuid(FSID, 35));
	cr_assert_not(fs_is_uuid("0f7a3c2e-1b2d-4e5f-8a9b_0c1d2e3f4a5b", 36));
	cr_assert_not(fs_is_uuid(NULL, 36));
}

Test(rbd_spec, parses_pool_image)
{
	fs_rbd_spec s;
	cr_assert_eq(fs_rbd_spec_parse(&s, "vms/abc_disk", 12), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.pool, "vms");
	cr_assert_str_eq(s.image, "abc_disk");
	fs_rbd_spec_free(&s);
	cr_assert_null(s.pool);
}

Test(rbd_spec, rejects_bad_specs)
{
	static const struct bad_case cases[] = {
		{ "", "expected POOL/IMAGE" },
		{ "vms", "has no '/'" },
		{ "/disk", "empty pool" },
		{ "vms/", "empty image" },
		{ "vms/ns/disk", "more than one '/'" },
		{ "vms/disk@snap", "'@'" },
		{ "vms/di\nsk", "control character" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fs_rbd_spec s;
		cr_assert_eq(fs_rbd_spec_parse(&s, cases[i].url, strlen(cases[i].url)), FASTSNAP_EINVAL,
			"case %zu", i);
		cr_assert_null(s.pool);
		cr_assert(strstr(fastsnap_error_last(), cases[i].expect), "case %zu: %s", i,
			fastsnap_error_last());
	}
}
