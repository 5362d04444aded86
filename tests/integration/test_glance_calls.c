/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_glance_calls.c: which Glance calls a run makes,
 * read from the library's own request log (every request the HTTP layer
 * sends is logged at debug level as "METHOD URL -> STATUS"), against the
 * real Glance of each stack: no call after the location that its answer
 * makes redundant (issue 20).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"
#include "fastsnap.h"

#define MiB (1ULL << 20)

FST_POOLS_SUITE(glance_calls, .timeout = 300);

/* The requests an engine sent: one "METHOD URL -> STATUS ..." per line. */
typedef struct {
	pthread_mutex_t mu;
	char *buf;
	size_t len, cap;
} reqlog;

static void on_log(fastsnap_log_level lvl, const char *msg, void *payload)
{
	reqlog *l = payload;
	(void)lvl;
	size_t n = strlen(msg);
	pthread_mutex_lock(&l->mu);
	if (l->len + n + 2 > l->cap) {
		size_t cap = (l->cap + n + 2) * 2;
		char *b = realloc(l->buf, cap);
		if (!b) {
			pthread_mutex_unlock(&l->mu);
			return;
		}
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, msg, n);
	l->len += n;
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
	pthread_mutex_unlock(&l->mu);
}

static fastsnap_engine *engine_logged_cache(reqlog *l, long cache_s)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	fastsnap_engine_opts o = fst_engine_opts();
	o.glance_cache_s = cache_s;
	o.log_cb = on_log;
	o.log_payload = l;
	fastsnap_engine *e = NULL;
	cr_assert_eq(fastsnap_engine_open(&e, &o), 0, "%s", fastsnap_error_last());
	return e;
}

static fastsnap_engine *engine_logged(reqlog *l)
{
	return engine_logged_cache(l, 0);
}

static void reqlog_reset(reqlog *l)
{
	pthread_mutex_lock(&l->mu);
	l->len = 0;
	if (l->buf)
		l->buf[0] = '\0';
	pthread_mutex_unlock(&l->mu);
}

static void reqlog_free(reqlog *l)
{
	free(l->buf);
	pthread_mutex_destroy(&l->mu);
}

/* The request lines (those with " -> ") whose method is `method` (NULL:
 * any) and whose URL ends with `path_end` (NULL: any), in order, as
 * indexes among all request lines; returns how many. */
static int requests(const reqlog *l, const char *method, const char *path_end, int *idx,
	int max, int *total)
{
	int n = 0, k = 0;
	char *copy = strdup(l->buf ? l->buf : "");
	for (char *save, *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *arrow = strstr(line, " -> ");
		char *sp = strchr(line, ' ');
		if (!arrow || !sp || sp > arrow)
			continue;
		size_t ml = (size_t)(sp - line);
		char *url = sp + 1;
		size_t ul = (size_t)(arrow - url);
		int ok = !method || (strlen(method) == ml && !strncmp(line, method, ml));
		if (ok && path_end) {
			size_t pl = strlen(path_end);
			ok = ul >= pl && !strncmp(url + ul - pl, path_end, pl);
		}
		if (ok) {
			if (idx && n < max)
				idx[n] = k;
			n++;
		}
		k++;
	}
	free(copy);
	if (total)
		*total = k;
	return n;
}

/* A direct `none` snapshot of a fresh disk booted from a base image. */
static int snapshot_direct(fastsnap_engine *e, const char *base, char *id, size_t idlen,
	char **disk_out, uint64_t size)
{
	char *disk = fst_unique("fst-gcalls");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, size, 17, NULL, sha);
	char spec[256], name[256];
	snprintf(spec, sizeof(spec), "vms/%s", disk);
	snprintf(name, sizeof(name), "%s-img", disk);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = spec;
	o.name = name;
	o.base_image_ref = base;
	o.flatten = FASTSNAP_FLATTEN_NONE;
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	cr_assert_eq(rc, 0, "%s", fastsnap_error_last());
	cr_assert_eq(fastsnap_result_path(r), FASTSNAP_PATH_DIRECT, "%s", fastsnap_result_reason(r));
	snprintf(id, idlen, "%s", fastsnap_result_image_id(r));
	fastsnap_result_free(r);
	*disk_out = disk;
	return rc;
}

/* After the location call, nothing the call's answer already said: on
 * Glance 25 the PATCH (which also removes fastsnap_state) is the run's
 * last request for the image; on Glance >= 29 the polls after the POST
 * (until active, then until the background hash's task let go of the
 * image) are followed by one PATCH (the mark's removal), no other GET. */
