/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/cells.c: the cells fastsnap-bench runs inside its own (forked)
 * process: disk set-up, fastsnap through the public API (one run, or N
 * threads on one engine), the streamed path's data engine alone (into the
 * null sink, to nowhere, into the rbd store: internal modules, because the
 * public API has no "stream into this URL" nor "stream even into a
 * same-cluster rbd store"), sha512 alone, and the direct path's floor: the
 * unavoidable librbd and Glance calls issued alone with one Ceph connection
 * and one kept-alive HTTP connection per thread.
 * Each cell writes its figures into a JSON object; "t" is the cell's time.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include "fastsnap.h"
#include "cells.h"

#include "clients/glance.h"
#include "core/settings.h"
#include "stream/body.h"
#include "stream/stream.h"

static fastsnap_cancel *cancel_tok;

static void on_sigint(int sig)
{
	(void)sig;
	if (cancel_tok)
		fastsnap_cancel_request(cancel_tok);
}

static int fail(cJSON *out, const char *what, int rc)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %d %s", what, rc, fastsnap_error_last());
	cJSON_AddFalseToObject(out, "ok");
	cJSON_AddStringToObject(out, "error", msg);
	return rc;
}

static int connect_ceph(rados_t *c, const char *id)
{
	int rc = rados_create(c, id);
	if (rc < 0)
		return rc;
	if ((rc = rados_conf_read_file(*c, G.ceph_conf)) < 0)
		return rc;
	if (G.keyring && strcmp(id, G.user) == 0 && (rc = rados_conf_set(*c, "keyring", G.keyring)) < 0)
		return rc;
	return rados_connect(*c);
}

/* ---- set-up: disks written in whole 4 MiB objects ---- */

int fsb_make_disks(const char *const *names, int n, uint64_t size, int sparse, cJSON *out)
{
	rados_t c;
	rados_ioctx_t io;
	int rc = connect_ceph(&c, G.admin_id);
	if (rc < 0 || (rc = rados_ioctx_create(c, G.vms_pool, &io)) < 0)
		return fail(out, "ceph connect (admin)", rc);
	char *buf = malloc(FSB_OBJ);
	if (!buf)
		return fail(out, "malloc", -1);
	RAND_bytes((unsigned char *)buf, FSB_OBJ);
	for (int d = 0; d < n && !fsb_stop; d++) {
		int order = 22;
		uint64_t feat = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
			RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;
		if ((rc = rbd_create2(io, names[d], size, feat, &order)) < 0)
			return fail(out, "rbd create", rc);
		rbd_image_t im;
		if ((rc = rbd_open(io, names[d], &im, NULL)) < 0)
			return fail(out, "rbd open", rc);
		/* every object (full) or every tenth (about 10%); each object's
		 * first bytes differ so that no two objects are equal */
		for (uint64_t o = 0; o * FSB_OBJ < size; o++) {
			if (sparse && o % 10)
				continue;
			memcpy(buf, &o, sizeof(o));
			memcpy(buf + 8, &d, sizeof(d));
			ssize_t w = rbd_write(im, o * FSB_OBJ, FSB_OBJ, buf);
			if (w != (ssize_t)FSB_OBJ)
				return fail(out, "rbd write", (int)w);
		}
		rbd_flush(im);
		/* the snapshot the export baselines and limits read */
		if ((rc = rbd_snap_create(im, "fsb")) < 0)
			return fail(out, "rbd snap create fsb", rc);
		rbd_close(im);
	}
	free(buf);
	rados_ioctx_destroy(io);
	rados_shutdown(c);
	cJSON_AddTrueToObject(out, "ok");
	return 0;
}

/* ---- fastsnap through the public API ---- */

