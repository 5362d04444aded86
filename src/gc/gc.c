/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/gc.c: `fastsnap gc` (fastsnap_gc). Holds a leased RADOS lock per
 * scanned pool (one gc at a time per cluster), then for every run scan.c
 * found decides from what the run left whether it is unfinished, and
 * whether its owner is dead (the run's tag says it ended; on this host
 * and PID namespace: the pid is gone or its start time differs; else, or
 * when this host cannot see the pid: the heartbeat did not move between
 * two readings --older-than apart, kept per run in a state file, so that
 * two hosts' clocks are never compared). Unknown is never dead. It then
 * finishes the run (its image went active: flatten an interrupted clone,
 * remove the temporary snapshot and the disk's tag, clear the marks) or
 * rolls it back in a safe order (the clone's `snap`, the clone, the
 * temporary snapshots, the Glance image, the disk's tag) when the image
 * is provably unfinished: queued, saving, uploading, importing or killed,
 * marked in-progress by this very run. A finished image (fastsnap.done,
 * or any other Glance answer) is never rolled back. A live run is never
 * touched. See docs/operations.md.
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
#include "register/register.h"

/* --older-than's floor, in heartbeat periods. */
#define FS_GC_OLDER_THAN_PERIODS 4

struct fastsnap_gc_report {
	fs_strv what, action, detail;   /* parallel: one row per thing */
	int failed;
	int dry_run;
	size_t found;
	size_t glance_gets, images_opened;
	char host[256];
	char *json;
};

/* The per-pool locks and the thread that renews their lease. */
typedef struct {
	rados_ioctx_t *io;
	size_t n;
	char cookie[64];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, running;
	int lost;                 /* a renewal failed: act no more */
} gc_lock;

typedef struct {
	fs_ceph *c;
	fs_glance *g;
	fastsnap_gc_opts o;
	fastsnap_gc_report *rep;
	cJSON *state;             /* {"<image id>": {"value": "...", "seen": epoch}} */
	fs_owner self;
	const char *flatten_helper;
	long heartbeat_s;
	const fs_logger *lg;
	gc_lock lock;
	char *state_tmp;          /* the state file's unique temporary, made first */
	int state_fd;
	const fs_strv *pools;     /* the pools scanned */
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

/* Is the /proc mounted here this PID namespace's? Not when a process
 * entered another PID namespace and kept its /proc (nsenter --pid, a
 * container without its own /proc): there /proc/<pid> names another
 * process than pid <pid> of this namespace. */
static int proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == (long)getpid();
}

/* On this host and PID namespace (the owner's host part is this one's:
 * machine id and PID namespace, docs/operations.md "Who owns a run"):
 * 1 alive, 0 dead, -1 this process cannot tell, so the heartbeat decides.
 * kill(pid, 0) answers for this namespace: ESRCH, no such process, is the
 * only "dead" it gives; EPERM (another user's process) is "there". Whether
 * a process that is there is the run's (not a reused pid) only its start
 * time in /proc says, and /proc may not say: hidden (hidepid: ENOENT or
 * EACCES for another user's pid) or another namespace's /proc. */
static int local_alive(long pid, unsigned long long start)
{
	if (pid <= 0 || pid > INT_MAX)
		return -1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	if (!proc_is_ours())
		return -1;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	int field = 2;
	for (p = p + 1; *p && field < 22; p++)
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
	char val[512];
	size_t len = sizeof(val);
	int r = rbd_open_read_only(io, image, &img, NULL);
	if (r == 0) {
		r = rbd_metadata_get(img, key, val, &len);
		rbd_close(img);
	}
	rados_ioctx_destroy(io);
	return r < 0 ? NULL : fs_strdup(val);
}

/* A run tag's reading: 1 a heartbeat (*beat set, caller frees), 0 the run
 * says it ended, -1 not this run's or unreadable. */
static int tag_reading(const gc_run *r, const char *value, char **beat)
{
	char *owner = NULL;
	const char *b = NULL;
	int res = -1;
	if (value && fs_gc_parse_run_tag(value, &owner, &b) && fs_streq(owner, r->owner)) {
		res = strcmp(b, FS_RUN_ENDED) == 0 ? 0 : 1;
		if (res == 1 && !(*beat = fs_strdup(b)))
			res = -1;
	}
	free(owner);
	return res;
}

/* The run's heartbeat now: 1 read (*v, caller frees), 0 the run's tag says
 * it ended, -1 none readable (unknown: never taken for dead). Where: the
 * disk's run tag, the clone's fastsnap.heartbeat, or what the image's
 * fastsnap_heartbeat property names. */
static int heartbeat_now(gc_ctx *x, const gc_run *r, char **v)
{
	*v = NULL;
	char *key = fs_asprintf("%s%s", FS_META_RUN_PREFIX, r->id);
	int res = -1;
	if (key && r->tag_pool) {
		char *tv = meta_read(x, r->tag_pool, r->tag_image, key);
		res = tag_reading(r, tv, v);
		free(tv);
	}
	if (res < 0 && r->clone_pool)
		res = (*v = meta_read(x, r->clone_pool, r->id, FS_META_HEARTBEAT)) ? 1 : -1;
	const char *at = r->img ? fs_image_prop(r->img, FS_PROP_HEARTBEAT) : NULL;
	const char *slash = at ? strchr(at, '/') : NULL;
	if (res < 0 && key && slash && slash != at && slash[1]) {
		char *pool = fs_strndup(at, (size_t)(slash - at));
		if (pool && !strcmp(slash + 1, r->id)) {
			res = (*v = meta_read(x, pool, r->id, FS_META_HEARTBEAT)) ? 1 : -1;
		} else if (pool) {
			char *tv = meta_read(x, pool, slash + 1, key);
			res = tag_reading(r, tv, v);
			free(tv);
		}
		free(pool);
	}
	free(key);
	return res;
}

/* By the heartbeat: dead when it equals the reading kept from at least
 * older_than seconds ago. Returns 1 alive, 0 dead, -1 not known (yet). */
static int heartbeat_alive(gc_ctx *x, const gc_run *r, const char *how, char **why)
{
	char *now_v = NULL;
	int h = heartbeat_now(x, r, &now_v);
	if (h == 0) {
		*why = fs_strdup("the run's tag says it ended");
		return 0;
	}
	if (h < 0) {
		*why = fs_asprintf("%s; no heartbeat of the run is readable: unknown, so left alone", how);
		return -1;
	}
	long long now = (long long)time(NULL);
	cJSON *prev = cJSON_GetObjectItemCaseSensitive(x->state, r->id);
	const char *pv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prev, "value"));
	double seen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(prev, "seen"));
	int res;
	if (pv && !strcmp(pv, now_v)) {
		res = now - (long long)seen >= x->o.older_than_s ? 0 : -1;
		*why = fs_asprintf("%s; heartbeat %s unchanged for %lld s (older-than %ld s)", how, now_v,
			now - (long long)seen, x->o.older_than_s);
	} else {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "value", now_v);
		cJSON_AddNumberToObject(e, "seen", (double)now);
		cJSON_DeleteItemFromObjectCaseSensitive(x->state, r->id);
		cJSON_AddItemToObject(x->state, r->id, e);
		res = pv ? 1 : -1;
		*why = pv ? fs_asprintf("%s; heartbeat moved (%s)", how, now_v) :
			fs_asprintf("%s; heartbeat %s read for the first time: a later gc decides", how, now_v);
	}
	free(now_v);
	return res;
}

