/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/snapshot.c: `fastsnap snapshot`: parse the options, detach if asked,
 * run (or plan) with progress and freeze/thaw, and report the result.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/detach.h"
#include "cli/hook.h"
#include "cli/progress.h"
#include "cli/signals.h"

typedef struct {
	fastsnap_snapshot_opts o;
	const char *props[128];
	size_t n_props;
	int dry, detach;
	const char *freeze_cmd, *thaw_cmd;
	long hook_timeout_s;      /* --hook-timeout */
	long detach_timeout_s;    /* --detach-timeout */
	int backup;               /* `fastsnap backup` */
	long rotation;            /* -1: not given */
	cli_copy_list copy_to;    /* --copy-to */
} snapshot_args;

static void snapshot_usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] snapshot (--disk POOL/IMAGE | --disk-file PATH) --name NAME\n"
"                [--base-image-ref UUID] [--store ID] [--instance-uuid UUID]\n"
"                [--user-id ID] [--owner-id ID] [--flatten sync|deferred|none]\n"
"                [--disk-format raw|qcow2] [--allow-qcow2-in-rbd]\n"
"                [--property KEY=VALUE]... [--verify-md5]\n"
"                [--read-depth N] [--freeze-cmd CMD [--thaw-cmd CMD]]\n"
"                [--hook-timeout SECONDS] [--detach [--detach-timeout SECONDS]]\n"
"                [--copy-to STORE[,STORE...]]... [--copy-partial] [--copy-wait SECONDS]\n"
"                [--json] [--dry-run]\n"
"\n"
"  --disk POOL/IMAGE       the instance disk in Ceph RBD\n"
"  --disk-file PATH        a raw disk file or block device (streamed)\n"
"  --name NAME             the new Glance image's name\n"
"  --base-image-ref UUID   the image the instance booted from: its store is used,\n"
"                          and its properties are inherited\n"
"  --store ID              the target store (checked before anything is created)\n"
"  --instance-uuid UUID    recorded as instance_uuid\n"
"  --user-id ID, --owner-id ID   recorded as user_id / owner_id\n"
"  --flatten MODE          direct path: sync (default), deferred (active at once,\n"
"                          flattened afterwards) or none (clone format 2, no flatten)\n"
"  --disk-format FORMAT    raw (default; else [libvirt] snapshot_image_format) or\n"
"                          qcow2: streamed as a qcow2 image in one pass, holes left\n"
"                          out (the direct path clones raw images only)\n"
"  --allow-qcow2-in-rbd    allow qcow2 into an rbd store (refused: it defeats\n"
"                          copy-on-write boot)\n"
"  --property KEY=VALUE    an extra image property (repeatable)\n"
"  --verify-md5            also check Glance's md5 checksum (streamed path)\n"
"  --read-depth N          streamed path: reads in flight (default 8)\n"
"  --freeze-cmd CMD        run CMD (sh -c) just before the source is captured (the\n"
"                          temporary snapshot; for --disk-file, the whole read), and\n"
"  --thaw-cmd CMD          CMD right after, also when the run fails; a failing\n"
"                          freeze command stops the run before anything is captured.\n"
"                          Each runs with no inherited descriptor, no blocked signal,\n"
"                          and no OS_PASSWORD, OS_AUTH_TOKEN or other secret in its\n"
"                          environment\n"
"  --hook-timeout SECONDS  stop a freeze or thaw command still running after this\n"
"                          long (default 60): the run fails, and a stopped freeze\n"
"                          is followed by the thaw command\n"
"  --detach                return as soon as the image is active (with --flatten\n"
"                          deferred: before the flatten) and let a background\n"
"                          child finish; a child that dies is gc's to clean up\n"
"  --detach-timeout SECONDS  the --detach parent waits this long for the image\n"
"                          to be active (default 3600); then it stops the child\n"
"                          (SIGTERM: it cleans up), and fails\n"
"  --copy-to STORE[,STORE...]  once the image is active, have Glance copy it into\n"
"                          these stores too (its copy-image import; repeatable;\n"
"                          default [glance] copy_to) and wait for each copy\n"
"  --copy-partial          all_stores_must_succeed=false: every store is tried\n"
"                          whatever the others do (default [glance]\n"
"                          copy_all_must_succeed, else Glance's true)\n"
"  --copy-wait SECONDS     wait this long for the copies (default 600; 0: do not\n"
"                          wait); Glance goes on copying after the wait\n"
"  --dry-run               print the plan (store, path and why); change nothing\n"
"\n"
"Exit status: 0 success, 1 the operation failed (nothing is left), 2 usage\n"
"error, 3 the image was made but the --thaw-cmd failed (the guest may still be\n"
"frozen), 4 the run failed after the image went active: the image is kept,\n"
"marked fastsnap_state=needs-attention, and fastsnap gc finishes the rest;\n"
"5 the image was made (and stands) but is not in every --copy-to store: the\n"
"copies failed or were still going at the end of the wait (the JSON's copies\n"
"and stores say which stores have it);\n"
"129, 130, 143: stopped by SIGHUP, SIGINT or SIGTERM after cleaning up (a\n"
"second signal exits at once and leaves the work for fastsnap gc).\n"
"\n"
"Store policy: --store, else [glance] store, else the base image's store, else\n"
"Glance's default store.\n");
}

