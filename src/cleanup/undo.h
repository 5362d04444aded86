/*
 * cleanup/undo.h: the undo stack. Each step that creates something pushes
 * how to remove it; on failure the stack runs in reverse. The first error
 * stays the reported one: clean-up failures are appended to its message.
 */
#ifndef FS_UNDO_H
#define FS_UNDO_H

#include "common.h"

/* An undo action; returns 0 or a FASTSNAP_E* code with its message set. */
typedef int (*fs_undo_fn)(void *ctx, const char *a, const char *b, const char *c, int flag);

typedef struct {
	fs_undo_fn fn;
	void *ctx;
	char *what;      /* human description, e.g. "remove snapshot vms/disk@tmp" */
	char *a, *b, *c;
	int flag;
	int done;        /* already undone (or no longer needed) */
} fs_undo_entry;

typedef struct {
	fs_undo_entry *v;
	size_t n;
	size_t cap;
} fs_undo;

#define FS_UNDO_INIT { NULL, 0, 0 }

/* Push an action, described by the printf-style `what_fmt` (for clean-up
 * messages); returns its index (>= 0) or FASTSNAP_ENOMEM. */
int fs_undo_push(fs_undo *u, fs_undo_fn fn, void *ctx, const char *a, const char *b,
	const char *c, int flag, const char *what_fmt, ...) FS_PRINTF(8, 9);
/* Mark an entry as no longer needed (the step was reversed normally). */
void fs_undo_forget(fs_undo *u, int idx);
/* Change an entry's flag (e.g. a snapshot became protected). */
void fs_undo_set_flag(fs_undo *u, int idx, int flag);
/* Run every pending action in reverse. The caller's error (code, message)
 * is kept; each clean-up failure is appended as "clean-up: <what>: <msg>".
 * Returns the number of actions that failed. */
int fs_undo_run(fs_undo *u);
/* Run, in reverse, only the pending actions pushed at index >= mark
 * (a partial roll-back, e.g. of a direct attempt before a fallback).
 * Unlike fs_undo_run, the thread-local error is left as the actions set
 * it; returns the number of failures. */
int fs_undo_run_from(fs_undo *u, size_t mark);
/* Forget everything (success) and free. */
void fs_undo_free(fs_undo *u);

#endif
