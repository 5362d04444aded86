/* SPDX-License-Identifier: Apache-2.0 */
/*
 * register/register.h: what fastsnap tells Glance about a snapshot: the
 * image's properties (docs/architecture.md, "Glance and Ceph facts": Nova's metadata, inherited
 * base-image properties, the owner tag) and, on the direct path, the
 * rbd:// location.
 */
#ifndef FS_REGISTER_H
#define FS_REGISTER_H

#include "cleanup/undo.h"
#include "clients/glance.h"
#include "core/steps.h"

typedef struct {
	fs_strv keys;
	fs_strv values;
	int min_disk;
	int min_ram;
} fs_image_meta;

/* Build the new image's properties. `schema` may be NULL (a built-in list
 * of core fields is used then). */
int fs_image_meta_build(fs_image_meta *out, const fastsnap_snapshot_opts *o, const fs_image *base,
	const fs_image_schema *schema, const fs_owner *owner, uint64_t disk_size);
void fs_image_meta_free(fs_image_meta *m);
/* Is `key` a core image field or reserved by fastsnap (not settable as a
 * property)? Read-only schema fields are checked with the schema. */
int fs_image_prop_reserved(const char *key);

/* Create the queued image with id `id` (a random UUID the caller drew, so a
 * 409 to a resent create is our own first try): Nova's
 * properties plus what the base image passes on (the schema, fetched here,
 * tells core fields apart), and `heartbeat_at` ("pool/image" whose
 * metadata holds the run's heartbeat, or NULL) as FS_PROP_HEARTBEAT. Its
 * delete is pushed on `u` (*undo_idx). */
int fs_register_image_create(fs_glance *g, const char *id, int *undo_idx, fs_undo *u,
	const fastsnap_snapshot_opts *o, const fs_image *base, const fs_owner *owner,
	uint64_t disk_size, const char *heartbeat_at, const char *disk_format);

/* Nova's mode: the caller's image `id` must exist and be queued
 * (FASTSNAP_ENOTFOUND, FASTSNAP_ECONFLICT); nothing is changed in Glance. */
int fs_register_attach(fs_glance *g, const char *id);

/* Mark an image whose run failed after it went active: FS_PROP_STATE =
 * needs-attention and FS_PROP_ERROR = the thread's current error (cut to
 * Glance's 255 characters). The thread's error is left as it was; returns
 * 0 when the image was marked. */
int fs_register_needs_attention(fs_glance *g, const char *image_id);

/* Register rbd://fsid/pool/image/snap as the image's location in `store`. */
int fs_register_location(fs_glance *g, char **url_out, const char *image_id, const char *fsid,
	const char *pool, const char *rbd_image, const char *snap, const char *store);

/* What the location registration of an image saw at its end (the PATCH's
 * answer on Glance < 29, which also removed FS_PROP_STATE; the poll that
 * found the image active after a POST on Glance >= 29). */
typedef struct {
	const fs_image *image;    /* that image (owned by the client), or NULL */
	int active;               /* it showed the image active */
	int64_t size;             /* its size then, -1 unknown */
	int state_removed;        /* FS_PROP_STATE is gone already */
} fs_register_seen;
void fs_register_seen_get(fs_glance *g, const char *image_id, fs_register_seen *out);

/* The final check of a run: image `image_id` is active with `want` bytes,
 * then its FS_PROP_STATE mark goes. What the location call saw spares the
 * GET (active with that size) and the removal (done with the location);
 * otherwise both are made here. Errors: FASTSNAP_EPROTOCOL "image X is 'S'
 * after the <path_name> path, not 'active'", FASTSNAP_ECHECKSUM "image X
 * has size N in Glance, M bytes were expected", or the call's. */
int fs_register_final_check(fs_glance *g, const char *image_id, uint64_t want,
	const char *path_name);

/* Property names fastsnap uses to tag its images. */
#define FS_PROP_OWNER "fastsnap_owner"
#define FS_PROP_STATE "fastsnap_state"
/* Where the run's heartbeat lives ("pool/image"), for gc. */
#define FS_PROP_HEARTBEAT "fastsnap_heartbeat"
/* A run that failed after the image went active: its error (<= 255). */
#define FS_PROP_ERROR "fastsnap_error"
#define FS_STATE_IN_PROGRESS "in-progress"
#define FS_STATE_NEEDS_ATTENTION "needs-attention"

#endif
