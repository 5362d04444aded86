/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/rbd.h: librbd wrappers used by the plan, the capture, the direct
 * path, the stream and the clean-up: disk facts, snapshot create, protect
 * and remove, clone with explicit features, flatten, image remove, and a
 * read-only open at a snapshot. A run opens each image it changes once
 * (fs_rbd_image) and does its steps on that handle; the fs_rbd_* calls that
 * take a pool and an image name (undo, gc) open, act and close. Every
 * error names the pool/image@snap.
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

/* An image opened read-write, with its pool's I/O context and its names
 * (for errors). librbd allows calls on one handle from several threads. */
typedef struct {
	rados_ioctx_t io;
	rbd_image_t img;
	char *pool, *image;
} fs_rbd_image;

int fs_rbd_image_open(fs_rbd_image *h, fs_ceph *c, const char *pool, const char *image);
int fs_rbd_image_is_open(const fs_rbd_image *h);
/* Close and zero; a zeroed or closed handle is fine. */
void fs_rbd_image_close(fs_rbd_image *h);
int fs_rbd_image_snap_create(fs_rbd_image *h, const char *snap);
int fs_rbd_image_snap_protect(fs_rbd_image *h, const char *snap);
/* Create and protect @snap; *created says whether the snapshot exists
 * (for the caller's undo entry). */
int fs_rbd_image_snap_create_protected(fs_rbd_image *h, const char *snap, int *created);
/* Remove @snap, unprotecting it first; a missing one is not an error. */
int fs_rbd_image_snap_remove(fs_rbd_image *h, const char *snap);
/* Flatten; `cb` gets (done, total) in bytes (objects copied times the
 * object size) and may return non-zero to stop. */
int fs_rbd_image_flatten(fs_rbd_image *h, int (*cb)(uint64_t done, uint64_t total, void *ctx),
	void *ctx);
/* Before a flatten that finishes an interrupted one (gc): mark as absent
 * in the clone's object map the objects it says exist and RADOS does not
 * hold. librbd marks an object as existing before its copy-up writes it,
 * and its flatten skips every object so marked, so after a kill between
 * the two it would detach the parent with that object never copied
 * (docs/architecture.md). librbd's own rebuild keeps such marks at the
 * head ("might be writing"). Call it before anything takes the clone's
 * lock through this handle (the map is loaded with the lock), with no
 * other writer (the run is dead). `cb` as for the flatten, with done 0
 * (a sign of life). */
int fs_rbd_image_unmark_absent(fs_rbd_image *h,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), void *ctx);
/* Clone parent@snap into cpool/cname with FS_CLONE_FEATURES and clone
 * format 1 or 2, open it (*out) and check its features. On failure *out
 * is closed; a clone may half exist. */
int fs_rbd_clone(fs_rbd_image *out, fs_rbd_image *parent, const char *snap,
	fs_ceph *c, const char *cpool, const char *cname, int clone_format);
/* Set RBD metadata key/value pairs (the owner tags), one write each. */
int fs_rbd_image_tag(fs_rbd_image *h, const char *const *keys, const char *const *values, size_t n);
/* Every metadata entry of an open image after key `start` ("" for all), in
 * key order, read a page at a time: cb(key, value, ctx) for each; a nonzero
 * return from cb stops the walk and is returned. 0, cb's value, or a
 * negative errno (-ENOMEM, or rbd_metadata_list's). Sets no error. */
int fs_rbd_metadata_each(rbd_image_t img, const char *start,
	int (*cb)(const char *key, const char *value, void *ctx), void *ctx);
/* Remove every metadata key that begins with `prefix` (every page of the
 * list); *removed counts them. */
int fs_rbd_image_untag_prefix(fs_rbd_image *h, const char *prefix, int *removed);

/* The same by name: open, act, close. */
int fs_rbd_disk_info(fs_disk_info *out, fs_ceph *c, const char *pool, const char *image);
/* 1 when pool/image@snap exists, 0 when not, or an error. */
int fs_rbd_snap_exists(fs_ceph *c, const char *pool, const char *image, const char *snap);
/* A missing snapshot or image is not an error. */
int fs_rbd_snap_remove(fs_ceph *c, const char *pool, const char *image, const char *snap);
int fs_rbd_flatten(fs_ceph *c, const char *pool, const char *image,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), void *ctx);
/* Remove an image; a missing one is not an error. Retries EBUSY briefly. */
int fs_rbd_image_remove(fs_ceph *c, const char *pool, const char *image);
/* Open pool/image read-only at `snap` (for the streamed path). */
int fs_rbd_open_snap(rados_ioctx_t *io_out, rbd_image_t *img_out, fs_ceph *c,
	const char *pool, const char *image, const char *snap);
void fs_rbd_close(rados_ioctx_t io, rbd_image_t img);


#endif
