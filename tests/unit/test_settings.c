/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_settings.c: settings resolution (opts > env > config file
 * > default), header validation and secret redaction in messages.
 * Criterion runs each test in its own process, so setenv() stays local.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/settings.h"

static const char *const all_env[] = {
	"CEPH_CONF", "FASTSNAP_CEPH_USER", "FASTSNAP_CEPH_KEYRING", "FASTSNAP_GLANCE_URL",
	"OS_AUTH_TOKEN", "FASTSNAP_GLANCE_HEADERS", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD",
	"OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME", "OS_PROJECT_ID", "OS_PROJECT_DOMAIN_NAME",
	"OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_INTERFACE",
	"OS_REGION_NAME", "OS_CACERT", "OS_CERT", "OS_KEY", "FASTSNAP_NUM_RETRIES", "FASTSNAP_CONFIG",
	"FASTSNAP_CONNECT_TIMEOUT_MS", "FASTSNAP_LOW_SPEED_TIME_S", "FASTSNAP_CLONE_DEPTH_CAP",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(all_env) / sizeof(all_env[0]); i++)
		unsetenv(all_env[i]);
}

/* Write a config file; returns its path (caller unlinks and frees). */
static char *write_config(const char *text)
{
	char *path = strdup("/tmp/fastsnap-test-settings-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char *conf_text =
	"[glance]\n"
	"api_servers = http://from-config:9292\n"
	"store = fast\n"
	"num_retries = 5\n"
	"cafile = /cfg/ca.pem\n"
	"[libvirt]\n"
	"images_rbd_pool = vms\n"
	"images_rbd_ceph_conf = /cfg/ceph.conf\n"
	"rbd_user = nova\n"
	"[fastsnap]\n"
	"clone_depth_cap = 8\n"
	"connect_timeout_ms = 1234\n"
	"low_speed_time_s = 17\n"
	"keyring = /cfg/keyring\n";

Test(settings, defaults)
{
	clean_env();
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_null(s.ceph_conf);
	cr_assert_str_eq(s.ceph_user, "admin");
	cr_assert_null(s.keyring);
	cr_assert_null(s.glance_url);
	cr_assert_null(s.os_token);
	cr_assert_null(s.glance_store);
	cr_assert_eq(s.glance_headers.n, 0);
	cr_assert_eq(s.connect_timeout_ms, 10000);
	cr_assert_eq(s.low_speed_time_s, 60);
	cr_assert_eq(s.num_retries, 3);
	cr_assert_eq(s.clone_depth_cap, 5);
	cr_assert_eq(s.insecure, 0);
	fs_settings_free(&s);
}

Test(settings, env_ignored_without_use_env)
{
	clean_env();
	setenv("CEPH_CONF", "/env/ceph.conf", 1);
	setenv("FASTSNAP_GLANCE_URL", "http://env:9292", 1);
	setenv("FASTSNAP_GLANCE_HEADERS", "X-Roles: admin", 1);
	setenv("FASTSNAP_NUM_RETRIES", "9", 1);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_null(s.ceph_conf);
	cr_assert_null(s.glance_url);
	cr_assert_eq(s.glance_headers.n, 0);
	cr_assert_eq(s.num_retries, 3);
	fs_settings_free(&s);
}

Test(settings, config_over_default)
{
	clean_env();
	char *path = write_config(conf_text);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.config_file = path;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.ceph_conf, "/cfg/ceph.conf");
	cr_assert_str_eq(s.ceph_user, "nova");
	cr_assert_str_eq(s.keyring, "/cfg/keyring");
	cr_assert_str_eq(s.images_rbd_pool, "vms");
	cr_assert_str_eq(s.glance_url, "http://from-config:9292");
	cr_assert_str_eq(s.glance_store, "fast");
	cr_assert_str_eq(s.ca_file, "/cfg/ca.pem");
	cr_assert_eq(s.num_retries, 5);
	cr_assert_eq(s.clone_depth_cap, 8);
	cr_assert_eq(s.connect_timeout_ms, 1234);
	cr_assert_eq(s.low_speed_time_s, 17);
	fs_settings_free(&s);
	unlink(path);
	free(path);
}

Test(settings, env_over_config_and_opts_over_env)
{
	clean_env();
	char *path = write_config(conf_text);
	setenv("CEPH_CONF", "/env/ceph.conf", 1);
	setenv("FASTSNAP_CEPH_USER", "client.fastsnap", 1);   /* "client." is dropped */
	setenv("FASTSNAP_GLANCE_URL", "http://env:9292", 1);
	setenv("FASTSNAP_NUM_RETRIES", "0", 1);
	setenv("OS_CACERT", "/env/ca.pem", 1);
	setenv("OS_AUTH_TOKEN", "tok-from-env", 1);
	setenv("FASTSNAP_CEPH_KEYRING", "", 1);                /* empty = unset */
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.config_file = path;
	o.use_env = 1;
	o.glance_url = "http://opts:9292";
	o.num_retries = 2;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.ceph_conf, "/env/ceph.conf");
	cr_assert_str_eq(s.ceph_user, "fastsnap");
	cr_assert_str_eq(s.keyring, "/cfg/keyring");
	cr_assert_str_eq(s.glance_url, "http://opts:9292");
	cr_assert_str_eq(s.ca_file, "/env/ca.pem");
	cr_assert_str_eq(s.os_token, "tok-from-env");
	cr_assert_eq(s.num_retries, 2);
	cr_assert_str_eq(s.glance_store, "fast");
	fs_settings_free(&s);

	o.num_retries = -1;   /* unset: env's 0 wins over config's 5 */
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.num_retries, 0);
	fs_settings_free(&s);
	unlink(path);
	free(path);
}

