/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_library.c: the public C API as an embedding
 * program uses it (include/fastsnap.h only): option-struct versions,
 * stores, results, cancellation from the progress callback, and one engine
 * shared by several threads running snapshots at once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"
#include "fastsnap.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(library, .timeout = 300);

Test(library, options_versions_and_stores)
{
	fastsnap_engine_opts bad = FASTSNAP_ENGINE_OPTS_INIT;
	bad.version = 99;
	fastsnap_engine *e = NULL;
	cr_assert_eq(fastsnap_engine_open(&e, &bad), FASTSNAP_EINVAL);
	cr_assert_null(e);
	cr_assert(strstr(fastsnap_error_last(), "FASTSNAP_ENGINE_OPTS_INIT"), "%s", fastsnap_error_last());

	e = fst_engine();
	cr_assert_str_eq(fastsnap_engine_fsid(e), fst_env("FASTSNAP_DEV_FSID"));
	fastsnap_store_list *l = NULL;
	cr_assert_eq(fastsnap_stores_list(&l, e), 0, "%s", fastsnap_error_last());
	/* local, fast, web (and edge, with ceph-dev/up --edge) */
	size_t n = 3 + (size_t)fst_has_edge();
	cr_assert_eq(fastsnap_store_list_count(l), n);
	cr_assert(fastsnap_store_list_has_detail(l));
	cr_assert_null(fastsnap_store_list_get(l, n));
	int rbd = 0;
	for (size_t i = 0; i < n; i++) {
		const fastsnap_store *s = fastsnap_store_list_get(l, i);
		if (s->type && !strcmp(s->type, "rbd")) {
			rbd++;
			cr_assert_str_eq(s->pool, "images");
		}
	}
	cr_assert_eq(rbd, 1 + fst_has_edge());
	fastsnap_store_list_free(l);

	/* A request refused before the plan still gives a result with the error. */
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = "vms/x";
	fastsnap_result *r = NULL;
	cr_assert_eq(fastsnap_snapshot(&r, e, &o), FASTSNAP_EINVAL);
	cr_assert_not_null(r);
	cr_assert_eq(fastsnap_result_error_code(r), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_result_error(r), "name"), "%s", fastsnap_result_error(r));
	cr_assert_str_eq(fastsnap_engine_last_error(e), fastsnap_result_error(r));
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
}

typedef struct {
	fastsnap_step cancel_at;
	uint64_t cancel_after;
	int calls;
} cancel_state;

static int cancel_cb(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	cancel_state *c = payload;
	(void)total;
	c->calls++;
	return step == c->cancel_at && done >= c->cancel_after;
}

/* The caller cancels from the progress callback in the middle of the
 * upload: the run fails with FASTSNAP_ECANCELED and cleans up. */
Test(library, cancel_during_stream_cleans_up)
{
	char *disk = fst_unique("fst-lcancel");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 256 * MiB, 61, 4, NULL, sha);
	char *name = fst_unique("fst-lcancelimg");
	char spec[256];
	snprintf(spec, sizeof(spec), "vms/%s", disk);
	fastsnap_engine *e = fst_engine();
	cancel_state cs = { FASTSNAP_STEP_STREAM, 64 * MiB, 0 };
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = spec;
	o.name = name;
	o.store = "local";
	o.progress_cb = cancel_cb;
	o.progress_payload = &cs;
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	cr_assert_eq(rc, FASTSNAP_ECANCELED, "rc %d: %s", rc, fastsnap_error_last());
	cr_assert_null(strstr(fastsnap_result_error(r), "clean-up failed"), "%s", fastsnap_result_error(r));
	const char *id = fastsnap_result_image_id(r);
	cr_assert_not_null(id);
	char *st = fst_glance_status(id);
	cr_assert_str_eq(st, "", "canceled image %s still in Glance", id);
	free(st);
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0);
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
	fst_rbd_remove_all(vms, disk);
	free(disk);
	free(name);
}

#define NTHREADS 4

