/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/extents.h: the allocation map of a source: which byte ranges hold
 * data. Built from RBD (rbd_diff_iterate2, parent included, whole objects,
 * or exact and rounded to clusters for qcow2) or from a file
 * (SEEK_DATA/SEEK_HOLE). Everything outside is a hole and reads as zeros.
 * Shared by the raw upload and the qcow2 writer.
 */
#ifndef FS_EXTENTS_H
#define FS_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

#include <rbd/librbd.h>

#include "core/common.h"

typedef struct {
	uint64_t off;
	uint64_t len;
} fs_extent;

typedef struct {
	fs_extent *v;             /* sorted, non-overlapping, non-adjacent */
	size_t n;
	size_t cap;
	uint64_t size;            /* the source size: extents end at or before it */
	uint64_t allocated;       /* sum of the extents' lengths */
} fs_extent_map;

#define FS_EXTENT_MAP_INIT { NULL, 0, 0, 0, 0 }

/* Add a range (any order, overlaps allowed; clipped to m->size). Call
 * fs_extent_map_normalize() after adding out of order. */
int fs_extent_map_add(fs_extent_map *m, uint64_t off, uint64_t len);
/* Sort, merge overlapping and adjacent ranges, recompute `allocated`. */
void fs_extent_map_normalize(fs_extent_map *m);
/* Everything allocated (a source that cannot report holes). */
int fs_extent_map_full(fs_extent_map *m, uint64_t size);
/* From a file or block device; falls back to "all data" when the file
 * system cannot report holes. */
int fs_extent_map_from_fd(fs_extent_map *m, int fd, uint64_t size);
/* From an RBD image opened at a snapshot: allocated objects, including
 * what a clone's parent holds. */
int fs_extent_map_from_rbd(fs_extent_map *m, rbd_image_t image, uint64_t size);
/* The same, exact (whole_object off): the written ranges at librbd's own
 * granularity, for the qcow2 writer. Costs more on a large disk (see
 * docs/streaming.md). */
int fs_extent_map_from_rbd_exact(fs_extent_map *m, rbd_image_t image, uint64_t size);
/* Round every extent outward to multiples of `unit` (a power of two),
 * clipped to m->size, and merge (m must be normalized). */
int fs_extent_map_round(fs_extent_map *m, uint64_t unit);
/* Index of the first extent that ends after `off` (m->n if none). */
size_t fs_extent_map_find(const fs_extent_map *m, uint64_t off);
void fs_extent_map_free(fs_extent_map *m);

#endif
