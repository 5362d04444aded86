/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_qcow2.c: the qcow2 layout planner and metadata generator
 * (stream/qcow2.c): header bytes, table sizes, the refcount sizing that
 * counts itself, and an image built in memory read back by an independent
 * little qcow2 reader written here (every L1/L2 entry, every refcount, no
 * cluster used twice or leaked). The property runs: a thousand random maps
 * read back in full, and a million random maps against the planner's
 * invariants (FASTSNAP_QCOW2_PLAN_RUNS overrides the count).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "stream/extents.h"
#include "stream/qcow2.h"

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A data byte of the virtual disk at `off` (non-zero when allocated). */
static unsigned char disk_byte(uint64_t off)
{
	uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull;
	return (unsigned char)((x >> 56) | 1);
}

static void map_of(fs_extent_map *m, uint64_t size, const uint64_t *ext, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(fs_extent_map_add(m, ext[2 * i], ext[2 * i + 1]), 0);
	fs_extent_map_normalize(m);
}

/* What the disk holds in [lo, lo+n): disk_byte inside the map, zeros
 * outside it and past the end. */
static void expected(const fs_extent_map *m, uint64_t lo, uint64_t n, unsigned char *buf)
{
	memset(buf, 0, n);
	for (size_t i = fs_extent_map_find(m, lo); i < m->n && m->v[i].off < lo + n; i++) {
		uint64_t a = m->v[i].off > lo ? m->v[i].off : lo;
		uint64_t z = m->v[i].off + m->v[i].len < lo + n ? m->v[i].off + m->v[i].len : lo + n;
		for (uint64_t o = a; o < z; o++)
			buf[o - lo] = disk_byte(o);
	}
}

/* The whole image in memory: generated metadata, then the data clusters
 * (disk_byte inside the map's extents, zero elsewhere in the cluster). */
static unsigned char *build_image(const fs_qcow2_layout *L, const fs_extent_map *m)
{
	unsigned char *img = malloc(L->length ? L->length : 1);
	cr_assert(img);
	fs_qcow2_meta_gen g;
	fs_qcow2_meta_begin(&g);
	uint64_t k = 0;
	while (fs_qcow2_meta_next(L, &g, img + k * L->cluster_size) == 1)
		k++;
	cr_assert_eq(k, L->meta_clusters);
	cr_assert_eq(k * L->cluster_size, L->data_offset);
	uint64_t at = L->data_offset;
	for (size_t r = 0; r < L->nruns; r++) {
		for (uint64_t c = L->runs[r].off; c < L->runs[r].off + L->runs[r].len; c++) {
			expected(m, c * L->cluster_size, L->cluster_size, img + at);
			at += L->cluster_size;
		}
	}
	cr_assert_eq(at, L->length);
	return img;
}

/* An independent reader: checks the header, every table entry and every
 * refcount, and reads the whole virtual disk back against the map. */
