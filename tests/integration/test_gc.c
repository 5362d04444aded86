/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_gc.c: `fastsnap gc` against the dev cluster:
 * it never touches what fastsnap did not create (look-alike names, an
 * operator's snapshots, Glance's own `snap`, a snapshot named like ours in
 * a pool it does not scan, a temporary snapshot with children that are not
 * fastsnap's), never touches a live run however slow, judges another
 * host's run by two heartbeat readings --older-than apart (and never
 * takes an unreadable heartbeat for a dead one), never touches a finished
 * image whatever Glance says of it (deactivated, 404, 5xx), removes the
 * temporary snapshot of a run killed before its image existed (the run
 * tag written before the snapshot vouches for it), does nothing when its
 * state file cannot be written or another gc holds the lock, and a dry
 * run changes nothing. Backup rotation is tested here too.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)
#define RBD "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "

static rados_t admin;
static rados_ioctx_t vms, images;

static void setup(void) { fst_pools_open(&admin, &vms, &images); }
static void teardown(void)
{
	char state[128];   /* gc_json's state file of this test's process */
	snprintf(state, sizeof(state), "/tmp/fst-gc-test-state-%d.json", (int)getpid());
	unlink(state);
	fst_pools_close(admin, vms, images);
}

TestSuite(gc, .init = setup, .fini = teardown, .timeout = 600);

/* gc with a 1 s heartbeat period, so that --older-than's floor (4
 * periods) is 4 s and the two-reading tests wait seconds, not minutes. */
#define GC_ENV "FASTSNAP_HEARTBEAT_SECONDS=1"

static int gc_json_env(cJSON **j, char **err_out, const char *env, const char *extra)
{
	char *err = NULL;
	char e[512];
	snprintf(e, sizeof(e), GC_ENV " %s", env ? env : "");
	int st = fst_cli_json(j, &err, e, "gc --pool vms --state-file /tmp/fst-gc-test-state-%d.json %s",
		(int)getpid(), extra ? extra : "");
	if (err_out)
		*err_out = err;
	else
		free(err);
	return st;
}

static int gc_json(cJSON **j, const char *extra)
{
	return gc_json_env(j, NULL, NULL, extra);
}

/* This host's part of an owner, as gc sees it (machine id and PID
 * namespace): from gc's own report. */
static char *self_host(void)
{
	cJSON *j = NULL;
	cr_assert_eq(gc_json(&j, "--dry-run"), 0);
	const char *h = fst_jstr(j, "host");
	cr_assert(h && *h, "gc's report names no host");
	char *res = strdup(h);
	cJSON_Delete(j);
	return res;
}

/* Does the report's array `group` have an entry whose "what" contains s? */
static int reported(const cJSON *j, const char *group, const char *s)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, group)) {
		const char *w = fst_jstr(e, "what");
		if (w && strstr(w, s))
			return 1;
	}
	return 0;
}

/* A queued Glance image tagged as a fastsnap run of `owner`. */
static char *tagged_image(const char *owner, const char *state)
{
	char *name = fst_unique("fst-gcimg");
	char *body = NULL;
	char args[1024];
	snprintf(args, sizeof(args), "-H 'Content-Type: application/json' -d '{\"name\":\"%s\","
		"\"disk_format\":\"raw\",\"container_format\":\"bare\",\"fastsnap_owner\":\"%s\","
		"\"fastsnap_state\":\"%s\"}'", name, owner, state);
	int st = fst_glance(&body, "POST", "/v2/images", args);
	cr_assert_eq(st, 201, "%d %s", st, body);
	cJSON *j = cJSON_Parse(body);
	char *id = strdup(fst_jstr(j, "id"));
	cJSON_Delete(j);
	free(body);
	free(name);
	return id;
}

static int snap_exists(const char *spec)
{
	return fst_sh(NULL, NULL, RBD "snap ls %.*s | grep -q ' %s '", (int)(strchr(spec, '@') - spec),
		spec, strchr(spec, '@') + 1) == 0;
}

