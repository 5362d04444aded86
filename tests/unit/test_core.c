/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_core.c: the error model, step names and test hook,
 * owner tags, and the undo stack (first error kept, reverse order).
 */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>

#include <criterion/criterion.h>

#include "core/common.h"
#include "core/settings.h"
#include "core/steps.h"
#include "cleanup/undo.h"

Test(errors, strerror_names_every_code)
{
	for (int c = FASTSNAP_EFORMAT; c <= 0; c++)
		cr_assert_str_neq(fastsnap_strerror(c), "unknown error", "code %d has no name", c);
	cr_assert_str_eq(fastsnap_strerror(-999), "unknown error");
	cr_assert_str_eq(fastsnap_strerror(FASTSNAP_ENOTFOUND), "not found");
}

Test(errors, thread_local_message_and_code)
{
	fastsnap_error_clear();
	cr_assert_str_eq(fastsnap_error_last(), "");
	cr_assert_eq(fs_err(FASTSNAP_ECONFLICT, "image %s busy", "x"), FASTSNAP_ECONFLICT);
	cr_assert_str_eq(fastsnap_error_last(), "image x busy");
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_ECONFLICT);
	fs_err_append("clean-up: %d", 2);
	cr_assert_str_eq(fastsnap_error_last(), "image x busy; clean-up: 2");
	fs_err_prefix("snapshot");
	cr_assert_str_eq(fastsnap_error_last(), "snapshot: image x busy; clean-up: 2");
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_ECONFLICT);
}

Test(errors, long_messages_are_truncated_not_overflowed)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fs_err(FASTSNAP_ERROR, "%s", big);
	fs_err_prefix("%s", "p");
	fs_err_append("%s", big);
	cr_assert_lt(strlen(fastsnap_error_last()), 2048);
}

Test(errors, errno_and_http_mapping)
{
	cr_assert_eq(fs_errno_to_code(-ENOENT), FASTSNAP_ENOTFOUND);
	cr_assert_eq(fs_errno_to_code(-EPERM), FASTSNAP_EFORBIDDEN);
	cr_assert_eq(fs_errno_to_code(-EACCES), FASTSNAP_EFORBIDDEN);
	cr_assert_eq(fs_errno_to_code(-EBUSY), FASTSNAP_ECONFLICT);
	cr_assert_eq(fs_errno_to_code(-ETIMEDOUT), FASTSNAP_ETIMEOUT);
	cr_assert_eq(fs_errno_to_code(-EXDEV), FASTSNAP_ECEPH);
	cr_assert_eq(fs_http_status_to_code(400), FASTSNAP_EBADREQUEST);
	cr_assert_eq(fs_http_status_to_code(401), FASTSNAP_EUNAUTHORIZED);
	cr_assert_eq(fs_http_status_to_code(403), FASTSNAP_EFORBIDDEN);
	cr_assert_eq(fs_http_status_to_code(404), FASTSNAP_ENOTFOUND);
	cr_assert_eq(fs_http_status_to_code(409), FASTSNAP_ECONFLICT);
	cr_assert_eq(fs_http_status_to_code(413), FASTSNAP_ETOOLARGE);
	cr_assert_eq(fs_http_status_to_code(415), FASTSNAP_EBADREQUEST);
	cr_assert_eq(fs_http_status_to_code(500), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_http_status_to_code(503), FASTSNAP_EUNAVAILABLE);
	cr_assert_eq(fs_http_status_to_code(204), FASTSNAP_OK);
}

Test(steps, names_are_stable_and_complete)
{
	const char *want[] = { "resolve", "image-create", "tmp-snap", "protect", "clone", "flatten",
		"tmp-remove", "snap", "location", "stream", "final-check" };
	cr_assert_eq(sizeof(want) / sizeof(want[0]), FASTSNAP_STEP__COUNT);
	for (int i = 0; i < FASTSNAP_STEP__COUNT; i++)
		cr_assert_str_eq(fastsnap_step_name((fastsnap_step)i), want[i]);
	cr_assert_null(fastsnap_step_name(FASTSNAP_STEP__COUNT));
	cr_assert_null(fastsnap_step_name((fastsnap_step)-1));
}

