/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_snapshot_direct.c: the engine's direct path and
 * store policy against the dev cluster (issue 4's "done means"): a disk
 * booted the way Nova boots, snapshotted into the rbd store `fast` while
 * `local` is the default, in every flatten mode; a bad store; and a forced
 * failure after each step leaving exactly what was there before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(direct, .timeout = 300);

static int every_other(uint64_t obj) { return obj % 2 == 0; }

typedef fst_nova_case scenario;

static void scenario_make(scenario *s, uint64_t size)
{
	fst_nova_case_make(s, vms, images, "fst-disk", 16 * MiB, 7, size, 11, every_other);
}

static void scenario_free(scenario *s) { fst_nova_case_free(s, vms); }

/* Snapshot and check everything issue 4 asks of a good direct image. */
static char *snapshot_ok(scenario *s, const char *flatten)
{
	char *name = fst_unique("fst-snap");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--flatten %s --instance-uuid 0b7d8e55-6f5e-4bd4-a4b6-1b5b8a9d4f00", s->disk, name,
		s->base, flatten);
	cr_assert_eq(st, 0, "fastsnap snapshot failed (%d): %s", st, err);
	cr_assert_not_null(j, "no JSON on stdout; stderr: %s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "reason: %s", fst_jstr(j, "reason"));
	cr_assert_str_eq(fst_jstr(j, "store"), "fast");
	cr_assert_str_eq(fst_jstr(j, "flatten"), flatten);
	char *id = strdup(fst_jstr(j, "image_id"));
	char want[256];
	snprintf(want, sizeof(want), "rbd://%s/images/%s/snap", fst_env("FASTSNAP_DEV_FSID"), id);
	cr_assert_str_eq(fst_jstr(j, "location"), want);
	cJSON_Delete(j);
	free(err);

	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active");
	free(status);
	/* The data read back through Glance equals the disk. */
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, s->sha, "image %s data differs from the disk", id);
	/* Glance's layout: images/<id> with a protected `snap`, and no
	 * temporary snapshot left on the disk. */
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(images, id, &snaps), 1);
	cr_assert_str_eq(snaps, "snap\n");
	free(snaps);
	rbd_image_t img;
	cr_assert_eq(rbd_open_read_only(images, id, &img, NULL), 0);
	int prot = 0;
	cr_assert_eq(rbd_snap_is_protected(img, "snap", &prot), 0);
	cr_assert(prot, "images/%s@snap is not protected", id);
	uint64_t feat = 0;
	rbd_get_features(img, &feat);
	cr_assert_eq(feat & 0x3d, 0x3d, "clone features 0x%llx", (unsigned long long)feat);
	/* The clone is tagged as fastsnap's work (owner, image id, heartbeat,
	 * its flatten mode, so that gc never flattens a `none` clone, and the
	 * done mark: gc never rolls back a finished image). */
	const char *keys[] = { "fastsnap.owner", "fastsnap.image_id", "fastsnap.heartbeat",
		"fastsnap.flatten", "fastsnap.done" };
	for (size_t k = 0; k < 5; k++) {
		char val[256];
		size_t vl = sizeof(val);
		cr_assert_eq(rbd_metadata_get(img, keys[k], val, &vl), 0, "clone lacks %s", keys[k]);
		if (k == 1)
			cr_assert_str_eq(val, id);
		if (k == 3)
			cr_assert_str_eq(val, flatten);
	}
	rbd_close(img);
	/* The image says where its run's heartbeat lived; the in-progress mark is gone. */
	char *at = fst_glance_prop(id, "fastsnap_heartbeat");
	snprintf(want, sizeof(want), "images/%s", id);
	cr_assert(at && !strcmp(at, want), "fastsnap_heartbeat %s, want %s", at, want);
	free(at);
	char *state = fst_glance_prop(id, "fastsnap_state");
	cr_assert_null(state, "fastsnap_state %s left on a finished image", state);
	cr_assert_eq(fst_rbd_snap_count(vms, s->disk, NULL), 0, "a snapshot was left on the disk");
	/* Booting from it: clone images/<id>@snap. */
	char *boot = fst_unique("fst-boot");
	rbd_image_options_t o;
	rbd_image_options_create(&o);
	rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_CLONE_FORMAT, 1);
	cr_assert_eq(rbd_clone3(images, id, "snap", vms, boot, o), 0, "boot clone failed");
	rbd_image_options_destroy(o);
	char bsha[129];
	fst_rbd_sha512(vms, boot, NULL, bsha);
	cr_assert_str_eq(bsha, s->sha);
	fst_rbd_remove_all(vms, boot);
	free(boot);
	free(name);
	return id;
}

