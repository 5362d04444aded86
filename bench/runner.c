/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/runner.c: runs one cell of fastsnap-bench: the free-space check, a
 * quiet monitor before it, the cell in a forked child (an in-process cell
 * of cells.c, or a shell command whose "key=value" lines are its figures),
 * peak RSS and CPU from wait4, the OSD counters and space figures around
 * it, then undoing what it made. Also the disks' set-up (in a child too)
 * and the clean-up of everything named after the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

fsb_runner RUN;

static int free_space_ok(const fsb_spec *s, char *why, size_t whylen)
{
	struct statvfs v;
	if (s->need_local && statvfs(fsb_envd("TMPDIR", "/var/tmp"), &v) == 0 &&
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
int fsb_wanted(const char *cell)
{
	if (!RUN.only)
		return 1;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", RUN.only);
	for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
		if (strstr(cell, t))
			return 1;
	return 0;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

/* the record's first keys and the progress line */
static cJSON *new_record(const fsb_spec *s)
{
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "cell", s->cell);
	cJSON_AddStringToObject(rec, "group", s->group);
	cJSON_AddNumberToObject(rec, "size_mib", (double)(s->size >> 20));
	cJSON_AddStringToObject(rec, "fill", s->fill ? s->fill : "");
	cJSON_AddNumberToObject(rec, "n", s->n);
	cJSON_AddNumberToObject(rec, "rep", s->rep);
	fprintf(stderr, "\r\033[K[%d/%d] %-22s %5llu MiB %-6s N=%d rep %d ...", RUN.cell_no,
		RUN.cell_total, s->cell, (unsigned long long)(s->size >> 20), s->fill ? s->fill : "", s->n,
		s->rep);
	return rec;
}

/* the child: a shell cell's stdout, or an in-process cell's JSON, into fd */
static void cell_child(const fsb_spec *s, int fd)
{
	/* the parent's handlers only set a flag: a cell dies of a
	 * signal (snapshot cells cancel through their token instead) */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (s->kind == K_SHELL) {
		dup2(fd, 1);
		int dn = open("/dev/null", O_WRONLY);
		char errf[1200];
		snprintf(errf, sizeof(errf), "%s/cell.err", RUN.workdir);
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
		ssize_t w = write(fd, js + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	_exit(cJSON_IsTrue(cJSON_GetObjectItem(out, "ok")) ? 0 : 1);
}

/* everything the child wrote, until it closes the pipe */
static char *read_all(int fd)
{
	fsb_buf b = { 0 };
	char tmp[8192];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		fsb_collect(tmp, 1, (size_t)n, &b);
	}
	return b.p;
}

/* what the cell said, as an object with at least "ok" */
static cJSON *cell_output(const fsb_spec *s, int status, char *text)
{
	cJSON *out = NULL;
	if (s->kind == K_SHELL) {
		out = cJSON_CreateObject();
		if (text)
			parse_kv(out, text);
		int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		cJSON_AddBoolToObject(out, "ok", ok);
		if (!ok) {
			char errf[1200];
			snprintf(errf, sizeof(errf), "tail -c 800 %s/cell.err | tr '\\n' ' '", RUN.workdir);
			char *e = fsb_cmd_out(errf);
			cJSON_AddStringToObject(out, "error", e && *e ? e : "command failed");
			free(e);
		}
		return out;
	}
	out = text ? cJSON_Parse(text) : NULL;
	if (!out) {
		out = cJSON_CreateObject();
		cJSON_AddFalseToObject(out, "ok");
		cJSON_AddStringToObject(out, "error", WIFSIGNALED(status) ? "killed by a signal" :
			"no result from the cell process");
	}
	return out;
}

/* the cell's figures into the record (a cell's key replaces the record's) */
static void merge(cJSON *rec, cJSON *out)
{
	cJSON *it = out->child;
	while (it) {
		cJSON *next = it->next;
		cJSON_DetachItemViaPointer(out, it);
		cJSON_DeleteItemFromObject(rec, it->string);
		cJSON_AddItemToObject(rec, it->string, it);
		it = next;
	}
	cJSON_Delete(out);
}

/* OSD counters before a cell: op_r_out_bytes, bluestore stored, allocated */
typedef struct {
	long long rd, stored, alloc;
} osd_marks;

static osd_marks osd_before(const fsb_spec *s)
{
	osd_marks m;
	m.rd = s->rados ? fsb_osd_counter("osd", "op_r_out_bytes") : -1;
	m.stored = s->space ? fsb_osd_counter("bluestore", "bluestore_stored") : -1;
	m.alloc = s->space ? fsb_osd_counter("bluestore", "bluestore_allocated") : -1;
	return m;
}

/* time, CPU, memory, RADOS reads and space of the cell into its record */
static void add_figures(cJSON *rec, const fsb_spec *s, double wall, const struct rusage *ru,
	osd_marks m)
{
	if (!cJSON_GetObjectItem(rec, "t"))
		cJSON_AddNumberToObject(rec, "t", wall);
	cJSON_AddNumberToObject(rec, "wall", wall);
	double cpu = tv(ru->ru_utime) + tv(ru->ru_stime);
	cJSON_AddNumberToObject(rec, "cpu_s", cpu);
	if (s->size)
		cJSON_AddNumberToObject(rec, "cpu_s_per_gib", cpu / ((double)s->size / (1 << 30)) /
			(s->n > 0 ? s->n : 1));
	cJSON_AddNumberToObject(rec, "peak_rss_mib", (double)ru->ru_maxrss / 1024.0);
	if (s->rados && m.rd >= 0)
		cJSON_AddNumberToObject(rec, "rados_read_bytes",
			(double)(fsb_osd_counter("osd", "op_r_out_bytes") - m.rd));
	cJSON *ids = cJSON_GetObjectItem(rec, "image_ids");
	if (!s->space || cJSON_GetArraySize(ids) != 1)
		return;
	const char *id = cJSON_GetArrayItem(ids, 0)->valuestring;
	cJSON_AddNumberToObject(rec, "rbd_du_bytes", (double)fsb_rbd_du(G.rbd_pool, id));
	if (m.stored < 0)
		return;
	/* BlueStore updates its counters as transactions commit */
	usleep(500000);
	cJSON_AddNumberToObject(rec, "osd_stored_delta_bytes",
		(double)(fsb_osd_counter("bluestore", "bluestore_stored") - m.stored));
	/* allocated: extents shared by a snapshot's clone object and the head count once */
	cJSON_AddNumberToObject(rec, "osd_allocated_delta_bytes",
		(double)(fsb_osd_counter("bluestore", "bluestore_allocated") - m.alloc));
}

/* undo what the cell made: its Glance images (Glance removes the clones it
 * holds), any clone left behind, snapshots it named; then its result line */
static void undo_and_say(cJSON *rec)
{
	cJSON *it, *ids = cJSON_GetObjectItem(rec, "image_ids");
	cJSON_ArrayForEach(it, ids) {
		cJSON_AddItemToArray(RUN.made_ids, cJSON_CreateString(it->valuestring));
		fsb_glance_delete(it->valuestring);
	}
	cJSON *snaps = cJSON_GetObjectItem(rec, "disk_snap");
	if (cJSON_IsString(snaps)) {
		cJSON_ArrayForEach(it, ids)
			fsb_rbd_purge(G.rbd_pool, it->valuestring);
		fsb_sh("%s snap unprotect %s >/dev/null 2>&1; %s snap rm --no-progress %s >/dev/null 2>&1",
			fsb_rbd_admin, snaps->valuestring, fsb_rbd_admin, snaps->valuestring);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItem(rec, "ok")))
		fprintf(stderr, " %.3f s\n", cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "t")));
	else
		fprintf(stderr, " FAILED: %s\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(rec, "error")));
}

cJSON *fsb_run_cell(fsb_spec *s)
{
	if (!fsb_wanted(s->cell) && strcmp(s->group, "setup"))
		return NULL;
	if (RUN.counting) {
		RUN.cell_total++;
		return NULL;
	}
	if (fsb_stop)
		return NULL;
	RUN.cell_no++;
	cJSON *rec = new_record(s);
	char why[800];
	if (!free_space_ok(s, why, sizeof(why))) {
		cJSON_AddFalseToObject(rec, "ok");
		cJSON_AddStringToObject(rec, "error", why);
		fprintf(stderr, " skipped: %s\n", why);
		cJSON_AddItemToArray(RUN.records, rec);
		return rec;
	}
	/* A snapshot waits for the monitor's next proposal, and how long
	 * depends on when it last committed a map (the previous cell's
	 * clean-up removes snapshots): each timed cell starts on a quiet
	 * monitor, so no cell profits from its predecessor's clean-up
	 * (docs/benchmarks.md, "The monitor's proposals"). */
	if (s->kind != K_SETUP && G.settle > 0)
		usleep((useconds_t)(G.settle * 1e6));
	osd_marks m = osd_before(s);
	int pfd[2];
	if (pipe(pfd) < 0)
		return NULL;
	fflush(NULL);
	double t0 = fsb_now();
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		cell_child(s, pfd[1]);
	}
	close(pfd[1]);
	char *text = read_all(pfd[0]);
	close(pfd[0]);
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	double wall = fsb_now() - t0;
	merge(rec, cell_output(s, status, text));
	free(text);
	add_figures(rec, s, wall, &ru, m);
	undo_and_say(rec);
	cJSON_AddItemToArray(RUN.records, rec);
	return rec;
}

