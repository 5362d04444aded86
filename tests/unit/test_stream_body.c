/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_stream_body.c: the upload body (stream/body.c) driven to
 * the end like an HTTP sender would: exact bytes and hashes, rewind in the
 * middle, cancellation by flag and by progress callback, and a read error
 * that comes back as itself.
 */
#include <stdatomic.h>

#include "stream/body.h"
#include "test_stream_util.h"

typedef struct {
	int calls;
	uint64_t last_done;
	uint64_t total;
	uint64_t cancel_after;    /* 0: never */
} prog_state;

static int prog_cb(fastsnap_step step, uint64_t done, uint64_t total, void *p)
{
	prog_state *ps = p;
	cr_assert_eq(step, FASTSNAP_STEP_STREAM);
	cr_assert(done >= ps->last_done);
	ps->calls++;
	ps->last_done = done;
	ps->total = total;
	return ps->cancel_after && done >= ps->cancel_after;
}

/* Read the body to the end with varying buffer sizes; returns what came out. */
static int drain(fs_stream_body *b, unsigned char *out, uint64_t cap, uint64_t *got)
{
	static const size_t lens[] = { 16384, 1, 65536, 4097, 100000, 7 };
	char buf[100000];
	*got = 0;
	for (unsigned i = 0;; i++) {
		ssize_t n = fs_stream_body_read(b, buf, lens[i % 6]);
		if (n <= 0)
			return (int)n;
		cr_assert(*got + (uint64_t)n <= cap, "body longer than the source");
		memcpy(out + *got, buf, (size_t)n);
		*got += (uint64_t)n;
	}
}

static int make_sparse(char *path, uint64_t size)
{
	int fd = ts_sparse_file(path, size);
	if (size > 100)
		ts_fill(fd, 0, 100);
	if (size > (2 << 20))
		ts_fill(fd, (2 << 20) - 5, 4096 * 3);
	if (size > (9 << 20))
		ts_fill(fd, 9 << 20, 4 << 20);
	if (size)
		ts_fill(fd, size - 1, 1);
	return fd;
}

static void check_body(uint64_t size, unsigned depth, uint64_t rs, int md5)
{
	char path[64];
	int fd = make_sparse(path, size);
	unsigned char *want = ts_slurp(fd, size);
	unsigned char *got = malloc(size ? size : 1);
	prog_state ps = { 0 };
	fs_stream_req req = { .fd = fd, .size = size, .depth = depth, .read_size = rs,
		.verify_md5 = md5, .progress_cb = prog_cb, .progress_payload = &ps };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0, "%s", fastsnap_error_last());
	uint64_t n = 0;
	cr_assert_eq(drain(b, got, size, &n), 0, "%s", fastsnap_error_last());
	cr_assert_eq(n, size);
	cr_assert_eq(memcmp(want, got, size), 0);
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	cr_assert_eq(fs_stream_body_finish(b, &res), 0, "%s", fastsnap_error_last());
	char h[129], m[33];
	ts_sha512(h, want, size);
	cr_assert_str_eq(res.sha512, h);
	if (md5) {
		ts_md5(m, want, size);
		cr_assert_str_eq(res.md5, m);
	} else {
		cr_assert_str_eq(res.md5, "");
	}
	cr_assert_eq(res.bytes_sent, size);
	cr_assert_eq(res.bytes_read, res.bytes_allocated);
	cr_assert(res.bytes_allocated <= size);
	if (size) {
		cr_assert(ps.calls >= 1);
		cr_assert_eq(ps.last_done, size);
		cr_assert_eq(ps.total, size);
	}
	fs_reader_stats st;
	fs_stream_body_stats(b, &st);
	cr_assert_eq(st.buffers, size ? (depth ? depth : 8) : 0);
	fs_stream_body_free(b);
	free(want);
	free(got);
	close(fd);
	unlink(path);
}

Test(stream_body, bytes_and_hashes_match)
{
	check_body((17ull << 20) + 333, 0, 0, 1);
	check_body((17ull << 20) + 333, 3, 1 << 20, 0);
	check_body(4096, 8, 4 << 20, 1);
	check_body(1, 1, 4096, 1);
	check_body(0, 8, 0, 1);
	check_body(5ull << 20, 2, 65536, 1);
}

