/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_qcow2_qemu.c: the qcow2 stream checked by tools we did
 * not write. A sparse raw file goes through the same body the upload uses
 * (stream/body.c with disk_format "qcow2": map, reader, writer, hasher)
 * into a local file; `qemu-img check` must find no errors, `qemu-img
 * compare` must find it identical to the raw file, and `qemu-img info`
 * must report the disk's virtual size, and Glance's own format inspector
 * must find it safe (no backing file, data file or unknown feature) with
 * that virtual size. Fixed edge cases (empty, full, one
 * byte at the very end, sizes not a multiple of the cluster, extents
 * straddling clusters and L2 tables, a disk larger than one L2 table maps,
 * a zero-size disk), then random maps (FASTSNAP_QCOW2_QEMU_RUNS, default 30;
 * FASTSNAP_QCOW2_SEED picks another sequence). Also a rewind in the middle.
 */
#include <stdlib.h>
#include <sys/wait.h>

#include "stream/body.h"
#include "stream/zero_scan.h"
#include "test_stream_util.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)

/* Run a shell command; its exit status, and its output in out (cap bytes). */
static int sh(char *out, size_t cap, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Stream the raw file as qcow2 into a new file; returns its length. */
static uint64_t stream_qcow2(int src, uint64_t size, uint64_t cs, unsigned depth, uint64_t rs,
	int zero_scan, const char *out_path, uint64_t *allocated)
{
	fs_stream_req req = { .fd = src, .size = size, .disk_format = "qcow2",
		.qcow2_cluster_size = cs, .depth = depth, .read_size = rs, .verify_md5 = 1,
		.qcow2_zero_scan = zero_scan };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0, "%s", fastsnap_error_last());
	uint64_t length = fs_stream_body_length(b);
	const fs_qcow2_layout *L = fs_stream_body_qcow2(b);
	cr_assert(L);
	cr_assert_eq(length, L->length);
	FILE *f = fopen(out_path, "wb");
	cr_assert(f);
	static const size_t lens[] = { 65536, 1, 16384, 4097, 200000, 7 };
	static char buf[200000];
	uint64_t got = 0;
	for (unsigned i = 0;; i++) {
		ssize_t n = fs_stream_body_read(b, buf, lens[i % 6]);
		cr_assert(n >= 0, "body read: %s", fastsnap_error_last());
		if (n == 0)
			break;
		cr_assert_eq(fwrite(buf, 1, (size_t)n, f), (size_t)n);
		got += (uint64_t)n;
	}
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(got, length, "body gave %llu bytes, announced %llu", (unsigned long long)got,
		(unsigned long long)length);
	fs_stream_res res;
	memset(&res, 0, sizeof(res));
	cr_assert_eq(fs_stream_body_finish(b, &res), 0, "%s", fastsnap_error_last());
	cr_assert_eq(res.bytes_sent, length);
	cr_assert_eq(res.virtual_size, size % 512 ? size + 512 - size % 512 : size);
	/* holes are never read: only the allocated clusters */
	cr_assert(res.bytes_read <= res.bytes_allocated);
	*allocated = res.bytes_allocated;
	fs_stream_body_free(b);
	/* the digests are those of the bytes written */
	int fd = open(out_path, O_RDONLY);
	unsigned char *img = ts_slurp(fd, length);
	close(fd);
	char h[129], m[33];
	ts_sha512(h, img, length);
	ts_md5(m, img, length);
	free(img);
	cr_assert_str_eq(res.sha512, h);
	cr_assert_str_eq(res.md5, m);
	return length;
}

/* Glance's own format inspector (the glance-api package's
 * glance.common.format_inspector, or on Glance 30 oslo.utils': the
 * backing-file, data-file and unknown-feature checks Glance 30 applies to
 * uploads) on out_path. */
