/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_redact.c: secrets (tokens, passwords, application
 * credential secrets, sensitive header values) never reach a log line or
 * an error message, at DEBUG verbosity too; header CR/LF is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fault_suite.h"
#include "clients/glance.h"
#include "core/header.h"
#include "clients/http.h"

Test(redact, header_values)
{
	char out[256];
	fs_http_redact_header(out, sizeof(out), "X-Auth-Token: gAAAAAB-secret");
	cr_assert_str_eq(out, "X-Auth-Token: ***");
	fs_http_redact_header(out, sizeof(out), "X-Subject-Token: abc");
	cr_assert_str_eq(out, "X-Subject-Token: ***");
	fs_http_redact_header(out, sizeof(out), "Authorization: Basic Zm9v");
	cr_assert_str_eq(out, "Authorization: ***");
	fs_http_redact_header(out, sizeof(out), "X-Service-Password: pw");
	cr_assert_str_eq(out, "X-Service-Password: ***");
	fs_http_redact_header(out, sizeof(out), "X-App-Secret: s");
	cr_assert_str_eq(out, "X-App-Secret: ***");
	fs_http_redact_header(out, sizeof(out), "X-Roles: admin");
	cr_assert_str_eq(out, "X-Roles: admin");
	fs_http_redact_header(out, sizeof(out), "x-image-meta-store: fast");
	cr_assert_str_eq(out, "x-image-meta-store: fast");
}

Test(redact, header_crlf_refused)
{
	/* the one validator (core/header.c), as the HTTP layer calls it */
#define HCHECK(h) fs_header_check(h, strlen(h), "HTTP header", NULL, NULL, NULL)
	cr_assert_eq(HCHECK("X-Roles: admin"), 0);
	cr_assert_eq(HCHECK("X-Auth-Token: abc\r\nX-Evil: 1"), FASTSNAP_EINVAL);
	cr_assert_null(strstr(fastsnap_error_last(), "abc"), "%s", fastsnap_error_last());
	/* a secret-looking name is never shown (settings' rule, now the only one) */
	cr_assert(strstr(fastsnap_error_last(), "header '<redacted>' has CR or LF"), "%s",
		fastsnap_error_last());
	cr_assert_eq(HCHECK("X-Roles: admin\r\nX-Evil: 1"), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "X-Roles"), "%s", fastsnap_error_last());
	cr_assert_eq(HCHECK("X-A: b\nc"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK("X-A: b\r"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK("NoColon"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK(": v"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK("Bad Name: v"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK("X-A: b\x01" "c"), FASTSNAP_EINVAL);
	cr_assert_eq(HCHECK("X-A:  "), FASTSNAP_EINVAL);
#undef HCHECK

	/* fs_glance_new refuses a bad header from the settings */
	fs_settings s;
	fs_test_settings(&s, "http://127.0.0.1:1", 0);
	fs_strv_push(&s.glance_headers, "X-Roles: admin\r\nX-Injected: yes");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), FASTSNAP_EINVAL);
	fs_settings_free(&s);
}

/* ---- log capture ---- */

typedef struct {
	fs_buf all;
	int lines;
} capture;

static void on_log(fastsnap_log_level lvl, const char *msg, void *payload)
{
	capture *c = payload;
	fs_buf_printf(&c->all, "%d %s\n", (int)lvl, msg);
	c->lines++;
}

static const char *const SECRETS[] = {
	"tok-static-SECRET-4711", "s3cret-pw", "ac-s3cret", "hdr-secret-value-99",
};

static void assert_clean(const char *where, const char *text)
{
	for (size_t i = 0; i < sizeof(SECRETS) / sizeof(SECRETS[0]); i++)
		cr_assert_null(strstr(text, SECRETS[i]), "%s contains secret '%s':\n%s", where,
			SECRETS[i], text);
}


Test(redact, static_token_and_header_never_logged, .init = fs_test_fault_suite_init,
	.fini = fs_test_fault_suite_fini, .timeout = 60)
{
	char tag[96];
	fs_test_unique_tag(tag, sizeof(tag), "redact");
	fs_settings s;
	char *url = fs_test_fault_url(&fs_test_srv, "echotoken", tag);
	fs_test_settings(&s, url, 1);
	free(url);
	s.os_token = strdup(SECRETS[0]);
	fs_strv_push(&s.glance_headers, "X-Api-Secret: hdr-secret-value-99");
	fs_strv_push(&s.glance_headers, "X-Roles: admin");
	capture c = { FS_BUF_INIT, 0 };
	fs_logger lg = { on_log, &c };
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, &lg), 0);
	fs_image *img;
	/* the server echoes the token and the secret header into its error */
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_EBADREQUEST);
	const char *msg = fastsnap_error_last();
	assert_clean("error message", msg);
	cr_assert(strstr(msg, "bad token *** and header ***"), "%s", msg);
	cr_assert(c.lines >= 3, "DEBUG logging produced %d lines", c.lines);
	cr_assert(strstr(fs_buf_cstr(&c.all), "X-Auth-Token: ***"), "%s", fs_buf_cstr(&c.all));
	cr_assert(strstr(fs_buf_cstr(&c.all), "X-Roles: admin"), "%s", fs_buf_cstr(&c.all));
	cr_assert(strstr(fs_buf_cstr(&c.all), "-> 400"), "%s", fs_buf_cstr(&c.all));
	assert_clean("log", fs_buf_cstr(&c.all));
	fs_glance_free(g);
	fs_settings_free(&s);
	fs_buf_free(&c.all);
}

