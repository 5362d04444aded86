/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_extents.c: the allocation map (stream/extents.c): merging
 * and lookup, and SEEK_DATA/SEEK_HOLE on sparse temporary files.
 */
#include "stream/extents.h"
#include "test_stream_util.h"

Test(extents, add_merges_and_clips)
{
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 100;
	cr_assert_eq(fs_extent_map_add(&m, 10, 10), 0);
	cr_assert_eq(fs_extent_map_add(&m, 20, 5), 0);   /* adjacent: merged */
	cr_assert_eq(fs_extent_map_add(&m, 50, 100), 0); /* clipped to 100 */
	cr_assert_eq(fs_extent_map_add(&m, 200, 1), 0);  /* past the end: ignored */
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.v[0].off, 10);
	cr_assert_eq(m.v[0].len, 15);
	cr_assert_eq(m.v[1].off, 50);
	cr_assert_eq(m.v[1].len, 50);
	cr_assert_eq(m.allocated, 65);
	fs_extent_map_free(&m);
}

Test(extents, normalize_sorts_and_merges_out_of_order)
{
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 1000;
	fs_extent_map_add(&m, 500, 100);
	fs_extent_map_add(&m, 0, 10);
	fs_extent_map_add(&m, 550, 100);  /* overlaps the first */
	fs_extent_map_add(&m, 10, 5);     /* adjacent to [0,10) */
	fs_extent_map_add(&m, 800, 10);
	fs_extent_map_normalize(&m);
	cr_assert_eq(m.n, 3);
	cr_assert_eq(m.v[0].off, 0);
	cr_assert_eq(m.v[0].len, 15);
	cr_assert_eq(m.v[1].off, 500);
	cr_assert_eq(m.v[1].len, 150);
	cr_assert_eq(m.v[2].off, 800);
	cr_assert_eq(m.allocated, 15 + 150 + 10);
	cr_assert_eq(fs_extent_map_find(&m, 0), 0);
	cr_assert_eq(fs_extent_map_find(&m, 15), 1);
	cr_assert_eq(fs_extent_map_find(&m, 649), 1);
	cr_assert_eq(fs_extent_map_find(&m, 650), 2);
	cr_assert_eq(fs_extent_map_find(&m, 900), 3);
	fs_extent_map_free(&m);
}

Test(extents, sparse_file_seek_data)
{
	char path[64];
	const uint64_t size = 10ull << 20;
	int fd = ts_sparse_file(path, size);
	ts_fill(fd, 1 << 20, 4096);             /* one block */
	ts_fill(fd, 5 << 20, 8192 + 100);       /* three blocks (last partly) */
	ts_fill(fd, size - 1, 1);               /* the last byte */
	fsync(fd);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, size), 0, "%s", fastsnap_error_last());
	cr_assert_eq(m.size, size);
	cr_assert_eq(m.n, 3, "got %zu extents", m.n);
	cr_assert_eq(m.v[0].off, 1 << 20);
	cr_assert_eq(m.v[0].len, 4096);
	cr_assert_eq(m.v[1].off, 5 << 20);
	cr_assert_eq(m.v[1].len, 3 * 4096);
	cr_assert_eq(m.v[2].off, size - 4096);
	cr_assert_eq(m.v[2].len, 4096);
	cr_assert_eq(m.allocated, 5 * 4096);
	fs_extent_map_free(&m);
	close(fd);
	unlink(path);
}

Test(extents, all_hole_and_empty_files)
{
	char path[64];
	int fd = ts_sparse_file(path, 3 << 20);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, 3 << 20), 0);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(m.allocated, 0);
	cr_assert_eq(ftruncate(fd, 0), 0);
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, 0), 0);
	cr_assert_eq(m.n, 0);
	fs_extent_map_free(&m);
	close(fd);
	unlink(path);
}

Test(extents, dense_file_is_one_extent)
{
	char path[64];
	int fd = ts_sparse_file(path, 0);
	ts_fill(fd, 0, 300000);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, 300000), 0);
	cr_assert_eq(m.n, 1);
	cr_assert_eq(m.v[0].off, 0);
	cr_assert_eq(m.v[0].len, 300000);
	cr_assert_eq(m.allocated, 300000);
	fs_extent_map_free(&m);
	close(fd);
	unlink(path);
}

Test(extents, round_to_clusters_merges_and_clips)
{
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 10000;
	fs_extent_map_add(&m, 10, 1);        /* -> [0, 512) */
	fs_extent_map_add(&m, 600, 10);      /* -> [512, 1024): touches the first */
	fs_extent_map_add(&m, 2047, 2);      /* -> [1536, 2560) */
	fs_extent_map_add(&m, 9990, 5);      /* -> [9728, 10000): clipped to the size */
	cr_assert_eq(fs_extent_map_round(&m, 512), 0);
	cr_assert_eq(m.n, 3);
	cr_assert_eq(m.v[0].off, 0);
	cr_assert_eq(m.v[0].len, 1024);
	cr_assert_eq(m.v[1].off, 1536);
	cr_assert_eq(m.v[1].len, 1024);
	cr_assert_eq(m.v[2].off, 9728);
	cr_assert_eq(m.v[2].len, 10000 - 9728);
	cr_assert_eq(m.allocated, 1024 + 1024 + 272);
	cr_assert_eq(fs_extent_map_round(&m, 4096), 0);   /* coarser: everything merges but the gap */
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.v[0].off, 0);
	cr_assert_eq(m.v[0].len, 4096);
	cr_assert_eq(m.v[1].off, 8192);
	cr_assert_eq(m.v[1].len, 10000 - 8192);
	cr_assert_eq(fs_extent_map_round(&m, 3000), FASTSNAP_EINVAL);
	fs_extent_map_free(&m);
}
