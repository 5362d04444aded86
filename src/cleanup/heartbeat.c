/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup/heartbeat.c: a thread that refreshes a heartbeat key in an RBD
 * image's metadata while a run lives: `fastsnap.heartbeat` on a clone
 * (one run per clone), or the run's own tag `fastsnap.run.<image id>` =
 * "<owner> <unix seconds>" on a source disk that several runs may read at
 * once (written first before the temporary snapshot exists, and at the
 * end removed, or set to "<owner> ended" when the run leaves its snapshot
 * to gc). A failed refresh is logged, not fatal: the run's own steps
 * report real Ceph trouble.
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
	fs_heartbeat_io wio;        /* where the key is written (RBD, or a test's) */
	rados_ioctx_t io;
	rbd_image_t shared;         /* the run's own handle, or NULL */
	char *image;
	char *hb_key;               /* the heartbeat key */
	char *owner;                /* a disk's run tag: its value's owner part */
	int wait_first;             /* the first write was made by the caller */
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
 * the run's own steps (flatten, snapshots). value NULL removes the key. */
static int rbd_meta(fs_heartbeat *hb, const char *key, const char *value)
{
	rbd_image_t img = hb->shared;
	if (!img) {
		int r = rbd_open(hb->io, hb->image, &img, NULL);
		if (r < 0)
			return r;
	}
	int r = value ? rbd_metadata_set(img, key, value) : rbd_metadata_remove(img, key);
	if (!hb->shared)
		rbd_close(img);
	return r;
}

static int hb_rbd_set(void *ctx, const char *key, const char *value)
{
	return rbd_meta(ctx, key, value);
}

static int hb_rbd_remove(void *ctx, const char *key)
{
	return rbd_meta(ctx, key, NULL);
}

/* The key's value: "<owner> <what>" for a run tag, else `what`. */
static int set_value(fs_heartbeat *hb, rbd_image_t img, const char *what)
{
	char *v = hb->owner ? fs_asprintf("%s %s", hb->owner, what) : fs_strdup(what);
	int r = !v ? -ENOMEM : img ? rbd_metadata_set(img, hb->hb_key, v) :
		hb->wio.set(hb->wio.ctx, hb->hb_key, v);
	free(v);
	return r;
}

/* A beat: the key set to now (unix seconds), through `img` when the
 * caller lends its handle (a run tag's first write), else hb->wio. */
static int set_keys(fs_heartbeat *hb, rbd_image_t img)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	int r = set_value(hb, img, now);
	if (r == 0)
		atomic_fetch_add(&hb->beats, 1);
	return r;
}

static int beat(fs_heartbeat *hb)
{
	return set_keys(hb, NULL);
}

static void *run(void *arg)
{
	fs_heartbeat *hb = arg;
	/* The first beat here, not on the run's critical path; always made,
	 * even when the run stops at once, so the key is never missing
	 * (a disk's run tag: the caller made it). */
	int r = hb->wait_first ? 0 : beat(hb);
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
	if (hb->io)
		rados_ioctx_destroy(hb->io);
	free(hb->image);
	free(hb->hb_key);
	free(hb->owner);
	free(hb);
}

/* The heartbeat's key (a run tag's when image_id is given) and period. */
static fs_heartbeat *hb_alloc(const char *image_id, const char *owner, unsigned int period_s,
	const fs_logger *lg)
{
	fs_heartbeat *hb = calloc(1, sizeof(*hb));
	if (!hb) {
		fs_err(FASTSNAP_ENOMEM, "out of memory");
		return NULL;
	}
	hb->period_s = period_s ? period_s : 5;
	hb->lg = lg;
	int oom = 0;
	if (image_id) {
		hb->hb_key = fs_asprintf("%s%s", FS_META_RUN_PREFIX, image_id);
		hb->owner = fs_strdup(owner ? owner : "?");
		oom |= !hb->owner;
	} else {
		hb->hb_key = fs_strdup(FS_META_HEARTBEAT);
	}
	if (oom || !hb->hb_key) {
		fs_err(FASTSNAP_ENOMEM, "out of memory for a heartbeat");
		hb_free(hb);
		return NULL;
	}
	return hb;
}