typedef struct {
	fastsnap_engine *e;
	char disk[128];
	char name[128];
	const char *base;
	fastsnap_flatten_mode mode;
	const char *store;
	int rc;
	char err[512];
	char id[64];
	char path[16];
} job;

static void *run_job(void *arg)
{
	job *j = arg;
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = j->disk;
	o.name = j->name;
	o.base_image_ref = j->base;
	o.flatten = j->mode;
	o.store = j->store;
	fastsnap_result *r = NULL;
	j->rc = fastsnap_snapshot(&r, j->e, &o);
	/* the thread-local error belongs to this thread */
	snprintf(j->err, sizeof(j->err), "%s", j->rc ? fastsnap_error_last() : "");
	if (r && fastsnap_result_image_id(r))
		snprintf(j->id, sizeof(j->id), "%s", fastsnap_result_image_id(r));
	snprintf(j->path, sizeof(j->path), "%s", fastsnap_path_name(fastsnap_result_path(r)));
	fastsnap_result_free(r);
	return NULL;
}

/* One engine, four threads, four disks, both paths at once. */
Test(library, one_engine_many_threads)
{
	/* Four concurrent direct snapshots, on both stacks (the trixie stack's
	 * Glance 30 runs on MariaDB: its concurrent location_import tasks no
	 * longer meet SQLite's "database is locked"; ceph-dev/README.md). */
	char *base = fst_base_image("fast", 4 * MiB, 2);
	fastsnap_engine *e = fst_engine();
	job jobs[NTHREADS];
	char shas[NTHREADS][129];
	pthread_t th[NTHREADS];
	const fastsnap_flatten_mode modes[NTHREADS] = { FASTSNAP_FLATTEN_SYNC, FASTSNAP_FLATTEN_DEFERRED,
		FASTSNAP_FLATTEN_NONE, FASTSNAP_FLATTEN_SYNC };
	for (int i = 0; i < NTHREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		char *d = fst_unique("fst-lthread");
		fst_nova_disk(vms, images, base, d, 32 * MiB, 30 + (unsigned)i, NULL, shas[i]);
		snprintf(jobs[i].disk, sizeof(jobs[i].disk), "vms/%s", d);
		snprintf(jobs[i].name, sizeof(jobs[i].name), "%s-img", d);
		free(d);
		jobs[i].e = e;
		jobs[i].base = base;
		jobs[i].mode = modes[i];
		jobs[i].store = i == NTHREADS - 1 ? "local" : NULL; /* the last one streams */
	}
	for (int i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		cr_assert_eq(jobs[i].rc, 0, "thread %d: %s", i, jobs[i].err);
		cr_assert_str_eq(jobs[i].path, i == NTHREADS - 1 ? "stream" : "direct", "thread %d", i);
		char got[129];
		fst_glance_download_sha512(jobs[i].id, got);
		cr_assert_str_eq(got, shas[i], "thread %d: image data differs from its disk", i);
	}
	for (int i = 0; i < NTHREADS; i++) {
		fst_glance_delete(jobs[i].id);
		fst_rbd_remove_all(vms, jobs[i].disk + 4);
	}
	fastsnap_engine_close(e);
	fst_glance_delete(base);
	free(base);
}

typedef struct {
	char events[64];            /* "B" at BEGIN, "E" at END, "s" per tmp-snap end */
	uint64_t flatten_total;     /* largest total seen during flatten */
	uint64_t flatten_done;
	int flatten_calls;
} signal_log;

static int log_capture(fastsnap_capture_event ev, void *payload)
{
	signal_log *l = payload;
	strcat(l->events, ev == FASTSNAP_CAPTURE_BEGIN ? "B" : "E");
	return 0;
}

static int log_progress(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	signal_log *l = payload;
	if (step == FASTSNAP_STEP_TMP_SNAP && done == 1 && total == 1)
		strcat(l->events, "s");
	if (step == FASTSNAP_STEP_FLATTEN && total > 1) {
		l->flatten_calls++;
		l->flatten_done = done;
		if (total > l->flatten_total)
			l->flatten_total = total;
	}
	return 0;
}

