/* SPDX-License-Identifier: Apache-2.0 */
/*
 * direct/direct.c: the direct path's sequence (see direct.h). Each step is
 * a small helper; fs_direct_run only orders them by flatten mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup/heartbeat.h"
#include "clients/flattener.h"
#include "clients/rbd.h"
#include "direct/direct.h"
#include "core/rbd_url.h"
#include "policy/fallback.h"
#include "register/register.h"

typedef struct {
	const fs_direct_req *q;
	fs_direct_res *res;
	fs_heartbeat *hb;
	fs_rbd_image clone;   /* open from its creation to the end of the run,
	                       * but for a flatten in the helper */
	fs_flattener *fl;     /* the flatten helper, started early; or NULL */
	int fl_started;
} direct_run;

static int protect(direct_run *d)
{
	fs_capture *cap = d->q->cap;
	int rc = fs_step_begin(d->q->st, FASTSNAP_STEP_PROTECT);
	if (rc == 0)
		rc = fs_rbd_image_snap_protect(&cap->disk, cap->snap);
	return rc < 0 ? rc : fs_step_end(d->q->st, FASTSNAP_STEP_PROTECT);
}

/* The clone's owner tags, one write each, before the step ends: gc knows
 * a clone by them, whenever the run is killed. */
static int write_tags(direct_run *d)
{
	const fs_direct_req *q = d->q;
	const fs_plan *pl = q->plan;
	char *owner = fs_owner_format(q->owner);
	if (!owner)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	/* A depth-capped none is flattened like sync: the tag says what it is.
	 * The heartbeat's thread writes fastsnap.heartbeat, off this path. */
	const char *mode = fs_flatten_name(pl->flatten_for_depth ? FASTSNAP_FLATTEN_SYNC : pl->flatten);
	const char *mk[] = { FS_META_OWNER, FS_META_IMAGE_ID, FS_META_FLATTEN };
	const char *mv[] = { owner, q->image_id, mode };
	int rc = fs_rbd_image_tag(&d->clone, mk, mv, sizeof(mk) / sizeof(mk[0]));
	free(owner);
	/* librbd copies the parent's metadata into a clone: the disk's run
	 * tags are not the clone's (nor, later, its children's). Every one of
	 * them: another run of the same disk (a second thread of this process,
	 * another process) has its own tag there, and a copy on this clone
	 * would make a finished image look like that run's for gc. */
	int removed = 0;
	if (rc == 0 && fs_rbd_image_untag_prefix(&d->clone, FS_META_RUN_PREFIX, &removed) < 0) {
		fs_log(q->log, FASTSNAP_LOG_WARN, "%s", fastsnap_error_last());
		fastsnap_error_clear();
	}
	return rc;
}

static int clone_disk(direct_run *d)
{
	const fs_direct_req *q = d->q;
	const fs_plan *p = q->plan;
	int rc = fs_step_begin(q->st, FASTSNAP_STEP_CLONE);
	if (rc < 0)
		return rc;
	rc = fs_rbd_clone(&d->clone, &q->cap->disk, q->cap->snap, q->c, p->target_pool, q->image_id,
		p->clone_format);
	/* An image of that name that was there before is not ours to remove. */
	if (rc == FASTSNAP_ECONFLICT)
		return rc;
	/* Otherwise push the undo even on failure: a clone may half exist. */
	int ix = fs_undo_push_rbd_image(q->u, q->c, p->target_pool, q->image_id);
	if (rc < 0 || ix < 0)
		return rc < 0 ? rc : ix;
	if ((rc = write_tags(d)) < 0)
		return rc;
	return fs_step_end(q->st, FASTSNAP_STEP_CLONE);
}

/* Proof of life on the clone, started before the first long step (a
 * flatten) and not before: its writes would contend for the clone's
 * exclusive lock with the steps on the way to active. */
