/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/qcow2_writer.c: the streaming qcow2 writer (qcow2.h): hands out
 * the image front to back as pieces: metadata clusters generated into two
 * alternating batch buffers, then the allocated clusters as slices of the
 * reader's chunks (no copy), then zero padding of the last cluster.
 * Pieces are reference-counted per buffer: a reader chunk goes back to the
 * reader when the writer has moved past it and every piece cut from it was
 * released; a batch buffer is refilled only when all its pieces were.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "stream/qcow2.h"

#define FS_QCOW2_META_BATCH (1u << 20)   /* bytes of metadata per buffer */
#define FS_QCOW2_NMETA 2u
#define FS_QCOW2_TOKEN_PAD UINT32_MAX

struct fs_qcow2_writer {
	const fs_qcow2_layout *L;
	fs_reader *rd;
	unsigned int depth;
	atomic_uint *refs;          /* [0, depth): reader slots; then the batch buffers */
	fs_chunk *held;             /* per reader slot: the chunk taken from the reader */
	unsigned char *meta[FS_QCOW2_NMETA];
	size_t meta_per_buf;        /* clusters per batch buffer */
	unsigned int meta_turn;
	fs_qcow2_meta_gen gen;
	char *zero;                 /* one cluster of zeros: the last cluster's padding */
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a batch buffer became free */
	size_t run;                 /* data: current run */
	uint64_t pos;               /* data: next disk byte to hand out */
	int have_chunk;
	fs_chunk chunk;             /* the reader chunk `pos` is in (writer holds 1 ref) */
	uint64_t out;               /* bytes handed out */
	int sync_ok;                /* mu and cv initialised */
};

