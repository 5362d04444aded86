/*
 * tests/unit/test_http_fault.c: the HTTP layer, the Glance client and
 * Keystone auth against tests/support/fault_server.py on a loopback port:
 * retries (503 then success, counted), POST create retried with its id, no
 * retry of an upload that cannot rewind, connection reset, stall past the low-speed limit,
 * garbage/truncated/oversized bodies, headers sent, location fallback,
 * and Keystone password / application credential with re-auth after 401.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "fault_server.h"
#include "clients/glance.h"
#include "register/register.h"

static fs_fault_server srv;

static void start(void)
{
	cr_assert_eq(fs_test_fault_server_start(&srv), 0, "fault server did not start");
}

static void stop(void)
{
	fs_test_fault_server_stop(&srv);
}

TestSuite(http_fault, .init = start, .fini = stop, .timeout = 60);

/* A client for scenario/tag. */
static fs_glance *client(fs_settings *s, const char *scen, const char *tag, int retries)
{
	char *url = fs_test_fault_url(&srv, scen, tag);
	fs_test_settings(s, url, retries);
	free(url);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, s, NULL), 0, "%s", fastsnap_error_last());
	return g;
}

static int state_int(const char *scen, const char *tag, const char *key)
{
	cJSON *j = fs_test_fault_state(&srv, scen, tag);
	cr_assert_not_null(j, "no state for %s/%s", scen, tag);
	const cJSON *v = cJSON_GetObjectItem(j, key);
	int n = cJSON_IsNumber(v) ? v->valueint : (cJSON_IsTrue(v) ? 1 : 0);
	cJSON_Delete(j);
	return n;
}

static char *state_str(const char *scen, const char *tag, const char *key)
{
	cJSON *j = fs_test_fault_state(&srv, scen, tag);
	cr_assert_not_null(j);
	const cJSON *v = cJSON_GetObjectItem(j, key);
	char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	return s;
}

#define TAG(t) char t[96]; fs_test_unique_tag(t, sizeof(t), #t)