static void check_image(const unsigned char *img, uint64_t len, const fs_extent_map *m,
	unsigned int bits)
{
	uint64_t cs = 1ull << bits, l2e = cs / 8;
	cr_assert(len >= cs && len % cs == 0, "length %llu", (unsigned long long)len);
	cr_assert_eq(rd32(img), 0x514649fb);
	cr_assert_eq(rd32(img + 4), 3);
	cr_assert_eq(rd64(img + 8), 0, "backing file offset");
	cr_assert_eq(rd32(img + 16), 0);
	cr_assert_eq(rd32(img + 20), bits);
	uint64_t vsize = m->size % 512 ? m->size + 512 - m->size % 512 : m->size;
	cr_assert_eq(rd64(img + 24), vsize, "virtual size: the disk's, rounded up to 512");
	cr_assert_eq(rd32(img + 32), 0, "encryption");
	uint64_t l1_size = rd32(img + 36), l1_off = rd64(img + 40), rt_off = rd64(img + 48);
	uint64_t rt_cl = rd32(img + 56);
	cr_assert_eq(rd32(img + 60), 0, "snapshots");
	cr_assert_eq(rd64(img + 64), 0);
	cr_assert_eq(rd64(img + 72), 0, "incompatible features");
	cr_assert_eq(rd64(img + 80), 0, "compatible features");
	cr_assert_eq(rd64(img + 88), 0, "autoclear features");
	cr_assert_eq(rd32(img + 96), 4, "refcount_order");
	uint32_t hl = rd32(img + 100);
	cr_assert(hl == 104 || hl == 112, "header_length %u", hl);
	if (hl == 112)
		cr_assert_eq(img[104], 0, "compression_type");
	cr_assert_eq(rd32(img + hl), 0, "end-of-extensions marker type");
	cr_assert_eq(rd32(img + hl + 4), 0, "end-of-extensions marker length");
	uint64_t per_l2 = cs * l2e;
	cr_assert_eq(l1_size, vsize / per_l2 + (vsize % per_l2 != 0), "l1_size");
	cr_assert_eq(l1_off % cs, 0);
	cr_assert_eq(rt_off % cs, 0);

	uint64_t ncl = len / cs;
	unsigned *use = calloc(ncl, sizeof(*use));
	unsigned char *want = malloc(cs);
	cr_assert(use && want);
#define USE(off, n) do { \
		cr_assert((off) % cs == 0 && (off) / cs + (n) <= ncl, "cluster at %llu out of the file", \
			(unsigned long long)(off)); \
		for (uint64_t u_ = 0; u_ < (n); u_++) use[(off) / cs + u_]++; \
	} while (0)
	USE(0, 1);
	uint64_t l1_cl = (l1_size * 8 + cs - 1) / cs;
	USE(l1_off, l1_cl);
	USE(rt_off, rt_cl);
	/* refcount blocks */
	uint64_t nrb = 0;
	for (uint64_t i = 0; i < rt_cl * cs / 8; i++) {
		uint64_t e = rd64(img + rt_off + i * 8);
		if (!e)
			continue;
		cr_assert_eq(e % cs, 0);
		cr_assert_eq(i, nrb, "refcount table has a gap");
		USE(e, 1);
		nrb++;
	}
	cr_assert(nrb * (cs / 2) >= ncl, "refcount blocks cover %llu clusters of %llu",
		(unsigned long long)(nrb * (cs / 2)), (unsigned long long)ncl);
	/* walk the disk */
	uint64_t vcl = (vsize + cs - 1) / cs;
	for (uint64_t li = 0; li < l1_size; li++) {
		uint64_t e1 = rd64(img + l1_off + li * 8);
		uint64_t first = li * l2e;
		if (!e1) {
			for (uint64_t c = first; c < first + l2e && c < vcl; c++) {
				uint64_t lo = c * cs, hi = lo + cs < m->size ? lo + cs : m->size;
				size_t x = fs_extent_map_find(m, lo);
				cr_assert(x == m->n || m->v[x].off >= hi,
					"cluster %llu has data but no L2 table", (unsigned long long)c);
			}
			continue;
		}
		cr_assert(e1 & FS_QCOW2_OFLAG_COPIED, "L1[%llu] lacks QCOW_OFLAG_COPIED",
			(unsigned long long)li);
		uint64_t l2 = e1 & 0x00fffffffffffe00ull;
		cr_assert_eq(e1 & ~(0x00fffffffffffe00ull | FS_QCOW2_OFLAG_COPIED), 0,
			"L1[%llu] reserved bits", (unsigned long long)li);
		USE(l2, 1);
		for (uint64_t j = 0; j < l2e; j++) {
			uint64_t c = first + j;
			uint64_t e2 = rd64(img + l2 + j * 8);
			uint64_t lo = c * cs, hi = lo + cs < m->size ? lo + cs : m->size;
			if (c >= vcl) {
				cr_assert_eq(e2, 0, "L2 entry past the end of the disk");
				continue;
			}
			if (!e2) {
				size_t x = fs_extent_map_find(m, lo);
				cr_assert(x == m->n || m->v[x].off >= hi,
					"cluster %llu has data but is unallocated", (unsigned long long)c);
				continue;
			}
			cr_assert(e2 & FS_QCOW2_OFLAG_COPIED, "L2 entry of cluster %llu lacks "
				"QCOW_OFLAG_COPIED", (unsigned long long)c);
			cr_assert_eq(e2 & ~(0x00fffffffffffe00ull | FS_QCOW2_OFLAG_COPIED), 0,
				"L2 entry of cluster %llu: reserved or compressed bits", (unsigned long long)c);
			uint64_t d = e2 & 0x00fffffffffffe00ull;
			USE(d, 1);
			expected(m, lo, cs, want);
			cr_assert_eq(memcmp(img + d, want, cs), 0, "cluster %llu: data differs",
				(unsigned long long)c);
		}
	}
	/* every cluster used exactly once, and its refcount says 1 */
	for (uint64_t c = 0; c < nrb * (cs / 2); c++) {
		uint64_t rb = rd64(img + rt_off + (c / (cs / 2)) * 8);
		uint16_t rc = rd16(img + rb + (c % (cs / 2)) * 2);
		if (c < ncl) {
			cr_assert_eq(use[c], 1, "cluster %llu is used %u times", (unsigned long long)c, use[c]);
			cr_assert_eq(rc, 1, "cluster %llu has refcount %u", (unsigned long long)c, rc);
		} else {
			cr_assert_eq(rc, 0, "refcount past the end of the file");
		}
	}
