/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c: the only module that knows the whole flow (the engine handle
 * itself is in engine_open.c). Runs a snapshot as three stages, each with its own undo
 * entries so that a failure before the image is active leaves Ceph and
 * Glance as they were (after it, the image is kept and marked for gc):
 *   plan          store, path and why (plan/), then the queued Glance image
 *                 with its properties (register/); meanwhile, on this
 *                 thread, the disk's temporary snapshot (capture/)
 *   path          direct (direct/) or stream (stream/) from that capture,
 *                 with the fallback the table in policy/fallback.h decides
 *   finish        the final check: active, the expected size
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "copy.h"
#include "direct/direct.h"
#include "engine.h"
#include "core/opts.h"
#include "core/rbd_url.h"
#include "core/task.h"
#include "plan/plan.h"
#include "policy/fallback.h"
#include "register/register.h"
#include "result.h"
#include "stream/capture_stream.h"

/* ------------------------------------------------------------------ */
/* a run                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
	fastsnap_engine *e;
	fastsnap_snapshot_opts o;   /* the caller's, upgraded to this version */
	fastsnap_result *res;
	fs_glance *g;
	fs_plan plan;
	fs_undo undo;
	fs_owner owner;
	fs_steps st;
	fs_capture cap;
	double t0;
	char id[37];                /* the image id, chosen by fastsnap */
	fs_undo create_undo;        /* the image's delete, until its task is joined */
	int image_undo;             /* the undo entry that deletes the Glance image */
	int active;                 /* the image was reported active: never destroyed */
	int ceph_only;              /* Nova's mode: Glance is only read */
	int plan_rc;                /* the plan's own result (the Glance branch) */
	atomic_int capture_failed;  /* tells the Glance branch not to create */
} fs_run;

static void mark_active(fs_run *r)
{
	r->active = !r->ceph_only;
	r->res->active_seconds = fs_now() - r->t0;
	if (r->o.active_cb)
		r->o.active_cb(r->res->image_id, r->o.active_payload);
}

static int stage_plan(fs_run *r)
{
	int rc = 0;
	/* Nova's mode with the caller's pool: no Glance client at all, so no
	 * Glance endpoint or identity is needed (docs/nova.md) */
	if (!(r->ceph_only && r->o.target_pool) &&
	    (rc = fs_glance_new(&r->g, &r->e->s, &r->e->log)) == 0)
		fs_glance_set_cancel(r->g, fs_steps_cancel_fn, &r->st);
	if (rc < 0 || (rc = fs_step_begin(&r->st, FASTSNAP_STEP_RESOLVE)) < 0 ||
	    (rc = fs_plan_make(&r->plan, r->e->ceph, r->g, &r->e->s, &r->o)) < 0)
		return rc;
	fs_result_set_plan(r->res, &r->plan);
	if (r->ceph_only && r->plan.path != FASTSNAP_PATH_DIRECT)
		return fs_err(FASTSNAP_EUNSUPPORTED, "Ceph-only mode needs the direct path: %s",
			r->plan.reason);
	return fs_step_end(&r->st, FASTSNAP_STEP_RESOLVE);
}

static int take_capture(fs_run *r, const char *pool, const char *image)
{
	char *snap = r->o.tmp_snap_name ? fs_strdup(r->o.tmp_snap_name) :
		fs_owner_tmp_snap_name(&r->owner, r->res->image_id);
	char *owner = fs_owner_format(&r->owner);
	fs_run_tag_req tag = { .image_id = r->res->image_id, .owner = owner,
		.period_s = (unsigned int)r->e->s.heartbeat_s, .lg = &r->e->log };
	int rc = snap && owner ? fs_capture_rbd(&r->cap, &r->st, &r->undo, r->e->ceph, pool, image,
		snap, &tag) : fs_err(FASTSNAP_ENOMEM, "out of memory");
	free(snap);
	free(owner);
	return rc;
}

/* The queued image (its undo entry goes to r->create_undo, moved to the
 * run's stack when the branch is joined), or in Nova's mode the caller's
 * image, checked. */
