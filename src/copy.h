/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy.h: copies of an active image into further Glance stores with
 * Glance's copy-image import (fastsnap_copy, and a snapshot's copy_to),
 * waited for with a per-store state in the result (copy.c).
 */
#ifndef FS_COPY_H
#define FS_COPY_H

#include "clients/glance.h"
#include "engine.h"
#include "result.h"

typedef struct {
	const char *const *stores;
	size_t n;
	int all_must_succeed;         /* resolved: 0 or 1 */
	long wait_s;                  /* resolved: > 0 wait this long; < 0 do not wait */
	void (*cb)(const char *store, const char *state, void *payload);
	void *payload;
	const fastsnap_cancel *cancel;  /* ends the wait, or NULL */
} fs_copy_req;

/* Ask Glance to copy image `id` into req->stores and wait: res gets one
 * entry per store (done, failed, timeout, or copying when not waited for)
 * and the image's stores. Returns 0 when Glance took the request, else its
 * error (every store "failed" with that message). */
int fs_copy_run(fastsnap_result *res, fs_glance *g, const fs_logger *lg, const char *id,
	const fs_copy_req *req);

/* A snapshot's copies: its copy_to, else [glance] copy_to; its
 * copy_all_must_succeed, else [glance] copy_all_must_succeed, else true;
 * its copy_wait_s, else 600 s. Does nothing when no store is named. A
 * failed copy is logged and left in the result: the snapshot stands. */
void fs_copy_after_snapshot(fastsnap_result *res, fs_glance *g, fastsnap_engine *e,
	const fastsnap_snapshot_opts *o);

#endif
