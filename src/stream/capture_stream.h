/*
 * stream/capture_stream.h: the streamed path from a capture (capture/):
 * open what it holds, begin the "stream" step, run fs_stream_run, and
 * close the read window (a file's change check, the END signal). The
 * caller ends the step once it has recorded the image as active.
 */
#ifndef FS_CAPTURE_STREAM_H
#define FS_CAPTURE_STREAM_H

#include "capture/capture.h"
#include "stream/stream.h"

/* `req` has the target, tuning and progress fields set; the source
 * fields are filled from the capture. */
int fs_stream_from_capture(fs_glance *g, fs_capture *cap, fs_steps *st, fs_stream_req *req,
	fs_stream_res *res);

#endif