static void result_json(cJSON *o, fastsnap_result *r)
{
	cJSON_AddNumberToObject(o, "active", fastsnap_result_active_seconds(r));
	cJSON_AddNumberToObject(o, "total", fastsnap_result_seconds(r));
	cJSON_AddStringToObject(o, "path", fastsnap_path_name(fastsnap_result_path(r)));
	if (fastsnap_result_image_id(r))
		cJSON_AddStringToObject(o, "image_id", fastsnap_result_image_id(r));
	cJSON_AddNumberToObject(o, "bytes_read", (double)fastsnap_result_bytes_read(r));
	cJSON *st = cJSON_AddObjectToObject(o, "steps");
	for (int i = 0; i < FASTSNAP_STEP__COUNT; i++) {
		double t = fastsnap_result_step_seconds(r, (fastsnap_step)i);
		if (t > 0)
			cJSON_AddNumberToObject(st, fastsnap_step_name((fastsnap_step)i), t);
	}
}

static int open_engine(fastsnap_engine **e, cJSON *out)
{
	fastsnap_engine_opts eo = FASTSNAP_ENGINE_OPTS_INIT;
	eo.use_env = 1;
	int rc = fastsnap_engine_open(e, &eo);
	if (rc < 0)
		return fail(out, "fastsnap_engine_open", rc);
	return 0;
}

static void snap_opts(fastsnap_snapshot_opts *o, const char *disk, const fsb_spec *s)
{
	o->disk = disk;
	o->name = G.tag;
	o->store = s->store;
	o->flatten = (fastsnap_flatten_mode)s->mode;
	o->verify_md5 = s->md5;
	o->cancel = cancel_tok;
	o->base_image_ref = G.base[0] ? G.base : NULL;
	o->disk_format = s->disk_format; /* "qcow2" (issue 21) or NULL: raw */
}

/* a cell measures one path: a run that took the other one is a failure */
static int check_path(cJSON *out, const fsb_spec *s, fastsnap_result *r)
{
	fastsnap_path want = strcmp(s->store, G.rbd_store) == 0 ? FASTSNAP_PATH_DIRECT :
		FASTSNAP_PATH_STREAM;
	if (fastsnap_result_path(r) == want)
		return 0;
	char msg[700];
	snprintf(msg, sizeof(msg), "expected the %s path, the run took %s: %s", fastsnap_path_name(want),
		fastsnap_path_name(fastsnap_result_path(r)), fastsnap_result_reason(r));
	cJSON_AddFalseToObject(out, "ok");
	cJSON_AddStringToObject(out, "error", msg);
	return -1;
}

static void cell_snapshot(const fsb_spec *s, cJSON *out)
{
	fastsnap_engine *e;
	if (open_engine(&e, out) < 0)
		return;
	char disk[256];
	snprintf(disk, sizeof(disk), "%s/%s", G.vms_pool, s->disk);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	snap_opts(&o, disk, s);
	fastsnap_result *r = NULL;
	int rc = fastsnap_snapshot(&r, e, &o);
	if (r) {
		result_json(out, r);
		cJSON *ids = cJSON_AddArrayToObject(out, "image_ids");
		if (fastsnap_result_image_id(r))
			cJSON_AddItemToArray(ids, cJSON_CreateString(fastsnap_result_image_id(r)));
	}
	if (rc < 0) {
		fail(out, "fastsnap_snapshot", rc);
	} else if (check_path(out, s, r) == 0) {
		/* direct cells: time to active; streamed cells: the whole run */
		double t = fastsnap_result_path(r) == FASTSNAP_PATH_DIRECT ?
			fastsnap_result_active_seconds(r) : fastsnap_result_seconds(r);
		cJSON_AddNumberToObject(out, "t", t);
		cJSON_AddTrueToObject(out, "ok");
	}
	fastsnap_result_free(r);
	fastsnap_engine_close(e);
}

/* N threads of FN, each given its element of ARGS (SIZE bytes apart; they
 * start together at their own barrier); back when all have ended */
static void run_threads(int n, void *(*fn)(void *), void *args, size_t size)
{
	pthread_t th[FSB_MAX_CONC];
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * size);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* ---- N snapshots of N disks through one engine ---- */

