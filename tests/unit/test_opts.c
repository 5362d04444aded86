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

/* A heap block holding exactly the version-1 part of `full`. */
static void *v1_copy(const void *full, size_t v1_size)
{
	void *p = malloc(v1_size);
	cr_assert_not_null(p);
	memcpy(p, full, v1_size);
	*(unsigned int *)p = 1;
	return p;
}

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
