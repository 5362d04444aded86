/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_bounded.c: issue 17's bounded waits and retries that
 * cannot duplicate, against tests/support/fault_server.py: one Glance or
 * Keystone call that gets no answer ends at its deadline (retries
 * included) with an error naming the deadline; an upload is not cut by it;
 * an image creation whose answer was lost is retried with the same
 * client-chosen id, and the 409 to the retry returns the image the first
 *  try made (one image, not two); the deadline comes from the config file or
 * the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "clients/glance.h"
#include "core/rbd_url.h"
#include "fault_suite.h"

TestSuite(bounded, .init = fs_test_fault_suite_init, .fini = fs_test_fault_suite_fini,
	.timeout = 60);

static fs_glance *client(fs_settings *s, const char *scen, const char *tag, int retries,
	long deadline_s)
{
	char *url = fs_test_fault_url(&fs_test_srv, scen, tag);
	fs_test_settings(s, url, retries);
	free(url);
	s->call_deadline_s = deadline_s;
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, s, NULL), 0, "%s", fastsnap_error_last());
	return g;
}

/* ---- bounded waits ---- */

Test(bounded, silent_glance_ends_at_the_deadline)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	/* low-speed limit 2 s per try (curl checks it once a second, so a
	 * try ends after 2 to 3 s), 10 retries allowed: only the 5 s deadline
	 * can end this call */
	fs_glance *g = client(&s, "hang", tag, 10, 5);
	fs_store_set st;
	double t0 = fs_now();
	int rc = fs_glance_stores(g, &st);
	double dt = fs_now() - t0;
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "Glance GET /v2/info/stores: no answer within "
		"the 5 s call deadline"), "%s", fastsnap_error_last());
	cr_assert(dt >= 4.9 && dt < 7.0, "took %.2f s", dt);
	/* the first try ended by the low-speed limit, a retry used the rest */
	cr_assert_geq(fs_test_fault_state_int("hang", tag, "count"), 2);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(bounded, post_that_cannot_retry_ends_at_the_deadline)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "hang", tag, 0, 1);
	cJSON *ops = cJSON_CreateArray();
	double t0 = fs_now();
	int rc = fs_glance_image_patch(g, NULL, "abc", ops);
	double dt = fs_now() - t0;
	cJSON_Delete(ops);
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "1 s call deadline"), "%s", fastsnap_error_last());
	cr_assert(dt >= 0.9 && dt < 3.0, "took %.2f s", dt);
	cr_assert_eq(fs_test_fault_state_int("hang", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(bounded, silent_keystone_ends_at_the_deadline)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_test_settings(&s, NULL, 5);
	s.os_auth_url = fs_test_fault_url(&fs_test_srv, "hang", tag);
	s.os_username = strdup("demo");
	s.os_password = strdup("s3cret-pw");
	s.call_deadline_s = 5;
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0, "%s", fastsnap_error_last());
	fs_store_set st;
	double t0 = fs_now();
	int rc = fs_glance_stores(g, &st);
	double dt = fs_now() - t0;
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "Keystone POST /v3/auth/tokens: no answer "
		"within the 5 s call deadline"), "%s", fastsnap_error_last());
	cr_assert_null(strstr(fastsnap_error_last(), "s3cret-pw"));
	cr_assert(dt >= 4.9 && dt < 7.0, "took %.2f s", dt);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(bounded, keystone_503_is_retried)
{
	/* asking for a token twice is harmless: a 503 is retried */
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_test_settings(&s, NULL, 2);
	s.os_auth_url = fs_test_fault_url(&fs_test_srv, "ks503x1", tag);
	s.os_username = strdup("demo");
	s.os_password = strdup("s3cret-pw");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0, "%s", fastsnap_error_last());
	cr_assert_not_null(fs_glance_endpoint(g), "%s", fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("ks503x1", tag, "count"), 2);
	cr_assert_eq(fs_test_fault_state_int("ks503x1", tag, "token_requests"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* A reader slower than the deadline: 4 chunks, 0.4 s apart. */
typedef struct {
	int chunks;
} slow_reader;

static ssize_t slow_read(void *ctx, char *buf, size_t len)
{
	slow_reader *r = ctx;
	if (r->chunks == 4)
		return 0;
	usleep(400000);
	size_t n = len < 1024 ? len : 1024;
	memset(buf, 'x', n);
	r->chunks++;
	return (ssize_t)n;
}

Test(bounded, upload_is_not_cut_by_the_deadline)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 0, 1);
	slow_reader r = { 0 };
	fs_upload_req u = { .length = 4096, .read = slow_read, .ctx = &r };
	double t0 = fs_now();
	cr_assert_eq(fs_glance_upload(g, "img1", &u), 0, "%s", fastsnap_error_last());
	cr_assert(fs_now() - t0 > 1.0);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "body_len"), 4096);
	fs_glance_free(g);
	fs_settings_free(&s);
}