/* 1 alive, 0 dead, -1 not known (yet); *why says how it was decided. */
static int owner_alive(gc_ctx *x, const gc_run *r, char **why)
{
	char host[256];
	long pid = 0;
	unsigned long long start = 0;
	*why = NULL;
	if (!r->owner || sscanf(r->owner, "%255[^:]:%ld:%llu", host, &pid, &start) != 3) {
		*why = fs_strdup("no readable owner tag: unknown, so left alone");
		return -1;
	}
	char *beat = NULL;
	if (r->tag_value && tag_reading(r, r->tag_value, &beat) == 0) {
		*why = fs_strdup("the run's tag says it ended");
		return 0;
	}
	free(beat);
	if (strcmp(host, x->self.host) != 0)
		return heartbeat_alive(x, r, "another host or PID namespace", why);
	int alive = local_alive(pid, start);
	if (alive < 0)
		return heartbeat_alive(x, r, "this host cannot tell whether its pid is the run's (hidepid, "
			"another user's process, or a /proc of another PID namespace)", why);
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
			row(x, "skipped", "not named for this run's owner, or not on the disk its tag is on",
				"%s", what);
			free(what);
			continue;
		}
		char *kids = foreign_children(x, pool, image, snap, r->clone_pool, r->id);
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
	row(x, "skipped", why, "run %s of %s", r->id, r->owner ? r->owner : "?");
}

