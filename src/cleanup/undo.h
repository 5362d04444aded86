/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup/undo.h: the undo stack. Each step that creates something pushes
 * how to remove it; on failure the stack runs in reverse. The first error
 * stays the reported one: clean-up failures are appended to its message.
 *
 * An entry is typed: a function, and one argument it owns (freed with the
 * entry by `free_arg`). The constructors for what fastsnap creates (RBD
 * snapshots and images, Glance images) are at the end of this header.
 */
#ifndef FS_UNDO_H
#define FS_UNDO_H

#include "core/common.h"

/* An undo action; returns 0 or a FASTSNAP_E* code with its message set. */
typedef int (*fs_undo_fn)(void *arg);

typedef struct {
	fs_undo_fn fn;
	void *arg;
	void (*free_arg)(void *arg);
	char *what;      /* human description, e.g. "remove snapshot vms/disk@tmp" */
	int done;        /* already undone (or no longer needed) */
} fs_undo_entry;

typedef struct {
	fs_undo_entry *v;
	size_t n;
	size_t cap;
	fs_strv undone;  /* what the runs removed, in order ("remove image vms/x") */
} fs_undo;

#define FS_UNDO_INIT { NULL, 0, 0, FS_STRV_INIT }

/* Push an action that owns `arg` (freed with `free_arg`, which may be NULL,
 * also when the push fails), described by the printf-style `what_fmt`;
 * returns its index (>= 0) or FASTSNAP_ENOMEM. */
int fs_undo_push(fs_undo *u, fs_undo_fn fn, void *arg, void (*free_arg)(void *),
	const char *what_fmt, ...) FS_PRINTF(5, 6);
/* Mark an entry as no longer needed (the step was reversed normally). */
void fs_undo_forget(fs_undo *u, int idx);
/* Run every pending action in reverse. The caller's error (code, message)
 * is kept; each clean-up failure is appended as "clean-up failed: <what>:
 * <msg>", then once "what is left is marked as this run's: fastsnap gc
 * removes it". Returns the number of actions that failed. */
int fs_undo_run(fs_undo *u);
/* The same for the pending actions pushed at index >= mark only (a partial
 * roll-back, e.g. of a direct attempt before a fallback). */
int fs_undo_run_from(fs_undo *u, size_t mark);
/* Move every entry of `src` (left empty) to the top of `dst`; returns
 * the index in `dst` of src's first entry, or FASTSNAP_ENOMEM (src kept). */
int fs_undo_take(fs_undo *dst, fs_undo *src);
/* Forget everything (success) and free. */
void fs_undo_free(fs_undo *u);

/* ---- typed entries (cleanup/undo_ops.c) ---- */
struct fs_ceph;
struct fs_glance;
/* Unprotect if protected, then remove pool/image@snap (gone is fine). */
int fs_undo_push_rbd_snap(fs_undo *u, struct fs_ceph *c, const char *pool, const char *image,
	const char *snap);
/* Remove pool/image (gone is fine). */
int fs_undo_push_rbd_image(fs_undo *u, struct fs_ceph *c, const char *pool, const char *image);
/* Delete Glance image `id` (gone is fine). */
int fs_undo_push_glance_delete(fs_undo *u, struct fs_glance *g, const char *id);

#endif