Test(http_fault, retry_503_then_success)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail503x2", tag, 3);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->id, "abc");
	cr_assert_eq(fs_glance_last_status(g), 200);
	fs_image_free(img);
	cr_assert_eq(state_int("fail503x2", tag, "count"), 3);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, retry_503_gives_up)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail503x9", tag, 2);
	fs_image *img;
	int rc = fs_glance_image_get(g, &img, "abc");
	cr_assert_eq(rc, FASTSNAP_EUNAVAILABLE);
	cr_assert(strstr(fastsnap_error_last(), "Glance GET /v2/images/abc: 503 injected 503"),
		"%s", fastsnap_error_last());
	cr_assert_eq(state_int("fail503x9", tag, "count"), 3);
	cr_assert_eq(fs_glance_last_status(g), 503);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, no_retry_on_500)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail500x1", tag, 3);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(state_int("fail500x1", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, post_create_retried_with_its_id)
{
	/* issue 17: the image id is chosen by the client, so POST /v2/images
	 * is retried like an idempotent call (test_bounded.c covers the lost
	 * answer and the 409) */
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail503x1", tag, 3);
	fs_image *img;
	fs_image_create_req req = { .name = "x" };
	cr_assert_eq(fs_glance_image_create(g, &img, &req), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->status, "queued");
	cr_assert_eq(state_int("fail503x1", tag, "count"), 2);
	cr_assert_eq(state_int("fail503x1", tag, "creates"), 1);
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);
	/* without retries, the 503 is the answer */
	TAG(tag2);
	g = client(&s, "fail503x1", tag2, 0);
	cr_assert_eq(fs_glance_image_create(g, &img, &req), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(state_int("fail503x1", tag2, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, connection_reset_is_retried)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "resetx1", tag, 2);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	cr_assert_eq(state_int("resetx1", tag, "count"), 2);
	fs_glance_free(g);
	fs_settings_free(&s);

	TAG(tag2);
	g = client(&s, "resetx9", tag2, 0);
	int rc = fs_glance_image_get(g, &img, "abc");
	cr_assert_eq(rc, FASTSNAP_ETRANSPORT, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "Glance GET /v2/images/abc"), "%s",
		fastsnap_error_last());
	cr_assert_eq(fs_glance_last_status(g), 0);
	cr_assert_eq(state_int("resetx9", tag2, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, stall_times_out)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "stall", tag, 0);
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
		TAG(tag);
		fs_settings s;
		fs_glance *g = client(&s, scen[i], tag, 0);
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
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "big", tag, 2);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_ETOOLARGE);
	cr_assert(strstr(fastsnap_error_last(), "cap"), "%s", fastsnap_error_last());
	cr_assert_eq(state_int("big", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, html_error_message)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "htmlerr", tag, 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), FASTSNAP_ENOTFOUND);
	cr_assert_str_eq(fastsnap_error_last(), "Glance GET /v2/images/abc: 404 The resource "
		"could not be found. No image found with ID abc");
	cr_assert_eq(fs_glance_last_status(g), 404);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, stores_without_detail)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 0);
	fs_store_set st;
	cr_assert_eq(fs_glance_stores(g, &st), 0, "%s", fastsnap_error_last());
	cr_assert_eq(st.n, 3);
	cr_assert_eq(st.has_detail, 0);
	cr_assert_str_eq(fs_store_set_default(&st)->id, "local");
	cr_assert(fs_store_set_find(&st, "web")->read_only);
	fs_store_set_free(&st);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, extra_headers_sent)
{
	TAG(tag);
	fs_settings s;
	char *url = fs_test_fault_url(&srv, "glance", tag);
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
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail503x1", tag, 2);
	gen_ctx c = { .len = 3 * 1024 * 1024 + 17 };
	gen_rewind(&c);
	c.rewinds = 0;
	fs_upload_req u = { .length = c.len, .store = "fast", .base_image_ref = "base-1",
		.read = gen_read, .rewind = gen_rewind, .ctx = &c };
	cr_assert_eq(fs_glance_upload(g, "img1", &u), 0, "%s", fastsnap_error_last());
	cr_assert_eq(state_int("fail503x1", tag, "count"), 2);
	cr_assert_eq(c.rewinds, 1);
	cr_assert_eq(state_int("fail503x1", tag, "body_len"), (int)c.len);
	cr_assert_eq(state_int("fail503x1", tag, "chunked"), 0);
	char want[33];
	gen_md5(want, c.len);
	char *got = state_str("fail503x1", tag, "body_md5");
	cr_assert_str_eq(got, want);
	free(got);
	cJSON *j = fs_test_fault_state(&srv, "fail503x1", tag);
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
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail503x1", tag, 3);
	gen_ctx c = { .len = 100000 };
	gen_rewind(&c);
	fs_upload_req u = { .length = c.len, .read = gen_read, .rewind = NULL, .ctx = &c };
	cr_assert_eq(fs_glance_upload(g, "img1", &u), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(state_int("fail503x1", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, upload_reader_error_returned_as_is)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 3);
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

/* ---- locations ---- */

static int add_loc(const char *scen, const char *tag, char **post, char **patch)
{
	fs_settings s;
	fs_glance *g = client(&s, scen, tag, 0);
	fs_validation vd = { "sha512", "abcd", "md5x" };
	int rc = fs_glance_add_location(g, "img-1", "rbd://f/images/img-1/snap", "fast", &vd, 10);
	*post = state_str(scen, tag, "last_post");
	*patch = state_str(scen, tag, "last_patch");
	fs_glance_free(g);
	fs_settings_free(&s);
	return rc;
}

Test(http_fault, location_post_202_polls_until_active)
{
	TAG(tag);
	char *post, *patch;
	cr_assert_eq(add_loc("loc-202-200", tag, &post, &patch), 0, "%s", fastsnap_error_last());
	/* Glance >= 29 takes os_hash_algo and os_hash_value only (a checksum is a 400) */
	cr_assert_str_eq(post, "{\"url\":\"rbd://f/images/img-1/snap\",\"validation_data\":"
		"{\"os_hash_algo\":\"sha512\",\"os_hash_value\":\"abcd\"}}");
	cr_assert_null(patch);
	/* POST, then GETs until active (the fake needs 2 polls) */
	cr_assert_eq(state_int("loc-202-200", tag, "count"), 3);
	free(post);
}

Test(http_fault, location_fallbacks_to_patch)
{
	/* 404/405: no POST (Glance < 29); 403: no service role (Nova also tries the PATCH) */
	const char *ok[] = { "loc-404-200", "loc-405-200", "loc-403-200" };
	for (size_t i = 0; i < 3; i++) {
		TAG(tag);
		char *post, *patch;
		cr_assert_eq(add_loc(ok[i], tag, &post, &patch), 0, "%s: %s", ok[i],
			fastsnap_error_last());
		cr_assert_not_null(post);
		cr_assert_str_eq(patch, "[{\"op\":\"add\",\"path\":\"/locations/-\",\"value\":"
			"{\"url\":\"rbd://f/images/img-1/snap\",\"metadata\":{\"store\":\"fast\"},"
			"\"validation_data\":{\"os_hash_algo\":\"sha512\",\"os_hash_value\":\"abcd\","
			"\"checksum\":\"md5x\"}}}]");
		cJSON *j = fs_test_fault_state(&srv, ok[i], tag);
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"),
			"Content-Type")->valuestring, "application/openstack-images-v2.1-json-patch");
		cJSON_Delete(j);
		free(post);
		free(patch);
	}
}

