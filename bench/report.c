/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/report.c: what fastsnap-bench writes from its records: results.json
 * (the run's description + one record per cell run), results.csv, the
 * Markdown tables (medians with min-max, ratios fastsnap/baseline and
 * fastsnap/limit from the same run, the issue-19 targets with a verdict)
 * and the gnuplot PNGs (time to active vs disk size, streaming throughput
 * vs the limits, concurrency vs N).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

static cJSON *R; /* the records */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* min/median/max of `field` over the successful runs of a cell; NAN if none */
static double stat3(const char *cell, double size_mib, const char *fill, int n, const char *field,
	double *mn, double *mx)
{
	double v[64];
	int k = 0;
	cJSON *r;
	cJSON_ArrayForEach(r, R) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "cell")), cell) ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")))
			continue;
		if (size_mib > 0 && cJSON_GetNumberValue(cJSON_GetObjectItem(r, "size_mib")) != size_mib)
			continue;
		if (fill && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "fill")), fill))
			continue;
		if (n > 0 && (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "n")) != n)
			continue;
		cJSON *f = cJSON_GetObjectItem(r, field);
		if (!f && strchr(field, '.')) { /* steps.<name> */
			char a[64];
			snprintf(a, sizeof(a), "%s", field);
			char *dot = strchr(a, '.');
			*dot = 0;
			f = cJSON_GetObjectItem(cJSON_GetObjectItem(r, a), dot + 1);
		}
		if (cJSON_IsNumber(f) && k < 64)
			v[k++] = f->valuedouble;
	}
	if (!k) {
		if (mn)
			*mn = NAN;
		if (mx)
			*mx = NAN;
		return NAN;
	}
	qsort(v, (size_t)k, sizeof(double), cmp_d);
	if (mn)
		*mn = v[0];
	if (mx)
		*mx = v[k - 1];
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static double med(const char *cell, double size, const char *fill, int n)
{
	return stat3(cell, size, fill, n, "t", NULL, NULL);
}

static void cellfmt(char *out, size_t len, const char *cell, double size, const char *fill, int n,
	const char *field)
{
	double mn, mx, m = stat3(cell, size, fill, n, field, &mn, &mx);
	if (isnan(m))
		snprintf(out, len, "-");
	else if (mn == mx)
		snprintf(out, len, "%.3f", m);
	else
		snprintf(out, len, "%.3f (%.3f-%.3f)", m, mn, mx);
}

/* v with `dec` decimals and a suffix, or "-" when unknown */
static void numfmt(char *out, size_t len, double v, int dec, const char *suffix)
{
	if (isnan(v) || isinf(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.*f%s", dec, v, suffix);
}

static const struct {
	const char *cell, *label;
} rows[] = {
	{ "direct-sync", "**fastsnap direct `sync`** (to active)" },
	{ "direct-deferred", "**fastsnap direct `deferred`** (to active)" },
	{ "direct-none", "**fastsnap direct `none`** (to active)" },
	{ "floor", "floor: the unavoidable calls alone" },
	{ "flatten-alone", "librbd `flatten` of the clone alone" },
	{ "nova-rbd-flatten", "(a) Nova's `rbd` CLI sequence + location, with flatten" },
	{ "nova-rbd-noflatten", "(a) the same without flatten" },
	{ "stream-file", "**fastsnap stream raw into the file store** (whole run)" },
	{ "stream-file-md5", "fastsnap stream raw, file store, md5 verified too" },
	{ "stream-file-qcow2", "fastsnap stream qcow2 into the file store (whole run)" },
	{ "stream-rbd", "fastsnap stream raw into the rbd store (stream phase)" },
	{ "export-pipe", "(b) `rbd export - \\| curl -T -` into Glance" },
	{ "export-file", "(c) `rbd export` to a file, then `curl -T`" },
	{ "ingest-alone", "limit: Glance ingest alone (`curl -T` from tmpfs)" },
	{ "stream-sink", "**fastsnap stream into the null sink** (sha512 on)" },
	{ "export-pipe-sink", "(b) `rbd export - \\| curl -T -` into the null sink" },
	{ "read-alone", "limit: snapshot read alone (`rbd export` to /dev/null)" },
	{ "read-fastsnap", "fastsnap's reader + sha512, sent nowhere" },
	{ "sink-alone", "limit: null sink alone (`curl -T` from tmpfs)" },
	{ "sha512-alone", "limit: sha512 alone (OpenSSL, one thread)" },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static double sizes[16];
static int nsz;

static void collect_sizes(void)
{
	cJSON *r;
	nsz = 0;
	cJSON_ArrayForEach(r, R) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "group")), "concurrency") == 0)
			continue;
		double s = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "size_mib"));
		int seen = 0;
		for (int i = 0; i < nsz; i++)
			seen |= sizes[i] == s;
		if (!seen && nsz < 16 && s > 0)
			sizes[nsz++] = s;
	}
	qsort(sizes, (size_t)nsz, sizeof(double), cmp_d);
}

