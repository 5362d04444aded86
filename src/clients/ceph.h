/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/ceph.h: a connection to one Ceph cluster (librados), identified
 * by its fsid. An object the engine holds, not a process-wide singleton,
 * so that several clusters can be used side by side.
 */
#ifndef FS_CEPH_H
#define FS_CEPH_H

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "core/common.h"

typedef struct fs_ceph fs_ceph;

/* Connect as client.<user> with conf and keyring (either may be NULL).
 * `op_timeout_s` (> 0) bounds every mon and OSD operation: a dead OSD
 * gives ETIMEDOUT instead of a hang; `connect_timeout_ms` bounds the
 * connection to the mons (0: 15 s). */
int fs_ceph_connect(fs_ceph **out, const char *conf, const char *user, const char *keyring,
	long op_timeout_s, long connect_timeout_ms, const fs_logger *lg);
void fs_ceph_close(fs_ceph *c);
const char *fs_ceph_fsid(const fs_ceph *c);
/* Open an I/O context on a pool ("pool" or "pool/namespace" is not supported). */
int fs_ceph_ioctx(rados_ioctx_t *out, fs_ceph *c, const char *pool);
/* The rados handle itself (for bench/test code). */
rados_t fs_ceph_handle(fs_ceph *c);

/* What the connection was made with, for a helper process that connects
 * the same way (clients/flattener.h). Valid while `c` is. */
typedef struct {
	const char *conf, *user, *keyring;
	long op_timeout_s, connect_timeout_ms;
} fs_ceph_params;
void fs_ceph_params_get(const fs_ceph *c, fs_ceph_params *p);

#endif