static fs_heartbeat *hb_new(fs_ceph *c, const char *pool, const char *image,
	rbd_image_t shared, const char *image_id, const char *owner, unsigned int period_s,
	const fs_logger *lg)
{
	fs_heartbeat *hb = hb_alloc(image_id, owner, period_s, lg);
	if (!hb)
		return NULL;
	hb->shared = shared;
	hb->wio = (fs_heartbeat_io){ hb_rbd_set, hb_rbd_remove, hb };
	if (fs_ceph_ioctx(&hb->io, c, pool) < 0) {
		hb->io = NULL;
		hb_free(hb);
		return NULL;
	}
	if (!(hb->image = fs_strdup(image))) {
		fs_err(FASTSNAP_ENOMEM, "out of memory for the heartbeat of %s/%s", pool, image);
		hb_free(hb);
		return NULL;
	}
	return hb;
}

static fs_heartbeat *hb_run(fs_heartbeat *hb)
{
	pthread_mutex_init(&hb->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&hb->thread, NULL, run, hb) != 0) {
		fs_err(FASTSNAP_ENOMEM, "cannot start the heartbeat thread");
		hb->stop = 1;
		fs_heartbeat_stop(hb, FS_HB_KEEP);
		return NULL;
	}
	return hb;
}

fs_heartbeat *fs_heartbeat_start(fs_ceph *c, const char *pool, const char *image,
	rbd_image_t shared, unsigned int period_s, const fs_logger *lg)
{
	fs_heartbeat *hb = hb_new(c, pool, image, shared, NULL, NULL, period_s, lg);
	return hb ? hb_run(hb) : NULL;
}

fs_heartbeat *fs_run_tag_start(fs_ceph *c, const char *pool, const char *image, rbd_image_t img,
	const char *image_id, const char *owner, unsigned int period_s, const fs_logger *lg)
{
	fs_heartbeat *hb = hb_new(c, pool, image, NULL, image_id, owner, period_s, lg);
	if (!hb)
		return NULL;
	hb->wait_first = 1;
	int r = set_keys(hb, img);
	if (r < 0) {
		fs_err(fs_errno_to_code(r), "Ceph: cannot tag %s/%s with the run (%s): %s", pool, image,
			hb->hb_key, strerror(-r));
		hb_free(hb);
		return NULL;
	}
	return hb_run(hb);
}

fs_heartbeat *fs_heartbeat_start_io(const fs_heartbeat_io *io, const char *image_id,
	const char *owner, unsigned int period_s, const fs_logger *lg)
{
	fs_heartbeat *hb = hb_alloc(image_id, owner, period_s, lg);
	if (!hb)
		return NULL;
	hb->wio = *io;
	return hb_run(hb);
}

int fs_heartbeat_stop(fs_heartbeat *hb, int how)
{
	int r = 0;
	if (!hb)
		return 0;
	pthread_mutex_lock(&hb->mu);
	int started = !hb->stop;
	hb->stop = 1;
	pthread_cond_signal(&hb->cv);
	pthread_mutex_unlock(&hb->mu);
	if (started && hb->thread)
		pthread_join(hb->thread, NULL);
	if (how == FS_HB_REMOVE)
		r = hb->wio.remove(hb->wio.ctx, hb->hb_key);
	else if (how == FS_HB_ENDED && hb->owner)
		r = set_value(hb, NULL, FS_RUN_ENDED);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
	hb_free(hb);
	return r == -ENOENT ? 0 : r;
}

unsigned long fs_heartbeat_beats(const fs_heartbeat *hb)
{
	return hb ? atomic_load(&((fs_heartbeat *)hb)->beats) : 0;
}