static void verdict(FILE *f, const char *target, int met, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static void verdict(FILE *f, const char *target, int met, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(f, "| %s | %s | %s |\n", target, buf, met < 0 ? "not measured" : met ? "**met**" :
		"**missed**");
}

static const char *rs(cJSON *run, const char *k)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(run, k));
	return v ? v : "?";
}

/* the run in one paragraph */
static void md_header(FILE *f, cJSON *run)
{
	fprintf(f, "commit %s%s, objectstore %s, Ceph %s, Glance %s (API %s, location call %s), "
		"%s, %s CPUs (%s), %s, %d rep(s) per cell (median, min-max), %.0f s of runs, "
		"load %s before and %s after.\n\n",
		rs(run, "commit"), strcmp(rs(run, "src_modified"), "yes") == 0 ? " (src/ or include/ modified)" : "",
		rs(run, "objectstore"), rs(run, "ceph_version"), rs(run, "glance_version"), rs(run, "glance_api_version"),
		rs(run, "location_call"), rs(run, "os"), rs(run, "nproc"), rs(run, "cpu_model"), rs(run, "date"),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(run, "reps")),
		cJSON_GetNumberValue(cJSON_GetObjectItem(run, "seconds")), rs(run, "loadavg_before"),
		rs(run, "loadavg_after"));
}

/* per disk size: each cell's seconds, throughput, CPU, memory, RADOS reads */
static void md_sizes(FILE *f)
{
	char a[96], b[96], c[64], d[64], e[64];
	for (int z = 0; z < nsz; z++) {
		double s = sizes[z];
		fprintf(f, "#### %.0f MiB disk: seconds\n\n", s);
		fprintf(f, "| cell | full: s | ~10%%: s | full: MB/s | CPU s/GiB | peak RSS MiB | RADOS MiB read (full / ~10%%) |\n");
		fprintf(f, "|---|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < NROWS; i++) {
			cellfmt(a, sizeof(a), rows[i].cell, s, "full", 1, "t");
			cellfmt(b, sizeof(b), rows[i].cell, s, "sparse", 1, "t");
			if (!strcmp(a, "-") && !strcmp(b, "-"))
				continue;
			double t = med(rows[i].cell, s, "full", 1);
			numfmt(c, sizeof(c), s * 1048576.0 / t / 1e6, 0, "");
			numfmt(d, sizeof(d), stat3(rows[i].cell, s, "full", 1, "cpu_s_per_gib", NULL, NULL), 2, "");
			numfmt(e, sizeof(e), stat3(rows[i].cell, s, "full", 1, "peak_rss_mib", NULL, NULL), 1, "");
			double rf = stat3(rows[i].cell, s, "full", 1, "rados_read_bytes", NULL, NULL);
			double rs = stat3(rows[i].cell, s, "sparse", 1, "rados_read_bytes", NULL, NULL);
			char rr[64];
			if (isnan(rf))
				snprintf(rr, sizeof(rr), "-");
			else
				snprintf(rr, sizeof(rr), "%.1f / %.1f", rf / 1048576, rs / 1048576);
			fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", rows[i].label, a, b, c, d, e, rr);
		}
		fprintf(f, "\n");
	}

}

