/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_fault_table.c: issue 17's table of Glance faults.
 * tests/support/glance_proxy.py stands in front of the real Glance and
 * injects one fault into one Glance call of a snapshot, on the direct path
 * and on the streamed path, cell after cell. Faults: 503 once (transient),
 * 500 every time, the answer lost (carried out, then the connection reset),
 * a malformed body, a body over the 4 MiB cap, and a stall (no answer: the
 * 10 s call deadline, or for the upload the 10 s low-speed limit, ends it;
 * shorter deadlines made normal calls fail on a loaded 2-core machine). Every cell must end in one of two ways: success
 * (an active image), or exit 1 with an error naming the call; a transient
 * fault (503 once, a lost answer) on a call that is safe to retry must
 * succeed; and nothing may be left in Glance or in either pool (the image
 * of a successful run is deleted before comparing). Prints a tally
 * "N faults injected, N handled, 0 objects leaked" and asserts on it.
 * Short deadline and retry base (seconds, not minutes) keep it fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(fault_table, .timeout = 900);

static int all_objects(uint64_t obj) { (void)obj; return 1; }

typedef struct {
	const char *call;        /* the proxy's name of the call */
	const char *names;       /* what a failure's message must contain */
	int retry_safe;          /* the client may repeat it */
} call_def;

static const call_def direct_calls[] = {
	{ "stores", "GET /v2/info/stores", 1 },
	{ "stores-detail", "GET /v2/info/stores/detail", 1 },
	{ "schema", "GET /v2/schemas/image", 1 },
	{ "base-get", "GET /v2/images/", 1 },
	{ "create", "POST /v2/images", 1 },
	{ "location", "/locations", 0 },
	/* no GET after the location: the PATCH's answer (active, the size)
	 * is the final check's (issue 20); the fault table runs on Glance 25 */
};

static const call_def stream_calls[] = {
	{ "stores", "GET /v2/info/stores", 1 },
	{ "stores-detail", "GET /v2/info/stores/detail", 1 },
	{ "schema", "GET /v2/schemas/image", 1 },
	{ "create", "POST /v2/images", 1 },
	{ "upload", "PUT /v2/images/", 1 },
	{ "image-get", "GET /v2/images/", 1 },
};

static const char *const kinds[] = { "503once", "lost", "500", "malformed", "big", "stall" };

typedef struct {
	int injected, handled, leaked, cells;
	int ok, failed, kept;    /* how the handled cells ended */
} tally;

static int proxy_injected(const char *url)
{
	char *out = NULL;
	int st = fst_sh(&out, NULL, "curl -s %s/_faults", url);
	int n = -1;
	const char *p = out ? strstr(out, "\"injected\": ") : NULL;
	if (st == 0 && p)
		n = atoi(p + 12);
	free(out);
	return n;
}

/* `fastsnap gc`, straight against Glance (no proxy): exit status. */
static int gc_run(char **out, char **err, const char *extra)
{
	return fst_sh(out, err, "%s gc --pool vms --state-file /tmp/fst-fault-gc-%d.json %s", fst_cli(),
		(int)getpid(), extra);
}

/* Exit 4: the run failed after its image went active, so the image was
 * kept (the caller may already use it) and marked for gc (docs/usage.md).
 * The error must name the call and say so; the image must be active and
 * marked fastsnap_state=needs-attention; gc (straight against Glance) must
 * finish what the run left (its temporary snapshot); then the test deletes
 * the kept image, as an operator would, and the cell's leak check follows. */
