/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/plan.c: the plan of fastsnap-bench (issue 19): for each disk size
 * the disks' set-up, then per fill and repeat the direct cells and the floor
 * (in an order that turns), the table of the other cells (streamed paths,
 * baselines as the shell commands operators use, limits alone), the
 * flatten alone; then the concurrency cells. The shell cells' scripts are
 * here; runner.c runs each cell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "plan.h"
#include "runner.h"

/* ---------------- the shell cells ---------------- */

/* Common preamble: identity headers as curl options, the rbd identity, a
 * clock (bash's EPOCHREALTIME), and Glance calls. Positional args follow. */
#define PRE \
	"set -eo pipefail\n" \
	"H=(); while IFS= read -r h; do [[ -n $h ]] && H+=(-H \"$h\"); done <<<\"${FSB_HDR//|/$'\\n'}\"\n" \
	"R=(--conf \"$CEPH_CONF\" --id \"$FSB_USER\" ${FSB_KEYRING:+--keyring \"$FSB_KEYRING\"})\n" \
	"G=$FASTSNAP_GLANCE_URL\n" \
	"create() { curl -sSf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/json' -X POST \"$G/v2/images\" " \
	"-d \"{\\\"id\\\": \\\"$1\\\", \\\"name\\\": \\\"$FSB_TAG\\\", \\\"disk_format\\\": \\\"raw\\\", \\\"container_format\\\": \\\"bare\\\"}\"; }\n" \
	"active() { curl -sf \"${H[@]}\" \"$G/v2/images/$1\" | grep -q '\"status\": \"active\"'; }\n" \
	"since() { awk -v a=\"$EPOCHREALTIME\" -v b=\"${!1}\" 'BEGIN { printf \"t=%.6f\\n\", a - b }'; }\n" \
	"put() { curl -sSf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/octet-stream' " \
	"-H \"x-image-meta-store: $FSB_FILE_STORE\" -X PUT -T \"$1\" \"$G/v2/images/$2/file\"; }\n"

/* (a) Nova's direct snapshot with the rbd CLI (Rbd.direct_snapshot):
 * snap + protect on the disk, clone into the store's pool, flatten (with
 * flatten: then the disk's snapshot is removed), snap + protect on the
 * clone, then the location call (PATCH on Glance < 29, POST with a service
 * token on Glance >= 29), then the status. $1 id $2 disk $3 flatten(0/1) */
static const char SH_NOVA[] = PRE
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
	"  curl -sSf -o /dev/null \"${H[@]}\" \"${S[@]}\" -H 'Content-Type: application/json' -X POST "
	"\"$G/v2/images/$id/locations\" -d \"{\\\"url\\\": \\\"$loc\\\"}\"\n"
	"  until active $id; do sleep 0.02; done\n"
	"else\n"
	"  curl -sSf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/openstack-images-v2.1-json-patch' "
	"-X PATCH \"$G/v2/images/$id\" -d \"[{\\\"op\\\": \\\"add\\\", \\\"path\\\": \\\"/locations/-\\\", "
	"\\\"value\\\": {\\\"url\\\": \\\"$loc\\\", \\\"metadata\\\": {\\\"store\\\": \\\"$FSB_RBD_STORE\\\"}}}]\"\n"
	"  active $id\n"
	"fi\n"
	"since t0\n";

/* (b) rbd export <snap> - | curl -T - (into Glance's file store, or the
 * null sink when $3 is a URL). $1 id $2 disk $3 sink-url|"" */
static const char SH_PIPE[] = PRE
	"id=$1 snap=$FSB_VMS/$2@fsb\n"
	"t0=$EPOCHREALTIME\n"
	"if [[ -n $3 ]]; then\n"
	"  rbd \"${R[@]}\" export --no-progress $snap - | curl -sSf -o /dev/null -X PUT "
	"-H 'Content-Type: application/octet-stream' -T - \"$3\"\n"
	"else\n"
	"  echo image_id=$id; create $id\n"
	"  rbd \"${R[@]}\" export --no-progress $snap - | put - $id\n"
	"  active $id\n"
	"fi\n"
	"since t0\n";

/* (c) Nova's fallback: export to a temporary file, then upload it.
 * $1 id $2 disk */
static const char SH_FILE[] = PRE
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
static const char SH_READ[] = PRE
	"t0=$EPOCHREALTIME\n"
	"rbd \"${R[@]}\" export --no-progress $FSB_VMS/$1@fsb - >/dev/null\n"
	"since t0\n";
static const char SH_INGEST[] = PRE
	"echo image_id=$1; create $1\n"
	"t0=$EPOCHREALTIME\n"
	"put \"$2\" $1\n"
	"since t0\n"
	"active $1\n";
static const char SH_SINK[] = PRE
	"t0=$EPOCHREALTIME\n"
	"curl -sSf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T \"$1\" \"$FSB_SINK\"\n"
	"since t0\n";
