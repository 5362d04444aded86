/*
 * engine.c: the only module that knows the whole flow. Opens the engine
 * (settings, Ceph connection), lists stores, and runs a snapshot:
 * plan -> create the Glance image -> direct path (or stream) -> register
 * -> final check, with every created object on the undo stack so that a
 * failure at any step leaves the cluster and Glance as they were.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ceph.h"
#include "glance.h"
#include "heartbeat.h"
#include "plan.h"
#include "rbd_direct.h"
#include "register.h"
#include "settings.h"
#include "source_file.h"
#include "steps.h"
#include "stream.h"
#include "undo.h"

struct fastsnap_engine {
	fs_settings s;
	fs_logger log;
	fs_ceph *ceph;
	pthread_mutex_t mu;
	char last_error[1024];
};

struct fastsnap_result {
	char *image_id;
	char *name;
	char *reason;
	char *store;
	char *location;
	char *flatten;
	char *disk;
	char *error;
	char *json;
	char sha512[129];
	char md5[33];
	fastsnap_path path;
	uint64_t size;
	uint64_t bytes_read;
	uint64_t bytes_sent;
	double step_s[FASTSNAP_STEP__COUNT];
	double seconds;
	double active_seconds;
	int error_code;
	int planned_only;
};

struct fastsnap_store_list {
	fs_store_set set;
	fastsnap_store *pub;
};

/* ------------------------------------------------------------------ */
/* engine                                                              */
/* ------------------------------------------------------------------ */

static void engine_note_error(fastsnap_engine *e, int code)
{
	if (code >= 0 || !e)
		return;
	pthread_mutex_lock(&e->mu);
	strncpy(e->last_error, fastsnap_error_last(), sizeof(e->last_error) - 1);
	e->last_error[sizeof(e->last_error) - 1] = '\0';
	pthread_mutex_unlock(&e->mu);
}

int fastsnap_engine_open(fastsnap_engine **out, const fastsnap_engine_opts *opts)
{
	fastsnap_error_clear();
	if (!out)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_engine_open: out is NULL");
	*out = NULL;
	if (!opts || opts->version != FASTSNAP_ENGINE_OPTS_VERSION)
		return fs_err(FASTSNAP_EINVAL, "engine options: initialise them with FASTSNAP_ENGINE_OPTS_INIT");
	fastsnap_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	pthread_mutex_init(&e->mu, NULL);
	e->log.cb = opts->log_cb;
	e->log.payload = opts->log_payload;
	int r = fs_settings_resolve(&e->s, opts);
	if (r == 0)
		r = fs_ceph_connect(&e->ceph, e->s.ceph_conf, e->s.ceph_user, e->s.keyring,
			e->s.ceph_op_timeout_s, &e->log);
	if (r < 0) {
		fs_settings_free(&e->s);
		pthread_mutex_destroy(&e->mu);
		free(e);
		return r;
	}
	*out = e;
	return 0;
}

