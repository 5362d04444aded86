/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_rbd_map.c: the property test of the RBD map from
 * RADOS (stream/rbd_map.h, issue 30): random layouts written into RBD
 * images (random data at random offsets and lengths, aligned discards,
 * writes after the snapshot), the map of the snapshot compared with what
 * the snapshot really holds, read back 4 KiB block by block:
 *   - always: every block holding a non-zero byte is mapped (the map is
 *     never short of data: the qcow2 stream would lose it);
 *   - where the map came from RADOS on a BlueStore OSD: the map is exact
 *     at 4 KiB (the allocation unit): no mapped block reads as zeros, but
 *     up to the bytes of the objects a clone holds itself (measured: they
 *     do hold allocated zeros, though one copy-up alone is sparse; not
 *     traced further), counted and asserted;
 *   - on memstore (whole objects) or without the C++ unit (the trixie
 *     build: the map falls back to librbd's and says why) only the first.
 * Layouts: a plain image; a clone of a clone whose overlap is shorter than
 * the disk (the child shrunk and grown back), with copy-ups; an image with
 * striping (64 KiB x 4 over 1 MiB objects). One run each by default, about
 * a second on the dev cluster; FASTSNAP_RBD_MAP_RUNS=N for more,
 * FASTSNAP_RBD_MAP_SEED to repeat one (the seed is in every message).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include "devenv.h"
#include "clients/rados_map.h"
#include "stream/rbd_map.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define BLK (4 * KiB)

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static unsigned int runs(void)
{
	const char *e = getenv("FASTSNAP_RBD_MAP_RUNS");
	return e && atoi(e) > 0 ? (unsigned int)atoi(e) : 1;
}

static uint64_t seed_for(unsigned int run)
{
	const char *e = getenv("FASTSNAP_RBD_MAP_SEED");
	uint64_t s = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	return s + run * 0x9E3779B97F4A7C15ull;
}

/* Is the OSD BlueStore (osd metadata's osd_objectstore)? */
static int osd_is_bluestore(rados_t c)
{
	const char *cmd[] = { "{\"prefix\": \"osd metadata\", \"id\": 0, \"format\": \"json\"}" };
	char *out = NULL, *st = NULL;
	size_t outlen = 0, stlen = 0;
	int r = rados_mon_command(c, cmd, 1, "", 0, &out, &outlen, &st, &stlen);
	cr_assert_eq(r, 0, "osd metadata: %s", strerror(-r));
	char *k = out ? strstr(out, "\"osd_objectstore\"") : NULL;
	int yes = k && strncmp(k + strlen("\"osd_objectstore\""), ": \"bluestore\"", 13) == 0;
	if (k && !yes)
		yes = strncmp(k + strlen("\"osd_objectstore\""), ":\"bluestore\"", 12) == 0;
	rados_buffer_free(out);
	rados_buffer_free(st);
	return yes;
}

static void write_random(rbd_image_t img, uint64_t off, uint64_t len)
{
	char *buf = malloc(len);
	cr_assert(buf);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (char)(rnd() | 1);     /* never a zero byte */
	ssize_t w = rbd_write(img, off, len, buf);
	cr_assert_eq(w, (ssize_t)len, "rbd_write %llu+%llu: %zd", (unsigned long long)off,
		(unsigned long long)len, w);
	free(buf);
}

/* n writes of random lengths (512 B .. 256 KiB, unaligned or 4 KiB-aligned)
 * in [lo, hi), and d discards of 64 KiB-aligned ranges. */
static void scribble(rbd_image_t img, uint64_t lo, uint64_t hi, unsigned int n, unsigned int d)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t len = 512 + rnd_below(256 * KiB);
		uint64_t off = lo + rnd_below(hi - lo);
		if (rnd() & 1) {
			off -= off % BLK;
			len += BLK - len % BLK;
		}
		if (off + len > hi)
			len = hi - off;
		if (len)
			write_random(img, off, len);
	}
	for (unsigned int i = 0; i < d; i++) {
		uint64_t off = lo + rnd_below(hi - lo);
		off -= off % (64 * KiB);
		uint64_t len = (1 + rnd_below(8)) * 64 * KiB;
		if (off + len > hi)
			len = hi - off;
		int r = rbd_discard(img, off, len);   /* the bytes discarded */
		cr_assert(r >= 0, "rbd_discard: %s", strerror(-r));
	}
}

typedef struct {
	uint64_t data_blocks, mapped_blocks, zero_mapped, missing;
	uint64_t first_missing;
} verdict;

