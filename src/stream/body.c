/*
 * stream/body.c: the upload body (body.h): in-order chunks from the reader,
 * copied into the sender's buffer, hashed by the hashing thread, released
 * to the reader once both are done with them.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stream/body.h"
#include "stream/hasher.h"

#define FS_PROGRESS_BYTES (64ull << 20)
#define FS_PROGRESS_SECONDS 0.25

struct fs_stream_body {
	fs_stream_req req;
	fs_extent_map map;
	fs_reader *rd;
	fs_hasher *h;
	unsigned int depth;
	fs_chunk *held;             /* per reader slot: the chunk handed out */
	atomic_int *refs;           /* per reader slot: 2 = sender + hasher */
	fs_chunk cur;
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

static void hashed(void *ctx, void *item)
{
	fs_stream_body *b = ctx;
	unref(b, (unsigned int)(uintptr_t)item);
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
	struct stat sb;
	if (!req->rbd_image && fstat(req->fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size < req->size) {
		r = fs_err(FASTSNAP_EINVAL, "stream: the file is %lld bytes, fewer than the %llu to send",
			(long long)sb.st_size, (unsigned long long)req->size);
		goto fail;
	}
	if (req->rbd_image)
		r = fs_extent_map_from_rbd(&b->map, req->rbd_image, req->size);
	else
		r = fs_extent_map_from_fd(&b->map, req->fd, req->size);
	if (r < 0)
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
	};
	r = fs_reader_new(&b->rd, &ro);
	if (r < 0)
		goto fail;
	r = fs_hasher_new(&b->h, req->verify_md5, b->depth, hashed, b);
	if (r < 0)
		goto fail;
	b->last_progress_t = fs_now();
	fs_log(req->log, FASTSNAP_LOG_DEBUG, "stream: %llu bytes, %llu allocated in %zu extents, "
		"depth %u", (unsigned long long)req->size, (unsigned long long)b->map.allocated,
		b->map.n, b->depth);
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
	if (b->req.progress_cb(FASTSNAP_STEP_STREAM, b->sent, b->req.size, b->req.progress_payload))
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
		int r = fs_reader_next(b->rd, &b->cur);
		if (r < 0)
			return fail(b, r);
		if (r == 0) {
			if (b->sent != b->req.size)
				return fail(b, fs_err(FASTSNAP_EIO, "stream ended at %llu of %llu bytes",
					(unsigned long long)b->sent, (unsigned long long)b->req.size));
			return 0;
		}
		b->held[b->cur.slot] = b->cur;
		atomic_store(&b->refs[b->cur.slot], 2);
		fs_hasher_push(b->h, b->cur.data, b->cur.len, (void *)(uintptr_t)b->cur.slot);
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
		unref(b, b->cur.slot);
	}
	int r = progress(b, b->sent == b->req.size);
	if (r < 0)
		return fail(b, r);
	return (ssize_t)n;
}

int fs_stream_body_rewind(void *ctx)
{
	fs_stream_body *b = ctx;
	if (b->have_cur) {
		b->have_cur = 0;
		unref(b, b->cur.slot);
	}
	int r = fs_hasher_reset(b->h);
	if (r < 0)
		return r;
	r = fs_reader_rewind(b->rd);
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
	if (b->sent != b->req.size)
		return fs_err(FASTSNAP_EIO, "stream: %llu of %llu bytes were sent",
			(unsigned long long)b->sent, (unsigned long long)b->req.size);
	int r = fs_hasher_final(b->h, res->sha512, res->md5);
	if (r < 0)
		return r;
	fs_reader_stats st;
	fs_reader_stats_get(b->rd, &st);
	res->bytes_read = st.bytes_read;
	res->bytes_sent = b->sent;
	res->bytes_allocated = b->map.allocated;
	return 0;
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
		unref(b, b->cur.slot);
	}
	fs_hasher_free(b->h);       /* hashes what is queued, releasing it */
	fs_reader_free(b->rd);
	free(b->held);
	free(b->refs);
	fs_extent_map_free(&b->map);
	free(b);
}
