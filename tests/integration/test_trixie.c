/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_trixie.c: what only the trixie stack has (Glance 30
 * with show_multiple_locations = False, a real Keystone, Ceph Reef): the
 * seed's case through POST /v2/images/{id}/locations with a service token
 * ([service_user]), what happens without one, a user token that expires
 * during a run, application credentials and a wrong password, and the fsid
 * from stores/detail for a volume-backed disk. On the bookworm stack these
 * tests skip, naming the reason (tests/run counts the skips).
 *
 * fastsnap runs here as an operator's compute node would: the member user's
 * OS_* variables, Glance's endpoint from the catalog, and (when said)
 * FASTSNAP_CONFIG with [service_user]. The suite's own checks use the
 * admin header set of tests/support/trixie-identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms, images;
static char ks_dir[64];

static void setup(void)
{
	const char *s = getenv("FASTSNAP_DEV_STACK");
	if (s && !strcmp(s, "trixie"))
		fst_pools_open(&admin, &vms, &images);
}

static void teardown(void)
{
	if (ks_dir[0])
		fst_sh(NULL, NULL, "%s/keystone-extra stop %s; rm -rf %s",
			fst_env("FASTSNAP_TEST_SUPPORT"), ks_dir, ks_dir);
	ks_dir[0] = '\0';
	const char *s = getenv("FASTSNAP_DEV_STACK");
	if (s && !strcmp(s, "trixie"))
		fst_pools_close(admin, vms, images);
}

TestSuite(trixie, .init = setup, .fini = teardown, .timeout = 300);

#define NEED_TRIXIE(what) FST_NEED_STACK("trixie", what)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Environment assignments that make the CLI authenticate like a compute
 * node: no identity headers, the member user against `auth_url` (NULL: the
 * stack's Keystone), and FASTSNAP_CONFIG = `config` ("" for none). */
static void member_env(char *buf, size_t n, const char *auth_url, const char *config)
{
	snprintf(buf, n, "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= OS_AUTH_URL=%s "
		"OS_USERNAME=%s OS_PASSWORD=%s OS_PROJECT_NAME=%s OS_USER_DOMAIN_NAME=Default "
		"OS_PROJECT_DOMAIN_NAME=Default FASTSNAP_CONFIG=%s",
		auth_url ? auth_url : fst_env("FASTSNAP_DEV_KEYSTONE_URL"),
		fst_env("FASTSNAP_DEV_MEMBER_USERNAME"), fst_env("FASTSNAP_DEV_MEMBER_PASSWORD"),
		fst_env("FASTSNAP_DEV_MEMBER_PROJECT"), config);
}

static int all(uint64_t o) { (void)o; return 1; }

typedef fst_nova_case seed;

/* The seed's case: base image in `fast` (the default store is `local`), a
 * disk cloned from it in `vms` as Nova boots. */
static void seed_make(seed *s, uint64_t size)
{
	fst_nova_case_make(s, vms, images, "fst-trxdisk", 16 * MiB, 21, size, 23, all);
}

static void seed_free(seed *s) { fst_nova_case_free(s, vms); }

/* GET through Glance with the member's token (header set of trixie-identity). */
static int member_glance(char **body, const char *method, const char *path)
{
	char *out = NULL;
	char tmp[] = "/tmp/fst-trx-XXXXXX";
	int fd = mkstemp(tmp);
	close(fd);
	fst_sh(&out, NULL, "curl -s -o %s -w '%%{http_code}' -X %s -H \"$FASTSNAP_DEV_MEMBER_HEADERS\" "
		"'%s%s'", tmp, method, fst_env("FASTSNAP_GLANCE_URL"), path);
	int st = atoi(out ? out : "0");
	free(out);
	if (body) {
		char *b = NULL;
		fst_sh(&b, NULL, "cat %s", tmp);
		*body = b;
	}
	unlink(tmp);
	return st;
}

static void check_active_and_data(const char *id, const char *sha)
{
	char *st = fst_glance_status(id);
	cr_assert_str_eq(st, "active", "image %s", id);
	free(st);
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, sha, "image %s: data read back through Glance differs from the disk", id);
}