static int parse_flatten(const char *s, fastsnap_flatten_mode *m)
{
	if (strcmp(s, "sync") == 0)
		*m = FASTSNAP_FLATTEN_SYNC;
	else if (strcmp(s, "deferred") == 0)
		*m = FASTSNAP_FLATTEN_DEFERRED;
	else if (strcmp(s, "none") == 0)
		*m = FASTSNAP_FLATTEN_NONE;
	else
		return -1;
	return 0;
}

static void print_summary(fastsnap_result *r, int dry)
{
	if (dry) {
		printf("plan (dry run, nothing created):\n");
	} else {
		printf("image    %s\n", fastsnap_result_image_id(r));
	}
	printf("path     %s\n", fastsnap_path_name(fastsnap_result_path(r)));
	printf("store    %s\n", fastsnap_result_store(r) ? fastsnap_result_store(r) : "(Glance's only store)");
	if (fastsnap_result_flatten(r))
		printf("flatten  %s\n", fastsnap_result_flatten(r));
	printf("reason   %s\n", fastsnap_result_reason(r));
	printf("size     %llu bytes\n", (unsigned long long)fastsnap_result_size(r));
	if (dry)
		return;
	if (fastsnap_result_location(r))
		printf("location %s\n", fastsnap_result_location(r));
	if (fastsnap_result_sha512(r))
		printf("sha512   %s\n", fastsnap_result_sha512(r));
	printf("time     %.2f s (active after %.2f s)\n", fastsnap_result_seconds(r),
		fastsnap_result_active_seconds(r));
}

/* Options of `snapshot` (getopt_long). */
enum { O_HOOK_TO = 995, O_DETACH_TO = 996, O_FREEZE = 997, O_THAW = 998, O_DETACH = 999, O_DISK = 1000, O_FILE, O_NAME, O_BASE, O_STORE, O_INST, O_FLAT, O_FMT, O_PROP,
	O_DRY, O_MD5, O_DEPTH, O_USER, O_OWNER, O_JSON, O_BTYPE, O_ROT, O_QRBD, O_COPY_TO, O_COPY_PARTIAL,
	O_COPY_WAIT };