#undef USE
	free(use);
	free(want);
}

static void plan_build_check(const fs_extent_map *m, unsigned int bits)
{
	fs_qcow2_layout L;
	int r = fs_qcow2_plan(&L, m, bits);
	cr_assert_eq(r, 0, "plan: %s", fastsnap_error_last());
	unsigned char *img = build_image(&L, m);
	check_image(img, L.length, m, L.cluster_bits);
	free(img);
	fs_qcow2_layout_free(&L);
}

Test(qcow2, cluster_size_validation)
{
	cr_assert_eq(fs_qcow2_cluster_bits(0), 16);
	cr_assert_eq(fs_qcow2_cluster_bits(512), 9);
	cr_assert_eq(fs_qcow2_cluster_bits(65536), 16);
	cr_assert_eq(fs_qcow2_cluster_bits(2u << 20), 21);
	cr_assert_eq(fs_qcow2_cluster_bits(256), FASTSNAP_EINVAL);
	cr_assert_eq(fs_qcow2_cluster_bits(4u << 20), FASTSNAP_EINVAL);
	cr_assert_eq(fs_qcow2_cluster_bits(65535), FASTSNAP_EINVAL);
	fs_qcow2_layout L;
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 1 << 20;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 8), FASTSNAP_EINVAL);
	fs_qcow2_layout_free(&L);
	cr_assert_eq(fs_qcow2_plan(&L, &m, 22), FASTSNAP_EINVAL);
	fs_qcow2_layout_free(&L);
}

