/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_edge.c: the store policy with two real Ceph
 * clusters behind one Glance (issue 31): the dev cluster (store `fast`,
 * the "central" site) and the edge cluster of `ceph-dev/up --edge` (store
 * `edge`). Every row of docs/configuration.md's store policy that involves
 * another cluster, run as an edge compute node (CEPH_CONF of the edge
 * cluster) or a central one. Skipped, saying so, when no edge cluster runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(edge, .timeout = 300);

/* The edge cluster: admin connection and its pools, and the environment
 * of a fastsnap run on an edge compute node. */
static rados_t eadmin;
static rados_ioctx_t evms, eimages;
static char edge_env[1024];

static void edge_open(void)
{
	const char *conf = getenv("FASTSNAP_DEV_EDGE_CEPH_CONF");
	if (!conf || !*conf)
		cr_skip_test("no edge cluster: FASTSNAP_DEV_EDGE_CEPH_CONF is unset (ceph-dev/up --edge)");
	cr_assert_eq(rados_create(&eadmin, "admin"), 0);
	cr_assert_eq(rados_conf_read_file(eadmin, conf), 0);
	cr_assert_eq(rados_conf_set(eadmin, "keyring", fst_env("FASTSNAP_DEV_EDGE_ADMIN_KEYRING")), 0);
	int r = rados_connect(eadmin);
	if (r < 0)
		cr_assert_fail("edge admin rados_connect: %s", strerror(-r));
	evms = fst_ioctx(eadmin, "vms");
	eimages = fst_ioctx(eadmin, "images");
	snprintf(edge_env, sizeof(edge_env), "CEPH_CONF='%s' FASTSNAP_CEPH_KEYRING='%s'", conf,
		fst_env("FASTSNAP_DEV_EDGE_CEPH_KEYRING"));
}

static void edge_close(void)
{
	rados_ioctx_destroy(evms);
	rados_ioctx_destroy(eimages);
	rados_shutdown(eadmin);
}

static int every_other(uint64_t obj) { return obj % 2 == 0; }

/* Is `store` in the comma-separated list `list`? */
static int in_list(const char *list, const char *store)
{
	size_t n = strlen(store);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !strncmp(p, store, n))
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

/* Glance's copy-image import of `id` into `store`, as an operator does it
 * (`glance image-import --import-method copy-image --stores STORE`), waited
 * for until the image lists the store (60 s). */
static void glance_copy(const char *id, const char *store)
{
	char path[256], args[256];
	snprintf(path, sizeof(path), "/v2/images/%s/import", id);
	snprintf(args, sizeof(args), "-H 'Content-Type: application/json' "
		"-d '{\"method\":{\"name\":\"copy-image\"},\"stores\":[\"%s\"]}'", store);
	char *body = NULL;
	int st = fst_glance(&body, "POST", path, args);
	cr_assert_eq(st, 202, "copy-image %s -> %s: %d %s", id, store, st, body);
	free(body);
	for (int i = 0; i < 600; i++) {
		char *stores = fst_glance_prop(id, "stores");
		char *failed = fst_glance_prop(id, "os_glance_failed_import");
		int done = in_list(stores, store), bad = in_list(failed, store);
		free(stores);
		free(failed);
		if (done)
			return;
		cr_assert(!bad, "copy-image of %s into %s failed (os_glance_failed_import)", id, store);
		usleep(100 * 1000);
	}
	cr_assert_fail("copy-image of %s into %s did not finish within 60 s", id, store);
}

/* The snapshot's JSON, checked for path and store; returns the image id. */
static char *snap(cJSON **j, const char *env, const char *disk, const char *extra, const char *path,
	const char *store)
{
	char *name = fst_unique("fst-edge-snap");
	char *err = NULL;
	int st = fst_cli_json(j, &err, env, "snapshot --disk %s --name %s --flatten sync %s", disk, name,
		extra ? extra : "");
	cr_assert_eq(st, 0, "fastsnap snapshot failed (%d): %s", st, err);
	cr_assert_not_null(*j, "no JSON on stdout; stderr: %s", err);
	cr_assert_str_eq(fst_jstr(*j, "path"), path, "reason: %s", fst_jstr(*j, "reason"));
	cr_assert_str_eq(fst_jstr(*j, "store"), store, "reason: %s", fst_jstr(*j, "reason"));
	free(err);
	free(name);
	return strdup(fst_jstr(*j, "image_id"));
}

