/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_stream_glance.c: the streamed path against the dev
 * cluster: an RBD snapshot with data and holes (and a clone of it), and a
 * sparse raw file, uploaded with fs_stream_run into Glance's `local` store;
 * Glance's hashes and the downloaded bytes must equal the source's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include "devenv.h"
#include "clients/glance.h"
#include "core/settings.h"
#include "capture/source_file.h"
#include "stream/stream.h"

#define MiB (1ull << 20)
#define OBJ (4 * MiB)

typedef struct {
	fs_settings s;
	fs_glance *g;
	rados_t rados;
	rados_ioctx_t io;
} ctx_t;

static void ctx_open(ctx_t *c)
{
	fastsnap_engine_opts o = fst_engine_opts();
	memset(c, 0, sizeof(*c));
	cr_assert_eq(fs_settings_resolve(&c->s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_glance_new(&c->g, &c->s, NULL), 0, "%s", fastsnap_error_last());
	/* fastsnap's own Ceph identity, as the engine uses */
	cr_assert_eq(rados_create(&c->rados, fst_env("FASTSNAP_CEPH_USER")), 0);
	cr_assert_eq(rados_conf_read_file(c->rados, fst_env("CEPH_CONF")), 0);
	cr_assert_eq(rados_conf_set(c->rados, "keyring", fst_env("FASTSNAP_CEPH_KEYRING")), 0);
	cr_assert_eq(rados_conf_set(c->rados, "client_mount_timeout", "30"), 0);
	int r = rados_connect(c->rados);
	cr_assert_eq(r, 0, "rados_connect as %s: %s", fst_env("FASTSNAP_CEPH_USER"), strerror(-r));
	cr_assert_eq(rados_ioctx_create(c->rados, "vms", &c->io), 0);
}

/* What a test made, removed by the suite's fini even when an assertion
 * failed half-way (reverse order: clones before parents). */
static struct {
	ctx_t *c;
	char *rbd[4];
	char *img[4];
	char *file[4];
	int nrbd, nimg, nfile;
} made;

static void track_rbd(const char *name) { made.rbd[made.nrbd++] = strdup(name); }
static void track_img(const char *id) { made.img[made.nimg++] = strdup(id); }
static void track_file(const char *path) { made.file[made.nfile++] = strdup(path); }
static void remove_disk(ctx_t *c, const char *name);

static void ctx_close(ctx_t *c)
{
	rados_ioctx_destroy(c->io);
	rados_shutdown(c->rados);
	fs_glance_free(c->g);
	fs_settings_free(&c->s);
}

static void fill(char *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull;
		buf[i] = (char)((x >> 56) | 1);
	}
}

static void write_at(rbd_image_t img, uint64_t off, size_t len)
{
	char *buf = malloc(len);
	fill(buf, len, off);
	ssize_t n = rbd_write(img, off, len, buf);
	cr_assert_eq(n, (ssize_t)len, "rbd_write at %llu: %zd", (unsigned long long)off, n);
	free(buf);
}

static char *create_image(ctx_t *c, const char *name)
{
	fs_image_create_req q = { .name = name, .disk_format = "raw", .container_format = "bare" };
	fs_image *img = NULL;
	cr_assert_eq(fs_glance_image_create(c->g, &img, &q), 0, "%s", fastsnap_error_last());
	char *id = strdup(img->id);
	fs_image_free(img);
	track_img(id);
	return id;
}

static int in_store(const fs_image *img, const char *store)
{
	for (size_t i = 0; i < img->stores.n; i++)
		if (strcmp(img->stores.v[i], store) == 0)
			return 1;
	return 0;
}