typedef struct {
	fastsnap_engine *e;
	const fsb_spec *s;
	int i, rc;
	pthread_barrier_t *bar;
	fastsnap_result *r;
} conc_arg;

static void *conc_thread(void *p)
{
	conc_arg *a = p;
	char disk[256];
	snprintf(disk, sizeof(disk), "%s/%s%d", G.vms_pool, a->s->disk, a->i);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	snap_opts(&o, disk, a->s);
	pthread_barrier_wait(a->bar);
	a->rc = fastsnap_snapshot(&a->r, a->e, &o);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void cell_conc(const fsb_spec *s, cJSON *out)
{
	fastsnap_engine *e;
	if (open_engine(&e, out) < 0)
		return;
	conc_arg a[FSB_MAX_CONC];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned)s->n);
	for (int i = 0; i < s->n; i++)
		a[i] = (conc_arg){ .e = e, .s = s, .i = i, .bar = &bar };
	run_threads(s->n, conc_thread, a, sizeof(a[0]));
	double act[FSB_MAX_CONC], tot[FSB_MAX_CONC];
	int bad = 0;
	cJSON *ids = cJSON_AddArrayToObject(out, "image_ids");
	cJSON *runs = cJSON_AddArrayToObject(out, "runs");
	for (int i = 0; i < s->n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (a[i].r)
			result_json(o, a[i].r);
		if (a[i].r && fastsnap_result_image_id(a[i].r))
			cJSON_AddItemToArray(ids, cJSON_CreateString(fastsnap_result_image_id(a[i].r)));
		if (a[i].rc < 0) {
			bad = a[i].rc;
			cJSON_AddStringToObject(o, "error", fastsnap_result_error(a[i].r));
		} else if (check_path(o, s, a[i].r) < 0) {
			bad = -1;
		}
		act[i] = fastsnap_result_active_seconds(a[i].r);
		tot[i] = fastsnap_result_seconds(a[i].r);
		cJSON_AddItemToArray(runs, o);
		fastsnap_result_free(a[i].r);
	}
	pthread_barrier_destroy(&bar);
	fastsnap_engine_close(e);
	if (bad) {
		cJSON *o;
		cJSON_ArrayForEach(o, runs)
			if (cJSON_GetObjectItem(o, "error"))
				cJSON_AddStringToObject(out, "error",
					cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")));
		cJSON_AddFalseToObject(out, "ok");
		return;
	}
	qsort(act, (size_t)s->n, sizeof(double), cmp_d);
	qsort(tot, (size_t)s->n, sizeof(double), cmp_d);
	cJSON_AddNumberToObject(out, "t", act[s->n - 1]);      /* the last one active */
	cJSON_AddNumberToObject(out, "active_median", act[s->n / 2]);
	cJSON_AddNumberToObject(out, "total_max", tot[s->n - 1]); /* with a deferred flatten */
	cJSON_AddTrueToObject(out, "ok");
}

/* ---- the streamed path's data engine alone (internal modules) ---- */

typedef struct {
	rados_t c;
	rados_ioctx_t io;
	rbd_image_t im;
} src_t;

static int open_src_rbd(src_t *x, const char *disk, fs_stream_req *req)
{
	int rc = connect_ceph(&x->c, G.user);
	if (rc < 0 || (rc = rados_ioctx_create(x->c, G.vms_pool, &x->io)) < 0 ||
	    (rc = rbd_open_read_only(x->io, disk, &x->im, "fsb")) < 0)
		return rc;
	memset(req, 0, sizeof(*req));
	req->fd = -1;
	req->rbd_image = x->im;
	rbd_get_size(x->im, &req->size);
	return 0;
}

/* the disk's snapshot "fsb", read-only, as the request's source; on failure
 * the cell has failed ("open the disk") */
static int open_src(src_t *x, const char *disk, fs_stream_req *req, cJSON *out)
{
	int rc = open_src_rbd(x, disk, req);
	if (rc < 0)
		fail(out, "open the disk", rc);
	return rc;
}

