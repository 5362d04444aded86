/*
 * core/steps.h: named steps (progress, per-phase times, test hooks) and the
 * owner tag that marks everything a run creates (design.md section 10).
 */
#ifndef FS_STEPS_H
#define FS_STEPS_H

#include "common.h"

/* Test hook, read from the environment once per run:
 *   FASTSNAP_TEST_FAIL_AFTER=<step>  the run fails right after that step
 *   FASTSNAP_TEST_KILL_AFTER=<step>  the process SIGKILLs itself there
 * Returns 0, or FASTSNAP_ECANCELED with a message naming the step. */
int fs_step_test_hook(fastsnap_step step);

typedef struct {
	char host[64];
	long pid;
	unsigned long long start;   /* process start time, clock ticks since boot */
} fs_owner;

/* Fill in this process's owner tag. */
void fs_owner_self(fs_owner *o);
/* "host:pid:start" (caller frees). */
char *fs_owner_format(const fs_owner *o);
/* Temporary snapshot name: fastsnap-<image id>-<host>-<pid>-<start>. */
char *fs_owner_tmp_snap_name(const fs_owner *o, const char *image_id);

#endif