static void handle(gc_ctx *x, const gc_run *r)
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
	int alive = owner_alive(x, r, &why);
	if (alive != 0) {
		row(x, "skipped", why, "run %s of %s (%s)", r->id, r->owner ? r->owner : "?",
			alive > 0 ? "live" : "not known to be dead");
		free(why);
		return;
	}
	row(x, "found", why, "run %s of %s", r->id, r->owner);
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

/* ---- the state file (heartbeat readings, per run) ---- */

/* The whole file, whatever its size; a file that is there but is not a
 * JSON object is an error (never silently started over). */
static int state_load(cJSON **out, const char *path)
{
	*out = NULL;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f) {
		if (path && errno != ENOENT)
			return fs_err(FASTSNAP_EIO, "gc: cannot read the state file %s: %s", path,
				strerror(errno));
		*out = cJSON_CreateObject();
		return *out ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	fs_buf b = FS_BUF_INIT;
	char chunk[16384];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fs_buf_put(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	char *txt = fs_buf_detach(&b);
	cJSON *s = !bad && txt ? cJSON_Parse(txt) : NULL;
	free(txt);
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		return fs_err(FASTSNAP_EIO, "gc: the state file %s is not a JSON object: move it away "
			"(readings then start over)", path);
	}
	*out = s;
	return 0;
}

/* Before anything is done: the state file's temporary, under a unique
 * name beside it, so that a state file that cannot be written stops gc
 * before it acts, and two gc never write the same temporary. */
