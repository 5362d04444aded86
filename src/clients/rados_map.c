/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/rados_map.c: the C fallback of rados_map.h, compiled only where
 * librados' C++ headers are missing (CMake leaves it out otherwise, and
 * builds rados_map.cc): nothing can be mapped, the caller maps whole
 * objects.
 */
#include <errno.h>

#include "clients/rados_map.h"

int fs_rados_map_available(void)
{
	return 0;
}

int fs_rados_map_objects(const fs_rados_map_req *q, const uint64_t *objects, size_t n,
	fs_rados_extent_cb cb, void *ctx)
{
	(void)q;
	(void)objects;
	(void)n;
	(void)cb;
	(void)ctx;
	return -EOPNOTSUPP;
}
