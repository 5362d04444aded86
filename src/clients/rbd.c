/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/rbd.c: librbd operations (see rbd.h). Every clone
 * gets its features set explicitly (RBD_IMAGE_OPTION_FEATURES) and checked
 * afterwards: without deep-flatten a snapshot taken on the clone before
 * the flatten would pin the disk's temporary snapshot for ever.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/rbd.h"

static int rbd_fail(int r, const char *what, const char *pool, const char *image, const char *snap)
{
	return fs_err(fs_errno_to_code(r), "Ceph: cannot %s %s/%s%s%s: %s%s", what, pool, image,
		snap ? "@" : "", snap ? snap : "", strerror(-r), r == -ETIMEDOUT ?
		" (the cluster did not answer within the Ceph operation timeout, "
		"[fastsnap] ceph_op_timeout_s / FASTSNAP_CEPH_OP_TIMEOUT_S)" : "");
}

static int h_open(fs_rbd_image *h, fs_ceph *c, const char *pool, const char *image, const char *snap,
	int ro, const char *why)
{
	memset(h, 0, sizeof(*h));
	int r = fs_ceph_ioctx(&h->io, c, pool);
	if (r < 0)
		return r;
	r = ro ? rbd_open_read_only(h->io, image, &h->img, snap) : rbd_open(h->io, image, &h->img, snap);
	if (r < 0) {
		rados_ioctx_destroy(h->io);
		h->io = NULL;
		h->img = NULL;
		if (r == -ENOENT)
			return fs_err(FASTSNAP_ENOTFOUND, "RBD image %s/%s%s%s not found", pool, image,
				snap ? "@" : "", snap ? snap : "");
		return rbd_fail(r, why, pool, image, snap);
	}
	h->pool = fs_strdup(pool);
	h->image = fs_strdup(image);
	if (!h->pool || !h->image) {
		fs_rbd_image_close(h);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	return 0;
}

int fs_rbd_image_open(fs_rbd_image *h, fs_ceph *c, const char *pool, const char *image)
{
	return h_open(h, c, pool, image, NULL, 0, "open");
}

int fs_rbd_image_is_open(const fs_rbd_image *h)
{
	return h && h->img != NULL;
}

void fs_rbd_image_close(fs_rbd_image *h)
{
	if (!h)
		return;
	if (h->img)
		rbd_close(h->img);
	if (h->io)
		rados_ioctx_destroy(h->io);
	free(h->pool);
	free(h->image);
	memset(h, 0, sizeof(*h));
}

int fs_rbd_disk_info(fs_disk_info *out, fs_ceph *c, const char *pool, const char *image)
{
	memset(out, 0, sizeof(*out));
	fs_rbd_image h;
	int r = h_open(&h, c, pool, image, NULL, 1, "open");
	if (r < 0)
		return r;
	rbd_image_info_t info;
	if ((r = rbd_stat(h.img, &info, sizeof(info))) < 0 ||
	    (r = rbd_get_features(h.img, &out->features)) < 0) {
		fs_rbd_image_close(&h);
		return rbd_fail(r, "stat", pool, image, NULL);
	}
	out->size = info.size;
	out->order = info.order;
	/* Walk the parent chain to learn the clone depth. */
	rbd_image_t cur = h.img;
	rados_ioctx_t cur_io = h.io;
	rbd_image_t opened = NULL;
	rados_ioctx_t opened_io = NULL;
	for (unsigned int d = 0; d < 64; d++) {
		rbd_linked_image_spec_t pimg;
		rbd_snap_spec_t psnap;
		r = rbd_get_parent(cur, &pimg, &psnap);
		if (r == -ENOENT)
			break;
		if (r < 0) {
			rbd_fail(r, "read the parent of", pool, image, NULL);
			goto out;
		}
		out->has_parent = 1;
		out->depth = d + 1;
		rados_ioctx_t pio = NULL;
		rbd_image_t pim = NULL;
		int ok = rados_ioctx_create2(fs_ceph_handle(c), pimg.pool_id, &pio) == 0;
		if (ok && pimg.pool_namespace)
			rados_ioctx_set_namespace(pio, pimg.pool_namespace);
		if (ok)
			ok = rbd_open_by_id_read_only(pio, pimg.image_id, &pim, NULL) == 0;
		rbd_linked_image_spec_cleanup(&pimg);
		rbd_snap_spec_cleanup(&psnap);
		if (opened)
			rbd_close(opened);
		if (opened_io)
			rados_ioctx_destroy(opened_io);
		opened = NULL;
		opened_io = NULL;
		if (!ok) {
			/* Parent not readable with our caps: the depth is at least d+1. */
			if (pio)
				rados_ioctx_destroy(pio);
			break;
		}
		opened = cur = pim;
		opened_io = cur_io = pio;
	}
	r = 0;
out:
	if (opened)
		rbd_close(opened);
	if (opened_io)
		rados_ioctx_destroy(opened_io);
	fs_rbd_image_close(&h);
	return r;
}

/* ---- on an open image ---- */

int fs_rbd_image_snap_create(fs_rbd_image *h, const char *snap)
{
	int r = rbd_snap_create(h->img, snap);
	return r < 0 ? rbd_fail(r, "create snapshot", h->pool, h->image, snap) : 0;
}

int fs_rbd_image_snap_protect(fs_rbd_image *h, const char *snap)
{
	int r = rbd_snap_protect(h->img, snap);
	return r < 0 ? rbd_fail(r, "protect snapshot", h->pool, h->image, snap) : 0;
}

int fs_rbd_image_snap_create_protected(fs_rbd_image *h, const char *snap, int *created)
{
	*created = 0;
	int r = fs_rbd_image_snap_create(h, snap);
	if (r == 0)
		*created = 1;
	return r < 0 ? r : fs_rbd_image_snap_protect(h, snap);
}

int fs_rbd_image_snap_remove(fs_rbd_image *h, const char *snap)
{
	bool exists = false;
	int r = rbd_snap_exists(h->img, snap, &exists);
	if (r < 0 || !exists)
		return r < 0 ? rbd_fail(r, "look up snapshot", h->pool, h->image, snap) : 0;
	int prot = 0;
	r = rbd_snap_is_protected(h->img, snap, &prot);
	if (r == 0 && prot)
		r = rbd_snap_unprotect(h->img, snap);
	if (r < 0)
		return rbd_fail(r, "unprotect snapshot", h->pool, h->image, snap);
	r = rbd_snap_remove(h->img, snap);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? rbd_fail(r, "remove snapshot", h->pool, h->image, snap) : 0;
}

/* ---- each opens pool/image, does its one thing, closes ---- */

int fs_rbd_snap_exists(fs_ceph *c, const char *pool, const char *image, const char *snap)
{
	fs_rbd_image h;
	int r = h_open(&h, c, pool, image, NULL, 1, "open");
	if (r < 0)
		return r;
	bool exists = false;
	r = rbd_snap_exists(h.img, snap, &exists);
	fs_rbd_image_close(&h);
	return r < 0 ? rbd_fail(r, "look up snapshot", pool, image, snap) : exists;
}

int fs_rbd_snap_remove(fs_ceph *c, const char *pool, const char *image, const char *snap)
{
	fs_rbd_image h;
	int r = h_open(&h, c, pool, image, NULL, 0, "open");
	if (r == FASTSNAP_ENOTFOUND) {
		fastsnap_error_clear();
		return 0;
	}
	if (r == 0)
		r = fs_rbd_image_snap_remove(&h, snap);
	fs_rbd_image_close(&h);
	return r;
}

/* The new clone's features: a clone that lacks deep-flatten would pin the
 * disk's snapshot. */
static int clone_check(fs_rbd_image *h)
{
	uint64_t feat = 0;
	int r = rbd_get_features(h->img, &feat);
	if (r < 0)
		return rbd_fail(r, "read the features of", h->pool, h->image, NULL);
	if ((feat & FS_CLONE_FEATURES) != FS_CLONE_FEATURES)
		return fs_err(FASTSNAP_ECEPH, "Ceph: clone %s/%s has features 0x%llx, expected 0x%llx "
			"(layering, exclusive-lock, object-map, fast-diff, deep-flatten)", h->pool, h->image,
			(unsigned long long)feat, (unsigned long long)FS_CLONE_FEATURES);
	return 0;
}

int fs_rbd_image_tag(fs_rbd_image *h, const char *const *keys, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = rbd_metadata_set(h->img, keys[i], values[i]);
		if (r < 0)
			return rbd_fail(r, "tag (metadata) the clone", h->pool, h->image, NULL);
	}
	return 0;
}