void fastsnap_engine_close(fastsnap_engine *e)
{
	if (!e)
		return;
	fs_ceph_close(e->ceph);
	fs_settings_free(&e->s);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

const char *fastsnap_engine_fsid(const fastsnap_engine *e)
{
	return e ? fs_ceph_fsid(e->ceph) : NULL;
}

const char *fastsnap_engine_last_error(const fastsnap_engine *e)
{
	return e ? e->last_error : "";
}

/* ------------------------------------------------------------------ */
/* stores                                                              */
/* ------------------------------------------------------------------ */

int fastsnap_stores_list(fastsnap_store_list **out, fastsnap_engine *e)
{
	fastsnap_error_clear();
	if (!out || !e)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_stores_list: NULL argument");
	*out = NULL;
	fs_glance *g = NULL;
	int r = fs_glance_new(&g, &e->s, &e->log);
	if (r < 0)
		goto done;
	fastsnap_store_list *l = calloc(1, sizeof(*l));
	if (!l) {
		r = fs_err(FASTSNAP_ENOMEM, "out of memory");
		goto done;
	}
	r = fs_glance_stores(g, &l->set);
	if (r == 0 && l->set.n && !(l->pub = calloc(l->set.n, sizeof(*l->pub))))
		r = fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (r < 0) {
		fastsnap_store_list_free(l);
		goto done;
	}
	for (size_t i = 0; i < l->set.n; i++) {
		const fs_store_info *si = &l->set.v[i];
		l->pub[i] = (fastsnap_store){ si->id, si->description, si->is_default, si->read_only,
			si->type, si->pool, si->fsid };
	}
	*out = l;
done:
	fs_glance_free(g);
	engine_note_error(e, r);
	return r;
}

size_t fastsnap_store_list_count(const fastsnap_store_list *l) { return l ? l->set.n : 0; }

const fastsnap_store *fastsnap_store_list_get(const fastsnap_store_list *l, size_t i)
{
	return l && i < l->set.n ? &l->pub[i] : NULL;
}

int fastsnap_store_list_has_detail(const fastsnap_store_list *l) { return l ? l->set.has_detail : 0; }

void fastsnap_store_list_free(fastsnap_store_list *l)
{
	if (!l)
		return;
	fs_store_set_free(&l->set);
	free(l->pub);
	free(l);
}

/* ------------------------------------------------------------------ */
/* a run                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
	fastsnap_engine *e;
	const fastsnap_snapshot_opts *o;
	fastsnap_result *res;
	fs_glance *g;
	fs_plan plan;
	fs_undo undo;
	fs_owner owner;
	char *tmp_snap;
	double t0;
	double step_t0[FASTSNAP_STEP__COUNT];
	atomic_int cancel;
	int flattened;
	int image_undo_idx;    /* the undo entry that deletes the Glance image */
	fs_heartbeat *hb;      /* refreshes fastsnap.heartbeat while the run lives */
	int hb_remove;         /* remove the keys when it stops (source disk) */
} fs_run;

static void heartbeat_start(fs_run *r, const char *pool, const char *image, int remove)
{
	char *owner = remove ? fs_owner_format(&r->owner) : NULL;
	r->hb = fs_heartbeat_start(r->e->ceph, pool, image, owner, 0, &r->e->log);
	r->hb_remove = remove;
	free(owner);
	if (!r->hb) {
		fs_log(&r->e->log, FASTSNAP_LOG_WARN, "no heartbeat for %s/%s: %s", pool, image,
			fastsnap_error_last());
		fastsnap_error_clear();
	}
}

static void heartbeat_stop(fs_run *r)
{
	fs_heartbeat_stop(r->hb, r->hb_remove);
	r->hb = NULL;
}

static int run_progress(fs_run *r, fastsnap_step s, uint64_t done, uint64_t total)
{
	if (r->o->progress_cb && r->o->progress_cb(s, done, total, r->o->progress_payload)) {
		atomic_store(&r->cancel, 1);
		return fs_err(FASTSNAP_ECANCELED, "canceled by the caller during step '%s'",
			fastsnap_step_name(s));
	}
	return 0;
}

static int step_begin(fs_run *r, fastsnap_step s)
{
	r->step_t0[s] = fs_now();
	fs_log(&r->e->log, FASTSNAP_LOG_DEBUG, "step %s", fastsnap_step_name(s));
	return run_progress(r, s, 0, 1);
}

static int step_end(fs_run *r, fastsnap_step s)
{
	r->res->step_s[s] += fs_now() - r->step_t0[s];
	int rc = run_progress(r, s, 1, 1);
	return rc < 0 ? rc : fs_step_test_hook(s);
}

static int glance_undo_delete(void *ctx, const char *id, const char *b, const char *c, int f)
{
	(void)b; (void)c; (void)f;
	int r = fs_glance_image_delete(ctx, id);
	return r == FASTSNAP_ENOTFOUND ? 0 : r;
}

static int push_image_delete(fs_run *r, const char *id)
{
	return fs_undo_push(&r->undo, glance_undo_delete, r->g, id, NULL, NULL, 0,
		"delete Glance image %s", id);
}

static int flatten_cb(uint64_t done, uint64_t total, void *ctx)
{
	fs_run *r = ctx;
	if (atomic_load(&r->cancel))
		return 1;
	return run_progress(r, FASTSNAP_STEP_FLATTEN, done, total) < 0;
}