static void glance_inspect(const char *out_path, uint64_t size, const char *what)
{
	char out[4096], cmd[1024];
	/* Glance 25 has its own; Glance 30 uses oslo.utils' (whose
	 * safety_check returns None when safe and raises otherwise). */
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import sys\n"
		"try:\n"
		"    from glance.common import format_inspector as f\n"
		"except ImportError:\n"
		"    from oslo_utils.imageutils import format_inspector as f\n"
		"i = f.QcowInspector.from_file(sys.argv[1])\n"
		"print(i.virtual_size, i.safety_check() is not False)' '%s' 2>&1", out_path);
	int st = sh(out, sizeof(out), cmd);
	cr_assert_eq(st, 0, "%s: Glance's format inspector failed:\n%s", what, out);
	char want[64];
	snprintf(want, sizeof(want), "%llu True\n",
		(unsigned long long)(size % 512 ? size + 512 - size % 512 : size));
	cr_assert_str_eq(out, want, "%s: Glance's format inspector", what);
}

static int inspect_with_glance = 1;

/* The qemu-img verdicts on out_path against raw_path. */
static void qemu_checks(const char *raw_path, const char *out_path, uint64_t size, const char *what)
{
	if (inspect_with_glance)
		glance_inspect(out_path, size, what);
	char out[8192], cmd[512];
	snprintf(cmd, sizeof(cmd), "qemu-img check -f qcow2 '%s' 2>&1", out_path);
	int st = sh(out, sizeof(out), cmd);
	cr_assert_eq(st, 0, "%s: qemu-img check exit %d:\n%s", what, st, out);
	cr_assert(strstr(out, "No errors were found"), "%s: qemu-img check:\n%s", what, out);
	snprintf(cmd, sizeof(cmd), "qemu-img compare -f raw -F qcow2 '%s' '%s' 2>&1", raw_path,
		out_path);
	st = sh(out, sizeof(out), cmd);
	cr_assert_eq(st, 0, "%s: qemu-img compare exit %d:\n%s", what, st, out);
	cr_assert(strstr(out, "Images are identical"), "%s: qemu-img compare:\n%s", what, out);
	snprintf(cmd, sizeof(cmd), "qemu-img info -f qcow2 --output=json '%s' 2>&1", out_path);
	st = sh(out, sizeof(out), cmd);
	cr_assert_eq(st, 0, "%s: qemu-img info:\n%s", what, out);
	char want[64];
	/* qemu counts whole 512-byte sectors: the size is rounded up */
	snprintf(want, sizeof(want), "\"virtual-size\": %llu,",
		(unsigned long long)(size % 512 ? size + 512 - size % 512 : size));
	cr_assert(strstr(out, want), "%s: qemu-img info, want %s:\n%s", what, want, out);
	cr_assert(!strstr(out, "backing-filename"), "%s: has a backing file:\n%s", what, out);
	cr_assert(!strstr(out, "data-file"), "%s: has a data file:\n%s", what, out);
}

typedef struct {
	uint64_t off, len;
} ext;

/* One case: write the extents into a sparse file, stream it, check it. */
static void run_case_z(const char *what, uint64_t size, const ext *e, size_t n, uint64_t cs,
	unsigned depth, uint64_t rs, int zero_scan)
{
	char raw[64], out[80];
	int fd = ts_sparse_file(raw, size);
	uint64_t written = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = e[i].off < size ? (e[i].len < size - e[i].off ? e[i].len : size - e[i].off) : 0;
		if (len) {
			ts_fill(fd, e[i].off, len);
			written += len;
		}
	}
	fsync(fd);
	snprintf(out, sizeof(out), "%s.qcow2", raw);
	uint64_t allocated = 0;
	uint64_t length = stream_qcow2(fd, size, cs, depth, rs, zero_scan, out, &allocated);
	char label[192];
	snprintf(label, sizeof(label), "%s (size %llu, cluster %llu, %zu extents, depth %u, "
		"read size %llu%s)", what, (unsigned long long)size, (unsigned long long)cs, n, depth,
		(unsigned long long)rs, zero_scan ? ", zero scan" : "");
	qemu_checks(raw, out, size, label);
	/* the image holds the allocated clusters and little else */
	cr_assert(allocated <= size, "%s", label);
	cr_assert(length <= allocated + cs * 8 + (size / (cs * cs / 8) + 2) * cs * 2 + 2 * MiB,
		"%s: %llu bytes for %llu allocated", label, (unsigned long long)length,
		(unsigned long long)allocated);
	close(fd);
	unlink(raw);
	unlink(out);
}