static const struct option snapshot_lo[] = {
	{ "disk", required_argument, NULL, O_DISK },
	{ "disk-file", required_argument, NULL, O_FILE },
	{ "name", required_argument, NULL, O_NAME },
	{ "base-image-ref", required_argument, NULL, O_BASE },
	{ "store", required_argument, NULL, O_STORE },
	{ "instance-uuid", required_argument, NULL, O_INST },
	{ "user-id", required_argument, NULL, O_USER },
	{ "owner-id", required_argument, NULL, O_OWNER },
	{ "flatten", required_argument, NULL, O_FLAT },
	{ "disk-format", required_argument, NULL, O_FMT },
	{ "property", required_argument, NULL, O_PROP },
	{ "dry-run", no_argument, NULL, O_DRY },
	{ "detach", no_argument, NULL, O_DETACH },
	{ "freeze-cmd", required_argument, NULL, O_FREEZE },
	{ "thaw-cmd", required_argument, NULL, O_THAW },
	{ "hook-timeout", required_argument, NULL, O_HOOK_TO },
	{ "detach-timeout", required_argument, NULL, O_DETACH_TO },
	{ "verify-md5", no_argument, NULL, O_MD5 },
	{ "read-depth", required_argument, NULL, O_DEPTH },
	{ "json", no_argument, NULL, O_JSON },
	{ "backup-type", required_argument, NULL, O_BTYPE },
	{ "rotation", required_argument, NULL, O_ROT },
	{ "allow-qcow2-in-rbd", no_argument, NULL, O_QRBD },
	{ "copy-to", required_argument, NULL, O_COPY_TO },
	{ "copy-partial", no_argument, NULL, O_COPY_PARTIAL },
	{ "copy-wait", required_argument, NULL, O_COPY_WAIT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void backup_usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] backup (--disk POOL/IMAGE | --disk-file PATH) --name NAME\n"
"                --instance-uuid UUID --backup-type TYPE --rotation N\n"
"                [every other option of fastsnap snapshot]\n"
"\n"
"A snapshot with image_type=backup and backup_type=TYPE (Nova's createBackup).\n"
"After it completes, rotation keeps the newest N backups of this instance and\n"
"type owned by the new backup's project (Glance's owner) and deletes the\n"
"others (--rotation 0 deletes all of them, the new one included); other\n"
"projects' look-alikes are left alone and not counted; an image that cannot\n"
"be deleted is reported and skipped.\n"
"  --backup-type TYPE      e.g. daily or weekly (required)\n"
"  --rotation N            backups of this instance and type to keep (required, >= 0)\n"
"  --instance-uuid UUID    required: rotation is per instance\n"
"\n"
"See fastsnap snapshot --help for the other options and the exit status.\n");
}

/* `backup` needs its three options; `snapshot` takes none of them. */
static int check_backup_args(snapshot_args *a)
{
	if (!a->backup) {
		if (!a->o.backup_type && a->rotation < 0)
			return -1;
		fprintf(stderr, "%s: snapshot: --backup-type and --rotation belong to 'fastsnap backup'\n",
			prog);
		return EXIT_USAGE;
	}
	if (!a->o.backup_type || a->rotation < 0 || !a->o.instance_uuid) {
		fprintf(stderr, "%s: backup: --backup-type, --rotation and --instance-uuid are required\n",
			prog);
		return EXIT_USAGE;
	}
	a->o.image_type = FASTSNAP_IMAGE_BACKUP;
	return -1;
}

/* Parse; returns -1 to go on, else the exit status (help, usage error). */
/* A whole number in [min, max] from an option's argument, or -1 (printed). */
static long number_arg(const char *opt, const char *arg, long min, long max)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || end == arg || v < min || v > max) {
		fprintf(stderr, "%s: --%s: expected a whole number from %ld to %ld, not '%s'\n", prog, opt,
			min, max, arg);
		return -1;
	}
	return v;
}

