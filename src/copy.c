/* SPDX-License-Identifier: Apache-2.0 */
/*
 * copy.c: fastsnap_copy and a snapshot's copy_to. Glance copies the image
 * itself (POST /v2/images/{id}/import, method copy-image: it reads the
 * image from a store that has it into its staging area, then writes each
 * store asked for); this module asks, then polls the image for each
 * store's outcome: in `stores` (done), in os_glance_failed_import
 * (failed), or still missing when the task's lock (os_glance_import_task)
 * is gone (failed: with all_stores_must_succeed the task stops at the
 * first failure), until the wait's bound (timeout: Glance goes on). A copy
 * never undoes anything: the image is active before it starts.
 * docs/operations.md, "Edge sites".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy.h"
#include "core/opts.h"

#define FS_COPY_DEFAULT_WAIT_S 600L

/* Is `s` an item of the comma-separated `list`? */
static int in_list(const char *list, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		while (l && *p == ' ')
			p++, l--;
		if (l == n && !strncmp(p, s, n))
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

static int in_strv(const fs_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return 1;
	return 0;
}

static void set_state(fastsnap_result *res, const fs_copy_req *req, size_t i, const char *state,
	char *detail, double t0)
{
	struct fs_copy_state *c = &res->copies[i];
	c->state = state;
	free(c->detail);
	c->detail = detail;
	c->seconds = fs_now() - t0;
	if (req->cb)
		req->cb(c->store, state, req->payload);
}

static void note_stores(fastsnap_result *res, const fs_image *img)
{
	fs_buf b = FS_BUF_INIT;
	for (size_t i = 0; i < img->stores.n; i++)
		fs_buf_printf(&b, "%s%s", i ? "," : "", img->stores.v[i]);
	if (b.oom) {
		fs_buf_free(&b);
		return;
	}
	free(res->stores);
	res->stores = img->stores.n ? fs_buf_detach(&b) : (fs_buf_free(&b), NULL);
}

/* Sleep ms, in steps of 100 ms; 1 when the wait was canceled. */
static int nap(long ms, const fastsnap_cancel *cancel)
{
	while (ms > 0) {
		if (cancel && fastsnap_cancel_requested(cancel))
			return 1;
		long step = ms < 100 ? ms : 100;
		struct timespec ts = { 0, step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return cancel && fastsnap_cancel_requested(cancel);
}

int fs_copy_run(fastsnap_result *res, fs_glance *g, const fs_logger *lg, const char *id,
	const fs_copy_req *req)
{
	if (!req->n)
		return 0;
	if (!(res->copies = calloc(req->n, sizeof(*res->copies))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	for (size_t i = 0; i < req->n; i++) {
		res->copies[res->n_copies].state = "copying";
		if (!(res->copies[res->n_copies++].store = fs_strdup(req->stores[i])))
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	double t0 = fs_now();
	int rc = fs_glance_copy_image(g, id, req->stores, req->n, req->all_must_succeed);
	if (rc < 0) {
		fs_error_state err;
		fs_error_state_capture(&err);
		for (size_t i = 0; i < req->n; i++)
			set_state(res, req, i, "failed", fs_strdup(err.msg), t0);
		fs_error_state_restore(&err);
		return rc;
	}
	fs_log(lg, FASTSNAP_LOG_INFO, "Glance copies image %s into %zu store(s) (copy-image)", id,
		req->n);
	for (size_t i = 0; i < req->n; i++)
		if (req->cb)
			req->cb(res->copies[i].store, "copying", req->payload);
	size_t pending = req->n;
	char *task_msg = NULL;
	int canceled = 0, locked = 1;
	/* until every store has its outcome and Glance's task has let go of the
	 * image (its lock: a copy asked for right after would get a 409) */
	for (int polls = 0; pending || locked; polls++) {
		long wait_ms = 200 + 100L * polls;
		if (req->wait_s >= 0 && (canceled = nap(wait_ms < 1000 ? wait_ms : 1000, req->cancel)))
			break;
		fs_image *img = NULL;
		if (fs_glance_image_get(g, &img, id) < 0) {
			/* one failed look is no outcome: the copy goes on in Glance */
			fs_log(lg, FASTSNAP_LOG_WARN, "copy of %s: %s", id, fastsnap_error_last());
			fastsnap_error_clear();
		} else {
			note_stores(res, img);
			const char *failed = fs_image_prop(img, "os_glance_failed_import");
			int task_ended = fs_image_prop(img, "os_glance_import_task") == NULL;
			locked = !task_ended;
			for (size_t i = 0; i < req->n && req->wait_s >= 0; i++) {
				struct fs_copy_state *c = &res->copies[i];
				if (strcmp(c->state, "copying"))
					continue;
				if (in_strv(&img->stores, c->store)) {
					set_state(res, req, i, "done", NULL, t0);
					pending--;
				} else if (in_list(failed, c->store) || task_ended) {
					if (!task_msg)
						task_msg = fs_glance_last_task_failure(g, id);
					fastsnap_error_clear();
					/* with all_stores_must_succeed, the task ends at the
					 * first store that fails: the others are never tried */
					set_state(res, req, i, "failed", fs_asprintf("Glance's copy-image task %s "
						"store '%s'%s%s%s", in_list(failed, c->store) ? "failed to copy into" :
						"ended without copying into", c->store,
						!in_list(failed, c->store) && req->all_must_succeed ?
						" (all_stores_must_succeed: another store failed first)" : "",
						task_msg ? ": " : "", task_msg ? task_msg : ""), t0);
					pending--;
				}
			}
			fs_image_free(img);
		}
		if (req->wait_s < 0 || fs_now() - t0 >= (double)req->wait_s)
			break;
	}
	for (size_t i = 0; i < req->n && req->wait_s >= 0; i++)
		if (!strcmp(res->copies[i].state, "copying"))
			set_state(res, req, i, "timeout", fs_asprintf("still copying %s %.0f s after the "
				"request; Glance goes on (see the image's stores)",
				canceled ? "when the wait was canceled" : "at the end of the wait",
				fs_now() - t0), t0);
	free(task_msg);
	return 0;
}

void fs_copy_after_snapshot(fastsnap_result *res, fs_glance *g, fastsnap_engine *e,
	const fastsnap_snapshot_opts *o)
{
	fs_strv conf = FS_STRV_INIT;
	const char *const *stores = o->copy_to;
	size_t n = o->copy_to ? o->copy_to_count : 0;
	if (!n && e->s.glance_copy_to) {
		char *dup = fs_strdup(e->s.glance_copy_to), *save = NULL;
		for (char *t = dup ? strtok_r(dup, ", ", &save) : NULL; t; t = strtok_r(NULL, ", ", &save))
			if (fs_strv_push(&conf, t) < 0)
				break;
		free(dup);
		stores = (const char *const *)conf.v;
		n = conf.n;
	}
	if (!n || !res->image_id)
		goto done;
	fs_copy_req req = {
		.stores = stores, .n = n,
		.all_must_succeed = o->copy_all_must_succeed ? o->copy_all_must_succeed > 0 :
			e->s.copy_all_must_succeed != 0,
		.wait_s = o->copy_wait_s ? o->copy_wait_s : FS_COPY_DEFAULT_WAIT_S,
		.cb = o->copy_cb, .payload = o->copy_payload, .cancel = o->cancel,
	};
	fs_error_state err;
	fs_error_state_capture(&err);
	if (fs_copy_run(res, g, &e->log, res->image_id, &req) < 0)
		fs_log(&e->log, FASTSNAP_LOG_WARN, "image %s is active and kept; copying it failed: %s",
			res->image_id, fastsnap_error_last());
	fs_error_state_restore(&err);
done:
	fs_strv_free(&conf);
}

int fastsnap_copy(fastsnap_result **out, fastsnap_engine *e, const fastsnap_copy_opts *in)
{
	fastsnap_error_clear();
	if (out)
		*out = NULL;
	if (!e)
		return fs_err(FASTSNAP_EINVAL, "engine is NULL");
	fastsnap_copy_opts o;
	int rc = fs_copy_opts_upgrade(&o, in);
	if (rc == 0 && (!o.image_id || !*o.image_id))
		rc = fs_err(FASTSNAP_EINVAL, "fastsnap_copy: no image id");
	for (size_t i = 0; rc == 0 && i < o.stores_count; i++)
		if (!o.stores || !o.stores[i] || !*o.stores[i])
			rc = fs_err(FASTSNAP_EINVAL, "fastsnap_copy: store %zu is empty", i);
	if (rc == 0 && !o.stores_count)
		rc = fs_err(FASTSNAP_EINVAL, "fastsnap_copy: no store to copy into");
	if (rc < 0) {
		fs_engine_note_error(e, rc);
		return rc;
	}
	double t0 = fs_now();
	fastsnap_result *res = NULL;
	fs_glance *g = NULL;
	if ((rc = fs_result_new(&res)) < 0)
		return rc;
	res->copy_only = 1;
	if (!(res->image_id = fs_strdup(o.image_id)))
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = fs_glance_new(&g, &e->s, &e->log);
	if (rc == 0) {
		fs_copy_req req = {
			.stores = o.stores, .n = o.stores_count,
			.all_must_succeed = o.all_must_succeed ? o.all_must_succeed > 0 :
				e->s.copy_all_must_succeed != 0,
			.wait_s = o.wait_s ? o.wait_s : FS_COPY_DEFAULT_WAIT_S,
			.cb = o.copy_cb, .payload = o.copy_payload, .cancel = o.cancel,
		};
		rc = fs_copy_run(res, g, &e->log, o.image_id, &req);
	}
	fs_error_state err;
	fs_error_state_capture(&err);
	static const double no_steps[FASTSNAP_STEP__COUNT];
	fs_result_finish(res, rc, err.msg, fs_now() - t0, no_steps);
	fs_glance_free(g);
	if (out)
		*out = res;
	else
		fastsnap_result_free(res);
	fs_error_state_restore(&err);
	fs_engine_note_error(e, rc);
	return rc;
}
