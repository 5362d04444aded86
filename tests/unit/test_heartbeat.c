/*
 * tests/unit/test_heartbeat.c: the heartbeat thread (cleanup/heartbeat.c)
 * on a recording store instead of RBD metadata (fs_heartbeat_start_io):
 * its keys with and without an owner, the first beat at once (also when
 * stopped at once), the run's tag written once, a beat every period, a
 * prompt stop, removal on request, a failed write logged and not counted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cleanup/heartbeat.h"

/* What the heartbeat wrote: every call, in order. */
typedef struct {
	pthread_mutex_t mu;
	char calls[64][160];      /* "set KEY=VALUE" or "remove KEY" */
	int n;
	int fail_sets;            /* the first fail_sets sets fail with -EIO */
	char warned[256];         /* the last WARN line logged */
} store;

static int rec_set(void *ctx, const char *key, const char *value)
{
	store *s = ctx;
	pthread_mutex_lock(&s->mu);
	int fail = s->fail_sets > 0;
	if (fail)
		s->fail_sets--;
	else if (s->n < 64)
		snprintf(s->calls[s->n++], sizeof(s->calls[0]), "set %s=%s", key, value);
	pthread_mutex_unlock(&s->mu);
	return fail ? -5 : 0;
}

static int rec_remove(void *ctx, const char *key)
{
	store *s = ctx;
	pthread_mutex_lock(&s->mu);
	if (s->n < 64)
		snprintf(s->calls[s->n++], sizeof(s->calls[0]), "remove %s", key);
	pthread_mutex_unlock(&s->mu);
	return 0;
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

TestSuite(heartbeat, .init = fresh, .timeout = 30);

/* Count calls starting with prefix. */
static int calls(const char *prefix)
{
	int k = 0;
	pthread_mutex_lock(&st.mu);
	for (int i = 0; i < st.n; i++)
		k += !strncmp(st.calls[i], prefix, strlen(prefix));
	pthread_mutex_unlock(&st.mu);
	return k;
}

Test(heartbeat, clone_key_written_at_once_even_when_stopped_at_once)
{
	/* a period of an hour: only the first beat can have happened, and the
	 * stop must not wait for the period (the suite's timeout would end it) */
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, NULL, NULL, 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	fs_heartbeat_stop(hb, 0);
	cr_assert_eq(st.n, 1);
	cr_assert(!strncmp(st.calls[0], "set " FS_META_HEARTBEAT "=", 4 + strlen(FS_META_HEARTBEAT) + 1),
		"%s", st.calls[0]);
	long long at = atoll(st.calls[0] + 4 + strlen(FS_META_HEARTBEAT) + 1);
	long long now = (long long)time(NULL);
	cr_assert(at <= now && at >= now - 5, "heartbeat %lld, now %lld: unix seconds", at, now);
}

Test(heartbeat, run_keys_and_their_removal)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "host:42:777", "image-id", 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	fs_heartbeat_stop(hb, 1);
	cr_assert_eq(st.n, 4, "%d calls", st.n);
	cr_assert_str_eq(st.calls[0], "set " FS_META_RUN_PREFIX "host:42:777=image-id");
	cr_assert(!strncmp(st.calls[1], "set " FS_META_HEARTBEAT ".host:42:777=",
		strlen("set " FS_META_HEARTBEAT ".host:42:777=")), "%s", st.calls[1]);
	cr_assert_str_eq(st.calls[2], "remove " FS_META_HEARTBEAT ".host:42:777");
	cr_assert_str_eq(st.calls[3], "remove " FS_META_RUN_PREFIX "host:42:777");
}

Test(heartbeat, beats_every_period_and_tags_the_run_once)
{
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, "h:1:2", "img", 1, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	/* the first beat at once, then one a second: wait for the third */
	for (int i = 0; i < 100 && fs_heartbeat_beats(hb) < 3; i++)
		usleep(50 * 1000);
	unsigned long beats = fs_heartbeat_beats(hb);
	fs_heartbeat_stop(hb, 0);
	cr_assert_geq(beats, 3, "%lu beats in 5 s with a period of 1 s", beats);
	cr_assert_eq(calls("set " FS_META_RUN_PREFIX), 1, "the run's tag is written once");
	cr_assert_geq(calls("set " FS_META_HEARTBEAT "."), (int)beats, "one write per beat");
	cr_assert_eq(calls("remove "), 0, "nothing removed without remove");
}

Test(heartbeat, failed_write_is_logged_not_counted)
{
	st.fail_sets = 1;
	fs_heartbeat *hb = fs_heartbeat_start_io(&io, NULL, NULL, 3600, &lg);
	cr_assert_not_null(hb, "%s", fastsnap_error_last());
	fs_heartbeat_stop(hb, 0);
	cr_assert_eq(st.n, 0);
	cr_assert(strstr(st.warned, "heartbeat:"), "logged: '%s'", st.warned);
	/* and the next heartbeat's first write goes through */
	hb = fs_heartbeat_start_io(&io, NULL, NULL, 3600, &lg);
	cr_assert_eq(fs_heartbeat_beats(hb) <= 1, 1);
	fs_heartbeat_stop(hb, 0);
	cr_assert_eq(st.n, 1);
}

Test(heartbeat, stop_of_null_is_ignored)
{
	fs_heartbeat_stop(NULL, 1);
	cr_assert_eq(fs_heartbeat_beats(NULL), 0);
}
