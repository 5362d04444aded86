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
/* On a source disk: "fastsnap.run.<owner>" = the Glance image id. */
#define FS_META_RUN_PREFIX "fastsnap.run."

typedef struct fs_heartbeat fs_heartbeat;

/* Write the key at once (on the heartbeat's own thread), then every `period_s` seconds (0: 5 s; the engine
 * passes its heartbeat setting). With `owner` ("host:pid:start") the keys
 * are the run's own: FS_META_HEARTBEAT "." owner, and FS_META_RUN_PREFIX
 * owner = `run_value` (the Glance image id); without, the image's single
 * FS_META_HEARTBEAT (a clone). With `shared` (the run's open handle of
 * that image, valid until fs_heartbeat_stop) the writes go through it;
 * otherwise each opens the image. A failed write is logged. Returns NULL
 * (with the error set) only when the pool cannot be opened. */
fs_heartbeat *fs_heartbeat_start(fs_ceph *c, const char *pool, const char *image,
	rbd_image_t shared, const char *owner, const char *run_value, unsigned int period_s,
	const fs_logger *lg);
/* Where a heartbeat writes: set (value) or remove a metadata key; 0 or a
 * negative errno. fs_heartbeat_start writes an RBD image's metadata. */
typedef struct {
	int (*set)(void *ctx, const char *key, const char *value);
	int (*remove)(void *ctx, const char *key);
	void *ctx;
} fs_heartbeat_io;

/* The same heartbeat (keys, period, first beat, stop) on other storage
 * (tests/unit/test_heartbeat.c). */
fs_heartbeat *fs_heartbeat_start_io(const fs_heartbeat_io *io, const char *owner,
	const char *run_value, unsigned int period_s, const fs_logger *lg);
/* Stop the thread; with `remove`, delete the keys it wrote. NULL is ignored. */
void fs_heartbeat_stop(fs_heartbeat *hb, int remove);
/* How many times the key was written (for tests). */
unsigned long fs_heartbeat_beats(const fs_heartbeat *hb);

#endif
