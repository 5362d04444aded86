/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/rbd_map.c: the allocation map of an RBD snapshot from RADOS
 * (rbd_map.h): existing objects from librbd's whole-object diff, their
 * extents from the OSDs (clients/rados_map.h), object offsets mapped back
 * to image offsets through the striping, a clone's parent below it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/rados_map.h"
#include "stream/rbd_map.h"

#define FS_RBD_MAP_MAX_DEPTH 16     /* clone chain: librbd allows far fewer in practice */

typedef struct {
	uint64_t os, su, sc;        /* object size, stripe unit, stripe count */
} striping;

/* Image offset of byte x of object objno. */
static uint64_t obj_to_img(const striping *s, uint64_t objno, uint64_t x)
{
	uint64_t per = s->os / s->su;                 /* stripe units per object */
	uint64_t blockno = ((objno / s->sc) * per + x / s->su) * s->sc + objno % s->sc;
	return blockno * s->su + x % s->su;
}

/* The object that holds image byte o. */
static uint64_t img_to_obj(const striping *s, uint64_t o)
{
	uint64_t per = s->os / s->su;
	uint64_t blockno = o / s->su;
	return (blockno / s->sc / per) * s->sc + blockno % s->sc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

typedef struct {
	const striping *s;
	uint64_t *v;
	size_t n, cap, compacted;
	int err;
} obj_list;

static void compact(obj_list *l)
{
	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	size_t w = 1;
	for (size_t i = 1; i < l->n; i++)
		if (l->v[i] != l->v[w - 1])
			l->v[w++] = l->v[i];
	l->n = w;
	l->compacted = w;
}

static int push_obj(obj_list *l, uint64_t objno)
{
	if (l->n && l->v[l->n - 1] == objno)
		return 0;
	if (l->n == l->cap) {
		/* striped images name each object once per stripe unit: compact
		 * before growing, so the list stays about one entry per object */
		if (l->n > l->compacted + l->compacted / 2 + 1024)
			compact(l);
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1024;
			uint64_t *v = realloc(l->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			l->v = v;
			l->cap = cap;
		}
	}
	l->v[l->n++] = objno;
	return 0;
}

/* librbd's whole-object diff: an image range per existing object. */
static int existing_cb(uint64_t off, size_t len, int exists, void *arg)
{
	obj_list *l = arg;
	if (!exists || len == 0)
		return 0;
	const striping *s = l->s;
	uint64_t end = off + len;
	int r = 0;
	if (s->sc == 1 && s->su == s->os) {
		for (uint64_t o = off / s->os; o <= (end - 1) / s->os && r == 0; o++)
			r = push_obj(l, o);
	} else {
		for (uint64_t p = off - off % s->su; p < end && r == 0; p += s->su)
			r = push_obj(l, img_to_obj(s, p));
	}
	if (r < 0) {
		l->err = r;
		return r;
	}
	return 0;
}

typedef struct {
	fs_extent_map *m;
	const striping *s;
	const uint64_t *objs;
	uint64_t limit, g;
	size_t cur;                 /* object of the previous extent */
	int started;
	unsigned int nthis;         /* extents seen in object `cur` */
	int all_whole;              /* every object so far: one extent from byte 0 */
	uint64_t mapped;            /* objects with at least one extent */
	int err;
} ext_ctx;

static int add_img(ext_ctx *c, uint64_t a, uint64_t len)
{
	if (a >= c->limit)
		return 0;
	uint64_t z = a + len < c->limit ? a + len : c->limit;
	a -= a % c->g;
	if (z % c->g)
		z += c->g - z % c->g;
	return fs_extent_map_add(c->m, a, z - a);
}

static int extent_cb(void *ctx, size_t i, uint64_t off, uint64_t len)
{
	ext_ctx *c = ctx;
	if (!c->started || i != c->cur) {
		if (c->started && c->nthis > 1)
			c->all_whole = 0;
		c->started = 1;
		c->cur = i;
		c->nthis = 0;
		c->mapped++;
	}
	if (c->nthis++ == 0 && off != 0)
		c->all_whole = 0;
	const striping *s = c->s;
	uint64_t objno = c->objs[i];
	int r = 0;
	while (len > 0 && r == 0) {
		uint64_t n = s->su - off % s->su;
		if (n > len)
			n = len;
		r = add_img(c, obj_to_img(s, objno, off), n);
		off += n;
		len -= n;
	}
	if (r < 0)
		c->err = r;
	return r;
}

typedef struct {
	rados_t cluster;
	uint64_t g;
	fs_rbd_map_info *info;
	int fallback;               /* set with info->why: give up, use librbd's map */
} walk;

static int give_up(walk *w, const char *fmt, ...) FS_PRINTF(2, 3);
static int give_up(walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->info->why, sizeof(w->info->why), fmt, ap);
	va_end(ap);
	w->fallback = 1;
	return 1;
}