Test(http_fault, location_patch_errors)
{
	struct { const char *scen; int rc; } cases[] = {
		{ "loc-404-403", FASTSNAP_ELOCATION_DISALLOWED },
		{ "loc-403-403", FASTSNAP_ELOCATION_DISALLOWED },
		{ "loc-404-400", FASTSNAP_ELOCATION_REJECTED },
		{ "loc-404-500", FASTSNAP_ELOCATION_REJECTED },
		{ "loc-404-409", FASTSNAP_ECONFLICT },
		{ "loc-409-200", FASTSNAP_ECONFLICT },
		/* only 404/405 mean "no POST": a 501 is an error, not a fallback */
		{ "loc-501-200", FASTSNAP_EUNAVAILABLE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TAG(tag);
		char *post, *patch;
		int rc = add_loc(cases[i].scen, tag, &post, &patch);
		cr_assert_eq(rc, cases[i].rc, "%s: rc %d (%s)", cases[i].scen, rc,
			fastsnap_error_last());
		cr_assert(strstr(fastsnap_error_last(), "injected"), "%s", fastsnap_error_last());
		if (!strcmp(cases[i].scen, "loc-501-200"))
			cr_assert_null(patch, "a 501 from the POST must not lead to the PATCH");
		/* a 403 from the POST names what to fix */
		if (!strncmp(cases[i].scen, "loc-403-", 8))
			cr_assert(strstr(fastsnap_error_last(), "[service_user]") &&
				strstr(fastsnap_error_last(), "POST"), "%s", fastsnap_error_last());
		free(post);
		free(patch);
	}
}

/* ---- Keystone ---- */

static void keystone_settings(fs_settings *s, const char *tag)
{
	char *url = fs_test_fault_url(&srv, "keystone", tag);
	fs_test_settings(s, NULL, 0);
	s->os_auth_url = url;
}

Test(http_fault, keystone_password_and_reauth)
{
	TAG(tag);
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
	cr_assert_eq(state_int("keystone", tag, "token_requests"), 2);
	cr_assert_eq(state_int("authglance", tag, "count"), 2);
	char want[256];
	snprintf(want, sizeof(want), "%s/s/authglance/%s", srv.base, tag);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	/* token 2 keeps working: no more token requests */
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0);
	fs_image_free(img);
	cr_assert_eq(state_int("keystone", tag, "token_requests"), 2);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, keystone_interface_region_and_appcred)
{
	TAG(tag);
	fs_settings s;
	keystone_settings(&s, tag);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	s.os_interface = strdup("internal");
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0, "%s", fastsnap_error_last());
	char want[256];
	snprintf(want, sizeof(want), "%s/s/glance/%s-internal", srv.base, tag);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	fs_glance_free(g);
	fs_settings_free(&s);

	TAG(tag2);
	keystone_settings(&s, tag2);
	s.os_application_credential_id = strdup("acid");
	s.os_application_credential_secret = strdup("ac-s3cret");
	s.os_region_name = strdup("RegionTwo");
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	snprintf(want, sizeof(want), "%s/s/glance/%s-r2", srv.base, tag2);
	cr_assert_str_eq(fs_glance_endpoint(g), want);
	fs_glance_free(g);
	fs_settings_free(&s);

	TAG(tag3);
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