/* The capture signals bracket the temporary snapshot (BEGIN, END, then the
 * step's end), and flatten progress counts bytes: objects times 4 MiB, up
 * to the disk's size. A version-1 options struct still runs. */
Test(library, capture_signals_and_flatten_bytes)
{
	char *base = fst_base_image("fast", 4 * MiB, 2);
	char *disk = fst_unique("fst-lsig");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, 64 * MiB, 12, NULL, sha);
	char spec[256];
	snprintf(spec, sizeof(spec), "vms/%s", disk);
	char *name = fst_unique("fst-lsigimg");
	fastsnap_engine *e = fst_engine();
	signal_log l;
	memset(&l, 0, sizeof(l));
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = spec;
	o.name = name;
	o.base_image_ref = base;
	o.flatten = FASTSNAP_FLATTEN_SYNC;
	o.progress_cb = log_progress;
	o.progress_payload = &l;
	o.capture_cb = log_capture;
	o.capture_payload = &l;
	fastsnap_result *r = NULL;
	cr_assert_eq(fastsnap_snapshot(&r, e, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(fastsnap_path_name(fastsnap_result_path(r)), "direct");
	cr_assert_str_eq(l.events, "BEs", "capture signals out of place: %s", l.events);
	cr_assert_gt(l.flatten_calls, 0);
	cr_assert_eq(l.flatten_total, 64 * MiB, "flatten total %llu bytes, want the disk's 64 MiB",
		(unsigned long long)l.flatten_total);
	/* librbd reports objects done; the last report may come before the
	 * last object (the step's (1, 1) marks its end). */
	cr_assert(l.flatten_done > 0 && l.flatten_done <= l.flatten_total &&
		l.flatten_done % (4 * MiB) == 0, "flatten done %llu of %llu bytes",
		(unsigned long long)l.flatten_done, (unsigned long long)l.flatten_total);
	char got[129];
	fst_glance_download_sha512(fastsnap_result_image_id(r), got);
	cr_assert_str_eq(got, sha);
	fst_glance_delete(fastsnap_result_image_id(r));
	fastsnap_result_free(r);

	/* A disk that cannot be opened fails before BEGIN: no signal, the
	 * disk's error, nothing in Glance. */
	memset(&l, 0, sizeof(l));
	char missing[300];
	snprintf(missing, sizeof(missing), "vms/%s-missing", disk);
	o.disk = missing;
	cr_assert_eq(fastsnap_snapshot(&r, e, &o), FASTSNAP_ENOTFOUND, "%s", fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "not found"), "%s", fastsnap_error_last());
	cr_assert_str_eq(l.events, "", "capture signals for a disk that cannot be opened: %s",
		l.events);
	char *left = fst_glance_ids_named(name);
	cr_assert_str_eq(left ? left : "", "", "images left in Glance: %s", left);
	free(left);
	fastsnap_result_free(r);
	o.disk = spec;

	/* A program built against version 1 of the struct: it ends before
	 * the capture callback; the library must not read past it. */
	size_t v1 = offsetof(fastsnap_snapshot_opts, capture_cb);
	fastsnap_snapshot_opts full = o;
	full.version = 1;
	full.progress_cb = NULL;
	full.flatten = FASTSNAP_FLATTEN_NONE;
	void *old = malloc(v1);   /* only the bytes a version-1 program has */
	cr_assert_not_null(old);
	memcpy(old, &full, v1);
	cr_assert_eq(fastsnap_snapshot(&r, e, old), 0, "%s", fastsnap_error_last());
	fst_glance_download_sha512(fastsnap_result_image_id(r), got);
	cr_assert_str_eq(got, sha);
	fst_glance_delete(fastsnap_result_image_id(r));
	fastsnap_result_free(r);
	free(old);

	fastsnap_engine_close(e);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(base);
	free(disk);
	free(name);
}

/* ---- two streams of one disk in one process (issue 27, per-run tags) ----
 * Both runs of one disk in one process have the same owner (host, pid,
 * start): the disk's tag and heartbeat are per run, fastsnap.run.<image
 * id>, so neither can take or delete the other's. */