static void assert_data(const char *id, const char *sha)
{
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active");
	free(status);
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha, "image %s data differs from the disk", id);
}

static void assert_reason_has(const cJSON *j, const char *what)
{
	const char *r = fst_jstr(j, "reason");
	cr_assert(r && strstr(r, what), "reason lacks '%s': %s", what, r ? r : "(none)");
}

/* Row 3, several stores: the base image is in `fast` (central) and `edge`
 * (copied with copy-image); an edge disk cloned from the edge copy goes
 * directly into `edge`, in the edge cluster. */
Test(edge, base_in_both_stores_edge_disk_goes_direct_into_edge)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 31);
	glance_copy(base, "edge");
	char *disk = fst_unique("fst-edge-disk"), sha[129], vdisk[300];
	fst_nova_disk(evms, eimages, base, disk, 16 * MiB, 32, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[128];
	snprintf(extra, sizeof(extra), "--base-image-ref %s", base);
	cJSON *j = NULL;
	char *id = snap(&j, edge_env, vdisk, extra, "direct", "edge");
	char want[256];
	snprintf(want, sizeof(want), "rbd://%s/images/%s/snap", fst_env("FASTSNAP_DEV_EDGE_FSID"), id);
	cr_assert_str_eq(fst_jstr(j, "location"), want);
	assert_reason_has(j, "'edge' is rbd in our cluster");
	cJSON_Delete(j);
	assert_data(id, sha);
	/* in the edge cluster's images pool, not in the central one */
	cr_assert(fst_rbd_exists(eimages, id));
	cr_assert(!fst_rbd_exists(images, id));
	fst_glance_delete(id);
	cr_assert(!fst_rbd_exists(eimages, id), "Glance left edge images/%s", id);
	fst_rbd_remove_all(evms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* The same base image seen from the central site: a central disk goes
 * directly into `fast` (the store in its own cluster), not `edge`. */
Test(edge, base_in_both_stores_central_disk_goes_direct_into_fast)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 33);
	glance_copy(base, "edge");
	char *disk = fst_unique("fst-edge-cdisk"), sha[129], vdisk[300];
	fst_nova_disk(vms, images, base, disk, 16 * MiB, 34, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[128];
	snprintf(extra, sizeof(extra), "--base-image-ref %s", base);
	cJSON *j = NULL;
	char *id = snap(&j, NULL, vdisk, extra, "direct", "fast");
	assert_reason_has(j, "'fast' is rbd in our cluster");
	cJSON_Delete(j);
	assert_data(id, sha);
	cr_assert(fst_rbd_exists(images, id));
	cr_assert(!fst_rbd_exists(eimages, id));
	fst_glance_delete(id);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* Row 3 with the base image only in the central store (another cluster):
 * the policy keeps the base image's store, `fast`, and streams into it;
 * the reason names both fsids. (An operator who wants edge snapshots at
 * the edge sets `[glance] store = edge` on the edge's compute nodes: next
 * test.) */
Test(edge, base_only_in_central_store_edge_disk_streams_into_it)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 35);
	/* the edge disk is no clone: its parent would be in the other cluster
	 * (Nova at the edge downloads the image, or Glance copied it first) */
	char *disk = fst_unique("fst-edge-disk"), sha[129], vdisk[300];
	fst_rbd_create_filled(evms, disk, 16 * MiB, 0x3d, 36, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[128];
	snprintf(extra, sizeof(extra), "--base-image-ref %s", base);
	cJSON *j = NULL;
	char *id = snap(&j, edge_env, vdisk, extra, "stream", "fast");
	assert_reason_has(j, "is in store 'fast'");
	assert_reason_has(j, "another cluster");
	assert_reason_has(j, fst_env("FASTSNAP_DEV_FSID"));
	assert_reason_has(j, fst_env("FASTSNAP_DEV_EDGE_FSID"));
	cJSON_Delete(j);
	assert_data(id, sha);
	fst_glance_delete(id);
	fst_rbd_remove_all(evms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* Row 2: `[glance] store = edge` on an edge compute node beats the base
 * image's store: the snapshot goes directly into `edge`. (Glance 25 gives
 * no fsid in stores/detail: an image in `edge` with a visible location
 * tells it, as docs/configuration.md says; Glance 30's stores/detail does.) */
Test(edge, operator_store_edge_goes_direct_into_edge)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 37);
	char *marker = fst_base_image("edge", 1 * MiB, 38);
	char *disk = fst_unique("fst-edge-disk"), sha[129], vdisk[300];
	fst_rbd_create_filled(evms, disk, 16 * MiB, 0x3d, 39, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char cfg[] = "/tmp/fst-edge-conf-XXXXXX";
	int fd = mkstemp(cfg);
	cr_assert_geq(fd, 0);
	const char text[] = "[glance]\nstore = edge\n";
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	char env[1400];
	snprintf(env, sizeof(env), "%s", edge_env);
	char extra[256];
	snprintf(extra, sizeof(extra), "--base-image-ref %s", base);
	char *name = fst_unique("fst-edge-snap"), *err = NULL;
	cJSON *j = NULL;
	int st = fst_cli_json(&j, &err, env, "--config %s snapshot --disk %s --name %s --flatten sync %s",
		cfg, vdisk, name, extra);
	unlink(cfg);
	cr_assert_eq(st, 0, "fastsnap snapshot failed (%d): %s", st, err);
	cr_assert_not_null(j, "stderr: %s", err);
	cr_assert_str_eq(fst_jstr(j, "store"), "edge", "reason: %s", fst_jstr(j, "reason"));
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "reason: %s", fst_jstr(j, "reason"));
	assert_reason_has(j, "set by the operator");
	char *id = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	assert_data(id, sha);
	cr_assert(fst_rbd_exists(eimages, id));
	fst_glance_delete(id);
	fst_rbd_remove_all(evms, disk);
	fst_glance_delete(marker);
	fst_glance_delete(base);
	free(err);
	free(name);
	free(id);
	free(disk);
	free(marker);
	free(base);
	edge_close();
}

/* Row 1: `--store fast` from an edge disk (base image in both stores)
 * streams into `fast`, and says why: another cluster, both fsids. */
Test(edge, requested_central_store_from_edge_streams_and_says_why)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 41);
	glance_copy(base, "edge");
	char *disk = fst_unique("fst-edge-disk"), sha[129], vdisk[300];
	fst_nova_disk(evms, eimages, base, disk, 16 * MiB, 42, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[160];
	snprintf(extra, sizeof(extra), "--base-image-ref %s --store fast", base);
	cJSON *j = NULL;
	char *id = snap(&j, edge_env, vdisk, extra, "stream", "fast");
	assert_reason_has(j, "store 'fast' was requested");
	assert_reason_has(j, "another cluster");
	assert_reason_has(j, fst_env("FASTSNAP_DEV_FSID"));
	assert_reason_has(j, fst_env("FASTSNAP_DEV_EDGE_FSID"));
	cJSON_Delete(j);
	assert_data(id, sha);
	cr_assert(fst_rbd_exists(images, id), "the streamed image is not in the central images pool");
	fst_glance_delete(id);
	fst_rbd_remove_all(evms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* Row 3 from the other side: a central disk whose base image is only in
 * `edge` streams into `edge`, naming both fsids. */
Test(edge, base_only_in_edge_store_central_disk_streams_into_edge)
{
	edge_open();
	char *base = fst_base_image("edge", 8 * MiB, 43);
	char *disk = fst_unique("fst-edge-cdisk"), sha[129], vdisk[300];
	fst_rbd_create_filled(vms, disk, 16 * MiB, 0x3d, 44, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[128];
	snprintf(extra, sizeof(extra), "--base-image-ref %s", base);
	cJSON *j = NULL;
	char *id = snap(&j, NULL, vdisk, extra, "stream", "edge");
	assert_reason_has(j, "another cluster");
	assert_reason_has(j, fst_env("FASTSNAP_DEV_FSID"));
	assert_reason_has(j, fst_env("FASTSNAP_DEV_EDGE_FSID"));
	cJSON_Delete(j);
	assert_data(id, sha);
	cr_assert(fst_rbd_exists(eimages, id));
	fst_glance_delete(id);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* Row 4: a volume-backed instance at the edge (no base image) goes to
 * Glance's default store, `local` (file): streamed. */
Test(edge, volume_backed_edge_disk_goes_to_default_store)
{
	edge_open();
	char *disk = fst_unique("fst-edge-vol"), sha[129], vdisk[300];
	fst_rbd_create_filled(evms, disk, 16 * MiB, 0x3d, 45, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	cJSON *j = NULL;
	char *id = snap(&j, edge_env, vdisk, NULL, "stream", "local");
	assert_reason_has(j, "no base image (volume-backed instance); using Glance's default store 'local'");
	cJSON_Delete(j);
	assert_data(id, sha);
	fst_glance_delete(id);
	fst_rbd_remove_all(evms, disk);
	free(id);
	free(disk);
	edge_close();
}

/* ---- copies into further stores (snapshot --copy-to, fastsnap copy) ---- */

/* The JSON's copies: the status of `store`, or NULL. */
static const char *copy_status(const cJSON *j, const char *store)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "copies")) {
		const char *s = fst_jstr(c, "store");
		if (s && !strcmp(s, store))
			return fst_jstr(c, "status");
	}
	return NULL;
}

/* Glance's user of the edge cluster loses (or gets back) its access to the
 * edge's images pool: Glance's writes into store `edge` then really fail. */
static void edge_glance_images_access(int allow)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"auth caps\", \"entity\": \"client.glance\", "
		"\"caps\": [\"mon\", \"profile rbd\", \"osd\", \"%s\"]}",
		allow ? "profile rbd pool=images, profile rbd pool=vms" : "profile rbd pool=vms");
	const char *cmds[] = { cmd };
	char *outs = NULL, *outbuf = NULL;
	size_t outs_len = 0, outbuf_len = 0;
	int r = rados_mon_command(eadmin, cmds, 1, "", 0, &outbuf, &outbuf_len, &outs, &outs_len);
	rados_buffer_free(outbuf);
	rados_buffer_free(outs);
	cr_assert_eq(r, 0, "edge: auth caps client.glance: %s", strerror(-r));
}

