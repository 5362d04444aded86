/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/fastsnap-bench.c: the benchmark tool (issue 19), its main: the
 * options, the cluster's description (the usual env), the null sink
 * (Debian's nginx answering 204 on loopback), the base image, the run of
 * every cell (plan.c, each run by runner.c), the clean-up of everything it
 * made (at the end and on Ctrl-C) and the report (report.c). The includes
 * go one way: this file < plan < runner < cells < util, and report < util.
 */
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "helper/beside.h"
#include "plan.h"
#include "report.h"
#include "runner.h"
#include "util.h"

static pid_t nginx_pid;
static int summary;           /* --summary: a short comparison on stdout */
static double max_load = -1;  /* --max-load: the 1-minute load a run may start at */
static int quiet_wait = 300;  /* --quiet-wait: seconds to wait for it */

static void on_signal(int sig)
{
	(void)sig;
	fsb_stop = 1;
}

/* ---------------- the null sink ---------------- */

static int start_sink(void)
{
	char d[600], conf[700];
	snprintf(d, sizeof(d), "%s/nginx", RUN.workdir);
	mkdir(d, 0700);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", d);
	int port = 0;
	char *p = fsb_cmd_out("python3 -c 'import socket; s=socket.socket(); "
		"s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'");
	if (p)
		port = atoi(p);
	free(p);
	FILE *f = fopen(conf, "w");
	if (!f || !port)
		return -1;
	fprintf(f, "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
		"events { worker_connections 64; }\nhttp {\n  access_log off;\n"
		"  client_body_temp_path %s;\n  proxy_temp_path %s;\n  fastcgi_temp_path %s;\n"
		"  uwsgi_temp_path %s;\n  scgi_temp_path %s;\n  server {\n"
		"    listen 127.0.0.1:%d;\n    client_max_body_size 0;\n"
		"    location / { return 204; }\n  }\n}\n", d, d, d, d, d, d, d, port);
	fclose(f);
	nginx_pid = fork();
	if (nginx_pid == 0) {
		setpgid(0, 0); /* Ctrl-C is ours to handle: we stop it */
		execl("/usr/sbin/nginx", "nginx", "-e", "/dev/null", "-p", d, "-c", conf, (char *)NULL);
		_exit(127);
	}
	snprintf(G.sink, sizeof(G.sink), "http://127.0.0.1:%d/sink", port);
	for (int i = 0; i < 50; i++) {
		if (fsb_http("GET", G.sink, NULL, NULL, NULL, 0) == 204)
			return 0;
		usleep(100000);
	}
	return -1;
}

/* ---------------- the run's description and options ---------------- */

static void add_cmd(cJSON *run, const char *key, const char *cmd)
{
	char *s = fsb_trim(fsb_cmd_out(cmd));
	cJSON_AddStringToObject(run, key, s && *s ? s : "unknown");
	free(s);
}

static cJSON *describe(const char *root)
{
	cJSON *run = cJSON_CreateObject();
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD 2>/dev/null", root);
	add_cmd(run, "commit", cmd);
	snprintf(cmd, sizeof(cmd), "git -C %s status --porcelain --untracked-files=no -- src include "
		"2>/dev/null | grep -q . && echo yes || echo no", root);
	add_cmd(run, "src_modified", cmd);
	cJSON_AddStringToObject(run, "objectstore", G.objectstore);
	/* the cluster's and the stack's versions, not the host's: the trixie
	 * stack runs Ceph and Glance from its Debian 13 root */
	snprintf(cmd, sizeof(cmd), "ceph --conf %s --id %s version 2>/dev/null | awk '{print $3}' | "
		"grep . || ceph --version 2>/dev/null | awk '{print $3}'", G.ceph_conf, G.admin_id);
	add_cmd(run, "ceph_version", cmd);
	const char *troot = getenv("FASTSNAP_DEV_TRIXIE_ROOT");
	const char *stack = getenv("FASTSNAP_DEV_STACK");
	if (troot && stack && !strcmp(stack, "trixie"))
		snprintf(cmd, sizeof(cmd), "chroot %s dpkg-query -W -f='${Version}' glance-api 2>/dev/null",
			troot);
	else
		snprintf(cmd, sizeof(cmd), "dpkg-query -W -f='${Version}' glance-api 2>/dev/null");
	add_cmd(run, "glance_version", cmd);
	snprintf(cmd, sizeof(cmd), "curl -s %s/versions | python3 -c 'import json,sys; "
		"print(max((v[\"id\"] for v in json.load(sys.stdin)[\"versions\"]), "
		"key=lambda s: tuple(map(int, s[1:].split(\".\")))))'", G.glance);
	add_cmd(run, "glance_api_version", cmd);
	add_cmd(run, "cpu_model", "lscpu | sed -n 's/^Model name: *//p' | head -1");
	add_cmd(run, "nproc", "nproc");
	add_cmd(run, "os", ". /etc/os-release; echo $PRETTY_NAME");
	add_cmd(run, "date", "date -u +%FT%TZ");
	add_cmd(run, "loadavg_before", "cut -d' ' -f1-3 /proc/loadavg");
	cJSON_AddNumberToObject(run, "max_load", G.quick ? 0 : max_load);
	add_cmd(run, "paxos_propose_interval", "echo ${FASTSNAP_DEV_PAXOS_INTERVAL:-unknown}");
	cJSON_AddStringToObject(run, "flatten_helper", fsb_envd("FASTSNAP_FLATTEN_HELPER", ""));
	cJSON_AddStringToObject(run, "location_call", G.glance_post ? "POST /locations" : "PATCH");
	cJSON_AddNumberToObject(run, "reps", G.reps);
	cJSON_AddNumberToObject(run, "settle_s", G.settle);
	cJSON_AddBoolToObject(run, "quick", G.quick);
	cJSON *sz = cJSON_AddArrayToObject(run, "sizes_mib");
	for (int i = 0; i < G.nsizes; i++)
		cJSON_AddItemToArray(sz, cJSON_CreateNumber((double)(G.sizes[i] >> 20)));
	cJSON_AddStringToObject(run, "tool", "fastsnap-bench");
	return run;
}

static void usage(void)
{
	fprintf(stderr,
"usage: fastsnap-bench [--quick] [--sizes MiB,MiB,...] [--reps N] [--conc N,N,...]\n"
"                      [--fill full|sparse|both] [--out DIR] [--only CELL,CELL,...]\n"
"                      [--no-plots] [--summary] [--cli PATH] [--disk IMAGE]\n"
"                      [--settle SECONDS] [--max-load L] [--quiet-wait SECONDS]\n"
"       fastsnap-bench [--out DIR] --report results.json   (tables and plots again)\n"
"  Against the cluster of the usual environment (CEPH_CONF, FASTSNAP_CEPH_USER,\n"
"  FASTSNAP_CEPH_KEYRING, FASTSNAP_GLANCE_URL, FASTSNAP_GLANCE_HEADERS; a dev\n"
"  cluster's env file sets them all). Writes DIR/results.json, results.csv,\n"
"  results.md and *.png. --quick: 64 and 256 MiB full disks, one repeat,\n"
"  N = 1, 2. --conc 0: no concurrency cells. --only: cells whose name contains\n"
"  one of the words. --summary: a short comparison on stdout at the end.\n"
"  --disk IMAGE: an existing disk of the disk pool instead of written ones\n"
"  (snapshot fsb made and removed; no concurrency cells).\n"
"  --settle S: quiet time before each cell, so that none starts right after\n"
"  a map change of the previous cell's clean-up (default 0.3 s plus twice\n"
"  FASTSNAP_DEV_PAXOS_INTERVAL, Ceph's 1 s when that is not set).\n"
"  --max-load L: a full run starts only when the 1-minute load average is at\n"
"  most L (default 0.6 per CPU; 0 turns the check off; --quick does not check);\n"
"  it waits up to --quiet-wait seconds (300) for that, then refuses (exit 3).\n"
"  Other settings: FSB_ADMIN_ID (admin), FSB_VMS_POOL (vms), FSB_RBD_STORE\n"
"  (fast), FSB_RBD_POOL (images), FSB_FILE_STORE (local), FSB_OSD_ASOK (glob of\n"
"  OSD admin sockets), FSB_SERVICE_HEADER (\"X-Service-Token: ...\", Glance >= 29).\n");
	exit(2);
}

static void parse_list(const char *s, uint64_t *out, int *n, int max, uint64_t mul)
{
	*n = 0;
	char *d = strdup(s);
	for (char *t = strtok(d, ","); t && *n < max; t = strtok(NULL, ","))
		out[(*n)++] = strtoull(t, NULL, 10) * mul;
	free(d);
}

/* --report FILE: the tables and plots again from a results.json (into
 * --out DIR if given before it, else the file's directory) */
static int report_only(const char *file, const char *outdir)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return 1;
	}
	fclose(f);
	buf[n] = 0;
	cJSON *all = cJSON_Parse(buf);
	free(buf);
	cJSON *run = cJSON_DetachItemFromObject(all, "run");
	cJSON *recs = cJSON_DetachItemFromObject(all, "records");
	if (!run || !recs) {
		fprintf(stderr, "fastsnap-bench: %s is not a results.json\n", file);
		return 1;
	}
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", outdir ? outdir : file);
	if (!outdir) {
		char *sl = strrchr(dir, '/');
		if (sl)
			*sl = 0;
		else
			snprintf(dir, sizeof(dir), ".");
	}
	fsb_report(run, recs, dir, 1);
	cJSON_Delete(run);
	cJSON_Delete(recs);
	cJSON_Delete(all);
	return 0;
}

