/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_http_fault.c: the HTTP layer under the Glance client
 * against tests/support/fault_server.py on a loopback port: retries (503
 * then success, counted), POST create retried with its id, no retry of an
 * upload that cannot rewind, connection reset, stall past the low-speed
 * limit, garbage/truncated/oversized bodies, headers sent, a DELETE's 409.
 * The location calls are in test_glance_location.c, the look-ups in
 * test_glance_lookups.c, Keystone in test_keystone_fault.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "fault_suite.h"

TestSuite(http_fault, .init = fs_test_fault_suite_init, .fini = fs_test_fault_suite_fini,
	.timeout = 60);

Test(http_fault, retry_503_then_success)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail503x2", tag, 3);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->id, "abc");
	cr_assert_eq(fs_glance_last_status(g), 200);
	fs_image_free(img);
	cr_assert_eq(fs_test_fault_state_int("fail503x2", tag, "count"), 3);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, retry_503_gives_up)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail503x9", tag, 2);
	fs_image *img;
	int rc = fs_glance_image_get(g, &img, "abc");
	cr_assert_eq(rc, FASTSNAP_EUNAVAILABLE);
	cr_assert(strstr(fastsnap_error_last(), "Glance GET /v2/images/abc: 503 injected 503"),
		"%s", fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("fail503x9", tag, "count"), 3);
	cr_assert_eq(fs_glance_last_status(g), 503);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, no_retry_on_500)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail500x1", tag, 3);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_test_fault_state_int("fail500x1", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, post_create_retried_with_its_id)
{
	/* issue 17: the image id is chosen by the client, so POST /v2/images
	 * is retried like an idempotent call (test_bounded.c covers the lost
	 * answer and the 409) */
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail503x1", tag, 3);
	fs_image *img;
	fs_image_create_req req = { .name = "x" };
	cr_assert_eq(fs_glance_image_create(g, &img, &req), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->status, "queued");
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "count"), 2);
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "creates"), 1);
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);
	/* without retries, the 503 is the answer */
	FS_TEST_TAG(tag2);
	g = fs_test_fault_client(&s, "fail503x1", tag2, 0);
	cr_assert_eq(fs_glance_image_create(g, &img, &req), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag2, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, connection_reset_is_retried)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "resetx1", tag, 2);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	cr_assert_eq(fs_test_fault_state_int("resetx1", tag, "count"), 2);
	fs_glance_free(g);
	fs_settings_free(&s);

	FS_TEST_TAG(tag2);
	g = fs_test_fault_client(&s, "resetx9", tag2, 0);
	int rc = fs_glance_image_get(g, &img, "abc");
	cr_assert_eq(rc, FASTSNAP_ETRANSPORT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "Glance GET /v2/images/abc"), "%s",
		fastsnap_error_last());
	cr_assert_eq(fs_glance_last_status(g), 0);
	cr_assert_eq(fs_test_fault_state_int("resetx9", tag2, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, stall_times_out)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "stall", tag, 0);
	fs_image *img;
	double t0 = fs_now();
	int rc = fs_glance_image_get(g, &img, "abc");
	double dt = fs_now() - t0;
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(dt >= 1.0 && dt < 7.0, "took %.2f s", dt);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, connect_refused)
{
	fs_settings s;
	fs_test_settings(&s, "http://127.0.0.1:1", 0);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_ETRANSPORT);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, bad_bodies)
{
	const char *scen[] = { "garbage", "truncated", "wrongtype" };
	for (size_t i = 0; i < 3; i++) {
		FS_TEST_TAG(tag);
		fs_settings s;
		fs_glance *g = fs_test_fault_client(&s, scen[i], tag, 0);
		fs_image *img = (fs_image *)1;
		int rc = fs_glance_image_get(g, &img, "abc");
		cr_assert_eq(rc, FASTSNAP_EPROTOCOL, "%s: rc %d", scen[i], rc);
		cr_assert_null(img);
		fs_store_set st;
		cr_assert_eq(fs_glance_stores(g, &st), FASTSNAP_EPROTOCOL, "%s", scen[i]);
		fs_glance_free(g);
		fs_settings_free(&s);
	}
}

Test(http_fault, oversized_body)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "big", tag, 2);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_ETOOLARGE);
	cr_assert(strstr(fastsnap_error_last(), "cap"), "%s", fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("big", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, html_error_message)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "htmlerr", tag, 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_ENOTFOUND);
	cr_assert_str_eq(fastsnap_error_last(), "Glance GET /v2/images/abc: 404 The resource "
		"could not be found. No image found with ID abc");
	cr_assert_eq(fs_glance_last_status(g), 404);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, extra_headers_sent)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	char *url = fs_test_fault_url(&fs_test_srv, "glance", tag);
	fs_test_settings(&s, url, 0);
	free(url);
	fs_strv_push(&s.glance_headers, "X-Identity-Status: Confirmed");
	fs_strv_push(&s.glance_headers, "X-Roles: admin,member");
	s.os_token = strdup("tok-static");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	long st;
	fs_buf b = FS_BUF_INIT;
	cr_assert_eq(fs_glance_raw(g, &st, &b, "GET", "/echo", NULL, 0, NULL, 0), 0);
	cr_assert_eq(st, 200);
	cJSON *j = cJSON_Parse(fs_buf_cstr(&b));
	const cJSON *h = cJSON_GetObjectItem(j, "headers");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "X-Identity-Status")->valuestring, "Confirmed");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "X-Roles")->valuestring, "admin,member");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "X-Auth-Token")->valuestring, "tok-static");
	cJSON_Delete(j);
	fs_buf_free(&b);
	/* a per-request header with CR/LF is refused by the HTTP layer */
	const char *bad[] = { "X-Foo: a\r\nX-Injected: b" };
	cr_assert_eq(fs_glance_raw(g, &st, NULL, "GET", "/echo", bad, 1, NULL, 0),
		FASTSNAP_EINVAL);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* ---- upload ---- */

