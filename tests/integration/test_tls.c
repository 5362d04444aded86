/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_tls.c: TLS end to end (issue 3). Each test runs
 * the fastsnap command against an nginx HTTPS front of the dev Glance
 * (tests/support/tls-proxy: a throwaway CA, a server certificate for
 * 127.0.0.1 and a client certificate): verification is on by default,
 * --os-cacert / OS_CACERT / [glance] cafile make it pass, --insecure and
 * [glance] insecure skip it, the client-certificate server needs OS_CERT /
 * OS_KEY or [glance] certfile / keyfile, errors are one line naming the
 * TLS problem, and no private key material is ever printed. One snapshot
 * is streamed through mutual TLS and checked byte for byte.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

/* One proxy per test (Criterion runs every test in its own process). */
static struct {
	char dir[512];
	char url[128];
	char mtls_url[128];
	char ca[600];
	char cert[600];
	char key[600];
	char access_log[600];
	/* what a test created, removed by tls_down even when it failed */
	char disk[128];
	char image_id[64];
	char cfg[600];  /* inside dir */
} T;

static void set_field(char *dst, size_t cap, const char *line, const char *key)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) == 0 && line[kl] == '=')
		snprintf(dst, cap, "%.*s", (int)strcspn(line + kl + 1, "\n"), line + kl + 1);
}

static void tls_up(void)
{
	fst_require_env();
	memset(&T, 0, sizeof(T));
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s/tls-proxy start --owner %d", fst_env("FASTSNAP_TEST_SUPPORT"),
		(int)getpid());
	if (st != 0)
		cr_assert_fail("tls-proxy start failed (%d): %s", st, err);
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		set_field(T.dir, sizeof(T.dir), l, "DIR");
		set_field(T.url, sizeof(T.url), l, "URL");
		set_field(T.mtls_url, sizeof(T.mtls_url), l, "MTLS_URL");
		set_field(T.ca, sizeof(T.ca), l, "CA");
		set_field(T.cert, sizeof(T.cert), l, "CLIENT_CERT");
		set_field(T.key, sizeof(T.key), l, "CLIENT_KEY");
		set_field(T.access_log, sizeof(T.access_log), l, "ACCESS_LOG");
	}
	free(out);
	free(err);
	cr_assert(T.dir[0] && T.url[0] && T.mtls_url[0] && T.ca[0] && T.cert[0] && T.key[0],
		"tls-proxy did not print all its fields");
	cr_assert(strncmp(T.url, "https://127.0.0.1:", 18) == 0, "URL=%s", T.url);
}

static void tls_down(void)
{
	/* Runs after a failed assertion too. The proxy goes first (its dir
	 * holds the keys and the config files); then what the test made. */
	if (T.dir[0])
		fst_sh(NULL, NULL, "%s/tls-proxy stop '%s'", getenv("FASTSNAP_TEST_SUPPORT"), T.dir);
	if (T.disk[0])
		fst_sh(NULL, NULL, "rbd -c \"$CEPH_CONF\" --id admin --keyring \"$FASTSNAP_DEV_ADMIN_KEYRING\" "
			"snap purge vms/%s >/dev/null 2>&1; rbd -c \"$CEPH_CONF\" --id admin --keyring "
			"\"$FASTSNAP_DEV_ADMIN_KEYRING\" rm vms/%s >/dev/null 2>&1", T.disk, T.disk);
	if (T.image_id[0])
		fst_glance_delete(T.image_id);
	if (T.disk[0]) {
		/* an image made before the test learnt its id has the disk's name */
		char *ids = fst_glance_ids_named(T.disk);
		for (char *save = NULL, *id = strtok_r(ids, "\n", &save); id;
		     id = strtok_r(NULL, "\n", &save))
			fst_glance_delete(id);
		free(ids);
	}
}

TestSuite(tls, .init = tls_up, .fini = tls_down, .timeout = 180);

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Fails when `s` holds private key material: a PEM key header, or any
 * base64 line of the proxy's private keys. */
