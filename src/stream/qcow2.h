/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/qcow2.h: qcow2 (version 3) written as a stream, in two parts.
 *
 * 1. The layout planner (qcow2.c), a pure function over an allocation map:
 *    it decides where everything goes before the first byte is written and
 *    how long the image is. The image is, cluster by cluster:
 *
 *      cluster 0             header (+ end-of-extensions marker)
 *      l1_offset             L1 table (l1_clusters)
 *      rt_offset             refcount table (rt_clusters)
 *      rb_offset             refcount blocks (rb_clusters), 16-bit refcounts
 *      l2_offset             L2 tables, one per L1 entry in use, in L1 order
 *      data_offset           the allocated clusters, in disk order
 *
 *    Every cluster of the image has refcount 1, so every L1 and L2 entry
 *    carries QCOW_OFLAG_COPIED. Unallocated clusters take no space and read
 *    as zeros (no backing file). The metadata clusters are generated one at
 *    a time (fs_qcow2_meta_next), never the whole of it in memory.
 *
 * 2. The writer (qcow2_writer.c): emits the image front to back as pieces
 *    (pointers into metadata buffers or into the reader's chunks), never
 *    seeking back, so that it is an HTTP body with an exact length.
 */
#ifndef FS_QCOW2_H
#define FS_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "stream/extents.h"
#include "stream/reader.h"

#define FS_QCOW2_MAGIC 0x514649fbu         /* "QFI\xfb" */
#define FS_QCOW2_VERSION 3u
#define FS_QCOW2_HEADER_LENGTH 112u        /* v3 header with compression_type (0: zlib) */
#define FS_QCOW2_REFCOUNT_ORDER 4u         /* 16-bit refcounts */
#define FS_QCOW2_OFLAG_COPIED (1ull << 63) /* refcount is exactly 1 */
#define FS_QCOW2_DEFAULT_CLUSTER_BITS 16u  /* 64 KiB */
#define FS_QCOW2_MIN_CLUSTER_BITS 9u       /* 512 bytes (qemu's limits) */
#define FS_QCOW2_MAX_CLUSTER_BITS 21u      /* 2 MiB */
#define FS_QCOW2_MAX_L1_BYTES (32ull << 20) /* qemu's QCOW_MAX_L1_SIZE */
#define FS_QCOW2_MAX_RT_BYTES (8ull << 20)  /* qemu's QCOW_MAX_REFTABLE_SIZE */

/* The virtual size a qcow2 image of a `size`-byte disk announces. */
static inline uint64_t fs_qcow2_virtual_size(uint64_t size)
{
	return size % 512 ? size + (512 - size % 512) : size;
}

typedef struct {
	uint64_t size;              /* the disk size (bytes of data) */
	uint64_t virtual_size;      /* the header's size: `size` rounded up to 512 bytes, as
	                             * qemu counts whole sectors (the tail reads as zeros) */
	unsigned int cluster_bits;
	uint64_t cluster_size;
	uint64_t l2_entries;        /* entries per L2 table: cluster_size / 8 */
	uint64_t l1_size;           /* L1 entries: ceil(virtual_size / (cluster_size * l2_entries)) */
	/* offsets in bytes, counts in clusters */
	uint64_t l1_offset, l1_clusters;
	uint64_t rt_offset, rt_clusters;
	uint64_t rb_offset, rb_clusters;
	uint64_t l2_offset, l2_clusters;
	uint64_t data_offset, data_clusters;
	uint64_t meta_clusters;     /* everything before the data: data_offset / cluster_size */
	uint64_t total_clusters;
	uint64_t length;            /* bytes in the image: total_clusters * cluster_size */
	/* the allocated clusters, as sorted, merged runs in cluster units */
	fs_extent *runs;
	size_t nruns;
	/* the L1 indexes that have an L2 table, ascending (l2_clusters of them) */
	uint64_t *l2_index;
} fs_qcow2_layout;

/* Is `cluster_size` usable (a power of two, 512 B .. 2 MiB)? Returns its
 * log2 or a negative code. 0 means the default (64 KiB). */
int fs_qcow2_cluster_bits(uint64_t cluster_size);

/* Plan the image for map `m` (sorted, merged extents; m->size is the
 * disk size). Pure: no I/O. Fails (FASTSNAP_ETOOLARGE) when the L1 or
 * refcount table would exceed qemu's limits. Free with
 * fs_qcow2_layout_free() (also after a failure). */
int fs_qcow2_plan(fs_qcow2_layout *L, const fs_extent_map *m, unsigned int cluster_bits);
void fs_qcow2_layout_free(fs_qcow2_layout *L);

/* Sequential generation of the metadata clusters (0 .. meta_clusters-1). */
typedef struct {
	uint64_t next;              /* next cluster to generate */
	size_t run;                 /* L2 generation: first run not before the table */
	uint64_t ord;               /* allocated clusters before runs[run] */
	size_t l1_rank;             /* L1 generation: next l2_index to place */
} fs_qcow2_meta_gen;

void fs_qcow2_meta_begin(fs_qcow2_meta_gen *g);
/* Fill buf (cluster_size bytes) with the next metadata cluster: 1, or 0
 * when every metadata cluster has been generated. */
int fs_qcow2_meta_next(const fs_qcow2_layout *L, fs_qcow2_meta_gen *g, unsigned char *buf);

/* ---- the writer (qcow2_writer.c) ---- */

typedef struct fs_qcow2_writer fs_qcow2_writer;

/* A piece of the image, in order. Release it `refs` times (the count given
 * to fs_qcow2_writer_next) with fs_qcow2_writer_release(token). */
typedef struct {
	const char *data;
	size_t len;
	uint32_t token;
} fs_qcow2_piece;

/* `rd` reads the same disk, over a map whose extents cover exactly the
 * layout's allocated clusters (clipped to the disk size); both are
 * borrowed. `depth` is the reader's depth. */
int fs_qcow2_writer_new(fs_qcow2_writer **out, const fs_qcow2_layout *L, fs_reader *rd,
	unsigned int depth);
/* The next piece: 1, 0 at the end (exactly L->length bytes were handed
 * out), or a negative code (a read error). Called by one thread. */
int fs_qcow2_writer_next(fs_qcow2_writer *w, fs_qcow2_piece *p, unsigned int refs);
/* Thread-safe; any order. */
void fs_qcow2_writer_release(fs_qcow2_writer *w, uint32_t token);
/* Start again from byte 0 (every piece must have been released); rewinds
 * the reader too. */
int fs_qcow2_writer_rewind(fs_qcow2_writer *w);
/* Bytes handed out so far. */
uint64_t fs_qcow2_writer_pos(const fs_qcow2_writer *w);
void fs_qcow2_writer_free(fs_qcow2_writer *w);

#endif
