/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/gc.h: what `fastsnap gc` works on (internal). A run is everything
 * one fastsnap run left, grouped by its Glance image id: temporary
 * snapshots on disks (fastsnap-<id>-<host>-<pid>-<start>), a tagged clone
 * (fastsnap.owner, fastsnap.image_id, and fastsnap.done once the image
 * went active), the run's tag on a source disk (fastsnap.run.<image id>,
 * written before the snapshot), and the Glance image (fastsnap_owner,
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
	int done;                 /* the clone carries fastsnap.done: finished */
	char *tag_pool, *tag_image;  /* a disk with fastsnap.run.<id>, or NULL */
	char *tag_value;          /* its "<owner> <unix seconds>" or "<owner> ended" */
	fs_image *img;            /* the Glance image, NULL when gone or unknown */
	int img_checked;
	char *img_unknown;        /* why Glance's answer is not known (403, 5xx), or NULL */
} gc_run;

typedef struct {
	gc_run *v;
	size_t n, cap;
	fs_strv notes;            /* look-alikes and other things left alone */
	size_t glance_gets;       /* image GETs made by the scan */
	size_t images_opened;     /* RBD images opened by the scan */
} gc_runs;

/* Find everything fastsnap runs left in `pools` and in Glance. */
int fs_gc_scan(gc_runs *out, fs_ceph *c, fs_glance *g, const fs_strv *pools);
void fs_gc_runs_free(gc_runs *rs);
/* Parse a temporary snapshot name, fastsnap-<uuid>-<host>-<pid>-<start>
 * (host: [A-Za-z0-9.-], pid and start decimal): 1 when it has that shape
 * (id and owner "host:pid:start" set, caller frees), 0 otherwise. Shape
 * alone never makes gc remove a snapshot: the disk's run tag must name
 * the same run (docs/operations.md). No I/O. */
int fs_gc_parse_tmp_snap(const char *name, char **id, char **owner);
/* Parse a run tag's value "<owner> <unix seconds>" or "<owner> ended":
 * 1 with *owner (caller frees) and *beat ("ended" or the digits, pointing
 * into value), 0 when malformed. */
int fs_gc_parse_run_tag(const char *value, char **owner, const char **beat);

#endif