typedef struct {
	uint64_t len, pos;
	uint64_t state;
	int rewinds;
	int fail_at;              /* fail the read when pos >= fail_at (if > 0) */
} gen_ctx;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static ssize_t gen_read(void *ctx, char *buf, size_t len)
{
	gen_ctx *c = ctx;
	if (c->fail_at > 0 && c->pos >= (uint64_t)c->fail_at)
		return fs_err(FASTSNAP_EIO, "test reader failed on purpose at %llu",
			(unsigned long long)c->pos);
	size_t n = 0;
	while (n < len && c->pos < c->len) {
		buf[n++] = (char)(xorshift(&c->state) & 0xff);
		c->pos++;
	}
	return (ssize_t)n;
}

static int gen_rewind(void *ctx)
{
	gen_ctx *c = ctx;
	c->pos = 0;
	c->state = 0x9E3779B97F4A7C15ULL;
	c->rewinds++;
	return 0;
}

static void gen_md5(char out[33], uint64_t len)
{
	gen_ctx c = { .len = len };
	gen_rewind(&c);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_md5(), NULL);
	char buf[65536];
	ssize_t n;
	while ((n = gen_read(&c, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(m, buf, (size_t)n);
	unsigned char d[16];
	EVP_DigestFinal_ex(m, d, NULL);
	EVP_MD_CTX_free(m);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

Test(http_fault, upload_retried_from_byte_zero)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail503x1", tag, 2);
	gen_ctx c = { .len = 3 * 1024 * 1024 + 17 };
	gen_rewind(&c);
	c.rewinds = 0;
	fs_upload_req u = { .length = c.len, .store = "fast", .base_image_ref = "base-1",
		.read = gen_read, .rewind = gen_rewind, .ctx = &c };
	cr_assert_eq(fs_glance_upload(g, "img1", &u), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "count"), 2);
	cr_assert_eq(c.rewinds, 1);
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "body_len"), (int)c.len);
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "chunked"), 0);
	char want[33];
	gen_md5(want, c.len);
	char *got = fs_test_fault_state_str("fail503x1", tag, "body_md5");
	cr_assert_str_eq(got, want);
	free(got);
	cJSON *j = fs_test_fault_state(&fs_test_srv, "fail503x1", tag);
	const cJSON *h = cJSON_GetObjectItem(j, "headers");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "Content-Type")->valuestring,
		"application/octet-stream");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "x-image-meta-store")->valuestring, "fast");
	cr_assert_str_eq(cJSON_GetObjectItem(h, "X-OpenStack-Base-Image-Ref")->valuestring,
		"base-1");
	char len[32];
	snprintf(len, sizeof(len), "%llu", (unsigned long long)c.len);
	cr_assert_str_eq(cJSON_GetObjectItem(h, "Content-Length")->valuestring, len);
	cr_assert_null(cJSON_GetObjectItem(h, "Transfer-Encoding"));
	cJSON_Delete(j);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, upload_without_rewind_not_retried)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail503x1", tag, 3);
	gen_ctx c = { .len = 100000 };
	gen_rewind(&c);
	fs_upload_req u = { .length = c.len, .read = gen_read, .rewind = NULL, .ctx = &c };
	cr_assert_eq(fs_glance_upload(g, "img1", &u), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_test_fault_state_int("fail503x1", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, upload_reader_error_returned_as_is)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "glance", tag, 3);
	gen_ctx c = { .len = 4 << 20, .fail_at = 1 << 20 };
	gen_rewind(&c);
	fs_upload_req u = { .length = c.len, .read = gen_read, .rewind = gen_rewind, .ctx = &c };
	cr_assert_eq(fs_glance_upload(g, "img1", &u), FASTSNAP_EIO);
	cr_assert(strstr(fastsnap_error_last(), "test reader failed on purpose"), "%s",
		fastsnap_error_last());
	/* short reader: claims 2 MiB, delivers 1 MiB */
	gen_ctx d = { .len = 1 << 20 };
	gen_rewind(&d);
	fs_upload_req v = { .length = 2 << 20, .read = gen_read, .ctx = &d };
	cr_assert_eq(fs_glance_upload(g, "img1", &v), FASTSNAP_EIO);
	cr_assert(strstr(fastsnap_error_last(), "ended after 1048576 of 2097152"), "%s",
		fastsnap_error_last());
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* A DELETE answered 409 (Glance still hashing or importing the image) is
 * retried within a bound: 409, the GET that checks "protected" (409 too),
 * then the DELETE that succeeds. */
Test(http_fault, delete_retries_409)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "fail409x2", tag, 3);
	cr_assert_eq(fs_glance_image_delete(g, "img-1"), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_test_fault_state_int("fail409x2", tag, "count"), 3);
	fs_glance_free(g);
	fs_settings_free(&s);
}
