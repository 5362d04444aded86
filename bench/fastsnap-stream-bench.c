/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/fastsnap-stream-bench.c: drives the streamed path's data engine
 * (src/stream) directly, for bench/qcow2-bench. Modes:
 *   read          read + hash the source to the end, send nowhere
 *   glance STORE  create a Glance image, fs_stream_run into STORE, delete it
 *   put URL       PUT the body to URL with libcurl (e.g. a null sink), with
 *                 the library's HTTP settings for an upload: Content-Length,
 *                 "Expect: 100-continue", curl's default upload buffer
 *                 (unless --upload-buffer BYTES)
 *   write PATH    write the body to a file (e.g. the qcow2 bytes, for a
 *                 Glance-ingest-alone baseline)
 *   map           build the allocation map only, whole objects and exact
 *                 (the qcow2 map), and time both
 * --disk-format raw|qcow2 (and --cluster-size BYTES, --zero-scan) picks
 * what is sent.
 * Source: --rbd POOL/IMAGE@SNAP (Ceph identity from CEPH_CONF,
 * FASTSNAP_CEPH_USER, FASTSNAP_CEPH_KEYRING) or --file PATH.
 * Prints one line: mode bytes read seconds MB/s sha512. `put` fails unless
 * curl sent exactly the disk size (the sink itself counts nothing).
 * Built by CMake (bench/CMakeLists.txt) beside fastsnap-bench; bench/qcow2-bench
 * runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include "stream/body.h"
#include "stream/extents.h"
#include "stream/rbd_map.h"
#include "clients/glance.h"
#include "core/settings.h"
#include "capture/source_file.h"
#include "stream/stream.h"

static void die(const char *what)
{
	fprintf(stderr, "fastsnap-stream-bench: %s: %s\n", what, fastsnap_error_last());
	exit(1);
}

static size_t curl_read(char *buf, size_t sz, size_t n, void *ud)
{
	ssize_t r = fs_stream_body_read(ud, buf, sz * n);
	return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

static size_t curl_sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

typedef struct {
	const char *rbd_spec, *file, *mode, *arg, *fmt;
	unsigned depth;
	unsigned long long read_size, cluster_size;
	long upbuf;
	int zscan;
	int librbd_map;
	int nospan;
} opts;

/* the options; 0, or 2 after the usage line */
static int parse_opts(opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rbd") && i + 1 < argc)
			o->rbd_spec = argv[++i];
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			o->file = argv[++i];
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			o->depth = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--read-size") && i + 1 < argc)
			o->read_size = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--upload-buffer") && i + 1 < argc)
			o->upbuf = atol(argv[++i]);
		else if (!strcmp(argv[i], "--disk-format") && i + 1 < argc)
			o->fmt = argv[++i];
		else if (!strcmp(argv[i], "--cluster-size") && i + 1 < argc)
			o->cluster_size = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--zero-scan"))
			o->zscan = 1;
		else if (!strcmp(argv[i], "--no-zero-scan"))
			o->zscan = -1;
		else if (!strcmp(argv[i], "--librbd-map"))
			o->librbd_map = 1;
		else if (!strcmp(argv[i], "--no-span"))
			o->nospan = 1;
		else if (!o->mode)
			o->mode = argv[i];
		else if (!o->arg)
			o->arg = argv[i];
	}
	if (!o->mode || (!o->rbd_spec == !o->file) ||
	    (strcmp(o->mode, "read") && strcmp(o->mode, "map") && !o->arg)) {
		fprintf(stderr, "usage: fastsnap-stream-bench (--rbd POOL/IMAGE@SNAP | --file PATH) "
			"[--depth N] [--read-size BYTES] [--upload-buffer BYTES] "
			"[--disk-format raw|qcow2] [--cluster-size BYTES] [--zero-scan|--no-zero-scan] "
			"[--librbd-map] [--no-span] "
			"read | glance STORE | put URL | write PATH | map\n");
		return 2;
	}
	return 0;
}

typedef struct {
	rados_t rados;
	rados_ioctx_t io;
	rbd_image_t img;
	char snap[128];
} rbd_src;