/* One option (getopt_long's code c); returns -1 to go on, else the exit status. */
static int parse_one(snapshot_args *a, global_opts *g, int c)
{
	long v;
	switch (c) {
	case O_DISK: a->o.disk = optarg; break;
	case O_FILE: a->o.disk_file = optarg; break;
	case O_NAME: a->o.name = optarg; break;
	case O_BASE: a->o.base_image_ref = optarg; break;
	case O_STORE: a->o.store = optarg; break;
	case O_INST: a->o.instance_uuid = optarg; break;
	case O_USER: a->o.user_id = optarg; break;
	case O_OWNER: a->o.owner_id = optarg; break;
	case O_FLAT:
		if (parse_flatten(optarg, &a->o.flatten) < 0) {
			fprintf(stderr, "%s: --flatten: expected sync, deferred or none, not '%s'\n", prog, optarg);
			return EXIT_USAGE;
		}
		break;
	case O_FMT:
		if (strcmp(optarg, "raw") != 0 && strcmp(optarg, "qcow2") != 0) {
			fprintf(stderr, "%s: --disk-format: expected raw or qcow2, not '%s'\n", prog, optarg);
			return EXIT_USAGE;
		}
		a->o.disk_format = optarg;
		break;
	case O_QRBD: a->o.flags |= FASTSNAP_SNAPSHOT_ALLOW_QCOW2_IN_RBD; break;
	case O_PROP:
		if (a->n_props == sizeof(a->props) / sizeof(a->props[0])) {
			fprintf(stderr, "%s: too many --property options\n", prog);
			return EXIT_USAGE;
		}
		a->props[a->n_props++] = optarg;
		break;
	case O_DRY: a->dry = 1; break;
	case O_DETACH: a->detach = 1; break;
	case O_FREEZE: a->freeze_cmd = optarg; break;
	case O_THAW: a->thaw_cmd = optarg; break;
	case O_HOOK_TO:
		if ((a->hook_timeout_s = number_arg("hook-timeout", optarg, 1, 86400)) < 0)
			return EXIT_USAGE;
		break;
	case O_DETACH_TO:
		if ((a->detach_timeout_s = number_arg("detach-timeout", optarg, 1, 604800)) < 0)
			return EXIT_USAGE;
		break;
	case O_MD5: a->o.verify_md5 = 1; break;
	case O_DEPTH:
		if ((v = number_arg("read-depth", optarg, 1, 256)) < 0)
			return EXIT_USAGE;
		a->o.read_depth = (unsigned int)v;
		break;
	case O_JSON: g->json = 1; break;
	case O_COPY_TO:
		if (cli_copy_list_add(&a->copy_to, optarg, "--copy-to") < 0)
			return EXIT_USAGE;
		break;
	case O_COPY_PARTIAL: a->o.copy_all_must_succeed = -1; break;
	case O_COPY_WAIT:
		if ((v = number_arg("copy-wait", optarg, 0, 86400)) < 0)
			return EXIT_USAGE;
		a->o.copy_wait_s = v ? v : -1;
		break;
	case O_BTYPE: a->o.backup_type = optarg; break;
	case O_ROT:
		if ((a->rotation = number_arg("rotation", optarg, 0, 100000)) < 0)
			return EXIT_USAGE;
		break;
	case 'h':
		a->backup ? backup_usage(stdout) : snapshot_usage(stdout);
		return 0;
	default:
		fprintf(stderr, "%s: try 'fastsnap %s --help'\n", prog, a->backup ? "backup" : "snapshot");
		return EXIT_USAGE;
	}
	return -1;
}

/* 8-4-4-4-12 hex digits. */
static int is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return 0;
	return 1;
}

