/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_glance_lookups.c: what the plan asks Glance
 * (clients/glance_lookups.c) against tests/support/fault_server.py: the
 * stores without their detail, and the look-ups issued at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fault_suite.h"

TestSuite(glance_lookups, .init = fs_test_fault_suite_init, .fini = fs_test_fault_suite_fini,
	.timeout = 60);

Test(glance_lookups, stores_without_detail)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "glance", tag, 0);
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

/* ---- the plan's look-ups, concurrently ---- */

/* All four at once, each answered as alone; the schema is kept by the
 * client, so the image's creation asks for it no more. */
Test(glance_lookups, lookups_all_answer)
{
	FS_TEST_TAG(tag);
	fs_settings s;
	fs_glance *g = fs_test_fault_client(&s, "glance", tag, 0);
	fs_lookups lk;
	fs_lookups_req q = { .base_id = "abc", .want_schema = 1 };
	cr_assert_eq(fs_glance_lookups(g, &lk, &q), 0, "%s", fastsnap_error_last());
	cr_assert_eq(lk.stores_rc, 0);
	cr_assert_eq(lk.stores.n, 3);
	cr_assert_eq(lk.stores.has_detail, 0, "the fake's detail is 403: no detail");
	cr_assert_eq(lk.base_rc, 0);
	cr_assert_str_eq(lk.base->id, "abc");
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "count"), 4);
	fs_image_schema sc;
	cr_assert_eq(fs_glance_image_schema(g, &sc), 0, "%s", fastsnap_error_last());
	cr_assert(fs_image_schema_is_read_only(&sc, "size"));
	fs_image_schema_free(&sc);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "count"), 4, "the schema was asked again");
	fs_lookups_free(&lk);
	/* without a base image: stores and detail only */
	fs_lookups_req q2 = { 0 };
	cr_assert_eq(fs_glance_lookups(g, &lk, &q2), 0, "%s", fastsnap_error_last());
	cr_assert_null(lk.base);
	cr_assert_eq(fs_test_fault_state_int("glance", tag, "count"), 6);
	fs_lookups_free(&lk);
	fs_glance_free(g);
	fs_settings_free(&s);
}

/* One look-up fails (each call takes 150 ms, so they overlap): its
 * error is the one it has alone, naming its call; the others are joined
 * with their answers; nothing leaks (ASan). */
Test(glance_lookups, lookups_one_fails_the_others_are_joined)
{
	const char *kinds[] = { "stores", "detail", "base", "schema" };
	const char *names[] = { "Glance GET /v2/info/stores: 500",
		"Glance GET /v2/info/stores/detail: 500", "Glance GET /v2/images/abc: 500", NULL };
	for (size_t i = 0; i < 4; i++) {
		FS_TEST_TAG(tag);
		char scen[32];
		snprintf(scen, sizeof(scen), "fail500on%s", kinds[i]);
		fs_settings s;
		fs_glance *g = fs_test_fault_client(&s, scen, tag, 0);
		fs_lookups lk;
		fs_lookups_req q = { .base_id = "abc", .want_schema = 1 };
		cr_assert_eq(fs_glance_lookups(g, &lk, &q), 0, "%s: %s", scen, fastsnap_error_last());
		cr_assert_geq(fs_test_fault_state_int(scen, tag, "max_inflight"), 2, "%s: the calls did not overlap",
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
