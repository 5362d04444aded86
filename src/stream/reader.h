/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/reader.h: the pipelined ordered reader. Splits [0, size) into
 * read_size-aligned chunks, keeps up to `depth` of them in flight (librbd
 * aio, or a small pool of pread threads for a file), reads only the
 * allocated parts (holes are zero-filled, a chunk with no data is served
 * from one shared zero buffer) and hands the chunks out strictly in order.
 * Memory: exactly `depth` buffers of min(read_size, size) bytes, allocated
 * once and reused, plus the zero buffer.
 *
 *   fill: FREE --submit--> READING --done--> DONE --next()--> OUT --release()--> FREE
 *
 * fs_reader_next() is called by one thread (the consumer); fs_reader_release()
 * may be called from any thread, in any order.
 */
#ifndef FS_READER_H
#define FS_READER_H

#include <stddef.h>
#include <stdint.h>

#include <rbd/librbd.h>

#include "core/common.h"
#include "stream/extents.h"

typedef struct fs_reader fs_reader;

typedef struct {
	rbd_image_t rbd_image;      /* either this (opened at a snapshot) ... */
	int fd;                     /* ... or a file / block device (-1 if none) */
	uint64_t size;
	const fs_extent_map *map;   /* borrowed; NULL: all allocated */
	unsigned int depth;         /* chunks in flight (0: 8) */
	uint64_t read_size;         /* bytes per chunk (0: 4 MiB) */
	unsigned int file_threads;  /* pread threads for a file (0: min(depth, 4)) */
	int rbd_span;               /* RBD: one read per chunk, from its first allocated
	                             * byte to its last, instead of one per allocated
	                             * part: librbd reads it with RADOS SPARSE_READ, which
	                             * moves only the allocated bytes, in one OSD op per
	                             * object instead of one per part (docs/streaming.md) */
} fs_reader_opts;

typedef struct {
	const char *data;           /* the buffer, or the shared zero buffer */
	size_t len;
	uint64_t offset;            /* in the source */
	int zero;                   /* nothing allocated in this chunk */
	unsigned int slot;          /* pass back to fs_reader_release() */
} fs_chunk;

typedef struct {
	uint64_t bytes_read;        /* bytes read from the source: the map's (a span's
	                             * holes, which librbd's sparse read does not move,
	                             * are not counted) */
	uint64_t reads;             /* read calls issued */
	unsigned int buffers;       /* data buffers allocated (== depth) */
	size_t buffer_size;
} fs_reader_stats;

int fs_reader_new(fs_reader **out, const fs_reader_opts *o);
/* The next chunk in order: 1 (chunk in *out), 0 at the end, or a negative
 * FASTSNAP_E* code (the first read error, sticky until a rewind). */
int fs_reader_next(fs_reader *r, fs_chunk *out);
/* Give a chunk's buffer back (thread-safe). */
void fs_reader_release(fs_reader *r, const fs_chunk *c);
/* Start again from byte 0. Every chunk handed out must be released. */
int fs_reader_rewind(fs_reader *r);
void fs_reader_stats_get(fs_reader *r, fs_reader_stats *out);
/* Waits for reads in flight, then frees. NULL is ignored. */
void fs_reader_free(fs_reader *r);

#endif