static void assert_no_key_material(const char *s, const char *what)
{
	cr_assert_null(strstr(s, "PRIVATE KEY"), "%s shows a PEM private key", what);
	static const char *const keys[] = { "ca.key", "server.key", "client.key" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char path[700];
		snprintf(path, sizeof(path), "%s/%s", T.dir, keys[k]);
		char *pem = read_file(path);
		cr_assert(strstr(pem, "PRIVATE KEY"), "%s is not a PEM key", path);
		for (char *save = NULL, *l = strtok_r(pem, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (l[0] == '-' || strlen(l) < 16)
				continue;
			cr_assert_null(strstr(s, l), "%s shows a line of %s", what, keys[k]);
		}
		free(pem);
	}
}

/* Run the CLI with a clean TLS environment plus `env` (assignments), then
 * check its output for key material. Returns the exit status. */
static int cli(char **out, char **err, const char *env, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int cli(char **out, char **err, const char *env, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	int st = fst_sh(out, err, "env -u OS_CACERT -u OS_CERT -u OS_KEY -u FASTSNAP_CONFIG %s %s %s",
		env ? env : "", fst_cli(), args);
	assert_no_key_material(*out, "stdout");
	assert_no_key_material(*err, "stderr");
	return st;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The error is exactly one line "fastsnap: ..." containing each needle. */
static void assert_one_line_error(const char *err, const char *n1, const char *n2)
{
	cr_assert_eq(count_lines(err), 1, "expected one line, got: %s", err);
	cr_assert(strncmp(err, "fastsnap: ", 10) == 0, "%s", err);
	cr_assert(strstr(err, n1), "'%s' not in: %s", n1, err);
	if (n2)
		cr_assert(strstr(err, n2), "'%s' not in: %s", n2, err);
}

/* `stores --json` succeeded and lists the dev cluster's stores (three; four with the edge). */
static void assert_stores(int st, const char *out, const char *err)
{
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "not JSON: %s", out);
	cr_assert_str_eq(fst_jstr(j, "fsid"), fst_env("FASTSNAP_DEV_FSID"));
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "stores")), 3 + fst_has_edge(), "%s", out);
	cJSON_Delete(j);
}

/* Number of access-log lines of the proxy containing all of the needles. */
static int access_count(const char *n1, const char *n2)
{
	char *log = read_file(T.access_log);
	int n = 0;
	for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strstr(l, n1) && (!n2 || strstr(l, n2)))
			n++;
	free(log);
	return n;
}

static void write_config(const char *body)
{
	snprintf(T.cfg, sizeof(T.cfg), "%s/fastsnap.conf", T.dir);
	FILE *f = fopen(T.cfg, "w");
	cr_assert_not_null(f);
	fputs(body, f);
	fclose(f);
}

Test(tls, verification_is_on_by_default)
{
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--glance-url %s stores", T.url);
	cr_assert_eq(st, 1, "a self-signed server must be refused by default (exit %d): %s%s", st, out, err);
	cr_assert_str_empty(out);
	assert_one_line_error(err, "certificate", T.url);
	free(out); free(err);
	/* the same with --json: still exit 1, the message on stderr */
	st = cli(&out, &err, NULL, "--glance-url %s --json stores", T.url);
	cr_assert_eq(st, 1);
	assert_one_line_error(err, "certificate", T.url);
	free(out); free(err);
	/* nothing reached Glance: the handshake failed before any request */
	cr_assert_eq(access_count("/v2/", NULL), 0);
}

Test(tls, host_name_is_verified)
{
	/* The CA is trusted, but the certificate is for IP 127.0.0.1 only. */
	char host_url[160];
	snprintf(host_url, sizeof(host_url), "https://localhost:%s", strrchr(T.url, ':') + 1);
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--glance-url %s --os-cacert %s stores", host_url, T.ca);
	cr_assert_eq(st, 1, "a certificate for another host must be refused: %s", out);
	assert_one_line_error(err, "localhost", host_url);
	cr_assert(strstr(err, "certificate") || strstr(err, "host name"), "%s", err);
	free(out); free(err);
}

