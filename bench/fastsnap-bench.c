/*
 * bench/fastsnap-bench.c: the benchmark tool (issue 19). Owns the run: the
 * options and the cluster's description (the usual env), the null sink
 * (Debian's nginx answering 204 on loopback), the list of cells and their
 * order, running each cell in a child process (peak RSS and CPU from
 * wait4), the baselines and limits as the shell commands operators use,
 * the OSD counters and space figures around a cell, the free-space check,
 * and the clean-up of everything it made (at the end and on Ctrl-C).
 * The in-process cells are in cells.c, the tables and plots in report.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "fastsnap.h"
#include "helper/beside.h"
#include "bench.h"

fsb_run G;
volatile int fsb_stop;

static cJSON *records;
static cJSON *made_ids;       /* every Glance image id a cell made or was given */
static pid_t nginx_pid;
static char workdir[512];
static int cell_no, cell_total, counting;
static const char *only;      /* run only cells whose name contains one of these */
static int summary;           /* --summary: a short comparison on stdout */

/* ---------------- small helpers ---------------- */

double fsb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fsb_uuid(char out[37])
{
	unsigned char b[16];
	RAND_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		b[13], b[14], b[15]);
}

char *fsb_cmd_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while (s && (n = fread(s + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2048) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			}
			s = t;
		}
	}
	int st = pclose(p);
	if (!s)
		return NULL;
	s[len] = 0;
	if (st != 0) {
		free(s);
		return NULL;
	}
	return s;
}

int fsb_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct {
	char *p;
	size_t n;
} buf_t;

static size_t collect(char *d, size_t sz, size_t n, void *ud)
{
	buf_t *b = ud;
	char *t = realloc(b->p, b->n + sz * n + 1);
	if (!t)
		return 0;
	memcpy(t + b->n, d, sz * n);
	b->n += sz * n;
	t[b->n] = 0;
	b->p = t;
	return sz * n;
}

void *fsb_curl_new(void)
{
	return curl_easy_init();
}

void fsb_curl_free(void *c)
{
	if (c)
		curl_easy_cleanup(c);
}

long fsb_http_on(void *curl, const char *method, const char *url, const char *ctype,
	const char *body, char **resp, int extra_svc)
{
	CURL *c = curl;
	struct curl_slist *h = NULL;
	char ct[160];
	for (int i = 0; i < G.nhdr; i++)
		h = curl_slist_append(h, G.hdr[i]);
	/* The service token once: FASTSNAP_GLANCE_HEADERS may carry it already
	 * (a second X-Service-Token makes Glance refuse the POST with 403). */
	const char *colon = G.svc_hdr ? strchr(G.svc_hdr, ':') : NULL;
	int have = 0;
	for (int i = 0; colon && i < G.nhdr; i++)
		have |= !strncasecmp(G.hdr[i], G.svc_hdr, (size_t)(colon - G.svc_hdr + 1));
	if (extra_svc && G.svc_hdr && !have)
		h = curl_slist_append(h, G.svc_hdr);
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	buf_t b = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (!body)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L), curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	long st = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (resp)
		*resp = b.p;
	else
		free(b.p);
	return st;
}

long fsb_http(const char *method, const char *url, const char *ctype, const char *body,
	char **resp, int extra_svc)
{
	void *c = fsb_curl_new();
	long st = fsb_http_on(c, method, url, ctype, body, resp, extra_svc);
	fsb_curl_free(c);
	return st;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fastsnap-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static const char *envd(const char *k, const char *d)
{
	const char *v = getenv(k);
	return v && *v ? v : d;
}

/* rbd/ceph command-line prefixes (admin for set-up and inspection) */
static char rbd_admin[1024], rbd_user[1024];

/* ---------------- OSD counters and space ---------------- */

/* sum of a perf counter over every OSD admin socket; -1 if unknown */
static long long osd_counter(const char *sect, const char *name)
{
	long long sum = -1;
	for (int i = 0; i < G.nasok; i++) {
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "ceph --admin-daemon %s perf dump 2>/dev/null", G.asok[i]);
		char *s = fsb_cmd_out(cmd);
		cJSON *j = s ? cJSON_Parse(s) : NULL;
		free(s);
		cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, sect), name);
		if (cJSON_IsNumber(v))
			sum = (sum < 0 ? 0 : sum) + (long long)v->valuedouble;
		cJSON_Delete(j);
	}
	return sum;
}

/* used bytes of pool/image and its snapshots (rbd du), -1 if unknown */
static long long rbd_du(const char *pool, const char *image)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "%s du --format json %s/%s 2>/dev/null", rbd_admin, pool, image);
	char *s = fsb_cmd_out(cmd);
	cJSON *j = s ? cJSON_Parse(s) : NULL;
	free(s);
	long long sum = -1;
	cJSON *im;
	cJSON_ArrayForEach(im, cJSON_GetObjectItem(j, "images")) {
		cJSON *u = cJSON_GetObjectItem(im, "used_size");
		if (cJSON_IsNumber(u))
			sum = (sum < 0 ? 0 : sum) + (long long)u->valuedouble;
	}
	cJSON_Delete(j);
	return sum;
}

/* ---------------- clean-up ---------------- */

/* On Glance >= 29 an image's location_import task goes on hashing the
 * clone after active: it is waited for (60 s at most) before the delete,
 * as a fastsnap run waits for it, so that no next cell runs beside it. */
void fsb_glance_delete_on(void *curl, const char *id)
{
	char url[512];
	snprintf(url, sizeof(url), "%s/v2/images/%s", G.glance, id);
	for (double t0 = fsb_now(); G.glance_post && fsb_now() - t0 < 60; usleep(100000)) {
		char *resp = NULL;
		long st = fsb_http_on(curl, "GET", url, NULL, NULL, &resp, 0);
		int busy = st == 200 && resp && strstr(resp, "\"os_glance_import_task\"");
		free(resp);
		if (!busy)
			break;
	}
	fsb_http_on(curl, "DELETE", url, NULL, NULL, NULL, 0);
}

static void glance_delete(const char *id)
{
	void *c = fsb_curl_new();
	fsb_glance_delete_on(c, id);
	fsb_curl_free(c);
}

