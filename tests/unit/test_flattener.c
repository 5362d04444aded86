/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_flattener.c: the flatten helper's client
 * (clients/flattener.c) against small shell helpers that speak its
 * protocol, for what a real helper and cluster cannot be made to do on
 * cue: go silent mid-flatten, die without an answer, answer an error, be
 * canceled. The real helper against a paused OSD is
 * ceph_faults::osd_paused_mid_flatten (integration).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "clients/flattener.h"

static char path[64];

/* A helper script: `body` runs after it has read its request line. */
static const char *helper(const char *body)
{
	snprintf(path, sizeof(path), "/tmp/fst-flattener-%d-XXXXXX", (int)getpid());
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0700);
	return path;
}

static void cleanup(void)
{
	if (*path)
		unlink(path);
	*path = '\0';
}

TestSuite(flattener, .fini = cleanup, .timeout = 30);

static const fs_ceph_params params = { "/etc/ceph/ceph.conf", "fastsnap", NULL, 1, 1000 };

typedef struct {
	uint64_t done, total;
	int calls, cancel_after;
} seen;

static int cb(uint64_t done, uint64_t total, void *ctx)
{
	seen *s = ctx;
	s->done = done;
	s->total = total;
	s->calls++;
	return 0;
}

static int canceled(void *ctx)
{
	seen *s = ctx;
	return s->cancel_after && s->calls >= s->cancel_after;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start `body` as the helper and flatten p/i; returns the result. */
static int run(const char *body, seen *s, double *took)
{
	fs_flattener *f = NULL;
	cr_assert_eq(fs_flattener_start_with(&f, helper(body), &params, NULL), 0);
	cr_assert_not_null(f);
	double t0 = now();
	int rc = fs_flattener_run(f, "images", "img-1", 5, cb, canceled, s);
	if (took)
		*took = now() - t0;
	fs_flattener_free(f);
	return rc;
}

Test(flattener, relays_progress_and_done)
{
	seen s = { 0 };
	/* the request names the pool, the image and the heartbeat period */
	int rc = run("echo ready; read req; [ \"$req\" = \"$(printf 'flatten\\timages\\timg-1\\t5')\" ] "
		"|| { echo \"error -3 bad request: $req\"; exit 1; }; "
		"echo 'progress 4194304 8388608'; echo 'progress 8388608 8388608'; echo done", &s, NULL);
	cr_assert_eq(rc, 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.calls, 2);
	cr_assert_eq(s.done, 8388608u);
	cr_assert_eq(s.total, 8388608u);
}

Test(flattener, passes_the_connection_on_its_command_line)
{
	seen s = { 0 };
	int rc = run("echo ready; read req; case \"$*\" in *'--user fastsnap'*'--op-timeout 1'*"
		"'--conf /etc/ceph/ceph.conf'*) echo done ;; *) echo \"error -3 args: $*\" ;; esac", &s, NULL);
	cr_assert_eq(rc, 0, "%s", fastsnap_error_last());
}

Test(flattener, a_silent_helper_is_stopped_after_the_op_timeout_plus_2_s)
{
	seen s = { 0 };
	double took;
	int rc = run("echo ready; read req; echo 'progress 4194304 41943040'; exec sleep 60", &s, &took);
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "%d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "flatten of images/img-1 timed out"), "%s",
		fastsnap_error_last());
	cr_assert_geq(took, 2.9, "stopped after %.1f s", took);
	cr_assert_lt(took, 6, "stopped after %.1f s", took);
	cr_assert_eq(s.calls, 1);
}

Test(flattener, its_error_is_the_runs)
{
	seen s = { 0 };
	int rc = run("echo ready; read req; echo 'error -9 Ceph: cannot open images/img-1: No such "
		"file or directory'; exit 1", &s, NULL);
	cr_assert_eq(rc, -9);
	cr_assert_str_eq(fastsnap_error_last(), "Ceph: cannot open images/img-1: No such file or "
		"directory");
}

Test(flattener, a_helper_that_dies_is_an_error_not_a_hang)
{
	seen s = { 0 };
	int rc = run("echo ready; read req; kill -9 $$", &s, NULL);
	cr_assert_eq(rc, FASTSNAP_ECEPH);
	cr_assert(strstr(fastsnap_error_last(), "ended without an answer"), "%s", fastsnap_error_last());
}

