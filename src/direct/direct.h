/* SPDX-License-Identifier: Apache-2.0 */
/*
 * direct/direct.h: the direct path, the peer of fs_stream_run. From the
 * captured snapshot (capture/) it protects it (clone format 1), clones it
 * into the store's pool with explicit features and owner tags, flattens by
 * mode, removes the temporary snapshot when it may, creates and protects
 * `snap`, and hands rbd://fsid/pool/image/snap to the register step. A
 * location Glance rejects on an unflattened clone is flattened and
 * registered again (policy/fallback.h). Everything it makes is on the
 * run's undo stack; `registered` is called once Glance holds the clone.
 */
#ifndef FS_DIRECT_H
#define FS_DIRECT_H

#include "capture/capture.h"
#include "clients/glance.h"
#include "plan/plan.h"

typedef struct {
	fs_ceph *c;
	fs_glance *g;
	fs_steps *st;
	fs_undo *u;
	fs_capture *cap;          /* the disk's temporary snapshot (taken) */
	const fs_plan *plan;
	const fs_owner *owner;
	const char *image_id;     /* the queued Glance image, and the clone's name */
	long heartbeat_s;
	const char *flatten_helper; /* clients/flattener.h; NULL or "": flatten here */
	const fs_logger *log;
	int ceph_only;            /* Nova's mode: the location is made, not registered */
	/* Glance holds the clone and the image is active (Ceph-only: `snap`
	 * is made and the location ready): the caller moves its Glance delete
	 * to the top of the undo stack. Returns 0 or an error. */
	int (*registered)(void *ctx);
	void *ctx;
} fs_direct_req;

typedef struct {
	char *location;           /* rbd:// URL registered */
	char *note;               /* what changed on the way ("flattened and
	                           * registered again because ..."), or NULL */
	int flattened;
	int registered;
} fs_direct_res;

/* Returns 0, or the error of the failed step with res->registered telling
 * whether Glance already held the clone (fs_fallback_decide's input). */
int fs_direct_run(const fs_direct_req *req, fs_direct_res *res);
void fs_direct_res_free(fs_direct_res *res);

#endif