/* N processes of the CLI, one disk each, started together. $1 N $2 disk
 * prefix $3 mode */
static const char SH_CLI[] = PRE
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
static const char SH_BASE[] = PRE
	"create $1\n"
	"head -c 4194304 /dev/urandom | curl -sSf -o /dev/null \"${H[@]}\" -H 'Content-Type: application/octet-stream' "
	"-H \"x-image-meta-store: $FSB_RBD_STORE\" -X PUT -T - \"$G/v2/images/$1/file\"\n"
	"active $1\n";

int fsb_make_base(void)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/base.sh", RUN.workdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(SH_BASE, f);
	fclose(f);
	fsb_uuid(G.base);
	cJSON_AddItemToArray(RUN.made_ids, cJSON_CreateString(G.base));
	setenv("FSB_BASE", G.base, 1);
	return fsb_sh("bash %s %s", path, G.base) == 0 ? 0 : -1;
}

/* ---------------- the plan of cells ---------------- */

static void disk_name(char *out, size_t len, uint64_t size, const char *fill)
{
	snprintf(out, len, "fsb-%d-%llu-%s", (int)getpid(), (unsigned long long)(size >> 20), fill);
}

/* the disk's bytes in tmpfs, for the "from memory" limits; only when
 * tmpfs and the machine's available memory hold them with 2 GiB to spare
 * (else those cells fail with "No such file", which says why) */
static void shm_copy(const char *disk, const char *path, uint64_t size)
{
	if (RUN.counting || fsb_stop)
		return;
	struct statvfs v;
	char *m = fsb_cmd_out("awk '/MemAvailable/ {print $2}' /proc/meminfo");
	unsigned long long kb = m ? strtoull(m, NULL, 10) : 0;
	free(m);
	if (statvfs("/dev/shm", &v) != 0 || (uint64_t)v.f_bavail * v.f_frsize < size + (2ull << 30) ||
	    (kb && (kb << 10) < size + (2ull << 30))) {
		fsb_say("not enough memory for %llu MiB in /dev/shm: the from-memory limits are skipped",
			(unsigned long long)(size >> 20));
		return;
	}
	fsb_sh("%s export --no-progress %s/%s@fsb %s >/dev/null 2>&1", fsb_rbd_admin, G.vms_pool, disk, path);
}

/* the direct cells and the floor (on a full disk of its own: cell_floor
 * appends the thread number to the name it is given, so the disk is
 * "<prefix>0") in an order that turns by one each repeat: a cell that
 * follows a heavy one (a flattened image's deletion goes on in the OSD) is
 * not always the same one. The floor runs once per size and repeat, with
 * the first fill. */
static void direct_cells(uint64_t size, const char *fill, const char *disk, int rep, int *floor_left)
{
	static const char *dnames[] = { "direct-sync", "direct-deferred", "direct-none" };
	fsb_spec d[4];
	int nd = 0;
	for (int m = 0; m < 3; m++, nd++) {
		fsb_spec_init(&d[nd], dnames[m], "fastsnap", K_SNAPSHOT, size, fill, rep);
		snprintf(d[nd].disk, sizeof(d[nd].disk), "%s", disk);
		d[nd].mode = m;
		d[nd].store = G.rbd_store;
		d[nd].space = 1;
		d[nd].need_bytes = size;
	}
	if (*floor_left) {
		*floor_left = 0;
		fsb_spec_init(&d[nd], "floor", "floor", K_FLOOR, size, "full", rep);
		snprintf(d[nd].disk, sizeof(d[nd].disk), "fsb-%d-%llu-floor", (int)getpid(),
			(unsigned long long)(size >> 20));
		nd++;
	}
	for (int k = 0; k < nd; k++)
		fsb_run_cell(&d[(k + rep - 1) % nd]);
}

/* The other cells of one disk, in the order they run: the streamed paths,
 * the baselines (the shell commands operators use), the limits alone. A
 * shell cell's arguments name what the run gives it. */
