/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/actions.c: what a run left needs, and doing it: nothing (complete,
 * or not provably this run's and unfinished: left alone with the reason),
 * finish (its image went active: flatten an interrupted clone, remove the
 * temporary snapshots and the disk's tag, clear the marks) or roll back
 * in a safe order (the clone's `snap`, the clone, the temporary snapshots,
 * the Glance image, the disk's tag), only once liveness.c says the owner
 * is dead. docs/operations.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cleanup/heartbeat.h"
#include "clients/flattener.h"
#include "clients/rbd.h"
#include "core/opts.h"
#include "engine.h"
#include "gc/gc.h"
#include "gc/gc_ctx.h"
#include "register/register.h"

/* ---- actions ---- */

/* `done` is the past tense of the action ("removed"); a dry run names
 * the action it would take ("remove"). */
static void act(gc_ctx *x, int rc, const char *done, const char *what)
{
	static const char *const verbs[][2] = {
		{ "removed", "remove" }, { "flattened", "flatten" }, { "finished", "finish" },
	};
	const char *verb = done;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(done, verbs[i][0]))
			verb = verbs[i][1];
	if (x->o.dry_run) {
		fs_gc_row(x, "would", NULL, "%s %s", verb, what);
	} else if (rc < 0) {
		fs_gc_row(x, "failed", fastsnap_error_last(), "%s", what);
		fastsnap_error_clear();
	} else {
		fs_gc_row(x, done, NULL, "%s", what);
	}
}

/* Children of pool/image@snap other than `mine` (pool/id), as a string. */
static char *foreign_children(gc_ctx *x, const char *pool, const char *image, const char *snap,
	const char *mine_pool, const char *mine)
{
	rados_ioctx_t io;
	if (fs_ceph_ioctx(&io, x->c, pool) < 0)
		return NULL;
	rbd_image_t img;
	fs_buf out = FS_BUF_INIT;
	if (rbd_open_read_only(io, image, &img, snap) == 0) {
		rbd_linked_image_spec_t kids[64];
		size_t n = 64;
		if (rbd_list_children3(img, kids, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (!kids[i].trash && !(mine && fs_streq(kids[i].pool_name, mine_pool) &&
					fs_streq(kids[i].image_name, mine)))
					fs_buf_printf(&out, "%s%s/%s", out.len ? ", " : "", kids[i].pool_name,
						kids[i].image_name);
			}
			rbd_linked_image_spec_list_cleanup(kids, n);
		}
		rbd_close(img);
	}
	rados_ioctx_destroy(io);
	return fs_buf_detach(&out);
}

/* The run's temporary snapshots (named for this run's id and owner);
 * with `tagged_disk_only`, only those on the disk whose run tag vouches. */
static void remove_snaps(gc_ctx *x, const gc_run *r, int tagged_disk_only)
{
	for (size_t i = 0; i < r->snaps.n; i++) {
		char pool[256], image[512], snap[512];
		if (sscanf(r->snaps.v[i], "%255[^\t]\t%511[^\t]\t%511s", pool, image, snap) != 3)
			continue;
		char *id = NULL, *owner = NULL;
		int ours = fs_gc_parse_tmp_snap(snap, &id, &owner) && fs_streq(id, r->id) &&
			fs_streq(owner, r->owner) && (!tagged_disk_only ||
			(fs_streq(pool, r->tag_pool) && fs_streq(image, r->tag_image)));
		free(id);
		free(owner);
		char *what = fs_asprintf("snapshot %s/%s@%s", pool, image, snap);
		if (!ours) {
			fs_gc_row(x, "skipped", "not named for this run's owner, or not on the disk its tag is on",
				"%s", what);
			free(what);
			continue;
		}
		char *kids = foreign_children(x, pool, image, snap, r->clone_pool, r->id);
		if (kids && *kids)
			fs_gc_row(x, "skipped", "it has children that are not fastsnap's", "%s (children: %s)",
				what, kids);
		else
			act(x, x->o.dry_run ? 0 : fs_rbd_snap_remove(x->c, pool, image, snap), "removed",
				what);
		free(kids);
		free(what);
	}
}

/* A run killed between creating its clone and tagging it (direct.c writes
 * the tags right after the clone exists) leaves a clone that no tag names.
 * While a dead, unfinished run is rolled back, a child of one of its own
 * temporary snapshots that is named by the run's image id is that clone:
 * the id is this run's (chosen for its Glance image), the parent is the
 * snapshot named for this run, so it cannot be a look-alike
 * (docs/operations.md). Removed before the snapshot, which it holds. */
enum { HALF_OPENABLE = 1, HALF_HEADERLESS = 2 };
static int half_made_clone(gc_ctx *x, const gc_run *r, const char *pool);
static int remove_headerless(gc_ctx *x, const char *pool, const char *name);

static void remove_untagged_clone(gc_ctx *x, const gc_run *r)
{
	for (size_t i = 0; !r->clone_pool && i < r->snaps.n; i++) {
		char pool[256], image[512], snap[512];
		if (sscanf(r->snaps.v[i], "%255[^\t]\t%511[^\t]\t%511s", pool, image, snap) != 3)
			continue;
		char *id = NULL, *owner = NULL;
		int ours = fs_gc_parse_tmp_snap(snap, &id, &owner) && fs_streq(id, r->id) &&
			fs_streq(owner, r->owner);
		free(id);
		free(owner);
		rados_ioctx_t io;
		if (!ours || fs_ceph_ioctx(&io, x->c, pool) < 0)
			continue;
		char *kid_pool = NULL;
		rbd_image_t img;
		if (rbd_open_read_only(io, image, &img, snap) == 0) {
			rbd_linked_image_spec_t kids[64];
			size_t n = 64;
			if (rbd_list_children3(img, kids, &n) == 0) {
				for (size_t k = 0; k < n && !kid_pool; k++)
					if (!kids[k].trash && fs_streq(kids[k].image_name, r->id))
						kid_pool = fs_strdup(kids[k].pool_name);
				rbd_linked_image_spec_list_cleanup(kids, n);
			}
			rbd_close(img);
		}
		rados_ioctx_destroy(io);
		/* killed inside rbd_clone: the image exists, not yet its child */
		int half = 0;
		for (size_t p = 0; !kid_pool && x->pools && p < x->pools->n; p++)
			if ((half = half_made_clone(x, r, x->pools->v[p])) != 0)
				kid_pool = fs_strdup(x->pools->v[p]);
		if (!kid_pool)
			continue;
		char *what = fs_asprintf("clone %s/%s (untagged: its run died before tagging it%s)",
			kid_pool, r->id, half == HALF_HEADERLESS ? "; librbd had not written its header" : "");
		int rc = 0;
		if (!x->o.dry_run && half == HALF_HEADERLESS) {
			rc = remove_headerless(x, kid_pool, r->id);
		} else if (!x->o.dry_run) {
			rc = fs_rbd_snap_remove(x->c, kid_pool, r->id, "snap");
			if (rc == FASTSNAP_ENOTFOUND)
				rc = 0;
			if (rc == 0)
				rc = fs_rbd_image_remove(x->c, kid_pool, r->id);
		}
		act(x, rc, "removed", what);
		free(what);
		free(kid_pool);
	}
}

/* Is `name` in the pool's image directory? 1 yes, 0 no (or unknown). */
static int listed(rados_ioctx_t io, const char *name)
{
	size_t max = 64;
	for (int tries = 0; tries < 8; tries++) {
		rbd_image_spec_t *v = calloc(max, sizeof(*v));
		if (!v)
			return 0;
		size_t n = max;
		int r = rbd_list2(io, v, &n);
		if (r == -ERANGE) {
			free(v);
			max = n > max ? n : 2 * max;
			continue;
		}
		int found = 0;
		if (r >= 0) {
			for (size_t i = 0; i < n; i++)
				found |= fs_streq(v[i].name, name);
			rbd_image_spec_list_cleanup(v, n);
		}
		free(v);
		return found;
	}
	return 0;
}

/* Remove a headerless half-made clone: fs_rbd_image_remove takes an image
 * it cannot open for gone, but librbd's own remove clears the directory
 * entry and id object such an image consists of. */
static int remove_headerless(gc_ctx *x, const char *pool, const char *name)
{
	rados_ioctx_t io;
	int r = fs_ceph_ioctx(&io, x->c, pool);
	if (r < 0)
		return r;
	r = rbd_remove(io, name);
	if (r == -ENOENT)
		r = 0;
	if (r == 0 && listed(io, name))
		r = -EEXIST;
	rados_ioctx_destroy(io);
	return r < 0 ? fs_err(fs_errno_to_code(r), "Ceph: cannot remove %s/%s (a clone without "
		"its header): %s", pool, name, strerror(-r)) : 0;
}

/* Is pool/name a clone that librbd began and never finished for this run
 * (killed inside rbd_clone)? HALF_OPENABLE: no snapshot, no metadata, and
 * no parent or the run's own temporary snapshot as parent (not yet listed
 * among its children); HALF_HEADERLESS: killed before librbd wrote the
 * header, so it cannot be opened, but the pool's directory lists the
 * name, which is the run's own random image id (docs/operations.md). */
static int half_made_clone(gc_ctx *x, const gc_run *r, const char *pool)
{
	rados_ioctx_t io;
	if (fs_ceph_ioctx(&io, x->c, pool) < 0)
		return 0;
	rbd_image_t img;
	int res = 0;
	int o = rbd_open_read_only(io, r->id, &img, NULL);
	if (o == -ENOENT && listed(io, r->id))
		res = HALF_HEADERLESS;
	if (o == 0) {
		rbd_snap_info_t snaps[4];
		int max = 4, ns = rbd_snap_list(img, snaps, &max);
		if (ns >= 0)
			rbd_snap_list_end(snaps);
		char keys[64], vals[64];
		size_t kl = sizeof(keys), vl = sizeof(vals);
		int nm = rbd_metadata_list(img, "", 1, keys, &kl, vals, &vl);
		rbd_linked_image_spec_t p;
		rbd_snap_spec_t ps;
		int pr = rbd_get_parent(img, &p, &ps);
		int parent_ok = pr == -ENOENT;
		if (pr == 0) {
			char *spec = fs_asprintf("%s\t%s\t%s", p.pool_name, p.image_name, ps.name);
			for (size_t i = 0; spec && i < r->snaps.n; i++)
				parent_ok |= fs_streq(r->snaps.v[i], spec);
			free(spec);
			rbd_linked_image_spec_cleanup(&p);
			rbd_snap_spec_cleanup(&ps);
		}
		res = ns == 0 && nm == 0 && kl <= 1 && parent_ok ? HALF_OPENABLE : 0;
		rbd_close(img);
	}
	rados_ioctx_destroy(io);
	return res;
}

/* The run's tag on its disk (fastsnap.run.<image id>). */
static void remove_disk_tags(gc_ctx *x, const gc_run *r)
{
	if (!r->tag_pool)
		return;
	char *what = fs_asprintf("run tag %s%s on %s/%s", FS_META_RUN_PREFIX, r->id, r->tag_pool,
		r->tag_image);
	int rc = 0;
	rados_ioctx_t io;
	rbd_image_t img;
	if (!x->o.dry_run && (rc = fs_ceph_ioctx(&io, x->c, r->tag_pool)) == 0) {
		int o = rbd_open(io, r->tag_image, &img, NULL);
		if (o == 0) {
			char *k = fs_asprintf("%s%s", FS_META_RUN_PREFIX, r->id);
			int m = k ? rbd_metadata_remove(img, k) : -ENOMEM;
			free(k);
			rbd_close(img);
			if (m < 0 && m != -ENOENT)
				rc = fs_err(fs_errno_to_code(m), "Ceph: cannot remove the run tag: %s",
					strerror(-m));
		} else if (o != -ENOENT) {
			rc = fs_err(fs_errno_to_code(o), "Ceph: cannot open %s/%s: %s", r->tag_pool,
				r->tag_image, strerror(-o));
		}
		rados_ioctx_destroy(io);
	}
	act(x, rc, "removed", what);
	free(what);
}

/* An interrupted flatten of the clone (not for none). */
static int unflat(const gc_run *r)
{
	return r->clone_pool && r->clone_has_parent && !fs_streq(r->clone_flatten, "none");
}

/* gc's own flatten writes the clone's heartbeat meanwhile, through the
 * flattening handle (the lock owner): in the helper when it can be run,
 * else here; either way the clone's object map is corrected first
 * (fs_flattener_finish, docs/architecture.md). */
static int gc_flatten(gc_ctx *x, const char *pool, const char *image)
{
	unsigned int hb_s = (unsigned int)x->heartbeat_s;
	fs_flattener *f = NULL;
	int rc = fs_flattener_start(&f, x->flatten_helper, x->c, x->lg);
	fs_flattener_ready_or_drop(&f);
	int in_helper = f != NULL;
	if (rc == 0 && in_helper)
		rc = fs_flattener_finish(f, pool, image, hb_s);
	fs_flattener_free(f);
	if (rc < 0 || in_helper)
		return rc;
	fs_rbd_image h;
	if ((rc = fs_rbd_image_open(&h, x->c, pool, image)) < 0)
		return rc;
	/* as the helper does: the object map first, before the lock */
	if ((rc = fs_rbd_image_unmark_absent(&h, NULL, NULL)) < 0) {
		fs_rbd_image_close(&h);
		return rc;
	}
	fs_heartbeat *hb = fs_heartbeat_start(x->c, pool, image, h.img, hb_s, x->lg);
	fastsnap_error_clear();   /* no heartbeat is not a failure */
	rc = fs_rbd_image_flatten(&h, NULL, NULL);
	fs_heartbeat_stop(hb, FS_HB_KEEP);
	fs_rbd_image_close(&h);
	return rc;
}

/* The image went active: finish what the run left (docs/operations.md):
 * an interrupted flatten (gc's own flatten keeps the clone's heartbeat),
 * the temporary snapshots, the disk's tag, and the image's marks when
 * Glance listed it marked and active. Never a removal of the clone or of
 * the Glance image. */
static void finish(gc_ctx *x, const gc_run *r)
{
	if (unflat(r)) {
		char *what = fs_asprintf("clone %s/%s (an interrupted %s flatten)", r->clone_pool, r->id,
			r->clone_flatten);
		act(x, x->o.dry_run ? 0 : gc_flatten(x, r->clone_pool, r->id), "flattened", what);
		free(what);
	}
	remove_snaps(x, r, 0);
	remove_disk_tags(x, r);
	if (r->img && fs_streq(r->img->status, "active") && (fs_image_prop(r->img, FS_PROP_STATE) ||
	    fs_image_prop(r->img, FS_PROP_ERROR))) {
		const char *k[] = { FS_PROP_STATE, FS_PROP_ERROR };
		char *what = fs_asprintf("image %s (active: marks cleared)", r->id);
		int rc = 0;
		/* Glance >= 29: the task that registered the location still hashes
		 * the image and will save its own older copy, marks included, over
		 * a removal made now: wait for it first, as the run's final check
		 * does (docs/glance-api.md); 300 s at most */
		if (!x->o.dry_run && fs_image_prop(r->img, "os_glance_import_task")) {
			fs_image *done = NULL;
			rc = fs_glance_wait_task_done(x->g, r->id, 300.0, &done);
			fs_image_free(done);
		}
		if (rc == 0 && !x->o.dry_run)
			rc = fs_glance_image_remove_props(x->g, r->id, k, 2);
		act(x, rc, "finished", what);
		free(what);
	}
}

/* The image never went active and never will: remove everything, in a
 * safe order. Only for a Glance image this run provably left unfinished
 * (unfinished_image) or, with no clone, none (a 404 for the id the run
 * chose). */
static void roll_back(gc_ctx *x, const gc_run *r)
{
	if (r->clone_pool && !r->done) {
		char *what = fs_asprintf("clone %s/%s", r->clone_pool, r->id);
		int rc = x->o.dry_run ? 0 : fs_rbd_snap_remove(x->c, r->clone_pool, r->id, "snap");
		if (rc == 0 && !x->o.dry_run)
			rc = fs_rbd_image_remove(x->c, r->clone_pool, r->id);
		act(x, rc, "removed", what);
		free(what);
	}
	remove_untagged_clone(x, r);
	remove_snaps(x, r, 0);
	if (r->img) {
		char *what = fs_asprintf("Glance image %s (%s)", r->id, r->img->status);
		int rc = x->o.dry_run ? 0 : fs_glance_image_delete(x->g, r->id);
		act(x, rc == FASTSNAP_ENOTFOUND ? 0 : rc, "removed", what);
		free(what);
	}
	remove_disk_tags(x, r);
}

/* Nothing of the run is left to finish: its image is done (the clone's
 * mark, or Glance says active and unmarked), and no flatten, temporary
 * snapshot or disk tag remains. */
static int complete(const gc_run *r)
{
	int finished = r->done || (r->img && fs_streq(r->img->status, "active") &&
		!fs_image_prop(r->img, FS_PROP_STATE));
	/* Glance >= 29 clears the run's mark at the final check, after the
	 * clone's done mark: a done run whose image Glance still lists as
	 * marked is finished by clearing the mark (finish) */
	int marked = r->img && fs_streq(r->img->status, "active") && fs_image_prop(r->img, FS_PROP_STATE);
	return finished && !marked && !unflat(r) && r->snaps.n == 0 && !r->tag_pool;
}

/* A Glance image this run provably left unfinished: not active, and
 * never to be (queued, saving, uploading, importing, or killed by a
 * failed upload), still marked in-progress. */
static int unfinished_image(const fs_image *img)
{
	static const char *const st[] = { "queued", "saving", "uploading", "importing", "killed" };
	int status_ok = 0;
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		status_ok |= fs_streq(img->status, st[i]);
	return status_ok && fs_streq(fs_image_prop(img, FS_PROP_STATE), FS_STATE_IN_PROGRESS);
}

/* Left alone, with the reason in the report. */
static void leave(gc_ctx *x, const gc_run *r, const char *why)
{
	fs_gc_row(x, "skipped", why, "run %s of %s", r->id, r->owner ? r->owner : "?");
}

void fs_gc_handle(gc_ctx *x, const gc_run *r)
{
	if (complete(r))
		return;
	const char *img_owner = r->img ? fs_image_prop(r->img, FS_PROP_OWNER) : NULL;
	if (r->img && !fs_streq(img_owner, r->owner)) {
		leave(x, r, "its Glance image is not tagged by this run");
		return;
	}
	/* What to do if the owner is dead: finish, roll back, or the
	 * temporary snapshots and tag only; or unknown: leave it. */
	enum { FINISH, ROLL_BACK, SNAPS_ONLY } plan;
	if (r->done) {
		plan = FINISH;       /* Glance is not asked: nothing it says changes this */
	} else if (r->img && fs_streq(r->img->status, "active")) {
		plan = FINISH;
	} else if (r->img && unfinished_image(r->img)) {
		plan = ROLL_BACK;
	} else if (r->img) {
		char *why = fs_asprintf("unknown: Glance says the image is %s%s%s, not an unfinished "
			"image of this run", r->img->status, fs_image_prop(r->img, FS_PROP_STATE) ?
			" and marked " : "", fs_image_prop(r->img, FS_PROP_STATE) ?
			fs_image_prop(r->img, FS_PROP_STATE) : "");
		leave(x, r, why);
		free(why);
		return;
	} else if (r->img_unknown) {
		char *why = fs_asprintf("unknown: %s", r->img_unknown);
		leave(x, r, why);
		free(why);
		return;
	} else if (r->clone_pool) {
		leave(x, r, "unknown: a clone whose Glance image this identity cannot see (404: another "
			"project's, another region's, or deleted by hand)");
		return;
	} else if (!r->tag_pool) {
		leave(x, r, "no run tag on the disk vouches for it (a name alone is not proof)");
		return;
	} else {
		plan = SNAPS_ONLY;   /* the run tag vouches; Glance has no image of that id */
	}
	char *why = NULL;
	int alive = fs_gc_owner_alive(x, r, &why);
	if (alive != 0) {
		fs_gc_row(x, "skipped", why, "run %s of %s (%s)", r->id, r->owner ? r->owner : "?",
			alive > 0 ? "live" : "not known to be dead");
		free(why);
		return;
	}
	fs_gc_row(x, "found", why, "run %s of %s", r->id, r->owner);
	free(why);
	if (plan == FINISH)
		finish(x, r);
	else if (plan == ROLL_BACK)
		roll_back(x, r);
	else {
		remove_snaps(x, r, 1);
		remove_disk_tags(x, r);
	}
}