static void kept_active(tally *t, const char *path, const call_def *c, const char *kind,
	const cJSON *j, const char *err)
{
	cr_assert(err && strstr(err, c->names) && strstr(err, "is active and was kept") &&
		strstr(err, "fastsnap gc"), "[%s %s %s] exit 4 without naming the call (%s) and the "
		"kept image: %s", path, c->call, kind, c->names, err);
	const char *id = fst_jstr(j, "image_id");
	cr_assert_not_null(id, "[%s %s %s] exit 4 without an image_id", path, c->call, kind);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active", "[%s %s %s] kept image %s", path, c->call, kind, id);
	free(status);
	char *state = fst_glance_prop(id, "fastsnap_state");
	cr_assert(state && !strcmp(state, "needs-attention"), "[%s %s %s] kept image %s is not "
		"marked needs-attention: %s", path, c->call, kind, id, state ? state : "(none)");
	free(state);
	char *out = NULL, *gerr = NULL;
	int st = gc_run(&out, &gerr, "");
	cr_assert_eq(st, 0, "[%s %s %s] gc exit %d: %s%s", path, c->call, kind, st, out, gerr);
	free(out);
	free(gerr);
	fst_glance_delete(id);
	t->kept++;
}

/* The dev Glance must answer before each cell. If it does not, its
 * threads' stacks go to the dev dir's log (gdb) for the diagnosis, and the
 * cell fails naming the cell before it. */
static char last_cell[128] = "none";

static void glance_answers(const char *path, const char *call, const char *kind)
{
	int code = fst_glance(NULL, "GET", "/v2/info/stores", "-m 20");
	if (code != 200) {
		const char *dir = fst_env("FASTSNAP_DEV_DIR");
		fst_sh(NULL, NULL, "gdb -p $(cat %s/run/glance-api.pid) -batch -ex 'thread apply all bt' "
			"> %s/log/glance-stacks-%ld.txt 2>&1", dir, dir, (long)time(NULL));
		cr_assert_fail("[%s %s %s] the dev Glance does not answer (HTTP %d within 20 s) after "
			"cell %s; its stacks are in %s/log/glance-stacks-*.txt", path, call, kind, code,
			last_cell, dir);
	}
	snprintf(last_cell, sizeof(last_cell), "%s %s %s", path, call, kind);
}

/* One snapshot by the command through the fault proxy at url, with the
 * table's short bounds (deadline, low-speed limit, back-off, 2 retries). */
static int snapshot_via(const char *url, cJSON **j, char **err, const char *disk,
	const char *name, const char *base, const char *store_arg)
{
	char env[512];
	snprintf(env, sizeof(env), "FASTSNAP_GLANCE_URL=%s FASTSNAP_CALL_DEADLINE_S=10 "
		"FASTSNAP_LOW_SPEED_TIME_S=10 FASTSNAP_RETRY_BASE_MS=10 FASTSNAP_NUM_RETRIES=2", url);
	return fst_cli_json(j, err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s %s",
		disk, name, base, store_arg);
}

static void cell(tally *t, const char *path, const char *disk, const char *base,
	const char *store_arg, const call_def *c, const char *kind)
{
	glance_answers(path, c->call, kind);
	char args[256];
	snprintf(args, sizeof(args), "--fault %s:%s --base %s", c->call, kind, base);
	pid_t pid;
	char *url = fst_proxy_start(&pid, args);
	fst_world before;
	fst_world_take(&before, images, vms);
	char *name = fst_unique("fst-fault");
	cJSON *j = NULL;
	char *err = NULL;
	int st = snapshot_via(url, &j, &err, disk, name, base, store_arg);
	int injected = proxy_injected(url);
	fst_proxy_stop(pid);
	const char *out_path = fst_jstr(j, "path");
	fprintf(stderr, "fault_table: %-6s %-13s %-9s -> exit %d%s%s%s\n", path, c->call, kind,
		st, st == 0 ? " (" : "", st == 0 && out_path ? out_path : "", st == 0 ? ")" : "");
	t->cells++;
	cr_assert_geq(injected, 1, "[%s %s %s] the call was never made (exit %d): %s", path,
		c->call, kind, st, err);
	t->injected++;
	int transient = !strcmp(kind, "503once") || !strcmp(kind, "lost");
	if (transient && c->retry_safe)
		cr_assert_eq(st, 0, "[%s %s %s] a transient fault on a safe call must succeed: %s",
			path, c->call, kind, err);
	if (st == 0) {
		const char *id = fst_jstr(j, "image_id");
		cr_assert_not_null(id, "[%s %s %s] no image_id", path, c->call, kind);
		char *status = fst_glance_status(id);
		cr_assert_str_eq(status, "active", "[%s %s %s] image %s", path, c->call, kind, id);
		free(status);
		char *ids = fst_glance_ids_named(name);
		size_t il = strlen(id);
		cr_assert(!strncmp(ids, id, il) && (ids[il] == '\0' || !strcmp(ids + il, "\n")),
			"[%s %s %s] not exactly one image: %s", path, c->call, kind, ids);
		free(ids);
		fst_glance_delete(id);
		t->ok++;
	} else if (st == 4) {
		kept_active(t, path, c, kind, j, err);
	} else {
		cr_assert_eq(st, 1, "[%s %s %s] exit %d: %s", path, c->call, kind, st, err);
		cr_assert(err && strstr(err, c->names), "[%s %s %s] the error does not name the "
			"call (%s): %s", path, c->call, kind, c->names, err);
		t->failed++;
	}
	char *report = NULL;
	int leak = fst_world_changed(&before, images, vms, &report);
	t->leaked += leak;
	cr_assert_not(leak, "[%s %s %s] objects left: %s", path, c->call, kind, report);
	fst_world_free(&before);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 0, "[%s %s %s] snapshots left: %s",
		path, c->call, kind, snaps);
	free(snaps);
	t->handled++;
	free(report);
	free(name); free(err); free(url);
	cJSON_Delete(j);
}