/* The instance disk can be deleted, and the image still reads back. */
static void disk_gone_image_reads(scenario *s, const char *id)
{
	fst_rbd_remove_all(vms, s->disk);
	cr_assert_not(fst_rbd_exists(vms, s->disk));
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, s->sha);
}

static void delete_and_check(const char *id)
{
	fst_glance_delete(id);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "", "image %s still in Glance", id);
	free(status);
	cr_assert_not(fst_rbd_exists(images, id), "images/%s left behind after the Glance delete", id);
}

Test(direct, sync_into_base_images_store)
{
	scenario s;
	scenario_make(&s, 48 * MiB);
	char *id = snapshot_ok(&s, "sync");
	/* Properties: Nova's metadata and the inherited base properties. */
	char path[128], *body = NULL;
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	cr_assert_eq(fst_glance(&body, "GET", path, NULL), 200);
	cJSON *j = cJSON_Parse(body);
	cr_assert_str_eq(fst_jstr(j, "image_type"), "snapshot");
	cr_assert_str_eq(fst_jstr(j, "base_image_ref"), s.base);
	cr_assert_str_eq(fst_jstr(j, "instance_uuid"), "0b7d8e55-6f5e-4bd4-a4b6-1b5b8a9d4f00");
	cr_assert_str_eq(fst_jstr(j, "os_distro"), "cirros", "base property not inherited");
	cr_assert_str_eq(fst_jstr(j, "image_location"), "snapshot");
	cr_assert_null(fst_jstr(j, "fastsnap_state"), "in-progress tag left on a finished image");
	cr_assert_not_null(fst_jstr(j, "fastsnap_owner"));
	cr_assert_eq(cJSON_GetObjectItem(j, "min_ram")->valueint, 64);
	cr_assert_eq(cJSON_GetObjectItem(j, "min_disk")->valueint, 1);
	cJSON_Delete(j);
	free(body);
	disk_gone_image_reads(&s, id);
	delete_and_check(id);
	free(id);
	scenario_free(&s);
}

Test(direct, deferred_and_disk_delete)
{
	scenario s;
	scenario_make(&s, 40 * MiB);
	char *id = snapshot_ok(&s, "deferred");
	cr_assert_not(fst_rbd_parent(images, id, NULL, NULL), "deferred clone was not flattened");
	disk_gone_image_reads(&s, id);
	delete_and_check(id);
	free(id);
	scenario_free(&s);
}

Test(direct, none_keeps_clone_chain)
{
	scenario s;
	scenario_make(&s, 40 * MiB);
	char *id = snapshot_ok(&s, "none");
	char *parent = NULL;
	int trashed = 0;
	cr_assert(fst_rbd_parent(images, id, &parent, &trashed), "none mode flattened the clone");
	cr_assert_str_eq(parent, s.disk);
	cr_assert(trashed, "the parent snapshot is not in the trash namespace");
	cr_assert_eq(fst_rbd_trash_snap_count(vms, s.disk), 1);
	free(parent);
	/* Deleting the image works and leaves nothing behind. */
	delete_and_check(id);
	/* And the disk's trashed snapshot went with its last child. */
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0);
	cr_assert_eq(fst_rbd_trash_snap_count(vms, s.disk), 0, "trashed snapshot outlived its last clone");
	free(id);
	scenario_free(&s);
}

Test(direct, none_disk_delete_with_move_parent_to_trash)
{
	scenario s;
	scenario_make(&s, 24 * MiB);
	char *id = snapshot_ok(&s, "none");
	/* With rbd_move_parent_to_trash_on_remove the disk can be deleted
	 * while the image still depends on it. */
	int st = fst_sh(NULL, NULL, "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"--rbd_move_parent_to_trash_on_remove=true rm vms/%s", s.disk);
	cr_assert_eq(st, 0, "rbd rm vms/%s failed", s.disk);
	cr_assert_not(fst_rbd_exists(vms, s.disk));
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, s.sha);
	delete_and_check(id);
	free(id);
	scenario_free(&s);
}

