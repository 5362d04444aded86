/*
 * bench/fastsnap-stream-bench.c: drives the streamed path's data engine
 * (src/stream) directly, for bench/stream-bench. Modes:
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
 * Built by bench/stream-bench against the static library.
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

int main(int argc, char **argv)
{
	const char *rbd_spec = NULL, *file = NULL, *mode = NULL, *arg = NULL;
	unsigned depth = 0;
	unsigned long long rs = 0;
	long upbuf = 0;
	const char *fmt = NULL;
	unsigned long long cs = 0;
	int zscan = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rbd") && i + 1 < argc)
			rbd_spec = argv[++i];
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			depth = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--read-size") && i + 1 < argc)
			rs = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--upload-buffer") && i + 1 < argc)
			upbuf = atol(argv[++i]);
		else if (!strcmp(argv[i], "--disk-format") && i + 1 < argc)
			fmt = argv[++i];
		else if (!strcmp(argv[i], "--cluster-size") && i + 1 < argc)
			cs = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--zero-scan"))
			zscan = 1;
		else if (!strcmp(argv[i], "--no-zero-scan"))
			zscan = -1;
		else if (!mode)
			mode = argv[i];
		else if (!arg)
			arg = argv[i];
	}
	if (!mode || (!rbd_spec == !file) || (strcmp(mode, "read") && strcmp(mode, "map") && !arg)) {
		fprintf(stderr, "usage: fastsnap-stream-bench (--rbd POOL/IMAGE@SNAP | --file PATH) "
			"[--depth N] [--read-size BYTES] [--upload-buffer BYTES] "
			"[--disk-format raw|qcow2] [--cluster-size BYTES] [--zero-scan|--no-zero-scan] "
			"read | glance STORE | put URL | write PATH | map\n");
		return 2;
	}
	fs_stream_req req = { .fd = -1, .depth = depth, .read_size = rs, .disk_format = fmt,
		.qcow2_cluster_size = cs, .qcow2_zero_scan = zscan };
	rados_t rados = NULL;
	rados_ioctx_t io = NULL;
	rbd_image_t img = NULL;
	fs_file_stamp st;
	if (rbd_spec) {
		char pool[128], name[256], snap[128];
		if (sscanf(rbd_spec, "%127[^/]/%255[^@]@%127s", pool, name, snap) != 3) {
			fprintf(stderr, "--rbd wants POOL/IMAGE@SNAP\n");
			return 2;
		}
		const char *user = getenv("FASTSNAP_CEPH_USER");
		if (rados_create(&rados, user ? user : "admin") < 0 ||
		    rados_conf_read_file(rados, getenv("CEPH_CONF")) < 0 ||
		    (getenv("FASTSNAP_CEPH_KEYRING") &&
		     rados_conf_set(rados, "keyring", getenv("FASTSNAP_CEPH_KEYRING")) < 0) ||
		    rados_connect(rados) < 0 || rados_ioctx_create(rados, pool, &io) < 0 ||
		    rbd_open_read_only(io, name, &img, snap) < 0) {
			fprintf(stderr, "cannot open %s\n", rbd_spec);
			return 1;
		}
		rbd_get_size(img, &req.size);
		req.rbd_image = img;
	} else {
		if (fs_source_file_open(&req.fd, &req.size, &st, file) < 0)
			die("open");
	}

	double t0 = fs_now();
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	if (!strcmp(mode, "map")) {
		for (int exact = 0; exact < 2; exact++) {
			fs_extent_map m = FS_EXTENT_MAP_INIT;
			double t = fs_now();
			int r = !img ? fs_extent_map_from_fd(&m, req.fd, req.size)
				: exact ? fs_extent_map_from_rbd_exact(&m, img, req.size)
				: fs_extent_map_from_rbd(&m, img, req.size);
			if (r < 0)
				die("map");
			double dt = fs_now() - t;
			printf("map %s extents=%zu allocated=%llu seconds=%.3f\n",
				exact ? "exact" : "whole-object", m.n, (unsigned long long)m.allocated, dt);
			fs_extent_map_free(&m);
		}
		return 0;
	}
	if (!strcmp(mode, "read") || !strcmp(mode, "put") || !strcmp(mode, "write")) {
		fs_stream_body *b = NULL;
		if (fs_stream_body_new(&b, &req) < 0)
			die("stream");
		if (!strcmp(mode, "read") || !strcmp(mode, "write")) {
			FILE *out = NULL;
			if (!strcmp(mode, "write") && !(out = fopen(arg, "wb"))) {
				perror(arg);
				return 1;
			}
			static char buf[1 << 16];
			ssize_t n;
			while ((n = fs_stream_body_read(b, buf, sizeof(buf))) > 0)
				if (out && fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
					perror(arg);
					return 1;
				}
			if (n < 0)
				die("read");
			if (out && fclose(out) != 0) {
				perror(arg);
				return 1;
			}
		} else {
			CURL *c = curl_easy_init();
			curl_easy_setopt(c, CURLOPT_URL, arg);
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)fs_stream_body_length(b));
			curl_easy_setopt(c, CURLOPT_READFUNCTION, curl_read);
			curl_easy_setopt(c, CURLOPT_READDATA, b);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
			/* like src/clients/http.c: curl's default upload buffer
			 * (64 KiB) unless --upload-buffer says otherwise */
			if (upbuf > 0)
				curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, upbuf);
			struct curl_slist *h = curl_slist_append(NULL,
				"Content-Type: application/octet-stream");
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
			CURLcode rc = curl_easy_perform(c);
			long status = 0;
			curl_off_t up = 0;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
			curl_slist_free_all(h);
			curl_easy_cleanup(c);
			if (rc != CURLE_OK || status >= 300) {
				fprintf(stderr, "PUT %s: %s, status %ld\n", arg, curl_easy_strerror(rc),
					status);
				return 1;
			}
			if ((uint64_t)up != fs_stream_body_length(b)) {
				fprintf(stderr, "PUT %s: sent %lld bytes, not %llu\n", arg,
					(long long)up, (unsigned long long)fs_stream_body_length(b));
				return 1;
			}
		}
		if (fs_stream_body_finish(b, &res) < 0)
			die("finish");
		fs_stream_body_free(b);
	} else if (!strcmp(mode, "glance")) {
		fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
		o.use_env = 1;
		fs_settings s;
		fs_glance *g = NULL;
		if (fs_settings_resolve(&s, &o) < 0 || fs_glance_new(&g, &s, NULL) < 0)
			die("glance");
		fs_image_create_req q = { .name = "fastsnap-stream-bench",
			.disk_format = fmt ? fmt : "raw",
			.container_format = "bare" };
		fs_image *im = NULL;
		if (fs_glance_image_create(g, &im, &q) < 0)
			die("image create");
		t0 = fs_now();
		req.image_id = im->id;
		req.store = arg;
		int r = fs_stream_run(g, &req, &res);
		double t1 = fs_now();
		if (r < 0)
			fprintf(stderr, "fs_stream_run: %s\n", fastsnap_error_last());
		fs_glance_image_delete(g, im->id);
		fs_image_free(im);
		fs_glance_free(g);
		fs_settings_free(&s);
		if (r < 0)
			return 1;
		t0 = fs_now() - (t1 - t0);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	double dt = fs_now() - t0;
	printf("%s bytes=%llu read=%llu allocated=%llu scanned=%llu seconds=%.3f MB/s=%.1f "
		"sha512=%s\n", mode, (unsigned long long)res.bytes_sent,
		(unsigned long long)res.bytes_read, (unsigned long long)res.bytes_allocated,
		(unsigned long long)res.bytes_scanned, dt, (double)req.size / dt / 1e6, res.sha512);
	if (img)
		rbd_close(img);
	if (io)
		rados_ioctx_destroy(io);
	if (rados)
		rados_shutdown(rados);
	if (req.fd >= 0)
		close(req.fd);
	return 0;
}