Test(trixie, glance30_seed_direct_via_post_with_service_token)
{
	NEED_TRIXIE("Glance 30's POST /locations, the service role and Keystone");
	seed s;
	seed_make(&s, 64 * MiB);
	char env[2048];
	member_env(env, sizeof(env), NULL, fst_env("FASTSNAP_DEV_CONFIG_FILE"));
	char *name = fst_unique("fst-trxsnap");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s",
		s.disk, name, s.base);
	cr_assert_eq(st, 0, "snapshot failed (%d): %s", st, err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "reason: %s", fst_jstr(j, "reason"));
	cr_assert_str_eq(fst_jstr(j, "store"), "fast");
	cr_assert(strstr(fst_jstr(j, "reason"), "fsid from stores/detail"), "reason: %s",
		fst_jstr(j, "reason"));
	char *id = strdup(fst_jstr(j, "image_id"));
	char want[256];
	snprintf(want, sizeof(want), "rbd://%s/images/%s/snap", fst_env("FASTSNAP_DEV_FSID"), id);
	cr_assert_str_eq(fst_jstr(j, "location"), want);
	cJSON_Delete(j);
	check_active_and_data(id, s.sha);

	/* show_multiple_locations = False: the image shows no location (GET
	 * /locations needs the service role in the user's own token)... */
	char path[256], *body = NULL;
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	cr_assert_eq(member_glance(&body, "GET", path), 200);
	cr_assert_null(strstr(body, "rbd://"), "Glance shows a location: %s", body);
	free(body);
	/* ...and the data is Glance's rbd layout: images/<id>@snap, protected. */
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(images, id, &snaps), 1);
	cr_assert_str_eq(snaps, "snap\n");
	free(snaps);

	/* Glance hashes the image in the background (do_secure_hash): wait for
	 * os_hash_value, which must be the disk's sha512. */
	double t0 = now_s();
	char *hash = NULL;
	/* bounded by time, not by a count of tries: Glance 30 hashes in the
	 * background, slowly on a loaded machine */
	while (!hash && now_s() - t0 < 180) {
		snprintf(path, sizeof(path), "/v2/images/%s", id);
		cr_assert_eq(fst_glance(&body, "GET", path, NULL), 200);
		cJSON *img = cJSON_Parse(body);
		const char *h = fst_jstr(img, "os_hash_value");
		if (h)
			hash = strdup(h);
		cJSON_Delete(img);
		free(body);
		if (!hash)
			usleep(100000);
	}
	cr_assert_not_null(hash, "no os_hash_value after 180 s");
	cr_assert_str_eq(hash, s.sha, "Glance's os_hash_value is not the disk's sha512");
	cr_log_info("Glance 30 background hash of 64 MiB: %.1f s after active", now_s() - t0);
	free(hash);

	/* The owner deletes it; Glance's store removes images/<id>. */
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	cr_assert_eq(member_glance(NULL, "DELETE", path), 204);
	for (double t1 = now_s(); fst_rbd_exists(images, id) && now_s() - t1 < 120;)
		usleep(100000);
	cr_assert_not(fst_rbd_exists(images, id), "images/%s left behind after the delete", id);
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0, "a snapshot was left on the disk");
	free(id);
	free(err);
	free(name);
	seed_free(&s);
}