static void close_src(src_t *x)
{
	rbd_close(x->im);
	rados_ioctx_destroy(x->io);
	rados_shutdown(x->c);
}

static size_t body_read(char *buf, size_t sz, size_t n, void *ud)
{
	ssize_t r = fs_stream_body_read(ud, buf, sz * n);
	return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

static void stream_res(cJSON *out, const fs_stream_res *res)
{
	cJSON_AddStringToObject(out, "sha512", res->sha512);
	cJSON_AddNumberToObject(out, "bytes_read", (double)res->bytes_read);
	cJSON_AddNumberToObject(out, "bytes_sent", (double)res->bytes_sent);
}

static void cell_body(const fsb_spec *s, cJSON *out)
{
	src_t x;
	fs_stream_req req;
	int rc = open_src(&x, s->disk, &req, out);
	if (rc < 0)
		return;
	fs_stream_body *b = NULL;
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	double t0 = fsb_now();
	if ((rc = fs_stream_body_new(&b, &req)) < 0) {
		fail(out, "fs_stream_body_new", rc);
		return;
	}
	if (s->kind == K_READFS) {
		static char buf[1 << 16];
		ssize_t n;
		while ((n = fs_stream_body_read(b, buf, sizeof(buf))) > 0)
			;
		if (n < 0) {
			fail(out, "read", (int)n);
			return;
		}
	} else {
		/* like src/clients/http.c for an upload: Content-Length,
		 * Expect: 100-continue, curl's default upload buffer */
		CURL *c = curl_easy_init();
		curl_easy_setopt(c, CURLOPT_URL, G.sink);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req.size);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, body_read);
		curl_easy_setopt(c, CURLOPT_READDATA, b);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		CURLcode cc = curl_easy_perform(c);
		long st = 0;
		curl_off_t up = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		if (cc != CURLE_OK || st >= 300 || (uint64_t)up != req.size) {
			fail(out, "PUT into the null sink", -1);
			return;
		}
	}
	if ((rc = fs_stream_body_finish(b, &res)) < 0) {
		fail(out, "fs_stream_body_finish", rc);
		return;
	}
	double t = fsb_now() - t0;
	fs_stream_body_free(b);
	close_src(&x);
	stream_res(out, &res);
	cJSON_AddNumberToObject(out, "t", t);
	cJSON_AddTrueToObject(out, "ok");
}

static void cell_stream_rbd(const fsb_spec *s, cJSON *out)
{
	src_t x;
	fs_stream_req req;
	int rc = open_src(&x, s->disk, &req, out);
	if (rc < 0)
		return;
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.use_env = 1;
	fs_settings st;
	fs_glance *g = NULL;
	if ((rc = fs_settings_resolve(&st, &o)) < 0 || (rc = fs_glance_new(&g, &st, NULL)) < 0) {
		fail(out, "glance client", rc);
		return;
	}
	char id[37];
	fsb_uuid(id);
	fs_image_create_req q = { .name = G.tag, .disk_format = "raw", .container_format = "bare",
		.id = id };
	fs_image *im = NULL;
	double t0 = fsb_now();
	if ((rc = fs_glance_image_create(g, &im, &q)) < 0) {
		fail(out, "image create", rc);
		return;
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(out, "image_ids"), cJSON_CreateString(im->id));
	req.image_id = im->id;
	req.store = s->store;
	req.verify_md5 = s->md5;
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	double t1 = fsb_now();
	rc = fs_stream_run(g, &req, &res);
	double t2 = fsb_now();
	if (rc < 0) {
		fail(out, "fs_stream_run", rc);
	} else {
		stream_res(out, &res);
		cJSON_AddNumberToObject(out, "t", t2 - t1);
		cJSON_AddNumberToObject(out, "with_create", t2 - t0);
		cJSON_AddTrueToObject(out, "ok");
	}
	fs_image_free(im);
	fs_glance_free(g);
	fs_settings_free(&st);
	close_src(&x);
}

/* ---- sha512 alone over the same byte count ---- */

