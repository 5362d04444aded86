/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/qcow2.c: the qcow2 layout planner and the metadata generator
 * (qcow2.h). Pure functions of an allocation map: no I/O, no threads.
 * On-disk format: qemu's docs/interop/qcow2.txt (big-endian fields).
 */
#include <stdlib.h>
#include <string.h>

#include "stream/qcow2.h"

static void be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void be32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void be64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

int fs_qcow2_cluster_bits(uint64_t cluster_size)
{
	if (cluster_size == 0)
		return (int)FS_QCOW2_DEFAULT_CLUSTER_BITS;
	for (unsigned int b = FS_QCOW2_MIN_CLUSTER_BITS; b <= FS_QCOW2_MAX_CLUSTER_BITS; b++)
		if (cluster_size == 1ull << b)
			return (int)b;
	return fs_err(FASTSNAP_EINVAL, "qcow2 cluster size %llu: must be a power of two from "
		"512 bytes to 2 MiB", (unsigned long long)cluster_size);
}

/* The map's extents as merged runs of whole clusters. */
static int plan_runs(fs_qcow2_layout *L, const fs_extent_map *m)
{
	uint64_t prev_end = 0;
	if (m->n && !(L->runs = malloc(m->n * sizeof(*L->runs))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the qcow2 layout");
	for (size_t i = 0; i < m->n; i++) {
		const fs_extent *e = &m->v[i];
		if (e->len == 0)
			continue;
		if (e->off < prev_end || e->off > m->size || e->len > m->size - e->off)
			return fs_err(FASTSNAP_EINVAL, "qcow2: extent %zu [%llu, +%llu) is out of order "
				"or past the end (%llu)", i, (unsigned long long)e->off,
				(unsigned long long)e->len, (unsigned long long)m->size);
		prev_end = e->off + e->len;
		uint64_t c0 = e->off >> L->cluster_bits;
		uint64_t c1 = ((prev_end - 1) >> L->cluster_bits) + 1;
		if (L->nruns && c0 <= L->runs[L->nruns - 1].off + L->runs[L->nruns - 1].len) {
			fs_extent *r = &L->runs[L->nruns - 1];
			if (c1 > r->off + r->len)
				r->len = c1 - r->off;
			continue;
		}
		L->runs[L->nruns].off = c0;
		L->runs[L->nruns].len = c1 - c0;
		L->nruns++;
	}
	for (size_t i = 0; i < L->nruns; i++)
		L->data_clusters += L->runs[i].len;
	return 0;
}

/* The L1 entries that need an L2 table: counted, then listed. */
static int plan_l2(fs_qcow2_layout *L)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t n = 0, last = 0;
		for (size_t i = 0; i < L->nruns; i++) {
			uint64_t first = L->runs[i].off / L->l2_entries;
			uint64_t end = (L->runs[i].off + L->runs[i].len - 1) / L->l2_entries + 1;
			if (n && first < last)
				first = last;           /* shares a table with the previous run */
			for (uint64_t li = first; pass && li < end; li++)
				L->l2_index[n + (li - first)] = li;
			if (first < end) {
				n += end - first;
				last = end;
			}
		}
		if (pass == 0 && n && !(L->l2_index = malloc(n * sizeof(*L->l2_index))))
			return fs_err(FASTSNAP_ENOMEM, "out of memory for the qcow2 layout");
		L->l2_clusters = n;
	}
	return 0;
}