Test(trixie, glance30_without_service_token_streams_and_names_service_user)
{
	NEED_TRIXIE("Glance 30's 403s for callers without the service role");
	seed s;
	seed_make(&s, 24 * MiB);
	char env[2048];
	/* 1. the member, no [service_user]: stores/detail is 403, so the store's
	 * type and fsid are unknown (no location is visible either) */
	member_env(env, sizeof(env), NULL, "");
	char *name = fst_unique("fst-trxnosvc");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s",
		s.disk, name, s.base);
	cr_assert_eq(st, 0, "snapshot failed (%d): %s", st, err);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	const char *r = fst_jstr(j, "reason");
	cr_assert(strstr(r, "stores/detail is not readable") && strstr(r, "[service_user]"),
		"reason: %s", r);
	check_active_and_data(fst_jstr(j, "image_id"), s.sha);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);

	/* 2. the project's admin, no service token: stores/detail is readable
	 * (admin), so the direct path is tried; the POST answers 403 and so does
	 * the PATCH (show_multiple_locations = False): the disk is streamed and
	 * the reason says to set [service_user]. */
	char env2[2048];
	snprintf(env2, sizeof(env2), "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= OS_AUTH_URL=%s "
		"OS_USERNAME=%s OS_PASSWORD=%s OS_PROJECT_NAME=%s FASTSNAP_CONFIG=",
		fst_env("FASTSNAP_DEV_KEYSTONE_URL"), fst_env("FASTSNAP_DEV_ADMIN_USERNAME"),
		fst_env("FASTSNAP_DEV_ADMIN_PASSWORD"), fst_env("FASTSNAP_DEV_ADMIN_PROJECT"));
	st = fst_cli_json(&j, &err, env2, "snapshot --disk vms/%s --name %s --base-image-ref %s",
		s.disk, name, s.base);
	cr_assert_eq(st, 0, "snapshot failed (%d): %s", st, err);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	r = fst_jstr(j, "reason");
	cr_assert(strstr(r, "POST") && strstr(r, "403") && strstr(r, "[service_user]") &&
		strstr(r, "streamed instead"), "reason: %s", r);
	check_active_and_data(fst_jstr(j, "image_id"), s.sha);
	/* nothing of the direct attempt is left */
	cr_assert_eq(fst_rbd_snap_count(vms, s.disk, NULL), 0);
	if (fst_rbd_exists(images, fst_jstr(j, "image_id")))
		cr_assert_not(fst_rbd_parent(images, fst_jstr(j, "image_id"), NULL, NULL));
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	free(name);
	seed_free(&s);
}

/* The freeze command of keystone_token_expires_mid_run: it asks the short-
 * lived Keystone for a token of its own (issued after the run's, so it
 * expires no earlier) and waits until Keystone refuses it, then leaves a
 * mark. So the run's first token has really expired when the run goes on,
 * however slowly the run got here, and no fixed sleep can end too early on
 * a loaded machine. Bounded (240 s): the run's --hook-timeout is 300.
 * $1 the auth request body (a 0600 file), $2 the Keystone /v3 URL, $3 the
 * mark. */
static const char wait_expiry_sh[] =
	"#!/bin/sh\n"
	"tok=$(curl -sS -m 30 -o /dev/null -D - -H 'Content-Type: application/json' -d @\"$1\" "
	"\"$2/auth/tokens\" | tr -d '\\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')\n"
	"[ -n \"$tok\" ] || { echo 'no token from Keystone' >&2; exit 1; }\n"
	"i=0\n"
	"while [ $i -lt 480 ]; do\n"
	"  code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H \"X-Auth-Token: $tok\" "
	"-H \"X-Subject-Token: $tok\" \"$2/auth/tokens\")\n"
	"  case $code in 401|404) echo \"expired after $((i / 2)) s\" > \"$3\"; exit 0 ;; esac\n"
	"  sleep 0.5; i=$((i + 1))\n"
	"done\n"
	"echo 'the token did not expire in 240 s' >&2; exit 1\n";

