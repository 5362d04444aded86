/*
 * stream/capture_stream.c: one streamed upload of a capture (see
 * capture_stream.h).
 */
#include <string.h>

#include "stream/capture_stream.h"

int fs_stream_from_capture(fs_glance *g, fs_capture *cap, fs_steps *st, fs_stream_req *req,
	fs_stream_res *res)
{
	memset(res, 0, sizeof(*res));
	int rc = fs_capture_source(cap, &req->rbd_image, &req->fd, &req->size);
	if (rc == 0 && (rc = fs_step_begin(st, FASTSNAP_STEP_STREAM)) == 0)
		rc = fs_stream_run(g, req, res);
	return fs_capture_finish_read(cap, rc);
}