/* The clean-up's own delete faults: the run fails at `first` (every such
 * call answers 500), then each DELETE of its image answers 500 too. The
 * error must name the first call and the failed clean-up and say that what
 * is left is `fastsnap gc`'s; what is left must be tagged work that gc (run
 * straight against Glance) then removes, leaving Glance and both pools as
 * before. */
static void cleanup_cell(tally *t, const char *path, const char *disk, const char *base,
	const char *store_arg, const call_def *first)
{
	glance_answers(path, first->call, "500 + delete 500");
	/* gc removes what it finds, so the lists below must hold nothing of
	 * what it would take: clear the debris of earlier (killed) runs first */
	cr_assert_eq(gc_run(NULL, NULL, ""), 0, "[%s %s + delete] gc before the cell failed", path,
		first->call);
	char args[256];
	snprintf(args, sizeof(args), "--fault %s:500 --fault delete:500 --base %s", first->call, base);
	pid_t pid;
	char *url = fst_proxy_start(&pid, args);
	fst_world before;
	fst_world_take(&before, images, vms);
	char *name = fst_unique("fst-fault");
	char *err = NULL;
	int st = snapshot_via(url, NULL, &err, disk, name, base, store_arg);
	char *faults = NULL;
	fst_sh(&faults, NULL, "curl -s %s/_faults", url);
	fst_proxy_stop(pid);
	fprintf(stderr, "fault_table: %-6s %-13s + delete 500 -> exit %d\n", path, first->call, st);
	t->cells++;
	const char *d = faults ? strstr(faults, "\"delete\": ") : NULL;
	cr_assert(d && atoi(d + 10) >= 1, "[%s %s + delete] the clean-up never deleted (exit %d): "
		"%s; %s", path, first->call, st, faults, err);
	const char *inj = faults ? strstr(faults, "\"injected\": ") : NULL;
	cr_assert(inj && atoi(inj + 12) >= 2, "[%s %s + delete] not both faults were injected: %s",
		path, first->call, faults);
	t->injected += 2;
	cr_assert_eq(st, 1, "[%s %s + delete] exit %d: %s", path, first->call, st, err);
	cr_assert(err && strstr(err, first->names), "[%s %s + delete] the error does not name the "
		"call (%s): %s", path, first->call, first->names, err);
	cr_assert(strstr(err, "clean-up failed") && strstr(err, "DELETE /v2/images/"),
		"[%s %s + delete] the failed clean-up is not reported: %s", path, first->call, err);
	cr_assert(strstr(err, "fastsnap gc"), "[%s %s + delete] the error does not say that what is "
		"left is gc's: %s", path, first->call, err);
	/* What is left is tagged: gc's dry run finds it. */
	char *ids = fst_glance_ids_named(name);
	cr_assert_neq(strlen(ids), 0, "[%s %s + delete] nothing left in Glance although its delete "
		"failed", path, first->call);
	cJSON *dry = NULL;
	char *gerr = NULL;
	st = fst_cli_json(&dry, &gerr, NULL, "gc --pool vms --state-file /tmp/fst-fault-gc-%d.json "
		"--dry-run --json", (int)getpid());
	char *dtxt = dry ? cJSON_PrintUnformatted(dry) : NULL;
	cr_assert_eq(st, 0, "[%s %s + delete] gc --dry-run exit %d: %s", path, first->call, st, gerr);
	char id1[64];
	snprintf(id1, sizeof(id1), "%.36s", ids);
	cr_assert(dtxt && strstr(dtxt, id1), "[%s %s + delete] gc does not find image %s: %s", path,
		first->call, id1, dtxt);
	free(gerr);
	gerr = NULL;
	cJSON *rep = NULL;
	st = fst_cli_json(&rep, &gerr, NULL, "gc --pool vms --state-file /tmp/fst-fault-gc-%d.json "
		"--json", (int)getpid());
	cr_assert_eq(st, 0, "[%s %s + delete] gc exit %d: %s", path, first->call, st, gerr);
	char *report = NULL;
	int leak = fst_world_changed(&before, images, vms, &report);
	t->leaked += leak;
	cr_assert_not(leak, "[%s %s + delete] objects left after gc: %s", path, first->call, report);
	fst_world_free(&before);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 0, "[%s %s + delete] snapshots left "
		"after gc: %s", path, first->call, snaps);
	free(snaps);
	t->handled += 2;
	char sf[64];
	snprintf(sf, sizeof(sf), "/tmp/fst-fault-gc-%d.json", (int)getpid());
	unlink(sf);
	cJSON_Delete(dry);
	cJSON_Delete(rep);
	free(dtxt); free(gerr); free(ids); free(faults);
	free(report);
	free(name); free(err); free(url);
}