/* Parse; returns -1 to go on, else the exit status (help, usage error). */
static int parse_args(snapshot_args *a, int backup, global_opts *g, int argc, char **argv)
{
	fastsnap_snapshot_opts init = FASTSNAP_SNAPSHOT_OPTS_INIT;
	memset(a, 0, sizeof(*a));
	a->o = init;
	a->backup = backup;
	a->rotation = -1;
	a->hook_timeout_s = CLI_HOOK_TIMEOUT_DEFAULT_S;
	a->detach_timeout_s = CLI_DETACH_TIMEOUT_DEFAULT_S;
	optind = 1;
	int c, st;
	while ((c = getopt_long(argc, argv, "h", snapshot_lo, NULL)) != -1)
		if ((st = parse_one(a, g, c)) >= 0)
			return st;
	const char *cmd = backup ? "backup" : "snapshot";
	if (optind < argc) {
		fprintf(stderr, "%s: %s: unexpected argument '%s'\n", prog, cmd, argv[optind]);
		return EXIT_USAGE;
	}
	if (!a->o.disk == !a->o.disk_file) {
		fprintf(stderr, "%s: %s: give exactly one of --disk POOL/IMAGE or --disk-file PATH\n", prog, cmd);
		return EXIT_USAGE;
	}
	if (!a->o.name) {
		fprintf(stderr, "%s: %s: --name is required\n", prog, cmd);
		return EXIT_USAGE;
	}
	if (a->o.base_image_ref && !is_uuid(a->o.base_image_ref)) {
		fprintf(stderr, "%s: %s: --base-image-ref '%s' is not an image id (a UUID)\n", prog, cmd,
			a->o.base_image_ref);
		return EXIT_USAGE;
	}
	a->o.properties = a->props;
	a->o.properties_count = a->n_props;
	if (a->copy_to.n) {
		a->o.copy_to = a->copy_to.v;
		a->o.copy_to_count = a->copy_to.n;
	}
	a->o.copy_cb = cli_copy_cb;
	a->o.copy_payload = g;
	if ((st = check_backup_args(a)) >= 0)
		return st;
	if (a->thaw_cmd && !a->freeze_cmd) {
		fprintf(stderr, "%s: %s: --thaw-cmd needs --freeze-cmd\n", prog, cmd);
		return EXIT_USAGE;
	}
	return -1;
}

/* The result as JSON, with what only the command knows (freeze_error,
 * thaw_error). */
static void print_json(fastsnap_result *res, const cli_progress *p, const cJSON *rot)
{
	const char *txt = fastsnap_result_json(res);
	cJSON *o = txt ? cJSON_Parse(txt) : NULL;
	if (o && p->freeze_error)
		cJSON_AddStringToObject(o, "freeze_error", p->freeze_error);
	if (o && p->thaw_error)
		cJSON_AddStringToObject(o, "thaw_error", p->thaw_error);
	const cJSON *ritem = rot ? cJSON_GetObjectItemCaseSensitive(rot, "rotation") : NULL;
	if (o && ritem)
		cJSON_AddItemToObject(o, "rotation", cJSON_Duplicate(ritem, 1));
	char *out = o ? cJSON_PrintUnformatted(o) : NULL;
	printf("%s\n", out ? out : txt ? txt : "{}");
	free(out);
	cJSON_Delete(o);
}

/* After a signal: what the clean-up removed (or that the image was kept). */
static void report_signal(fastsnap_result *res, int sig)
{
	fprintf(stderr, "%s: stopped by %s\n", prog, strsignal(sig));
	for (size_t i = 0; i < fastsnap_result_cleanup_count(res); i++)
		fprintf(stderr, "%s: removed: %s\n", prog, fastsnap_result_cleanup_get(res, i));
}

static int report(global_opts *g, const snapshot_args *a, const cli_progress *p,
	fastsnap_result *res, int r, const cJSON *rot)
{
	if (g->json && res)
		print_json(res, p, rot);
	int sig = cli_signals_caught();
	if (r < 0 && sig) {
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
		report_signal(res, sig);
		return 128 + sig;
	}
	if (r < 0 && !p->freeze_failed)
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
	else if (r == 0 && !g->json && !g->quiet)
		print_summary(res, a->dry);
	if (r < 0)
		return fastsnap_result_needs_attention(res) ? EXIT_KEPT : EXIT_FAIL;
	size_t missing = a->dry ? 0 : cli_copy_report(g, res);
	if (p->thaw_error) {
		fprintf(stderr, "%s: the image was made, but %s: the guest may still be frozen\n", prog,
			p->thaw_error);
		return EXIT_THAW_FAILED;
	}
	return missing ? EXIT_COPY_INCOMPLETE : 0;
}