static void start_heartbeat(direct_run *d)
{
	const fs_direct_req *q = d->q;
	if (d->hb)
		return;
	d->hb = fs_heartbeat_start(q->c, q->plan->target_pool, q->image_id, d->clone.img,
		(unsigned int)q->heartbeat_s, q->log);
	if (!d->hb) {
		fs_log(q->log, FASTSNAP_LOG_WARN, "no heartbeat for %s/%s: %s", q->plan->target_pool,
			q->image_id, fastsnap_error_last());
		fastsnap_error_clear();
	}
}

static int flatten_cb(uint64_t done, uint64_t total, void *ctx)
{
	direct_run *d = ctx;
	return fs_step_progress(d->q->st, FASTSNAP_STEP_FLATTEN, done, total) < 0;
}

static int flatten_canceled(void *ctx)
{
	direct_run *d = ctx;
	return fs_steps_canceled(d->q->st);
}

/* Start the flatten helper (once), so that it connects to the cluster
 * while the run makes the clone. Without one, flatten() runs in here. */
static int start_flattener(direct_run *d)
{
	if (d->fl_started)
		return 0;
	d->fl_started = 1;
	return fs_flattener_start(&d->fl, d->q->flatten_helper, d->q->c, d->q->log);
}

/* The flatten in the helper process: bounded by the Ceph operation
 * timeout (clients/flattener.h). The helper takes the clone's lock and
 * writes its heartbeat meanwhile, so the run's handle and heartbeat stop
 * for it and come back after. */
static int flatten_in_helper(direct_run *d)
{
	const fs_direct_req *q = d->q;
	const char *pool = q->plan->target_pool;
	fs_heartbeat_stop(d->hb, 0);
	d->hb = NULL;
	fs_rbd_image_close(&d->clone);
	int rc = fs_flattener_run(d->fl, pool, q->image_id, (unsigned int)q->heartbeat_s, flatten_cb,
		flatten_canceled, d);
	if (rc == 0)
		rc = fs_rbd_image_open(&d->clone, q->c, pool, q->image_id);
	return rc;
}

static int flatten(direct_run *d)
{
	const fs_direct_req *q = d->q;
	int rc = start_flattener(d);
	if (rc < 0)
		return rc;
	/* A helper that does not come up (it exits, it cannot connect) leaves
	 * the flatten to this process, as when there is none. */
	fs_flattener_ready_or_drop(&d->fl);
	if (!d->fl)
		start_heartbeat(d);
	if ((rc = fs_step_begin(q->st, FASTSNAP_STEP_FLATTEN)) < 0)
		return rc;
	rc = d->fl ? flatten_in_helper(d) : fs_rbd_image_flatten(&d->clone, flatten_cb, d);
	if (rc < 0)
		return rc;
	start_heartbeat(d);
	d->res->flattened = 1;
	return fs_step_end(q->st, FASTSNAP_STEP_FLATTEN);
}

static int snap(direct_run *d)
{
	const fs_direct_req *q = d->q;
	const char *pool = q->plan->target_pool;
	int created = 0;
	int rc = fs_step_begin(q->st, FASTSNAP_STEP_SNAP);
	if (rc == 0)
		rc = fs_rbd_image_snap_create_protected(&d->clone, "snap", &created);
	if (created) {
		int ix = fs_undo_push_rbd_snap(q->u, q->c, pool, q->image_id, "snap");
		if (rc == 0 && ix < 0)
			rc = ix;
	}
	return rc < 0 ? rc : fs_step_end(q->st, FASTSNAP_STEP_SNAP);
}

