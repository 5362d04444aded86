/*
 * core/steps.c: stable step names, the step reporter (progress, times,
 * cancel), and the owner tag (host, pid, process start time) used to name
 * temporary snapshots.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/steps.h"

static const char *const step_names[FASTSNAP_STEP__COUNT] = {
	[FASTSNAP_STEP_RESOLVE] = "resolve",
	[FASTSNAP_STEP_IMAGE_CREATE] = "image-create",
	[FASTSNAP_STEP_TMP_SNAP] = "tmp-snap",
	[FASTSNAP_STEP_PROTECT] = "protect",
	[FASTSNAP_STEP_CLONE] = "clone",
	[FASTSNAP_STEP_FLATTEN] = "flatten",
	[FASTSNAP_STEP_TMP_REMOVE] = "tmp-remove",
	[FASTSNAP_STEP_SNAP] = "snap",
	[FASTSNAP_STEP_LOCATION] = "location",
	[FASTSNAP_STEP_STREAM] = "stream",
	[FASTSNAP_STEP_FINAL_CHECK] = "final-check",
};

const char *fastsnap_step_name(fastsnap_step step)
{
	if ((int)step < 0 || step >= FASTSNAP_STEP__COUNT)
		return NULL;
	return step_names[step];
}

void fs_steps_init(fs_steps *st, const fastsnap_snapshot_opts *o, const fs_logger *log,
	const fs_settings *s)
{
	memset(st, 0, sizeof(*st));
	st->cb = o ? o->progress_cb : NULL;
	st->payload = o ? o->progress_payload : NULL;
	st->log = log;
	st->s = s;
	atomic_init(&st->cancel, 0);
}

int fs_steps_canceled(fs_steps *st)
{
	return atomic_load(&st->cancel);
}

/* Tell the caller; a non-zero answer cancels the run. */
static int report(fs_steps *st, fastsnap_step step, uint64_t done, uint64_t total)
{
	if (!fs_steps_canceled(st) && st->cb && st->cb(step, done, total, st->payload))
		atomic_store(&st->cancel, 1);
	if (fs_steps_canceled(st))
		return fs_err(FASTSNAP_ECANCELED, "canceled by the caller during step '%s'", fastsnap_step_name(step));
	return 0;
}

int fs_step_begin(fs_steps *st, fastsnap_step step)
{
	st->t0[step] = fs_now();
	fs_log(st->log, FASTSNAP_LOG_DEBUG, "step %s", fastsnap_step_name(step));
	return report(st, step, 0, 1);
}

int fs_step_end(fs_steps *st, fastsnap_step step)
{
	st->seconds[step] += fs_now() - st->t0[step];
	int rc = report(st, step, 1, 1);
	return rc < 0 ? rc : fs_test_hook_after(st->s, step);
}

int fs_step_progress(fs_steps *st, fastsnap_step step, uint64_t done, uint64_t total)
{
	fs_test_hook_during(st->s, step, done, total);
	return report(st, step, done, total);
}

void fs_owner_self(fs_owner *o)
{
	memset(o, 0, sizeof(*o));
	if (gethostname(o->host, sizeof(o->host) - 1) != 0)
		strcpy(o->host, "unknown");
	/* Keep the host part of names to [A-Za-z0-9.-] and cut at the first dot. */
	for (char *p = o->host; *p; p++) {
		if (*p == '.') {
			*p = '\0';
			break;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			*p = '-';
	}
	o->pid = (long)getpid();
	FILE *f = fopen("/proc/self/stat", "r");
	if (f) {
		char buf[1024];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		/* field 22 (starttime) counts from after the ")" closing comm */
		char *p = strrchr(buf, ')');
		if (p) {
			int field = 2;
			for (p++; *p && field < 22; p++)
				if (*p == ' ')
					field++;
			o->start = strtoull(p, NULL, 10);
		}
	}
}

char *fs_owner_format(const fs_owner *o)
{
	return fs_asprintf("%s:%ld:%llu", o->host, o->pid, o->start);
}

char *fs_owner_tmp_snap_name(const fs_owner *o, const char *image_id)
{
	return fs_asprintf("fastsnap-%s-%s-%ld-%llu", image_id, o->host, o->pid, o->start);
}
