/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_glance_parse.c: the Glance and Keystone body parsers on
 * real-shaped JSON (Glance 25 image, stores, stores/detail, schema,
 * versions, error bodies; Keystone v3's documented token response), and
 * their refusal of malformed or wrong-typed input. No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "clients/auth.h"
#include "clients/error_body.h"
#include "clients/glance.h"
#include "clients/http.h"

#define LEN(s) (sizeof(s) - 1)

/* An image as Glance 25.1 returns it (show_multiple_locations = True). */
static const char IMAGE[] =
	"{\"container_format\": \"bare\", \"min_ram\": 512, \"ramdisk_id\": null, "
	"\"updated_at\": \"2024-05-01T10:00:03Z\", \"file\": \"/v2/images/"
	"8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11/file\", \"owner\": \"9a2c4b\", "
	"\"id\": \"8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11\", \"size\": 1073741824, "
	"\"os_distro\": \"debian\", \"self\": \"/v2/images/8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11\", "
	"\"disk_format\": \"raw\", \"os_hash_algo\": \"sha512\", \"direct_url\": "
	"\"rbd://fsid-1/images/8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11/snap\", "
	"\"schema\": \"/v2/schemas/image\", \"status\": \"active\", \"tags\": [], "
	"\"visibility\": \"shared\", \"locations\": [{\"url\": \"rbd://fsid-1/images/"
	"8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11/snap\", \"metadata\": {\"store\": \"fast\"}}, "
	"{\"url\": \"file:///var/lib/glance/images/8f6d\", \"metadata\": {}}], "
	"\"min_disk\": 10, \"virtual_size\": null, \"name\": \"snap-1\", \"checksum\": "
	"\"0f343b0931126a20f133d67c2b018a3b\", \"created_at\": \"2024-05-01T10:00:00Z\", "
	"\"os_hidden\": false, \"protected\": false, \"os_hash_value\": \"aa11\", "
	"\"stores\": \"fast,local\", \"image_type\": \"snapshot\"}";

Test(glance_parse, image_real_shape)
{
	fs_image *img;
	cr_assert_eq(fs_parse_image(&img, IMAGE, LEN(IMAGE)), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->id, "8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11");
	cr_assert_str_eq(img->status, "active");
	cr_assert_str_eq(img->name, "snap-1");
	cr_assert_str_eq(img->disk_format, "raw");
	cr_assert_str_eq(img->container_format, "bare");
	cr_assert_str_eq(img->visibility, "shared");
	cr_assert_str_eq(img->checksum, "0f343b0931126a20f133d67c2b018a3b");
	cr_assert_str_eq(img->os_hash_algo, "sha512");
	cr_assert_str_eq(img->os_hash_value, "aa11");
	cr_assert_eq(img->size, 1073741824LL);
	cr_assert_eq(img->virtual_size, -1);
	cr_assert_eq(img->min_disk, 10);
	cr_assert_eq(img->min_ram, 512);
	cr_assert_eq(img->stores.n, 2);
	cr_assert_str_eq(img->stores.v[0], "fast");
	cr_assert_str_eq(img->stores.v[1], "local");
	cr_assert_eq(img->n_locations, 2);
	cr_assert_str_eq(img->locations[0].store, "fast");
	cr_assert_str_eq(img->locations[0].url,
		"rbd://fsid-1/images/8f6d1b3c-6b1a-4f55-9b2f-2d9e2d0a8a11/snap");
	cr_assert_null(img->locations[1].store);
	cr_assert_str_eq(fs_image_prop(img, "image_type"), "snapshot");
	cr_assert_str_eq(fs_image_prop(img, "os_distro"), "debian");
	cr_assert_null(fs_image_prop(img, "ramdisk_id"));
	cr_assert_null(fs_image_prop(img, "nope"));
	fs_image_free(img);
}

Test(glance_parse, image_queued_nulls)
{
	const char j[] = "{\"id\": \"x\", \"status\": \"queued\", \"size\": null, "
		"\"checksum\": null, \"os_hash_value\": null, \"name\": null}";
	fs_image *img;
	cr_assert_eq(fs_parse_image(&img, j, LEN(j)), 0);
	cr_assert_eq(img->size, -1);
	cr_assert_null(img->checksum);
	cr_assert_null(img->name);
	cr_assert_eq(img->n_locations, 0);
	cr_assert_eq(img->stores.n, 0);
	fs_image_free(img);
}

static void expect_protocol(const char *j, const char *needle)
{
	fs_image *img = (fs_image *)1;
	int rc = fs_parse_image(&img, j, strlen(j));
	cr_assert_eq(rc, FASTSNAP_EPROTOCOL, "parsing %s gave %d", j, rc);
	cr_assert_null(img);
	if (needle)
		cr_assert(strstr(fastsnap_error_last(), needle), "message '%s' lacks '%s'",
			fastsnap_error_last(), needle);
}

Test(glance_parse, image_bad_input)
{
	expect_protocol("", "empty");
	expect_protocol("{\"id\": \"x\", \"status\": \"act", "malformed");
	expect_protocol("[1,2]", "not a JSON object");
	expect_protocol("{\"status\": \"active\"}", "\"id\"");
	expect_protocol("{\"id\": 5, \"status\": \"active\"}", "\"id\"");
	expect_protocol("{\"id\": \"x\"}", "\"status\"");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"size\": \"big\"}", "\"size\"");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"size\": -5}", "\"size\"");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"name\": 7}", "\"name\"");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"locations\": {}}", "locations");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"locations\": [{\"url\": 1}]}",
		"url");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"locations\": "
		"[{\"url\": \"u\", \"metadata\": 3}]}", "metadata");
	expect_protocol("{\"id\": \"x\", \"status\": \"active\", \"stores\": [\"a\"]}", "stores");
}

