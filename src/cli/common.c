/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/common.c: opening the engine from the command line's options, the
 * library's log lines on stderr, and error output.
 */
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "helper/beside.h"

const char *const prog = "fastsnap";

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_cb(fastsnap_log_level level, const char *msg, void *payload)
{
	const global_opts *g = payload;
	static const char *names[] = { "error", "warning", "info", "debug" };
	if ((int)level <= FASTSNAP_LOG_WARN || g->verbose)
		fprintf(stderr, "%s: %s: %s\n", prog, names[level], msg);
}

void cli_json_error(const global_opts *g, const char *msg, int code)
{
	if (!g->json)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	if (code)
		cJSON_AddStringToObject(o, "error_code", fastsnap_strerror(code));
	char *txt = cJSON_PrintUnformatted(o);
	if (txt)
		printf("%s\n", txt);
	free(txt);
	cJSON_Delete(o);
}

void cli_error(const global_opts *g, const char *msg, int code)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	cli_json_error(g, msg, code);
}

int cli_open_engine(fastsnap_engine **e, global_opts *g)
{
	char helper[4096];
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.flatten_helper = fs_helper_beside_self(helper, sizeof(helper));
	o.use_env = 1;
	o.config_file = g->config;
	o.glance_url = g->glance_url;
	o.os_token = g->os_token;
	o.ceph_conf = g->ceph_conf;
	o.ceph_user = g->ceph_user;
	o.keyring = g->keyring;
	o.glance_headers = g->headers;
	o.glance_headers_count = g->n_headers;
	o.insecure = g->insecure;
	o.ca_file = g->ca_file;
	o.client_cert = g->client_cert;
	o.client_key = g->client_key;
	o.log_cb = log_cb;
	o.log_payload = g;
	int r = fastsnap_engine_open(e, &o);
	if (r < 0)
		cli_error(g, fastsnap_error_last(), r);
	return r;
}
