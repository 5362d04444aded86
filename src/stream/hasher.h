/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/hasher.h: sha512 (and optionally md5) of a byte stream, computed
 * by a thread of its own so that hashing does not stall the sender. Buffers
 * are pushed in stream order; `done(ctx, item)` is called from the hashing
 * thread once a buffer has been hashed (so its owner may recycle it).
 */
#ifndef FS_HASHER_H
#define FS_HASHER_H

#include <stddef.h>

#include "core/common.h"

typedef struct fs_hasher fs_hasher;
typedef void (*fs_hasher_done_fn)(void *ctx, void *item);

/* queue_cap: most buffers waiting at once (push blocks beyond it). */
int fs_hasher_new(fs_hasher **out, int with_md5, unsigned int queue_cap,
	fs_hasher_done_fn done, void *ctx);
/* Queue `len` bytes at `data` (must stay valid until done(item)). */
int fs_hasher_push(fs_hasher *h, const void *data, size_t len, void *item);
/* Wait until every pushed buffer is hashed. */
void fs_hasher_drain(fs_hasher *h);
/* Drain, then start over with empty digests. */
int fs_hasher_reset(fs_hasher *h);
/* Drain, then write the hex digests (md5_hex "" without md5). The
 * hasher must be reset before it is used again. */
int fs_hasher_final(fs_hasher *h, char sha512_hex[129], char md5_hex[33]);
/* Bytes hashed so far. */
unsigned long long fs_hasher_bytes(fs_hasher *h);
void fs_hasher_free(fs_hasher *h);

/* One-shot helper (tests, small data). */
int fs_sha512_hex(char out[129], const void *data, size_t len);

#endif
