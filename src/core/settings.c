/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/settings.c: resolves an engine's settings. Each value comes from,
 * first match wins: the caller's fastsnap_engine_opts field (non-NULL), the
 * environment (only when opts->use_env; an empty variable counts as unset),
 * the nova.conf-style config file (opts->config_file, else FASTSNAP_CONFIG
 * when use_env), a built-in default. Glance headers are the caller's plus
 * the environment's (both, caller's first), each validated. Values of
 * headers are never put in messages; names that look secret are redacted.
 * See docs/configuration.md for the table.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/header.h"
#include "core/opts.h"
#include "core/secret.h"
#include "core/settings.h"

#define FS_DEFAULT_CEPH_USER "admin"
#define FS_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define FS_DEFAULT_LOW_SPEED_TIME_S 60L
#define FS_DEFAULT_NUM_RETRIES 3
#define FS_DEFAULT_CLONE_DEPTH_CAP 5L
#define FS_DEFAULT_CEPH_OP_TIMEOUT_S 120L
#define FS_DEFAULT_RETRY_BASE_MS 1000L
#define FS_DEFAULT_HEARTBEAT_S 5L
#define FS_DEFAULT_CALL_DEADLINE_S 120L
#define FS_DEFAULT_GLANCE_CACHE_S 30L

void fs_settings_free(fs_settings *s)
{
	if (!s)
		return;
	char **strs[] = {
		&s->ceph_conf, &s->ceph_user, &s->keyring, &s->images_rbd_pool,
		&s->glance_url, &s->os_token, &s->glance_store, &s->glance_copy_to,
		&s->os_auth_url, &s->os_username, &s->os_password, &s->os_user_domain_name,
		&s->os_project_name, &s->os_project_id, &s->os_project_domain_name,
		&s->os_application_credential_id, &s->os_application_credential_secret,
		&s->os_interface, &s->os_region_name, &s->ca_file, &s->client_cert, &s->client_key,
		&s->test_fail_after, &s->test_kill_after, &s->test_kill_during, &s->snapshot_image_format, &s->test_run_during,
		&s->flatten_helper,
#define SU_FIELD(name, auth_types) &s->su.name,
		FS_SERVICE_USER_FIELDS(SU_FIELD)
#undef SU_FIELD
	};
	/* tokens, passwords and secrets are wiped (every string, to miss none) */
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		fs_secret_free(*strs[i]);
		*strs[i] = NULL;
	}
	fs_secret_strv_free(&s->glance_headers);
	memset(s, 0, sizeof(*s));
}

/* ---- headers ---- */

/* Validate hdr[0..len) and append it as "Name: value". `where` prefixes
 * messages ("glance header #2", "FASTSNAP_GLANCE_HEADERS item 1"). */
static int add_header_n(fs_settings *s, const char *hdr, size_t len, const char *where)
{
	size_t nlen, vlen;
	const char *v;
	int rc = fs_header_check(hdr, len, where, &nlen, &v, &vlen);
	if (rc < 0)
		return rc;
	char *norm = fs_asprintf("%.*s: %.*s", (int)nlen, hdr, (int)vlen, v);
	if (!norm || fs_strv_push(&s->glance_headers, norm) < 0) {
		free(norm);
		return fs_err(FASTSNAP_ENOMEM, "out of memory adding a header");
	}
	free(norm);
	return 0;
}

int fs_settings_add_header(fs_settings *s, const char *hdr)
{
	if (!hdr)
		return fs_err(FASTSNAP_EINVAL, "glance header: NULL");
	return add_header_n(s, hdr, strlen(hdr), "glance header");
}

/* 'Name: value|Name: value': split on '|', trim, skip empty items. */
static int add_env_headers(fs_settings *s, const char *env)
{
	char *copy = fs_strdup(env);
	if (!copy)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	int rc = 0, item = 0;
	char *p = copy;
	for (;;) {
		char *bar = strchr(p, '|');
		if (bar)
			*bar = '\0';
		char *t = fs_trim(p);
		item++;
		if (*t) {
			char where[64];
			snprintf(where, sizeof(where), "FASTSNAP_GLANCE_HEADERS item %d", item);
			rc = add_header_n(s, t, strlen(t), where);
			if (rc)
				break;
		}
		if (!bar)
			break;
		p = bar + 1;
	}
	free(copy);
	return rc;
}

/* ---- value picking ---- */