enum cell_arg { ARG_NONE, ARG_ID, ARG_DISK, ARG_SHM, ARG_SINK, ARG_DASH, ARG_EMPTY, ARG_0, ARG_1 };
enum cell_store { STORE_NONE, STORE_RBD, STORE_FILE };
static const struct cell_row {
	const char *cell, *group;
	enum fsb_kind kind;
	enum cell_store store;
	int md5, rados, space;
	const char *disk_format;
	int need_bytes, need_local;   /* free space needed, in disk sizes */
	const char *script;           /* K_SHELL */
	enum cell_arg args[3];
	int shm_first;                /* the disk's bytes in /dev/shm before it */
} cell_rows[] = {
	/* streamed: the whole run into the file store; with md5 too; qcow2 (issue 21) */
	{ "stream-file", "fastsnap", K_SNAPSHOT, STORE_FILE, .rados = 1, .need_local = 1 },
	{ "stream-file-md5", "fastsnap", K_SNAPSHOT, STORE_FILE, .md5 = 1, .rados = 1, .need_local = 1 },
	{ "stream-file-qcow2", "fastsnap", K_SNAPSHOT, STORE_FILE, .disk_format = "qcow2", .rados = 1,
		.need_local = 1 },
	{ "stream-rbd", "fastsnap", K_STREAM_RBD, STORE_RBD, .rados = 1, .need_bytes = 1 },
	{ "stream-sink", "fastsnap", K_SINK, .rados = 1 },
	{ "read-fastsnap", "limit", K_READFS, .rados = 1 },
	/* baselines */
	{ "nova-rbd-flatten", "baseline", K_SHELL, .script = SH_NOVA, .args = { ARG_ID, ARG_DISK, ARG_1 },
		.space = 1, .need_bytes = 1 },
	{ "nova-rbd-noflatten", "baseline", K_SHELL, .script = SH_NOVA,
		.args = { ARG_ID, ARG_DISK, ARG_0 }, .space = 1, .need_bytes = 1 },
	{ "export-pipe", "baseline", K_SHELL, .script = SH_PIPE, .args = { ARG_ID, ARG_DISK, ARG_EMPTY },
		.rados = 1, .need_local = 1 },
	{ "export-file", "baseline", K_SHELL, .script = SH_FILE, .args = { ARG_ID, ARG_DISK },
		.rados = 1, .need_local = 2 },
	{ "export-pipe-sink", "baseline", K_SHELL, .script = SH_PIPE,
		.args = { ARG_DASH, ARG_DISK, ARG_SINK }, .rados = 1 },
	/* limits alone */
	{ "read-alone", "limit", K_SHELL, .script = SH_READ, .args = { ARG_DISK }, .rados = 1 },
	{ "ingest-alone", "limit", K_SHELL, .script = SH_INGEST, .args = { ARG_ID, ARG_SHM },
		.need_local = 1, .shm_first = 1 },
	{ "sink-alone", "limit", K_SHELL, .script = SH_SINK, .args = { ARG_SHM } },
	{ "sha512-alone", "limit", K_SHA, .store = STORE_NONE },
};

/* one row of cell_rows as a spec, for this disk */
static void row_spec(fsb_spec *s, const struct cell_row *r, uint64_t size, const char *fill,
	int rep, const char *disk, const char *shm, char id[37])
{
	fsb_spec_init(s, r->cell, r->group, r->kind, size, fill, rep);
	snprintf(s->disk, sizeof(s->disk), "%s", disk);
	s->store = r->store == STORE_RBD ? G.rbd_store : r->store == STORE_FILE ? G.file_store : NULL;
	s->md5 = r->md5;
	s->rados = r->rados;
	s->space = r->space;
	s->disk_format = r->disk_format;
	s->need_bytes = (uint64_t)r->need_bytes * size;
	s->need_local = (uint64_t)r->need_local * size;
	s->script = r->script;
	for (int i = 0; i < 3 && r->args[i]; i++) {
		switch (r->args[i]) {
		case ARG_ID: fsb_uuid(id); s->args[i] = id; break;
		case ARG_DISK: s->args[i] = disk; break;
		case ARG_SHM: s->args[i] = shm; break;
		case ARG_SINK: s->args[i] = G.sink; break;
		case ARG_DASH: s->args[i] = "-"; break;
		case ARG_EMPTY: s->args[i] = ""; break;
		case ARG_0: s->args[i] = "0"; break;
		case ARG_1: s->args[i] = "1"; break;
		case ARG_NONE: break;
		}
	}
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
		direct_cells(size, fill, disk, rep, &floor_left);
		for (size_t i = 0; i < sizeof(cell_rows) / sizeof(cell_rows[0]); i++) {
			if (cell_rows[i].shm_first && !RUN.counting && !fsb_stop && access(shm, R_OK) != 0 &&
			    (fsb_wanted("ingest-alone") || fsb_wanted("sink-alone")))
				shm_copy(disk, shm, size);
			fsb_spec s;
			row_spec(&s, &cell_rows[i], size, fill, rep, disk, shm, id);
			fsb_run_cell(&s);
		}
	}
	/* the flatten alone, once per size and repeat, on the floor's disk */
	if (G.disk)
		return;
	fsb_spec s;
	fsb_spec_init(&s, "flatten-alone", "limit", K_FLATTEN, size, "full", rep);
	snprintf(s.disk, sizeof(s.disk), "fsb-%d-%llu-floor", (int)getpid(),
		(unsigned long long)(size >> 20));
	s.need_bytes = size;
	fsb_run_cell(&s);
}