Test(gc, leaves_alone_what_is_not_fastsnaps)
{
	char *disk = fst_unique("fst-gcdisk");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 1, NULL, sha);
	/* A run of a dead owner on this host (pid 1 never has this start time),
	 * with an operator's clone of its temporary snapshot. */
	char *host = self_host();
	char owner[512];
	snprintf(owner, sizeof(owner), "%s:1:7", host);
	char *dead = tagged_image(owner, "in-progress");
	char tmp[512], kid[128], spec[1024];
	snprintf(tmp, sizeof(tmp), "fastsnap-%s-%s-1-7", dead, host);
	snprintf(kid, sizeof(kid), "%s-operator-child", disk);
	/* A snapshot named like ours but with no Glance image behind it. */
	char stray[512];
	snprintf(stray, sizeof(stray), "fastsnap-0c1d2e3f-aaaa-4bbb-8ccc-0123456789ab-%s-1-7", host);
	cr_assert_eq(fst_sh(NULL, NULL, RBD "snap create vms/%s@fastsnap-notes && "
		RBD "snap create vms/%s@before-upgrade && " RBD "snap create vms/%s@%s && "
		RBD "snap create vms/%s@%s && " RBD "snap protect vms/%s@%s && "
		RBD "clone vms/%s@%s vms/%s", disk, disk, disk, stray, disk, tmp, disk, tmp, disk, tmp, kid), 0);
	/* A finished fastsnap image: Glance's own `snap` on images/<id>. */
	char *base = fst_base_image("fast", 4 * MiB, 9);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s-done --store fast "
		"--flatten none", disk, disk);
	cr_assert_eq(st, 0, "%s", err);
	char *done = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);

	cJSON *dry = NULL;
	cr_assert_eq(gc_json(&dry, "--dry-run"), 0);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(dry, "dry_run")));
	char *status = fst_glance_status(dead);
	cr_assert_str_eq(status, "queued", "a dry run deleted the image");
	free(status);

	cJSON *rep = NULL;
	st = gc_json(&rep, NULL);
	cr_assert_eq(st, 0, "gc exit %d", st);
	char *txt = cJSON_PrintUnformatted(rep);
	/* Left alone: the look-alike, the operator's snapshot, the stray name,
	 * the snapshot with a foreign child (reported), Glance's `snap`. */
	snprintf(spec, sizeof(spec), "vms/%s@fastsnap-notes", disk);
	cr_assert(snap_exists(spec), "fastsnap-notes was removed");
	cr_assert(reported(rep, "skipped", "fastsnap-notes"), "%s", txt);
	snprintf(spec, sizeof(spec), "vms/%s@before-upgrade", disk);
	cr_assert(snap_exists(spec), "the operator's snapshot was removed");
	snprintf(spec, sizeof(spec), "vms/%s@%s", disk, stray);
	cr_assert(snap_exists(spec), "a snapshot no fastsnap image vouches for was removed");
	snprintf(spec, sizeof(spec), "vms/%s@%s", disk, tmp);
	cr_assert(snap_exists(spec), "a snapshot with a foreign child was removed");
	cr_assert(reported(rep, "skipped", tmp), "%s", txt);
	cr_assert(fst_rbd_exists(vms, kid), "the operator's clone was removed");
	snprintf(spec, sizeof(spec), "images/%s@snap", done);
	cr_assert(snap_exists(spec), "Glance's own snap was removed");
	status = fst_glance_status(done);
	cr_assert_str_eq(status, "active");
	free(status);
	cr_assert_not(reported(rep, "found", done), "a finished run was taken for debris: %s", txt);
	/* The dead run's Glance image (queued, tagged) is gone. */
	status = fst_glance_status(dead);
	cr_assert_str_eq(status, "", "the dead run's queued image is still there");
	free(status);
	free(txt);

	cJSON_Delete(dry);
	cJSON_Delete(rep);
	fst_glance_delete(done);
	fst_sh(NULL, NULL, RBD "rm vms/%s; " RBD "snap unprotect vms/%s@%s", kid, disk, tmp);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(base); free(done); free(dead); free(disk); free(host);
}

/* Another host's run: dead only when its heartbeat did not move between
 * two gc runs --older-than apart; a moving heartbeat keeps it alive. */