#ifdef FASTSNAP_TEST_HOOKS
/* The hooks exist only in a test build (CMake FASTSNAP_TEST_HOOKS). */
Test(steps, fail_hook_fires_only_at_its_step)
{
	fs_settings s;
	memset(&s, 0, sizeof(s));
	s.test_fail_after = "clone";
	cr_assert_eq(fs_test_hook_after(&s, FASTSNAP_STEP_SNAP), 0);
	cr_assert_eq(fs_test_hook_after(&s, FASTSNAP_STEP_CLONE), FASTSNAP_ECANCELED);
	cr_assert(strstr(fastsnap_error_last(), "'clone'"));
	s.test_fail_after = NULL;
	cr_assert_eq(fs_test_hook_after(&s, FASTSNAP_STEP_CLONE), 0);
}

Test(steps, hooks_come_from_the_environment_only_with_use_env)
{
	setenv("FASTSNAP_TEST_FAIL_AFTER", "snap", 1);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_null(s.test_fail_after);
	fs_settings_free(&s);
	o.use_env = 1;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.test_fail_after, "snap");
	fs_settings_free(&s);
}

Test(steps, kill_during_fires_at_its_fraction, .signal = SIGKILL)
{
	fs_settings s;
	memset(&s, 0, sizeof(s));
	s.test_kill_during = "flatten:0.5";
	fs_test_hook_during(&s, FASTSNAP_STEP_STREAM, 60, 100);   /* another step */
	fs_test_hook_during(&s, FASTSNAP_STEP_FLATTEN, 40, 100);  /* not yet */
	fs_test_hook_during(&s, FASTSNAP_STEP_FLATTEN, 50, 100);  /* here */
	cr_assert_fail("the kill-during hook did not fire");
}
#endif

static int cancel_at_flatten(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	(void)done; (void)total; (void)payload;
	return step == FASTSNAP_STEP_FLATTEN;
}

Test(steps, reporter_times_steps_and_cancels)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.progress_cb = cancel_at_flatten;
	fs_logger lg = { NULL, NULL };
	fs_steps st;
	fs_steps_init(&st, &o, &lg, NULL);
	cr_assert_eq(fs_step_begin(&st, FASTSNAP_STEP_CLONE), 0);
	cr_assert_eq(fs_step_end(&st, FASTSNAP_STEP_CLONE), 0);
	cr_assert_geq(st.seconds[FASTSNAP_STEP_CLONE], 0.0);
	cr_assert_not(fs_steps_canceled(&st));
	cr_assert_eq(fs_step_progress(&st, FASTSNAP_STEP_FLATTEN, 4 << 20, 8 << 20), FASTSNAP_ECANCELED);
	cr_assert(strstr(fastsnap_error_last(), "'flatten'"), "%s", fastsnap_error_last());
	cr_assert(fs_steps_canceled(&st));
	/* Once canceled, every later step fails at once. */
	cr_assert_eq(fs_step_begin(&st, FASTSNAP_STEP_SNAP), FASTSNAP_ECANCELED);
}

Test(errors, state_capture_and_restore)
{
	fs_err(FASTSNAP_ELOCATION_REJECTED, "first: %s", "kept");
	fs_error_state st;
	fs_error_state_capture(&st);
	cr_assert_eq(fastsnap_error_last_code(), 0);
	cr_assert_str_eq(fastsnap_error_last(), "");
	fs_err(FASTSNAP_ECEPH, "a clean-up error");
	cr_assert_eq(fs_error_state_restore(&st), FASTSNAP_ELOCATION_REJECTED);
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_ELOCATION_REJECTED);
	cr_assert_str_eq(fastsnap_error_last(), "first: kept");
	/* Formatting the current message into itself is well defined. */
	fs_err(FASTSNAP_ECEPH, "prefix: %s", fastsnap_error_last());
	cr_assert_str_eq(fastsnap_error_last(), "prefix: first: kept");
}

