/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/gc_ctx.h: what the parts of `fastsnap gc` share (internal to gc/):
 * the report, the lock, the context of one gc, and the calls between
 * gc.c (the public call, the lock, the report), liveness.c (is a run's
 * owner dead?), actions.c (what to do with a run, and doing it) and
 * state.c (the heartbeat readings kept between gc runs).
 */
#ifndef FS_GC_CTX_H
#define FS_GC_CTX_H

#include <pthread.h>

#include <cjson/cJSON.h>

#include "core/steps.h"
#include "engine.h"
#include "gc/gc.h"


/* --older-than's floor, in heartbeat periods. */
#define FS_GC_OLDER_THAN_PERIODS 4

struct fastsnap_gc_report {
	fs_strv what, action, detail;   /* parallel: one row per thing */
	int failed;
	int dry_run;
	size_t found;
	size_t glance_gets, images_opened;
	char host[256];
	char *json;
};

/* The per-pool locks and the thread that renews their lease. */
typedef struct {
	rados_ioctx_t *io;
	size_t n;
	char cookie[64];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, running;
	int lost;                 /* a renewal failed: act no more */
} gc_lock;

typedef struct {
	fs_ceph *c;
	fs_glance *g;
	fastsnap_gc_opts o;
	fastsnap_gc_report *rep;
	cJSON *state;             /* {"<image id>": {"value": "...", "seen": epoch}} */
	fs_owner self;
	const char *flatten_helper;
	long heartbeat_s;
	const fs_logger *lg;
	gc_lock lock;
	char *state_tmp;          /* the state file's unique temporary, made first */
	int state_fd;
	const fs_strv *pools;     /* the pools scanned */
} gc_ctx;

/* One row of the report: `action` ("found", "removed", "skipped", ...),
 * `detail` (why), and what it is about. */
void fs_gc_row(gc_ctx *x, const char *action, const char *detail, const char *fmt, ...)
	FS_PRINTF(4, 5);
/* liveness.c: 1 alive, 0 dead, -1 not known (yet); *why says how it was
 * decided (caller frees). */
int fs_gc_owner_alive(gc_ctx *x, const gc_run *r, char **why);
/* actions.c: decide what the run left needs, and do it (or say why not). */
void fs_gc_handle(gc_ctx *x, const gc_run *r);
/* state.c: the state file, read whole (a missing file is empty), its
 * unique temporary made before gc acts, readings of gone runs pruned,
 * written atomically, or the temporary dropped. */
int fs_gc_state_load(cJSON **out, const char *path);
int fs_gc_state_prepare(gc_ctx *x);
void fs_gc_state_prune(gc_ctx *x, const gc_runs *runs);
int fs_gc_state_save(gc_ctx *x);
void fs_gc_state_abandon(gc_ctx *x);

#endif