void fsb_spec_init(fsb_spec *s, const char *cell, const char *group, enum fsb_kind k, uint64_t size,
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

void fsb_setup_disks(uint64_t size, int sparse, const char *prefix, int n, const char *label)
{
	fsb_spec s;
	fsb_spec_init(&s, label, "setup", K_SETUP, size, sparse ? "sparse" : "full", 0);
	s.n = n;
	s.need_bytes = (uint64_t)n * size;
	if (RUN.counting) {
		RUN.cell_total++;
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
	RUN.cell_no++;
	fprintf(stderr, "\r\033[K[%d/%d] writing %d disk(s) of %llu MiB (%s) ...", RUN.cell_no, RUN.cell_total,
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

/* Everything named after this run: Glance images called G.tag, RBD images
 * with our prefix in the disk pool, clones named after the Glance ids we
 * made in the store's pool. Returns how many were still there afterwards. */
int fsb_cleanup_all(cJSON *report)
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
					fsb_glance_delete(cJSON_GetStringValue(cJSON_GetObjectItem(im, "id")));
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
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null", fsb_rbd_admin, G.rbd_pool);
	char *pool_ls = fsb_cmd_out(cmd);
	cJSON_ArrayForEach(id, RUN.made_ids)
		if (pool_ls && strstr(pool_ls, id->valuestring))
			fsb_rbd_purge(G.rbd_pool, id->valuestring);
	free(pool_ls);
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null | grep '^fsb-%d-' || true", fsb_rbd_admin,
		G.vms_pool, (int)getpid());
	for (int pass = 0; pass < 2; pass++) {
		char *s = fsb_cmd_out(cmd);
		int n = 0;
		for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
			n++;
			if (pass == 0)
				fsb_rbd_purge(G.vms_pool, line);
		}
		free(s);
		if (pass == 1) {
			left += n;
			cJSON_AddNumberToObject(report, "rbd_disks_left", n);
		}
	}
	int clones = 0;
	snprintf(cmd, sizeof(cmd), "%s ls %s 2>/dev/null", fsb_rbd_admin, G.rbd_pool);
	char *s = fsb_cmd_out(cmd);
	cJSON_ArrayForEach(id, RUN.made_ids)
		if (s && strstr(s, id->valuestring))
			clones++;
	free(s);
	cJSON_AddNumberToObject(report, "rbd_clones_left", clones);
	left += clones;
	return left;
}