int fs_qcow2_plan(fs_qcow2_layout *L, const fs_extent_map *m, unsigned int cluster_bits)
{
	memset(L, 0, sizeof(*L));
	if (cluster_bits == 0)
		cluster_bits = FS_QCOW2_DEFAULT_CLUSTER_BITS;
	if (cluster_bits < FS_QCOW2_MIN_CLUSTER_BITS || cluster_bits > FS_QCOW2_MAX_CLUSTER_BITS)
		return fs_err(FASTSNAP_EINVAL, "qcow2: cluster_bits %u is outside %u..%u", cluster_bits,
			FS_QCOW2_MIN_CLUSTER_BITS, FS_QCOW2_MAX_CLUSTER_BITS);
	if (m->size > (1ull << 62))
		return fs_err(FASTSNAP_ETOOLARGE, "qcow2: a %llu-byte disk is too large",
			(unsigned long long)m->size);
	L->size = m->size;
	L->virtual_size = fs_qcow2_virtual_size(m->size);
	L->cluster_bits = cluster_bits;
	L->cluster_size = 1ull << cluster_bits;
	L->l2_entries = L->cluster_size / 8;
	uint64_t cs = L->cluster_size;
	/* one L2 table maps l2_entries clusters */
	L->l1_size = div_up(L->virtual_size, cs * L->l2_entries);
	if (L->l1_size * 8 > FS_QCOW2_MAX_L1_BYTES)
		return fs_err(FASTSNAP_ETOOLARGE, "qcow2: a %llu-byte disk needs %llu L1 entries with "
			"%llu-byte clusters, over qemu's limit; use larger clusters",
			(unsigned long long)m->size, (unsigned long long)L->l1_size,
			(unsigned long long)cs);
	L->l1_clusters = div_up(L->l1_size * 8, cs);
	int r = plan_runs(L, m);
	if (r == 0)
		r = plan_l2(L);
	if (r < 0)
		return r;

	/* The refcount blocks and table count themselves: grow both until
	 * they cover every cluster, theirs included. Monotone, so it ends. */
	uint64_t fixed = 1 + L->l1_clusters + L->l2_clusters + L->data_clusters;
	uint64_t per_block = cs * 8 / (1u << FS_QCOW2_REFCOUNT_ORDER);   /* refcounts per block */
	uint64_t rt = 0, rb = 0;
	for (int i = 0;; i++) {
		uint64_t nrb = div_up(fixed + rt + rb, per_block);
		uint64_t nrt = div_up(nrb * 8, cs);
		if (nrb == rb && nrt == rt)
			break;
		if (i > 64)
			return fs_err(FASTSNAP_ERROR, "qcow2: refcount sizing did not settle");
		rb = nrb;
		rt = nrt;
	}
	if (rt * cs > FS_QCOW2_MAX_RT_BYTES)
		return fs_err(FASTSNAP_ETOOLARGE, "qcow2: the refcount table would be %llu bytes, over "
			"qemu's limit; use larger clusters", (unsigned long long)(rt * cs));
	L->rt_clusters = rt;
	L->rb_clusters = rb;
	L->l1_offset = cs;
	L->rt_offset = L->l1_offset + L->l1_clusters * cs;
	L->rb_offset = L->rt_offset + rt * cs;
	L->l2_offset = L->rb_offset + rb * cs;
	L->data_offset = L->l2_offset + L->l2_clusters * cs;
	L->meta_clusters = L->data_offset / cs;
	L->total_clusters = fixed + rt + rb;
	if (L->total_clusters > (1ull << (56 - cluster_bits)))
		return fs_err(FASTSNAP_ETOOLARGE, "qcow2: the image would be over 2^56 bytes");
	L->length = L->total_clusters * cs;
	return 0;
}

void fs_qcow2_layout_free(fs_qcow2_layout *L)
{
	free(L->runs);
	free(L->l2_index);
	L->runs = NULL;
	L->l2_index = NULL;
	L->nruns = 0;
	L->l2_clusters = 0;
}

void fs_qcow2_meta_begin(fs_qcow2_meta_gen *g)
{
	memset(g, 0, sizeof(*g));
}

static void gen_header(const fs_qcow2_layout *L, unsigned char *b)
{
	be32(b + 0, FS_QCOW2_MAGIC);
	be32(b + 4, FS_QCOW2_VERSION);
	be64(b + 8, 0);                         /* backing_file_offset: none */
	be32(b + 16, 0);                        /* backing_file_size */
	be32(b + 20, L->cluster_bits);
	be64(b + 24, L->virtual_size);
	be32(b + 32, 0);                        /* crypt_method: none */
	be32(b + 36, (uint32_t)L->l1_size);
	be64(b + 40, L->l1_offset);
	be64(b + 48, L->rt_offset);
	be32(b + 56, (uint32_t)L->rt_clusters);
	be32(b + 60, 0);                        /* nb_snapshots */
	be64(b + 64, 0);                        /* snapshots_offset */
	be64(b + 72, 0);                        /* incompatible_features */
	be64(b + 80, 0);                        /* compatible_features */
	be64(b + 88, 0);                        /* autoclear_features */
	be32(b + 96, FS_QCOW2_REFCOUNT_ORDER);
	be32(b + 100, FS_QCOW2_HEADER_LENGTH);
	b[104] = 0;                             /* compression_type: zlib; 105..111 padding */
	be32(b + FS_QCOW2_HEADER_LENGTH, 0);    /* end of header extensions */
	be32(b + FS_QCOW2_HEADER_LENGTH + 4, 0);
}

