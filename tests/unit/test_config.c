/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_config.c: the nova.conf-style config parser (inih with
 * our own line reader): options kept, unknown ones ignored, long lines,
 * malformed lines reported as FILE:LINE, fs_config_load on files.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static int parse(fs_config *c, const char *text)
{
	return fs_config_parse(c, text, strlen(text));
}

Test(config, reads_known_options_and_ignores_the_rest)
{
	const char *text =
		"[DEFAULT]\n"
		"transport_url = rabbit://u:p@host:5672/\n"
		"# a comment\n"
		"; another\n"
		"[glance]\n"
		"api_servers = http://glance1:9292, http://glance2:9292\n"
		"store = fast\n"
		"num_retries = 7\n"
		"cafile = /etc/ssl/ca.pem\n"
		"insecure = False\n"
		"valid_interfaces = internal,public\n"
		"region_name = RegionTwo\n"
		"copy_to = fast,edge\n"
		"copy_all_must_succeed = false\n"
		"some_unknown = 1\n"
		"[libvirt]\n"
		"images_type = rbd\n"
		"images_rbd_pool = vms\n"
		"images_rbd_ceph_conf = /etc/ceph/ceph.conf\n"
		"rbd_user = nova\n"
		"rbd_secret_uuid = 457eb676-33da-42ec-9a8c-9293d545c337\n"
		"[fastsnap]\n"
		"clone_depth_cap = 9\n"
		"connect_timeout_ms = 2500\n"
		"low_speed_time_s = 30\n"
		"keyring = /etc/ceph/ceph.client.nova.keyring\n"
		"[other]\n"
		"store = ignored\n";
	fs_config c;
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(c.glance_api_server, "http://glance1:9292");
	cr_assert_str_eq(c.glance_store, "fast");
	cr_assert_eq(c.glance_num_retries, 7);
	cr_assert_str_eq(c.glance_cafile, "/etc/ssl/ca.pem");
	cr_assert_eq(c.glance_insecure, 0);
	cr_assert_str_eq(c.glance_interface, "internal");
	cr_assert_str_eq(c.glance_region_name, "RegionTwo");
	cr_assert_str_eq(c.glance_copy_to, "fast,edge");
	cr_assert_eq(c.glance_copy_all_must_succeed, 0);
	cr_assert_str_eq(c.images_type, "rbd");
	cr_assert_str_eq(c.images_rbd_pool, "vms");
	cr_assert_str_eq(c.images_rbd_ceph_conf, "/etc/ceph/ceph.conf");
	cr_assert_str_eq(c.rbd_user, "nova");
	cr_assert_eq(c.clone_depth_cap, 9);
	cr_assert_eq(c.connect_timeout_ms, 2500);
	cr_assert_eq(c.low_speed_time_s, 30);
	cr_assert_str_eq(c.keyring, "/etc/ceph/ceph.client.nova.keyring");
	cr_assert_null(c.glance_certfile);
	fs_config_free(&c);
	cr_assert_null(c.glance_store);
	cr_assert_null(c.glance_copy_to);
	cr_assert_eq(c.glance_copy_all_must_succeed, -1);
	cr_assert_eq(c.glance_num_retries, -1);
}

Test(config, empty_and_unset)
{
	fs_config c;
	cr_assert_eq(fs_config_parse(&c, "", 0), 0);
	cr_assert_null(c.glance_api_server);
	cr_assert_eq(c.glance_num_retries, -1);
	cr_assert_eq(c.clone_depth_cap, -1);
	cr_assert_eq(c.connect_timeout_ms, -1);
	cr_assert_eq(c.glance_insecure, -1);
	fs_config_free(&c);
	cr_assert_eq(parse(&c, "[glance]\nstore =\napi_servers = , ,\n"), 0, "%s", fastsnap_error_last());
	cr_assert_null(c.glance_store);
	cr_assert_null(c.glance_api_server);
	fs_config_free(&c);
}

