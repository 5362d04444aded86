/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_branches.c: the two branches a run starts with
 * (docs/architecture.md, "The two branches"): the disk's speculative temporary
 * snapshot on the caller's thread, the plan and the image creation on
 * another. A failure in either undoes what the other made: a refused
 * capture after Glance created the image deletes the image; a plan or an
 * image creation that fails removes the snapshot; a request refused on its
 * face and a dry run take no snapshot at all. Each case checks Glance
 * and both pools against what was there before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "devenv.h"
#include "fastsnap.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(branches, .timeout = 300);

typedef struct {
	int begin, end;
	unsigned int delay_ms;   /* BEGIN waits this long ... */
	int refuse;              /* ... then refuses */
} cap_log;

static int on_capture(fastsnap_capture_event ev, void *p)
{
	cap_log *l = p;
	if (ev == FASTSNAP_CAPTURE_END) {
		l->end++;
		return 0;
	}
	l->begin++;
	struct timespec ts = { l->delay_ms / 1000, (long)(l->delay_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	return l->refuse;
}

/* A test's base image and disk, and the world as it was once they were
 * made. */
typedef struct {
	char *base, *disk, *name;
	char spec[256];
	fst_world before;
} fixture;

static void fixture_make(fixture *f)
{
	f->base = fst_base_image("fast", 4 * MiB, 7);
	f->disk = fst_unique("fst-br");
	f->name = fst_unique("fst-brimg");
	char sha[129];
	fst_nova_disk(vms, images, f->base, f->disk, 16 * MiB, 8, NULL, sha);
	snprintf(f->spec, sizeof(f->spec), "vms/%s", f->disk);
	fst_world_take(&f->before, images, vms);
}

/* The case `what` left the world as it found it, and no snapshot on the
 * disk; then the fixture goes. */
static void fixture_done(fixture *f, const char *what)
{
	fst_world_same(&f->before, images, vms, what);
	fst_world_free(&f->before);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, f->disk, &snaps), 0, "%s: snapshots left on the disk: %s",
		what, snaps);
	free(snaps);
	fst_rbd_remove_all(vms, f->disk);
	fst_glance_delete(f->base);
	free(f->base); free(f->disk); free(f->name);
}

static fastsnap_snapshot_opts opts_for(const fixture *f, cap_log *l)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = f->spec;
	o.name = f->name;
	o.base_image_ref = f->base;
	o.flatten = FASTSNAP_FLATTEN_NONE;
	o.capture_cb = on_capture;
	o.capture_payload = l;
	return o;
}

/* The capture branch fails after the Glance branch created the image (the
 * freeze is refused 1.5 s late): the image is deleted, nothing is left,
 * and the error is the capture's. */
Test(branches, refused_capture_deletes_the_created_image)
{
	fixture f;
	fixture_make(&f);
	fastsnap_engine *e = fst_engine();
	cap_log l = { 0, 0, 1500, 1 };
	fastsnap_snapshot_opts o = opts_for(&f, &l);
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	cr_assert_eq(rc, FASTSNAP_ECANCELED, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "capture callback"), "%s", fastsnap_error_last());
	cr_assert_eq(l.begin, 1);
	cr_assert_eq(l.end, 0, "END after a refused BEGIN");
	const char *id = fastsnap_result_image_id(r);
	cr_assert_not_null(id, "the result names the image id");
	/* The image was created while BEGIN waited, then deleted. */
	int named = 0;
	for (size_t i = 0; i < fastsnap_result_cleanup_count(r); i++)
		named |= strstr(fastsnap_result_cleanup_get(r, i), id) != NULL;
	cr_assert(named, "the clean-up names the deleted image %s: %s", id, fastsnap_result_json(r));
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
	fixture_done(&f, "refused capture");
}

/* The Glance branch fails in the plan (an unknown store) while the
 * speculative snapshot is taken: the snapshot is removed, and the
 * capture's END came after its BEGIN. */
Test(branches, failed_plan_removes_the_speculative_snapshot)
{
	fixture f;
	fixture_make(&f);
	fastsnap_engine *e = fst_engine();
	cap_log l = { 0 };
	fastsnap_snapshot_opts o = opts_for(&f, &l);
	o.store = "no-such-store";
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	cr_assert_lt(rc, 0);
	cr_assert(strstr(fastsnap_error_last(), "no-such-store"), "the plan's error first: %s",
		fastsnap_error_last());
	cr_assert_eq(l.begin, l.end, "BEGIN %d, END %d", l.begin, l.end);
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
	fixture_done(&f, "failed plan");
}

/* The image creation fails (Glance answers 500 to the POST, through the
 * fault proxy) after the snapshot was taken: the snapshot is removed. */
Test(branches, failed_image_create_removes_the_snapshot)
{
	fixture f;
	fixture_make(&f);
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, "--fault create:500");
	fastsnap_engine_opts eo = fst_engine_opts();
	eo.glance_url = url;
	eo.num_retries = 1;
	fastsnap_engine *e = NULL;
	cr_assert_eq(fastsnap_engine_open(&e, &eo), 0, "%s", fastsnap_error_last());
	cap_log l = { 0 };
	fastsnap_snapshot_opts o = opts_for(&f, &l);
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	cr_assert_lt(rc, 0);
	cr_assert(strstr(fastsnap_error_last(), "POST /v2/images"), "%s", fastsnap_error_last());
	cr_assert_eq(l.begin, 1, "the snapshot was taken (BEGIN %d)", l.begin);
	cr_assert_eq(l.end, 1);
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
	fst_proxy_stop(proxy);
	free(url);
	fixture_done(&f, "failed image create");
}

/* Refused on its face (a name over Glance's 255 characters), and a dry
 * run: no capture signal, no snapshot. */
Test(branches, no_snapshot_before_the_request_checks_or_in_a_dry_run)
{
	fixture f;
	fixture_make(&f);
	fastsnap_engine *e = fst_engine();
	cap_log l = { 0 };
	fastsnap_snapshot_opts o = opts_for(&f, &l);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	o.name = longname;
	fastsnap_result *r = NULL;
	cr_assert_eq(fastsnap_snapshot(&r, e, &o), FASTSNAP_EINVAL, "%s", fastsnap_error_last());
	fastsnap_result_free(r);
	cr_assert_eq(l.begin, 0, "a capture for a request refused on its face");

	o = opts_for(&f, &l);
	cr_assert_eq(fastsnap_plan(&r, e, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fastsnap_result_path(r), FASTSNAP_PATH_DIRECT);
	fastsnap_result_free(r);
	cr_assert_eq(l.begin, 0, "a capture in a dry run");
	fastsnap_engine_close(e);
	fixture_done(&f, "refused request and dry run");
}
