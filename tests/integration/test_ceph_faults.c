/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_ceph_faults.c: Ceph failing under a run. The OSD
 * is paused (SIGSTOP by its pid file; a memstore OSD that is killed loses
 * its data) in the middle of a stream and in the middle of a flatten,
 * through the test-build hook FASTSNAP_TEST_RUN_DURING: the run ends with a
 * clear timeout error within the Ceph operation timeout, not a hang; once
 * the OSD is back, `fastsnap gc` clears what the run could not, and a new
 * snapshot works. A mon that cannot be reached gives a clear error within
 * the connect timeout. The OSD is always resumed (teardown and a watchdog).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms, images;
static long osd_pid;

static void setup(void)
{
	fst_pools_open(&admin, &vms, &images);
	char pidfile[512];
	snprintf(pidfile, sizeof(pidfile), "%s/run/ceph-osd.0.pid", fst_env("FASTSNAP_DEV_DIR"));
	FILE *f = fopen(pidfile, "r");
	cr_assert_not_null(f, "no OSD pid file %s", pidfile);
	cr_assert_eq(fscanf(f, "%ld", &osd_pid), 1);
	fclose(f);
}

static void teardown(void)
{
	if (osd_pid > 0)
		kill((pid_t)osd_pid, SIGCONT);
	fst_pools_close(admin, vms, images);
}

TestSuite(ceph_faults, .init = setup, .fini = teardown, .timeout = 300);

/* Pause the OSD at `at` of a run, expect a timeout error within the bound,
 * resume it, then gc must leave nothing and the next snapshot work. */
static void paused_mid_run(const char *at, const char *args, const char *expect, const char *disk,
	const char *base, const char *sha)
{
	char *name = fst_unique("fst-cfault");
	char *g_before = fst_glance_image_ids();
	/* A watchdog resumes the OSD if this test dies; it stands down once
	 * its token file is gone, so that it never resumes a later pause. */
	char token[128], hook[768];
	snprintf(token, sizeof(token), "/tmp/fst-osd-pause-%d-%ld", (int)getpid(), (long)time(NULL));
	/* The watchdog also resumes the OSD after 8 s: a memstore OSD of
	 * Ceph 16 stopped longer than its PG read lease (0.8 x the 20 s
	 * heartbeat grace, counted from its last renewal, some seconds before
	 * the pause) came back with its PG "waiting for readable" for ever
	 * (seen after a 40 s pause, and once after a 12 s one). The run's
	 * error comes before (the operation timeout is 3 s; a flatten is
	 * stopped after 5 s without progress); its clean-up may then succeed. */
	snprintf(hook, sizeof(hook), "FASTSNAP_CEPH_OP_TIMEOUT_S=3 FASTSNAP_TEST_RUN_DURING='%s:"
		"touch %s; kill -STOP %ld; (sleep 8; [ -e %s ] && kill -CONT %ld) >/dev/null 2>&1 &'", at,
		token, osd_pid, token, osd_pid);
	char *err = NULL;
	time_t t0 = time(NULL);
	int st = fst_cli_json(NULL, &err, hook, "snapshot --disk vms/%s --name %s --base-image-ref %s %s",
		disk, name, base, args);
	double took = difftime(time(NULL), t0);
	kill((pid_t)osd_pid, SIGCONT);
	unlink(token);
	cr_assert_eq(st, 1, "[%s] exit %d: %s", at, st, err);
	cr_assert(strstr(err, expect), "[%s] not the error expected (%s): %s", at, expect, err);
	/* the operation, then each clean-up step, may each wait the timeout */
	cr_assert_lt(took, 40, "[%s] took %.0f s with a 3 s Ceph operation timeout", at, took);
	free(err);

	char *out = NULL;
	st = fst_sh(&out, &err, "%s gc --pool vms --state-file /tmp/fst-cfault-gc.json", fst_cli());
	cr_assert_eq(st, 0, "[%s] gc after the OSD came back: %s%s", at, out, err);
	free(out);
	free(err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "[%s] image left in Glance", at);
	free(ids);
	char *g_after = fst_glance_image_ids();
	cr_assert_str_eq(g_before, g_after, "[%s] Glance changed", at);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 0, "[%s] snapshots left: %s", at, snaps);
	free(snaps);
	char now[129];
	fst_rbd_sha512(vms, disk, NULL, now);
	cr_assert_str_eq(now, sha, "[%s] the disk changed", at);

	cJSON *j = NULL;
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --base-image-ref %s %s", disk,
		name, base, args);
	cr_assert_eq(st, 0, "[%s] the next snapshot failed: %s", at, err);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	free(g_before);
	free(g_after);
	free(name);
}

static int every_other(uint64_t obj) { return obj % 2 == 0; }

/* paused_mid_run on a fresh Nova-style disk of `size` (half its objects
 * written), cloned from a fresh base image; both removed after. */
static void paused_on_a_new_disk(const char *at, const char *args, const char *expect,
	uint64_t size, unsigned seed)
{
	char *base = fst_base_image("fast", 8 * MiB, 4);
	char *disk = fst_unique("fst-cfdisk");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, size, seed, every_other, sha);
	paused_mid_run(at, args, expect, disk, base, sha);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(base);
	free(disk);
}

/* 160 MiB: the stream reports progress every 64 MiB */
Test(ceph_faults, osd_paused_mid_stream)
{
	paused_on_a_new_disk("stream:0.3", "--store local", "timed out", 160 * MiB, 21);
}

/* librbd's flatten waits for a paused OSD to come back whatever the
 * operation timeout (docs/reliability.md): the flatten runs in the
 * fastsnap-flatten helper, which the run stops once it reports nothing for
 * the timeout plus 2 s, with its own error (an in-process flatten fails
 * otherwise, or not at all: after the 8 s pause it may go on). 512 MiB:
 * 128 objects to copy, so that the pause lands in the middle of the
 * flatten. */
Test(ceph_faults, osd_paused_mid_flatten)
{
	paused_on_a_new_disk("flatten:0.1", "--store fast --flatten sync", "no object was copied",
		512 * MiB, 22);
}

Test(ceph_faults, unreachable_mon_within_the_connect_timeout)
{
	char conf[] = "/tmp/fst-badmon-XXXXXX";
	int fd = mkstemp(conf);
	cr_assert_geq(fd, 0);
	close(fd);
	/* the same ceph.conf, its mon on a loopback port nobody listens on */
	cr_assert_eq(fst_sh(NULL, NULL, "sed -E 's/^([[:space:]]*mon[ _]host[[:space:]]*=).*/\\1 "
		"v2:127.0.0.1:9/' $CEPH_CONF > %s && grep -q '127.0.0.1:9$' %s", conf, conf), 0);
	char *out = NULL, *err = NULL;
	time_t t0 = time(NULL);
	int st = fst_sh(&out, &err, "FASTSNAP_CONNECT_TIMEOUT_MS=3000 %s --ceph-conf %s stores",
		fst_cli(), conf);
	double took = difftime(time(NULL), t0);
	unlink(conf);
	cr_assert_eq(st, 1, "exit %d: %s", st, err);
	cr_assert(strstr(err, "cannot connect") && strstr(err, conf), "unclear: %s", err);
	cr_assert_lt(took, 15, "took %.0f s with a 3 s connect timeout", took);
	free(out);
	free(err);
}