Test(trixie, keystone_token_expires_mid_run)
{
	NEED_TRIXIE("a real Keystone whose tokens expire");
	/* A second Keystone on the same database and keys issues 30 s tokens;
	 * the run's freeze command waits until a token issued after the run's
	 * own has expired (wait_expiry_sh), so the token the run got at the
	 * start has expired when it streams and registers. 30 s, not less: the
	 * renewed token must outlive any one call of the rest of the run on a
	 * loaded 2-core machine (with 10 s, a renewed token reached Glance
	 * already expired under load: GET /v2/info/stores 401 twice). No
	 * [service_user]: a valid service token would make Glance accept an
	 * expired user token. */
	const int expiration = 30;
	strcpy(ks_dir, "/tmp/fst-ks-XXXXXX");
	cr_assert_not_null(mkdtemp(ks_dir));
	char *url = NULL, *err = NULL;
	int st = fst_sh(&url, &err, "%s/keystone-extra start %s --expiration %d",
		fst_env("FASTSNAP_TEST_SUPPORT"), ks_dir, expiration);
	cr_assert_eq(st, 0, "keystone-extra: %s", err);
	url[strcspn(url, "\n")] = '\0';
	free(err);
	/* the hook's files, in ks_dir (removed by the teardown) */
	char script[128], body[128], mark[128];
	snprintf(script, sizeof(script), "%s/wait-expiry", ks_dir);
	snprintf(body, sizeof(body), "%s/auth.json", ks_dir);
	snprintf(mark, sizeof(mark), "%s/expired", ks_dir);
	FILE *f = fopen(script, "w");
	cr_assert_not_null(f);
	fputs(wait_expiry_sh, f);
	fclose(f);
	cr_assert_eq(chmod(script, 0700), 0);
	cr_assert_eq(fst_sh(NULL, NULL, "umask 077; python3 -c 'import json, sys\n"
		"print(json.dumps({\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": "
		"{\"user\": {\"name\": sys.argv[1], \"domain\": {\"name\": \"Default\"}, \"password\": "
		"sys.argv[2]}}}, \"scope\": {\"project\": {\"name\": sys.argv[3], \"domain\": {\"name\": "
		"\"Default\"}}}}}))' \"$FASTSNAP_DEV_MEMBER_USERNAME\" \"$FASTSNAP_DEV_MEMBER_PASSWORD\" "
		"\"$FASTSNAP_DEV_MEMBER_PROJECT\" > %s", body), 0);
	seed s;
	seed_make(&s, 16 * MiB);
	char env[2048];
	member_env(env, sizeof(env), url, "");
	char *name = fst_unique("fst-trxexp");
	cJSON *j = NULL;
	double t0 = now_s();
	st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--hook-timeout 300 --freeze-cmd '%s %s %s %s'", s.disk, name, s.base, script, body, url,
		mark);
	cr_assert_eq(st, 0, "a snapshot spanning the token's expiry failed (%d): %s", st, err);
	/* the run did span the expiry: its hook saw a later token refused */
	char *seen = NULL;
	cr_assert_eq(fst_sh(&seen, NULL, "cat %s", mark), 0, "the freeze command left no mark");
	cr_log_info("keystone_token_expires_mid_run: hook's token %s", seen);
	free(seen);
	cr_assert_geq(now_s() - t0, (double)expiration);
	check_active_and_data(fst_jstr(j, "image_id"), s.sha);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	free(name);
	free(url);
	seed_free(&s);
}

Test(trixie, keystone_application_credential_and_wrong_password)
{
	NEED_TRIXIE("a real Keystone");
	char env[2048];
	snprintf(env, sizeof(env), "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= FASTSNAP_CONFIG= "
		"OS_AUTH_URL=%s OS_APPLICATION_CREDENTIAL_ID=%s OS_APPLICATION_CREDENTIAL_SECRET=%s",
		fst_env("FASTSNAP_DEV_KEYSTONE_URL"), fst_env("FASTSNAP_DEV_APP_CRED_ID"),
		fst_env("FASTSNAP_DEV_APP_CRED_SECRET"));
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "stores");
	cr_assert_eq(st, 0, "stores with an application credential failed (%d): %s", st, err);
	char *txt = cJSON_PrintUnformatted(j);
	cr_assert(txt && strstr(txt, "\"fast\"") && strstr(txt, "\"local\""), "stores: %s", txt);
	free(txt);
	cJSON_Delete(j);
	free(err);

	char env2[2048];
	snprintf(env2, sizeof(env2), "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= FASTSNAP_CONFIG= "
		"OS_AUTH_URL=%s OS_USERNAME=%s OS_PASSWORD=not-the-password OS_PROJECT_NAME=%s",
		fst_env("FASTSNAP_DEV_KEYSTONE_URL"), fst_env("FASTSNAP_DEV_MEMBER_USERNAME"),
		fst_env("FASTSNAP_DEV_MEMBER_PROJECT"));
	char *out = NULL;
	st = fst_sh(&out, &err, "%s %s stores", env2, fst_cli());
	cr_assert_neq(st, 0, "a wrong password was accepted: %s", out);
	cr_assert(strstr(err, "Keystone") && strstr(err, "401"), "error: %s", err);
	cr_assert_null(strstr(err, "not-the-password"), "the password was printed: %s", err);
	free(out);
	free(err);
}