Test(settings, config_file_from_env)
{
	clean_env();
	char *path = write_config(conf_text);
	setenv("FASTSNAP_CONFIG", path, 1);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0);
	cr_assert_null(s.glance_store, "FASTSNAP_CONFIG read without use_env");
	fs_settings_free(&s);
	o.use_env = 1;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.glance_store, "fast");
	fs_settings_free(&s);
	unlink(path);
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ENOTFOUND);
	cr_assert(strstr(fastsnap_error_last(), path), "%s", fastsnap_error_last());
	free(path);
}

Test(settings, bad_config_file)
{
	clean_env();
	char *path = write_config("[glance]\nnum_retries = x\n");
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.config_file = path;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ECONFIG);
	char *want = fs_asprintf("%s:2:", path);
	cr_assert(strstr(fastsnap_error_last(), want), "%s", fastsnap_error_last());
	free(want);
	cr_assert_null(s.ceph_user);
	unlink(path);
	free(path);
	o.config_file = "/nonexistent/fastsnap.conf";
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ENOTFOUND);
	cr_assert(strstr(fastsnap_error_last(), "/nonexistent/fastsnap.conf"));
}

Test(settings, keystone_env)
{
	clean_env();
	static const char *const vars[][2] = {
		{ "OS_AUTH_URL", "http://ks:5000/v3" }, { "OS_USERNAME", "u" }, { "OS_PASSWORD", "p" },
		{ "OS_USER_DOMAIN_NAME", "ud" }, { "OS_PROJECT_NAME", "pn" }, { "OS_PROJECT_ID", "pid" },
		{ "OS_PROJECT_DOMAIN_NAME", "pd" }, { "OS_APPLICATION_CREDENTIAL_ID", "aci" },
		{ "OS_APPLICATION_CREDENTIAL_SECRET", "acs" }, { "OS_INTERFACE", "internal" },
		{ "OS_REGION_NAME", "r1" },
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i][0], vars[i][1], 1);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.use_env = 1;
	o.os_project_id = "from-opts";
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.os_auth_url, "http://ks:5000/v3");
	cr_assert_str_eq(s.os_username, "u");
	cr_assert_str_eq(s.os_password, "p");
	cr_assert_str_eq(s.os_user_domain_name, "ud");
	cr_assert_str_eq(s.os_project_name, "pn");
	cr_assert_str_eq(s.os_project_id, "from-opts");
	cr_assert_str_eq(s.os_project_domain_name, "pd");
	cr_assert_str_eq(s.os_application_credential_id, "aci");
	cr_assert_str_eq(s.os_application_credential_secret, "acs");
	cr_assert_str_eq(s.os_interface, "internal");
	cr_assert_str_eq(s.os_region_name, "r1");
	fs_settings_free(&s);
}

Test(settings, headers_opts_then_env)
{
	clean_env();
	setenv("FASTSNAP_GLANCE_HEADERS",
		" X-Identity-Status: Confirmed | X-Roles:admin,member|| X-Project-Id:   p1  |\n", 1);
	const char *hdrs[] = { "X-User-Id: u1", "X-Tenant:\tt1 " };
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.use_env = 1;
	o.glance_headers = hdrs;
	o.glance_headers_count = 2;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.glance_headers.n, 5);
	cr_assert_str_eq(s.glance_headers.v[0], "X-User-Id: u1");
	cr_assert_str_eq(s.glance_headers.v[1], "X-Tenant: t1");
	cr_assert_str_eq(s.glance_headers.v[2], "X-Identity-Status: Confirmed");
	cr_assert_str_eq(s.glance_headers.v[3], "X-Roles: admin,member");
	cr_assert_str_eq(s.glance_headers.v[4], "X-Project-Id: p1");
	cr_assert_eq(fs_settings_add_header(&s, "X-More: yes"), 0);
	cr_assert_eq(s.glance_headers.n, 6);
	fs_settings_free(&s);
}