static int state_prepare(gc_ctx *x)
{
	x->state_fd = -1;
	if (!x->o.state_file || x->o.dry_run)
		return 0;
	if (!(x->state_tmp = fs_asprintf("%s.XXXXXX", x->o.state_file)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	mode_t old = umask(077);           /* 0600: it names hosts and runs */
	x->state_fd = mkstemp(x->state_tmp);
	umask(old);
	if (x->state_fd < 0) {
		int e = errno;
		free(x->state_tmp);
		x->state_tmp = NULL;
		return fs_err(FASTSNAP_EIO, "gc: cannot write beside the state file %s (%s); nothing was "
			"done: create its folder, or give another --state-file", x->o.state_file, strerror(e));
	}
	return 0;
}

/* Only the runs found this time. */
static void state_prune(gc_ctx *x, const gc_runs *runs)
{
	cJSON *e = x->state ? x->state->child : NULL;
	while (e) {
		cJSON *next = e->next;
		int found = 0;
		for (size_t i = 0; !found && i < runs->n; i++)
			found = e->string && !strcmp(e->string, runs->v[i].id);
		if (!found)
			cJSON_Delete(cJSON_DetachItemViaPointer(x->state, e));
		e = next;
	}
}

static int state_save(gc_ctx *x)
{
	if (x->state_fd < 0)
		return 0;
	char *txt = cJSON_PrintUnformatted(x->state);
	size_t len = txt ? strlen(txt) : 0, off = 0;
	int bad = !txt;
	while (!bad && off < len) {
		ssize_t w = write(x->state_fd, txt + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		bad = w <= 0;
		off += w > 0 ? (size_t)w : 0;
	}
	bad |= fsync(x->state_fd) != 0;
	bad |= close(x->state_fd) != 0;
	x->state_fd = -1;
	int rc = 0;
	if (bad || rename(x->state_tmp, x->o.state_file) != 0) {
		rc = fs_err(FASTSNAP_EIO, "gc: cannot write the state file %s: %s", x->o.state_file,
			strerror(errno));
		unlink(x->state_tmp);
	}
	free(x->state_tmp);
	x->state_tmp = NULL;
	free(txt);
	return rc;
}

static void state_abandon(gc_ctx *x)
{
	if (x->state_fd >= 0) {
		close(x->state_fd);
		unlink(x->state_tmp);
	}
	x->state_fd = -1;
	free(x->state_tmp);
	x->state_tmp = NULL;
}

/* ---- one gc at a time (docs/operations.md, "Two gc at once") ---- */

#define GC_LOCK_OBJECT "fastsnap.gc.lock"
#define GC_LOCK_NAME "fastsnap-gc"
#define GC_LEASE_S 30
#define GC_RENEW_S 10

static int lock_take(rados_ioctx_t io, const char *cookie, int renew)
{
	struct timeval lease = { GC_LEASE_S, 0 };
	return rados_lock_exclusive(io, GC_LOCK_OBJECT, GC_LOCK_NAME, cookie,
		"fastsnap gc (a lease: it lapses when gc dies)", &lease,
		renew ? LIBRADOS_LOCK_FLAG_MAY_RENEW : 0);
}

static void *lock_renewer(void *arg)
{
	gc_lock *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += GC_RENEW_S;
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		for (size_t i = 0; i < l->n; i++)
			if (lock_take(l->io[i], l->cookie, 1) < 0)
				l->lost = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static int lock_lost(gc_ctx *x)
{
	pthread_mutex_lock(&x->lock.mu);
	int lost = x->lock.lost;
	pthread_mutex_unlock(&x->lock.mu);
	return lost;
}

/* Take every pool's lock (sorted order), or none: *busy names the pool
 * another gc holds. */
static int lock_all(gc_ctx *x, const fs_strv *pools, char **busy)
{
	gc_lock *l = &x->lock;
	*busy = NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(l->cookie, sizeof(l->cookie), "%s-%ld-%lld", "gc", (long)getpid(),
		(long long)time(NULL));
	if (!(l->io = calloc(pools->n ? pools->n : 1, sizeof(*l->io))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	for (size_t i = 0; i < pools->n; i++) {
		int rc = fs_ceph_ioctx(&l->io[l->n], x->c, pools->v[i]);
		if (rc < 0)
			return rc;
		int r = lock_take(l->io[l->n], l->cookie, 0);
		if (r == -EBUSY || r == -EEXIST) {
			rados_ioctx_destroy(l->io[l->n]);
			*busy = fs_strdup(pools->v[i]);
			return 0;
		}
		if (r < 0) {
			rados_ioctx_destroy(l->io[l->n]);
			return fs_err(fs_errno_to_code(r), "Ceph: cannot take gc's lock in pool %s: %s",
				pools->v[i], strerror(-r));
		}
		l->n++;
	}
	if (pthread_create(&l->thread, NULL, lock_renewer, l) != 0)
		return fs_err(FASTSNAP_ENOMEM, "cannot start the thread that renews gc's lock");
	l->running = 1;
	return 0;
}

static void unlock_all(gc_ctx *x)
{
	gc_lock *l = &x->lock;
	if (!l->io)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->running)
		pthread_join(l->thread, NULL);
	for (size_t i = 0; i < l->n; i++) {
		rados_unlock(l->io[i], GC_LOCK_OBJECT, GC_LOCK_NAME, l->cookie);
		rados_ioctx_destroy(l->io[i]);
	}
	free(l->io);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	memset(l, 0, sizeof(*l));
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int gc_run_all(gc_ctx *x, fastsnap_engine *e)
{
	fs_strv pools = FS_STRV_INIT;
	gc_runs runs;
	memset(&runs, 0, sizeof(runs));
	char *busy = NULL;
	int rc = pools_to_scan(&pools, e, x->g, &x->o);
	if (rc == 0)
		qsort(pools.v, pools.n, sizeof(*pools.v), cmp_str);
	x->pools = &pools;
	if (rc == 0 && !x->o.dry_run)
		rc = lock_all(x, &pools, &busy);
	if (rc == 0 && busy) {
		row(x, "skipped", "another gc holds this pool's lock (fastsnap.gc.lock): nothing was done",
			"pool %s", busy);
		free(busy);
		unlock_all(x);
		state_abandon(x);
		fs_strv_free(&pools);
		return 0;
	}
	if (rc == 0)
		rc = fs_gc_scan(&runs, x->c, x->g, &pools);
	for (size_t i = 0; rc == 0 && i < runs.notes.n; i++)
		row(x, "skipped", "look-alike", "%s", runs.notes.v[i]);
	x->rep->found = runs.n;
	x->rep->glance_gets = runs.glance_gets;
	x->rep->images_opened = runs.images_opened;
	for (size_t i = 0; rc == 0 && i < runs.n; i++) {
		if (!x->o.dry_run && lock_lost(x)) {
			rc = fs_err(FASTSNAP_EIO, "gc: its lock could not be renewed; stopped before run %s",
				runs.v[i].id);
			break;
		}
		handle(x, &runs.v[i]);
	}
	if (rc == 0) {
		state_prune(x, &runs);
		rc = state_save(x);
	}
	state_abandon(x);
	unlock_all(x);
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
	x.state_fd = -1;
	int rc = fs_gc_opts_upgrade(&x.o, in);
	if (rc < 0)
		return rc;
	if (x.o.older_than_s <= 0)
		x.o.older_than_s = 600;
	x.heartbeat_s = e->s.heartbeat_s > 0 ? e->s.heartbeat_s : 5;
	/* A heartbeat is written every period; a reading must span several,
	 * or a slow write is taken for a death. */
	if (x.o.older_than_s < FS_GC_OLDER_THAN_PERIODS * x.heartbeat_s)
		return fs_err(FASTSNAP_EINVAL, "gc: --older-than %ld s is below its floor of %ld s (%d "
			"heartbeat periods of %ld s)", x.o.older_than_s,
			FS_GC_OLDER_THAN_PERIODS * x.heartbeat_s, FS_GC_OLDER_THAN_PERIODS, x.heartbeat_s);
	if (!(x.rep = calloc(1, sizeof(*x.rep))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	x.rep->dry_run = x.o.dry_run;
	x.c = e->ceph;
	x.flatten_helper = e->s.flatten_helper;
	x.lg = &e->log;
	fs_owner_self(&x.self);
	snprintf(x.rep->host, sizeof(x.rep->host), "%s", x.self.host);
	if ((rc = state_load(&x.state, x.o.state_file)) == 0 && (rc = state_prepare(&x)) == 0 &&
	    (rc = fs_glance_new(&x.g, &e->s, &e->log)) == 0)
		rc = gc_run_all(&x, e);
	state_abandon(&x);
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
	cJSON_AddStringToObject(o, "host", r->host);
	cJSON_AddNumberToObject(o, "runs_found", (double)r->found);
	cJSON_AddNumberToObject(o, "images_scanned", (double)r->images_opened);
	cJSON_AddNumberToObject(o, "glance_gets", (double)r->glance_gets);
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