Test(owner, tag_and_tmp_snapshot_name)
{
	fs_owner o;
	fs_owner_self(&o);
	cr_assert_eq(o.pid, (long)getpid());
	cr_assert_gt(o.start, 0ULL, "process start time not read from /proc/self/stat");
	cr_assert_gt(strlen(o.host), 0);
	/* the host part: this machine's id (or full name), then its PID
	 * namespace: unique per machine, nothing cut at a dot */
	char id[256] = "", ns[64];
	FILE *f = fopen("/etc/machine-id", "r");
	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
		id[strcspn(id, "\n")] = '\0';
		for (const char *p = id; *p; p++)
			if (!isxdigit((unsigned char)*p))
				id[0] = '\0';
	}
	if (!id[0]) {   /* no machine id (a chroot's empty file): the full host name */
		gethostname(id, sizeof(id));
		for (char *p = id; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
				*p = '-';
	}
	struct stat st;
	cr_assert_eq(stat("/proc/self/ns/pid", &st), 0);
	snprintf(ns, sizeof(ns), ".%llu", (unsigned long long)st.st_ino);
	cr_assert_eq(strncmp(o.host, id, strlen(id)), 0, "host %s is not this machine's %s", o.host, id);
	cr_assert_str_eq(o.host + strlen(id), ns, "host %s does not end with the PID namespace", o.host);
	for (const char *p = o.host; *p; p++)
		cr_assert(isalnum((unsigned char)*p) || *p == '-' || *p == '.', "host %s", o.host);
	char *n = fs_owner_tmp_snap_name(&o, "0c1d");
	char want[512];
	snprintf(want, sizeof(want), "fastsnap-0c1d-%s-%ld-%llu", o.host, o.pid, o.start);
	cr_assert_str_eq(n, want);
	free(n);
	char *t = fs_owner_format(&o);
	snprintf(want, sizeof(want), "%s:%ld:%llu", o.host, o.pid, o.start);
	cr_assert_str_eq(t, want);
	free(t);
}

static char trace[256];

static int undo_ok(void *arg)
{
	strcat(trace, arg);
	return 0;
}

static int undo_fail(void *arg)
{
	strcat(trace, arg);
	return fs_err(FASTSNAP_ECEPH, "cannot remove %s", (char *)arg);
}

/* Every entry owns its argument: ASan's leak check proves it is freed. */
static int push(fs_undo *u, int (*fn)(void *), const char *tag, const char *what)
{
	return fs_undo_push(u, fn, strdup(tag), free, "%s", what);
}

Test(undo, runs_in_reverse_and_keeps_first_error)
{
	trace[0] = '\0';
	fs_undo u = FS_UNDO_INIT;
	cr_assert_eq(push(&u, undo_ok, "1", "delete image"), 0);
	int ix = push(&u, undo_fail, "2", "remove snapshot");
	cr_assert_eq(push(&u, undo_ok, "3", "remove clone"), 2);
	cr_assert_eq(push(&u, undo_ok, "4", "forgotten"), 3);
	fs_undo_forget(&u, 3);
	cr_assert_eq(ix, 1);
	fs_err(FASTSNAP_ELOCATION_REJECTED, "Glance rejected the location");
	cr_assert_eq(fs_undo_run(&u), 1);
	cr_assert_str_eq(trace, "321");
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_ELOCATION_REJECTED);
	cr_assert_str_eq(fastsnap_error_last(), "Glance rejected the location; clean-up failed: "
		"remove snapshot: cannot remove 2; what is left is marked as this run's: fastsnap gc "
		"removes it");
	/* A second run does nothing: every entry is done. */
	trace[0] = '\0';
	cr_assert_eq(fs_undo_run(&u), 0);
	cr_assert_str_eq(trace, "");
	fs_undo_free(&u);
}

Test(undo, partial_run_from_mark)
{
	trace[0] = '\0';
	fs_undo u = FS_UNDO_INIT;
	push(&u, undo_ok, "a", "a");
	size_t mark = u.n;
	push(&u, undo_ok, "b", "b");
	push(&u, undo_fail, "c", "c");
	fs_err(FASTSNAP_EFORBIDDEN, "refused");
	cr_assert_eq(fs_undo_run_from(&u, mark), 1);
	cr_assert_str_eq(trace, "cb");
	cr_assert_eq(fastsnap_error_last_code(), FASTSNAP_EFORBIDDEN);
	cr_assert_str_eq(fastsnap_error_last(), "refused; clean-up failed: c: "
		"cannot remove c; what is left is marked as this run's: fastsnap gc removes it");
	fs_undo_run(&u);
	cr_assert_str_eq(trace, "cba");
	fs_undo_free(&u);
}