Test(glance_parse, image_every_prefix_is_refused_cleanly)
{
	/* truncated bodies never crash, never succeed */
	for (size_t n = 0; n < LEN(IMAGE); n++) {
		fs_image *img;
		int rc = fs_parse_image(&img, IMAGE, n);
		cr_assert_eq(rc, FASTSNAP_EPROTOCOL, "prefix %zu parsed", n);
	}
}

Test(glance_parse, image_page_and_next)
{
	const char p1[] = "{\"images\": [{\"id\": \"a\", \"status\": \"active\"}, "
		"{\"id\": \"b\", \"status\": \"queued\"}], \"first\": \"/v2/images?limit=2\", "
		"\"next\": \"/v2/images?marker=b&limit=2\", \"schema\": \"/v2/schemas/images\"}";
	const char p2[] = "{\"images\": [{\"id\": \"c\", \"status\": \"active\"}]}";
	fs_image_list l = { 0 };
	char *next;
	cr_assert_eq(fs_parse_image_page(&l, &next, p1, LEN(p1)), 0);
	cr_assert_str_eq(next, "/v2/images?marker=b&limit=2");
	free(next);
	cr_assert_eq(fs_parse_image_page(&l, &next, p2, LEN(p2)), 0);
	cr_assert_null(next);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.v[2]->id, "c");
	fs_image_list_free(&l);
	const char bad[] = "{\"images\": {}}";
	cr_assert_eq(fs_parse_image_page(&l, &next, bad, LEN(bad)), FASTSNAP_EPROTOCOL);
	const char badimg[] = "{\"images\": [{\"id\": 1}]}";
	cr_assert_eq(fs_parse_image_page(&l, &next, badimg, LEN(badimg)), FASTSNAP_EPROTOCOL);
	fs_image_list_free(&l);
}