/* L1 cluster j: entry e points at L2 table rank(e). */
static void gen_l1(const fs_qcow2_layout *L, fs_qcow2_meta_gen *g, uint64_t j, unsigned char *b)
{
	uint64_t first = j * L->l2_entries, end = first + L->l2_entries;
	while (g->l1_rank < L->l2_clusters && L->l2_index[g->l1_rank] < end) {
		uint64_t e = L->l2_index[g->l1_rank];
		be64(b + (e - first) * 8,
			(L->l2_offset + (uint64_t)g->l1_rank * L->cluster_size) | FS_QCOW2_OFLAG_COPIED);
		g->l1_rank++;
	}
}

/* Refcount table cluster j: entry k points at refcount block k. */
static void gen_rt(const fs_qcow2_layout *L, uint64_t j, unsigned char *b)
{
	uint64_t first = j * L->l2_entries;
	for (uint64_t i = 0; i < L->l2_entries && first + i < L->rb_clusters; i++)
		be64(b + i * 8, L->rb_offset + (first + i) * L->cluster_size);
}

/* Refcount block j: 1 for every cluster of the image, 0 past its end. */
static void gen_rb(const fs_qcow2_layout *L, uint64_t j, unsigned char *b)
{
	uint64_t per = L->cluster_size / 2, first = j * per;
	for (uint64_t i = 0; i < per && first + i < L->total_clusters; i++)
		be16(b + i * 2, 1);
}

/* L2 table t: the data offset of every allocated cluster it maps. */
static void gen_l2(const fs_qcow2_layout *L, fs_qcow2_meta_gen *g, uint64_t t, unsigned char *b)
{
	uint64_t lo = L->l2_index[t] * L->l2_entries, hi = lo + L->l2_entries;
	while (g->run < L->nruns && L->runs[g->run].off + L->runs[g->run].len <= lo) {
		g->ord += L->runs[g->run].len;
		g->run++;
	}
	uint64_t ord = g->ord;
	for (size_t i = g->run; i < L->nruns && L->runs[i].off < hi; i++) {
		uint64_t a = L->runs[i].off > lo ? L->runs[i].off : lo;
		uint64_t z = L->runs[i].off + L->runs[i].len < hi ? L->runs[i].off + L->runs[i].len : hi;
		for (uint64_t c = a; c < z; c++) {
			uint64_t data = L->data_offset + (ord + (c - L->runs[i].off)) * L->cluster_size;
			be64(b + (c - lo) * 8, data | FS_QCOW2_OFLAG_COPIED);
		}
		ord += L->runs[i].len;
	}
}

int fs_qcow2_meta_next(const fs_qcow2_layout *L, fs_qcow2_meta_gen *g, unsigned char *buf)
{
	if (g->next >= L->meta_clusters)
		return 0;
	memset(buf, 0, L->cluster_size);
	uint64_t k = g->next++;
	if (k == 0) {
		gen_header(L, buf);
		return 1;
	}
	k -= 1;
	if (k < L->l1_clusters) {
		gen_l1(L, g, k, buf);
		return 1;
	}
	k -= L->l1_clusters;
	if (k < L->rt_clusters) {
		gen_rt(L, k, buf);
		return 1;
	}
	k -= L->rt_clusters;
	if (k < L->rb_clusters) {
		gen_rb(L, k, buf);
		return 1;
	}
	k -= L->rb_clusters;
	gen_l2(L, g, k, buf);
	return 1;
}
