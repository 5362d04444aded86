/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_snapshot_fallback.c: when the direct path is
 * refused, fastsnap removes what it made and streams instead, and says
 * why; when Glance cannot open an unflattened clone, it flattens and
 * registers again. Each case uses a real Glance configured for it (a
 * second glance-api on the same database, tests/support/glance-extra) or
 * a real Ceph user with fewer caps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms, images;

static void setup(void) { fst_pools_open(&admin, &vms, &images); }

/* Helpers a test started, stopped in teardown even when an assertion
 * ended the test early. */
static char extra_dir[64];
static pid_t proxy_pid;

static void teardown(void)
{
	if (extra_dir[0])
		fst_sh(NULL, NULL, "%s/glance-extra stop %s; rm -rf %s", fst_env("FASTSNAP_TEST_SUPPORT"),
			extra_dir, extra_dir);
	fst_proxy_stop(proxy_pid);
	fst_pools_close(admin, vms, images);
}

TestSuite(fallback, .init = setup, .fini = teardown, .timeout = 300);

static char *glance_extra(char dir[64], const char *opts)
{
	strcpy(dir, "/tmp/fst-glance-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char *url = NULL, *err = NULL;
	int st = fst_sh(&url, &err, "%s/glance-extra start %s %s", fst_env("FASTSNAP_TEST_SUPPORT"),
		dir, opts);
	strcpy(extra_dir, dir);
	cr_assert_eq(st, 0, "glance-extra failed: %s", err);
	url[strcspn(url, "\n")] = '\0';
	free(err);
	return url;
}

static void glance_extra_stop(const char *dir)
{
	fst_sh(NULL, NULL, "%s/glance-extra stop %s; rm -rf %s", fst_env("FASTSNAP_TEST_SUPPORT"), dir, dir);
	extra_dir[0] = '\0';
}

typedef fst_nova_case scenario;

static int all(uint64_t o) { (void)o; return 1; }

static void scenario_make(scenario *s)
{
	fst_nova_case_make(s, vms, images, "fst-fbdisk", 8 * MiB, 5, 20 * MiB, 9, all);
}

static void scenario_free(scenario *s) { fst_nova_case_free(s, vms); }

/* The image is active, holds the disk's data, and nothing of the direct
 * attempt is left: no snapshot on the disk, and images/<id> (if any) is
 * Glance's own upload, not a clone. */
static void check_streamed_image(const scenario *s, cJSON *j)
{
	const char *id = fst_jstr(j, "image_id");
	cr_assert_not_null(id);
	char *st = fst_glance_status(id);
	cr_assert_str_eq(st, "active");
	free(st);
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, s->sha);
	cr_assert_eq(fst_rbd_snap_count(vms, s->disk, NULL), 0, "snapshot left on the disk");
	if (fst_rbd_exists(images, id))
		cr_assert_not(fst_rbd_parent(images, id, NULL, NULL), "images/%s is still fastsnap's clone", id);
}

/* A Ceph user with `osd_caps` and its keyring (path in `keyring`, or
 * under the dev state dir as $cluster.$name.keyring when NULL). */
static char *ceph_user(const char *prefix, const char *osd_caps, const char *keyring)
{
	char *user = fst_unique(prefix);
	char path[256];
	if (keyring)
		snprintf(path, sizeof(path), "%s", keyring);
	else
		snprintf(path, sizeof(path), "%s/ceph.client.%s.keyring", fst_env("FASTSNAP_DEV_DIR"), user);
	int st = fst_sh(NULL, NULL, "ceph -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"auth get-or-create client.%s mon 'profile rbd' osd '%s' -o %s", user, osd_caps, path);
	cr_assert_eq(st, 0, "cannot create client.%s", user);
	return user;
}

static void ceph_user_remove(char *user, const char *keyring)
{
	fst_sh(NULL, NULL, "ceph -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"auth rm client.%s; rm -f %s $FASTSNAP_DEV_DIR/ceph.client.%s.keyring", user,
		keyring ? keyring : "", user);
	free(user);
}

/* Snapshot a Nova-style disk with the global options `opts` (another
 * Glance, another Ceph user): it must stream into `fast`, say why (every
 * needle in the reason), and leave nothing of the direct attempt. */
static void streams_instead(const char *opts, const char *why1, const char *why2)
{
	scenario s;
	scenario_make(&s);
	char *name = fst_unique("fst-fbstream");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "%s snapshot --disk vms/%s --name %s "
		"--base-image-ref %s", opts, s.disk, name, s.base);
	cr_assert_eq(st, 0, "snapshot failed: %s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cr_assert_str_eq(fst_jstr(j, "store"), "fast");
	const char *reason = fst_jstr(j, "reason");
	cr_assert(strstr(reason, why1) && (!why2 || strstr(reason, why2)), "reason: %s", reason);
	check_streamed_image(&s, j);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err); free(name);
	scenario_free(&s);
}