/* the defaults, --quick, --sizes and --conc, the settle time; 0 or 2 */
static int apply_defaults(const char *sizes_opt, const char *conc_opt)
{
	if (!G.fills)
		G.fills = G.quick ? 1 : 3;
	if (G.quick) {
		G.sizes[0] = 64ull << 20;
		G.sizes[1] = 256ull << 20;
		G.nsizes = 2;
		G.reps = 1;
		G.conc_n[0] = 1;
		G.conc_n[1] = 2;
		G.nconc = 2;
	}
	if (sizes_opt)
		parse_list(sizes_opt, G.sizes, &G.nsizes, FSB_MAX_SIZES, 1ull << 20);
	if (conc_opt) {
		uint64_t c[4];
		parse_list(conc_opt, c, &G.nconc, 4, 1);
		if (G.nconc == 1 && c[0] == 0)
			G.nconc = 0;
		for (int i = 0; i < G.nconc; i++)
			G.conc_n[i] = c[i] < 1 ? 1 : c[i] > 8 ? 8 : (int)c[i];
	}
	for (int i = 0; i < G.nsizes; i++)
		if (!G.sizes[i] || G.sizes[i] % FSB_OBJ) {
			fprintf(stderr, "fastsnap-bench: sizes must be multiples of 4 MiB\n");
			return 2;
		}
	if (G.reps < 1)
		usage();
	if (G.settle < 0) {
		const char *pi = getenv("FASTSNAP_DEV_PAXOS_INTERVAL");
		double iv = pi && atof(pi) > 0 ? atof(pi) : 1.0;
		G.settle = 0.3 + 2 * iv;
	}
	return 0;
}

