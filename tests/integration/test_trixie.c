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

typedef struct {
	char *base;
	char *disk;
	char sha[129];
} seed;

/* The seed's case: base image in `fast` (the default store is `local`), a
 * disk cloned from it in `vms` as Nova boots. */
static void seed_make(seed *s, uint64_t size)
{
	s->base = fst_base_image("fast", 16 * MiB, 21);
	s->disk = fst_unique("fst-trxdisk");
	fst_nova_disk(vms, images, s->base, s->disk, size, 23, all, s->sha);
}

static void seed_free(seed *s)
{
	fst_rbd_remove_all(vms, s->disk);
	fst_glance_delete(s->base);
	free(s->base);
	free(s->disk);
}

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
	for (int i = 0; i < 600 && !hash; i++) {
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
	cr_assert_not_null(hash, "no os_hash_value after 60 s");
	cr_assert_str_eq(hash, s.sha, "Glance's os_hash_value is not the disk's sha512");
	cr_log_info("Glance 30 background hash of 64 MiB: %.1f s after active", now_s() - t0);
	free(hash);

	/* The owner deletes it; Glance's store removes images/<id>. */
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	cr_assert_eq(member_glance(NULL, "DELETE", path), 204);
	for (int i = 0; i < 100 && fst_rbd_exists(images, id); i++)
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

Test(trixie, keystone_token_expires_mid_run)
{
	NEED_TRIXIE("a real Keystone whose tokens expire");
	/* A second Keystone on the same database and keys issues 10 s tokens;
	 * the run sleeps 13 s in its freeze command, so the token it got at the
	 * start has expired when it streams and registers. No [service_user]: a
	 * valid service token would make Glance accept an expired user token. */
	strcpy(ks_dir, "/tmp/fst-ks-XXXXXX");
	cr_assert_not_null(mkdtemp(ks_dir));
	char *url = NULL, *err = NULL;
	int st = fst_sh(&url, &err, "%s/keystone-extra start %s --expiration 10",
		fst_env("FASTSNAP_TEST_SUPPORT"), ks_dir);
	cr_assert_eq(st, 0, "keystone-extra: %s", err);
	url[strcspn(url, "\n")] = '\0';
	free(err);
	seed s;
	seed_make(&s, 16 * MiB);
	char env[2048];
	member_env(env, sizeof(env), url, "");
	char *name = fst_unique("fst-trxexp");
	cJSON *j = NULL;
	double t0 = now_s();
	st = fst_cli_json(&j, &err, env, "snapshot --disk vms/%s --name %s --base-image-ref %s "
		"--freeze-cmd 'sleep 13'", s.disk, name, s.base);
	cr_assert_eq(st, 0, "a snapshot spanning the token's expiry failed (%d): %s", st, err);
	cr_assert_geq(now_s() - t0, 13.0);
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