Test(gc, other_hosts_are_judged_by_two_heartbeat_readings)
{
	char *disk = fst_unique("fst-gcfar");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 1, NULL, sha);
	const char *owner = "far-away-host:4242:99";
	char *id = tagged_image(owner, "in-progress");
	cr_assert_eq(fst_sh(NULL, NULL, RBD "image-meta set vms/%s fastsnap.run.%s '%s 1000'", disk, id,
		owner), 0);

	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, "--older-than 4"), 0);
	cr_assert(reported(rep, "skipped", id), "first reading must not decide");
	cJSON_Delete(rep);
	sleep(5);
	/* the run is alive: its heartbeat moved */
	fst_sh(NULL, NULL, RBD "image-meta set vms/%s fastsnap.run.%s '%s 1001'", disk, id, owner);
	cr_assert_eq(gc_json(&rep, "--older-than 4"), 0);
	cr_assert(reported(rep, "skipped", id));
	cJSON_Delete(rep);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "queued", "a run whose heartbeat moves was touched");
	free(status);
	sleep(5);
	/* not moved for longer than --older-than: dead, rolled back */
	cr_assert_eq(gc_json(&rep, "--older-than 4"), 0);
	cr_assert(reported(rep, "found", id), "%s", cJSON_PrintUnformatted(rep));
	cJSON_Delete(rep);
	status = fst_glance_status(id);
	cr_assert_str_eq(status, "", "the dead run's image is still there");
	free(status);
	char *out = NULL;
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c fastsnap", disk);
	cr_assert_eq(atoi(out), 0, "run tags left on the disk");
	free(out);
	/* the next pass prunes the gone run's reading from the state file */
	cr_assert_eq(gc_json(&rep, "--older-than 4"), 0);
	cJSON_Delete(rep);
	fst_sh(&out, NULL, "cat /tmp/fst-gc-test-state-%d.json", (int)getpid());
	cr_assert_null(strstr(out, id), "the state file keeps a gone run: %s", out);
	free(out);
	fst_rbd_remove_all(vms, disk);
	free(id); free(disk);
}

/* Unknown is never dead: a run of another host whose heartbeat cannot be
 * read anywhere (no tag, no clone) stays, however many passes apart. */
Test(gc, an_unreadable_heartbeat_is_never_dead)
{
	const char *owner = "far-away-host:4343:99";
	char *id = tagged_image(owner, "in-progress");
	cJSON *rep = NULL;
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			sleep(5);
		cr_assert_eq(gc_json(&rep, "--older-than 4"), 0);
		char *txt = cJSON_PrintUnformatted(rep);
		cr_assert(reported(rep, "skipped", id), "pass %d: %s", pass, txt);
		cr_assert_not(reported(rep, "found", id), "pass %d: an unknown heartbeat taken for dead: %s",
			pass, txt);
		free(txt);
		cJSON_Delete(rep);
	}
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "queued", "the run of unknown liveness was rolled back");
	free(status);
	fst_glance_delete(id);
	free(id);
}

/* --older-than below several heartbeat periods is a usage error. */
Test(gc, older_than_has_a_floor)
{
	char *err = NULL;
	int st = gc_json_env(NULL, &err, NULL, "--older-than 1");
	cr_assert_eq(st, 2, "gc --older-than 1: exit %d: %s", st, err);
	cr_assert(strstr(err, "floor"), "%s", err);
	free(err);
	st = fst_cli_json(NULL, &err, NULL, "gc --pool vms --older-than 19 --dry-run");
	cr_assert_eq(st, 2, "--older-than 19 with the default 5 s period: exit %d: %s", st, err);
	free(err);
	cr_assert_eq(gc_json(NULL, "--older-than 4 --dry-run"), 0);
}

/* A slow stream is live for its whole length: gc leaves it alone, and the
 * run then completes. */