int fs_rbd_metadata_each(rbd_image_t img, const char *start,
	int (*cb)(const char *key, const char *value, void *ctx), void *ctx)
{
	size_t ksz = 4096, vsz = 16384;
	char *keys = malloc(ksz), *vals = malloc(vsz);
	char *from = fs_strdup(start);
	const uint64_t page = 64;
	int r = keys && vals && from ? 0 : -ENOMEM;
	while (r == 0) {
		size_t kl = ksz, vl = vsz;
		r = rbd_metadata_list(img, from, page, keys, &kl, vals, &vl);
		if (r == -ERANGE && (kl > ksz || vl > vsz)) {
			char *k2 = kl > ksz ? realloc(keys, kl) : keys;
			if (k2)
				keys = k2, ksz = kl > ksz ? kl : ksz;
			char *v2 = k2 && vl > vsz ? realloc(vals, vl) : vals;
			if (v2)
				vals = v2, vsz = vl > vsz ? vl : vsz;
			r = k2 && v2 ? 0 : -ENOMEM;
			continue;
		}
		if (r < 0)
			break;
		uint64_t count = 0;
		const char *last = NULL;
		for (const char *k = keys, *v = vals; r == 0 && k < keys + kl && *k;
		     k += strlen(k) + 1, v += strlen(v) + 1, count++) {
			last = k;
			r = cb(k, v, ctx);
		}
		if (r != 0 || count < page || !last)
			break;
		char *next = fs_strdup(last);
		free(from);
		from = next;
		if (!from)
			r = -ENOMEM;
	}
	free(keys);
	free(vals);
	free(from);
	return r;
}