static int create_image(fs_run *r)
{
	if (r->ceph_only)   /* the caller's pool: Glance is not asked (docs/nova.md) */
		return r->o.target_pool ? 0 : fs_register_attach(r->g, r->o.image_id);
	char *hb = fs_plan_heartbeat_at(&r->plan, r->id);
	int rc = fs_step_begin(&r->st, FASTSNAP_STEP_IMAGE_CREATE);
	if (rc == 0)
		rc = fs_register_image_create(r->g, r->id, &r->image_undo, &r->create_undo, &r->o,
			r->plan.base, &r->owner, r->plan.size, hb, r->plan.disk_format);
	free(hb);
	return rc < 0 ? rc : fs_step_end(&r->st, FASTSNAP_STEP_IMAGE_CREATE);
}

/* The Glance branch, on a thread of its own: the plan, then the image
 * (not when the snapshot on the other branch already failed). */
static int glance_branch(void *p)
{
	fs_run *r = p;
	if ((r->plan_rc = stage_plan(r)) < 0)
		return r->plan_rc;
	return atomic_load(&r->capture_failed) ? 0 : create_image(r);
}

typedef struct {
	fs_run *r;
	int started;
	fs_task t;
} branch_start;

static void start_glance_branch(void *p)
{
	branch_start *b = p;
	b->started = 1;
	fs_task_start(&b->t, glance_branch, b->r);
}

/* The image id is chosen here (a random UUID): the temporary snapshot and
 * the clone are named by it, and a retried create cannot duplicate. So
 * the disk's snapshot is taken on this thread while the other makes the
 * plan and creates the image: a speculative snapshot, undone with the
 * rest when either fails (docs/architecture.md, "The two branches"). Only the
 * request's own checks come first, so that a request the plan would
 * refuse on its face takes no snapshot. The Glance branch starts once the
 * disk is open: its look-ups and the plan's own opens of the disk would
 * otherwise compete with that open, the one step of the snapshot that is
 * work rather than a wait for the monitor (docs/benchmarks.md, "Per step"). */
