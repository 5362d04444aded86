/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/extents.c: building and querying the allocation map (extents.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/extents.h"

int fs_extent_map_add(fs_extent_map *m, uint64_t off, uint64_t len)
{
	if (off >= m->size || len == 0)
		return 0;
	if (len > m->size - off)
		len = m->size - off;
	if (m->n) {
		fs_extent *last = &m->v[m->n - 1];
		if (off >= last->off && off <= last->off + last->len) {
			uint64_t end = off + len;
			if (end > last->off + last->len) {
				m->allocated += end - (last->off + last->len);
				last->len = end - last->off;
			}
			return 0;
		}
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		fs_extent *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return fs_err(FASTSNAP_ENOMEM, "out of memory for the extent map");
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].off = off;
	m->v[m->n].len = len;
	m->n++;
	m->allocated += len;
	return 0;
}

static int cmp_extent(const void *a, const void *b)
{
	const fs_extent *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

void fs_extent_map_normalize(fs_extent_map *m)
{
	if (!m->n)
		return;
	qsort(m->v, m->n, sizeof(*m->v), cmp_extent);
	size_t w = 0;
	for (size_t i = 1; i < m->n; i++) {
		uint64_t wend = m->v[w].off + m->v[w].len;
		if (m->v[i].off <= wend) {
			uint64_t end = m->v[i].off + m->v[i].len;
			if (end > wend)
				m->v[w].len = end - m->v[w].off;
		} else {
			m->v[++w] = m->v[i];
		}
	}
	m->n = w + 1;
	m->allocated = 0;
	for (size_t i = 0; i < m->n; i++)
		m->allocated += m->v[i].len;
}

int fs_extent_map_full(fs_extent_map *m, uint64_t size)
{
	m->n = 0;
	m->allocated = 0;
	m->size = size;
	return fs_extent_map_add(m, 0, size);
}

int fs_extent_map_from_fd(fs_extent_map *m, int fd, uint64_t size)
{
	m->n = 0;
	m->allocated = 0;
	m->size = size;
	uint64_t off = 0;
	while (off < size) {
		off_t d = lseek(fd, (off_t)off, SEEK_DATA);
		if (d < 0) {
			if (errno == ENXIO)
				break;          /* only a hole up to the end */
			if (errno == EINVAL || errno == EOPNOTSUPP)
				return fs_extent_map_full(m, size);
			return fs_err(FASTSNAP_EIO, "finding data extents (SEEK_DATA at %llu): %s",
				(unsigned long long)off, strerror(errno));
		}
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return fs_err(FASTSNAP_EIO, "finding holes (SEEK_HOLE at %lld): %s",
				(long long)d, strerror(errno));
		if ((uint64_t)d >= size)
			break;
		uint64_t end = (uint64_t)h < size ? (uint64_t)h : size;
		int r = fs_extent_map_add(m, (uint64_t)d, end - (uint64_t)d);
		if (r < 0)
			return r;
		if ((uint64_t)h <= off)         /* no progress: should not happen */
			return fs_extent_map_full(m, size);
		off = (uint64_t)h;
	}
	return 0;
}

typedef struct {
	fs_extent_map *m;
	int err;
} rbd_diff_ctx;

static int rbd_diff_cb(uint64_t off, size_t len, int exists, void *arg)
{
	rbd_diff_ctx *c = arg;
	if (!exists)
		return 0;
	int r = fs_extent_map_add(c->m, off, len);
	if (r < 0) {
		c->err = r;
		return -ENOMEM;
	}
	return 0;
}

static int from_rbd(fs_extent_map *m, rbd_image_t image, uint64_t size, int whole_object)
{
	m->n = 0;
	m->allocated = 0;
	m->size = size;
	rbd_diff_ctx c = { m, 0 };
	int r = rbd_diff_iterate2(image, NULL, 0, size, 1, whole_object, rbd_diff_cb, &c);
	if (c.err)
		return c.err;
	if (r < 0)
		return fs_err(fs_errno_to_code(r), "listing allocated extents (rbd_diff_iterate2): %s",
			strerror(-r));
	fs_extent_map_normalize(m);
	return 0;
}

int fs_extent_map_from_rbd(fs_extent_map *m, rbd_image_t image, uint64_t size)
{
	return from_rbd(m, image, size, 1);
}

int fs_extent_map_from_rbd_exact(fs_extent_map *m, rbd_image_t image, uint64_t size)
{
	return from_rbd(m, image, size, 0);
}

int fs_extent_map_round(fs_extent_map *m, uint64_t unit)
{
	if (unit == 0 || (unit & (unit - 1)) != 0)
		return fs_err(FASTSNAP_EINVAL, "extent map: rounding unit %llu is not a power of two",
			(unsigned long long)unit);
	size_t w = 0;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t a = m->v[i].off & ~(unit - 1);
		uint64_t end = m->v[i].off + m->v[i].len;
		uint64_t rem = end % unit, b = end;
		if (rem)
			b = m->size - end <= unit - rem ? m->size : end + (unit - rem);
		if (w > 0 && a <= m->v[w - 1].off + m->v[w - 1].len) {
			if (b > m->v[w - 1].off + m->v[w - 1].len)
				m->v[w - 1].len = b - m->v[w - 1].off;
		} else {
			m->v[w].off = a;
			m->v[w].len = b - a;
			w++;
		}
	}
	m->n = w;
	m->allocated = 0;
	for (size_t i = 0; i < m->n; i++)
		m->allocated += m->v[i].len;
	return 0;
}

size_t fs_extent_map_find(const fs_extent_map *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].off + m->v[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void fs_extent_map_free(fs_extent_map *m)
{
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
	m->allocated = 0;
}
