/*
 * tests/integration/test_gc.c: `fastsnap gc` against the dev cluster:
 * it never touches what fastsnap did not create (look-alike names, an
 * operator's snapshots, Glance's own `snap`, a snapshot named like ours in
 * a pool it does not scan, a temporary snapshot with children that are not
 * fastsnap's), never touches a live run however slow, judges another
 * host's run by two heartbeat readings --older-than apart, and a dry run
 * changes nothing. Backup rotation is tested here too.
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

FST_POOLS_SUITE(gc, .timeout = 600);

static int gc_json(cJSON **j, const char *extra)
{
	char *err = NULL;
	int st = fst_cli_json(j, &err, NULL, "gc --pool vms --state-file /tmp/fst-gc-test-state.json %s",
		extra ? extra : "");
	free(err);
	return st;
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
	char host[64];
	gethostname(host, sizeof(host));
	host[strcspn(host, ".")] = '\0';
	char owner[128];
	snprintf(owner, sizeof(owner), "%s:1:7", host);
	char *dead = tagged_image(owner, "in-progress");
	char tmp[256], kid[128], spec[512];
	snprintf(tmp, sizeof(tmp), "fastsnap-%s-%s-1-7", dead, host);
	snprintf(kid, sizeof(kid), "%s-operator-child", disk);
	/* A snapshot named like ours but with no Glance image behind it. */
	char stray[256];
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
	free(base); free(done); free(dead); free(disk);
}

/* Another host's run: dead only when its heartbeat did not move between
 * two gc runs --older-than apart; a moving heartbeat keeps it alive. */
Test(gc, other_hosts_are_judged_by_two_heartbeat_readings)
{
	unlink("/tmp/fst-gc-test-state.json");
	char *disk = fst_unique("fst-gcfar");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 1, NULL, sha);
	const char *owner = "far-away-host:4242:99";
	char *id = tagged_image(owner, "in-progress");
	cr_assert_eq(fst_sh(NULL, NULL, RBD "image-meta set vms/%s fastsnap.run.%s %s && "
		RBD "image-meta set vms/%s fastsnap.heartbeat.%s 1000", disk, owner, id, disk, owner), 0);

	cJSON *rep = NULL;
	cr_assert_eq(gc_json(&rep, "--older-than 1"), 0);
	cr_assert(reported(rep, "skipped", id), "first reading must not decide");
	cJSON_Delete(rep);
	sleep(2);
	/* the run is alive: its heartbeat moved */
	fst_sh(NULL, NULL, RBD "image-meta set vms/%s fastsnap.heartbeat.%s 1001", disk, owner);
	cr_assert_eq(gc_json(&rep, "--older-than 1"), 0);
	cr_assert(reported(rep, "skipped", id));
	cJSON_Delete(rep);
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "queued", "a run whose heartbeat moves was touched");
	free(status);
	sleep(2);
	/* not moved for longer than --older-than: dead, rolled back */
	cr_assert_eq(gc_json(&rep, "--older-than 1"), 0);
	cr_assert(reported(rep, "found", id), "%s", cJSON_PrintUnformatted(rep));
	cJSON_Delete(rep);
	status = fst_glance_status(id);
	cr_assert_str_eq(status, "", "the dead run's image is still there");
	free(status);
	char *out = NULL;
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c fastsnap", disk);
	cr_assert_eq(atoi(out), 0, "run tags left on the disk");
	free(out);
	fst_rbd_remove_all(vms, disk);
	free(id); free(disk);
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