/* fastsnap against the baselines and limits of the same run */
static void md_ratios(FILE *f)
{
	/* ratios */
	fprintf(f, "#### Ratios from the same run (medians; time ratios below 1 mean fastsnap is faster)\n\n");
	fprintf(f, "| disk | sync / (a) flatten | deferred / (a) no flatten | deferred / floor | none / floor | "
		"stream file: %% of ingest alone | stream file / (b) | stream file / (c) | sink: %% of min(read, sha512, sink) | "
		"(b) sink / stream sink |\n|---|---|---|---|---|---|---|---|---|---|\n");
	for (int z = 0; z < nsz; z++) {
		for (int fi = 0; fi < 2; fi++) {
			const char *fill = fi ? "sparse" : "full";
			double s = sizes[z];
			/* the limits are times: the smallest throughput is the largest time */
			double lim = fmax(fmax(med("read-alone", s, fill, 1), med("sha512-alone", s, fill, 1)),
				med("sink-alone", s, fill, 1));
			char v[9][32];
			numfmt(v[0], 32, med("direct-sync", s, fill, 1) / med("nova-rbd-flatten", s, fill, 1), 2, "");
			numfmt(v[1], 32, med("direct-deferred", s, fill, 1) / med("nova-rbd-noflatten", s, fill, 1), 2, "");
			numfmt(v[2], 32, med("direct-deferred", s, fill, 1) / med("floor", s, "full", 1), 2, "");
			numfmt(v[3], 32, med("direct-none", s, fill, 1) / med("floor", s, "full", 1), 2, "");
			numfmt(v[4], 32, 100 * med("ingest-alone", s, fill, 1) / med("stream-file", s, fill, 1), 0, "%");
			numfmt(v[5], 32, med("stream-file", s, fill, 1) / med("export-pipe", s, fill, 1), 2, "");
			numfmt(v[6], 32, med("stream-file", s, fill, 1) / med("export-file", s, fill, 1), 2, "");
			numfmt(v[7], 32, 100 * lim / med("stream-sink", s, fill, 1), 0, "%");
			numfmt(v[8], 32, med("export-pipe-sink", s, fill, 1) / med("stream-sink", s, fill, 1), 2, " x");
			fprintf(f, "| %.0f MiB %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s,
				fi ? "~10%" : "full", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
		}
	}
	fprintf(f, "\n");

}

/* per-step times: fastsnap's direct modes beside the floor's calls */
static void md_steps(FILE *f)
{
	char a[96];
	static const char *fsteps[] = { "resolve", "image-create", "tmp-snap", "protect", "clone",
		"flatten", "tmp-remove", "snap", "location", "final-check" };
	static const char *flsteps[] = { "image-create", "tmp-snap", "clone", "snap", "location", "status" };
	fprintf(f, "#### Per-step seconds (medians, full disks)\n\n| disk | run | ");
	for (size_t i = 0; i < 10; i++)
		fprintf(f, "%s | ", fsteps[i]);
	fprintf(f, "to active |\n|---|---|");
	for (size_t i = 0; i < 11; i++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (int z = 0; z < nsz; z++) {
		static const char *cells[] = { "direct-sync", "direct-deferred", "direct-none" };
		for (int k = 0; k < 3; k++) {
			fprintf(f, "| %.0f MiB | %s | ", sizes[z], cells[k]);
			for (size_t i = 0; i < 10; i++) {
				char fld[64];
				snprintf(fld, sizeof(fld), "steps.%s", fsteps[i]);
				numfmt(a, sizeof(a), stat3(cells[k], sizes[z], "full", 1, fld, NULL, NULL), 3, "");
				fprintf(f, "%s | ", a);
			}
			numfmt(a, sizeof(a), med(cells[k], sizes[z], "full", 1), 3, "");
			fprintf(f, "%s |\n", a);
		}
		fprintf(f, "| %.0f MiB | floor | - | ", sizes[z]);
		for (size_t i = 0; i < 6; i++) {
			char fld[64];
			snprintf(fld, sizeof(fld), "steps.%s", flsteps[i]);
			numfmt(a, sizeof(a), stat3("floor", sizes[z], "full", 1, fld, NULL, NULL), 3, "");
			/* floor columns: image-create, tmp-snap(+protect), -, clone, -, -, snap, location, status */
			if (i == 0)
				fprintf(f, "%s | ", a);
			else if (i == 1)
				fprintf(f, "%s | (in tmp-snap) | ", a);
			else if (i == 2)
				fprintf(f, "%s | - | - | ", a);
			else
				fprintf(f, "%s | ", a);
		}
		numfmt(a, sizeof(a), med("floor", sizes[z], "full", 1), 3, "");
		fprintf(f, "%s |\n", a);
	}
	fprintf(f, "\n(The floor's last column before the total is its status read, under `final-check`.)\n\n");

}

/* N disks at once */
static void md_concurrency(FILE *f)
{
	fprintf(f, "#### Concurrency: N disks at once (seconds until the last is active; median of reps)\n\n");
	fprintf(f, "| N | floor, N threads | `deferred`, one engine | its flatten done | `none`, one engine | "
		"N CLI processes (`deferred`): last active | the same: all exited (flatten done) | deferred N / deferred 1 | none / floor |\n"
		"|---|---|---|---|---|---|---|---|---|\n");
	double d1 = med("conc-deferred", -1, NULL, 1);
	for (int n = 1; n <= 8; n *= 2) {
		double fl = med("floor-conc", -1, NULL, n);
		if (isnan(fl) && isnan(med("conc-deferred", -1, NULL, n)))
			continue;
		char v[8][32];
		numfmt(v[7], 32, stat3("cli-deferred", -1, NULL, n, "active_max", NULL, NULL), 3, "");
		numfmt(v[0], 32, fl, 3, "");
		numfmt(v[1], 32, med("conc-deferred", -1, NULL, n), 3, "");
		numfmt(v[2], 32, stat3("conc-deferred", -1, NULL, n, "total_max", NULL, NULL), 3, "");
		numfmt(v[3], 32, med("conc-none", -1, NULL, n), 3, "");
		numfmt(v[4], 32, med("cli-deferred", -1, NULL, n), 3, "");
		numfmt(v[5], 32, med("conc-deferred", -1, NULL, n) / d1, 2, "");
		numfmt(v[6], 32, med("conc-none", -1, NULL, n) / fl, 2, "");
		fprintf(f, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, v[0], v[1], v[2], v[3], v[7],
			v[4], v[5], v[6]);
	}
	fprintf(f, "\n");

}

/* space per image, by flatten mode */
static void md_space(FILE *f)
{
	char a[96], b[96], c[64];
	fprintf(f, "#### Space per image, by flatten mode (full disks; `rbd du` of the image and its snapshots, "
		"the OSD's `bluestore_stored` growth while the image existed "
		"and `bluestore_allocated` growth)\n\n"
		"| disk | run | rbd du MiB | OSD stored MiB | OSD allocated MiB |\n|---|---|---|---|---|\n");
	static const char *sp[] = { "direct-sync", "direct-deferred", "direct-none", "nova-rbd-flatten",
		"nova-rbd-noflatten" };
	for (int z = 0; z < nsz; z++)
		for (int k = 0; k < 5; k++) {
			numfmt(a, sizeof(a), stat3(sp[k], sizes[z], "full", 1, "rbd_du_bytes", NULL, NULL) / 1048576, 1, "");
			numfmt(b, sizeof(b), stat3(sp[k], sizes[z], "full", 1, "osd_stored_delta_bytes", NULL, NULL) / 1048576,
				1, "");
			numfmt(c, sizeof(c), stat3(sp[k], sizes[z], "full", 1, "osd_allocated_delta_bytes", NULL, NULL) / 1048576,
				1, "");
			fprintf(f, "| %.0f MiB | %s | %s | %s | %s |\n", sizes[z], sp[k], a, b, c);
		}
	fprintf(f, "\n");

}

/* the targets of issue 19 for the streamed path, per size and fill */
static void md_targets_stream(FILE *f)
{
	for (int z = 0; z < nsz; z++)
		for (int fi = 0; fi < 2; fi++) {
			const char *fill = fi ? "sparse" : "full";
			double s = sizes[z];
			double st = med("stream-file", s, fill, 1), sp2 = med("stream-file", s, fill, 1);
			double stp = stat3("stream-file", s, fill, 1, "steps.stream", NULL, NULL);
			double ing = med("ingest-alone", s, fill, 1);
			char tg[160];
			snprintf(tg, sizeof(tg), "stream into Glance >= 95%% of ingest alone, %.0f MiB %s", s,
				fi ? "~10%" : "full");
			verdict(f, tg, isnan(stp) || isnan(ing) ? -1 : ing / stp >= 0.95,
				"stream phase %.3f s, whole run %.3f s, ingest alone %.3f s: %.0f%% (whole run %.0f%%)",
				stp, st, ing, 100 * ing / stp, 100 * ing / st);
			double pb = med("export-pipe", s, fill, 1), pc = med("export-file", s, fill, 1);
			snprintf(tg, sizeof(tg), "stream into Glance faster than (b) and (c), %.0f MiB %s", s,
				fi ? "~10%" : "full");
			verdict(f, tg, isnan(sp2) || isnan(pb) ? -1 : sp2 < pb && sp2 < pc,
				"whole run %.3f s, (b) %.3f s, (c) %.3f s", sp2, pb, pc);
			double rd = med("read-alone", s, fill, 1), sh = med("sha512-alone", s, fill, 1),
			       sk = med("sink-alone", s, fill, 1), ss = med("stream-sink", s, fill, 1),
			       bs = med("export-pipe-sink", s, fill, 1);
			double lim = fmax(fmax(rd, sh), sk);
			snprintf(tg, sizeof(tg), "null sink >= 90%% of the slowest limit, %.0f MiB %s", s,
				fi ? "~10%" : "full");
			verdict(f, tg, isnan(ss) || isnan(lim) ? -1 : lim / ss >= 0.9,
				"%.3f s; read alone %.3f, sha512 alone %.3f, sink alone %.3f: %.0f%%", ss, rd, sh, sk,
				100 * lim / ss);
			snprintf(tg, sizeof(tg), "null sink >= 1.2 x (b) into the sink, %.0f MiB %s", s,
				fi ? "~10%" : "full");
			verdict(f, tg, isnan(ss) || isnan(bs) ? -1 : bs / ss >= 1.2, "(b) %.3f s / %.3f s = %.2f x",
				bs, ss, bs / ss);
		}
}

/* the targets of issue 19, from this run */
static void md_targets(FILE *f)
{
	fprintf(f, "#### Targets (issue 19), from this run\n\n| target | measured | verdict |\n|---|---|---|\n");
	double lo = sizes[0], hi = sizes[nsz - 1];
	for (int k = 0; k < 2; k++) {
		const char *c0 = k ? "direct-none" : "direct-deferred";
		double t0 = med(c0, lo, "full", 1), t1 = med(c0, hi, "full", 1);
		verdict(f, k ? "direct `none` flat in size (largest <= 1.2 x smallest)" :
			"direct `deferred` flat in size (largest <= 1.2 x smallest)",
			isnan(t0) || isnan(t1) ? -1 : t1 <= 1.2 * t0,
			"%.0f MiB %.3f s, %.0f MiB %.3f s: %.2f x; floor %.3f s (ratio %.2f)", lo, t0, hi, t1,
			t1 / t0, med("floor", hi, "full", 1), t1 / med("floor", hi, "full", 1));
	}
	for (int z = 0; z < nsz; z++) {
		double s = sizes[z];
		double ts = med("direct-sync", s, "full", 1), ta = med("nova-rbd-flatten", s, "full", 1);
		char tg[128];
		snprintf(tg, sizeof(tg), "direct `sync` <= (a) with flatten, %.0f MiB", s);
		verdict(f, tg, isnan(ts) || isnan(ta) ? -1 : ts <= ta, "%.3f s vs %.3f s", ts, ta);
	}
	md_targets_stream(f);
	double d1 = med("conc-deferred", -1, NULL, 1), d8 = med("conc-deferred", -1, NULL, 8);
	verdict(f, "8 concurrent `deferred` <= 2 x one", isnan(d8) || isnan(d1) ? -1 : d8 <= 2 * d1,
		"%.3f s vs %.3f s: %.2f x", d8, d1, d8 / d1);
	double r1 = NAN, r4 = NAN;
	for (int z = 0; z < nsz; z++) {
		if (sizes[z] == 1024)
			r1 = stat3("stream-file", 1024, "full", 1, "peak_rss_mib", NULL, NULL);
		if (sizes[z] == 4096)
			r4 = stat3("stream-file", 4096, "full", 1, "peak_rss_mib", NULL, NULL);
	}
	verdict(f, "peak RSS within 10% at 1 GiB and 4 GiB (stream into Glance)",
		isnan(r1) || isnan(r4) ? -1 : fabs(r4 - r1) <= 0.1 * r1, "%.1f MiB vs %.1f MiB", r1, r4);
	fprintf(f, "\n");
}

/* the cells, the clean-up, and every failed cell */
static void md_tail(FILE *f, cJSON *run)
{
	cJSON *cl = cJSON_GetObjectItem(run, "cleanup");
	fprintf(f, "Cells: %d, failed: %d. Left after clean-up: %d Glance images, %d disks, %d clones.\n",
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(run, "cells")),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(run, "cells_failed")),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "glance_images_left")),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "rbd_disks_left")),
		(int)cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "rbd_clones_left")));
	cJSON *r;
	cJSON_ArrayForEach(r, R)
		if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")))
			fprintf(f, "- failed: %s %.0f MiB %s N=%d rep %d: %s\n",
				cJSON_GetStringValue(cJSON_GetObjectItem(r, "cell")),
				cJSON_GetNumberValue(cJSON_GetObjectItem(r, "size_mib")),
				cJSON_GetStringValue(cJSON_GetObjectItem(r, "fill")),
				(int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "n")),
				(int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "rep")),
				cJSON_GetStringValue(cJSON_GetObjectItem(r, "error")));
}

