/*
 * core/steps.c: stable step names, the fail/kill test hook, and the owner
 * tag (host, pid, process start time) used to name temporary snapshots.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steps.h"

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

int fs_step_test_hook(fastsnap_step step)
{
	const char *name = fastsnap_step_name(step);
	const char *kill_at = getenv("FASTSNAP_TEST_KILL_AFTER");
	if (kill_at && name && strcmp(kill_at, name) == 0)
		raise(SIGKILL);
	const char *fail_at = getenv("FASTSNAP_TEST_FAIL_AFTER");
	if (fail_at && name && strcmp(fail_at, name) == 0)
		return fs_err(FASTSNAP_ECANCELED, "test hook: failing after step '%s'", name);
	return 0;
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