/* Read `img` (open at the snapshot) block by block against the map. */
static verdict compare(rbd_image_t img, uint64_t size, const fs_extent_map *m)
{
	verdict v = { 0, 0, 0, 0, UINT64_MAX };
	char *buf = malloc(4 * MiB);
	cr_assert(buf);
	for (uint64_t off = 0; off < size; off += 4 * MiB) {
		size_t n = (size_t)(size - off < 4 * MiB ? size - off : 4 * MiB);
		cr_assert_eq(rbd_read(img, off, n, buf), (ssize_t)n);
		for (size_t b = 0; b < n; b += BLK) {
			size_t bl = n - b < BLK ? n - b : BLK;
			int data = 0;
			for (size_t i = 0; i < bl && !data; i++)
				data = buf[b + i] != 0;
			uint64_t p = off + b;
			size_t k = fs_extent_map_find(m, p);
			int mapped = k < m->n && m->v[k].off <= p;
			v.data_blocks += data;
			v.mapped_blocks += mapped;
			if (mapped && !data)
				v.zero_mapped++;
			if (data && !mapped) {
				if (!v.missing)
					v.first_missing = p;
				v.missing++;
			}
		}
	}
	free(buf);
	return v;
}

static struct {
	rados_t c;
	rados_ioctx_t io;
	char *names[8];
	int n;
} t;

/* Remove this run's images, children first. */
static void drop_all(void)
{
	for (int i = t.n - 1; i >= 0; i--) {
		fst_rbd_remove_all(t.io, t.names[i]);
		free(t.names[i]);
	}
	t.n = 0;
}

static void t_fini(void)
{
	drop_all();
	if (t.io)
		rados_ioctx_destroy(t.io);
	if (t.c)
		rados_shutdown(t.c);
	memset(&t, 0, sizeof(t));
}

TestSuite(rbd_map, .fini = t_fini);

static char *new_name(const char *prefix)
{
	char *n = fst_unique(prefix);
	t.names[t.n++] = strdup(n);
	return n;
}

static void t_open(void)
{
	t.c = fst_admin_rados();
	t.io = fst_ioctx(t.c, "vms");
}

/* Map name@snap and check it; up to `zero_allowance` bytes of mapped
 * zeros are allowed (a clone's own objects). */
static void check_map(const char *name, uint64_t size, uint64_t seed, int bluestore,
	uint64_t zero_allowance)
{
	rbd_image_t img;
	cr_assert_eq(rbd_open_read_only(t.io, name, &img, "s"), 0);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	fs_rbd_map_info info;
	int r = fs_rbd_map_build(&m, img, t.io, "s", size, BLK, &info);
	cr_assert_eq(r, 0, "seed %llu: %s", (unsigned long long)seed, fastsnap_error_last());
	verdict v = compare(img, size, &m);
	rbd_close(img);
	cr_log_info("rbd_map %s seed %llu: %s%s%s, %llu objects (%llu in parents), %.3f s; "
		"%llu data blocks, %llu mapped, %llu mapped zero, %llu missing",
		name, (unsigned long long)seed, info.exact ? "RADOS" : "librbd", info.why[0] ? ": " : "",
		info.why, (unsigned long long)info.objects, (unsigned long long)info.parent_objects,
		info.seconds, (unsigned long long)v.data_blocks, (unsigned long long)v.mapped_blocks,
		(unsigned long long)v.zero_mapped, (unsigned long long)v.missing);
	cr_assert_eq(v.missing, 0, "seed %llu, %s: %llu blocks of data not in the map, the first at %llu",
		(unsigned long long)seed, name, (unsigned long long)v.missing,
		(unsigned long long)v.first_missing);
	cr_assert(v.data_blocks > 0, "seed %llu: nothing written?", (unsigned long long)seed);
	if (fs_rados_map_available())
		cr_assert(info.exact, "seed %llu: the map fell back to librbd: %s",
			(unsigned long long)seed, info.why);
	else
		cr_assert(!info.exact && strstr(info.why, "C++"), "seed %llu: why '%s'",
			(unsigned long long)seed, info.why);
	if (info.exact && bluestore)
		cr_assert(v.zero_mapped * BLK <= zero_allowance, "seed %llu, %s: %llu mapped blocks "
			"read as zeros (allowed %llu bytes): the map is not exact at 4 KiB",
			(unsigned long long)seed, name, (unsigned long long)v.zero_mapped,
			(unsigned long long)zero_allowance);
	fs_extent_map_free(&m);
}

static rbd_image_t create_open(const char *name, uint64_t size, int order, uint64_t su, uint64_t sc)
{
	uint64_t features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
		RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;
	int r;
	if (su) {
		features |= RBD_FEATURE_STRIPINGV2;
		r = rbd_create3(t.io, name, size, features, &order, su, sc);
	} else {
		r = rbd_create2(t.io, name, size, features, &order);
	}
	cr_assert_eq(r, 0, "create %s: %s", name, strerror(-r));
	rbd_image_t img;
	cr_assert_eq(rbd_open(t.io, name, &img, NULL), 0);
	return img;
}

static int sum_cb(uint64_t off, size_t len, int exists, void *arg)
{
	if (exists)
		*(uint64_t *)arg += len;
	(void)off;
	return 0;
}