/* the options; a --report FILE run returns through *done */
static int parse_args(int argc, char **argv, const char **out, const char **cli, int *done)
{
	const char *sizes_opt = NULL, *conc_opt = NULL;
	*done = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			G.quick = 1;
		else if (!strcmp(argv[i], "--sizes") && i + 1 < argc)
			sizes_opt = argv[++i];
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			G.reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--conc") && i + 1 < argc)
			conc_opt = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			*out = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			RUN.only = argv[++i];
		else if (!strcmp(argv[i], "--cli") && i + 1 < argc)
			*cli = argv[++i];
		else if (!strcmp(argv[i], "--no-plots"))
			G.no_plots = 1;
		else if (!strcmp(argv[i], "--disk") && i + 1 < argc)
			G.disk = argv[++i];
		else if (!strcmp(argv[i], "--settle") && i + 1 < argc)
			G.settle = atof(argv[++i]);
		else if (!strcmp(argv[i], "--max-load") && i + 1 < argc)
			max_load = atof(argv[++i]);
		else if (!strcmp(argv[i], "--quiet-wait") && i + 1 < argc)
			quiet_wait = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--summary"))
			summary = 1;
		else if (!strcmp(argv[i], "--fill") && i + 1 < argc) {
			i++;
			G.fills = !strcmp(argv[i], "full") ? 1 : !strcmp(argv[i], "sparse") ? 2 :
				!strcmp(argv[i], "both") ? 3 : 0;
			if (!G.fills)
				usage();
		}
		else if (!strcmp(argv[i], "--report") && i + 1 < argc)
			return *done = report_only(argv[++i], *out);
		else
			usage();
	}
	return apply_defaults(sizes_opt, conc_opt);
}

