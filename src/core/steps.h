/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/steps.h: named steps and the run's step reporter (progress to the
 * caller, per-step times, cancellation, and in test builds the fail/kill
 * hooks), plus the owner tag that marks everything a run creates
 * (docs/operations.md, "Ownership").
 */
#ifndef FS_STEPS_H
#define FS_STEPS_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/common.h"
#include "core/settings.h"

/* One run's steps. Modules report through it; it belongs to one run. */
typedef struct {
	fastsnap_progress_cb cb;
	void *payload;
	const fs_logger *log;
	const fs_settings *s;       /* test hooks (test builds only) */
	atomic_int cancel;          /* set once: the run takes its failure path */
	const fastsnap_cancel *token;  /* the caller's cancel token, or NULL */
	pthread_mutex_t mu;         /* stages that run at once report one at a time */
	double t0[FASTSNAP_STEP__COUNT];
	double seconds[FASTSNAP_STEP__COUNT];
} fs_steps;

void fs_steps_init(fs_steps *st, const fastsnap_snapshot_opts *o, const fs_logger *log,
	const fs_settings *s);
void fs_steps_free(fs_steps *st);
/* Start and end a step: progress (0, 1) and (1, 1), its time, and at the
 * end the test hook. Return 0 or FASTSNAP_ECANCELED. */
int fs_step_begin(fs_steps *st, fastsnap_step step);
int fs_step_end(fs_steps *st, fastsnap_step step);
/* Progress inside a long step (flatten, stream): bytes done and total.
 * Returns FASTSNAP_ECANCELED (message set) once the caller canceled. */
int fs_step_progress(fs_steps *st, fastsnap_step step, uint64_t done, uint64_t total);
/* Non-zero once the run is canceled (by its progress callback or its
 * token); also an fs_cancel_fn with `st` as its context. */
int fs_steps_canceled(fs_steps *st);
int fs_steps_cancel_fn(void *st);

#ifdef FASTSNAP_TEST_HOOKS
/* Test builds only (core/testhook.c): fail after a step, SIGKILL the
 * process after a step, or SIGKILL it once `done/total` of a step reaches
 * the fraction in test_kill_during ("flatten:0.5"). */
int fs_test_hook_after(const fs_settings *s, fastsnap_step step);
void fs_test_hook_during(const fs_settings *s, fastsnap_step step, uint64_t done, uint64_t total);
#else
static inline int fs_test_hook_after(const fs_settings *s, fastsnap_step step)
{
	(void)s; (void)step;
	return 0;
}
static inline void fs_test_hook_during(const fs_settings *s, fastsnap_step step, uint64_t done,
	uint64_t total)
{
	(void)s; (void)step; (void)done; (void)total;
}
#endif

typedef struct {
	char host[256];             /* fs_owner_host: machine and PID namespace */
	long pid;
	unsigned long long start;   /* process start time, clock ticks since boot */
} fs_owner;

/* This machine's identity and PID namespace, "<machine-id>.<pidns inode>"
 * (docs/operations.md, "Who owns a run"). */
void fs_owner_host(char *host, size_t n);
/* Fill in this process's owner tag. */
void fs_owner_self(fs_owner *o);
/* "host:pid:start" (caller frees). */
char *fs_owner_format(const fs_owner *o);
/* Temporary snapshot name: fastsnap-<image id>-<host>-<pid>-<start>. */
char *fs_owner_tmp_snap_name(const fs_owner *o, const char *image_id);

#endif
