/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup/heartbeat.h: proof of life for work in progress (docs/architecture.md, "Clean-up and ownership").
 * While a run lives, a thread refreshes the RBD image metadata key
 * `fastsnap.heartbeat` (unix seconds) every few seconds: on the clone for
 * the direct path, on the source disk for the streamed path. `gc` treats
 * work whose heartbeat is old (and whose owner is gone) as abandoned.
 */
#ifndef FS_HEARTBEAT_H
#define FS_HEARTBEAT_H

#include "clients/ceph.h"

#define FS_META_HEARTBEAT "fastsnap.heartbeat"
#define FS_META_OWNER "fastsnap.owner"
/* The clone's other tag: the Glance image it belongs to. */
#define FS_META_IMAGE_ID "fastsnap.image_id"
/* The clone's flatten mode (sync, deferred, none): gc never flattens none. */
#define FS_META_FLATTEN "fastsnap.flatten"
/* On a source disk: "fastsnap.run.<image id>" = "<owner> <unix seconds>"
 * (the run's tag and heartbeat), or "<owner> ended" (the run is over and
 * left its temporary snapshot to gc). */
#define FS_META_RUN_PREFIX "fastsnap.run."
#define FS_RUN_ENDED "ended"
/* On a clone: the image went active (unix seconds). gc never rolls back,
 * nor asks Glance about, a clone that carries it (docs/operations.md). */
#define FS_META_DONE "fastsnap.done"

/* How fs_heartbeat_stop leaves the key. */
enum { FS_HB_KEEP = 0, FS_HB_REMOVE = 1, FS_HB_ENDED = 2 };

typedef struct fs_heartbeat fs_heartbeat;

/* A clone's FS_META_HEARTBEAT: written at once (on the heartbeat's own
 * thread), then every `period_s` seconds (0: 5 s; the engine passes its
 * heartbeat setting). With `shared` (the run's open handle of that image,
 * valid until fs_heartbeat_stop) the writes go through it; otherwise each
 * opens the image. A failed write is logged. Returns NULL (with the error
 * set) only when the pool cannot be opened. */
fs_heartbeat *fs_heartbeat_start(fs_ceph *c, const char *pool, const char *image,
	rbd_image_t shared, unsigned int period_s, const fs_logger *lg);
/* A source disk's run tag FS_META_RUN_PREFIX `image_id` = "<owner> <now>":
 * written once now through `img` (the run's open handle of the disk;
 * NULL with the error set when that write fails), then refreshed every
 * `period_s` by a thread that opens the disk for each write (it never
 * holds the disk's lock). */
fs_heartbeat *fs_run_tag_start(fs_ceph *c, const char *pool, const char *image, rbd_image_t img,
	const char *image_id, const char *owner, unsigned int period_s, const fs_logger *lg);
/* Where a heartbeat writes: set (value) or remove a metadata key; 0 or a
 * negative errno. The two above write an RBD image's metadata. */
typedef struct {
	int (*set)(void *ctx, const char *key, const char *value);
	int (*remove)(void *ctx, const char *key);
	void *ctx;
} fs_heartbeat_io;
/* The same thread (key, value, period, stop) on other storage, no Ceph
 * (tests/unit/test_heartbeat.c): a run tag's when image_id is given, else
 * a clone's FS_META_HEARTBEAT; the first beat is made at once on the
 * thread. */
fs_heartbeat *fs_heartbeat_start_io(const fs_heartbeat_io *io, const char *image_id,
	const char *owner, unsigned int period_s, const fs_logger *lg);
/* Stop the thread; FS_HB_REMOVE deletes the key, FS_HB_ENDED (a run tag)
 * sets it to "<owner> ended". Returns that write's result (a gone image
 * is fine). NULL is ignored. */
int fs_heartbeat_stop(fs_heartbeat *hb, int how);
/* How many times the key was written (for tests). */
unsigned long fs_heartbeat_beats(const fs_heartbeat *hb);

#endif
