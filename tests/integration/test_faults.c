/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_faults.c: issue 17's faults seen from the command
 * against the dev cluster: a Glance that accepts the connection and never
 * answers ends at the call deadline set in the environment, with an error
 * naming it; a mon that cannot be reached gives a clear error within the
 * connect timeout (client_mount_timeout, 15 s), not a hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"
#include "fault_server.h"

TestSuite(faults, .timeout = 120);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The error text of a failed --json run: the JSON object's, else stderr. */
static const char *error_text(const cJSON *j, const char *err)
{
	const char *m = fst_jstr(j, "error");
	if (!m)
		m = fst_jstr(j, "message");
	return m ? m : (err ? err : "");
}

Test(faults, silent_glance_ends_at_the_call_deadline)
{
	fs_fault_server srv;
	cr_assert_eq(fs_test_fault_server_start(&srv), 0, "fault server did not start");
	char tag[96];
	fs_test_unique_tag(tag, sizeof(tag), "clihang");
	char *url = fs_test_fault_url(&srv, "hang", tag);
	char env[512];
	snprintf(env, sizeof(env), "FASTSNAP_GLANCE_URL=%s FASTSNAP_CALL_DEADLINE_S=3", url);
	cJSON *j = NULL;
	char *err = NULL;
	double t0 = now();
	int st = fst_cli_json(&j, &err, env, "stores");
	double dt = now() - t0;
	const char *m = error_text(j, err);
	cr_assert_eq(st, 1, "exit %d: %s", st, m);
	cr_assert(strstr(m, "Glance GET /v2/info/stores: no answer within the 3 s call deadline"),
		"%s", m);
	cr_assert(dt >= 2.9 && dt < 20.0, "took %.1f s", dt);
	cJSON_Delete(j);
	free(err);
	free(url);
	fs_test_fault_server_stop(&srv);
}

Test(faults, unreachable_mon_is_a_clear_error)
{
	/* the dev ceph.conf with the mon moved to a closed port */
	char path[] = "/tmp/fst-badmon-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	char *out = NULL;
	int st = fst_sh(&out, NULL, "sed -E 's/^([[:space:]]*mon[ _]host[[:space:]]*=).*/\\1 "
		"v2:127.0.0.1:1/' '%s' > '%s' && grep -c '127.0.0.1:1$' '%s'",
		fst_env("CEPH_CONF"), path, path);
	cr_assert_eq(st, 0, "could not write %s", path);
	free(out);
	char env[256];
	snprintf(env, sizeof(env), "CEPH_CONF=%s", path);
	cJSON *j = NULL;
	char *err = NULL;
	double t0 = now();
	st = fst_cli_json(&j, &err, env, "stores");
	double dt = now() - t0;
	const char *m = error_text(j, err);
	cr_assert_eq(st, 1, "exit %d: %s", st, m);
	cr_assert(strstr(m, "Ceph: cannot connect"), "%s", m);
	cr_assert(strstr(m, path), "the message names the config: %s", m);
	cr_assert(dt < 40.0, "took %.1f s", dt);
	cJSON_Delete(j);
	free(err);
	unlink(path);
}
