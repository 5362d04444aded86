/*
 * cleanup/heartbeat.c: a thread that refreshes `fastsnap.heartbeat` in an
 * RBD image's metadata while a run lives. A failed refresh is logged, not
 * fatal: the run's own steps report real Ceph trouble.
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
	rados_ioctx_t io;
	char *image;
	char *owner;
	unsigned int period_s;
	const fs_logger *lg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	atomic_ulong beats;
};

/* Open the image only for the write: holding it open would hold its
 * exclusive lock against the run's own steps (flatten, snapshots). */
static int with_image(fs_heartbeat *hb, int (*fn)(fs_heartbeat *, rbd_image_t))
{
	rbd_image_t img;
	int r = rbd_open(hb->io, hb->image, &img, NULL);
	if (r < 0)
		return r;
	r = fn(hb, img);
	rbd_close(img);
	return r;
}

static int set_keys(fs_heartbeat *hb, rbd_image_t img)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	int r = 0;
	if (hb->owner && atomic_load(&hb->beats) == 0)
		r = rbd_metadata_set(img, FS_META_OWNER, hb->owner);
	if (r == 0)
		r = rbd_metadata_set(img, FS_META_HEARTBEAT, now);
	if (r == 0)
		atomic_fetch_add(&hb->beats, 1);
	return r;
}

static int remove_keys(fs_heartbeat *hb, rbd_image_t img)
{
	rbd_metadata_remove(img, FS_META_HEARTBEAT);
	if (hb->owner)
		rbd_metadata_remove(img, FS_META_OWNER);
	return 0;
}

static int beat(fs_heartbeat *hb)
{
	return with_image(hb, set_keys);
}

static void *run(void *arg)
{
	fs_heartbeat *hb = arg;
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
		int r = beat(hb);
		if (r < 0)
			fs_log(hb->lg, FASTSNAP_LOG_WARN, "heartbeat: %s", strerror(-r));
		pthread_mutex_lock(&hb->mu);
	}
	pthread_mutex_unlock(&hb->mu);
	return NULL;
}

fs_heartbeat *fs_heartbeat_start(fs_ceph *c, const char *pool, const char *image,
	const char *owner, unsigned int period_s, const fs_logger *lg)
{
	if (!period_s)
		period_s = 5;
	fs_heartbeat *hb = calloc(1, sizeof(*hb));
	if (!hb) {
		fs_err(FASTSNAP_ENOMEM, "out of memory");
		return NULL;
	}
	hb->period_s = period_s;
	hb->lg = lg;
	if (fs_ceph_ioctx(&hb->io, c, pool) < 0) {
		free(hb);
		return NULL;
	}
	hb->image = fs_strdup(image);
	hb->owner = fs_strdup(owner);
	int r = hb->image ? beat(hb) : -ENOMEM;
	if (r < 0) {
		fs_err(fs_errno_to_code(r), "Ceph: cannot write the heartbeat of %s/%s: %s", pool, image,
			strerror(-r));
		rados_ioctx_destroy(hb->io);
		free(hb->image);
		free(hb->owner);
		free(hb);
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
		with_image(hb, remove_keys);
	rados_ioctx_destroy(hb->io);
	free(hb->image);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
	free(hb->owner);
	free(hb);
}

unsigned long fs_heartbeat_beats(const fs_heartbeat *hb)
{
	return hb ? atomic_load(&((fs_heartbeat *)hb)->beats) : 0;
}