struct hcase {
	const char *hdr;
	const char *expect;     /* in the message */
	const char *never;      /* must not be in the message */
};

Test(settings, header_validation_and_redaction)
{
	static const struct hcase cases[] = {
		{ "X-Foo: a\r\nX-Evil: b", "header 'X-Foo' has CR or LF", "X-Evil" },
		{ "X-Foo: a\nb", "CR or LF", "a\nb" },
		{ "X-Auth-Token: s3cr3t\r\nX: y", "header '<redacted>' has CR or LF", "s3cr3t" },
		{ "X-Foo: a\x01" "b", "control character", NULL },
		{ "NoColonHere", "no ':'", NULL },
		{ "my-password-is-hunter2", "header '<redacted>'", "hunter2" },
		{ ": xyzzy", "empty name", "xyzzy" },
		{ "X Foo: v", "header name 'X Foo' is not a valid token", NULL },
		{ "X-Foo\r: v", "is not a valid token", NULL },
		{ "X-Auth Token hunter2: v", "header name '<redacted>'", "hunter2" },
		{ "X-Foo:", "has an empty value", NULL },
		{ "X-Foo:   \t ", "has an empty value", NULL },
		{ "X-Api-Key: topsecret\n", "header '<redacted>'", "topsecret" },
		{ "X-Secret-Thing: shh\r", "<redacted>", "shh" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fs_settings s;
		memset(&s, 0, sizeof(s));
		int rc = fs_settings_add_header(&s, cases[i].hdr);
		cr_assert_eq(rc, FASTSNAP_EINVAL, "case %zu: rc %d", i, rc);
		cr_assert_eq(s.glance_headers.n, 0, "case %zu", i);
		const char *m = fastsnap_error_last();
		cr_assert(strstr(m, cases[i].expect), "case %zu: '%s' lacks '%s'", i, m, cases[i].expect);
		if (cases[i].never)
			cr_assert_null(strstr(m, cases[i].never), "case %zu: '%s' leaks '%s'", i, m,
				cases[i].never);
		cr_assert_null(strchr(m, '\n'), "case %zu: newline in message", i);
		fs_settings_free(&s);
	}
}

Test(settings, env_header_errors_name_the_item)
{
	clean_env();
	setenv("FASTSNAP_GLANCE_HEADERS", "X-Roles: admin|X-Auth-Token: abc\r\nInjected: 1", 1);
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.use_env = 1;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	const char *m = fastsnap_error_last();
	cr_assert(strstr(m, "FASTSNAP_GLANCE_HEADERS item 2"), "%s", m);
	cr_assert(strstr(m, "<redacted>"), "%s", m);
	cr_assert_null(strstr(m, "abc"), "%s", m);
	cr_assert_null(s.ceph_user, "settings left allocated after a failure");

	const char *hdrs[] = { "X-Ok: 1", "Bad Name: 2" };
	o.use_env = 0;
	o.glance_headers = hdrs;
	o.glance_headers_count = 2;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "glance header #2"), "%s", fastsnap_error_last());
}

Test(settings, token_and_url_with_crlf_refused)
{
	clean_env();
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.os_token = "gAAAA\r\nX-Evil: 1";
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "os_token"), "%s", fastsnap_error_last());
	cr_assert_null(strstr(fastsnap_error_last(), "gAAAA"));
	o.os_token = NULL;
	setenv("OS_AUTH_TOKEN", "tok\nen", 1);
	o.use_env = 1;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "OS_AUTH_TOKEN"), "%s", fastsnap_error_last());
	cr_assert_null(strstr(fastsnap_error_last(), "tok"));
	unsetenv("OS_AUTH_TOKEN");
	o.glance_url = "http://a b";
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	o.glance_url = "http://a\n";
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
}