static int stage_plan_create(fs_run *r)
{
	int rc = fs_plan_check_request(&r->o);   /* Nova's mode: a well-formed image id */
	if (rc < 0 || (!r->ceph_only && (rc = fs_uuid4(r->id)) < 0))
		return rc;
	const char *id = r->ceph_only ? r->o.image_id : r->id;
	if (!(r->res->image_id = fs_strdup(id)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	fs_rbd_spec spec = { 0 };
	int rbd = r->o.disk && fs_rbd_spec_parse(&spec, r->o.disk, strlen(r->o.disk)) == 0;
	fastsnap_error_clear();   /* a bad spec is the plan's to report */
	branch_start b = { .r = r };
	r->cap.opened = start_glance_branch;
	r->cap.opened_ctx = &b;
	int crc = rbd ? take_capture(r, spec.pool, spec.image) : 0;
	r->cap.opened = NULL;
	fs_rbd_spec_free(&spec);
	if (!b.started)   /* not an RBD disk, or no open was tried */
		start_glance_branch(&b);
	if (crc < 0)
		atomic_store(&r->capture_failed, 1);
	fs_error_state cerr;
	fs_error_state_capture(&cerr);
	rc = fs_task_join(&b.t);
	int base = fs_undo_take(&r->undo, &r->create_undo);
	if (rc == 0 && base >= 0)
		r->image_undo += base;
	if (rc == 0 && base < 0)
		rc = base;
	/* The plan's error first (it says best what is wrong with the
	 * request), then the snapshot's, then the image's. The result names
	 * the image id either way (the failed run's clean-up removed it). */
	if (r->plan_rc < 0 || crc >= 0)
		return rc;
	return fs_error_state_restore(&cerr);
}

static void on_stream_active(void *ctx)
{
	mark_active(ctx);
}

/* Upload what the capture holds (a new capture if none is live). */
static int run_stream(fs_run *r)
{
	const fs_plan *p = &r->plan;
	int rc = 0;
	if (p->kind == FS_SRC_RBD && !fs_capture_live(&r->cap))
		rc = take_capture(r, p->pool, p->image);   /* a new one after a direct attempt released it */
	else if (p->kind == FS_SRC_FILE)
		rc = fs_capture_file(&r->cap, p->file);
	if (rc < 0)
		return fs_capture_finish_read(&r->cap, rc);
	fs_stream_path_req q = {
		.c = r->e->ceph, .g = r->g, .st = &r->st, .u = &r->undo, .cap = &r->cap,
		.req = { .image_id = r->res->image_id, .store = p->policy.store,
			.base_image_ref = r->o.base_image_ref, .depth = r->o.read_depth,
			.read_size = r->o.read_size, .verify_md5 = r->o.verify_md5, .log = &r->e->log, .fd = -1,
			.disk_format = p->disk_format },
		.active = on_stream_active, .ctx = r,
	};
	fs_stream_res sres;
	rc = fs_stream_from_capture(&q, &sres);
	fs_result_set_stream(r->res, &sres);
	if (sres.map_why[0]) {
		/* qcow2 from RBD could not map from RADOS (docs/streaming.md) */
		char *why = fs_asprintf("qcow2 mapped from librbd (whole objects, zero scan): %s",
			sres.map_why);
		fs_result_add_reason(r->res, why);
		free(why);
	}
	return rc;
}

/* Glance holds the clone: its delete goes to the top of the undo stack
 * (its rbd store then removes images/<id> and its snap). */
static int on_registered(void *ctx)
{
	fs_run *r = ctx;
	if (r->ceph_only) {   /* nothing in Glance: the caller registers */
		mark_active(r);
		return 0;
	}
	int ix = fs_undo_push_glance_delete(&r->undo, r->g, r->res->image_id);
	if (ix < 0)
		return ix;
	fs_undo_forget(&r->undo, r->image_undo);
	r->image_undo = ix;
	mark_active(r);
	return 0;
}

/* The direct path was refused: undo what it made after `mark` (the
 * capture stays, if it still exists), then stream instead. */
static int fall_back_to_stream(fs_run *r, size_t mark, int rc)
{
	char *why = fs_asprintf("the direct path was refused (%s), so the disk was streamed instead",
		fastsnap_error_last());
	fs_log(&r->e->log, FASTSNAP_LOG_WARN, "%s", why ? why : "direct path refused");
	if (fs_undo_run_from(&r->undo, mark) > 0) {
		rc = fs_err(rc, "%s; removing what the direct path made failed: %s",
			why ? why : "direct path refused", fastsnap_error_last());
		free(why);
		return rc;
	}
	fastsnap_error_clear();
	fs_result_add_reason(r->res, why);
	free(why);
	free(r->res->location);
	r->res->location = NULL;
	free(r->res->flatten);
	r->res->flatten = NULL;
	r->res->path = FASTSNAP_PATH_STREAM;
	return run_stream(r);
}

static int run_direct(fs_run *r)
{
	int rc = fs_capture_live(&r->cap) ? 0 : take_capture(r, r->plan.pool, r->plan.image);
	if (rc < 0)
		return rc;
	size_t mark = r->undo.n;
	fs_direct_req q = {
		.c = r->e->ceph, .g = r->g, .st = &r->st, .u = &r->undo, .cap = &r->cap,
		.plan = &r->plan, .owner = &r->owner, .image_id = r->res->image_id,
		.heartbeat_s = r->e->s.heartbeat_s, .log = &r->e->log,
		.flatten_helper = r->e->s.flatten_helper, .registered = on_registered, .ctx = r, .ceph_only = r->ceph_only,
	};
	fs_direct_res d;
	rc = fs_direct_run(&q, &d);
	free(r->res->location);
	r->res->location = d.location;
	d.location = NULL;
	fs_result_add_reason(r->res, d.note);
	fs_direct_outcome out = { rc, d.registered, d.flattened, d.note != NULL };
	fs_direct_res_free(&d);
	if (rc < 0 && !r->ceph_only && fs_fallback_decide(&out) == FS_FALLBACK_STREAM)
		rc = fall_back_to_stream(r, mark, rc);
	return rc;
}

static int stage_path(fs_run *r)
{
	return r->plan.path == FASTSNAP_PATH_DIRECT ? run_direct(r) : run_stream(r);
}

/* The image is active with the disk's size; its in-progress mark goes. */
static int stage_finish(fs_run *r)
{
	if (r->ceph_only)
		return 0;
	int rc = fs_step_begin(&r->st, FASTSNAP_STEP_FINAL_CHECK);
	if (rc < 0)
		return rc;
	/* raw: the disk's size; qcow2: the image the stream wrote */
	uint64_t want = strcmp(r->plan.disk_format, "qcow2") ? r->plan.size : r->res->bytes_sent;
	/* what the location call saw spares the GET and the mark's removal */
	if ((rc = fs_register_final_check(r->g, r->res->image_id, want,
	    fastsnap_path_name(r->res->path))) < 0)
		return rc;
	return fs_step_end(&r->st, FASTSNAP_STEP_FINAL_CHECK);
}

/* A failure after the image went active: the caller may already use it,
 * so it stays. It is marked (state and error) for gc, which finishes what
 * is left (a flatten, the temporary snapshot); nothing is undone. */
static void keep_active_image(fs_run *r)
{
	int marked = fs_register_needs_attention(r->g, r->res->image_id) == 0;
	fs_err_prefix("image %s is active and was kept%s; what is left is gc's (fastsnap gc)",
		r->res->image_id, marked ? " (marked fastsnap_state=needs-attention)" : "");
	r->res->needs_attention = 1;
	for (size_t i = 0; i < r->undo.n; i++)
		fs_undo_forget(&r->undo, (int)i);
}

/* Free the run; the result keeps the outcome and the first error. */
static int run_end(fs_run *r, fastsnap_result **out, int rc)
{
	fastsnap_result *res = r->res;
	fs_error_state err;
	fs_error_state_capture(&err);
	fs_result_finish(res, rc, err.msg, fs_now() - r->t0, r->st.seconds);
	fs_result_take_cleanup(res, &r->undo.undone);
	fs_capture_free(&r->cap);
	fs_undo_free(&r->undo);
	fs_undo_free(&r->create_undo);
	fs_steps_free(&r->st);
	fs_plan_free(&r->plan);
	fs_glance_free(r->g);
	if (out)
		*out = res;
	else
		fastsnap_result_free(res);
	fs_error_state_restore(&err);
	fs_engine_note_error(r->e, rc);
	return rc;
}

static int run_snapshot(fastsnap_result **out, fastsnap_engine *e,
	const fastsnap_snapshot_opts *in, int run)
{
	fastsnap_error_clear();
	if (out)
		*out = NULL;
	if (!e)
		return fs_err(FASTSNAP_EINVAL, "engine is NULL");
	fs_run r;
	memset(&r, 0, sizeof(r));
	r.e = e;
	r.t0 = fs_now();
	r.image_undo = -1;
	fs_owner_self(&r.owner);
	int rc = fs_result_new(&r.res);
	if (rc < 0)
		return rc;
	r.res->planned_only = !run;
	if ((rc = fs_snapshot_opts_upgrade(&r.o, in)) == 0) {
		r.ceph_only = (r.o.flags & FASTSNAP_SNAPSHOT_CEPH_ONLY) != 0;
		r.res->name = fs_strdup(r.o.name);
		r.res->disk = fs_strdup(r.o.disk ? r.o.disk : r.o.disk_file);
	}
	fs_steps_init(&r.st, &r.o, &e->log, &e->s);
	fs_capture_init(&r.cap, &r.o);
	if (rc == 0 && !run)
		rc = stage_plan(&r);
	if (rc == 0 && run) {
		if ((rc = stage_plan_create(&r)) == 0 && (rc = stage_path(&r)) == 0)
			rc = stage_finish(&r);
		/* copies into further stores: the image stands whatever they do */
		if (rc == 0 && !r.ceph_only)
			fs_copy_after_snapshot(r.res, r.g, e, &r.o);
		if (rc < 0 && r.g)   /* clean-up runs to its end, canceled or not */
			fs_glance_set_cancel(r.g, NULL, NULL);
		if (rc < 0)
			r.active ? keep_active_image(&r) : (void)fs_undo_run(&r.undo);
	}
	return run_end(&r, out, rc);
}

int fastsnap_plan(fastsnap_result **out, fastsnap_engine *e, const fastsnap_snapshot_opts *o)
{
	return run_snapshot(out, e, o, 0);
}

int fastsnap_snapshot(fastsnap_result **out, fastsnap_engine *e, const fastsnap_snapshot_opts *o)
{
	return run_snapshot(out, e, o, 1);
}