static void markdown(FILE *f, cJSON *run)
{
	md_header(f, run);
	md_sizes(f);
	md_ratios(f);
	md_steps(f);
	md_concurrency(f);
	md_space(f);
	md_targets(f);
	md_tail(f, run);
}

static void csv(FILE *f)
{
	static const char *cols[] = { "cell", "group", "size_mib", "fill", "n", "rep", "ok", "t", "wall",
		"active", "total", "cpu_s", "cpu_s_per_gib", "peak_rss_mib", "rados_read_bytes",
		"rbd_du_bytes", "osd_stored_delta_bytes", "osd_allocated_delta_bytes", "error" };
	size_t nc = sizeof(cols) / sizeof(cols[0]);
	for (size_t i = 0; i < nc; i++)
		fprintf(f, "%s%s", cols[i], i + 1 < nc ? "," : "\n");
	cJSON *r;
	cJSON_ArrayForEach(r, R) {
		for (size_t i = 0; i < nc; i++) {
			cJSON *v = cJSON_GetObjectItem(r, cols[i]);
			if (cJSON_IsNumber(v))
				fprintf(f, "%.6g", v->valuedouble);
			else if (cJSON_IsBool(v))
				fprintf(f, "%d", cJSON_IsTrue(v));
			else if (cJSON_IsString(v)) {
				fputc('"', f);
				for (const char *p = v->valuestring; *p; p++) {
					if (*p == '"')
						fputc('"', f);
					fputc(*p == '\n' ? ' ' : *p, f);
				}
				fputc('"', f);
			}
			fprintf(f, "%s", i + 1 < nc ? "," : "\n");
		}
	}
}