Test(config, value_forms)
{
	fs_config c;
	const char *text =
		"\xef\xbb\xbf[glance]\r\n"                /* BOM and CRLF */
		"api_servers = glance.example:9292\r\n"    /* no scheme: http:// added */
		"store = \"fast\"\r\n"                      /* quotes removed */
		"cafile = '/a b/ca.pem' ;comment\r\n"       /* inline comment */
		"certfile: /c.pem\r\n"                      /* name: value */
		"store = fast2\r\n";                        /* last one wins */
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(c.glance_api_server, "http://glance.example:9292");
	cr_assert_str_eq(c.glance_store, "fast2");
	cr_assert_str_eq(c.glance_cafile, "/a b/ca.pem");
	cr_assert_str_eq(c.glance_certfile, "/c.pem");
	fs_config_free(&c);
	cr_assert_eq(parse(&c, "[glance]\napi_servers = https://g:9292/image\n"), 0);
	cr_assert_str_eq(c.glance_api_server, "https://g:9292/image");
	fs_config_free(&c);
	cr_assert_eq(parse(&c, "[glance]\nendpoint_override = http://e:1\ninsecure = yes\n"), 0);
	cr_assert_str_eq(c.glance_endpoint_override, "http://e:1");
	cr_assert_eq(c.glance_insecure, 1);
	fs_config_free(&c);
	/* no trailing newline */
	cr_assert_eq(parse(&c, "[libvirt]\nrbd_user = cinder"), 0);
	cr_assert_str_eq(c.rbd_user, "cinder");
	fs_config_free(&c);
}

/* Secret values never enter inih's line buffer (src/core/config.c reads
 * them from its own, wiped, buffer): they parse exactly as other values. */
Test(config, secret_values_parse_like_the_others)
{
	fs_config c;
	const char *text =
		"[service_user]\r\n"
		"password = \"p;w d\" ;comment\r\n"       /* quotes, inline comment, CRLF */
		"application_credential_secret: s3cr#t;x\r\n" /* name: value, ';' without a space */
		"username = nova\r\n"
		"password = pw2\r\n";                      /* last one wins */
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(c.su.password, "pw2");
	cr_assert_str_eq(c.su.application_credential_secret, "s3cr#t;x");
	cr_assert_str_eq(c.su.username, "nova");
	fs_config_free(&c);
	cr_assert_eq(parse(&c, "[service_user]\npassword = \"p;w d\" ;comment\n"), 0);
	cr_assert_str_eq(c.su.password, "p;w d");
	fs_config_free(&c);
	/* an empty secret is unset, as any value */
	cr_assert_eq(parse(&c, "[service_user]\npassword =\n"), 0);
	cr_assert_null(c.su.password);
	fs_config_free(&c);
	/* a line without a value separator is still an error, with its line */
	cr_assert_neq(parse(&c, "[service_user]\npassword\n"), 0);
	cr_assert(strstr(fastsnap_error_last(), ":2:"), "%s", fastsnap_error_last());
}

Test(config, long_lines_are_not_truncated)
{
	/* inih's buffer is 200 bytes; a real nova.conf has longer lines */
	char server[600];
	memset(server, 'g', sizeof(server));
	memcpy(server, "http://", 7);
	memcpy(server + sizeof(server) - 6, ":9292", 6);
	char comment[700];
	memset(comment, 'c', sizeof(comment) - 1);
	comment[0] = '#';
	comment[sizeof(comment) - 1] = '\0';
	char pci[500];
	memset(pci, 'x', sizeof(pci) - 1);
	pci[sizeof(pci) - 1] = '\0';
	char *text = fs_asprintf("[pci]\nalias = {%s}\n%s\n[glance]\n  %s\napi_servers = %s , http://second ;c\n"
		"store = fast\n", pci, comment, comment, server);
	fs_config c;
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(c.glance_api_server, server);
	cr_assert_str_eq(c.glance_store, "fast");
	fs_config_free(&c);
	free(text);

	/* a long value for a known option, and its long continuation */
	text = fs_asprintf("[glance]\ncafile = /%s\n", pci);
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	cr_assert_eq(strlen(c.glance_cafile), strlen(pci) + 1);
	fs_config_free(&c);
	free(text);
}

struct bad {
	const char *text;
	const char *expect;
	int code;
};