/* the source into req: the RBD snapshot (read-only) or the file; 0 or an exit status */
static int open_source(const opts *o, fs_stream_req *req, rbd_src *r)
{
	fs_file_stamp st;
	if (!o->rbd_spec) {
		if (fs_source_file_open(&req->fd, &req->size, &st, o->file) < 0)
			die("open");
		return 0;
	}
	char pool[128], name[256], snap[128];
	if (sscanf(o->rbd_spec, "%127[^/]/%255[^@]@%127s", pool, name, snap) != 3) {
		fprintf(stderr, "--rbd wants POOL/IMAGE@SNAP\n");
		return 2;
	}
	const char *user = getenv("FASTSNAP_CEPH_USER");
	if (rados_create(&r->rados, user ? user : "admin") < 0 ||
	    rados_conf_read_file(r->rados, getenv("CEPH_CONF")) < 0 ||
	    (getenv("FASTSNAP_CEPH_KEYRING") &&
	     rados_conf_set(r->rados, "keyring", getenv("FASTSNAP_CEPH_KEYRING")) < 0) ||
	    rados_connect(r->rados) < 0 || rados_ioctx_create(r->rados, pool, &r->io) < 0 ||
	    rbd_open_read_only(r->io, name, &r->img, snap) < 0) {
		fprintf(stderr, "cannot open %s\n", o->rbd_spec);
		return 1;
	}
	rbd_get_size(r->img, &req->size);
	req->rbd_image = r->img;
	snprintf(r->snap, sizeof(r->snap), "%s", snap);
	if (!o->librbd_map) {       /* qcow2 maps the snapshot from RADOS (stream/rbd_map.h) */
		req->rbd_io = r->io;
		req->rbd_snap = r->snap;
	}
	return 0;
}

/* map: the allocation map only, whole objects, librbd's exact and RADOS's
 * (stream/rbd_map.h, rounded to 64 KiB), each timed */
static int mode_map(const fs_stream_req *req, rbd_image_t img)
{
	for (int kind = 0; kind < 3; kind++) {
		if (!img && kind)
			break;
		fs_extent_map m = FS_EXTENT_MAP_INIT;
		fs_rbd_map_info mi;
		memset(&mi, 0, sizeof(mi));
		double t = fs_now();
		int r = !img ? fs_extent_map_from_fd(&m, req->fd, req->size)
			: kind == 1 ? fs_extent_map_from_rbd_exact(&m, img, req->size)
			: kind == 2 ? fs_rbd_map_build(&m, img, req->rbd_io, req->rbd_snap, req->size,
				64 << 10, &mi)
			: fs_extent_map_from_rbd(&m, img, req->size);
		if (r < 0)
			die("map");
		double dt = fs_now() - t;
		printf("map %s extents=%zu allocated=%llu seconds=%.3f%s%s\n",
			kind == 0 ? "whole-object" : kind == 1 ? "exact" :
			mi.exact ? "rados-64k" : "rados-64k(fell-back)", m.n,
			(unsigned long long)m.allocated, dt, mi.why[0] ? " why=" : "", mi.why);
		fs_extent_map_free(&m);
	}
	return 0;
}

/* read (path NULL) or write: the body to the end, into PATH if given */
static int body_to_file(fs_stream_body *b, const char *path)
{
	FILE *out = NULL;
	if (path && !(out = fopen(path, "wb"))) {
		perror(path);
		return 1;
	}
	static char buf[1 << 16];
	ssize_t n;
	while ((n = fs_stream_body_read(b, buf, sizeof(buf))) > 0)
		if (out && fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			perror(path);
			return 1;
		}
	if (n < 0)
		die("read");
	if (out && fclose(out) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

/* put: the body PUT to URL; fails unless curl sent exactly its length */
static int body_put(fs_stream_body *b, const char *url, long upbuf)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)fs_stream_body_length(b));
	curl_easy_setopt(c, CURLOPT_READFUNCTION, curl_read);
	curl_easy_setopt(c, CURLOPT_READDATA, b);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	/* like src/clients/http.c: curl's default upload buffer (64 KiB)
	 * unless --upload-buffer says otherwise */
	if (upbuf > 0)
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, upbuf);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_off_t up = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status >= 300) {
		fprintf(stderr, "PUT %s: %s, status %ld\n", url, curl_easy_strerror(rc), status);
		return 1;
	}
	if ((uint64_t)up != fs_stream_body_length(b)) {
		fprintf(stderr, "PUT %s: sent %lld bytes, not %llu\n", url, (long long)up,
			(unsigned long long)fs_stream_body_length(b));
		return 1;
	}
	return 0;
}

