/*
 * clients/rbd.h: librbd wrappers used by the plan, the capture, the direct
 * path, the stream and the clean-up: disk facts, snapshot create, protect
 * and remove, clone with explicit features, flatten, image remove, and a
 * read-only open at a snapshot. Each call opens what it needs and closes
 * it, and names the pool/image@snap in its error message.
 */
#ifndef FS_RBD_H
#define FS_RBD_H

#include <stdint.h>

#include "clients/ceph.h"

/* Features every clone gets (docs/architecture.md, "The direct path"). */
#define FS_CLONE_FEATURES (RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK | \
	RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF | RBD_FEATURE_DEEP_FLATTEN)

typedef struct {
	uint64_t size;
	uint64_t features;
	int order;
	unsigned int depth;     /* clone chain depth: 0 = no parent */
	int has_parent;
} fs_disk_info;

int fs_rbd_disk_info(fs_disk_info *out, fs_ceph *c, const char *pool, const char *image);
int fs_rbd_snap_create(fs_ceph *c, const char *pool, const char *image, const char *snap);
int fs_rbd_snap_protect(fs_ceph *c, const char *pool, const char *image, const char *snap);
/* Create and protect pool/image@snap on one open of the image; *created
 * says whether the snapshot exists (for the caller's undo entry). */
int fs_rbd_snap_create_protected(fs_ceph *c, const char *pool, const char *image, const char *snap,
	int *created);
/* 1 when pool/image@snap exists, 0 when not, or an error. */
int fs_rbd_snap_exists(fs_ceph *c, const char *pool, const char *image, const char *snap);
/* Remove a snapshot, unprotecting it first if it is protected; a missing
 * snapshot or image is not an error. */
int fs_rbd_snap_remove(fs_ceph *c, const char *pool, const char *image, const char *snap);
/* Clone pool/image@snap into cpool/cname with FS_CLONE_FEATURES and clone
 * format 1 or 2, check the features, and tag it with `meta` key/value pairs. */
int fs_rbd_clone(fs_ceph *c, const char *pool, const char *image, const char *snap,
	const char *cpool, const char *cname, int clone_format,
	const char *const *meta_keys, const char *const *meta_values, size_t n_meta);
/* Flatten; `cb` gets (done, total) in bytes (objects copied times the
 * object size) and may return non-zero to stop. */
int fs_rbd_flatten(fs_ceph *c, const char *pool, const char *image,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), void *ctx);
/* Remove an image; a missing one is not an error. Retries EBUSY briefly. */
int fs_rbd_image_remove(fs_ceph *c, const char *pool, const char *image);
/* Open pool/image read-only at `snap` (for the streamed path). */
int fs_rbd_open_snap(rados_ioctx_t *io_out, rbd_image_t *img_out, fs_ceph *c,
	const char *pool, const char *image, const char *snap);
void fs_rbd_close(rados_ioctx_t io, rbd_image_t img);


#endif
