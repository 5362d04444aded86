/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/rbd_map.h: the allocation map of an RBD snapshot at the OSDs'
 * allocation unit (4 KiB on BlueStore), built from RADOS without reading
 * the data (clients/rados_map.h): the objects the image has at the
 * snapshot (librbd's whole-object diff: the object map with fast-diff,
 * else librbd lists them), each object's extents (MAPEXT at the snapshot),
 * mapped back to image offsets through the image's striping; on a clone,
 * within the parent overlap, the parent's extents at the parent snapshot
 * (recursively) wherever the child has no object. When it cannot (no C++
 * unit in this build, no read cap, an erasure-coded data pool, a
 * migration) it falls back to librbd's map (whole objects from byte 0 to
 * the highest written byte) and says why. docs/streaming.md, "The map from
 * RADOS".
 */
#ifndef FS_RBD_MAP_H
#define FS_RBD_MAP_H

#include <stdint.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "core/common.h"
#include "stream/extents.h"

typedef struct {
	int exact;                  /* 1: from RADOS; 0: librbd's map (the fallback) */
	int coarse;                 /* exact, but every mapped object came back as one
	                             * extent from byte 0 (memstore, or objects written
	                             * whole): a zero scan may still pay */
	char why[256];              /* the fallback's reason ("" when exact) */
	uint64_t objects;           /* objects mapped (child and parents) */
	uint64_t parent_objects;    /* of which in parents */
	double seconds;
} fs_rbd_map_info;

/* Map `image` (opened read-only at snapshot `snap` of an image in the pool
 * of `io`) over [0, size), extents rounded out to `unit` (a power of two,
 * e.g. the qcow2 cluster; 1 for none). On a failure that the fallback
 * covers, *info says why and the map is librbd's exact one (as
 * fs_extent_map_from_rbd_exact); other failures return a code. */
int fs_rbd_map_build(fs_extent_map *m, rbd_image_t image, rados_ioctx_t io, const char *snap,
	uint64_t size, uint64_t unit, fs_rbd_map_info *info);

#endif
