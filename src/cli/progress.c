/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/progress.c: progress on a terminal and the freeze/thaw commands (see
 * progress.h). The capture signals come from the library: BEGIN just
 * before the source is captured, END right after (also on failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hook.h"
#include "cli/progress.h"

void cli_progress_init(cli_progress *p, int tty, const char *freeze_cmd, const char *thaw_cmd)
{
	memset(p, 0, sizeof(*p));
	p->tty = tty;
	p->last = FASTSNAP_STEP__COUNT;
	p->freeze_cmd = freeze_cmd;
	p->thaw_cmd = thaw_cmd;
	p->hook_timeout_s = CLI_HOOK_TIMEOUT_DEFAULT_S;
}

void cli_progress_free(cli_progress *p)
{
	free(p->thaw_error);
	p->thaw_error = NULL;
	free(p->freeze_error);
	p->freeze_error = NULL;
}

/* Run a hook (cli/hook.c); NULL when it exited 0, else why it failed
 * (printed). *timed_out: stopped at the limit or by a cancel. */
static char *run_command(cli_progress *p, const char *what, const char *cmd, int *stopped)
{
	char *why = NULL;
	cli_hook_status st = cli_hook_run(what, cmd, p->hook_timeout_s, p->cancel, &why);
	if (stopped)
		*stopped = st == CLI_HOOK_TIMED_OUT || st == CLI_HOOK_CANCELED;
	if (st == CLI_HOOK_OK)
		return NULL;
	fprintf(stderr, "%s: %s\n", prog, why ? why : "a hook command failed");
	return why ? why : strdup("hook command failed");
}

/* A freeze that was stopped may have frozen part of the guest: thaw. */
static void thaw(cli_progress *p)
{
	if (p->thaw_cmd && !p->thaw_error)
		p->thaw_error = run_command(p, "--thaw-cmd", p->thaw_cmd, NULL);
}

int cli_capture_cb(fastsnap_capture_event ev, void *payload)
{
	cli_progress *p = payload;
	if (!p->freeze_cmd)
		return 0;
	if (ev == FASTSNAP_CAPTURE_BEGIN) {
		int stopped = 0;
		char *err = run_command(p, "--freeze-cmd", p->freeze_cmd, &stopped);
		if (err) {
			p->freeze_failed = 1;
			p->freeze_error = err;
			if (stopped)
				thaw(p);
			return 1; /* cancel: nothing is captured unfrozen */
		}
		p->frozen = 1;
	} else if (p->frozen) {
		p->frozen = 0;
		thaw(p);
	}
	return 0;
}

static void draw_bar(cli_progress *p, fastsnap_step step, uint64_t done, uint64_t total)
{
	double el = cli_now() - p->step_t0;
	double rate = el > 0 ? (double)done / el : 0;
	int pct = (int)(done * 100 / total);
	int w = pct / 4;
	char left[32] = "--";
	if (rate > 0 && done < total)
		snprintf(left, sizeof(left), "%.0fs", (double)(total - done) / rate);
	fprintf(stderr, "\r%-12s [%.*s%*s] %3d%% %llu/%llu MiB %.1f MiB/s, %s left ",
		fastsnap_step_name(step), w, "=========================", 25 - w, "", pct,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20),
		rate / (1024.0 * 1024.0), left);
	p->drawn = done != total;
	if (done == total)
		fprintf(stderr, "\n");
	fflush(stderr);
}

int cli_progress_cb(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	cli_progress *p = payload;
	if (!p->tty)
		return 0;
	if (step != p->last) {
		p->step_t0 = cli_now();
		if (p->drawn)
			fprintf(stderr, "\n");
		p->drawn = 0;
		fprintf(stderr, "%s...\n", fastsnap_step_name(step));
		p->last = step;
	}
	/* Long steps report bytes between their (0, 1) and (1, 1) marks. */
	if ((step == FASTSNAP_STEP_FLATTEN || step == FASTSNAP_STEP_STREAM) && total > 1)
		draw_bar(p, step, done, total);
	return 0;
}
