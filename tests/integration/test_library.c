/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_library.c: the public C API as an embedding
 * program uses it (include/fastsnap.h only): option-struct versions,
 * stores, results, cancellation from the progress callback, and one engine
 * shared by several threads running snapshots at once.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	cr_assert_eq(fastsnap_store_list_count(l), 3);
	cr_assert(fastsnap_store_list_has_detail(l));
	cr_assert_null(fastsnap_store_list_get(l, 3));
	int rbd = 0;
	for (size_t i = 0; i < 3; i++) {
		const fastsnap_store *s = fastsnap_store_list_get(l, i);
		if (s->type && !strcmp(s->type, "rbd")) {
			rbd++;
			cr_assert_str_eq(s->pool, "images");
		}
	}
	cr_assert_eq(rbd, 1);
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