Test(qcow2, header_bytes)
{
	const uint64_t ext[] = { 0, 100, 3ull << 20, 70000 };
	fs_extent_map m;
	map_of(&m, 10ull << 30, ext, 2);
	fs_qcow2_layout L;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 16), 0, "%s", fastsnap_error_last());
	unsigned char *c0 = calloc(1, L.cluster_size);
	fs_qcow2_meta_gen g;
	fs_qcow2_meta_begin(&g);
	cr_assert_eq(fs_qcow2_meta_next(&L, &g, c0), 1);
	static const unsigned char want[] = {
		'Q', 'F', 'I', 0xfb, 0, 0, 0, 3,                    /* magic, version */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                 /* no backing file */
		0, 0, 0, 16,                                        /* cluster_bits */
		0, 0, 0, 2, 0x80, 0, 0, 0,                          /* size: 10 GiB */
		0, 0, 0, 0,                                         /* no encryption */
		0, 0, 0, 20,                                        /* l1_size: 10 GiB / 512 MiB */
		0, 0, 0, 0, 0, 1, 0, 0,                             /* L1 at cluster 1 */
		0, 0, 0, 0, 0, 2, 0, 0,                             /* refcount table at cluster 2 */
		0, 0, 0, 1,                                         /* one refcount table cluster */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                 /* no snapshots */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* incompatible, compatible */
		0, 0, 0, 0, 0, 0, 0, 0,                             /* autoclear */
		0, 0, 0, 4,                                         /* refcount_order */
		0, 0, 0, 112,                                       /* header_length */
		0, 0, 0, 0, 0, 0, 0, 0,                             /* compression_type zlib, pad */
		0, 0, 0, 0, 0, 0, 0, 0,                             /* end of extensions */
	};
	cr_assert_eq(sizeof(want), 120);
	cr_assert_eq(memcmp(c0, want, sizeof(want)), 0);
	for (uint64_t i = sizeof(want); i < L.cluster_size; i++)
		cr_assert_eq(c0[i], 0);
	/* 1 header + 1 L1 + 1 RT + 1 RB + 1 L2 + 3 data (cluster 0, clusters 48 and 49) */
	cr_assert_eq(L.data_clusters, 3);
	cr_assert_eq(L.l2_clusters, 1);
	cr_assert_eq(L.rb_clusters, 1);
	cr_assert_eq(L.total_clusters, 8);
	cr_assert_eq(L.length, 8 * 65536);
	cr_assert_eq(L.data_offset, 5 * 65536);
	free(c0);
	fs_qcow2_layout_free(&L);
	fs_extent_map_free(&m);
}

Test(qcow2, empty_disk_and_zero_size)
{
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 1ull << 30;
	fs_qcow2_layout L;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 16), 0);
	cr_assert_eq(L.data_clusters, 0);
	cr_assert_eq(L.l2_clusters, 0);
	cr_assert_eq(L.l1_size, 2);
	cr_assert_eq(L.total_clusters, 4);           /* header, L1, RT, RB */
	fs_qcow2_layout_free(&L);
	plan_build_check(&m, 16);
	m.size = 0;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 16), 0);
	cr_assert_eq(L.l1_size, 0);
	cr_assert_eq(L.l1_clusters, 0);
	cr_assert_eq(L.total_clusters, 3);           /* header, RT, RB */
	fs_qcow2_layout_free(&L);
	plan_build_check(&m, 16);
}

Test(qcow2, l1_size_is_ceil_of_size_over_l2_coverage)
{
	static const struct { uint64_t size; unsigned bits; uint64_t l1; } t[] = {
		{ 1, 16, 1 }, { 512ull << 20, 16, 1 }, { (512ull << 20) + 1, 16, 2 },
		{ 10ull << 30, 16, 20 }, { 1ull << 40, 16, 2048 }, { 32768, 9, 1 }, { 32769, 9, 2 },
		{ 1ull << 40, 21, 2 }, { 3ull << 20, 12, 2 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fs_extent_map m = FS_EXTENT_MAP_INIT;
		m.size = t[i].size;
		fs_qcow2_layout L;
		cr_assert_eq(fs_qcow2_plan(&L, &m, t[i].bits), 0, "%s", fastsnap_error_last());
		cr_assert_eq(L.l1_size, t[i].l1, "size %llu bits %u: l1_size %llu",
			(unsigned long long)t[i].size, t[i].bits, (unsigned long long)L.l1_size);
		cr_assert_eq(L.l1_clusters, (t[i].l1 * 8 + (1ull << t[i].bits) - 1) >> t[i].bits);
		fs_qcow2_layout_free(&L);
	}
	/* over qemu's L1 limit (32 MiB of entries) */
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	m.size = 1ull << 50;
	fs_qcow2_layout L;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 9), FASTSNAP_ETOOLARGE);
	fs_qcow2_layout_free(&L);
}