Test(http_fault, keystone_explicit_glance_url_wins)
{
	TAG(tag);
	fs_settings s;
	keystone_settings(&s, tag);
	s.os_username = strdup("demo");
	s.os_password = strdup("s3cret-pw");
	s.glance_url = fs_test_fault_url(&srv, "glance", tag);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, &s, NULL), 0);
	fs_image *img;
	cr_assert_eq(fs_glance_image_get(g, &img, "abc"), 0, "%s", fastsnap_error_last());
	fs_image_free(img);
	cr_assert_eq(state_int("keystone", tag, "token_requests"), 1);
	cr_assert_eq(state_int("glance", tag, "count"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

Test(http_fault, config_errors)
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

/* A DELETE answered 409 (Glance still hashing or importing the image) is
 * retried within a bound: 409, the GET that checks "protected" (409 too),
 * then the DELETE that succeeds. */
Test(http_fault, delete_retries_409)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "fail409x2", tag, 3);
	cr_assert_eq(fs_glance_image_delete(g, "img-1"), 0, "%s", fastsnap_error_last());
	cr_assert_eq(state_int("fail409x2", tag, "count"), 3);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* ---- no call after the location that its answer makes redundant ---- */

static int count_methods(const char *scen, const char *tag, const char *prefix)
{
	cJSON *j = fs_test_fault_state(&srv, scen, tag);
	cr_assert_not_null(j);
	int n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "methods"))
		n += cJSON_IsString(m) && !strncmp(m->valuestring, prefix, strlen(prefix));
	cJSON_Delete(j);
	return n;
}

/* Glance < 29: the in-progress mark's removal rides in the location PATCH,
 * whose answer (active, 1024 bytes) spares the final GET. */
Test(http_fault, location_patch_joins_removal_and_spares_final_get)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "loc-404-200", tag, 0);
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 10, .remove_props = &k, .n_remove = 1 };
	cr_assert_eq(fs_glance_add_location_removing_props(g, "img-1", "rbd://f/images/img-1/snap", "fast", &lo),
		0, "%s", fastsnap_error_last());
	char *patch = state_str("loc-404-200", tag, "last_patch");
	cr_assert_str_eq(patch, "[{\"op\":\"add\",\"path\":\"/locations/-\",\"value\":"
		"{\"url\":\"rbd://f/images/img-1/snap\",\"metadata\":{\"store\":\"fast\"}}},"
		"{\"op\":\"remove\",\"path\":\"/fastsnap_state\"}]");
	free(patch);
	fs_register_seen seen;
	fs_register_seen_get(g, "img-1", &seen);
	cr_assert(seen.active && seen.size == 1024 && seen.state_removed);
	fs_register_seen_get(g, "img-2", &seen);
	cr_assert(!seen.active && !seen.image && seen.size == -1, "another image's answer is not this one's");
	/* POST (404), PATCH: nothing more for the final check */
	cr_assert_eq(fs_register_final_check(g, "img-1", 1024, "direct"), 0, "%s",
		fastsnap_error_last());
	cr_assert_eq(state_int("loc-404-200", tag, "count"), 2);
	/* another size than the answer's: the final check asks Glance again */
	cr_assert_eq(fs_register_final_check(g, "img-1", 2048, "direct"), 0, "%s",
		fastsnap_error_last());
	cr_assert_eq(count_methods("loc-404-200", tag, "GET /v2/images/img-1"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* A 409 to the joined document (the property is gone already) is tried
 * again without the removal; a 409 to that stays an error. */
Test(http_fault, location_patch_409_tried_again_without_removal)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "loc-404-409", tag, 0);
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 10, .remove_props = &k, .n_remove = 1 };
	cr_assert_eq(fs_glance_add_location_removing_props(g, "img-1", "rbd://f/images/img-1/snap", "fast", &lo),
		FASTSNAP_ECONFLICT);
	cr_assert_eq(count_methods("loc-404-409", tag, "PATCH"), 2);
	char *patch = state_str("loc-404-409", tag, "last_patch");
	cr_assert_null(strstr(patch, "remove"), "%s", patch);
	free(patch);
	cr_assert_null(fs_glance_location_image(g, "img-1"));
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* Glance >= 29: the poll that finds the image active is kept, so the final
 * check makes no GET of its own for the status; the mark's removal follows
 * activation as one PATCH, once the import task (the background hash,
 * which saves the image it read at activation) has let go of the image. */
