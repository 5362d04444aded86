/*
 * gc/gc.c: `fastsnap gc` (fastsnap_gc). For every run scan.c found, tell
 * whether its owner is dead (on this host: the pid is gone or its start
 * time differs; on another host: the heartbeat did not move between two
 * readings --older-than apart, kept in a state file, so that two hosts'
 * clocks are never compared), then either finish it (its image is
 * active: flatten an interrupted deferred clone, remove the temporary
 * snapshot, clear the marks) or roll it back in a safe order (the clone's
 * `snap`, the clone, the temporary snapshots, the Glance image, the
 * disk's tags). A live run is never touched. See docs/operations.md.
 */
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
#include "register/register.h"

struct fastsnap_gc_report {
	fs_strv what, action, detail;   /* parallel: one row per thing */
	int failed;
	int dry_run;
	size_t found;
	char *json;
};

typedef struct {
	fs_ceph *c;
	fs_glance *g;
	fastsnap_gc_opts o;
	fastsnap_gc_report *rep;
	cJSON *state;             /* {"owner": {"value": "...", "seen": epoch}} */
	fs_owner self;
	const char *flatten_helper;
	const fs_logger *lg;
} gc_ctx;

static void row(gc_ctx *x, const char *action, const char *detail, const char *fmt, ...)
	FS_PRINTF(4, 5);
static void row(gc_ctx *x, const char *action, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = fs_vasprintf(fmt, ap);
	va_end(ap);
	fs_strv_push(&x->rep->what, what ? what : "?");
	fs_strv_push(&x->rep->action, action);
	fs_strv_push(&x->rep->detail, detail ? detail : "");
	if (!strcmp(action, "failed"))
		x->rep->failed++;
	free(what);
}

/* ---- is the owner alive? ---- */

/* On this host: 1 alive, 0 dead. */
static int local_alive(long pid, unsigned long long start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int field = 2;
	for (p = p ? p + 1 : buf; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10) == start;
}

static char *meta_read(gc_ctx *x, const char *pool, const char *image, const char *key)
{
	rados_ioctx_t io;
	if (!pool || fs_ceph_ioctx(&io, x->c, pool) < 0) {
		fastsnap_error_clear();
		return NULL;
	}
	rbd_image_t img;
	char val[256];
	size_t len = sizeof(val);
	int r = rbd_open_read_only(io, image, &img, NULL);
	if (r == 0) {
		r = rbd_metadata_get(img, key, val, &len);
		rbd_close(img);
	}
	rados_ioctx_destroy(io);
	return r < 0 ? NULL : fs_strdup(val);
}

/* The run's heartbeat now: the disk's per-run key, else the clone's. */
static char *heartbeat_now(gc_ctx *x, const gc_run *r)
{
	char *v = NULL;
	if (r->tag_pool) {
		char *key = fs_asprintf("%s.%s", FS_META_HEARTBEAT, r->owner);
		v = key ? meta_read(x, r->tag_pool, r->tag_image, key) : NULL;
		free(key);
	}
	if (!v && r->clone_pool)
		v = meta_read(x, r->clone_pool, r->id, FS_META_HEARTBEAT);
	return v ? v : fs_strdup("none");
}

/* Another host: dead when the heartbeat equals the reading kept from at
 * least older_than seconds ago. Returns 1 alive, 0 dead, -1 not known yet. */
static int remote_alive(gc_ctx *x, const gc_run *r, char **why)
{
	char *now_v = heartbeat_now(x, r);
	long long now = (long long)time(NULL);
	cJSON *prev = cJSON_GetObjectItemCaseSensitive(x->state, r->owner);
	const char *pv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prev, "value"));
	double seen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(prev, "seen"));
	int res;
	if (pv && now_v && !strcmp(pv, now_v)) {
		res = now - (long long)seen >= x->o.older_than_s ? 0 : -1;
		*why = fs_asprintf("heartbeat %s unchanged for %lld s (older-than %ld s)", now_v,
			now - (long long)seen, x->o.older_than_s);
	} else {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "value", now_v ? now_v : "none");
		cJSON_AddNumberToObject(e, "seen", (double)now);
		cJSON_DeleteItemFromObjectCaseSensitive(x->state, r->owner);
		cJSON_AddItemToObject(x->state, r->owner, e);
		res = pv ? 1 : -1;
		*why = fs_asprintf(pv ? "heartbeat moved (%s)" : "heartbeat %s read for the first time; "
			"a later gc decides", now_v ? now_v : "none");
	}
	free(now_v);
	return res;
}