typedef struct {
	const char *prefix;
	fs_strv found;
} prefixed_keys;

/* collects the keys that begin with the prefix; 1 (stop) past them */
static int collect_prefixed(const char *key, const char *value, void *ctx)
{
	(void)value;
	prefixed_keys *p = ctx;
	if (strncmp(key, p->prefix, strlen(p->prefix)) != 0)
		return 1;
	return fs_strv_push(&p->found, key) < 0 ? -ENOMEM : 0;
}

int fs_rbd_image_untag_prefix(fs_rbd_image *h, const char *prefix, int *removed)
{
	*removed = 0;
	prefixed_keys p = { prefix, { 0 } };
	/* keys sort: ours follow the prefix */
	int r = fs_rbd_metadata_each(h->img, prefix, collect_prefixed, &p);
	if (r > 0)
		r = 0;
	for (size_t i = 0; r == 0 && i < p.found.n; i++) {
		int e = rbd_metadata_remove(h->img, p.found.v[i]);
		if (e < 0 && e != -ENOENT)
			r = e;
		else if (e == 0)
			(*removed)++;
	}
	fs_strv_free(&p.found);
	return r < 0 ? rbd_fail(r, "remove copied metadata from", h->pool, h->image, NULL) : 0;
}

int fs_rbd_clone(fs_rbd_image *out, fs_rbd_image *parent, const char *snap,
	fs_ceph *c, const char *cpool, const char *cname, int clone_format)
{
	memset(out, 0, sizeof(*out));
	rados_ioctx_t cio = NULL;
	int r = fs_ceph_ioctx(&cio, c, cpool);
	if (r < 0)
		return r;
	rbd_image_options_t opts = NULL;
	rbd_image_options_create(&opts);
	rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES, FS_CLONE_FEATURES);
	rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_CLONE_FORMAT, (uint64_t)clone_format);
	r = rbd_clone3(parent->io, parent->image, snap, cio, cname, opts);
	rbd_image_options_destroy(opts);
	rados_ioctx_destroy(cio);
	if (r < 0)
		return fs_err(fs_errno_to_code(r), "Ceph: cannot clone %s/%s@%s into %s/%s: %s",
			parent->pool, parent->image, snap, cpool, cname, strerror(-r));
	if ((r = h_open(out, c, cpool, cname, NULL, 0, "open the new clone")) < 0)
		return r;
	if ((r = clone_check(out)) < 0)
		fs_rbd_image_close(out);
	return r;
}

typedef struct {
	int (*cb)(uint64_t, uint64_t, void *);
	void *ctx;
	uint64_t object_size;
	int stopped;
} flatten_ctx;

/* librbd counts objects; callers get bytes. */
static int flatten_progress(uint64_t offset, uint64_t total, void *p)
{
	flatten_ctx *fc = p;
	if (fc->cb && fc->cb(offset * fc->object_size, total * fc->object_size, fc->ctx)) {
		fc->stopped = 1;
		return -ECANCELED;
	}
	return 0;
}