/* Bytes of the objects name@snap has itself (not its parent's). */
static uint64_t own_object_bytes(const char *name, const char *snap)
{
	rbd_image_t img;
	cr_assert_eq(rbd_open_read_only(t.io, name, &img, snap), 0);
	uint64_t size = 0, sum = 0;
	cr_assert_eq(rbd_get_size(img, &size), 0);
	cr_assert_eq(rbd_diff_iterate2(img, NULL, 0, size, 0, 1, sum_cb, &sum), 0);
	rbd_close(img);
	return sum;
}

/* snapshot "s", then more writes that the map must not see */
static void snap_and_move_on(rbd_image_t img, uint64_t size)
{
	cr_assert_eq(rbd_snap_create(img, "s"), 0);
	scribble(img, 0, size, 6, 2);
	cr_assert_eq(rbd_close(img), 0);
}

Test(rbd_map, plain_image, .timeout = 600)
{
	t_open();
	int bs = osd_is_bluestore(t.c);
	for (unsigned int run = 0; run < runs(); run++) {
		uint64_t seed = seed_for(run);
		rng_state = seed | 1;
		char *name = new_name("fs-map-plain");
		const uint64_t size = 64 * MiB + 5 * KiB;     /* not a whole object */
		rbd_image_t img = create_open(name, size, 22, 0, 0);
		scribble(img, 0, size, 40, 6);
		write_random(img, size - 1, 1);
		snap_and_move_on(img, size);
		check_map(name, size, seed, bs, 0);
		free(name);
		drop_all();
	}
}

Test(rbd_map, clone_overlap_shorter_than_disk, .timeout = 600)
{
	t_open();
	int bs = osd_is_bluestore(t.c);
	for (unsigned int run = 0; run < runs(); run++) {
		uint64_t seed = seed_for(run);
		rng_state = seed | 1;
		const uint64_t size = 64 * MiB;
		/* grand: written; base: its clone (2 MiB objects), written; child: base's clone */
		char *grand = new_name("fs-map-grand");
		rbd_image_t g = create_open(grand, 48 * MiB, 22, 0, 0);
		scribble(g, 0, 48 * MiB, 30, 3);
		cr_assert_eq(rbd_snap_create(g, "p"), 0);
		cr_assert_eq(rbd_snap_protect(g, "p"), 0);
		cr_assert_eq(rbd_close(g), 0);
		char *base = new_name("fs-map-base");
		uint64_t features = RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
			RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN;
		int order = 21;
		cr_assert_eq(rbd_clone2(t.io, grand, "p", t.io, base, features, &order, 0, 0), 0);
		rbd_image_t b;
		cr_assert_eq(rbd_open(t.io, base, &b, NULL), 0);
		cr_assert_eq(rbd_resize(b, size), 0);
		scribble(b, 0, size, 15, 2);
		cr_assert_eq(rbd_snap_create(b, "p"), 0);
		cr_assert_eq(rbd_snap_protect(b, "p"), 0);
		cr_assert_eq(rbd_close(b), 0);
		char *name = new_name("fs-map-child");
		order = 22;
		cr_assert_eq(rbd_clone2(t.io, base, "p", t.io, name, features, &order, 0, 0), 0);
		rbd_image_t img;
		cr_assert_eq(rbd_open(t.io, name, &img, NULL), 0);
		/* shrink and grow back: the overlap is now shorter than the disk */
		uint64_t overlap = 40 * MiB + 64 * KiB;
		cr_assert_eq(rbd_resize(img, overlap), 0);
		cr_assert_eq(rbd_resize(img, size + 8 * MiB), 0);
		uint64_t got = 0;
		cr_assert_eq(rbd_get_overlap(img, &got), 0);
		cr_assert_eq(got, overlap);
		scribble(img, 0, size + 8 * MiB, 12, 2);      /* copy-ups and new objects */
		snap_and_move_on(img, size + 8 * MiB);
		/* a clone's own objects may hold allocated zeros (measured); the
		 * grandparent's (written, discarded) may not */
		check_map(name, size + 8 * MiB, seed, bs,
			own_object_bytes(name, "s") + own_object_bytes(base, "p"));
		free(name);
		free(base);
		free(grand);
		drop_all();
	}
}

Test(rbd_map, fancy_striping, .timeout = 600)
{
	t_open();
	int bs = osd_is_bluestore(t.c);
	for (unsigned int run = 0; run < runs(); run++) {
		uint64_t seed = seed_for(run);
		rng_state = seed | 1;
		char *name = new_name("fs-map-striped");
		const uint64_t size = 48 * MiB + 64 * KiB;
		rbd_image_t img = create_open(name, size, 20, 64 * KiB, 4);
		scribble(img, 0, size, 40, 6);
		snap_and_move_on(img, size);
		check_map(name, size, seed, bs, 0);
		free(name);
		drop_all();
	}
}