Test(http_fault, location_post_poll_spares_final_get)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "loc-202-200", tag, 0);
	const char *keys[] = { FS_PROP_STATE };
	const char *vals[] = { FS_STATE_IN_PROGRESS };
	fs_image_create_req cr = { .id = "img-1", .name = "n", .prop_keys = keys,
		.prop_values = vals, .n_props = 1 };
	cr_assert_eq(fs_glance_image_create(g, NULL, &cr), 0, "%s", fastsnap_error_last());
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 10, .remove_props = &k, .n_remove = 1 };
	cr_assert_eq(fs_glance_add_location_removing_props(g, "img-1", "rbd://f/images/img-1/snap", "fast", &lo),
		0, "%s", fastsnap_error_last());
	fs_register_seen seen;
	fs_register_seen_get(g, "img-1", &seen);
	cr_assert(seen.active && seen.size == 1024 && !seen.state_removed);
	int gets = count_methods("loc-202-200", tag, "GET");
	cr_assert_eq(gets, 2, "the fake needs 2 polls");
	cr_assert_eq(fs_register_final_check(g, "img-1", 1024, "direct"), 0, "%s",
		fastsnap_error_last());
	/* two more polls until the task's lock goes, then the PATCH, last */
	cr_assert_eq(count_methods("loc-202-200", tag, "GET"), gets + 2);
	cr_assert_eq(count_methods("loc-202-200", tag, "PATCH"), 1);
	cJSON *j = fs_test_fault_state(&srv, "loc-202-200", tag);
	const cJSON *ms = cJSON_GetObjectItem(j, "methods");
	const cJSON *last = cJSON_GetArrayItem(ms, cJSON_GetArraySize(ms) - 1);
	cr_assert(!strncmp(last->valuestring, "PATCH", 5), "last request: %s", last->valuestring);
	cJSON_Delete(j);
	char *patch = state_str("loc-202-200", tag, "last_patch");
	cr_assert_str_eq(patch, "[{\"op\":\"remove\",\"path\":\"/fastsnap_state\"}]");
	free(patch);
	/* the wrong size is caught from the poll's answer, with the usual error */
	cr_assert_eq(fs_register_final_check(g, "img-1", 4096, "direct"), FASTSNAP_ECHECKSUM);
	cr_assert(strstr(fastsnap_error_last(), "has size"), "%s", fastsnap_error_last());
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* The poll after a POST: every 20 ms for the first polls, then backing
 * off to 500 ms, within a bounded number of polls and time. */
Test(http_fault, location_poll_backoff)
{
	for (int i = 0; i <= FS_LOCATION_POLL_FAST; i++)
		cr_assert_eq(fs_location_poll_wait_ms(i), FS_LOCATION_POLL_FIRST_MS, "poll %d", i);
	cr_assert_lt(FS_LOCATION_POLL_FIRST_MS, 50);
	long d = fs_location_poll_wait_ms(FS_LOCATION_POLL_FAST), sum = 0;
	int n = FS_LOCATION_POLL_FAST + 1;
	for (; d < FS_LOCATION_POLL_MAX_MS && n < 100; n++) {
		sum += d;
		long next = fs_location_poll_wait_ms(n);
		cr_assert_gt(next, d, "poll %d: %ld after %ld", n, next, d);
		d = next;
	}
	cr_assert_eq(d, FS_LOCATION_POLL_MAX_MS);
	cr_assert_lt(n, FS_LOCATION_POLL_FAST + 10, "%d polls before the cap", n);
	cr_assert_lt(sum, 1500, "%ld ms of waits before the cap", sum);
	cr_assert_eq(fs_location_poll_wait_ms(1000), FS_LOCATION_POLL_MAX_MS);
}