int fs_rbd_image_flatten(fs_rbd_image *h, int (*cb)(uint64_t done, uint64_t total, void *ctx),
	void *ctx)
{
	rbd_image_info_t info;
	flatten_ctx fc = { cb, ctx, 4u << 20, 0 };
	if (rbd_stat(h->img, &info, sizeof(info)) == 0)
		fc.object_size = info.obj_size;
	int r = rbd_flatten_with_progress(h->img, flatten_progress, &fc);
	if (fc.stopped)
		return fs_err(FASTSNAP_ECANCELED, "flatten of %s/%s canceled", h->pool, h->image);
	if (r == -EINVAL) /* already flat */
		return 0;
	return r < 0 ? rbd_fail(r, "flatten", h->pool, h->image, NULL) : 0;
}

typedef struct {
	uint64_t *v;
	size_t n, cap;
	uint64_t object_size;
} marked_objects;

/* diff_iterate, whole objects, from the beginning: the objects the map
 * says exist (it answers from the object map with fast-diff). */
static int collect_marked(uint64_t off, size_t len, int exists, void *p)
{
	marked_objects *m = p;
	if (!exists)
		return 0;
	for (uint64_t o = off / m->object_size; o * m->object_size < off + len; o++) {
		if (m->n && m->v[m->n - 1] == o)
			continue;
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 256;
			uint64_t *v = realloc(m->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			m->v = v;
			m->cap = cap;
		}
		m->v[m->n++] = o;
	}
	return 0;
}

/* cls_rbd object_map_update of one object of the map object `oid`, from
 * state `from` to `to` (encoded as librbd does: start, end excluded, new
 * state, optional current state). */
static int map_update(rados_ioctx_t io, const char *oid, uint64_t obj, uint8_t from, uint8_t to)
{
	char in[19];
	for (int b = 0; b < 8; b++) {
		in[b] = (char)((obj >> (8 * b)) & 0xff);
		in[8 + b] = (char)(((obj + 1) >> (8 * b)) & 0xff);
	}
	in[16] = (char)to;
	in[17] = 1;   /* the current state is given */
	in[18] = (char)from;
	char out[16];
	return rados_exec(io, oid, "rbd", "object_map_update", in, sizeof(in), out, sizeof(out));
}

/* The lockers of the image's lock (librbd's exclusive lock is the header's
 * cls lock "rbd_lock"), as rbd_list_lockers gives them: NUL-separated
 * addresses in *addrs (malloc'd), their count returned. */
static ssize_t lockers(fs_rbd_image *h, char **addrs)
{
	size_t len[4] = { 256, 1024, 1024, 1024 };
	for (int attempt = 0; attempt < 4; attempt++) {
		char *b[4];
		for (int i = 0; i < 4; i++)
			b[i] = calloc(1, len[i]);
		int excl = 0;
		ssize_t n = (b[0] && b[1] && b[2] && b[3]) ?
			rbd_list_lockers(h->img, &excl, b[0], &len[0], b[1], &len[1], b[2], &len[2],
				b[3], &len[3]) : -ENOMEM;
		for (int i = 0; i < 3; i++)
			free(b[i]);
		if (n >= 0) {
			*addrs = b[3];
			return n;
		}
		free(b[3]);
		if (n != -ERANGE)
			return n;
	}
	return -ERANGE;
}

/* Fence the dead run: blocklist every client that holds the clone's lock
 * and wait until the OSDs know it, so that no operation it sent before it
 * died (an object map update still queued at an OSD) can land after the
 * correction below (docs/architecture.md, "The flatten helper"). librbd
 * does the same when it breaks the lock, but only when something takes
 * it: after the correction. */
static int fence_lockers(fs_rbd_image *h)
{
	char *addrs = NULL;
	ssize_t n = lockers(h, &addrs);
	if (n < 0)
		return rbd_fail((int)n, "list the lockers of", h->pool, h->image, NULL);
	rados_t cl = rados_ioctx_get_cluster(h->io);
	int r = 0;
	const char *a = addrs;
	for (ssize_t i = 0; r >= 0 && i < n; i++, a += strlen(a) + 1)
		r = rados_blocklist_add(cl, (char *)a, 0);   /* 0: the monitors' default expiry */
	if (r < 0) {
		r = fs_err(fs_errno_to_code(r), "Ceph: cannot blocklist %s, the dead run's client "
			"holding the lock of %s/%s: %s", a, h->pool, h->image, strerror(-r));
		free(addrs);
		return r;
	}
	free(addrs);
	if (n > 0 && (r = rados_wait_for_latest_osdmap(cl)) < 0)
		return rbd_fail(r, "wait for the OSD map after fencing", h->pool, h->image, NULL);
	return 0;
}

