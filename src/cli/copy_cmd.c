/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/copy_cmd.c: `fastsnap copy IMAGE --to STORE...` (an existing image into
 * further stores with Glance's copy-image import), and what `snapshot
 * --copy-to` shares with it: the store list, the per-store progress lines
 * and the report of which stores have the image (docs/usage.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/signals.h"

/* Split "a,b" (one --copy-to / --to argument) into l. */
int cli_copy_list_add(cli_copy_list *l, char *arg, const char *opt)
{
	char *save = NULL;
	int any = 0;
	for (char *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!*t)
			continue;
		if (l->n == sizeof(l->v) / sizeof(l->v[0])) {
			fprintf(stderr, "%s: %s: at most %zu stores\n", prog, opt, sizeof(l->v) / sizeof(l->v[0]));
			return -1;
		}
		for (size_t i = 0; i < l->n; i++)
			if (!strcmp(l->v[i], t)) {
				fprintf(stderr, "%s: %s: store '%s' is named twice\n", prog, opt, t);
				return -1;
			}
		l->v[l->n++] = t;
		any = 1;
	}
	if (!any) {
		fprintf(stderr, "%s: %s: expected STORE[,STORE...]\n", prog, opt);
		return -1;
	}
	return 0;
}

/* The copy callback: one line per store and state on stderr (not with -q
 * or --json). */
void cli_copy_cb(const char *store, const char *state, void *payload)
{
	const global_opts *g = payload;
	if (g && !g->quiet && !g->json)
		fprintf(stderr, "%s: copy to '%s': %s\n", prog, store, state);
}

/* The copies' lines of the summary, and a line on stderr for each store
 * without the image. Returns the number of those stores. */
size_t cli_copy_report(const global_opts *g, fastsnap_result *res)
{
	size_t n = fastsnap_result_copy_count(res);
	for (size_t i = 0; i < n; i++) {
		const char *state, *detail;
		const char *store = fastsnap_result_copy_get(res, i, &state, &detail);
		if (!g->json && !g->quiet)
			printf("copy     %s: %s\n", store, state);
		if (strcmp(state, "done") != 0)
			fprintf(stderr, "%s: image %s is not in store '%s' (%s)%s%s\n", prog,
				fastsnap_result_image_id(res), store, state, detail ? ": " : "",
				detail ? detail : "");
	}
	if (n && !g->json && !g->quiet)
		printf("stores   %s\n", fastsnap_result_stores(res) ? fastsnap_result_stores(res) : "?");
	return fastsnap_result_copy_missing(res);
}

static void copy_usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] copy IMAGE_ID --to STORE[,STORE...]... [--partial]\n"
"                [--wait SECONDS] [--json]\n"
"\n"
"Copies an active Glance image into further stores with Glance's copy-image\n"
"import (POST /v2/images/IMAGE_ID/import), as the glance client's\n"
"image-import with that method does, and waits for each store's copy.\n"
"  --to STORE[,STORE...]   stores to copy the image into (repeatable)\n"
"  --partial               all_stores_must_succeed=false: every store is tried\n"
"                          whatever the others do (default: Glance's true)\n"
"  --wait SECONDS          wait this long for the copies (default 600; 0: do not\n"
"                          wait); Glance goes on copying after the wait\n"
"\n"
"Glance lets only admins copy by default (its copy_image policy).\n"
"Exit status: 0 every store has the image, 1 Glance refused the request\n"
"(nothing was copied), 2 usage error, 5 some store does not have it (failed,\n"
"or still copying at the end of the wait); the JSON's copies say which.\n");
}

int cmd_copy(global_opts *g, int argc, char **argv)
{
	enum { O_TO = 1000, O_PARTIAL, O_WAIT, O_JSON };
	static const struct option lo[] = {
		{ "to", required_argument, NULL, O_TO },
		{ "partial", no_argument, NULL, O_PARTIAL },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cli_copy_list to = { .n = 0 };
	fastsnap_copy_opts o = FASTSNAP_COPY_OPTS_INIT;
	optind = 0;   /* 0: glibc starts afresh, permuting (IMAGE_ID may come first) */
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_TO:
			if (cli_copy_list_add(&to, optarg, "--to") < 0)
				return EXIT_USAGE;
			break;
		case O_PARTIAL: o.all_must_succeed = -1; break;
		case O_WAIT:
			o.wait_s = strtol(optarg, &end, 10);
			if (*end || end == optarg || o.wait_s < 0 || o.wait_s > 86400) {
				fprintf(stderr, "%s: --wait: expected a whole number from 0 to 86400, not '%s'\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			if (o.wait_s == 0)
				o.wait_s = -1;
			break;
		case O_JSON: g->json = 1; break;
		case 'h': copy_usage(stdout); return 0;
		default:
			fprintf(stderr, "%s: try 'fastsnap copy --help'\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: copy: give one image id (then --to STORE)\n", prog);
		return EXIT_USAGE;
	}
	if (!to.n) {
		fprintf(stderr, "%s: copy: --to STORE is required\n", prog);
		return EXIT_USAGE;
	}
	o.image_id = argv[optind];
	o.stores = to.v;
	o.stores_count = to.n;
	o.copy_cb = cli_copy_cb;
	o.copy_payload = g;
	static fastsnap_cancel *token;
	if (!token && fastsnap_cancel_new(&token) < 0)
		return EXIT_FAIL;
	if (cli_signals_start(token, 1) < 0) {
		perror("fastsnap: signal handling");
		return EXIT_FAIL;
	}
	o.cancel = token;
	fastsnap_engine *e = NULL;
	if (cli_open_engine(&e, g) < 0)
		return EXIT_FAIL;
	fastsnap_result *res = NULL;
	int r = fastsnap_copy(&res, e, &o);
	if (g->json && res)
		printf("%s\n", fastsnap_result_json(res));
	int st = 0;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
		st = EXIT_FAIL;
	} else if (cli_copy_report(g, res)) {
		st = EXIT_COPY_INCOMPLETE;
	}
	fastsnap_result_free(res);
	fastsnap_engine_close(e);
	return st;
}
