/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_opts.c: versioned option structs (core/opts.c). A program built
 * against the version-1 header passes a struct that ends where version 2's
 * fields begin: the library must read no byte past it (ASan checks the
 * exact-size heap copies below) and give the new fields their defaults.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "core/opts.h"
#include "core/settings.h"
#include "plan/plan.h"

/* A heap block holding exactly the first `size` bytes of `full`, as a
 * caller of that version allocates it, with its version field set. */
static void *versioned_copy(const void *full, size_t size, unsigned int version)
{
	void *p = malloc(size);
	cr_assert_not_null(p);
	memcpy(p, full, size);
	*(unsigned int *)p = version;
	return p;
}

static void *v1_copy(const void *full, size_t v1_size) { return versioned_copy(full, v1_size, 1); }

Test(opts, snapshot_version_1_is_read_without_its_missing_fields)
{
	fastsnap_snapshot_opts full = FASTSNAP_SNAPSHOT_OPTS_INIT;
	full.name = "n";
	full.disk = "vms/d";
	full.flatten = FASTSNAP_FLATTEN_NONE;
	full.capture_payload = &full;   /* must not be read from a v1 struct */
	fastsnap_snapshot_opts *v1 = v1_copy(&full, offsetof(fastsnap_snapshot_opts, capture_cb));
	fastsnap_snapshot_opts out;
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, v1), 0, "%s", fastsnap_error_last());
	cr_assert_eq(out.version, FASTSNAP_SNAPSHOT_OPTS_VERSION);
	cr_assert_str_eq(out.name, "n");
	cr_assert_str_eq(out.disk, "vms/d");
	cr_assert_eq(out.flatten, FASTSNAP_FLATTEN_NONE);
	cr_assert_null(out.capture_cb);
	cr_assert_null(out.capture_payload);
	free(v1);
}

Test(opts, engine_version_1_gets_defaults_for_new_fields)
{
	fastsnap_engine_opts full = FASTSNAP_ENGINE_OPTS_INIT;
	full.glance_url = "http://127.0.0.1:1";
	full.num_retries = 2;
	full.retry_base_ms = 7;          /* a version-2 field: must not be read */
	fastsnap_engine_opts *v1 = v1_copy(&full, offsetof(fastsnap_engine_opts, retry_base_ms));
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, v1), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.glance_url, "http://127.0.0.1:1");
	cr_assert_eq(s.num_retries, 2);
	cr_assert_eq(s.retry_base_ms, 1000);
	cr_assert_eq(s.heartbeat_s, 5);
	fs_settings_free(&s);
	free(v1);

	full.heartbeat_period_s = 2;
	cr_assert_eq(fs_settings_resolve(&s, &full), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.retry_base_ms, 7);
	cr_assert_eq(s.heartbeat_s, 2);
	fs_settings_free(&s);
}

Test(opts, unknown_versions_are_refused)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT, out;
	o.version = 0;
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, &o), FASTSNAP_EINVAL);
	o.version = FASTSNAP_SNAPSHOT_OPTS_VERSION + 1;
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, &o), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "FASTSNAP_SNAPSHOT_OPTS_INIT"), "%s", fastsnap_error_last());
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, NULL), FASTSNAP_EINVAL);
}

/* Version 4 added glance_cache_s: a version-3 struct (exact size) gets the
 * default; 0 in the options is the default, negative keeps nothing. */
Test(opts, engine_version_3_gets_the_default_glance_cache)
{
	fastsnap_engine_opts full = FASTSNAP_ENGINE_OPTS_INIT;
	full.glance_url = "http://127.0.0.1:1";
	full.call_deadline_s = 9;
	full.glance_cache_s = 77;        /* a version-4 field: must not be read */
	size_t v3 = offsetof(fastsnap_engine_opts, glance_cache_s);
	void *p = v1_copy(&full, v3);
	*(unsigned int *)p = 3;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, p), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.call_deadline_s, 9);
	cr_assert_eq(s.glance_cache_s, 30);
	cr_assert_null(s.glance_shared, "settings alone make no shared state");
	fs_settings_free(&s);
	free(p);

	cr_assert_eq(fs_settings_resolve(&s, &full), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 77);
	fs_settings_free(&s);
	full.glance_cache_s = -1;
	cr_assert_eq(fs_settings_resolve(&s, &full), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_cache_s, 0);
	fs_settings_free(&s);
	full.glance_cache_s = 86401;
	cr_assert_eq(fs_settings_resolve(&s, &full), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "glance_cache_s"), "%s", fastsnap_error_last());
}