/* OUTDIR/NAME opened for writing, or NULL */
static FILE *open_out(const char *outdir, const char *name)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s/%s", outdir, name);
	return fopen(p, "w");
}

/* " NaN" or " %.4f" */
static void put4(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, " NaN");
	else
		fprintf(f, " %.4f", v);
}

/* a data file of the plots: per disk size (full disks), each cell's median
 * seconds, or its throughput in MB/s */
static int dat_by_size(const char *outdir, const char *name, const char *const *cells, size_t n,
	int throughput)
{
	FILE *f = open_out(outdir, name);
	if (!f)
		return -1;
	fprintf(f, "size_mib");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", cells[i]);
	fprintf(f, "\n");
	for (int z = 0; z < nsz; z++) {
		fprintf(f, "%.0f", sizes[z]);
		for (size_t i = 0; i < n; i++) {
			double t = med(cells[i], sizes[z], "full", 1);
			if (!throughput || isnan(t))
				put4(f, t);
			else
				fprintf(f, " %.1f", sizes[z] * 1048576.0 / t / 1e6);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return 0;
}

/* seconds to active vs disk size; throughput against the limits */
static int dat_active_throughput(const char *outdir)
{
	static const char *const c1[] = { "direct-sync", "direct-deferred", "direct-none", "floor",
		"nova-rbd-flatten", "nova-rbd-noflatten", "stream-file", "export-pipe", "export-file" };
	static const char *const c2[] = { "stream-file", "stream-rbd", "export-pipe", "export-file",
		"ingest-alone", "stream-sink", "export-pipe-sink", "read-alone", "sink-alone", "sha512-alone" };
	if (dat_by_size(outdir, "active.dat", c1, sizeof(c1) / sizeof(c1[0]), 0) < 0)
		return -1;
	return dat_by_size(outdir, "throughput.dat", c2, sizeof(c2) / sizeof(c2[0]), 1);
}

/* concurrency; how many rows (N values), or -1 */
static int dat_concurrency(const char *outdir)
{
	FILE *f = open_out(outdir, "concurrency.dat");
	if (!f)
		return -1;
	static const char *c3[] = { "floor-conc", "conc-deferred", "conc-none", "cli-deferred" };
	fprintf(f, "n floor-conc conc-deferred conc-none cli-deferred conc-deferred-flattened cli-active\n");
	int conc_rows = 0;
	for (int n = 1; n <= 8; n *= 2) {
		if (isnan(med("conc-deferred", -1, NULL, n)) && isnan(med("floor-conc", -1, NULL, n)))
			continue;
		conc_rows++;
		fprintf(f, "%d", n);
		for (size_t i = 0; i < 4; i++)
			put4(f, med(c3[i], -1, NULL, n));
		put4(f, stat3("conc-deferred", -1, NULL, n, "total_max", NULL, NULL));
		put4(f, stat3("cli-deferred", -1, NULL, n, "active_max", NULL, NULL));
		fprintf(f, "\n");
	}
	fclose(f);
	return conc_rows;
}

/* the gnuplot script of the three plots (the third without rows: none) */
static int plot_script(const char *outdir, int conc_rows)
{
	FILE *f = open_out(outdir, "plots.gp");
	if (!f)
		return -1;
	fprintf(f,
		"set terminal pngcairo size 1000,700 font 'sans,10'\n"
		"set grid\nset key outside below maxrows 4\nset datafile missing 'NaN'\nset key autotitle columnhead\n"
		"set xrange [%g:%g]\n", sizes[0] / 1.5, sizes[nsz - 1] * 1.5);
	fprintf(f,
		"set output '%s/active.png'\n"
		"set title 'Seconds until the Glance image is active, by disk size (full disks, median)'\n"
		"set xlabel 'disk size (MiB)'\nset ylabel 'seconds'\nset logscale x 2\nset logscale y\n"
		"plot '%s/active.dat' using 1:2 w lp lw 3 title 'fastsnap direct sync', "
		"'' using 1:3 w lp lw 3 title 'fastsnap direct deferred', "
		"'' using 1:4 w lp lw 3 title 'fastsnap direct none', "
		"'' using 1:5 w lp lw 2 dt 2 title 'floor (unavoidable calls alone)', "
		"'' using 1:6 w lp lw 2 title '(a) rbd CLI + location, flatten', "
		"'' using 1:7 w lp lw 2 title '(a) rbd CLI + location, no flatten', "
		"'' using 1:8 w lp lw 3 title 'fastsnap stream, file store', "
		"'' using 1:9 w lp lw 2 title '(b) rbd export | curl -T -', "
		"'' using 1:10 w lp lw 2 title '(c) export to file, then upload'\n"
		"set output '%s/throughput.png'\n"
		"set title 'Streaming throughput against the limits (full disks, median)'\n"
		"set ylabel 'MB/s (10^6 bytes of disk per second)'\nunset logscale y\nset yrange [0:*]\n"
		"plot '%s/throughput.dat' using 1:2 w lp lw 3 title 'fastsnap stream, file store (whole run)', "
		"'' using 1:3 w lp lw 2 title 'fastsnap stream, rbd store (phase)', "
		"'' using 1:4 w lp lw 2 title '(b) rbd export | curl, Glance', "
		"'' using 1:5 w lp lw 2 title '(c) export to file, upload', "
		"'' using 1:6 w lp lw 2 dt 2 title 'limit: Glance ingest alone', "
		"'' using 1:7 w lp lw 3 title 'fastsnap stream, null sink (sha512)', "
		"'' using 1:8 w lp lw 2 title '(b) into the null sink', "
		"'' using 1:9 w lp lw 2 dt 2 title 'limit: read alone', "
		"'' using 1:10 w lp lw 2 dt 2 title 'limit: null sink alone', "
		"'' using 1:11 w lp lw 2 dt 2 title 'limit: sha512 alone'\n"
		"%sset output '%s/concurrency.png'\n"
		"set title 'N snapshots of N disks at once: seconds until the last is active (median)'\n"
		"unset logscale x\nset logscale x 2\nset xrange [0.8:10]\nset xlabel 'N'\nset ylabel 'seconds'\nset yrange [0:*]\n"
		"plot '%s/concurrency.dat' using 1:2 w lp lw 2 dt 2 title 'floor, N threads', "
		"'' using 1:3 w lp lw 3 title 'deferred, one engine (active)', "
		"'' using 1:6 w lp lw 1 dt 3 title 'deferred, one engine (flatten done)', "
		"'' using 1:4 w lp lw 3 title 'none, one engine (active)', "
		"'' using 1:7 w lp lw 2 title 'N CLI processes, deferred (last active)', "
		"'' using 1:5 w lp lw 1 dt 3 title 'N CLI processes, deferred (all exited)'\n",
		outdir, outdir, outdir, outdir, conc_rows ? "" : "exit\n", outdir, outdir);
	fclose(f);
	return 0;
}

static void plots(const char *outdir)
{
	int conc_rows;
	if (dat_active_throughput(outdir) < 0 ||
	    (conc_rows = dat_concurrency(outdir)) < 0 || plot_script(outdir, conc_rows) < 0)
		return;
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "gnuplot %s/plots.gp 2>%s/gnuplot.log", outdir, outdir);
	if (fsb_sh("%s", cmd) != 0)
		fprintf(stderr, "fastsnap-bench: gnuplot failed (see %s/gnuplot.log)\n", outdir);
}

void fsb_report(cJSON *run, cJSON *records, const char *outdir, int with_plots)
{
	R = records;
	collect_sizes();
	char p[1200];
	cJSON *all = cJSON_CreateObject();
	cJSON_AddItemReferenceToObject(all, "run", run);
	cJSON_AddItemReferenceToObject(all, "records", records);
	char *js = cJSON_Print(all);
	snprintf(p, sizeof(p), "%s/results.json", outdir);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(js, f);
		fputc('\n', f);
		fclose(f);
	}
	free(js);
	cJSON_Delete(all);
	snprintf(p, sizeof(p), "%s/results.csv", outdir);
	if ((f = fopen(p, "w"))) {
		csv(f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/results.md", outdir);
	if ((f = fopen(p, "w"))) {
		markdown(f, run);
		fclose(f);
	}
	if (with_plots && nsz > 0)
		plots(outdir);
}

void fsb_summary(FILE *f, cJSON *run, cJSON *records)
{
	R = records;
	collect_sizes();
	static const struct {
		const char *cell, *label, *vs, *vs_label;
	} pairs[] = {
		{ "direct-sync", "fastsnap direct sync", "nova-rbd-flatten", "rbd CLI + curl, flatten" },
		{ "direct-deferred", "fastsnap direct deferred", "nova-rbd-noflatten", "rbd CLI + curl, no flatten" },
		{ "direct-none", "fastsnap direct none", "nova-rbd-noflatten", "rbd CLI + curl, no flatten" },
		{ "stream-file", "fastsnap stream (file store)", "export-pipe", "rbd export | curl -T -" },
		{ "stream-file", "fastsnap stream (file store)", "export-file", "rbd export to a file, curl" },
	};
	for (int z = 0; z < nsz; z++) {
		fprintf(f, "%.0f MiB disk, %s, seconds until the image is active (median):\n", sizes[z],
			rs(run, "objectstore"));
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			double a = med(pairs[i].cell, sizes[z], NULL, 1), b = med(pairs[i].vs, sizes[z], NULL, 1);
			if (isnan(a) || isnan(b))
				continue;
			fprintf(f, "  %-30s %7.2f s   %-28s %7.2f s   %5.1f x %s\n", pairs[i].label, a,
				pairs[i].vs_label, b, a <= b ? b / a : a / b, a <= b ? "faster" : "slower");
		}
	}
}