/* After a backup that completed: rotate, and add what it did to the JSON. */
static int rotate(global_opts *g, fastsnap_engine *e, const snapshot_args *a,
	const fastsnap_result *res, cJSON *out)
{
	fastsnap_rotation *rot = NULL;
	/* within the new backup's owner (docs/operations.md, "Backups") */
	int r = fastsnap_rotate_backups_after(&rot, e, fastsnap_result_image_id(res),
		(unsigned int)a->rotation);
	if (r < 0) {
		fprintf(stderr, "%s: backup rotation: %s\n", prog, fastsnap_error_last());
	} else {
		for (size_t i = 0; i < fastsnap_rotation_skipped_count(rot); i++) {
			const char *why = NULL;
			const char *id = fastsnap_rotation_skipped_get(rot, i, &why);
			fprintf(stderr, "%s: rotation skipped %s: %s\n", prog, id, why);
		}
		if (!g->json && !g->quiet)
			printf("rotation deleted %zu, skipped %zu (owner %s; %zu of other owners left alone)\n",
				fastsnap_rotation_deleted_count(rot), fastsnap_rotation_skipped_count(rot),
				fastsnap_rotation_owner(rot), fastsnap_rotation_other_owners(rot));
		if (out)
			cJSON_AddItemToObject(out, "rotation", cJSON_Parse(fastsnap_rotation_json(rot)));
	}
	fastsnap_rotation_free(rot);
	return r < 0 ? EXIT_FAIL : 0;
}

static int snapshot_or_backup(global_opts *g, int argc, char **argv, int backup)
{
	snapshot_args a;
	int st = parse_args(&a, backup, g, argc, argv);
	if (st >= 0)
		return st;
	cli_detach d = { -1, 0 };
	if (a.detach && !a.dry) {
		if ((st = cli_detach_fork(&d, g, a.detach_timeout_s)) >= 0)
			return st;
		a.o.active_cb = cli_detach_active;
		a.o.active_payload = &d;
	}
	/* Lives as long as the process: the signal thread may still use it. */
	static fastsnap_cancel *token;
	if (!token && fastsnap_cancel_new(&token) < 0)
		return EXIT_FAIL;
	if (cli_signals_start(token, !a.detach) < 0) {
		perror("fastsnap: signal handling");
		return EXIT_FAIL;
	}
	a.o.cancel = token;
	cli_progress p;
	cli_progress_init(&p, isatty(2) && !g->quiet && !g->json, a.dry ? NULL : a.freeze_cmd,
		a.thaw_cmd);
	a.o.progress_cb = cli_progress_cb;
	a.o.progress_payload = &p;
	a.o.capture_cb = cli_capture_cb;
	a.o.capture_payload = &p;
	p.hook_timeout_s = a.hook_timeout_s;
	p.cancel = token;

	fastsnap_engine *e = NULL;
	if (cli_open_engine(&e, g) < 0) {
		cli_detach_error(&d, fastsnap_error_last());
		cli_progress_free(&p);
		return EXIT_FAIL;
	}
	fastsnap_result *res = NULL;
	int r = a.dry ? fastsnap_plan(&res, e, &a.o) : fastsnap_snapshot(&res, e, &a.o);
	if (r < 0 && p.freeze_failed)
		fastsnap_error_clear();
	if (r < 0)
		cli_detach_error(&d, fastsnap_error_last());
	else if (d.fd >= 0)
		cli_detach_active(fastsnap_result_image_id(res), &d);
	cJSON *rot = NULL;
	if (r == 0 && a.backup && !a.dry && (rot = cJSON_CreateObject()) &&
	    rotate(g, e, &a, res, rot) != 0)
		r = FASTSNAP_ERROR;
	if (a.detach && !a.dry && res)   /* the background child's record */
		cli_detach_record(fastsnap_result_image_id(res), fastsnap_result_json(res), r == 0);
	st = report(g, &a, &p, res, r, rot);
	cJSON_Delete(rot);
	fastsnap_result_free(res);
	fastsnap_engine_close(e);
	cli_progress_free(&p);
	return st;
}

int cmd_snapshot(global_opts *g, int argc, char **argv)
{
	return snapshot_or_backup(g, argc, argv, 0);
}

int cmd_backup(global_opts *g, int argc, char **argv)
{
	return snapshot_or_backup(g, argc, argv, 1);
}