Test(config, malformed_lines_give_file_line)
{
	static const struct bad cases[] = {
		{ "[glance]\nstore = a\nthis is not an option\n", "<config>:3: malformed line", FASTSNAP_ECONFIG },
		{ "[glance\nstore = a\n", "<config>:1: malformed line", FASTSNAP_ECONFIG },
		{ "\n\n[glance]\nnum_retries = many\n", "<config>:4: [glance] num_retries must be an integer",
		  FASTSNAP_ECONFIG },
		{ "[glance]\nnum_retries = -1\n", "<config>:2: [glance] num_retries", FASTSNAP_ECONFIG },
		{ "[glance]\nnum_retries = 5x\n", "<config>:2:", FASTSNAP_ECONFIG },
		{ "[fastsnap]\nclone_depth_cap = 0\n", "<config>:2: [fastsnap] clone_depth_cap must be an integer from 1",
		  FASTSNAP_ECONFIG },
		{ "[fastsnap]\nconnect_timeout_ms = 99999999999999999999\n", "<config>:2:", FASTSNAP_ECONFIG },
		{ "[glance]\ninsecure = maybe\n", "<config>:2: [glance] insecure must be true or false",
		  FASTSNAP_ECONFIG },
		/* the first error wins */
		{ "[a]\nx = 1\nbad\n[glance]\nnum_retries = z\n", "<config>:3:", FASTSNAP_ECONFIG },
		{ "[glance]\nnum_retries = z\nbad\n", "<config>:2: [glance]", FASTSNAP_ECONFIG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fs_config c;
		int rc = parse(&c, cases[i].text);
		cr_assert_eq(rc, cases[i].code, "case %zu: rc %d (%s)", i, rc, fastsnap_error_last());
		cr_assert(strstr(fastsnap_error_last(), cases[i].expect), "case %zu: '%s' lacks '%s'", i,
			fastsnap_error_last(), cases[i].expect);
		cr_assert_null(c.glance_store, "case %zu: left a value behind", i);
	}
}

Test(config, long_malformed_lines)
{
	char junk[400];
	memset(junk, 'j', sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	char *text = fs_asprintf("[glance]\nstore = a\n%s\n", junk);
	fs_config c;
	cr_assert_eq(parse(&c, text), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), "<config>:3:"), "%s", fastsnap_error_last());
	free(text);
	text = fs_asprintf("[%s]\n", junk);
	cr_assert_eq(parse(&c, text), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), "<config>:1: section header longer"), "%s",
		fastsnap_error_last());
	free(text);
}

Test(config, nul_byte)
{
	const char text[] = "[glance]\nstore = a\0b\n";
	fs_config c;
	cr_assert_eq(fs_config_parse(&c, text, sizeof(text) - 1), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), "<config>:2: NUL"), "%s", fastsnap_error_last());
}

Test(config, load_file_and_missing_file)
{
	char path[] = "/tmp/fastsnap-test-config-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *text = "[glance]\nstore = fast\n[libvirt]\nrbd_user = nova\n\nbroken line\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	fs_config c;
	cr_assert_eq(fs_config_load(&c, path), FASTSNAP_ECONFIG);
	char *expect = fs_asprintf("%s:6: malformed line", path);
	cr_assert(strstr(fastsnap_error_last(), expect), "%s", fastsnap_error_last());
	free(expect);

	FILE *f = fopen(path, "w");
	fputs("[glance]\nstore = fast\n", f);
	fclose(f);
	cr_assert_eq(fs_config_load(&c, path), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(c.glance_store, "fast");
	fs_config_free(&c);
	unlink(path);

	cr_assert_eq(fs_config_load(&c, path), FASTSNAP_ENOTFOUND);
	cr_assert(strstr(fastsnap_error_last(), path), "%s", fastsnap_error_last());
	cr_assert_eq(fs_config_load(&c, "/tmp"), FASTSNAP_ECONFIG, "%s", fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), "/tmp"), "%s", fastsnap_error_last());
}

/* The example of docs/configuration.md ("The config file"), read from the
 * document itself: the first ```ini block after that heading. */
