/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_heartbeat.c: the heartbeat thread (cleanup/heartbeat.c)
 * on a recording store instead of RBD metadata (fs_heartbeat_start_io), no
 * cluster: a clone's key and a run tag's (fastsnap.run.<image id> =
 * "<owner> <unix seconds>"), the first beat at once (also when stopped at
 * once), a beat every period and never faster, a stop that does not wait
 * for the period and after which nothing is written, removal or "<owner>
 * ended" on request with the write's result returned (a gone key is
 * fine), a failed write logged, not counted, and the next one made.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cleanup/heartbeat.h"

#define NCALLS 64

/* What the heartbeat wrote: every call, in order, and when. */
typedef struct {
	pthread_mutex_t mu;
	char calls[NCALLS][160];  /* "set KEY=VALUE" or "remove KEY" */
	double at[NCALLS];        /* CLOCK_MONOTONIC seconds */
	int n;
	int fail_sets;            /* the next fail_sets sets fail with -EIO */
	int remove_result;        /* what remove answers */
	char warned[256];         /* the last WARN line logged */
} store;

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int rec_set(void *ctx, const char *key, const char *value)
{
	store *s = ctx;
	pthread_mutex_lock(&s->mu);
	int fail = s->fail_sets > 0;
	if (fail) {
		s->fail_sets--;
	} else if (s->n < NCALLS) {
		snprintf(s->calls[s->n], sizeof(s->calls[0]), "set %s=%s", key, value);
		s->at[s->n++] = mono();
	}
	pthread_mutex_unlock(&s->mu);
	return fail ? -EIO : 0;
}

static int rec_remove(void *ctx, const char *key)
{
	store *s = ctx;
	pthread_mutex_lock(&s->mu);
	if (s->n < NCALLS) {
		snprintf(s->calls[s->n], sizeof(s->calls[0]), "remove %s", key);
		s->at[s->n++] = mono();
	}
	int r = s->remove_result;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void on_log(fastsnap_log_level lvl, const char *msg, void *payload)
{
	store *s = payload;
	if (lvl == FASTSNAP_LOG_WARN) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->warned, sizeof(s->warned), "%s", msg);
		pthread_mutex_unlock(&s->mu);
	}
}

static store st;
static fs_heartbeat_io io = { rec_set, rec_remove, &st };
static fs_logger lg = { on_log, &st };

static void fresh(void)
{
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.mu, NULL);
}

TestSuite(heartbeat, .init = fresh, .timeout = 60);

static int ncalls(void)
{
	pthread_mutex_lock(&st.mu);
	int n = st.n;
	pthread_mutex_unlock(&st.mu);
	return n;
}

/* The unix seconds after "set KEY=" (and the owner, for a run tag). */
static long long beat_value(int i, const char *prefix)
{
	cr_assert(!strncmp(st.calls[i], prefix, strlen(prefix)), "call %d: '%s', want '%s...'", i,
		st.calls[i], prefix);
	return atoll(st.calls[i] + strlen(prefix));
}

Test(heartbeat, clone_key_at_once_even_when_stopped_at_once)
{
	/* a period of an hour: only the first beat can have happened, and the
	 * stop must not wait for the period (the suite's timeout would end it) */
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, NULL, NULL, 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	double t0 = mono();
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_KEEP), 0);
	cr_assert_lt(mono() - t0, 30.0, "the stop waited for the period");
	cr_assert_eq(st.n, 1, "%d calls", st.n);
	long long at = beat_value(0, "set " FS_META_HEARTBEAT "=");
	long long now = (long long)time(NULL);
	cr_assert(at <= now && at >= now - 30, "heartbeat %lld, now %lld: unix seconds", at, now);
}

Test(heartbeat, run_tag_value_and_its_removal)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "image-id", "host.7:42:777", 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	for (double t0 = mono(); ncalls() < 1 && mono() - t0 < 30;)
		usleep(10 * 1000);
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_REMOVE), 0);
	cr_assert_eq(st.n, 2, "%d calls", st.n);
	beat_value(0, "set " FS_META_RUN_PREFIX "image-id=host.7:42:777 ");
	cr_assert_str_eq(st.calls[1], "remove " FS_META_RUN_PREFIX "image-id");
}

Test(heartbeat, run_tag_marked_ended)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "image-id", "h:1:2", 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_ENDED), 0);
	cr_assert_eq(st.n, 2, "%d calls", st.n);
	cr_assert_str_eq(st.calls[1], "set " FS_META_RUN_PREFIX "image-id=h:1:2 " FS_RUN_ENDED);
}

Test(heartbeat, a_clone_key_is_never_marked_ended)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, NULL, NULL, 3600, &lg);
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_ENDED), 0);
	cr_assert_eq(st.n, 1, "%d calls: %s", st.n, st.calls[st.n - 1]);
}

Test(heartbeat, the_stop_returns_the_writes_result)
{
	st.remove_result = -EIO;
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "x", "h:1:2", 3600, &lg);
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_REMOVE), -EIO);
	st.remove_result = -ENOENT;   /* the image is gone: fine */
	hb = fs_heartbeat_start_io(&io, "x", "h:1:2", 3600, &lg);
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_REMOVE), 0);
}

Test(heartbeat, a_beat_every_period_never_faster_and_none_after_the_stop)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "img", "h:1:2", 1, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	/* the first beat at once, then one a second: wait for the fourth */
	for (double t0 = mono(); fs_heartbeat_beats(hb) < 4 && mono() - t0 < 40;)
		usleep(20 * 1000);
	unsigned long beats = fs_heartbeat_beats(hb);
	cr_assert_eq(fs_heartbeat_stop(hb, FS_HB_KEEP), 0);
	cr_assert_geq(beats, 4, "%lu beats in 40 s with a period of 1 s", beats);
	int n = st.n;
	cr_assert_geq(n, (int)beats, "one write per beat");
	for (int i = 0; i < n; i++)
		beat_value(i, "set " FS_META_RUN_PREFIX "img=h:1:2 ");
	/* a loaded machine makes beats late, never early: each at least a
	 * period (less the clock's grain) after the one before */
	for (int i = 1; i < n; i++)
		cr_assert_geq(st.at[i] - st.at[i - 1], 0.95, "beats %d and %d %.3f s apart with a 1 s "
			"period", i - 1, i, st.at[i] - st.at[i - 1]);
	sleep(2);
	cr_assert_eq(ncalls(), n, "written after the stop");
}

Test(heartbeat, a_failed_write_is_logged_not_counted_and_the_next_made)
{
	st.fail_sets = 1;
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, NULL, NULL, 1, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	for (double t0 = mono(); fs_heartbeat_beats(hb) < 1 && mono() - t0 < 30;)
		usleep(20 * 1000);
	unsigned long beats = fs_heartbeat_beats(hb);
	fs_heartbeat_stop(hb, FS_HB_KEEP);
	cr_assert_geq(beats, 1, "no write after the failed one");
	cr_assert_eq(st.n, (int)beats, "a failed write was counted");
	cr_assert(strstr(st.warned, "heartbeat:"), "logged: '%s'", st.warned);
}

Test(heartbeat, stop_of_null_is_ignored)
{
	cr_assert_eq(fs_heartbeat_stop(NULL, FS_HB_REMOVE), 0);
	cr_assert_eq(fs_heartbeat_beats(NULL), 0);
}