typedef struct {
	fastsnap_engine *e;
	const char *disk;      /* "vms/<name>" */
	const char *base;      /* direct: the base image; NULL streams to local */
	int rc;
	char err[512], id[64], path[16];
	int snapped, done;     /* under `mu` */
	char note[512];        /* the first problem seen in the callback */
} pair_job;

static pthread_mutex_t pair_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pair_cv = PTHREAD_COND_INITIALIZER;
static pair_job *pair_jobs[2];

/* The disk's fastsnap.run.* keys, "key=value\n" each (caller frees). */
static char *run_tags(const char *disk, int *n)
{
	rbd_image_t img;
	*n = -1;
	if (rbd_open_read_only(vms, disk + 4, &img, NULL) < 0)
		return strdup("");
	char keys[8192], vals[8192];
	size_t kl = sizeof(keys), vl = sizeof(vals);
	int r = rbd_metadata_list(img, "fastsnap.run.", 0, keys, &kl, vals, &vl);
	rbd_close(img);
	if (r < 0)
		return strdup("");
	char *out = calloc(1, kl + vl + 64);
	*n = 0;
	for (size_t k = 0, v = 0; k < kl && keys[k]; k += strlen(keys + k) + 1, v += strlen(vals + v) + 1) {
		strcat(out, keys + k);
		strcat(out, "=");
		strcat(out, vals + v);
		strcat(out, "\n");
		(*n)++;
	}
	return out;
}

/* Wait (bounded: 120 s) until pred holds, under pair_mu. */
static int pair_wait(int (*pred)(void))
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 120;
	int ok = 1;
	while (ok && !pred())
		ok = pthread_cond_timedwait(&pair_cv, &pair_mu, &t) == 0 || pred();
	return pred();
}

static int both_snapped(void) { return pair_jobs[0]->snapped && pair_jobs[1]->snapped; }
static int first_done(void) { return pair_jobs[0]->done; }

static void pair_note(pair_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pair_note(pair_job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!j->note[0])
		vsnprintf(j->note, sizeof(j->note), fmt, ap);
	va_end(ap);
}

/* At the end of its temporary snapshot, each run waits until the other has
 * its snapshot too: both runs' tags must then be on the disk. The second
 * (streamed) run then waits, before its upload, until the first has
 * returned: its own tag must still be there (the first's clean-up took
 * only its own) and still beat (1 s period). */
static int pair_progress(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	pair_job *j = payload;
	if (step != FASTSNAP_STEP_TMP_SNAP || done != total || total == 0)
		return 0;
	pthread_mutex_lock(&pair_mu);
	j->snapped = 1;
	pthread_cond_broadcast(&pair_cv);
	if (!pair_wait(both_snapped)) {
		pair_note(j, "the other run never took its snapshot");
	} else {
		int n;
		char *tags = run_tags(j->disk, &n);
		if (n != 2)
			pair_note(j, "two runs of the disk at once, but its run tags are:\n%s", tags);
		free(tags);
	}
	if (j == pair_jobs[1]) {
		if (!pair_wait(first_done)) {
			pair_note(j, "the first run did not end");
		} else {
			pthread_mutex_unlock(&pair_mu);
			int n1, n2;
			char *t1 = run_tags(j->disk, &n1);
			sleep(3);
			char *t2 = run_tags(j->disk, &n2);
			pthread_mutex_lock(&pair_mu);
			char key[128];
			snprintf(key, sizeof(key), "fastsnap.run.%s=", pair_jobs[0]->id);
			if (n1 != 1 || n2 != 1 || strstr(t1, key))
				pair_note(j, "after the first run ended, the disk's run tags are:\n%s(want "
					"only the second run's)", t1);
			else if (!strcmp(t1, t2))
				pair_note(j, "the second run's heartbeat stopped when the first ended: %s",
					t1);
			free(t1);
			free(t2);
		}
	}
	pthread_mutex_unlock(&pair_mu);
	return 0;
}