Test(stream_body, rewind_in_the_middle_restarts_hashes)
{
	char path[64];
	const uint64_t size = 12ull << 20;
	int fd = make_sparse(path, size);
	unsigned char *want = ts_slurp(fd, size);
	unsigned char *got = malloc(size);
	fs_stream_req req = { .fd = fd, .size = size, .depth = 4, .read_size = 1 << 20,
		.verify_md5 = 1 };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0);
	char buf[70000];
	for (int i = 0; i < 50; i++)
		cr_assert(fs_stream_body_read(b, buf, sizeof(buf)) > 0);
	cr_assert_eq(fs_stream_body_rewind(b), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_stream_body_rewind(b), 0);   /* twice is harmless */
	uint64_t n = 0;
	cr_assert_eq(drain(b, got, size, &n), 0);
	cr_assert_eq(n, size);
	cr_assert_eq(memcmp(want, got, size), 0);
	fs_stream_res res;
	cr_assert_eq(fs_stream_body_finish(b, &res), 0);
	char h[129], m[33];
	ts_sha512(h, want, size);
	ts_md5(m, want, size);
	cr_assert_str_eq(res.sha512, h);
	cr_assert_str_eq(res.md5, m);
	fs_stream_body_free(b);
	free(want);
	free(got);
	close(fd);
	unlink(path);
}

Test(stream_body, cancel_flag_stops_the_stream)
{
	char path[64];
	const uint64_t size = 8ull << 20;
	int fd = make_sparse(path, size);
	atomic_int cancel = 0;
	fs_stream_req req = { .fd = fd, .size = size, .cancel = &cancel };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0);
	char buf[65536];
	cr_assert(fs_stream_body_read(b, buf, sizeof(buf)) > 0);
	atomic_store(&cancel, 1);
	cr_assert_eq(fs_stream_body_read(b, buf, sizeof(buf)), FASTSNAP_ECANCELED);
	fastsnap_error_clear();
	/* sticky, with its message */
	cr_assert_eq(fs_stream_body_read(b, buf, sizeof(buf)), FASTSNAP_ECANCELED);
	cr_assert(strstr(fastsnap_error_last(), "canceled"), "%s", fastsnap_error_last());
	fs_stream_res res;
	cr_assert_eq(fs_stream_body_finish(b, &res), FASTSNAP_EIO);
	fs_stream_body_free(b);   /* with a chunk held and one queued for hashing */
	close(fd);
	unlink(path);
}

Test(stream_body, progress_callback_cancels)
{
	char path[64];
	const uint64_t size = 200ull << 20;
	int fd = ts_sparse_file(path, size);   /* all hole: fast */
	prog_state ps = { .cancel_after = 64ull << 20 };
	fs_stream_req req = { .fd = fd, .size = size, .progress_cb = prog_cb,
		.progress_payload = &ps };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0);
	unsigned char *sink = malloc(size);
	uint64_t n = 0;
	cr_assert_eq(drain(b, sink, size, &n), FASTSNAP_ECANCELED);
	/* the call that crossed 64 MiB returned the error instead of its bytes */
	cr_assert(n >= (64ull << 20) - 100000 && n < size, "stopped at %llu", (unsigned long long)n);
	fs_reader_stats st;
	fs_stream_body_stats(b, &st);
	cr_assert_eq(st.bytes_read, 0, "holes are never read");
	fs_stream_body_free(b);
	free(sink);
	close(fd);
	unlink(path);
}

Test(stream_body, read_error_comes_back_as_itself)
{
	char path[64];
	const uint64_t size = 8ull << 20;
	int fd = ts_sparse_file(path, 0);
	ts_fill(fd, 0, size);
	fs_stream_req req = { .fd = fd, .size = size, .depth = 2, .read_size = 1 << 20 };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0);
	cr_assert_eq(ftruncate(fd, 3 << 20), 0);
	unsigned char *sink = malloc(size);
	uint64_t n = 0;
	cr_assert_eq(drain(b, sink, size, &n), FASTSNAP_EIO);
	cr_assert_eq(n, 3 << 20);
	cr_assert(strstr(fastsnap_error_last(), "end of file"), "%s", fastsnap_error_last());
	fs_stream_body_free(b);
	free(sink);
	close(fd);
	unlink(path);
}

Test(stream_body, refuses_no_source)
{
	fs_stream_req req = { .fd = -1, .size = 1 };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), FASTSNAP_EINVAL);
	cr_assert_null(b);
}