Test(trixie, glance30_volume_backed_fsid_from_stores_detail)
{
	NEED_TRIXIE("Glance 30's fsid in stores/detail");
	/* A volume-backed instance: no base image, [glance] store = fast. The
	 * cluster can only be known from stores/detail (no rbd:// location is
	 * visible anywhere in Glance). */
	char *disk = fst_unique("fst-trxvol");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 20 * MiB, 1, 31, all, sha);
	char conf[] = "/tmp/fst-trxconf-XXXXXX";
	int fd = mkstemp(conf);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(fst_sh(NULL, NULL, "{ cat %s; printf '\\n[glance]\\nstore = fast\\n'; } > %s",
		fst_env("FASTSNAP_DEV_CONFIG_FILE"), conf), 0);
	char env[2048];
	member_env(env, sizeof(env), NULL, conf);
	char *name = fst_unique("fst-trxvolsnap");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s", disk, name);
	unlink(conf);
	cr_assert_eq(st, 0, "snapshot failed (%d): %s", st, err);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "reason: %s", fst_jstr(j, "reason"));
	cr_assert(strstr(fst_jstr(j, "reason"), "fsid from stores/detail"), "reason: %s",
		fst_jstr(j, "reason"));
	check_active_and_data(fst_jstr(j, "image_id"), sha);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	free(name);
	fst_rbd_remove_all(vms, disk);
	free(disk);
}

/* ---- issue 17: no secret in any output ---------------------------------
 * Every output of verbose runs against the real Keystone (stdout, stderr,
 * with and without --json, -v and -vv, successes and failures) is searched
 * for the member's password, the service user's password (from the config
 * file), the application credential's secret, a token the test issued and
 * handed over as OS_AUTH_TOKEN, a bogus token, and any Keystone token at all
 * (Fernet tokens begin "gAAAAA"; the test checks that the stack's do). */

/* A token for the member user, issued by the test itself. */
static char *member_token(void)
{
	char *tok = NULL;
	int st = fst_sh(&tok, NULL, "python3 -c 'import json, sys\n"
		"print(json.dumps({\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": "
		"{\"user\": {\"name\": sys.argv[1], \"domain\": {\"name\": \"Default\"}, \"password\": "
		"sys.argv[2]}}}, \"scope\": {\"project\": {\"name\": sys.argv[3], \"domain\": {\"name\": "
		"\"Default\"}}}}}))' \"$FASTSNAP_DEV_MEMBER_USERNAME\" \"$FASTSNAP_DEV_MEMBER_PASSWORD\" "
		"\"$FASTSNAP_DEV_MEMBER_PROJECT\" | curl -sS -m 30 -o /dev/null -D - -H 'Content-Type: "
		"application/json' \"$FASTSNAP_DEV_KEYSTONE_URL/auth/tokens\" -d @- | tr -d '\\r' | "
		"sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p' | tr -d '\\n'");
	cr_assert_eq(st, 0);
	cr_assert(tok && strlen(tok) > 20, "Keystone gave no token: %s", tok);
	return tok;
}

typedef struct {
	const char *what;
	const char *value;
} secret;

/* Run `fastsnap <args>` with `env`; search stdout and stderr for every
 * secret. Returns the exit status; *stdout_copy gets stdout (caller frees). */