Test(fallback, bookworm_location_patch_refused_streams_instead)
{
	FST_NEED_STACK("bookworm", "the location is registered by PATCH only before Glance 29; "
		"Glance 30 takes the POST (its refusal: trixie::glance30_without_service_token_"
		"streams_and_names_service_user)");
	/* Glance answers the location PATCH with 403 (what show_multiple_locations
	 * = False does), through a proxy that still shows locations so that
	 * our cluster's fsid is known and the direct path is tried. */
	char *url = fst_proxy_start(&proxy_pid, "--deny-location-patch");
	char opts[128];
	snprintf(opts, sizeof(opts), "--glance-url %s", url);
	streams_instead(opts, "refused", "locations");
	free(url);
	fst_proxy_stop(proxy_pid);
	proxy_pid = 0;
}

Test(fallback, bookworm_locations_hidden_streams_and_says_why)
{
	FST_NEED_STACK("bookworm", "before Glance 30 only a visible rbd:// location gives the "
		"store's fsid; Glance 30 reports it in stores/detail (trixie::glance30_volume_"
		"backed_fsid_from_stores_detail)");
	/* A Glance with show_multiple_locations = False hides the base image's
	 * rbd:// location, so nothing establishes the store's cluster: stream. */
	char dir[64];
	char *url = glance_extra(dir, "--no-locations");
	char opts[128];
	snprintf(opts, sizeof(opts), "--glance-url %s", url);
	streams_instead(opts, "fsid is unknown", NULL);
	free(url);
	glance_extra_stop(dir);
}

Test(fallback, clone_not_permitted_streams_instead)
{
	/* A compute-node user that may read `images` but not write it. */
	char keyring[] = "/tmp/fst-ro-XXXXXX";
	int fd = mkstemp(keyring);
	cr_assert_geq(fd, 0);
	close(fd);
	char *user = ceph_user("fst-ro", "profile rbd pool=vms, profile rbd-read-only pool=images", keyring);
	char opts[512];
	snprintf(opts, sizeof(opts), "--ceph-user %s --keyring %s", user, keyring);
	streams_instead(opts, "refused", "clone");
	ceph_user_remove(user, keyring);
}

static void unflattened_rejected(const char *mode)
{
	/* Glance's Ceph user may read `images` only: it cannot open a clone
	 * whose parent is in `vms` until that clone is flat. */
	char *user = ceph_user("fst-gimg", "profile rbd pool=images", NULL);
	char dir[64], opts[128];
	snprintf(opts, sizeof(opts), "--ceph-user %s", user);
	char *url = glance_extra(dir, opts);
	scenario s;
	scenario_make(&s);
	char *name = fst_unique("fst-fbflat");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "--glance-url %s snapshot --disk vms/%s --name %s "
		"--base-image-ref %s --flatten %s", url, s.disk, name, s.base, mode);
	cr_assert_eq(st, 0, "[%s] snapshot failed: %s", mode, err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct");
	const char *reason = fst_jstr(j, "reason");
	cr_assert(strstr(reason, "flattened and registered again"), "[%s] reason: %s", mode, reason);
	const char *id = fst_jstr(j, "image_id");
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, s.sha);
	cr_assert_not(fst_rbd_parent(images, id, NULL, NULL), "[%s] the clone is not flat", mode);
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0);
	cr_assert_eq(fst_rbd_trash_snap_count(vms, s.disk), 0);
	fst_glance_delete(id);
	cr_assert_not(fst_rbd_exists(images, id));
	cJSON_Delete(j);
	free(err); free(name); free(url);
	scenario_free(&s);
	glance_extra_stop(dir);
	ceph_user_remove(user, NULL);
}

Test(fallback, unflattened_clone_rejected_deferred) { unflattened_rejected("deferred"); }
Test(fallback, unflattened_clone_rejected_none) { unflattened_rejected("none"); }