Test(tls, ca_bundle_from_flag_env_and_config)
{
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--glance-url %s --os-cacert %s --json stores", T.url, T.ca);
	assert_stores(st, out, err);
	free(out); free(err);

	char env[700];
	snprintf(env, sizeof(env), "OS_CACERT='%s'", T.ca);
	st = cli(&out, &err, env, "--glance-url %s --json stores", T.url);
	assert_stores(st, out, err);
	free(out); free(err);

	/* the flag beats the environment */
	st = cli(&out, &err, "OS_CACERT=/nonexistent/ca.pem",
		"--glance-url %s --os-cacert %s --json stores", T.url, T.ca);
	assert_stores(st, out, err);
	free(out); free(err);

	/* [glance] cafile */
	char cfg[800];
	snprintf(cfg, sizeof(cfg), "[glance]\ncafile = %s\n", T.ca);
	write_config(cfg);
	st = cli(&out, &err, NULL, "--config %s --glance-url %s --json stores", T.cfg, T.url);
	assert_stores(st, out, err);
	free(out); free(err);

	/* a CA file that does not exist: one line naming it */
	st = cli(&out, &err, NULL, "--glance-url %s --os-cacert /nonexistent/ca.pem stores", T.url);
	cr_assert_eq(st, 1);
	assert_one_line_error(err, "/nonexistent/ca.pem", T.url);
	free(out); free(err);

	/* every request went over TLS */
	cr_assert_geq(access_count("GET /v2/info/stores ", "ssl=TLSv1."), 4);
}

Test(tls, insecure_flag_and_config_skip_verification)
{
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--glance-url %s --insecure --json stores", T.url);
	assert_stores(st, out, err);
	free(out); free(err);

	write_config("[glance]\ninsecure = true\n");
	st = cli(&out, &err, NULL, "--config %s --glance-url %s --json stores", T.cfg, T.url);
	assert_stores(st, out, err);
	free(out); free(err);

	write_config("[glance]\ninsecure = false\n");
	st = cli(&out, &err, NULL, "--config %s --glance-url %s stores", T.cfg, T.url);
	cr_assert_eq(st, 1, "insecure = false must verify");
	assert_one_line_error(err, "certificate", T.url);
	free(out); free(err);
}

Test(tls, client_certificate_required_and_missing)
{
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--glance-url %s --os-cacert %s stores", T.mtls_url, T.ca);
	cr_assert_eq(st, 1, "the server requires a client certificate: %s", out);
	cr_assert_str_empty(out);
	/* nginx answers 400 "No required SSL certificate was sent" */
	assert_one_line_error(err, "400", "certificate");
	free(out); free(err);
	cr_assert_eq(access_count("GET /v2/info/stores ", "\" 400 "), 1);
	cr_assert_eq(access_count("\" 200 ", NULL), 0);
}

Test(tls, client_certificate_from_env)
{
	char env[2000];
	snprintf(env, sizeof(env), "OS_CACERT='%s' OS_CERT='%s' OS_KEY='%s'", T.ca, T.cert, T.key);
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, env, "--glance-url %s --json stores", T.mtls_url);
	assert_stores(st, out, err);
	free(out); free(err);
	/* verbose: details logged, still no key material (checked by cli) */
	st = cli(&out, &err, env, "-v --glance-url %s stores", T.mtls_url);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert(strstr(err, "GET "), "no debug log with -v: %s", err);
	free(out); free(err);
	cr_assert_geq(access_count("verify=SUCCESS", "client=\"CN=fastsnap-test-client\""), 2);
}

Test(tls, client_certificate_from_flags)
{
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--os-cacert %s --os-cert %s --os-key %s --glance-url %s --json stores",
		T.ca, T.cert, T.key, T.mtls_url);
	assert_stores(st, out, err);
	free(out); free(err);
	cr_assert_geq(access_count("verify=SUCCESS", "client=\"CN=fastsnap-test-client\""), 1);
	/* --insecure is never silent */
	st = cli(&out, &err, NULL, "--insecure --glance-url %s --json stores", T.url);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert(strstr(err, "verification is off"), "no warning for --insecure: %s", err);
	free(out); free(err);
}

