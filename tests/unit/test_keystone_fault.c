/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_keystone_fault.c: Keystone auth (clients/auth.c) against
 * tests/support/fault_server.py: password and application credential, the
 * catalog's interface and region, re-authentication after a 401, an
 * explicit Glance URL, and identity settings that cannot work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fault_suite.h"

TestSuite(keystone_fault, .init = fs_test_fault_suite_init, .fini = fs_test_fault_suite_fini,
	.timeout = 60);

/* ---- Keystone ---- */

static void keystone_settings(fs_settings *s, const char *tag)
{
	char *url = fs_test_fault_url(&fs_test_srv, "keystone", tag);
	fs_test_settings(s, NULL, 0);
	s->os_auth_url = url;
}

Test(keystone_fault, keystone_password_and_reauth)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	keystone_settings(&s, tag);
	s.os_username = strdup("demo");
	s.os_password = strdup("s3cret-pw");
	s.os_project_name = strdup("admin");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0, "%s", fastsnap_error_last());
	fs_image *img;
	/* token 1 is refused by the fake Glance (401), token 2 is taken */
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	cr_assert_eq(fs_test_fault_state_int("keystone", tag, "token_requests"), 2);
	cr_assert_eq(fs_test_fault_state_int("authglance", tag, "count"), 2);
	char want[256];
	snprintf(want, sizeof(want), "%s/s/authglance/%s", fs_test_srv.base, tag);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	/* token 2 keeps working: no more token requests */
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0);
	fs_image_free(img);
	cr_assert_eq(fs_test_fault_state_int("keystone", tag, "token_requests"), 2);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(keystone_fault, keystone_interface_region_and_appcred)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	keystone_settings(&s, tag);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	s.os_interface = strdup("internal");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0, "%s", fastsnap_error_last());
	char want[256];
	snprintf(want, sizeof(want), "%s/s/glance/%s-internal", fs_test_srv.base, tag);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);

	FS_TEST_TAG(tag2);
	keystone_settings(&s, tag2);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	s.os_region_name = strdup("RegionTwo");
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	snprintf(want, sizeof(want), "%s/s/glance/%s-r2", fs_test_srv.base, tag2);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	fs_glance_free(g);
	fs_settings_free(&s);

	FS_TEST_TAG(tag3);
	keystone_settings(&s, tag3);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	s.os_interface = strdup("admin");
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	cr_assert_null(fs_glance_endpoint(g));
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_ENOTFOUND);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(keystone_fault, keystone_explicit_glance_url_wins)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	keystone_settings(&s, tag);
	s.os_username = strdup("demo");
	s.os_password = strdup("s3cret-pw");
	s.glance_url = fs_test_fault_url(&fs_test_srv, "glance", tag);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	cr_assert_eq(fs_test_fault_state_int("keystone", tag, "token_requests"), 1);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(keystone_fault, config_errors)
{
	fs_settings s;
	fs_test_settings(&s, NULL, 0);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), FASTSNAP_ECONFIG);
	s.os_auth_url = strdup("http://127.0.0.1:1");
	s.os_username = strdup("u");
	cr_assert_eq(fs_glance_new(&g, &s, NULL), FASTSNAP_ECONFIG);
	fs_settings_free(&s);
}