Test(direct, deferred_layering_only_parent)
{
	/* A disk whose parent has only `layering` (features 1). */
	char *parent = fst_unique("fst-l1parent");
	char *disk = fst_unique("fst-l1disk");
	char sha[129];
	fst_rbd_create_filled(vms, parent, 24 * MiB, 1, 3, NULL, sha);
	rbd_image_t p;
	cr_assert_eq(rbd_open(vms, parent, &p, NULL), 0);
	cr_assert_eq(rbd_snap_create(p, "base"), 0);
	cr_assert_eq(rbd_snap_protect(p, "base"), 0);
	rbd_close(p);
	int order = 22;
	cr_assert_eq(rbd_clone(vms, parent, "base", vms, disk, 1, &order), 0);
	fst_rbd_sha512(vms, disk, NULL, sha);

	char *name = fst_unique("fst-l1snap");
	/* A base image in `fast` names the target store and proves its cluster
	 * (its rbd:// location); the disk's real parent is the layering-only one. */
	char *base = fst_base_image("fast", 4 * MiB, 1);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--flatten deferred", disk, name, base);
	cr_assert_eq(st, 0, "snapshot failed: %s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "reason: %s", fst_jstr(j, "reason"));
	cr_assert_str_eq(fst_jstr(j, "flatten"), "deferred");
	const char *id = fst_jstr(j, "image_id");
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha);
	/* Every snapshot of the disk can be removed. */
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0);
	fst_rbd_remove_all(vms, disk);
	cr_assert_not(fst_rbd_exists(vms, disk));
	delete_and_check(id);
	cJSON_Delete(j);
	free(err);
	fst_rbd_remove_all(vms, parent);
	fst_glance_delete(base);
	free(base);
	free(parent);
	free(disk);
	free(name);
}

Test(direct, unknown_store_creates_nothing)
{
	scenario s;
	scenario_make(&s, 16 * MiB);
	char *name = fst_unique("fst-nope");
	char *before = fst_rbd_list(images);
	char *err = NULL;
	cJSON *j = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store nope "
		"--base-image-ref %s", s.disk, name, s.base);
	cr_assert_eq(st, 1, "exit status %d", st);
	cr_assert(strstr(err, "nope") && strstr(err, "not"), "error does not name the store: %s", err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "an image named %s was created", name);
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0, "a snapshot was created");
	char *after = fst_rbd_list(images);
	cr_assert_str_eq(before, after);
	free(before); free(after); free(ids); free(err); free(name);
	cJSON_Delete(j);
	scenario_free(&s);
}

Test(direct, dry_run_plans_without_changes)
{
	scenario s;
	scenario_make(&s, 16 * MiB);
	char *name = fst_unique("fst-plan");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --dry-run --disk vms/%s --name %s "
		"--base-image-ref %s", s.disk, name, s.base);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct");
	cr_assert_str_eq(fst_jstr(j, "store"), "fast");
	cr_assert(strstr(fst_jstr(j, "reason"), "base image"), "reason: %s", fst_jstr(j, "reason"));
	cJSON_Delete(j);
	free(err);
	/* Volume-backed (no base image): Glance's default store, streamed. */
	st = fst_cli_json(&j, &err, NULL, "snapshot --dry-run --disk vms/%s --name %s", s.disk, name);
	cr_assert_eq(st, 0);
	cr_assert_str_eq(fst_jstr(j, "store"), "local");
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cJSON_Delete(j);
	free(err);
	/* A requested file store: streamed. */
	st = fst_cli_json(&j, &err, NULL, "snapshot --dry-run --disk vms/%s --name %s --store local "
		"--base-image-ref %s", s.disk, name, s.base);
	cr_assert_eq(st, 0);
	cr_assert_str_eq(fst_jstr(j, "store"), "local");
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cJSON_Delete(j);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "");
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0);
	free(ids); free(err); free(name);
	scenario_free(&s);
}

/* A failure after the image went active keeps it, marked for gc: the
 * run exits 4, the image is active and readable, the error names the step. */
static void check_kept(const char *flatten, const char *step, const cJSON *j, const char *err,
	const char *sha)
{
	const char *id = fst_jstr(j, "image_id");
	cr_assert_not_null(id, "[%s/%s] no image_id", flatten, step);
	cr_assert_str_eq(fst_jstr(j, "state"), "needs-attention", "[%s/%s]", flatten, step);
	cr_assert(strstr(err, id) && strstr(err, "kept"), "[%s/%s] %s", flatten, step, err);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active", "[%s/%s] a kept image must stay active", flatten, step);
	free(status);
	char *state = fst_glance_prop(id, "fastsnap_state");
	char *why = fst_glance_prop(id, "fastsnap_error");
	cr_assert(state && !strcmp(state, "needs-attention"), "[%s/%s] state %s", flatten, step, state);
	cr_assert(why && strstr(why, step) && strlen(why) <= 255, "[%s/%s] error %s", flatten, step, why);
	free(state);
	free(why);
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha, "[%s/%s] kept image's data differs from the disk", flatten, step);
}