/* The operators' flow at an edge site: the snapshot lands in `edge` by the
 * direct path, then Glance copies it to the central store (`--copy-to
 * fast`); the run waits, and the JSON says per store. */
Test(edge, edge_snapshot_copied_to_central_store)
{
	edge_open();
	char *base = fst_base_image("fast", 8 * MiB, 51);
	glance_copy(base, "edge");
	char *disk = fst_unique("fst-edge-disk"), sha[129], vdisk[300];
	fst_nova_disk(evms, eimages, base, disk, 16 * MiB, 52, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	char extra[160];
	snprintf(extra, sizeof(extra), "--base-image-ref %s --copy-to fast --copy-wait 120", base);
	cJSON *j = NULL;
	char *id = snap(&j, edge_env, vdisk, extra, "direct", "edge");
	cr_assert_str_eq(copy_status(j, "fast"), "done", "copies: %s", cJSON_PrintUnformatted(j));
	cr_assert_str_eq(fst_jstr(j, "stores"), "edge,fast");
	cJSON_Delete(j);
	char *stores = fst_glance_prop(id, "stores");
	cr_assert(in_list(stores, "edge") && in_list(stores, "fast"), "stores: %s", stores);
	free(stores);
	assert_data(id, sha);
	/* the copy is a whole image in the central cluster */
	cr_assert(fst_rbd_exists(images, id));
	char csha[129];
	fst_rbd_sha512(images, id, "snap", csha);
	cr_assert_str_eq(csha, sha, "the central copy differs from the disk");
	fst_glance_delete(id);
	cr_assert(!fst_rbd_exists(images, id) && !fst_rbd_exists(eimages, id));
	fst_rbd_remove_all(evms, disk);
	fst_glance_delete(base);
	free(id);
	free(disk);
	free(base);
	edge_close();
}

/* A copy that fails (Glance's Ceph user may not write the edge's images
 * pool) never undoes the snapshot: exit status 5, the image active in its
 * own store with the disk's data, and the JSON says which stores have it.
 * With all_stores_must_succeed (the default) Glance stops at the first
 * failure; with --copy-partial the other store is still copied. */
Test(edge, failed_copy_keeps_the_snapshot)
{
	edge_open();
	char *disk = fst_unique("fst-edge-cdisk"), sha[129], vdisk[300];
	fst_rbd_create_filled(vms, disk, 16 * MiB, 0x3d, 53, every_other, sha);
	snprintf(vdisk, sizeof(vdisk), "vms/%s", disk);
	edge_glance_images_access(0);
	char *name = fst_unique("fst-edge-snap"), *name2 = fst_unique("fst-edge-snap"), *err = NULL,
		*err2 = NULL;
	cJSON *j = NULL, *j2 = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk %s --name %s --store fast "
		"--copy-to edge,local --copy-wait 120", vdisk, name);
	int st2 = fst_cli_json(&j2, &err2, NULL, "snapshot --disk %s --name %s --store fast "
		"--copy-to edge,local --copy-partial --copy-wait 120", vdisk, name2);
	edge_glance_images_access(1);
	cr_assert_eq(st, 5, "exit %d (want 5: made, not in every store); stderr: %s", st, err);
	cr_assert_not_null(j, "stderr: %s", err);
	cr_assert_str_eq(fst_jstr(j, "store"), "fast");
	cr_assert_str_eq(copy_status(j, "edge"), "failed");
	cr_assert_str_eq(copy_status(j, "local"), "failed", "all_stores_must_succeed: %s",
		cJSON_PrintUnformatted(j));
	cr_assert_str_eq(fst_jstr(j, "stores"), "fast");
	cr_assert(strstr(err, "is not in store 'edge' (failed)"), "stderr: %s", err);
	char *id = strdup(fst_jstr(j, "image_id"));
	assert_data(id, sha);
	cr_assert_eq(st2, 5, "exit %d; stderr: %s", st2, err2);
	cr_assert_str_eq(copy_status(j2, "edge"), "failed");
	cr_assert_str_eq(copy_status(j2, "local"), "done", "--copy-partial: %s", cJSON_PrintUnformatted(j2));
	cr_assert_str_eq(fst_jstr(j2, "stores"), "fast,local");
	char *id2 = strdup(fst_jstr(j2, "image_id"));
	assert_data(id2, sha);
	cr_assert(!fst_rbd_exists(eimages, id) && !fst_rbd_exists(eimages, id2),
		"a failed copy left an image in the edge cluster");
	fst_glance_delete(id);
	fst_glance_delete(id2);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	fst_rbd_remove_all(vms, disk);
	free(id);
	free(id2);
	free(err);
	free(err2);
	free(name);
	free(name2);
	free(disk);
	edge_close();
}

