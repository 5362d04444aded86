/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/stream.c: fs_stream_run (stream.h): the body (body.c) uploaded by
 * fs_glance_upload, then Glance's own hashes (and, for qcow2, the virtual
 * size it read from the header) compared with ours.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream/body.h"
#include "stream/qcow2.h"
#include "stream/stream.h"

static int is_qcow2(const fs_stream_req *req)
{
	return req->disk_format && strcmp(req->disk_format, "qcow2") == 0;
}

/* GET the image and compare its size and hashes with what was sent. */
static int verify_remote(fs_glance *g, const fs_stream_req *req, const fs_stream_res *res)
{
	fs_image *img = NULL;
	int r = fs_glance_image_get(g, &img, req->image_id);
	if (r < 0) {
		fs_err_prefix("stream: checking image %s after the upload", req->image_id);
		return r;
	}
	if (!img->os_hash_value || !img->os_hash_value[0]) {
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: Glance reports no os_hash_value after the "
			"upload (status %s); ours is sha512 %s", req->image_id,
			img->status ? img->status : "?", res->sha512);
	} else if (img->os_hash_algo && strcasecmp(img->os_hash_algo, "sha512") != 0) {
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: Glance hashed with %s, not sha512; "
			"cannot compare with ours (%s)", req->image_id, img->os_hash_algo, res->sha512);
	} else if (strcasecmp(img->os_hash_value, res->sha512) != 0) {
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: sha512 mismatch: Glance has %s, "
			"fastsnap sent %s", req->image_id, img->os_hash_value, res->sha512);
	} else if (req->verify_md5 && (!img->checksum || strcasecmp(img->checksum, res->md5) != 0)) {
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: md5 mismatch: Glance has %s, fastsnap sent %s",
			req->image_id, img->checksum ? img->checksum : "(none)", res->md5);
	} else if (img->size >= 0 && (uint64_t)img->size != res->bytes_sent) {
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: Glance has %lld bytes, fastsnap sent %llu",
			req->image_id, (long long)img->size, (unsigned long long)res->bytes_sent);
	} else if (is_qcow2(req) && (uint64_t)img->virtual_size != fs_qcow2_virtual_size(req->size)) {
		/* Glance reads virtual_size from the qcow2 header it received */
		r = fs_err(FASTSNAP_ECHECKSUM, "image %s: Glance reports virtual_size %lld for the "
			"qcow2 image of a %llu-byte disk", req->image_id,
			(long long)img->virtual_size, (unsigned long long)req->size);
	}
	fs_image_free(img);
	return r;
}

int fs_stream_run(fs_glance *g, const fs_stream_req *req, fs_stream_res *res)
{
	double t0 = fs_now();
	memset(res, 0, sizeof(*res));
	if (!g || !req->image_id)
		return fs_err(FASTSNAP_EINVAL, "stream: no Glance client or image id");
	if (req->cancel && atomic_load(req->cancel))
		return fs_err(FASTSNAP_ECANCELED, "stream canceled before it started");
	fs_stream_body *b = NULL;
	int r = fs_stream_body_new(&b, req);
	if (r < 0)
		return r;
	fs_log(req->log, FASTSNAP_LOG_INFO, "stream: uploading %llu bytes (%s of a %llu-byte disk, "
		"%llu allocated) to image %s%s%s", (unsigned long long)fs_stream_body_length(b),
		is_qcow2(req) ? "qcow2" : "raw", (unsigned long long)req->size,
		(unsigned long long)fs_stream_body_map(b)->allocated, req->image_id,
		req->store ? " in store " : "", req->store ? req->store : "");
	fs_upload_req up = {
		.length = fs_stream_body_length(b), .store = req->store, .base_image_ref = req->base_image_ref,
		.read = fs_stream_body_read, .rewind = fs_stream_body_rewind, .ctx = b,
	};
	r = fs_glance_upload(g, req->image_id, &up);
	if (r == 0)
		r = fs_stream_body_finish(b, res);
	fs_stream_body_free(b);
	if (r < 0)
		return r;
	res->seconds = fs_now() - t0;
	r = verify_remote(g, req, res);
	if (r < 0)
		return r;
	fs_log(req->log, FASTSNAP_LOG_INFO, "stream: %llu bytes sent (%llu read) in %.2f s, "
		"sha512 verified", (unsigned long long)res->bytes_sent,
		(unsigned long long)res->bytes_read, res->seconds);
	return 0;
}