/* a given disk (--disk): the snapshot the export cells read */
static void given_disk_snapshot(void)
{
	if (RUN.counting) {
		RUN.cell_total++;
		return;
	}
	if (fsb_sh("%s snap create --no-progress %s/%s@fsb >/dev/null", fsb_rbd_admin, G.vms_pool,
	    G.disk) != 0) {
		fsb_say("cannot create the snapshot %s/%s@fsb", G.vms_pool, G.disk);
		fsb_stop = 2;
	}
}

/* one disk size: its disks, every repeat of its cells, then its disks away */
static void one_size(uint64_t size)
{
	char full[128], sparse[128], flo[128], p[300];
	disk_name(full, sizeof(full), size, "full");
	disk_name(sparse, sizeof(sparse), size, "sparse");
	snprintf(flo, sizeof(flo), "fsb-%d-%llu-floor0", (int)getpid(), (unsigned long long)(size >> 20));
	if (G.disk)
		given_disk_snapshot();
	if ((G.fills & 1) && !G.disk)
		fsb_setup_disks(size, 0, full, 1, "setup");
	if ((G.fills & 2) && !G.disk)
		fsb_setup_disks(size, 1, sparse, 1, "setup");
	if (fsb_wanted("floor") || fsb_wanted("flatten-alone"))
		fsb_setup_disks(size, 0, flo, 1, "setup");
	for (int rep = 1; rep <= G.reps && !fsb_stop; rep++)
		cells_for_size(size, rep);
	if (RUN.counting)
		return;
	fsb_rbd_purge(G.vms_pool, full);
	fsb_rbd_purge(G.vms_pool, sparse);
	fsb_rbd_purge(G.vms_pool, flo);
	snprintf(p, sizeof(p), "/dev/shm/%s.raw", full);
	unlink(p);
	snprintf(p, sizeof(p), "/dev/shm/%s.raw", sparse);
	unlink(p);
	if (G.disk) {
		snprintf(p, sizeof(p), "/dev/shm/%s.raw", G.disk);
		unlink(p);
		fsb_sh("%s snap rm --no-progress %s/%s@fsb >/dev/null 2>&1", fsb_rbd_admin, G.vms_pool,
			G.disk);
	}
}

/* N of the concurrency cells: the floor with N threads, N snapshots through
 * one engine (deferred, none), N CLI processes */
static void conc_cells(uint64_t csize, const char *prefix, int n, int rep)
{
	static const char *cn[] = { "", "conc-deferred", "conc-none" };
	fsb_spec s;
	fsb_spec_init(&s, "floor-conc", "concurrency", K_FLOOR, csize, "full", rep);
	s.n = n;
	snprintf(s.disk, sizeof(s.disk), "%s", prefix);
	fsb_run_cell(&s);
	for (int m = 1; m <= 2; m++) {
		fsb_spec_init(&s, cn[m], "concurrency", K_CONC, csize, "full", rep);
		s.n = n;
		s.mode = m;
		s.store = G.rbd_store;
		s.need_bytes = (uint64_t)n * csize;
		snprintf(s.disk, sizeof(s.disk), "%s", prefix);
		fsb_run_cell(&s);
	}
	fsb_spec_init(&s, "cli-deferred", "concurrency", K_SHELL, csize, "full", rep);
	s.n = n;
	s.script = SH_CLI;
	s.args[0] = n == 1 ? "1" : n == 2 ? "2" : n == 4 ? "4" : "8";
	s.args[1] = prefix;
	s.args[2] = "deferred";
	s.need_bytes = (uint64_t)n * csize;
	fsb_run_cell(&s);
}

/* concurrency: N disks of the smallest size, written whole */
static void concurrency(void)
{
	uint64_t csize = G.sizes[0];
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "fsb-%d-conc", (int)getpid());
	int nmax = 0;
	for (int i = 0; i < G.nconc; i++)
		nmax = G.conc_n[i] > nmax ? G.conc_n[i] : nmax;
	if (nmax == 0 || fsb_stop || G.nconc == 0 ||
	    !(fsb_wanted("floor-conc") || fsb_wanted("conc-") || fsb_wanted("cli-deferred")))
		return;
	fsb_setup_disks(csize, 0, prefix, nmax, "setup");
	for (int rep = 1; rep <= G.reps && !fsb_stop; rep++)
		for (int i = 0; i < G.nconc && !fsb_stop; i++)
			conc_cells(csize, prefix, G.conc_n[i], rep);
	if (RUN.counting)
		return;
	for (int i = 0; i < nmax; i++) {
		char d[160];
		snprintf(d, sizeof(d), "%s%d", prefix, i);
		fsb_rbd_purge(G.vms_pool, d);
	}
}

void fsb_all_cells(void)
{
	for (int z = 0; z < G.nsizes && !fsb_stop; z++)
		one_size(G.sizes[z]);
	concurrency();
}