static int do_flatten(fs_run *r)
{
	int rc = step_begin(r, FASTSNAP_STEP_FLATTEN);
	if (rc == 0)
		rc = fs_rbd_flatten(r->e->ceph, r->plan.target_pool, r->res->image_id, flatten_cb, r);
	if (rc == 0) {
		r->flattened = 1;
		rc = step_end(r, FASTSNAP_STEP_FLATTEN);
	}
	return rc;
}

static int do_tmp_remove(fs_run *r, int undo_idx)
{
	int rc = step_begin(r, FASTSNAP_STEP_TMP_REMOVE);
	if (rc == 0)
		rc = fs_rbd_snap_remove(r->e->ceph, r->plan.pool, r->plan.image, r->tmp_snap, 1);
	if (rc == 0) {
		fs_undo_forget(&r->undo, undo_idx);
		rc = step_end(r, FASTSNAP_STEP_TMP_REMOVE);
	}
	return rc;
}

static void mark_active(fs_run *r)
{
	r->res->active_seconds = fs_now() - r->t0;
	if (r->o->active_cb)
		r->o->active_cb(r->res->image_id, r->o->active_payload);
}

static int do_tmp_snap(fs_run *r, int *undo_idx)
{
	int rc = step_begin(r, FASTSNAP_STEP_TMP_SNAP);
	if (rc < 0)
		return rc;
	if (!r->tmp_snap && !(r->tmp_snap = fs_owner_tmp_snap_name(&r->owner, r->res->image_id)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	if ((rc = fs_rbd_snap_create(r->e->ceph, r->plan.pool, r->plan.image, r->tmp_snap)) < 0)
		return rc;
	*undo_idx = fs_undo_push(&r->undo, fs_rbd_undo_snap, r->e->ceph, r->plan.pool, r->plan.image,
		r->tmp_snap, 0, "remove snapshot %s/%s@%s", r->plan.pool, r->plan.image, r->tmp_snap);
	if (*undo_idx < 0)
		return *undo_idx;
	return step_end(r, FASTSNAP_STEP_TMP_SNAP);
}

/* Returns 0, a fatal error, or one of the errors after which the caller
 * falls back to streaming (FASTSNAP_EFORBIDDEN from the clone,
 * FASTSNAP_ELOCATION_DISALLOWED from the location). */
static int run_direct(fs_run *r)
{
	fs_plan *p = &r->plan;
	const char *id = r->res->image_id;
	int tmp_idx = -1, rc;
	int sync_flatten = p->flatten == FASTSNAP_FLATTEN_SYNC || p->flatten_for_depth;

	if ((rc = do_tmp_snap(r, &tmp_idx)) < 0)
		return rc;

	if (p->clone_format == 1) {
		if ((rc = step_begin(r, FASTSNAP_STEP_PROTECT)) < 0 ||
		    (rc = fs_rbd_snap_protect(r->e->ceph, p->pool, p->image, r->tmp_snap)) < 0)
			return rc;
		fs_undo_set_flag(&r->undo, tmp_idx, 1);
		if ((rc = step_end(r, FASTSNAP_STEP_PROTECT)) < 0)
			return rc;
	}

	if ((rc = step_begin(r, FASTSNAP_STEP_CLONE)) < 0)
		return rc;
	char *owner = fs_owner_format(&r->owner);
	char created[32];
	snprintf(created, sizeof(created), "%lld", (long long)time(NULL));
	const char *mk[] = { "fastsnap.owner", "fastsnap.image_id", "fastsnap.created", "fastsnap.heartbeat" };
	const char *mv[] = { owner ? owner : "", id, created, created };
	rc = fs_rbd_clone(r->e->ceph, p->pool, p->image, r->tmp_snap, p->target_pool, id,
		p->clone_format, mk, mv, 4);
	free(owner);
	/* Push the undo even on failure: a clone may half exist. */
	int clone_idx = fs_undo_push(&r->undo, fs_rbd_undo_image, r->e->ceph, p->target_pool, id, NULL,
		0, "remove image %s/%s", p->target_pool, id);
	if (rc < 0)
		return rc;
	if (clone_idx < 0)
		return clone_idx;
	heartbeat_start(r, p->target_pool, id, 0);
	if ((rc = step_end(r, FASTSNAP_STEP_CLONE)) < 0)
		return rc;

	if (sync_flatten) {
		if ((rc = do_flatten(r)) < 0 || (rc = do_tmp_remove(r, tmp_idx)) < 0)
			return rc;
	} else if (p->flatten == FASTSNAP_FLATTEN_NONE) {
		/* Clone format 2: the snapshot goes to the trash namespace. */
		if ((rc = do_tmp_remove(r, tmp_idx)) < 0)
			return rc;
	}

	if ((rc = step_begin(r, FASTSNAP_STEP_SNAP)) < 0 ||
	    (rc = fs_rbd_snap_create(r->e->ceph, p->target_pool, id, "snap")) < 0)
		return rc;
	int snap_idx = fs_undo_push(&r->undo, fs_rbd_undo_snap, r->e->ceph, p->target_pool, id, "snap",
		1, "remove snapshot %s/%s@snap", p->target_pool, id);
	if (snap_idx < 0)
		return snap_idx;
	if ((rc = fs_rbd_snap_protect(r->e->ceph, p->target_pool, id, "snap")) < 0 ||
	    (rc = step_end(r, FASTSNAP_STEP_SNAP)) < 0)
		return rc;

	if ((rc = step_begin(r, FASTSNAP_STEP_LOCATION)) < 0)
		return rc;
	free(r->res->location);
	r->res->location = NULL;
	rc = fs_register_location(r->g, &r->res->location, id, fs_ceph_fsid(r->e->ceph),
		p->target_pool, id, "snap", p->policy.store);
	if (rc == FASTSNAP_ELOCATION_REJECTED && !r->flattened) {
		/* Glance could not open the unflattened clone (its user cannot
		 * read the parent in the disk's pool): flatten, register again. */
		char *why = fs_asprintf("%s; Glance could not open the unflattened clone (%s), so it "
			"was flattened and registered again", r->res->reason, fastsnap_error_last());
		if (why) {
			free(r->res->reason);
			r->res->reason = why;
		}
		if ((rc = do_flatten(r)) < 0)
			return rc;
		free(r->res->location);
		r->res->location = NULL;
		rc = fs_register_location(r->g, &r->res->location, id, fs_ceph_fsid(r->e->ceph),
			p->target_pool, id, "snap", p->policy.store);
	}
	if (rc < 0)
		return rc;
	/* From now on Glance owns the RBD image: on a later failure delete the
	 * Glance image first (its store removes images/<id> and its snap);
	 * the RBD undo entries below then find nothing left to do. */
	int gix = push_image_delete(r, id);
	if (gix < 0)
		return gix;
	fs_undo_forget(&r->undo, r->image_undo_idx);
	r->image_undo_idx = gix;
	mark_active(r);
	if ((rc = step_end(r, FASTSNAP_STEP_LOCATION)) < 0)
		return rc;

	if (p->flatten == FASTSNAP_FLATTEN_DEFERRED && !sync_flatten) {
		if (!r->flattened && (rc = do_flatten(r)) < 0)
			return rc;
		if ((rc = do_tmp_remove(r, tmp_idx)) < 0)
			return rc;
	}
	return 0;
}

static int stream_progress(fastsnap_step s, uint64_t done, uint64_t total, void *payload)
{
	fs_run *r = payload;
	return run_progress(r, s, done, total) < 0;
}

static int run_stream(fs_run *r)
{
	fs_plan *p = &r->plan;
	int rc, tmp_idx = -1, fd = -1;
	rados_ioctx_t io = NULL;
	rbd_image_t img = NULL;
	fs_file_stamp stamp;
	uint64_t size = p->size;

	if (p->kind == FS_SRC_RBD) {
		/* Never read the live disk: read a snapshot of it. */
		if ((rc = do_tmp_snap(r, &tmp_idx)) < 0)
			return rc;
		if ((rc = fs_rbd_open_snap(&io, &img, r->e->ceph, p->pool, p->image, r->tmp_snap)) < 0)
			return rc;
		heartbeat_start(r, p->pool, p->image, 1);
	} else {
		if ((rc = fs_source_file_open(&fd, &size, &stamp, p->file)) < 0)
			return rc;
	}
	if ((rc = step_begin(r, FASTSNAP_STEP_STREAM)) < 0)
		goto out;
	fs_stream_req req = {
		.rbd_image = img,
		.fd = fd,
		.size = size,
		.image_id = r->res->image_id,
		.store = p->policy.store,
		.base_image_ref = r->o->base_image_ref,
		.depth = r->o->read_depth,
		.read_size = r->o->read_size,
		.verify_md5 = r->o->verify_md5,
		.progress_cb = stream_progress,
		.progress_payload = r,
		.cancel = &r->cancel,
		.log = &r->e->log,
	};
	fs_stream_res sres;
	memset(&sres, 0, sizeof(sres));
	rc = fs_stream_run(r->g, &req, &sres);
	memcpy(r->res->sha512, sres.sha512, sizeof(r->res->sha512));
	memcpy(r->res->md5, sres.md5, sizeof(r->res->md5));
	r->res->bytes_read = sres.bytes_read;
	r->res->bytes_sent = sres.bytes_sent;
	if (rc == 0 && fd >= 0)
		rc = fs_source_file_check_unchanged(fd, p->file, &stamp);
	if (rc == 0) {
		mark_active(r);
		rc = step_end(r, FASTSNAP_STEP_STREAM);
	}
out:
	heartbeat_stop(r);
	fs_rbd_close(io, img);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && tmp_idx >= 0)
		rc = do_tmp_remove(r, tmp_idx);
	return rc;
}

static int final_check(fs_run *r)
{
	int rc = step_begin(r, FASTSNAP_STEP_FINAL_CHECK);
	if (rc < 0)
		return rc;
	fs_image *img = NULL;
	if ((rc = fs_glance_image_get(r->g, &img, r->res->image_id)) < 0)
		return rc;
	if (!fs_streq(img->status, "active")) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "image %s is '%s' after the %s path, not 'active'",
			r->res->image_id, img->status ? img->status : "(none)",
			fastsnap_path_name(r->res->path));
	} else if (img->size >= 0 && (uint64_t)img->size != r->plan.size) {
		rc = fs_err(FASTSNAP_ECHECKSUM, "image %s has size %lld in Glance, the disk has %llu bytes",
			r->res->image_id, (long long)img->size, (unsigned long long)r->plan.size);
	}
	fs_image_free(img);
	if (rc < 0)
		return rc;
	const char *k = FS_PROP_STATE;
	if ((rc = fs_glance_image_remove_props(r->g, r->res->image_id, &k, 1)) < 0)
		return rc;
	return step_end(r, FASTSNAP_STEP_FINAL_CHECK);
}