/* The image ranges that object objno covers (within limit). */
static int add_object_range(fs_extent_map *m, const striping *s, uint64_t objno, uint64_t limit)
{
	int r = 0;
	for (uint64_t x = 0; x < s->os && r == 0; x += s->su) {
		uint64_t a = obj_to_img(s, objno, x);
		if (a < limit)
			r = fs_extent_map_add(m, a, s->su < limit - a ? s->su : limit - a);
	}
	return r;
}

/* out \ cover, both normalized: the ranges of `p` not in `cover`, added to out. */
static int add_difference(fs_extent_map *out, const fs_extent_map *p, const fs_extent_map *cover)
{
	size_t j = 0;
	int r = 0;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		uint64_t a = p->v[i].off, z = a + p->v[i].len;
		while (j < cover->n && cover->v[j].off + cover->v[j].len <= a)
			j++;
		for (size_t k = j; k < cover->n && a < z && r == 0; k++) {
			uint64_t ca = cover->v[k].off, cz = ca + cover->v[k].len;
			if (ca >= z)
				break;
			if (ca > a)
				r = fs_extent_map_add(out, a, ca - a);
			if (cz > a)
				a = cz;
		}
		if (a < z && r == 0)
			r = fs_extent_map_add(out, a, z - a);
	}
	return r;
}

/* Map `image` at snapshot `snap_id` over [0, limit) into m (normalized).
 * Returns 0 (w->fallback says whether to give up), or a negative code. */
static int map_image(walk *w, fs_extent_map *m, rbd_image_t image, rados_ioctx_t io,
	uint64_t snap_id, uint64_t limit, unsigned int depth)
{
	rbd_image_info_t st;
	uint64_t features = 0, su = 0, sc = 0;
	uint8_t old = 0;
	char prefix[RBD_MAX_BLOCK_NAME_SIZE + 1] = "";
	int r;
	if ((r = rbd_stat(image, &st, sizeof(st))) < 0 || (r = rbd_get_features(image, &features)) < 0 ||
	    (r = rbd_get_stripe_unit(image, &su)) < 0 || (r = rbd_get_stripe_count(image, &sc)) < 0 ||
	    (r = rbd_get_old_format(image, &old)) < 0 ||
	    (r = rbd_get_block_name_prefix(image, prefix, sizeof(prefix))) < 0)
		return give_up(w, "reading the image's layout: %s", strerror(-r)), 0;
	if (old)
		return give_up(w, "an image of format 1"), 0;
	if (features & RBD_FEATURE_MIGRATING)
		return give_up(w, "the image is being migrated"), 0;
	if (depth > FS_RBD_MAP_MAX_DEPTH)
		return give_up(w, "a clone chain deeper than %d", FS_RBD_MAP_MAX_DEPTH), 0;
	striping s = { st.obj_size, su ? su : st.obj_size, sc ? sc : 1 };
	if (s.os == 0 || s.su > s.os || s.os % s.su)
		return give_up(w, "striping %llu/%llu of %llu-byte objects", (unsigned long long)s.su,
			(unsigned long long)s.sc, (unsigned long long)s.os), 0;
	if (limit > st.size)
		limit = st.size;

	obj_list objs = { .s = &s };
	fs_extent_map own = FS_EXTENT_MAP_INIT, parent = FS_EXTENT_MAP_INIT, cover = FS_EXTENT_MAP_INIT;
	rados_ioctx_t dio = NULL;
	rbd_image_t pimg = NULL;
	rados_ioctx_t pio = NULL;
	rbd_linked_image_spec_t pspec;
	rbd_snap_spec_t psnap;
	int have_parent = 0;
	own.size = parent.size = cover.size = limit;

	if (limit > 0) {
		r = rbd_diff_iterate2(image, NULL, 0, limit, 0, 1, existing_cb, &objs);
		if (objs.err) {
			r = objs.err;
			goto out;
		}
		if (r < 0) {
			give_up(w, "listing the image's objects (rbd_diff_iterate2): %s", strerror(-r));
			r = 0;
			goto out;
		}
		compact(&objs);
	}

	/* the image's own objects, from its data pool */
	if (objs.n) {
		int64_t pool = rbd_get_data_pool_id(image);
		char ns[256] = "";
		if (pool < 0 || (r = rados_ioctx_create2(w->cluster, pool, &dio)) < 0) {
			give_up(w, "opening the data pool %lld: %s", (long long)pool,
				strerror(pool < 0 ? (int)-pool : -r));
			r = 0;
			goto out;
		}
		if (rados_ioctx_get_namespace(io, ns, sizeof(ns)) > 0)
			rados_ioctx_set_namespace(dio, ns);
		fs_rados_map_req q = { .io = dio, .prefix = prefix, .snap_id = snap_id,
			.object_size = s.os, .threads = 8 };
		ext_ctx c = { .m = &own, .s = &s, .objs = objs.v, .limit = limit, .g = w->g,
			.all_whole = 1 };
		r = fs_rados_map_objects(&q, objs.v, objs.n, extent_cb, &c);
		if (c.err) {
			r = c.err;
			goto out;
		}
		if (r < 0) {
			give_up(w, r == -EOPNOTSUPP && !fs_rados_map_available()
				? "this build has no RADOS extent map (librados' C++ headers were missing)"
				: r == -EPERM || r == -EACCES
				? "mapping the data objects: no read access to the data pool (%s)"
				: "mapping the data objects (MAPEXT): %s", strerror(-r));
			r = 0;
			goto out;
		}
		if (c.started && c.nthis > 1)
			c.all_whole = 0;
		if (!c.all_whole)
			w->info->coarse = 0;
		w->info->objects += objs.n;
		if (depth)
			w->info->parent_objects += objs.n;
		fs_extent_map_normalize(&own);
	}

	/* a clone: the parent's data within the overlap, where the child has no object */
	uint64_t overlap = 0;
	r = rbd_get_parent(image, &pspec, &psnap);
	if (r == -ENOENT) {
		r = 0;
	} else if (r < 0) {
		give_up(w, "reading the parent: %s", strerror(-r));
		r = 0;
		goto out;
	} else {
		have_parent = 1;
		if ((r = rbd_get_overlap(image, &overlap)) < 0) {
			give_up(w, "reading the parent overlap: %s", strerror(-r));
			r = 0;
			goto out;
		}
	}
	if (overlap > limit)
		overlap = limit;
	if (have_parent && overlap > 0) {
		if ((r = rados_ioctx_create2(w->cluster, pspec.pool_id, &pio)) < 0) {
			give_up(w, "opening the parent's pool %s: %s", pspec.pool_name, strerror(-r));
			r = 0;
			goto out;
		}
		rados_ioctx_set_namespace(pio, pspec.pool_namespace ? pspec.pool_namespace : "");
		if ((r = rbd_open_by_id_read_only(pio, pspec.image_id, &pimg, NULL)) < 0 ||
		    (r = rbd_snap_set_by_id(pimg, psnap.id)) < 0) {
			give_up(w, "opening the parent %s/%s at snapshot %llu: %s", pspec.pool_name,
				pspec.image_name, (unsigned long long)psnap.id, strerror(-r));
			r = 0;
			goto out;
		}
		r = map_image(w, &parent, pimg, pio, psnap.id, overlap, depth + 1);
		if (r < 0 || w->fallback)
			goto out;
		for (size_t i = 0; i < objs.n && r == 0; i++)
			r = add_object_range(&cover, &s, objs.v[i], overlap);
		if (r < 0)
			goto out;
		fs_extent_map_normalize(&cover);
		if ((r = add_difference(&own, &parent, &cover)) < 0)
			goto out;
		fs_extent_map_normalize(&own);
	}
	/* hand `own` over */
	fs_extent_map_free(m);
	*m = own;
	m->size = limit;
	memset(&own, 0, sizeof(own));
out:
	if (pimg)
		rbd_close(pimg);
	if (pio)
		rados_ioctx_destroy(pio);
	if (have_parent)
		rbd_linked_image_spec_cleanup(&pspec), rbd_snap_spec_cleanup(&psnap);
	if (dio)
		rados_ioctx_destroy(dio);
	free(objs.v);
	fs_extent_map_free(&own);
	fs_extent_map_free(&parent);
	fs_extent_map_free(&cover);
	if (r < 0 && r > -4096)
		r = fs_err(fs_errno_to_code(r), "mapping the RBD image's extents: %s", strerror(-r));
	return r;
}