static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(bounded, deadline_from_the_config_file_and_the_api)
{
	char ok[] = "/tmp/fastsnap-deadline-XXXXXX", bad[] = "/tmp/fastsnap-deadline-XXXXXX";
	write_file(ok, "[fastsnap]\ncall_deadline_s = 7\n");
	write_file(bad, "[fastsnap]\ncall_deadline_s = 0\n");
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.glance_url = "http://127.0.0.1:1";
	fs_settings s;
	o.config_file = ok;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.call_deadline_s, 7);
	fs_settings_free(&s);
	o.call_deadline_s = 30;          /* the API's field wins */
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.call_deadline_s, 30);
	fs_settings_free(&s);
	o.config_file = NULL;
	o.call_deadline_s = 0;           /* default */
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.call_deadline_s, 120);
	fs_settings_free(&s);
	o.config_file = bad;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), ":2: [fastsnap] call_deadline_s must be an "
		"integer from 1 to 86400"), "%s", fastsnap_error_last());
	o.config_file = NULL;
	o.call_deadline_s = -1;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	unlink(ok);
	unlink(bad);
}

/* [fastsnap] glance_cache_s: 0 keeps nothing, the range is checked, the
 * environment (with use_env) beats the file, the API's field beats both. */
Test(bounded, glance_cache_from_the_config_file_env_and_the_api)
{
	char ok[] = "/tmp/fastsnap-gcache-XXXXXX", off[] = "/tmp/fastsnap-gcache-XXXXXX",
		bad[] = "/tmp/fastsnap-gcache-XXXXXX";
	write_file(ok, "[fastsnap]\nglance_cache_s = 12\n");
	write_file(off, "[fastsnap]\nglance_cache_s = 0\n");
	write_file(bad, "[fastsnap]\nglance_cache_s = -3\n");
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.glance_url = "http://127.0.0.1:1";
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 30, "the default");
	fs_settings_free(&s);
	o.config_file = ok;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 12);
	fs_settings_free(&s);
	o.config_file = off;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 0);
	fs_settings_free(&s);
	o.use_env = 1;
	setenv("FASTSNAP_GLANCE_CACHE_S", "5", 1);
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 5);
	fs_settings_free(&s);
	o.glance_cache_s = 40;           /* the API's field wins */
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 40);
	fs_settings_free(&s);
	unsetenv("FASTSNAP_GLANCE_CACHE_S");
	o.use_env = 0;
	o.glance_cache_s = 0;
	o.config_file = bad;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), "[fastsnap] glance_cache_s must be an integer "
		"from 0 to 86400"), "%s", fastsnap_error_last());
	unlink(ok);
	unlink(off);
	unlink(bad);
}

/* ---- retries that cannot duplicate ---- */

Test(bounded, lost_create_answer_is_retried_without_a_second_image)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "lostx1", tag, 2, 0);
	fs_image *img = NULL;
	fs_image_create_req req = { .name = "fastsnap-lost-answer" };
	cr_assert_eq(fs_glance_image_create(g, &img, &req), 0, "%s", fastsnap_error_last());
	cr_assert(fs_is_uuid(img->id, strlen(img->id)), "id %s", img->id);
	cr_assert_str_eq(img->name, "fastsnap-lost-answer");
	/* POST (carried out, answer lost), POST again (409), GET */
	cr_assert_eq(fs_test_fault_state_int("lostx1", tag, "count"), 3);
	cr_assert_eq(fs_test_fault_state_int("lostx1", tag, "creates"), 1);
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(bounded, create_sends_a_fresh_client_id)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 0, 0);
	fs_image *a = NULL, *b = NULL;
	fs_image_create_req req = { .name = "x" };
	cr_assert_eq(fs_glance_image_create(g, &a, &req), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_glance_image_create(g, &b, &req), 0, "%s", fastsnap_error_last());
	cr_assert(fs_is_uuid(a->id, 36) && a->id[14] == '4', "%s", a->id);
	cr_assert_str_neq(a->id, b->id);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "creates"), 2);
	/* the same id on a first try is a real conflict */
	fs_image_create_req again = { .id = a->id, .name = "x" };
	fs_image *c = NULL;
	cr_assert_eq(fs_glance_image_create(g, &c, &again), FASTSNAP_ECONFLICT);
	cr_assert(strstr(fastsnap_error_last(), "409"), "%s", fastsnap_error_last());
	cr_assert_null(c);
	fs_image_free(a);
	fs_image_free(b);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* The engine draws the id itself (id_random): a 409 even on what fastsnap
 * counts as its first try (libcurl resends a request by itself when a reused
 * connection dies before the answer) is its own earlier try when the name
 * matches, and a conflict when it does not. */
Test(bounded, a_409_to_a_random_id_the_caller_drew_is_the_first_try)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 0, 0);
	fs_image *a = NULL, *b = NULL, *c = NULL;
	fs_image_create_req req = { .name = "x" };
	cr_assert_eq(fs_glance_image_create(g, &a, &req), 0, "%s", fastsnap_error_last());
	fs_image_create_req mine = { .id = a->id, .id_random = 1, .name = "x" };
	cr_assert_eq(fs_glance_image_create(g, &b, &mine), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(b->id, a->id);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "creates"), 1);
	fs_image_create_req other = { .id = a->id, .id_random = 1, .name = "y" };
	cr_assert_eq(fs_glance_image_create(g, &c, &other), FASTSNAP_ECONFLICT);
	cr_assert(strstr(fastsnap_error_last(), "taken by another image"), "%s",
		fastsnap_error_last());
	cr_assert_null(c);
	fs_image_free(a);
	fs_image_free(b);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(bounded, lost_create_answer_without_retries_fails_once)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "lostx1", tag, 0, 0);
	fs_image *img = NULL;
	fs_image_create_req req = { .name = "y" };
	int rc = fs_glance_image_create(g, &img, &req);
	cr_assert_eq(rc, FASTSNAP_ETRANSPORT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("lostx1", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}
