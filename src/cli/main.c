/*
 * cli/main.c: the fastsnap command. Parses the command line, opens an
 * engine, runs `stores` or `snapshot`, and owns the terminal: progress on
 * a TTY, a human summary or one JSON object, and meaningful exit codes
 * (0 success, 1 the operation failed, 2 usage error).
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fastsnap.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

typedef struct {
	const char *config;
	const char *glance_url;
	const char *os_token;
	const char *ceph_conf;
	const char *ceph_user;
	const char *keyring;
	const char *headers[64];
	size_t n_headers;
	int json;
	int verbose;
	int quiet;
	int insecure;
	const char *ca_file;
	const char *client_cert;
	const char *client_key;
} global_opts;

static const char *prog = "fastsnap";

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
"\n"
"Global options:\n"
"  --config FILE           nova.conf-style config ([glance], [libvirt]; env FASTSNAP_CONFIG)\n"
"  --glance-url URL        Glance endpoint (env FASTSNAP_GLANCE_URL; else [glance] api_servers,\n"
"                          else the Keystone catalog)\n"
"  --glance-header 'N: v'  extra header on every Glance request (repeatable;\n"
"                          env FASTSNAP_GLANCE_HEADERS='N: v|N: v')\n"
"  --os-token TOKEN        Keystone token (env OS_AUTH_TOKEN); or OS_AUTH_URL, OS_USERNAME, ...\n"
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
"Exit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

static void snapshot_usage(FILE *f)
{
	fprintf(f,
"usage: fastsnap [global options] snapshot (--disk POOL/IMAGE | --disk-file PATH) --name NAME\n"
"                [--base-image-ref UUID] [--store ID] [--instance-uuid UUID]\n"
"                [--user-id ID] [--owner-id ID] [--flatten sync|deferred|none]\n"
"                [--disk-format raw] [--property KEY=VALUE]... [--verify-md5]\n"
"                [--read-depth N] [--freeze-cmd CMD [--thaw-cmd CMD]] [--detach]\n"
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
"  --disk-format raw       only raw is supported\n"
"  --property KEY=VALUE    an extra image property (repeatable)\n"
"  --verify-md5            also check Glance's md5 checksum (streamed path)\n"
"  --read-depth N          streamed path: reads in flight (default 8)\n"
"  --freeze-cmd CMD        run CMD (sh -c) just before the source is captured (the\n"
"                          temporary snapshot; for --disk-file, the whole read), and\n"
"  --thaw-cmd CMD          CMD right after, also when the run fails; a failing\n"
"                          freeze command stops the run before anything is captured\n"
"  --detach                return as soon as the image is active (with --flatten\n"
"                          deferred: before the flatten) and let a background\n"
"                          child finish; a child that dies is gc's to clean up\n"
"  --dry-run               print the plan (store, path and why); change nothing\n"
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

static void log_cb(fastsnap_log_level level, const char *msg, void *payload)
{
	const global_opts *g = payload;
	static const char *names[] = { "error", "warning", "info", "debug" };
	if ((int)level <= FASTSNAP_LOG_WARN || g->verbose)
		fprintf(stderr, "%s: %s: %s\n", prog, names[level], msg);
}

/* With --json, a failure still gives scripts one object on stdout.
 * `code` 0: no error_code field. */
static void json_error(const global_opts *g, const char *msg, int code)
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

static int open_engine(fastsnap_engine **e, global_opts *g)
{
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
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
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
		json_error(g, fastsnap_error_last(), r);
	}
	return r;
}