static int run_and_search(const char *label, const char *env, const char *args,
	const secret *sec, size_t n, char **stdout_copy, int *outputs)
{
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s %s %s", env, fst_cli(), args);
	cr_assert(out && err, "[%s] no output captured", label);
	const char *streams[2] = { out, err };
	const char *names[2] = { "stdout", "stderr" };
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < n; i++)
			cr_assert_null(strstr(streams[k], sec[i].value), "[%s] %s shows %s:\n%s", label,
				names[k], sec[i].what, streams[k]);
		cr_assert_null(strstr(streams[k], "gAAAAA"), "[%s] %s shows a Keystone token:\n%s",
			label, names[k], streams[k]);
	}
	*outputs += 2;
	/* a verbose run logs (proof that the verbose output was searched) */
	cr_assert(strstr(err, ": debug: ") || strstr(err, ": info: "), "[%s] no verbose log on "
		"stderr:\n%s", label, err);
	if (stdout_copy)
		*stdout_copy = out;
	else
		free(out);
	free(err);
	return st;
}

Test(trixie, no_secret_in_any_output_of_verbose_runs)
{
	NEED_TRIXIE("a real Keystone");
	seed s;
	seed_make(&s, 16 * MiB);
	char *token = member_token();
	cr_assert(!strncmp(token, "gAAAAA", 6), "the stack's tokens are not Fernet tokens (%.8s...): "
		"the \"gAAAAA\" search would find none", token);
	const secret sec[] = {
		{ "the member's password", fst_env("FASTSNAP_DEV_MEMBER_PASSWORD") },
		{ "the service user's password", fst_env("FASTSNAP_DEV_SERVICE_PASSWORD") },
		{ "the application credential's secret", fst_env("FASTSNAP_DEV_APP_CRED_SECRET") },
		{ "the token given as OS_AUTH_TOKEN", token },
		{ "a bogus token", "fst-bogus-token-4f1c9a" },
	};
	const size_t n = sizeof(sec) / sizeof(sec[0]);
	/* the config file does hold the service user's password */
	cr_assert_eq(fst_sh(NULL, NULL, "grep -qF \"$FASTSNAP_DEV_SERVICE_PASSWORD\" %s",
		fst_env("FASTSNAP_DEV_CONFIG_FILE")), 0, "the service user's password is not in %s",
		fst_env("FASTSNAP_DEV_CONFIG_FILE"));
	int outputs = 0, runs = 0;
	char pw_env[2048], app_env[2048], tok_env[2048], bad_env[2048], wrong_env[2048];
	member_env(pw_env, sizeof(pw_env), NULL, fst_env("FASTSNAP_DEV_CONFIG_FILE"));
	snprintf(app_env, sizeof(app_env), "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= "
		"FASTSNAP_CONFIG= OS_AUTH_URL=%s OS_APPLICATION_CREDENTIAL_ID=%s "
		"OS_APPLICATION_CREDENTIAL_SECRET=%s", fst_env("FASTSNAP_DEV_KEYSTONE_URL"),
		fst_env("FASTSNAP_DEV_APP_CRED_ID"), fst_env("FASTSNAP_DEV_APP_CRED_SECRET"));
	snprintf(tok_env, sizeof(tok_env), "FASTSNAP_GLANCE_URL=%s FASTSNAP_GLANCE_HEADERS= "
		"FASTSNAP_CONFIG= OS_AUTH_TOKEN=%s", fst_env("FASTSNAP_DEV_GLANCE_ENDPOINT"), token);
	snprintf(bad_env, sizeof(bad_env), "FASTSNAP_GLANCE_URL=%s FASTSNAP_GLANCE_HEADERS= "
		"FASTSNAP_CONFIG= OS_AUTH_TOKEN=fst-bogus-token-4f1c9a",
		fst_env("FASTSNAP_DEV_GLANCE_ENDPOINT"));
	snprintf(wrong_env, sizeof(wrong_env), "FASTSNAP_GLANCE_URL= FASTSNAP_GLANCE_HEADERS= "
		"FASTSNAP_CONFIG=%s OS_AUTH_URL=%s OS_USERNAME=%s OS_PASSWORD=%s-x OS_PROJECT_NAME=%s",
		fst_env("FASTSNAP_DEV_CONFIG_FILE"), fst_env("FASTSNAP_DEV_KEYSTONE_URL"),
		fst_env("FASTSNAP_DEV_MEMBER_USERNAME"), fst_env("FASTSNAP_DEV_MEMBER_PASSWORD"),
		fst_env("FASTSNAP_DEV_MEMBER_PROJECT"));
	char args[1024], *out = NULL;
	char *n1 = fst_unique("fst-trxsecret");

	/* 1. password + [service_user]: the direct path (service token), -vv --json */
	snprintf(args, sizeof(args), "-vv --json snapshot --disk vms/%s --name %s "
		"--base-image-ref %s", s.disk, n1, s.base);
	int st = run_and_search("password, direct, -vv --json", pw_env, args, sec, n, &out, &outputs);
	runs++;
	cr_assert_eq(st, 0, "the snapshot failed: %s", out);
	cJSON *j = cJSON_Parse(out);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "%s", out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out);
	/* 2. the same, streamed, -v without --json (the human summary) */
	snprintf(args, sizeof(args), "-v snapshot --disk vms/%s --name %s --store local", s.disk, n1);
	st = run_and_search("password, stream, -v", pw_env, args, sec, n, &out, &outputs);
	runs++;
	cr_assert_eq(st, 0, "the streamed snapshot failed: %s", out);
	char *ids = fst_glance_ids_named(n1);
	for (char *p = ids, *e; p && *p; p = e ? e + 1 : p + strlen(p)) {
		e = strchr(p, '\n');
		if (e)
			*e = '\0';
		fst_glance_delete(p);
	}
	free(ids);
	free(out);
	/* 3. application credential: stores, and a failed snapshot */
	st = run_and_search("app credential, stores, -vv --json", app_env, "-vv --json stores", sec, n,
		NULL, &outputs);
	runs++;
	cr_assert_eq(st, 0, "stores with the application credential failed");
	snprintf(args, sizeof(args), "-vv --json snapshot --disk vms/%s --name %s --store no-such-store",
		s.disk, n1);
	st = run_and_search("app credential, failed snapshot, -vv --json", app_env, args, sec, n, NULL,
		&outputs);
	runs++;
	cr_assert_eq(st, 1, "an unknown store did not fail the run (%d)", st);
	/* 4. a token handed over (OS_AUTH_TOKEN): stores, and a failed snapshot */
	st = run_and_search("token, stores, -vv --json", tok_env, "-vv --json stores", sec, n, NULL,
		&outputs);
	runs++;
	cr_assert_eq(st, 0, "stores with OS_AUTH_TOKEN failed");
	snprintf(args, sizeof(args), "-vv snapshot --disk vms/no-such-disk-%d --name %s", (int)getpid(),
		n1);
	st = run_and_search("token, failed snapshot, -vv", tok_env, args, sec, n, NULL, &outputs);
	runs++;
	cr_assert_eq(st, 1, "a missing disk did not fail the run (%d)", st);
	/* 5. failures of authentication itself: a bogus token, a wrong password */
	st = run_and_search("bogus token, -vv --json", bad_env, "-vv --json stores", sec, n, NULL,
		&outputs);
	runs++;
	cr_assert_eq(st, 1, "a bogus token was accepted");
	st = run_and_search("wrong password, -vv --json", wrong_env, "-vv --json stores", sec, n, NULL,
		&outputs);
	runs++;
	cr_assert_eq(st, 1, "a wrong password was accepted");
	cr_log_info("secrets: %d verbose runs, %d outputs searched for %zu secrets and Keystone "
		"tokens: none found", runs, outputs, n);
	fprintf(stderr, "secrets: %d verbose runs, %d outputs searched for %zu secrets and Keystone "
		"tokens: none found\n", runs, outputs, n);
	free(n1);
	free(token);
	seed_free(&s);
}
