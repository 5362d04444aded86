/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/reader.c: the pipelined ordered reader (see reader.h). One mutex
 * guards the slot ring; librbd aio completions are waited for by the
 * consumer, file slots are read by a few pread threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rados/librados.h>

#include "stream/reader.h"

#define FS_READER_DEPTH 8u
#define FS_READER_SIZE (4ull << 20)
#define FS_READER_MAX_DEPTH 1024u
#define FS_READER_MAX_SIZE (1ull << 30)
#define FS_NO_CHUNK UINT64_MAX

enum { SLOT_FREE, SLOT_PENDING, SLOT_READING, SLOT_DONE, SLOT_OUT };

typedef struct {
	char *buf;
	uint64_t chunk;
	uint64_t off;
	size_t len;
	int state;
	int zero;
	fs_error_state err;         /* set by a worker, restored by the consumer */
	fs_extent *subs;            /* allocated parts of the chunk (absolute) */
	size_t nsub;
	size_t capsub;
	uint64_t need;              /* allocated bytes of the chunk (rbd_span: < the span) */
	rbd_completion_t *comps;    /* parallel to subs (rbd) */
	size_t ncomp;
} fs_slot;

struct fs_reader {
	rbd_image_t img;
	int fd;
	uint64_t size;
	const fs_extent_map *map;
	fs_extent_map own_map;
	int span;                   /* rbd_span */
	unsigned int depth;
	uint64_t rs;
	size_t bufsize;
	uint64_t nchunks;
	fs_slot *slots;
	char *zero;
	unsigned int nbuffers;

	pthread_mutex_t mu;
	pthread_cond_t cv_work;     /* file workers: a slot is PENDING, or stop */
	pthread_cond_t cv_state;    /* consumer/rewind: a slot became DONE or FREE */
	uint64_t head;              /* next chunk to hand out */
	uint64_t next_submit;       /* next chunk to submit */
	uint64_t next_work;         /* next chunk a file worker looks at */
	size_t cursor;              /* extent index for next_submit */
	uint64_t bytes_read;
	uint64_t reads;
	fs_error_state err;         /* the first slot error, sticky */

	pthread_t *threads;
	unsigned int nthreads;
	int stop;
	int sync_ok;                /* mutex and conds initialised */
};

static int slot_set_err(fs_slot *s, int code, const char *fmt, ...) FS_PRINTF(3, 4);
static int slot_set_err(fs_slot *s, int code, const char *fmt, ...)
{
	if (s->err.code)
		return s->err.code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
	va_end(ap);
	s->err.code = code;
	return code;
}

/* The allocated parts of [off, off+len) into s->subs. */
static int slot_plan(fs_reader *r, fs_slot *s)
{
	const fs_extent_map *m = r->map;
	uint64_t end = s->off + s->len;
	while (r->cursor < m->n && m->v[r->cursor].off + m->v[r->cursor].len <= s->off)
		r->cursor++;
	s->nsub = 0;
	for (size_t i = r->cursor; i < m->n && m->v[i].off < end; i++) {
		uint64_t a = m->v[i].off > s->off ? m->v[i].off : s->off;
		uint64_t b = m->v[i].off + m->v[i].len < end ? m->v[i].off + m->v[i].len : end;
		if (b <= a)
			continue;
		if (s->nsub == s->capsub) {
			size_t cap = s->capsub ? s->capsub * 2 : 4;
			fs_extent *v = realloc(s->subs, cap * sizeof(*v));
			if (!v)
				return slot_set_err(s, FASTSNAP_ENOMEM, "out of memory for read ranges");
			s->subs = v;
			if (r->img) {
				rbd_completion_t *c = realloc(s->comps, cap * sizeof(*c));
				if (!c)
					return slot_set_err(s, FASTSNAP_ENOMEM, "out of memory for reads");
				s->comps = c;
			}
			s->capsub = cap;
		}
		s->subs[s->nsub].off = a;
		s->subs[s->nsub].len = b - a;
		s->nsub++;
	}
	s->need = 0;
	for (size_t i = 0; i < s->nsub; i++)
		s->need += s->subs[i].len;
	if (r->span && r->img && s->nsub > 1) {
		s->subs[0].len = s->subs[s->nsub - 1].off + s->subs[s->nsub - 1].len - s->subs[0].off;
		s->nsub = 1;
	}
	return 0;
}

