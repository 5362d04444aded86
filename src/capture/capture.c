/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture/capture.c: the temporary snapshot (or the file) both paths read
 * from, between the caller's BEGIN and END signals (see capture.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cleanup/heartbeat.h"
#include "clients/rbd.h"

void fs_capture_init(fs_capture *cap, const fastsnap_snapshot_opts *o)
{
	memset(cap, 0, sizeof(*cap));
	cap->cb = o ? o->capture_cb : NULL;
	cap->payload = o ? o->capture_payload : NULL;
	cap->undo_idx = -1;
	cap->fd = -1;
}

static int window_begin(fs_capture *cap)
{
	if (cap->cb && cap->cb(FASTSNAP_CAPTURE_BEGIN, cap->payload))
		return fs_err(FASTSNAP_ECANCELED, "the caller refused to begin the capture "
			"(capture callback, e.g. a failed freeze command); nothing was captured");
	cap->window_open = 1;
	return 0;
}

static void window_end(fs_capture *cap)
{
	if (!cap->window_open)
		return;
	cap->window_open = 0;
	if (cap->cb) {
		fs_error_state err;
		fs_error_state_capture(&err);
		cap->cb(FASTSNAP_CAPTURE_END, cap->payload);
		fs_error_state_restore(&err);
	}
}

/* The run tag goes with the snapshot; a snapshot left behind keeps it,
 * marked ended: gc's proof that the snapshot is this run's and that the
 * run is over. */
static void tag_end(fs_capture *cap, int snapshot_gone)
{
	struct fs_heartbeat *t = cap->tag;
	cap->tag = NULL;
	if (t && fs_heartbeat_stop(t, snapshot_gone ? FS_HB_REMOVE : FS_HB_ENDED) < 0)
		fastsnap_error_clear();   /* gc finds the key either way */
}

/* The snapshot's undo entry: the removal, then the tag. */
static int undo_snap(void *p)
{
	fs_capture *cap = p;
	int rc = fs_rbd_snap_remove(cap->c, cap->pool, cap->image, cap->snap);
	fs_error_state err;
	fs_error_state_capture(&err);
	tag_end(cap, rc == 0);
	fs_error_state_restore(&err);
	if (rc == 0)
		cap->undo_idx = -1;
	return rc;
}

int fs_capture_rbd(fs_capture *cap, fs_steps *st, fs_undo *u, fs_ceph *c, const char *pool,
	const char *image, const char *snap, const fs_run_tag_req *tag)
{
	int rc = fs_step_begin(st, FASTSNAP_STEP_TMP_SNAP);
	if (rc == 0) {
		free(cap->pool);
		free(cap->image);
		free(cap->snap);
		cap->c = c;
		cap->pool = fs_strdup(pool);
		cap->image = fs_strdup(image);
		cap->snap = fs_strdup(snap);
		if (!cap->pool || !cap->image || !cap->snap)
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	/* The disk is opened before the caller's BEGIN: the window (a frozen
	 * guest) holds the snapshot only. */
	if (rc == 0 && !fs_rbd_image_is_open(&cap->disk))
		rc = fs_rbd_image_open(&cap->disk, c, pool, image);
	/* The run's tag before the snapshot (and before the Glance branch
	 * starts): a snapshot of this name never exists without it. */
	if (rc == 0 && !cap->tag && tag &&
	    !(cap->tag = fs_run_tag_start(c, pool, image, cap->disk.img, tag->image_id, tag->owner,
		tag->period_s, tag->lg)))
		rc = fastsnap_error_last_code() < 0 ? fastsnap_error_last_code() : FASTSNAP_ECEPH;
	if (cap->opened) {
		fs_error_state err;
		fs_error_state_capture(&err);
		cap->opened(cap->opened_ctx);
		cap->opened = NULL;
		fs_error_state_restore(&err);
	}
	if (rc == 0 && (rc = window_begin(cap)) == 0) {
		if ((rc = fs_rbd_image_snap_create(&cap->disk, snap)) == 0)
			rc = cap->undo_idx = fs_undo_push(u, undo_snap, cap, NULL, "remove snapshot %s/%s@%s",
				pool, image, snap);
		window_end(cap);
	}
	if (rc < 0 && cap->undo_idx < 0) {   /* no snapshot: the tag goes */
		fs_error_state err;
		fs_error_state_capture(&err);
		tag_end(cap, 1);
		fs_error_state_restore(&err);
	}
	if (rc < 0)
		return rc;
	return fs_step_end(st, FASTSNAP_STEP_TMP_SNAP);
}

void fs_capture_close_disk(fs_capture *cap)
{
	fs_rbd_image_close(&cap->disk);
}

int fs_capture_live(const fs_capture *cap)
{
	return cap->undo_idx >= 0;
}

static void close_reader(fs_capture *cap)
{
	fs_rbd_close(cap->io, cap->img);
	cap->io = NULL;
	cap->img = NULL;
	if (cap->fd >= 0)
		close(cap->fd);
	cap->fd = -1;
}

int fs_capture_release(fs_capture *cap, fs_steps *st, fs_undo *u)
{
	if (!fs_capture_live(cap))
		return 0;
	close_reader(cap);
	int rc = fs_step_begin(st, FASTSNAP_STEP_TMP_REMOVE);
	if (rc == 0)
		rc = fs_rbd_image_is_open(&cap->disk) ? fs_rbd_image_snap_remove(&cap->disk, cap->snap) :
			fs_rbd_snap_remove(cap->c, cap->pool, cap->image, cap->snap);
	if (rc < 0)
		return rc;
	fs_rbd_image_close(&cap->disk);
	fs_undo_forget(u, cap->undo_idx);
	cap->undo_idx = -1;
	tag_end(cap, 1);
	return fs_step_end(st, FASTSNAP_STEP_TMP_REMOVE);
}

int fs_capture_file(fs_capture *cap, const char *path)
{
	int rc = window_begin(cap);
	if (rc < 0)
		return rc;
	free(cap->path);
	if (!(cap->path = fs_strdup(path)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return fs_source_file_open(&cap->fd, &cap->size, &cap->stamp, path);
}

int fs_capture_source(fs_capture *cap, rbd_image_t *img, int *fd, uint64_t *size)
{
	*img = NULL;
	*fd = cap->fd;
	if (cap->path) {
		*size = cap->size;
		return 0;
	}
	fs_capture_close_disk(cap);   /* the stream reads the snapshot only */
	if (!cap->img) {
		int rc = fs_rbd_open_snap(&cap->io, &cap->img, cap->c, cap->pool, cap->image, cap->snap);
		if (rc < 0)
			return rc;
	}
	rbd_image_info_t info;
	if (rbd_stat(cap->img, &info, sizeof(info)) < 0)
		return fs_err(FASTSNAP_ECEPH, "Ceph: cannot stat %s/%s@%s", cap->pool, cap->image, cap->snap);
	*img = cap->img;
	*size = info.size;
	return 0;
}

int fs_capture_finish_read(fs_capture *cap, int rc)
{
	if (rc == 0 && cap->fd >= 0 && cap->path)
		rc = fs_source_file_check_unchanged(cap->fd, cap->path, &cap->stamp);
	close_reader(cap);
	window_end(cap);
	return rc;
}

void fs_capture_free(fs_capture *cap)
{
	close_reader(cap);
	fs_rbd_image_close(&cap->disk);
	tag_end(cap, !fs_capture_live(cap));
	window_end(cap);
	free(cap->pool);
	free(cap->image);
	free(cap->snap);
	free(cap->path);
	memset(cap, 0, sizeof(*cap));
	cap->fd = -1;
	cap->undo_idx = -1;
}
