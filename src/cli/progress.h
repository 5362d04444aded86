/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/progress.h: the terminal side of a run: a progress bar for the long
 * steps (bytes, rate, time left) and a line for the others, and the
 * --freeze-cmd/--thaw-cmd pair run on the library's capture signals
 * (cli/hook.c: clean children with a time limit; a freeze stopped at its
 * limit is followed by the thaw).
 */
#ifndef FS_CLI_PROGRESS_H
#define FS_CLI_PROGRESS_H

#include "fastsnap.h"

typedef struct {
	int tty;
	fastsnap_step last;
	int drawn;
	double step_t0;
	const char *freeze_cmd;
	const char *thaw_cmd;
	int frozen;
	int freeze_failed;       /* the freeze command failed: the run was canceled */
	char *freeze_error;      /* why, or NULL */
	char *thaw_error;        /* why the thaw command failed, or NULL */
	long hook_timeout_s;     /* each hook's limit (--hook-timeout) */
	const fastsnap_cancel *cancel;   /* a canceled run stops a running hook */
} cli_progress;

void cli_progress_init(cli_progress *p, int tty, const char *freeze_cmd, const char *thaw_cmd);
void cli_progress_free(cli_progress *p);
/* fastsnap_snapshot_opts.progress_cb and .capture_cb; payload: cli_progress. */
int cli_progress_cb(fastsnap_step step, uint64_t done, uint64_t total, void *payload);
int cli_capture_cb(fastsnap_capture_event ev, void *payload);

#endif