static void *pair_run(void *arg)
{
	pair_job *j = arg;
	char name[160];
	snprintf(name, sizeof(name), "%s-%s", strchr(j->disk, '/') + 1, j->base ? "direct" : "stream");
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = j->disk;
	o.name = name;
	if (j->base) {
		o.base_image_ref = j->base;
		o.flatten = FASTSNAP_FLATTEN_SYNC;   /* nothing of it stays on the disk */
	} else {
		o.store = "local";
	}
	o.progress_cb = pair_progress;
	o.progress_payload = j;
	fastsnap_result *r = NULL;
	j->rc = fastsnap_snapshot(&r, j->e, &o);
	pthread_mutex_lock(&pair_mu);
	snprintf(j->err, sizeof(j->err), "%s", j->rc ? fastsnap_error_last() : "");
	if (r && fastsnap_result_image_id(r))
		snprintf(j->id, sizeof(j->id), "%s", fastsnap_result_image_id(r));
	snprintf(j->path, sizeof(j->path), "%s", fastsnap_path_name(fastsnap_result_path(r)));
	j->done = 1;
	pthread_cond_broadcast(&pair_cv);
	pthread_mutex_unlock(&pair_mu);
	fastsnap_result_free(r);
	return NULL;
}

Test(library, two_runs_of_one_disk_in_one_process)
{
	char *base = fst_base_image("fast", 4 * MiB, 2);
	char *d = fst_unique("fst-lpair");
	char sha[129], disk[128];
	fst_nova_disk(vms, images, base, d, 32 * MiB, 41, NULL, sha);
	snprintf(disk, sizeof(disk), "vms/%s", d);
	fastsnap_engine_opts eo = fst_engine_opts();
	eo.heartbeat_period_s = 1;
	fastsnap_engine *e = NULL;
	cr_assert_eq(fastsnap_engine_open(&e, &eo), 0, "%s", fastsnap_error_last());
	pair_job jobs[2];
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 2; i++) {
		jobs[i].e = e;
		jobs[i].disk = disk;
		jobs[i].base = i == 0 ? base : NULL;   /* the first direct, the second streamed */
		pair_jobs[i] = &jobs[i];
	}
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, pair_run, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(jobs[i].rc, 0, "run %d: %s", i, jobs[i].err);
		cr_assert_str_eq(jobs[i].path, i == 0 ? "direct" : "stream", "run %d", i);
		cr_assert_str_empty(jobs[i].note, "run %d: %s", i, jobs[i].note);
	}
	/* nothing of either run is left on the disk */
	int n;
	char *tags = run_tags(disk, &n);
	cr_assert_eq(n, 0, "run tags left on the disk:\n%s", tags);
	free(tags);
	cr_assert_eq(fst_rbd_snap_count(vms, d, NULL), 0, "a snapshot left on the disk");
	/* a gc afterwards finds nothing of theirs to touch */
	cJSON *rep = NULL;
	char *err = NULL;
	int st = fst_cli_json(&rep, &err, NULL, "gc --pool vms --state-file /tmp/fst-lpair-%d.json",
		(int)getpid());
	char *txt = rep ? cJSON_PrintUnformatted(rep) : strdup("");
	cr_assert_eq(st, 0, "gc: exit %d: %s %s", st, err, txt);
	for (int i = 0; i < 2; i++)
		cr_assert_null(strstr(txt, jobs[i].id), "gc reports run %d (%s): %s", i, jobs[i].id, txt);
	cr_assert_null(strstr(txt, d), "gc reports the disk %s: %s", d, txt);
	free(txt);
	free(err);
	cJSON_Delete(rep);
	fst_sh(NULL, NULL, "rm -f /tmp/fst-lpair-%d.json", (int)getpid());
	for (int i = 0; i < 2; i++) {
		char *status = fst_glance_status(jobs[i].id);
		cr_assert_str_eq(status, "active", "run %d", i);
		free(status);
		char got[129];
		fst_glance_download_sha512(jobs[i].id, got);
		cr_assert_str_eq(got, sha, "run %d: image data differs from the disk", i);
		fst_glance_delete(jobs[i].id);
	}
	fastsnap_engine_close(e);
	fst_rbd_remove_all(vms, d);
	fst_glance_delete(base);
	free(base);
	free(d);
}
