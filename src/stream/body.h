/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/body.h: the HTTP body of the streamed upload: the source's bytes
 * in order (from the reader), as they are (raw) or as a qcow2 image
 * (qcow2_writer.c), hashed on the side (hasher), with progress
 * and cancellation. It plugs into fs_glance_upload() as read/rewind
 * callbacks, and can be driven by any other sender (a benchmark's own
 * curl upload, a test that reads to the end).
 *
 *   extent map -> reader (depth x read_size in flight) -> fs_stream_body_read -> HTTP
 *                                                    \-> hasher thread (sha512, md5)
 *   a chunk goes back to the reader when it is both sent and hashed.
 */
#ifndef FS_STREAM_BODY_H
#define FS_STREAM_BODY_H

#include <sys/types.h>

#include "stream/extents.h"
#include "stream/qcow2.h"
#include "stream/reader.h"
#include "stream/stream.h"

typedef struct fs_stream_body fs_stream_body;

/* Builds the extent map (RBD diff or SEEK_DATA; for qcow2 exact, rounded
 * to clusters, and the layout planned over it) and starts the reader and
 * the hashing thread. Uses req's source, size, disk_format, tuning,
 * progress, cancel. */
int fs_stream_body_new(fs_stream_body **out, const fs_stream_req *req);
/* fs_read_fn: fill buf with up to len bytes; 0 at the end; <0 an error. */
ssize_t fs_stream_body_read(void *body, char *buf, size_t len);
/* fs_rewind_fn: start again from byte 0 (pipeline and hashes reset). */
int fs_stream_body_rewind(void *body);
/* After the last byte: checks the length, finishes the digests and fills
 * res (sha512, md5, bytes_*; not `seconds`). */
int fs_stream_body_finish(fs_stream_body *b, fs_stream_res *res);
const fs_extent_map *fs_stream_body_map(const fs_stream_body *b);
/* Bytes in the body (the Content-Length): the disk size when raw, the
 * image's length for qcow2; known before the first byte. */
uint64_t fs_stream_body_length(const fs_stream_body *b);
/* The qcow2 layout, or NULL when raw. */
const fs_qcow2_layout *fs_stream_body_qcow2(const fs_stream_body *b);
void fs_stream_body_stats(fs_stream_body *b, fs_reader_stats *out);
void fs_stream_body_free(fs_stream_body *b);

#endif
