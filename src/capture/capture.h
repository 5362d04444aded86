/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture/capture.h: the point in time both paths read from. For an RBD
 * disk, a temporary snapshot named for its owner (step "tmp-snap", with
 * its undo entry), opened read-only when the stream needs it, and removed
 * by fs_capture_release (step "tmp-remove"). Before the snapshot, the
 * disk gets the run's tag (fastsnap.run.<image id>, cleanup/heartbeat.h),
 * refreshed for as long as the snapshot is the run's: removed with the
 * snapshot, or set to "ended" when the run ends without removing it, so
 * that gc knows every temporary snapshot's run, whenever the run dies
 * (docs/operations.md). For a file, the file itself,
 * whose whole read is the capture window. The caller's capture callback
 * (freeze/thaw) is signalled BEGIN just before and END right after; END
 * follows every accepted BEGIN exactly once, also on failure.
 */
#ifndef FS_CAPTURE_H
#define FS_CAPTURE_H

#include <rbd/librbd.h>

#include "cleanup/undo.h"
#include "clients/rbd.h"
#include "core/steps.h"
#include "capture/source_file.h"

/* Who the run tag names (cleanup/heartbeat.h). */
typedef struct {
	const char *image_id;
	const char *owner;        /* "host:pid:start" */
	unsigned int period_s;
	const fs_logger *lg;
} fs_run_tag_req;

typedef struct {
	fastsnap_capture_cb cb;
	void *payload;
	int window_open;          /* BEGIN accepted, END still owed */
	void (*opened)(void *);   /* called once the disk's open was tried */
	void *opened_ctx;

	/* RBD disk */
	fs_ceph *c;
	char *pool, *image, *snap;
	int undo_idx;             /* the snapshot's undo entry, -1 once removed */
	struct fs_heartbeat *tag; /* the disk's run tag, while it is there */
	fs_rbd_image disk;        /* the disk, open from the snapshot until the
	                           * clone is made or the stream starts */
	rados_ioctx_t io;         /* read-only open of the snapshot (stream) */
	rbd_image_t img;

	/* file */
	char *path;
	int fd;
	fs_file_stamp stamp;
	uint64_t size;
} fs_capture;

void fs_capture_init(fs_capture *cap, const fastsnap_snapshot_opts *o);
/* Take pool/image@snap between BEGIN and END (step tmp-snap). The disk
 * stays open (cap->disk) for the direct path's protect and clone, then
 * fs_capture_close_disk closes it: an open read-write handle may hold the
 * disk's exclusive lock (a stopped instance's disk), and its close needs
 * the OSDs. */
int fs_capture_rbd(fs_capture *cap, fs_steps *st, fs_undo *u, fs_ceph *c, const char *pool,
	const char *image, const char *snap, const fs_run_tag_req *tag);
/* Close the disk's handle (the snapshot stays; its removal reopens). */
void fs_capture_close_disk(fs_capture *cap);
/* Is the snapshot still there (not yet released)? */
int fs_capture_live(const fs_capture *cap);
/* Remove the snapshot (step tmp-remove; unprotect first if needed). */
int fs_capture_release(fs_capture *cap, fs_steps *st, fs_undo *u);
/* BEGIN, then open the file; the window stays open for the whole read. */
int fs_capture_file(fs_capture *cap, const char *path);
/* What the stream reads: the opened snapshot, or the file. */
int fs_capture_source(fs_capture *cap, rbd_image_t *img, int *fd, uint64_t *size);
/* After the read: check that a file did not change, close what was
 * opened for reading, and signal END if it is owed. `rc` is the read's
 * result; returns it, or the change check's error. */
int fs_capture_finish_read(fs_capture *cap, int rc);
/* END if still owed and close everything; the run tag, if still there,
 * is removed (no snapshot) or marked ended (the snapshot is left to gc). */
void fs_capture_free(fs_capture *cap);

#endif
