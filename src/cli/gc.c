/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/gc.c: `fastsnap gc`: find and remove (or finish) what interrupted
 * runs left; a report as lines or JSON. Exit 0 when everything found was
 * handled, 1 when something could not be.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define STATE_NAME "gc-state.json"

static void gc_usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] gc [--dry-run] [--older-than SECONDS]\n"
"                [--state-file PATH] [--pool POOL]... [--json]\n"
"\n"
"Finds what interrupted fastsnap runs left (temporary snapshots, tagged clones,\n"
"per-run tags on disks, Glance images marked in-progress or needs-attention)\n"
"and, for each run whose owner is dead, finishes it (its image is active: an\n"
"interrupted flatten is finished, the temporary snapshot removed) or rolls it\n"
"back. A live run is never touched, nor anything fastsnap did not create, nor\n"
"a finished image (see docs/operations.md). One gc at a time per pool.\n"
"\n"
"  --dry-run            list what would be done; change nothing\n"
"  --older-than S       a run on another host is dead when its heartbeat did\n"
"                       not move between two gc runs S seconds apart (default\n"
"                       600; at least 4 heartbeat periods, 20 s by default)\n"
"  --state-file PATH    heartbeat readings kept between runs (default\n"
"                       $FASTSNAP_STATE_DIR/" STATE_NAME ", else /var/lib/fastsnap/\n"
"                       " STATE_NAME "; gc does nothing when it cannot write there)\n"
"  --pool POOL          also scan POOL (repeatable); [libvirt] images_rbd_pool\n"
"                       and the pools of Glance's rbd stores are always scanned\n"
"  --json               one JSON report on stdout\n"
"\n"
"Exit status: 0 everything found was handled (live runs are left alone), 1 an\n"
"action failed or the scan could not run, 2 usage error.\n");
}

static void print_report(const fastsnap_gc_report *r)
{
	for (size_t i = 0; i < fastsnap_gc_report_count(r); i++) {
		const char *action = NULL, *detail = NULL;
		const char *what = fastsnap_gc_report_get(r, i, &action, &detail);
		printf("%-10s %s%s%s%s\n", action, what, detail && *detail ? " (" : "",
			detail ? detail : "", detail && *detail ? ")" : "");
	}
	if (!fastsnap_gc_report_count(r))
		printf("nothing to do\n");
}

int cmd_gc(global_opts *g, int argc, char **argv)
{
	enum { O_DRY = 1000, O_OLDER, O_STATE, O_POOL, O_JSON };
	static const struct option lo[] = {
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "older-than", required_argument, NULL, O_OLDER },
		{ "state-file", required_argument, NULL, O_STATE },
		{ "pool", required_argument, NULL, O_POOL },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	fastsnap_gc_opts o = FASTSNAP_GC_OPTS_INIT;
	const char *pools[32];
	size_t np = 0;
	const char *sd = getenv("FASTSNAP_STATE_DIR");
	char def_state[4096];
	snprintf(def_state, sizeof(def_state), "%s/%s", sd && *sd ? sd : "/var/lib/fastsnap",
		STATE_NAME);
	o.state_file = def_state;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_DRY: o.dry_run = 1; break;
		case O_OLDER:
			o.older_than_s = strtol(optarg, &end, 10);
			if (*end || o.older_than_s < 1) {
				fprintf(stderr, "%s: --older-than: expected seconds >= 1, not '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case O_STATE: o.state_file = optarg; break;
		case O_POOL:
			if (np == sizeof(pools) / sizeof(pools[0])) {
				fprintf(stderr, "%s: too many --pool options\n", prog);
				return EXIT_USAGE;
			}
			pools[np++] = optarg;
			break;
		case O_JSON: g->json = 1; break;
		case 'h': gc_usage(stdout); return 0;
		default:
			fprintf(stderr, "%s: try 'fastsnap gc --help'\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: gc: unexpected argument '%s'\n", prog, argv[optind]);
		return EXIT_USAGE;
	}
	o.pools = pools;
	o.pools_count = np;
	fastsnap_engine *e = NULL;
	if (cli_open_engine(&e, g) < 0)
		return EXIT_FAIL;
	fastsnap_gc_report *r = NULL;
	int rc = fastsnap_gc(&r, e, &o);
	if (g->json && rc == 0)
		printf("%s\n", fastsnap_gc_report_json(r));
	else if (rc == 0 && !g->quiet)
		print_report(r);
	if (rc < 0)
		cli_error(g, fastsnap_error_last(), rc);
	int failed = rc < 0 || fastsnap_gc_report_failed(r) > 0;
	fastsnap_gc_report_free(r);
	fastsnap_engine_close(e);
	/* EINVAL: the options (--older-than below its floor, no pool) */
	return rc == FASTSNAP_EINVAL ? EXIT_USAGE : failed ? EXIT_FAIL : 0;
}