static int result_new(fastsnap_result **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
}

static void result_from_plan(fastsnap_result *res, const fs_plan *p)
{
	res->path = p->path;
	res->reason = fs_strdup(p->reason);
	res->store = fs_strdup(p->policy.store);
	res->size = p->size;
	res->flatten = p->path == FASTSNAP_PATH_DIRECT ? fs_strdup(fs_flatten_name(p->flatten)) : NULL;
}

static int plan_or_run(fastsnap_result **out, fastsnap_engine *e, const fastsnap_snapshot_opts *o,
	int run)
{
	fastsnap_error_clear();
	if (out)
		*out = NULL;
	if (!e)
		return fs_err(FASTSNAP_EINVAL, "engine is NULL");
	fs_run r;
	memset(&r, 0, sizeof(r));
	r.e = e;
	r.o = o;
	r.t0 = fs_now();
	atomic_init(&r.cancel, 0);
	fs_owner_self(&r.owner);
	int rc = result_new(&r.res);
	if (rc < 0)
		return rc;
	r.res->planned_only = !run;
	if (o && o->version == FASTSNAP_SNAPSHOT_OPTS_VERSION) {
		r.res->name = fs_strdup(o->name);
		r.res->disk = fs_strdup(o->disk ? o->disk : o->disk_file);
	}

	if ((rc = fs_glance_new(&r.g, &e->s, &e->log)) < 0)
		goto done;
	if ((rc = step_begin(&r, FASTSNAP_STEP_RESOLVE)) < 0)
		goto done;
	if ((rc = fs_plan_make(&r.plan, e->ceph, r.g, &e->s, o)) < 0)
		goto done;
	result_from_plan(r.res, &r.plan);
	if ((rc = step_end(&r, FASTSNAP_STEP_RESOLVE)) < 0 || !run)
		goto done;

	/* Properties: Nova's metadata plus the inheritable base properties. */
	fs_image_schema schema;
	memset(&schema, 0, sizeof(schema));
	int have_schema = fs_glance_image_schema(r.g, &schema) == 0;
	fs_image_meta meta;
	rc = fs_image_meta_build(&meta, o, r.plan.base, have_schema ? &schema : NULL, &r.owner, r.plan.size);
	fs_image_schema_free(&schema);
	if (rc < 0)
		goto done;

	if ((rc = step_begin(&r, FASTSNAP_STEP_IMAGE_CREATE)) == 0) {
		fs_image_create_req cr = {
			.name = o->name,
			.disk_format = "raw",
			.container_format = "bare",
			.min_disk = meta.min_disk,
			.min_ram = meta.min_ram,
			.prop_keys = (const char *const *)meta.keys.v,
			.prop_values = (const char *const *)meta.values.v,
			.n_props = meta.keys.n,
		};
		fs_image *img = NULL;
		rc = fs_glance_image_create(r.g, &img, &cr);
		if (rc == 0) {
			r.res->image_id = fs_strdup(img->id);
			int ix = push_image_delete(&r, img->id);
			if (ix < 0)
				rc = ix;
			r.image_undo_idx = ix;
		}
		fs_image_free(img);
	}
	fs_image_meta_free(&meta);
	if (rc < 0 || (rc = step_end(&r, FASTSNAP_STEP_IMAGE_CREATE)) < 0)
		goto fail;

	if (r.plan.path == FASTSNAP_PATH_DIRECT) {
		size_t mark = r.undo.n;
		rc = run_direct(&r);
		/* Fall back only while Glance does not yet use the clone. */
		if ((rc == FASTSNAP_EFORBIDDEN || rc == FASTSNAP_ELOCATION_DISALLOWED) &&
		    r.res->active_seconds == 0) {
			/* The direct path is refused: remove what it made, stream instead. */
			char *why = fs_asprintf("%s; the direct path was refused (%s), so the disk was "
				"streamed instead", r.res->reason, fastsnap_error_last());
			fs_log(&e->log, FASTSNAP_LOG_WARN, "%s", why ? why : "direct path refused");
			heartbeat_stop(&r);
			if (fs_undo_run_from(&r.undo, mark) > 0) {
				char *msg = fs_strdup(fastsnap_error_last());
				rc = fs_err(rc, "%s; removing what the direct path made failed: %s",
					why ? why : "direct path refused", msg ? msg : "");
				free(msg);
				free(why);
				goto fail;
			}
			if (why) {
				free(r.res->reason);
				r.res->reason = why;
			}
			free(r.res->location);
			r.res->location = NULL;
			free(r.res->flatten);
			r.res->flatten = NULL;
			free(r.tmp_snap);
			r.tmp_snap = NULL;
			r.res->path = FASTSNAP_PATH_STREAM;
			rc = run_stream(&r);
		}
	} else {
		rc = run_stream(&r);
	}
	if (rc < 0 || (rc = final_check(&r)) < 0)
		goto fail;
	goto done;

fail:
	heartbeat_stop(&r);
	fs_undo_run(&r.undo);
	rc = fastsnap_error_last_code() ? fastsnap_error_last_code() : rc;
done:
	heartbeat_stop(&r);
	r.res->seconds = fs_now() - r.t0;
	if (rc < 0) {
		r.res->error_code = rc;
		r.res->error = fs_strdup(fastsnap_error_last());
		engine_note_error(e, rc);
	}
	fs_undo_free(&r.undo);
	fs_plan_free(&r.plan);
	fs_glance_free(r.g);
	free(r.tmp_snap);
	if (out)
		*out = r.res;
	else
		fastsnap_result_free(r.res);
	/* Keep the thread-local message of the first error for the caller. */
	if (rc < 0)
		fs_err(rc, "%s", r.res && out ? r.res->error : fastsnap_error_last());
	return rc;
}