/* With 512-byte clusters one refcount block counts 256 clusters: a map
 * that makes 254 clusters needs a second block once the blocks and the
 * table count themselves. */
Test(qcow2, refcount_blocks_count_themselves)
{
	uint64_t cs = 512;
	/* header + L1 (1) + L2 (1) + data = 3 + d; with RT 1 and RB 1: 5 + d */
	for (uint64_t d = 248; d <= 256; d++) {
		uint64_t ext[] = { 0, d * cs };
		fs_extent_map m;
		if (d * cs > 32768)
			continue;
		map_of(&m, 32768, ext, 1);  /* exactly one L2 table */
		fs_qcow2_layout L;
		cr_assert_eq(fs_qcow2_plan(&L, &m, 9), 0);
		uint64_t total = 3 + d + L.rt_clusters + L.rb_clusters;
		cr_assert_eq(L.total_clusters, total);
		cr_assert(L.rb_clusters * 256 >= total, "d=%llu", (unsigned long long)d);
		cr_assert((L.rb_clusters - 1) * 256 < total, "d=%llu: one block too many",
			(unsigned long long)d);
		cr_assert_eq(L.rb_clusters, total <= 256 ? 1 : 2, "d=%llu total=%llu",
			(unsigned long long)d, (unsigned long long)total);
		fs_qcow2_layout_free(&L);
		plan_build_check(&m, 9);
		fs_extent_map_free(&m);
	}
}

Test(qcow2, extents_straddling_clusters_and_l2_tables)
{
	/* 4 KiB clusters: one L2 table maps 512 clusters = 2 MiB */
	const uint64_t T = 2ull << 20;
	const uint64_t ext[] = {
		4095, 2,                /* clusters 0 and 1 */
		4096 * 5 + 7, 1,        /* cluster 5 */
		T - 100, 200,           /* last cluster of table 0, first of table 1 */
		3 * T - 4096, 4096,     /* last cluster of table 2 exactly */
		5 * T + 10, T,          /* most of table 5, into table 6 */
		9 * T - 1, 1,           /* the very last byte */
	};
	fs_extent_map m;
	map_of(&m, 9 * T, ext, 6);
	fs_qcow2_layout L;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 12), 0);
	cr_assert_eq(L.nruns, 6);
	cr_assert_eq(L.l2_clusters, 6);  /* tables 0, 1, 2, 5, 6, 8 */
	uint64_t want_l2[] = { 0, 1, 2, 5, 6, 8 };
	for (int i = 0; i < 6; i++)
		cr_assert_eq(L.l2_index[i], want_l2[i]);
	cr_assert_eq(L.data_clusters, 2 + 1 + 2 + 1 + 513 + 1);
	fs_qcow2_layout_free(&L);
	plan_build_check(&m, 12);
	fs_extent_map_free(&m);
}

Test(qcow2, size_not_a_multiple_of_the_cluster)
{
	const uint64_t ext[] = { 0, 1, 100000 - 3, 3 };
	fs_extent_map m;
	map_of(&m, 100000, ext, 2);
	for (unsigned bits = 9; bits <= 21; bits++)
		plan_build_check(&m, bits);
	fs_extent_map_free(&m);
}

Test(qcow2, rejects_unsorted_or_out_of_range_maps)
{
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	fs_extent v[2] = { { 1000, 10 }, { 0, 10 } };
	m.v = v;
	m.n = 2;
	m.size = 4096;
	fs_qcow2_layout L;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 9), FASTSNAP_EINVAL);
	fs_qcow2_layout_free(&L);
	v[1].off = 4090;
	cr_assert_eq(fs_qcow2_plan(&L, &m, 9), FASTSNAP_EINVAL);   /* past the end */
	fs_qcow2_layout_free(&L);
}

/* ---- property runs ---- */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* A random map over a disk of `size` bytes: up to `max_ext` extents of
 * mixed shapes (single bytes, cluster-straddling, long runs, the end). */