static void cell_sha(const fsb_spec *s, cJSON *out)
{
	char *buf = malloc(FSB_OBJ);
	if (!buf) {
		fail(out, "malloc", -1);
		return;
	}
	RAND_bytes((unsigned char *)buf, FSB_OBJ);
	double t0 = fsb_now();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha512(), NULL);
	for (uint64_t off = 0; off < s->size; off += FSB_OBJ)
		EVP_DigestUpdate(c, buf, FSB_OBJ);
	unsigned char md[64];
	unsigned int l;
	EVP_DigestFinal_ex(c, md, &l);
	EVP_MD_CTX_free(c);
	cJSON_AddNumberToObject(out, "t", fsb_now() - t0);
	cJSON_AddTrueToObject(out, "ok");
	free(buf);
}

/* ---- the floor of the direct path ---- */

static const char *const floor_steps[] = { "image-create", "tmp-snap", "clone", "snap",
	"location", "status" };
#define NFLOOR 6

typedef struct {
	rados_t c;
	const fsb_spec *s;
	int i, err;
	char errmsg[256];
	pthread_barrier_t *bar;
	double step[NFLOOR], flatten;
	char id[37];
	int made_image, made_tmp, made_clone;
	/* the thread's own handles and names */
	rados_ioctx_t vio, iio;
	rbd_image_t disk, clone;
	void *h;                  /* its kept-alive HTTP connection */
	char disk_name[160], tmp[96];
} floor_arg;

/* a step failed: its name and code; -1 */
static int floor_fail(floor_arg *a, const char *what, long rc)
{
	snprintf(a->errmsg, sizeof(a->errmsg), "%s: %d", what, (int)rc);
	a->err = 1;
	return -1;
}

static const uint64_t floor_features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
	RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;

/* steps 0-3: the Glance image, the temporary snapshot (protected), the
 * clone into the store's pool, its snapshot (protected) */
static int floor_rbd_steps(floor_arg *a, double *t)
{
	char url[512], body[1024];
	double t1;
	long st;
	int rc, order = 22;
	snprintf(url, sizeof(url), "%s/v2/images", G.glance);
	snprintf(body, sizeof(body), "{\"id\": \"%s\", \"name\": \"%s\", \"disk_format\": \"raw\", "
		"\"container_format\": \"bare\"}", a->id, G.tag);
	if ((st = fsb_http_on(a->h, "POST", url, "application/json", body, NULL, 0)) != 201)
		return floor_fail(a, "POST /v2/images", st);
	a->made_image = 1;
	t1 = fsb_now(); a->step[0] = t1 - *t; *t = t1;

	if ((rc = rbd_open(a->vio, a->disk_name, &a->disk, NULL)) < 0 ||
	    (rc = rbd_snap_create(a->disk, a->tmp)) < 0)
		return floor_fail(a, "tmp snapshot", rc);
	a->made_tmp = 1;
	if ((rc = rbd_snap_protect(a->disk, a->tmp)) < 0)
		return floor_fail(a, "protect", rc);
	t1 = fsb_now(); a->step[1] = t1 - *t; *t = t1;

	if ((rc = rbd_clone2(a->vio, a->disk_name, a->tmp, a->iio, a->id, floor_features, &order, 0,
	    0)) < 0)
		return floor_fail(a, "clone", rc);
	a->made_clone = 1;
	t1 = fsb_now(); a->step[2] = t1 - *t; *t = t1;

	if ((rc = rbd_open(a->iio, a->id, &a->clone, NULL)) < 0 ||
	    (rc = rbd_snap_create(a->clone, "snap")) < 0 || (rc = rbd_snap_protect(a->clone, "snap")) < 0)
		return floor_fail(a, "snap", rc);
	t1 = fsb_now(); a->step[3] = t1 - *t; *t = t1;
	return 0;
}

/* steps 4-5: the location call (POST on Glance >= 29, else PATCH), then
 * the status (on Glance >= 29: poll until active, 20 ms apart) */
