/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/main.c: the fastsnap command's entry: global options, then the
 * command (stores.c, snapshot.c). The command owns the terminal: progress
 * on a TTY, a human summary or one JSON object, and meaningful exit codes
 * (0 success, 1 the operation failed, 2 usage error, 3 the image was made
 * but the thaw command failed).
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] COMMAND [command options]\n"
"\n"
"Turn a Ceph RBD (or raw file) instance disk into a Glance image: clone\n"
"inside Ceph when the target store is RBD in the same cluster, else stream.\n"
"\n"
"Commands:\n"
"  stores      list Glance's stores (id, default, read-only, type, pool)\n"
"  snapshot    snapshot a disk into a Glance image (see fastsnap snapshot --help)\n"
"  backup      a snapshot with image_type=backup, then rotation (fastsnap backup --help)\n"
"  gc          find and clean up what interrupted runs left (fastsnap gc --help)\n"
"  status      the final result of a --detach run (fastsnap status --help)\n"
"  copy        copy an image into further stores with Glance (fastsnap copy --help)\n"
"\n"
"Global options:\n"
"  --config FILE           nova.conf-style config ([glance], [libvirt]; env FASTSNAP_CONFIG)\n"
"  --glance-url URL        Glance endpoint (env FASTSNAP_GLANCE_URL; else [glance] api_servers,\n"
"                          else the Keystone catalog)\n"
"  --glance-header 'N: v'  extra header on every Glance request (repeatable;\n"
"                          env FASTSNAP_GLANCE_HEADERS='N: v|N: v')\n"
"  --os-token-file FILE    Keystone token read from FILE ('-': standard input); or env\n"
"                          OS_AUTH_TOKEN, or OS_AUTH_URL, OS_USERNAME, ...\n"
"  --os-token TOKEN        the same on the command line, where other local users can\n"
"                          read it (a warning is printed: prefer --os-token-file)\n"
"  --os-cacert FILE        CA bundle for TLS (env OS_CACERT)\n"
"  --os-cert FILE, --os-key FILE  TLS client certificate and key (env OS_CERT, OS_KEY)\n"
"  --insecure              do not verify TLS certificates\n"
"  --ceph-conf FILE        ceph.conf (env CEPH_CONF; else [libvirt] images_rbd_ceph_conf)\n"
"  --ceph-user NAME        Ceph user without 'client.' (env FASTSNAP_CEPH_USER; else\n"
"                          [libvirt] rbd_user, else admin)\n"
"  --keyring FILE          Ceph keyring (env FASTSNAP_CEPH_KEYRING)\n"
"  --json                  print one JSON object on stdout\n"
"  -v, --verbose           log details to stderr (secrets are never logged)\n"
"  -q, --quiet             no progress, no summary\n"
"  --version               print the version\n"
"  -h, --help              this help\n"
"\n"
"Exit status: 0 success, 1 the operation failed, 2 usage error, 3 the image\n"
"was made but the --thaw-cmd failed, 4 the run failed after the image went\n"
"active (the image is kept and marked; see fastsnap gc), 5 the image was made\n"
"but is not in every store --copy-to (or copy --to) named.\n");
}

/* Global options (getopt_long). */
enum { O_CONFIG = 1000, O_URL, O_HDR, O_TOKEN, O_CONF, O_USER, O_KEYRING, O_JSON,
	O_VERSION, O_INSECURE, O_CACERT, O_CERT, O_KEY, O_TOKEN_FILE };
static const struct option global_lo[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "glance-url", required_argument, NULL, O_URL },
	{ "glance-header", required_argument, NULL, O_HDR },
	{ "os-token", required_argument, NULL, O_TOKEN },
	{ "os-token-file", required_argument, NULL, O_TOKEN_FILE },
	{ "os-cacert", required_argument, NULL, O_CACERT },
	{ "os-cert", required_argument, NULL, O_CERT },
	{ "os-key", required_argument, NULL, O_KEY },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "ceph-conf", required_argument, NULL, O_CONF },
	{ "ceph-user", required_argument, NULL, O_USER },
	{ "keyring", required_argument, NULL, O_KEYRING },
	{ "json", no_argument, NULL, O_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, O_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int run_command(global_opts *g, int sub_argc, char **sub_argv);

/* Parse the global options; returns -1 to go on, else the exit status. */
static int parse_globals(global_opts *g, int argc, char **argv)
{
	int c;
	argv[0] = (char *)prog; /* getopt's messages say "fastsnap:", not the path */
	/* "+": stop at the command name; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+vqh", global_lo, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: g->config = optarg; break;
		case O_URL: g->glance_url = optarg; break;
		case O_HDR:
			if (g->n_headers == sizeof(g->headers) / sizeof(g->headers[0])) {
				fprintf(stderr, "%s: too many --glance-header options\n", prog);
				return EXIT_USAGE;
			}
			if (strpbrk(optarg, "\r\n")) {
				fprintf(stderr, "%s: --glance-header: a header may not contain CR or LF\n", prog);
				return EXIT_USAGE;
			}
			g->headers[g->n_headers++] = optarg;
			break;
		case O_TOKEN:
			if (cli_token_from_argv(g, optarg) < 0)
				return EXIT_FAIL;
			break;
		case O_TOKEN_FILE:
			if (cli_token_from_file(g, optarg) < 0)
				return EXIT_FAIL;
			break;
		case O_CACERT: g->ca_file = optarg; break;
		case O_CERT: g->client_cert = optarg; break;
		case O_KEY: g->client_key = optarg; break;
		case O_INSECURE: g->insecure = 1; break;
		case O_CONF: g->ceph_conf = optarg; break;
		case O_USER: g->ceph_user = optarg; break;
		case O_KEYRING: g->keyring = optarg; break;
		case O_JSON: g->json = 1; break;
		case 'v': g->verbose++; break;
		case 'q': g->quiet = 1; break;
		case O_VERSION: printf("fastsnap %s\n", fastsnap_version(NULL, NULL, NULL)); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "%s: try 'fastsnap --help'\n", prog);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	/* librados allocates a 4 MiB buffer per object read. glibc's dynamic
	 * mmap threshold would then serve them from the heap, which keeps
	 * growing with the disk size; a fixed threshold returns them to the
	 * system when freed, so peak memory stays bounded by the read window.
	 * Process-wide, hence here and not in the library. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* no core dump while the process holds secrets (docs/reliability.md) */
	cli_refuse_core_dumps();
	global_opts g;
	memset(&g, 0, sizeof(g));
	int st = parse_globals(&g, argc, argv);
	if (st < 0 && optind >= argc) {
		fprintf(stderr, "%s: no command given (try 'fastsnap --help')\n", prog);
		st = EXIT_USAGE;
	}
	if (st < 0)
		st = run_command(&g, argc - optind, argv + optind);
	cli_secrets_free(&g);
	return st;
}

static int run_command(global_opts *g, int sub_argc, char **sub_argv)
{
	const char *cmd = sub_argv[0];
	if (strcmp(cmd, "stores") == 0)
		return cmd_stores(g, sub_argc, sub_argv);
	if (strcmp(cmd, "snapshot") == 0)
		return cmd_snapshot(g, sub_argc, sub_argv);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(g, sub_argc, sub_argv);
	if (strcmp(cmd, "gc") == 0)
		return cmd_gc(g, sub_argc, sub_argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(g, sub_argc, sub_argv);
	if (strcmp(cmd, "copy") == 0)
		return cmd_copy(g, sub_argc, sub_argv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s' (try 'fastsnap --help')\n", prog, cmd);
	return EXIT_USAGE;
}
