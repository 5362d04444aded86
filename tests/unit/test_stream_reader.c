/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_stream_reader.c: the pipelined ordered reader on files:
 * exact bytes in order for many depth / read size / file size combinations,
 * holes not read, a fixed number of buffers, rewind, and read errors.
 */
#include "stream/extents.h"
#include "stream/reader.h"
#include "test_stream_util.h"

/* Read everything through the reader, holding up to `hold` chunks before
 * releasing the oldest (as the sender + hasher do), and compare with the
 * file's bytes. */
static void read_and_compare(int fd, uint64_t size, unsigned depth, uint64_t rs,
	unsigned hold, const fs_extent_map *m, fs_reader_stats *st_out)
{
	unsigned char *want = ts_slurp(fd, size);
	unsigned char *got = malloc(size ? size : 1);
	fs_reader *r = NULL;
	fs_reader_opts o = { .rbd_image = NULL, .fd = fd, .size = size, .map = m,
		.depth = depth, .read_size = rs };
	cr_assert_eq(fs_reader_new(&r, &o), 0, "%s", fastsnap_error_last());
	fs_chunk held[64];
	unsigned nheld = 0;
	uint64_t pos = 0;
	fs_chunk c;
	int rc;
	while ((rc = fs_reader_next(r, &c)) == 1) {
		cr_assert_eq(c.offset, pos, "chunk at %llu, expected %llu",
			(unsigned long long)c.offset, (unsigned long long)pos);
		cr_assert(c.len > 0 && c.len <= rs);
		cr_assert(pos + c.len <= size);
		memcpy(got + pos, c.data, c.len);
		pos += c.len;
		held[nheld++] = c;
		if (nheld > hold) {
			fs_reader_release(r, &held[0]);
			memmove(held, held + 1, --nheld * sizeof(*held));
		}
	}
	cr_assert_eq(rc, 0, "reader error: %s", fastsnap_error_last());
	for (unsigned i = 0; i < nheld; i++)
		fs_reader_release(r, &held[i]);
	cr_assert_eq(pos, size);
	char h1[129], h2[129];
	ts_sha512(h1, want, size);
	ts_sha512(h2, got, size);
	cr_assert_str_eq(h2, h1, "size %llu depth %u rs %llu", (unsigned long long)size, depth,
		(unsigned long long)rs);
	cr_assert_eq(memcmp(want, got, size), 0);
	fs_reader_stats st;
	fs_reader_stats_get(r, &st);
	cr_assert_eq(st.buffers, size ? depth : 0, "buffers %u, depth %u", st.buffers, depth);
	cr_assert(st.buffer_size <= rs);
	if (st_out)
		*st_out = st;
	/* the end is sticky */
	cr_assert_eq(fs_reader_next(r, &c), 0);
	fs_reader_free(r);
	free(want);
	free(got);
}

Test(stream_reader, dense_files_many_combinations)
{
	const uint64_t sizes[] = { 0, 1, 4095, 4096, 4097, 65536, 100001, (3u << 20) + 17 };
	const unsigned depths[] = { 1, 2, 3, 8 };
	const uint64_t rss[] = { 4096, 65536, 100000, 1u << 20 };
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		char path[64];
		int fd = ts_sparse_file(path, 0);
		ts_fill(fd, 0, sizes[si]);
		for (size_t di = 0; di < 4; di++)
			for (size_t ri = 0; ri < 4; ri++) {
				unsigned hold = depths[di] > 1 ? depths[di] - 1 : 0;
				read_and_compare(fd, sizes[si], depths[di], rss[ri], hold, NULL, NULL);
				read_and_compare(fd, sizes[si], depths[di], rss[ri], 0, NULL, NULL);
			}
		close(fd);
		unlink(path);
	}
}

Test(stream_reader, sparse_file_holes_not_read)
{
	char path[64];
	const uint64_t size = (16ull << 20) + 12345;
	int fd = ts_sparse_file(path, size);
	ts_fill(fd, 0, 4096);
	ts_fill(fd, 3 << 20, 5 << 20);           /* a long run spanning chunks */
	ts_fill(fd, (10 << 20) + 8192, 100);     /* a small write mid-chunk */
	ts_fill(fd, (12 << 20) - 4096, 8192);    /* straddles a 4 MiB boundary */
	ts_fill(fd, size - 10, 10);
	fsync(fd);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, size), 0);
	cr_assert(m.allocated < size / 2);
	const unsigned depths[] = { 1, 4, 8 };
	const uint64_t rss[] = { 65536, 1u << 20, 4u << 20, 3000000 };
	for (size_t di = 0; di < 3; di++)
		for (size_t ri = 0; ri < 4; ri++) {
			fs_reader_stats st;
			read_and_compare(fd, size, depths[di], rss[ri], depths[di] - 1, &m, &st);
			cr_assert_eq(st.bytes_read, m.allocated, "read %llu bytes, %llu allocated",
				(unsigned long long)st.bytes_read, (unsigned long long)m.allocated);
		}
	/* without a map everything is read */
	fs_reader_stats st;
	read_and_compare(fd, size, 4, 1 << 20, 3, NULL, &st);
	cr_assert_eq(st.bytes_read, size);
	fs_extent_map_free(&m);
	close(fd);
	unlink(path);
}