int fs_rbd_map_build(fs_extent_map *m, rbd_image_t image, rados_ioctx_t io, const char *snap,
	uint64_t size, uint64_t unit, fs_rbd_map_info *info)
{
	memset(info, 0, sizeof(*info));
	double t0 = fs_now();
	if (unit == 0 || (unit & (unit - 1)) != 0)
		return fs_err(FASTSNAP_EINVAL, "RBD map: rounding unit %llu is not a power of two",
			(unsigned long long)unit);
	walk w = { .g = unit, .info = info };
	info->coarse = 1;
	int r = 0;
	uint64_t snap_id = 0;
	if (!io || !snap) {
		give_up(&w, "no pool handle or snapshot name given");
	} else if ((r = rbd_snap_get_id(image, snap, &snap_id)) < 0) {
		give_up(&w, "looking up snapshot %s: %s", snap, strerror(-r));
		r = 0;
	} else {
		w.cluster = rados_ioctx_get_cluster(io);
		fs_extent_map tmp = FS_EXTENT_MAP_INIT;
		tmp.size = size;
		r = map_image(&w, &tmp, image, io, snap_id, size, 0);
		if (r < 0) {
			fs_extent_map_free(&tmp);
			return r;
		}
		if (!w.fallback) {
			fs_extent_map_free(m);
			*m = tmp;
			m->size = size;
			info->exact = 1;
			if (info->objects == 0)
				info->coarse = 0;
		} else {
			fs_extent_map_free(&tmp);
		}
	}
	if (!info->exact) {
		info->coarse = 0;
		info->objects = info->parent_objects = 0;
		r = fs_extent_map_from_rbd_exact(m, image, size);
	}
	info->seconds = fs_now() - t0;
	return r;
}