/* Version 5 of the snapshot options added target_pool and tmp_snap_name
 * (Nova's backend, docs/nova.md): a version-4 struct (exact size) gets
 * NULL for both, and the request checks refuse them outside Ceph-only
 * mode or when malformed. */
Test(opts, snapshot_version_4_has_no_target_pool)
{
	fastsnap_snapshot_opts full = FASTSNAP_SNAPSHOT_OPTS_INIT;
	full.name = "n";
	full.disk = "vms/d";
	full.target_pool = "images";     /* a version-5 field: must not be read */
	full.tmp_snap_name = "abc";
	size_t v4_size = offsetof(fastsnap_snapshot_opts, target_pool);
	fastsnap_snapshot_opts *v4 = versioned_copy(&full, v4_size, 4);
	fastsnap_snapshot_opts out;
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, v4), 0, "%s", fastsnap_error_last());
	cr_assert_null(out.target_pool);
	cr_assert_null(out.tmp_snap_name);
	free(v4);
}

Test(opts, target_pool_and_snap_name_are_checked)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.name = "n";
	o.disk = "vms/d";
	o.target_pool = "images";
	cr_assert_eq(fs_plan_check_request(&o), FASTSNAP_EINVAL, "target pool without Ceph-only mode");
	o.flags = FASTSNAP_SNAPSHOT_CEPH_ONLY;
	o.image_id = "0b5e2c3a-6f7d-4e8a-9b1c-2d3e4f5a6b7c";
	cr_assert_eq(fs_plan_check_request(&o), 0, "%s", fastsnap_error_last());
	o.target_pool = "images/x";
	cr_assert_eq(fs_plan_check_request(&o), FASTSNAP_EINVAL);
	o.target_pool = "images";
	o.tmp_snap_name = "a@b";
	cr_assert_eq(fs_plan_check_request(&o), FASTSNAP_EINVAL);
	o.tmp_snap_name = "0123456789abcdef0123456789abcdef";   /* Nova's uuid4().hex */
	cr_assert_eq(fs_plan_check_request(&o), 0, "%s", fastsnap_error_last());
}

/* Version 6 added the copies (copy_to, ..., copy_payload): a version-5
 * struct (exact size) gets none of them. */
Test(opts, snapshot_version_5_has_no_copies)
{
	fastsnap_snapshot_opts full = FASTSNAP_SNAPSHOT_OPTS_INIT;
	const char *stores[] = { "edge" };
	full.name = "n";
	full.disk = "vms/d";
	full.copy_to = stores;          /* version-6 fields: must not be read */
	full.copy_to_count = 1;
	full.copy_all_must_succeed = -1;
	full.copy_wait_s = 5;
	size_t v5_size = offsetof(fastsnap_snapshot_opts, copy_to);
	fastsnap_snapshot_opts *v5 = versioned_copy(&full, v5_size, 5);
	fastsnap_snapshot_opts out;
	cr_assert_eq(fs_snapshot_opts_upgrade(&out, v5), 0, "%s", fastsnap_error_last());
	cr_assert_eq(out.version, FASTSNAP_SNAPSHOT_OPTS_VERSION);
	cr_assert_null(out.copy_to);
	cr_assert_eq(out.copy_to_count, 0);
	cr_assert_eq(out.copy_all_must_succeed, 0);
	cr_assert_eq(out.copy_wait_s, 0);
	cr_assert_null(out.copy_cb);
	free(v5);
	/* fastsnap_copy's options: version 1 is the current one; 2 is refused */
	fastsnap_copy_opts c = FASTSNAP_COPY_OPTS_INIT, cout;
	cr_assert_eq(fs_copy_opts_upgrade(&cout, &c), 0, "%s", fastsnap_error_last());
	c.version = FASTSNAP_COPY_OPTS_VERSION + 1;
	cr_assert_eq(fs_copy_opts_upgrade(&cout, &c), FASTSNAP_EINVAL);
}