/* Glance 25: "default" is the string "true"; http stores are "read-only". */
Test(glance_parse, stores_string_true)
{
	const char j[] = "{\"stores\": [{\"id\": \"local\", \"description\": \"Local "
		"filesystem\", \"default\": \"true\"}, {\"id\": \"fast\", \"description\": "
		"\"Ceph\"}, {\"id\": \"web\", \"description\": \"HTTP\", \"read-only\": \"true\"}]}";
	fs_store_set s;
	cr_assert_eq(fs_parse_stores(&s, j, LEN(j)), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(fs_store_set_default(&s)->id, "local");
	cr_assert_eq(fs_store_set_find(&s, "web")->read_only, 1);
	cr_assert_eq(fs_store_set_find(&s, "fast")->read_only, 0);
	cr_assert_eq(fs_store_set_find(&s, "fast")->is_default, 0);
	cr_assert_str_eq(fs_store_set_find(&s, "local")->description, "Local filesystem");
	cr_assert_null(fs_store_set_find(&s, "nope"));
	cr_assert_eq(s.has_detail, 0);
	fs_store_set_free(&s);
}

Test(glance_parse, stores_boolean_true)
{
	const char j[] = "{\"stores\": [{\"id\": \"a\"}, {\"id\": \"b\", \"default\": true, "
		"\"read-only\": false}]}";
	fs_store_set s;
	cr_assert_eq(fs_parse_stores(&s, j, LEN(j)), 0);
	cr_assert_str_eq(fs_store_set_default(&s)->id, "b");
	cr_assert_eq(fs_store_set_find(&s, "b")->read_only, 0);
	fs_store_set_free(&s);
	const char k[] = "{\"stores\": [{\"id\": \"a\", \"default\": \"false\"}]}";
	cr_assert_eq(fs_parse_stores(&s, k, LEN(k)), 0);
	cr_assert_null(fs_store_set_default(&s));
	fs_store_set_free(&s);
}

Test(glance_parse, stores_bad)
{
	fs_store_set s;
	cr_assert_eq(fs_parse_stores(&s, "{}", 2), FASTSNAP_EPROTOCOL);
	cr_assert_eq(fs_parse_stores(&s, "{\"stores\": [{\"id\": 3}]}", 22), FASTSNAP_EPROTOCOL);
	cr_assert_eq(fs_parse_stores(&s, "{\"stores\": [{\"id\"", 17), FASTSNAP_EPROTOCOL);
	const char j[] = "{\"stores\": [{\"id\": \"a\", \"description\": 5}]}";
	cr_assert_eq(fs_parse_stores(&s, j, LEN(j)), FASTSNAP_EPROTOCOL);
}

/* Glance 25 stores/detail (admin) */
Test(glance_parse, stores_detail_merge)
{
	const char j[] = "{\"stores\": [{\"id\": \"local\", \"description\": \"Local\", "
		"\"default\": \"true\"}, {\"id\": \"fast\", \"description\": \"Ceph\"}]}";
	const char d[] = "{\"stores\": [{\"id\": \"local\", \"type\": \"file\", \"description\": "
		"\"Local\", \"default\": \"true\", \"properties\": {\"data_dir\": \"/x\", "
		"\"chunk_size\": 65536, \"thin_provisioning\": false}}, {\"id\": \"fast\", "
		"\"type\": \"rbd\", \"description\": \"Ceph\", \"properties\": {\"chunk_size\": "
		"8388608, \"pool\": \"images\", \"thin_provisioning\": false, \"fsid\": "
		"\"1b2c\"}}, {\"id\": \"extra\", \"type\": \"http\", \"properties\": {}}]}";
	fs_store_set s;
	cr_assert_eq(fs_parse_stores(&s, j, LEN(j)), 0);
	cr_assert_eq(fs_parse_stores_detail(&s, d, LEN(d)), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.has_detail, 1);
	cr_assert_eq(s.n, 3);
	const fs_store_info *f = fs_store_set_find(&s, "fast");
	cr_assert_str_eq(f->type, "rbd");
	cr_assert_str_eq(f->pool, "images");
	cr_assert_str_eq(f->fsid, "1b2c");
	cr_assert_str_eq(fs_store_set_find(&s, "local")->type, "file");
	cr_assert_null(fs_store_set_find(&s, "local")->pool);
	cr_assert_str_eq(fs_store_set_find(&s, "extra")->type, "http");
	const char bad[] = "{\"stores\": [{\"id\": \"fast\", \"properties\": [1]}]}";
	cr_assert_eq(fs_parse_stores_detail(&s, bad, LEN(bad)), FASTSNAP_EPROTOCOL);
	const char bad2[] = "{\"stores\": [{\"id\": \"fast\", \"properties\": {\"pool\": 1}}]}";
	cr_assert_eq(fs_parse_stores_detail(&s, bad2, LEN(bad2)), FASTSNAP_EPROTOCOL);
	fs_store_set_free(&s);
}

Test(glance_parse, schema)
{
	const char j[] = "{\"name\": \"image\", \"properties\": {\"id\": {\"type\": \"string\"}, "
		"\"status\": {\"readOnly\": true, \"type\": \"string\", \"enum\": [\"queued\"]}, "
		"\"checksum\": {\"readOnly\": true, \"type\": [\"null\", \"string\"]}, "
		"\"min_disk\": {\"type\": \"integer\"}, \"os_hash_value\": {\"readOnly\": true}}, "
		"\"additionalProperties\": {\"type\": \"string\"}}";
	fs_image_schema s;
	cr_assert_eq(fs_parse_image_schema(&s, j, LEN(j)), 0);
	cr_assert_eq(s.fields.n, 5);
	cr_assert(fs_image_schema_is_field(&s, "min_disk"));
	cr_assert(!fs_image_schema_is_field(&s, "image_type"));
	cr_assert(fs_image_schema_is_read_only(&s, "status"));
	cr_assert(fs_image_schema_is_read_only(&s, "os_hash_value"));
	cr_assert(!fs_image_schema_is_read_only(&s, "min_disk"));
	fs_image_schema_free(&s);
	cr_assert_eq(fs_parse_image_schema(&s, "{\"name\": 1}", 11), FASTSNAP_EPROTOCOL);
	cr_assert_eq(fs_parse_image_schema(&s, "nope", 4), FASTSNAP_EPROTOCOL);
}

Test(glance_parse, versions)
{
	const char j[] = "{\"versions\": [{\"id\": \"v2.16\", \"status\": \"CURRENT\", "
		"\"links\": [{\"rel\": \"self\", \"href\": \"http://x/v2/\"}]}, {\"id\": \"v2.1\", "
		"\"status\": \"SUPPORTED\", \"links\": []}, {\"id\": \"v1.0\", \"status\": "
		"\"DEPRECATED\", \"links\": []}]}";
	fs_strv v;
	cr_assert_eq(fs_parse_versions(&v, j, LEN(j)), 0);
	cr_assert_eq(v.n, 2);
	cr_assert_str_eq(v.v[0], "v2.16");
	fs_strv_free(&v);
	cr_assert_eq(fs_parse_versions(&v, "{\"versions\": [{}]}", 17), FASTSNAP_EPROTOCOL);
}

/* ---- error bodies ---- */

static void expect_msg(const char *body, const char *want)
{
	char *m = fs_error_body_message(body, strlen(body));
	cr_assert_not_null(m);
	cr_assert_str_eq(m, want, "body %s", body);
	free(m);
}

Test(glance_parse, error_bodies)
{
	/* webob HTML, as Glance 25 sends by default */
	expect_msg("<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n"
		"  <h1>400 Bad Request</h1>\n  Store for identifier nope not found<br /><br />\n\n\n\n"
		" </body>\n</html>", "Store for identifier nope not found");
	expect_msg("<html><body><h1>409 Conflict</h1>Image status transition from active to "
		"saving is not allowed<br /><br />\n</body></html>",
		"Image status transition from active to saving is not allowed");
	/* JSON flavours */
	expect_msg("{\"message\": \"No image found with ID x\", \"code\": \"404 Not Found\", "
		"\"title\": \"Not Found\"}", "No image found with ID x");
	expect_msg("{\"error\": {\"code\": 401, \"message\": \"The request you have made requires "
		"authentication.\", \"title\": \"Unauthorized\"}}",
		"The request you have made requires authentication.");
	expect_msg("{\"badRequest\": {\"message\": \"x &amp; y\"}}", "x & y");
	/* plain text and empties */
	expect_msg("404 Not Found\n\nThe resource could not be found.\n\n   ",
		"404 Not Found The resource could not be found.");
	expect_msg("", "");
	expect_msg("{\"message\": 5", "{\"message\": 5");
}

Test(glance_parse, status_mapping)
{
	cr_assert_eq(fs_http_status_to_code(404), FASTSNAP_ENOTFOUND);
	cr_assert_eq(fs_http_status_to_code(409), FASTSNAP_ECONFLICT);
	cr_assert_eq(fs_http_status_to_code(403), FASTSNAP_EFORBIDDEN);
	cr_assert_eq(fs_http_status_to_code(401), FASTSNAP_EUNAUTHORIZED);
	cr_assert_eq(fs_http_status_to_code(400), FASTSNAP_EBADREQUEST);
	cr_assert_eq(fs_http_status_to_code(415), FASTSNAP_EBADREQUEST);
	cr_assert_eq(fs_http_status_to_code(413), FASTSNAP_ETOOLARGE);
	cr_assert_eq(fs_http_status_to_code(503), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_http_status_to_code(500), FASTSNAP_EUNAVAILABLE);
}

Test(glance_parse, backoff_grows_with_jitter)
{
	unsigned int seed = 42;
	for (int i = 0; i < 50; i++) {
		long d0 = fs_http_backoff_ms(1000, 0, &seed);
		long d2 = fs_http_backoff_ms(1000, 2, &seed);
		cr_assert(d0 >= 1000 && d0 < 1500, "d0=%ld", d0);
		cr_assert(d2 >= 4000 && d2 < 6000, "d2=%ld", d2);
		cr_assert(fs_http_backoff_ms(1000, 20, &seed) <= 30000);
	}
}

/* ---- Keystone ---- */

/* Keystone v3 API reference, "Password authentication with scoped
 * authorization", response example (shortened catalog). */
static const char TOKEN[] =
	"{\"token\": {\"methods\": [\"password\"], \"roles\": [{\"id\": "
	"\"51cc68287d524c759f47c811e6463340\", \"name\": \"admin\"}], \"expires_at\": "
	"\"2015-11-07T02:58:43.578887Z\", \"project\": {\"domain\": {\"id\": \"default\", "
	"\"name\": \"Default\"}, \"id\": \"a6944d763bf64ee6a275f1263fae0352\", \"name\": "
	"\"admin\"}, \"is_domain\": false, \"catalog\": [{\"endpoints\": [{\"region_id\": "
	"\"RegionOne\", \"url\": \"http://example.com/identity\", \"region\": \"RegionOne\", "
	"\"interface\": \"public\", \"id\": \"068d1b359ee84b438266cb736d81de97\"}, "
	"{\"region_id\": \"RegionOne\", \"url\": \"http://example.com/identity\", "
	"\"region\": \"RegionOne\", \"interface\": \"admin\", \"id\": "
	"\"8bfc846841ab441ca38471be6d164ced\"}], \"type\": \"identity\", \"id\": "
	"\"050726f278654128aba89757ae25910c\", \"name\": \"keystone\"}, {\"endpoints\": "
	"[{\"region_id\": \"RegionOne\", \"url\": \"http://example.com/image\", \"region\": "
	"\"RegionOne\", \"interface\": \"public\", \"id\": \"1\"}, {\"region_id\": "
	"\"RegionOne\", \"url\": \"http://10.0.0.5:9292\", \"region\": \"RegionOne\", "
	"\"interface\": \"internal\", \"id\": \"2\"}, {\"region_id\": \"RegionTwo\", \"url\": "
	"\"http://r2.example.com/image\", \"region\": \"RegionTwo\", \"interface\": \"public\", "
	"\"id\": \"3\"}], \"type\": \"image\", \"id\": \"5a64\", \"name\": \"glance\"}], "
	"\"user\": {\"domain\": {\"id\": \"default\", \"name\": \"Default\"}, \"id\": "
	"\"ee4dfb6e5540447cb3741905149d9b6e\", \"name\": \"admin\", \"password_expires_at\": "
	"null}, \"audit_ids\": [\"3T2dc1CGQxyJsHdDu1xkcw\"], \"issued_at\": "
	"\"2015-11-07T01:58:43.578929Z\"}}";

Test(keystone_parse, token_and_catalog)
{
	fs_keystone_token t;
	cr_assert_eq(fs_parse_keystone_token(&t, TOKEN, LEN(TOKEN)), 0, "%s",
		fastsnap_error_last());
	cr_assert_str_eq(t.project_id, "a6944d763bf64ee6a275f1263fae0352");
	cr_assert_str_eq(t.user_id, "ee4dfb6e5540447cb3741905149d9b6e");
	cr_assert_str_eq(t.expires_at, "2015-11-07T02:58:43.578887Z");
	cr_assert_eq(t.n_endpoints, 5);
	cr_assert_str_eq(fs_keystone_find_endpoint(&t, "image", NULL, NULL),
		"http://example.com/image");
	cr_assert_str_eq(fs_keystone_find_endpoint(&t, "image", "internal", NULL),
		"http://10.0.0.5:9292");
	cr_assert_str_eq(fs_keystone_find_endpoint(&t, "image", "public", "RegionTwo"),
		"http://r2.example.com/image");
	cr_assert_null(fs_keystone_find_endpoint(&t, "image", "admin", NULL));
	cr_assert_null(fs_keystone_find_endpoint(&t, "image", "public", "RegionNine"));
	cr_assert_null(fs_keystone_find_endpoint(&t, "volumev3", NULL, NULL));
	fs_keystone_token_free(&t);
}

Test(keystone_parse, bad_bodies)
{
	fs_keystone_token t;
	const char *bad[] = {
		"", "{", "{}", "{\"token\": 1}",
		"{\"token\": {\"catalog\": {}}}",
		"{\"token\": {\"catalog\": [{\"type\": \"image\"}]}}",
		"{\"token\": {\"catalog\": [{\"type\": 3, \"endpoints\": []}]}}",
		"{\"token\": {\"catalog\": [{\"type\": \"image\", \"endpoints\": [{\"url\": 1, "
		"\"interface\": \"public\"}]}]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(fs_parse_keystone_token(&t, bad[i], strlen(bad[i])), FASTSNAP_EPROTOCOL,
			"body %s", bad[i]);
	/* an unscoped token without catalog is fine */
	const char ok[] = "{\"token\": {\"methods\": [\"password\"], \"user\": {\"id\": \"u\"}}}";
	cr_assert_eq(fs_parse_keystone_token(&t, ok, LEN(ok)), 0);
	cr_assert_null(t.project_id);
	cr_assert_eq(t.n_endpoints, 0);
	fs_keystone_token_free(&t);
	for (size_t n = 0; n < LEN(TOKEN); n += 7)
		cr_assert_eq(fs_parse_keystone_token(&t, TOKEN, n), FASTSNAP_EPROTOCOL);
}

Test(keystone_parse, tokens_url)
{
	const char *cases[][2] = {
		{ "http://k:5000", "http://k:5000/v3/auth/tokens" },
		{ "http://k:5000/", "http://k:5000/v3/auth/tokens" },
		{ "http://k:5000/v3", "http://k:5000/v3/auth/tokens" },
		{ "http://k:5000/v3/", "http://k:5000/v3/auth/tokens" },
		{ "https://k/identity", "https://k/identity/v3/auth/tokens" },
		{ "https://k/identity/v3.14", "https://k/identity/v3.14/auth/tokens" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = fs_keystone_tokens_url(cases[i][0]);
		cr_assert_str_eq(u, cases[i][1]);
		free(u);
	}
}

Test(keystone_parse, request_bodies)
{
	fs_settings s;
	memset(&s, 0, sizeof(s));
	s.os_username = "demo";
	s.os_password = "pw";
	s.os_project_name = "proj";
	char *b;
	cr_assert_eq(fs_keystone_request_body(&b, &s), 0);
	cr_assert_str_eq(b, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":"
		"{\"user\":{\"name\":\"demo\",\"domain\":{\"name\":\"Default\"},\"password\":\"pw\"}}},"
		"\"scope\":{\"project\":{\"name\":\"proj\",\"domain\":{\"name\":\"Default\"}}}}}");
	free(b);
	s.os_project_id = "pid";
	s.os_user_domain_name = "ud";
	cr_assert_eq(fs_keystone_request_body(&b, &s), 0);
	cr_assert(strstr(b, "\"scope\":{\"project\":{\"id\":\"pid\"}}"), "%s", b);
	cr_assert(strstr(b, "\"domain\":{\"name\":\"ud\"}"), "%s", b);
	free(b);
	memset(&s, 0, sizeof(s));
	s.os_application_credential_id = "acid";
	s.os_application_credential_secret = "sec";
	cr_assert_eq(fs_keystone_request_body(&b, &s), 0);
	cr_assert_str_eq(b, "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
		"\"application_credential\":{\"id\":\"acid\",\"secret\":\"sec\"}}}}");
	free(b);
	s.os_application_credential_secret = NULL;
	cr_assert_eq(fs_keystone_request_body(&b, &s), FASTSNAP_ECONFIG);
	memset(&s, 0, sizeof(s));
	s.os_username = "demo";
	cr_assert_eq(fs_keystone_request_body(&b, &s), FASTSNAP_ECONFIG);
}

/* Keystone's timestamps, and when a token is renewed before it expires. */
Test(keystone, token_times_and_staleness)
{
	cr_assert_eq(fs_keystone_time("2026-12-01T12:00:00.000000Z"), 1796126400LL);
	cr_assert_eq(fs_keystone_time("2026-12-01T12:00:10Z"), 1796126410LL);
	cr_assert_eq(fs_keystone_time(NULL), 0);
	cr_assert_eq(fs_keystone_time("yesterday"), 0);
	cr_assert_eq(fs_keystone_time("2026-13-01T00:00:00Z"), 0);
	/* one hour: renewed in its last minute */
	cr_assert_not(fs_keystone_token_stale(1000, 4600, 4539));
	cr_assert(fs_keystone_token_stale(1000, 4600, 4540));
	/* 10 s: renewed in its last 2 s */
	cr_assert_not(fs_keystone_token_stale(1000, 1010, 1007));
	cr_assert(fs_keystone_token_stale(1000, 1010, 1008));
	/* unknown expiry: never (a 401 renews it) */
	cr_assert_not(fs_keystone_token_stale(0, 0, 99999));
}
