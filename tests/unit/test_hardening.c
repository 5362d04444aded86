/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_hardening.c: regression tests for the bugs the fuzzers
 * found (docs/reliability.md lists them); each input is also kept as a
 * seed in tests/fuzz/corpus/.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "clients/error_body.h"
#include "clients/http.h"
#include "core/secret.h"

/* fuzz_error_body: a long text body was cut at 1024 bytes right after a
 * blank, leaving a trailing space, and could be cut inside a UTF-8
 * character; invalid UTF-8 from the server went into messages (and the
 * --json output) as is. */
Test(hardening, error_message_is_capped_clean_utf8)
{
	char body[1100];
	memset(body, 'a', sizeof(body));
	body[1023] = ' ';                      /* the cap falls right after it */
	char *m = fs_error_body_message(body, sizeof(body));
	cr_assert_not_null(m);
	cr_assert_eq(strlen(m), 1023, "%zu", strlen(m));
	cr_assert_neq(m[strlen(m) - 1], ' ');
	free(m);

	/* "é" (2 bytes) straddling the cap: cut before it */
	memset(body, 'b', sizeof(body));
	body[1023] = (char)0xc3;
	body[1024] = (char)0xa9;
	m = fs_error_body_message(body, sizeof(body));
	cr_assert_eq(strlen(m), 1023, "%zu", strlen(m));
	free(m);

	/* invalid bytes become '?', valid UTF-8 stays, DEL is a blank */
	const char bad[] = "x\xff\xc3\xa9y\x7fz\xe0\x80\x80";
	m = fs_error_body_message(bad, sizeof(bad) - 1);
	cr_assert_str_eq(m, "x?\xc3\xa9y z???");
	free(m);

	/* a body of only invalid bytes is capped too */
	memset(body, 0xff, sizeof(body));
	m = fs_error_body_message(body, sizeof(body));
	cr_assert_eq(strlen(m), 1024, "%zu", strlen(m));
	free(m);

	/* the same rules for a JSON message */
	const char js[] = "{\"message\": \"bad \\u00e9 \xff end \"}";
	m = fs_error_body_message(js, sizeof(js) - 1);
	cr_assert_str_eq(m, "bad \xc3\xa9 ? end");
	free(m);
}

/* Secrets are wiped, not only freed (issue 17): the helper every free of a
 * token, password or secret goes through. */
Test(hardening, secret_wipe_zeroes_the_bytes)
{
	char buf[] = "s3cret-pw";
	fs_secret_wipe(buf);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0, "byte %zu", i);
	fs_secret_wipe(NULL);
	fs_strv v = FS_STRV_INIT;
	cr_assert_eq(fs_strv_push(&v, "X-Auth-Token: tok"), 0);
	fs_secret_strv_free(&v);
	cr_assert_eq(v.n, 0);
	cr_assert_null(v.v);
}