static void check_image(ctx_t *c, const char *id, uint64_t size, const fs_stream_res *res,
	const char *want_sha)
{
	fs_image *img = NULL;
	cr_assert_eq(fs_glance_image_get(c->g, &img, id), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(img->status, "active");
	cr_assert_eq(img->size, (int64_t)size);
	cr_assert_str_eq(img->os_hash_value, res->sha512);
	if (res->md5[0])
		cr_assert_str_eq(img->checksum, res->md5);
	cr_assert(in_store(img, "local"), "image is not in store local");
	fs_image_free(img);
	cr_assert_str_eq(res->sha512, want_sha, "fastsnap's sha512 differs from the source's");
	char dl[129];
	fst_glance_download_sha512(id, dl);
	cr_assert_str_eq(dl, want_sha, "downloaded bytes differ from the source");
}

/* Create vms/<name> (512 MiB): whole objects, small writes, holes. */
static void make_disk(ctx_t *c, const char *name, uint64_t size)
{
	uint64_t features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
		RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;
	int order = 22;
	int r = rbd_create2(c->io, name, size, features, &order);
	cr_assert_eq(r, 0, "rbd_create2 %s: %s", name, strerror(-r));
	track_rbd(name);
	rbd_image_t img;
	cr_assert_eq(rbd_open(c->io, name, &img, NULL), 0);
	const struct { uint64_t off, len; } w[] = {
		{ 0, OBJ },                             /* object 0 */
		{ 5 * OBJ, 2 * OBJ },                   /* objects 5, 6 */
		{ 20 * OBJ + 1000, 512 },               /* small write: object 20 */
		{ 300 * MiB + 12345, 4096 },            /* object 75 */
		{ 50 * OBJ + OBJ - 10, 20 },            /* straddles objects 50 and 51 */
		{ size - 1, 1 },                        /* last object */
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (w[i].off + w[i].len <= size)
			write_at(img, w[i].off, (size_t)w[i].len);
	cr_assert_eq(rbd_close(img), 0);
}

static rbd_image_t open_snap(ctx_t *c, const char *name, const char *snap)
{
	rbd_image_t img;
	int r = rbd_open_read_only(c->io, name, &img, snap);
	cr_assert_eq(r, 0, "open %s@%s: %s", name, snap, strerror(-r));
	return img;
}

static void snap_create(ctx_t *c, const char *name, const char *snap)
{
	rbd_image_t img;
	cr_assert_eq(rbd_open(c->io, name, &img, NULL), 0);
	cr_assert_eq(rbd_snap_create(img, snap), 0);
	cr_assert_eq(rbd_close(img), 0);
}

static void remove_disk(ctx_t *c, const char *name)
{
	rbd_image_t img;
	if (rbd_open(c->io, name, &img, NULL) == 0) {
		rbd_snap_info_t snaps[16];
		int max = 16;
		int n = rbd_snap_list(img, snaps, &max);
		for (int i = 0; i < n; i++) {
			rbd_snap_unprotect(img, snaps[i].name);
			rbd_snap_remove(img, snaps[i].name);
		}
		if (n > 0)
			rbd_snap_list_end(snaps);
		rbd_close(img);
	}
	int r = rbd_remove(c->io, name);
	cr_assert(r == 0 || r == -ENOENT, "rbd_remove %s: %s", name, strerror(-r));
}

static int progress_calls;
static int count_progress(fastsnap_step step, uint64_t done, uint64_t total, void *p)
{
	progress_calls++;
	return 0;
}

Test(stream_glance, rbd_snapshot_with_holes, .timeout = 600)
{
	static ctx_t c;   /* outlives the test body: the fini cleans up with it */
	ctx_open(&c);
	made.c = &c;
	char *name = fst_unique("fs-stream-rbd");
	const uint64_t size = 512 * MiB;
	make_disk(&c, name, size);
	snap_create(&c, name, "s1");
	/* the live disk changes after the snapshot: the stream must not see it */
	rbd_image_t live;
	cr_assert_eq(rbd_open(c.io, name, &live, NULL), 0);
	write_at(live, 100 * OBJ, OBJ);
	rbd_close(live);
	char want[129];
	fst_rbd_sha512(c.io, name, "s1", want);

	char *id = create_image(&c, name);
	rbd_image_t img = open_snap(&c, name, "s1");
	progress_calls = 0;
	fs_stream_req req = { .rbd_image = img, .fd = -1, .size = size, .image_id = id,
		.store = "local", .verify_md5 = 1, .progress_cb = count_progress };
	fs_stream_res res;
	int r = fs_stream_run(c.g, &req, &res);
	rbd_close(img);
	cr_assert_eq(r, 0, "fs_stream_run: %s", fastsnap_error_last());
	/* objects 0, 5, 6, 20, 50, 51, 75, 127 */
	cr_assert_eq(res.bytes_allocated, 8 * OBJ, "allocated %llu",
		(unsigned long long)res.bytes_allocated);
	cr_assert_eq(res.bytes_read, res.bytes_allocated);
	cr_assert_eq(res.bytes_sent, size);
	cr_assert(res.seconds > 0);
	cr_assert(progress_calls >= 1);
	check_image(&c, id, size, &res, want);

	free(id);
	free(name);
}

Test(stream_glance, rbd_clone_reads_parent_data, .timeout = 600)
{
	static ctx_t c;   /* outlives the test body: the fini cleans up with it */
	ctx_open(&c);
	made.c = &c;
	char *parent = fst_unique("fs-stream-parent");
	char *child = fst_unique("fs-stream-child");
	const uint64_t size = 64 * MiB;
	make_disk(&c, parent, size);
	snap_create(&c, parent, "base");
	rbd_image_t p;
	cr_assert_eq(rbd_open(c.io, parent, &p, NULL), 0);
	cr_assert_eq(rbd_snap_protect(p, "base"), 0);
	rbd_close(p);
	uint64_t features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
		RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;
	int order = 22;
	int r = rbd_clone(c.io, parent, "base", c.io, child, features, &order);
	cr_assert_eq(r, 0, "rbd_clone: %s", strerror(-r));
	track_rbd(child);
	rbd_image_t ch;
	cr_assert_eq(rbd_open(c.io, child, &ch, NULL), 0);
	write_at(ch, 9 * OBJ + 7, 100);   /* a new object in the child only */
	write_at(ch, 3, 10);              /* over parent data (copy-up) */
	rbd_close(ch);
	snap_create(&c, child, "s1");
	char want[129];
	fst_rbd_sha512(c.io, child, "s1", want);

	char *id = create_image(&c, child);
	rbd_image_t img = open_snap(&c, child, "s1");
	fs_stream_req req = { .rbd_image = img, .fd = -1, .size = size, .image_id = id,
		.store = "local", .depth = 3, .read_size = 1 * MiB };
	fs_stream_res res;
	r = fs_stream_run(c.g, &req, &res);
	rbd_close(img);
	cr_assert_eq(r, 0, "fs_stream_run: %s", fastsnap_error_last());
	/* parent objects 0, 5, 6, 15 (last) plus the child's object 9; object
	 * 20+ are past 64 MiB */
	cr_assert_eq(res.bytes_allocated, 5 * OBJ, "allocated %llu",
		(unsigned long long)res.bytes_allocated);
	cr_assert_eq(res.md5[0], '\0');
	check_image(&c, id, size, &res, want);

	free(id);
	free(parent);
	free(child);
}

Test(stream_glance, sparse_raw_file, .timeout = 600)
{
	static ctx_t c;   /* outlives the test body: the fini cleans up with it */
	ctx_open(&c);
	made.c = &c;
	char path[] = "/tmp/fs-stream-file-XXXXXX";
	int wfd = mkstemp(path);
	cr_assert(wfd >= 0);
	track_file(path);
	const uint64_t size = 96 * MiB + 4096 * 3 + 17;
	cr_assert_eq(ftruncate(wfd, (off_t)size), 0);
	char *buf = malloc(OBJ);
	fill(buf, OBJ, 0);
	cr_assert_eq(pwrite(wfd, buf, OBJ, 0), (ssize_t)OBJ);
	cr_assert_eq(pwrite(wfd, buf, 12345, 40 * MiB + 100), 12345);
	cr_assert_eq(pwrite(wfd, buf, 3, (off_t)size - 3), 3);
	free(buf);
	close(wfd);
	char *name = fst_unique("fs-stream-file");

	int fd = -1;
	uint64_t fsize = 0;
	fs_file_stamp st;
	cr_assert_eq(fs_source_file_open(&fd, &fsize, &st, path), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fsize, size);
	char *want_out = NULL;
	cr_assert_eq(fst_sh(&want_out, NULL, "sha512sum < %s", path), 0);
	char want[129];
	memcpy(want, want_out, 128);
	want[128] = '\0';
	free(want_out);

	char *id = create_image(&c, name);
	fs_stream_req req = { .rbd_image = NULL, .fd = fd, .size = fsize, .image_id = id,
		.store = "local", .verify_md5 = 1 };
	fs_stream_res res;
	int r = fs_stream_run(c.g, &req, &res);
	cr_assert_eq(r, 0, "fs_stream_run: %s", fastsnap_error_last());
	cr_assert_eq(fs_source_file_check_unchanged(fd, path, &st), 0, "%s", fastsnap_error_last());
	close(fd);
	cr_assert(res.bytes_read <= res.bytes_allocated);
	cr_assert(res.bytes_allocated < 5 * MiB, "allocated %llu",
		(unsigned long long)res.bytes_allocated);
	check_image(&c, id, size, &res, want);

	free(id);
	free(name);
}

static int cancel_at_32m(fastsnap_step step, uint64_t done, uint64_t total, void *p)
{
	return done >= 32 * MiB;
}

static int truncate_fd = -1;
static int truncate_at_64m(fastsnap_step step, uint64_t done, uint64_t total, void *p)
{
	if (done >= 64 * MiB && truncate_fd >= 0) {
		cr_assert_eq(ftruncate(truncate_fd, 100 * MiB), 0);
		truncate_fd = -1;
	}
	return 0;
}

/* A read error (the file shrinks while it is read) and a cancel from the
 * progress callback or the flag come back as themselves, not as transport
 * errors, and leave the image not active. */
Test(stream_glance, reader_error_and_cancel_come_back_as_themselves, .timeout = 600)
{
	static ctx_t c;   /* outlives the test body: the fini cleans up with it */
	ctx_open(&c);
	made.c = &c;
	char path[] = "/tmp/fs-stream-short-XXXXXX";
	int wfd = mkstemp(path);
	cr_assert(wfd >= 0);
	track_file(path);
	char *buf = malloc(OBJ);
	fill(buf, OBJ, 0);
	for (int i = 0; i < 40; i++)
		cr_assert_eq(pwrite(wfd, buf, OBJ, (off_t)i * OBJ), (ssize_t)OBJ);
	free(buf);
	int fd = -1;
	uint64_t fsize = 0;
	fs_file_stamp st;
	cr_assert_eq(fs_source_file_open(&fd, &fsize, &st, path), 0);
	char *name = fst_unique("fs-stream-fail");
	char *id = create_image(&c, name);

	/* a size beyond the file is refused before anything is sent */
	fs_stream_req req0 = { .fd = fd, .size = fsize + 1, .image_id = id, .store = "local" };
	fs_stream_res res;
	cr_assert_eq(fs_stream_run(c.g, &req0, &res), FASTSNAP_EINVAL);

	truncate_fd = wfd;
	fs_stream_req req = { .fd = fd, .size = fsize, .image_id = id, .store = "local",
		.progress_cb = truncate_at_64m };
	int r = fs_stream_run(c.g, &req, &res);
	cr_assert_eq(r, FASTSNAP_EIO, "got %d: %s", r, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "end of file"), "%s", fastsnap_error_last());
	fsize = 100 * MiB;
	close(wfd);
	char *ids[3] = { id, NULL, NULL };

	/* a fresh image each time: Glance keeps an aborted one `saving` a while */
	ids[1] = create_image(&c, name);
	fs_stream_req req2 = { .fd = fd, .size = fsize, .image_id = ids[1], .store = "local",
		.progress_cb = cancel_at_32m };
	r = fs_stream_run(c.g, &req2, &res);
	cr_assert_eq(r, FASTSNAP_ECANCELED, "got %d: %s", r, fastsnap_error_last());

	ids[2] = create_image(&c, name);
	atomic_int cancel = 1;
	fs_stream_req req3 = { .fd = fd, .size = fsize, .image_id = ids[2], .store = "local",
		.cancel = &cancel };
	r = fs_stream_run(c.g, &req3, &res);
	cr_assert_eq(r, FASTSNAP_ECANCELED, "got %d: %s", r, fastsnap_error_last());
	close(fd);

	for (int k = 0; k < 3; k++) {
		fs_image *img = NULL;
		cr_assert_eq(fs_glance_image_get(c.g, &img, ids[k]), 0, "%s", fastsnap_error_last());
		cr_assert_str_neq(img->status, "active");
		fs_image_free(img);
		free(ids[k]);
	}
	free(name);
}

static void suite_fini(void)
{
	ctx_t *c = made.c;
	if (c) {
		for (int i = made.nimg - 1; i >= 0; i--) {
			/* the dev Glance's sqlite is sometimes "locked" (500): retry */
			int r = -1;
			for (int k = 0; k < 5 && r < 0; k++) {
				if (k)
					sleep(1);
				r = fs_glance_image_delete(c->g, made.img[i]);
				if (r == FASTSNAP_ENOTFOUND)
					r = 0;
			}
			if (r < 0)
				cr_log_warn("cleanup: %s", fastsnap_error_last());
			free(made.img[i]);
		}
		for (int i = made.nrbd - 1; i >= 0; i--) {
			remove_disk(c, made.rbd[i]);
			free(made.rbd[i]);
		}
		ctx_close(c);
	}
	for (int i = 0; i < made.nfile; i++) {
		unlink(made.file[i]);
		free(made.file[i]);
	}
	memset(&made, 0, sizeof(made));
}

TestSuite(stream_glance, .fini = suite_fini);
