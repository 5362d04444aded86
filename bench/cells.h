/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/cells.h: one cell run of fastsnap-bench (a "spec": what to run, on
 * which disk, with which figures around it) and the in-process cells of
 * cells.c, run in a forked child.
 */
#ifndef FSB_CELLS_H
#define FSB_CELLS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "util.h"

/* One cell run (a "spec"); the record is the JSON it leaves. */
enum fsb_kind {
	K_SETUP = 1,   /* create and fill disks (in-process, librbd) */
	K_SNAPSHOT,    /* fastsnap_snapshot through the public API */
	K_STREAM_RBD,  /* internal fs_stream_run into the rbd store */
	K_SINK,        /* internal stream body PUT into the null sink (sha512 on) */
	K_READFS,      /* internal reader + sha512 to nowhere */
	K_SHA,         /* sha512 alone */
	K_FLOOR,       /* the direct path's unavoidable calls, N threads */
	K_FLATTEN,     /* librbd flatten of a clone, alone */
	K_CONC,        /* N snapshots through one engine */
	K_SHELL        /* a command line (baselines, limits, N CLI processes) */
};

typedef struct {
	const char *cell;    /* name in the results ("direct-sync", ...) */
	const char *group;   /* fastsnap | baseline | limit | floor | concurrency | setup */
	enum fsb_kind kind;
	uint64_t size;
	const char *fill;    /* "full" | "sparse" | "" */
	int n, rep;
	char disk[128];      /* vms image (or the prefix for N disks) */
	char shm[256];       /* bytes of the disk in tmpfs, for the "from memory" cells */
	int mode;            /* fastsnap_flatten_mode */
	const char *store;
	int md5;
	const char *disk_format; /* K_SNAPSHOT: "qcow2" (issue 21) or NULL: raw */
	int rados;           /* read the OSD's op_r_out_bytes around it */
	int space;           /* measure rbd du and OSD stored bytes of what it made */
	const char *script;  /* K_SHELL: bash script; args below */
	const char *args[12];
	uint64_t need_bytes; /* free space it needs (cluster side) */
	uint64_t need_local; /* free space it needs on TMPDIR */
} fsb_spec;

/* cells.c: run in the forked child; fill `out` (ok, t, ...). */
void fsb_cell_run(const fsb_spec *s, cJSON *out);
/* the fill pattern: disk NAME, SIZE, every object or every tenth */
int fsb_make_disks(const char *const *names, int n, uint64_t size, int sparse, cJSON *out);

#endif