Test(redact, keystone_secrets_never_logged, .init = fs_test_fault_suite_init,
	.fini = fs_test_fault_suite_fini, .timeout = 60)
{
	capture c = { FS_BUF_INIT, 0 };
	fs_logger lg = { on_log, &c };
	const char *user_pw[][2] = { { "demo", "s3cret-pw" }, { "demo", "wrong" } };
	for (int k = 0; k < 2; k++) {
		char tag[96];
		fs_test_unique_tag(tag, sizeof(tag), "redactks");
		fs_settings s;
		fs_test_settings(&s, NULL, 0);
		s.os_auth_url = fs_test_fault_url(&fs_test_srv, "keystone", tag);
		s.os_username = strdup(user_pw[k][0]);
		s.os_password = strdup(user_pw[k][1]);
		fs_glance *g;
		cr_assert_eq(fs_glance_new(&g, &s, &lg), 0);
		fs_image *img;
		int rc = fs_glance_image_get(g, &img, "abc");
		if (k == 0) {
			cr_assert_eq(rc, 0, "%s", fastsnap_error_last());
			fs_image_free(img);
		} else {
			cr_assert_eq(rc, FASTSNAP_EUNAUTHORIZED);
			cr_assert(strstr(fastsnap_error_last(), "Keystone POST /v3/auth/tokens: 401 The "
				"request you have made requires authentication."), "%s",
				fastsnap_error_last());
			cr_assert_null(strstr(fastsnap_error_last(), "wrong"));
		}
		assert_clean("error message", fastsnap_error_last());
		/* issued tokens are secrets too */
		char tok[160];
		snprintf(tok, sizeof(tok), "tok-%s-", tag);
		cr_assert_null(strstr(fs_buf_cstr(&c.all), tok), "token in log:\n%s",
			fs_buf_cstr(&c.all));
		fs_glance_free(g);
		fs_settings_free(&s);
	}
	/* application credential */
	char tag[96];
	fs_test_unique_tag(tag, sizeof(tag), "redactac");
	fs_settings s;
	fs_test_settings(&s, NULL, 0);
	s.os_auth_url = fs_test_fault_url(&fs_test_srv, "keystone", tag);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, &lg), 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);
	cr_assert(c.lines > 5);
	assert_clean("log", fs_buf_cstr(&c.all));
	cr_assert(strstr(fs_buf_cstr(&c.all), "wrong") == NULL);
	fs_buf_free(&c.all);
}
