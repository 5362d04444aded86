/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_glance_location.c: the Glance client's location calls
 * (clients/glance_location.c) against tests/support/fault_server.py: the
 * POST with its poll, the fallback to the JSON-patch and its errors, the
 * in-progress mark's removal joined to the PATCH, and no call after the
 * location that its answer makes redundant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fault_suite.h"
#include "register/register.h"

TestSuite(glance_location, .init = fs_test_fault_suite_init, .fini = fs_test_fault_suite_fini,
	.timeout = 60);

static int add_loc(const char *scen, const char *tag, char **post, char **patch)
{
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, scen, tag, 0);
	fs_validation vd = { "sha512", "abcd", "md5x" };
	int rc = fs_glance_add_location(g, "img-1", "rbd://f/images/img-1/snap", "fast", &vd, 10);
	*post = fs_test_fault_state_str(scen, tag, "last_post");
	*patch = fs_test_fault_state_str(scen, tag, "last_patch");
	fs_glance_free(g);
	fs_settings_free(&s);
	return rc;
}

Test(glance_location, location_post_202_polls_until_active)
{
	FS_TEST_TAG(tag);
	char *post, *patch;
	cr_assert_eq(add_loc("loc-202-200", tag, &post, &patch), 0, "%s", fastsnap_error_last());
	/* Glance >= 29 takes os_hash_algo and os_hash_value only (a checksum is a 400) */
	cr_assert_str_eq(post, "{\"url\":\"rbd://f/images/img-1/snap\",\"validation_data\":"
		"{\"os_hash_algo\":\"sha512\",\"os_hash_value\":\"abcd\"}}");
	cr_assert_null(patch);
	/* POST, then GETs until active (the fake needs 2 polls) */
	cr_assert_eq(fs_test_fault_state_int("loc-202-200", tag, "count"), 3);
	free(post);
}

Test(glance_location, location_fallbacks_to_patch)
{
	/* 404/405: no POST (Glance < 29); 403: no service role (Nova also tries the PATCH) */
	const char *ok[] = { "loc-404-200", "loc-405-200", "loc-403-200" };
	for (size_t i = 0; i < 3; i++) {
		FS_TEST_TAG(tag);
		char *post, *patch;
		cr_assert_eq(add_loc(ok[i], tag, &post, &patch), 0, "%s: %s", ok[i],
			fastsnap_error_last());
		cr_assert_not_null(post);
		cr_assert_str_eq(patch, "[{\"op\":\"add\",\"path\":\"/locations/-\",\"value\":"
			"{\"url\":\"rbd://f/images/img-1/snap\",\"metadata\":{\"store\":\"fast\"},"
			"\"validation_data\":{\"os_hash_algo\":\"sha512\",\"os_hash_value\":\"abcd\","
			"\"checksum\":\"md5x\"}}}]");
		cJSON *j = fs_test_fault_state(&fs_test_srv, ok[i], tag);
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headers"),
			"Content-Type")->valuestring, "application/openstack-images-v2.1-json-patch");
		cJSON_Delete(j);
		free(post);
		free(patch);
	}
}

Test(glance_location, location_patch_errors)
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
		FS_TEST_TAG(tag);
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

/* ---- no call after the location that its answer makes redundant ---- */

/* Glance < 29: the in-progress mark's removal rides in the location PATCH,
 * whose answer (active, 1024 bytes) spares the final GET. */
Test(glance_location, location_patch_joins_removal_and_spares_final_get)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "loc-404-200", tag, 0);
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 10, .remove_props = &k, .n_remove = 1 };
	cr_assert_eq(fs_glance_add_location_removing_props(g, "img-1", "rbd://f/images/img-1/snap", "fast", &lo),
		0, "%s", fastsnap_error_last());
	char *patch = fs_test_fault_state_str("loc-404-200", tag, "last_patch");
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
	cr_assert_eq(fs_test_fault_state_int("loc-404-200", tag, "count"), 2);
	/* another size than the answer's: the final check asks Glance again */
	cr_assert_eq(fs_register_final_check(g, "img-1", 2048, "direct"), 0, "%s",
		fastsnap_error_last());
	cr_assert_eq(fs_test_fault_count_methods("loc-404-200", tag, "GET /v2/images/img-1"), 1);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* A 409 to the joined document (the property is gone already) is tried
 * again without the removal; a 409 to that stays an error. */
Test(glance_location, location_patch_409_tried_again_without_removal)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "loc-404-409", tag, 0);
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 10, .remove_props = &k, .n_remove = 1 };
	cr_assert_eq(fs_glance_add_location_removing_props(g, "img-1", "rbd://f/images/img-1/snap", "fast", &lo),
		FASTSNAP_ECONFLICT);
	cr_assert_eq(fs_test_fault_count_methods("loc-404-409", tag, "PATCH"), 2);
	char *patch = fs_test_fault_state_str("loc-404-409", tag, "last_patch");
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
Test(glance_location, location_post_poll_spares_final_get)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "loc-202-200", tag, 0);
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
	int gets = fs_test_fault_count_methods("loc-202-200", tag, "GET");
	cr_assert_eq(gets, 2, "the fake needs 2 polls");
	cr_assert_eq(fs_register_final_check(g, "img-1", 1024, "direct"), 0, "%s",
		fastsnap_error_last());
	/* two more polls until the task's lock goes, then the PATCH, last */
	cr_assert_eq(fs_test_fault_count_methods("loc-202-200", tag, "GET"), gets + 2);
	cr_assert_eq(fs_test_fault_count_methods("loc-202-200", tag, "PATCH"), 1);
	cJSON *j = fs_test_fault_state(&fs_test_srv, "loc-202-200", tag);
	const cJSON *ms = cJSON_GetObjectItem(j, "methods");
	const cJSON *last = cJSON_GetArrayItem(ms, cJSON_GetArraySize(ms) - 1);
	cr_assert(!strncmp(last->valuestring, "PATCH", 5), "last request: %s", last->valuestring);
	cJSON_Delete(j);
	char *patch = fs_test_fault_state_str("loc-202-200", tag, "last_patch");
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
Test(glance_location, location_poll_backoff)
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