/* the cluster from the usual environment (a dev cluster's env file); 0 or 2 */
static int read_env(char **headers)
{
	G.ceph_conf = getenv("CEPH_CONF");
	G.glance = getenv("FASTSNAP_GLANCE_URL");
	if (!G.ceph_conf || !G.glance) {
		fprintf(stderr, "fastsnap-bench: CEPH_CONF and FASTSNAP_GLANCE_URL must be set "
			"(source a dev cluster's env file)\n");
		return 2;
	}
	/* Flatten as a deployed engine does, in the flatten helper: the one
	 * built beside this tool unless the environment names one ("none" for
	 * the in-process flatten). */
	char helper[4096];
	if (fs_helper_beside_self(helper, sizeof(helper)))
		setenv("FASTSNAP_FLATTEN_HELPER", helper, 1);
	G.user = fsb_envd("FASTSNAP_CEPH_USER", "admin");
	G.keyring = getenv("FASTSNAP_CEPH_KEYRING");
	G.admin_id = fsb_envd("FSB_ADMIN_ID", "admin");
	G.vms_pool = fsb_envd("FSB_VMS_POOL", fsb_envd("FASTSNAP_DEV_VMS_POOL", "vms"));
	G.rbd_store = fsb_envd("FSB_RBD_STORE", fsb_envd("FASTSNAP_DEV_RBD_STORE", "fast"));
	G.rbd_pool = fsb_envd("FSB_RBD_POOL", fsb_envd("FASTSNAP_DEV_IMAGES_POOL", "images"));
	G.file_store = fsb_envd("FSB_FILE_STORE", "local");
	G.svc_hdr = getenv("FSB_SERVICE_HEADER");
	snprintf(G.objectstore, sizeof(G.objectstore), "%s", fsb_envd("FASTSNAP_DEV_OBJECTSTORE", "unknown"));
	snprintf(G.statedir, sizeof(G.statedir), "%s", fsb_envd("FASTSNAP_DEV_DIR", ""));
	*headers = strdup(fsb_envd("FASTSNAP_GLANCE_HEADERS", ""));
	fsb_split_headers(*headers);
	snprintf(G.tag, sizeof(G.tag), "fsbench-%d", (int)getpid());
	snprintf(fsb_rbd_admin, sizeof(fsb_rbd_admin), "rbd --conf %s --id %s", G.ceph_conf, G.admin_id);
	return 0;
}

/* --disk IMAGE: an existing disk of the disk pool, its size the one size; 0 or 2 */
static int given_disk(void)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "%s info --format json %s/%s 2>/dev/null | python3 -c "
		"'import json,sys; print(json.load(sys.stdin)[\"size\"])'", fsb_rbd_admin, G.vms_pool, G.disk);
	char *sz = fsb_cmd_out(cmd);
	G.sizes[0] = sz ? strtoull(sz, NULL, 10) : 0;
	free(sz);
	G.nsizes = 1;
	G.nconc = 0;
	if (!G.sizes[0] || strchr(G.disk, '/') || strchr(G.disk, '@')) {
		fprintf(stderr, "fastsnap-bench: --disk %s: no such image in pool %s\n", G.disk,
			G.vms_pool);
		return 2;
	}
	return 0;
}

/* where this binary is: the CLI next to it (unless --cli), the repo above; 0 or 2 */
static int locate(const char *cli, char *root, size_t rootlen)
{
	char self[1000] = "";
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl > 0) {
		self[sl] = 0;
		char *sl2 = strrchr(self, '/');
		if (sl2)
			*sl2 = 0;
	}
	snprintf(G.cli, sizeof(G.cli), "%s", cli ? cli : self);
	if (!cli)
		strncat(G.cli, "/fastsnap", sizeof(G.cli) - strlen(G.cli) - 1);
	snprintf(root, rootlen, "%s", self);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "git -C %s rev-parse --show-toplevel 2>/dev/null", self);
	char *r = fsb_trim(fsb_cmd_out(cmd));
	if (r && *r)
		snprintf(root, rootlen, "%s", r);
	free(r);
	if (access(G.cli, X_OK) != 0) {
		fprintf(stderr, "fastsnap-bench: no fastsnap command at %s (--cli PATH)\n", G.cli);
		return 2;
	}
	return 0;
}

