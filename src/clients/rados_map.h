/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/rados_map.h: where RADOS objects hold data, without reading it:
 * the OSD's extent map of each object (librados C++ IoCtx::mapext, the
 * OSD's MAPEXT op: BlueStore answers with its allocated extents, at its
 * allocation unit or finer), read at a snapshot, for a list of objects
 * named "<prefix>.%016llx" (RBD data objects). librados' C API has no such
 * call, so rados_map.cc is a thin C++ unit behind this C interface, built
 * where librados' C++ headers are (libradospp-dev); elsewhere rados_map.c
 * answers "not available" and the caller maps whole objects
 * (docs/streaming.md, "The map from RADOS").
 *
 * Plain C types only: this header is included from C and from C++.
 */
#ifndef FS_RADOS_MAP_H
#define FS_RADOS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	rados_ioctx_t io;           /* the objects' pool (and namespace); not changed */
	const char *prefix;         /* object name prefix, e.g. "rbd_data.<image id>" */
	uint64_t snap_id;           /* read at this snapshot (LIBRADOS_SNAP_HEAD: the head) */
	uint64_t object_size;       /* bytes asked for per object */
	unsigned int threads;       /* requests in flight (0: 8) */
} fs_rados_map_req;

/* Called once per extent of objects[i], in order of i then offset, on the
 * calling thread; a missing object calls nothing. Non-zero stops the map
 * (its value is returned). */
typedef int (*fs_rados_extent_cb)(void *ctx, size_t i, uint64_t off, uint64_t len);

/* 1 when this build can map objects (the C++ unit is in), else 0. */
int fs_rados_map_available(void);

/* Map objects[0..n). Memory: the extents of at most 128 objects at a
 * time. Returns 0, a callback's non-zero value, or a negative errno from
 * RADOS (-EPERM/-EACCES: no read cap; -EOPNOTSUPP: an erasure-coded pool,
 * or a build without the C++ unit). Sets no fastsnap error (the caller
 * words it). */
int fs_rados_map_objects(const fs_rados_map_req *q, const uint64_t *objects, size_t n,
	fs_rados_extent_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
