/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/body.c: the upload body (body.h): in-order pieces (raw: the
 * reader's chunks; qcow2: the qcow2 writer's pieces, cut from them),
 * copied into the sender's buffer, hashed by the hashing thread, released
 * once both are done with them.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stream/body.h"
#include "stream/hasher.h"
#include "stream/qcow2.h"
#include "stream/rbd_map.h"
#include "stream/zero_scan.h"

#define FS_PROGRESS_BYTES (64ull << 20)
#define FS_PROGRESS_SECONDS 0.25

struct fs_stream_body {
	fs_stream_req req;
	fs_extent_map map;
	fs_reader *rd;
	fs_hasher *h;
	unsigned int depth;
	int qcow2;
	fs_qcow2_layout layout;     /* qcow2 only */
	fs_qcow2_writer *w;         /* qcow2 only */
	uint64_t total;             /* bytes in the body */
	uint64_t scanned;           /* bytes read by the zero scan */
	fs_rbd_map_info minfo;      /* qcow2 from RBD: how the map was made */
	fs_chunk *held;             /* raw, per reader slot: the chunk handed out */
	atomic_int *refs;           /* raw, per reader slot: 2 = sender + hasher */
	fs_qcow2_piece cur;
	int have_cur;
	size_t cur_pos;
	uint64_t sent;
	uint64_t last_progress_bytes;
	double last_progress_t;
	fs_error_state first;       /* sticky until rewind */
};

/* Remember the first error (its message too: the HTTP layer may set
 * others in between) and return it. */
static int fail(fs_stream_body *b, int code)
{
	if (!b->first.code) {
		fs_error_state_capture(&b->first);
		fs_error_state_restore(&b->first);
	}
	return code;
}

static void unref(fs_stream_body *b, unsigned int slot)
{
	if (atomic_fetch_sub(&b->refs[slot], 1) == 1)
		fs_reader_release(b->rd, &b->held[slot]);
}

/* A piece is released twice: by the sender and by the hasher. */
static void put_piece(fs_stream_body *b, uint32_t token)
{
	if (b->qcow2)
		fs_qcow2_writer_release(b->w, token);
	else
		unref(b, token);
}

static void hashed(void *ctx, void *item)
{
	fs_stream_body *b = ctx;
	put_piece(b, (uint32_t)(uintptr_t)item);
}

/* The next piece of the body: 1, 0 at the end, or a negative code. */
static int get_piece(fs_stream_body *b, fs_qcow2_piece *p)
{
	if (b->qcow2)
		return fs_qcow2_writer_next(b->w, p, 2);
	fs_chunk c;
	int r = fs_reader_next(b->rd, &c);
	if (r <= 0)
		return r;
	b->held[c.slot] = c;
	atomic_store(&b->refs[c.slot], 2);
	p->data = c.data;
	p->len = c.len;
	p->token = c.slot;
	return 1;
}

/* The allocation map: raw reads whole objects; qcow2 needs the exact
 * extents, rounded to its clusters, and plans the image over them. From
 * RBD the map comes from RADOS when the snapshot is named (rbd_map.h),
 * else from librbd. */
static int build_map(fs_stream_body *b, const fs_stream_req *req)
{
	int r, bits = 0;
	if (b->qcow2 && (bits = fs_qcow2_cluster_bits(req->qcow2_cluster_size)) < 0)
		return bits;
	if (req->rbd_image && b->qcow2) {
		r = fs_rbd_map_build(&b->map, req->rbd_image, req->rbd_io, req->rbd_snap, req->size,
			1ull << bits, &b->minfo);
		if (r == 0)
			fs_log(req->log, FASTSNAP_LOG_INFO, "stream: %s map: %llu bytes in %zu extents, "
				"%llu objects (%llu in parents), %.3f s%s%s",
				b->minfo.exact ? "RADOS" : "librbd (whole objects)",
				(unsigned long long)b->map.allocated, b->map.n,
				(unsigned long long)b->minfo.objects,
				(unsigned long long)b->minfo.parent_objects, b->minfo.seconds,
				b->minfo.exact ? "" : ": ", b->minfo.why);
	} else if (req->rbd_image) {
		r = fs_extent_map_from_rbd(&b->map, req->rbd_image, req->size);
	} else {
		r = fs_extent_map_from_fd(&b->map, req->fd, req->size);
	}
	if (r < 0 || !b->qcow2) {
		b->total = req->size;
		return r;
	}
	if ((r = fs_extent_map_round(&b->map, 1ull << bits)) < 0)
		return r;
	/* auto: scan only where the map may hold whole zero clusters: librbd's
	 * (an object from byte 0 to its highest written byte), or a RADOS map
	 * whose every object came back whole (memstore; objects written whole,
	 * where the adaptive scan gives up after a twentieth). An exact map
	 * names allocated blocks only: a scan would read them twice to find
	 * written zeros (docs/streaming.md). */
	int auto_scan = req->rbd_image && (!b->minfo.exact || b->minfo.coarse);
	if (req->qcow2_zero_scan > 0 || (req->qcow2_zero_scan == 0 && auto_scan)) {
		uint64_t before = b->map.allocated;
		double t = fs_now();
		fs_reader_opts ro = { .rbd_image = req->rbd_image, .fd = req->rbd_image ? -1 : req->fd,
			.size = req->size, .depth = b->depth };
		r = fs_extent_map_drop_zero_clusters(&b->map, &ro, 1ull << bits,
			req->qcow2_zero_scan == 0, req->cancel, &b->scanned);
		if (r < 0)
			return r;
		fs_log(req->log, FASTSNAP_LOG_INFO, "stream: zero scan read %llu bytes in %.2f s: "
			"%llu of %llu mapped bytes hold data", (unsigned long long)b->scanned,
			fs_now() - t, (unsigned long long)b->map.allocated, (unsigned long long)before);
	}
	if ((r = fs_qcow2_plan(&b->layout, &b->map, (unsigned int)bits)) < 0)
		return r;
	b->total = b->layout.length;
	return 0;
}

