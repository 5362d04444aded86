/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/zero_scan.h: refining an allocation map by reading it: the
 * clusters that read as all zeros are dropped. For qcow2 from RBD, where
 * librbd's exact map says only "object written from byte 0 up to its
 * highest written byte" (docs/streaming.md), this finds the clusters that
 * really hold data, at the cost of reading the map's bytes once before the
 * upload starts (the layout must be known before the first byte).
 */
#ifndef FS_ZERO_SCAN_H
#define FS_ZERO_SCAN_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/common.h"
#include "stream/extents.h"
#include "stream/reader.h"

/* Does buf[0..len) hold only zero bytes? */
int fs_all_zero(const char *buf, size_t len);

/* Read every allocated byte of `m` (whose extents are whole clusters,
 * clipped to m->size) from the source in `ro` (ro->map and ro->read_size
 * are ignored) and drop the clusters that are all zeros. `adaptive`: once
 * a twentieth of the mapped bytes is scanned, stop (keeping the rest of
 * the map as it is) if fewer than an eighth of them were zero clusters, so
 * that a data-heavy disk is not read twice. `cancel` may be NULL. Sets
 * *scanned to the bytes read. */
int fs_extent_map_drop_zero_clusters(fs_extent_map *m, const fs_reader_opts *ro, uint64_t cluster,
	int adaptive, atomic_int *cancel, uint64_t *scanned);

#endif