static void run_case(const char *what, uint64_t size, const ext *e, size_t n, uint64_t cs,
	unsigned depth, uint64_t rs)
{
	run_case_z(what, size, e, n, cs, depth, rs, 0);
}

Test(qcow2_qemu, empty_disk)
{
	run_case("empty", 3 * MiB, NULL, 0, 64 * KiB, 4, 1 * MiB);
	run_case("empty, small clusters", 3 * MiB + 5, NULL, 0, 512, 2, 64 * KiB);
}

Test(qcow2_qemu, zero_size_disk)
{
	run_case("zero size", 0, NULL, 0, 64 * KiB, 4, 1 * MiB);
}

Test(qcow2_qemu, full_disk)
{
	const ext e[] = { { 0, 1ull << 40 } };
	run_case("full", 3 * MiB + 17, e, 1, 64 * KiB, 8, 4 * MiB);
	run_case("full, 4 KiB clusters", 5 * MiB, e, 1, 4 * KiB, 3, 100000);
}

Test(qcow2_qemu, one_byte_at_the_very_end)
{
	const uint64_t size = 5 * MiB + 1;
	const ext e[] = { { size - 1, 1 } };
	run_case("last byte", size, e, 1, 64 * KiB, 8, 4 * MiB);
	run_case("last byte, 512 B clusters", size, e, 1, 512, 8, 1 * MiB);
	run_case("last byte, 2 MiB clusters", size, e, 1, 2 * MiB, 2, 1 * MiB);
}

Test(qcow2_qemu, size_not_a_multiple_of_the_cluster)
{
	const uint64_t size = 1000003;
	const ext e[] = { { 0, 10 }, { 300000, 70000 }, { size - 3, 3 } };
	run_case("odd size 64K", size, e, 3, 64 * KiB, 4, 256 * KiB);
	run_case("odd size 8K", size, e, 3, 8 * KiB, 4, 100000);
}

Test(qcow2_qemu, extents_straddling_clusters_and_l2_tables)
{
	/* 4 KiB clusters: one L2 table maps 2 MiB */
	const uint64_t T = 2 * MiB;
	const ext e[] = {
		{ 4095, 2 }, { T - 100, 200 }, { 3 * T - 4096, 4096 }, { 4 * T + 4095, T + 2 },
		{ 9 * T - 1, 1 },
	};
	run_case("straddling", 9 * T, e, 5, 4 * KiB, 8, 1 * MiB);
	run_case("straddling, read size not a power of two", 9 * T + 333, e, 5, 4 * KiB, 3, 300000);
}

Test(qcow2_qemu, disk_larger_than_one_l2_table)
{
	/* 64 KiB clusters: one L2 table maps 512 MiB */
	const uint64_t T = 512 * MiB;
	const ext e[] = { { 1 * MiB, 64 * KiB }, { T - 3000, 6000 }, { T + 77 * MiB, 1 * MiB },
		{ 2 * T + 100, 100 } };
	run_case("1.5 GiB", 3 * T - 4 * KiB + 1, e, 4, 64 * KiB, 8, 4 * MiB);
}

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

Test(qcow2_qemu, random_maps)
{
	const char *v = getenv("FASTSNAP_QCOW2_QEMU_RUNS");
	long runs = v && *v ? strtol(v, NULL, 10) : 30;
	v = getenv("FASTSNAP_QCOW2_SEED");
	uint64_t s = v && *v ? strtoull(v, NULL, 0) : 0x9c0e2;
	static const uint64_t css[] = { 512, 1024, 4096, 16384, 65536, 2 * MiB };
	static const uint64_t rss[] = { 64 * KiB, 1 * MiB, 4 * MiB, 100000 };
	for (long i = 0; i < runs; i++) {
		uint64_t seed = s;
		uint64_t cs = css[rng(&s) % 6];
		uint64_t size = rng(&s) % (24 * MiB);
		ext e[16];
		size_t n = size ? rng(&s) % 17 : 0;
		for (size_t k = 0; k < n; k++) {
			e[k].off = rng(&s) % size;
			switch (rng(&s) % 4) {
			case 0: e[k].len = 1 + rng(&s) % 16; break;
			case 1: e[k].len = 1 + rng(&s) % (3 * cs); break;
			case 2: e[k].len = 1 + rng(&s) % (size / 3 + 1); break;
			default: e[k].off = size - 1 - rng(&s) % (size < 8192 ? size : 8192); e[k].len = size;
			}
		}
		char what[64];
		snprintf(what, sizeof(what), "random map %ld (seed 0x%llx)", i, (unsigned long long)seed);
		unsigned depth = 1 + (unsigned)(rng(&s) % 8);
		uint64_t rs = rss[rng(&s) % 4];
		inspect_with_glance = i % 5 == 0;   /* 0.15 s each: a fifth of the maps */
		run_case_z(what, size, e, n, cs, depth, rs, (int)(rng(&s) % 3 == 0));
	}
}