Test(gc, never_touches_a_live_run)
{
	char *disk = fst_unique("fst-gclive");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 32 * MiB, 61, 8, NULL, sha);
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, "--slow-upload-bps 4000000");
	char *name = fst_unique("fst-gcliveimg");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "exec %s --glance-url %s --json snapshot --disk vms/%s --name %s "
		"--store local >/tmp/fst-gclive-%d.out 2>&1", fst_cli(), url, disk, name, (int)getpid());
	pid_t run = fork();
	cr_assert_geq(run, 0);
	if (run == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* wait until its upload is under way */
	char *ids = NULL;
	for (int i = 0; i < 100; i++) {
		free(ids);
		ids = fst_glance_ids_named(name);
		if (*ids && fst_rbd_snap_count(vms, disk, NULL) == 1)
			break;
		usleep(100 * 1000);
	}
	cr_assert(*ids, "the slow run did not start");
	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, NULL), 0);
	char id[64];
	sscanf(ids, "%63s", id);
	cr_assert(reported(rep, "skipped", id), "%s", cJSON_PrintUnformatted(rep));
	cr_assert_not(reported(rep, "found", id), "a live run was taken for dead");
	cJSON_Delete(rep);
	int wst = 0;
	waitpid(run, &wst, 0);
	cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "the live run failed after gc (status %d)",
		wst);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active");
	free(status);
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha);
	fst_glance_delete(id);
	fst_proxy_stop(proxy);
	fst_rbd_remove_all(vms, disk);
	free(url); free(ids); free(name); free(disk);
}

#define RADOS "rados -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "

/* Passes of gc --older-than 4 (5 s apart), through `url` (or Glance
 * itself): the run's owner is a dead pid of this host, so one pass decides;
 * a second is the reproduction (it lost the image to two). */
static void passes(const char *url, const char *id, const char *label, int n)
{
	char g[256] = "";
	if (url)
		snprintf(g, sizeof(g), "--glance-url %s", url);
	for (int pass = 0; pass < n; pass++) {
		if (pass)
			sleep(5);
		cJSON *rep = NULL;
		char *err = NULL;
		char *e = NULL;
		int st = fst_cli_json(&rep, &err, GC_ENV, "%s gc --pool vms --older-than 4 "
			"--state-file /tmp/fst-gc-test-state-%d.json", g, (int)getpid());
		char *txt = rep ? cJSON_PrintUnformatted(rep) : NULL;
		cr_assert_eq(st, 0, "[%s] gc exit %d: %s %s", label, st, err, txt);
		cr_assert_not(reported(rep, "found", id), "[%s] a finished image taken for a dead run: %s",
			label, txt);
		cr_assert_not(reported(rep, "removed", id), "[%s] %s", label, txt);
		free(e);
		free(txt);
		free(err);
		cJSON_Delete(rep);
	}
}

static void assert_untouched(const char *id, const char *want_status, const char *label)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "images/%s@snap", id);
	cr_assert(fst_rbd_exists(images, id), "[%s] the finished image's clone was removed", label);
	cr_assert(snap_exists(spec), "[%s] the finished image's snap was removed", label);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, want_status, "[%s] the finished image's record is '%s'", label, status);
	free(status);
}

/* A finished image is never touched, whatever Glance answers about it:
 * deactivated by an admin (with the clone's done mark, and without it,
 * as an image made before the mark existed), 404 (an identity that cannot
 * see it, another region) and 500. */
Test(gc, never_touches_a_finished_image)
{
	char *disk = fst_unique("fst-gcfin");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 1, NULL, sha);
	char *base = fst_base_image("fast", 4 * MiB, 9);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s-img --store fast "
		"--flatten sync", disk, disk);
	cr_assert_eq(st, 0, "%s", err);
	char *id = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	char *out = NULL;
	fst_sh(&out, NULL, RBD "image-meta get images/%s fastsnap.done", id);
	cr_assert(out && *out, "the finished clone carries no done mark");
	free(out);

	char path[256], *body = NULL;
	snprintf(path, sizeof(path), "/v2/images/%s/actions/deactivate", id);
	st = fst_glance(&body, "POST", path, NULL);
	cr_assert_eq(st, 204, "deactivate: %d %s", st, body);
	free(body);
	passes(NULL, id, "deactivated, done mark", 2);
	assert_untouched(id, "deactivated", "deactivated, done mark");

	/* as an image of a fastsnap before the done mark: Glance decides */
	cr_assert_eq(fst_sh(NULL, NULL, RBD "image-meta remove images/%s fastsnap.done", id), 0);
	passes(NULL, id, "deactivated, no done mark", 2);
	assert_untouched(id, "deactivated", "deactivated, no done mark");
	snprintf(path, sizeof(path), "/v2/images/%s/actions/reactivate", id);
	body = NULL;
	st = fst_glance(&body, "POST", path, NULL);
	cr_assert_eq(st, 204, "reactivate: %d %s", st, body);
	free(body);

	static const char *const faults[] = { "--fault image-get:404", "--fault image-get:500" };
	for (size_t i = 0; i < 2; i++) {
		pid_t proxy;
		char *url = fst_proxy_start(&proxy, faults[i]);
		passes(url, id, faults[i], 1);
		fst_proxy_stop(proxy);
		free(url);
		assert_untouched(id, "active", faults[i]);
	}
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha, "the finished image's data changed");
	fst_glance_delete(id);
	fst_glance_delete(base);
	fst_rbd_remove_all(vms, disk);
	free(id); free(base); free(disk);
}