static char *documented_example(void)
{
	FILE *f = fopen(FASTSNAP_SOURCE_DIR "/docs/configuration.md", "r");
	cr_assert_not_null(f, "docs/configuration.md under %s", FASTSNAP_SOURCE_DIR);
	char line[1024];
	size_t len = 0, cap = 1 << 16;
	char *text = calloc(1, cap);
	int seen_heading = 0, in_block = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "## The config file\n"))
			seen_heading = 1;
		else if (seen_heading && !in_block && !strcmp(line, "```ini\n"))
			in_block = 1;
		else if (in_block && !strncmp(line, "```", 3))
			break;
		else if (in_block && len + strlen(line) < cap)
			len += (size_t)sprintf(text + len, "%s", line);
	}
	fclose(f);
	cr_assert(in_block && len > 0, "no ```ini block after \"## The config file\"");
	return text;
}

Test(config, documented_example)
{
	char *text = documented_example();
	fs_config c;
	cr_assert_eq(parse(&c, text), 0, "%s", fastsnap_error_last());
	free(text);
	cr_assert_str_eq(c.glance_api_server, "http://glance-internal:9292");
	cr_assert_null(c.glance_endpoint_override);
	cr_assert_str_eq(c.glance_store, "fast");
	cr_assert_eq(c.glance_num_retries, 3);
	cr_assert_str_eq(c.glance_cafile, "/etc/ssl/certs/ca.pem");
	cr_assert_str_eq(c.glance_certfile, "/etc/nova/client.pem");
	cr_assert_str_eq(c.glance_keyfile, "/etc/nova/client.key");
	cr_assert_eq(c.glance_insecure, 0);
	cr_assert_str_eq(c.glance_region_name, "RegionOne");
	cr_assert_str_eq(c.glance_interface, "internal");
	cr_assert_str_eq(c.images_type, "rbd");
	cr_assert_str_eq(c.images_rbd_pool, "vms");
	cr_assert_str_eq(c.images_rbd_ceph_conf, "/etc/ceph/ceph.conf");
	cr_assert_str_eq(c.rbd_user, "nova");
	cr_assert_eq(c.su_send, 1);
	cr_assert_str_eq(c.su_auth_type, "password");
	cr_assert_str_eq(c.su.auth_url, "http://keystone:5000/v3");
	cr_assert_str_eq(c.su.username, "nova");
	cr_assert_str_eq(c.su.password, "...");
	cr_assert_str_eq(c.su.user_domain_name, "Default");
	cr_assert_str_eq(c.su.project_name, "service");
	cr_assert_str_eq(c.su.project_domain_name, "Default");
	cr_assert_str_eq(c.keyring, "/etc/ceph/ceph.client.nova.keyring");
	cr_assert_eq(c.clone_depth_cap, 5);
	cr_assert_eq(c.connect_timeout_ms, 10000);
	cr_assert_eq(c.low_speed_time_s, 60);
	cr_assert_eq(c.call_deadline_s, 120);
	cr_assert_eq(c.ceph_op_timeout_s, 120);
	cr_assert_eq(c.glance_cache_s, 30);
	fs_config_free(&c);

	/* '#' after a value is part of it, as in oslo.config */
	cr_assert_eq(parse(&c, "[glance]\nstore = fast # comment\n"), 0);
	cr_assert_str_eq(c.glance_store, "fast # comment");
	fs_config_free(&c);
}

Test(config, ceph_op_timeout)
{
	fs_config c;
	const char *t = "[fastsnap]\nceph_op_timeout_s = 30\n";
	cr_assert_eq(fs_config_parse(&c, t, strlen(t)), 0, "%s", fastsnap_error_last());
	cr_assert_eq(c.ceph_op_timeout_s, 30);
	fs_config_free(&c);
	const char *bad = "[fastsnap]\nceph_op_timeout_s = 0\n";
	cr_assert_eq(fs_config_parse(&c, bad, strlen(bad)), FASTSNAP_ECONFIG);
	cr_assert(strstr(fastsnap_error_last(), ":2:"), "%s", fastsnap_error_last());
}