Test(tls, client_certificate_from_config)
{
	char cfg[2000];
	snprintf(cfg, sizeof(cfg), "[glance]\ncafile = %s\ncertfile = %s\nkeyfile = %s\n", T.ca, T.cert,
		T.key);
	write_config(cfg);
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, NULL, "--config %s --glance-url %s --json stores", T.cfg, T.mtls_url);
	assert_stores(st, out, err);
	free(out); free(err);
	cr_assert_geq(access_count("verify=SUCCESS", "client=\"CN=fastsnap-test-client\""), 1);
}

Test(tls, wrong_client_key_fails_without_leaking_it)
{
	/* a key that does not belong to the certificate (the server's) */
	char env[2000];
	snprintf(env, sizeof(env), "OS_CACERT='%s' OS_CERT='%s' OS_KEY='%s/server.key'", T.ca, T.cert,
		T.dir);
	char *out = NULL, *err = NULL;
	int st = cli(&out, &err, env, "-v --glance-url %s stores", T.mtls_url);
	cr_assert_eq(st, 1, "a mismatched key must fail: %s", out);
	/* -v adds debug lines; the error itself is the last line */
	const char *last = err;
	for (const char *p = err; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	cr_assert(strstr(last, "key"), "%s", err);
	cr_assert(strstr(last, T.mtls_url), "%s", err);
	free(out); free(err);
	cr_assert_eq(access_count("/v2/", NULL), 0);
}

Test(tls, snapshot_streams_over_mutual_tls)
{
	char *name = fst_unique("fst-tls");
	snprintf(T.disk, sizeof(T.disk), "%s", name);
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err,
		"rbd -c \"$CEPH_CONF\" --id admin --keyring \"$FASTSNAP_DEV_ADMIN_KEYRING\" create vms/%s "
		"--size 8M && rbd -c \"$CEPH_CONF\" --id admin --keyring \"$FASTSNAP_DEV_ADMIN_KEYRING\" "
		"bench --io-type write --io-size 1M --io-total 4M vms/%s >/dev/null", name, name);
	cr_assert_eq(st, 0, "creating vms/%s: %s", name, err);
	free(out); free(err);

	char env[2000];
	snprintf(env, sizeof(env), "OS_CERT='%s' OS_KEY='%s'", T.cert, T.key);
	st = cli(&out, &err, env,
		"--glance-url %s --os-cacert %s --json snapshot --disk vms/%s --name %s --store local",
		T.mtls_url, T.ca, name, name);
	cJSON *j = cJSON_Parse(out);
	const char *id = j ? fst_jstr(j, "image_id") : NULL;
	if (id)
		snprintf(T.image_id, sizeof(T.image_id), "%s", id);
	cr_assert_eq(st, 0, "snapshot over TLS failed: %s %s", out, err);
	cr_assert_not_null(id, "%s", out);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cr_assert_str_eq(fst_jstr(j, "store"), "local");
	cr_assert_eq(cJSON_GetObjectItem(j, "size")->valuedouble, 8.0 * 1024 * 1024);

	/* The image is active and holds exactly the disk's bytes. */
	char *status = fst_glance_status(id);
	cr_assert_str_eq(status, "active");
	free(status);
	rados_t c = fst_admin_rados();
	rados_ioctx_t io = fst_ioctx(c, "vms");
	char disk_sha[129], img_sha[129];
	fst_rbd_sha512(io, name, NULL, disk_sha);
	rados_ioctx_destroy(io);
	rados_shutdown(c);
	fst_glance_download_sha512(id, img_sha);
	cr_assert_str_eq(img_sha, disk_sha);
	cr_assert_str_eq(fst_jstr(j, "sha512"), disk_sha);

	/* The upload went through the client-certificate TLS server. */
	char put[160];
	snprintf(put, sizeof(put), "\"PUT /v2/images/%s/file HTTP/1.1\" 204 ", id);
	cr_assert_eq(access_count(put, "verify=SUCCESS"), 1, "no TLS upload in %s", T.access_log);
	cr_assert_eq(access_count("verify=SUCCESS", NULL), access_count("/v2/", NULL),
		"a request went through without the client certificate");
	cJSON_Delete(j);
	free(out); free(err);
	free(name);
}