/* remove an RBD image with all its snapshots (unprotecting them first) */
static void rbd_purge(const char *pool, const char *image)
{
	fsb_sh("for s in $(%s snap ls --format json %s/%s 2>/dev/null | python3 -c "
		"'import json,sys; print(\" \".join(x[\"name\"] for x in json.load(sys.stdin)))' "
		"2>/dev/null); do %s snap unprotect %s/%s@$s >/dev/null 2>&1; "
		"%s snap rm --no-progress %s/%s@$s >/dev/null 2>&1; done; "
		"%s rm --no-progress %s/%s >/dev/null 2>&1",
		rbd_admin, pool, image, rbd_admin, pool, image, rbd_admin, pool, image, rbd_admin, pool, image);
}

/* Everything named after this run: Glance images called G.tag, RBD images
 * with our prefix in the disk pool, clones named after the Glance ids we
 * made in the store's pool. Returns how many were still there afterwards. */
static int cleanup_all(cJSON *report)
{
	char url[600];
	snprintf(url, sizeof(url), "%s/v2/images?name=%s&limit=1000", G.glance, G.tag);
	int left = 0;
	for (int pass = 0; pass < 2; pass++) {
		char *resp = NULL;
		int n = 0;
		if (fsb_http("GET", url, NULL, NULL, &resp, 0) == 200) {
			cJSON *j = cJSON_Parse(resp), *im;
			cJSON_ArrayForEach(im, cJSON_GetObjectItem(j, "images")) {
				n++;
				if (pass == 0)
					glance_delete(cJSON_GetStringValue(cJSON_GetObjectItem(im, "id")));
			}
			cJSON_Delete(j);
		}
		free(resp);
		if (pass == 1) {
			left += n;
			cJSON_AddNumberToObject(report, "glance_images_left", n);
		}
	}
	/* clones of ids we made that are still there (Glance removed the
	 * ones it held) */
	cJSON *id;
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null", rbd_admin, G.rbd_pool);
	char *pool_ls = fsb_cmd_out(cmd);
	cJSON_ArrayForEach(id, made_ids)
		if (pool_ls && strstr(pool_ls, id->valuestring))
			rbd_purge(G.rbd_pool, id->valuestring);
	free(pool_ls);
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null | grep '^fsb-%d-' || true", rbd_admin,
		G.vms_pool, (int)getpid());
	for (int pass = 0; pass < 2; pass++) {
		char *s = fsb_cmd_out(cmd);
		int n = 0;
		for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
			n++;
			if (pass == 0)
				rbd_purge(G.vms_pool, line);
		}
		free(s);
		if (pass == 1) {
			left += n;
			cJSON_AddNumberToObject(report, "rbd_disks_left", n);
		}
	}
	int clones = 0;
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null", rbd_admin, G.rbd_pool);
	char *s = fsb_cmd_out(cmd);
	cJSON_ArrayForEach(id, made_ids)
		if (s && strstr(s, id->valuestring))
			clones++;
	free(s);
	cJSON_AddNumberToObject(report, "rbd_clones_left", clones);
	left += clones;
	return left;
}

static void on_signal(int sig)
{
	(void)sig;
	fsb_stop = 1;
}

/* ---------------- the null sink ---------------- */

static int start_sink(void)
{
	char d[600], conf[700];
	snprintf(d, sizeof(d), "%s/nginx", workdir);
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

/* ---------------- running one cell ---------------- */

static int free_space_ok(const fsb_spec *s, char *why, size_t whylen)
{
	struct statvfs v;
	if (s->need_local && statvfs(envd("TMPDIR", "/var/tmp"), &v) == 0 &&
	    (uint64_t)v.f_bavail * v.f_frsize < s->need_local + (1ull << 30)) {
		snprintf(why, whylen, "not enough free space in TMPDIR for %llu MiB",
			(unsigned long long)(s->need_local >> 20));
		return 0;
	}
	if (!s->need_bytes)
		return 1;
	if (strcmp(G.objectstore, "bluestore") == 0 && G.statedir[0] &&
	    statvfs(G.statedir, &v) == 0 &&
	    (uint64_t)v.f_bavail * v.f_frsize < s->need_bytes + (2ull << 30)) {
		snprintf(why, whylen, "not enough free space under %s (the BlueStore block file) "
			"for %llu MiB", G.statedir, (unsigned long long)(s->need_bytes >> 20));
		return 0;
	}
	if (strcmp(G.objectstore, "memstore") == 0) {
		/* memstore holds everything in this machine's memory */
		char *m = fsb_cmd_out("awk '/MemAvailable/ {print $2}' /proc/meminfo");
		unsigned long long kb = m ? strtoull(m, NULL, 10) : 0;
		free(m);
		if (kb && (kb << 10) < s->need_bytes + (2ull << 30)) {
			snprintf(why, whylen, "not enough free memory for memstore (%llu MiB)",
				(unsigned long long)(s->need_bytes >> 20));
			return 0;
		}
	}
	return 1;
}

/* parse "key=value" lines of a shell cell into the record */
static void parse_kv(cJSON *out, char *s)
{
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		char *end;
		double v = strtod(eq + 1, &end);
		if (strcmp(line, "image_id") == 0) {
			cJSON *a = cJSON_GetObjectItem(out, "image_ids");
			if (!a)
				a = cJSON_AddArrayToObject(out, "image_ids");
			cJSON_AddItemToArray(a, cJSON_CreateString(eq + 1));
		} else if (end != eq + 1 && *end == 0) {
			cJSON_DeleteItemFromObject(out, line);
			cJSON_AddNumberToObject(out, line, v);
		} else {
			cJSON_DeleteItemFromObject(out, line);
			cJSON_AddStringToObject(out, line, eq + 1);
		}
	}
}

