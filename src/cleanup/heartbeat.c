/*
 * cleanup/heartbeat.c: a thread that refreshes a heartbeat key in an RBD
 * image's metadata while a run lives: `fastsnap.heartbeat` on a clone
 * (one run per clone), or `fastsnap.heartbeat.<owner>` with
 * `fastsnap.run.<owner>` = the image id on a source disk that several
 * runs may read at once. A failed refresh is logged, not fatal: the run's
 * own steps report real Ceph trouble.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup/heartbeat.h"

struct fs_heartbeat {
	fs_heartbeat_io io;         /* where the keys are written */
	rados_ioctx_t ioctx;        /* the image's pool (fs_heartbeat_start) */
	rbd_image_t shared;         /* the run's own handle, or NULL */
	char *image;
	char *hb_key;               /* the heartbeat key */
	char *run_key, *run_value;  /* per-run tag, or NULL */
	unsigned int period_s;
	const fs_logger *lg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	atomic_ulong beats;
};

/* Write on the run's own handle when it lends one (it owns the image's
 * exclusive lock: a second client's write would ask for the lock, which
 * librbd 16 hands over mid-flatten, restarting it); otherwise open the
 * image only for the write: holding it open would hold the lock against
 * the run's own steps (flatten, snapshots). */
static int rbd_meta(fs_heartbeat *hb, const char *key, const char *value)
{
	rbd_image_t img = hb->shared;
	if (!img) {
		int r = rbd_open(hb->ioctx, hb->image, &img, NULL);
		if (r < 0)
			return r;
	}
	int r = value ? rbd_metadata_set(img, key, value) : rbd_metadata_remove(img, key);
	if (!hb->shared)
		rbd_close(img);
	return r;
}

static int meta_set(void *ctx, const char *key, const char *value)
{
	return rbd_meta(ctx, key, value);
}

static int meta_remove(void *ctx, const char *key)
{
	return rbd_meta(ctx, key, NULL);
}

static int beat(fs_heartbeat *hb)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	int r = 0;
	if (hb->run_key && atomic_load(&hb->beats) == 0)
		r = hb->io.set(hb->io.ctx, hb->run_key, hb->run_value);
	if (r == 0)
		r = hb->io.set(hb->io.ctx, hb->hb_key, now);
	if (r == 0)
		atomic_fetch_add(&hb->beats, 1);
	return r;
}

static void remove_keys(fs_heartbeat *hb)
{
	hb->io.remove(hb->io.ctx, hb->hb_key);
	if (hb->run_key)
		hb->io.remove(hb->io.ctx, hb->run_key);
}

static void *run(void *arg)
{
	fs_heartbeat *hb = arg;
	/* The first beat here, not on the run's critical path; always made,
	 * even when the run stops at once, so the key is never missing. */
	int r = beat(hb);
	if (r < 0)
		fs_log(hb->lg, FASTSNAP_LOG_WARN, "heartbeat: %s", strerror(-r));
	pthread_mutex_lock(&hb->mu);
	while (!hb->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += hb->period_s;
		while (!hb->stop && pthread_cond_timedwait(&hb->cv, &hb->mu, &until) != ETIMEDOUT)
			;
		if (hb->stop)
			break;
		pthread_mutex_unlock(&hb->mu);
		r = beat(hb);
		if (r < 0)
			fs_log(hb->lg, FASTSNAP_LOG_WARN, "heartbeat: %s", strerror(-r));
		pthread_mutex_lock(&hb->mu);
	}
	pthread_mutex_unlock(&hb->mu);
	return NULL;
}

static void hb_free(fs_heartbeat *hb)
{
	if (hb->ioctx)
		rados_ioctx_destroy(hb->ioctx);
	free(hb->image);
	free(hb->hb_key);
	free(hb->run_key);
	free(hb->run_value);
	free(hb);
}

/* The keys, then the thread; hb is freed on failure. */
static fs_heartbeat *hb_run(fs_heartbeat *hb, const char *owner, const char *run_value,
	unsigned int period_s, const fs_logger *lg)
{
	hb->period_s = period_s ? period_s : 5;
	hb->lg = lg;
	if (owner) {
		hb->hb_key = fs_asprintf("%s.%s", FS_META_HEARTBEAT, owner);
		hb->run_key = fs_asprintf("%s%s", FS_META_RUN_PREFIX, owner);
		hb->run_value = fs_strdup(run_value ? run_value : "");
	} else {
		hb->hb_key = fs_strdup(FS_META_HEARTBEAT);
	}
	if (!hb->hb_key || (owner && (!hb->run_key || !hb->run_value))) {
		fs_err(FASTSNAP_ENOMEM, "out of memory for a heartbeat");
		hb_free(hb);
		return NULL;
	}
	pthread_mutex_init(&hb->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&hb->thread, NULL, run, hb) != 0) {
		fs_err(FASTSNAP_ENOMEM, "cannot start the heartbeat thread");
		fs_heartbeat_stop(hb, 1);
		return NULL;
	}
	return hb;
}

fs_heartbeat *fs_heartbeat_start(fs_ceph *c, const char *pool, const char *image,
	rbd_image_t shared, const char *owner, const char *run_value, unsigned int period_s,
	const fs_logger *lg)
{
	fs_heartbeat *hb = calloc(1, sizeof(*hb));
	if (!hb) {
		fs_err(FASTSNAP_ENOMEM, "out of memory");
		return NULL;
	}
	hb->shared = shared;
	hb->io = (fs_heartbeat_io){ .set = meta_set, .remove = meta_remove, .ctx = hb };
	if (fs_ceph_ioctx(&hb->ioctx, c, pool) < 0) {
		hb->ioctx = NULL;
		hb_free(hb);
		return NULL;
	}
	if (!(hb->image = fs_strdup(image))) {
		fs_err(FASTSNAP_ENOMEM, "out of memory for the heartbeat of %s/%s", pool, image);
		hb_free(hb);
		return NULL;
	}
	return hb_run(hb, owner, run_value, period_s, lg);
}

fs_heartbeat *fs_heartbeat_start_io(const fs_heartbeat_io *io, const char *owner,
	const char *run_value, unsigned int period_s, const fs_logger *lg)
{
	fs_heartbeat *hb = calloc(1, sizeof(*hb));
	if (!hb) {
		fs_err(FASTSNAP_ENOMEM, "out of memory");
		return NULL;
	}
	hb->io = *io;
	return hb_run(hb, owner, run_value, period_s, lg);
}

void fs_heartbeat_stop(fs_heartbeat *hb, int remove)
{
	if (!hb)
		return;
	pthread_mutex_lock(&hb->mu);
	int started = !hb->stop;
	hb->stop = 1;
	pthread_cond_signal(&hb->cv);
	pthread_mutex_unlock(&hb->mu);
	if (started && hb->thread)
		pthread_join(hb->thread, NULL);
	if (remove)
		remove_keys(hb);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
	hb_free(hb);
}

unsigned long fs_heartbeat_beats(const fs_heartbeat *hb)
{
	return hb ? atomic_load(&((fs_heartbeat *)hb)->beats) : 0;
}
