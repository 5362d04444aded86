/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan/plan.h: the plan of a snapshot: which source, which store (policy),
 * which path (direct or stream) and why. Made before anything is created;
 * a bad source or an unknown store fails here.
 */
#ifndef FS_PLAN_H
#define FS_PLAN_H

#include "clients/ceph.h"
#include "clients/glance.h"
#include "clients/rbd.h"
#include "policy/store_policy.h"

typedef enum { FS_SRC_RBD = 0, FS_SRC_FILE = 1 } fs_src_kind;

typedef struct {
	fs_src_kind kind;
	char *pool;              /* RBD source */
	char *image;
	char *file;              /* file source */
	uint64_t size;
	fs_disk_info disk;       /* RBD source */

	int multistore;          /* Glance lists stores */
	fs_store_set stores;
	fs_image *base;          /* the base image, NULL if none or gone */
	fs_policy_out policy;    /* store, and the direct feasibility */

	fastsnap_path path;
	fastsnap_flatten_mode flatten;
	int clone_format;        /* 1 (sync, deferred) or 2 (none) */
	int flatten_for_depth;   /* none: the depth cap is reached, flatten */
	char *target_pool;       /* direct: the store's pool */
	char *reason;            /* why this store and this path */
	const char *disk_format; /* "raw" or "qcow2" (static) */
} fs_plan;

/* The checks of the request alone (no Ceph, no Glance): the first thing
 * fs_plan_make does, and what a run checks before its speculative
 * snapshot. */
int fs_plan_check_request(const fastsnap_snapshot_opts *o);
int fs_plan_make(fs_plan *out, fs_ceph *c, fs_glance *g, const fs_settings *s,
	const fastsnap_snapshot_opts *o);
void fs_plan_free(fs_plan *p);
/* Where a run of this plan keeps its heartbeat ("pool/image": the clone
 * `id` on the direct path, the disk on the streamed path), or NULL for a
 * file. Caller frees. */
char *fs_plan_heartbeat_at(const fs_plan *p, const char *id);
const char *fs_flatten_name(fastsnap_flatten_mode m);

#endif
