/*
 * tests/integration/test_crash.c: a run killed at each named step of both
 * paths (SIGKILL through the test-build hooks), then `fastsnap gc`, must
 * reach the end state stated for that point: fully rolled back (Ceph and
 * Glance hold what they held before) or fully completed (the image active
 * and unmarked, its data the disk's, any flatten finished, the temporary
 * snapshot gone). The disk never changes, and a new snapshot of it works.
 * Signals (SIGINT, SIGTERM, SIGHUP) make the run clean up by itself. A
 * tally of kill points and leaked objects is printed; leaks must be 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(crash, .timeout = 900);

enum { ROLLED_BACK, COMPLETED };

typedef struct {
	const char *label;
	const char *args;        /* snapshot options besides disk, name, base */
	const char *hook;        /* FASTSNAP_TEST_* environment */
	int expect_exit;         /* 137 SIGKILL, 0 (--detach parent), 128 + signal */
	int end;                 /* ROLLED_BACK or COMPLETED, after gc if needed */
	int needs_gc;            /* a SIGKILLed run needs gc; a signaled one cleans up itself */
} kill_point;

static int every_third(uint64_t obj) { return obj % 3 == 0; }

/* Everything that must come back as it was. */
typedef struct {
	char *glance, *pool_images, *pool_vms;
} world;

static void world_read(world *w)
{
	w->glance = fst_glance_image_ids();
	w->pool_images = fst_rbd_list(images);
	w->pool_vms = fst_rbd_list(vms);
}

static void world_free(world *w)
{
	free(w->glance);
	free(w->pool_images);
	free(w->pool_vms);
}

/* Lines of `after` not in `before` (one id per line), counted. */
static int new_lines(const char *before, const char *after, char *first, size_t n)
{
	int count = 0;
	char *copy = strdup(after);
	for (char *save, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char needle[256];
		snprintf(needle, sizeof(needle), "%s\n", l);
		if (!strstr(before, needle)) {
			if (!count && first)
				snprintf(first, n, "%s", l);
			count++;
		}
	}
	free(copy);
	return count;
}

/* fastsnap.* metadata keys left on the disk. */
static int disk_tags(const char *disk)
{
	char *out = NULL;
	fst_sh(&out, NULL, "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"image-meta list vms/%s 2>/dev/null | grep -c '^fastsnap\\.'", disk);
	int n = out ? atoi(out) : 0;
	free(out);
	return n;
}

static int run_gc(const char *label)
{
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s gc --pool vms --state-file /tmp/fst-gc-state.json", fst_cli());
	cr_expect_eq(st, 0, "[%s] gc exit %d\n%s%s", label, st, out, err);
	free(out);
	free(err);
	return st;
}

/* One kill point; returns the number of leaked objects. */
static int try_point(const kill_point *k, const char *base, const char *disk, const char *sha)
{
	world before;
	world_read(&before);
	char *name = fst_unique("fst-crash");
	char *err = NULL;
	cJSON *j = NULL;
	int st = fst_cli_json(&j, &err, k->hook, "snapshot --disk vms/%s --name %s --base-image-ref %s %s",
		disk, name, base, k->args);
	/* --detach: wait for the background child to meet its hook */
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	for (int i = 0; cJSON_IsNumber(pid) && i < 300 && kill((pid_t)pid->valuedouble, 0) == 0; i++)
		usleep(100 * 1000);
	cJSON_Delete(j);
	j = NULL;
	cr_expect_eq(st, k->expect_exit, "[%s] exit %d, want %d: %s", k->label, st, k->expect_exit, err);
	if (k->expect_exit > 128 && k->expect_exit != 137)
		cr_expect(strstr(err, "stopped by"), "[%s] the command did not say it was stopped: %s",
			k->label, err);
	free(err);
	if (k->needs_gc)
		run_gc(k->label);

	int leaked = 0;
	char *ids = fst_glance_ids_named(name);
	char id[64] = "";
	sscanf(ids, "%63s", id);
	if (k->end == COMPLETED) {
		char *status = fst_glance_status(id);
		char *state = fst_glance_prop(id, "fastsnap_state");
		cr_expect_str_eq(status, "active", "[%s] completed image %s is '%s'", k->label, id, status);
		cr_expect_null(state, "[%s] image still marked %s", k->label, state);
		char got[129] = "";
		if (*id)
			fst_glance_download_sha512(id, got);
		cr_expect_str_eq(got, sha, "[%s] completed image's data differs from the disk", k->label);
		leaked += state != NULL;
		free(status);
		free(state);
		if (*id && fst_rbd_exists(images, id)) {
			char *parent = NULL;
			int trash = 0;
			int has = fst_rbd_parent(images, id, &parent, &trash);
			cr_expect(!has || strstr(k->args, "none"), "[%s] clone still has parent %s", k->label,
				parent);
			leaked += has && !strstr(k->args, "none");
			free(parent);
		}
		if (*id)
			fst_glance_delete(id);
	} else {
		cr_expect_str_eq(ids, "", "[%s] image left in Glance", k->label);
	}
	world after;
	world_read(&after);
	char what[256] = "";
	int g = new_lines(before.glance, after.glance, what, sizeof(what));
	cr_expect_eq(g, 0, "[%s] Glance gained %s", k->label, what);
	int p = new_lines(before.pool_images, after.pool_images, what, sizeof(what)) +
		new_lines(before.pool_vms, after.pool_vms, what, sizeof(what));
	cr_expect_eq(p, 0, "[%s] a pool gained %s", k->label, what);
	char *snaps = NULL;
	int s = fst_rbd_snap_count(vms, disk, &snaps);
	cr_expect_eq(s, 0, "[%s] snapshots left on the disk: %s", k->label, snaps);
	int t = disk_tags(disk);
	cr_expect_eq(t, 0, "[%s] %d fastsnap tags left on the disk", k->label, t);
	leaked += g + p + s + t;
	char now[129];
	fst_rbd_sha512(vms, disk, NULL, now);
	cr_expect_str_eq(now, sha, "[%s] the disk changed", k->label);

	/* And the next snapshot of the same disk works. */
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s-again --base-image-ref %s "
		"--flatten none", disk, name, base);
	cr_expect_eq(st, 0, "[%s] the next snapshot failed: %s", k->label, err);
	if (j && fst_jstr(j, "image_id"))
		fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	free(snaps);
	free(ids);
	free(name);
	world_free(&before);
	world_free(&after);
	return leaked;
}