int fastsnap_plan(fastsnap_result **out, fastsnap_engine *e, const fastsnap_snapshot_opts *o)
{
	return plan_or_run(out, e, o, 0);
}

int fastsnap_snapshot(fastsnap_result **out, fastsnap_engine *e, const fastsnap_snapshot_opts *o)
{
	return plan_or_run(out, e, o, 1);
}

/* ------------------------------------------------------------------ */
/* result                                                              */
/* ------------------------------------------------------------------ */

const char *fastsnap_path_name(fastsnap_path p)
{
	switch (p) {
	case FASTSNAP_PATH_DIRECT: return "direct";
	case FASTSNAP_PATH_STREAM: return "stream";
	default: return "none";
	}
}

const char *fastsnap_result_image_id(const fastsnap_result *r) { return r ? r->image_id : NULL; }
fastsnap_path fastsnap_result_path(const fastsnap_result *r) { return r ? r->path : FASTSNAP_PATH_NONE; }
const char *fastsnap_result_reason(const fastsnap_result *r) { return r ? r->reason : NULL; }
const char *fastsnap_result_store(const fastsnap_result *r) { return r ? r->store : NULL; }
const char *fastsnap_result_location(const fastsnap_result *r) { return r ? r->location : NULL; }
uint64_t fastsnap_result_size(const fastsnap_result *r) { return r ? r->size : 0; }
const char *fastsnap_result_flatten(const fastsnap_result *r) { return r ? r->flatten : NULL; }
double fastsnap_result_seconds(const fastsnap_result *r) { return r ? r->seconds : 0; }
double fastsnap_result_active_seconds(const fastsnap_result *r) { return r ? r->active_seconds : 0; }
uint64_t fastsnap_result_bytes_read(const fastsnap_result *r) { return r ? r->bytes_read : 0; }
const char *fastsnap_result_error(const fastsnap_result *r) { return r && r->error ? r->error : ""; }
int fastsnap_result_error_code(const fastsnap_result *r) { return r ? r->error_code : 0; }