/* the OSD admin sockets (FSB_OSD_ASOK, else the dev cluster's) */
static void find_asoks(void)
{
	char pat[600];
	glob_t gl;
	snprintf(pat, sizeof(pat), "%s", fsb_envd("FSB_OSD_ASOK", ""));
	if (!pat[0] && G.statedir[0])
		snprintf(pat, sizeof(pat), "%s/run/ceph-osd.*.asok", G.statedir);
	if (pat[0] && glob(pat, 0, NULL, &gl) == 0) {
		for (size_t i = 0; i < gl.gl_pathc && G.nasok < 8; i++)
			snprintf(G.asok[G.nasok++], sizeof(G.asok[0]), "%s", gl.gl_pathv[i]);
		globfree(&gl);
	}
}

/* the cluster's fsid and Glance's location call; 0 or 1 */
static int cluster_facts(void)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "ceph --conf %s --id %s fsid 2>/dev/null", G.ceph_conf, G.admin_id);
	char *f = fsb_trim(fsb_cmd_out(cmd));
	snprintf(G.fsid, sizeof(G.fsid), "%s", f ? f : "");
	free(f);
	char url[600], *resp = NULL;
	snprintf(url, sizeof(url), "%s/versions", G.glance);
	fsb_http("GET", url, NULL, NULL, &resp, 0);
	/* the new location API (POST /v2/images/{id}/locations) is API 2.17, Glance 29 */
	G.glance_post = resp && strstr(resp, "\"v2.17\"") != NULL;
	free(resp);
	if (!G.fsid[0]) {
		fprintf(stderr, "fastsnap-bench: cannot read the cluster's fsid\n");
		return 1;
	}
	return 0;
}

/* what the shell cells read (plan.c's scripts) */
static void export_env(void)
{
	setenv("FSB_HDR", fsb_envd("FASTSNAP_GLANCE_HEADERS", ""), 1);
	setenv("FSB_USER", G.user, 1);
	if (G.keyring)
		setenv("FSB_KEYRING", G.keyring, 1);
	setenv("FSB_TAG", G.tag, 1);
	setenv("FSB_FSID", G.fsid, 1);
	setenv("FSB_VMS", G.vms_pool, 1);
	setenv("FSB_RBD_POOL", G.rbd_pool, 1);
	setenv("FSB_RBD_STORE", G.rbd_store, 1);
	setenv("FSB_FILE_STORE", G.file_store, 1);
	setenv("FSB_GLANCE_POST", G.glance_post ? "1" : "0", 1);
	const char *svc = fsb_svc_hdr_extra();
	setenv("FSB_SVC_HDR", svc ? svc : "", 1);
	setenv("FSB_CLI", G.cli, 1);
}

/* everything up to the first cell: 0, or the exit status */
/* the 1-minute load average, or -1 */
static double load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* A full run's figures are only worth publishing from a quiet machine
 * (docs/benchmarks.md, "A quiet machine"): wait up to --quiet-wait seconds
 * for the 1-minute load to fall to --max-load; 0, or 3 when it does not. */
static int wait_for_quiet(void)
{
	if (max_load < 0)
		max_load = 0.6 * (double)sysconf(_SC_NPROCESSORS_ONLN);
	if (G.quick || max_load == 0)
		return 0;
	double l = load1();
	for (int waited = 0; l > max_load && waited < quiet_wait && !fsb_stop; waited += 5) {
		if (waited % 60 == 0)
			fsb_say("load average %.2f is above --max-load %.2f: waiting up to %d s "
				"for a quiet machine", l, max_load, quiet_wait - waited);
		sleep(5);
		l = load1();
	}
	if (l > max_load) {
		fprintf(stderr, "fastsnap-bench: the machine is not quiet: load average %.2f after "
			"%d s, above --max-load %.2f (stop what runs, or --max-load 0 to measure "
			"anyway)\n", l, quiet_wait, max_load);
		return 3;
	}
	return 0;
}