/* --only A,B,...: a cell runs when its name contains one of them */
static int wanted(const char *cell)
{
	if (!only)
		return 1;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", only);
	for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
		if (strstr(cell, t))
			return 1;
	return 0;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static cJSON *run_cell(fsb_spec *s)
{
	if (!wanted(s->cell) && strcmp(s->group, "setup"))
		return NULL;
	if (counting) {
		cell_total++;
		return NULL;
	}
	if (fsb_stop)
		return NULL;
	cell_no++;
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "cell", s->cell);
	cJSON_AddStringToObject(rec, "group", s->group);
	cJSON_AddNumberToObject(rec, "size_mib", (double)(s->size >> 20));
	cJSON_AddStringToObject(rec, "fill", s->fill ? s->fill : "");
	cJSON_AddNumberToObject(rec, "n", s->n);
	cJSON_AddNumberToObject(rec, "rep", s->rep);
	fprintf(stderr, "\r\033[K[%d/%d] %-22s %5llu MiB %-6s N=%d rep %d ...", cell_no, cell_total,
		s->cell, (unsigned long long)(s->size >> 20), s->fill ? s->fill : "", s->n, s->rep);
	char why[800];
	if (!free_space_ok(s, why, sizeof(why))) {
		cJSON_AddFalseToObject(rec, "ok");
		cJSON_AddStringToObject(rec, "error", why);
		fprintf(stderr, " skipped: %s\n", why);
		cJSON_AddItemToArray(records, rec);
		return rec;
	}
	/* A snapshot waits for the monitor's next proposal, and how long
	 * depends on when it last committed a map (the previous cell's
	 * clean-up removes snapshots): each timed cell starts on a quiet
	 * monitor, so no cell profits from its predecessor's clean-up
	 * (docs/benchmarks.md, "The monitor's proposals"). */
	if (s->kind != K_SETUP && G.settle > 0)
		usleep((useconds_t)(G.settle * 1e6));
	long long r0 = s->rados ? osd_counter("osd", "op_r_out_bytes") : -1;
	long long st0 = s->space ? osd_counter("bluestore", "bluestore_stored") : -1;
	long long al0 = s->space ? osd_counter("bluestore", "bluestore_allocated") : -1;
	int pfd[2];
	if (pipe(pfd) < 0)
		return NULL;
	fflush(NULL);
	double t0 = fsb_now();
	pid_t pid = fork();
	if (pid == 0) {
		/* the parent's handlers only set a flag: a cell dies of a
		 * signal (snapshot cells cancel through their token instead) */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pfd[0]);
		if (s->kind == K_SHELL) {
			dup2(pfd[1], 1);
			int dn = open("/dev/null", O_WRONLY);
			char errf[1200];
			snprintf(errf, sizeof(errf), "%s/cell.err", workdir);
			int ef = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			dup2(ef >= 0 ? ef : dn, 2);
			const char *argv[20] = { "bash", "-c", s->script, "fsb" };
			int k = 4;
			for (int i = 0; i < 12 && s->args[i]; i++)
				argv[k++] = s->args[i];
			argv[k] = NULL;
			execv("/bin/bash", (char *const *)argv);
			_exit(127);
		}
		cJSON *out = cJSON_CreateObject();
		fsb_cell_run(s, out);
		char *js = cJSON_PrintUnformatted(out);
		size_t len = strlen(js), off = 0;
		while (off < len) {
			ssize_t w = write(pfd[1], js + off, len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		_exit(cJSON_IsTrue(cJSON_GetObjectItem(out, "ok")) ? 0 : 1);
	}
	close(pfd[1]);
	buf_t b = { 0 };
	char tmp[8192];
	ssize_t n;
	while ((n = read(pfd[0], tmp, sizeof(tmp))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		collect(tmp, 1, (size_t)n, &b);
	}
	close(pfd[0]);
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	double wall = fsb_now() - t0;
	cJSON *out = NULL;
	if (s->kind == K_SHELL) {
		out = cJSON_CreateObject();
		if (b.p)
			parse_kv(out, b.p);
		int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		cJSON_AddBoolToObject(out, "ok", ok);
		if (!ok) {
			char errf[1200];
			snprintf(errf, sizeof(errf), "tail -c 800 %s/cell.err | tr '\\n' ' '", workdir);
			char *e = fsb_cmd_out(errf);
			cJSON_AddStringToObject(out, "error", e && *e ? e : "command failed");
			free(e);
		}
	} else {
		out = b.p ? cJSON_Parse(b.p) : NULL;
		if (!out) {
			out = cJSON_CreateObject();
			cJSON_AddFalseToObject(out, "ok");
			cJSON_AddStringToObject(out, "error", WIFSIGNALED(status) ? "killed by a signal" :
				"no result from the cell process");
		}
	}
	free(b.p);
	/* merge the cell's figures into the record */
	cJSON *it = out->child;
	while (it) {
		cJSON *next = it->next;
		cJSON_DetachItemViaPointer(out, it);
		cJSON_DeleteItemFromObject(rec, it->string);
		cJSON_AddItemToObject(rec, it->string, it);
		it = next;
	}
	cJSON_Delete(out);
	if (!cJSON_GetObjectItem(rec, "t"))
		cJSON_AddNumberToObject(rec, "t", wall);
	cJSON_AddNumberToObject(rec, "wall", wall);
	double cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
	cJSON_AddNumberToObject(rec, "cpu_s", cpu);
	if (s->size)
		cJSON_AddNumberToObject(rec, "cpu_s_per_gib", cpu / ((double)s->size / (1 << 30)) /
			(s->n > 0 ? s->n : 1));
	cJSON_AddNumberToObject(rec, "peak_rss_mib", (double)ru.ru_maxrss / 1024.0);
	if (s->rados && r0 >= 0)
		cJSON_AddNumberToObject(rec, "rados_read_bytes",
			(double)(osd_counter("osd", "op_r_out_bytes") - r0));
	cJSON *ids = cJSON_GetObjectItem(rec, "image_ids");
	if (s->space && cJSON_GetArraySize(ids) == 1) {
		const char *id = cJSON_GetArrayItem(ids, 0)->valuestring;
		cJSON_AddNumberToObject(rec, "rbd_du_bytes", (double)rbd_du(G.rbd_pool, id));
		if (st0 >= 0) {
			/* BlueStore updates its counters as transactions commit */
			usleep(500000);
			cJSON_AddNumberToObject(rec, "osd_stored_delta_bytes",
				(double)(osd_counter("bluestore", "bluestore_stored") - st0));
			/* allocated: extents shared by a snapshot's clone object
			 * and the head count once */
			cJSON_AddNumberToObject(rec, "osd_allocated_delta_bytes",
				(double)(osd_counter("bluestore", "bluestore_allocated") - al0));
		}
	}
	/* undo what the cell made: its Glance images (Glance removes the
	 * clones it holds), any clone left behind, snapshots it named */
	cJSON_ArrayForEach(it, ids) {
		cJSON_AddItemToArray(made_ids, cJSON_CreateString(it->valuestring));
		glance_delete(it->valuestring);
	}
	cJSON *snaps = cJSON_GetObjectItem(rec, "disk_snap");
	if (cJSON_IsString(snaps)) {
		cJSON_ArrayForEach(it, ids)
			rbd_purge(G.rbd_pool, it->valuestring);
		fsb_sh("%s snap unprotect %s >/dev/null 2>&1; %s snap rm --no-progress %s >/dev/null 2>&1",
			rbd_admin, snaps->valuestring, rbd_admin, snaps->valuestring);
	}
	int ok = cJSON_IsTrue(cJSON_GetObjectItem(rec, "ok"));
	double t = cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "t"));
	if (cJSON_GetObjectItem(rec, "skipped"))
		fprintf(stderr, " %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(rec, "skipped")));
	else if (ok)
		fprintf(stderr, " %.3f s\n", t);
	else
		fprintf(stderr, " FAILED: %s\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(rec, "error")));
	cJSON_AddItemToArray(records, rec);
	return rec;
}

/* ---------------- the shell cells ---------------- */

/* Common preamble: identity headers as curl options, the rbd identity, a
 * clock (bash's EPOCHREALTIME), and Glance calls. Positional args follow. */
#define PRE \
	"set -eo pipefail\n" \
	"H=(); while IFS= read -r h; do [[ -n $h ]] && H+=(-H \"$h\"); done <<<\"${FSB_HDR//|/$'\\n'}\"\n" \
	"R=(--conf \"$CEPH_CONF\" --id \"$FSB_USER\" ${FSB_KEYRING:+--keyring \"$FSB_KEYRING\"})\n" \
	"G=$FASTSNAP_GLANCE_URL\n" \
	"create() { curl -sf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/json' -X POST \"$G/v2/images\" " \
	"-d \"{\\\"id\\\": \\\"$1\\\", \\\"name\\\": \\\"$FSB_TAG\\\", \\\"disk_format\\\": \\\"raw\\\", \\\"container_format\\\": \\\"bare\\\"}\"; }\n" \
	"active() { curl -sf \"${H[@]}\" \"$G/v2/images/$1\" | grep -q '\"status\": \"active\"'; }\n" \
	"since() { awk -v a=\"$EPOCHREALTIME\" -v b=\"${!1}\" 'BEGIN { printf \"t=%.6f\\n\", a - b }'; }\n" \
	"put() { curl -sf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/octet-stream' " \
	"-H \"x-image-meta-store: $FSB_FILE_STORE\" -X PUT -T \"$1\" \"$G/v2/images/$2/file\"; }\n"

/* (a) Nova's direct snapshot with the rbd CLI (Rbd.direct_snapshot):
 * snap + protect on the disk, clone into the store's pool, flatten (with
 * flatten: then the disk's snapshot is removed), snap + protect on the
 * clone, then the location call (PATCH on Glance < 29, POST with a service
 * token on Glance >= 29), then the status. $1 id $2 disk $3 flatten(0/1) */
static const char *SH_NOVA = PRE
	"id=$1 disk=$FSB_VMS/$2 clone=$FSB_RBD_POOL/$1\n"
	"echo image_id=$id; echo disk_snap=$disk@$id\n"
	"t0=$EPOCHREALTIME\n"
	"create $id\n"
	"rbd \"${R[@]}\" snap create --no-progress $disk@$id\n"
	"rbd \"${R[@]}\" snap protect $disk@$id\n"
	"rbd \"${R[@]}\" clone $disk@$id $clone\n"
	"if [[ $3 == 1 ]]; then rbd \"${R[@]}\" flatten --no-progress $clone\n"
	"  rbd \"${R[@]}\" snap unprotect $disk@$id; rbd \"${R[@]}\" snap rm --no-progress $disk@$id; fi\n"
	"rbd \"${R[@]}\" snap create --no-progress $clone@snap\n"
	"rbd \"${R[@]}\" snap protect $clone@snap\n"
	"loc=rbd://$FSB_FSID/$clone/snap\n"
	"if [[ $FSB_GLANCE_POST == 1 ]]; then\n"
	"  S=(); [[ -n $FSB_SVC_HDR ]] && S=(-H \"$FSB_SVC_HDR\")\n"
	"  curl -sf -o /dev/null \"${H[@]}\" \"${S[@]}\" -H 'Content-Type: application/json' -X POST "
	"\"$G/v2/images/$id/locations\" -d \"{\\\"url\\\": \\\"$loc\\\"}\"\n"
	"  until active $id; do sleep 0.02; done\n"
	"else\n"
	"  curl -sf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/openstack-images-v2.1-json-patch' "
	"-X PATCH \"$G/v2/images/$id\" -d \"[{\\\"op\\\": \\\"add\\\", \\\"path\\\": \\\"/locations/-\\\", "
	"\\\"value\\\": {\\\"url\\\": \\\"$loc\\\", \\\"metadata\\\": {\\\"store\\\": \\\"$FSB_RBD_STORE\\\"}}}]\"\n"
	"  active $id\n"
	"fi\n"
	"since t0\n";

/* (b) rbd export <snap> - | curl -T - (into Glance's file store, or the
 * null sink when $3 is a URL). $1 id $2 disk $3 sink-url|"" */
static const char *SH_PIPE = PRE
	"id=$1 snap=$FSB_VMS/$2@fsb\n"
	"t0=$EPOCHREALTIME\n"
	"if [[ -n $3 ]]; then\n"
	"  rbd \"${R[@]}\" export --no-progress $snap - | curl -sf -o /dev/null -X PUT "
	"-H 'Content-Type: application/octet-stream' -T - \"$3\"\n"
	"else\n"
	"  echo image_id=$id; create $id\n"
	"  rbd \"${R[@]}\" export --no-progress $snap - | put - $id\n"
	"  active $id\n"
	"fi\n"
	"since t0\n";

/* (c) Nova's fallback: export to a temporary file, then upload it.
 * $1 id $2 disk */
static const char *SH_FILE = PRE
	"id=$1 snap=$FSB_VMS/$2@fsb tmp=$(mktemp \"${TMPDIR:-/var/tmp}/fsb-export.XXXXXX\")\n"
	"trap 'rm -f \"$tmp\"' EXIT\n"
	"echo image_id=$id\n"
	"t0=$EPOCHREALTIME\n"
	"create $id\n"
	"rm -f \"$tmp\"; rbd \"${R[@]}\" export --no-progress $snap \"$tmp\" >/dev/null\n"
	"put \"$tmp\" $id\n"
	"active $id\n"
	"since t0\n";

/* limits: read alone ($1 disk), ingest alone ($1 id $2 shm file; only the
 * PUT is timed), sink alone ($1 shm file) */
static const char *SH_READ = PRE
	"t0=$EPOCHREALTIME\n"
	"rbd \"${R[@]}\" export --no-progress $FSB_VMS/$1@fsb - >/dev/null\n"
	"since t0\n";
static const char *SH_INGEST = PRE
	"echo image_id=$1; create $1\n"
	"t0=$EPOCHREALTIME\n"
	"put \"$2\" $1\n"
	"since t0\n"
	"active $1\n";
static const char *SH_SINK = PRE
	"t0=$EPOCHREALTIME\n"
	"curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T \"$1\" \"$FSB_SINK\"\n"
	"since t0\n";
/* N processes of the CLI, one disk each, started together. $1 N $2 disk
 * prefix $3 mode */
static const char *SH_CLI = PRE
	"d=$(mktemp -d); trap 'rm -rf \"$d\"' EXIT\n"
	"t0=$EPOCHREALTIME\n"
	"pids=()\n"
	"for ((i = 0; i < $1; i++)); do\n"
	"  \"$FSB_CLI\" --json snapshot --disk $FSB_VMS/$2$i --name $FSB_TAG --store $FSB_RBD_STORE "
	"--flatten $3 --base-image-ref $FSB_BASE >$d/$i.json 2>$d/$i.err &\n"
	"  pids+=($!)\n"
	"done\n"
	/* each run waited for by its pid: a run's exit status is never lost,
	 * and a run that failed shows its output in the cell's error */
	"rc=0; st=()\n"
	"for ((i = 0; i < $1; i++)); do s=0; wait ${pids[i]} || s=$?; st+=($s); done\n"
	"since t0\n"
	"for ((i = 0; i < $1; i++)); do python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
	" print(\"image_id=\" + d[\"image_id\"]); sys.exit(d[\"path\"] != \"direct\")' $d/$i.json 2>/dev/null &&"
	" ((st[i] == 0)) || { echo \"run $i: exit ${st[i]}:\" >&2; cat $d/$i.json $d/$i.err >&2; rc=1; }; done\n"
	"python3 -c 'import json,sys; a=[json.load(open(f))[\"active_seconds\"] for f in sys.argv[1:]];"
	" print(\"active_max=%.4f\" % max(a))' $d/*.json || true\n"
	"exit $rc\n";

/* A small base image in the rbd store, as an instance's image would be:
 * the direct cells pass it as base_image_ref, the way Nova does, and it
 * tells fastsnap the store's cluster (Glance 25 does not give the fsid of a
 * store; docs/architecture.md). $1 id */
static const char *SH_BASE = PRE
	"create $1\n"
	"head -c 4194304 /dev/urandom | curl -sf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/octet-stream' "
	"-H \"x-image-meta-store: $FSB_RBD_STORE\" -X PUT -T - \"$G/v2/images/$1/file\"\n"
	"active $1\n";

static int make_base(void)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/base.sh", workdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(SH_BASE, f);
	fclose(f);
	fsb_uuid(G.base);
	cJSON_AddItemToArray(made_ids, cJSON_CreateString(G.base));
	setenv("FSB_BASE", G.base, 1);
	return fsb_sh("bash %s %s", path, G.base) == 0 ? 0 : -1;
}

/* ---------------- the plan of cells ---------------- */

static void base(fsb_spec *s, const char *cell, const char *group, enum fsb_kind k, uint64_t size,
	const char *fill, int rep)
{
	memset(s, 0, sizeof(*s));
	s->cell = cell;
	s->group = group;
	s->kind = k;
	s->size = size;
	s->fill = fill;
	s->n = 1;
	s->rep = rep;
}

static void disk_name(char *out, size_t len, uint64_t size, const char *fill)
{
	snprintf(out, len, "fsb-%d-%llu-%s", (int)getpid(), (unsigned long long)(size >> 20), fill);
}

static void setup_disks(uint64_t size, int sparse, const char *prefix, int n, const char *label)
{
	fsb_spec s;
	base(&s, label, "setup", K_SETUP, size, sparse ? "sparse" : "full", 0);
	s.n = n;
	s.need_bytes = (uint64_t)n * size;
	if (counting) {
		cell_total++;
		return;
	}
	if (fsb_stop)
		return;
	/* the set-up runs in a child too: the parent never holds a Ceph
	 * connection (fork and librados threads do not mix) */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		char names[FSB_MAX_CONC][160];
		const char *np[FSB_MAX_CONC];
		for (int i = 0; i < n; i++) {
			if (n == 1)
				snprintf(names[i], sizeof(names[i]), "%s", prefix);
			else
				snprintf(names[i], sizeof(names[i]), "%s%d", prefix, i);
			np[i] = names[i];
		}
		cJSON *o = cJSON_CreateObject();
		int rc = fsb_make_disks(np, n, size, sparse, o);
		if (rc < 0)
			fprintf(stderr, "set-up: %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")));
		_exit(rc < 0);
	}
	cell_no++;
	fprintf(stderr, "\r\033[K[%d/%d] writing %d disk(s) of %llu MiB (%s) ...", cell_no, cell_total,
		n, (unsigned long long)(size >> 20), sparse ? "~10%" : "full");
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, " FAILED\n");
		fsb_stop = 2;
		return;
	}
	fprintf(stderr, " done\n");
}