Test(flattener, a_helper_that_never_connects_is_bounded)
{
	seen s = { 0 };
	double took;
	/* connect bound: the connect timeout (1 s) plus the stall bound (3 s) */
	int rc = run("exec sleep 60", &s, &took);
	cr_assert_eq(rc, FASTSNAP_ETIMEOUT, "%s", fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "did not connect"), "%s", fastsnap_error_last());
	cr_assert_lt(took, 8, "took %.1f s", took);
}

/* The direct path and gc then flatten in their own process. */
Test(flattener, a_helper_that_exits_at_once_is_not_ready)
{
	fs_flattener *f = NULL;
	cr_assert_eq(fs_flattener_start_with(&f, helper("exit 127"), &params, NULL), 0);
	cr_assert_not_null(f);
	cr_assert_eq(fs_flattener_wait_ready(f), FASTSNAP_ECEPH);
	cr_assert(strstr(fastsnap_error_last(), "ended before it was ready"), "%s",
		fastsnap_error_last());
	cr_assert_eq(fs_flattener_wait_ready(f), FASTSNAP_ECEPH, "asked again");
	fs_flattener_free(f);
}

Test(flattener, cancel_sends_sigterm_and_the_helper_stops_cleanly)
{
	seen s = { .cancel_after = 2 };
	double took;
	/* the helper stops at its next object on SIGTERM and answers */
	int rc = run("echo ready; read req; stop=0; trap 'stop=1' TERM; i=0; "
		"while [ $i -lt 100 ]; do i=$((i+1)); echo \"progress $i 100\"; "
		"[ $stop = 1 ] && { echo 'error -7 flatten of images/img-1 canceled'; exit 1; }; "
		"sleep 0.05; done; echo done", &s, &took);
	cr_assert_eq(rc, FASTSNAP_ECANCELED, "%d: %s", rc, fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "canceled"), "%s", fastsnap_error_last());
	cr_assert_lt(s.calls, 60, "the helper was not stopped (%d progress reports)", s.calls);
	cr_assert_lt(took, 3, "took %.1f s", took);
}

Test(flattener, no_helper_means_in_process)
{
	fs_flattener *f = (fs_flattener *)1;
	cr_assert_eq(fs_flattener_start_with(&f, NULL, &params, NULL), 0);
	cr_assert_null(f);
	cr_assert_eq(fs_flattener_start_with(&f, "", &params, NULL), 0);
	cr_assert_null(f);
	cr_assert_eq(fs_flattener_start_with(&f, "none", &params, NULL), 0);
	cr_assert_null(f);
	cr_assert_eq(fs_flattener_start_with(&f, "/nonexistent/fastsnap-flatten", &params, NULL), 0);
	cr_assert_null(f);
}

/* The helper's environment: what librados and the process need, nothing
 * secret, nothing else of the caller's. */
Test(flattener_env, keeps_what_it_needs_and_no_secret)
{
	const char *keep[] = { "PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC",
		"TMPDIR=/tmp", "CEPH_CONF=/etc/ceph/ceph.conf", "CEPH_ARGS=--id fastsnap",
		"LD_LIBRARY_PATH=/opt/lib", "ASAN_OPTIONS=detect_leaks=1", "VALGRIND_LIB=/x" };
	const char *drop[] = { "OS_PASSWORD=pw", "OS_AUTH_TOKEN=t", "OS_TOKEN=t",
		"OS_APPLICATION_CREDENTIAL_SECRET=s", "OS_USERNAME=u", "OS_AUTH_URL=http://k",
		"FASTSNAP_GLANCE_HEADERS=X-Auth-Token: t", "FASTSNAP_SERVICE_PASSWORD=pw",
		"FASTSNAP_CONFIG=/etc/fastsnap.conf", "AWS_SECRET_ACCESS_KEY=k", "PATHX=/bin",
		"CEPH_CONFX=1", "LC_", "SSH_AUTH_SOCK=/tmp/a" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		cr_assert(fs_flattener_env_keeps(keep[i]), "dropped %s", keep[i]);
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		cr_assert_not(fs_flattener_env_keeps(drop[i]), "kept %s", drop[i]);
}