Test(settings, invalid_numbers)
{
	clean_env();
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	o.num_retries = -2;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	o.num_retries = -1;
	o.connect_timeout_ms = -5;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	o.connect_timeout_ms = 0;
	o.use_env = 1;
	setenv("FASTSNAP_NUM_RETRIES", "three", 1);
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "FASTSNAP_NUM_RETRIES"), "%s", fastsnap_error_last());
	setenv("FASTSNAP_NUM_RETRIES", "4", 1);
	setenv("FASTSNAP_CONNECT_TIMEOUT_MS", "750", 1);
	setenv("FASTSNAP_LOW_SPEED_TIME_S", "12", 1);
	setenv("FASTSNAP_CLONE_DEPTH_CAP", "3", 1);
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.num_retries, 4);
	cr_assert_eq(s.connect_timeout_ms, 750);
	cr_assert_eq(s.low_speed_time_s, 12);
	cr_assert_eq(s.clone_depth_cap, 3);
	fs_settings_free(&s);
	o.connect_timeout_ms = 99;
	o.low_speed_time_s = 7;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0);
	cr_assert_eq(s.connect_timeout_ms, 99);
	cr_assert_eq(s.low_speed_time_s, 7);
	fs_settings_free(&s);
}

Test(settings, bad_version)
{
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.version = 99;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_EINVAL);
	cr_assert_eq(fs_settings_resolve(&s, NULL), FASTSNAP_EINVAL);
}

/* nova.conf's [service_user]: read only when send_service_user_token is
 * true, checked like keystoneauth would. */
Test(settings, service_user_section)
{
	clean_env();
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	char *path = write_config("[service_user]\nsend_service_user_token = True\nauth_type = password\n"
		"auth_url = http://ks:5000/v3\nusername = nova\npassword = \"pw\"\nuser_domain_name = Default\n"
		"project_name = service\nproject_domain_name = Default\n");
	o.config_file = path;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.service_token, 1);
	cr_assert_str_eq(s.su.auth_url, "http://ks:5000/v3");
	cr_assert_str_eq(s.su.username, "nova");
	cr_assert_str_eq(s.su.password, "pw");
	cr_assert_str_eq(s.su.project_name, "service");
	/* the user's own identity is untouched */
	cr_assert_null(s.os_username);
	fs_settings_free(&s);
	unlink(path);
	free(path);

	/* off (or absent): nothing is sent */
	path = write_config("[service_user]\nsend_service_user_token = false\nusername = nova\n");
	o.config_file = path;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_eq(s.service_token, 0);
	cr_assert_null(s.su.username);
	fs_settings_free(&s);
	unlink(path);
	free(path);

	const char *bad[][2] = {
		{ "[service_user]\nsend_service_user_token = yes\nusername = n\npassword = p\n", "auth_url" },
		{ "[service_user]\nsend_service_user_token = yes\nauth_url = http://k\nusername = n\n", "password" },
		{ "[service_user]\nsend_service_user_token = yes\nauth_url = http://k\nauth_type = token\n", "auth_type" },
		{ "[service_user]\nsend_service_user_token = yes\nauth_url = http://k\n"
		  "auth_type = v3applicationcredential\napplication_credential_id = x\n", "application_credential_secret" },
		{ "[service_user]\nsend_service_user_token = maybe\n", "must be true or false" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_config(bad[i][0]);
		o.config_file = path;
		cr_assert_eq(fs_settings_resolve(&s, &o), FASTSNAP_ECONFIG, "case %zu", i);
		cr_assert(strstr(fastsnap_error_last(), bad[i][1]) &&
			(i == 4 || strstr(fastsnap_error_last(), "[service_user]")), "case %zu: %s", i,
			fastsnap_error_last());
		unlink(path);
		free(path);
	}
}

/* The flatten helper: opts > env > config > the installed one; "none"
 * passes through (clients/flattener.h turns it into the in-process
 * flatten). */
Test(settings, flatten_helper)
{
	clean_env();
	unsetenv("FASTSNAP_FLATTEN_HELPER");
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	fs_settings s;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.flatten_helper, FASTSNAP_LIBEXECDIR "/fastsnap/fastsnap-flatten");
	fs_settings_free(&s);

	char *path = write_config("[fastsnap]\nflatten_helper = /cfg/helper\n");
	o.config_file = path;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.flatten_helper, "/cfg/helper");
	fs_settings_free(&s);

	setenv("FASTSNAP_FLATTEN_HELPER", "none", 1);
	o.use_env = 1;
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.flatten_helper, "none");
	fs_settings_free(&s);

	o.flatten_helper = "/opt/helper";
	cr_assert_eq(fs_settings_resolve(&s, &o), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(s.flatten_helper, "/opt/helper");
	fs_settings_free(&s);
	unlink(path);
	free(path);
}