void fs_qcow2_writer_release(fs_qcow2_writer *w, uint32_t token)
{
	if (token == FS_QCOW2_TOKEN_PAD)
		return;
	if (atomic_fetch_sub(&w->refs[token], 1) != 1)
		return;
	if (token < w->depth) {
		fs_reader_release(w->rd, &w->held[token]);
	} else {
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

static void drop_chunk(fs_qcow2_writer *w)
{
	if (w->have_chunk) {
		w->have_chunk = 0;
		fs_qcow2_writer_release(w, w->chunk.slot);
	}
}

int fs_qcow2_writer_new(fs_qcow2_writer **out, const fs_qcow2_layout *L, fs_reader *rd,
	unsigned int depth)
{
	*out = NULL;
	fs_qcow2_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the qcow2 writer");
	w->L = L;
	w->rd = rd;
	w->depth = depth;
	w->meta_per_buf = FS_QCOW2_META_BATCH / L->cluster_size;
	if (w->meta_per_buf == 0)
		w->meta_per_buf = 1;
	if (w->meta_per_buf > L->meta_clusters)
		w->meta_per_buf = L->meta_clusters ? L->meta_clusters : 1;
	w->refs = calloc(depth + FS_QCOW2_NMETA, sizeof(*w->refs));
	w->held = calloc(depth, sizeof(*w->held));
	w->zero = calloc(1, L->cluster_size);
	int ok = w->refs && w->held && w->zero;
	for (unsigned int i = 0; ok && i < FS_QCOW2_NMETA; i++)
		ok = (w->meta[i] = malloc(w->meta_per_buf * L->cluster_size)) != NULL;
	if (!ok) {
		fs_qcow2_writer_free(w);
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the qcow2 writer");
	}
	for (unsigned int i = 0; i < depth + FS_QCOW2_NMETA; i++)
		atomic_init(&w->refs[i], 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->sync_ok = 1;
	fs_qcow2_meta_begin(&w->gen);
	*out = w;
	return 0;
}

/* The next batch of metadata clusters, into a free batch buffer. */
static int next_meta(fs_qcow2_writer *w, fs_qcow2_piece *p, unsigned int refs)
{
	unsigned int b = w->meta_turn % FS_QCOW2_NMETA;
	uint32_t tok = w->depth + b;
	pthread_mutex_lock(&w->mu);
	while (atomic_load(&w->refs[tok]) != 0)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	size_t n = 0;
	while (n < w->meta_per_buf &&
	       fs_qcow2_meta_next(w->L, &w->gen, w->meta[b] + n * w->L->cluster_size) == 1)
		n++;
	w->meta_turn++;
	atomic_store(&w->refs[tok], refs);
	p->data = (const char *)w->meta[b];
	p->len = n * w->L->cluster_size;
	p->token = tok;
	w->out += p->len;
	return 1;
}

/* Make w->chunk the reader chunk that holds disk byte `pos`. */
static int seek_chunk(fs_qcow2_writer *w, uint64_t pos)
{
	if (w->have_chunk && pos < w->chunk.offset + w->chunk.len)
		return 0;
	drop_chunk(w);
	for (;;) {
		fs_chunk c;
		int r = fs_reader_next(w->rd, &c);
		if (r < 0)
			return r;
		if (r == 0)
			return fs_err(FASTSNAP_EIO, "qcow2: the reader ended before byte %llu",
				(unsigned long long)pos);
		if (pos < c.offset + c.len) {
			w->held[c.slot] = c;
			atomic_store(&w->refs[c.slot], 1);
			w->chunk = c;
			w->have_chunk = 1;
			return 0;
		}
		fs_reader_release(w->rd, &c);   /* no allocated cluster in it */
	}
}

int fs_qcow2_writer_next(fs_qcow2_writer *w, fs_qcow2_piece *p, unsigned int refs)
{
	const fs_qcow2_layout *L = w->L;
	if (w->gen.next < L->meta_clusters)
		return next_meta(w, p, refs);
	while (w->run < L->nruns) {
		uint64_t start = L->runs[w->run].off << L->cluster_bits;
		uint64_t end = (L->runs[w->run].off + L->runs[w->run].len) << L->cluster_bits;
		if (w->pos < start)
			w->pos = start;
		if (w->pos >= end) {
			w->run++;
			continue;
		}
		if (w->pos >= L->size) {
			/* the last cluster, past the end of the disk */
			p->data = w->zero;
			p->len = (size_t)(end - w->pos);
			p->token = FS_QCOW2_TOKEN_PAD;
		} else {
			int r = seek_chunk(w, w->pos);
			if (r < 0)
				return r;
			uint64_t stop = end < L->size ? end : L->size;
			if (stop > w->chunk.offset + w->chunk.len)
				stop = w->chunk.offset + w->chunk.len;
			p->data = w->chunk.data + (w->pos - w->chunk.offset);
			p->len = (size_t)(stop - w->pos);
			p->token = w->chunk.slot;
			atomic_fetch_add(&w->refs[w->chunk.slot], refs);
		}
		w->pos += p->len;
		w->out += p->len;
		return 1;
	}
	drop_chunk(w);
	if (w->out != L->length)
		return fs_err(FASTSNAP_ERROR, "qcow2: %llu bytes written, the layout says %llu",
			(unsigned long long)w->out, (unsigned long long)L->length);
	return 0;
}

int fs_qcow2_writer_rewind(fs_qcow2_writer *w)
{
	drop_chunk(w);
	for (unsigned int i = 0; i < w->depth + FS_QCOW2_NMETA; i++)
		if (atomic_load(&w->refs[i]) != 0)
			return fs_err(FASTSNAP_EINVAL, "qcow2 writer: rewind while a piece is still held");
	int r = fs_reader_rewind(w->rd);
	if (r < 0)
		return r;
	fs_qcow2_meta_begin(&w->gen);
	w->meta_turn = 0;
	w->run = 0;
	w->pos = 0;
	w->out = 0;
	return 0;
}

uint64_t fs_qcow2_writer_pos(const fs_qcow2_writer *w)
{
	return w->out;
}

void fs_qcow2_writer_free(fs_qcow2_writer *w)
{
	if (!w)
		return;
	if (w->sync_ok) {
		drop_chunk(w);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	for (unsigned int i = 0; i < FS_QCOW2_NMETA; i++)
		free(w->meta[i]);
	free(w->refs);
	free(w->held);
	free(w->zero);
	free(w);
}