/* 1 alive, 0 dead, -1 not known yet; *why says how it was decided. */
static int owner_alive(gc_ctx *x, const gc_run *r, char **why)
{
	char host[64];
	long pid = 0;
	unsigned long long start = 0;
	*why = NULL;
	if (!r->owner || sscanf(r->owner, "%63[^:]:%ld:%llu", host, &pid, &start) != 3) {
		*why = fs_strdup("no readable owner tag");
		return -1;
	}
	if (strcmp(host, x->self.host) != 0)
		return remote_alive(x, r, why);
	int alive = local_alive(pid, start);
	*why = fs_asprintf(alive ? "pid %ld on this host is alive" : "pid %ld on this host is gone "
		"(or was reused)", pid);
	return alive;
}

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
		row(x, "would", NULL, "%s %s", verb, what);
	} else if (rc < 0) {
		row(x, "failed", fastsnap_error_last(), "%s", what);
		fastsnap_error_clear();
	} else {
		row(x, done, NULL, "%s", what);
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

static void remove_snaps(gc_ctx *x, const gc_run *r)
{
	for (size_t i = 0; i < r->snaps.n; i++) {
		char pool[128], image[256], snap[256];
		if (sscanf(r->snaps.v[i], "%127[^\t]\t%255[^\t]\t%255s", pool, image, snap) != 3)
			continue;
		char *kids = foreign_children(x, pool, image, snap, r->clone_pool, r->id);
		char *what = fs_asprintf("snapshot %s/%s@%s", pool, image, snap);
		if (kids && *kids)
			row(x, "skipped", "it has children that are not fastsnap's", "%s (children: %s)",
				what, kids);
		else
			act(x, x->o.dry_run ? 0 : fs_rbd_snap_remove(x->c, pool, image, snap), "removed",
				what);
		free(kids);
		free(what);
	}
}

static void remove_disk_tags(gc_ctx *x, const gc_run *r)
{
	if (!r->tag_pool)
		return;
	char *what = fs_asprintf("run tags of %s on %s/%s", r->owner, r->tag_pool, r->tag_image);
	int rc = 0;
	rados_ioctx_t io;
	rbd_image_t img;
	if (!x->o.dry_run && (rc = fs_ceph_ioctx(&io, x->c, r->tag_pool)) == 0) {
		if (rbd_open(io, r->tag_image, &img, NULL) == 0) {
			char *k1 = fs_asprintf("%s.%s", FS_META_HEARTBEAT, r->owner);
			char *k2 = fs_asprintf("%s%s", FS_META_RUN_PREFIX, r->owner);
			if (k1)
				rbd_metadata_remove(img, k1);
			if (k2)
				rbd_metadata_remove(img, k2);
			free(k1);
			free(k2);
			rbd_close(img);
		}
		rados_ioctx_destroy(io);
	}
	act(x, rc, "removed", what);
	free(what);
}

/* The image is active: finish what the run left (docs/operations.md). */
static void finish(gc_ctx *x, const gc_run *r)
{
	if (r->clone_pool && r->clone_has_parent && !fs_streq(r->clone_flatten, "none")) {
		char *what = fs_asprintf("clone %s/%s (an interrupted %s flatten)", r->clone_pool, r->id,
			r->clone_flatten);
		act(x, x->o.dry_run ? 0 : fs_flatten_image(x->c, x->flatten_helper, r->clone_pool,
			r->id, x->lg),
			"flattened", what);
		free(what);
	}
	remove_snaps(x, r);
	remove_disk_tags(x, r);
	const char *k[] = { FS_PROP_STATE, FS_PROP_ERROR };
	char *what = fs_asprintf("image %s (active: marks cleared)", r->id);
	act(x, x->o.dry_run ? 0 : fs_glance_image_remove_props(x->g, r->id, k, 2), "finished", what);
	free(what);
}

/* The image never went active: remove everything, in a safe order. */
static void roll_back(gc_ctx *x, const gc_run *r)
{
	if (r->clone_pool) {
		char *what = fs_asprintf("clone %s/%s", r->clone_pool, r->id);
		int rc = x->o.dry_run ? 0 : fs_rbd_snap_remove(x->c, r->clone_pool, r->id, "snap");
		if (rc == 0 && !x->o.dry_run)
			rc = fs_rbd_image_remove(x->c, r->clone_pool, r->id);
		act(x, rc, "removed", what);
		free(what);
	}
	remove_snaps(x, r);
	if (r->img) {
		char *what = fs_asprintf("Glance image %s (%s)", r->id, r->img->status);
		int rc = x->o.dry_run ? 0 : fs_glance_image_delete(x->g, r->id);
		act(x, rc == FASTSNAP_ENOTFOUND ? 0 : rc, "removed", what);
		free(what);
	}
	remove_disk_tags(x, r);
}

/* A run that finished: its image is active and unmarked, and nothing of
 * it is left but the clone's tags (which stay on a finished image). */
static int complete(const gc_run *r)
{
	int unflat = r->clone_pool && r->clone_has_parent && !fs_streq(r->clone_flatten, "none");
	return r->img && fs_streq(r->img->status, "active") && !fs_image_prop(r->img, FS_PROP_STATE) &&
		!unflat && r->snaps.n == 0 && !r->tag_pool;
}

static void handle(gc_ctx *x, const gc_run *r)
{
	if (complete(r))
		return;
	/* Only what a fastsnap image vouches for: its Glance image carries the
	 * same owner, or a clone or disk tag written by fastsnap says so. */
	const char *img_owner = r->img ? fs_image_prop(r->img, FS_PROP_OWNER) : NULL;
	if (r->img && !fs_streq(img_owner, r->owner)) {
		row(x, "skipped", "its Glance image is not tagged by this run", "run %s", r->id);
		return;
	}
	if (!r->img && !r->clone_pool && !r->tag_pool) {
		row(x, "skipped", "no Glance image, clone or disk tag vouches for it", "run %s", r->id);
		return;
	}
	char *why = NULL;
	int alive = owner_alive(x, r, &why);
	if (alive != 0) {
		row(x, "skipped", why, "run %s of %s (%s)", r->id, r->owner ? r->owner : "?",
			alive > 0 ? "live" : "not known to be dead yet");
		free(why);
		return;
	}
	row(x, "found", why, "run %s of %s", r->id, r->owner);
	free(why);
	if (r->img && fs_streq(r->img->status, "active"))
		finish(x, r);
	else
		roll_back(x, r);
}

/* ---- the state file (readings of other hosts' heartbeats) ---- */

static cJSON *state_load(const char *path)
{
	cJSON *s = NULL;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (f) {
		char buf[65536];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		s = cJSON_Parse(buf);
	}
	return cJSON_IsObject(s) ? s : (cJSON_Delete(s), cJSON_CreateObject());
}

static int state_save(const char *path, const cJSON *s)
{
	char *txt = cJSON_PrintUnformatted(s);
	char *tmp = fs_asprintf("%s.tmp", path);
	int rc = 0;
	mode_t old = umask(077);           /* 0600: it names hosts and runs */
	FILE *f = txt && tmp ? fopen(tmp, "w") : NULL;
	umask(old);
	int bad = !f;
	if (f) {
		bad |= fputs(txt, f) < 0;
		bad |= fclose(f) != 0;
	}
	if (bad || rename(tmp, path) != 0)
		rc = fs_err(FASTSNAP_EIO, "gc: cannot write the state file %s", path);
	free(txt);
	free(tmp);
	return rc;
}

/* ---- the public call ---- */

/* The pools to scan: the caller's, [libvirt] images_rbd_pool, and the
 * pools of Glance's rbd stores (when stores/detail is readable). */
static int pools_to_scan(fs_strv *pools, const fastsnap_engine *e, fs_glance *g,
	const fastsnap_gc_opts *o)
{
	for (size_t i = 0; i < o->pools_count; i++)
		if (o->pools[i] && fs_strv_push(pools, o->pools[i]) < 0)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (e->s.images_rbd_pool)
		fs_strv_push(pools, e->s.images_rbd_pool);
	fs_store_set set;
	if (fs_glance_stores(g, &set) == 0) {
		for (size_t i = 0; i < set.n; i++)
			if (fs_streq(set.v[i].type, "rbd") && set.v[i].pool)
				fs_strv_push(pools, set.v[i].pool);
		fs_store_set_free(&set);
	}
	fastsnap_error_clear();
	/* each pool once */
	for (size_t i = 0; i < pools->n; i++)
		for (size_t j = pools->n; j-- > i + 1;)
			if (!strcmp(pools->v[i], pools->v[j])) {
				free(pools->v[j]);
				pools->v[j] = pools->v[--pools->n];
			}
	return pools->n ? 0 : fs_err(FASTSNAP_EINVAL, "gc: no pool to scan (give --pool, or set "
		"[libvirt] images_rbd_pool)");
}

static int gc_run_all(gc_ctx *x, fastsnap_engine *e)
{
	fs_strv pools = FS_STRV_INIT;
	gc_runs runs;
	memset(&runs, 0, sizeof(runs));
	int rc = pools_to_scan(&pools, e, x->g, &x->o);
	if (rc == 0)
		rc = fs_gc_scan(&runs, x->c, x->g, &pools);
	for (size_t i = 0; rc == 0 && i < runs.notes.n; i++)
		row(x, "skipped", "look-alike", "%s", runs.notes.v[i]);
	x->rep->found = runs.n;
	for (size_t i = 0; rc == 0 && i < runs.n; i++)
		handle(x, &runs.v[i]);
	if (rc == 0 && x->o.state_file && !x->o.dry_run)
		rc = state_save(x->o.state_file, x->state);
	fs_gc_runs_free(&runs);
	fs_strv_free(&pools);
	return rc;
}

int fastsnap_gc(fastsnap_gc_report **out, fastsnap_engine *e, const fastsnap_gc_opts *in)
{
	fastsnap_error_clear();
	if (!out || !e)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_gc: NULL argument");
	*out = NULL;
	gc_ctx x;
	memset(&x, 0, sizeof(x));
	int rc = fs_gc_opts_upgrade(&x.o, in);
	if (rc < 0)
		return rc;
	if (x.o.older_than_s <= 0)
		x.o.older_than_s = 600;
	if (!(x.rep = calloc(1, sizeof(*x.rep))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	x.rep->dry_run = x.o.dry_run;
	x.c = e->ceph;
	x.flatten_helper = e->s.flatten_helper;
	x.lg = &e->log;
	fs_owner_self(&x.self);
	x.state = state_load(x.o.state_file);
	if ((rc = fs_glance_new(&x.g, &e->s, &e->log)) == 0)
		rc = gc_run_all(&x, e);
	fs_glance_free(x.g);
	cJSON_Delete(x.state);
	*out = x.rep;
	fs_engine_note_error(e, rc);
	return rc;
}

size_t fastsnap_gc_report_count(const fastsnap_gc_report *r) { return r ? r->what.n : 0; }
int fastsnap_gc_report_failed(const fastsnap_gc_report *r) { return r ? r->failed : 0; }

const char *fastsnap_gc_report_get(const fastsnap_gc_report *r, size_t i, const char **action,
	const char **detail)
{
	if (!r || i >= r->what.n)
		return NULL;
	if (action)
		*action = r->action.v[i];
	if (detail)
		*detail = r->detail.v[i];
	return r->what.v[i];
}

const char *fastsnap_gc_report_json(fastsnap_gc_report *r)
{
	if (!r)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
	cJSON_AddNumberToObject(o, "runs_found", (double)r->found);
	const char *groups[] = { "found", "removed", "flattened", "finished", "skipped", "failed", "would" };
	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		cJSON *a = cJSON_AddArrayToObject(o, groups[gi]);
		for (size_t i = 0; a && i < r->what.n; i++) {
			if (strcmp(r->action.v[i], groups[gi]) != 0)
				continue;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "what", r->what.v[i]);
			if (*r->detail.v[i])
				cJSON_AddStringToObject(e, "why", r->detail.v[i]);
			cJSON_AddItemToArray(a, e);
		}
	}
	cJSON_AddNumberToObject(o, "failed_count", r->failed);
	free(r->json);
	r->json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return r->json;
}

void fastsnap_gc_report_free(fastsnap_gc_report *r)
{
	if (!r)
		return;
	fs_strv_free(&r->what);
	fs_strv_free(&r->action);
	fs_strv_free(&r->detail);
	free(r->json);
	free(r);
}