/* The timing leak: a run killed after its snapshot and before its image
 * existed (the create held by the proxy) leaves a temporary snapshot no
 * Glance image vouches for; the run tag written before the snapshot does,
 * and gc removes both. A tag that says "ended" is dead at once, whatever
 * the host. */
Test(gc, removes_the_snapshot_of_a_run_killed_before_its_image_existed)
{
	char *disk = fst_unique("fst-gcleak");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 1, NULL, sha);
	char *name = fst_unique("fst-gcleakimg");
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, "--fault create:stall");
	char *err = NULL;
	int st = fst_cli_json(NULL, &err, "FASTSNAP_TEST_KILL_AFTER=tmp-snap", "--glance-url %s snapshot "
		"--disk vms/%s --name %s --flatten sync", url, disk, name);
	fst_proxy_stop(proxy);
	cr_assert_eq(st, 137, "the run was not killed after tmp-snap: exit %d: %s", st, err);
	free(err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "the held create made an image after all");
	free(ids);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 1, "no temporary snapshot: %s", snaps);
	free(snaps);
	char *out = NULL;
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c '^fastsnap\\.run\\.'", disk);
	cr_assert_eq(atoi(out), 1, "the run tag is not on the disk");
	free(out);

	/* another host's snapshot whose run said it ended (its clean-up could
	 * not remove it) */
	char *far = NULL;
	fst_sh(&far, NULL, "cat /proc/sys/kernel/random/uuid");
	far[strcspn(far, "\n")] = '\0';
	cr_assert_eq(fst_sh(NULL, NULL, RBD "snap create vms/%s@fastsnap-%s-far-away-host-5-6 && "
		RBD "image-meta set vms/%s fastsnap.run.%s 'far-away-host:5:6 ended'", disk, far, disk, far),
		0);

	cJSON *rep = NULL;
	st = gc_json(&rep, NULL);
	char *txt = cJSON_PrintUnformatted(rep);
	cr_assert_eq(st, 0, "gc exit %d: %s", st, txt);
	cr_assert(reported(rep, "removed", "fastsnap-"), "%s", txt);
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 0, "snapshots left: %s (%s)", snaps, txt);
	free(snaps);
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c '^fastsnap\\.'", disk);
	cr_assert_eq(atoi(out), 0, "tags left on the disk: %s", txt);
	free(out);
	free(txt);
	cJSON_Delete(rep);
	char now[129];
	fst_rbd_sha512(vms, disk, NULL, now);
	cr_assert_str_eq(now, sha, "the disk changed");
	fst_rbd_remove_all(vms, disk);
	free(far); free(url); free(name); free(disk);
}

/* Without --state-file, where the default state folder does not exist: gc
 * says so and does nothing (it used to act, then fail to save). */
Test(gc, does_nothing_when_its_state_file_cannot_be_written)
{
	char *host = self_host();
	char owner[512];
	snprintf(owner, sizeof(owner), "%s:1:7", host);
	char *id = tagged_image(owner, "in-progress");
	char env[256];
	snprintf(env, sizeof(env), "FASTSNAP_STATE_DIR=/tmp/fst-no-such-dir-%d/x", (int)getpid());
	char *err = NULL;
	int st = fst_cli_json(NULL, &err, env, "gc --pool vms");
	cr_assert_eq(st, 1, "exit %d: %s", st, err);
	cr_assert(strstr(err, "nothing was done"), "%s", err);
	free(err);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "queued", "gc acted although it could not keep its state");
	free(status);
	/* with a state file it can write, the dead run goes */
	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, NULL), 0);
	cr_assert(reported(rep, "found", id));
	cJSON_Delete(rep);
	status = fst_glance_status(id);
	cr_assert_str_eq(status, "");
	free(status);
	free(id);
	free(host);
}