static void random_map(fs_extent_map *m, uint64_t *s, uint64_t size, unsigned max_ext,
	uint64_t cs)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	if (!size)
		return;
	unsigned n = (unsigned)rng_below(s, max_ext + 1);
	unsigned shape = (unsigned)rng_below(s, 8);
	if (shape == 0)
		n = 0;                                          /* empty */
	if (shape == 1) {
		fs_extent_map_add(m, 0, size);                  /* full */
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = rng_below(s, size), len;
		switch (rng_below(s, 5)) {
		case 0: len = 1; break;
		case 1: off = off / cs * cs + cs - 1 - rng_below(s, 3); len = 2 + rng_below(s, 5); break;
		case 2: len = 1 + rng_below(s, 4 * cs); break;
		case 3: len = 1 + rng_below(s, size / 4 + 1); break;
		default: off = size - 1 - rng_below(s, 2 * cs < size ? 2 * cs : size); len = size; break;
		}
		fs_extent_map_add(m, off, len);
	}
	if (shape == 2)
		fs_extent_map_add(m, size - 1, 1);              /* one byte at the very end */
	fs_extent_map_normalize(m);
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

Test(qcow2_property, thousand_random_images_read_back)
{
	long runs = env_long("FASTSNAP_QCOW2_IMAGE_RUNS", 1000);
	uint64_t s = 0x51c0ffee;
	for (long i = 0; i < runs; i++) {
		unsigned bits = 9 + (unsigned)rng_below(&s, 5);         /* 512 B .. 8 KiB */
		uint64_t cs = 1ull << bits;
		/* up to ~3 L2 tables' worth, sizes not multiples of the cluster */
		uint64_t span = cs * (cs / 8) * 3;
		if (span > (6ull << 20))
			span = 6ull << 20;
		uint64_t size = rng_below(&s, span + 1);
		fs_extent_map m;
		random_map(&m, &s, size, 12, cs);
		plan_build_check(&m, bits);
		fs_extent_map_free(&m);
	}
}

/* Count the distinct clusters and L2 tables of a map, interval by
 * interval (inclusive cluster ranges), without the planner's code. */
static void brute_counts(const fs_extent_map *m, unsigned bits, uint64_t *ndata, uint64_t *nl2)
{
	uint64_t l2e = (1ull << bits) / 8;
	int have_c = 0, have_t = 0;
	uint64_t last_c = 0, last_t = 0;
	*ndata = *nl2 = 0;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t c0 = m->v[i].off >> bits, c1 = (m->v[i].off + m->v[i].len - 1) >> bits;
		if (have_c && c0 <= last_c)
			c0 = last_c + 1;            /* shares a cluster with the previous extent */
		if (c0 > c1)
			continue;
		*ndata += c1 - c0 + 1;
		last_c = c1;
		have_c = 1;
		uint64_t t0 = c0 / l2e, t1 = c1 / l2e;
		if (have_t && t0 <= last_t)
			t0 = last_t + 1;
		if (t0 <= t1)
			*nl2 += t1 - t0 + 1;
		if (!have_t || t1 > last_t)
			last_t = t1;
		have_t = 1;
	}
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