/* Steps after which the image is active (the location is registered). */
static int after_active(const char *flatten, const char *step)
{
	if (!strcmp(step, "location") || !strcmp(step, "final-check"))
		return 1;
	if (!strcmp(step, "tmp-remove"))    /* after the location, in every mode */
		return 1;
	return !strcmp(flatten, "deferred") && !strcmp(step, "flatten");
}

/* A forced failure after each step before the image is active leaves Ceph
 * and Glance as they were; after it, the image is kept (check_kept) and
 * removing it and the temporary snapshot by hand leaves them as they were. */
static void fail_after(const char *flatten, const char *step)
{
	scenario s;
	scenario_make(&s, 16 * MiB);
	char *name = fst_unique("fst-fail");
	/* Everything Glance and both pools hold (tests/run runs the
	 * integration tests one at a time, so nothing else changes them). */
	fst_world before;
	fst_world_take(&before, images, vms);
	char env[128];
	snprintf(env, sizeof(env), "FASTSNAP_TEST_FAIL_AFTER=%s", step);
	char *err = NULL;
	cJSON *j = NULL;
	int kept = after_active(flatten, step);
	int st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--flatten %s", s.disk, name, s.base, flatten);
	cr_assert_eq(st, kept ? 4 : 1, "[%s/%s] exit %d", flatten, step, st);
	cr_assert(strstr(err, step), "[%s/%s] first error not reported: %s", flatten, step, err);
	cr_assert_null(strstr(err, "clean-up failed"), "[%s/%s] %s", flatten, step, err);
	if (kept) {
		check_kept(flatten, step, j, err, s.sha);
		fst_glance_delete(fst_jstr(j, "image_id"));
		fst_sh(NULL, NULL, "for s in $(rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
			"snap ls vms/%s --format json | python3 -c 'import json,sys; [print(x[\"name\"]) for x in "
			"json.load(sys.stdin)]'); do rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
			"snap unprotect vms/%s@$s 2>/dev/null; rbd -c $CEPH_CONF --id admin --keyring "
			"$FASTSNAP_DEV_ADMIN_KEYRING snap rm vms/%s@$s; done", s.disk, s.disk, s.disk);
	}
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "[%s/%s] image left in Glance", flatten, step);
	/* The failed run's JSON names the image it created (from image-create
	 * on): neither Glance nor the images pool may still hold it. */
	const char *id = fst_jstr(j, "image_id");
	if (strcmp(step, "resolve") != 0) {
		cr_assert_not_null(id, "[%s/%s] the failed run's JSON has no image_id", flatten, step);
		char *status = fst_glance_status(id);
		cr_assert_str_eq(status, "", "[%s/%s] image %s is still in Glance", flatten, step, id);
		free(status);
		cr_assert_not(fst_rbd_exists(images, id), "[%s/%s] images/%s left behind", flatten, step, id);
	}
	char what[96];
	snprintf(what, sizeof(what), "[%s/%s]", flatten, step);
	fst_world_same(&before, images, vms, what);
	fst_world_free(&before);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, &snaps), 0, "[%s/%s] snapshots left on the disk: %s",
		flatten, step, snaps);
	char sha[129];
	fst_rbd_sha512(vms, s.disk, NULL, sha);
	cr_assert_str_eq(sha, s.sha, "[%s/%s] disk changed", flatten, step);
	free(snaps); free(ids); free(err); free(name);
	cJSON_Delete(j);
	scenario_free(&s);
}

Test(direct, fail_after_each_step_sync)
{
	const char *steps[] = { "resolve", "image-create", "tmp-snap", "protect", "clone", "flatten",
		"snap", "location", "tmp-remove", "final-check" };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		fail_after("sync", steps[i]);
}

Test(direct, fail_after_each_step_deferred)
{
	const char *steps[] = { "protect", "clone", "snap", "location", "flatten", "tmp-remove",
		"final-check" };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		fail_after("deferred", steps[i]);
}

Test(direct, fail_after_each_step_none)
{
	const char *steps[] = { "tmp-snap", "clone", "tmp-remove", "snap", "location", "final-check" };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		fail_after("none", steps[i]);
}

/* flatten=none deepens the clone chain on every snapshot-then-boot cycle;
 * at the cap the clone is flattened instead, and the reason says so. */