/* `fastsnap copy IMAGE --to STORE` for an existing image: copied (exit 0);
 * again into a store that has it: Glance's 400, exit 1; as a member
 * (Glance's copy_image policy is admin-only): 403, exit 1, said so. */
Test(edge, copy_command)
{
	edge_open();
	char *base = fst_base_image("fast", 4 * MiB, 54);
	char *err = NULL;
	cJSON *j = NULL;
	int st = fst_cli_json(&j, &err, NULL, "copy %s --to edge --wait 120", base);
	cr_assert_eq(st, 0, "exit %d; stderr: %s", st, err);
	cr_assert_not_null(j, "stderr: %s", err);
	cr_assert_str_eq(fst_jstr(j, "image_id"), base);
	cr_assert_str_eq(copy_status(j, "edge"), "done");
	cr_assert_str_eq(fst_jstr(j, "stores"), "fast,edge");
	cr_assert(fst_rbd_exists(eimages, base));
	cJSON_Delete(j);
	free(err);

	st = fst_cli_json(&j, &err, NULL, "copy %s --to edge", base);
	cr_assert_eq(st, 1, "exit %d; stderr: %s", st, err);
	cr_assert(strstr(err, "edge"), "stderr: %s", err);
	cr_assert_str_eq(copy_status(j, "edge"), "failed");
	cJSON_Delete(j);
	free(err);

	char env[4096];
	snprintf(env, sizeof(env), "FASTSNAP_GLANCE_HEADERS='%s'", fst_env("FASTSNAP_DEV_MEMBER_HEADERS"));
	st = fst_cli_json(&j, &err, env, "copy %s --to local", base);
	cr_assert_eq(st, 1, "exit %d; stderr: %s", st, err);
	cr_assert(strstr(err, "copy_image"), "stderr: %s", err);
	cJSON_Delete(j);
	free(err);
	char *stores = fst_glance_prop(base, "stores");
	cr_assert_str_eq(stores, "fast,edge");
	free(stores);

	st = fst_cli_json(&j, &err, NULL, "copy %s", base);
	cr_assert_eq(st, 2, "no --to: usage error; stderr: %s", err);
	cJSON_Delete(j);
	free(err);
	fst_glance_delete(base);
	cr_assert(!fst_rbd_exists(eimages, base));
	free(base);
	edge_close();
}
