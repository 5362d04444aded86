/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/stream.h: the streamed path's one narrow interface to the engine.
 * Reads a source (an RBD image opened at a snapshot, or a raw file) with a
 * window of reads in flight, skips holes (sends zeros when raw; leaves them
 * out of a qcow2 image, written as a stream), hashes the stream
 * off the critical path, uploads it to PUT /v2/images/{id}/file with an
 * exact Content-Length, and compares the hashes with Glance's.
 * The engine owns the image id, the snapshot and all clean-up.
 */
#ifndef FS_STREAM_H
#define FS_STREAM_H

#include <stdatomic.h>
#include <stdint.h>

#include <rbd/librbd.h>

#include "core/common.h"
#include "clients/glance.h"

typedef struct {
	/* source: exactly one of these */
	rbd_image_t rbd_image;      /* opened (read-only) at the snapshot to read */
	int fd;                     /* raw file or block device, or -1 */
	uint64_t size;              /* the disk size (bytes to send when raw) */
	rados_ioctx_t rbd_io;       /* RBD: the image's pool, and ... */
	const char *rbd_snap;       /* ... the snapshot it is open at: with both, qcow2 maps
	                             * the snapshot from RADOS (stream/rbd_map.h); without,
	                             * from librbd (whole objects) */

	/* what is sent */
	const char *disk_format;    /* NULL or "raw": the disk's bytes; "qcow2": a qcow2 (v3)
	                             * image of it, holes left out (stream/qcow2.h) */
	uint64_t qcow2_cluster_size; /* qcow2 only; 0: 64 KiB; a power of two, 512 B .. 2 MiB */
	int qcow2_zero_scan;        /* qcow2 only: read the map once before the upload and
	                             * leave out the clusters that are all zeros:
	                             * 0 auto: off where the map is exact (a file; RBD
	                             * mapped from RADOS with holes inside objects); else
	                             * (librbd's map, or a RADOS map of whole objects only,
	                             * as memstore gives) on, but given up after a
	                             * twentieth of the map when under an eighth of it is
	                             * zeros; >0 on (whole map), <0 off (docs/streaming.md) */

	/* target */
	const char *image_id;       /* queued Glance image */
	const char *store;          /* x-image-meta-store, or NULL */
	const char *base_image_ref; /* X-OpenStack-Base-Image-Ref, or NULL */

	/* tuning */
	unsigned int depth;         /* reads in flight (0: 8) */
	uint64_t read_size;         /* bytes per read (0: 4 MiB) */
	int verify_md5;             /* also md5, compared with `checksum` */
	int qcow2_rbd_span;         /* qcow2 from RBD: 0 auto (on), <0 off: read each chunk
	                             * as one span (fs_reader_opts.rbd_span) */

	/* progress (FASTSNAP_STEP_STREAM) and cancellation */
	fastsnap_progress_cb progress_cb;
	void *progress_payload;
	atomic_int *cancel;         /* non-zero: stop with FASTSNAP_ECANCELED; may be NULL */
	const fs_logger *log;
} fs_stream_req;

typedef struct {
	char sha512[129];           /* hex */
	char md5[33];               /* hex, "" unless verify_md5 */
	uint64_t bytes_read;        /* bytes read from the source (holes excluded) */
	uint64_t bytes_sent;        /* bytes in the HTTP body (the qcow2 image's length) */
	uint64_t bytes_allocated;   /* bytes in allocated extents (qcow2: whole clusters) */
	uint64_t bytes_scanned;     /* qcow2_zero_scan: bytes read by the scan */
	uint64_t virtual_size;      /* the disk size the image announces (qcow2: rounded up
	                             * to 512 bytes, as qemu counts whole sectors) */
	int map_rados;              /* qcow2 from RBD: 1 the map came from RADOS, 0 from
	                             * librbd (whole objects), with the reason in map_why */
	char map_why[256];
	double map_seconds;         /* building the map (before any zero scan) */
	double seconds;
} fs_stream_res;

/* Upload the source into the queued image and verify it. On failure the
 * image may be left queued or killed; the engine deletes it. */
int fs_stream_run(fs_glance *g, const fs_stream_req *req, fs_stream_res *res);

#endif