/* One gc at a time: while another holds a pool's lock, gc does nothing. */
Test(gc, one_gc_at_a_time)
{
	char *host = self_host();
	char owner[512];
	snprintf(owner, sizeof(owner), "%s:1:7", host);
	char *id = tagged_image(owner, "in-progress");
	cr_assert_eq(fst_sh(NULL, NULL, RADOS "-p vms lock get fastsnap.gc.lock fastsnap-gc "
		"--lock-cookie other-gc --lock-duration 120"), 0);
	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, NULL), 0);
	char *txt = cJSON_PrintUnformatted(rep);
	cr_assert(reported(rep, "skipped", "pool vms"), "%s", txt);
	cr_assert_not(reported(rep, "found", id), "gc acted beside another: %s", txt);
	free(txt);
	cJSON_Delete(rep);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "queued", "gc acted while another held the lock");
	free(status);
	cr_assert_eq(fst_sh(NULL, NULL, RADOS "-p vms lock break fastsnap.gc.lock fastsnap-gc "
		"$(" RADOS "-p vms lock info fastsnap.gc.lock fastsnap-gc | python3 -c 'import json,sys; "
		"print(json.load(sys.stdin)[\"lockers\"][0][\"name\"])') --lock-cookie other-gc"), 0);
	cr_assert_eq(gc_json(&rep, NULL), 0);
	cr_assert(reported(rep, "found", id));
	cJSON_Delete(rep);
	free(id);
	free(host);
}

/* A crowded disk: 256 snapshots before ours and 24 KiB of metadata around
 * the run tag (the scan used to see 256 snapshots and skip an image whose
 * metadata passed 16 KiB). The dead run's snapshot and tag are found and
 * removed; the other snapshots and keys stay. */
Test(gc, a_crowded_disk_hides_nothing)
{
	char *disk = fst_unique("fst-gccrowd");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	rbd_image_t img;
	cr_assert_eq(rbd_open(vms, disk, &img, NULL), 0);
	for (int i = 0; i < 256; i++) {
		char n[32];
		snprintf(n, sizeof(n), "operator-%03d", i);
		cr_assert_eq(rbd_snap_create(img, n), 0, "snapshot %d", i);
	}
	char pad[401];
	memset(pad, 'p', 400);
	pad[400] = '\0';
	for (int i = 0; i < 60; i++) {
		char k[32];
		snprintf(k, sizeof(k), "%s.%03d", i % 2 ? "pad" : "fastsnap.aaa-pad", i);
		cr_assert_eq(rbd_metadata_set(img, k, pad), 0);
	}
	char *host = self_host();
	/* a fresh id: runs are grouped by id, across disks */
	char *id = NULL;
	fst_sh(&id, NULL, "cat /proc/sys/kernel/random/uuid");
	id[strcspn(id, "\n")] = '\0';
	char snap[512], key[128], val[600];
	snprintf(snap, sizeof(snap), "fastsnap-%s-%s-1-7", id, host);
	snprintf(key, sizeof(key), "fastsnap.run.%s", id);
	snprintf(val, sizeof(val), "%s:1:7 1000", host);
	cr_assert_eq(rbd_metadata_set(img, key, val), 0);
	cr_assert_eq(rbd_snap_create(img, snap), 0);
	rbd_close(img);

	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, NULL), 0);
	char *txt = cJSON_PrintUnformatted(rep);
	cr_assert(reported(rep, "removed", snap), "%s", txt);
	cr_assert(reported(rep, "removed", key), "%s", txt);
	free(txt);
	cJSON_Delete(rep);
	char spec[1024];
	snprintf(spec, sizeof(spec), "vms/%s@%s", disk, snap);
	cr_assert_not(snap_exists(spec), "the dead run's snapshot is still there");
	char *out = NULL;
	fst_sh(&out, NULL, RBD "snap ls vms/%s | grep -c ' operator-'", disk);
	cr_assert_eq(atoi(out), 256, "an operator's snapshot went (%s left)", out);
	free(out);
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c 'pad'", disk);
	cr_assert_eq(atoi(out), 60, "padding keys went");
	free(out);
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c 'fastsnap.run'", disk);
	cr_assert_eq(atoi(out), 0, "the run tag is still there");
	free(out);
	cr_assert_eq(fst_sh(NULL, NULL, RBD "snap purge vms/%s >/dev/null 2>&1 && " RBD "rm vms/%s "
		">/dev/null 2>&1", disk, disk), 0);
	free(id);
	free(host);
	free(disk);
}