static int floor_glance_steps(floor_arg *a, double *t)
{
	char url[512], body[1024], loc[512], *resp = NULL;
	double t1;
	long st;
	snprintf(loc, sizeof(loc), "rbd://%s/%s/%s/snap", G.fsid, G.rbd_pool, a->id);
	if (G.glance_post) {
		snprintf(url, sizeof(url), "%s/v2/images/%s/locations", G.glance, a->id);
		snprintf(body, sizeof(body), "{\"url\": \"%s\"}", loc);
		st = fsb_http_on(a->h, "POST", url, "application/json", body, NULL, 1);
		if (st != 202 && st != 200)
			return floor_fail(a, "POST /locations", st);
	} else {
		snprintf(url, sizeof(url), "%s/v2/images/%s", G.glance, a->id);
		snprintf(body, sizeof(body), "[{\"op\": \"add\", \"path\": \"/locations/-\", \"value\": "
			"{\"url\": \"%s\", \"metadata\": {\"store\": \"%s\"}}}]", loc, G.rbd_store);
		if ((st = fsb_http_on(a->h, "PATCH", url, "application/openstack-images-v2.1-json-patch",
		    body, NULL, 0)) != 200)
			return floor_fail(a, "PATCH location", st);
	}
	t1 = fsb_now(); a->step[4] = t1 - *t; *t = t1;

	snprintf(url, sizeof(url), "%s/v2/images/%s", G.glance, a->id);
	for (;;) {
		free(resp);
		resp = NULL;
		if ((st = fsb_http_on(a->h, "GET", url, NULL, NULL, &resp, 0)) != 200) {
			free(resp);
			return floor_fail(a, "GET image", st);
		}
		if (resp && strstr(resp, "\"status\": \"active\""))
			break;
		if (!G.glance_post || fsb_now() - *t > 60) {
			free(resp);
			return floor_fail(a, "image not active", 0);
		}
		usleep(20000);
	}
	free(resp);
	t1 = fsb_now(); a->step[5] = t1 - *t;
	return 0;
}

/* flatten alone, one thread only, on a second clone (untimed around it) */
static int floor_flatten(floor_arg *a)
{
	char id2[48];
	int rc, order = 22;
	snprintf(id2, sizeof(id2), "fsb-flat-%d", getpid());
	rbd_image_t c2;
	if ((rc = rbd_clone2(a->vio, a->disk_name, a->tmp, a->iio, id2, floor_features, &order, 0,
	    0)) < 0 || (rc = rbd_open(a->iio, id2, &c2, NULL)) < 0)
		return floor_fail(a, "second clone", rc);
	double f0 = fsb_now();
	rc = rbd_flatten(c2);
	a->flatten = fsb_now() - f0;
	rbd_close(c2);
	rbd_remove(a->iio, id2);
	return rc < 0 ? floor_fail(a, "flatten", rc) : 0;
}

/* undo, outside the timed part: the Glance image (Glance removes the
 * clone), then the temporary snapshot; close what the thread opened */
static void floor_undo(floor_arg *a)
{
	if (a->clone)
		rbd_close(a->clone);
	if (a->made_image)
		fsb_glance_delete_on(a->h, a->id);
	if (a->made_clone && !a->made_image)
		rbd_remove(a->iio, a->id);
	if (a->disk && a->made_tmp) {
		rbd_snap_unprotect(a->disk, a->tmp);
		rbd_snap_remove(a->disk, a->tmp);
	}
	if (a->disk)
		rbd_close(a->disk);
	if (a->vio)
		rados_ioctx_destroy(a->vio);
	if (a->iio)
		rados_ioctx_destroy(a->iio);
	fsb_curl_free(a->h);
}