static int prepare(int argc, char **argv, char **headers, char *root, size_t rootlen)
{
	const char *out = NULL, *cli = NULL;
	int done, rc = parse_args(argc, argv, &out, &cli, &done);
	if (done >= 0)
		return done == 0 ? -1 : done;
	if (rc || (rc = read_env(headers)) || (G.disk && (rc = given_disk())) ||
	    (rc = locate(cli, root, rootlen)) || (rc = wait_for_quiet()))
		return rc;
	snprintf(G.outdir, sizeof(G.outdir), "%s", out ? out : "fastsnap-bench-out");
	mkdir(G.outdir, 0755);
	snprintf(RUN.workdir, sizeof(RUN.workdir), "%s/fsb-work.XXXXXX", fsb_envd("TMPDIR", "/tmp"));
	if (!mkdtemp(RUN.workdir)) {
		perror("mkdtemp");
		return 1;
	}
	find_asoks();
	curl_global_init(CURL_GLOBAL_ALL);
	if (cluster_facts())
		return 1;
	export_env();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

/* the sink and the base image; 0 or 1 (what was made is removed) */
static int start(void)
{
	if (start_sink() < 0) {
		fprintf(stderr, "fastsnap-bench: the null sink (nginx) did not start\n");
		if (nginx_pid > 0)
			kill(nginx_pid, SIGTERM);
		return 1;
	}
	setenv("FSB_SINK", G.sink, 1);
	RUN.records = cJSON_CreateArray();
	RUN.made_ids = cJSON_CreateArray();
	if (fsb_make_base() < 0) {
		fprintf(stderr, "fastsnap-bench: could not upload a base image into store %s\n", G.rbd_store);
		cJSON *cl0 = cJSON_CreateObject();
		fsb_cleanup_all(cl0);
		cJSON_Delete(cl0);
		kill(nginx_pid, SIGTERM);
		return 1;
	}
	return 0;
}

/* after the cells: clean up, stop the sink, complete the run's record */
static int finish(cJSON *run, double secs, int interrupted)
{
	cJSON *cl = cJSON_AddObjectToObject(run, "cleanup");
	int left = fsb_cleanup_all(cl);
	cJSON_AddNumberToObject(cl, "left", left);
	kill(nginx_pid, SIGTERM);
	waitpid(nginx_pid, NULL, 0);
	fsb_sh("rm -rf %s", RUN.workdir);
	cJSON_AddNumberToObject(run, "seconds", secs);
	cJSON_AddBoolToObject(run, "interrupted", interrupted);
	add_cmd(run, "loadavg_after", "cut -d' ' -f1-3 /proc/loadavg");
	return left;
}

int main(int argc, char **argv)
{
	G.reps = 3;
	G.settle = -1;
	uint64_t sizes[FSB_MAX_SIZES] = { 256ull << 20, 1024ull << 20, 4096ull << 20 };
	memcpy(G.sizes, sizes, sizeof(sizes));
	G.nsizes = 3;
	int conc[] = { 1, 2, 4, 8 };
	memcpy(G.conc_n, conc, sizeof(conc));
	G.nconc = 4;
	char *hd = NULL, root[PATH_MAX] = ".";
	int rc = prepare(argc, argv, &hd, root, sizeof(root));
	if (rc)
		return rc < 0 ? 0 : rc;
	if (start())
		return 1;
	cJSON *run = describe(root);
	RUN.counting = 1;
	fsb_all_cells();
	RUN.counting = 0;
	fsb_say("%d cells, %s, %s, sizes up to %llu MiB, %d rep(s); run tag %s", RUN.cell_total,
		G.objectstore, G.glance_post ? "POST /locations" : "PATCH /locations",
		(unsigned long long)(G.sizes[G.nsizes - 1] >> 20), G.reps, G.tag);
	double t0 = fsb_now();
	fsb_all_cells();
	double secs = fsb_now() - t0;
	int interrupted = fsb_stop;
	fprintf(stderr, "\r\033[K");
	fsb_say("%s after %.0f s; cleaning up", interrupted ? "interrupted" : "done", secs);
	fsb_stop = 0;
	int left = finish(run, secs, interrupted), bad = 0;
	cJSON *r;
	cJSON_ArrayForEach(r, RUN.records)
		if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")))
			bad++;
	cJSON_AddNumberToObject(run, "cells", cJSON_GetArraySize(RUN.records));
	cJSON_AddNumberToObject(run, "cells_failed", bad);
	fsb_report(run, RUN.records, G.outdir, !G.no_plots);
	fsb_say("%d cells, %d failed, %d things left after clean-up; results in %s/results.{json,csv,md}",
		cJSON_GetArraySize(RUN.records), bad, left, G.outdir);
	if (summary)
		fsb_summary(stdout, run, RUN.records);
	cJSON_Delete(run);
	cJSON_Delete(RUN.records);
	cJSON_Delete(RUN.made_ids);
	free(hd);
	curl_global_cleanup();
	return interrupted ? 130 : (bad || left) ? 1 : 0;
}