/* Backups: image_type=backup and backup_type; rotation keeps the newest N
 * of this instance and type, and never another instance's or type's. */
Test(gc, backup_rotation)
{
	char *disk = fst_unique("fst-bk");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	const char *inst = "5b2a3f61-2c1e-4a7e-9a0b-6d1e2f3a4b5c";
	const char *other = "7c3d4e5f-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
	char *ids[4] = { 0 };
	/* Glance's created_at has whole seconds: one backup a second keeps
	 * "newest first" unambiguous. */
	for (int i = 0; i < 4; i++) {
		cJSON *j = NULL;
		char *err = NULL;
		usleep(1100 * 1000);
		int st = fst_cli_json(&j, &err, NULL, "backup --disk vms/%s --name %s-%d --store local "
			"--instance-uuid %s --backup-type %s --rotation 2", disk, disk, i,
			i == 3 ? other : inst, i == 2 ? "weekly" : "daily");
		cr_assert_eq(st, 0, "backup %d: %s", i, err);
		ids[i] = strdup(fst_jstr(j, "image_id"));
		char *t = fst_glance_prop(ids[i], "image_type");
		cr_assert(t && !strcmp(t, "backup"), "image_type %s", t);
		free(t);
		cJSON_Delete(j);
		free(err);
	}
	/* daily of inst: 0 and 1 (2 is weekly, 3 another instance): nothing over 2 */
	for (int i = 0; i < 4; i++) {
		char *s = fst_glance_status(ids[i]);
		cr_assert_str_eq(s, "active", "backup %d was rotated away early", i);
		free(s);
	}
	/* a third daily one: rotation 2 deletes the oldest daily of inst only */
	usleep(1100 * 1000);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "backup --disk vms/%s --name %s-4 --store local "
		"--instance-uuid %s --backup-type daily --rotation 2", disk, disk, inst);
	cr_assert_eq(st, 0, "%s", err);
	const cJSON *del = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "rotation"),
		"deleted");
	cr_assert_eq(cJSON_GetArraySize(del), 1, "rotation deleted %d", cJSON_GetArraySize(del));
	cr_assert_str_eq(cJSON_GetArrayItem(del, 0)->valuestring, ids[0]);
	char *s0 = fst_glance_status(ids[0]);
	cr_assert_str_eq(s0, "");
	free(s0);
	for (int i = 1; i < 4; i++) {
		char *s = fst_glance_status(ids[i]);
		cr_assert_str_eq(s, "active", "backup %d (another type or instance, or kept) deleted", i);
		free(s);
	}
	char *newest = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	/* --rotation 0 deletes them all, the new one included */
	usleep(1100 * 1000);
	st = fst_cli_json(&j, &err, NULL, "backup --disk vms/%s --name %s-5 --store local "
		"--instance-uuid %s --backup-type daily --rotation 0", disk, disk, inst);
	cr_assert_eq(st, 0, "%s", err);
	char *last = strdup(fst_jstr(j, "image_id"));
	del = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "rotation"), "deleted");
	cr_assert_eq(cJSON_GetArraySize(del), 3, "rotation 0 deleted %d", cJSON_GetArraySize(del));
	const char *gone[] = { ids[1], newest, last };
	for (int i = 0; i < 3; i++) {
		char *s = fst_glance_status(gone[i]);
		cr_assert_str_eq(s, "", "%s survived --rotation 0", gone[i]);
		free(s);
	}
	cJSON_Delete(j);
	free(err);
	/* usage: backup needs its options */
	st = fst_cli_json(NULL, &err, NULL, "backup --disk vms/%s --name x --store local", disk);
	cr_assert_eq(st, 2, "backup without --backup-type/--rotation: exit %d", st);
	free(err);
	fst_glance_delete(ids[2]);
	fst_glance_delete(ids[3]);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
	free(newest); free(last);
	fst_rbd_remove_all(vms, disk);
	free(disk);
}
