/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/zero_scan.c: dropping all-zero clusters from an allocation map
 * by reading it once through the pipelined reader (zero_scan.h).
 */
#include <string.h>

#include "stream/zero_scan.h"

#define FS_SCAN_READ_SIZE (4ull << 20)  /* a multiple of every cluster size */
/* adaptive: after this share of the mapped bytes (1/20), stop when fewer
 * than 1/8 of the bytes scanned were zero clusters */
#define FS_SCAN_PROBE_DIV 20
#define FS_SCAN_MIN_ZERO_DIV 8

int fs_all_zero(const char *buf, size_t len)
{
	if (len == 0)
		return 1;
	/* compare the first 16 bytes by hand, then the buffer with itself
	 * shifted: memcmp runs at memory speed */
	size_t head = len < 16 ? len : 16;
	for (size_t i = 0; i < head; i++)
		if (buf[i])
			return 0;
	return len <= 16 || memcmp(buf, buf + 16, len - 16) == 0;
}

/* Keep the map's extents from byte `from` on, unscanned. */
static int keep_rest(fs_extent_map *out, const fs_extent_map *m, size_t cursor, uint64_t from)
{
	int r = 0;
	for (size_t i = cursor; i < m->n && r == 0; i++) {
		uint64_t a = m->v[i].off > from ? m->v[i].off : from;
		uint64_t z = m->v[i].off + m->v[i].len;
		if (z > a)
			r = fs_extent_map_add(out, a, z - a);
	}
	return r;
}

int fs_extent_map_drop_zero_clusters(fs_extent_map *m, const fs_reader_opts *ro, uint64_t cluster,
	int adaptive, atomic_int *cancel, uint64_t *scanned)
{
	*scanned = 0;
	if (cluster == 0 || (cluster & (cluster - 1)) != 0 || cluster > FS_SCAN_READ_SIZE)
		return fs_err(FASTSNAP_EINVAL, "zero scan: cluster size %llu",
			(unsigned long long)cluster);
	if (m->n == 0)
		return 0;
	fs_reader_opts o = *ro;
	o.map = m;
	o.read_size = FS_SCAN_READ_SIZE;
	fs_reader *rd = NULL;
	int r = fs_reader_new(&rd, &o);
	if (r < 0)
		return r;
	fs_extent_map out = FS_EXTENT_MAP_INIT;
	out.size = m->size;
	size_t cursor = 0;
	uint64_t seen = 0, zeros = 0, probe = m->allocated / FS_SCAN_PROBE_DIV;
	fs_chunk c;
	while ((r = fs_reader_next(rd, &c)) == 1) {
		uint64_t end = c.offset + c.len;
		while (!c.zero && cursor < m->n && m->v[cursor].off < end) {
			const fs_extent *e = &m->v[cursor];
			uint64_t a = e->off > c.offset ? e->off : c.offset;
			uint64_t z = e->off + e->len < end ? e->off + e->len : end;
			/* clusters never straddle chunks: chunks are cluster multiples */
			for (uint64_t p = a; p < z && r >= 0; p += cluster) {
				size_t n = (size_t)((z - p) < cluster ? z - p : cluster);
				seen += n;
				if (!fs_all_zero(c.data + (p - c.offset), n))
					r = fs_extent_map_add(&out, p, n);
				else
					zeros += n;
			}
			if (r < 0 || e->off + e->len > end)
				break;
			cursor++;
		}
		fs_reader_release(rd, &c);
		if (r >= 0 && cancel && atomic_load(cancel))
			r = fs_err(FASTSNAP_ECANCELED, "canceled while scanning for zero clusters");
		if (r < 0)
			break;
		if (adaptive && seen >= probe && zeros < seen / FS_SCAN_MIN_ZERO_DIV) {
			/* data-heavy: reading the rest twice would cost more than it saves */
			r = keep_rest(&out, m, cursor, end);
			break;
		}
	}
	fs_reader_stats st;
	fs_reader_stats_get(rd, &st);
	*scanned = st.bytes_read;
	fs_reader_free(rd);
	if (r < 0) {
		fs_extent_map_free(&out);
		return r;
	}
	fs_extent_map_free(m);
	*m = out;
	return 0;
}