static int cmd_stores(global_opts *g, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: fastsnap [global options] stores\n\nLists Glance's stores: id, "
				"default, read-only, and type and pool when stores/detail is readable.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			g->json = 1;
			continue;
		}
		fprintf(stderr, "%s: stores: unknown argument '%s'\n", prog, argv[i]);
		return EXIT_USAGE;
	}
	fastsnap_engine *e = NULL;
	if (open_engine(&e, g) < 0)
		return EXIT_FAIL;
	fastsnap_store_list *l = NULL;
	int r = fastsnap_stores_list(&l, e);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
		json_error(g, fastsnap_error_last(), r);
		fastsnap_engine_close(e);
		return EXIT_FAIL;
	}
	size_t n = fastsnap_store_list_count(l);
	if (g->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "fsid", fastsnap_engine_fsid(e));
		cJSON *arr = cJSON_AddArrayToObject(o, "stores");
		for (size_t i = 0; i < n; i++) {
			const fastsnap_store *s = fastsnap_store_list_get(l, i);
			cJSON *so = cJSON_CreateObject();
			cJSON_AddStringToObject(so, "id", s->id);
			cJSON_AddBoolToObject(so, "default", s->is_default);
			cJSON_AddBoolToObject(so, "read_only", s->read_only);
			if (s->type)
				cJSON_AddStringToObject(so, "type", s->type);
			if (s->pool)
				cJSON_AddStringToObject(so, "pool", s->pool);
			if (s->description)
				cJSON_AddStringToObject(so, "description", s->description);
			cJSON_AddItemToArray(arr, so);
		}
		char *txt = cJSON_PrintUnformatted(o);
		printf("%s\n", txt);
		free(txt);
		cJSON_Delete(o);
	} else {
		printf("Ceph cluster fsid: %s\n", fastsnap_engine_fsid(e));
		printf("%-12s %-8s %-10s %-6s %s\n", "STORE", "DEFAULT", "READ-ONLY", "TYPE", "POOL");
		for (size_t i = 0; i < n; i++) {
			const fastsnap_store *s = fastsnap_store_list_get(l, i);
			printf("%-12s %-8s %-10s %-6s %s\n", s->id, s->is_default ? "yes" : "no",
				s->read_only ? "yes" : "no", s->type ? s->type : "?", s->pool ? s->pool : "-");
		}
		if (!fastsnap_store_list_has_detail(l))
			printf("(type and pool unknown: this identity may not read /v2/info/stores/detail)\n");
	}
	fastsnap_store_list_free(l);
	fastsnap_engine_close(e);
	return 0;
}

typedef struct {
	int tty;
	fastsnap_step last;
	int drawn;
	/* --freeze-cmd / --thaw-cmd around the moment the source is captured:
	 * the temporary snapshot of an RBD disk, the whole read of a file. */
	const char *freeze_cmd;
	const char *thaw_cmd;
	fastsnap_step window;
	int frozen;
	int freeze_failed;
} progress_state;

static int run_hook(const char *what, const char *cmd)
{
	fflush(NULL);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s: %s '%s' failed (%s %d)\n", prog, what, cmd,
			st != -1 && WIFEXITED(st) ? "exit status" : "status", st != -1 && WIFEXITED(st) ?
			WEXITSTATUS(st) : st);
		return -1;
	}
	return 0;
}

static void thaw(progress_state *ps)
{
	if (!ps->frozen)
		return;
	ps->frozen = 0;
	if (ps->thaw_cmd)
		run_hook("--thaw-cmd", ps->thaw_cmd);
}

/* Step boundaries arrive as (done, total) = (0, 1) and (1, 1). */
static int hooks(progress_state *ps, fastsnap_step step, uint64_t done, uint64_t total)
{
	if (!ps->freeze_cmd || step != ps->window || total != 1)
		return 0;
	if (done == 0 && !ps->frozen) {
		if (run_hook("--freeze-cmd", ps->freeze_cmd) < 0) {
			ps->freeze_failed = 1;
			return 1; /* cancel: nothing is captured unfrozen */
		}
		ps->frozen = 1;
	} else if (done == 1) {
		thaw(ps);
	}
	return 0;
}