static void table(const char *path, const call_def *calls, size_t n, const char *store_arg,
	const call_def *cleanup_first)
{
	char *base = fst_base_image("fast", 8 * MiB, 3);
	char *disk = fst_unique("fst-fdisk");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, 8 * MiB, 5, all_objects, sha);
	tally t = { 0 };
	/* Cells that keep an active image run gc, which removes whatever it
	 * finds: start without the debris of earlier (killed) runs. */
	cr_assert_eq(gc_run(NULL, NULL, ""), 0, "gc before the table failed");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			cell(&t, path, disk, base, store_arg, &calls[i], kinds[k]);
	cleanup_cell(&t, path, disk, base, store_arg, cleanup_first);
	fprintf(stderr, "fault_table: %s path: %d cells: %d succeeded, %d failed cleanly, %d kept an "
		"active image for gc (exit 4), %d clean-up delete cell(s)\n", path, t.cells, t.ok,
		t.failed, t.kept, t.cells - t.ok - t.failed - t.kept);
	fprintf(stderr, "fault_table: %s path: %d faults injected, %d handled, %d objects leaked\n",
		path, t.injected, t.handled, t.leaked);
	cr_assert_eq(t.injected, t.cells + 1); /* the clean-up cell injects two */
	cr_assert_eq(t.handled, t.injected);
	cr_assert_eq(t.leaked, 0);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	char sf[64];
	snprintf(sf, sizeof(sf), "/tmp/fst-fault-gc-%d.json", (int)getpid());
	unlink(sf);
	free(disk);
	free(base);
}

Test(fault_table, direct_path)
{
	/* adding the location fails, then the queued image's delete faults */
	table("direct", direct_calls, sizeof(direct_calls) / sizeof(direct_calls[0]), "",
		&direct_calls[5]);
}

Test(fault_table, streamed_path)
{
	/* the upload fails, then the queued image's delete faults */
	table("stream", stream_calls, sizeof(stream_calls) / sizeof(stream_calls[0]),
		"--store local", &stream_calls[4]);
}