Test(qcow2_property, million_random_plans_keep_the_invariants)
{
	long runs = env_long("FASTSNAP_QCOW2_PLAN_RUNS", 1000000);
	uint64_t s = 0xfa575a9;
	long planned = 0, too_large = 0;
	for (long i = 0; i < runs; i++) {
		unsigned bits = 9 + (unsigned)rng_below(&s, 13);
		uint64_t cs = 1ull << bits;
		uint64_t size;
		uint64_t kind = rng_below(&s, 1000);
		if (kind < 300)
			size = rng_below(&s, 4 * cs);                   /* a few clusters */
		else if (kind < 700)
			size = rng_below(&s, cs * (cs / 8) * 4);        /* a few L2 tables */
		else if (kind < 999)
			size = rng_below(&s, cs * (cs / 8) * 64);       /* up to 64 L1 entries */
		else
			size = rng_below(&s, 1ull << 62);               /* mostly over qemu's limits */
		fs_extent_map m;
		random_map(&m, &s, size, 6, cs);
		fs_qcow2_layout L;
		int r = fs_qcow2_plan(&L, &m, bits);
		uint64_t l1 = div_up(size % 512 ? size + 512 - size % 512 : size, cs * (cs / 8));
		uint64_t ndata, nl2;
		brute_counts(&m, bits, &ndata, &nl2);
		/* qemu's limits: 32 MiB of L1, 8 MiB of refcount table (so 2^20
		 * refcount blocks of cs/2 refcounts), offsets below 2^56 */
		uint64_t approx = 1 + div_up(l1 * 8, cs) + nl2 + ndata;
		uint64_t limit = (1ull << 20) * (cs / 2);
		if (limit > (1ull << (56 - bits)))
			limit = 1ull << (56 - bits);
		if (l1 * 8 > FS_QCOW2_MAX_L1_BYTES || approx > limit) {
			cr_assert_eq(r, FASTSNAP_ETOOLARGE, "size %llu bits %u: not refused",
				(unsigned long long)size, bits);
			too_large++;
			fs_qcow2_layout_free(&L);
			fs_extent_map_free(&m);
			continue;
		}
		if (r == FASTSNAP_ETOOLARGE && approx * 2 >= limit) {
			too_large++;            /* at the edge: the metadata tips it over */
			fs_qcow2_layout_free(&L);
			fs_extent_map_free(&m);
			continue;
		}
		cr_assert_eq(r, 0, "size %llu bits %u: %s", (unsigned long long)size, bits,
			fastsnap_error_last());
		planned++;
		cr_assert_eq(L.data_clusters, ndata, "size %llu bits %u", (unsigned long long)size, bits);
		cr_assert_eq(L.l2_clusters, nl2);
		cr_assert_eq(L.l1_size, l1);
		cr_assert(L.l1_size * cs * (cs / 8) >= size);
		cr_assert_eq(L.l1_clusters, div_up(l1 * 8, cs));
		uint64_t per = cs / 2;
		cr_assert_eq(L.total_clusters, 1 + L.l1_clusters + L.rt_clusters + L.rb_clusters +
			L.l2_clusters + L.data_clusters);
		cr_assert(L.rb_clusters * per >= L.total_clusters, "refcount blocks do not cover");
		cr_assert(L.rb_clusters >= 1 && (L.rb_clusters - 1) * per < L.total_clusters);
		cr_assert(L.rt_clusters * (cs / 8) >= L.rb_clusters, "refcount table too small");
		cr_assert((L.rt_clusters - 1) * (cs / 8) < L.rb_clusters);
		cr_assert_eq(L.l1_offset, cs);
		cr_assert_eq(L.rt_offset, L.l1_offset + L.l1_clusters * cs);
		cr_assert_eq(L.rb_offset, L.rt_offset + L.rt_clusters * cs);
		cr_assert_eq(L.l2_offset, L.rb_offset + L.rb_clusters * cs);
		cr_assert_eq(L.data_offset, L.l2_offset + L.l2_clusters * cs);
		cr_assert_eq(L.length, L.data_offset + L.data_clusters * cs);
		cr_assert_eq(L.length, L.total_clusters * cs);
		for (size_t k = 1; k < L.nruns; k++)
			cr_assert(L.runs[k].off > L.runs[k - 1].off + L.runs[k - 1].len, "runs not merged");
		for (size_t k = 1; k < L.l2_clusters; k++)
			cr_assert(L.l2_index[k] > L.l2_index[k - 1]);
		if (L.l2_clusters)
			cr_assert(L.l2_index[L.l2_clusters - 1] < L.l1_size);
		fs_qcow2_layout_free(&L);
		fs_extent_map_free(&m);
	}
	cr_assert(planned > runs / 2, "only %ld of %ld maps planned (%ld too large)", planned, runs,
		too_large);
}