static void run_points(const char *what, const kill_point *pts, size_t n)
{
	char *base = fst_base_image("fast", 8 * MiB, 3);
	char *disk = fst_unique("fst-crashdisk");
	char sha[129];
	/* 160 MiB: the stream reports progress every 64 MiB, so that a hook
	 * at half of it fires whatever the machine's speed. */
	fst_nova_disk(vms, images, base, disk, 160 * MiB, 5, every_third, sha);
	int leaked = 0;
	for (size_t i = 0; i < n; i++)
		leaked += try_point(&pts[i], base, disk, sha);
	fprintf(stderr, "crash: %s: %zu kill points tried, %d objects leaked\n", what, n, leaked);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(base);
	free(disk);
	cr_assert_eq(leaked, 0, "%d objects leaked", leaked);
}

#define KA "FASTSNAP_TEST_KILL_AFTER="
#define KD "FASTSNAP_TEST_KILL_DURING="

Test(crash, sigkill_at_every_step_then_gc)
{
	static const kill_point pts[] = {
		{ "after image-create", "--flatten sync", KA "image-create", 137, ROLLED_BACK, 1 },
		{ "after tmp-snap", "--flatten sync", KA "tmp-snap", 137, ROLLED_BACK, 1 },
		{ "after protect", "--flatten sync", KA "protect", 137, ROLLED_BACK, 1 },
		{ "after clone", "--flatten sync", KA "clone", 137, ROLLED_BACK, 1 },
		{ "during flatten (sync)", "--flatten sync", KD "flatten:0.5", 137, ROLLED_BACK, 1 },
		{ "after snap", "--flatten sync", KA "snap", 137, ROLLED_BACK, 1 },
		{ "after location (sync)", "--flatten sync", KA "location", 137, COMPLETED, 1 },
		{ "after tmp-remove (sync)", "--flatten sync", KA "tmp-remove", 137, COMPLETED, 1 },
		{ "during flatten (deferred)", "--flatten deferred", KD "flatten:0.5", 137, COMPLETED, 1 },
		{ "after tmp-remove (deferred)", "--flatten deferred", KA "tmp-remove", 137, COMPLETED, 1 },
		{ "before the final check (none)", "--flatten none", KA "location", 137, COMPLETED, 1 },
		{ "during the stream", "--store local", KD "stream:0.5", 137, ROLLED_BACK, 1 },
		{ "before the final check (stream)", "--store local", KA "stream", 137, COMPLETED, 1 },
		{ "--detach child during flatten", "--flatten deferred --detach", KD "flatten:0.5", 0,
			COMPLETED, 1 },
	};
	run_points("SIGKILL", pts, sizeof(pts) / sizeof(pts[0]));
}

Test(crash, signals_clean_up_without_gc)
{
	static const kill_point pts[] = {
		{ "SIGINT after clone", "--flatten sync", KA "clone:INT", 130, ROLLED_BACK, 0 },
		{ "SIGTERM during flatten (sync)", "--flatten sync", KD "flatten:0.5:TERM", 143, ROLLED_BACK, 0 },
		{ "SIGHUP during the stream", "--store local", KD "stream:0.5:HUP", 129, ROLLED_BACK, 0 },
		/* after active: the image is kept (needs-attention) and gc finishes it */
		{ "SIGINT during flatten (deferred)", "--flatten deferred", KD "flatten:0.5:INT", 130,
			COMPLETED, 1 },
	};
	run_points("signals", pts, sizeof(pts) / sizeof(pts[0]));
}