/* ---- the plan's look-ups, concurrently ---- */

/* All four at once, each answered as alone; the schema is kept by the
 * client, so the image's creation asks for it no more. */
Test(http_fault, lookups_all_answer)
{
	TAG(tag);
	fs_settings s;
	fs_glance *g = client(&s, "glance", tag, 0);
	fs_lookups lk;
	fs_lookups_req q = { .base_id = "abc", .want_schema = 1 };
	cr_assert_eq(fs_glance_lookups(g, &lk, &q), 0, "%s", fastsnap_error_last());
	cr_assert_eq(lk.stores_rc, 0);
	cr_assert_eq(lk.stores.n, 3);
	cr_assert_eq(lk.stores.has_detail, 0, "the fake's detail is 403: no detail");
	cr_assert_eq(lk.base_rc, 0);
	cr_assert_str_eq(lk.base->id, "abc");
	cr_assert_eq(state_int("glance", tag, "count"), 4);
	fs_image_schema sc;
	cr_assert_eq(fs_glance_image_schema(g, &sc), 0, "%s", fastsnap_error_last());
	cr_assert(fs_image_schema_is_read_only(&sc, "size"));
	fs_image_schema_free(&sc);
	cr_assert_eq(state_int("glance", tag, "count"), 4, "the schema was asked again");
	fs_lookups_free(&lk);
	/* without a base image: stores and detail only */
	fs_lookups_req q2 = { 0 };
	cr_assert_eq(fs_glance_lookups(g, &lk, &q2), 0, "%s", fastsnap_error_last());
	cr_assert_null(lk.base);
	cr_assert_eq(state_int("glance", tag, "count"), 6);
	fs_lookups_free(&lk);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* One look-up fails (each call takes 150 ms, so they overlap): its
 * error is the one it has alone, naming its call; the others are joined
 * with their answers; nothing leaks (ASan). */
Test(http_fault, lookups_one_fails_the_others_are_joined)
{
	const char *kinds[] = { "stores", "detail", "base", "schema" };
	const char *names[] = { "Glance GET /v2/info/stores: 500",
		"Glance GET /v2/info/stores/detail: 500", "Glance GET /v2/images/abc: 500", NULL };
	for (size_t i = 0; i < 4; i++) {
		TAG(tag);
		char scen[32];
		snprintf(scen, sizeof(scen), "fail500on%s", kinds[i]);
		fs_settings s;
		fs_glance *g = client(&s, scen, tag, 0);
		fs_lookups lk;
		fs_lookups_req q = { .base_id = "abc", .want_schema = 1 };
		cr_assert_eq(fs_glance_lookups(g, &lk, &q), 0, "%s: %s", scen, fastsnap_error_last());
		cr_assert_geq(state_int(scen, tag, "max_inflight"), 2, "%s: the calls did not overlap",
			scen);
		int failed_stores = i <= 1, failed_base = i == 2;
		cr_assert_eq(lk.stores_rc < 0, failed_stores, "%s: stores rc %d", scen, lk.stores_rc);
		cr_assert_eq(lk.base_rc < 0, failed_base, "%s: base rc %d", scen, lk.base_rc);
		cr_assert_eq(!lk.base, failed_base, "%s", scen);
		cr_assert_eq(!lk.stores.n, failed_stores, "%s", scen);
		if (names[i]) {
			fs_error_state_restore(failed_stores ? &lk.stores_err : &lk.base_err);
			cr_assert(strstr(fastsnap_error_last(), names[i]) &&
				strstr(fastsnap_error_last(), "injected 500"), "%s: %s", scen,
				fastsnap_error_last());
		}
		/* a schema that failed is asked again when needed (and fails again) */
		fs_image_schema sc;
		int src = fs_glance_image_schema(g, &sc);
		cr_assert_eq(src < 0, i == 3, "%s: schema rc %d", scen, src);
		fs_image_schema_free(&sc);
		fs_lookups_free(&lk);
		fs_glance_free(g);
		fs_settings_free(&s);
	}
}
