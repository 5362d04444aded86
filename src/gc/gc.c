/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/gc.c: `fastsnap gc` (fastsnap_gc): the public call, the lock and the
 * report; liveness.c, actions.c and state.c do the rest (gc_ctx.h).
 * Holds a leased RADOS lock per scanned pool (one gc at a time per
 * cluster), then for every run scan.c
 * found decides from what the run left whether it is unfinished, and
 * whether its owner is dead (the run's tag says it ended; on this host
 * and PID namespace: the pid is gone or its start time differs; else, or
 * when this host cannot see the pid: the heartbeat did not move between
 * two readings --older-than apart, kept per run in a state file, so that
 * two hosts' clocks are never compared). Unknown is never dead. It then
 * finishes the run (its image went active: flatten an interrupted clone,
 * remove the temporary snapshot and the disk's tag, clear the marks) or
 * rolls it back in a safe order (the clone's `snap`, the clone, the
 * temporary snapshots, the Glance image, the disk's tag) when the image
 * is provably unfinished: queued, saving, uploading, importing or killed,
 * marked in-progress by this very run. A finished image (fastsnap.done,
 * or any other Glance answer) is never rolled back. A live run is never
 * touched. See docs/operations.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cleanup/heartbeat.h"
#include "clients/flattener.h"
#include "clients/rbd.h"
#include "core/opts.h"
#include "engine.h"
#include "gc/gc.h"
#include "gc/gc_ctx.h"
#include "register/register.h"

void fs_gc_row(gc_ctx *x, const char *action, const char *detail, const char *fmt, ...)
	FS_PRINTF(4, 5);
void fs_gc_row(gc_ctx *x, const char *action, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = fs_vasprintf(fmt, ap);
	va_end(ap);
	fs_strv_push(&x->rep->what, what ? what : "?");
	fs_strv_push(&x->rep->action, action);
	fs_strv_push(&x->rep->detail, detail ? detail : "");
	if (!strcmp(action, "failed"))
		x->rep->failed++;
	free(what);
}

/* ---- one gc at a time (docs/operations.md, "Two gc at once") ---- */

#define GC_LOCK_OBJECT "fastsnap.gc.lock"
#define GC_LOCK_NAME "fastsnap-gc"
#define GC_LEASE_S 30
#define GC_RENEW_S 10

static int lock_take(rados_ioctx_t io, const char *cookie, int renew)
{
	struct timeval lease = { GC_LEASE_S, 0 };
	return rados_lock_exclusive(io, GC_LOCK_OBJECT, GC_LOCK_NAME, cookie,
		"fastsnap gc (a lease: it lapses when gc dies)", &lease,
		renew ? LIBRADOS_LOCK_FLAG_MAY_RENEW : 0);
}

static void *lock_renewer(void *arg)
{
	gc_lock *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += GC_RENEW_S;
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		for (size_t i = 0; i < l->n; i++)
			if (lock_take(l->io[i], l->cookie, 1) < 0)
				l->lost = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static int lock_lost(gc_ctx *x)
{
	pthread_mutex_lock(&x->lock.mu);
	int lost = x->lock.lost;
	pthread_mutex_unlock(&x->lock.mu);
	return lost;
}

/* Take every pool's lock (sorted order), or none: *busy names the pool
 * another gc holds. */
static int lock_all(gc_ctx *x, const fs_strv *pools, char **busy)
{
	gc_lock *l = &x->lock;
	*busy = NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(l->cookie, sizeof(l->cookie), "%s-%ld-%lld", "gc", (long)getpid(),
		(long long)time(NULL));
	if (!(l->io = calloc(pools->n ? pools->n : 1, sizeof(*l->io))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	for (size_t i = 0; i < pools->n; i++) {
		int rc = fs_ceph_ioctx(&l->io[l->n], x->c, pools->v[i]);
		if (rc < 0)
			return rc;
		int r = lock_take(l->io[l->n], l->cookie, 0);
		if (r == -EBUSY || r == -EEXIST) {
			rados_ioctx_destroy(l->io[l->n]);
			*busy = fs_strdup(pools->v[i]);
			return 0;
		}
		if (r < 0) {
			rados_ioctx_destroy(l->io[l->n]);
			return fs_err(fs_errno_to_code(r), "Ceph: cannot take gc's lock in pool %s: %s",
				pools->v[i], strerror(-r));
		}
		l->n++;
	}
	if (pthread_create(&l->thread, NULL, lock_renewer, l) != 0)
		return fs_err(FASTSNAP_ENOMEM, "cannot start the thread that renews gc's lock");
	l->running = 1;
	return 0;
}

static void unlock_all(gc_ctx *x)
{
	gc_lock *l = &x->lock;
	if (!l->io)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->running)
		pthread_join(l->thread, NULL);
	for (size_t i = 0; i < l->n; i++) {
		rados_unlock(l->io[i], GC_LOCK_OBJECT, GC_LOCK_NAME, l->cookie);
		rados_ioctx_destroy(l->io[i]);
	}
	free(l->io);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	memset(l, 0, sizeof(*l));
}

/* ---- the public call ---- */

/* The pools to scan: the caller's, [libvirt] images_rbd_pool, and the
 * pools of Glance's rbd stores (when stores/detail is readable). */
static int pools_to_scan(fs_strv *pools, const fastsnap_engine *e, fs_glance *g,
	const fastsnap_gc_opts *o)
{
	for (size_t i = 0; i < o->pools_count; i++)
		if (o->pools[i] && fs_strv_push(pools, o->pools[i]) < 0)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (e->s.images_rbd_pool)
		fs_strv_push(pools, e->s.images_rbd_pool);
	fs_store_set set;
	if (fs_glance_stores(g, &set) == 0) {
		for (size_t i = 0; i < set.n; i++)
			if (fs_streq(set.v[i].type, "rbd") && set.v[i].pool)
				fs_strv_push(pools, set.v[i].pool);
		fs_store_set_free(&set);
	}
	fastsnap_error_clear();
	/* each pool once */
	for (size_t i = 0; i < pools->n; i++)
		for (size_t j = pools->n; j-- > i + 1;)
			if (!strcmp(pools->v[i], pools->v[j])) {
				free(pools->v[j]);
				pools->v[j] = pools->v[--pools->n];
			}
	return pools->n ? 0 : fs_err(FASTSNAP_EINVAL, "gc: no pool to scan (give --pool, or set "
		"[libvirt] images_rbd_pool)");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int gc_run_all(gc_ctx *x, fastsnap_engine *e)
{
	fs_strv pools = FS_STRV_INIT;
	gc_runs runs;
	memset(&runs, 0, sizeof(runs));
	char *busy = NULL;
	int rc = pools_to_scan(&pools, e, x->g, &x->o);
	if (rc == 0)
		qsort(pools.v, pools.n, sizeof(*pools.v), cmp_str);
	x->pools = &pools;
	if (rc == 0 && !x->o.dry_run)
		rc = lock_all(x, &pools, &busy);
	if (rc == 0 && busy) {
		fs_gc_row(x, "skipped", "another gc holds this pool's lock (fastsnap.gc.lock): nothing was done",
			"pool %s", busy);
		free(busy);
		unlock_all(x);
		fs_gc_state_abandon(x);
		fs_strv_free(&pools);
		return 0;
	}
	if (rc == 0)
		rc = fs_gc_scan(&runs, x->c, x->g, &pools);
	for (size_t i = 0; rc == 0 && i < runs.notes.n; i++)
		fs_gc_row(x, "skipped", "look-alike", "%s", runs.notes.v[i]);
	x->rep->found = runs.n;
	x->rep->glance_gets = runs.glance_gets;
	x->rep->images_opened = runs.images_opened;
	for (size_t i = 0; rc == 0 && i < runs.n; i++) {
		if (!x->o.dry_run && lock_lost(x)) {
			rc = fs_err(FASTSNAP_EIO, "gc: its lock could not be renewed; stopped before run %s",
				runs.v[i].id);
			break;
		}
		fs_gc_handle(x, &runs.v[i]);
	}
	if (rc == 0) {
		fs_gc_state_prune(x, &runs);
		rc = fs_gc_state_save(x);
	}
	fs_gc_state_abandon(x);
	unlock_all(x);
	fs_gc_runs_free(&runs);
	fs_strv_free(&pools);
	return rc;
}

int fastsnap_gc(fastsnap_gc_report **out, fastsnap_engine *e, const fastsnap_gc_opts *in)
{
	fastsnap_error_clear();
	if (!out || !e)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_gc: NULL argument");
	*out = NULL;
	gc_ctx x;
	memset(&x, 0, sizeof(x));
	x.state_fd = -1;
	int rc = fs_gc_opts_upgrade(&x.o, in);
	if (rc < 0)
		return rc;
	if (x.o.older_than_s <= 0)
		x.o.older_than_s = 600;
	x.heartbeat_s = e->s.heartbeat_s > 0 ? e->s.heartbeat_s : 5;
	/* A heartbeat is written every period; a reading must span several,
	 * or a slow write is taken for a death. */
	if (x.o.older_than_s < FS_GC_OLDER_THAN_PERIODS * x.heartbeat_s)
		return fs_err(FASTSNAP_EINVAL, "gc: --older-than %ld s is below its floor of %ld s (%d "
			"heartbeat periods of %ld s)", x.o.older_than_s,
			FS_GC_OLDER_THAN_PERIODS * x.heartbeat_s, FS_GC_OLDER_THAN_PERIODS, x.heartbeat_s);
	if (!(x.rep = calloc(1, sizeof(*x.rep))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	x.rep->dry_run = x.o.dry_run;
	x.c = e->ceph;
	x.flatten_helper = e->s.flatten_helper;
	x.lg = &e->log;
	fs_owner_self(&x.self);
	snprintf(x.rep->host, sizeof(x.rep->host), "%s", x.self.host);
	if ((rc = fs_gc_state_load(&x.state, x.o.state_file)) == 0 && (rc = fs_gc_state_prepare(&x)) == 0 &&
	    (rc = fs_glance_new(&x.g, &e->s, &e->log)) == 0)
		rc = gc_run_all(&x, e);
	fs_gc_state_abandon(&x);
	fs_glance_free(x.g);
	cJSON_Delete(x.state);
	*out = x.rep;
	fs_engine_note_error(e, rc);
	return rc;
}

size_t fastsnap_gc_report_count(const fastsnap_gc_report *r) { return r ? r->what.n : 0; }
int fastsnap_gc_report_failed(const fastsnap_gc_report *r) { return r ? r->failed : 0; }

const char *fastsnap_gc_report_get(const fastsnap_gc_report *r, size_t i, const char **action,
	const char **detail)
{
	if (!r || i >= r->what.n)
		return NULL;
	if (action)
		*action = r->action.v[i];
	if (detail)
		*detail = r->detail.v[i];
	return r->what.v[i];
}

const char *fastsnap_gc_report_json(fastsnap_gc_report *r)
{
	if (!r)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
	cJSON_AddStringToObject(o, "host", r->host);
	cJSON_AddNumberToObject(o, "runs_found", (double)r->found);
	cJSON_AddNumberToObject(o, "images_scanned", (double)r->images_opened);
	cJSON_AddNumberToObject(o, "glance_gets", (double)r->glance_gets);
	const char *groups[] = { "found", "removed", "flattened", "finished", "skipped", "failed", "would" };
	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		cJSON *a = cJSON_AddArrayToObject(o, groups[gi]);
		for (size_t i = 0; a && i < r->what.n; i++) {
			if (strcmp(r->action.v[i], groups[gi]) != 0)
				continue;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "what", r->what.v[i]);
			if (*r->detail.v[i])
				cJSON_AddStringToObject(e, "why", r->detail.v[i]);
			cJSON_AddItemToArray(a, e);
		}
	}
	cJSON_AddNumberToObject(o, "failed_count", r->failed);
	free(r->json);
	r->json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return r->json;
}

void fastsnap_gc_report_free(fastsnap_gc_report *r)
{
	if (!r)
		return;
	fs_strv_free(&r->what);
	fs_strv_free(&r->action);
	fs_strv_free(&r->detail);
	free(r->json);
	free(r);
}