/* Zero what is not read: the gaps between the allocated parts. */
static void slot_zero_gaps(fs_slot *s)
{
	uint64_t pos = s->off;
	for (size_t i = 0; i < s->nsub; i++) {
		if (s->subs[i].off > pos)
			memset(s->buf + (pos - s->off), 0, s->subs[i].off - pos);
		pos = s->subs[i].off + s->subs[i].len;
	}
	uint64_t end = s->off + s->len;
	if (pos < end)
		memset(s->buf + (pos - s->off), 0, end - pos);
}

static void rbd_submit(fs_reader *r, fs_slot *s)
{
	slot_zero_gaps(s);
	s->ncomp = 0;
	for (size_t i = 0; i < s->nsub; i++) {
		rbd_completion_t c;
		int rc = rbd_aio_create_completion(NULL, NULL, &c);
		if (rc < 0) {
			slot_set_err(s, fs_errno_to_code(rc), "rbd read at %llu: %s",
				(unsigned long long)s->subs[i].off, strerror(-rc));
			return;
		}
		rc = rbd_aio_read2(r->img, s->subs[i].off, (size_t)s->subs[i].len,
			s->buf + (s->subs[i].off - s->off), c, LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
		if (rc < 0) {
			rbd_aio_release(c);
			slot_set_err(s, fs_errno_to_code(rc), "rbd read at %llu: %s",
				(unsigned long long)s->subs[i].off, strerror(-rc));
			return;
		}
		s->comps[s->ncomp++] = c;
		r->reads++;
	}
}

/* Wait for a slot's aio reads; returns bytes read. Called without r->mu
 * by the only thread that owns a READING rbd slot. */
static uint64_t rbd_wait(fs_slot *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->ncomp; i++) {
		rbd_aio_wait_for_complete(s->comps[i]);
		ssize_t ret = rbd_aio_get_return_value(s->comps[i]);
		rbd_aio_release(s->comps[i]);
		if (ret < 0)
			slot_set_err(s, fs_errno_to_code((int)ret), "rbd read of %llu bytes at %llu: %s",
				(unsigned long long)s->subs[i].len, (unsigned long long)s->subs[i].off,
				strerror((int)-ret));
		else if ((uint64_t)ret != s->subs[i].len)
			slot_set_err(s, FASTSNAP_EIO, "rbd read at %llu: %lld bytes instead of %llu",
				(unsigned long long)s->subs[i].off, (long long)ret,
				(unsigned long long)s->subs[i].len);
		if (ret > 0)
			n += (uint64_t)ret;
	}
	s->ncomp = 0;
	return n;
}

/* Submit as many chunks as there are free slots, in order. r->mu held. */
static void fill_locked(fs_reader *r)
{
	while (r->next_submit < r->nchunks) {
		fs_slot *s = &r->slots[r->next_submit % r->depth];
		if (s->state != SLOT_FREE)
			break;
		s->chunk = r->next_submit;
		s->off = r->next_submit * r->rs;
		s->len = (size_t)(r->size - s->off < r->rs ? r->size - s->off : r->rs);
		s->err.code = 0;
		s->err.msg[0] = '\0';
		s->ncomp = 0;
		r->next_submit++;
		if (slot_plan(r, s) < 0) {
			s->state = SLOT_DONE;
		} else if (s->nsub == 0) {
			s->zero = 1;
			s->state = SLOT_DONE;
		} else {
			s->zero = 0;
			if (r->img) {
				s->state = SLOT_READING;
				rbd_submit(r, s);
			} else {
				s->state = SLOT_PENDING;
				pthread_cond_signal(&r->cv_work);
			}
		}
	}
}

static void file_read_slot(fs_reader *r, fs_slot *s, uint64_t *nread, uint64_t *nreads)
{
	slot_zero_gaps(s);
	for (size_t i = 0; i < s->nsub && !s->err.code; i++) {
		uint64_t done = 0;
		while (done < s->subs[i].len) {
			uint64_t at = s->subs[i].off + done;
			ssize_t n = pread(r->fd, s->buf + (at - s->off), (size_t)(s->subs[i].len - done),
				(off_t)at);
			(*nreads)++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				slot_set_err(s, FASTSNAP_EIO, "read at %llu: %s",
					(unsigned long long)at, strerror(errno));
				break;
			}
			if (n == 0) {
				slot_set_err(s, FASTSNAP_EIO, "read at %llu: unexpected end of file "
					"(did the source shrink?)", (unsigned long long)at);
				break;
			}
			done += (uint64_t)n;
			*nread += (uint64_t)n;
		}
	}
}