static const char *fs_env(const fastsnap_engine_opts *o, const char *name)
{
	if (!o->use_env)
		return NULL;
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* opts > env > config > default; copies into *dst. */
static int pick(char **dst, const fastsnap_engine_opts *o, const char *opt, const char *env,
	const char *cfg, const char *def)
{
	/* An empty value counts as unset at every level. */
	const char *v = opt && *opt ? opt : NULL;
	if (!v && env)
		v = fs_env(o, env);
	if (!v && cfg && *cfg)
		v = cfg;
	if (!v)
		v = def;
	if (!v)
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
}

/* Parse an environment integer in [min, max]; 1 if set, 0 if unset. */
static int env_long(long *out, const fastsnap_engine_opts *o, const char *name, long min, long max)
{
	const char *v = fs_env(o, name);
	if (!v)
		return 0;
	char *end = NULL;
	errno = 0;
	long x = strtol(v, &end, 10);
	while (end && isspace((unsigned char)*end))
		end++;
	if (errno || end == v || *end || x < min || x > max)
		return fs_err(FASTSNAP_EINVAL, "%s must be an integer from %ld to %ld", name, min, max);
	*out = x;
	return 1;
}

/* Strings that end up in an HTTP header or URL must have no CR/LF. */
static int check_line(const char *v, const char *what)
{
	if (!v)
		return 0;
	for (const char *q = v; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return fs_err(FASTSNAP_EINVAL, "%s contains CR, LF or another control character (refused)",
				what);
	return 0;
}

/* [service_user]: copied from the config file when send_service_user_token
 * is true, and checked as Nova's keystoneauth would (auth_type password or
 * v3applicationcredential, an auth_url, a user and password or an
 * application credential). */
static int resolve_service_user(fs_settings *s, const fs_config *c)
{
	if (c->su_send != 1)
		return 0;
	const char *t = c->su_auth_type ? c->su_auth_type : "password";
	int appcred = !strcmp(t, "v3applicationcredential");
	if (strcmp(t, "password") && strcmp(t, "v3password") && !appcred)
		return fs_err(FASTSNAP_ECONFIG, "[service_user] auth_type '%s' is not supported "
			"(password, v3password or v3applicationcredential)", t);
	if (!c->su.auth_url)
		return fs_err(FASTSNAP_ECONFIG, "[service_user] send_service_user_token is true "
			"but auth_url is not set");
	if (appcred && (!c->su.application_credential_id || !c->su.application_credential_secret))
		return fs_err(FASTSNAP_ECONFIG, "[service_user] auth_type v3applicationcredential "
			"needs application_credential_id and application_credential_secret");
	if (!appcred && (!c->su.username || !c->su.password))
		return fs_err(FASTSNAP_ECONFIG, "[service_user] auth_type %s needs username and "
			"password", t);
	/* only the fields of the auth_type (an application credential carries
	 * the user and the scope) */
	int used = appcred ? FS_SU_APPCRED : FS_SU_PASSWORD;
#define COPY_SU(name, auth_types) \
	if (((auth_types) & used) && c->su.name && !(s->su.name = strdup(c->su.name))) \
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	FS_SERVICE_USER_FIELDS(COPY_SU)
#undef COPY_SU
	int rc = check_line(s->su.auth_url, "[service_user] auth_url");
	if (rc < 0)
		return rc;
	s->service_token = 1;
	return 0;
}

static int resolve_numbers(fs_settings *s, const fastsnap_engine_opts *o, const fs_config *c);
static int resolve_headers(fs_settings *s, const fastsnap_engine_opts *o);

/* Strings: opts > env > config > default; then the numbers and headers. */
static int resolve(fs_settings *s, const fastsnap_engine_opts *o, const fs_config *c)
{
	int rc = 0;
#define PICK(field, opt, env, cfg, def) \
	do { if ((rc = pick(&s->field, o, (opt), (env), (cfg), (def))) < 0) return rc; } while (0)

	PICK(ceph_conf, o->ceph_conf, "CEPH_CONF", c->images_rbd_ceph_conf, NULL);
	PICK(ceph_user, o->ceph_user, "FASTSNAP_CEPH_USER", c->rbd_user, FS_DEFAULT_CEPH_USER);
	PICK(keyring, o->keyring, "FASTSNAP_CEPH_KEYRING", c->keyring, NULL);
	PICK(images_rbd_pool, NULL, NULL, c->images_rbd_pool, NULL);
	PICK(snapshot_image_format, NULL, NULL, c->snapshot_image_format, NULL);
	PICK(flatten_helper, o->flatten_helper, "FASTSNAP_FLATTEN_HELPER", c->flatten_helper,
		FASTSNAP_LIBEXECDIR "/fastsnap/fastsnap-flatten");
	PICK(glance_url, o->glance_url, "FASTSNAP_GLANCE_URL",
		c->glance_api_server ? c->glance_api_server : c->glance_endpoint_override, NULL);
	PICK(os_token, o->os_token, "OS_AUTH_TOKEN", NULL, NULL);
	PICK(glance_store, NULL, NULL, c->glance_store, NULL);
	PICK(glance_copy_to, NULL, NULL, c->glance_copy_to, NULL);
	s->copy_all_must_succeed = c->glance_copy_all_must_succeed;
	PICK(os_auth_url, o->os_auth_url, "OS_AUTH_URL", NULL, NULL);
	PICK(os_username, o->os_username, "OS_USERNAME", NULL, NULL);
	PICK(os_password, o->os_password, "OS_PASSWORD", NULL, NULL);
	PICK(os_user_domain_name, o->os_user_domain_name, "OS_USER_DOMAIN_NAME", NULL, NULL);
	PICK(os_project_name, o->os_project_name, "OS_PROJECT_NAME", NULL, NULL);
	PICK(os_project_id, o->os_project_id, "OS_PROJECT_ID", NULL, NULL);
	PICK(os_project_domain_name, o->os_project_domain_name, "OS_PROJECT_DOMAIN_NAME", NULL, NULL);
	PICK(os_application_credential_id, o->os_application_credential_id,
		"OS_APPLICATION_CREDENTIAL_ID", NULL, NULL);
	PICK(os_application_credential_secret, o->os_application_credential_secret,
		"OS_APPLICATION_CREDENTIAL_SECRET", NULL, NULL);
	PICK(os_interface, o->os_interface, "OS_INTERFACE", c->glance_interface, NULL);
	PICK(os_region_name, o->os_region_name, "OS_REGION_NAME", c->glance_region_name, NULL);
	PICK(ca_file, o->ca_file, "OS_CACERT", c->glance_cafile, NULL);
	PICK(client_cert, o->client_cert, "OS_CERT", c->glance_certfile, NULL);
	PICK(client_key, o->client_key, "OS_KEY", c->glance_keyfile, NULL);

	/* librados wants the id without "client.". */
	if (s->ceph_user && !strncmp(s->ceph_user, "client.", 7))
		memmove(s->ceph_user, s->ceph_user + 7, strlen(s->ceph_user + 7) + 1);
	if (s->ceph_user && !*s->ceph_user)
		return fs_err(FASTSNAP_EINVAL, "Ceph user name is empty");

	if ((rc = check_line(s->os_token, o->os_token ? "os_token" : "OS_AUTH_TOKEN")) < 0 ||
	    (rc = check_line(s->glance_url, "Glance URL")) < 0 ||
	    (rc = check_line(s->os_auth_url, "OS_AUTH_URL")) < 0)
		return rc;
	if (s->glance_url && strpbrk(s->glance_url, " \t"))
		return fs_err(FASTSNAP_EINVAL, "Glance URL '%s' contains a space", s->glance_url);

	s->insecure = o->insecure ? 1 : (c->glance_insecure == 1);
	if ((rc = resolve_numbers(s, o, c)) < 0 || (rc = resolve_service_user(s, c)) < 0)
		return rc;
	return resolve_headers(s, o);
}

/* Numbers: opts > env > config > default. */
static int resolve_numbers(fs_settings *s, const fastsnap_engine_opts *o, const fs_config *c)
{
	int rc;
	if (o->connect_timeout_ms < 0)
		return fs_err(FASTSNAP_EINVAL, "connect_timeout_ms %ld is negative", o->connect_timeout_ms);
	if (o->low_speed_time_s < 0)
		return fs_err(FASTSNAP_EINVAL, "low_speed_time_s %ld is negative", o->low_speed_time_s);
	if (o->num_retries < -1)
		return fs_err(FASTSNAP_EINVAL, "num_retries %d is invalid (-1 means default)", o->num_retries);
	if (o->retry_base_ms < 0 || o->heartbeat_period_s < 0 || o->call_deadline_s < 0)
		return fs_err(FASTSNAP_EINVAL, "retry_base_ms, heartbeat_period_s and call_deadline_s must "
			"not be negative");
	if (o->glance_cache_s > 86400)
		return fs_err(FASTSNAP_EINVAL, "glance_cache_s %ld is above 86400", o->glance_cache_s);
	long retries;
	const struct {
		long *dst;
		int opt_set;       /* the caller set it in the options */
		long opt;
		const char *env;
		long min, max;
		int cfg_set;       /* the config file set it */
		long cfg, def;
	} nums[] = {
		{ &s->connect_timeout_ms, o->connect_timeout_ms > 0, o->connect_timeout_ms,
			"FASTSNAP_CONNECT_TIMEOUT_MS", 1, 3600000, c->connect_timeout_ms > 0,
			c->connect_timeout_ms, FS_DEFAULT_CONNECT_TIMEOUT_MS },
		{ &s->low_speed_time_s, o->low_speed_time_s > 0, o->low_speed_time_s,
			"FASTSNAP_LOW_SPEED_TIME_S", 1, 86400, c->low_speed_time_s > 0, c->low_speed_time_s,
			FS_DEFAULT_LOW_SPEED_TIME_S },
		{ &retries, o->num_retries >= 0, o->num_retries, "FASTSNAP_NUM_RETRIES", 0, 100,
			c->glance_num_retries >= 0, c->glance_num_retries, FS_DEFAULT_NUM_RETRIES },
		{ &s->clone_depth_cap, 0, 0, "FASTSNAP_CLONE_DEPTH_CAP", 1, 1000, c->clone_depth_cap > 0,
			c->clone_depth_cap, FS_DEFAULT_CLONE_DEPTH_CAP },
		{ &s->ceph_op_timeout_s, 0, 0, "FASTSNAP_CEPH_OP_TIMEOUT_S", 1, 86400,
			c->ceph_op_timeout_s > 0, c->ceph_op_timeout_s, FS_DEFAULT_CEPH_OP_TIMEOUT_S },
		{ &s->retry_base_ms, o->retry_base_ms > 0, o->retry_base_ms, "FASTSNAP_RETRY_BASE_MS", 1,
			600000, 0, 0, FS_DEFAULT_RETRY_BASE_MS },
		{ &s->heartbeat_s, o->heartbeat_period_s > 0, o->heartbeat_period_s,
			"FASTSNAP_HEARTBEAT_SECONDS", 1, 3600, 0, 0, FS_DEFAULT_HEARTBEAT_S },
		{ &s->call_deadline_s, o->call_deadline_s > 0, o->call_deadline_s,
			"FASTSNAP_CALL_DEADLINE_S", 1, 86400, c->call_deadline_s > 0, c->call_deadline_s,
			FS_DEFAULT_CALL_DEADLINE_S },
		/* 0 in the options is the default; negative there, or 0 elsewhere,
		 * keeps nothing */
		{ &s->glance_cache_s, o->glance_cache_s != 0, o->glance_cache_s < 0 ? 0 :
			o->glance_cache_s, "FASTSNAP_GLANCE_CACHE_S", 0, 86400, c->glance_cache_s >= 0,
			c->glance_cache_s, FS_DEFAULT_GLANCE_CACHE_S },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (nums[i].opt_set)
			*nums[i].dst = nums[i].opt;
		else if ((rc = env_long(nums[i].dst, o, nums[i].env, nums[i].min, nums[i].max)) < 0)
			return rc;
		else if (rc == 0)
			*nums[i].dst = nums[i].cfg_set ? nums[i].cfg : nums[i].def;
	}
	s->num_retries = (int)retries;
#ifdef FASTSNAP_TEST_HOOKS
	/* Test builds only (docs/architecture.md, "Test hooks"). */
	PICK(test_fail_after, NULL, "FASTSNAP_TEST_FAIL_AFTER", NULL, NULL);
	PICK(test_kill_after, NULL, "FASTSNAP_TEST_KILL_AFTER", NULL, NULL);
	PICK(test_kill_during, NULL, "FASTSNAP_TEST_KILL_DURING", NULL, NULL);
	PICK(test_run_during, NULL, "FASTSNAP_TEST_RUN_DURING", NULL, NULL);
#endif
	return 0;
}

/* Headers: the caller's, then the environment's. */
static int resolve_headers(fs_settings *s, const fastsnap_engine_opts *o)
{
	int rc;
	for (size_t i = 0; i < o->glance_headers_count; i++) {
		char where[48];
		snprintf(where, sizeof(where), "glance header #%zu", i + 1);
		const char *h = o->glance_headers ? o->glance_headers[i] : NULL;
		if (!h)
			return fs_err(FASTSNAP_EINVAL, "%s is NULL", where);
		if ((rc = add_header_n(s, h, strlen(h), where)) < 0)
			return rc;
	}
	const char *eh = fs_env(o, "FASTSNAP_GLANCE_HEADERS");
	if (eh && (rc = add_env_headers(s, eh)) < 0)
		return rc;
#undef PICK
	return 0;
}

int fs_settings_resolve(fs_settings *s, const fastsnap_engine_opts *in)
{
	memset(s, 0, sizeof(*s));
	fastsnap_engine_opts opts;
	int rc = fs_engine_opts_upgrade(&opts, in);
	if (rc < 0)
		return rc;
	fs_config cfg;
	fs_config_init(&cfg);
	const char *path = opts.config_file;
	if (!path)
		path = fs_env(&opts, "FASTSNAP_CONFIG");
	if (path)
		rc = fs_config_load(&cfg, path);
	if (rc == 0)
		rc = resolve(s, &opts, &cfg);
	fs_config_free(&cfg);
	if (rc < 0)
		fs_settings_free(s);
	return rc;
}
