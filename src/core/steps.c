/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/steps.c: stable step names, the step reporter (progress, times,
 * cancel), and the owner tag (host, pid, process start time) used to name
 * temporary snapshots.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
	st->token = o ? o->cancel : NULL;
	atomic_init(&st->cancel, 0);
	pthread_mutex_init(&st->mu, NULL);
}

void fs_steps_free(fs_steps *st)
{
	pthread_mutex_destroy(&st->mu);
}

int fs_steps_canceled(fs_steps *st)
{
	if (!atomic_load(&st->cancel) && st->token && fastsnap_cancel_requested(st->token))
		atomic_store(&st->cancel, 1);
	return atomic_load(&st->cancel);
}

int fs_steps_cancel_fn(void *st)
{
	return fs_steps_canceled(st);
}

/* Tell the caller; a non-zero answer cancels the run. */
static int report(fs_steps *st, fastsnap_step step, uint64_t done, uint64_t total)
{
	pthread_mutex_lock(&st->mu);
	if (!fs_steps_canceled(st) && st->cb && st->cb(step, done, total, st->payload))
		atomic_store(&st->cancel, 1);
	pthread_mutex_unlock(&st->mu);
	if (fs_steps_canceled(st))
		return fs_err(FASTSNAP_ECANCELED, "canceled by the caller during step '%s'",
			fastsnap_step_name(step));
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

/* The host part of an owner: this machine and PID namespace, unique per
 * machine (docs/operations.md, "Who owns a run"): /etc/machine-id, else
 * the full host name (every character outside [A-Za-z0-9.-] folded to
 * '-', nothing cut), then "." and the inode of /proc/self/ns/pid, so that
 * a run in a container's PID namespace is "another host" to a gc outside
 * it (judged by its heartbeat, never by a pid it cannot see). */
void fs_owner_host(char *host, size_t n)
{
	char id[256] = "";
	FILE *f = fopen("/etc/machine-id", "r");
	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
		id[strcspn(id, "\r\n")] = '\0';
		for (char *p = id; *p; p++)
			if (!isxdigit((unsigned char)*p)) {
				id[0] = '\0';
				break;
			}
	}
	if (!id[0] && gethostname(id, sizeof(id) - 1) != 0)
		strcpy(id, "unknown");
	id[sizeof(id) - 1] = '\0';
	for (char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			*p = '-';
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) == 0)
		snprintf(host, n, "%.200s.%llu", id, (unsigned long long)st.st_ino);
	else
		snprintf(host, n, "%.200s", id);
}

void fs_owner_self(fs_owner *o)
{
	memset(o, 0, sizeof(*o));
	fs_owner_host(o->host, sizeof(o->host));
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

/* ---- the public cancel token ---- */

struct fastsnap_cancel {
	atomic_int requested;
};

int fastsnap_cancel_new(fastsnap_cancel **out)
{
	if (!out)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_cancel_new: out is NULL");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	atomic_init(&(*out)->requested, 0);
	return 0;
}

void fastsnap_cancel_request(fastsnap_cancel *t)
{
	if (t)
		atomic_store(&t->requested, 1);
}

int fastsnap_cancel_requested(const fastsnap_cancel *t)
{
	return t ? atomic_load(&((fastsnap_cancel *)t)->requested) : 0;
}

void fastsnap_cancel_free(fastsnap_cancel *t)
{
	free(t);
}