static void *file_worker(void *arg)
{
	fs_reader *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		fs_slot *s = NULL;
		while (!r->stop && r->next_work < r->next_submit) {
			fs_slot *c = &r->slots[r->next_work % r->depth];
			if (c->chunk == r->next_work && c->state == SLOT_PENDING) {
				s = c;
				break;
			}
			r->next_work++;     /* a chunk with no data: nothing to read */
		}
		if (r->stop)
			break;
		if (!s) {
			pthread_cond_wait(&r->cv_work, &r->mu);
			continue;
		}
		s->state = SLOT_READING;
		r->next_work++;
		pthread_mutex_unlock(&r->mu);
		uint64_t nread = 0, nreads = 0;
		file_read_slot(r, s, &nread, &nreads);
		pthread_mutex_lock(&r->mu);
		r->bytes_read += nread;
		r->reads += nreads;
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&r->cv_state);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* The slots and their buffers (depth x bufsize), and the zero buffer. */
static int alloc_slots(fs_reader *r)
{
	r->slots = calloc(r->depth, sizeof(*r->slots));
	if (!r->slots)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the reader");
	for (unsigned int i = 0; i < r->depth; i++) {
		r->slots[i].chunk = FS_NO_CHUNK;
		r->slots[i].state = SLOT_FREE;
	}
	if (!r->bufsize)
		return 0;
	for (unsigned int i = 0; i < r->depth; i++) {
		void *p = NULL;
		if (posix_memalign(&p, 4096, r->bufsize) != 0)
			return fs_err(FASTSNAP_ENOMEM, "out of memory for %u read buffers of %zu bytes",
				r->depth, r->bufsize);
		r->slots[i].buf = p;
		r->nbuffers++;
	}
	r->zero = calloc(1, r->bufsize);
	return r->zero ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory for the zero buffer");
}