/* the disk's bytes in tmpfs, for the "from memory" limits; only when
 * tmpfs and the machine's available memory hold them with 2 GiB to spare
 * (else those cells fail with "No such file", which says why) */
static void shm_copy(const char *disk, const char *path, uint64_t size)
{
	if (counting || fsb_stop)
		return;
	struct statvfs v;
	char *m = fsb_cmd_out("awk '/MemAvailable/ {print $2}' /proc/meminfo");
	unsigned long long kb = m ? strtoull(m, NULL, 10) : 0;
	free(m);
	if (statvfs("/dev/shm", &v) != 0 || (uint64_t)v.f_bavail * v.f_frsize < size + (2ull << 30) ||
	    (kb && (kb << 10) < size + (2ull << 30))) {
		say("not enough memory for %llu MiB in /dev/shm: the from-memory limits are skipped",
			(unsigned long long)(size >> 20));
		return;
	}
	fsb_sh("%s export --no-progress %s/%s@fsb %s >/dev/null 2>&1", rbd_admin, G.vms_pool, disk, path);
}

static void cells_for_size(uint64_t size, int rep)
{
	static const char *fills[] = { "full", "sparse" };
	int floor_left = !G.disk;
	/* --quick: full disks only (every path, baseline and limit once) */
	for (int f = 0; f < 2 && !fsb_stop; f++) {
		const char *fill = G.disk ? "disk" : fills[f];
		if (!(G.fills & (1 << f)) || (G.disk && f))
			continue;
		char disk[128], shm[256], id[37];
		if (G.disk)
			snprintf(disk, sizeof(disk), "%s", G.disk);
		else
			disk_name(disk, sizeof(disk), size, fill);
		snprintf(shm, sizeof(shm), "/dev/shm/%s.raw", disk);
		fsb_spec s;
		/* The direct cells and the floor (on a full disk of its own:
		 * cell_floor appends the thread number to the name it is given,
		 * so the disk is "<prefix>0") in an order that turns by one each
		 * repeat: a cell that follows a heavy one (a flattened image's
		 * deletion goes on in the OSD) is not always the same one. */
		static const char *dnames[] = { "direct-sync", "direct-deferred", "direct-none" };
		fsb_spec d[4];
		int nd = 0;
		for (int m = 0; m < 3; m++, nd++) {
			base(&d[nd], dnames[m], "fastsnap", K_SNAPSHOT, size, fill, rep);
			snprintf(d[nd].disk, sizeof(d[nd].disk), "%s", disk);
			d[nd].mode = m;
			d[nd].store = G.rbd_store;
			d[nd].space = 1;
			d[nd].need_bytes = size;
		}
		if (floor_left) {   /* once per size and repeat, with the first fill */
			floor_left = 0;
			base(&d[nd], "floor", "floor", K_FLOOR, size, "full", rep);
			snprintf(d[nd].disk, sizeof(d[nd].disk), "fsb-%d-%llu-floor", (int)getpid(),
				(unsigned long long)(size >> 20));
			nd++;
		}
		for (int k = 0; k < nd; k++)
			run_cell(&d[(k + rep - 1) % nd]);
		/* streamed: the whole run into the file store; with md5 too */
		base(&s, "stream-file", "fastsnap", K_SNAPSHOT, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.store = G.file_store;
		s.rados = 1;
		s.need_local = size;
		run_cell(&s);
		base(&s, "stream-file-md5", "fastsnap", K_SNAPSHOT, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.store = G.file_store;
		s.md5 = 1;
		s.rados = 1;
		s.need_local = size;
		run_cell(&s);
		/* qcow2 as a stream (issue 21): skipped while the library
		 * refuses the format; the qcow2 baselines of that issue
		 * (qemu-img convert to a file, then upload) belong here too */
		base(&s, "stream-file-qcow2", "fastsnap", K_SNAPSHOT, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.store = G.file_store;
		s.disk_format = "qcow2";
		s.rados = 1;
		s.need_local = size;
		run_cell(&s);
		base(&s, "stream-rbd", "fastsnap", K_STREAM_RBD, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.store = G.rbd_store;
		s.rados = 1;
		s.need_bytes = size;
		run_cell(&s);
		base(&s, "stream-sink", "fastsnap", K_SINK, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.rados = 1;
		run_cell(&s);
		base(&s, "read-fastsnap", "limit", K_READFS, size, fill, rep);
		snprintf(s.disk, sizeof(s.disk), "%s", disk);
		s.rados = 1;
		run_cell(&s);
		/* baselines */
		for (int fl = 1; fl >= 0; fl--) {
			base(&s, fl ? "nova-rbd-flatten" : "nova-rbd-noflatten", "baseline", K_SHELL, size,
				fill, rep);
			fsb_uuid(id);
			s.script = SH_NOVA;
			s.args[0] = id;
			s.args[1] = disk;
			s.args[2] = fl ? "1" : "0";
			s.space = 1;
			s.need_bytes = size;
			run_cell(&s);
		}
		base(&s, "export-pipe", "baseline", K_SHELL, size, fill, rep);
		fsb_uuid(id);
		s.script = SH_PIPE;
		s.args[0] = id;
		s.args[1] = disk;
		s.args[2] = "";
		s.rados = 1;
		s.need_local = size;
		run_cell(&s);
		base(&s, "export-file", "baseline", K_SHELL, size, fill, rep);
		fsb_uuid(id);
		s.script = SH_FILE;
		s.args[0] = id;
		s.args[1] = disk;
		s.rados = 1;
		s.need_local = 2 * size;
		run_cell(&s);
		base(&s, "export-pipe-sink", "baseline", K_SHELL, size, fill, rep);
		s.script = SH_PIPE;
		s.args[0] = "-";
		s.args[1] = disk;
		s.args[2] = G.sink;
		s.rados = 1;
		run_cell(&s);
		/* limits alone */
		base(&s, "read-alone", "limit", K_SHELL, size, fill, rep);
		s.script = SH_READ;
		s.args[0] = disk;
		s.rados = 1;
		run_cell(&s);
		if (!counting && !fsb_stop && access(shm, R_OK) != 0 &&
		    (wanted("ingest-alone") || wanted("sink-alone")))
			shm_copy(disk, shm, size);
		base(&s, "ingest-alone", "limit", K_SHELL, size, fill, rep);
		fsb_uuid(id);
		s.script = SH_INGEST;
		s.args[0] = id;
		s.args[1] = shm;
		s.need_local = size;
		run_cell(&s);
		base(&s, "sink-alone", "limit", K_SHELL, size, fill, rep);
		s.script = SH_SINK;
		s.args[0] = shm;
		run_cell(&s);
		base(&s, "sha512-alone", "limit", K_SHA, size, fill, rep);
		run_cell(&s);
	}
	/* the flatten alone, once per size and repeat, on the floor's disk */
	if (G.disk)
		return;
	fsb_spec s;
	base(&s, "flatten-alone", "limit", K_FLATTEN, size, "full", rep);
	snprintf(s.disk, sizeof(s.disk), "fsb-%d-%llu-floor", (int)getpid(),
		(unsigned long long)(size >> 20));
	s.need_bytes = size;
	run_cell(&s);
}

static void all_cells(void)
{
	for (int z = 0; z < G.nsizes && !fsb_stop; z++) {
		uint64_t size = G.sizes[z];
		char full[128], sparse[128], flo[128];
		disk_name(full, sizeof(full), size, "full");
		disk_name(sparse, sizeof(sparse), size, "sparse");
		snprintf(flo, sizeof(flo), "fsb-%d-%llu-floor0", (int)getpid(),
			(unsigned long long)(size >> 20));
		if (G.disk && !counting) {
			/* a given disk: the snapshot the export cells read */
			if (fsb_sh("%s snap create --no-progress %s/%s@fsb >/dev/null", rbd_admin, G.vms_pool,
			    G.disk) != 0) {
				say("cannot create the snapshot %s/%s@fsb", G.vms_pool, G.disk);
				fsb_stop = 2;
			}
		} else if (G.disk) {
			cell_total++;
		}
		if ((G.fills & 1) && !G.disk)
			setup_disks(size, 0, full, 1, "setup");
		if ((G.fills & 2) && !G.disk)
			setup_disks(size, 1, sparse, 1, "setup");
		if (wanted("floor") || wanted("flatten-alone"))
			setup_disks(size, 0, flo, 1, "setup");
		for (int rep = 1; rep <= G.reps && !fsb_stop; rep++)
			cells_for_size(size, rep);
		if (!counting) {
			rbd_purge(G.vms_pool, full);
			rbd_purge(G.vms_pool, sparse);
			rbd_purge(G.vms_pool, flo);
			char p[300];
			snprintf(p, sizeof(p), "/dev/shm/%s.raw", full);
			unlink(p);
			snprintf(p, sizeof(p), "/dev/shm/%s.raw", sparse);
			unlink(p);
			if (G.disk) {
				snprintf(p, sizeof(p), "/dev/shm/%s.raw", G.disk);
				unlink(p);
				fsb_sh("%s snap rm --no-progress %s/%s@fsb >/dev/null 2>&1", rbd_admin, G.vms_pool,
					G.disk);
			}
		}
	}
	/* concurrency: N disks of the smallest size, written whole */
	uint64_t csize = G.sizes[0];
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "fsb-%d-conc", (int)getpid());
	int nmax = 0;
	for (int i = 0; i < G.nconc; i++)
		nmax = G.conc_n[i] > nmax ? G.conc_n[i] : nmax;
	if (nmax == 0 || fsb_stop || G.nconc == 0 ||
	    !(wanted("floor-conc") || wanted("conc-") || wanted("cli-deferred")))
		return;
	setup_disks(csize, 0, prefix, nmax, "setup");
	for (int rep = 1; rep <= G.reps && !fsb_stop; rep++) {
		for (int i = 0; i < G.nconc && !fsb_stop; i++) {
			int n = G.conc_n[i];
			char ns[8];
			snprintf(ns, sizeof(ns), "%d", n);
			fsb_spec s;
			base(&s, "floor-conc", "concurrency", K_FLOOR, csize, "full", rep);
			s.n = n;
			snprintf(s.disk, sizeof(s.disk), "%s", prefix);
			run_cell(&s);
			static const char *cn[] = { "", "conc-deferred", "conc-none" };
			for (int m = 1; m <= 2; m++) {
				base(&s, cn[m], "concurrency", K_CONC, csize, "full", rep);
				s.n = n;
				s.mode = m;
				s.store = G.rbd_store;
				s.need_bytes = (uint64_t)n * csize;
				snprintf(s.disk, sizeof(s.disk), "%s", prefix);
				run_cell(&s);
			}
			base(&s, "cli-deferred", "concurrency", K_SHELL, csize, "full", rep);
			s.n = n;
			s.script = SH_CLI;
			s.args[0] = n == 1 ? "1" : n == 2 ? "2" : n == 4 ? "4" : "8";
			s.args[1] = prefix;
			s.args[2] = "deferred";
			s.need_bytes = (uint64_t)n * csize;
			run_cell(&s);
		}
	}
	if (!counting)
		for (int i = 0; i < nmax; i++) {
			char d[160];
			snprintf(d, sizeof(d), "%s%d", prefix, i);
			rbd_purge(G.vms_pool, d);
		}
}

/* ---------------- the run's description ---------------- */

static char *trim(char *s)
{
	if (!s)
		return s;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
	return s;
}

static void add_cmd(cJSON *run, const char *key, const char *cmd)
{
	char *s = trim(fsb_cmd_out(cmd));
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
	add_cmd(run, "ceph_version", "ceph --version 2>/dev/null | awk '{print $3}'");
	add_cmd(run, "glance_version", "dpkg-query -W -f='${Version}' glance-api 2>/dev/null");
	snprintf(cmd, sizeof(cmd), "curl -s %s/versions | python3 -c 'import json,sys; "
		"print(max((v[\"id\"] for v in json.load(sys.stdin)[\"versions\"]), "
		"key=lambda s: tuple(map(int, s[1:].split(\".\")))))'", G.glance);
	add_cmd(run, "glance_api_version", cmd);
	add_cmd(run, "cpu_model", "lscpu | sed -n 's/^Model name: *//p' | head -1");
	add_cmd(run, "nproc", "nproc");
	add_cmd(run, "os", ". /etc/os-release; echo $PRETTY_NAME");
	add_cmd(run, "date", "date -u +%FT%TZ");
	add_cmd(run, "loadavg_before", "cut -d' ' -f1-3 /proc/loadavg");
	add_cmd(run, "paxos_propose_interval", "echo ${FASTSNAP_DEV_PAXOS_INTERVAL:-unknown}");
	cJSON_AddStringToObject(run, "flatten_helper", envd("FASTSNAP_FLATTEN_HELPER", ""));
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
"                      [--settle SECONDS]\n"
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
	const char *out = NULL, *cli = NULL, *sizes_opt = NULL, *conc_opt = NULL;
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
			out = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--cli") && i + 1 < argc)
			cli = argv[++i];
		else if (!strcmp(argv[i], "--no-plots"))
			G.no_plots = 1;
		else if (!strcmp(argv[i], "--disk") && i + 1 < argc)
			G.disk = argv[++i];
		else if (!strcmp(argv[i], "--settle") && i + 1 < argc)
			G.settle = atof(argv[++i]);
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
			return report_only(argv[++i], out);
		else
			usage();
	}
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
	G.user = envd("FASTSNAP_CEPH_USER", "admin");
	G.keyring = getenv("FASTSNAP_CEPH_KEYRING");
	G.admin_id = envd("FSB_ADMIN_ID", "admin");
	G.vms_pool = envd("FSB_VMS_POOL", envd("FASTSNAP_DEV_VMS_POOL", "vms"));
	G.rbd_store = envd("FSB_RBD_STORE", envd("FASTSNAP_DEV_RBD_STORE", "fast"));
	G.rbd_pool = envd("FSB_RBD_POOL", envd("FASTSNAP_DEV_IMAGES_POOL", "images"));
	G.file_store = envd("FSB_FILE_STORE", "local");
	G.svc_hdr = getenv("FSB_SERVICE_HEADER");
	snprintf(G.objectstore, sizeof(G.objectstore), "%s", envd("FASTSNAP_DEV_OBJECTSTORE", "unknown"));
	snprintf(G.statedir, sizeof(G.statedir), "%s", envd("FASTSNAP_DEV_DIR", ""));
	char *hd = strdup(envd("FASTSNAP_GLANCE_HEADERS", ""));
	for (char *t = strtok(hd, "|"); t && G.nhdr < 32; t = strtok(NULL, "|"))
		G.hdr[G.nhdr++] = t;
	snprintf(G.tag, sizeof(G.tag), "fsbench-%d", (int)getpid());
	snprintf(rbd_admin, sizeof(rbd_admin), "rbd --conf %s --id %s", G.ceph_conf, G.admin_id);
	snprintf(rbd_user, sizeof(rbd_user), "rbd --conf %s --id %s", G.ceph_conf, G.user);

	if (G.disk) {
		/* an existing disk of the disk pool: its size is the one size */
		char cmd[1400];
		snprintf(cmd, sizeof(cmd), "%s info --format json %s/%s 2>/dev/null | python3 -c "
			"'import json,sys; print(json.load(sys.stdin)[\"size\"])'", rbd_admin, G.vms_pool, G.disk);
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
	}
	/* where this binary is: the CLI next to it, the repo above */
	char self[1000] = "", root[PATH_MAX] = ".";
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
	snprintf(root, sizeof(root), "%s", self);
	{
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof(cmd), "git -C %s rev-parse --show-toplevel 2>/dev/null", self);
		char *r = trim(fsb_cmd_out(cmd));
		if (r && *r)
			snprintf(root, sizeof(root), "%s", r);
		free(r);
	}
	if (access(G.cli, X_OK) != 0) {
		fprintf(stderr, "fastsnap-bench: no fastsnap command at %s (--cli PATH)\n", G.cli);
		return 2;
	}
	snprintf(G.outdir, sizeof(G.outdir), "%s", out ? out : "fastsnap-bench-out");
	mkdir(G.outdir, 0755);
	snprintf(workdir, sizeof(workdir), "%s/fsb-work.XXXXXX", envd("TMPDIR", "/tmp"));
	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		return 1;
	}
	/* the OSD admin sockets */
	{
		char pat[600];
		glob_t gl;
		snprintf(pat, sizeof(pat), "%s", envd("FSB_OSD_ASOK", ""));
		if (!pat[0] && G.statedir[0])
			snprintf(pat, sizeof(pat), "%s/run/ceph-osd.*.asok", G.statedir);
		if (pat[0] && glob(pat, 0, NULL, &gl) == 0) {
			for (size_t i = 0; i < gl.gl_pathc && G.nasok < 8; i++)
				snprintf(G.asok[G.nasok++], sizeof(G.asok[0]), "%s", gl.gl_pathv[i]);
			globfree(&gl);
		}
	}
	curl_global_init(CURL_GLOBAL_ALL);
	/* the cluster's fsid and Glance's location call */
	{
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "ceph --conf %s --id %s fsid 2>/dev/null", G.ceph_conf, G.admin_id);
		char *f = trim(fsb_cmd_out(cmd));
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
	}
	setenv("FSB_HDR", envd("FASTSNAP_GLANCE_HEADERS", ""), 1);
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
	setenv("FSB_SVC_HDR", G.svc_hdr ? G.svc_hdr : "", 1);
	setenv("FSB_CLI", G.cli, 1);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (start_sink() < 0) {
		fprintf(stderr, "fastsnap-bench: the null sink (nginx) did not start\n");
		if (nginx_pid > 0)
			kill(nginx_pid, SIGTERM);
		return 1;
	}
	setenv("FSB_SINK", G.sink, 1);

	records = cJSON_CreateArray();
	made_ids = cJSON_CreateArray();
	if (make_base() < 0) {
		fprintf(stderr, "fastsnap-bench: could not upload a base image into store %s\n", G.rbd_store);
		cJSON *cl0 = cJSON_CreateObject();
		cleanup_all(cl0);
		cJSON_Delete(cl0);
		kill(nginx_pid, SIGTERM);
		return 1;
	}
	cJSON *run = describe(root);
	counting = 1;
	all_cells();
	counting = 0;
	say("%d cells, %s, %s, sizes up to %llu MiB, %d rep(s); run tag %s", cell_total,
		G.objectstore, G.glance_post ? "POST /locations" : "PATCH /locations",
		(unsigned long long)(G.sizes[G.nsizes - 1] >> 20), G.reps, G.tag);
	double t0 = fsb_now();
	all_cells();
	double secs = fsb_now() - t0;
	int interrupted = fsb_stop;
	fprintf(stderr, "\r\033[K");
	say("%s after %.0f s; cleaning up", interrupted ? "interrupted" : "done", secs);
	fsb_stop = 0;
	cJSON *cl = cJSON_AddObjectToObject(run, "cleanup");
	int left = cleanup_all(cl);
	cJSON_AddNumberToObject(cl, "left", left);
	kill(nginx_pid, SIGTERM);
	waitpid(nginx_pid, NULL, 0);
	fsb_sh("rm -rf %s", workdir);
	cJSON_AddNumberToObject(run, "seconds", secs);
	cJSON_AddBoolToObject(run, "interrupted", interrupted);
	add_cmd(run, "loadavg_after", "cut -d' ' -f1-3 /proc/loadavg");
	int bad = 0;
	cJSON *r;
	cJSON_ArrayForEach(r, records)
		if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")))
			bad++;
	cJSON_AddNumberToObject(run, "cells", cJSON_GetArraySize(records));
	cJSON_AddNumberToObject(run, "cells_failed", bad);
	fsb_report(run, records, G.outdir, !G.no_plots);
	say("%d cells, %d failed, %d things left after clean-up; results in %s/results.{json,csv,md}",
		cJSON_GetArraySize(records), bad, left, G.outdir);
	if (summary)
		fsb_summary(stdout, run, records);
	cJSON_Delete(run);
	cJSON_Delete(records);
	cJSON_Delete(made_ids);
	free(hd);
	curl_global_cleanup();
	return interrupted ? 130 : (bad || left) ? 1 : 0;
}