Test(glance_calls, no_call_after_location)
{
	char *base = fst_base_image("fast", 4 * MiB, 5);
	reqlog l;
	fastsnap_engine *e = engine_logged(&l);
	char id[64], path[128];
	char *disk = NULL;
	snapshot_direct(e, base, id, sizeof(id), &disk, 16 * MiB);
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	int all = 0, last_any[64], patches[8], gets[64];
	int n_any = requests(&l, NULL, path, last_any, 64, &all);
	int n_patch = requests(&l, "PATCH", path, patches, 8, NULL);
	int n_get = requests(&l, "GET", path, gets, 64, NULL);
	cr_assert_eq(n_patch, 1, "PATCHes of the image: %d\n%s", n_patch, l.buf);
	cr_assert_eq(last_any[n_any - 1], patches[0], "a call after the last PATCH\n%s", l.buf);
	char post_path[160];
	snprintf(post_path, sizeof(post_path), "%s/locations", path);
	if (!strcmp(fst_stack(), "bookworm")) {
		/* POST /locations answers 404 on Glance 25; the PATCH is the
		 * location itself, and nothing follows it */
		cr_assert_eq(n_get, 0, "GETs of the image: %d\n%s", n_get, l.buf);
		int posts[4];
		cr_assert_eq(requests(&l, "POST", post_path, posts, 4, NULL), 1, "%s", l.buf);
		cr_assert_gt(patches[0], posts[0]);
	} else {
		int posts[4];
		cr_assert_eq(requests(&l, "POST", post_path, posts, 4, NULL), 1, "%s", l.buf);
		const char *act = strstr(l.buf, "active after ");
		cr_assert_not_null(act, "no poll count in the log\n%s", l.buf);
		int polls = atoi(act + strlen("active after "));
		/* then, if Glance's background hash still held the image, the
		 * polls until its task let go (the mark's removal waits for it) */
		const char *task = strstr(l.buf, "its import task ended after ");
		if (task)
			polls += atoi(task + strlen("its import task ended after "));
		cr_assert_eq(n_get, polls, "%d GETs of the image for %d polls (a final GET?)\n%s", n_get,
			polls, l.buf);
		cr_assert_gt(gets[0], posts[0]);
	}
	char *state = fst_glance_prop(id, "fastsnap_state");
	cr_assert_null(state, "fastsnap_state %s left on a finished image", state);
	char *st = fst_glance_status(id);
	cr_assert_str_eq(st, "active");
	free(st);
	fst_glance_delete(id);
	fst_rbd_remove_all(vms, disk);
	free(disk);
	fastsnap_engine_close(e);
	reqlog_free(&l);
	fst_glance_delete(base);
	free(base);
}

/* A plan of `disk` with base image `base` (the resolve stage alone). */
static void plan_once(fastsnap_engine *e, const char *disk, const char *base)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "vms/%s", disk);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = spec;
	o.name = "fst-gcalls-plan";
	o.base_image_ref = base;
	fastsnap_result *r = NULL;
	cr_assert_eq(fastsnap_plan(&r, e, &o), 0, "%s", fastsnap_error_last());
	fastsnap_result_free(r);
}

/* How many requests to `path` the log holds, and how many lines of it say
 * "new connection". */
static int count(const reqlog *l, const char *path) { return requests(l, "GET", path, NULL, 0, NULL); }
static int new_connections(const reqlog *l)
{
	int n = 0;
	for (const char *p = l->buf; p && (p = strstr(p, ", new connection)")); p++)
		n++;
	return n;
}

/* The engine keeps Glance's store list, its detail and the schema for
 * glance_cache_s: a second run within it asks none of them, a run after it
 * asks again; the base image is asked every run. Its runs reuse the HTTP
 * connections of the runs before (the engine's pool). */
Test(glance_calls, stores_and_schema_kept_per_engine)
{
	char *base = fst_base_image("fast", 4 * MiB, 6);
	char *disk = fst_unique("fst-gcache");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, 8 * MiB, 3, NULL, sha);
	char base_path[128];
	snprintf(base_path, sizeof(base_path), "/v2/images/%s", base);
	reqlog l;
	fastsnap_engine *e = engine_logged_cache(&l, 2);
	plan_once(e, disk, base);
	cr_assert_eq(count(&l, "/v2/info/stores"), 1, "%s", l.buf);
	cr_assert_eq(count(&l, "/v2/info/stores/detail"), 1, "%s", l.buf);
	cr_assert_eq(count(&l, "/v2/schemas/image"), 1, "%s", l.buf);
	cr_assert_eq(count(&l, base_path), 1, "%s", l.buf);
	cr_assert_geq(new_connections(&l), 1, "the first run opens a connection\n%s", l.buf);

	reqlog_reset(&l);
	plan_once(e, disk, base);
	cr_assert_eq(count(&l, "/v2/info/stores"), 0, "within the TTL\n%s", l.buf);
	cr_assert_eq(count(&l, "/v2/info/stores/detail"), 0, "within the TTL\n%s", l.buf);
	cr_assert_eq(count(&l, "/v2/schemas/image"), 0, "within the TTL\n%s", l.buf);
	cr_assert_eq(count(&l, base_path), 1, "%s", l.buf);
	cr_assert(strstr(l.buf, "from the engine's cache"), "%s", l.buf);
	cr_assert_eq(new_connections(&l), 0, "the second run reuses a connection\n%s", l.buf);

	usleep(2300 * 1000);             /* past the 2 s TTL */
	reqlog_reset(&l);
	plan_once(e, disk, base);
	cr_assert_eq(count(&l, "/v2/info/stores"), 1, "after the TTL\n%s", l.buf);
	cr_assert_eq(count(&l, "/v2/info/stores/detail"), 1, "after the TTL\n%s", l.buf);
	cr_assert_eq(count(&l, "/v2/schemas/image"), 1, "after the TTL\n%s", l.buf);
	cr_assert_eq(new_connections(&l), 0, "the four calls reuse the pool's connections\n%s",
		l.buf);
	fastsnap_engine_close(e);
	reqlog_free(&l);

	/* glance_cache_s < 0: nothing is kept */
	e = engine_logged_cache(&l, -1);
	plan_once(e, disk, base);
	plan_once(e, disk, base);
	cr_assert_eq(count(&l, "/v2/info/stores"), 2, "%s", l.buf);
	cr_assert_eq(count(&l, "/v2/schemas/image"), 2, "%s", l.buf);
	cr_assert_null(strstr(l.buf, "from the engine's cache"), "%s", l.buf);
	fastsnap_engine_close(e);
	reqlog_free(&l);

	fst_rbd_remove_all(vms, disk);
	free(disk);
	fst_glance_delete(base);
	free(base);
}