/* A retry restarts the body at byte 0: the second pass must give the same
 * image and digests. */
Test(qcow2_qemu, rewind_in_the_middle)
{
	char raw[64];
	const uint64_t size = 40 * MiB + 5;
	int fd = ts_sparse_file(raw, size);
	ts_fill(fd, 0, 100);
	ts_fill(fd, 9 * MiB - 7, 3 * MiB);
	ts_fill(fd, size - 1, 1);
	fs_stream_req req = { .fd = fd, .size = size, .disk_format = "qcow2", .depth = 3,
		.read_size = 1 * MiB };
	fs_stream_body *b = NULL;
	cr_assert_eq(fs_stream_body_new(&b, &req), 0, "%s", fastsnap_error_last());
	uint64_t length = fs_stream_body_length(b);
	char *first = malloc(length), *second = malloc(length);
	static char buf[70000];
	for (int pass = 0; pass < 2; pass++) {
		char *dst = pass ? second : first;
		uint64_t got = 0;
		uint64_t stop = pass ? length : length / 2;
		while (got < stop) {
			ssize_t n = fs_stream_body_read(b, buf, sizeof(buf));
			cr_assert(n > 0, "%s", fastsnap_error_last());
			memcpy(dst + got, buf, (size_t)n);
			got += (uint64_t)n;
		}
		if (!pass)
			cr_assert_eq(fs_stream_body_rewind(b), 0, "%s", fastsnap_error_last());
	}
	cr_assert_eq(fs_stream_body_read(b, buf, sizeof(buf)), 0);
	fs_stream_res res;
	cr_assert_eq(fs_stream_body_finish(b, &res), 0, "%s", fastsnap_error_last());
	cr_assert_eq(memcmp(first, second, length / 2), 0);
	char h[129];
	ts_sha512(h, second, length);
	cr_assert_str_eq(res.sha512, h);
	fs_stream_body_free(b);
	free(first);
	free(second);
	close(fd);
	unlink(raw);
}

Test(qcow2_qemu, unknown_format_and_bad_cluster_size_are_refused)
{
	char raw[64];
	int fd = ts_sparse_file(raw, 1 * MiB);
	fs_stream_body *b = NULL;
	fs_stream_req req = { .fd = fd, .size = 1 * MiB, .disk_format = "vmdk" };
	cr_assert_eq(fs_stream_body_new(&b, &req), FASTSNAP_EINVAL);
	cr_assert_null(b);
	req.disk_format = "qcow2";
	req.qcow2_cluster_size = 3000;
	cr_assert_eq(fs_stream_body_new(&b, &req), FASTSNAP_EINVAL);
	cr_assert(strstr(fastsnap_error_last(), "power of two"), "%s", fastsnap_error_last());
	close(fd);
	unlink(raw);
}

/* Zeros written into the file are data to SEEK_DATA; the zero scan leaves
 * their clusters out, and the image still equals the file. */
