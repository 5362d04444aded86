/*
 * stream/capture_stream.c: one streamed upload of a capture (see
 * capture_stream.h).
 */
#include <string.h>

#include "cleanup/heartbeat.h"
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
	fs_heartbeat *hb = NULL;
	int rc = fs_capture_source(q->cap, &req->rbd_image, &req->fd, &req->size);
	if (rc == 0 && req->rbd_image) {
		/* Proof of life on the source disk, keyed by this run; the keys
		 * go when the run is done (a killed run leaves them for gc). */
		hb = fs_heartbeat_start(q->c, q->cap->pool, q->cap->image, NULL, q->owner, req->image_id,
			(unsigned int)q->heartbeat_s, req->log);
		if (!hb)
			fastsnap_error_clear();
	}
	if (rc == 0 && (rc = fs_step_begin(q->st, FASTSNAP_STEP_STREAM)) == 0)
		rc = fs_stream_run(q->g, req, res);
	rc = fs_capture_finish_read(q->cap, rc);
	if (rc == 0) {
		q->active(q->ctx);
		rc = fs_step_end(q->st, FASTSNAP_STEP_STREAM);
	}
	fs_heartbeat_stop(hb, 1);
	return rc == 0 ? fs_capture_release(q->cap, q->st, q->u) : rc;
}