/* File sources: a pool of `want` pread workers (0: up to 4). */
static int start_file_threads(fs_reader *r, unsigned int want)
{
	(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	unsigned int nt = want ? want : (r->depth < 4 ? r->depth : 4);
	r->threads = calloc(nt, sizeof(*r->threads));
	if (!r->threads)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the reader threads");
	for (unsigned int i = 0; i < nt; i++) {
		int e = pthread_create(&r->threads[i], NULL, file_worker, r);
		if (e != 0)
			return fs_err(FASTSNAP_ERROR, "reader: cannot start a thread: %s", strerror(e));
		r->nthreads++;
	}
	return 0;
}

int fs_reader_new(fs_reader **out, const fs_reader_opts *o)
{
	*out = NULL;
	if ((o->rbd_image != NULL) == (o->fd >= 0))
		return fs_err(FASTSNAP_EINVAL, "reader: give exactly one source (an RBD image or a file)");
	unsigned int depth = o->depth ? o->depth : FS_READER_DEPTH;
	uint64_t rs = o->read_size ? o->read_size : FS_READER_SIZE;
	if (depth > FS_READER_MAX_DEPTH)
		return fs_err(FASTSNAP_EINVAL, "read depth %u is over %u", depth, FS_READER_MAX_DEPTH);
	if (rs > FS_READER_MAX_SIZE)
		return fs_err(FASTSNAP_EINVAL, "read size %llu is over %llu",
			(unsigned long long)rs, (unsigned long long)FS_READER_MAX_SIZE);
	if (o->map && o->map->size != o->size)
		return fs_err(FASTSNAP_EINVAL, "extent map size %llu differs from the source size %llu",
			(unsigned long long)o->map->size, (unsigned long long)o->size);

	fs_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the reader");
	r->img = o->rbd_image;
	r->span = o->rbd_span;
	r->fd = o->rbd_image ? -1 : o->fd;
	r->size = o->size;
	r->depth = depth;
	r->rs = rs;
	r->nchunks = (o->size + rs - 1) / rs;
	r->bufsize = (size_t)(o->size < rs ? o->size : rs);
	int rc = 0;
	if (o->map) {
		r->map = o->map;
	} else {
		rc = fs_extent_map_full(&r->own_map, o->size);
		if (rc < 0)
			goto fail;
		r->map = &r->own_map;
	}
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		rc = fs_err(FASTSNAP_ERROR, "reader: pthread_mutex_init failed");
		goto fail;
	}
	pthread_cond_init(&r->cv_work, NULL);
	pthread_cond_init(&r->cv_state, NULL);
	r->sync_ok = 1;

	if ((rc = alloc_slots(r)) < 0)
		goto fail;
	if (r->fd >= 0 && (rc = start_file_threads(r, o->file_threads)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	fs_reader_free(r);
	return rc;
}

int fs_reader_next(fs_reader *r, fs_chunk *out)
{
	pthread_mutex_lock(&r->mu);
	if (r->err.code) {
		int e = fs_error_state_restore(&r->err);
		pthread_mutex_unlock(&r->mu);
		return e;
	}
	if (r->head >= r->nchunks) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	fill_locked(r);
	fs_slot *s = &r->slots[r->head % r->depth];
	while (s->chunk != r->head || s->state == SLOT_FREE) {
		/* the slot still holds an older chunk not released yet */
		pthread_cond_wait(&r->cv_state, &r->mu);
		fill_locked(r);
	}
	if (r->img && s->state == SLOT_READING) {
		pthread_mutex_unlock(&r->mu);
		uint64_t n = rbd_wait(s);
		pthread_mutex_lock(&r->mu);
		r->bytes_read += r->span && n ? s->need : n;
		s->state = SLOT_DONE;
	}
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&r->cv_state, &r->mu);
	if (s->err.code) {
		r->err = s->err;
		int e = fs_error_state_restore(&r->err);
		pthread_mutex_unlock(&r->mu);
		return e;
	}
	s->state = SLOT_OUT;
	r->head++;
	out->data = s->zero ? r->zero : s->buf;
	out->len = s->len;
	out->offset = s->off;
	out->zero = s->zero;
	out->slot = (unsigned int)(s - r->slots);
	pthread_mutex_unlock(&r->mu);
	return 1;
}

void fs_reader_release(fs_reader *r, const fs_chunk *c)
{
	pthread_mutex_lock(&r->mu);
	fs_slot *s = &r->slots[c->slot];
	if (s->state == SLOT_OUT) {
		s->state = SLOT_FREE;
		if (!r->err.code)
			fill_locked(r);
		pthread_cond_broadcast(&r->cv_state);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Wait until nothing is being read. r->mu held. */
static void quiesce_locked(fs_reader *r)
{
	for (unsigned int i = 0; i < r->depth; i++) {
		fs_slot *s = &r->slots[i];
		if (s->state == SLOT_PENDING)
			s->state = SLOT_DONE;     /* never taken by a worker */
		if (r->img && s->state == SLOT_READING) {
			rbd_wait(s);
			s->state = SLOT_DONE;
		}
	}
	for (;;) {
		int busy = 0;
		for (unsigned int i = 0; i < r->depth; i++)
			busy |= r->slots[i].state == SLOT_READING;
		if (!busy)
			break;
		pthread_cond_wait(&r->cv_state, &r->mu);
	}
}

int fs_reader_rewind(fs_reader *r)
{
	pthread_mutex_lock(&r->mu);
	for (unsigned int i = 0; i < r->depth; i++) {
		if (r->slots[i].state == SLOT_OUT) {
			pthread_mutex_unlock(&r->mu);
			return fs_err(FASTSNAP_EINVAL, "reader: rewind while a chunk is still held");
		}
	}
	quiesce_locked(r);
	for (unsigned int i = 0; i < r->depth; i++) {
		r->slots[i].state = SLOT_FREE;
		r->slots[i].chunk = FS_NO_CHUNK;
		r->slots[i].err.code = 0;
	}
	r->head = r->next_submit = r->next_work = 0;
	r->cursor = 0;
	r->bytes_read = 0;
	r->reads = 0;
	r->err.code = 0;
	r->err.msg[0] = '\0';
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void fs_reader_stats_get(fs_reader *r, fs_reader_stats *out)
{
	pthread_mutex_lock(&r->mu);
	out->bytes_read = r->bytes_read;
	out->reads = r->reads;
	out->buffers = r->nbuffers;
	out->buffer_size = r->bufsize;
	pthread_mutex_unlock(&r->mu);
}

void fs_reader_free(fs_reader *r)
{
	if (!r)
		return;
	if (r->sync_ok) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->cv_work);
		if (r->slots)
			quiesce_locked(r);
		pthread_mutex_unlock(&r->mu);
		for (unsigned int i = 0; i < r->nthreads; i++)
			pthread_join(r->threads[i], NULL);
		pthread_cond_destroy(&r->cv_work);
		pthread_cond_destroy(&r->cv_state);
		pthread_mutex_destroy(&r->mu);
	}
	if (r->slots) {
		for (unsigned int i = 0; i < r->depth; i++) {
			free(r->slots[i].buf);
			free(r->slots[i].subs);
			free(r->slots[i].comps);
		}
	}
	free(r->slots);
	free(r->zero);
	free(r->threads);
	fs_extent_map_free(&r->own_map);
	free(r);
}