static int register_once(direct_run *d)
{
	const fs_direct_req *q = d->q;
	free(d->res->location);
	d->res->location = NULL;
	if (q->ceph_only) {   /* the caller registers it */
		d->res->location = fs_rbd_url_format(fs_ceph_fsid(q->c), q->plan->target_pool,
			q->image_id, "snap");
		return d->res->location ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	return fs_register_location(q->g, &d->res->location, q->image_id, fs_ceph_fsid(q->c),
		q->plan->target_pool, q->image_id, "snap", q->plan->policy.store);
}

/* The image is active: the clone says so (FS_META_DONE), after the call
 * that made it active, so that gc never rolls it back nor asks Glance
 * about it (docs/operations.md). A failed write is logged: gc then goes
 * by Glance's answer, which for a finished image is only ever "active" or
 * "unknown: leave it". */
static void mark_done(direct_run *d)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *k[] = { FS_META_DONE };
	const char *v[] = { now };
	if (fs_rbd_image_tag(&d->clone, k, v, 1) < 0) {
		fs_log(d->q->log, FASTSNAP_LOG_WARN, "cannot mark %s/%s done: %s", d->q->plan->target_pool,
			d->q->image_id, fastsnap_error_last());
		fastsnap_error_clear();
	}
}

/* Register; a rejected unflattened clone is flattened and registered
 * again, as the fallback table says. */
static int location(direct_run *d)
{
	const fs_direct_req *q = d->q;
	int rc = fs_step_begin(q->st, FASTSNAP_STEP_LOCATION);
	if (rc < 0)
		return rc;
	rc = register_once(d);
	fs_direct_outcome out = { rc, 0, d->res->flattened, 0 };
	if (rc < 0 && fs_fallback_decide(&out) == FS_FALLBACK_FLATTEN_RETRY) {
		free(d->res->note);
		d->res->note = fs_asprintf("Glance could not open the unflattened clone (%s), so it was "
			"flattened and registered again", fastsnap_error_last());
		if ((rc = flatten(d)) < 0)
			return rc;
		rc = register_once(d);
	}
	if (rc < 0)
		return rc;
	d->res->registered = 1;
	if ((rc = q->registered(q->ctx)) < 0)
		return rc;
	mark_done(d);
	return fs_step_end(q->st, FASTSNAP_STEP_LOCATION);
}

static int run_steps(direct_run *d)
{
	const fs_direct_req *q = d->q;
	const fs_plan *p = q->plan;
	int sync = p->flatten == FASTSNAP_FLATTEN_SYNC || p->flatten_for_depth;
	int rc;

	/* sync: the helper connects while the clone is made. deferred starts
	 * it after active: nothing on the way to active competes with it. */
	if (sync && (rc = start_flattener(d)) < 0)
		return rc;
	if (p->clone_format == 1 && (rc = protect(d)) < 0)
		return rc;
	rc = clone_disk(d);
	fs_capture_close_disk(q->cap);   /* the disk is done with until tmp-remove */
	if (rc < 0)
		return rc;
	if (sync && (rc = flatten(d)) < 0)
		return rc;
	if ((rc = snap(d)) < 0 || (rc = location(d)) < 0)
		return rc;
	start_heartbeat(d);
	/* After active: a deferred flatten, then in every mode the temporary
	 * snapshot's removal (for none, a clone format 2, it moves to the
	 * trash namespace), which waits for a monitor map change, up to the
	 * proposal interval: nothing on the way to active that can come
	 * after it. */
	if (p->flatten == FASTSNAP_FLATTEN_DEFERRED && !sync && !d->res->flattened &&
	    (rc = flatten(d)) < 0)
		return rc;
	return fs_capture_release(q->cap, q->st, q->u);
}

int fs_direct_run(const fs_direct_req *req, fs_direct_res *res)
{
	memset(res, 0, sizeof(*res));
	direct_run d;
	memset(&d, 0, sizeof(d));
	d.q = req;
	d.res = res;
	int rc = run_steps(&d);
	fs_heartbeat_stop(d.hb, 0);   /* it writes through the clone's handle */
	/* Closed before any undo: an open handle would keep the clone busy. */
	fs_rbd_image_close(&d.clone);
	fs_flattener_free(d.fl);
	return rc;
}

void fs_direct_res_free(fs_direct_res *res)
{
	free(res->location);
	free(res->note);
	memset(res, 0, sizeof(*res));
}