Test(direct, none_flattens_at_the_depth_cap)
{
	scenario s;
	scenario_make(&s, 16 * MiB);          /* disk depth 1 (clone of the base) */
	char cfg[] = "/tmp/fst-cfg-XXXXXX";
	int fd = mkstemp(cfg);
	cr_assert_geq(fd, 0);
	const char *text = "[fastsnap]\nclone_depth_cap = 2\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char *name = fst_unique("fst-depth");
	cJSON *j = NULL;
	char *err = NULL;
	/* depth 2 <= cap: no flatten */
	int st = fst_cli_json(&j, &err, NULL, "--config %s snapshot --disk vms/%s --name %s "
		"--base-image-ref %s --flatten none", cfg, s.disk, name, s.base);
	cr_assert_eq(st, 0, "%s", err);
	char *id1 = strdup(fst_jstr(j, "image_id"));
	cr_assert_null(strstr(fst_jstr(j, "reason"), "over the cap"), "%s", fst_jstr(j, "reason"));
	cJSON_Delete(j);
	free(err);
	/* boot from it: vms/boot is at depth 3 */
	char *boot = fst_unique("fst-depthboot");
	rbd_image_options_t o;
	rbd_image_options_create(&o);
	rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_CLONE_FORMAT, 1);
	cr_assert_eq(rbd_clone3(images, id1, "snap", vms, boot, o), 0);
	rbd_image_options_destroy(o);
	char sha[129];
	fst_rbd_sha512(vms, boot, NULL, sha);
	/* a snapshot of it would be at depth 4 > 2: flattened */
	st = fst_cli_json(&j, &err, NULL, "--config %s snapshot --disk vms/%s --name %s "
		"--base-image-ref %s --flatten none", cfg, boot, name, id1);
	cr_assert_eq(st, 0, "%s", err);
	const char *reason = fst_jstr(j, "reason");
	cr_assert(strstr(reason, "depth 4") && strstr(reason, "cap of 2"), "reason: %s", reason);
	const char *id2 = fst_jstr(j, "image_id");
	cr_assert_not(fst_rbd_parent(images, id2, NULL, NULL), "the clone at the cap was not flattened");
	char got[129];
	fst_glance_download_sha512(id2, got);
	cr_assert_str_eq(got, sha);
	delete_and_check(id2);
	cJSON_Delete(j);
	free(err);
	fst_rbd_remove_all(vms, boot);
	delete_and_check(id1);
	unlink(cfg);
	free(id1); free(boot); free(name);
	scenario_free(&s);
}

/* --detach returns as soon as the image is active; a background child
 * finishes the deferred flatten and removes the temporary snapshot. */
Test(direct, deferred_detach_returns_when_active)
{
	scenario s;
	scenario_make(&s, 256 * MiB);
	char *name = fst_unique("fst-detach");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--flatten deferred --detach", s.disk, name, s.base);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "detached")), "not detached");
	char *id = strdup(fst_jstr(j, "image_id"));
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active", "image not active when --detach returned");
	free(status);
	/* The child finishes: the clone becomes flat, the snapshot goes. */
	int done = 0;
	for (int i = 0; i < 240 && !done; i++) {
		done = !fst_rbd_parent(images, id, NULL, NULL) && fst_rbd_snap_count(vms, s.disk, NULL) == 0;
		if (!done)
			usleep(250 * 1000);
	}
	cr_assert(done, "the background child did not finish the flatten within 60 s");
	/* Its final result is recorded for `fastsnap status` (when it has ended). */
	cJSON *sj = NULL;
	char *serr = NULL;
	for (int i = 0; i < 100; i++) {
		cJSON_Delete(sj);
		free(serr);
		st = fst_cli_json(&sj, &serr, NULL, "status %s", id);
		if (st == 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(st, 0, "fastsnap status %s: %s", id, serr);
	cr_assert_str_eq(fst_jstr(sj, "image_id"), id);
	cr_assert_null(cJSON_GetObjectItem(sj, "error"));
	cJSON_Delete(sj);
	free(serr);
	st = fst_cli_json(NULL, &serr, NULL, "status 00000000-0000-4000-8000-000000000000");
	cr_assert_eq(st, 1, "status of an unknown run: exit %d", st);
	free(serr);
	disk_gone_image_reads(&s, id);
	delete_and_check(id);
	cJSON_Delete(j);
	free(err); free(id); free(name);
	scenario_free(&s);
}

Test(direct, detach_reports_a_failure_before_active)
{
	scenario s;
	scenario_make(&s, 8 * MiB);
	char *err = NULL;
	cJSON *j = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name x --store nope --detach", s.disk);
	cr_assert_eq(st, 1, "exit %d", st);
	cr_assert(strstr(err, "nope"), "%s", err);
	cr_assert_not_null(fst_jstr(j, "error"));
	cJSON_Delete(j);
	free(err);
	scenario_free(&s);
}