int fs_rbd_image_unmark_absent(fs_rbd_image *h,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), void *ctx)
{
	uint64_t feat = 0;
	int r = rbd_get_features(h->img, &feat);
	if (r < 0)
		return rbd_fail(r, "read the features of", h->pool, h->image, NULL);
	if (!(feat & RBD_FEATURE_OBJECT_MAP))
		return 0;
	if ((r = fence_lockers(h)) < 0)
		return r;
	rbd_image_info_t info;
	char id[64];
	r = rbd_stat(h->img, &info, sizeof(info));
	if (r == 0)
		r = rbd_get_id(h->img, id, sizeof(id));
	if (r < 0)
		return rbd_fail(r, "read the object map of", h->pool, h->image, NULL);
	/* Listed through a read-only handle: on a read-write one librbd's
	 * diff-iterate takes the exclusive lock (Ceph 16.2.15, 18.2) and with
	 * it loads the map, which the correction below would then not reach
	 * (a dead run's lock without a watch is broken at once). */
	rbd_image_t ro;
	if ((r = rbd_open_read_only(h->io, h->image, &ro, NULL)) < 0)
		return rbd_fail(r, "open read-only", h->pool, h->image, NULL);
	marked_objects m = { NULL, 0, 0, info.obj_size };
	r = rbd_diff_iterate2(ro, NULL, 0, info.size, 0, 1, collect_marked, &m);
	rbd_close(ro);
	char oid[128];
	snprintf(oid, sizeof(oid), "rbd_object_map.%s", id);
	for (size_t i = 0; r >= 0 && i < m.n; i++) {
		char name[128];
		snprintf(name, sizeof(name), "%s.%016llx", info.block_name_prefix,
			(unsigned long long)m.v[i]);
		uint64_t sz;
		time_t mt;
		r = rados_stat(h->io, name, &sz, &mt);
		if (r == -ENOENT) {
			/* 1 OBJECT_EXISTS, 3 OBJECT_EXISTS_CLEAN -> 0 OBJECT_NONEXISTENT */
			r = map_update(h->io, oid, m.v[i], 1, 0);
			if (r >= 0)
				r = map_update(h->io, oid, m.v[i], 3, 0);
		}
		if (r >= 0 && cb && i % 64 == 63 && cb(0, info.size, ctx)) {
			free(m.v);
			return fs_err(FASTSNAP_ECANCELED, "flatten of %s/%s canceled", h->pool, h->image);
		}
	}
	free(m.v);
	return r < 0 ? rbd_fail(r, "correct the object map of", h->pool, h->image, NULL) : 0;
}

int fs_rbd_flatten(fs_ceph *c, const char *pool, const char *image,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), void *ctx)
{
	fs_rbd_image h;
	int r = h_open(&h, c, pool, image, NULL, 0, "open");
	if (r == 0)
		r = fs_rbd_image_flatten(&h, cb, ctx);
	fs_rbd_image_close(&h);
	return r;
}

int fs_rbd_image_remove(fs_ceph *c, const char *pool, const char *image)
{
	rados_ioctx_t io;
	int r = fs_ceph_ioctx(&io, c, pool);
	if (r < 0)
		return r;
	/* A user without write caps gets EPERM from rbd_remove even for an
	 * image that does not exist (a clone that failed): look first. */
	rbd_image_t probe;
	r = rbd_open_read_only(io, image, &probe, NULL);
	if (r == -ENOENT) {
		rados_ioctx_destroy(io);
		return 0;
	}
	if (r == 0)
		rbd_close(probe);
	for (int attempt = 0; attempt < 20; attempt++) {
		r = rbd_remove(io, image);
		if (r != -EBUSY)
			break;
		/* A watcher that just closed may linger briefly. */
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	rados_ioctx_destroy(io);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? rbd_fail(r, "remove image", pool, image, NULL) : 0;
}

int fs_rbd_open_snap(rados_ioctx_t *io_out, rbd_image_t *img_out, fs_ceph *c,
	const char *pool, const char *image, const char *snap)
{
	fs_rbd_image h;
	int r = h_open(&h, c, pool, image, snap, 1, "open");
	if (r < 0)
		return r;
	*io_out = h.io;
	*img_out = h.img;
	free(h.pool);
	free(h.image);
	return 0;
}

void fs_rbd_close(rados_ioctx_t io, rbd_image_t img)
{
	if (img)
		rbd_close(img);
	if (io)
		rados_ioctx_destroy(io);
}
