/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/capture_stream.h: the streamed path from a capture (capture/),
 * the peer of fs_direct_run: open what the capture holds (its run tag is
 * the heartbeat on an RBD disk), run fs_stream_run inside the
 * "stream" step, close the read window (a file's change check, the END
 * signal), report the image active, and release the temporary snapshot.
 */
#ifndef FS_CAPTURE_STREAM_H
#define FS_CAPTURE_STREAM_H

#include "capture/capture.h"
#include "stream/stream.h"

typedef struct {
	fs_ceph *c;
	fs_glance *g;
	fs_steps *st;
	fs_undo *u;
	fs_capture *cap;          /* taken (RBD) or opened (file) */
	fs_stream_req req;        /* target, tuning and log set; source filled here */
	void (*active)(void *ctx);   /* the upload is verified: the image is active */
	void *ctx;
} fs_stream_path_req;

/* `res` is filled also on failure (what was read and sent). */
int fs_stream_from_capture(fs_stream_path_req *q, fs_stream_res *res);

#endif