Test(qcow2_qemu, zero_scan_leaves_out_written_zeros)
{
	char raw[64], out[80];
	const uint64_t size = 8 * MiB + 100;
	int fd = ts_sparse_file(raw, size);
	char *zeros = calloc(1, 3 * MiB);
	cr_assert_eq(pwrite(fd, zeros, 3 * MiB, 1 * MiB), (ssize_t)(3 * MiB));   /* 48 clusters of zeros */
	free(zeros);
	ts_fill(fd, 2 * MiB + 5, 10);                  /* one cluster inside them holds data */
	ts_fill(fd, size - 1, 1);
	fsync(fd);
	snprintf(out, sizeof(out), "%s.qcow2", raw);
	for (int scan = 0; scan < 2; scan++) {
		uint64_t allocated = 0;
		/* a file: off by default (0), on when asked */
		stream_qcow2(fd, size, 64 * KiB, 4, 1 * MiB, scan, out, &allocated);
		if (scan)
			cr_assert_eq(allocated, 64 * KiB + 100, "allocated %llu", (unsigned long long)allocated);
		else
			cr_assert(allocated >= 3 * MiB, "allocated %llu", (unsigned long long)allocated);
		qemu_checks(raw, out, size, scan ? "zero scan" : "no zero scan");
	}
	unlink(out);
	close(fd);
	unlink(raw);
}

Test(qcow2_qemu, all_zero)
{
	char b[100000];
	memset(b, 0, sizeof(b));
	cr_assert(fs_all_zero(b, 0));
	cr_assert(fs_all_zero(b, 1));
	cr_assert(fs_all_zero(b, sizeof(b)));
	for (size_t at = 0; at < sizeof(b); at += 997) {
		b[at] = 1;
		cr_assert(!fs_all_zero(b, sizeof(b)), "byte %zu", at);
		cr_assert(fs_all_zero(b, at));
		b[at] = 0;
	}
	b[sizeof(b) - 1] = 2;
	cr_assert(!fs_all_zero(b, sizeof(b)));
	cr_assert(!fs_all_zero(b + sizeof(b) - 1, 1));
}

/* The adaptive scan gives up on a data-heavy map after a twentieth of it
 * (keeping the rest as it is), and goes to the end of a map that is mostly
 * zeros. */
Test(qcow2_qemu, adaptive_zero_scan)
{
	char raw[64];
	const uint64_t size = 64 * MiB;
	int fd = ts_sparse_file(raw, size);
	ts_fill(fd, 0, size);                          /* all data */
	fsync(fd);
	fs_extent_map m = FS_EXTENT_MAP_INIT;
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, size), 0);
	fs_reader_opts ro = { .fd = fd, .size = size, .depth = 1 };
	uint64_t scanned = 0;
	cr_assert_eq(fs_extent_map_drop_zero_clusters(&m, &ro, 64 * KiB, 1, NULL, &scanned), 0,
		"%s", fastsnap_error_last());
	cr_assert_eq(m.n, 1);
	cr_assert_eq(m.allocated, size);
	/* a twentieth, in whole 4 MiB chunks, plus what the reader had in
	 * flight (depth 1: one chunk ahead) */
	cr_assert(scanned >= size / 20 && scanned <= size / 20 + 8 * MiB, "scanned %llu",
		(unsigned long long)scanned);
	/* written zeros everywhere, data in one cluster of every 4 MiB */
	char *zeros = calloc(1, 4 * MiB);
	for (uint64_t o = 0; o < size; o += 4 * MiB)
		cr_assert_eq(pwrite(fd, zeros, 4 * MiB, (off_t)o), (ssize_t)(4 * MiB));
	free(zeros);
	for (uint64_t o = 0; o < size; o += 4 * MiB)
		ts_fill(fd, o + 3 * MiB + 5, 100);
	fsync(fd);
	cr_assert_eq(fs_extent_map_from_fd(&m, fd, size), 0);
	cr_assert_eq(fs_extent_map_drop_zero_clusters(&m, &ro, 64 * KiB, 1, NULL, &scanned), 0);
	cr_assert_eq(scanned, size);
	cr_assert_eq(m.n, 16);
	cr_assert_eq(m.allocated, 16 * 64 * KiB);
	for (size_t i = 0; i < m.n; i++)
		cr_assert_eq(m.v[i].off, i * 4 * MiB + 3 * MiB);
	fs_extent_map_free(&m);
	close(fd);
	unlink(raw);
}