/* read, write, put: the stream body alone */
static int mode_body(const opts *o, fs_stream_req *req, fs_stream_res *res)
{
	fs_stream_body *b = NULL;
	if (fs_stream_body_new(&b, req) < 0)
		die("stream");
	int rc = !strcmp(o->mode, "put") ? body_put(b, o->arg, o->upbuf) :
		body_to_file(b, !strcmp(o->mode, "write") ? o->arg : NULL);
	if (rc)
		return rc;
	if (fs_stream_body_finish(b, res) < 0)
		die("finish");
	fs_stream_body_free(b);
	return 0;
}

/* glance STORE: a Glance image, fs_stream_run into STORE (timed), deleted */
static int mode_glance(const opts *o, fs_stream_req *req, fs_stream_res *res, double *secs)
{
	fastsnap_engine_opts eo = FASTSNAP_ENGINE_OPTS_INIT;
	eo.use_env = 1;
	fs_settings s;
	fs_glance *g = NULL;
	if (fs_settings_resolve(&s, &eo) < 0 || fs_glance_new(&g, &s, NULL) < 0)
		die("glance");
	fs_image_create_req q = { .name = "fastsnap-stream-bench", .disk_format = o->fmt ? o->fmt : "raw",
		.container_format = "bare" };
	fs_image *im = NULL;
	if (fs_glance_image_create(g, &im, &q) < 0)
		die("image create");
	double t0 = fs_now();
	req->image_id = im->id;
	req->store = o->arg;
	int r = fs_stream_run(g, req, res);
	*secs = fs_now() - t0;
	if (r < 0)
		fprintf(stderr, "fs_stream_run: %s\n", fastsnap_error_last());
	fs_glance_image_delete(g, im->id);
	fs_image_free(im);
	fs_glance_free(g);
	fs_settings_free(&s);
	return r < 0;
}

int main(int argc, char **argv)
{
	opts o;
	int rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc;
	fs_stream_req req = { .fd = -1, .depth = o.depth, .read_size = o.read_size,
		.disk_format = o.fmt, .qcow2_cluster_size = o.cluster_size, .qcow2_zero_scan = o.zscan,
		.qcow2_rbd_span = o.nospan ? -1 : 0 };
	rbd_src src = { 0 };
	if ((rc = open_source(&o, &req, &src)))
		return rc;
	if (!strcmp(o.mode, "map"))
		return mode_map(&req, src.img);
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	double t0 = fs_now(), dt;
	if (!strcmp(o.mode, "read") || !strcmp(o.mode, "put") || !strcmp(o.mode, "write")) {
		if ((rc = mode_body(&o, &req, &res)))
			return rc;
		dt = fs_now() - t0;
	} else if (!strcmp(o.mode, "glance")) {
		if ((rc = mode_glance(&o, &req, &res, &dt)))
			return rc;
	} else {
		fprintf(stderr, "unknown mode %s\n", o.mode);
		return 2;
	}
	printf("%s bytes=%llu read=%llu allocated=%llu scanned=%llu map=%s map_seconds=%.3f "
		"seconds=%.3f MB/s=%.1f sha512=%s\n", o.mode, (unsigned long long)res.bytes_sent,
		(unsigned long long)res.bytes_read, (unsigned long long)res.bytes_allocated,
		(unsigned long long)res.bytes_scanned, res.map_rados ? "rados" : "librbd",
		res.map_seconds, dt, (double)req.size / dt / 1e6, res.sha512);
	if (res.map_why[0])
		fprintf(stderr, "fastsnap-stream-bench: map from librbd: %s\n", res.map_why);
	if (src.img)
		rbd_close(src.img);
	if (src.io)
		rados_ioctx_destroy(src.io);
	if (src.rados)
		rados_shutdown(src.rados);
	if (req.fd >= 0)
		close(req.fd);
	return 0;
}