double fastsnap_result_step_seconds(const fastsnap_result *r, fastsnap_step s)
{
	if (!r || (int)s < 0 || s >= FASTSNAP_STEP__COUNT)
		return 0;
	return r->step_s[s];
}

const char *fastsnap_result_sha512(const fastsnap_result *r)
{
	return r && r->sha512[0] ? r->sha512 : NULL;
}

const char *fastsnap_result_md5(const fastsnap_result *r)
{
	return r && r->md5[0] ? r->md5 : NULL;
}

static void json_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

const char *fastsnap_result_json(fastsnap_result *r)
{
	if (!r)
		return NULL;
	free(r->json);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!r->planned_only)
		json_str(o, "image_id", r->image_id);
	json_str(o, "name", r->name);
	json_str(o, "disk", r->disk);
	cJSON_AddStringToObject(o, "path", fastsnap_path_name(r->path));
	json_str(o, "store", r->store);
	json_str(o, "reason", r->reason);
	json_str(o, "flatten", r->flatten);
	cJSON_AddNumberToObject(o, "size", (double)r->size);
	if (r->planned_only) {
		cJSON_AddBoolToObject(o, "dry_run", 1);
	} else {
		json_str(o, "location", r->location);
		cJSON_AddNumberToObject(o, "seconds", r->seconds);
		cJSON_AddNumberToObject(o, "active_seconds", r->active_seconds);
		if (r->path == FASTSNAP_PATH_STREAM) {
			cJSON_AddNumberToObject(o, "bytes_read", (double)r->bytes_read);
			cJSON_AddNumberToObject(o, "bytes_sent", (double)r->bytes_sent);
			json_str(o, "sha512", fastsnap_result_sha512(r));
			if (r->md5[0])
				cJSON_AddStringToObject(o, "md5", r->md5);
		}
		cJSON *steps = cJSON_AddObjectToObject(o, "steps");
		for (int i = 0; steps && i < FASTSNAP_STEP__COUNT; i++)
			if (r->step_s[i] > 0)
				cJSON_AddNumberToObject(steps, fastsnap_step_name((fastsnap_step)i), r->step_s[i]);
	}
	if (r->error_code) {
		cJSON_AddStringToObject(o, "error", r->error ? r->error : "");
		cJSON_AddStringToObject(o, "error_code", fastsnap_strerror(r->error_code));
	}
	r->json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return r->json;
}

void fastsnap_result_free(fastsnap_result *r)
{
	if (!r)
		return;
	free(r->image_id);
	free(r->name);
	free(r->reason);
	free(r->store);
	free(r->location);
	free(r->flatten);
	free(r->disk);
	free(r->error);
	free(r->json);
	free(r);
}