static void *floor_thread(void *p)
{
	floor_arg *a = p;
	char url[512];
	int rc;
	a->h = fsb_curl_new();
	snprintf(a->disk_name, sizeof(a->disk_name), "%s%d", a->s->disk, a->i);
	fsb_uuid(a->id);
	snprintf(a->tmp, sizeof(a->tmp), "fsb-floor-%s", a->id);
	if ((rc = rados_ioctx_create(a->c, G.vms_pool, &a->vio)) < 0 ||
	    (rc = rados_ioctx_create(a->c, G.rbd_pool, &a->iio)) < 0) {
		floor_fail(a, "ioctx", rc);
		floor_undo(a);
		return NULL;
	}
	/* warm the kept-alive connection outside the timed part */
	snprintf(url, sizeof(url), "%s/versions", G.glance);
	fsb_http_on(a->h, "GET", url, NULL, NULL, NULL, 0);
	pthread_barrier_wait(a->bar);
	double t = fsb_now();
	if (floor_rbd_steps(a, &t) == 0 && floor_glance_steps(a, &t) == 0 && a->s->n == 1 &&
	    a->s->kind == K_FLATTEN)
		floor_flatten(a);
	floor_undo(a);
	return NULL;
}

static void cell_floor(const fsb_spec *s, cJSON *out)
{
	rados_t c;
	int rc = connect_ceph(&c, G.user);
	if (rc < 0) {
		fail(out, "ceph connect", rc);
		return;
	}
	floor_arg a[FSB_MAX_CONC];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned)s->n);
	for (int i = 0; i < s->n; i++)
		a[i] = (floor_arg){ .c = c, .s = s, .i = i, .bar = &bar };
	run_threads(s->n, floor_thread, a, sizeof(a[0]));
	double sum[FSB_MAX_CONC];
	cJSON *ids = cJSON_AddArrayToObject(out, "image_ids");
	cJSON *runs = cJSON_AddArrayToObject(out, "runs");
	const char *err = NULL;
	for (int i = 0; i < s->n; i++) {
		cJSON_AddItemToArray(ids, cJSON_CreateString(a[i].id));
		cJSON *o = cJSON_CreateObject();
		sum[i] = 0;
		for (int k = 0; k < NFLOOR; k++) {
			cJSON_AddNumberToObject(o, floor_steps[k], a[i].step[k]);
			sum[i] += a[i].step[k];
		}
		cJSON_AddNumberToObject(o, "sum", sum[i]);
		cJSON_AddItemToArray(runs, o);
		if (a[i].err)
			err = a[i].errmsg;
	}
	pthread_barrier_destroy(&bar);
	rados_shutdown(c);
	if (err) {
		cJSON_AddFalseToObject(out, "ok");
		cJSON_AddStringToObject(out, "error", err);
		return;
	}
	if (s->n == 1) {
		cJSON *st = cJSON_AddObjectToObject(out, "steps");
		for (int k = 0; k < NFLOOR; k++)
			cJSON_AddNumberToObject(st, floor_steps[k], a[0].step[k]);
		if (s->kind == K_FLATTEN)
			cJSON_AddNumberToObject(out, "flatten", a[0].flatten);
	}
	qsort(sum, (size_t)s->n, sizeof(double), cmp_d);
	cJSON_AddNumberToObject(out, "t", s->kind == K_FLATTEN ? a[0].flatten : sum[s->n - 1]);
	cJSON_AddNumberToObject(out, "active_median", sum[s->n / 2]);
	cJSON_AddTrueToObject(out, "ok");
}

void fsb_cell_run(const fsb_spec *s, cJSON *out)
{
	if (s->kind == K_SNAPSHOT || s->kind == K_CONC) {
		fastsnap_cancel_new(&cancel_tok);
		signal(SIGINT, on_sigint);
		signal(SIGTERM, on_sigint);
	}
	switch (s->kind) {
	case K_SNAPSHOT: cell_snapshot(s, out); break;
	case K_CONC: cell_conc(s, out); break;
	case K_SINK:
	case K_READFS: cell_body(s, out); break;
	case K_STREAM_RBD: cell_stream_rbd(s, out); break;
	case K_SHA: cell_sha(s, out); break;
	case K_FLOOR:
	case K_FLATTEN: cell_floor(s, out); break;
	default: fail(out, "unknown cell kind", -1);
	}
}