int fs_stream_body_new(fs_stream_body **out, const fs_stream_req *req)
{
	*out = NULL;
	if ((req->rbd_image != NULL) == (req->fd >= 0))
		return fs_err(FASTSNAP_EINVAL, "stream: give exactly one source (an RBD image or a file)");
	fs_stream_body *b = calloc(1, sizeof(*b));
	if (!b)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the stream");
	b->req = *req;
	b->depth = req->depth ? req->depth : 8;
	int r;
	if (req->disk_format && strcmp(req->disk_format, "raw") != 0) {
		if (strcmp(req->disk_format, "qcow2") != 0) {
			r = fs_err(FASTSNAP_EINVAL, "stream: disk format '%s': only raw and qcow2 can be "
				"streamed", req->disk_format);
			goto fail;
		}
		b->qcow2 = 1;
	}
	struct stat sb;
	if (!req->rbd_image && fstat(req->fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size < req->size) {
		r = fs_err(FASTSNAP_EINVAL, "stream: the file is %lld bytes, fewer than the %llu to send",
			(long long)sb.st_size, (unsigned long long)req->size);
		goto fail;
	}
	if ((r = build_map(b, req)) < 0)
		goto fail;
	b->held = calloc(b->depth, sizeof(*b->held));
	b->refs = calloc(b->depth, sizeof(*b->refs));
	if (!b->held || !b->refs) {
		r = fs_err(FASTSNAP_ENOMEM, "out of memory for the stream");
		goto fail;
	}
	fs_reader_opts ro = {
		.rbd_image = req->rbd_image, .fd = req->rbd_image ? -1 : req->fd,
		.size = req->size, .map = &b->map, .depth = b->depth,
		.read_size = req->read_size,
		.rbd_span = b->qcow2 && req->qcow2_rbd_span >= 0,
	};
	r = fs_reader_new(&b->rd, &ro);
	if (r < 0)
		goto fail;
	if (b->qcow2 && (r = fs_qcow2_writer_new(&b->w, &b->layout, b->rd, b->depth)) < 0)
		goto fail;
	/* qcow2: many pieces per chunk may wait for the hasher */
	r = fs_hasher_new(&b->h, req->verify_md5, b->qcow2 ? b->depth * 8 : b->depth, hashed, b);
	if (r < 0)
		goto fail;
	b->last_progress_t = fs_now();
	fs_log(req->log, FASTSNAP_LOG_DEBUG, "stream: %llu bytes, %llu allocated in %zu extents, "
		"depth %u", (unsigned long long)req->size, (unsigned long long)b->map.allocated,
		b->map.n, b->depth);
	if (b->qcow2)
		fs_log(req->log, FASTSNAP_LOG_INFO, "stream: qcow2 image of %llu bytes: %llu data "
			"clusters and %llu metadata clusters of %llu bytes (%llu L2 tables)",
			(unsigned long long)b->layout.length, (unsigned long long)b->layout.data_clusters,
			(unsigned long long)(b->layout.meta_clusters),
			(unsigned long long)b->layout.cluster_size,
			(unsigned long long)b->layout.l2_clusters);
	*out = b;
	return 0;
fail:
	fs_stream_body_free(b);
	return r;
}

static int progress(fs_stream_body *b, int force)
{
	if (!b->req.progress_cb)
		return 0;
	double now = fs_now();
	if (!force && b->sent - b->last_progress_bytes < FS_PROGRESS_BYTES &&
	    now - b->last_progress_t < FS_PROGRESS_SECONDS)
		return 0;
	b->last_progress_bytes = b->sent;
	b->last_progress_t = now;
	if (b->req.progress_cb(FASTSNAP_STEP_STREAM, b->sent, b->total, b->req.progress_payload))
		return fs_err(FASTSNAP_ECANCELED, "stream canceled by the progress callback at byte %llu",
			(unsigned long long)b->sent);
	return 0;
}

ssize_t fs_stream_body_read(void *ctx, char *buf, size_t len)
{
	fs_stream_body *b = ctx;
	if (b->first.code)
		return fs_error_state_restore(&b->first);
	if (b->req.cancel && atomic_load(b->req.cancel))
		return fail(b, fs_err(FASTSNAP_ECANCELED, "stream canceled at byte %llu",
			(unsigned long long)b->sent));
	if (!b->have_cur) {
		int r = get_piece(b, &b->cur);
		if (r < 0)
			return fail(b, r);
		if (r == 0) {
			if (b->sent != b->total)
				return fail(b, fs_err(FASTSNAP_EIO, "stream ended at %llu of %llu bytes",
					(unsigned long long)b->sent, (unsigned long long)b->total));
			return 0;
		}
		fs_hasher_push(b->h, b->cur.data, b->cur.len, (void *)(uintptr_t)b->cur.token);
		b->have_cur = 1;
		b->cur_pos = 0;
	}
	size_t n = b->cur.len - b->cur_pos;
	if (n > len)
		n = len;
	memcpy(buf, b->cur.data + b->cur_pos, n);
	b->cur_pos += n;
	b->sent += n;
	if (b->cur_pos == b->cur.len) {
		b->have_cur = 0;
		put_piece(b, b->cur.token);
	}
	int r = progress(b, b->sent == b->total);
	if (r < 0)
		return fail(b, r);
	return (ssize_t)n;
}

int fs_stream_body_rewind(void *ctx)
{
	fs_stream_body *b = ctx;
	if (b->have_cur) {
		b->have_cur = 0;
		put_piece(b, b->cur.token);
	}
	int r = fs_hasher_reset(b->h);
	if (r < 0)
		return r;
	r = b->qcow2 ? fs_qcow2_writer_rewind(b->w) : fs_reader_rewind(b->rd);
	if (r < 0)
		return r;
	fs_log(b->req.log, FASTSNAP_LOG_INFO, "stream: restarting from byte 0 (was at %llu)",
		(unsigned long long)b->sent);
	b->sent = 0;
	b->last_progress_bytes = 0;
	b->first.code = 0;
	return 0;
}

int fs_stream_body_finish(fs_stream_body *b, fs_stream_res *res)
{
	if (b->sent != b->total)
		return fs_err(FASTSNAP_EIO, "stream: %llu of %llu bytes were sent",
			(unsigned long long)b->sent, (unsigned long long)b->total);
	int r = fs_hasher_final(b->h, res->sha512, res->md5);
	if (r < 0)
		return r;
	fs_reader_stats st;
	fs_reader_stats_get(b->rd, &st);
	res->bytes_read = st.bytes_read;
	res->bytes_sent = b->sent;
	res->bytes_allocated = b->map.allocated;
	res->bytes_scanned = b->scanned;
	res->virtual_size = b->qcow2 ? b->layout.virtual_size : b->req.size;
	res->map_rados = b->minfo.exact;
	snprintf(res->map_why, sizeof(res->map_why), "%s", b->minfo.why);
	res->map_seconds = b->minfo.seconds;
	return 0;
}

uint64_t fs_stream_body_length(const fs_stream_body *b)
{
	return b->total;
}

const fs_qcow2_layout *fs_stream_body_qcow2(const fs_stream_body *b)
{
	return b->qcow2 ? &b->layout : NULL;
}

const fs_extent_map *fs_stream_body_map(const fs_stream_body *b)
{
	return &b->map;
}

void fs_stream_body_stats(fs_stream_body *b, fs_reader_stats *out)
{
	fs_reader_stats_get(b->rd, out);
}

void fs_stream_body_free(fs_stream_body *b)
{
	if (!b)
		return;
	if (b->have_cur) {
		b->have_cur = 0;
		put_piece(b, b->cur.token);
	}
	fs_hasher_free(b->h);       /* hashes what is queued, releasing it */
	fs_qcow2_writer_free(b->w); /* gives its chunk back to the reader */
	fs_reader_free(b->rd);
	fs_qcow2_layout_free(&b->layout);
	free(b->held);
	free(b->refs);
	fs_extent_map_free(&b->map);
	free(b);
}
