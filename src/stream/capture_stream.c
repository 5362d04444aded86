/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/capture_stream.c: one streamed upload of a capture (see
 * capture_stream.h).
 */
#include <string.h>

#include "stream/capture_stream.h"

static int progress(fastsnap_step s, uint64_t done, uint64_t total, void *payload)
{
	return fs_step_progress(payload, s, done, total) < 0;
}

int fs_stream_from_capture(fs_stream_path_req *q, fs_stream_res *res)
{
	memset(res, 0, sizeof(*res));
	fs_stream_req *req = &q->req;
	req->progress_cb = progress;
	req->progress_payload = q->st;
	req->cancel = &q->st->cancel;
	/* Proof of life on the source disk is the capture's run tag, written
	 * before the snapshot and kept for the whole run (capture/capture.h). */
	int rc = fs_capture_source(q->cap, &req->rbd_image, &req->fd, &req->size);
	if (rc == 0 && req->rbd_image) {
		/* named, so that a qcow2 maps the snapshot from RADOS (stream/rbd_map.h) */
		req->rbd_io = q->cap->io;
		req->rbd_snap = q->cap->snap;
	}
	if (rc == 0 && (rc = fs_step_begin(q->st, FASTSNAP_STEP_STREAM)) == 0)
		rc = fs_stream_run(q->g, req, res);
	rc = fs_capture_finish_read(q->cap, rc);
	if (rc == 0) {
		q->active(q->ctx);
		rc = fs_step_end(q->st, FASTSNAP_STEP_STREAM);
	}
	return rc == 0 ? fs_capture_release(q->cap, q->st, q->u) : rc;
}
