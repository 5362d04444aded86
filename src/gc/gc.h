/*
 * gc/gc.h: what `fastsnap gc` works on (internal). A run is everything
 * one fastsnap run left, grouped by its Glance image id: temporary
 * snapshots on disks (fastsnap-<id>-<host>-<pid>-<start>), a tagged clone
 * (fastsnap.owner, fastsnap.image_id), per-run tags on a source disk
 * (fastsnap.run.<owner>), and the Glance image (fastsnap_owner,
 * fastsnap_state). scan.c finds them; gc.c decides and acts.
 */
#ifndef FS_GC_H
#define FS_GC_H

#include "clients/ceph.h"
#include "clients/glance.h"

typedef struct {
	char *id;                 /* the Glance image id */
	char *owner;              /* "host:pid:start" */
	fs_strv snaps;            /* "pool\timage\tsnap" temporary snapshots */
	char *clone_pool;         /* the tagged clone <clone_pool>/<id>, or NULL */
	char *clone_flatten;      /* its fastsnap.flatten (sync, deferred, none) */
	int clone_has_parent;
	char *tag_pool, *tag_image;  /* a disk with fastsnap.run.<owner>, or NULL */
	fs_image *img;            /* the Glance image, NULL when gone */
	int img_checked;
} gc_run;

typedef struct {
	gc_run *v;
	size_t n, cap;
	fs_strv notes;            /* look-alikes and other things left alone */
} gc_runs;

/* Find everything fastsnap runs left in `pools` and in Glance. */
int fs_gc_scan(gc_runs *out, fs_ceph *c, fs_glance *g, const fs_strv *pools);
void fs_gc_runs_free(gc_runs *rs);
/* Parse a temporary snapshot name: 1 when it is ours (id and owner set,
 * caller frees), 0 when it only looks alike. No I/O. */
int fs_gc_parse_tmp_snap(const char *name, char **id, char **owner);

#endif