static int progress_cb(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	progress_state *ps = payload;
	if (hooks(ps, step, done, total))
		return 1;
	if (!ps->tty)
		return 0;
	/* Only long steps get a bar; the others a single line. */
	if (step == FASTSNAP_STEP_FLATTEN || step == FASTSNAP_STEP_STREAM) {
		if (total > 1) {
			int pct = (int)(total ? done * 100 / total : 0);
			int w = pct / 4;
			fprintf(stderr, "\r%-12s [%.*s%*s] %3d%% %llu/%llu MiB", fastsnap_step_name(step), w,
				"=========================", 25 - w, "", pct,
				(unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
			ps->drawn = done != total;
			if (done == total)
				fprintf(stderr, "\n");
			fflush(stderr);
			return 0;
		}
	}
	if (done == 0 && step != ps->last) {
		if (ps->drawn)
			fprintf(stderr, "\n");
		ps->drawn = 0;
		fprintf(stderr, "%s...\n", fastsnap_step_name(step));
		ps->last = step;
	}
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

/* --detach: the run happens in a child; the parent returns when the child
 * reports the image active (or fails before that). */
typedef struct {
	int fd;           /* write end of the pipe to the parent, -1 once used */
	double t0;
} detach_state;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void detach_tell(detach_state *d, const char *line)
{
	if (d->fd < 0)
		return;
	size_t n = strlen(line);
	ssize_t w = write(d->fd, line, n);
	(void)w;
	close(d->fd);
	d->fd = -1;
}

static void detach_active(const char *image_id, void *payload)
{
	detach_state *d = payload;
	char line[256];
	snprintf(line, sizeof(line), "ACTIVE %s %.3f\n", image_id, now_s() - d->t0);
	detach_tell(d, line);
}

/* Parent side: wait for the child's first line and report it. */
static int detach_wait(global_opts *g, int fd, pid_t child)
{
	char line[2048] = "";
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(line) - 1 && (r = read(fd, line + n, sizeof(line) - 1 - n)) > 0)
		n += (size_t)r;
	line[n] = '\0';
	close(fd);
	char id[128];
	double active = 0;
	if (sscanf(line, "ACTIVE %127s %lf", id, &active) == 2) {
		if (g->json)
			printf("{\"image_id\":\"%s\",\"detached\":true,\"pid\":%ld,\"active_seconds\":%.3f}\n",
				id, (long)child, active);
		else if (!g->quiet)
			printf("image    %s (active after %.2f s; pid %ld finishes in the background)\n", id,
				active, (long)child);
		return 0;
	}
	/* The child failed before the image was active: it is done, reap it. */
	waitpid(child, NULL, 0);
	line[strcspn(line, "\n")] = '\0';
	const char *msg = strncmp(line, "ERROR ", 6) == 0 ? line + 6 :
		"the background run ended before the image was active";
	fprintf(stderr, "%s: %s\n", prog, msg);
	json_error(g, msg, 0);
	return EXIT_FAIL;
}

static int cmd_snapshot(global_opts *g, int argc, char **argv)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	const char *props[128];
	size_t n_props = 0;
	int dry = 0, detach = 0;
	const char *freeze_cmd = NULL, *thaw_cmd = NULL;
	enum { O_FREEZE = 997, O_THAW = 998, O_DETACH = 999, O_DISK = 1000, O_FILE, O_NAME, O_BASE, O_STORE, O_INST, O_FLAT, O_FMT, O_PROP,
		O_DRY, O_MD5, O_DEPTH, O_USER, O_OWNER, O_JSON };
	static const struct option lo[] = {
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
		{ "verify-md5", no_argument, NULL, O_MD5 },
		{ "read-depth", required_argument, NULL, O_DEPTH },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_DISK: o.disk = optarg; break;
		case O_FILE: o.disk_file = optarg; break;
		case O_NAME: o.name = optarg; break;
		case O_BASE: o.base_image_ref = optarg; break;
		case O_STORE: o.store = optarg; break;
		case O_INST: o.instance_uuid = optarg; break;
		case O_USER: o.user_id = optarg; break;
		case O_OWNER: o.owner_id = optarg; break;
		case O_FLAT:
			if (parse_flatten(optarg, &o.flatten) < 0) {
				fprintf(stderr, "%s: --flatten: expected sync, deferred or none, not '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case O_FMT: o.disk_format = optarg; break;
		case O_PROP:
			if (n_props == sizeof(props) / sizeof(props[0])) {
				fprintf(stderr, "%s: too many --property options\n", prog);
				return EXIT_USAGE;
			}
			props[n_props++] = optarg;
			break;
		case O_DRY: dry = 1; break;
		case O_DETACH: detach = 1; break;
		case O_FREEZE: freeze_cmd = optarg; break;
		case O_THAW: thaw_cmd = optarg; break;
		case O_MD5: o.verify_md5 = 1; break;
		case O_DEPTH: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 256) {
				fprintf(stderr, "%s: --read-depth: expected 1..256, not '%s'\n", prog, optarg);
				return EXIT_USAGE;
			}
			o.read_depth = (unsigned int)v;
			break;
		}
		case O_JSON: g->json = 1; break;
		case 'h': snapshot_usage(stdout); return 0;
		default:
			fprintf(stderr, "%s: try 'fastsnap snapshot --help'\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: snapshot: unexpected argument '%s'\n", prog, argv[optind]);
		return EXIT_USAGE;
	}
	if (!o.disk == !o.disk_file) {
		fprintf(stderr, "%s: snapshot: give exactly one of --disk POOL/IMAGE or --disk-file PATH\n", prog);
		return EXIT_USAGE;
	}
	if (!o.name) {
		fprintf(stderr, "%s: snapshot: --name is required\n", prog);
		return EXIT_USAGE;
	}
	o.properties = props;
	o.properties_count = n_props;
	if (thaw_cmd && !freeze_cmd) {
		fprintf(stderr, "%s: snapshot: --thaw-cmd needs --freeze-cmd\n", prog);
		return EXIT_USAGE;
	}
	progress_state ps = { isatty(2) && !g->quiet && !g->json, FASTSNAP_STEP__COUNT, 0,
		dry ? NULL : freeze_cmd, thaw_cmd,
		o.disk ? FASTSNAP_STEP_TMP_SNAP : FASTSNAP_STEP_STREAM, 0, 0 };
	o.progress_cb = progress_cb;
	o.progress_payload = &ps;

	detach_state ds = { -1, now_s() };
	if (detach && !dry) {
		/* Fork before the engine exists: no library threads yet. */
		int p[2];
		if (pipe(p) < 0) {
			perror("fastsnap: pipe");
			return EXIT_FAIL;
		}
		fflush(NULL);
		pid_t child = fork();
		if (child < 0) {
			perror("fastsnap: fork");
			return EXIT_FAIL;
		}
		if (child > 0) {
			close(p[1]);
			return detach_wait(g, p[0], child);
		}
		close(p[0]);
		setsid();
		signal(SIGHUP, SIG_IGN);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		ds.fd = p[1];
		o.active_cb = detach_active;
		o.active_payload = &ds;
		ps.tty = 0;
		g->json = 0;
		g->quiet = 1;
	}

	fastsnap_engine *e = NULL;
	if (open_engine(&e, g) < 0) {
		char line[1100];
		snprintf(line, sizeof(line), "ERROR %s\n", fastsnap_error_last());
		detach_tell(&ds, line);
		return EXIT_FAIL;
	}
	fastsnap_result *res = NULL;
	int r = dry ? fastsnap_plan(&res, e, &o) : fastsnap_snapshot(&res, e, &o);
	thaw(&ps); /* a run that failed inside the window still thaws */
	if (r < 0 && ps.freeze_failed)
		fastsnap_error_clear();
	if (r < 0) {
		char line[1100];
		snprintf(line, sizeof(line), "ERROR %s\n", fastsnap_error_last());
		detach_tell(&ds, line);
	} else if (ds.fd >= 0) {
		detach_active(fastsnap_result_image_id(res), &ds);
	}
	if (g->json && res)
		printf("%s\n", fastsnap_result_json(res));
	if (r < 0 && !ps.freeze_failed) {
		fprintf(stderr, "%s: %s\n", prog, fastsnap_error_last());
	} else if (r == 0 && !g->json && !g->quiet) {
		print_summary(res, dry);
	}
	fastsnap_result_free(res);
	fastsnap_engine_close(e);
	return r < 0 ? EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	/* librados allocates a 4 MiB buffer per object read. glibc's dynamic
	 * mmap threshold would then serve them from the heap, which keeps
	 * growing with the disk size; a fixed threshold returns them to the
	 * system when freed, so peak memory stays bounded by the read window.
	 * Process-wide, hence here and not in the library. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	global_opts g;
	memset(&g, 0, sizeof(g));
	enum { O_CONFIG = 1000, O_URL, O_HDR, O_TOKEN, O_CONF, O_USER, O_KEYRING, O_JSON,
		O_VERSION, O_INSECURE, O_CACERT, O_CERT, O_KEY };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "glance-url", required_argument, NULL, O_URL },
		{ "glance-header", required_argument, NULL, O_HDR },
		{ "os-token", required_argument, NULL, O_TOKEN },
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
	int c;
	argv[0] = (char *)prog; /* getopt's messages say "fastsnap:", not the path */
	/* "+": stop at the command name; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+vqh", lo, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: g.config = optarg; break;
		case O_URL: g.glance_url = optarg; break;
		case O_HDR:
			if (g.n_headers == sizeof(g.headers) / sizeof(g.headers[0])) {
				fprintf(stderr, "%s: too many --glance-header options\n", prog);
				return EXIT_USAGE;
			}
			if (strpbrk(optarg, "\r\n")) {
				fprintf(stderr, "%s: --glance-header: a header may not contain CR or LF\n", prog);
				return EXIT_USAGE;
			}
			g.headers[g.n_headers++] = optarg;
			break;
		case O_TOKEN: g.os_token = optarg; break;
		case O_CACERT: g.ca_file = optarg; break;
		case O_CERT: g.client_cert = optarg; break;
		case O_KEY: g.client_key = optarg; break;
		case O_INSECURE: g.insecure = 1; break;
		case O_CONF: g.ceph_conf = optarg; break;
		case O_USER: g.ceph_user = optarg; break;
		case O_KEYRING: g.keyring = optarg; break;
		case O_JSON: g.json = 1; break;
		case 'v': g.verbose++; break;
		case 'q': g.quiet = 1; break;
		case O_VERSION: printf("fastsnap %s\n", fastsnap_version(NULL, NULL, NULL)); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "%s: try 'fastsnap --help'\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given (try 'fastsnap --help')\n", prog);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	if (strcmp(cmd, "stores") == 0)
		return cmd_stores(&g, sub_argc, sub_argv);
	if (strcmp(cmd, "snapshot") == 0)
		return cmd_snapshot(&g, sub_argc, sub_argv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s' (try 'fastsnap --help')\n", prog, cmd);
	return EXIT_USAGE;
}