Test(stream_reader, all_hole_reads_nothing)
{
	char path[64];
	const uint64_t size = 9ull << 20;
	int fd = ts_sparse_file(path, size);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, size), 0);
	fs_reader_stats st;
	read_and_compare(fd, size, 8, 4 << 20, 7, &m, &st);
	cr_assert_eq(st.bytes_read, 0);
	cr_assert_eq(st.reads, 0);
	fs_extent_map_free(&m);
	close(fd);
	unlink(path);
}

Test(stream_reader, rewind_restarts_from_zero)
{
	char path[64];
	const uint64_t size = (5ull << 20) + 3;
	int fd = ts_sparse_file(path, size);
	ts_fill(fd, 0, size);
	fs_reader *r = NULL;
	fs_reader_opts o = { .fd = fd, .size = size, .depth = 3, .read_size = 1 << 20 };
	cr_assert_eq(fs_reader_new(&r, &o), 0);
	fs_chunk c;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(fs_reader_next(r, &c), 1);
		if (i < 2)
			fs_reader_release(r, &c);
	}
	/* a held chunk forbids the rewind */
	cr_assert_eq(fs_reader_rewind(r), FASTSNAP_EINVAL);
	fs_reader_release(r, &c);
	cr_assert_eq(fs_reader_rewind(r), 0);
	uint64_t pos = 0;
	while (fs_reader_next(r, &c) == 1) {
		cr_assert_eq(c.offset, pos);
		cr_assert_eq(c.data[0], (char)ts_byte(pos));
		pos += c.len;
		fs_reader_release(r, &c);
	}
	cr_assert_eq(pos, size);
	fs_reader_stats st;
	fs_reader_stats_get(r, &st);
	cr_assert_eq(st.bytes_read, size);
	fs_reader_free(r);
	close(fd);
	unlink(path);
}

Test(stream_reader, shrunk_file_is_a_read_error)
{
	char path[64];
	const uint64_t size = 8ull << 20;
	int fd = ts_sparse_file(path, 0);
	ts_fill(fd, 0, size);
	fs_reader *r = NULL;
	fs_reader_opts o = { .fd = fd, .size = size, .depth = 2, .read_size = 1 << 20 };
	cr_assert_eq(ftruncate(fd, 2 << 20), 0);
	cr_assert_eq(fs_reader_new(&r, &o), 0);
	fs_chunk c;
	int rc, n = 0;
	while ((rc = fs_reader_next(r, &c)) == 1) {
		fs_reader_release(r, &c);
		n++;
	}
	cr_assert_eq(rc, FASTSNAP_EIO);
	cr_assert_eq(n, 2);
	cr_assert(strstr(fastsnap_error_last(), "unexpected end of file"), "%s", fastsnap_error_last());
	/* sticky */
	cr_assert_eq(fs_reader_next(r, &c), FASTSNAP_EIO);
	fs_reader_free(r);
	close(fd);
	unlink(path);
}

Test(stream_reader, free_with_reads_in_flight)
{
	char path[64];
	int fd = ts_sparse_file(path, 0);
	ts_fill(fd, 0, 4 << 20);
	fs_reader *r = NULL;
	fs_reader_opts o = { .fd = fd, .size = 4 << 20, .depth = 8, .read_size = 65536 };
	cr_assert_eq(fs_reader_new(&r, &o), 0);
	fs_chunk c;
	cr_assert_eq(fs_reader_next(r, &c), 1);   /* starts the pipeline, holds one */
	fs_reader_free(r);
	close(fd);
	unlink(path);
}

Test(stream_reader, refuses_two_sources_and_bad_sizes)
{
	fs_reader *r = NULL;
	fs_reader_opts o = { .fd = -1, .size = 10 };
	cr_assert_eq(fs_reader_new(&r, &o), FASTSNAP_EINVAL);
	o.fd = 0;
	o.read_size = 2ull << 30;
	cr_assert_eq(fs_reader_new(&r, &o), FASTSNAP_EINVAL);
	cr_assert_null(r);
}
